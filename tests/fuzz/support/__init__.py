"""Helpers of the fuzz tests, by input: strategies (shared by all), catalogs, deployments, events."""

"""Property-based fuzz tests (hypothesis) of the parsers at the trust boundaries: ARM catalog pages, ARM
deployments and Event Grid events. Derandomized: every run tests the same examples."""

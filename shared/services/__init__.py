"""Use cases: they gather inputs through ports, call the pure core, and apply its outputs."""

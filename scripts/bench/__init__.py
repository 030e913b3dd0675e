"""The benchmark behind `make bench` (scripts/benchmark.py): common.py, then one module per section of
docs/performance.md (cycle_time, no_change, cold_start, deployments, scale with scale_tenant, scale_rig,
scale_figures and scale_report)."""

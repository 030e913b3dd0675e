"""Benchmark of the catalog watcher; writes its figures to docs/performance.md. Not a test: it measures.

Usage: make bench   (python scripts/benchmark.py --out docs/performance.md [--quick] [--only SECTION])

1. One cycle over 60 locations x 300 versions (3 pages each) against the local ARM stand-in answering each request
   after 50 ms: wall time at the app's read concurrency (ARM_READ_CONCURRENCY's default), and the same cycle
   fetched sequentially (target: >= 8x faster).
2. A cycle with no catalog change: entity writes and events (target: 0 writes besides one cursor per location,
   0 events), on SQLite and on Table Storage (Azurite), with Table transactions per cycle.
3. Cold start: `python -X importtime -c "import function_app"` vs `import azure.functions` (target <= 1.3x).
4. Deployments: 10,000 in 50 accounts behind the stand-in at 50 ms: inventory refresh (first, no change) with
   ARM requests and pages; the policy decisions for one catalog event concerning thousands of them in plan mode
   (target: < 1 s) and the pure `assess` loop; in enforce mode, the PUTs against the assessments that say `write`.
5. Scale: a tenant of 200 subscriptions, 2,000 accounts, 20,000 deployments, 60 regions, the stand-in at 50 ms in
   a process of its own, state in Table Storage (Azurite), services wired by build_services: four timer runs
   (baseline, after it, steady, gpt-4o's default moving everywhere), each part timed, with ARM requests per
   subscription against the read bucket and Table transactions; then every catalog event delivered to the policy
   subscriber in plan mode (inventory entities read per deployment affected: target <= 1.1x), every digest to
   notify_channels with notifiers that render and record instead of posting (messages per route per change:
   target <= 1; posts, the busiest channel, the time to the last message at Slack's pacing), the alerts timer's
   flush, and peak RSS. Runs first.
6. Canary: a 20-case suite on two versions against the data-plane stand-in answering after 50 ms, at
   CANARY_CONCURRENCY 1, 4 (default) and 8: wall time, chat requests, the most in flight against the bound.

`--only cycle-time|no-change|cold-start|deployments|scale|canary` runs one section alone and replaces only its part of
--out. The sections are modules of scripts/bench/ (common.py: what they share).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.bench.canary import canary_section  # noqa: E402
from scripts.bench.cold_start import cold_start_section  # noqa: E402
from scripts.bench.common import SUB, catalog, document, replace_section  # noqa: E402
from scripts.bench.cycle_time import catalog_page_size, cycle_time_section  # noqa: E402
from scripts.bench.deployments import deployments_section  # noqa: E402
from scripts.bench.no_change import no_change_section, past_baseline  # noqa: E402
from scripts.bench.scale import scale_section  # noqa: E402
from shared.adapters.sqlite.catalog_state import SqliteCatalogStateStore  # noqa: E402
from tests.fakes.arm_server import FakeArm  # noqa: E402

# --only: a section's name -> its number in docs/performance.md
SECTIONS = {"cycle-time": 1, "no-change": 2, "cold-start": 3, "deployments": 4, "scale": 5, "canary": 6}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes, for a smoke run (use with --out elsewhere)"
    )
    parser.add_argument(
        "--only", choices=tuple(SECTIONS), help="run one section and replace only its part of --out"
    )
    args = parser.parse_args()
    only: str | None = args.only
    sections: dict[int, str] = {}
    # first: its memory figures are then those of a process that has run nothing else
    if only in (None, "scale"):
        sections[5] = scale_section(args.quick)
    if only in (None, "cycle-time", "no-change"):  # section 2 goes on with section 1's stand-in and store
        n_locations, n_versions = (12, 100) if args.quick else (60, 300)
        locations = [f"region{i:02}" for i in range(n_locations)]
        page = catalog_page_size(n_versions)  # each location's catalog in 3 pages
        with FakeArm(page_size=page) as arm, tempfile.TemporaryDirectory() as tmp:
            for loc in locations:
                arm.set_catalog(SUB, loc, catalog(n_versions))
            arm.latency = 0.05
            store = SqliteCatalogStateStore(str(Path(tmp) / "a.db"))
            if only == "no-change":
                past_baseline(arm, locations, store)
            else:
                sections[1] = cycle_time_section(arm, locations, store, n_versions)
            if only != "cycle-time":
                sections[2] = no_change_section(arm, locations, store)
    if only in (None, "deployments"):
        with tempfile.TemporaryDirectory() as tmp:
            sections[4] = deployments_section(args.quick, tmp)
    if only in (None, "cold-start"):
        sections[3] = cold_start_section()
    if only in (None, "canary"):
        sections[6] = canary_section(args.quick)
    if only is not None:
        number = SECTIONS[only]
        previous = args.out.read_text(encoding="utf-8") if args.out.exists() else "# Performance\n"
        args.out.write_text(replace_section(previous, number, sections[number]), encoding="utf-8")
        print(sections[number])
        return 0
    text = document([sections[n] for n in sorted(sections)])
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

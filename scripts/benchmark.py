"""Benchmark of the catalog watcher; writes its figures to docs/performance.md. Not a test: it measures.

Usage: make bench   (python scripts/benchmark.py --out docs/performance.md [--quick])

1. One cycle over 60 locations x 300 versions against the local ARM stand-in answering each request after 50 ms:
   wall time with the default concurrency, and the same cycle fetched sequentially (target: >= 5x faster).
2. A cycle with no catalog change: entity writes and events (target: 0 writes besides one cursor per location,
   0 events), on SQLite and on Table Storage (Azurite), with Table transactions per cycle.
3. Cold start: `python -X importtime -c "import function_app"` vs `import azure.functions` (target <= 1.3x).
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.adapters.arm import ArmCatalogSource, ArmClient, StaticTokenProvider  # noqa: E402
from shared.adapters.memory import CollectingPublisher  # noqa: E402
from shared.adapters.sqlite_store import SqliteCatalogStateStore  # noqa: E402
from shared.adapters.table_store import TableCatalogStateStore  # noqa: E402
from shared.config import Secret  # noqa: E402
from shared.ports import CatalogStateStore  # noqa: E402
from shared.services.watch import CatalogWatcher  # noqa: E402
from tests.builders import item  # noqa: E402
from tests.fakes import azurite  # noqa: E402
from tests.fakes.arm_server import FakeArm  # noqa: E402

SUB = "00000000-0000-0000-0000-0000000000be"
NOW = datetime(2025, 3, 12, tzinfo=UTC)


def catalog(versions: int) -> list[dict[str, object]]:
    return [
        item(f"model-{i // 10}", f"2025-01-{i % 10 + 10:02}", default=i % 10 == 0,
             retires=f"2026-{i % 12 + 1:02}-01T00:00:00Z", skus={"Standard": None, "GlobalStandard": None})
        for i in range(versions)
    ]  # fmt: skip


def cycle(
    arm: FakeArm, locations: list[str], store: CatalogStateStore, concurrency: int, now: datetime
) -> tuple[float, int, object]:
    client = ArmClient(arm.endpoint, "2025-09-01", StaticTokenProvider(Secret("bench")))
    publisher = CollectingPublisher()
    watcher = CatalogWatcher(ArmCatalogSource(client, SUB), store, publisher, max_concurrency=concurrency)
    started = time.perf_counter()
    report = watcher.run(locations, now)
    return time.perf_counter() - started, len(publisher.published), report


def import_time(module: str, runs: int) -> float:
    """Median cumulative import time of a module in a fresh interpreter, in ms."""
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stderr  # fmt: skip
        last = [line for line in out.splitlines() if re.search(rf"\|\s*{re.escape(module)}$", line)][-1]
        samples.append(int(last.split("|")[1]) / 1000)
    return statistics.median(samples)


def start_azurite() -> tuple[subprocess.Popen[bytes], str]:
    port = azurite._free_port()
    process = subprocess.Popen(
        [str(azurite.AZURITE_TABLE), "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--loose",
         "--silent", "--tableHost", "127.0.0.1", "--tablePort", str(port)],
        cwd=tempfile.mkdtemp(prefix="azurite-bench-"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not azurite._accepts(port):
        if time.monotonic() > deadline:
            raise SystemExit("Azurite did not start: run `npm ci`")
        time.sleep(0.1)
    return process, azurite.connection_string(port)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--quick", action="store_true", help="fewer locations (for a smoke run)")
    args = parser.parse_args()
    n_locations, n_versions = (12, 100) if args.quick else (60, 300)
    locations = [f"region{i:02}" for i in range(n_locations)]
    rows: list[str] = []
    with FakeArm() as arm, tempfile.TemporaryDirectory() as tmp:
        for loc in locations:
            arm.set_catalog(SUB, loc, catalog(n_versions))
        arm.latency = 0.05
        # 1. concurrency: a steady-state cycle (the hourly normal), after a baseline
        store = SqliteCatalogStateStore(str(Path(tmp) / "a.db"))
        base_time, base_events, _ = cycle(arm, locations, store, 8, NOW)
        settle_time, _, _ = cycle(arm, locations, store, 8, NOW + timedelta(minutes=30))
        # steady state: medians of 5 cycles each (single runs vary by +-20% on this 2-core machine)
        conc_time = statistics.median(
            cycle(arm, locations, store, 8, NOW + timedelta(hours=h))[0] for h in range(1, 6)
        )
        seq_time = statistics.median(
            cycle(arm, locations, store, 1, NOW + timedelta(hours=h))[0] for h in range(6, 11)
        )
        rows += [
            f"| baseline cycle (first run), concurrency 8 | {base_time:.2f} s | {base_events} events |",
            f"| cycle after a change (full diff everywhere), concurrency 8 | {settle_time:.2f} s | CPU-bound diff |",
            f"| steady-state cycle, concurrency 8 (default), median of 5 | {conc_time:.2f} s | unchanged: diff skipped |",
            f"| steady-state cycle, sequential, median of 5 | {seq_time:.2f} s | unchanged: diff skipped |",
        ]
        speedup = seq_time / conc_time
        # 2. no-change cycle: writes and events, SQLite and Table Storage
        writes_before = store.writes
        _, events, _ = cycle(arm, locations, store, 8, NOW + timedelta(hours=12))
        sqlite_writes = store.writes - writes_before
        arm.latency = 0.0
        process, conn = start_azurite()
        try:
            table = TableCatalogStateStore.from_connection_string(conn, table_prefix="Bench")
            cycle(arm, locations, table, 8, NOW)
            w0, t0 = table.writes, table.transactions
            _, table_events, _ = cycle(arm, locations, table, 8, NOW + timedelta(hours=1))
            table_writes, table_tx = table.writes - w0, table.transactions - t0
        finally:
            azurite._stop(process)
    functions_ms = import_time("azure.functions", 7)
    app_ms = import_time("function_app", 7)
    ratio = app_ms / functions_ms
    text = f"""# Performance

Measured by `make bench` (`python scripts/benchmark.py`) on {datetime.now(UTC):%Y-%m-%d}, {platform.machine()},
{platform.python_implementation()} {platform.python_version()}, 2 cores. Figures are from one run; rerun to compare.
Nothing here is asserted by a test: targets are checked by reading this page.

## 1. Cycle time: {n_locations} locations x {n_versions} versions, ARM stand-in answering after 50 ms

| cycle | wall time | notes |
|---|---|---|
{chr(10).join(rows)}

**Concurrent vs sequential (steady state): {speedup:.1f}x** (target >= 5x). The bound is `ARM_MAX_CONCURRENCY`
(8): fetches overlap, state work runs on one thread as each fetch lands. A full diff costs about 25-35 ms of CPU
per location of 300 versions (decode the snapshot, parse, diff), which threads cannot overlap (GIL); so an
unchanged catalog whose next reminder or retirement instant has not come skips the diff (the cursor keeps a
fingerprint of the catalog and that instant; a property test checks a skipped diff would have been empty). The
cycle after any change diffs the changed locations in full. ARM's read bucket is 250 requests per subscription,
refilling 25/s; a cycle makes one request per location per page, so {n_locations} locations fit in one burst.

## 2. A cycle with no catalog change

| store | entity writes | Table transactions | events |
|---|---|---|---|
| SQLite | {sqlite_writes} | - | {events} |
| Table Storage (Azurite) | {table_writes} | {table_tx} | {table_events} |

Target: 0 entity writes besides one cursor per location ({n_locations}), and 0 events. Table transactions are
a cursor read, a snapshot partition query and the cursor write per location (3 x {n_locations}), plus the outbox
query of the drain; more when a snapshot partition spans several 1,000-entity pages.

## 3. Cold start

| import | median of 7 (ms) |
|---|---|
| `import azure.functions` | {functions_ms:.0f} |
| `import function_app` | {app_ms:.0f} |

**Ratio {ratio:.2f}x** (target <= 1.3x): the SDKs (Event Grid, Tables, identity), requests and the thread pool
are imported on first invocation, not when the host indexes the functions.
"""
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

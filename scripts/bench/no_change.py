"""Section 2: a catalog cycle with nothing changed, on SQLite and on Table Storage (Azurite): entity writes,
Table transactions and events."""

from __future__ import annotations

from datetime import timedelta

from scripts.bench.common import NOW, cycle, start_azurite
from shared.adapters.sqlite.catalog_state import SqliteCatalogStateStore
from shared.adapters.tables.catalog_state import TableCatalogStateStore
from tests.fakes import azurite
from tests.fakes.arm_server import FakeArm


def past_baseline(arm: FakeArm, locations: list[str], store: SqliteCatalogStateStore) -> None:
    """A new ``store`` as section 1 leaves it: a baseline, then the cycle after it (when section 1 is not run)."""
    cycle(arm, locations, store, 8, NOW)
    cycle(arm, locations, store, 8, NOW + timedelta(minutes=30))


def no_change_section(arm: FakeArm, locations: list[str], store: SqliteCatalogStateStore) -> str:
    """One more cycle on ``store`` (past its baseline, ``arm`` answering after 50 ms), then a baseline and a
    no-change cycle on Table Storage (Azurite, ``arm`` at 0 ms)."""
    n_locations = len(locations)
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
    return f"""## 2. A cycle with no catalog change

| store | entity writes | Table transactions | events |
|---|---|---|---|
| SQLite | {sqlite_writes} | - | {events} |
| Table Storage (Azurite) | {table_writes} | {table_tx} | {table_events} |

Target: 0 entity writes besides one cursor per location ({n_locations}), and 0 events. Table transactions are
a cursor read, a snapshot partition query and the cursor write per location (3 x {n_locations}), plus the outbox
query of the drain; more when a snapshot partition spans several 1,000-entity pages.
"""

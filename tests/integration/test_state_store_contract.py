"""One contract for every CatalogStateStore: in memory (the reference), SQLite, and Table Storage on Azurite."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.backends import Port
from shared.adapters.memory import InMemoryCatalogStateStore
from shared.adapters.sqlite.catalog_state import SqliteCatalogStateStore
from shared.adapters.tables.catalog_state import TableCatalogStateStore
from shared.domain.catalog import ModelVersion, Replacement, VersionKey
from shared.domain.cursor import Cursor
from shared.domain.diff import VersionRecord
from shared.domain.digest import MAX_DIGEST_CHARS, build_digests
from shared.domain.events import EventType, LifecycleEvent, version_subject
from shared.domain.ids import event_id
from shared.errors import ConcurrencyError, PermanentError, TransientError
from shared.ports import CatalogStateStore
from tests.fakes.azurite import DEV_KEY, connection_string
from tests.support.store_backends import BACKENDS, store_factories

T0 = datetime(2025, 3, 12, 6, 30, 15, tzinfo=UTC)
LOCATION = "eastus"

StoreFactory = Callable[[], CatalogStateStore]

# Names a catalog could carry, legal or not as Table keys: each must come back exactly.
AWKWARD_NAMES = (
    "gpt-4o",
    "a/b",
    "back\\slash",
    "hash#tag",
    "what?",
    "100%",
    "%2F-already-escaped",
    "ctl\x01\x1f\x7f\x85\x9f",
    "tab\tnew\nline",
    "ünïcødé-模型-🚀",
    'it\'s "quoted"',
    "space name",
    "n" * 480,  # a key of about 500 characters: long, but within the 1 KiB (512 UTF-16 units) limit
    "é" * 80,  # 480 characters once percent-encoded
)


@pytest.fixture(params=BACKENDS)
def make_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StoreFactory]:
    """Builds stores over one shared backing state (several instances: several workers or processes)."""
    factories: Iterator[StoreFactory] = store_factories(
        request,
        tmp_path_factory,
        port=Port.STATE,
        memory=InMemoryCatalogStateStore,
    )
    yield from factories


@pytest.fixture
def store(make_store: StoreFactory) -> CatalogStateStore:
    return make_store()


def version(
    name: str = "gpt-4o", ver: str = "2024-11-20", fmt: str = "OpenAI", **changes: Any
) -> ModelVersion:
    """A version with every field set (dates at whole seconds: the record codec keeps seconds)."""
    v = ModelVersion(
        format=fmt,
        name=name,
        version=ver,
        is_default=True,
        lifecycle_status="GenerallyAvailable",
        retirement_date=datetime(2026, 2, 27, tzinfo=UTC),
        fine_tune_retirement_date=datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC),
        deprecation_status="Planned",
        sku_retirement_dates=(("GlobalStandard", datetime(2026, 1, 31, tzinfo=UTC)),),
        skus=("GlobalStandard", "Standard"),
        kinds=("AIServices", "OpenAI"),
        replacement=Replacement("gpt-4.1", "2025-04-14", datetime(2026, 1, 15, tzinfo=UTC), 14),
        created_at=datetime(2024, 11, 20, 8, 1, 2, tzinfo=UTC),
    )
    return replace(v, **changes)


def record(
    name: str = "gpt-4o", ver: str = "2024-11-20", *, removed: bool = False, **version_changes: Any
) -> VersionRecord:
    return VersionRecord(
        version(name, ver, **version_changes),
        notified=frozenset({"remind@2026-02-27T00:00:00Z@90", "retired@2026-01-31T00:00:00Z"}),
        missing_cycles=1,
        removed=removed,
        announced=7,
    )


def keyed(*records: VersionRecord) -> dict[VersionKey, VersionRecord]:
    return {r.version.key: r for r in records}


def event(suffix: str, when: datetime = T0, **data: object) -> LifecycleEvent:
    """A VersionReleased event; extra ``data`` is stored as given (the stores keep any JSON)."""
    v = version(f"gpt-{suffix}")
    where = str(data.get("location", LOCATION))
    return LifecycleEvent(
        id=event_id(EventType.VERSION_RELEASED.value, where, v.format, v.name, v.version, suffix),
        event_type=EventType.VERSION_RELEASED.value,
        subject=version_subject(where, v.format, v.name, v.version),
        event_time=when,
        data={
            "location": where,
            "modelFormat": v.format,
            "modelName": v.name,
            "modelVersion": v.version,
            "baseline": False,
            **data,  # type: ignore[dict-item]
        },
    )


# cursors


def test_unknown_location_has_a_cursor_without_etag(store: CatalogStateStore) -> None:
    assert store.get_cursor("nowhere") == Cursor("nowhere")


def test_first_commit_expects_no_etag_and_reads_back_equal(store: CatalogStateStore) -> None:
    cursor = Cursor(LOCATION, None, T0 + timedelta(microseconds=123456), "digest", "boom: ünïcødé " * 60, 7)
    committed = store.commit_cursor(cursor, expected_etag=None)
    assert committed.etag
    assert committed == replace(cursor, etag=committed.etag)
    assert store.get_cursor(LOCATION) == committed


def test_commit_with_a_stale_etag_conflicts(store: CatalogStateStore) -> None:
    first = store.commit_cursor(Cursor(LOCATION, None, T0, None, None, 1), expected_etag=None)
    second = store.commit_cursor(
        Cursor(LOCATION, None, T0 + timedelta(minutes=5), None, None, 2), expected_etag=first.etag
    )
    assert second.etag and second.etag != first.etag
    with pytest.raises(ConcurrencyError):
        store.commit_cursor(Cursor(LOCATION, None, T0, None, "late", 2), expected_etag=first.etag)
    with pytest.raises(ConcurrencyError):
        store.commit_cursor(Cursor(LOCATION, None, T0, None, "late", 1), expected_etag=None)
    assert store.get_cursor(LOCATION) == second


def test_commit_expecting_an_etag_of_a_missing_cursor_conflicts(store: CatalogStateStore) -> None:
    with pytest.raises(ConcurrencyError):
        store.commit_cursor(Cursor("westus"), expected_etag="W/\"datetime'2025-01-01T00%3A00%3A00Z'\"")
    assert store.get_cursor("westus").etag is None


def test_commit_replaces_every_field(store: CatalogStateStore) -> None:
    first = store.commit_cursor(Cursor(LOCATION, None, T0, "digest", "error", 3), expected_etag=None)
    cleared = store.commit_cursor(Cursor(LOCATION, None, None, None, None, 0), expected_etag=first.etag)
    assert store.get_cursor(LOCATION) == cleared == Cursor(LOCATION, cleared.etag)


def test_cursors_of_awkward_locations_are_kept_apart(store: CatalogStateStore) -> None:
    locations = ["east/us", "east\\us", "east#us", "east?us", "east%us", "eastus"]
    for index, location in enumerate(locations):
        store.commit_cursor(Cursor(location, cycles=index), expected_etag=None)
    assert [store.get_cursor(loc).cycles for loc in locations] == list(range(len(locations)))


def test_cursors_committed_together_read_back_as_committed_one_by_one(store: CatalogStateStore) -> None:
    existing = store.commit_cursor(Cursor("westus", None, T0, None, "old", 1, "fp"), expected_etag=None)
    batch = [
        (Cursor("westus", None, T0 + timedelta(hours=1), None, None, 2, "fp"), existing.etag),
        (Cursor("east/us", None, T0, "anomaly", "boom: ünïcødé", 7), None),
        (Cursor(LOCATION, None, T0 + timedelta(microseconds=5), None, None, 1, "fp2"), None),
    ]
    done = store.commit_cursors(batch)
    assert set(done) == {"westus", "east/us", LOCATION}
    for cursor, _ in batch:
        committed = done[cursor.location]
        assert committed is not None and committed.etag and committed == replace(cursor, etag=committed.etag)
        assert store.get_cursor(cursor.location) == committed
    assert done["westus"] is not None and done["westus"].etag != existing.etag
    assert store.commit_cursors([]) == {}


def test_a_moved_cursor_loses_in_a_batch_and_the_rest_are_written(store: CatalogStateStore) -> None:
    first = store.commit_cursor(Cursor(LOCATION, None, T0, None, None, 1), expected_etag=None)
    moved = store.commit_cursor(Cursor(LOCATION, None, T0, None, "theirs", 2), expected_etag=first.etag)
    taken = store.commit_cursor(Cursor("westus", cycles=5), expected_etag=None)
    done = store.commit_cursors(
        [
            (Cursor("northeurope", cycles=1), None),
            (Cursor(LOCATION, None, T0, None, "ours", 2), first.etag),  # stale: someone committed since
            (Cursor("westus", cycles=1), None),  # created by someone else since it was read
        ]
    )
    assert done[LOCATION] is None and done["westus"] is None
    assert store.get_cursor(LOCATION) == moved and store.get_cursor("westus") == taken
    written = done["northeurope"]
    assert written is not None and store.get_cursor("northeurope") == written


def test_more_cursors_than_a_transaction_holds_are_all_committed(store: CatalogStateStore) -> None:
    locations = [f"region{i:03}" for i in range(130)]  # Table Storage: 100 operations a transaction
    created = store.commit_cursors([(Cursor(loc, cycles=1), None) for loc in locations])
    again = store.commit_cursors([(replace(c, cycles=2), c.etag) for c in created.values() if c is not None])
    assert len(again) == 130 and all(c is not None and c.cycles == 2 for c in again.values())
    assert [store.get_cursor(loc).cycles for loc in locations] == [2] * 130


def test_batches_racing_with_one_etag_each_cursor_is_won_once(make_store: StoreFactory) -> None:
    stores = [make_store(), make_store()]
    locations = ["eastus", "westus", "northeurope"]
    base = stores[0].commit_cursors([(Cursor(loc, cycles=1), None) for loc in locations])
    barrier = threading.Barrier(len(stores))
    results: list[dict[str, Cursor | None]] = [{}, {}]

    def commit(index: int) -> None:
        barrier.wait()
        results[index] = stores[index].commit_cursors(
            [(Cursor(loc, None, T0, None, f"writer {index}", 2), c.etag) for loc, c in base.items() if c]
        )

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for loc in locations:
        winners = [r[loc] for r in results if r.get(loc) is not None]
        assert len(winners) == 1, (loc, results)
        assert stores[0].get_cursor(loc) == winners[0]


def _race(stores: list[CatalogStateStore], expected: str | None, cycle: int) -> list[Cursor | Exception]:
    """Every store commits the cursor at once, all expecting the same etag; returns what each got."""
    barrier = threading.Barrier(len(stores))
    outcomes: list[Cursor | Exception] = [RuntimeError("did not finish")] * len(stores)

    def commit(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = stores[index].commit_cursor(
                Cursor(LOCATION, None, T0, None, f"writer {index}", cycle), expected_etag=expected
            )
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_racing_writers_with_one_etag_exactly_one_wins(make_store: StoreFactory) -> None:
    stores = [make_store(), make_store(), make_store()]
    expected: str | None = None  # the first round races to create the cursor
    for cycle in range(6):
        outcomes = _race(stores, expected, cycle)
        won = [o for o in outcomes if isinstance(o, Cursor)]
        lost = [o for o in outcomes if isinstance(o, ConcurrencyError)]
        assert len(won) == 1, f"round {cycle}: {outcomes}"
        assert len(lost) == len(stores) - 1, f"round {cycle}: {outcomes}"
        assert all(s.get_cursor(LOCATION) == won[0] for s in stores)
        expected = won[0].etag


# snapshots


def test_unknown_location_has_an_empty_snapshot(store: CatalogStateStore) -> None:
    assert store.load_records("nowhere") == {}


def test_records_round_trip_with_awkward_keys(store: CatalogStateStore) -> None:
    records = keyed(*(record(name, ver=f"v{i}/{i}#?") for i, name in enumerate(AWKWARD_NAMES)))
    records.update(keyed(record("gpt-4o", "2024-05-13", fmt="Open/AI#?"), record("bare", "1", removed=True)))
    minimal = VersionRecord(ModelVersion("OpenAI", "minimal", "1"))
    records[minimal.version.key] = minimal
    store.save_records("east/us#2", records)
    loaded = store.load_records("east/us#2")
    assert loaded == records
    assert all(type(k) is VersionKey for k in loaded)


def test_snapshots_of_locations_are_kept_apart(store: CatalogStateStore) -> None:
    store.save_records("eastus", keyed(record("a")))
    store.save_records("eastus2", keyed(record("b")))
    store.save_records("east/us", keyed(record("c")))
    assert set(store.load_records("eastus")) == {record("a").version.key}
    assert set(store.load_records("eastus2")) == {record("b").version.key}
    assert set(store.load_records("east/us")) == {record("c").version.key}


def test_hundreds_of_records_are_saved_in_batches(store: CatalogStateStore) -> None:
    records = keyed(*(record(f"model-{i:03d}", f"{i}") for i in range(250)))
    store.save_records(LOCATION, records)
    assert store.load_records(LOCATION) == records


def test_saving_only_changed_records_keeps_the_others(store: CatalogStateStore) -> None:
    a, b, c = record("a"), record("b"), record("c")
    store.save_records(LOCATION, keyed(a, b, c))
    b2 = replace(b, notified=frozenset({"retired@all"}), missing_cycles=2, removed=True)
    d = record("d")
    store.save_records(LOCATION, keyed(b2, d))
    assert store.load_records(LOCATION) == keyed(a, b2, c, d)


def test_saving_the_same_records_again_is_harmless(store: CatalogStateStore) -> None:
    records = keyed(record("a"), record("b"))
    store.save_records(LOCATION, records)
    store.save_records(LOCATION, records)
    store.save_records(LOCATION, {})
    assert store.load_records(LOCATION) == records


# outbox


def test_no_events_pending_at_first(store: CatalogStateStore) -> None:
    assert store.list_pending() == []


def test_add_pending_is_idempotent_by_id(store: CatalogStateStore) -> None:
    e1, e2, e3 = event("1"), event("2", T0 + timedelta(seconds=1)), event("3", T0 + timedelta(seconds=2))
    store.add_pending([e1, e2])
    store.add_pending([e1])
    store.add_pending([e3, e3])
    store.add_pending([])
    assert [e.to_wire() for e in store.list_pending()] == [e.to_wire() for e in (e1, e2, e3)]


def test_pending_events_are_listed_oldest_first(store: CatalogStateStore) -> None:
    later, earlier, latest = (
        event("b", T0 + timedelta(hours=1)),
        event("a", T0),
        event("c", T0 + timedelta(days=1)),
    )
    store.add_pending([earlier])
    store.add_pending([later, latest])
    assert [e.id for e in store.list_pending()] == [earlier.id, later.id, latest.id]


def test_pending_events_added_out_of_order_are_listed_oldest_first(store: CatalogStateStore) -> None:
    later, earlier = event("b", T0 + timedelta(hours=1)), event("a", T0)
    store.add_pending([later])
    store.add_pending([earlier])
    assert [e.id for e in store.list_pending()] == [earlier.id, later.id]


def test_remove_pending_ignores_unknown_ids(store: CatalogStateStore) -> None:
    e1, e2, e3 = (event(str(i), T0 + timedelta(seconds=i)) for i in range(3))
    store.add_pending([e1, e2, e3])
    store.remove_pending([e1.id, "00000000-0000-0000-0000-000000000000", e1.id])
    assert [e.id for e in store.list_pending()] == [e2.id, e3.id]
    store.remove_pending([])
    store.remove_pending(["not/a#legal?key%", e2.id, e3.id])
    assert store.list_pending() == []
    store.remove_pending([e1.id])
    assert store.list_pending() == []


def test_remove_many_pending_across_batches(store: CatalogStateStore) -> None:
    events = [event(f"{i:03d}", T0 + timedelta(seconds=i)) for i in range(230)]
    store.add_pending(events)
    gone = [e.id for e in events[:150]] + [f"unknown-{i}" for i in range(20)]
    store.remove_pending(gone)
    assert [e.id for e in store.list_pending()] == [e.id for e in events[150:]]


def test_history_is_empty_at_first(store: CatalogStateStore) -> None:
    assert store.list_history(T0 - timedelta(days=3650)) == []


def test_history_keeps_events_from_since_on_oldest_first_across_days(store: CatalogStateStore) -> None:
    days = [event(f"d{i}", T0 + timedelta(days=i, hours=i)) for i in range(5)]
    store.record_history([days[3], days[0]])
    store.record_history([days[4], days[1], days[2]])
    store.add_pending([event("pending-only", T0 + timedelta(days=2))])
    assert [e.id for e in store.list_history(T0)] == [e.id for e in days]
    # since is an instant, not a day: the event of day 2 at 02:00 is before 03:00 that day
    assert [e.id for e in store.list_history(T0 + timedelta(days=2, hours=3))] == [days[3].id, days[4].id]
    assert store.list_history(T0 + timedelta(days=30)) == []
    assert [e.id for e in store.list_pending()] == [event("pending-only").id]  # history is not the outbox


def test_recording_history_twice_keeps_one_copy(store: CatalogStateStore) -> None:
    e1, e2 = event("h1"), event("h2", T0 + timedelta(minutes=1))
    store.record_history([e1, e2, e1])
    store.record_history([e2])
    store.record_history([])
    assert [e.to_wire() for e in store.list_history(T0)] == [e1.to_wire(), e2.to_wire()]


def test_history_of_hundreds_of_events_in_one_day(store: CatalogStateStore) -> None:
    events = [event(f"many-{i:03d}", T0 + timedelta(seconds=i)) for i in range(230)]
    store.record_history(events)
    assert [e.id for e in store.list_history(T0)] == [e.id for e in events]


def test_a_large_baselines_digests_fit_the_outbox(store: CatalogStateStore) -> None:
    """A first install over 60 regions: 200 events of distinct changes per digest would be ~40K characters, over
    Table Storage's 32K per property, and the outbox could never record it; digests are split to fit."""
    events = [
        event(
            f"{i:03d}-{'x' * 40}",
            T0 + timedelta(seconds=i),
            location=f"region{i % 60:02d}",
            retirementDate=f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}T00:00:00Z",
        )
        for i in range(400)
    ]
    digests = build_digests(events)
    assert all(len(d.to_json()) <= MAX_DIGEST_CHARS for d in digests) and len(digests) > 2
    covered = [str(i) for d in digests for i in d.data["coveredEventIds"]]  # type: ignore[union-attr]
    assert sorted(covered) == sorted(e.id for e in events)  # each event in exactly one digest
    store.add_pending(digests)
    assert {e.id for e in store.list_pending()} == {d.id for d in digests}


def test_event_round_trip_is_exact(store: CatalogStateStore) -> None:
    original = event(
        "rt",
        reappeared=True,
        retirementDate=None,
        skuRetirementDates={"GlobalStandard": "2026-01-31T00:00:00Z"},
        affectedSkus=["Standard", "ProvisionedManaged"],
        daysRemaining=-3,
        vanishGuard=0.2,
        note="ünïcødé / # ? % \\ \x01 🚀",
        nested={"list": [1, 2.5, None, {"deep": [True, False]}]},
    )
    store.add_pending([original])
    (loaded,) = store.list_pending()
    assert loaded.to_wire() == original.to_wire()
    assert loaded.to_json() == original.to_json()


# Table Storage specifics (Azurite)


@pytest.fixture
def table_store(azurite_connection_string: str, table_prefix: str) -> Iterator[TableCatalogStateStore]:
    store = TableCatalogStateStore.from_connection_string(
        azurite_connection_string, table_prefix=table_prefix
    )
    yield store
    store.close()


@pytest.mark.azurite
def test_azurite_fails_on_a_raw_slash_key_that_the_store_encodes(
    azurite_connection_string: str, table_prefix: str, table_store: TableCatalogStateStore
) -> None:
    from azure.core.exceptions import HttpResponseError
    from azure.data.tables import TableServiceClient

    raw = TableServiceClient.from_connection_string(azurite_connection_string, retry_total=0)
    with raw:
        table = raw.create_table(f"{table_prefix}Raw")
        with pytest.raises(HttpResponseError) as caught:
            table.upsert_entity({"PartitionKey": "east/us", "RowKey": "x"})
        assert (
            caught.value.status_code == 500
        )  # the Azurite gap (Azure answers 4xx); either way: never send '/'
    records = keyed(record("a/b"))
    table_store.save_records("east/us", records)
    assert table_store.load_records("east/us") == records


@pytest.mark.azurite
def test_table_transactions_are_counted(table_store: TableCatalogStateStore) -> None:
    records = keyed(*(record(f"model-{i:03d}", f"{i}") for i in range(250)))
    table_store.save_records(LOCATION, records)
    assert table_store.transactions == 1 + 3  # create the table once, then 100 + 100 + 50
    assert table_store.writes == 250
    table_store.load_records(LOCATION)
    assert table_store.transactions == 5  # one page
    table_store.save_records(LOCATION, keyed(record("model-000", "0", removed=True)))
    assert table_store.transactions == 6
    cursor = table_store.get_cursor(LOCATION)
    table_store.commit_cursor(replace(cursor, cycles=1), expected_etag=cursor.etag)
    assert table_store.transactions == 6 + 1 + 2  # create the cursor table, read, write


@pytest.mark.azurite
def test_missing_outbox_entities_fall_back_to_single_deletes(table_store: TableCatalogStateStore) -> None:
    events = [event(str(i)) for i in range(3)]
    table_store.add_pending(events)
    before = table_store.transactions
    table_store.remove_pending([events[0].id, "absent", events[1].id])
    assert table_store.transactions == before + 1 + 3  # the failed batch, then one delete each
    assert [e.id for e in table_store.list_pending()] == [events[2].id]


@pytest.mark.azurite
def test_corrupt_stored_record_is_permanent(table_store: TableCatalogStateStore) -> None:
    table_store.save_records(LOCATION, keyed(record("a")))
    raw = table_store._table(table_store.snapshots_table)
    raw.upsert_entity({"PartitionKey": LOCATION, "RowKey": "OpenAI|b|1", "Record": "{not json"})
    with pytest.raises(PermanentError, match="unreadable"):
        table_store.load_records(LOCATION)


@pytest.mark.azurite
def test_key_limit_is_what_the_service_accepts(table_store: TableCatalogStateStore) -> None:
    longest = "l" * 512
    committed = table_store.commit_cursor(Cursor(longest, cycles=1), expected_etag=None)
    assert table_store.get_cursor(longest) == committed
    calls = table_store.transactions
    with pytest.raises(PermanentError, match="too long"):
        table_store.get_cursor(longest + "l")
    with pytest.raises(PermanentError, match="too long"):
        table_store.save_records(LOCATION, keyed(record("n" * 600)))
    assert table_store.transactions == calls  # refused before any request


@pytest.mark.azurite
def test_http_400_is_permanent(table_store: TableCatalogStateStore) -> None:
    # a string property over 32K characters: PropertyValueTooLarge
    huge = record("huge", skus=tuple(f"sku-{i:05d}" for i in range(4000)))
    with pytest.raises(PermanentError, match="HTTP 400"):
        table_store.save_records(LOCATION, keyed(huge))


def test_unreachable_service_is_transient_and_names_no_secret(unused_port: int) -> None:
    store = TableCatalogStateStore.from_connection_string(connection_string(unused_port), retry_total=0)
    with pytest.raises(TransientError) as caught:
        store.get_cursor(LOCATION)
    assert DEV_KEY not in str(caught.value)


class _Response:
    """Just enough of an HTTP response for azure-core's HttpResponseError."""

    def __init__(self, status: int) -> None:
        self.status_code = status
        self.reason = "test"
        self.headers: dict[str, str] = {}

    def text(self) -> str:
        return ""


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (408, TransientError),
        (429, TransientError),
        (500, TransientError),
        (503, TransientError),
        (400, PermanentError),
        (403, PermanentError),
        (404, PermanentError),
    ],
)
def test_http_statuses_translate_to_retry_semantics(status: int, expected: type[Exception]) -> None:
    from azure.core.exceptions import HttpResponseError

    store = TableCatalogStateStore.from_connection_string(connection_string(1))
    with pytest.raises(expected, match=f"HTTP {status}") as caught, store._translate("testing"):
        raise HttpResponseError(response=_Response(status))  # type: ignore[arg-type]
    assert isinstance(caught.value.__cause__, HttpResponseError)


def test_malformed_connection_string_is_permanent_and_not_quoted() -> None:
    secret = "AccountKey=c2VjcmV0;"
    with pytest.raises(PermanentError) as caught:
        TableCatalogStateStore.from_connection_string(secret)
    assert "c2VjcmV0" not in str(caught.value)


@pytest.mark.parametrize("prefix", ["1abc", "with-dash", "x" * 60])
def test_invalid_table_prefix_is_permanent(prefix: str) -> None:
    with pytest.raises(PermanentError, match="table prefix"):
        TableCatalogStateStore.from_connection_string(connection_string(1), table_prefix=prefix)


# SQLite specifics


def test_sqlite_unopenable_path_is_permanent(tmp_path_factory: pytest.TempPathFactory) -> None:
    directory = tmp_path_factory.mktemp("dir")
    with pytest.raises(PermanentError, match="SQLite"):
        SqliteCatalogStateStore(str(directory))


def test_sqlite_corrupt_stored_record_is_permanent(tmp_path_factory: pytest.TempPathFactory) -> None:
    store = SqliteCatalogStateStore(str(tmp_path_factory.mktemp("corrupt") / "state.db"))
    store._conn.execute("INSERT INTO records VALUES (?, ?, ?)", (LOCATION, "OpenAI|b|1", '{"version": {}}'))
    with pytest.raises(PermanentError, match="unreadable"):
        store.load_records(LOCATION)
    store.close()


def test_sqlite_busy_database_is_transient(tmp_path_factory: pytest.TempPathFactory) -> None:
    import sqlite3

    path = str(tmp_path_factory.mktemp("busy") / "state.db")
    store = SqliteCatalogStateStore(path)
    store._conn.execute("PRAGMA busy_timeout = 50")  # don't wait the full timeout for the other writer
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(TransientError, match="locked"):
            store.save_records(LOCATION, keyed(record("a")))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        store.close()


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port

"""One contract for every AlertBuffer: in memory (the reference), SQLite, and Table Storage on Azurite.

Where the backends differ, the test says so: Table Storage keeps a string property of at most 32,768 UTF-16 code
units, so ``TableAlertBuffer`` refuses a longer body (or route, group, item id) with a PermanentError naming the
item, before anything of the call is written; memory and SQLite have no such limit and keep it whole. SQLite and
Table Storage refuse text that is not valid Unicode (a lone surrogate); memory keeps it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.adapters.backends import Port
from shared.adapters.memory import InMemoryAlertBuffer
from shared.adapters.sqlite.alert_buffer import SqliteAlertBuffer
from shared.adapters.tables.alert_buffer import MAX_STRING_UNITS, TableAlertBuffer
from shared.bootstrap import build_alert_buffer
from shared.config import StateStoreConfig, StoreKind
from shared.domain.held import HeldAlert
from shared.domain.secret import Secret
from shared.errors import PermanentError
from shared.ports import AlertBuffer
from tests.support.store_backends import BACKENDS, store_factories

T0 = datetime(2025, 3, 12, 6, 30, 15, 123456, tzinfo=UTC)
ROUTE, GROUP = "team-a", "Azure upgraded gpt-4o 2024-05-13 to 2024-08-06"

BufferFactory = Callable[[], AlertBuffer]


@pytest.fixture(params=BACKENDS)
def make_buffer(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BufferFactory]:
    """Builds buffers over one shared backing state (several instances: several workers or processes)."""
    yield from store_factories(
        request,
        tmp_path_factory,
        port=Port.ALERTS,
        memory=InMemoryAlertBuffer,
    )


@pytest.fixture
def buffer(make_buffer: BufferFactory) -> AlertBuffer:
    return make_buffer()


def item(
    item_id: str,
    at: datetime = T0,
    *,
    route: str = ROUTE,
    group: str = GROUP,
    body: str | None = None,
    batch: str | None = None,
) -> HeldAlert:
    if body is None:
        body = json.dumps({"id": item_id, "type": "ModelWatch.DeploymentUpgraded"})
    return HeldAlert(route, group, item_id, at, body, batch)


def ids(items: Sequence[HeldAlert]) -> list[str]:
    return [i.item_id for i in items]


def batches(items: Sequence[HeldAlert]) -> dict[str, str | None]:
    return {i.item_id: i.batch for i in items}


def test_an_empty_buffer_holds_nothing(buffer: AlertBuffer) -> None:
    assert buffer.groups() == []
    assert buffer.held(ROUTE, GROUP) == []
    buffer.hold([])
    buffer.mark(ROUTE, GROUP, ["absent"], "b1")
    buffer.mark(ROUTE, GROUP, [], "b1")
    buffer.release(ROUTE, GROUP, ["absent"])
    buffer.release(ROUTE, GROUP, [])
    assert buffer.groups() == []
    assert buffer.held(ROUTE, GROUP) == []


def test_hold_is_idempotent_and_the_first_copy_wins(buffer: AlertBuffer) -> None:
    first = item("evt-1")
    buffer.hold([first])
    buffer.hold([first])
    buffer.hold([replace(first, held_at=T0 - timedelta(hours=1), body='{"other": true}', batch="b9")])
    assert buffer.held(ROUTE, GROUP) == [first]
    assert buffer.groups() == [(ROUTE, GROUP, T0)]
    # within one call too
    second = item("evt-2", T0 + timedelta(seconds=1))
    buffer.hold([second, replace(second, body="{}"), first])
    assert buffer.held(ROUTE, GROUP) == [first, second]


def test_holding_again_keeps_the_batch_mark(buffer: AlertBuffer) -> None:
    buffer.hold([item("evt-1"), item("evt-2")])
    buffer.mark(ROUTE, GROUP, ["evt-1"], "b1")
    buffer.hold([item("evt-1"), item("evt-2"), item("evt-3")])  # a redelivery meets a batch being sent
    assert batches(buffer.held(ROUTE, GROUP)) == {"evt-1": "b1", "evt-2": None, "evt-3": None}


def test_an_item_held_with_a_batch_keeps_it(buffer: AlertBuffer) -> None:
    marked = item("evt-1", batch="b0")
    buffer.hold([marked])
    buffer.mark(ROUTE, GROUP, ["evt-1"], "b1")
    assert buffer.held(ROUTE, GROUP) == [marked]


def test_groups_report_the_oldest_held_at_of_each_route_and_group(buffer: AlertBuffer) -> None:
    buffer.hold(
        [
            item("a1", T0 + timedelta(minutes=5)),
            item("a2", T0 + timedelta(minutes=1)),
            item("b1", T0 + timedelta(minutes=3), group="other news"),
            item("c1", T0, route="team-b"),
            item("c2", T0 + timedelta(minutes=9), route="team-b"),
        ]
    )
    assert buffer.groups() == [
        (ROUTE, GROUP, T0 + timedelta(minutes=1)),
        (ROUTE, "other news", T0 + timedelta(minutes=3)),
        ("team-b", GROUP, T0),
    ]
    buffer.release(ROUTE, GROUP, ["a2"])
    assert buffer.groups()[0] == (ROUTE, GROUP, T0 + timedelta(minutes=5))
    buffer.release(ROUTE, GROUP, ["a1"])
    buffer.release("team-b", GROUP, ["c1", "c2"])
    assert buffer.groups() == [(ROUTE, "other news", T0 + timedelta(minutes=3))]
    assert buffer.held(ROUTE, GROUP) == []


def test_held_is_oldest_first_then_by_item_id(buffer: AlertBuffer) -> None:
    later = T0 + timedelta(microseconds=1)
    buffer.hold([item("b", later), item("c", T0), item("a", later), item("B", later), item("z", T0)])
    buffer.hold([item("0", T0 + timedelta(days=1)), item("é", T0)])
    assert ids(buffer.held(ROUTE, GROUP)) == ["c", "z", "é", "B", "a", "b", "0"]


def test_mark_sets_the_batch_only_on_unmarked_items_and_ignores_missing_ones(buffer: AlertBuffer) -> None:
    buffer.hold([item("evt-1"), item("evt-2"), item("evt-3"), item("evt-1", group="other news")])
    buffer.mark(ROUTE, GROUP, ["evt-1", "evt-2", "missing", "evt-1"], "b1")
    assert batches(buffer.held(ROUTE, GROUP)) == {"evt-1": "b1", "evt-2": "b1", "evt-3": None}
    buffer.mark(ROUTE, GROUP, ["evt-2", "evt-3"], "b2")
    assert batches(buffer.held(ROUTE, GROUP)) == {"evt-1": "b1", "evt-2": "b1", "evt-3": "b2"}
    assert batches(buffer.held(ROUTE, "other news")) == {"evt-1": None}  # another group's item of that id
    buffer.mark("team-b", GROUP, ["evt-3"], "b3")  # nothing held there
    assert buffer.held("team-b", GROUP) == []
    assert [g[:2] for g in buffer.groups()] == [(ROUTE, GROUP), (ROUTE, "other news")]


def test_release_deletes_only_the_given_items(buffer: AlertBuffer) -> None:
    buffer.hold([item("evt-1"), item("evt-2"), item("evt-3"), item("evt-1", route="team-b")])
    buffer.mark(ROUTE, GROUP, ["evt-1"], "b1")
    buffer.release(ROUTE, GROUP, ["evt-1", "missing", "evt-1"])
    assert ids(buffer.held(ROUTE, GROUP)) == ["evt-2", "evt-3"]
    assert ids(buffer.held("team-b", GROUP)) == ["evt-1"]
    buffer.release(ROUTE, "other news", ["evt-2"])  # another group: nothing of this one goes
    buffer.release(ROUTE, GROUP, ["evt-2", "evt-3"])
    assert buffer.held(ROUTE, GROUP) == []
    assert buffer.groups() == [("team-b", GROUP, T0)]
    buffer.hold([item("evt-1")])  # released items can be held again: a new batch of news
    assert ids(buffer.held(ROUTE, GROUP)) == ["evt-1"]


def test_instances_over_one_backing_state_see_each_others_writes(make_buffer: BufferFactory) -> None:
    one, two = make_buffer(), make_buffer()
    one.hold([item("evt-1"), item("evt-2")])
    two.hold([item("evt-2", body="{}"), item("evt-3")])
    assert two.held(ROUTE, GROUP) == [item("evt-1"), item("evt-2"), item("evt-3")]
    two.mark(ROUTE, GROUP, ["evt-1", "evt-2"], "b1")
    one.mark(ROUTE, GROUP, ["evt-2", "evt-3"], "b2")
    assert batches(one.held(ROUTE, GROUP)) == {"evt-1": "b1", "evt-2": "b1", "evt-3": "b2"}
    one.release(ROUTE, GROUP, ["evt-1", "evt-2"])
    assert two.groups() == [(ROUTE, GROUP, T0)]
    two.release(ROUTE, GROUP, ["evt-3"])
    assert one.groups() == []


def _race_marks(buffers: Sequence[AlertBuffer], item_ids: Sequence[Sequence[str]]) -> list[set[str]]:
    """buffers[i] marks item_ids[i] with batch "batch-<i>", all at once, then reads which items carry its batch
    (what a flusher goes on to send). Returns those sets."""
    barrier = threading.Barrier(len(buffers))
    seen: list[set[str] | Exception] = [RuntimeError("did not finish")] * len(buffers)

    def mark(index: int) -> None:
        barrier.wait()
        try:
            buffers[index].mark(ROUTE, GROUP, item_ids[index], f"batch-{index}")
            mine = buffers[index].held(ROUTE, GROUP)
            seen[index] = {i.item_id for i in mine if i.batch == f"batch-{index}"}
        except Exception as exc:
            seen[index] = exc

    threads = [threading.Thread(target=mark, args=(i,)) for i in range(len(buffers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    sets = [s for s in seen if isinstance(s, set)]
    assert len(sets) == len(seen), seen
    return sets


@pytest.mark.parametrize("instances", [1, 2])
def test_racing_marks_leave_each_item_with_exactly_one_batch(
    make_buffer: BufferFactory, instances: int
) -> None:
    pool = [make_buffer() for _ in range(instances)]
    racers = [pool[0], pool[-1]]
    every = [f"evt-{i:03}" for i in range(120)]  # more than one transaction of 100 on Table Storage
    # the same items, then overlapping halves: 0-79 by one flusher, 40-119 by the other
    for round_, (first, second) in enumerate([(every, every), (every[:80], every[40:])] * 2):
        pool[0].release(ROUTE, GROUP, every)
        pool[0].hold([item(ident) for ident in every])
        seen = _race_marks(racers, [first, second])
        final = batches(pool[-1].held(ROUTE, GROUP))
        # every item one of them marked has exactly one batch, and what each saw as its own stayed its own
        assert {i: final[i] for i in seen[0]} == dict.fromkeys(seen[0], "batch-0"), f"round {round_}"
        assert {i: final[i] for i in seen[1]} == dict.fromkeys(seen[1], "batch-1"), f"round {round_}"
        assert seen[0] | seen[1] == set(first) | set(second) and not seen[0] & seen[1], f"round {round_}"
        assert set(first) - set(second) <= seen[0] and set(second) - set(first) <= seen[1]
        # a later flusher finds nothing left to mark
        racers[1].mark(ROUTE, GROUP, every, "late")
        assert batches(pool[0].held(ROUTE, GROUP)) == final


# Names a key can hold only once encoded, names over the 512-character key limit (shortened with a hash, so two
# that share a long prefix must stay apart), and pairs a naive "route|group" join would confuse.
LONG = "ä/#?\\🚀" + "x" * 600
AWKWARD_PAIRS = [
    ("team/ä #1?", "gpt-4o 2024-05-13 → 2024-08-06 \\ 50% #done?"),
    (LONG + "1", "news"),
    (LONG + "2", "news"),
    ("team-a", LONG + "🎉"),
    ("team-a", LONG + "🎊"),
    ("a|b", "c"),
    ("a", "b|c"),
    ("a\\", "|c"),
    ("a\\|", "c"),
    ("a", "\\|c"),
    ("", ""),
    ("\x01\x7f\x9f", "\t\n"),
]
AWKWARD_IDS = [
    "y" * 600 + "😀",
    "y" * 600 + "😁",
    "a/b#c?d%e\\f",
    "ünïcødé",
    "EVT-1",
    "evt-1",
    "%41",
    "A",
    "",
]


def test_unicode_and_long_names_round_trip_and_stay_apart(buffer: AlertBuffer) -> None:
    held: dict[tuple[str, str], list[HeldAlert]] = {}
    for n, (route, group) in enumerate(AWKWARD_PAIRS):
        at = T0 + timedelta(minutes=n)
        items = [
            item(ident, at, route=route, group=group, body=f"{route}|{group}|{ident}")
            for ident in AWKWARD_IDS
        ]
        buffer.hold(items)
        held[(route, group)] = sorted(items, key=lambda i: i.item_id)
    assert buffer.groups() == sorted(
        (r, g, T0 + timedelta(minutes=n)) for n, (r, g) in enumerate(AWKWARD_PAIRS)
    )
    for (route, group), items in held.items():
        assert buffer.held(route, group) == items, (route[:20], group[:20])
    route, group = AWKWARD_PAIRS[1]
    buffer.mark(route, group, AWKWARD_IDS[::2], "b/#?\\é" + "z" * 600)
    buffer.release(route, group, AWKWARD_IDS[1::2])
    assert batches(buffer.held(route, group)) == {i: "b/#?\\é" + "z" * 600 for i in AWKWARD_IDS[::2]}
    for pair, items in held.items():
        if pair != (route, group):
            assert buffer.held(*pair) == items, (pair[0][:20], pair[1][:20])


def test_instants_read_back_as_the_same_instant(buffer: AlertBuffer) -> None:
    pacific, india = timezone(timedelta(hours=-8)), timezone(timedelta(hours=5, minutes=30))
    east = datetime(2025, 3, 12, 0, 0, 0, 1, tzinfo=india)  # 2025-03-11 18:30:00.000001 UTC
    west = datetime(2025, 3, 11, 10, 30, 0, 2, tzinfo=pacific)  # 2025-03-11 18:30:00.000002 UTC
    utc = datetime(2025, 3, 11, 18, 30, 0, 999999, tzinfo=UTC)
    buffer.hold([item("utc", utc), item("west", west), item("east", east)])
    got = buffer.held(ROUTE, GROUP)
    assert ids(got) == ["east", "west", "utc"]  # instant order, not wall-clock order
    assert [i.held_at for i in got] == [east, west, utc]
    assert [i.held_at.astimezone(UTC).microsecond for i in got] == [1, 2, 999999]
    assert buffer.groups() == [(ROUTE, GROUP, east)]


def test_250_items_in_one_group(make_buffer: BufferFactory) -> None:
    buffer = make_buffer()
    every = [item(f"evt-{i:03}", T0 + timedelta(microseconds=250 - i)) for i in range(250)]
    buffer.hold(every)
    assert buffer.held(ROUTE, GROUP) == every[::-1]
    buffer.mark(ROUTE, GROUP, ids(every[:200]), "b1")
    buffer.hold([*every, item("evt-250"), item("evt-251")])  # 250 already held among them
    assert buffer.groups() == [(ROUTE, GROUP, T0)]
    found = batches(make_buffer().held(ROUTE, GROUP))
    assert len(found) == 252
    assert [found[i.item_id] for i in every[:200]] == ["b1"] * 200
    assert {found[i.item_id] for i in every[200:]} | {found["evt-250"], found["evt-251"]} == {None}
    buffer.mark(ROUTE, GROUP, list(found), "b2")
    buffer.release(ROUTE, GROUP, ids(every))
    assert batches(buffer.held(ROUTE, GROUP)) == {"evt-250": "b2", "evt-251": "b2"}


def test_a_body_over_table_storage_limit_is_refused_by_table_only(buffer: AlertBuffer) -> None:
    at_limit = "😀" * (MAX_STRING_UNITS // 2)  # 32,768 UTF-16 code units: every backend keeps it
    over = "x" * (MAX_STRING_UNITS - 1) + "😀"  # 32,769 code units in 32,768 characters
    buffer.hold([item("at-limit", body=at_limit)])
    assert buffer.held(ROUTE, GROUP)[0].body == at_limit
    big = [item("fine"), item("too-big", body=over)]
    if isinstance(buffer, TableAlertBuffer):
        with pytest.raises(PermanentError, match=r"body of held alert 'too-big' is 32769 UTF-16 code units"):
            buffer.hold(big)
        assert ids(buffer.held(ROUTE, GROUP)) == ["at-limit"]  # refused before anything was written
        with pytest.raises(PermanentError, match=r"route of held alert 'evt-1'"):
            buffer.hold([item("evt-1", route="r" * (MAX_STRING_UNITS + 1))])
    else:
        buffer.hold(big)  # memory and SQLite keep a body of any size whole
        assert {i.item_id: i.body for i in buffer.held(ROUTE, GROUP)}["too-big"] == over


@pytest.mark.parametrize("field", ["route", "group", "item_id", "body"])
def test_text_that_is_not_unicode_is_refused_by_sqlite_and_table(buffer: AlertBuffer, field: str) -> None:
    broken = replace(item("evt-1"), **{field: "lone \ud800 surrogate"})
    if isinstance(buffer, InMemoryAlertBuffer):
        buffer.hold([broken])  # memory keeps any str
        assert buffer.held(broken.route, broken.group) == [broken]
        return
    with pytest.raises(PermanentError):
        buffer.hold([item("evt-0"), broken])
    assert buffer.groups() == []


# corrupt stored items


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("table", marks=pytest.mark.azurite)])
def test_a_corrupt_stored_item_is_a_permanent_error(
    kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    made: SqliteAlertBuffer | TableAlertBuffer
    if kind == "sqlite":
        path = str(tmp_path_factory.mktemp("corrupt") / "state.db")
        made = SqliteAlertBuffer(path)
        conn = sqlite3.connect(path)
        with conn:
            conn.execute(
                "INSERT INTO alert_buffer VALUES (?, ?, ?, ?, ?, ?)",
                (ROUTE, GROUP, "broken-item", "soon", "{}", None),
            )
        conn.close()
    else:
        made = TableAlertBuffer.from_connection_string(
            request.getfixturevalue("azurite_connection_string"),
            table_prefix=request.getfixturevalue("table_prefix"),
        )
        made.hold([item("fine")])
        entity = dict(made._table(made.buffer_table).get_entity(_partition_of(made), "fine"))
        made._table(made.buffer_table).upsert_entity({**entity, "RowKey": "broken-item", "HeldAt": "soon"})
    try:
        with pytest.raises(PermanentError, match=r"unreadable"):
            made.groups()
        with pytest.raises(PermanentError, match=r"'broken-item'.* unreadable"):
            made.held(ROUTE, GROUP)
    finally:
        made.close()


def _partition_of(made: TableAlertBuffer) -> str:
    entities = made._query(made._table(made.buffer_table), "test", select=["PartitionKey"])
    return str(entities[0]["PartitionKey"])


# Table Storage specifics (Azurite)


@pytest.mark.azurite
def test_table_buffer_batches_per_group_and_counts_calls(
    azurite_connection_string: str, table_prefix: str
) -> None:
    made = TableAlertBuffer.from_connection_string(azurite_connection_string, table_prefix=table_prefix)
    try:
        every = [item(f"evt-{i:03}") for i in range(250)]
        made.hold(every)
        assert (made.transactions, made.writes) == (1 + 3, 250)  # create the table, 100 + 100 + 50
        made.hold([item("evt-000"), item("evt-250"), item("evt-251")])
        # the transaction meets a held item and writes nothing; then one insert each, two of them new
        assert (made.transactions, made.writes) == (4 + 1 + 3, 252)
        made.hold([item("evt-252", group="other news")])  # a single item: no transaction
        assert (made.transactions, made.writes) == (8 + 1, 253)
        made.mark(ROUTE, GROUP, ids(every), "b1")
        assert (made.transactions, made.writes) == (9 + 1 + 3, 503)  # one query for the ETags, 3 transactions
        made.mark(ROUTE, GROUP, ids(every), "b2")
        assert (made.transactions, made.writes) == (13 + 1, 503)  # nothing unmarked: the query only
        made.release(ROUTE, GROUP, ids(every))
        assert made.transactions == 14 + 3
        assert made.groups() == [(ROUTE, GROUP, T0), (ROUTE, "other news", T0)]
        assert made.transactions == 17 + 1
    finally:
        made.close()


class _Interrupted(TableAlertBuffer):
    """Lets ``meanwhile`` run between mark's read of the ETags and its writes (another flusher's turn)."""

    meanwhile: Callable[[], None] = staticmethod(lambda: None)

    def _query(self, *args: Any, **kwargs: Any) -> Any:
        found = super()._query(*args, **kwargs)
        if kwargs.get("select") == ["RowKey", "Batch"]:
            self.meanwhile()
        return found


@pytest.mark.azurite
def test_table_mark_leaves_items_marked_or_released_since_it_read_them(
    azurite_connection_string: str, table_prefix: str
) -> None:
    other = TableAlertBuffer.from_connection_string(azurite_connection_string, table_prefix=table_prefix)
    made = _Interrupted.from_connection_string(azurite_connection_string, table_prefix=table_prefix)
    try:
        every = [f"evt-{i:03}" for i in range(150)]
        other.hold([item(ident) for ident in every])

        def another_flusher() -> None:
            other.mark(ROUTE, GROUP, ["evt-001", "evt-120"], "theirs")
            other.release(ROUTE, GROUP, ["evt-002", "evt-121"])
            other.release(ROUTE, GROUP, ["evt-003"])  # sent, and the same event held again: a new ETag
            other.hold([item("evt-003")])

        made.meanwhile = another_flusher
        made.mark(ROUTE, GROUP, every, "ours")
        expected = {i: "ours" for i in every if i not in {"evt-002", "evt-121"}}
        expected.update({"evt-001": "theirs", "evt-120": "theirs"})
        assert batches(other.held(ROUTE, GROUP)) == expected
    finally:
        made.close()
        other.close()


# wiring


def test_build_alert_buffer_opens_the_configured_backend(tmp_path_factory: pytest.TempPathFactory) -> None:
    path = str(tmp_path_factory.mktemp("wiring") / "state.db")
    local = build_alert_buffer(None, default_sqlite=path)
    assert isinstance(local, SqliteAlertBuffer) and local.path == path
    local.close()
    configured = build_alert_buffer(StateStoreConfig(StoreKind.SQLITE, Secret(path)))
    assert isinstance(configured, SqliteAlertBuffer) and configured.path == path
    configured.close()


@pytest.mark.azurite
def test_build_alert_buffer_opens_table_storage(azurite_connection_string: str, table_prefix: str) -> None:
    config = StateStoreConfig(StoreKind.CONNECTION_STRING, Secret(azurite_connection_string))
    made = build_alert_buffer(config, table_prefix=table_prefix)
    assert isinstance(made, TableAlertBuffer) and made.buffer_table == f"{table_prefix}AlertBuffer"
    made.hold([item("evt-1")])
    assert made.groups() == [(ROUTE, GROUP, T0)]
    made.close()

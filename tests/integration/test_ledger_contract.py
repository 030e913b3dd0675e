"""One contract for every Ledger: in memory (the reference), SQLite, and Table Storage on Azurite. Plus the
``process_once`` helper every subscriber uses over it."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.backends import Port
from shared.adapters.memory import InMemoryLedger
from shared.adapters.sqlite.ledger import SqliteLedger
from shared.adapters.tables.ledger import TableLedger
from shared.domain.ledger import Claim, LedgerEntry
from shared.errors import PermanentError, TransientError
from shared.ports import Ledger
from shared.services.idempotency import Once, process_once
from tests.support.store_backends import BACKENDS, store_factories

T0 = datetime(2025, 3, 12, 6, 30, 15, 123456, tzinfo=UTC)
TTL = timedelta(minutes=10)
SUBSCRIBER = "policy"
CLAIMED, ALREADY_DONE, BUSY = Claim.CLAIMED, Claim.DONE, Claim.BUSY

LedgerFactory = Callable[[], Ledger]


@pytest.fixture(params=BACKENDS)
def make_ledger(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LedgerFactory]:
    """Builds ledgers over one shared backing state (several instances: several workers or processes)."""
    yield from store_factories(
        request,
        tmp_path_factory,
        port=Port.LEDGER,
        memory=InMemoryLedger,
    )


@pytest.fixture
def store(make_ledger: LedgerFactory) -> Ledger:
    return make_ledger()


# ledger


def entry(status: str, expires_at: datetime | None = None, outcome: str = "") -> LedgerEntry:
    return LedgerEntry(SUBSCRIBER, "evt-1", status, expires_at, outcome)


def without_etag(found: LedgerEntry | None) -> LedgerEntry | None:
    return None if found is None else replace(found, etag=None)


def test_unknown_event_has_no_ledger_entry(store: Ledger) -> None:
    assert store.get(SUBSCRIBER, "evt-1") is None


def test_first_claim_is_claimed_and_recorded(store: Ledger) -> None:
    assert store.claim(SUBSCRIBER, "evt-1", now=T0, expires_at=T0 + TTL) == CLAIMED
    found = store.get(SUBSCRIBER, "evt-1")
    assert found is not None and found.etag
    assert without_etag(found) == entry("in-progress", T0 + TTL)


def test_a_second_claim_is_busy_until_the_claim_expires(store: Ledger) -> None:
    assert store.claim(SUBSCRIBER, "evt-1", now=T0, expires_at=T0 + TTL) == CLAIMED
    before = store.get(SUBSCRIBER, "evt-1")
    later = T0 + TTL - timedelta(microseconds=1)
    assert store.claim(SUBSCRIBER, "evt-1", now=later, expires_at=later + TTL) == BUSY
    assert store.get(SUBSCRIBER, "evt-1") == before
    # expired (its expiry is not after now): a crashed attempt's claim is taken over
    takeover = T0 + TTL
    assert store.claim(SUBSCRIBER, "evt-1", now=takeover, expires_at=takeover + TTL) == CLAIMED
    after = store.get(SUBSCRIBER, "evt-1")
    assert without_etag(after) == entry("in-progress", takeover + TTL)
    assert after is not None and before is not None and after.etag != before.etag
    assert store.claim(SUBSCRIBER, "evt-1", now=takeover, expires_at=takeover + TTL) == BUSY


def test_completed_event_is_already_done(store: Ledger) -> None:
    assert store.claim(SUBSCRIBER, "evt-1", now=T0, expires_at=T0 + TTL) == CLAIMED
    store.complete(SUBSCRIBER, "evt-1", "updated 3 deployment(s): ünïcødé")
    assert without_etag(store.get(SUBSCRIBER, "evt-1")) == entry(
        "done", None, "updated 3 deployment(s): ünïcødé"
    )
    assert store.claim(SUBSCRIBER, "evt-1", now=T0, expires_at=T0 + TTL) == ALREADY_DONE
    much_later = T0 + timedelta(days=30)
    assert store.claim(SUBSCRIBER, "evt-1", now=much_later, expires_at=much_later + TTL) == ALREADY_DONE


def test_complete_overwrites_whatever_was_there(store: Ledger) -> None:
    store.complete(SUBSCRIBER, "evt-1", "")  # without a claim first
    assert without_etag(store.get(SUBSCRIBER, "evt-1")) == entry("done")
    store.complete(SUBSCRIBER, "evt-1", "failed: PermanentError('bad')")
    assert without_etag(store.get(SUBSCRIBER, "evt-1")) == entry(
        "done", None, "failed: PermanentError('bad')"
    )


def test_many_entries_are_read_and_completed_at_once(store: Ledger) -> None:
    """The alerts read and record thousands of standings per change: in few requests, with the same meaning as
    one get or complete each (awkward keys, absent ones left out, other subscribers' apart)."""
    ids = [f"standing/{i:04d}" for i in range(40)] + ["a/b#c?d%e\\f", "ünïcødé", "EVT-1"]
    assert store.get_many(SUBSCRIBER, ids) == {}
    store.complete_many(SUBSCRIBER, dict.fromkeys(ids[::2] + ids[:4], "told"))
    assert store.claim(SUBSCRIBER, "claimed", now=T0, expires_at=T0 + TTL) == CLAIMED
    store.complete("alerts", ids[1], "another subscriber's")
    found = store.get_many(SUBSCRIBER, [*ids, "claimed", "absent"])
    assert sorted(found) == sorted({*ids[::2], *ids[:4], "claimed"})
    assert {without_etag(e) for k, e in found.items() if k != "claimed"} == {
        replace(entry("done", None, "told"), event_id=k) for k in found if k != "claimed"
    }
    assert found["claimed"].status == "in-progress" and found["claimed"].expires_at == T0 + TTL
    for k in ids[:4]:  # each as the single read sees it, and already done for a claim
        assert without_etag(store.get(SUBSCRIBER, k)) == without_etag(found[k])
        assert store.claim(SUBSCRIBER, k, now=T0, expires_at=T0 + TTL) == ALREADY_DONE
    store.complete_many(SUBSCRIBER, {ids[0]: "told again", ids[1]: "another"})  # overwrites, as complete does
    assert {k: e.outcome for k, e in store.get_many(SUBSCRIBER, ids[:2]).items()} == {
        ids[0]: "told again",
        ids[1]: "another",
    }
    store.complete_many(SUBSCRIBER, {})  # nothing to do


def test_release_lets_the_next_claim_take_it(store: Ledger) -> None:
    assert store.claim(SUBSCRIBER, "evt-1", now=T0, expires_at=T0 + TTL) == CLAIMED
    store.release(SUBSCRIBER, "evt-1")
    assert store.get(SUBSCRIBER, "evt-1") is None
    assert store.claim(SUBSCRIBER, "evt-1", now=T0, expires_at=T0 + TTL) == CLAIMED


def test_release_of_a_done_or_absent_event_is_a_no_op(store: Ledger) -> None:
    store.release(SUBSCRIBER, "never-claimed")
    assert store.get(SUBSCRIBER, "never-claimed") is None
    assert store.claim(SUBSCRIBER, "evt-1", now=T0, expires_at=T0 + TTL) == CLAIMED
    store.complete(SUBSCRIBER, "evt-1", "ok")
    store.release(SUBSCRIBER, "evt-1")
    assert without_etag(store.get(SUBSCRIBER, "evt-1")) == entry("done", None, "ok")
    assert store.claim(SUBSCRIBER, "evt-1", now=T0, expires_at=T0 + TTL) == ALREADY_DONE


def test_ledger_entries_are_kept_apart_by_subscriber_and_event(store: Ledger) -> None:
    ids = ["evt-1", "EVT-1", "a/b#c?d%e\\f", "ünïcødé"]
    for ident in ids:
        assert store.claim(SUBSCRIBER, ident, now=T0, expires_at=T0 + TTL) == CLAIMED
    assert store.claim("alerts/team#1", "evt-1", now=T0, expires_at=T0 + TTL) == CLAIMED
    store.complete(SUBSCRIBER, "EVT-1", "done")
    assert [store.claim(SUBSCRIBER, i, now=T0, expires_at=T0 + TTL) for i in ids] == [
        BUSY,
        ALREADY_DONE,
        BUSY,
        BUSY,
    ]
    found = store.get(SUBSCRIBER, "a/b#c?d%e\\f")
    assert found is not None and (found.subscriber, found.event_id) == (SUBSCRIBER, "a/b#c?d%e\\f")
    store.release("alerts/team#1", "evt-1")
    assert store.get("alerts/team#1", "evt-1") is None
    assert store.get(SUBSCRIBER, "evt-1") is not None


def _race(stores: list[Ledger], event_id: str, now: datetime) -> list[str | Exception]:
    """Every store claims the event at once; returns what each got."""
    barrier = threading.Barrier(len(stores))
    outcomes: list[str | Exception] = [RuntimeError("did not finish")] * len(stores)

    def claim(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = stores[index].claim(SUBSCRIBER, event_id, now=now, expires_at=now + TTL)
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.parametrize("instances", [1, 2])
def test_racing_claims_exactly_one_wins(make_ledger: LedgerFactory, instances: int) -> None:
    pool = [make_ledger() for _ in range(instances)]
    racers = [pool[i % instances] for i in range(8)]
    for round_ in range(4):
        outcomes = _race(racers, f"evt-{round_}", T0)
        assert sorted(map(str, outcomes)) == sorted([CLAIMED] + [BUSY] * 7), f"round {round_}: {outcomes}"
    # the same race over an abandoned claim: one attempt takes it over
    later = T0 + TTL
    outcomes = _race(racers, "evt-0", later)
    assert sorted(map(str, outcomes)) == sorted([CLAIMED] + [BUSY] * 7), outcomes
    assert without_etag(pool[0].get(SUBSCRIBER, "evt-0")) == LedgerEntry(
        SUBSCRIBER, "evt-0", "in-progress", later + TTL
    )


# corrupt stored entries


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("table", marks=pytest.mark.azurite)])
def test_a_corrupt_stored_entry_is_a_permanent_error_naming_it(
    kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    made: SqliteLedger | TableLedger
    if kind == "sqlite":
        path = str(tmp_path_factory.mktemp("corrupt") / "state.db")
        made = SqliteLedger(path)
        conn = sqlite3.connect(path)
        with conn:
            conn.execute(
                "INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?)",
                (SUBSCRIBER, "broken-entry", "in-progress", "soon", "", "e"),
            )
        conn.close()
    else:
        made = TableLedger.from_connection_string(
            request.getfixturevalue("azurite_connection_string"),
            table_prefix=request.getfixturevalue("table_prefix"),
        )
        made._table(made.ledger_table).upsert_entity(
            {
                "PartitionKey": SUBSCRIBER,
                "RowKey": "broken-entry",
                "Status": "in-progress",
                "ExpiresAt": "soon",
            }
        )
    try:
        with pytest.raises(PermanentError, match=r"ledger entry 'broken-entry' .*unreadable"):
            made.get(SUBSCRIBER, "broken-entry")
        with pytest.raises(PermanentError, match=r"ledger entry 'broken-entry' .*unreadable"):
            made.claim(SUBSCRIBER, "broken-entry", now=T0, expires_at=T0 + TTL)
    finally:
        made.close()


# SQLite specifics


def _claim_in_a_process(path: str, event_id: str) -> str:
    store = SqliteLedger(path)
    try:
        return store.claim(SUBSCRIBER, event_id, now=T0, expires_at=T0 + TTL)
    finally:
        store.close()


def test_sqlite_claims_from_several_processes_exactly_one_wins(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    path = str(tmp_path_factory.mktemp("processes") / "state.db")
    SqliteLedger(path).close()  # create the file before the race
    with ProcessPoolExecutor(max_workers=4, mp_context=multiprocessing.get_context("spawn")) as pool:
        for round_ in range(3):
            outcomes = list(pool.map(_claim_in_a_process, [path] * 8, [f"evt-{round_}"] * 8))
            assert sorted(outcomes) == sorted([CLAIMED] + [BUSY] * 7), outcomes


# Table Storage specifics (Azurite)


@pytest.mark.azurite
def test_table_ledger_calls_are_counted(azurite_connection_string: str, table_prefix: str) -> None:
    made = TableLedger.from_connection_string(azurite_connection_string, table_prefix=table_prefix)
    try:
        assert made.claim(SUBSCRIBER, "evt-1", now=T0, expires_at=T0 + TTL) == CLAIMED
        assert made.transactions == 1 + 1  # create the table, insert
        assert made.claim(SUBSCRIBER, "evt-1", now=T0, expires_at=T0 + TTL) == BUSY
        assert made.transactions == 2 + 2  # insert refused, read
        later = T0 + TTL
        assert made.claim(SUBSCRIBER, "evt-1", now=later, expires_at=later + TTL) == CLAIMED
        assert made.transactions == 4 + 3  # insert refused, read, conditional replace
        made.complete(SUBSCRIBER, "evt-1", "ok")
        assert made.transactions == 7 + 1
        made.complete_many(SUBSCRIBER, {f"s-{i}": "told" for i in range(250)})
        assert made.transactions == 8 + 3  # batches of 100 in the subscriber's partition
        assert len(made.get_many(SUBSCRIBER, [f"s-{i}" for i in range(250)])) == 250
        assert made.transactions == 11 + 18  # 14 keys a query
    finally:
        made.close()


# process_once over every ledger


class Boom(Exception):
    pass


def test_process_once_runs_once_records_and_acknowledges(store: Ledger) -> None:
    calls: list[int] = []

    def work() -> str:
        calls.append(1)
        return "did it"

    first = process_once(store, SUBSCRIBER, "k1", work, now=T0, ttl=TTL)
    again = process_once(store, SUBSCRIBER, "k1", work, now=T0, ttl=TTL)
    assert (first.status, first.value, again.status, len(calls)) == (Once.DONE, "did it", Once.DUPLICATE, 1)
    done = store.get(SUBSCRIBER, "k1")
    assert done is not None and done.outcome == "did it"

    def transient() -> str:
        raise TransientError("throttled")

    with pytest.raises(TransientError):
        process_once(store, SUBSCRIBER, "k2", transient, now=T0, ttl=TTL)
    assert store.get(SUBSCRIBER, "k2") is None  # released: the platform's retry runs it
    assert process_once(store, SUBSCRIBER, "k2", work, now=T0, ttl=TTL).status == Once.DONE

    def permanent() -> str:
        raise PermanentError("quota" * 2000)

    failed = process_once(store, SUBSCRIBER, "k3", permanent, now=T0, ttl=TTL)
    recorded = store.get(SUBSCRIBER, "k3")
    assert (
        failed.status == Once.FAILED and recorded is not None and recorded.outcome.startswith("failed: quota")
    )
    assert len(recorded.outcome) <= 4000  # one limit for every subscriber
    assert process_once(store, SUBSCRIBER, "k3", work, now=T0, ttl=TTL).status == Once.DUPLICATE

    def bug() -> str:
        raise Boom

    with pytest.raises(Boom):
        process_once(store, SUBSCRIBER, "k4", bug, now=T0, ttl=TTL)
    assert store.get(SUBSCRIBER, "k4") is None
    assert store.claim(SUBSCRIBER, "k5", now=T0, expires_at=T0 + TTL) == CLAIMED
    assert process_once(store, SUBSCRIBER, "k5", work, now=T0, ttl=TTL).status == Once.BUSY

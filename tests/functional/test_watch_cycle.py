"""The watch cycle end to end over in-memory state: ordering of work, crashes, publish failures, races."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.memory import CollectingPublisher, InMemoryCatalogSource, InMemoryCatalogStateStore
from shared.domain.cursor import Cursor
from shared.domain.events import LifecycleEvent
from shared.errors import ArmError, CycleIncompleteError, PublishError, TransientError
from shared.services.watch import ANOMALY, BASELINE, CONCURRENT, FETCH_FAILED, OK, CatalogWatcher
from tests.builders import item

T0 = datetime(2025, 1, 9, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
LOCS = ["eastus", "swedencentral"]

V1 = [
    item("gpt-4o", "2024-05-13", default=True, retires="2025-05-20T00:00:00Z"),
    item("gpt-4o", "2024-08-06"),
    item("gpt-35-turbo", "0301", retires="2025-02-13T00:00:00Z"),
]
V2 = [
    item("gpt-4o", "2024-05-13", default=False, retires="2025-06-30T00:00:00Z"),
    item("gpt-4o", "2024-08-06", default=True),
    item("gpt-4o", "2024-11-20"),
    item("gpt-35-turbo", "0301", status="Deprecated", retires="2025-02-13T00:00:00Z"),
]


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the service catches it."""


class CrashingStore(InMemoryCatalogStateStore):
    """The reference store, made to die once at a chosen step."""

    def __init__(self) -> None:
        super().__init__()
        self.crash_on: str | None = None

    def _maybe(self, step: str) -> None:
        if self.crash_on == step:
            self.crash_on = None
            raise Crash(step)

    def commit_cursor(self, cursor: Cursor, *, expected_etag: str | None) -> Cursor:
        self._maybe("commit_cursor")
        return super().commit_cursor(cursor, expected_etag=expected_etag)

    def save_records(self, location: str, records: Any) -> None:
        self._maybe("save_records")
        super().save_records(location, records)

    def remove_pending(self, event_ids: Sequence[str]) -> None:
        self._maybe("remove_pending")
        super().remove_pending(event_ids)


class Pub(CollectingPublisher):
    """Keeps catalog events in ``published`` and the digests apart (they are checked by ``assert_digested``)."""

    def __init__(self) -> None:
        super().__init__()
        self.digests: list[LifecycleEvent] = []

    def publish(self, events: Sequence[LifecycleEvent]) -> None:
        self.digests.extend(e for e in events if e.event_type == "ModelLifecycle.CatalogDigest")
        super().publish([e for e in events if e.event_type != "ModelLifecycle.CatalogDigest"])


def assert_digested(pub: Pub) -> None:
    """Every published catalog event is in exactly one published digest, published after it."""
    covered = [i for d in pub.digests for i in d.data["coveredEventIds"]]  # type: ignore[union-attr]
    assert sorted(covered) == sorted(e.id for e in pub.published)


class FlakyPublisher(Pub):
    def __init__(self) -> None:
        super().__init__()
        self.fail_next = 0
        self.partial: int | None = None

    def publish(self, events: Sequence[LifecycleEvent]) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise PublishError("topic answered 503", transient=True)
        if self.partial is not None:
            sent, self.partial = list(events[: self.partial]), None
            super().publish(sent)
            raise PublishError("second batch failed", published_ids=tuple(e.id for e in sent))
        super().publish(events)


def watcher(
    source: InMemoryCatalogSource, store: InMemoryCatalogStateStore, publisher: Pub
) -> CatalogWatcher:
    return CatalogWatcher(source, store, publisher, max_concurrency=4)


def source_with(items: list[dict[str, Any]]) -> InMemoryCatalogSource:
    return InMemoryCatalogSource({loc: list(items) for loc in LOCS})


def reference_ids() -> set[str]:
    """The ids a crash-free run publishes over V1 then V2."""
    store, pub = InMemoryCatalogStateStore(), Pub()
    watcher(source_with(V1), store, pub).run(LOCS, T0)
    watcher(source_with(V2), store, pub).run(LOCS, T1)
    assert_digested(pub)
    return {e.id for e in pub.published}


def test_first_cycle_is_a_baseline_and_publishes_actionable_events() -> None:
    store, pub = InMemoryCatalogStateStore(), Pub()
    report = watcher(source_with(V1), store, pub).run(LOCS, T0)
    assert [o.status for o in report.locations] == [BASELINE, BASELINE]
    assert report.ok and report.still_pending == 0
    kinds = sorted({e.event_type for e in pub.published})
    assert kinds == ["ModelLifecycle.RetirementApproaching", "ModelLifecycle.RetirementScheduled"]
    assert store.list_pending() == []
    assert store.get_cursor("eastus").etag is not None
    assert len(store.load_records("eastus")) == 3


def test_unchanged_catalog_writes_only_cursors_and_publishes_nothing() -> None:
    store, pub = InMemoryCatalogStateStore(), Pub()
    watcher(source_with(V1), store, pub).run(LOCS, T0)
    before_writes, before_events = store.writes, len(pub.published)
    report = watcher(source_with(V1), store, pub).run(LOCS, T1)
    assert [o.status for o in report.locations] == [OK, OK]
    assert store.writes - before_writes == len(LOCS)  # one cursor per location, no record, no outbox
    assert len(pub.published) == before_events


def test_changes_are_published_once_with_deterministic_ids() -> None:
    ids_a, ids_b = reference_ids(), reference_ids()
    assert ids_a == ids_b
    store, pub = InMemoryCatalogStateStore(), Pub()
    watcher(source_with(V1), store, pub).run(LOCS, T0)
    pub.published.clear()
    watcher(source_with(V2), store, pub).run(LOCS, T1)
    kinds = {e.event_type.removeprefix("ModelLifecycle.") for e in pub.published}
    assert kinds == {
        "VersionReleased",
        "DefaultVersionChanged",
        "RetirementScheduled",
        "LifecycleStatusChanged",
        "VersionRetired",
    }
    assert len({e.id for e in pub.published}) == len(pub.published)


@pytest.mark.parametrize("step", ["commit_cursor", "save_records", "remove_pending"])
def test_crash_at_any_step_loses_nothing_and_the_next_cycle_publishes_the_same_ids(step: str) -> None:
    store, pub = CrashingStore(), Pub()
    watcher(source_with(V1), store, pub).run(LOCS, T0)
    store.crash_on = step
    with pytest.raises(Crash):
        watcher(source_with(V2), store, pub).run(LOCS, T1)
    # a new worker, a later tick, the same catalog
    report = watcher(source_with(V2), store, pub).run(LOCS, T1 + timedelta(hours=1))
    assert report.ok
    assert {e.id for e in pub.published} == reference_ids()
    assert_digested(pub)  # a crash never leaves a change without its digest, nor digests it twice
    assert store.list_pending() == []
    # and the state has converged: one more cycle is quiet
    pub.published.clear()
    watcher(source_with(V2), store, pub).run(LOCS, T1 + timedelta(hours=2))
    assert pub.published == []


def test_publish_failure_fails_the_run_and_the_next_cycle_delivers() -> None:
    store, pub = InMemoryCatalogStateStore(), FlakyPublisher()
    watcher(source_with(V1), store, pub).run(LOCS, T0)
    pub.fail_next = 1
    report = watcher(source_with(V2), store, pub).run(LOCS, T1)
    assert not report.ok and report.publish_error and report.still_pending > 0
    with pytest.raises(CycleIncompleteError, match="publish"):
        report.raise_if_incomplete()
    recovery = watcher(source_with(V2), store, pub).run(LOCS, T1 + timedelta(hours=1))
    assert recovery.ok and recovery.still_pending == 0
    assert {e.id for e in pub.published} == reference_ids()
    assert_digested(pub)


def test_partial_publish_drops_exactly_what_went_out() -> None:
    store, pub = InMemoryCatalogStateStore(), FlakyPublisher()
    watcher(source_with(V1), store, pub).run(LOCS, T0)
    pub.published.clear()
    pub.partial = 2
    report = watcher(source_with(V2), store, pub).run(LOCS, T1)
    assert len(report.published) == 2
    pending_ids = {e.id for e in store.list_pending()}
    assert pending_ids.isdisjoint({e.id for e in report.published})
    assert report.still_pending == len(pending_ids) > 0


def test_what_went_out_is_kept_for_the_status_page_and_nothing_else() -> None:
    store, pub = InMemoryCatalogStateStore(), FlakyPublisher()
    watcher(source_with(V1), store, pub).run(LOCS, T0)
    pub.fail_next = 1
    watcher(source_with(V2), store, pub).run(LOCS, T1)  # published nothing: kept nothing of this cycle
    assert {e.id for e in store.list_history(T0)} == {e.id for e in pub.published}
    pub.partial = 1
    watcher(source_with(V2), store, pub).run(LOCS, T1 + timedelta(hours=1))
    watcher(source_with(V2), store, pub).run(LOCS, T1 + timedelta(hours=2))
    kept = store.list_history(T0)
    assert sorted(e.id for e in kept) == sorted(e.id for e in pub.published)  # digests are not kept
    assert [e.id for e in store.list_history(T1)] == [e.id for e in kept if e.event_time >= T1]


class HistoryDown(InMemoryCatalogStateStore):
    def record_history(self, events: Sequence[LifecycleEvent]) -> None:
        raise TransientError("Table Storage answered 503")


def test_a_history_write_failure_loses_no_event_and_fails_nothing() -> None:
    store, pub = HistoryDown(), Pub()
    report = watcher(source_with(V1), store, pub).run(LOCS, T0)
    assert report.ok and report.still_pending == 0 and pub.published
    assert store.list_pending() == []


def test_one_location_failing_never_stops_the_others_and_keeps_its_snapshot() -> None:
    store, pub = InMemoryCatalogStateStore(), Pub()
    watcher(source_with(V1), store, pub).run(LOCS, T0)
    snapshot_before = store.load_records("swedencentral")
    source = source_with(V2)
    source.failures["swedencentral"] = ArmError("ARM answered 503 five times", status=503, transient=True)
    report = watcher(source, store, pub).run(LOCS, T1)
    statuses = {o.location: o.status for o in report.locations}
    assert statuses == {"eastus": OK, "swedencentral": FETCH_FAILED}
    assert not report.ok
    assert store.load_records("swedencentral") == snapshot_before
    assert not any(e.data.get("location") == "swedencentral" for e in report.events_detected)
    assert "503" in (store.get_cursor("swedencentral").last_error or "")
    with pytest.raises(CycleIncompleteError, match="swedencentral"):
        report.raise_if_incomplete()


def test_concurrent_cycle_loses_at_the_cursor_and_stops_cleanly() -> None:
    store, pub = InMemoryCatalogStateStore(), Pub()
    watcher(source_with(V1), store, pub).run(["eastus"], T0)

    class RacingStore(InMemoryCatalogStateStore):
        """Reads go to the shared store; a rival cycle commits right after our first cursor read."""

        raced = False

        def get_cursor(self, location: str) -> Cursor:
            cursor = store.get_cursor(location)
            if not self.raced:
                self.raced = True
                watcher(source_with(V2), store, pub).run(["eastus"], T1)  # the rival wins
            return cursor

        def load_records(self, location: str) -> Any:
            return store.load_records(location)

        def commit_cursor(self, cursor: Cursor, *, expected_etag: str | None) -> Cursor:
            return store.commit_cursor(cursor, expected_etag=expected_etag)

        def save_records(self, location: str, records: Any) -> None:
            raise AssertionError("the loser must not write the snapshot")

        def add_pending(self, events: Sequence[LifecycleEvent]) -> None:
            store.add_pending(events)

        def list_pending(self) -> list[LifecycleEvent]:
            return store.list_pending()

        def remove_pending(self, event_ids: Sequence[str]) -> None:
            store.remove_pending(event_ids)

    loser = CatalogWatcher(source_with(V2), RacingStore(), pub).run(["eastus"], T1)
    assert [o.status for o in loser.locations] == [CONCURRENT]
    assert loser.ok  # losing a race is not a failure


def test_vanish_guard_keeps_snapshot_and_reports_anomaly() -> None:
    many = [item("gpt-4o", f"v{i}") for i in range(10)]
    store, pub = InMemoryCatalogStateStore(), Pub()
    watcher(source_with(many), store, pub).run(LOCS, T0)
    kept = store.load_records("eastus")
    report = watcher(source_with(many[:5]), store, pub).run(LOCS, T1)
    assert [o.status for o in report.locations] == [ANOMALY, ANOMALY]
    assert store.load_records("eastus") == kept
    assert [e.event_type for e in pub.published] == ["ModelLifecycle.CatalogAnomaly"] * 2


def test_dry_run_writes_and_publishes_nothing() -> None:
    store, pub = InMemoryCatalogStateStore(), Pub()
    report = watcher(source_with(V1), store, pub).run(LOCS, T0, dry_run=True)
    assert report.dry_run and len(report.events_detected) > 0
    assert store.writes == 0 and pub.published == [] and store.get_cursor("eastus").etag is None


def test_malformed_entries_are_reported_and_the_rest_processed() -> None:
    broken = {
        "kind": "OpenAI",
        "model": {
            "format": "OpenAI",
            "name": "gpt-4o",
            "version": "x",
            "deprecation": {"inference": "tomorrow"},
        },
    }
    store, pub = InMemoryCatalogStateStore(), Pub()
    report = watcher(source_with([*V1, broken]), store, pub).run(LOCS, T0)
    assert report.ok
    assert report.locations[0].versions == 3
    assert "OpenAI/gpt-4o/x" in report.locations[0].problems[0]


def test_unchanged_catalog_skips_the_diff_until_a_reminder_is_due() -> None:
    class CountingStore(InMemoryCatalogStateStore):
        loads = 0

        def load_records(self, location: str) -> Any:
            self.loads += 1
            return super().load_records(location)

    store, pub = CountingStore(), Pub()
    source = source_with(V1)
    watcher(source, store, pub).run(["eastus"], T0)  # baseline: records written, no fingerprint yet
    watcher(source, store, pub).run(["eastus"], T1)  # full diff confirms the snapshot, sets the fingerprint
    loads = store.loads
    report = watcher(source, store, pub).run(["eastus"], T1 + timedelta(hours=1))
    assert store.loads == loads and report.locations[0].versions == 3  # skipped: nothing decoded
    before = len(pub.published)
    # gpt-35-turbo 0301 retires 2025-02-13: its 30-day reminder falls due on 2025-01-14
    watcher(source, store, pub).run(["eastus"], datetime(2025, 1, 14, 1, tzinfo=UTC))
    fresh = pub.published[before:]
    assert [(e.event_type, e.data.get("threshold")) for e in fresh] == [
        ("ModelLifecycle.RetirementApproaching", 30)
    ]


def test_unchanged_locations_commit_their_cursors_together_and_one_that_moved_stops() -> None:
    class BatchingStore(InMemoryCatalogStateStore):
        def __init__(self) -> None:
            super().__init__()
            self.batches: list[list[str]] = []
            self.singles: list[str] = []
            self.rival: str | None = None
            self._in_batch = False

        def commit_cursor(self, cursor: Cursor, *, expected_etag: str | None) -> Cursor:
            if not self._in_batch:
                self.singles.append(cursor.location)
            return super().commit_cursor(cursor, expected_etag=expected_etag)

        def commit_cursors(self, commits: Sequence[tuple[Cursor, str | None]]) -> dict[str, Cursor | None]:
            self.batches.append([c.location for c, _ in commits])
            if self.rival is not None:  # another cycle commits this location between our read and our commit
                theirs = self.get_cursor(self.rival)
                super().commit_cursor(replace(theirs, last_error="theirs"), expected_etag=theirs.etag)
            self._in_batch = True
            try:
                return super().commit_cursors(commits)
            finally:
                self._in_batch = False

    store, pub = BatchingStore(), Pub()
    source = source_with(V1)
    watcher(source, store, pub).run(LOCS, T0)  # baseline
    watcher(source, store, pub).run(LOCS, T1)  # full diff: the fingerprints are set
    store.batches.clear()
    store.singles.clear()
    steady = watcher(source, store, pub).run(LOCS, T1 + timedelta(hours=1))
    assert steady.ok and [o.status for o in steady.locations] == [OK] * len(LOCS)
    assert store.singles == [] and [sorted(b) for b in store.batches] == [
        sorted(LOCS)
    ]  # one batch, no single
    assert all(store.get_cursor(loc).last_cycle_at == T1 + timedelta(hours=1) for loc in LOCS)

    store.rival = LOCS[0]
    raced = watcher(source, store, pub).run(LOCS, T1 + timedelta(hours=2))
    assert [o.status for o in raced.locations] == [CONCURRENT, OK]
    assert raced.ok  # losing a race is not a failure
    assert store.get_cursor(LOCS[0]).last_error == "theirs"  # the rival's commit stands
    assert store.get_cursor(LOCS[1]).last_cycle_at == T1 + timedelta(hours=2)

"""The catalog diff: which change yields which event, baselines, reminders, guards, and its properties (other model
formats: test_diff_formats.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.catalog import VersionKey, parse_models
from shared.domain.diff import Confirmation, DiffResult, DiffRules, LocationSnapshot, diff_location
from shared.domain.events import EventType
from tests.builders import item
from tests.support.diff import (
    BASE,
    LOC,
    T0,
    cat,
    dates,
    moments,
    names,
    run,
    settled,
    statuses,
    types,
    versions,
)


def test_baseline_announces_only_actionable_things() -> None:
    result = run(
        None,
        item(
            "gpt-4o",
            "2024-05-13",
            default=True,
            retires="2025-05-20T00:00:00Z",
            upgrade=("gpt-4o", "2024-08-06", "2025-02-13T00:00:00Z"),
        ),
        item("gpt-4o", "2024-08-06"),
        item("gpt-35-turbo", "0301", status="Deprecated", retires="2025-02-13T00:00:00Z"),
        item("gpt-35-turbo", "0613", retires="2025-02-01T00:00:00Z"),
    )
    assert sorted(types(result)) == sorted(
        [
            "RetirementScheduled",  # gpt-4o 2024-05-13
            "DefaultVersionChangeScheduled",  # gpt-4o 2024-05-13 -> 2024-08-06
            "VersionRetired",  # 0301 already retired by status
            "RetirementScheduled",  # 0613, 23 days out
            "RetirementApproaching",  # 0613 within 30 days
        ]
    )
    assert all(e.data["baseline"] is True for e in result.events)
    assert "VersionReleased" not in types(result)


def test_no_change_yields_nothing() -> None:
    prev = settled(*BASE)
    assert run(prev, *BASE, now=T0 + timedelta(hours=1)).events == ()


def test_new_version_released() -> None:
    prev = settled(*BASE)
    result = run(prev, *BASE, item("gpt-4o", "2024-11-20"))
    assert types(result) == ["VersionReleased"]
    event = result.events[0]
    assert event.subject == "/locations/eastus/models/OpenAI/gpt-4o/versions/2024-11-20"
    assert event.data["modelVersion"] == "2024-11-20"
    assert event.data["baseline"] is False


def test_default_version_changed_names_previous_default() -> None:
    prev = settled(*BASE)
    result = run(
        prev,
        item("gpt-4o", "2024-05-13", default=False),
        item("gpt-4o", "2024-08-06", default=True),
        item("gpt-35-turbo", "0125", default=True),
    )
    assert types(result) == ["DefaultVersionChanged"]
    assert result.events[0].data["modelVersion"] == "2024-08-06"
    assert result.events[0].data["previousDefaultVersion"] == "2024-05-13"


def test_a_state_that_comes_back_is_a_new_event_and_a_retried_cycle_the_same() -> None:
    """A date set, withdrawn, set again; a default moved, moved back, moved again: each return is news (its own
    id: the subscribers would drop a repeated id as a redelivery), while the same cycle run twice from the same
    snapshot gives the same ids."""
    dated = item("gpt-4o", "2024-05-13", default=True, retires="2026-12-31T00:00:00Z")
    undated = item("gpt-4o", "2024-05-13", default=True)
    snapshot = settled(undated)
    ids = []
    for day, version in enumerate((dated, undated, dated, undated, dated), start=1):
        result = run(snapshot, version, now=T0 + timedelta(days=day))
        again = run(snapshot, version, now=T0 + timedelta(days=day))
        assert [e.id for e in again.events] == [e.id for e in result.events]  # a retried cycle
        assert types(result) == ["RetirementScheduled"]
        ids.append(result.events[0].id)
        snapshot = result.snapshot
    assert len(set(ids)) == 5
    # an untouched version's first announcement keeps the id it always had
    assert ids[0] == run(settled(undated), dated, now=T0 + timedelta(days=1)).events[0].id

    a = (item("gpt-4.1", "1", default=True), item("gpt-4.1", "2", default=False))
    b = (item("gpt-4.1", "1", default=False), item("gpt-4.1", "2", default=True))
    snapshot, moves = settled(*a), []
    for day, state in enumerate((b, a, b), start=1):
        result = run(snapshot, *state, now=T0 + timedelta(days=day))
        moves += [
            (e.data["modelVersion"], e.id)
            for e in result.events
            if e.event_type.endswith("DefaultVersionChanged")
        ]
        snapshot = result.snapshot
    assert [v for v, _ in moves] == ["2", "1", "2"] and len({i for _, i in moves}) == 3


def test_default_change_scheduled_then_moved() -> None:
    prev = settled(*BASE)
    first = run(
        prev,
        item("gpt-4o", "2024-05-13", default=True, upgrade=("gpt-4o", "2024-08-06", "2025-02-13T00:00:00Z")),
        *BASE[1:],
    )
    assert types(first) == ["DefaultVersionChangeScheduled"]
    assert first.events[0].data["scheduledFor"] == "2025-02-13T00:00:00Z"
    assert first.events[0].data["previousScheduledFor"] is None
    moved = run(
        first.snapshot,
        item("gpt-4o", "2024-05-13", default=True, upgrade=("gpt-4o", "2024-08-06", "2025-03-17T00:00:00Z")),
        *BASE[1:],
    )
    assert types(moved) == ["DefaultVersionChangeScheduled"]
    assert moved.events[0].data["previousScheduledFor"] == "2025-02-13T00:00:00Z"
    assert moved.events[0].id != first.events[0].id


def test_retirement_scheduled_moves_and_cancels() -> None:
    prev = settled(*BASE)
    scheduled = run(
        prev,
        item(
            "gpt-4o",
            "2024-05-13",
            default=True,
            retires="2025-09-15T00:00:00Z",
            deprecation_status="Tentative",
        ),
        *BASE[1:],
    )
    assert types(scheduled) == ["RetirementScheduled"]
    assert scheduled.events[0].data["change"] == "new"
    later = run(
        scheduled.snapshot,
        item(
            "gpt-4o", "2024-05-13", default=True, retires="2026-03-31T00:00:00Z", deprecation_status="Planned"
        ),
        *BASE[1:],
    )
    assert types(later) == ["RetirementScheduled"]
    data = later.events[0].data
    assert (data["change"], data["previousRetirementDate"], data["retirementDate"]) == (
        "later",
        "2025-09-15T00:00:00Z",
        "2026-03-31T00:00:00Z",
    )
    assert data["previousDeprecationStatus"] == "Tentative"
    cancelled = run(later.snapshot, *BASE)
    assert types(cancelled) == ["RetirementScheduled"]
    assert cancelled.events[0].data["change"] == "cancelled"
    assert cancelled.events[0].data["retirementDate"] is None


def test_date_moving_back_and_forth_gets_distinct_ids() -> None:
    a = item("gpt-4o", "2024-05-13", retires="2025-09-15T00:00:00Z")
    b = item("gpt-4o", "2024-05-13", retires="2025-10-15T00:00:00Z")
    s0 = settled(*BASE)
    r1 = run(s0, *BASE, a)
    r2 = run(r1.snapshot, *BASE, b)
    r3 = run(r2.snapshot, *BASE, a)
    ids = [e.id for r in (r1, r2, r3) for e in r.events if e.event_type == EventType.RETIREMENT_SCHEDULED]
    assert len(ids) == 3 and len(set(ids)) == 3


def test_reminders_fire_once_per_threshold_tightest_only() -> None:
    versions = (item("gpt-4", "0613", retires="2025-06-06T00:00:00Z"),)
    snap = settled(*versions, now=datetime(2025, 1, 1, tzinfo=UTC))  # 156 days out: nothing yet
    seen: list[int] = []
    day = datetime(2025, 1, 1, tzinfo=UTC)
    while day < datetime(2025, 6, 6, tzinfo=UTC):
        result = run(snap, *versions, now=day)
        seen += [
            int(str(e.data["threshold"]))
            for e in result.events
            if e.event_type == EventType.RETIREMENT_APPROACHING
        ]
        snap = result.snapshot
        day += timedelta(days=1)
    assert seen == [90, 60, 30, 14, 7, 1]


def test_first_sight_inside_a_threshold_announces_only_the_tightest() -> None:
    prev = settled(*BASE)
    result = run(prev, *BASE, item("gpt-4", "0613", retires="2025-01-29T00:00:00Z"))  # 20 days out
    approaching = [e for e in result.events if e.event_type == EventType.RETIREMENT_APPROACHING]
    assert [e.data["threshold"] for e in approaching] == [30]
    assert approaching[0].data["daysRemaining"] == 20
    later = run(
        result.snapshot,
        *BASE,
        item("gpt-4", "0613", retires="2025-01-29T00:00:00Z"),
        now=T0 + timedelta(days=1),
    )
    assert later.events == ()


def test_retirement_date_passing_retires_the_version_once() -> None:
    versions = (item("gpt-4", "0613", retires="2025-06-06T00:00:00Z"),)
    snap = settled(*versions, now=datetime(2025, 6, 5, 12, tzinfo=UTC))
    passed = run(snap, *versions, now=datetime(2025, 6, 6, 0, 0, 1, tzinfo=UTC))
    assert types(passed) == ["VersionRetired"]
    assert passed.events[0].data["reason"] == "retirementDatePassed"
    assert passed.events[0].data["fullyRetired"] is True
    assert run(passed.snapshot, *versions, now=datetime(2025, 6, 7, tzinfo=UTC)).events == ()


def test_status_deprecated_means_retired() -> None:
    prev = settled(
        item("gpt-35-turbo", "0301", status="Deprecating", retires="2025-02-13T00:00:00Z"),
        now=datetime(2025, 1, 1, tzinfo=UTC),
    )
    result = run(
        prev,
        item("gpt-35-turbo", "0301", status="Deprecated", retires="2025-02-13T00:00:00Z"),
        now=datetime(2025, 1, 2, tzinfo=UTC),
    )
    assert sorted(types(result)) == ["LifecycleStatusChanged", "VersionRetired"]
    retired = next(e for e in result.events if e.event_type == EventType.VERSION_RETIRED)
    assert retired.data["reason"] == "lifecycleStatus"
    changed = next(e for e in result.events if e.event_type == EventType.LIFECYCLE_STATUS_CHANGED)
    assert changed.data["previousLifecycleStatus"] == "Deprecating"


def test_per_sku_retirement_dates_retire_in_two_steps() -> None:
    # The 2026 split: Standard retires 2026-03-31, provisioned and global types on 2026-10-01.
    version = item(
        "gpt-4o",
        "2024-08-06",
        retires="2026-03-31T00:00:00Z",
        skus={
            "Standard": "2026-03-31T00:00:00Z",
            "GlobalStandard": "2026-10-01T00:00:00Z",
            "ProvisionedManaged": "2026-10-01T00:00:00Z",
        },
    )
    snap = settled(version, now=datetime(2026, 3, 30, tzinfo=UTC))
    first = run(snap, version, now=datetime(2026, 4, 1, tzinfo=UTC))
    assert types(first) == ["VersionRetired"]
    assert first.events[0].data["fullyRetired"] is False
    assert first.events[0].data["affectedSkus"] is None  # the model-level date: every SKU without its own
    assert first.events[0].data["skuRetirementDates"] == {
        "GlobalStandard": "2026-10-01T00:00:00Z",
        "ProvisionedManaged": "2026-10-01T00:00:00Z",
        "Standard": "2026-03-31T00:00:00Z",
    }
    reminder = run(first.snapshot, version, now=datetime(2026, 7, 5, tzinfo=UTC))
    assert types(reminder) == ["RetirementApproaching"]
    assert reminder.events[0].data["affectedSkus"] == ["GlobalStandard", "ProvisionedManaged"]
    final = run(reminder.snapshot, version, now=datetime(2026, 10, 1, 0, 0, 1, tzinfo=UTC))
    assert types(final) == ["VersionRetired"]
    assert final.events[0].data["fullyRetired"] is True


def test_removal_needs_confirmation_and_is_announced_once() -> None:
    # past its date (2025-01-05 < T0) and listed nowhere: retired by absence
    early = datetime(2025, 1, 1, tzinfo=UTC)
    prev = settled(*BASE, item("gpt-4", "0613", retires="2025-01-05T00:00:00Z"), now=early)
    once = run(prev, *BASE)
    assert once.events == ()  # missing once: could be a flaky listing
    twice = run(once.snapshot, *BASE)
    assert types(twice) == ["VersionRetired"]
    assert twice.events[0].data["reason"] == "removedFromCatalog"
    assert run(twice.snapshot, *BASE).events == ()


GONE = item("gpt-4", "0613", retires="2025-06-30T00:00:00Z")  # Azure's date: it works until 2025-06-30
HELD_BY = "11111111-1111-1111-1111-111111111111"


def _twice(prev: LocationSnapshot, confirmation: Confirmation | None = None) -> DiffResult:
    key = VersionKey("OpenAI", "gpt-4", "0613")
    confirmations = {key: confirmation} if confirmation is not None else None
    once = diff_location(prev, cat(*BASE), T0, location=LOC, confirmations=confirmations)
    return diff_location(once.snapshot, cat(*BASE), T0, location=LOC, confirmations=confirmations)


@pytest.mark.parametrize(
    ("confirmation", "expected", "reason", "listed_for"),
    [
        # the watcher's list only: gone, but its date is ahead -> not listed, never retired
        (None, ["VersionNotListed"], "goneBeforeRetirement", []),
        # the subscription running it does not list it either: the same finding, both named
        (
            Confirmation(not_listed_for=("W", HELD_BY)),
            ["VersionNotListed"],
            "goneBeforeRetirement",
            [],
        ),
        # the subscription running it still lists it (the Deprecated stage): alive, with its facts
        (
            Confirmation(
                listed=parse_models([GONE]).versions[0], listed_for=(HELD_BY,), not_listed_for=("W",)
            ),
            ["VersionNotListed"],
            "listedElsewhere",
            [HELD_BY],
        ),
        # that subscription could not be read: nothing concluded this cycle
        (Confirmation(not_listed_for=("W",), unread=(HELD_BY,)), [], None, None),
    ],
)
def test_absence_is_not_retirement(
    confirmation: Confirmation | None, expected: list[str], reason: str | None, listed_for: list[str] | None
) -> None:
    prev = settled(*BASE, GONE)
    result = _twice(prev, confirmation)
    assert types(result) == expected
    key = VersionKey("OpenAI", "gpt-4", "0613")
    record = result.snapshot.records[key]
    assert not record.removed  # still in the catalog view: deployments are judged by its dates
    if expected:
        data = result.events[0].data
        assert data["reason"] == reason and data["listedFor"] == listed_for
        assert data["worksUntil"] == "2025-06-30T00:00:00Z"
        # a re-run (same finding) announces nothing, and changes no record
        again = diff_location(
            result.snapshot,
            cat(*BASE),
            T0,
            location=LOC,
            confirmations={key: confirmation} if confirmation is not None else None,
        )
        assert again.events == () and again.changed_records(result.snapshot) == {}


def test_unlisted_version_retires_only_when_its_dates_pass() -> None:
    prev = settled(*BASE, GONE)
    unlisted = _twice(prev)
    later = datetime(2025, 7, 1, tzinfo=UTC)
    retired = diff_location(unlisted.snapshot, cat(*BASE), later, location=LOC)
    assert types(retired) == ["VersionRetired"]
    assert retired.events[0].data["reason"] == "removedFromCatalog"


def test_unlisted_versions_do_not_trip_the_vanish_guard() -> None:
    many = [item("m", f"v{i}", retires="2026-01-01T00:00:00Z") for i in range(3)] + [item("m", "live")]
    prev = settled(*many)
    gone = run(run(prev, item("m", "live")).snapshot, item("m", "live"))
    assert gone.is_anomaly  # 3 of 4 at once: the guard holds
    one = settled(*many)
    for _ in range(2):
        one = run(one, *many[1:]).snapshot  # v0 alone leaves: announced as not listed
    again = run(one, *many[2:])  # v1 leaves too: v0 is known, so one vanished, no anomaly
    assert not again.is_anomaly


def test_reappearing_version_is_announced_and_not_retired() -> None:
    prev = settled(*BASE, item("gpt-4", "0613", retires="2025-01-01T00:00:00Z"))
    gone = run(run(prev, *BASE).snapshot, *BASE)
    back = run(gone.snapshot, *BASE, item("gpt-4", "0613", retires="2025-02-01T00:00:00Z"))
    assert "VersionReleased" in types(back)
    assert "RetirementApproaching" in types(back)


def test_vanish_guard_holds_snapshot_and_announces_one_anomaly() -> None:
    many = [item("gpt-4o", f"v{i:02}") for i in range(10)]
    prev = settled(*many)
    truncated = many[:6]  # 40% vanish in one cycle
    result = run(prev, *truncated, item("gpt-5", "1"))
    assert types(result) == ["CatalogAnomaly"]
    assert result.is_anomaly
    assert result.snapshot.records == prev.records  # old snapshot kept
    assert result.events[0].data["vanishedCount"] == 4
    again = run(result.snapshot, *truncated)
    assert again.events == () and again.is_anomaly  # same anomaly: not announced twice
    healed = run(again.snapshot, *many)
    assert healed.events == () and not healed.is_anomaly and healed.snapshot.anomaly is None


def test_retired_versions_leaving_do_not_trip_the_guard() -> None:
    many = [item("m", f"v{i}", status="Deprecated") for i in range(5)] + [item("m", "live")]
    prev = settled(*many)
    result = run(prev, item("m", "live"))
    assert not result.is_anomaly


def test_unreadable_entry_is_neither_changed_nor_removed() -> None:
    prev = settled(*BASE)
    broken = {
        "kind": "OpenAI",
        "model": {
            "format": "OpenAI",
            "name": "gpt-4o",
            "version": "2024-08-06",
            "deprecation": {"inference": "soon"},
        },
    }
    result = run(prev, BASE[0], broken, BASE[2])
    result2 = run(result.snapshot, BASE[0], broken, BASE[2])
    assert result.events == () and result2.events == ()
    assert result2.snapshot.records == prev.records


# ---- properties -------------------------------------------------------------------------------------------


@st.composite
def catalogs(draw: st.DrawFn) -> list[dict[str, Any]]:
    entries = {}
    for _ in range(draw(st.integers(0, 8))):
        name, version = draw(names), draw(versions)
        skus = draw(
            st.sampled_from(
                [
                    None,
                    {"Standard": None},
                    {"Standard": "2025-02-01T00:00:00Z", "ProvisionedManaged": "2025-06-01T00:00:00Z"},
                ]
            )
        )
        upgrade = draw(st.sampled_from([None, ("gpt-4o", "2024-08-06", "2025-02-13T00:00:00Z")]))
        entries[(name, version)] = item(
            name,
            version,
            status=draw(statuses),
            default=draw(st.sampled_from([None, True, False])),
            retires=draw(dates),
            skus=skus,
            upgrade=upgrade,
        )
    return list(entries.values())


@settings(max_examples=150, deadline=None)
@given(catalogs(), catalogs(), moments)
def test_diff_of_its_own_output_is_empty(
    before: list[dict[str, Any]], after: list[dict[str, Any]], now: datetime
) -> None:
    first = run(None, *before, now=now)
    second = run(first.snapshot, *after, now=now)
    third = run(second.snapshot, *after, now=now)
    # the only thing a repeat may add is the conclusion about a vanished version (it needs a second sighting)
    assert all(
        e.data.get("reason") == "removedFromCatalog"
        or e.event_type in ("ModelLifecycle.VersionNotListed", "ModelLifecycle.RetirementApproaching")
        for e in third.events
    )
    fourth = run(third.snapshot, *after, now=now)
    assert fourth.events == ()
    assert fourth.changed_records(third.snapshot) == {}


@settings(max_examples=100, deadline=None)
@given(catalogs(), catalogs(), moments, st.randoms(use_true_random=False))
def test_ids_are_deterministic_and_entry_order_is_irrelevant(
    before: list[dict[str, Any]], after: list[dict[str, Any]], now: datetime, rnd: random.Random
) -> None:
    snap = run(None, *before, now=now).snapshot
    one = run(snap, *after, now=now)
    shuffled = list(after)
    rnd.shuffle(shuffled)
    two = run(snap, *shuffled, now=now)
    assert [e.to_wire() for e in one.events] == [e.to_wire() for e in two.events]
    assert len({e.id for e in one.events}) == len(one.events)


@settings(max_examples=100, deadline=None)
@given(catalogs(), moments)
def test_same_catalog_never_releases_or_retires_by_removal(
    items: list[dict[str, Any]], now: datetime
) -> None:
    snap = run(None, *items, now=now).snapshot
    later = run(snap, *items, now=now + timedelta(days=3))
    kinds = set(types(later))
    assert not kinds & {
        "VersionReleased",
        "DefaultVersionChanged",
        "RetirementScheduled",
        "LifecycleStatusChanged",
        "CatalogAnomaly",
    }
    assert all(e.data.get("reason") != "removedFromCatalog" for e in later.events)


@settings(max_examples=200, deadline=None)
@given(catalogs(), catalogs(), moments, st.integers(0, 400))
def test_before_next_due_the_same_catalog_yields_nothing(
    before: list[dict[str, Any]], after: list[dict[str, Any]], now: datetime, hours: int
) -> None:
    """The watcher skips the diff while the catalog is unchanged and next_due has not come: that must be exact."""
    from shared.domain.diff import next_due

    snap = run(run(None, *before, now=now).snapshot, *after, now=now).snapshot
    later = now + timedelta(hours=hours)
    due = next_due(snap, DiffRules(), now)
    result = run(snap, *after, now=later)
    if due is None or later < due:
        assert result.events == ()
        assert result.changed_records(snap) == {}


@pytest.mark.parametrize(
    ("confirmation", "severity"),
    [
        (None, "WARNING"),  # listed nowhere, dates ahead: an anomaly worth a look, never critical
        (  # listed for the subscription that runs it: the Deprecated stage, news only
            Confirmation(
                listed=parse_models([GONE]).versions[0], listed_for=(HELD_BY,), not_listed_for=("W",)
            ),
            "INFO",
        ),
    ],
)
def test_a_version_not_listed_is_told_at_most_as_a_warning(
    confirmation: Confirmation | None, severity: str
) -> None:
    from shared.domain.alerts import messages_for
    from shared.domain.digest import build_digests
    from shared.domain.severity import Severity

    result = _twice(settled(*BASE, GONE), confirmation)
    (digest,) = build_digests(list(result.events))
    (message,) = messages_for(digest)
    assert message.severity == Severity[severity] and message.title.startswith("Version not listed")
    assert "not a retirement" in message.happens and "works until 2025-06-30" in message.text


def test_only_versions_whose_absence_is_due_are_asked_about_and_none_while_the_guard_holds() -> None:
    from shared.domain.diff import to_confirm

    key = VersionKey("OpenAI", "gpt-4", "0613")
    prev = settled(*BASE, GONE)
    assert to_confirm(prev, cat(*BASE), T0) == ()  # missing once: not due yet, nobody is asked
    once = run(prev, *BASE).snapshot
    assert to_confirm(once, cat(*BASE), T0) == (key,)
    many = [item("m", f"v{i}", retires="2026-01-01T00:00:00Z") for i in range(5)]
    held = run(settled(*many), *many[:1]).snapshot  # 4 of 5 vanish at once: the guard holds the snapshot
    assert to_confirm(held, cat(*many[:1]), T0) == ()

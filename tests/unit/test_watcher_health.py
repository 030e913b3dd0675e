"""The watcher's health on the status page: the same window as the missed-run alert (twice the poll period), the
regions whose last cycle failed, held anomalies, regions left behind. Pure: cursors, fixed instants, a period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.config import load_settings
from shared.domain.cursor import Cursor
from shared.domain.events import EventType, LifecycleEvent
from shared.domain.ids import event_id
from shared.domain.payloads import CatalogAnomalyData
from shared.domain.status import StatusReport, watcher_health
from shared.errors import SettingsError
from tests.support.bicep import app_settings, bicep, declarations, node_text, prop, text

NOW = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def read(location: str, ago: timedelta | None, **extra: object) -> Cursor:
    """A region's cursor, last read ``ago`` before NOW (None: never)."""
    return Cursor(location, "etag", None if ago is None else NOW - ago, cycles=5, **extra)  # type: ignore[arg-type]


def anomaly_event(location: str, digest: str, at: datetime) -> LifecycleEvent:
    data = CatalogAnomalyData(
        location=location, reason="versionsVanished", vanished_count=7, known_count=20, vanish_guard=0.2
    )
    ident = event_id(EventType.CATALOG_ANOMALY.value, location, digest)
    return LifecycleEvent.create(EventType.CATALOG_ANOMALY, ident, at, data)


def test_every_region_read_within_twice_the_period_is_healthy() -> None:
    h = watcher_health(
        [read("eastus", 40 * timedelta(minutes=1)), read("swedencentral", 90 * timedelta(minutes=1))],
        NOW,
        HOUR,
    )
    assert h.is_healthy and not h.is_overdue
    assert h.last_cycle_at == NOW - timedelta(minutes=40) and h.window == 2 * HOUR and h.regions == 2


@pytest.mark.parametrize(
    ("ago", "period", "overdue"),
    [
        (2 * HOUR, HOUR, False),  # exactly the window: the alert's "more than"
        (2 * HOUR + timedelta(seconds=1), HOUR, True),
        (31 * timedelta(minutes=1), timedelta(minutes=15), True),  # a 15-minute schedule: 30 minutes
        (47 * HOUR, 24 * HOUR, False),  # a daily schedule: two days
    ],
)
def test_no_cycle_for_more_than_twice_the_period_is_overdue(
    ago: timedelta, period: timedelta, overdue: bool
) -> None:
    h = watcher_health([read("eastus", ago), read("swedencentral", ago)], NOW, period)
    assert h.is_overdue is overdue and h.is_healthy is not overdue
    late = watcher_health([read("eastus", ago), read("swedencentral", 2 * period + HOUR)], NOW, period)
    if overdue:  # every region is late, so the whole watcher is: said once, not per region
        assert late.is_overdue and late.behind == ()
    else:
        assert [p.location for p in late.behind] == ["swedencentral"]


def test_no_cycle_at_all_is_overdue() -> None:
    h = watcher_health([read("eastus", None), read("swedencentral", None)], NOW, HOUR)
    assert h.is_overdue and h.last_cycle_at is None and h.behind == ()
    assert watcher_health([], NOW, HOUR).is_overdue  # nothing watched, nothing read


def test_a_report_as_of_a_date_before_the_last_cycle_is_not_overdue() -> None:
    h = watcher_health([read("eastus", -30 * 24 * HOUR)], NOW, HOUR)  # report --at a past date
    assert h.is_healthy


def test_a_failed_last_cycle_is_named_with_its_error_and_last_good_read() -> None:
    h = watcher_health(
        [
            read("eastus", 5 * HOUR, last_error="ARM answered 403 AuthorizationFailed"),
            read("swedencentral", HOUR),
        ],
        NOW,
        HOUR,
    )
    assert not h.is_healthy and not h.is_overdue
    (failing,) = h.failing
    assert failing.location == "eastus" and failing.detail == "ARM answered 403 AuthorizationFailed"
    assert failing.last_cycle_at == NOW - 5 * HOUR
    assert h.behind == ()  # its error explains why it is behind


def test_a_held_anomaly_is_told_from_the_event_that_announced_it() -> None:
    announced = anomaly_event("swedencentral", "d1g3st", NOW - 3 * HOUR)
    other = anomaly_event("swedencentral", "older", NOW - 50 * HOUR)  # an earlier anomaly, since cleared
    cursors = [read("eastus", HOUR), read("swedencentral", HOUR, anomaly="d1g3st")]
    (held,) = watcher_health(cursors, NOW, HOUR, [other, announced]).anomalies
    assert held.location == "swedencentral" and held.since == NOW - 3 * HOUR
    assert held.detail.startswith("7 of 20 versions vanished at once")
    # the announcing event out of the recent history: still held, told in general words
    (held,) = watcher_health(cursors, NOW, HOUR, [other]).anomalies
    assert held.since is None and "vanished" in held.detail


def test_a_region_left_behind_while_others_are_read_is_named() -> None:
    h = watcher_health([read("eastus", HOUR), read("westus3", 3 * HOUR), read("japaneast", None)], NOW, HOUR)
    assert not h.is_overdue and not h.is_healthy
    assert [(p.location, p.detail) for p in h.behind] == [
        ("westus3", "not read"),
        ("japaneast", "never read"),
    ]


def test_the_report_judges_health_with_its_period_and_shows_it_in_json() -> None:
    cursors = (read("eastus", 3 * HOUR, last_error="timed out"), read("swedencentral", 3 * HOUR))
    report = StatusReport(NOW, "plan", (), {}, (), cursors, poll_period=2 * HOUR)
    assert report.health.window == 4 * HOUR and not report.health.is_overdue
    health = report.to_json()["health"]
    assert health == {
        "healthy": False,
        "overdue": False,
        "lastCycleAt": "2026-10-05T09:00:00Z",
        "windowMinutes": 240,
        "failing": [
            {
                "location": "eastus",
                "detail": "timed out",
                "lastCycleAt": "2026-10-05T09:00:00Z",
                "since": None,
            }
        ],
        "anomalies": [],
        "behind": [],
    }
    overdue = StatusReport(NOW, "plan", (), {}, (), cursors).to_json()["health"]  # the default period: 60 min
    assert isinstance(overdue, dict) and overdue["overdue"] is True and overdue["windowMinutes"] == 120


def test_the_poll_period_setting_defaults_to_an_hour_and_is_bounded() -> None:
    assert load_settings({}).catalog_poll_period_minutes == 60
    assert load_settings({"CATALOG_POLL_PERIOD_MINUTES": "15"}).catalog_poll_period_minutes == 15
    for bad in ("0", "1441", "hourly"):
        with pytest.raises(SettingsError, match="CATALOG_POLL_PERIOD_MINUTES"):
            load_settings({"CATALOG_POLL_PERIOD_MINUTES": bad})


def test_infra_sets_the_period_from_the_parameter_the_missed_run_alert_uses() -> None:
    """One parameter (CATALOG_POLL_PERIOD_MINUTES in azd) feeds the alert's window and the page's."""
    settings = app_settings(text("modules/app.bicep"))
    assert settings["CATALOG_POLL_PERIOD_MINUTES"] == "'${catalogPollPeriodMinutes}'"
    modules = declarations(bicep("modules/app.bicep"), "module_declaration")
    monitoring = next(body for name, _, body in modules if name == "monitoring")
    assert node_text(prop(monitoring, "params", "catalogPollPeriodMinutes")) == "catalogPollPeriodMinutes"

"""Held deployment news under Event Grid's delivery (at least once, any order, one event per invocation) and
overlapping, dying flushers: one message per route and group, none lost, none twice."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.memory import InMemoryAlertBuffer, InMemoryLedger
from shared.domain.changes import VersionChange
from shared.domain.deployment_events import upgraded_event
from shared.domain.events import LifecycleEvent
from shared.domain.held import HeldAlert
from shared.domain.routes import DEFAULT_ROUTE, ChannelKind, Route
from shared.domain.scope import Scope
from shared.domain.secret import Secret
from shared.errors import TransientError, WebhookError
from shared.presentation.alert_samples import deployment
from shared.services.notify import NotifyService
from shared.services.results import PROCESSED
from tests.support.notifiers import Recorder

NOW = datetime(2026, 3, 24, 6, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=2)
LATER = NOW + WINDOW + timedelta(seconds=1)


class WorkerDied(BaseException):
    """The worker process dying mid-invocation: no code of the app can catch it."""


class DiesOnRelease(InMemoryAlertBuffer):
    """A buffer whose first release kills the worker: the batch went out, its items are still held."""

    def __init__(self) -> None:
        super().__init__()
        self.deaths = 1

    def release(self, route: str, group: str, item_ids: Sequence[str]) -> None:
        if self.deaths:
            self.deaths -= 1
            raise WorkerDied("killed between the send and the release")
        super().release(route, group, item_ids)


ROUTES = {
    DEFAULT_ROUTE: Route(DEFAULT_ROUTE, {ChannelKind.TEAMS: Secret("https://teams.invalid/d")}),
    "payments": Route(
        "payments",
        {
            ChannelKind.TEAMS: Secret("https://teams.invalid/p"),
            ChannelKind.SLACK: Secret("https://slack.invalid/p"),
        },
    ),
}


def service(
    recorder: Recorder, buffer: InMemoryAlertBuffer | None = None, ledger: InMemoryLedger | None = None
) -> NotifyService:
    return NotifyService(
        ledger=ledger or InMemoryLedger(),
        notifiers={"teams": recorder, "slack": recorder},
        routes=ROUTES,
        scope=Scope(),
        buffer=buffer if buffer is not None else InMemoryAlertBuffer(),
        batch_window=WINDOW,
    )


def upgrades(
    n: int, *, route: str | None = "payments", to: str = "2024-08-06", name: str = "chat"
) -> list[LifecycleEvent]:
    out = []
    for i in range(n):
        d = deployment(f"{name}-{i + 1:02}", policy="OnceNewDefaultVersionAvailable", route=route)
        change = VersionChange(
            d.resource_id,
            "2024-05-13",
            to,
            NOW,
            "azure",
            datetime(2026, 3, 31, tzinfo=UTC),
            "OnceNewDefaultVersionAvailable",
            "inventory",
        )
        out.append(upgraded_event(d, change, now=NOW))
    return out


def messages(recorder: Recorder) -> list[tuple[str, str, str]]:
    return sorted((route, kind, m.title) for route, kind, m in recorder.sent)


def test_shuffled_duplicated_upgrades_are_one_message_per_route_once_settled() -> None:
    recorder = Recorder()
    notify = service(recorder)
    events = upgrades(12) * 2 + upgrades(2, route=None, name="batch")  # every event twice
    random.Random(5).shuffle(events)
    assert all(notify.handle(e, NOW).outcome == PROCESSED for e in events)
    assert recorder.sent == []  # held, not told one by one
    assert notify.flush(NOW + timedelta(seconds=30)).sent == 0  # not settled yet
    report = notify.flush(LATER)
    assert (report.sent, report.failed) == (2, ())
    title = "Azure upgraded {} deployments from gpt-4o 2024-05-13 to gpt-4o 2024-08-06"
    assert messages(recorder) == [
        (DEFAULT_ROUTE, "teams", title.format(2)),
        ("payments", "slack", title.format(12)),
        ("payments", "teams", title.format(12)),
    ]
    (_, _, batch), *_ = [s for s in recorder.sent if s[0] == "payments"]
    assert len(batch.items) == 12  # each deployment named once, though delivered twice
    assert notify.flush(LATER + WINDOW).sent == 0 and len(recorder.sent) == 3  # told: released


def test_a_redelivery_after_the_batch_was_told_is_not_held_again() -> None:
    recorder = Recorder()
    notify = service(recorder)
    events = upgrades(3)
    for e in events:
        notify.handle(e, NOW)
    notify.flush(LATER)
    for e in events:  # Event Grid redelivers hours later (a lost acknowledgement)
        assert "already held" in notify.handle(e, LATER).detail
    assert notify.flush(LATER + 2 * WINDOW).sent == 0 and len(recorder.sent) == 2


def test_news_held_while_a_batch_is_being_told_waits_for_the_next_one() -> None:
    recorder = Recorder()
    notify = service(recorder)
    first, second = upgrades(2), upgrades(3, to="2024-11-20")[2:]  # another group for the same route
    late = upgrades(4)[2:]
    for e in first + second:
        notify.handle(e, NOW)
    notify.flush(LATER)
    for e in late:  # the same group as ``first``, after its batch went out
        notify.handle(e, LATER)
    assert notify.flush(LATER + timedelta(seconds=30)).sent == 0  # the new items have not settled
    assert notify.flush(LATER + WINDOW + timedelta(seconds=1)).sent == 1
    titles = [m.title for route, kind, m in recorder.sent if kind == "slack"]
    assert titles == [
        "Azure upgraded 2 deployments from gpt-4o 2024-05-13 to gpt-4o 2024-08-06",
        "Azure upgraded chat-03 to gpt-4o 2024-11-20",
        "Azure upgraded 2 deployments from gpt-4o 2024-05-13 to gpt-4o 2024-08-06",
    ]
    told = [m.items for route, kind, m in recorder.sent if kind == "slack" and m.items]
    assert [i.split(" ")[0] for i in told[0]] == ["chat-01", "chat-02"]
    assert [i.split(" ")[0] for i in told[1]] == ["chat-03", "chat-04"]  # each told exactly once


def test_a_flusher_killed_after_the_send_releases_without_telling_twice() -> None:
    recorder, ledger, buffer = Recorder(), InMemoryLedger(), DiesOnRelease()
    for e in upgrades(5):
        service(recorder, buffer, ledger).handle(e, NOW)
    with pytest.raises(WorkerDied):
        service(recorder, buffer, ledger).flush(LATER)
    assert len(recorder.sent) == 2 and buffer.groups()  # told, still held
    assert service(recorder, buffer, ledger).flush(LATER + timedelta(minutes=1)).sent == 0
    assert len(recorder.sent) == 2 and buffer.groups() == []  # released by the next run, not told again


def test_a_flusher_killed_before_the_send_is_taken_over_once_its_claim_expires() -> None:
    recorder, ledger, buffer = Recorder(), InMemoryLedger(), InMemoryAlertBuffer()
    for e in upgrades(5):
        service(recorder, buffer, ledger).handle(e, NOW)
    recorder.fail = [WorkerDied("killed mid-send")]
    with pytest.raises(WorkerDied):
        service(recorder, buffer, ledger).flush(LATER)
    assert recorder.sent == [] and all(i.batch for i in buffer.held("payments", buffer.groups()[0][1]))
    # a run within the dead one's claim waits; the first after it expires tells the batch, once
    assert service(recorder, buffer, ledger).flush(LATER + timedelta(minutes=1)).sent == 0
    assert service(recorder, buffer, ledger).flush(LATER + timedelta(minutes=6)).sent == 1
    assert service(recorder, buffer, ledger).flush(LATER + timedelta(minutes=7)).sent == 0
    assert len(recorder.sent) == 2 and buffer.groups() == []


def test_a_webhook_outage_is_retried_by_the_next_run_and_the_channel_that_worked_is_not_told_twice() -> None:
    recorder, ledger, buffer = Recorder(), InMemoryLedger(), InMemoryAlertBuffer()
    notify = service(recorder, buffer, ledger)
    for e in upgrades(4):
        notify.handle(e, NOW)
    outage = WebhookError("slack: 503 after 5 attempts", transient=True)
    recorder.fail = [None, outage]  # Teams answers, Slack does not
    report = notify.flush(LATER)
    assert report.sent == 0 and len(report.failed) == 1 and "payments" in report.failed[0]
    assert [k for _, k, _ in recorder.sent] == ["teams"]
    assert notify.flush(LATER + timedelta(minutes=1)).sent == 1
    assert sorted(k for _, k, _ in recorder.sent) == ["slack", "teams"] and buffer.groups() == []


def test_overlapping_flushers_tell_a_batch_once() -> None:
    recorder, ledger, buffer = Recorder(), InMemoryLedger(), InMemoryAlertBuffer()
    for e in upgrades(8) + upgrades(3, route=None, name="batch"):
        service(recorder, buffer, ledger).handle(e, NOW)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            service(recorder, buffer, ledger).flush(LATER)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    service(recorder, buffer, ledger).flush(LATER + timedelta(minutes=6))  # a loser's wait, then the rest
    assert len(recorder.sent) == 3 and buffer.groups() == []  # payments: teams + slack; default: teams


def test_an_unreadable_held_body_is_dropped_and_reported_not_retried_forever(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder, ledger, buffer = Recorder(), InMemoryLedger(), InMemoryAlertBuffer()
    buffer.hold([HeldAlert("payments", "upgraded|azure|x|y", "bad", NOW, "{not json")])
    assert service(recorder, buffer, ledger).flush(LATER).sent == 0
    assert buffer.groups() == [] and recorder.sent == [] and "dropped" in caplog.text


def test_without_a_buffer_an_upgrade_is_told_at_once() -> None:
    recorder = Recorder()
    notify = NotifyService(
        ledger=InMemoryLedger(),
        notifiers={"teams": recorder, "slack": recorder},
        routes=ROUTES,
        scope=Scope(),
    )
    (event,) = upgrades(1)
    notify.handle(event, NOW)
    assert len(recorder.sent) == 2
    recorder.fail = [WebhookError("down", transient=True)]
    with pytest.raises(TransientError):
        notify.handle(upgrades(2)[1], NOW)

"""notify_channels against local stand-ins of the Teams Workflows and Slack webhooks (real HTTP, real sender)."""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.meta import Datum
from azure.functions.timer import TimerRequest

from shared import bootstrap
from shared.adapters.memory import InMemoryLedger
from shared.adapters.notifiers import webhook_notifiers
from shared.adapters.webhooks import WebhookSender
from shared.config import load_settings, require_function_app
from shared.domain.routes import DEFAULT_ROUTE, ChannelKind, Route
from shared.domain.scope import Scope
from shared.domain.secret import Secret
from shared.domain.severity import Severity
from shared.errors import TransientError
from shared.presentation.alert_samples import samples
from shared.services.notify import SUBSCRIBER, NotifyService
from shared.services.results import PROCESSED, REJECTED
from tests.builders import item
from tests.fakes.arm_server import FakeArm
from tests.fakes.eventgrid_server import FakeEventGridTopic
from tests.fakes.webhooks import FakeSlackWebhook, FakeTeamsWorkflow
from tests.support.app_functions import functions
from tests.support.policy import CATALOG as POLICY_CATALOG
from tests.support.policy import SUB as POLICY_SUB
from tests.support.policy import World

NOW = datetime(2026, 3, 24, tzinfo=UTC)
SAMPLES = samples()


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def wired(
    slack_webhook: FakeSlackWebhook, teams_webhook: FakeTeamsWorkflow
) -> tuple[NotifyService, Sleeps, InMemoryLedger]:
    clock = Sleeps()
    sender = WebhookSender(sleep=clock.sleep, monotonic=clock.monotonic)
    routes = {
        DEFAULT_ROUTE: Route(
            DEFAULT_ROUTE,
            {ChannelKind.TEAMS: Secret(teams_webhook.url), ChannelKind.SLACK: Secret(slack_webhook.url)},
        ),
        "payments": Route("payments", {ChannelKind.SLACK: Secret(slack_webhook.url)}, Severity.WARNING),
    }
    ledger = InMemoryLedger()
    return (
        NotifyService(ledger=ledger, notifiers=webhook_notifiers(sender), routes=routes, scope=Scope()),
        clock,
        ledger,
    )


def test_triple_delivery_posts_once_per_channel(
    wired: Any, slack_webhook: FakeSlackWebhook, teams_webhook: FakeTeamsWorkflow
) -> None:
    service, _, _ = wired
    event = SAMPLES["catalog-released"]
    outcomes = [service.handle(event, NOW).detail for _ in range(3)]
    assert outcomes[0].startswith("2 sent") and outcomes[1].startswith("0 sent, 2 already sent")
    assert len(slack_webhook.messages) == 1 and len(teams_webhook.messages) == 1
    text = slack_webhook.messages[0]["text"]
    assert "gpt-4.1 2025-04-14" in text and "12 regions" in text


def test_429_waits_retry_after_then_posts_once(wired: Any, slack_webhook: FakeSlackWebhook) -> None:
    service, clock, _ = wired
    slack_webhook.script = [(429, "rate_limited", {"Retry-After": "3"})]
    result = service.handle(SAMPLES["catalog-retired"], NOW)
    assert result.outcome == PROCESSED
    assert len(slack_webhook.messages) == 1 and 3.0 in clock.calls


def test_invalid_payload_is_recorded_and_acknowledged_without_a_retry_storm(
    wired: Any, slack_webhook: FakeSlackWebhook, teams_webhook: FakeTeamsWorkflow
) -> None:
    service, _, ledger = wired
    slack_webhook.script = [(400, "invalid_payload", {})]
    event = SAMPLES["catalog-retirement-approaching"]
    result = service.handle(event, NOW)  # no raise: Event Grid must not redeliver
    assert result.outcome == PROCESSED and "invalid_payload" in result.detail
    assert len(teams_webhook.messages) == 1  # the other channel still got it
    attempts = len(slack_webhook.requests)
    service.handle(event, NOW)  # a redelivery anyway
    assert len(slack_webhook.requests) == attempts  # recorded as done: no second attempt
    entry = ledger.get(SUBSCRIBER, f"{event.id}/digest/{DEFAULT_ROUTE}/slack")
    assert entry is not None and entry.status == "done" and "invalid_payload" in entry.outcome


def test_500_burst_is_retried_then_succeeds(wired: Any, teams_webhook: FakeTeamsWorkflow) -> None:
    service, clock, _ = wired
    teams_webhook.script = [(500, "", {}), (502, "", {}), (503, "", {})]
    assert service.handle(SAMPLES["catalog-retired"], NOW).outcome == PROCESSED
    assert len(teams_webhook.messages) == 1 and len(clock.calls) >= 3


def test_an_outage_raises_for_redelivery_and_only_the_failed_channel_is_retried(
    wired: Any, slack_webhook: FakeSlackWebhook, teams_webhook: FakeTeamsWorkflow
) -> None:
    service, _, _ = wired
    teams_webhook.script = [(503, "", {})] * 10
    event = SAMPLES["catalog-default-changed"]
    with pytest.raises(TransientError):
        service.handle(event, NOW)
    assert len(slack_webhook.messages) == 1 and teams_webhook.messages == []
    teams_webhook.script = []
    service.handle(event, NOW)  # Event Grid's retry
    assert len(slack_webhook.messages) == 1 and len(teams_webhook.messages) == 1


def test_routing_by_tag_and_severity(
    wired: Any, slack_webhook: FakeSlackWebhook, teams_webhook: FakeTeamsWorkflow
) -> None:
    service, _, _ = wired
    service.handle(SAMPLES["deployment-upgraded-by-azure"], NOW)  # payments, info < warning: nothing
    assert slack_webhook.messages == [] and teams_webhook.messages == []
    service.handle(SAMPLES["deployment-rolled-back"], NOW)  # payments, warning: its Slack only
    assert len(slack_webhook.messages) == 1 and teams_webhook.messages == []


def test_forged_and_foreign_events_post_nothing(wired: Any, slack_webhook: FakeSlackWebhook) -> None:
    service, _, _ = wired
    from dataclasses import replace

    event = SAMPLES["deployment-rolled-back"]
    forged = replace(event, id="forged", subject="/subscriptions/x/other")
    assert service.handle(forged, NOW).outcome == REJECTED
    catalog = replace(event, id="catalog", event_type="ModelLifecycle.VersionReleased")
    assert service.handle(catalog, NOW).outcome == REJECTED  # per-region news comes through digests only
    assert slack_webhook.requests == []


# ---- the whole path: timer -> topic -> notify_channels trigger, as the host runs it

SUB = "00000000-0000-0000-0000-0000000000ab"
V1 = [item("gpt-4o", "2024-08-06", default=True, retires="2030-01-01T00:00:00Z")]
V2 = [*V1, item("gpt-4.1", "2025-04-14")]
REGIONS = ["eastus", "swedencentral", "westeurope"]


@pytest.fixture
def app(
    *,
    arm_server: FakeArm,
    eventgrid_server: FakeEventGridTopic,
    slack_webhook: FakeSlackWebhook,
    teams_webhook: FakeTeamsWorkflow,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[None]:
    env = {
        "WATCH_SUBSCRIPTION_ID": SUB,
        "WATCH_LOCATIONS": ",".join(REGIONS),
        "ARM_ENDPOINT": arm_server.endpoint,
        "ARM_BEARER_TOKEN": "local-token",
        "EVENTGRID_TOPIC_ENDPOINT": eventgrid_server.endpoint,
        "EVENTGRID_TOPIC_KEY": eventgrid_server.key,
        "STATE_STORE": f"sqlite:///{tmp_path / 'state.db'}",
        "TEAMS_WEBHOOK_URL": "TEAMS_URL_SECRET",
        "TEAMS_URL_SECRET": teams_webhook.url,
        "SLACK_WEBHOOK_URL": slack_webhook.url,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    bootstrap.reset_function_services()
    yield
    bootstrap.reset_function_services()


def deliver(wire: dict[str, Any]) -> None:
    event = EventGridEventInConverter.decode(Datum(json.dumps(wire), "json"), trigger_metadata=None)
    functions()["notify_channels"].get_user_function()(event)


def test_a_release_in_three_regions_is_one_message_per_channel_and_no_url_is_logged(
    *,
    app: None,
    arm_server: FakeArm,
    eventgrid_server: FakeEventGridTopic,
    slack_webhook: FakeSlackWebhook,
    teams_webhook: FakeTeamsWorkflow,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # the services the host builds from the environment, but the sender paces Slack (1 s between posts) on a
    # recorded clock rather than for real
    settings = load_settings(os.environ)
    require_function_app(settings)
    clock = Sleeps()
    sender = WebhookSender(sleep=clock.sleep, monotonic=clock.monotonic)
    bootstrap.install(bootstrap.build_services(settings, sender=sender))
    timer = functions()["catalog_timer"].get_user_function()
    for region in REGIONS:
        arm_server.set_catalog(SUB, region, V1)
    timer(TimerRequest(past_due=False))
    for region in REGIONS:
        arm_server.set_catalog(SUB, region, V2)
    timer(TimerRequest(past_due=False))
    deliveries = [e for e in eventgrid_server.events if e["eventType"] == "ModelLifecycle.CatalogDigest"] * 3
    deliveries += [e for e in eventgrid_server.events if e["eventType"] == "ModelLifecycle.VersionReleased"]
    random.Random(5).shuffle(deliveries)
    for wire in deliveries:  # the subscription filter would not send VersionReleased; the trigger rejects it
        deliver(wire)
    # the baseline cycle's digest (gpt-4o's 2030 retirement) and this one's: the release is one message each
    (slack,) = [m for m in slack_webhook.messages if "gpt-4.1" in m["text"]]
    (teams,) = [m for m in teams_webhook.messages if "gpt-4.1" in json.dumps(m)]
    assert len(slack_webhook.messages) == len(teams_webhook.messages) == 2
    assert "gpt-4.1 2025-04-14" in slack["text"] and "3 regions" in slack["text"]
    card = teams["attachments"][0]["content"]
    assert "eastus, swedencentral, westeurope" in json.dumps(card)
    for secret in (slack_webhook.url, teams_webhook.url, slack_webhook.url.rsplit("/", 1)[-1]):
        assert secret not in caplog.text
    assert clock.calls  # the two Slack posts were spaced (on the recorded clock)


def owners_alerts(world: World, slack_webhook: FakeSlackWebhook) -> NotifyService:
    """The alerts over a policy World's inventory and catalog state, telling its subscription's deployments (their
    owner: the default route) on the Slack stand-in, with virtual pacing."""
    clock = Sleeps()
    return NotifyService(
        ledger=world.ledger,
        notifiers=webhook_notifiers(WebhookSender(sleep=clock.sleep, monotonic=clock.monotonic)),
        routes={DEFAULT_ROUTE: Route(DEFAULT_ROUTE, {ChannelKind.SLACK: Secret(slack_webhook.url)})},
        scope=Scope(
            subscriptions=frozenset({POLICY_SUB})
        ),  # the deployments of this subscription are the team's
        deployments=world.stores,
        state=world.state,
    )


def test_countdown_reminders_reach_the_owner_at_each_threshold_rising_in_tone(
    arm_server: FakeArm, slack_webhook: FakeSlackWebhook
) -> None:
    """RetirementApproaching at 90/30/7 days -> one message per threshold naming the provisioned deployment that
    stops, louder as the date nears; redeliveries tell nothing twice."""
    from shared.domain.catalog import parse_models
    from shared.domain.diff import diff_location
    from shared.domain.digest import build_digests

    world = World(arm_server, enforce=False)
    snapshot = diff_location(
        None, parse_models(POLICY_CATALOG), datetime(2026, 3, 1, tzinfo=UTC), location="eastus"
    ).snapshot
    notify = owners_alerts(world, slack_webhook)
    for day in (
        datetime(2026, 7, 5, tzinfo=UTC),
        datetime(2026, 9, 3, tzinfo=UTC),
        datetime(2026, 9, 25, tzinfo=UTC),
    ):
        result = diff_location(snapshot, parse_models(POLICY_CATALOG), day)
        snapshot = result.snapshot
        world.state.save_records("eastus", snapshot.records)
        for digest in build_digests(list(result.events)):
            notify.handle(digest, day)
            notify.handle(digest, day)  # redelivered: nothing twice
    told = [json.dumps(m, ensure_ascii=False) for m in slack_webhook.messages if "ptu" in json.dumps(m)]
    assert len(told) == 3, told
    # the first cycle also tells the Standard deployments broken (critical); then warning at 30, critical at 7
    assert [":red_circle:" in t for t in told] == [True, False, True]
    assert all("Stop answering on 2026-10-01 (provisioned: never auto-upgraded): 1 — ptu" in t for t in told)
    assert sum("Stopped answering (HTTP 410)" in t for t in told) == 1  # broken is told once


def test_a_standing_that_comes_back_is_told_again(
    arm_server: FakeArm, slack_webhook: FakeSlackWebhook
) -> None:
    """A retirement date announced, withdrawn, then announced again with the same date: the owner hears the risk
    the first time and again when it comes back (not while it is withdrawn); each delivery redelivered."""
    from shared.domain.catalog import parse_models
    from shared.domain.diff import diff_location
    from shared.domain.digest import build_digests

    dated = [
        item("gpt-4o", "2024-05-13", retires="2026-12-31T00:00:00Z"),
        item("gpt-4o", "2024-08-06", default=True, retires="2027-06-01T00:00:00Z"),
    ]
    undated = [item("gpt-4o", "2024-05-13"), dated[1]]
    world = World(arm_server, enforce=False)
    snapshot = diff_location(
        None, parse_models(undated), datetime(2026, 4, 1, tzinfo=UTC), location="eastus"
    ).snapshot
    notify = owners_alerts(world, slack_webhook)
    told: list[str] = []
    for day, catalog in (
        (datetime(2026, 5, 1, tzinfo=UTC), dated),
        (datetime(2026, 5, 8, tzinfo=UTC), undated),
        (datetime(2026, 5, 15, tzinfo=UTC), dated),
    ):
        result = diff_location(snapshot, parse_models(catalog), day)
        snapshot = result.snapshot
        world.state.save_records("eastus", snapshot.records)
        before = len(slack_webhook.messages)
        for digest in build_digests(list(result.events)):
            notify.handle(digest, day)
            notify.handle(digest, day)  # redelivered: nothing twice
        told.append(" ".join(json.dumps(m, ensure_ascii=False) for m in slack_webhook.messages[before:]))
    # NoAutoUpgrade: at risk while the date stands, told when it is set and again when it comes back (the
    # catalog event of its return is a new one, and so is the deployment's standing after being healthy)
    legacy = "Stop answering on 2026-12-31 (NoAutoUpgrade never upgrades): 1 — legacy"
    assert [legacy in t for t in told] == [True, False, True], told
    assert "retirement date withdrawn" in told[1] and "legacy" not in told[1]  # the news, no deployment told


def test_standings_told_under_the_earlier_ledger_layout_are_not_told_again(
    arm_server: FakeArm, slack_webhook: FakeSlackWebhook
) -> None:
    """An app upgraded from the layout that kept one done entry per standing (standing/<hash>) does not tell
    every deployment's standing again; a standing it never told is told."""
    from shared.domain.catalog import parse_models
    from shared.domain.diff import diff_location
    from shared.domain.digest import build_digests
    from shared.domain.policy import assess
    from shared.services.notify.news import standing_key
    from shared.services.policy import catalog_view

    dated = [
        item("gpt-4o", "2024-05-13", retires="2026-12-31T00:00:00Z"),
        item("gpt-4o", "2024-08-06", default=True, retires="2027-06-01T00:00:00Z"),
    ]
    world = World(arm_server, enforce=False)
    day = datetime(2026, 5, 1, tzinfo=UTC)
    result = diff_location(
        diff_location(
            None, parse_models([item("gpt-4o", "2024-05-13"), dated[1]]), day, location="eastus"
        ).snapshot,
        parse_models(dated),
        day,
    )
    world.state.save_records("eastus", result.snapshot.records)
    view = catalog_view(world.state, "eastus")
    for d in world.stores.list_deployments():
        if d.name != "ptu":  # told before the upgrade: chat and legacy
            world.ledger.complete(SUBSCRIBER, standing_key(DEFAULT_ROUTE, assess(d, view, day)), "told")
    notify = owners_alerts(world, slack_webhook)
    for digest in build_digests(list(result.events)):
        notify.handle(digest, day)
    told = " ".join(json.dumps(m, ensure_ascii=False) for m in slack_webhook.messages)
    assert "— ptu" in told and "— legacy" not in told and "— chat" not in told, told

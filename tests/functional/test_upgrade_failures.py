"""A write of modelwatch's that ARM refuses reaches the owning team: the digest leaves enforced writes to their own
news, so without ``DeploymentUpgradeFailed`` a refused upgrade would be told to nobody.

The policy subscriber runs against the ARM stand-in (which refuses as ARM does: a failed long-running operation,
or a 409 with ARM's error body); its events go to the alert subscriber with a real buffer and ledger."""

from __future__ import annotations

import json
from datetime import timedelta

from shared.adapters.memory import InMemoryAlertBuffer, InMemoryLedger
from shared.domain.catalog import parse_models
from shared.domain.diff import diff_location
from shared.domain.events import EventType
from shared.domain.routes import DEFAULT_ROUTE, ChannelKind, Route
from shared.domain.scope import Scope
from shared.domain.secret import Secret
from shared.domain.severity import Severity
from shared.services.notify import NotifyService
from shared.services.results import DUPLICATE, PROCESSED
from tests.builders import item
from tests.fakes.arm_server import FakeArm, Fault
from tests.support.notifiers import Recorder
from tests.support.policy import CATALOG, NOW, World, published

QUOTA = (
    "This operation require 50 new capacity in quota Tokens Per Minute (thousands) - gpt-4o, which is bigger "
    "than the current available capacity 20."
)
LATER = NOW + timedelta(minutes=3)  # past the batch window


def notify(recorder: Recorder) -> NotifyService:
    routes = {
        DEFAULT_ROUTE: Route(
            DEFAULT_ROUTE,
            {
                ChannelKind.TEAMS: Secret("https://teams.invalid/d"),
                ChannelKind.SLACK: Secret("https://slack.invalid/d"),
            },
        )
    }
    return NotifyService(
        ledger=InMemoryLedger(),
        notifiers={"teams": recorder, "slack": recorder},
        routes=routes,
        scope=Scope(),
        buffer=InMemoryAlertBuffer(),
        batch_window=timedelta(minutes=2),
    )


def refusal() -> Fault:
    body = {"error": {"code": "InsufficientQuota", "message": QUOTA}}
    return Fault(status=409, body=json.dumps(body), path_contains="/deployments/", method="PUT")


def test_a_refused_upgrade_is_one_event_told_once_and_the_next_event_retries(arm_server: FakeArm) -> None:
    world = World(arm_server, enforce=True)
    world.arm.fail_next_put = ("InsufficientQuota", QUOTA)  # ARM accepts the PUT; its operation fails
    for event in world.events:
        assert world.policy.handle(event, NOW).outcome == PROCESSED
    (failed,) = published(world, "DeploymentUpgradeFailed")
    data = failed.data
    assert (data["deploymentName"], data["modelVersion"]) == ("chat", "2024-05-13")
    assert (data["targetModelName"], data["targetVersion"]) == ("gpt-4o", "2024-08-06")
    assert "InsufficientQuota" in data["error"] and data["retirementDate"] == "2026-03-31T00:00:00Z"
    assert world.arm.version_of(world.expired) == "2024-05-13" and world.stores.list_changes() == []

    # Event Grid delivers the catalog events again: no second attempt, no second failure event
    for event in world.events:
        assert world.policy.handle(event, NOW).outcome == DUPLICATE
    assert len(published(world, "DeploymentUpgradeFailed")) == 1

    # the alerts hold it (delivered twice), and the flush tells it once per channel
    recorder = Recorder()
    alerts = notify(recorder)
    for _ in range(2):
        assert alerts.handle(failed, NOW).outcome == PROCESSED
    assert recorder.sent == []  # held for its batch
    assert alerts.flush(LATER).sent == 1
    assert alerts.flush(LATER + timedelta(minutes=5)).sent == 0
    assert sorted(kind for _, kind, _ in recorder.sent) == ["slack", "teams"]
    message = recorder.sent[0][2]
    assert message.kind == "deployment-upgrade-failed"
    assert message.title == "modelwatch could not upgrade chat from gpt-4o 2024-05-13 to gpt-4o 2024-08-06"
    assert message.severity is Severity.CRITICAL  # retired two days ago: calls fail now
    assert dict(message.facts)["ARM said"].endswith(QUOTA)

    # the next catalog event about gpt-4o tries again; ARM accepts this time: an upgrade, told as one
    catalog = parse_models([*CATALOG, item("gpt-4o", "2024-11-20", retires="2027-03-01T00:00:00Z")])
    snapshot = diff_location(
        None, parse_models(CATALOG), NOW - timedelta(days=30), location="eastus"
    ).snapshot
    released = [
        e
        for e in diff_location(snapshot, catalog, NOW + timedelta(hours=1)).events
        if e.event_type == EventType.VERSION_RELEASED
    ]
    assert released
    for event in released:
        world.policy.handle(event, NOW + timedelta(hours=1))
    assert world.arm.version_of(world.expired) == "2024-08-06"
    (upgraded,) = published(world, "DeploymentUpgraded")
    assert upgraded.data["appliedBy"] == "modelwatch"
    assert len(published(world, "DeploymentUpgradeFailed")) == 1  # the failure is not told again


def test_deployments_refused_alike_are_one_message_naming_each(arm_server: FakeArm) -> None:
    world = World(arm_server, enforce=True)
    second = arm_server.add_deployment(
        world.account, "chat-2", "gpt-4o", "2024-05-13", policy="OnceCurrentVersionExpired"
    )
    world.inventory.refresh(NOW)
    arm_server.faults += [refusal(), refusal()]  # ARM answers both PUTs 409 InsufficientQuota
    for event in world.events:
        world.policy.handle(event, NOW)
    assert (
        world.arm.version_of(second) == "2024-05-13" and world.arm.version_of(world.expired) == "2024-05-13"
    )
    failures = published(world, "DeploymentUpgradeFailed")
    assert sorted(e.data["deploymentName"] for e in failures) == ["chat", "chat-2"]
    assert len({e.id for e in failures}) == 2

    recorder = Recorder()
    alerts = notify(recorder)
    for event in reversed(failures):  # in any order
        alerts.handle(event, NOW)
    assert alerts.flush(LATER).sent == 1
    teams = [m for _, kind, m in recorder.sent if kind == "teams"]
    (message,) = teams
    assert message.title.startswith("modelwatch could not upgrade 2 deployments from gpt-4o 2024-05-13")
    # ARM's words once (the deployment each names set aside), then each deployment
    assert "<deployment>" in dict(message.facts)["ARM said"] and QUOTA in dict(message.facts)["ARM said"]
    assert [line.split(" ", 1)[0] for line in message.items] == ["chat", "chat-2"]

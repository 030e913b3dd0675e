"""The policy subscriber and inventory refresh against the local ARM stand-in holding deployments."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.events import LifecycleEvent
from shared.errors import ArmError
from shared.services.results import DUPLICATE, IGNORED, PROCESSED, REJECTED
from tests.fakes.arm_server import FakeArm
from tests.support.policy import NOW, World, published


@pytest.fixture
def world(arm_server: FakeArm, request: pytest.FixtureRequest) -> World:
    return World(arm_server, enforce=getattr(request, "param", False))


def test_inventory_reads_every_deployment(world: World) -> None:
    deployments = {d.name: d for d in world.stores.list_deployments()}
    assert set(deployments) == {"chat", "legacy", "ptu"}
    assert deployments["ptu"].is_provisioned and deployments["ptu"].policy == "OnceCurrentVersionExpired"


def test_plan_mode_decides_and_writes_nothing(world: World) -> None:
    for event in world.events:
        world.policy.handle(event, NOW)
    assert world.arm.puts() == []
    planned = {e.data["deploymentName"]: e.data for e in published(world, "DeploymentUpgradePlanned")}
    at_risk = {e.data["deploymentName"]: e.data for e in published(world, "DeploymentAtRisk")}
    assert planned["chat"]["targetVersion"] == "2024-08-06" and planned["chat"]["mode"] == "plan"
    assert at_risk["legacy"]["status"] == "broken"
    assert at_risk["ptu"]["status"] == "atRisk" and at_risk["ptu"]["retirementDate"] == "2026-10-01T00:00:00Z"


@pytest.mark.parametrize("world", [True], indirect=True)
def test_enforce_upgrades_once_under_triple_shuffled_delivery(world: World) -> None:
    before = copy.deepcopy(world.arm.deployments[world.expired.casefold()])
    deliveries = world.events * 3
    random.Random(7).shuffle(deliveries)
    outcomes = [world.policy.handle(e, NOW).outcome for e in deliveries]
    assert outcomes.count(PROCESSED) == len(world.events) and outcomes.count(DUPLICATE) == 2 * len(
        world.events
    )
    (put,) = world.arm.puts()
    assert world.arm.version_of(world.expired) == "2024-08-06"
    assert (
        world.arm.version_of(world.pinned) == "2024-05-13" and world.arm.version_of(world.ptu) == "2024-05-13"
    )
    # the PUT body is the GET body but for the version: unknown fields survive
    expected = copy.deepcopy(before)
    expected["properties"]["model"]["version"] = "2024-08-06"
    assert put.body == expected
    get_body = next(
        r for r in world.arm.requests if r.method == "GET" and r.path.endswith("/deployments/chat")
    )
    assert get_body is not None
    assert put.body["properties"]["futureField"] == {"kept": True}
    assert put.body["properties"]["spilloverDeploymentName"] == "chat-spill"
    assert put.body["properties"]["model"] == {"format": "OpenAI", "name": "gpt-4o", "version": "2024-08-06"}
    (upgraded,) = published(world, "DeploymentUpgraded")
    assert upgraded.data["appliedBy"] == "modelwatch" and upgraded.data["fromVersion"] == "2024-05-13"
    (record,) = world.stores.list_changes(world.expired)
    assert (record.from_version, record.to_version) == ("2024-05-13", "2024-08-06")
    assert record.available_until == datetime(2026, 3, 31, tzinfo=UTC)  # the from-version's Standard date
    # the next inventory refresh does not mistake our change for Azure's
    report = world.inventory.refresh(NOW + timedelta(hours=1))
    assert report.azure_upgrades == ()


@pytest.mark.parametrize("world", [True], indirect=True)
def test_failed_long_running_operation_is_reported_and_nothing_recorded(world: World) -> None:
    world.arm.fail_next_put = ("QuotaExceeded", "Insufficient quota")
    result = world.policy.handle(world.events[0], NOW)
    assert result.outcome == PROCESSED and "QuotaExceeded" in result.detail
    assert world.arm.version_of(world.expired) == "2024-05-13"
    assert world.stores.list_changes() == [] and published(world, "DeploymentUpgraded") == []


def test_azure_upgrade_is_noticed_by_the_inventory(world: World) -> None:
    world.arm.deployments[world.expired.casefold()]["properties"]["model"]["version"] = "2024-08-06"
    report = world.inventory.refresh(NOW + timedelta(hours=1))
    (event,) = report.azure_upgrades
    assert (
        event.data["appliedBy"] == "azure" and event.data["rollbackAvailableUntil"] == "2026-03-31T00:00:00Z"
    )
    assert world.inventory.refresh(NOW + timedelta(hours=2)).azure_upgrades == ()


def test_out_of_scope_and_malformed_events_write_nothing(world: World) -> None:
    event = world.events[0]
    moved = LifecycleEvent(
        event.id + "x",
        event.event_type,
        event.subject.replace("eastus", "westus"),
        NOW,
        {**event.data, "location": "westus"},
    )
    forged = LifecycleEvent(
        event.id + "y",
        event.event_type,
        "/locations/eastus/models/OpenAI/gpt-4o/versions/9",
        NOW,
        dict(event.data),
    )
    foreign = LifecycleEvent("z", "Microsoft.Storage.BlobCreated", "/blob", NOW, {"location": "eastus"})
    assert world.policy.handle(moved, NOW).outcome == IGNORED
    assert world.policy.handle(forged, NOW).outcome == REJECTED
    assert world.policy.handle(foreign, NOW).outcome == REJECTED
    assert world.arm.puts() == [] and world.publisher.published == []


@pytest.mark.parametrize("world", [True], indirect=True)
def test_many_writes_overlap_and_a_transient_failure_retries_only_what_is_left(world: World) -> None:
    from tests.fakes.arm_server import Fault

    extra = [
        world.arm.add_deployment(
            world.account, f"chat{i}", "gpt-4o", "2024-05-13", policy="OnceCurrentVersionExpired"
        )
        for i in range(5)
    ]
    world.inventory.refresh(NOW)
    world.arm.faults = [Fault(503, path_contains="/deployments/chat4") for _ in range(20)]
    (retired,) = [e for e in world.events if e.event_type.endswith("VersionRetired")]
    with pytest.raises(ArmError) as info:
        world.policy.handle(retired, NOW)
    assert info.value.is_transient
    assert len(world.arm.puts()) == 5  # the others went through while chat4 failed
    world.arm.faults = []
    assert world.policy.handle(retired, NOW).outcome == PROCESSED  # Event Grid's retry
    assert world.policy.handle(retired, NOW).outcome == DUPLICATE
    assert len(world.arm.puts()) == 6
    assert all(world.arm.version_of(d) == "2024-08-06" for d in [world.expired, *extra])
    upgraded = published(world, "DeploymentUpgraded")
    assert len(upgraded) == 6 and len({e.id for e in upgraded}) == 6

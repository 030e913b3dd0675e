"""Rollback against the local ARM stand-in: refusals with reasons, the PUT, idempotence, the record and event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.arm import ArmClient, ArmDeploymentApi, StaticTokenProvider
from shared.adapters.memory import CollectingPublisher, InMemoryCatalogStateStore, InMemoryDeploymentStore
from shared.config import Secret
from shared.domain.catalog import parse_models
from shared.domain.diff import diff_location
from shared.errors import ArmError
from shared.services.inventory import InventoryService
from shared.services.rollback import RollbackRefused, RollbackService, UnknownDeployment
from tests.builders import item
from tests.fakes.arm_server import FakeArm

SUB = "00000000-0000-0000-0000-0000000000dd"
NOW = datetime(2026, 1, 10, tzinfo=UTC)
CATALOG = [
    item("gpt-4o", "2024-05-13", retires="2026-03-31T00:00:00Z"),
    item("gpt-4o", "2024-08-06", default=True, retires="2026-10-01T00:00:00Z"),
    item("gpt-4.1", "2025-04-14", default=True, retires="2027-04-14T00:00:00Z"),
]


class World:
    def __init__(self, arm: FakeArm) -> None:
        self.arm = arm
        account = arm.add_account(SUB, "rg", "contoso", "eastus")
        self.chat = arm.add_deployment(
            account, "chat", "gpt-4o", "2024-05-13", policy="OnceNewDefaultVersionAvailable",
            tags={"modelwatch:route": "payments"}, extra={"futureField": {"kept": True}},
        )  # fmt: skip
        self.swap = arm.add_deployment(account, "swap", "gpt-4o", "2024-05-13")
        self.plain = arm.add_deployment(account, "plain", "gpt-4o", "2024-08-06")
        self.state = InMemoryCatalogStateStore()
        first = diff_location(None, parse_models(CATALOG), NOW - timedelta(days=30), location="eastus")
        self.state.save_records("eastus", first.snapshot.records)
        self.stores = InMemoryDeploymentStore()
        self.publisher = CollectingPublisher()
        api = ArmDeploymentApi(
            ArmClient(arm.endpoint, "2025-09-01", StaticTokenProvider(Secret("t")), sleep=lambda s: None)
        )
        self.inventory = InventoryService(api, self.stores, self.stores, self.state, subscriptions=[SUB])
        self.service = RollbackService(
            inventory=self.stores, rollbacks=self.stores, state=self.state, api=api, publisher=self.publisher
        )
        self.inventory.refresh(NOW)

    def azure_moves(self, rid: str, version: str, name: str | None = None) -> None:
        model = self.arm.deployments[rid.casefold()]["properties"]["model"]
        model["version"] = version
        if name:
            model["name"] = name
        self.inventory.refresh(NOW + timedelta(hours=1))


@pytest.fixture
def world(arm_server: FakeArm) -> World:
    return World(arm_server)


def test_rollback_of_an_azure_upgrade_puts_back_the_previous_version_and_stops_auto_upgrade(
    world: World,
) -> None:
    world.azure_moves(world.chat, "2024-08-06")
    world.publisher.published.clear()
    result = world.service.rollback(world.chat.upper(), NOW + timedelta(hours=2))  # ids are case-insensitive
    assert result.written
    (put,) = world.arm.puts()
    props = put.body["properties"]
    assert props["model"]["version"] == "2024-05-13"
    assert props["versionUpgradeOption"] == "NoAutoUpgrade"  # or Azure would move it forward again
    assert props["futureField"] == {"kept": True} and props["raiPolicyName"] == "Microsoft.DefaultV2"
    assert put.body["tags"] == {"modelwatch:route": "payments"}
    assert world.arm.version_of(world.chat) == "2024-05-13"
    newest = world.stores.list_rollbacks(world.chat)[0]
    assert (newest.applied_by, newest.from_version, newest.to_version) == (
        "rollback",
        "2024-08-06",
        "2024-05-13",
    )
    assert newest.original_policy == "OnceNewDefaultVersionAvailable"  # to restore later
    assert newest.available_until == datetime(2026, 10, 1, tzinfo=UTC)  # until when 2024-08-06 can come back
    # the drain publishes the whole outbox: the Azure upgrade the refresh found goes out too
    upgraded, event = world.publisher.published
    assert (
        upgraded.event_type == "ModelLifecycle.DeploymentUpgraded" and upgraded.data["appliedBy"] == "azure"
    )
    assert event.event_type == "ModelLifecycle.DeploymentRolledBack" and event.subject == world.chat
    assert event.data["previousPolicy"] == "OnceNewDefaultVersionAvailable"
    assert event.data["versionUpgradeOption"] == "NoAutoUpgrade" and event.data["toVersion"] == "2024-05-13"
    assert "NoAutoUpgrade" in result.describe() and "OnceNewDefaultVersionAvailable" in result.describe()
    # the inventory sees our change and does not report it as Azure's
    assert world.inventory.refresh(NOW + timedelta(hours=3)).azure_upgrades == ()


def test_repeated_rollback_writes_nothing_and_records_once(world: World) -> None:
    world.azure_moves(world.chat, "2024-08-06")
    first = world.service.rollback(world.chat, NOW + timedelta(hours=2))
    again = world.service.rollback(world.chat, NOW + timedelta(hours=3))
    assert first.written and not again.written and again.record == first.record
    assert len(world.arm.puts()) == 1
    assert [r.applied_by for r in world.stores.list_rollbacks(world.chat)] == ["rollback", "azure"]
    assert "already rolled back" in again.describe()


def test_retried_rollback_after_a_crash_past_the_put_records_the_same_change(world: World) -> None:
    world.azure_moves(world.chat, "2024-08-06")
    first = world.service.rollback(world.chat, NOW + timedelta(hours=2))
    # simulate a crash after the PUT: the stores never heard of it
    fresh = InMemoryDeploymentStore()
    fresh.save_deployments([d for d in world.stores.list_deployments() if d.name != "chat"])
    (before,) = [d for d in world.stores.list_deployments() if d.name == "chat"]
    from dataclasses import replace

    fresh.save_deployments(
        [replace(before, model_version="2024-08-06", upgrade_option="OnceNewDefaultVersionAvailable")]
    )
    for r in world.stores.list_rollbacks():
        if r.applied_by != "rollback":
            fresh.add_rollback(r)
    service = RollbackService(
        inventory=fresh, rollbacks=fresh, state=world.state, api=world.service.api, publisher=world.publisher
    )
    retried = service.rollback(world.chat, NOW + timedelta(hours=2))
    assert not retried.written and len(world.arm.puts()) == 1  # ARM already had it: no second PUT
    assert retried.record is not None and first.record is not None and retried.record.id == first.record.id


@pytest.mark.parametrize(
    ("setup", "kwargs", "reason"),
    [
        ("none", {}, "nothing-to-undo"),
        ("none", {"to_version": "2023-01-01"}, "not-in-catalog"),
        ("none", {"to_version": "2025-04-14"}, "model-name-change"),
        ("azure", {"at": datetime(2026, 4, 2, tzinfo=UTC)}, "retired"),
        ("rename", {}, "model-name-change"),
        ("none", {"to_version": "2024-05-13"}, "already-on-version"),
    ],
)
def test_refusals_name_the_reason_and_write_nothing(
    world: World, setup: str, kwargs: dict[str, object], reason: str
) -> None:
    if setup == "azure":
        world.azure_moves(world.chat, "2024-08-06")
    if setup == "rename":
        world.azure_moves(world.swap, "2025-04-14", name="gpt-4.1")
    target = world.swap if setup == "rename" else world.chat
    at = kwargs.pop("at", NOW + timedelta(hours=2))
    assert isinstance(at, datetime)
    records = len(world.stores.list_rollbacks())
    with pytest.raises(RollbackRefused) as info:
        world.service.rollback(target, at, **kwargs)  # type: ignore[arg-type]
    assert info.value.reason == reason
    assert world.arm.puts() == [] and len(world.stores.list_rollbacks()) == records
    assert not [e for e in world.publisher.published if e.event_type.endswith("RolledBack")]


def test_retired_refusal_says_when(world: World) -> None:
    world.azure_moves(world.chat, "2024-08-06")
    with pytest.raises(RollbackRefused, match="retired on 2026-03-31"):
        world.service.rollback(world.chat, datetime(2026, 4, 2, tzinfo=UTC))


def test_unknown_deployment_and_dry_run(world: World) -> None:
    with pytest.raises(UnknownDeployment):
        world.service.rollback(world.chat + "-nope", NOW)
    world.azure_moves(world.chat, "2024-08-06")
    world.publisher.published.clear()
    result = world.service.rollback(world.chat, NOW + timedelta(hours=2), dry_run=True)
    assert result.dry_run and not result.written and "dry run" in result.describe()
    assert world.arm.puts() == [] and world.publisher.published == []
    assert world.arm.version_of(world.chat) == "2024-08-06"


def test_explicit_target_rolls_back_without_a_record(world: World) -> None:
    result = world.service.rollback(world.plain, NOW, to_version="2024-05-13")
    assert result.written and world.arm.version_of(world.plain) == "2024-05-13"
    assert (
        result.record is not None and result.record.original_policy is None
    )  # absent policy: restore by clearing


def test_failed_long_running_operation_records_nothing(world: World) -> None:
    world.azure_moves(world.chat, "2024-08-06")
    world.arm.fail_next_put = ("InternalError", "Deployment update failed")
    with pytest.raises(ArmError, match="InternalError"):
        world.service.rollback(world.chat, NOW + timedelta(hours=2))
    assert [r.applied_by for r in world.stores.list_rollbacks(world.chat)] == ["azure"]
    (d,) = [d for d in world.stores.list_deployments() if d.name == "chat"]
    assert d.model_version == "2024-08-06"

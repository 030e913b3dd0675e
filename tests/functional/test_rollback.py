"""Rollback against the local ARM stand-in: refusals with reasons, the PUT, idempotence, the record and event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.arm import ArmClient, ArmDeploymentApi, StaticTokenProvider
from shared.adapters.memory import CollectingPublisher, InMemoryCatalogStateStore, InMemoryDeploymentStore
from shared.domain.catalog import parse_models
from shared.domain.diff import diff_location
from shared.domain.scope import Scope
from shared.domain.secret import Secret
from shared.errors import ArmError
from shared.services.inventory import InventoryService
from shared.services.rollback import RollbackRefusedError, RollbackService, UnknownDeploymentError
from tests.builders import account_id, item
from tests.fakes.arm_server import FakeArm, Fault

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
            account,
            "chat",
            "gpt-4o",
            "2024-05-13",
            policy="OnceNewDefaultVersionAvailable",
            tags={"modelwatch:route": "payments"},
            extra={"futureField": {"kept": True}},
        )
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
        self.api = api
        self.service = self.rollback_service(Scope(subscriptions=frozenset({SUB})))
        self.inventory.refresh(NOW)

    def rollback_service(self, scope: Scope) -> RollbackService:
        return RollbackService(
            deployments=self.stores,
            rollbacks=self.stores,
            state=self.state,
            api=self.api,
            publisher=self.publisher,
            scope=scope,
        )

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
    newest = world.stores.list_changes(world.chat)[0]
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
    assert [r.applied_by for r in world.stores.list_changes(world.chat)] == ["rollback", "azure"]
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
    for r in world.stores.list_changes():
        if r.applied_by != "rollback":
            fresh.add_change(r)
    service = RollbackService(
        deployments=fresh,
        rollbacks=fresh,
        state=world.state,
        api=world.service.api,
        publisher=world.publisher,
        scope=world.service.scope,
    )
    retried = service.rollback(world.chat, NOW + timedelta(hours=2))
    assert not retried.written and len(world.arm.puts()) == 1  # ARM already had it: no second PUT
    assert retried.record is not None and first.record is not None and retried.record.id == first.record.id


@pytest.mark.parametrize(
    ("setup", "kwargs", "reason"),
    [
        ("none", {}, "nothing-to-undo"),
        ("none", {"to_version": "2023-01-01"}, "not-a-previous-version"),  # never ran it
        ("none", {"to_version": "2025-04-14"}, "not-a-previous-version"),
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
    records = len(world.stores.list_changes())
    with pytest.raises(RollbackRefusedError) as info:
        world.service.rollback(target, at, **kwargs)  # type: ignore[arg-type]
    assert info.value.reason == reason
    assert world.arm.puts() == [] and len(world.stores.list_changes()) == records
    assert not [e for e in world.publisher.published if e.event_type.endswith("RolledBack")]


def test_retired_refusal_says_when(world: World) -> None:
    world.azure_moves(world.chat, "2024-08-06")
    with pytest.raises(RollbackRefusedError, match="retired on 2026-03-31"):
        world.service.rollback(world.chat, datetime(2026, 4, 2, tzinfo=UTC))


def test_unknown_deployment_and_dry_run(world: World) -> None:
    with pytest.raises(UnknownDeploymentError):
        world.service.rollback(world.chat + "-nope", NOW)
    world.azure_moves(world.chat, "2024-08-06")
    world.publisher.published.clear()
    result = world.service.rollback(world.chat, NOW + timedelta(hours=2), dry_run=True)
    assert result.dry_run and not result.written and "dry run" in result.describe()
    assert world.arm.puts() == [] and world.publisher.published == []
    assert world.arm.version_of(world.chat) == "2024-08-06"


def test_an_explicit_target_must_be_a_version_the_deployment_ran(world: World) -> None:
    with pytest.raises(RollbackRefusedError) as info:
        world.service.rollback(world.plain, NOW, to_version="2024-05-13")  # plain never ran it
    assert info.value.reason == "not-a-previous-version" and world.arm.puts() == []
    world.azure_moves(world.chat, "2024-08-06")
    result = world.service.rollback(world.chat, NOW + timedelta(hours=2), to_version="2024-05-13")
    assert result.written and world.arm.version_of(world.chat) == "2024-05-13"


def test_a_rollback_never_moves_forward(world: World) -> None:
    # someone moved plain back to 2024-05-13; "rolling back" to 2024-08-06 would be an upgrade
    world.azure_moves(world.plain, "2024-05-13")
    (change,) = world.stores.list_changes(world.plain)
    assert change.applied_by == "external"  # a downgrade is never Azure's doing
    with pytest.raises(RollbackRefusedError) as info:
        world.service.rollback(world.plain, NOW + timedelta(hours=2))
    assert info.value.reason == "not-older" and world.arm.puts() == []


def test_pinned_and_provisioned_deployments_need_force_and_ignored_ones_are_never_written(
    world: World,
) -> None:
    world.azure_moves(world.chat, "2024-08-06")
    (d,) = [d for d in world.stores.list_deployments() if d.name == "chat"]
    from dataclasses import replace

    for changed in (
        replace(d, tags={"modelwatch:policy": "pin"}),
        replace(d, sku_name="ProvisionedManaged"),
    ):
        world.stores.save_deployments([changed])
        with pytest.raises(RollbackRefusedError) as info:
            world.service.rollback(world.chat, NOW + timedelta(hours=2))
        assert info.value.reason == "needs-force" and "--force" in str(info.value)
    world.stores.save_deployments([replace(d, tags={"ModelWatch:Policy": "Ignore"})])
    for force in (False, True):  # force never overrides ignore
        with pytest.raises(RollbackRefusedError) as info:
            world.service.rollback(world.chat, NOW + timedelta(hours=2), force=force)
        assert info.value.reason == "ignored"
    assert world.arm.puts() == []
    world.stores.save_deployments([replace(d, tags={"modelwatch:policy": "pin"})])
    forced = world.service.rollback(world.chat, NOW + timedelta(hours=2), force=True)
    assert forced.written and world.arm.version_of(world.chat) == "2024-05-13"


@pytest.mark.parametrize(
    ("tag", "force", "reason"),
    [("ignore", True, "ignored"), ("pin", False, "needs-force")],  # set in ARM after the last refresh
)
def test_a_tag_set_since_the_last_refresh_is_judged_at_the_write(
    world: World, tag: str, force: bool, reason: str
) -> None:
    world.azure_moves(world.chat, "2024-08-06")
    world.arm.touch(world.chat, tags={"modelwatch:policy": tag})  # the inventory has not seen it
    with pytest.raises(RollbackRefusedError) as info:
        world.service.rollback(world.chat, NOW + timedelta(hours=2), force=force)
    assert info.value.reason == reason and "in ARM now" in str(info.value)
    assert world.arm.puts() == []


def test_the_put_carries_if_match_and_a_412_is_changed_meanwhile_not_a_blind_retry(world: World) -> None:
    world.azure_moves(world.chat, "2024-08-06")
    etag = world.arm.deployments[world.chat.casefold()]["etag"]
    # someone writes the deployment between our GET and our PUT
    world.arm.after_get = lambda rid: world.arm.touch(rid, policy="OnceCurrentVersionExpired")
    with pytest.raises(RollbackRefusedError) as info:
        world.service.rollback(world.chat, NOW + timedelta(hours=2))
    assert info.value.reason == "changed-meanwhile"
    (put,) = world.arm.puts()  # one PUT, refused: not sent again
    assert put.if_match == etag
    assert world.arm.version_of(world.chat) == "2024-08-06"
    assert world.stores.list_changes(world.chat)[0].applied_by == "azure"  # nothing recorded as done


def test_a_deployment_whose_account_left_the_scope_is_never_written(world: World) -> None:
    world.azure_moves(world.chat, "2024-08-06")
    other = account_id("other", "00000000-0000-0000-0000-0000000000ee")
    narrowed = world.rollback_service(Scope(accounts=frozenset({other.lower()})))  # WATCH_ACCOUNTS changed
    for force in (False, True):  # force overrides tags, never the scope
        with pytest.raises(RollbackRefusedError) as info:
            narrowed.rollback(world.chat, NOW + timedelta(hours=2), force=force)
        assert info.value.reason == "out-of-scope" and "WATCH_ACCOUNTS" in str(info.value)
    in_other_region = world.rollback_service(Scope(frozenset({"westeurope"}), subscriptions=frozenset({SUB})))
    with pytest.raises(RollbackRefusedError, match="WATCH_LOCATIONS"):
        in_other_region.rollback(world.chat, NOW + timedelta(hours=2))
    assert world.arm.puts() == []


def test_the_caller_is_recorded_in_the_record_the_event_and_the_log(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.azure_moves(world.chat, "2024-08-06")
    world.publisher.published.clear()
    with caplog.at_level("INFO", logger="shared.services.rollback"):
        result = world.service.rollback(
            world.chat, NOW + timedelta(hours=2), requested_by="alice@contoso.example"
        )
    assert result.record is not None and result.record.changed_by == "alice@contoso.example"
    (event,) = [e for e in world.publisher.published if e.event_type.endswith("RolledBack")]
    assert event.data["changedBy"] == "alice@contoso.example"
    assert "asked by alice@contoso.example" in caplog.text


def test_after_azure_moved_it_to_another_model_the_way_back_is_side_by_side(world: World) -> None:
    # Azure's replacement is another model: ARM refuses the model-name change in place
    world.azure_moves(world.swap, "2025-04-14", name="gpt-4.1")
    with pytest.raises(RollbackRefusedError) as info:
        world.service.rollback(world.swap, NOW + timedelta(hours=2))
    assert info.value.reason == "model-name-change" and "--as-new" in str(info.value)
    world.publisher.published.clear()
    result = world.service.rollback(
        world.swap, NOW + timedelta(hours=2), as_new="swap-gpt4o", requested_by="bob"
    )
    sibling = f"{world.swap.rsplit('/', 1)[0]}/swap-gpt4o"
    assert result.written and result.plan.sibling_id == sibling
    (put,) = world.arm.puts()
    assert put.path == sibling and put.body["sku"] == {"name": "Standard", "capacity": 10}
    assert put.body["properties"]["model"] == {"format": "OpenAI", "name": "gpt-4o", "version": "2024-05-13"}
    assert put.body["properties"]["versionUpgradeOption"] == "NoAutoUpgrade"
    assert put.body["properties"]["raiPolicyName"] == "Microsoft.DefaultV2"
    assert put.body["tags"]["modelwatch:rollback-of"] == "swap"
    # the original is untouched; nothing was deleted; the sibling is in the inventory
    assert world.arm.deployments[world.swap.casefold()]["properties"]["model"]["name"] == "gpt-4.1"
    assert {d.name for d in world.stores.list_deployments()} >= {"swap", "swap-gpt4o"}
    (event,) = [e for e in world.publisher.published if e.event_type.endswith("RolledBack")]
    assert event.data["sideBySide"] is True and event.data["siblingDeploymentName"] == "swap-gpt4o"
    assert (event.data["modelName"], event.data["toModel"]) == ("gpt-4.1", "gpt-4o")
    # repeated: nothing written, same record
    again = world.service.rollback(world.swap, NOW + timedelta(hours=3), as_new="swap-gpt4o")
    assert not again.written and again.record == result.record and len(world.arm.puts()) == 1


def test_side_by_side_never_replaces_an_existing_deployment_and_reports_quota(world: World) -> None:
    world.azure_moves(world.swap, "2025-04-14", name="gpt-4.1")
    with pytest.raises(RollbackRefusedError) as info:
        world.service.rollback(world.swap, NOW + timedelta(hours=2), as_new="plain")  # a name in use
    assert info.value.reason == "name-taken" and world.arm.puts() == []
    world.arm.faults.append(
        Fault(
            400,
            body='{"error":{"code":"InsufficientQuota","message":"This operation requires 10 new capacity"}}',
            path_contains="/deployments/swap-old",
            method="PUT",
        )
    )
    with pytest.raises(RollbackRefusedError) as info:
        world.service.rollback(world.swap, NOW + timedelta(hours=2), as_new="swap-old")
    assert info.value.reason == "quota" and "InsufficientQuota" in str(info.value)
    assert not [r for r in world.stores.list_changes(world.swap) if r.applied_by == "rollback"]


def test_failed_long_running_operation_records_nothing(world: World) -> None:
    world.azure_moves(world.chat, "2024-08-06")
    world.arm.fail_next_put = ("InternalError", "Deployment update failed")
    with pytest.raises(ArmError, match="InternalError"):
        world.service.rollback(world.chat, NOW + timedelta(hours=2))
    assert [r.applied_by for r in world.stores.list_changes(world.chat)] == ["azure"]
    (d,) = [d for d in world.stores.list_deployments() if d.name == "chat"]
    assert d.model_version == "2024-08-06"

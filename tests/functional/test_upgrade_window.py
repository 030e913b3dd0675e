"""Enforce mode never writes a deployment inside Azure's upgrade window (docs/predictions.md §2a, rule 1): from the
retirement date, Azure upgrades Standard-family deployments rolling, region by region, and a modelwatch PUT would
race it. The PUTs are counted on the ARM stand-in; the same deployment is written once the grace has passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.adapters.arm import ArmClient, ArmDeploymentApi, StaticTokenProvider
from shared.adapters.memory import (
    CollectingPublisher,
    InMemoryCatalogStateStore,
    InMemoryDeploymentStore,
    InMemoryLedger,
)
from shared.domain.catalog import parse_models
from shared.domain.diff import diff_location
from shared.domain.policy import PolicyRules
from shared.domain.scope import Scope
from shared.domain.secret import Secret
from shared.services.inventory import InventoryService
from shared.services.policy import PolicyService
from tests.builders import item
from tests.fakes.arm_server import FakeArm

SUB = "00000000-0000-0000-0000-0000000000dd"
RETIRED = datetime(2026, 3, 31, tzinfo=UTC)  # gpt-4o 2024-05-13's Standard retirement
CATALOG = [
    item("gpt-4o", "2024-05-13", retires="2026-03-31T00:00:00Z"),
    item("gpt-4o", "2024-08-06", default=True, retires="2026-10-01T00:00:00Z"),
]


def enforce_at(arm: FakeArm, now: datetime) -> tuple[InventoryService, PolicyService, CollectingPublisher]:
    state = InMemoryCatalogStateStore()
    first = diff_location(None, parse_models(CATALOG), RETIRED - timedelta(days=30), location="eastus")
    state.save_records("eastus", first.snapshot.records)
    events = diff_location(first.snapshot, parse_models(CATALOG), now).events  # VersionRetired
    assert any(e.event_type == "ModelLifecycle.VersionRetired" for e in events)
    stores = InMemoryDeploymentStore()
    publisher = CollectingPublisher()
    api = ArmDeploymentApi(
        ArmClient(arm.endpoint, "2025-09-01", StaticTokenProvider(Secret("t")), sleep=lambda s: None)
    )
    inventory = InventoryService(api, stores, stores, state, subscriptions=[SUB])
    policy = PolicyService(
        deployments=stores,
        ledger=InMemoryLedger(),
        rollbacks=stores,
        state=state,
        api=api,
        publisher=publisher,
        rules=PolicyRules(enforce=True, accelerate_default=True),
        scope=Scope(frozenset({"eastus"}), subscriptions=frozenset({SUB})),
        reminder_days=(90, 60, 30, 14, 7, 1),
    )
    inventory.refresh(now)
    for event in events:
        policy.handle(event, now)
    return inventory, policy, publisher


def test_enforce_makes_no_put_inside_azures_upgrade_window_and_writes_once_after_it(
    arm_server: FakeArm,
) -> None:
    account = arm_server.add_account(SUB, "rg", "contoso", "eastus")
    chat = arm_server.add_deployment(
        account, "chat", "gpt-4o", "2024-05-13", policy="OnceCurrentVersionExpired"
    )
    auto = arm_server.add_deployment(
        account, "auto", "gpt-4o", "2024-05-13", policy="OnceNewDefaultVersionAvailable"
    )
    for day in (0, 1, 3, 13):  # on the date, and every day of the 14-day grace: Azure is upgrading them
        _, _, publisher = enforce_at(arm_server, RETIRED + timedelta(days=day, hours=1))
        assert arm_server.puts() == [], day
        pending = [
            e for e in publisher.published if e.event_type == "ModelLifecycle.DeploymentUpgradePlanned"
        ]
        assert {(e.data["deploymentName"], e.data["reason"], e.data["performedBy"]) for e in pending} == {
            ("chat", "upgrade-pending", "azure"),
            ("auto", "upgrade-pending", "azure"),
        }
        assert not any(
            e.data.get("status") == "broken"
            for e in publisher.published
            if e.event_type == "ModelLifecycle.DeploymentAtRisk"
        )
    # past the grace, Azure has evidently not moved them: enforcement writes each once
    enforce_at(arm_server, RETIRED + timedelta(days=15))
    assert len(arm_server.puts()) == 2
    assert arm_server.version_of(chat) == arm_server.version_of(auto) == "2024-08-06"

"""The policy subscriber's world: the ARM stand-in holding one account's deployments, the stores, the inventory and
the policy service over a catalog whose gpt-4o 2024-05-13 has retired for Standard
(tests/functional/test_policy_subscriber.py; test_notify.py and test_upgrade_failures.py tell its decisions)."""

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
from shared.domain.events import LifecycleEvent
from shared.domain.policy import PolicyRules
from shared.domain.scope import Scope
from shared.domain.secret import Secret
from shared.services.inventory import InventoryService
from shared.services.policy import PolicyService
from tests.builders import item
from tests.fakes.arm_server import FakeArm

SUB = "00000000-0000-0000-0000-0000000000cc"
# 20 days after gpt-4o 2024-05-13's Standard retirement: past the 14-day grace of Azure's rolling upgrade
NOW = datetime(2026, 4, 20, tzinfo=UTC)
SPLIT = {"Standard": "2026-03-31T00:00:00Z", "ProvisionedManaged": "2026-10-01T00:00:00Z"}
CATALOG = [
    item("gpt-4o", "2024-05-13", retires="2026-03-31T00:00:00Z", skus=SPLIT),
    item("gpt-4o", "2024-08-06", default=True, retires="2026-10-01T00:00:00Z"),
]


class World:
    """ARM stand-in with an account and deployments, the stores, and the two services."""

    def __init__(self, arm: FakeArm, *, enforce: bool) -> None:
        self.arm = arm
        self.account = arm.add_account(SUB, "rg", "contoso", "eastus")
        self.expired = arm.add_deployment(
            self.account,
            "chat",
            "gpt-4o",
            "2024-05-13",
            policy="OnceCurrentVersionExpired",
            extra={"spilloverDeploymentName": "chat-spill", "futureField": {"kept": True}},
        )
        self.pinned = arm.add_deployment(
            self.account, "legacy", "gpt-4o", "2024-05-13", policy="NoAutoUpgrade"
        )
        self.ptu = arm.add_deployment(self.account, "ptu", "gpt-4o", "2024-05-13", sku="ProvisionedManaged")
        self.state = InMemoryCatalogStateStore()
        first = diff_location(None, parse_models(CATALOG), NOW - timedelta(days=30), location="eastus")
        self.state.save_records("eastus", first.snapshot.records)
        second = diff_location(first.snapshot, parse_models(CATALOG), NOW)
        self.events = list(second.events)  # VersionRetired for the Standard date
        self.stores = InMemoryDeploymentStore()
        self.ledger = InMemoryLedger()
        self.publisher = CollectingPublisher()
        api = ArmDeploymentApi(
            ArmClient(arm.endpoint, "2025-09-01", StaticTokenProvider(Secret("t")), sleep=lambda s: None)
        )
        self.inventory = InventoryService(api, self.stores, self.stores, self.state, subscriptions=[SUB])
        self.policy = PolicyService(
            deployments=self.stores,
            ledger=self.ledger,
            rollbacks=self.stores,
            state=self.state,
            api=api,
            publisher=self.publisher,
            rules=PolicyRules(enforce=enforce),
            scope=Scope(frozenset({"eastus"}), subscriptions=frozenset({SUB})),
            reminder_days=(90, 60, 30, 14, 7, 1),
        )
        self.inventory.refresh(NOW)


def published(w: World, kind: str) -> list[LifecycleEvent]:
    return [e for e in w.publisher.published if e.event_type == f"ModelLifecycle.{kind}"]

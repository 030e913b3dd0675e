"""Writes re-check what they overwrite: the live GET's tags and versionUpgradeOption are judged again before every
PUT, the PUT carries If-Match, and a 412 is "changed meanwhile" (told, never retried blindly). PUTs counted on the
ARM stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

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
from shared.services.results import DUPLICATE
from tests.builders import item
from tests.fakes.arm_server import FakeArm

SUB = "00000000-0000-0000-0000-0000000000c9"
NOW = datetime(2026, 1, 10, tzinfo=UTC)
BEFORE = [
    item("gpt-4o", "2024-05-13", retires="2026-10-01T00:00:00Z"),
    item("gpt-4o", "2024-08-06", default=True, retires="2027-03-01T00:00:00Z"),
]
AFTER = [
    *BEFORE,
    item("gpt-4o", "2024-11-20"),
]  # a release: news of the model, every deployment of it assessed


class World:
    """One auto-update deployment that POLICY_ACCELERATE_DEFAULT moves to the default now (in enforce mode)."""

    def __init__(self, arm: FakeArm, *, enforce: bool) -> None:
        self.arm = arm
        account = arm.add_account(SUB, "rg", "contoso", "eastus")
        self.chat = arm.add_deployment(
            account, "chat", "gpt-4o", "2024-05-13", policy="OnceNewDefaultVersionAvailable"
        )
        self.state = InMemoryCatalogStateStore()
        first = diff_location(None, parse_models(BEFORE), NOW - timedelta(days=1), location="eastus")
        second = diff_location(first.snapshot, parse_models(AFTER), NOW)
        self.state.save_records("eastus", second.snapshot.records)
        (self.event,) = [e for e in second.events if e.event_type.endswith("VersionReleased")]
        self.stores = InMemoryDeploymentStore()
        self.publisher = CollectingPublisher()
        api = ArmDeploymentApi(
            ArmClient(arm.endpoint, "2025-09-01", StaticTokenProvider(Secret("t")), sleep=lambda s: None)
        )
        InventoryService(api, self.stores, self.stores, self.state, subscriptions=[SUB]).refresh(NOW)
        self.policy = PolicyService(
            deployments=self.stores,
            ledger=InMemoryLedger(),
            rollbacks=self.stores,
            state=self.state,
            api=api,
            publisher=self.publisher,
            rules=PolicyRules(enforce=enforce, accelerate_default=True),
            scope=Scope(frozenset({"eastus"}), subscriptions=frozenset({SUB})),
            reminder_days=(90, 60, 30, 14, 7, 1),
        )

    def published(self, kind: str) -> list[LifecycleEvent]:
        return [e for e in self.publisher.published if e.event_type == f"ModelLifecycle.{kind}"]


def test_the_write_rule_holds_unchanged_and_the_put_carries_the_gets_etag(arm_server: FakeArm) -> None:
    w = World(arm_server, enforce=True)
    etag = arm_server.deployments[w.chat.casefold()]["etag"]
    result = w.policy.handle(w.event, NOW)
    (put,) = arm_server.puts()
    assert put.if_match == etag and result.writes == (w.chat,)
    assert arm_server.version_of(w.chat) == "2024-08-06"


def test_plan_mode_writes_nothing(arm_server: FakeArm) -> None:
    w = World(arm_server, enforce=False)
    w.policy.handle(w.event, NOW)
    assert arm_server.puts() == []
    assert [e.data["mode"] for e in w.published("DeploymentUpgradePlanned")] == ["plan"]


@pytest.mark.parametrize(
    ("tags", "policy", "told"),
    [
        (
            {"modelwatch:policy": "ignore"},
            None,
            None,
        ),  # a new ignore wins, and an ignored deployment is not told
        ({"ModelWatch:Policy": "Pin"}, None, "modelwatch:policy - -> pin"),  # a new pin wins
        (None, "NoAutoUpgrade", "versionUpgradeOption OnceNewDefaultVersionAvailable -> NoAutoUpgrade"),
    ],
)
def test_a_tag_or_policy_set_since_the_last_refresh_is_judged_again_before_the_put(
    arm_server: FakeArm, tags: dict[str, str] | None, policy: str | None, told: str | None
) -> None:
    w = World(arm_server, enforce=True)
    arm_server.touch(w.chat, tags=tags, policy=policy)  # after the refresh: the inventory does not know it
    result = w.policy.handle(w.event, NOW)
    assert arm_server.puts() == [] and result.writes == ()
    assert arm_server.version_of(w.chat) == "2024-05-13"
    failed = w.published("DeploymentUpgradeFailed")
    if told is None:
        assert failed == []
    else:
        (event,) = failed
        assert told in str(event.data["error"]) and "not written" in str(event.data["error"])


def test_a_412_is_changed_meanwhile_told_once_and_never_put_again(arm_server: FakeArm) -> None:
    w = World(arm_server, enforce=True)
    # someone else writes the deployment between our GET and our PUT (a route tag: nothing the engine judges)
    arm_server.after_get = lambda rid: arm_server.touch(rid, tags={"modelwatch:route": "search"})
    result = w.policy.handle(w.event, NOW)
    assert len(arm_server.puts()) == 1 and result.writes == ()
    assert arm_server.version_of(w.chat) == "2024-05-13"
    (event,) = w.published("DeploymentUpgradeFailed")
    assert "changed meanwhile" in str(event.data["error"]) and "412" in str(event.data["error"])
    # Event Grid redelivers: recorded as done (a permanent failure), so no blind second PUT
    assert w.policy.handle(w.event, NOW + timedelta(minutes=1)).outcome == DUPLICATE
    assert len(arm_server.puts()) == 1


def test_where_arm_ignores_if_match_the_re_read_still_guards_the_write(arm_server: FakeArm) -> None:
    w = World(arm_server, enforce=True)
    arm_server.honour_if_match = False
    arm_server.touch(w.chat, tags={"modelwatch:policy": "ignore"})
    w.policy.handle(w.event, NOW)
    assert arm_server.puts() == []

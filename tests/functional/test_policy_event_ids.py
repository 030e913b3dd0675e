"""A deployment event's id is the decision's, not the delivery's: the same decision reached from two different
catalog events is one event (Event Grid and the alert ledger dedupe by id)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.adapters.memory import (
    CollectingPublisher,
    InMemoryCatalogStateStore,
    InMemoryDeploymentStore,
    InMemoryLedger,
)
from shared.domain.catalog import parse_models
from shared.domain.diff import diff_location
from shared.domain.events import EventType
from shared.domain.policy import PolicyRules
from shared.domain.scope import Scope
from shared.services.policy import PolicyService
from tests.builders import account_id, deployment, item

SUB = "00000000-0000-0000-0000-0000000000ee"
ACCOUNT = account_id("aoai", SUB)
NOW = datetime(2025, 3, 12, tzinfo=UTC)
BEFORE = [item("gpt-4o", "2024-08-06", default=True)]
# one cycle brings two pieces of news about gpt-4o: a new version, and a retirement date for the old one
AFTER = [
    item("gpt-4o", "2024-08-06", default=True, retires="2025-06-30T00:00:00Z"),
    item("gpt-4o", "2024-11-20"),
]


def test_one_decision_from_two_catalog_events_is_one_event_id() -> None:
    stores = InMemoryDeploymentStore()
    stores.save_deployments([deployment("chat", account=ACCOUNT, policy="NoAutoUpgrade")])
    state = InMemoryCatalogStateStore()
    first = diff_location(None, parse_models(BEFORE), NOW - timedelta(days=1), location="eastus")
    second = diff_location(first.snapshot, parse_models(AFTER), NOW)
    state.save_records("eastus", second.snapshot.records)
    kinds = {e.event_type: e for e in second.events}
    released, scheduled = kinds[EventType.VERSION_RELEASED], kinds[EventType.RETIREMENT_SCHEDULED]
    policy = PolicyService(
        deployments=stores,
        ledger=InMemoryLedger(),
        rollbacks=stores,
        state=state,
        api=None,
        publisher=CollectingPublisher(),
        rules=PolicyRules(),
        reminder_days=(90, 30, 7),
        scope=Scope(frozenset({"eastus"}), subscriptions=frozenset({SUB})),
    )

    (from_release,) = policy.handle(released, NOW).emitted
    (from_retirement,) = policy.handle(scheduled, NOW).emitted

    assert from_release.event_type == from_retirement.event_type == EventType.DEPLOYMENT_AT_RISK
    assert from_release.id == from_retirement.id
    # what triggered each is told in the data only
    assert (from_release.data["triggeredBy"], from_retirement.data["triggeredBy"]) == (
        released.id,
        scheduled.id,
    )
    assert {**from_release.data, "triggeredBy": None} == {**from_retirement.data, "triggeredBy": None}

"""What one catalog event costs the inventory: the policy subscriber on Table Storage (Azurite) reads the
deployments of the event's model in its location, not the inventory."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.memory import CollectingPublisher, InMemoryCatalogStateStore, InMemoryLedger
from shared.adapters.tables.deployments import TableDeploymentStore
from shared.domain.catalog import parse_models
from shared.domain.deployments import Deployment, FineTune
from shared.domain.diff import diff_location
from shared.domain.events import EventType
from shared.domain.policy import PolicyRules
from shared.domain.scope import Scope
from shared.services.policy import PolicyService
from shared.services.results import PROCESSED
from tests import builders
from tests.builders import item

pytestmark = pytest.mark.azurite

SUB = "00000000-0000-0000-0000-0000000000dd"
ACCOUNT = builders.account_id("aoai", SUB)
NOW = datetime(2025, 3, 12, tzinfo=UTC)
BEFORE = [item("gpt-4o", "2024-08-06", default=True), item("gpt-4.1", "2025-04-14", default=True)]
AFTER = [*BEFORE, item("gpt-4o", "2024-11-20")]  # a release: an event about the whole model


def deployment(name: str, model: str, location: str, fine_tune: FineTune | None = None) -> Deployment:
    return builders.deployment(
        name,
        model,
        "1" if fine_tune else "2024-08-06",
        account=ACCOUNT,
        location=location,
        fine_tune=fine_tune,
    )


def test_a_delivery_reads_only_its_model_s_deployments(
    azurite_connection_string: str, table_prefix: str
) -> None:
    mine = [
        deployment("chat", "gpt-4o", "eastus"),
        deployment("search", "gpt-4o", "eastus"),
        deployment("ft", "gpt-4o-2024-08-06.ft-0a1b2c", "eastus", FineTune(True, "gpt-4o", "2024-08-06")),
    ]
    others = [
        deployment(
            f"other-{i:03d}", ("gpt-4.1", "gpt-4o-mini", "gpt-4o")[i % 3], ("eastus", "westus")[i % 3 == 2]
        )
        for i in range(300)
    ]  # gpt-4.1 and gpt-4o-mini in eastus, gpt-4o in westus: none of them concerned
    seeded = TableDeploymentStore.from_connection_string(azurite_connection_string, table_prefix=table_prefix)
    seeded.save_deployments([*mine, *others])
    seeded.close()

    state = InMemoryCatalogStateStore()
    first = diff_location(None, parse_models(BEFORE), NOW - timedelta(days=1), location="eastus")
    second = diff_location(first.snapshot, parse_models(AFTER), NOW)
    state.save_records("eastus", second.snapshot.records)
    (released,) = [e for e in second.events if e.event_type == EventType.VERSION_RELEASED]

    # a worker's store, new as after a cold start
    stores = TableDeploymentStore.from_connection_string(azurite_connection_string, table_prefix=table_prefix)
    policy = PolicyService(
        deployments=stores,
        ledger=InMemoryLedger(),
        rollbacks=stores,
        state=state,
        api=None,
        publisher=CollectingPublisher(),
        rules=PolicyRules(),
        reminder_days=(30,),
        scope=Scope(frozenset({"eastus", "westus"}), subscriptions=frozenset({SUB})),
    )
    try:
        result = policy.handle(released, NOW)
        assert result.outcome == PROCESSED
        assert {a.deployment.name for a in result.assessments} == {"chat", "search", "ft"}
        # its model's three deployments, and once per worker the inventory's layout marker (a point read)
        assert stores.entities_read == len(mine) + 1
        before = stores.entities_read
        again = replace(released, id=f"{released.id}-another")  # the same news, another event
        assert policy.handle(again, NOW).outcome == PROCESSED
        assert stores.entities_read - before == len(mine)  # of an inventory of 303
    finally:
        stores.close()

"""Absence is not retirement: a version that leaves the watcher's catalog is confirmed with the catalog of each
subscription running it (the Models API is subscription-scoped, https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements), over the ARM stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.adapters.arm import ArmCatalogSource, ArmClient, StaticTokenProvider
from shared.adapters.memory import CollectingPublisher, InMemoryCatalogStateStore, InMemoryDeploymentStore
from shared.domain.deployments import parse_deployment
from shared.domain.secret import Secret
from shared.services.policy import catalog_view
from shared.services.watch import CatalogWatcher
from tests.builders import item
from tests.fakes.arm_server import FakeArm, Fault

WATCHER = "00000000-0000-0000-0000-0000000000a1"  # WATCH_SUBSCRIPTION_ID: runs nothing of gpt-4 0613
HOLDER = "00000000-0000-0000-0000-0000000000b2"  # runs a deployment of it: its catalog still lists it
T0 = datetime(2025, 1, 9, tzinfo=UTC)
T2 = T0 + timedelta(hours=2)
DEPRECATED = item("gpt-4", "0613", status="Deprecating", retires="2025-06-30T00:00:00Z")
OTHERS = [item("gpt-4o", "2024-08-06", default=True), item("gpt-4o", "2024-11-20")]


def setup(arm: FakeArm, holder_lists: bool) -> tuple[CatalogWatcher, CollectingPublisher]:
    arm.set_catalog(WATCHER, "eastus", [*OTHERS, DEPRECATED])
    arm.set_catalog(WATCHER, "westus", OTHERS)
    arm.set_catalog(HOLDER, "eastus", [*OTHERS, DEPRECATED] if holder_lists else OTHERS)
    account = arm.add_account(HOLDER, "rg", "aoai", "eastus")
    stores = InMemoryDeploymentStore()
    raw: Any = {
        "id": f"{account}/deployments/legacy",
        "sku": {"name": "Standard"},
        "properties": {"model": {"format": "OpenAI", "name": "gpt-4", "version": "0613"}},
    }
    stores.save_deployments([parse_deployment(raw, account_id=account, location="eastus")])
    client = ArmClient(arm.endpoint, "2025-09-01", StaticTokenProvider(Secret("t")), max_retries=0)
    source = ArmCatalogSource(client, WATCHER)
    publisher = CollectingPublisher()
    watcher = CatalogWatcher(
        source,
        InMemoryCatalogStateStore(),
        publisher,
        deployments=stores,
        catalogs=source,
        subscription=WATCHER,
    )
    return watcher, publisher


def cycles(watcher: CatalogWatcher, arm: FakeArm, *hours: int) -> list[list[str]]:
    """Run a cycle at each of these hours after T0 (the first lists the version, the rest do not)."""
    out = []
    for i, h in enumerate(hours):
        if i == 1:
            arm.set_catalog(WATCHER, "eastus", OTHERS)  # the watcher's subscription stops seeing it
        report = watcher.run(["eastus", "westus"], T0 + timedelta(hours=h))
        out.append([e.event_type.removeprefix("ModelLifecycle.") for e in report.events_detected])
    return out


def holder_reads(arm: FakeArm) -> list[str]:
    return [
        r.path for r in arm.requests if f"/subscriptions/{HOLDER}/" in r.path and r.path.endswith("/models")
    ]


def test_a_version_listed_for_the_subscription_running_it_is_not_retired(arm_server: FakeArm) -> None:
    watcher, publisher = setup(arm_server, holder_lists=True)
    seen = cycles(watcher, arm_server, 0, 1)
    assert seen[1] == [] and holder_reads(arm_server) == []  # missing once: nothing concluded, nobody asked
    seen = [
        e.event_type.removeprefix("ModelLifecycle.")
        for e in watcher.run(["eastus", "westus"], T2).events_detected
    ]
    # only the vanished version's region, only the subscription running it, once
    assert holder_reads(arm_server) == [
        f"/subscriptions/{HOLDER}/providers/Microsoft.CognitiveServices/locations/eastus/models"
    ]
    assert seen == ["VersionNotListed"]
    again = watcher.run(["eastus", "westus"], T2 + timedelta(hours=1))
    assert again.events_detected == ()  # the same finding: nothing new
    (event,) = [e for e in publisher.published if e.event_type.endswith("VersionNotListed")]
    assert event.data["reason"] == "listedElsewhere"
    assert event.data["notListedFor"] == [WATCHER] and event.data["listedFor"] == [HOLDER]
    assert event.data["worksUntil"] == "2025-06-30T00:00:00Z"
    assert not any(e.event_type.endswith("VersionRetired") for e in publisher.published)
    # still in the view the policy engine judges deployments by: no "no longer in the catalog", no write
    assert any(k.version == "0613" for k in catalog_view(watcher.store, "eastus"))


def test_gone_everywhere_is_retired_only_once_its_dates_have_passed(arm_server: FakeArm) -> None:
    watcher, publisher = setup(arm_server, holder_lists=False)
    seen = cycles(watcher, arm_server, 0, 1, 2)
    assert seen[2] == ["VersionNotListed"]
    (event,) = [e for e in publisher.published if e.event_type.endswith("VersionNotListed")]
    assert event.data["reason"] == "goneBeforeRetirement"
    assert event.data["notListedFor"] == sorted([WATCHER, HOLDER]) and event.data["listedFor"] == []
    after = watcher.run(["eastus", "westus"], datetime(2025, 7, 1, tzinfo=UTC))
    retired = [e for e in after.events_detected if e.event_type.endswith("VersionRetired")]
    assert [e.data["reason"] for e in retired] == ["removedFromCatalog"]


def test_a_subscription_that_cannot_be_asked_concludes_nothing(arm_server: FakeArm) -> None:
    watcher, _ = setup(arm_server, holder_lists=False)
    cycles(watcher, arm_server, 0, 1)
    arm_server.faults.append(Fault(status=403, path_contains=f"/subscriptions/{HOLDER}/", method="GET"))
    report = watcher.run(["eastus", "westus"], T0 + timedelta(hours=2))
    assert report.events_detected == ()
    (eastus,) = [o for o in report.locations if o.location == "eastus"]
    assert any(HOLDER in p and "could not be read" in p for p in eastus.problems)
    again = watcher.run(["eastus", "westus"], T0 + timedelta(hours=3))  # readable again: concluded now
    assert [e.data["reason"] for e in again.events_detected] == ["goneBeforeRetirement"]

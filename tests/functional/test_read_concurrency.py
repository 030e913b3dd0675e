"""Reads at ARM's pace, not in waves: the catalog cycle and the inventory refresh against the ARM stand-in, with
the concurrency the stand-in saw (no timed assertions: gates hold requests until enough are in flight together)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.adapters.arm import ArmClient, ArmDeploymentApi, ReadBudget, StaticTokenProvider
from shared.adapters.memory import (
    CollectingPublisher,
    InMemoryCatalogStateStore,
    InMemoryDeploymentStore,
)
from shared.bootstrap import build_arm_client, build_catalog_source, build_watcher
from shared.config import load_settings
from shared.domain.secret import Secret
from shared.services.inventory import InventoryService
from tests.builders import item
from tests.fakes.arm_server import FakeArm, Fault

SUB = "00000000-0000-0000-0000-0000000000ab"
NOW = datetime(2025, 3, 12, tzinfo=UTC)
REGIONS = [f"region{i:02d}" for i in range(60)]
CATALOG_PAGE = r"/locations/[^/]+/models$"


def settings(arm: FakeArm, **extra: str) -> dict[str, str]:
    return {
        "WATCH_SUBSCRIPTION_ID": SUB,
        "WATCH_LOCATIONS": ",".join(REGIONS),
        "ARM_ENDPOINT": arm.endpoint,
        "ARM_BEARER_TOKEN": "t",
        **extra,
    }


def regions_of_three_pages(arm: FakeArm) -> None:
    arm.page_size = 2
    for region in REGIONS:
        arm.set_catalog(
            SUB,
            region,
            [
                item("gpt-4o", v)
                for v in ("2024-05-13", "2024-08-06", "2024-11-20", "2025-01-01", "2025-02-01", "2025-03-01")
            ],
        )


def test_sixty_regions_of_three_pages_take_one_region_s_chain(arm_server: FakeArm) -> None:
    """Every region's first page is in flight at once, then every second page, then every third: the cycle is
    three round trips long, as one region's chain of pages, with the default ARM_READ_CONCURRENCY."""
    regions_of_three_pages(arm_server)
    arm_server.gate(CATALOG_PAGE, parties=len(REGIONS))
    config = load_settings(settings(arm_server, ARM_MAX_CONCURRENCY="8"))  # 8 writes at once: not the reads
    client = build_arm_client(config)
    watcher = build_watcher(
        config,
        source=build_catalog_source(config, client=client),
        store=InMemoryCatalogStateStore(),
        publisher=CollectingPublisher(),
    )
    report = watcher.run(REGIONS, NOW)
    assert report.ok, report.summary()
    assert all(o.versions == 6 for o in report.locations)
    pages = [r for r in arm_server.requests if r.path.endswith("/models")]
    assert len(pages) == 3 * len(REGIONS)
    assert arm_server.broken_gates == 0  # each wave had all sixty in flight together
    assert arm_server.max_in_flight >= len(REGIONS)
    assert client.read_budget.waited == 0  # 180 reads: within ARM's burst of 250, nothing held back


def test_reads_in_waves_of_eight_never_have_the_regions_in_flight_together(arm_server: FakeArm) -> None:
    """The contrast: with eight reads at once (what the cycle used before), the gate can never fill."""
    regions_of_three_pages(arm_server)
    arm_server.gate(CATALOG_PAGE, parties=len(REGIONS), timeout=0.5)
    config = load_settings(settings(arm_server, ARM_READ_CONCURRENCY="8"))
    watcher = build_watcher(config, store=InMemoryCatalogStateStore(), publisher=CollectingPublisher())
    assert watcher.run(REGIONS, NOW).ok
    assert arm_server.broken_gates > 0
    assert arm_server.max_in_flight <= 8


def test_subscriptions_are_listed_together_each_within_its_own_read_bucket(arm_server: FakeArm) -> None:
    """Six subscriptions' accounts are listed at once; each subscription spends its own bucket (a bucket of two
    reads each is enough, so they are not one bucket); one failing subscription costs none of the others."""
    subs = [f"00000000-0000-0000-0000-0000000001{i:02d}" for i in range(6)]
    for i, sub in enumerate(subs):
        account = arm_server.add_account(sub, "rg", f"aoai-{i}", "eastus")
        arm_server.add_deployment(account, f"chat-{i}", "gpt-4o", "2024-08-06")
    failing = subs[3]
    arm_server.faults.append(
        Fault(
            status=403,
            path_contains=f"/subscriptions/{failing}/",
            body='{"error":{"code":"AuthorizationFailed","message":"no role"}}',
        )
    )
    arm_server.gate(r"/providers/Microsoft\.CognitiveServices/accounts$", parties=len(subs))
    waits: list[float] = []
    budget = ReadBudget(capacity=2, refill_per_second=0.001, clock=lambda: 0.0)
    client = ArmClient(
        arm_server.endpoint,
        "2025-09-01",
        StaticTokenProvider(Secret("t")),
        sleep=waits.append,
        read_budget=budget,
    )
    stores = InMemoryDeploymentStore()
    service = InventoryService(
        ArmDeploymentApi(client),
        stores,
        stores,
        InMemoryCatalogStateStore(),
        subscriptions=subs,
        max_concurrency=64,
    )
    report = service.refresh(NOW)
    assert arm_server.broken_gates == 0  # all six listings were in flight together
    assert waits == [] and budget.waited == 0  # two reads per subscription, each from its own bucket
    assert {d.name for d in stores.list_deployments()} == {f"chat-{i}" for i in range(6) if i != 3}
    assert len(report.problems) == 1 and failing in report.problems[0] and "403" in report.problems[0]
    assert not report.retryable  # a missing role: the next run, not a redelivery, tries again

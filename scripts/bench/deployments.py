"""Section 4: deployments at scale: inventory refresh and policy decisions (plan and enforce) over 10,000
deployments behind the ARM stand-in."""

from __future__ import annotations

import random
import statistics
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scripts.bench.common import BENCH_SCOPE, SUB, catalog
from shared.adapters.arm import ArmClient, ArmDeploymentApi, StaticTokenProvider
from shared.adapters.memory import (
    CollectingPublisher,
    InMemoryCatalogStateStore,
    InMemoryDeploymentStore,
    InMemoryLedger,
)
from shared.adapters.sqlite import deployments as sqlite_deployments
from shared.adapters.sqlite.ledger import SqliteLedger
from shared.domain.catalog import parse_models
from shared.domain.diff import diff_location
from shared.domain.events import EventType, LifecycleEvent
from shared.domain.policy import PolicyRules, assess
from shared.domain.secret import Secret
from shared.services.inventory import InventoryReport, InventoryService
from shared.services.policy import PolicyService, catalog_view, validate_catalog_event
from shared.services.results import PROCESSED
from tests.builders import item
from tests.fakes.arm_server import FakeArm

NOW4 = datetime(2026, 4, 2, tzinfo=UTC)  # the day after gpt-4o 2024-05-13's Standard retirement
# Accounts per region (fractions of the total); 30 OpenAI accounts per region per subscription is Azure's cap.
REGIONS = (
    ("eastus", 0.4),
    ("swedencentral", 0.2),
    ("westeurope", 0.16),
    ("eastus2", 0.14),
    ("japaneast", 0.1),
)
# (model, version, weight): gpt-4o is 60% of the estate, so one event about it concerns thousands
MODELS = (
    ("gpt-4o", "2024-05-13", 20),
    ("gpt-4o", "2024-08-06", 25),
    ("gpt-4o", "2024-11-20", 15),
    ("gpt-4o-mini", "2024-07-18", 15),
    ("gpt-4.1", "2025-04-14", 15),
    ("text-embedding-3-large", "1", 10),
)
POLICIES = (
    (None, 35),
    ("OnceNewDefaultVersionAvailable", 30),
    ("OnceCurrentVersionExpired", 20),
    ("NoAutoUpgrade", 15),
)
SKUS = (("Standard", 50), ("GlobalStandard", 35), ("ProvisionedManaged", 10), ("GlobalProvisionedManaged", 5))
PTU_DATES = {"ProvisionedManaged": "2026-10-01T00:00:00Z", "GlobalProvisionedManaged": "2026-10-01T00:00:00Z"}
REMINDERS = (90, 60, 30, 14, 7, 1)
DEPLOYMENT_PAGE = 100  # items per page of every list in this section's stand-in (its default is 1,000)


def deployment_catalog(gpt4o_default: str) -> list[dict[str, object]]:
    """A region's catalog: the six deployed versions plus 150 others (gpt-4o's default as given)."""
    skus = {"Standard": None, "GlobalStandard": None, **PTU_DATES}
    return [
        item("gpt-4o", "2024-05-13", retires="2026-03-31T00:00:00Z", skus=skus),
        item(
            "gpt-4o",
            "2024-08-06",
            default=gpt4o_default == "2024-08-06",
            retires="2026-10-01T00:00:00Z",
            skus=skus,
        ),
        item(
            "gpt-4o",
            "2024-11-20",
            default=gpt4o_default == "2024-11-20",
            retires="2027-03-01T00:00:00Z",
            skus=skus,
        ),
        item("gpt-4o-mini", "2024-07-18", default=True, retires="2026-09-01T00:00:00Z", skus=skus),
        item("gpt-4.1", "2025-04-14", default=True, retires="2027-04-01T00:00:00Z", skus=skus),
        item("text-embedding-3-large", "1", default=True, skus=skus),
        *catalog(150),
    ]


def populate(arm: FakeArm, n_accounts: int, total: int, seed: int) -> dict[str, int]:
    """n_accounts OpenAI accounts over REGIONS holding `total` deployments; accounts per region."""
    rng = random.Random(seed)
    counts = [max(1, round(n_accounts * share)) for _, share in REGIONS]
    counts[0] += n_accounts - sum(counts)
    per_region: dict[str, int] = {}
    index = 0
    for (region, _), count in zip(REGIONS, counts, strict=True):
        per_region[region] = count
        for _ in range(count):
            account = arm.add_account(SUB, f"rg-{region}", f"aoai-{index:03}", region)
            share = total // n_accounts + (1 if index < total % n_accounts else 0)
            for k in range(share):
                model, version, _ = rng.choices(MODELS, [w for *_, w in MODELS])[0]
                policy = rng.choices(POLICIES, [w for _, w in POLICIES])[0][0]
                sku = rng.choices(SKUS, [w for _, w in SKUS])[0][0]
                roll = rng.random()
                tags = {"modelwatch:policy": "pin" if roll < 0.02 else "ignore"} if roll < 0.03 else {}
                arm.add_deployment(
                    account, f"d{k:04}-{model}", model, version, sku=sku, policy=policy, tags=tags
                )
            index += 1
    return per_region


def seed_catalog_state(
    regions: list[str],
) -> tuple[InMemoryCatalogStateStore, dict[str, list[LifecycleEvent]]]:
    """Catalog state as the watcher leaves it: a baseline 30 days ago, then gpt-4o's default moved to 2024-11-20."""
    state = InMemoryCatalogStateStore()
    events: dict[str, list[LifecycleEvent]] = {}
    before, after = (
        parse_models(deployment_catalog("2024-08-06")),
        parse_models(deployment_catalog("2024-11-20")),
    )
    for region in regions:
        first = diff_location(None, before, NOW4 - timedelta(days=30), location=region)
        state.save_records(region, first.snapshot.records)
        second = diff_location(first.snapshot, after, NOW4 - timedelta(days=1))
        state.save_records(region, second.changed_records(first.snapshot))
        events[region] = list(second.events)
    return state, events


def deployment_api(arm: FakeArm) -> ArmDeploymentApi:
    return ArmDeploymentApi(ArmClient(arm.endpoint, "2025-09-01", StaticTokenProvider(Secret("bench"))))


def refresh(
    arm: FakeArm, service: InventoryService, now: datetime
) -> tuple[float, InventoryReport, int, int]:
    """Wall time, report, ARM requests and deployment-list pages of one inventory refresh."""
    first = len(arm.requests)
    started = time.perf_counter()
    report = service.refresh(now)
    elapsed = time.perf_counter() - started
    seen = arm.requests[first:]
    pages = sum(1 for r in seen if r.method == "GET" and r.path.endswith("/deployments"))
    if not report.ok:
        raise SystemExit(f"inventory refresh had problems: {report.problems[:3]}")
    return elapsed, report, len(seen), pages


def request_floor(accounts: int, account_pages: int, deployment_pages: int, latency: float = 0.05) -> float:
    """Wall time of the requests alone: account pages in turn, then waves of 8 accounts each paging in turn."""
    return (account_pages + -(-accounts // 8) * -(-deployment_pages // accounts)) * latency


@dataclass(frozen=True)
class Estate:
    """The deployments behind the ARM stand-in, the API over it, the in-memory inventory and the catalog state."""

    arm: FakeArm
    api: ArmDeploymentApi
    memory: InMemoryDeploymentStore
    state: InMemoryCatalogStateStore
    regions: list[str]


def inventory_rows(estate: Estate, n_accounts: int, tmp: str) -> tuple[list[str], float, Any]:
    """The inventory refreshes into the in-memory store and SQLite's: the table's rows, the requests' floor
    (s) and the SQLite store (None when it did not exist)."""
    arm, api, memory, state = estate.arm, estate.api, estate.memory, estate.state
    inventory = InventoryService(api, memory, memory, state, subscriptions=[SUB])
    t1, r1, q1, p1 = refresh(arm, inventory, NOW4)
    t2, r2, q2, p2 = refresh(arm, inventory, NOW4 + timedelta(hours=1))
    arm.latency = 0.0  # what is left without latency: HTTP, JSON and the comparison, on both sides
    t0 = refresh(arm, inventory, NOW4 + timedelta(hours=2))[0]
    arm.latency = 0.05
    floor = request_floor(n_accounts, q2 - p2, p2)
    rows = [
        f"| inventory refresh, first (everything new), in-memory store | {t1:.2f} s | {r1.deployments:,} "
        f"deployments in {r1.accounts} accounts, {r1.written:,} entity writes; {q1} ARM requests ({q1 - p1} account + {p1} "
        "deployment pages) |",
        f"| inventory refresh, no change, in-memory store | {t2:.2f} s | {r2.written} entity writes, {r2.removed} "
        f"removed; {q2} ARM requests ({q2 - p2} account + {p2} deployment pages); {t0:.2f} s with the stand-in "
        "at 0 ms |",
    ]
    sqlite_class = getattr(sqlite_deployments, "SqliteDeploymentStore", None)
    if sqlite_class is None:
        rows.append(
            "| inventory refresh, SQLite store | - | not measured: `SqliteDeploymentStore` did not exist "
            "when this ran |"
        )
        return rows, floor, None
    db = sqlite_class(str(Path(tmp) / "deployments.db"))
    sqlite_inventory = InventoryService(api, db, db, state, subscriptions=[SUB])
    w0 = db.writes
    s1, _, sq1, _ = refresh(arm, sqlite_inventory, NOW4)
    w1 = db.writes
    s2, sr2, sq2, _ = refresh(arm, sqlite_inventory, NOW4 + timedelta(hours=1))
    w2 = db.writes
    rows += [
        f"| inventory refresh, first, SQLite store | {s1:.2f} s | {w1 - w0:,} entity writes; {sq1} ARM "
        "requests |",
        f"| inventory refresh, no change, SQLite store | {s2:.2f} s | {w2 - w1} entity writes, {sr2.removed} "
        f"removed; {sq2} ARM requests |",
    ]
    return rows, floor, db


def policy_service(
    deployments: Any, ledger: Any, state: InMemoryCatalogStateStore, api: ArmDeploymentApi, rules: PolicyRules
) -> PolicyService:
    return PolicyService(
        deployments=deployments,
        ledger=ledger,
        rollbacks=deployments,
        state=state,
        api=api,
        publisher=CollectingPublisher(),
        rules=rules,
        scope=BENCH_SCOPE,
        reminder_days=REMINDERS,
    )


@dataclass(frozen=True)
class Decisions:
    """The policy decisions for one catalog event: plan mode (in memory, SQLite), the pure loop, enforce mode."""

    location: str
    plan_time: float
    plan_requests: int
    assessed: int
    statuses: Counter[str]
    emitted: int
    sqlite_plan_time: float | None
    everything: int  # deployments in the inventory
    assess_time: float
    enforce_time: float
    n_puts: int
    expected: int  # assessments that say write
    exact: bool  # the PUTs were exactly those
    per_write: float  # ARM requests per write


def median_time(runs: int, work: Callable[[int], object]) -> float:
    """The median wall time of ``work(i)`` for i in range(runs)."""
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        work(i)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def decisions(estate: Estate, db: Any, event: LifecycleEvent, tmp: str) -> Decisions:
    """The decisions for ``event``: plan mode five times (in memory, then SQLite when ``db``), the pure loop over
    the whole estate five times, enforce mode once."""
    arm, api, memory, state = estate.arm, estate.api, estate.memory, estate.state
    location, fmt, name, _ = validate_catalog_event(event)
    plan = policy_service(memory, InMemoryLedger(), state, api, PolicyRules())
    requests_before = len(arm.requests)
    samples: list[float] = []
    for i in range(5):
        started = time.perf_counter()
        result = plan.handle(replace(event, id=f"{event.id}-plan-{i}"), NOW4)
        samples.append(time.perf_counter() - started)
        if result.outcome != PROCESSED:
            raise SystemExit(f"plan-mode handle: {result.outcome} {result.detail}")
    plan_requests = len(arm.requests) - requests_before
    sqlite_plan_time = None
    if db is not None:  # the same decisions with the inventory and the ledger in SQLite
        sqlite_plan = policy_service(
            db, SqliteLedger(str(Path(tmp) / "deployments.db")), state, api, PolicyRules()
        )

        def sqlite_handle(i: int) -> None:
            sqlite_result = sqlite_plan.handle(replace(event, id=f"{event.id}-sqlite-{i}"), NOW4)
            if len(sqlite_result.assessments) != len(result.assessments):
                raise SystemExit("SQLite and in-memory inventories disagree")

        sqlite_plan_time = median_time(5, sqlite_handle)

    # the pure engine over the whole estate, each deployment against its own region's catalog
    views = {r: catalog_view(state, r) for r in estate.regions}
    everything = memory.list_deployments()

    def assess_all(_: int) -> None:
        for d in everything:
            assess(d, views[d.location], NOW4, PolicyRules())

    assess_time = median_time(5, assess_all)

    # enforce: ARM writes only for the assessments that say so; writes overlap (ARM_MAX_CONCURRENCY, 8)
    arm.latency = 0.05
    enforce_rules = PolicyRules(enforce=True)
    expected = {
        d.key
        for d in plan.affected(location, fmt, name)
        if assess(d, views[location], NOW4, enforce_rules, default_changed_at=event.event_time).write
    }
    enforce = policy_service(memory, InMemoryLedger(), state, api, enforce_rules)
    puts_before, requests_before = len(arm.puts()), len(arm.requests)
    started = time.perf_counter()
    enforced = enforce.handle(replace(event, id=f"{event.id}-enforce"), NOW4)
    enforce_time = time.perf_counter() - started
    put_ids = {p.path.casefold() for p in arm.puts()[puts_before:]}
    n_puts = len(arm.puts()) - puts_before
    enforce_requests = len(arm.requests) - requests_before
    exact = put_ids == expected and n_puts == len(expected) == len(enforced.writes)
    if not exact:
        print(f"WARNING: {n_puts} PUTs but {len(expected)} expected", file=sys.stderr)
    return Decisions(
        location=location,
        plan_time=statistics.median(samples),
        plan_requests=plan_requests,
        assessed=len(result.assessments),
        statuses=Counter(a.status.value for a in result.assessments),
        emitted=len(result.emitted),
        sqlite_plan_time=sqlite_plan_time,
        everything=len(everything),
        assess_time=assess_time,
        enforce_time=enforce_time,
        n_puts=n_puts,
        expected=len(expected),
        exact=exact,
        per_write=enforce_requests / n_puts if n_puts else 0.0,
    )


def decision_rows(d: Decisions) -> list[str]:
    status_text = ", ".join(f"{n} {s}" for s, n in d.statuses.most_common())
    return [
        f"| policy decisions for one `DefaultVersionChanged` (gpt-4o, {d.location}), plan mode, median of 5 | "
        f"{d.plan_time:.2f} s | {d.assessed:,} deployments assessed ({status_text}); {d.emitted:,} events "
        f"published (in memory); {d.plan_requests} ARM requests |",
        *(
            [
                f"| the same decisions with inventory and ledger in SQLite, median of 5 | {d.sqlite_plan_time:.2f} s | "
                f"reads all {d.everything:,} deployments back per event |"
            ]
            if d.sqlite_plan_time is not None
            else []
        ),
        f"| `assess` alone over all {d.everything:,} deployments, median of 5 | {d.assess_time:.2f} s | "
        f"{d.assess_time / d.everything * 1e6:.0f} µs per deployment |",
        f"| the same event in enforce mode, 8 writes at a time | {d.enforce_time:.2f} s | {d.n_puts} PUTs; "
        f"{d.expected} assessments with `write` ({'the same deployments' if d.exact else 'DIFFERENT'}); "
        f"{d.per_write:.0f} ARM requests per write |",
    ]


def deployments_section(quick: bool, tmp: str) -> str:
    n_accounts, total = (10, 1000) if quick else (50, 10_000)
    with FakeArm(page_size=DEPLOYMENT_PAGE) as arm:
        per_region = populate(arm, n_accounts, total, seed=4)
        regions = list(per_region)
        state, catalog_events = seed_catalog_state(regions)
        arm.latency = 0.05
        estate = Estate(arm, deployment_api(arm), InMemoryDeploymentStore(), state, regions)
        rows, floor, db = inventory_rows(estate, n_accounts, tmp)
        # decisions: one DefaultVersionChanged (gpt-4o, eastus) concerns every gpt-4o deployment there
        event = next(
            e
            for e in catalog_events[regions[0]]
            if e.event_type == EventType.DEFAULT_VERSION_CHANGED and e.data.get("modelName") == "gpt-4o"
        )
        decided = decisions(estate, db, event, tmp)

    # the same estate as Azure's default limit shapes it: at most 32 Standard deployments per account
    per_account = 32
    n_small = -(-total // per_account)
    with FakeArm(page_size=DEPLOYMENT_PAGE) as small:
        populate(small, n_small, total, seed=5)
        small.latency = 0.05
        small_memory = InMemoryDeploymentStore()
        small_inventory = InventoryService(
            deployment_api(small), small_memory, small_memory, state, subscriptions=[SUB]
        )
        refresh(small, small_inventory, NOW4)
        b2, rb2, qb2, pb2 = refresh(small, small_inventory, NOW4 + timedelta(hours=1))
        small.latency = 0.0
        b0 = refresh(small, small_inventory, NOW4 + timedelta(hours=2))[0]
        small_floor = request_floor(n_small, qb2 - pb2, pb2)
    rows += [
        f"| inventory refresh, no change, the same {total:,} deployments in {n_small} accounts of <= {per_account} | "
        f"{b2:.2f} s | {rb2.written} entity writes; {qb2} ARM requests ({qb2 - pb2} account + {pb2} deployment "
        f"pages); {b0:.2f} s at 0 ms |",
        *decision_rows(decided),
    ]
    regions_text = ", ".join(f"{r} {n}" for r, n in per_region.items())
    intro = (
        f"{n_accounts} OpenAI accounts ({regions_text}) holding {total:,} deployments: six model versions (gpt-4o "
        "60%), policies including an absent `versionUpgradeOption`, 15% provisioned SKUs, 3% tagged pin or ignore. "
        "Listed through the subscription with the default concurrency (8); the stand-in answers after 50 ms and "
        f"pages every list at {DEPLOYMENT_PAGE} items (ARM documents no page size for Deployments - List). Each "
        f"region's catalog has {len(deployment_catalog('2024-11-20'))} versions; gpt-4o's default moved from "
        f"2024-08-06 to 2024-11-20, and gpt-4o 2024-05-13 retired for Standard SKUs on 2026-03-31 (now: "
        f"{NOW4:%Y-%m-%d})."
    )
    growth = growth_text(total, decided, (floor, small_floor), n_small, qb2)
    return f"""## 4. Deployments: {total:,} across {n_accounts} accounts

{textwrap.fill(intro, 112)}

| measurement | figure | notes |
|---|---|---|
{chr(10).join(rows)}

{textwrap.fill(growth, 112)}
"""


def growth_text(total: int, d: Decisions, floors: tuple[float, float], n_small: int, small_reads: int) -> str:
    """What a refresh and the decisions cost, and what bounds them against real ARM."""
    floor, small_floor = floors
    burst = (
        "exceed ARM's burst of 250 per subscription (refill 25/s)"
        if small_reads > 250
        else "fit in ARM's burst of 250"
    )
    # ARM's buckets per subscription (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling): writes 200 then 10/s; reads 250 then 25/s
    n_puts, per_write, enforce_time = d.n_puts, d.per_write, d.enforce_time
    reads = n_puts * (per_write - 1)
    throttled = max((n_puts - 200) / 10, (reads - 250) / 25, 0.0)
    overrun = (
        "past the 30 s Event Grid waits for a delivery: Event Grid redelivers, the retry finds the event's claim "
        "busy and is retried later, and no write is repeated"
        if max(enforce_time, throttled) > 30
        else "within the 30 s Event Grid waits for a delivery"
    )
    return (
        "A refresh costs its requests, the account pages then ceil(accounts / 8) waves of pages per account at "
        f"50 ms each ({floor:.2f} s here, {small_floor:.2f} s for {n_small} accounts), and its CPU, which the 0 ms "
        "runs show: HTTP and JSON on both sides (the stand-in shares the process and the GIL), parsing and comparing "
        f"{total:,} deployments. They overlap only partly: the wall time falls between the larger of the two and "
        "their sum (single runs vary by about 20% on this 2-core machine). Azure's "
        "default limit of 32 Standard deployments per account makes a real estate of this size "
        f"~{n_small} accounts of one page each, so the account count dominates, and its {small_reads} reads {burst}. "
        "Decisions grow with the deployments of the event's model in its region, plus one pass over the whole "
        f"inventory per event. Writes overlap, 8 at a time (`ARM_MAX_CONCURRENCY`), {per_write:.0f} requests each "
        f"(GET, PUT, operation polls): {n_puts} writes took {enforce_time:.1f} s here. Against real ARM the "
        f"subscription's buckets bound them first ({n_puts} writes and {reads:.0f} reads: at least "
        f"{throttled:.0f} s once the bursts are spent, the client honouring each 429's Retry-After), {overrun}."
    )

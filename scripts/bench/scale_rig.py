"""Section 5's machinery: the tenant (200 subscriptions, 2,000 accounts, 20,000 deployments), the ARM stand-in in a
process of its own, one timer run measured part by part and its deliveries to the policy subscriber."""

from __future__ import annotations

import contextlib
import gc
import math
import multiprocessing
import random
import resource
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scripts.bench.deployments import MODELS, NOW4, POLICIES, REMINDERS, SKUS, deployment_catalog
from shared.adapters.memory import CollectingPublisher
from shared.adapters.table_store import TableCatalogStateStore, TableDeploymentStore
from shared.bootstrap import Services
from shared.domain import digest
from shared.domain.alerts import messages_for
from shared.domain.catalog import ModelVersion, VersionKey, parse_models
from shared.domain.deployment_events import assessment_event
from shared.domain.deployments import Deployment
from shared.domain.diff import diff_location
from shared.domain.events import DEPLOYMENT_EVENT_TYPES, VERSION_SCOPED, EventType, JsonValue, LifecycleEvent
from shared.domain.policy import PolicyRules, assess
from shared.domain.routes import Channel, Route
from shared.services.inventory import InventoryReport
from shared.services.notify import NOTIFY_EVENT_TYPES, plan_posts
from shared.services.pipeline import deliver_one
from shared.services.policy import SUBSCRIBER as POLICY_SUBSCRIBER
from shared.services.policy import catalog_view, validate_catalog_event
from shared.services.results import PROCESSED
from tests.builders import item
from tests.fakes.arm_server import FakeArm

SCALE_SUBSCRIPTIONS = 200
SCALE_ACCOUNTS_PER_SUBSCRIPTION = 10
SCALE_DEPLOYMENTS_PER_ACCOUNT = 10  # within Azure's default of 32 Standard deployments per account
SCALE_LOCATIONS = 60
SCALE_ROUTES = 20  # teams, each a Teams and a Slack channel; a subscription belongs to one team
SCALE_PAGE = 100  # items per page of every list, as in section 4 (ARM documents no page size)
SCALE_LATENCY = 0.05
SCALE_BASE = NOW4 + timedelta(minutes=30)  # the baseline cycle; then one cycle an hour
# Catalog events of a cycle delivered to the policy subscriber on Azurite, at most (each reads the whole
# inventory back, ~1.5 s at 20,000): beyond, a sample, and time and transactions are extrapolated.
SCALE_DELIVERIES = 20
# ARM's read bucket per subscription and principal (azure-facts §3): tokens, refill per second
ARM_READ_BURST, ARM_READ_REFILL = 250, 25.0
# entities per second in one partition: Table Storage's scalability target (azure-facts §5.1)
TABLE_PARTITION_TARGET = 2000
EVENT_GRID_WAIT = 30.0  # seconds Event Grid waits for a delivery before it retries (azure-facts §4.4)
SLACK_RATE = 1.0  # messages per second per channel (azure-facts §6.2)
TABLE_STRING_LIMIT = 32 * 1024  # characters in one string property (64 KiB of UTF-16; azure-facts §5.1)


def scale_subscriptions(n: int) -> list[str]:
    return [f"5ca1e000-0000-4000-8000-{i:012d}" for i in range(n)]


def scale_catalog(gpt4o_default: str) -> list[dict[str, object]]:
    """A region's Models - List: the six deployed versions, 44 other OpenAI versions, 250 items of other formats
    (filtered out by CATALOG_MODEL_FORMATS, but listed, paged and fingerprinted)."""
    others = [
        item(f"model-{i // 4}", f"2025-{i % 4 + 1:02}-01", default=i % 4 == 3,
             retires=f"2027-{i % 12 + 1:02}-01T00:00:00Z", skus={"Standard": None, "GlobalStandard": None})
        for i in range(44)
    ]  # fmt: skip
    partners = [
        item(f"partner-{i // 5}", str(i % 5 + 1), default=i % 5 == 4, fmt="Meta", kind="AIServices",
             skus={"GlobalStandard": None})
        for i in range(250)
    ]  # fmt: skip
    return [*deployment_catalog(gpt4o_default)[:6], *others, *partners]


def baseline_digest_sizes(locations: list[str], cap: int) -> list[int]:
    """Characters of each catalog digest the baseline's drain records in the outbox, ``cap`` events a digest."""
    parsed = parse_models(scale_catalog("2024-08-06"))
    events = [e for loc in locations for e in diff_location(None, parsed, SCALE_BASE, location=loc).events]
    events.sort(key=lambda e: (e.event_time, e.id))  # as the outbox lists them
    with digest_cap(cap):
        return [len(d.to_json()) for d in digest.build_digests(events)]


@contextlib.contextmanager
def digest_cap(cap: int) -> Iterator[None]:
    """Events per catalog digest, for the duration (the module's constant, read when digests are built)."""
    default = digest.MAX_EVENTS_PER_DIGEST
    digest.MAX_EVENTS_PER_DIGEST = cap
    try:
        yield
    finally:
        digest.MAX_EVENTS_PER_DIGEST = default


class TimedArm(FakeArm):
    """FakeArm noting when each request arrived (for the read-bucket simulation), deployments indexed by account
    on the first list (the tenant is fixed by then; the stand-in's own scan of 20,000 deployments per list would
    otherwise be measured)."""

    def __init__(self, page_size: int) -> None:
        super().__init__(page_size)
        self.arrivals: list[tuple[float, str, str]] = []
        self._by_account: dict[str, list[dict[str, Any]]] | None = None
        self._arrivals_lock = threading.Lock()

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        with self._arrivals_lock:
            self.arrivals.append((time.monotonic(), method, urlsplit(h.path).path))
        super()._handle(h, method)

    def _list_deployments(
        self, q: dict[str, list[str]], path: str, account: str
    ) -> tuple[int, dict[str, str], Any]:
        if self._by_account is None:
            index: dict[str, list[dict[str, Any]]] = {}
            for key, d in self.deployments.items():
                index.setdefault(key.rsplit("/deployments/", 1)[0], []).append(d)
            self._by_account = index
        return self._page(self._by_account.get(account.casefold(), []), q, path)


def populate_tenant(
    arm: FakeArm, subscriptions: list[str], locations: list[str], seed: int
) -> dict[str, int]:
    """SCALE_ACCOUNTS_PER_SUBSCRIPTION accounts per subscription, regions Zipf-distributed (the first ones busy),
    each with SCALE_DEPLOYMENTS_PER_ACCOUNT deployments drawn as in section 4 and tagged with their team's route."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(locations))]
    per_region: Counter[str] = Counter()
    for s, sub in enumerate(subscriptions):
        route = f"team-{s % SCALE_ROUTES:02}"
        for a in range(SCALE_ACCOUNTS_PER_SUBSCRIPTION):
            region = rng.choices(locations, weights)[0]
            kind = "AIServices" if rng.random() < 0.3 else "OpenAI"
            account = arm.add_account(sub, f"rg-{region}", f"aoai-{s:03}-{a:02}", region, kind=kind)
            per_region[region] += 1
            for k in range(SCALE_DEPLOYMENTS_PER_ACCOUNT):
                model, version, _ = rng.choices(MODELS, [w for *_, w in MODELS])[0]
                policy = rng.choices(POLICIES, [w for _, w in POLICIES])[0][0]
                sku = rng.choices(SKUS, [w for _, w in SKUS])[0][0]
                roll = rng.random()
                tags = {"modelwatch:route": route}
                if roll < 0.03:
                    tags["modelwatch:policy"] = "pin" if roll < 0.02 else "ignore"
                arm.add_deployment(
                    account, f"d{k:02}-{model}", model, version, sku=sku, policy=policy, tags=tags
                )
    return dict(per_region)


def serve_arm(conn: Connection, page_size: int) -> None:
    """The child process: a TimedArm answering commands from the benchmark over a pipe."""
    arm = TimedArm(page_size)
    with arm:
        conn.send(arm.endpoint)
        while True:
            command, args = conn.recv()
            if command == "stop":
                conn.send(None)
                return
            if command == "populate":
                conn.send(populate_tenant(arm, *args))
            elif command == "catalog":
                subscription, locations, default = args
                for location in locations:
                    arm.set_catalog(subscription, location, scale_catalog(default))
                conn.send(None)
            elif command == "latency":
                arm.latency = args[0]
                conn.send(None)
            elif command == "mark":
                conn.send(len(arm.arrivals))
            elif command == "since":
                conn.send(arm.arrivals[args[0] :])
            else:
                conn.send(f"unknown command {command}")


class ArmProcess:
    """FakeArm in a child process, so that ARM's work is on neither this process's CPU (GIL) nor its heap."""

    def __init__(self, page_size: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve_arm, args=(child, page_size), daemon=True)
        self._process.start()
        self.endpoint: str = self._conn.recv()

    def call(self, command: str, *args: object) -> Any:
        self._conn.send((command, args))
        return self._conn.recv()

    def __enter__(self) -> ArmProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.call("stop")
        self._process.join(timeout=10)


class PlanOnlySender:
    """MessageSender for a benchmark that plans alerts and posts none."""

    def send(self, channel: Channel, payload: Mapping[str, JsonValue]) -> None:
        raise AssertionError("the scale benchmark posts nothing")


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark of this process (Linux >= 4.0), so each cycle's peak is its own."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")


def rss_mb() -> float:
    """This process's resident set now (VmRSS), in MiB; 0 where /proc is not there."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """This process's peak resident set since the last reset (VmHWM), else ru_maxrss, in MiB."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class ScaleCycle:
    """One timer run of section 5, and what the subscribers did with what it published."""

    name: str
    inventory: InventoryReport | None = None
    inventory_time: float = 0.0
    catalog_time: float = 0.0
    arm: list[tuple[float, str, str]] = field(default_factory=list)  # (arrival, method, path) per request
    tx_inventory: int = 0  # Table transactions (REST calls), both stores
    tx_catalog: int = 0
    writes_inventory: int = 0  # Table entity writes
    writes_catalog: int = 0
    timer_events: Counter[str] = field(default_factory=Counter)  # published by the timer's drain, by type
    rss_start: float = 0.0  # MiB resident when the cycle starts (what earlier cycles left, freed or not)
    peak_rss_timer: float = 0.0
    handled: int = 0  # catalog events for the policy subscriber
    delivered: int = 0  # of which delivered here (all, unless sampled)
    policy_time: float = 0.0  # sum of the deliveries' times (extrapolated when sampled)
    policy_max: float = 0.0  # the slowest delivery made
    policy_arm: int = 0
    tx_policy: float = 0.0  # extrapolated when sampled
    decisions: int = 0
    policy_events: int = 0  # deployment events the policy subscriber publishes (distinct ids)
    peak_rss_policy: float = 0.0  # of the deliveries made
    messages: int = 0  # alerts notify_channels would make of everything published
    posts: int = 0  # ... and post, over every route's channels
    busiest_channel: int = 0
    notify_time: float = 0.0  # planning them (messages_for and plan_posts), nothing sent

    @property
    def timer_time(self) -> float:
        return self.inventory_time + self.catalog_time

    @property
    def sampled(self) -> bool:
        return self.delivered < self.handled


def pure_decisions(
    events: list[LifecycleEvent],
    inventory: list[Deployment],
    views: Mapping[str, Mapping[VersionKey, ModelVersion]],
    now: datetime,
    rules: PolicyRules,
) -> list[tuple[int, dict[str, LifecycleEvent]]]:
    """Per event, the assessments the policy subscriber makes and the events they emit (by id), by the pure
    functions it calls (the inventory grouped once, instead of its scan of the whole inventory per event)."""
    by_model: dict[tuple[str, str, str], list[Deployment]] = {}
    by_location: dict[str, list[Deployment]] = {}
    for d in inventory:
        by_model.setdefault((d.location.casefold(), d.model_format.casefold(), d.model_name), []).append(d)
        by_location.setdefault(d.location.casefold(), []).append(d)
    plans: list[tuple[int, dict[str, LifecycleEvent]]] = []
    for event in events:
        location, fmt, name, version = validate_catalog_event(event)
        only = version if event.event_type in VERSION_SCOPED else None
        pool = (
            by_model.get((location.casefold(), fmt.casefold(), name), [])
            if name
            else by_location.get(location.casefold(), [])
        )
        changed_at = event.event_time if event.event_type == EventType.DEFAULT_VERSION_CHANGED else None
        decisions, emitted = 0, dict[str, LifecycleEvent]()
        for d in pool:
            if only is not None and d.model_version != only:
                continue
            decisions += 1
            a = assess(d, views[location], now, rules, default_changed_at=changed_at)
            made = assessment_event(a, now=now, trigger=event.id, enforce=rules.enforce, thresholds=REMINDERS)
            if made is not None:
                emitted.setdefault(made.id, made)
        plans.append((decisions, emitted))
    return plans


def fitted_sum(xs: list[float], ys: list[float], every_x: list[float]) -> float:
    """Sum over every_x of the least-squares line through (xs, ys): a linear extrapolation from a sample
    (the sum of ys itself when the sample is everything)."""
    if not ys:
        return 0.0
    if len(set(xs)) < 2:
        return statistics.fmean(ys) * len(every_x)
    slope, intercept = statistics.linear_regression(xs, ys)
    return sum(intercept + slope * x for x in every_x)


def plan_alerts(
    events: list[LifecycleEvent], now: datetime, routes: Mapping[str, Route]
) -> tuple[int, Counter[tuple[str, str]]]:
    """Messages notify_channels makes of these events, and its posts per (route, channel kind)."""
    made, posts = 0, Counter[tuple[str, str]]()
    for event in events:
        if event.event_type in NOTIFY_EVENT_TYPES:
            messages = messages_for(event, now)
            made += len(messages)
            posts.update((p.channel.route, p.channel.kind) for p in plan_posts(messages, routes))
    return made, posts


@dataclass(frozen=True)
class ScaleRig:
    """The services of section 5 over the Table stores, ARM in its process, and what they publish."""

    services: Services
    arm: ArmProcess
    state: TableCatalogStateStore
    stores: TableDeploymentStore
    publisher: CollectingPublisher


def run_scale_cycle(rig: ScaleRig, name: str, now: datetime, budget: int | None = None) -> ScaleCycle:
    """The timer's run as run_timer does it (inventory refresh, then the catalog cycle), each step timed; then
    every catalog event it published delivered to the policy subscriber (plan mode), and the alerts that
    everything published would make planned. ``budget``: deliver at most that many catalog events (every k-th
    by id, a pseudo-random sample, plus the one concerning the most deployments) and extrapolate time and
    transactions linearly; decisions, deployment events and alerts are counted for every event by the pure
    functions the subscriber calls (checked against the deliveries)."""
    services, arm, state, stores, publisher = rig.services, rig.arm, rig.state, rig.stores, rig.publisher
    assert services.watcher is not None and services.inventory is not None
    out = ScaleCycle(name)
    publisher.published.clear()  # Event Grid keeps nothing in this process; neither should the benchmark
    gc.collect()
    out.rss_start = rss_mb()
    reset_peak_rss()
    mark = arm.call("mark")
    tx, writes = state.transactions + stores.transactions, state.writes + stores.writes
    started = time.perf_counter()
    out.inventory = services.inventory.refresh(now)
    out.inventory_time = time.perf_counter() - started
    if not out.inventory.ok:
        raise SystemExit(f"inventory refresh had problems: {out.inventory.problems[:3]}")
    out.tx_inventory = state.transactions + stores.transactions - tx
    out.writes_inventory = state.writes + stores.writes - writes
    tx, writes = state.transactions + stores.transactions, state.writes + stores.writes
    started = time.perf_counter()
    report = services.watcher.run(services.settings.watch_locations, now)
    out.catalog_time = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"catalog cycle incomplete: {report.summary()}")
    out.tx_catalog = state.transactions + stores.transactions - tx
    out.writes_catalog = state.writes + stores.writes - writes
    out.peak_rss_timer = peak_rss_mb()
    out.arm = arm.call("since", mark)
    published = list(publisher.published)
    out.timer_events = Counter(e.event_type for e in published)

    # the policy subscriber: one delivery per catalog event, as Event Grid makes them (here one after another)
    policy = next(s for s in services.subscribers() if s.name == POLICY_SUBSCRIBER)
    catalog_events = sorted((e for e in published if e.event_type in policy.event_types), key=lambda e: e.id)
    out.handled = len(catalog_events)
    views: dict[str, dict[VersionKey, ModelVersion]] = {}
    if catalog_events:
        views = {loc: catalog_view(state, loc) for loc in services.settings.watch_locations}
    # what each delivery will decide, worked out beforehand by the pure functions (not timed), to choose a sample
    plans = [
        (d, set(made))
        for d, made in pure_decisions(
            catalog_events,
            stores.list_deployments() if catalog_events else [],
            views,
            now,
            services.policy.rules,
        )
    ]
    chosen = list(range(len(catalog_events)))
    if budget and len(chosen) > budget:  # every k-th by id, and the event concerning the most deployments
        heaviest = max(chosen, key=lambda i: plans[i][0])
        chosen = sorted({*chosen[:: math.ceil(len(chosen) / budget)], heaviest})
    out.delivered = len(chosen)
    gc.collect()  # the deliveries' peak is theirs: the benchmark's own copy of the inventory is gone
    reset_peak_rss()
    mark, first = arm.call("mark"), len(publisher.published)
    times: list[float] = []
    transactions: list[float] = []
    for i in chosen:
        tx = state.transactions + stores.transactions
        started = time.perf_counter()
        delivery = deliver_one(catalog_events[i], policy, now)
        times.append(time.perf_counter() - started)
        transactions.append(state.transactions + stores.transactions - tx)
        if delivery.outcome != PROCESSED or delivery.result is None:
            raise SystemExit(f"policy delivery {delivery.outcome}: {delivery.detail}")
        if len(delivery.result.assessments) != plans[i][0]:
            raise SystemExit(f"the pure decisions disagree with the subscriber's for {catalog_events[i].id}")
    out.peak_rss_policy = peak_rss_mb()
    out.policy_arm = len(arm.call("since", mark))
    out.policy_max = max(times, default=0.0)
    decisions = [float(d) for d, _ in plans]
    made = [float(len(ids)) for _, ids in plans]
    # a delivery's time grows with its decisions, its transactions with the events it emits (outbox batches)
    out.policy_time = fitted_sum([decisions[i] for i in chosen], times, decisions)
    out.tx_policy = fitted_sum([made[i] for i in chosen], transactions, made)
    out.decisions = sum(d for d, _ in plans)
    delivered = {e.id: e for e in publisher.published[first:] if e.event_type in DEPLOYMENT_EVENT_TYPES}
    if out.sampled:  # the events of the deliveries not made, from the pure functions again
        again = pure_decisions(catalog_events, stores.list_deployments(), views, now, services.policy.rules)
        emitted = {k: e for _, events in again for k, e in events.items()}
    else:
        emitted = delivered
    if not set(delivered) <= set(emitted) or set(emitted) != {k for _, ids in plans for k in ids}:
        raise SystemExit("the pure decisions' events disagree with what the subscriber published")
    out.policy_events = len(emitted)

    # notify_channels: the messages and posts it would make of everything published (planned, not sent)
    started = time.perf_counter()
    out.messages, posts = plan_alerts([*published, *emitted.values()], now, services.settings.routes)
    out.notify_time = time.perf_counter() - started
    out.posts, out.busiest_channel = sum(posts.values()), max(posts.values(), default=0)
    print(f"section 5, {name}: timer {out.timer_time:.1f} s, {out.delivered} of {out.handled} catalog events "
          f"delivered in {sum(times):.1f} s", file=sys.stderr)  # fmt: skip
    return out

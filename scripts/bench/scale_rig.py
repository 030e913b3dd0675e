"""Section 5's machinery: one timer run against the tenant and its ARM stand-in (scale_tenant.py), measured part by
part, and its deliveries to the policy and alert subscribers (the alerts rendered and recorded by notifiers that post
nothing)."""

from __future__ import annotations

import contextlib
import gc
import json
import math
import resource
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from scripts.bench.deployments import NOW4, REMINDERS
from scripts.bench.scale_tenant import ArmProcess, scale_catalog
from shared.adapters.arm import ARM_READ_BUCKET, ARM_READ_REFILL_PER_SECOND, ReadBudget
from shared.adapters.memory import CollectingPublisher
from shared.adapters.notifiers import NOTIFIERS, RENDERERS
from shared.adapters.tables.alert_buffer import TableAlertBuffer
from shared.adapters.tables.catalog_state import TableCatalogStateStore
from shared.adapters.tables.deployments import TableDeploymentStore
from shared.adapters.tables.ledger import TableLedger
from shared.bootstrap import Services
from shared.domain import digest
from shared.domain.alerts import Message
from shared.domain.catalog import ModelVersion, VersionKey, parse_models
from shared.domain.deployment_events import assessment_event
from shared.domain.deployments import Deployment
from shared.domain.diff import diff_location
from shared.domain.events import DEPLOYMENT_EVENT_TYPES, VERSION_SCOPED, EventType, LifecycleEvent
from shared.domain.payloads import CatalogDigestData, DigestChange
from shared.domain.policy import PolicyRules, assess
from shared.domain.routes import Channel
from shared.ports import DeliveryQueue, Notifier
from shared.services.inventory import InventoryReport
from shared.services.notify import SUBSCRIBER as NOTIFY_SUBSCRIBER
from shared.services.pipeline import QUEUED, Subscriber, deliver_one, hand_off
from shared.services.policy import SUBSCRIBER as POLICY_SUBSCRIBER
from shared.services.policy import catalog_view, validate_catalog_event
from shared.services.results import PROCESSED

SCALE_LOCATIONS = 60
SCALE_PAGE = 100  # items per page of every list, as in section 4 (ARM documents no page size)
SCALE_LATENCY = 0.05
SCALE_BASE = NOW4 + timedelta(minutes=30)  # the baseline cycle; then one cycle an hour
# Catalog events of a cycle delivered to the policy subscriber on Azurite, at most: beyond, a sample, whose time and
# transactions are extrapolated. None: every one (a delivery reads only its location and model's slice of the
# inventory, so delivering them all is affordable).
SCALE_DELIVERIES: int | None = None
# ARM's read bucket per subscription and principal (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling): tokens, refill per second, as the app has them
ARM_READ_BURST, ARM_READ_REFILL = ARM_READ_BUCKET, ARM_READ_REFILL_PER_SECOND
# entities per second in one partition: Table Storage's scalability target (https://learn.microsoft.com/azure/storage/tables/scalability-targets)
TABLE_PARTITION_TARGET = 2000
EVENT_GRID_WAIT = 30.0  # seconds Event Grid waits for a delivery before it retries (https://learn.microsoft.com/azure/event-grid/delivery-and-retry)
# seconds between two posts to one channel, by kind, as each kind's notifier has the app's WebhookSender keep them
# (Slack: one message per second per channel, https://docs.slack.dev/apis/web-api/rate-limits)
PACING: dict[str, float] = {kind.value: n.min_interval for kind, n in NOTIFIERS.items()}
# characters in one string property (64 KiB of UTF-16;
# https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model)
TABLE_STRING_LIMIT = 32 * 1024


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


@dataclass(frozen=True)
class RecordedPost:
    """One post a recording notifier was handed: the delivery it came from, where it would go, what it was."""

    event_id: str  # the event being delivered ("flush" for the alerts timer's batches)
    route: str
    kind: str  # channel kind: teams, slack
    message_key: str
    message_kind: str
    chars: int  # the rendered payload, as JSON
    at: float  # time.perf_counter() when the notifier was handed it


class PostLog:
    """What the recording notifiers were handed, by the delivery in progress (set ``current`` before each)."""

    def __init__(self) -> None:
        self.current = "-"
        self.posts: list[RecordedPost] = []
        self._lock = threading.Lock()

    def record(self, post: RecordedPost) -> None:
        with self._lock:
            self.posts.append(post)


class RecordingNotifier:
    """A Notifier (shared/ports.py) that renders each message as its channel kind's webhook notifier does
    (shared/adapters/notifiers/) and records it instead of posting it: no HTTP, no pacing."""

    def __init__(self, kind: str, log: PostLog) -> None:
        self.kind = kind
        self.render = RENDERERS[kind]
        self.log = log

    def send(self, channel: Channel, message: Message) -> None:
        payload = json.dumps(self.render(message), separators=(",", ":"))
        self.log.record(
            RecordedPost(
                self.log.current,
                channel.route,
                channel.kind,
                message.key,
                message.kind,
                len(payload),
                time.perf_counter(),
            )
        )


def recording_notifiers(log: PostLog) -> dict[str, Notifier]:
    """A recording notifier per channel kind the app knows, all writing to ``log``."""
    return {kind: RecordingNotifier(kind, log) for kind in RENDERERS}


@dataclass(frozen=True)
class TenantMix:
    """The tenant as the inventory holds it after the runs, and the time of one whole read of it."""

    deployments: int
    gpt4o: int
    provisioned: int
    pinned_or_ignored: int  # tagged modelwatch:policy
    read_time: float  # TableDeploymentStore.list_deployments(), s

    @classmethod
    def of(cls, inventory: list[Deployment], read_time: float) -> TenantMix:
        return cls(
            deployments=len(inventory),
            gpt4o=sum(1 for d in inventory if d.model_name == "gpt-4o"),
            provisioned=sum(1 for d in inventory if d.is_provisioned),
            pinned_or_ignored=sum(1 for d in inventory if d.policy_tag is not None),
            read_time=read_time,
        )


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
    read_budget_wait: float = 0.0  # seconds the app's ReadBudget held reads back during the timer run
    tx_inventory: int = 0  # Table transactions (REST calls), every store
    tx_catalog: int = 0
    writes_inventory: int = 0  # Table entity writes
    writes_catalog: int = 0
    timer_events: Counter[str] = field(default_factory=Counter)  # published by the timer's drain, by type
    rss_start: float = 0.0  # MiB resident when the cycle starts (what earlier cycles left, freed or not)
    peak_rss_timer: float = 0.0
    # apply_update_policy
    handled: int = 0  # catalog events for the policy subscriber
    delivered: int = 0  # of which delivered here (all, unless sampled)
    policy_time: float = 0.0  # sum of the deliveries' times (extrapolated when sampled)
    policy_max: float = 0.0  # the slowest delivery made
    policy_arm: int = 0
    tx_policy: float = 0.0  # Table transactions, ledger included (extrapolated when sampled)
    decisions: int = 0  # deployments assessed: the deployments the events concern
    decisions_delivered: int = 0  # ... by the deliveries made
    policy_entities: int = (
        0  # inventory entities the deliveries made read (TableDeploymentStore.entities_read)
    )
    policy_entities_max: int = 0  # ... by one delivery
    policy_events: int = 0  # deployment events the policy subscriber publishes (distinct ids)
    peak_rss_policy: float = 0.0  # of the deliveries made
    policy_acks: list[float] = field(default_factory=list)  # each delivery's time to acknowledge (hand-off)
    # notify_channels, with recording notifiers, then the alerts timer's flush
    notify_acks: list[float] = field(default_factory=list)
    notified: int = 0  # events delivered to notify_channels (CatalogDigest here)
    notify_time: float = 0.0  # sum of the deliveries' times
    notify_max: float = 0.0
    notify_entities: int = 0  # inventory entities they read
    tx_notify_ledger: int = 0  # their ledger transactions
    tx_notify_other: int = 0  # their other Table transactions (inventory slices, catalog snapshots)
    changes: int = 0  # distinct changes (type, model, version, summary) in the digests delivered
    messages: int = 0  # distinct (event, route, message key) posted
    posts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (route, channel kind) -> posts
    per_route_digest: int = 0  # most messages one route got from one digest
    # most messages one route got about one change: a route's message from a digest is counted for every change of
    # the digest, exact for the default route (it hears every change) and an upper bound for a team's route (it
    # hears the changes concerning its deployments); the maximum is exact, as the default route's count for a
    # change (the digests holding it) bounds every other route's
    per_route_change: int = 0
    # the recorded posts replayed through the app's pacing (WebhookSender sleeps in the delivery until the channel's
    # interval has passed, delaying what follows): seconds from the first alert delivery's start to the last post
    paced_last: float = 0.0
    notified_types: Counter[str] = field(default_factory=Counter)  # events delivered to notify_channels
    flushed: int = 0  # batch messages the alerts timer's flush sent
    flush_waiting: int = 0  # groups it left waiting
    # the slowest digest delivered again once the run is done, as Event Grid's retry would: its time, the ledger
    # transactions it made, the posts it made (none: the ledger has them done)
    redelivery_time: float = 0.0
    redelivery_tx: int = 0
    redelivery_posts: int = 0
    peak_rss_notify: float = 0.0

    @property
    def timer_time(self) -> float:
        return self.inventory_time + self.catalog_time

    @property
    def sampled(self) -> bool:
        return self.delivered < self.handled

    @property
    def busiest_channel(self) -> tuple[str, str, int]:
        """(route, kind, posts) of the channel whose posts take longest at the app's pacing, (posts - 1) x its
        kind's interval (Slack's, 1 s, is the longest), then the one with most posts."""
        if not self.posts:
            return ("-", "-", 0)
        (route, kind), n = max(
            self.posts.items(),
            key=lambda kv: ((kv[1] - 1) * PACING.get(kv[0][1], 0.0), kv[1], PACING.get(kv[0][1], 0.0), kv[0]),
        )
        return route, kind, n

    @property
    def pacing_time(self) -> float:
        """Seconds the busiest channel's posts take at the app's pacing: (posts - 1) x its interval."""
        _, kind, n = self.busiest_channel
        return max(0, n - 1) * PACING.get(kind, 0.0)

    @property
    def to_last_message(self) -> float:
        """Seconds from the timer's publish to the last message: the alert deliveries' handling, one after another
        (measured), plus the busiest channel's pacing (arithmetic on the measured posts). An upper bound: pacing
        waits overlap the handling of later deliveries; the lower bound is the larger of the two."""
        return self.notify_time + self.pacing_time


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


def paced_last_post(posts: list[RecordedPost], start: float) -> float:
    """Seconds from ``start`` to the last of these posts (in the order made, one thread) had each waited, as the
    app's WebhookSender makes it, until its channel's interval (PACING) since the channel's previous post: a wait
    delays every later post by as much."""
    delay, last, end = 0.0, dict[tuple[str, str], float](), start
    for p in posts:
        at = p.at + delay
        slot = max(at, last.get((p.route, p.kind), float("-inf")) + PACING.get(p.kind, 0.0))
        delay += slot - at
        last[(p.route, p.kind)] = end = slot
    return end - start if posts else 0.0


def change_key(change: DigestChange) -> tuple[str, ...]:
    """One change of a digest, as the digest groups them (type, model, version, what it says)."""
    return (change.event_type, change.model_format, change.model_name, change.model_version, change.summary)


@dataclass(frozen=True)
class ScaleRig:
    """The services of section 5 over the Table stores, ARM in its process, what they publish and post."""

    services: Services
    arm: ArmProcess
    state: TableCatalogStateStore
    stores: TableDeploymentStore
    ledger: TableLedger
    buffer: TableAlertBuffer
    publisher: CollectingPublisher
    posts: PostLog
    handoff: DeliveryQueue  # Azurite's queue service: what the Event Grid triggers hand their work to

    def acknowledge(self, event: LifecycleEvent, subscriber: Subscriber, now: datetime) -> float:
        """What the Event Grid trigger does before it answers (shared/runtime/entrypoints.py ``handle_event``):
        hand the delivery's work to the delivery queue. Its time: the delivery's time to acknowledge."""
        started = time.perf_counter()
        handed = hand_off(event.to_wire(), subscriber, self.handoff, now)
        elapsed = time.perf_counter() - started
        if handed is None or handed.outcome != QUEUED:
            raise SystemExit(f"{subscriber.name}: event {event.id} was not handed off")
        return elapsed

    def transactions(self) -> int:
        """Table transactions so far, every store."""
        return (
            self.state.transactions
            + self.stores.transactions
            + self.ledger.transactions
            + self.buffer.transactions
        )

    def writes(self) -> int:
        return self.state.writes + self.stores.writes + self.ledger.writes + self.buffer.writes


def run_scale_cycle(rig: ScaleRig, name: str, now: datetime, budget: int | None = None) -> ScaleCycle:
    """The timer's run as run_timer does it (inventory refresh, then the catalog cycle), each step timed; then
    every catalog event it published delivered to the policy subscriber (plan mode) and every event for the alert
    subscriber (the catalog digests) to notify_channels, as the Event Grid triggers do (``deliver_one``), one
    after another; then the alerts timer's flush. ``budget``: deliver at most that many catalog events to the
    policy subscriber (every k-th by id, a pseudo-random sample, plus the one concerning the most deployments) and
    extrapolate its time and transactions linearly; None: deliver them all. Decisions and deployment events are
    also worked out for every event by the pure functions the subscriber calls, and checked against the
    deliveries."""
    services, arm, publisher = rig.services, rig.arm, rig.publisher
    assert services.watcher is not None and services.inventory is not None
    out = ScaleCycle(name)
    publisher.published.clear()  # Event Grid keeps nothing in this process; neither should the benchmark
    gc.collect()
    out.rss_start = rss_mb()
    reset_peak_rss()
    # An hour after the last run ARM's buckets are full again; the app's ReadBudget refills on the real clock,
    # and here the runs are minutes apart: a budget of its own per run, as in production.
    client: Any = getattr(services.inventory.api, "client")  # noqa: B009 - DeploymentApi (the port) has no client
    client.read_budget = ReadBudget()
    mark = arm.call("mark")
    tx, writes = rig.transactions(), rig.writes()
    started = time.perf_counter()
    out.inventory = services.inventory.refresh(now)
    out.inventory_time = time.perf_counter() - started
    if not out.inventory.ok:
        raise SystemExit(f"inventory refresh had problems: {out.inventory.problems[:3]}")
    out.tx_inventory = rig.transactions() - tx
    out.writes_inventory = rig.writes() - writes
    tx, writes = rig.transactions(), rig.writes()
    started = time.perf_counter()
    report = services.watcher.run(services.settings.watch_locations, now)
    out.catalog_time = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"catalog cycle incomplete: {report.summary()}")
    out.tx_catalog = rig.transactions() - tx
    out.writes_catalog = rig.writes() - writes
    out.read_budget_wait = client.read_budget.waited
    out.peak_rss_timer = peak_rss_mb()
    out.arm = arm.call("since", mark)
    published = list(publisher.published)
    out.timer_events = Counter(e.event_type for e in published)
    policy_published = deliver_to_policy(rig, out, published, now, budget)
    notify_deliveries(rig, out, [*published, *policy_published], now)
    print(
        f"section 5, {name}: timer {out.timer_time:.1f} s, {out.delivered} of {out.handled} catalog events "
        f"delivered in {out.policy_time:.1f} s, {out.notified} to notify_channels in {out.notify_time:.1f} s",
        file=sys.stderr,
    )
    return out


def deliver_to_policy(
    rig: ScaleRig, out: ScaleCycle, published: list[LifecycleEvent], now: datetime, budget: int | None
) -> list[LifecycleEvent]:
    """apply_update_policy: one delivery per catalog event, as Event Grid makes them (here one after another),
    each timed with the transactions and inventory entities it cost. The events the deliveries published."""
    services, arm, state, stores, publisher = rig.services, rig.arm, rig.state, rig.stores, rig.publisher
    policy = next(s for s in services.subscribers() if s.name == POLICY_SUBSCRIBER)
    catalog_events = sorted((e for e in published if e.event_type in policy.event_types), key=lambda e: e.id)
    out.handled = len(catalog_events)
    views: dict[str, dict[VersionKey, ModelVersion]] = {}
    if catalog_events:
        views = {loc: catalog_view(state, loc) for loc in services.settings.watch_locations}
    # what each delivery will decide, worked out beforehand by the pure functions (not timed, not counted), to
    # check the deliveries and to choose a sample
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
        tx, read = rig.transactions(), stores.entities_read
        out.policy_acks.append(rig.acknowledge(catalog_events[i], policy, now))
        started = time.perf_counter()
        delivery = deliver_one(catalog_events[i], policy, now)  # the work, as deliver_queued does it
        times.append(time.perf_counter() - started)
        transactions.append(rig.transactions() - tx)
        entities = stores.entities_read - read
        out.policy_entities += entities
        out.policy_entities_max = max(out.policy_entities_max, entities)
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
    out.decisions_delivered = sum(plans[i][0] for i in chosen)
    policy_published = list(publisher.published[first:])
    delivered = {e.id: e for e in policy_published if e.event_type in DEPLOYMENT_EVENT_TYPES}
    if out.sampled:  # the events of the deliveries not made, from the pure functions again
        again = pure_decisions(catalog_events, stores.list_deployments(), views, now, services.policy.rules)
        emitted = {k: e for _, events in again for k, e in events.items()}
    else:
        emitted = delivered
    if not set(delivered) <= set(emitted) or set(emitted) != {k for _, ids in plans for k in ids}:
        raise SystemExit("the pure decisions' events disagree with what the subscriber published")
    out.policy_events = len(emitted)
    return policy_published


def notify_deliveries(rig: ScaleRig, out: ScaleCycle, events: list[LifecycleEvent], now: datetime) -> None:
    """notify_channels: every event it subscribes to delivered as the trigger does (``deliver_one``), one after
    another in publication order, each timed, its posts recorded (rendered, not sent); then the alerts timer's
    flush of held news, after the batch window."""
    services, stores, ledger, log = rig.services, rig.stores, rig.ledger, rig.posts
    notify = next(s for s in services.subscribers() if s.name == NOTIFY_SUBSCRIBER)
    told = [e for e in events if e.event_type in notify.event_types]
    out.notified = len(told)
    out.notified_types = Counter(e.event_type for e in told)
    first = len(log.posts)
    gc.collect()
    reset_peak_rss()
    start = time.perf_counter()
    slowest: tuple[float, LifecycleEvent | None] = (0.0, None)
    for event in told:
        log.current = event.id
        other, ledger_tx, read = (
            rig.transactions() - ledger.transactions,
            ledger.transactions,
            stores.entities_read,
        )
        out.notify_acks.append(rig.acknowledge(event, notify, now))
        started = time.perf_counter()
        delivery = deliver_one(event, notify, now)  # the work, as deliver_queued does it
        elapsed = time.perf_counter() - started
        out.notify_time += elapsed
        out.notify_max = max(out.notify_max, elapsed)
        if elapsed >= slowest[0]:
            slowest = (elapsed, event)
        out.notify_entities += stores.entities_read - read
        out.tx_notify_ledger += ledger.transactions - ledger_tx
        out.tx_notify_other += rig.transactions() - ledger.transactions - other
        if delivery.outcome != PROCESSED:
            raise SystemExit(f"notify delivery {delivery.outcome}: {delivery.detail}")
    log.current = "flush"
    flush = services.flush_alerts(now + timedelta(seconds=services.settings.alert_batch_seconds))
    if flush.failed:
        raise SystemExit(f"alerts flush failed: {flush.summary()}")
    out.flushed, out.flush_waiting = flush.sent, flush.waiting
    out.peak_rss_notify = peak_rss_mb()
    posts = log.posts[first:]
    out.paced_last = paced_last_post([p for p in posts if p.event_id != "flush"], start)
    out.posts = Counter((p.route, p.kind) for p in posts)
    messages = {(p.event_id, p.route, p.message_key) for p in posts}
    out.messages = len(messages)
    per_digest = Counter((event_id, route) for event_id, route, _ in messages)
    out.per_route_digest = max(per_digest.values(), default=0)
    per_change: Counter[tuple[str, tuple[str, ...]]] = Counter()
    changes: set[tuple[str, ...]] = set()
    for event in told:
        if event.event_type != EventType.CATALOG_DIGEST:
            continue
        keys = {change_key(c) for c in event.payload_as(CatalogDigestData).changes}
        changes |= keys
        for (event_id, route), n in per_digest.items():
            if event_id == event.id:
                per_change.update({(route, k): n for k in keys})
    out.changes = len(changes)
    out.per_route_change = max(per_change.values(), default=0)
    again = slowest[1]
    if again is not None:  # Event Grid's retry of the slowest, after the first attempt is done
        log.current = "redelivery"
        posted, ledger_tx = len(log.posts), ledger.transactions
        started = time.perf_counter()
        delivery = deliver_one(again, notify, now)
        out.redelivery_time = time.perf_counter() - started
        out.redelivery_tx = ledger.transactions - ledger_tx
        out.redelivery_posts = len(log.posts) - posted
        if delivery.outcome != PROCESSED:
            raise SystemExit(f"notify redelivery {delivery.outcome}: {delivery.detail}")

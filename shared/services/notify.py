"""Alert the owning team: one message per team per change, whatever the number of its deployments.

- Catalog news comes from ``CatalogDigest`` events (a change across every region where it happened). For each
  change the deployments it concerns are read (the inventory, one location and model at a time) and judged by the
  policy engine as of now; each route whose deployments something happens to gets one message for the change, with
  what it means for them ("Azure moves 12 of yours…; 6 stop on …"), and the default route the news itself (with its
  own untagged deployments). The per-deployment events stay on Event Grid for machines; no message is made of them.
- News of deployments that arrives one event per deployment (Azure upgraded 12 deployments) is held in the alert
  buffer by route and group and told as one message per route and group by ``flush`` (the alerts timer), once the
  group has settled for ``batch_window``. A rollback is told at once.
- Each route filters by its minimum severity, and can mute informational catalog news.
- The ledger is keyed by (event or batch, message, route, channel): a redelivered event posts nothing twice, and an
  event half-delivered (Slack done, Teams down) retries only the channel that failed.
- A permanent webhook failure (``invalid_payload``, ``channel_not_found``, other 4xx) is recorded with its reason
  and acknowledged; a transient one that outlasted the sender's retries fails the invocation after the other
  channels are done, so Event Grid redelivers (or the next flush retries the batch).
- Webhook URLs never reach a log line or an error: routes and channel kinds are named instead.
- Each channel kind is a Notifier (shared/adapters/notifiers.py) that renders and posts the channel-neutral
  Message: this service knows no wire format.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from shared.domain.alerts import (
    Concerned,
    Message,
    batch_message,
    hold_group,
    inert,
    mentioned,
    messages_for,
    with_links,
)
from shared.domain.catalog import ModelVersion, VersionKey
from shared.domain.deployments import Deployment
from shared.domain.events import VERSION_SCOPED, Consumer, EventType, LifecycleEvent, consumed_by
from shared.domain.held import HeldAlert
from shared.domain.impact import TOLD
from shared.domain.ledger import Claim, LedgerState
from shared.domain.payloads import CatalogDigestData, DeploymentData, DigestChange
from shared.domain.policy import Assessment, PolicyRules, Status, assess, concerns
from shared.domain.routes import DEFAULT_ROUTE, Channel, Route, channels_of
from shared.domain.scope import Scope
from shared.domain.severity import Severity
from shared.errors import EventFormatError, ModelWatchError, TransientError
from shared.ports import AlertBuffer, CatalogStateStore, DeploymentStore, Ledger, Notifier
from shared.services.idempotency import Once, process_once
from shared.services.results import HandleResult, Outcome

log = logging.getLogger(__name__)

SUBSCRIBER = Consumer.ALERTS.value
# Ledger reads and writes at once when telling a change: the standings of every deployment it concerns (Table
# Storage answers each in a few ms; one after another, 12,000 deployments outlast Event Grid's 30 s wait)
LEDGER_CONCURRENCY = 16
LEDGER_READ_CHUNK = 140  # keys per get_many call: ten of Table Storage's 14-key queries
NOTIFY_EVENT_TYPES = consumed_by(Consumer.ALERTS)


@dataclass(frozen=True)
class Post:
    message: Message
    channel: Channel


@dataclass(frozen=True)
class FlushReport:
    sent: int  # batch messages told now
    waiting: int  # groups not settled yet, or held by another flusher
    failed: tuple[str, ...] = ()  # batches that will be retried by the next flush

    def summary(self) -> str:
        text = f"alerts flush: {self.sent} batch message(s) sent, {self.waiting} group(s) waiting"
        return text + (f"; to retry: {'; '.join(self.failed)}" if self.failed else "")


def validate(event: LifecycleEvent) -> str | None:
    """The location a deployment event is about (None for a digest). Raises EventFormatError."""
    if event.event_type not in NOTIFY_EVENT_TYPES:
        raise EventFormatError(f"event {event.id}: type {event.event_type!r} is not one {SUBSCRIBER} takes")
    payload = event.payload()  # checks every field's type and the subject against the data
    if isinstance(payload, CatalogDigestData):
        return None
    if not isinstance(payload, DeploymentData):
        raise EventFormatError(f"event {event.id}: no deployment in the data")
    if not payload.deployment_id.casefold().startswith("/subscriptions/"):
        raise EventFormatError(f"event {event.id}: data.deploymentId is not a resource id")
    if not payload.location:
        raise EventFormatError(f"event {event.id}: data.location is missing")
    return payload.location


HEALTHY = "healthy"  # the standing recorded, untold, when a deployment a route was told of is healthy again


def told_key(route: str, deployment_key: str) -> str:
    """The ledger key under which the alerts keep the standing ``route`` last knew of a deployment."""
    return "told/" + hashlib.sha256(f"{route}|{deployment_key}".encode()).hexdigest()[:40]


def standing_of(a: Assessment) -> str:
    """A deployment's standing as its route is told it: status, who moves it, to what, when (never the day count,
    nor the planned write's date, which is always now). Kept as the outcome of its ``told_key``."""
    when = "" if a.status is Status.UPGRADE_PLANNED else f"{_day(a.action_date)}"
    sig = "|".join((a.status.value, a.actor, a.target_label or "", when, _day(a.retirement_date)))
    return "standing:" + hashlib.sha256(sig.encode("utf-8")).hexdigest()[:40]


def standing_key(route: str, a: Assessment) -> str:
    """The key of the earlier layout (one done entry per standing ever told): still read, so an upgrade of
    modelwatch does not tell every deployment's standing again."""
    when = "" if a.status is Status.UPGRADE_PLANNED else f"{_day(a.action_date)}"
    sig = "|".join(
        (
            route,
            a.deployment.key,
            a.status.value,
            a.actor,
            a.target_label or "",
            when,
            _day(a.retirement_date),
        )
    )
    return "standing/" + hashlib.sha256(sig.encode("utf-8")).hexdigest()[:40]


def _day(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d}" if value is not None else ""


def _dated_for(change: DigestChange, entry: ModelVersion | None, sku: str, now: datetime) -> bool:
    """Whether a dated change is about this deployment's SKU: a date approaching that is another SKU's (the
    provisioned date of a version whose Standard date passed), or a partial retirement of other SKUs, is not."""
    if entry is None:
        return True  # a fine-tune (its base model's news) or a version gone from the catalog: tell it
    if change.event_type == EventType.RETIREMENT_APPROACHING and change.retirement_date is not None:
        return entry.retirement_for_sku(sku) == change.retirement_date
    if change.event_type == EventType.VERSION_RETIRED and change.fully_retired is False:
        return entry.is_retired_for(sku, now)
    return True


def _decisions(concerned: Concerned) -> Iterator[tuple[int, str, Assessment]]:
    """(change index, route, decision) of every deployment the alerts judge by its standing, changes in order:
    the told statuses and healthy ones, not modelwatch's own writes (told by the upgrade, held and batched, or
    by its failure, whichever the alerts see first)."""
    for i in sorted(concerned):
        for route, assessments in concerned[i].items():
            for a in assessments:
                if not a.write and (a.status in TOLD or a.status is Status.HEALTHY):
                    yield i, route, a


def plan_posts(messages: list[Message], routes: Mapping[str, Route]) -> list[Post]:
    """Where each message goes, after each route's filters."""
    posts: list[Post] = []
    for original in messages:
        message = original
        route = routes.get(message.route or DEFAULT_ROUTE)
        if route is None:  # a tag naming a route nobody configured: the default route hears, and is told so
            route = routes[DEFAULT_ROUTE]
            facts = (
                *message.facts,
                # the tag's value is the tenant's text: inert, never a link or emphasis in the channel
                ("Route", f"{inert(message.route)} (not configured: sent to the default route)"),
            )
            message = replace(message, facts=facts)
        if message.catalog_news and route.name != DEFAULT_ROUTE:
            continue
        if message.severity < Severity.parse(route.min_severity):
            continue
        if message.catalog_news and message.severity == Severity.INFO and not route.catalog_news:
            continue
        message = mentioned(message, route.mentions)  # critical only: the route's people, from its settings
        posts.extend(Post(message, channel) for channel in channels_of(route))
    return posts


class NotifyService:
    """The notify-channels use case, and the alerts timer's flush of held news."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        notifiers: Mapping[str, Notifier],
        routes: Mapping[str, Route],
        scope: Scope,
        claim_ttl: timedelta = timedelta(minutes=5),
        status_page_url: str | None = None,
        deployments: DeploymentStore | None = None,
        state: CatalogStateStore | None = None,
        rules: PolicyRules | None = None,
        buffer: AlertBuffer | None = None,
        batch_window: timedelta = timedelta(minutes=2),
    ) -> None:
        self.ledger = ledger
        self.notifiers = dict(notifiers)
        self.routes = dict(routes)
        self.scope = scope
        self.claim_ttl = claim_ttl
        self.status_page_url = status_page_url  # STATUS_PAGE_URL: messages link to it
        # with the inventory and the catalog state, a change is told with what it means for each team
        self.deployments = deployments
        self.state = state
        self.rules = rules or PolicyRules()
        # without a buffer, news of one deployment is told at once (one message per event)
        self.buffer = buffer
        self.batch_window = batch_window

    def handle(self, event: LifecycleEvent, now: datetime) -> HandleResult:
        """Post the event's messages, or hold it for its batch. Raises TransientError when Event Grid should
        redeliver it."""
        try:
            location = validate(event)
        except EventFormatError as exc:
            log.warning("%s: rejected: %s", SUBSCRIBER, exc)
            return HandleResult(event.id, Outcome.REJECTED, str(exc))
        if location is not None and not self.scope.covers_location(location):
            return HandleResult(event.id, Outcome.IGNORED, f"location {location} is out of scope")
        group = hold_group(event) if self.buffer is not None else None
        if group is not None and self.buffer is not None:
            route = self.route_of(event.payload_as(DeploymentData).route)
            item = HeldAlert(route, group, event.id, now, event.to_json())
            # held once ever: a redelivery after its batch was told (and released) must not hold it again
            done = process_once(
                self.ledger,
                SUBSCRIBER,
                f"held/{event.id}",
                partial(self.buffer.hold, [item]),
                now=now,
                ttl=self.claim_ttl,
                outcome=lambda _: f"held for {route}",
            )
            if done.status == Once.BUSY:
                raise TransientError(f"{SUBSCRIBER}: event {event.id}: another attempt is holding it")
            if done.status == Once.FAILED:
                return HandleResult(event.id, Outcome.FAILED, str(done.error))
            held = "already held" if done.status == Once.DUPLICATE else "held"
            return HandleResult(event.id, Outcome.PROCESSED, f"{held} for route {route}'s next message")
        news, standings = (
            self._news(event, now) if event.event_type == EventType.CATALOG_DIGEST else (None, {})
        )
        messages = messages_for(
            event, now, status_page_url=self.status_page_url, concerned=news, enforce=self.rules.enforce
        )
        posts = plan_posts(messages, self.routes)
        sent, skipped, failed, retry = self._send(event.id, posts, now)
        detail = f"{sent} sent, {skipped} already sent, {len(failed)} failed"
        if failed:
            detail += ": " + "; ".join(failed)
        if retry:
            raise TransientError(f"{SUBSCRIBER}: event {event.id}: {detail}; to retry: " + "; ".join(retry))
        # each deployment's standing as its route now knows it: not told again until it changes (a redelivery
        # finds its posts done anyway); in batches, one write per hundred deployments
        self.ledger.complete_many(SUBSCRIBER, standings)
        return HandleResult(event.id, Outcome.PROCESSED, detail)

    def route_of(self, tag: str | None) -> str:
        """The configured route a deployment's tag names; the default route for none or an unknown one."""
        return tag if tag and tag in self.routes else DEFAULT_ROUTE

    # ---- what a change means for each team

    def _concerned(self, digest: LifecycleEvent, now: datetime) -> Concerned | None:
        """Per change of the digest, per route: the engine's decisions for the deployments the change concerns
        (read one location and model at a time). None without an inventory: the news alone is told."""
        if self.deployments is None or self.state is None:
            return None
        from shared.services.policy import catalog_view

        data = digest.payload_as(CatalogDigestData)
        views: dict[str, dict[VersionKey, ModelVersion]] = {}
        out: dict[int, dict[str, list[Assessment]]] = {}
        for i, change in enumerate(data.changes):
            for location in change.locations:
                if not self.scope.covers_location(location):
                    continue
                if location not in views:
                    views[location] = catalog_view(self.state, location)
                for d in self._deployments(change, location, views[location], now):
                    a = assess(d, views[location], now, self.rules)
                    out.setdefault(i, {}).setdefault(self.route_of(d.route), []).append(a)
        return out

    def _news(self, digest: LifecycleEvent, now: datetime) -> tuple[Concerned | None, dict[str, str]]:
        """What to tell each route of a digest: per change, the decisions for its deployments whose standing the
        route does not know yet (told when it changes, not again with a new day count; told again when it comes
        back after another, or after being healthy), plus every deployment still at risk when a reminder threshold
        is crossed. And the standings to record once told (by ``told_key``)."""
        concerned = self._concerned(digest, now)
        if concerned is None:
            return None, {}
        changes = digest.payload_as(CatalogDigestData).changes
        # read what each route knows of its deployments' standings, all at once
        keys: dict[str, list[str]] = {}  # told key -> the earlier layout's keys of its standings now
        for _, route, a in _decisions(concerned):
            legacy = keys.setdefault(told_key(route, a.deployment.key), [])
            if a.status in TOLD:
                legacy.append(standing_key(route, a))
        known = self._known(set(keys))
        # the earlier layout, read only for the deployments with no standing recorded since
        known |= self._known({k for told, old in keys.items() if told not in known for k in old})
        news: dict[int, dict[str, list[Assessment]]] = {}
        record: dict[str, str] = {}
        seen: set[tuple[str, str]] = set()  # a deployment is told once per digest, under its first change
        for i, route, a in _decisions(concerned):
            key = told_key(route, a.deployment.key)
            if (route, a.deployment.key) in seen:
                continue
            if a.status is Status.HEALTHY:
                if known.get(key, HEALTHY) != HEALTHY:  # told of before: a later return is news again
                    record[key] = HEALTHY
                continue
            standing = standing_of(a)
            # the earlier layout's entry counts only while the route has no standing recorded since
            told = known.get(key) == standing or (key not in known and standing_key(route, a) in known)
            reminder = (
                changes[i].event_type == EventType.RETIREMENT_APPROACHING and a.status is Status.AT_RISK
            )
            if told and not reminder:
                continue
            seen.add((route, a.deployment.key))
            news.setdefault(i, {}).setdefault(route, []).append(a)
            record[key] = standing
        return news, record

    def _known(self, keys: set[str]) -> dict[str, str]:
        """The outcomes of the done ledger entries among these keys: the ledger read in chunks (a few keys a
        request in Table Storage), LEDGER_CONCURRENCY chunks at a time; a change concerning 12,000 deployments
        must be told well within Event Grid's 30 s wait, not after it."""
        ordered = sorted(keys)
        chunks = [ordered[i : i + LEDGER_READ_CHUNK] for i in range(0, len(ordered), LEDGER_READ_CHUNK)]

        def done(chunk: list[str]) -> dict[str, str]:
            found = self.ledger.get_many(SUBSCRIBER, chunk)
            return {k: e.outcome for k, e in found.items() if e.status == LedgerState.DONE}

        out: dict[str, str] = {}
        if len(chunks) <= 1:
            for c in chunks:
                out.update(done(c))
            return out
        with ThreadPoolExecutor(min(LEDGER_CONCURRENCY, len(chunks)), thread_name_prefix="ledger") as pool:
            for part in pool.map(done, chunks):
                out.update(part)
        return out

    def _deployments(
        self, change: DigestChange, location: str, view: Mapping[VersionKey, ModelVersion], now: datetime
    ) -> list[Deployment]:
        assert self.deployments is not None
        if not change.model_name:
            return []  # a catalog anomaly concerns no deployment
        version = change.model_version if change.event_type in VERSION_SCOPED else None
        return [
            d  # one location and model's slice of the inventory: reads in proportion to what the change touches
            for d in self.deployments.list_deployments_of(location, change.model_format, change.model_name)
            if concerns(d, change.model_format, change.model_name, version)
            and self.scope.unwatched_reason(d) is None
            and _dated_for(change, view.get(d.version_key), d.sku_name, now)
        ]

    # ---- sending

    def _send(
        self, key_prefix: str, posts: Sequence[Post], now: datetime
    ) -> tuple[int, int, list[str], list[str]]:
        """Each post once per channel: (sent, already sent, failed for good, to retry)."""
        sent, skipped, failed, retry = 0, 0, [], []
        for post in posts:
            key = f"{key_prefix}/{post.message.key}/{post.channel.route}/{post.channel.kind}"
            notifier = self.notifiers.get(post.channel.kind)
            if notifier is None:
                failed.append(f"{post.channel.label()}: no notifier for channel kind {post.channel.kind!r}")
                continue
            try:
                done = process_once(
                    self.ledger,
                    SUBSCRIBER,
                    key,
                    partial(notifier.send, post.channel, post.message),
                    now=now,
                    ttl=self.claim_ttl,
                    outcome=lambda _: "sent",
                )
            except ModelWatchError as exc:  # transient: the other channels go on; the caller retries
                retry.append(f"{post.channel.label()}: {exc}")
                continue
            if done.status == Once.DUPLICATE:
                skipped += 1
            elif done.status == Once.BUSY:
                retry.append(f"{post.channel.label()}: another attempt is posting")
            elif done.status == Once.FAILED:
                # recorded and acknowledged: retrying a bad payload or a removed webhook cannot help
                failed.append(f"{post.channel.label()}: {done.error}")
                log.warning(
                    "%s: %s %s failed permanently: %s",
                    SUBSCRIBER,
                    post.message.kind,
                    post.channel.label(),
                    done.error,
                )
            else:
                sent += 1
                log.info("%s: %s sent to %s", SUBSCRIBER, post.message.kind, post.channel.label())
        return sent, skipped, failed, retry

    # ---- held news

    def flush(self, now: datetime) -> FlushReport:
        """Tell each settled group of held news as one message per route and group (the alerts timer).

        A batch is claimed in the ledger under its first item, its items are marked with it, sent, and only then
        released; a batch a dead flusher left behind is finished (released when it was sent, sent again when its
        claim expired unsent). Overlapping flushers meet on the claim: one sends, the other waits."""
        if self.buffer is None:
            return FlushReport(0, 0)
        sent, waiting, failed = 0, 0, []
        for route, group, oldest in self.buffer.groups():
            if oldest > now - self.batch_window:
                waiting += 1
                continue
            try:
                told = self._flush_group(route, group, now)
            except ModelWatchError as exc:
                if not exc.is_transient:
                    raise
                failed.append(f"{route}/{group}: {exc}")
                continue
            if told:
                sent += 1
            else:
                waiting += 1
        return FlushReport(sent, waiting, tuple(failed))

    def _flush_group(self, route: str, group: str, now: datetime) -> bool:
        assert self.buffer is not None
        items = self.buffer.held(route, group)
        # batches already sent whose items a dead flusher did not release
        for mark in sorted({i.batch for i in items if i.batch}):
            entry = self.ledger.get(SUBSCRIBER, mark)
            if entry is not None and entry.status == LedgerState.DONE:
                self.buffer.release(route, group, [i.item_id for i in items if i.batch == mark])
        items = self.buffer.held(route, group)
        if not items:
            return False
        unfinished = sorted({i.batch for i in items if i.batch})
        key = unfinished[0] if unfinished else f"batch/{route}/{group}/{items[0].item_id}"
        claim = self.ledger.claim(SUBSCRIBER, key, now=now, expires_at=now + self.claim_ttl)
        if claim == Claim.BUSY:
            return False
        if claim == Claim.DONE:
            self.buffer.release(route, group, [i.item_id for i in items if i.batch == key])
            return False
        if not unfinished:  # a new batch: what is held now; an interrupted one keeps what it had
            self.buffer.mark(route, group, [i.item_id for i in items], key)
        batch = [i for i in self.buffer.held(route, group) if i.batch == key]
        try:
            events = [LifecycleEvent.from_json(i.body) for i in batch]
            message = batch_message(events)
        except EventFormatError as exc:  # a held body we cannot read: recorded, released, never retried
            self.ledger.complete(SUBSCRIBER, key, f"failed: {exc}")
            self.buffer.release(route, group, [i.item_id for i in batch])
            log.error("%s: batch %s dropped: %s", SUBSCRIBER, key, exc)
            return False
        if message is None:
            self.ledger.complete(SUBSCRIBER, key, "nothing to tell")
            self.buffer.release(route, group, [i.item_id for i in batch])
            return False
        (message,) = with_links(
            [replace(message, route=None if route == DEFAULT_ROUTE else route)],
            self.status_page_url,
            events[0] if len(events) == 1 else None,
        )
        _, _, failed, retry = self._send(key, plan_posts([message], self.routes), now)
        if retry:
            self.ledger.release(SUBSCRIBER, key)  # the next flush sends what is left of this batch
            raise TransientError(f"batch of {len(batch)} for route {route}: " + "; ".join(retry))
        self.ledger.complete(
            SUBSCRIBER, key, f"told {len(batch)} held event(s)" + (f"; {failed}" if failed else "")
        )
        self.buffer.release(route, group, [i.item_id for i in batch])
        return True

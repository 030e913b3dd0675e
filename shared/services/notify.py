"""Alert the owning team: the Event Grid subscriber that posts to each route's channels, once per change and channel.

- Catalog news comes from ``CatalogDigest`` events (one message per change, regions listed) and goes to the default
  route; deployment events go to the deployment's route (its ``modelwatch:route`` tag), else the default one.
- Each route filters by its minimum severity, and can mute informational catalog news.
- The ledger is keyed by (event id, message, route, channel): a redelivered event posts nothing twice, and an event
  half-delivered (Slack done, Teams down) retries only the channel that failed.
- A permanent webhook failure (``invalid_payload``, ``channel_not_found``, other 4xx) is recorded with its reason
  and acknowledged; a transient one that outlasted the sender's retries fails the invocation after the other
  channels are done, so Event Grid redelivers.
- Webhook URLs never reach a log line or an error: routes and channel kinds are named instead.
- Each channel kind is a Notifier (shared/adapters/notifiers.py) that renders and posts the channel-neutral
  Message: this service knows no wire format.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from shared.domain.alerts import Message, Severity, messages_for
from shared.domain.events import Consumer, LifecycleEvent, consumed_by
from shared.domain.payloads import CatalogDigestData, DeploymentData
from shared.domain.routes import DEFAULT_ROUTE, Channel, Route, channels_of
from shared.domain.scope import Scope
from shared.errors import EventFormatError, ModelWatchError, TransientError
from shared.ports import Ledger, Notifier
from shared.services.idempotency import Once, process_once
from shared.services.results import HandleResult, Outcome

log = logging.getLogger(__name__)

SUBSCRIBER = Consumer.ALERTS.value
NOTIFY_EVENT_TYPES = consumed_by(Consumer.ALERTS)


@dataclass(frozen=True)
class Post:
    message: Message
    channel: Channel


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
                ("Route", f"{message.route} (not configured: sent to the default route)"),
            )
            message = replace(message, facts=facts)
        if message.catalog_news and route.name != DEFAULT_ROUTE:
            continue
        if message.severity < Severity.parse(route.min_severity):
            continue
        if message.catalog_news and message.severity == Severity.INFO and not route.catalog_news:
            continue
        posts.extend(Post(message, channel) for channel in channels_of(route))
    return posts


class NotifyService:
    """The notify-channels use case."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        notifiers: Mapping[str, Notifier],
        routes: Mapping[str, Route],
        scope: Scope,
        claim_ttl: timedelta = timedelta(minutes=5),
        status_page_url: str | None = None,
    ) -> None:
        self.ledger = ledger
        self.notifiers = dict(notifiers)
        self.routes = dict(routes)
        self.scope = scope
        self.claim_ttl = claim_ttl
        self.status_page_url = status_page_url  # STATUS_PAGE_URL: messages link to it

    def handle(self, event: LifecycleEvent, now: datetime) -> HandleResult:
        """Post the event's messages. Raises TransientError when Event Grid should redeliver it."""
        try:
            location = validate(event)
        except EventFormatError as exc:
            log.warning("%s: rejected: %s", SUBSCRIBER, exc)
            return HandleResult(event.id, Outcome.REJECTED, str(exc))
        if location is not None and not self.scope.covers_location(location):
            return HandleResult(event.id, Outcome.IGNORED, f"location {location} is out of scope")
        posts = plan_posts(messages_for(event, now, status_page_url=self.status_page_url), self.routes)
        sent, skipped, failed, retry = 0, 0, [], []
        for post in posts:
            key = f"{event.id}/{post.message.key}/{post.channel.route}/{post.channel.kind}"
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
            except ModelWatchError as exc:  # transient: the other channels go on; Event Grid redelivers
                retry.append(f"{post.channel.label()}: {exc}")
                continue
            if done.status == Once.DUPLICATE:
                skipped += 1
            elif done.status == Once.BUSY:
                retry.append(f"{post.channel.label()}: another attempt is posting")
            elif done.status == Once.FAILED:
                # recorded and acknowledged: retrying a bad payload or a removed webhook cannot help
                failed.append(f"{post.channel.label()}: {done.error}")
                log.warning("%s: %s %s failed permanently: %s", SUBSCRIBER, post.message.kind,
                            post.channel.label(), done.error)  # fmt: skip
            else:
                sent += 1
                log.info("%s: %s sent to %s", SUBSCRIBER, post.message.kind, post.channel.label())
        detail = f"{sent} sent, {skipped} already sent, {len(failed)} failed"
        if failed:
            detail += ": " + "; ".join(failed)
        if retry:
            raise TransientError(f"{SUBSCRIBER}: event {event.id}: {detail}; to retry: " + "; ".join(retry))
        return HandleResult(event.id, Outcome.PROCESSED, detail)

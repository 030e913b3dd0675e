"""Alert the owning team: the Event Grid subscriber that posts to Teams and Slack, once per change and channel.

- Catalog news comes from ``CatalogDigest`` events (one message per change, regions listed) and goes to the default
  route; deployment events go to the deployment's route (its ``modelwatch:route`` tag), else the default one.
- Each route filters by its minimum severity, and can mute informational catalog news.
- The ledger is keyed by (event id, message, route, channel): a redelivered event posts nothing twice, and an event
  half-delivered (Slack done, Teams down) retries only the channel that failed.
- A permanent webhook failure (``invalid_payload``, ``channel_not_found``, other 4xx) is recorded with its reason
  and acknowledged; a transient one that outlasted the sender's retries fails the invocation after the other
  channels are done, so Event Grid redelivers.
- Webhook URLs never reach a log line or an error: routes and channel kinds are named instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.domain.alerts import Message, Severity, messages_for
from shared.domain.events import DEPLOYMENT_EVENT_TYPES, EventType, JsonObject, LifecycleEvent
from shared.domain.ids import arm_key
from shared.domain.routes import DEFAULT_ROUTE, Route
from shared.domain.scope import Scope
from shared.errors import EventFormatError, ModelWatchError, TransientError
from shared.ports import ALREADY_DONE, BUSY, Channel, Ledger, MessageSender
from shared.presentation.render import slack_payload, teams_payload
from shared.services.policy import ACCEPTED, IGNORED, REJECTED, HandleResult

log = logging.getLogger(__name__)

SUBSCRIBER = "notify_channels"
NOTIFY_EVENT_TYPES = frozenset({EventType.CATALOG_DIGEST, *DEPLOYMENT_EVENT_TYPES})


@dataclass(frozen=True)
class Post:
    message: Message
    channel: Channel


def validate(event: LifecycleEvent) -> str | None:
    """The location a deployment event is about (None for a digest). Raises EventFormatError."""
    if event.event_type not in NOTIFY_EVENT_TYPES:
        raise EventFormatError(
            f"event {event.id}: type {event.event_type!r} is not one notify_channels takes"
        )
    data = event.data
    if event.event_type == EventType.CATALOG_DIGEST:
        if not isinstance(data.get("changes"), list):
            raise EventFormatError(f"event {event.id}: data.changes is missing")
        return None
    deployment_id, location = data.get("deploymentId"), data.get("location")
    if not isinstance(deployment_id, str) or not deployment_id.casefold().startswith("/subscriptions/"):
        raise EventFormatError(f"event {event.id}: data.deploymentId is not a resource id")
    if arm_key(event.subject) != arm_key(deployment_id):
        raise EventFormatError(f"event {event.id}: subject does not match data.deploymentId")
    if not isinstance(location, str) or not location:
        raise EventFormatError(f"event {event.id}: data.location is missing")
    for name in ("deploymentName", "modelName", "modelVersion"):
        if not isinstance(data.get(name), str):
            raise EventFormatError(f"event {event.id}: data.{name} is missing")
    return location


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
        if route.teams is not None:
            posts.append(Post(message, Channel(route.name, "teams", route.teams)))
        if route.slack is not None:
            posts.append(Post(message, Channel(route.name, "slack", route.slack)))
    return posts


def payload_for(post: Post) -> JsonObject:
    return teams_payload(post.message) if post.channel.kind == "teams" else slack_payload(post.message)


class NotifyService:
    """The notify-channels use case."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        sender: MessageSender,
        routes: Mapping[str, Route],
        scope: Scope,
        claim_ttl: timedelta = timedelta(minutes=5),
        status_page_url: str | None = None,
    ) -> None:
        self.ledger = ledger
        self.sender = sender
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
            return HandleResult(event.id, REJECTED, str(exc))
        if location is not None and not self.scope.covers_location(location):
            return HandleResult(event.id, IGNORED, f"location {location} is out of scope")
        posts = plan_posts(messages_for(event, now, status_page_url=self.status_page_url), self.routes)
        sent, skipped, failed, retry = 0, 0, [], []
        for post in posts:
            key = f"{event.id}/{post.message.key}/{post.channel.route}/{post.channel.kind}"
            try:
                claim = self.ledger.claim(SUBSCRIBER, key, now=now, expires_at=now + self.claim_ttl)
            except ModelWatchError as exc:
                if exc.is_transient:
                    raise
                # the store refuses the key (too long, not valid text): retrying for 24 h cannot help
                failed.append(f"{post.channel.label()}: the ledger refused the key: {exc}")
                log.error(
                    "%s: event %s: the ledger refused its key (acknowledged): %s", SUBSCRIBER, event.id, exc
                )
                continue
            if claim == ALREADY_DONE:
                skipped += 1
                continue
            if claim == BUSY:
                retry.append(f"{post.channel.label()}: another attempt is posting")
                continue
            try:
                self.sender.send(post.channel, payload_for(post))
            except ModelWatchError as exc:
                if exc.is_transient:
                    self.ledger.release(SUBSCRIBER, key)
                    retry.append(f"{post.channel.label()}: {exc}")
                    continue
                # recorded and acknowledged: retrying a bad payload or a removed webhook cannot help
                self.ledger.complete(SUBSCRIBER, key, f"failed: {exc}"[:1000])
                failed.append(f"{post.channel.label()}: {exc}")
                log.warning("%s: %s %s failed permanently: %s", SUBSCRIBER, post.message.kind,
                            post.channel.label(), exc)  # fmt: skip
                continue
            except BaseException:
                self.ledger.release(SUBSCRIBER, key)
                raise
            self.ledger.complete(SUBSCRIBER, key, "sent")
            sent += 1
            log.info("%s: %s sent to %s", SUBSCRIBER, post.message.kind, post.channel.label())
        detail = f"{sent} sent, {skipped} already sent, {len(failed)} failed"
        if failed:
            detail += ": " + "; ".join(failed)
        if retry:
            raise TransientError(f"{SUBSCRIBER}: event {event.id}: {detail}; to retry: " + "; ".join(retry))
        return HandleResult(event.id, ACCEPTED, detail)

"""The notify-channels use case (``handle``: one event) and the alerts timer's flush of held news."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from shared.domain.alerts import hold_group, messages_for
from shared.domain.events import EventType, LifecycleEvent
from shared.domain.payloads import DeploymentData
from shared.domain.policy import PolicyRules
from shared.domain.routes import DEFAULT_ROUTE, Route
from shared.domain.scope import Scope
from shared.errors import EventFormatError, TransientError
from shared.ports import AlertBuffer, CatalogStateStore, DeploymentStore, Ledger, Notifier
from shared.services.notify.held import FlushReport, HeldNews
from shared.services.notify.news import TeamNews
from shared.services.notify.sending import Dispatcher, plan_posts
from shared.services.notify.subscriber import SUBSCRIBER, validate
from shared.services.results import HandleResult, Outcome

log = logging.getLogger(__name__)


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
        self.routes = dict(routes)
        self.scope = scope
        self.status_page_url = status_page_url  # STATUS_PAGE_URL: messages link to it
        self.rules = rules or PolicyRules()
        self.dispatcher = Dispatcher(ledger, dict(notifiers), claim_ttl)
        # with the inventory and the catalog state, a change is told with what it means for each team
        self.news = (
            TeamNews(ledger, deployments, state, scope, self.rules, self.route_of)
            if deployments is not None and state is not None
            else None
        )
        # without a buffer, news of one deployment is told at once (one message per event)
        self.held = (
            HeldNews(ledger, buffer, self.dispatcher, self.routes, claim_ttl, batch_window, status_page_url)
            if buffer is not None
            else None
        )

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
        group = hold_group(event) if self.held is not None else None
        if group is not None and self.held is not None:
            route = self.route_of(event.payload_as(DeploymentData).route)
            return self.held.hold(event, route, group, now)
        news, standings = (
            self.news.read(event, now)
            if self.news is not None and event.event_type == EventType.CATALOG_DIGEST
            else (None, {})
        )
        messages = messages_for(
            event, now, status_page_url=self.status_page_url, concerned=news, enforce=self.rules.enforce
        )
        posts = plan_posts(messages, self.routes)
        sent, skipped, failed, retry = self.dispatcher.send(event.id, posts, now)
        detail = f"{sent} sent, {skipped} already sent, {len(failed)} failed"
        if failed:
            detail += ": " + "; ".join(failed)
        if retry:
            raise TransientError(f"{SUBSCRIBER}: event {event.id}: {detail}; to retry: " + "; ".join(retry))
        # each deployment's standing as its route now knows it: not told again until it changes (a redelivery
        # finds its posts done anyway); in batches, one write per hundred deployments
        self.ledger.complete_many(SUBSCRIBER, standings)
        return HandleResult(event.id, Outcome.PROCESSED, detail)

    def flush(self, now: datetime) -> FlushReport:
        """Tell each settled group of held news as one message per route and group (the alerts timer)."""
        return self.held.flush(now) if self.held is not None else FlushReport(0, 0)

    def route_of(self, tag: str | None) -> str:
        """The configured route a deployment's tag names; the default route for none or an unknown one."""
        return tag if tag and tag in self.routes else DEFAULT_ROUTE

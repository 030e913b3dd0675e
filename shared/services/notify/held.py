"""Held news: the events told one per deployment (Azure upgraded 12 deployments) held in the alert buffer by route
and group, and told as one message per route and group by ``flush`` (the alerts timer) once the group has settled
for ``batch_window``. The story of a batch is in shared/domain/held.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from shared.domain.alerts import batch_message, with_links
from shared.domain.events import LifecycleEvent
from shared.domain.held import HeldAlert
from shared.domain.ledger import Claim, LedgerState
from shared.domain.routes import DEFAULT_ROUTE, Route
from shared.errors import EventFormatError, ModelWatchError, TransientError
from shared.ports import AlertBuffer, Ledger
from shared.services.idempotency import Once, process_once
from shared.services.notify.sending import Dispatcher, plan_posts
from shared.services.notify.subscriber import SUBSCRIBER
from shared.services.results import HandleResult, Outcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlushReport:
    sent: int  # batch messages told now
    waiting: int  # groups not settled yet, or held by another flusher
    failed: tuple[str, ...] = ()  # batches that will be retried by the next flush

    def summary(self) -> str:
        text = f"alerts flush: {self.sent} batch message(s) sent, {self.waiting} group(s) waiting"
        return text + (f"; to retry: {'; '.join(self.failed)}" if self.failed else "")


@dataclass(frozen=True)
class HeldNews:
    """Holds deployment news for its batch, and tells each settled batch once."""

    ledger: Ledger
    buffer: AlertBuffer
    dispatcher: Dispatcher
    routes: Mapping[str, Route]
    claim_ttl: timedelta
    batch_window: timedelta
    status_page_url: str | None

    def hold(self, event: LifecycleEvent, route: str, group: str, now: datetime) -> HandleResult:
        """Hold the event for route's next message about group. Raises TransientError when another attempt is
        holding it (Event Grid redelivers)."""
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

    def flush(self, now: datetime) -> FlushReport:
        """Tell each settled group of held news as one message per route and group (the alerts timer).

        A batch is claimed in the ledger under its first item, its items are marked with it, sent, and only then
        released; a batch a dead flusher left behind is finished (released when it was sent, sent again when its
        claim expired unsent). Overlapping flushers meet on the claim: one sends, the other waits."""
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
        _, _, failed, retry = self.dispatcher.send(key, plan_posts([message], self.routes), now)
        if retry:
            self.ledger.release(SUBSCRIBER, key)  # the next flush sends what is left of this batch
            raise TransientError(f"batch of {len(batch)} for route {route}: " + "; ".join(retry))
        self.ledger.complete(
            SUBSCRIBER, key, f"told {len(batch)} held event(s)" + (f"; {failed}" if failed else "")
        )
        self.buffer.release(route, group, [i.item_id for i in batch])
        return True

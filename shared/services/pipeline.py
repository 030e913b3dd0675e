"""The glue between triggers and use cases: the timer's run, and the delivery of Event Grid events to subscribers.

``deliver`` is the one code path from an Event Grid body to the subscriber services: the Event Grid triggers
call it with one event, ``python -m shared deliver`` with a whole delivery body or dead-letter file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.domain.events import JsonValue, LifecycleEvent
from shared.domain.handoff import MAX_MESSAGE_BYTES, HandedOff
from shared.errors import CycleIncompleteError, EventFormatError, ModelWatchError
from shared.ports import DeliveryQueue, RefreshQueue
from shared.services.budget import Deadline
from shared.services.inventory import InventoryReport, InventoryService
from shared.services.refresh_parts import FanOutReport, fan_out
from shared.services.results import REJECTED, RETRY, UNROUTED, HandleResult, Outcome
from shared.services.watch import CatalogWatcher, CycleReport

log = logging.getLogger(__name__)


Handler = Callable[[LifecycleEvent, datetime], HandleResult]


@dataclass(frozen=True)
class Subscriber:
    """One Event Grid subscription: its function name, the event types it includes, its handler."""

    name: str
    event_types: frozenset[str]
    handle: Handler


@dataclass(frozen=True)
class Delivery:
    """What delivering one event to one subscriber did."""

    event_id: str
    event_type: str
    subscriber: str
    outcome: Outcome
    detail: str = ""
    result: HandleResult | None = None
    error: ModelWatchError | None = None


@dataclass(frozen=True)
class TimerReport:
    """The timer's run: the inventory refresh (when configured) and the catalog cycle."""

    cycle: CycleReport
    inventory: InventoryReport | None = None
    inventory_error: str | None = None
    fanned_out: FanOutReport | None = (
        None  # the refresh was queued in parts instead (INVENTORY_FANOUT_THRESHOLD)
    )

    def summary(self) -> str:
        parts = [self.cycle.summary()]
        if self.inventory is not None:
            parts.append(self.inventory.summary())
        if self.fanned_out is not None:
            parts.append(self.fanned_out.summary())
        if self.inventory_error:
            parts.append(f"inventory refresh failed: {self.inventory_error}")
        return " | ".join(parts)

    @property
    def ok(self) -> bool:
        return self.cycle.ok and not self.inventory_error and (self.inventory is None or self.inventory.ok)

    def raise_if_incomplete(self) -> None:
        """A failed location, publish or inventory listing fails the run, after all other work is done."""
        problems: list[str] = []
        try:
            self.cycle.raise_if_incomplete()
        except CycleIncompleteError as exc:
            problems.append(str(exc))
        if self.inventory_error:
            problems.append(f"inventory refresh failed: {self.inventory_error}")
        elif self.inventory is not None and not self.inventory.ok:
            problems.append("inventory incomplete: " + "; ".join(self.inventory.problems[:5]))
        if problems:
            raise CycleIncompleteError(" | ".join(problems))


def run_timer(
    watcher: CatalogWatcher,
    inventory: InventoryService | None,
    locations: Sequence[str],
    now: datetime,
    *,
    budget_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    queue: RefreshQueue | None = None,
) -> TimerReport:
    """Refresh the inventory (or, given a queue, queue its parts: refresh_parts.py), then run the catalog cycle.

    In this order so that the subscribers, which act on the events this cycle publishes, see deployments as they
    are now; and so that the cycle's drain also publishes the Azure-applied upgrades the refresh found. With a
    budget (TIMER_BUDGET_SECONDS), the refresh may use half of it: a slow or throttled tenant cannot starve the
    catalog cycle, which stops starting locations when the whole budget is spent. Queued parts are refreshed
    while or after the cycle runs: subscribers may see a deployment as it was one refresh ago.
    """
    start = clock()
    report: InventoryReport | None = None
    fanned: FanOutReport | None = None
    error: str | None = None
    if inventory is not None:
        half = Deadline(start + budget_seconds / 2, clock) if budget_seconds else None
        try:
            if queue is not None:
                fanned = fan_out(inventory, queue, now)
            else:
                report = inventory.refresh(now, deadline=half)
        except ModelWatchError as exc:  # the catalog cycle must still run
            error = str(exc)
            log.warning("inventory refresh failed: %s", exc)
    whole = Deadline(start + budget_seconds, clock) if budget_seconds else None
    return TimerReport(watcher.run(locations, now, deadline=whole), report, error, fanned)


def parse_body(body: JsonValue) -> list[JsonValue]:
    """The events of an Event Grid delivery body or dead-letter file: a JSON array, or one event object."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [body]
    raise EventFormatError(f"an Event Grid body is a JSON array of events, not {type(body).__name__}")


def deliver(
    raw_events: Sequence[JsonValue], subscribers: Sequence[Subscriber], now: datetime
) -> list[Delivery]:
    """Hand each event to every subscriber that includes its type. Never raises for one event's failure:
    a malformed event is rejected, a transient failure is reported as ``retry``; the rest go on."""
    deliveries: list[Delivery] = []
    for raw in raw_events:
        try:
            event = LifecycleEvent.from_wire(raw)
        except EventFormatError as exc:
            ident = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else "?"
            event_type = raw.get("eventType") if isinstance(raw, dict) else None
            deliveries.append(Delivery(str(ident), str(event_type or "?"), "-", REJECTED, str(exc)))
            continue
        takers = [s for s in subscribers if event.event_type in s.event_types]
        if not takers:
            deliveries.append(
                Delivery(event.id, event.event_type, "-", UNROUTED, "no subscriber includes this event type")
            )
        for subscriber in takers:
            deliveries.append(deliver_one(event, subscriber, now))
    return deliveries


QUEUED = Outcome.QUEUED


def hand_off(
    raw: dict[str, JsonValue], subscriber: Subscriber, queue: DeliveryQueue, now: datetime
) -> Delivery | None:
    """Hand one delivered event's work for ``subscriber`` to ``queue`` and say so; None when it is better done in
    the delivery itself: an event that cannot be parsed or that the subscriber does not take (answered at once
    either way), or one too large for a queue message.

    Why: Event Grid waits 30 s for an answer, then redelivers while the first attempt still works; a change
    touching thousands of deployments takes longer than that to tell. The queued work is exactly-once over the
    ledger like any delivery, so a redelivered event queued twice tells nothing twice. Raises what the queue
    raises (then nothing was handed off: the trigger does the work itself)."""
    try:
        event = LifecycleEvent.from_wire(raw)
    except EventFormatError:
        return None
    if event.event_type not in subscriber.event_types:
        return None
    work = HandedOff(subscriber.name, raw, now)
    size = len(work.to_json().encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        log.warning(
            "%s: event %s is %d bytes, over a queue message: handled in its delivery",
            subscriber.name,
            event.id,
            size,
        )
        return None
    queue.enqueue(work)
    return Delivery(event.id, event.event_type, subscriber.name, QUEUED, "handed to the delivery queue")


def deliver_one(event: LifecycleEvent, subscriber: Subscriber, now: datetime) -> Delivery:
    try:
        result = subscriber.handle(event, now)
    except ModelWatchError as exc:
        if not exc.is_transient:
            raise  # handlers acknowledge permanent errors themselves; anything else is a bug worth seeing
        return Delivery(event.id, event.event_type, subscriber.name, RETRY, str(exc), error=exc)
    return Delivery(event.id, event.event_type, subscriber.name, result.outcome, result.detail, result)

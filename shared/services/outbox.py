"""Draining the outbox, and the catalog digest that makes one alert per change instead of one per region.

Catalog events are per location (the policy subscriber needs them so). A change that lands in twelve regions in
one cycle is twelve events, but people want one message. So every drain groups the pending catalog events that
no pending digest covers yet into ``ModelLifecycle.CatalogDigest`` events (one change = one entry, with its
regions) and publishes them *after* the events they cover. The alert subscriber posts catalog news from digests
only.

Why at drain time and not at the end of a cycle: a cycle that crashes after committing some locations leaves
their events in the outbox; the next drain (of any cycle, or of a subscriber) still digests them. Digests go
last, and publishing stops at the first failed batch, so a published digest means its events were published
too; an unpublished digest stays pending and keeps covering its events, so no change is digested twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from shared.domain.digest import build_digests
from shared.domain.events import (
    CATALOG_EVENT_TYPES,
    EventType,
    LifecycleEvent,
)
from shared.domain.payloads import CatalogDigestData
from shared.errors import ModelWatchError, PublishError
from shared.ports import CatalogStateStore, EventPublisher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrainResult:
    published: tuple[LifecycleEvent, ...]
    still_pending: int
    error: str | None = None


def _covered(pending: Sequence[LifecycleEvent]) -> set[str]:
    ids: set[str] = set()
    for e in pending:
        if e.event_type == EventType.CATALOG_DIGEST:
            ids.update(e.payload_as(CatalogDigestData).covered_event_ids)
    return ids


def drain_outbox(state: CatalogStateStore, publisher: EventPublisher, *, who: str) -> DrainResult:
    """Digest what needs it, publish everything pending (digests last), drop exactly what went out."""
    try:
        pending = state.list_pending()
    except ModelWatchError as exc:
        return DrainResult((), 0, f"could not read the outbox: {exc}")
    covered = _covered(pending)
    undigested = [e for e in pending if e.event_type in CATALOG_EVENT_TYPES and e.id not in covered]
    if undigested:
        digests = build_digests(undigested)
        try:
            state.add_pending(digests)  # before publishing: a crash now leaves them to the next drain
        except ModelWatchError as exc:
            return DrainResult((), len(pending), f"could not record the catalog digest: {exc}")
        pending = [*pending, *digests]
    if not pending:
        return DrainResult((), 0)
    ordered = sorted(pending, key=lambda e: e.event_type == EventType.CATALOG_DIGEST)  # stable: digests last
    try:
        publisher.publish(ordered)
    except PublishError as exc:
        sent = set(exc.published_ids)
        if sent:
            state.remove_pending(list(exc.published_ids))
        published = tuple(e for e in ordered if e.id in sent)
        _keep(state, published, who)
        log.warning("%s: %d pending event(s) not published: %s", who, len(ordered) - len(sent), exc)
        return DrainResult(published, len(ordered) - len(sent), str(exc))
    except ModelWatchError as exc:
        log.warning("%s: publishing deferred to the next drain: %s", who, exc)
        return DrainResult((), len(ordered), str(exc))
    state.remove_pending([e.id for e in ordered])
    _keep(state, ordered, who)
    return DrainResult(tuple(ordered), 0)


def _keep(state: CatalogStateStore, published: Sequence[LifecycleEvent], who: str) -> None:
    """Keep what went out for the status page. Best effort: the events are out, and the page can do without."""
    kept = [e for e in published if e.event_type != EventType.CATALOG_DIGEST]  # a digest repeats its events
    try:
        state.record_history(kept)
    except ModelWatchError as exc:
        log.warning("%s: %d published event(s) not kept for the status page: %s", who, len(kept), exc)

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

from shared.domain.describe import describe
from shared.domain.events import (
    CATALOG_EVENT_TYPES,
    EventType,
    JsonObject,
    JsonValue,
    LifecycleEvent,
    event_id,
)
from shared.errors import ModelWatchError, PublishError
from shared.ports import CatalogStateStore, EventPublisher

log = logging.getLogger(__name__)

DIGEST_SUBJECT = "/catalog/digest"
MAX_EVENTS_PER_DIGEST = 200  # keeps a digest far below Event Grid's 1 MB per event


@dataclass(frozen=True)
class DrainResult:
    published: tuple[LifecycleEvent, ...]
    still_pending: int
    error: str | None = None


def _covered(pending: Sequence[LifecycleEvent]) -> set[str]:
    ids: set[str] = set()
    for e in pending:
        if e.event_type == EventType.CATALOG_DIGEST:
            covered = e.data.get("coveredEventIds")
            if isinstance(covered, list):
                ids.update(str(i) for i in covered)
    return ids


def _change_key(e: LifecycleEvent) -> tuple[str, ...]:
    d = e.data
    # the same change in several regions reads the same; a region with other dates is another change
    return (e.event_type, str(d.get("modelFormat", "")), str(d.get("modelName", "")),
            str(d.get("modelVersion", "")), describe(e))  # fmt: skip


_CARRIED = ("lifecycleStatus", "isDefaultVersion", "retirementDate", "skuRetirementDates", "deprecationStatus",
            "replacement", "previousDefaultVersion", "scheduledFor", "daysRemaining", "threshold", "affectedSkus",
            "reason", "fullyRetired", "change", "previousRetirementDate", "baseline", "vanishedCount", "knownCount",
            "targetModelName", "targetModelVersion")  # fmt: skip


def build_digests(events: Sequence[LifecycleEvent]) -> list[LifecycleEvent]:
    """Digest events grouping these catalog events by change, regions listed. Deterministic ids."""
    chunks = [events[i : i + MAX_EVENTS_PER_DIGEST] for i in range(0, len(events), MAX_EVENTS_PER_DIGEST)]
    digests: list[LifecycleEvent] = []
    for chunk in chunks:
        groups: dict[tuple[str, ...], list[LifecycleEvent]] = {}
        for e in sorted(chunk, key=lambda e: (e.event_type, e.subject)):
            groups.setdefault(_change_key(e), []).append(e)
        changes: list[JsonValue] = []
        for (kind, fmt, name, version, text), members in groups.items():
            first = members[0].data
            change: JsonObject = {
                "eventType": kind,
                "modelFormat": fmt,
                "modelName": name,
                "modelVersion": version,
                "summary": text,
                "locations": list[JsonValue](sorted({str(m.data.get("location", "")) for m in members})),
                "eventIds": list[JsonValue](m.id for m in members),
            }
            change.update({k: first[k] for k in _CARRIED if k in first})
            changes.append(change)
        covered = sorted(e.id for e in chunk)
        when = max(e.event_time for e in chunk)
        data: JsonObject = {
            "changes": changes,
            "eventCount": len(chunk),
            "locations": list[JsonValue](sorted({str(e.data.get("location", "")) for e in chunk})),
            "coveredEventIds": list[JsonValue](covered),
        }
        ident = event_id(EventType.CATALOG_DIGEST.value, *covered)
        digests.append(LifecycleEvent(ident, EventType.CATALOG_DIGEST.value, DIGEST_SUBJECT, when, data))
    return digests


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
        log.warning("%s: %d pending event(s) not published: %s", who, len(ordered) - len(sent), exc)
        return DrainResult(tuple(e for e in ordered if e.id in sent), len(ordered) - len(sent), str(exc))
    except ModelWatchError as exc:
        log.warning("%s: publishing deferred to the next drain: %s", who, exc)
        return DrainResult((), len(ordered), str(exc))
    state.remove_pending([e.id for e in ordered])
    return DrainResult(tuple(ordered), 0)

"""The catalog digest: pending catalog events grouped by change across regions (see shared/services/outbox.py)."""

from __future__ import annotations

from collections.abc import Sequence

from shared.domain.describe import describe
from shared.domain.events import EventType, JsonObject, JsonValue, LifecycleEvent, event_id

DIGEST_SUBJECT = "/catalog/digest"
MAX_EVENTS_PER_DIGEST = 200  # keeps a digest far below Event Grid's 1 MB per event
# The outbox keeps each event as one Table Storage string property (at most 32,768 characters): a bigger digest
# could never be recorded, so no drain would ever publish again. Split until each fits, with room to spare.
MAX_DIGEST_CHARS = 24_000


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
    digests: list[LifecycleEvent] = []
    for i in range(0, len(events), MAX_EVENTS_PER_DIGEST):
        digests.extend(_fitted(events[i : i + MAX_EVENTS_PER_DIGEST]))
    return digests


def _fitted(chunk: Sequence[LifecycleEvent]) -> list[LifecycleEvent]:
    digest = _digest(chunk)
    if len(chunk) > 1 and len(digest.to_json()) > MAX_DIGEST_CHARS:
        half = len(chunk) // 2
        return _fitted(chunk[:half]) + _fitted(chunk[half:])
    return [digest]


def _digest(chunk: Sequence[LifecycleEvent]) -> LifecycleEvent:
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
    return LifecycleEvent(ident, EventType.CATALOG_DIGEST.value, DIGEST_SUBJECT, when, data)

"""The catalog digest: pending catalog events grouped by change across regions (see shared/services/outbox.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shared.domain.describe import describe, location_of
from shared.domain.events import EventType, LifecycleEvent
from shared.domain.ids import event_id
from shared.domain.payloads import CARRIED, CatalogDigestData, DigestChange, VersionData

MAX_EVENTS_PER_DIGEST = 200  # keeps a digest far below Event Grid's 1 MB per event
# The outbox keeps each event as one Table Storage string property (at most 32,768 characters): a bigger digest
# could never be recorded, so no drain would ever publish again. Split until each fits, with room to spare.
MAX_DIGEST_CHARS = 24_000


def _change_key(e: LifecycleEvent) -> tuple[str, ...]:
    p = e.payload()
    # the same change in several regions reads the same; a region with other dates is another change
    fmt, name, version = (
        (p.model_format, p.model_name, p.model_version) if isinstance(p, VersionData) else ("", "", "")
    )
    return (e.event_type, fmt, name, version, describe(e))


def build_digests(events: Sequence[LifecycleEvent]) -> list[LifecycleEvent]:
    """Digest events grouping these catalog events by change, regions listed. Deterministic ids.

    A change's events go into one digest whenever they fit (MAX_EVENTS_PER_DIGEST): the alerts tell a route each
    digest's changes once, so a change cut across digests (a baseline of 51 changes in 60 regions, chunked in
    arrival order, spread each over up to 60) would be told once per piece."""
    keys = {e.id: _change_key(e) for e in events}  # worked out once: each digest groups by it again
    groups: dict[tuple[str, ...], list[LifecycleEvent]] = {}
    for e in sorted(events, key=lambda e: (e.event_time, e.id)):  # the same set gives the same digests
        groups.setdefault(keys[e.id], []).append(e)
    chunks: list[list[LifecycleEvent]] = []
    current: list[LifecycleEvent] = []
    for members in groups.values():
        # a change goes whole into a digest with room for it; one in more regions than a digest holds is cut at
        # the cap, and only there
        for i in range(0, len(members), MAX_EVENTS_PER_DIGEST):
            piece = members[i : i + MAX_EVENTS_PER_DIGEST]
            if len(current) + len(piece) > MAX_EVENTS_PER_DIGEST:
                chunks.append(current)
                current = []
            current.extend(piece)
    if current:
        chunks.append(current)
    return [digest for chunk in chunks for digest in _fitted(chunk, keys)]


def _fitted(chunk: Sequence[LifecycleEvent], keys: Mapping[str, tuple[str, ...]]) -> list[LifecycleEvent]:
    digest = _digest(chunk, keys)
    if len(chunk) > 1 and len(digest.to_json()) > MAX_DIGEST_CHARS:
        half = len(chunk) // 2
        return _fitted(chunk[:half], keys) + _fitted(chunk[half:], keys)
    return [digest]


def _digest(chunk: Sequence[LifecycleEvent], keys: Mapping[str, tuple[str, ...]]) -> LifecycleEvent:
    groups: dict[tuple[str, ...], list[LifecycleEvent]] = {}
    for e in sorted(chunk, key=lambda e: (e.event_type, e.subject)):
        groups.setdefault(keys[e.id], []).append(e)
    changes = []
    for (kind, fmt, name, version, text), members in groups.items():
        first = members[0].payload()
        carried = {attr: getattr(first, attr) for attr in CARRIED if hasattr(first, attr)}
        changes.append(
            DigestChange(
                event_type=kind,
                model_format=fmt,
                model_name=name,
                model_version=version,
                summary=text,
                locations=tuple(sorted({location_of(m) for m in members})),
                event_ids=tuple(m.id for m in members),
                **carried,
            )
        )
    covered = sorted(e.id for e in chunk)
    payload = CatalogDigestData(
        changes=tuple(changes),
        event_count=len(chunk),
        locations=tuple(sorted({location_of(e) for e in chunk})),
        covered_event_ids=tuple(covered),
    )
    ident = event_id(EventType.CATALOG_DIGEST.value, *covered)
    return LifecycleEvent.create(EventType.CATALOG_DIGEST, ident, max(e.event_time for e in chunk), payload)

"""Digests keep each change whole: a route hears a change once, however the drain's events arrived."""

from __future__ import annotations

import random

from shared.domain.digest import MAX_EVENTS_PER_DIGEST, build_digests
from shared.domain.events import EventType
from shared.domain.payloads import CatalogDigestData
from shared.presentation.alert_samples import _catalog

REGIONS = [f"region{i:02d}" for i in range(60)]


def changes_per_digest(events: list) -> list[list[tuple[str, str, int]]]:  # type: ignore[type-arg]
    out = []
    for digest in build_digests(events):
        data = digest.payload_as(CatalogDigestData)
        assert data.event_count <= MAX_EVENTS_PER_DIGEST
        out.append(
            [(c.event_type, c.model_name + " " + c.model_version, len(c.locations)) for c in data.changes]
        )
    return out


def test_a_baseline_of_many_changes_in_many_regions_cuts_no_change() -> None:
    """51 versions released in 60 regions, arriving region by region (as the watcher's locations finish): 3,060
    events. Chunked in arrival order, each change would land in ~16 digests; packed by change, in one."""
    events = [
        _catalog(EventType.VERSION_RELEASED, f"model-{v:02d}", "2025-01-01", region)
        for region in REGIONS
        for v in range(51)
    ]
    random.Random(3).shuffle(events)
    digests = changes_per_digest(events)
    told = [change for digest in digests for change in digest]
    assert len(told) == 51  # each change in exactly one digest
    assert all(regions == 60 for _, _, regions in told)
    assert len(digests) == 17  # 3 whole changes (180 events) per digest of at most 200
    assert sum(len(d) for d in digests) == 51


def test_a_change_in_more_regions_than_a_digest_holds_is_cut_only_at_the_cap() -> None:
    events = [
        _catalog(EventType.VERSION_RELEASED, "gpt-x", "1", f"r{i:03d}")
        for i in range(MAX_EVENTS_PER_DIGEST + 50)
    ]
    events += [_catalog(EventType.VERSION_RELEASED, "gpt-y", "1", f"r{i:03d}") for i in range(10)]
    digests = changes_per_digest(events)
    assert [sorted(d) for d in digests] == [
        [("ModelLifecycle.VersionReleased", "gpt-x 1", MAX_EVENTS_PER_DIGEST)],
        sorted(
            [
                ("ModelLifecycle.VersionReleased", "gpt-x 1", 50),
                ("ModelLifecycle.VersionReleased", "gpt-y 1", 10),
            ]
        ),
    ]


def test_the_same_events_in_any_order_make_the_same_digests() -> None:
    events = [_catalog(EventType.VERSION_RELEASED, f"m{v}", "1", r) for r in REGIONS[:20] for v in range(15)]
    shuffled = list(events)
    random.Random(9).shuffle(shuffled)
    assert [d.id for d in build_digests(events)] == [d.id for d in build_digests(shuffled)]

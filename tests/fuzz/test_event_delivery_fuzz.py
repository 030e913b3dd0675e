"""Fuzzing Event Grid bodies through ``parse_body`` and ``deliver`` to both subscribers: forged and out-of-scope
events, any body at all, garbage then a real event."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.events import JsonValue, LifecycleEvent
from shared.services.results import DUPLICATE, PROCESSED
from tests.fuzz.support.deployments import CHAT
from tests.fuzz.support.events import (
    ALL_SEEDS,
    DIGEST_SEEDS,
    RETIRED,
    TARGET,
    World,
    check_nothing_written,
    check_only_legitimate_writes,
    forged_events,
    with_version,
)
from tests.fuzz.support.strategies import EVENT_ERRORS, FUZZ, attempt, fresh, json_values, keys, mutated


def check_round_trip(raw: JsonValue) -> None:
    """What the event parser accepts survives the publisher's serialisation unchanged."""
    event = attempt(lambda: LifecycleEvent.from_wire(raw), EVENT_ERRORS)
    if isinstance(event, LifecycleEvent):
        again = LifecycleEvent.from_json(event.to_json())
        assert (again.id, again.event_type, again.subject, again.data_version) == (
            event.id,
            event.event_type,
            event.subject,
            event.data_version,
        )
        assert json.dumps(dict(again.data), sort_keys=True) == json.dumps(dict(event.data), sort_keys=True)


def _ids(events: Sequence[JsonValue]) -> list[JsonValue]:
    return [e.get("id") for e in events if isinstance(e, dict)]


@pytest.mark.reliability(
    fault="fuzz: forged events (12 kinds: unknown type, unwatched location or account, subject/data mismatch, bad id/time/data; 200)",
    held="rejected or ignored; no ARM call, no ledger entry, no alert, nothing published",
)
@settings(FUZZ, max_examples=200)
@given(forged_events())
def test_a_forged_or_out_of_scope_event_writes_nothing(event: JsonValue) -> None:
    world = World()
    deliveries = world.deliver([event])
    deliveries += world.deliver_directly(event)
    check_nothing_written(world, deliveries, _ids([event]))


any_events: st.SearchStrategy[JsonValue] = st.one_of(
    json_values,
    st.dictionaries(keys, json_values, max_size=7),
    st.sampled_from(ALL_SEEDS).map(fresh),
    st.sampled_from(ALL_SEEDS).flatmap(mutated),
    forged_events(),
)


@pytest.mark.reliability(
    fault="fuzz: any event body, random, mutated, forged or valid (100)",
    held="no crash; a write only ever the one the valid event calls for, at most once",
)
@settings(FUZZ, max_examples=100)
@given(st.lists(any_events, max_size=6) | any_events)
def test_any_event_body_is_delivered_without_crashing(body: JsonValue) -> None:
    world = World()
    deliveries = world.deliver(body)
    for raw in body if isinstance(body, list) else [body]:
        deliveries += world.deliver_directly(raw)
        check_round_trip(raw)
    check_only_legitimate_writes(world, deliveries)


@pytest.mark.reliability(
    fault="fuzz: up to 12 garbage events, then a real one (60)",
    held="garbage writes nothing; the real event upgrades once; its redelivery is a duplicate",
)
@settings(FUZZ, max_examples=60)
@given(
    st.lists(
        st.one_of(forged_events(), json_values, st.dictionaries(keys, json_values, max_size=7)), max_size=12
    )
)
def test_a_valid_event_after_garbage_is_handled_normally(garbage: list[JsonValue]) -> None:
    world = World()
    deliveries = world.deliver(garbage)
    check_nothing_written(world, deliveries, _ids(garbage))
    # then the real retirement: processed, the watched deployment upgraded once, a redelivery a duplicate
    (policy,) = world.deliver([RETIRED])
    assert policy.outcome == PROCESSED, policy.detail
    assert world.api.puts == [(str(CHAT["id"]), with_version(CHAT, TARGET))]
    (again,) = world.deliver([RETIRED])
    assert again.outcome == DUPLICATE and len(world.api.puts) == 1
    # and the notify subscriber still posts a real digest
    notified = world.deliver([DIGEST_SEEDS[0]])
    assert [d.outcome for d in notified] == [PROCESSED] and world.sender.posts

"""The Event Grid publisher's real HTTP requests, captured by a local topic speaking the wire format."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.eventgrid import EventGridPublisher, split_batches
from shared.domain.events import LifecycleEvent
from shared.domain.secret import Secret
from shared.errors import PublishError
from tests.fakes.eventgrid_server import FakeEventGridTopic

T0 = datetime(2025, 3, 12, tzinfo=UTC)


def ev(i: int, payload: int = 10) -> LifecycleEvent:
    return LifecycleEvent(
        f"id-{i:05}",
        "ModelLifecycle.VersionReleased",
        f"/locations/eastus/models/OpenAI/m/versions/{i}",
        T0 + timedelta(seconds=i),
        {"location": "eastus", "pad": "x" * payload},
    )


def publisher(
    topic: FakeEventGridTopic,
    key: str | None = None,
    retry_total: int = 0,
    sleep: Callable[[float], None] | None = None,
) -> EventGridPublisher:
    """The publisher, its retries waiting on ``sleep`` (default: record nothing, wait for nothing)."""
    return EventGridPublisher(
        topic.endpoint,
        Secret(key or topic.key),
        retry_total=retry_total,
        retry_backoff_factor=0.01,
        sleep=sleep or (lambda seconds: None),
    )


def test_request_shape_and_events_exactly_as_ours(eventgrid_server: FakeEventGridTopic) -> None:
    events = [ev(1), ev(2)]
    publisher(eventgrid_server).publish(events)
    (request,) = eventgrid_server.requests
    assert request["query"]["api-version"] == ["2018-01-01"]
    assert request["headers"]["aeg-sas-key"] == eventgrid_server.key
    assert request["headers"]["Content-Type"].startswith("application/json")
    for sent, ours in zip(request["events"], events, strict=True):
        wire = ours.to_wire()
        assert sent["id"] == wire["id"] and sent["subject"] == wire["subject"]
        assert sent["eventType"] == wire["eventType"] and sent["data"] == wire["data"]
        assert sent["dataVersion"] == "1.0"
        assert datetime.fromisoformat(sent["eventTime"].replace("Z", "+00:00")) == ours.event_time


def test_batches_split_by_bytes(eventgrid_server: FakeEventGridTopic) -> None:
    events = [ev(i, payload=300_000) for i in range(10)]
    publisher(eventgrid_server).publish(events)
    assert len(eventgrid_server.requests) >= 4
    assert all(r["bytes"] <= 1_000_000 for r in eventgrid_server.requests)
    assert [e["id"] for e in eventgrid_server.events] == [e.id for e in events]


def tiny(i: int) -> LifecycleEvent:
    return LifecycleEvent(f"{i}", "T", "/s", T0, {})


def test_batches_split_by_count(eventgrid_server: FakeEventGridTopic) -> None:
    events = [tiny(i) for i in range(12_001)]
    publisher(eventgrid_server).publish(events)
    assert [len(r["events"]) for r in eventgrid_server.requests] == [5000, 5000, 2001]


def test_an_event_too_large_alone_is_refused_before_sending() -> None:
    with pytest.raises(PublishError, match="id-00001") as info:
        split_batches([ev(1, payload=1_100_000)])
    assert not info.value.is_transient


def test_transient_failures_are_retried_per_call(eventgrid_server: FakeEventGridTopic) -> None:
    eventgrid_server.failures = [503, 503]
    slept: list[float] = []
    publisher(eventgrid_server, retry_total=3, sleep=slept.append).publish([ev(1)])
    assert eventgrid_server.attempts == 3
    # the retry policy waits on the given sleep, with the given backoff factor (azure-core: none before the
    # first retry, then factor x 2^(retries - 1)), not the 1.6 s of its default
    assert slept == [pytest.approx(0.02)]
    assert [e["id"] for e in eventgrid_server.events] == ["id-00001"]


def test_wrong_key_is_permanent_and_never_echoed(
    eventgrid_server: FakeEventGridTopic, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-key-Zq81xk2"
    with pytest.raises(PublishError) as info:
        publisher(eventgrid_server, key=wrong).publish([ev(1)])
    assert not info.value.is_transient
    assert "EVENTGRID_TOPIC_KEY" in str(info.value)
    assert wrong not in str(info.value) and all(wrong not in r.getMessage() for r in caplog.records)


def test_failure_on_second_batch_reports_what_went_out(eventgrid_server: FakeEventGridTopic) -> None:
    events = [tiny(i) for i in range(5001)]
    pub = publisher(eventgrid_server)
    original = eventgrid_server._handle
    calls = {"n": 0}

    def second_fails(h):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            eventgrid_server.failures.append(500)
        return original(h)

    eventgrid_server._handle = second_fails  # type: ignore[method-assign]
    with pytest.raises(PublishError) as info:
        pub.publish(events)
    assert info.value.is_transient
    assert info.value.published_ids == tuple(e.id for e in events[:5000])
    assert len(eventgrid_server.events) == 5000


def test_unreachable_topic_is_transient() -> None:
    pub = EventGridPublisher("http://127.0.0.1:9/api/events", Secret("k"), retry_total=0)
    with pytest.raises(PublishError) as info:
        pub.publish([ev(1)])
    assert info.value.is_transient


def test_empty_publish_sends_nothing(eventgrid_server: FakeEventGridTopic) -> None:
    publisher(eventgrid_server).publish([])
    assert eventgrid_server.attempts == 0


def test_a_retry_wait_that_would_pass_the_runs_deadline_is_not_slept(
    eventgrid_server: FakeEventGridTopic,
) -> None:
    from shared.domain.waits import waits_until

    eventgrid_server.failures = [503, 503]
    slept: list[float] = []
    pub = EventGridPublisher(
        eventgrid_server.endpoint, Secret(eventgrid_server.key), retry_total=3, sleep=slept.append
    )
    # the SDK's first retry is at once, the second after 0.8 s: more than the 0.5 s left
    with waits_until(10.5, lambda: 10.0), pytest.raises(PublishError) as info:
        pub.publish([ev(1)])
    assert info.value.is_transient and "deadline" in str(info.value) and slept == []
    assert eventgrid_server.attempts == 2 and eventgrid_server.events == []

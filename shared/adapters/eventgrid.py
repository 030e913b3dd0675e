"""EventPublisher over an Event Grid custom topic (azure-eventgrid, Event Grid schema)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from shared.domain.events import LifecycleEvent
from shared.domain.secret import Secret
from shared.domain.version import USER_AGENT
from shared.domain.waits import seconds_left
from shared.errors import PublishError
from shared.urls import endpoint_problem

log = logging.getLogger(__name__)

MAX_BATCH_BYTES = 1_000_000  # the topic takes at most 1 MB per request (https://learn.microsoft.com/azure/event-grid/quotas-limits); keep a margin
MAX_BATCH_EVENTS = 5000


def split_batches(
    events: Sequence[LifecycleEvent], *, max_bytes: int = MAX_BATCH_BYTES, max_events: int = MAX_BATCH_EVENTS
) -> list[list[LifecycleEvent]]:
    """Consecutive batches whose JSON array stays within both limits. An event too large alone raises."""
    batches: list[list[LifecycleEvent]] = []
    current: list[LifecycleEvent] = []
    size = 2  # the brackets of the array
    for event in events:
        # sized as azure-core serialises it (", " and ": " separators, milliseconds in eventTime), plus a margin
        length = len(json.dumps(event.to_wire()).encode()) + 16
        if length + 2 > max_bytes:
            raise PublishError(
                f"event {event.id} is {length} bytes: over the 1 MB Event Grid limit", transient=False
            )
        if current and (size + length > max_bytes or len(current) >= max_events):
            batches.append(current)
            current, size = [], 2
        current.append(event)
        size += length
    if current:
        batches.append(current)
    return batches


class EventGridPublisher:
    """Publishes LifecycleEvents with OUR ids and times (the SDK would invent new ones), batch by batch."""

    def __init__(
        self,
        endpoint: str,
        key: Secret | None,
        *,
        credential: Any = None,
        retry_total: int = 3,
        retry_backoff_factor: float = 0.8,
        timeout: float = 30.0,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """``sleep`` waits out the retries' backoff and Retry-After (default: the SDK's transport, ``time.sleep``);
        tests and replays pass a virtual clock's."""
        if problem := endpoint_problem(endpoint, "EVENTGRID_TOPIC_ENDPOINT"):
            # the topic key (or the identity's token) goes wherever this points: read as the SDK's requests reads it
            raise PublishError(problem, transient=False)
        self.endpoint = endpoint
        self._key = key
        self._credential = credential
        self.retry_total = retry_total
        self.retry_backoff_factor = retry_backoff_factor
        self.timeout = timeout
        self._sleep = sleep
        self.requests_sent = 0
        self._client: Any = None
        self._lock = threading.Lock()

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                from azure.core.credentials import AzureKeyCredential

                # The client azure.eventgrid's public EventGridPublisherClient builds for a basic topic (4.22,
                # _patch.py), built here because that wrapper passes it only the endpoint, credential and API
                # version: the backoff factor given to the wrapper never reached the retry policy (the SDK's 0.8
                # applied, the same as ours by default), nor could a transport. Its send is the one the wrapper calls.
                from azure.eventgrid._legacy import EventGridPublisherClient

                credential = self._credential
                if self._key is not None:
                    credential = AzureKeyCredential(self._key.reveal())
                elif credential is None:
                    from azure.identity import DefaultAzureCredential

                    credential = DefaultAzureCredential()
                # the retry policy waits (backoff, Retry-After) on our sleep: never past the run's deadline;
                # user_agent goes before the SDK's own (azsdk-python-eventgrid/...), as az's does
                options: dict[str, Any] = {
                    "retry_backoff_factor": self.retry_backoff_factor,
                    "transport": _transport_sleeping_with(self._bounded_sleep),
                    "user_agent": USER_AGENT,
                }
                self._client = EventGridPublisherClient(
                    self.endpoint, credential, api_version="2018-01-01", **options
                )
            return self._client

    def _bounded_sleep(self, seconds: float) -> None:
        """The SDK's retry wait, unless it would pass the run's deadline (shared/domain/waits.py)."""
        left = seconds_left()
        if left is not None and seconds > left:
            raise PublishError(
                f"Event Grid: waiting {seconds:.1f} s to retry would pass the run's deadline ({left:.1f} s left)"
            )
        (self._sleep or time.sleep)(seconds)

    def publish(self, events: Sequence[LifecycleEvent]) -> None:
        if not events:
            return
        from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
        from azure.eventgrid import EventGridEvent

        client = self._get_client()
        published: list[str] = []
        for batch in split_batches(events):
            wire = [
                EventGridEvent(
                    subject=e.subject,
                    event_type=e.event_type,
                    data=dict(e.data),
                    data_version=e.data_version,
                    id=e.id,
                    event_time=e.event_time,
                )
                for e in batch
            ]
            try:
                self.requests_sent += 1
                client.send(
                    wire,
                    retry_total=self.retry_total,
                    connection_timeout=self.timeout,
                    read_timeout=self.timeout,
                )
            except HttpResponseError as exc:
                raise self._error(exc.status_code or 0, tuple(published)) from exc
            except (ServiceRequestError, ServiceResponseError) as exc:
                raise PublishError(
                    f"Event Grid topic unreachable: {type(exc).__name__}", published_ids=tuple(published)
                ) from exc
            except PublishError as exc:  # a retry's wait would have passed the deadline (_bounded_sleep)
                raise PublishError(str(exc), published_ids=tuple(published)) from exc
            published.extend(e.id for e in batch)
        log.info("published %d event(s) in %d request(s)", len(published), self.requests_sent)

    def _error(self, status: int, published: tuple[str, ...]) -> PublishError:
        if status in (401, 403):
            text = (
                f"Event Grid refused the publish ({status}): check EVENTGRID_TOPIC_KEY, or grant the app's identity "
                "the EventGrid Data Sender role on the topic"
            )
        elif status == 404:
            text = "Event Grid answered 404: check EVENTGRID_TOPIC_ENDPOINT (…/api/events of a custom topic)"
        elif status in (400, 413):
            text = f"Event Grid rejected the payload ({status})"
        else:
            text = f"Event Grid answered {status}"
        transient = status in (408, 429) or status >= 500 or status == 0
        return PublishError(text, published_ids=published, transient=transient)


def _transport_sleeping_with(sleep: Callable[[float], None]) -> Any:
    """The SDK's requests transport, whose ``sleep`` (what the retry policy waits with) is ``sleep``."""
    from azure.core.pipeline.transport import RequestsTransport

    transport = RequestsTransport()
    transport.sleep = sleep
    return transport

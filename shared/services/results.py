"""What handling one delivered event did: the vocabulary of the subscribers and the delivery pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.domain.events import LifecycleEvent
    from shared.domain.policy import Assessment


class Outcome(StrEnum):
    PROCESSED = "processed"  # handled now (what it did is in the detail)
    DUPLICATE = "duplicate"  # handled before: a redelivery
    IGNORED = "ignored"  # outside this installation's scope
    REJECTED = "rejected"  # malformed or forged: acknowledged, never retried
    FAILED = "failed"  # failed permanently: recorded, acknowledged
    RETRY = "retry"  # failed transiently: Event Grid redelivers
    UNROUTED = "unrouted"  # no subscriber takes this event type
    QUEUED = "queued"  # handed to the delivery queue: deliver_queued does the work (a delivery's, never a handler's)


PROCESSED, DUPLICATE, IGNORED, REJECTED, FAILED, RETRY, UNROUTED = (
    Outcome.PROCESSED,
    Outcome.DUPLICATE,
    Outcome.IGNORED,
    Outcome.REJECTED,
    Outcome.FAILED,
    Outcome.RETRY,
    Outcome.UNROUTED,
)


@dataclass(frozen=True)
class HandleResult:
    """What handling one event did."""

    event_id: str
    outcome: Outcome
    detail: str = ""
    assessments: tuple[Assessment, ...] = ()
    emitted: tuple[LifecycleEvent, ...] = ()
    writes: tuple[str, ...] = field(default=())  # deployment ids written

"""The idempotency ledger's vocabulary: turning at-least-once delivery into exactly-once processing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Claim(StrEnum):
    """What a claim on (subscriber, key) found."""

    CLAIMED = "claimed"  # this attempt may process it
    DONE = "done"  # processed before: a redelivery, do nothing
    BUSY = "busy"  # another attempt holds an unexpired claim


class LedgerState(StrEnum):
    IN_PROGRESS = "in-progress"
    DONE = "done"


@dataclass(frozen=True)
class LedgerEntry:
    """One (subscriber, key) processing record."""

    subscriber: str
    event_id: str
    status: LedgerState
    expires_at: datetime | None = None  # an in-progress claim past this is abandoned (a crashed attempt)
    outcome: str = ""  # for done: what happened, or the permanent error that was acknowledged
    etag: str | None = None


OUTCOME_LIMIT = 4000  # an outcome is for people; Table Storage caps a string property at 32K characters

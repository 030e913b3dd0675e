"""Exactly once over at-least-once: ``process_once`` runs a piece of work at most once per (subscriber, key).

Event Grid delivers each event at least once, in any order, and redelivers on any error; a worker can die
between any two lines. The ledger turns that into exactly-once processing (powertools' idempotency handler):
1. one conditional write claims (subscriber, key) with an expiry; a redelivery of done work finds it done and
   does nothing; a concurrent attempt finds it busy;
2. the work runs; on success the claim becomes "done" with what happened;
3. a transient error releases the claim and re-raises: the platform retries and the next attempt runs it;
4. a permanent error is recorded as done ("failed: …") and acknowledged: retrying cannot help;
5. anything else (a bug, a worker killed) releases when it can; a claim left behind by a dead worker expires and
   the next delivery takes it over. Work must therefore be safe to repeat up to its own writes (idempotent).
A key the ledger itself refuses (too long for the store) is a permanent failure too: logged, never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Generic, TypeVar

from shared.domain.ledger import OUTCOME_LIMIT, Claim
from shared.errors import ModelWatchError, PermanentError
from shared.ports import Ledger

log = logging.getLogger(__name__)

T = TypeVar("T")


class Once(StrEnum):
    DONE = "done"  # ran now
    DUPLICATE = "duplicate"  # ran before
    BUSY = "busy"  # another attempt holds it
    FAILED = "failed"  # failed permanently: recorded, acknowledged


@dataclass(frozen=True)
class Processed(Generic[T]):
    status: Once
    value: T | None = None
    error: ModelWatchError | None = None


def process_once(
    ledger: Ledger,
    subscriber: str,
    key: str,
    work: Callable[[], T],
    *,
    now: datetime,
    ttl: timedelta,
    outcome: Callable[[T], str] = str,
) -> Processed[T]:
    """Run ``work`` once for (subscriber, key). Raises the work's transient errors (after releasing the claim)."""
    try:
        claim = ledger.claim(subscriber, key, now=now, expires_at=now + ttl)
    except ModelWatchError as exc:
        if exc.is_transient:
            raise
        log.error("%s: %s: the ledger refused the key (acknowledged): %s", subscriber, key[:80], exc)
        return Processed(Once.FAILED, error=PermanentError(f"ledger refused the key: {exc}"))
    if claim == Claim.DONE:
        return Processed(Once.DUPLICATE)
    if claim == Claim.BUSY:
        return Processed(Once.BUSY)
    try:
        value = work()
    except ModelWatchError as exc:
        if exc.is_transient:
            ledger.release(subscriber, key)
            raise
        ledger.complete(subscriber, key, f"failed: {exc}"[:OUTCOME_LIMIT])
        return Processed(Once.FAILED, error=exc)
    except BaseException:
        ledger.release(subscriber, key)
        raise
    ledger.complete(subscriber, key, outcome(value)[:OUTCOME_LIMIT])
    return Processed(Once.DONE, value)

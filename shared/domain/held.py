"""News held for a batch: the alert side's aggregation of per-deployment events (shared/services/notify/held.py).

Event Grid hands the alert subscriber one event per invocation, at least once, in any order. Twelve deployments
upgraded by Azure are twelve events; the owning team wants one message. So each such event is *held* in a buffer
under its route and group (what the message is about), and a timer sends one message per route and group once the
group has settled. Holding is idempotent (the event id is the item's key); a batch is claimed in the ledger under
its first item, its items are marked with it before the send, and only marked items are released after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class HeldAlert:
    """One deployment's news waiting for its route's next message about ``group``."""

    route: str
    group: str  # what the message is about (for example: Azure upgraded gpt-4o 2024-05-13 to 2024-08-06)
    item_id: str  # the event id: holding the same event twice is one item
    held_at: datetime
    body: str  # the event, as JSON
    batch: str | None = None  # the batch it is being sent in: set just before the send

"""A large inventory refresh in parts: the timer queues one message per part, refresh_inventory refreshes one.

Why: the timer refreshes the inventory within half of its time budget (TIMER_BUDGET_SECONDS, under host.json's
functionTimeout), and ARM paces each subscription's reads (25 a second once its burst is spent). Above
INVENTORY_FANOUT_THRESHOLD subscriptions (or named accounts), each subscription (or group of accounts) is a message,
refreshed by an invocation of its own, on as many instances as the platform runs.

Delivery is at least once, and a message can fail:
- a part carries the timer's instant: a redelivered message lists ARM again and saves the same rows (saves are
  upserts of what ARM says) and announces the same Azure upgrades with the same ids (outbox: first writer wins);
- a transient problem (throttling, 5xx, the time budget) raises, so the platform redelivers the message; a
  permanent one (a missing role on one account) is logged and the message acknowledged: the next timer run queues
  the part again, as a failed listing in the timer would be retried by its next run;
- a message that fails maxDequeueCount times (host.json) is moved by the platform to ``<queue>-poison``, where it
  stays to be read (docs/operations.md); a message that is not a refresh part fails every time, and ends there.
The queue is written before the sweep, so a failure to queue leaves the inventory as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from shared.domain.refresh import RefreshPart
from shared.errors import TransientError
from shared.ports import CatalogStateStore, EventPublisher, RefreshQueue
from shared.services.budget import Deadline
from shared.services.inventory import InventoryReport, InventoryService
from shared.services.outbox import drain_outbox

log = logging.getLogger(__name__)

WHO = "refresh_inventory"


@dataclass(frozen=True)
class FanOutReport:
    """What the timer did instead of refreshing: parts queued, deployments of unwatched accounts removed."""

    parts: int
    swept: int

    def summary(self) -> str:
        return f"inventory: {self.parts} part(s) queued for refresh_inventory; {self.swept} no longer watched removed"


def fan_out(inventory: InventoryService, queue: RefreshQueue, now: datetime) -> FanOutReport:
    """Queue every part of the refresh as of ``now``, then forget what left the scope (no part covers it)."""
    parts = inventory.parts(now)
    queue.enqueue(parts)
    swept = inventory.sweep()
    log.info("inventory: queued %d part(s); removed %d deployment(s) no longer watched", len(parts), swept)
    return FanOutReport(len(parts), swept)


def refresh_from_message(
    message: str,
    inventory: InventoryService,
    state: CatalogStateStore,
    publisher: EventPublisher,
    *,
    deadline: Deadline | None = None,
) -> InventoryReport:
    """Refresh the part a message names. Raises MessageFormatError (not a part: retried, then poisoned) or
    TransientError when the part is incomplete for a reason a retry may fix."""
    part = RefreshPart.from_json(message)
    report = inventory.refresh_part(part, deadline=deadline)
    if report.azure_upgrades:
        # published now rather than at the next timer run; what fails stays pending for that run's drain
        drain_outbox(state, publisher, who=WHO)
    if report.retryable:
        raise TransientError(
            f"{WHO}: part incomplete, redelivery retries it: " + "; ".join(report.problems[:3])
        )
    return report

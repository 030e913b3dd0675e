"""A time budget for one run: work not started before the deadline is reported, not begun.

The Functions host kills a run at ``functionTimeout`` (host.json) without warning; a run that stops starting new
work before then finishes what it began, publishes what it found, and says what it did not reach.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from shared.domain.waits import waits_until
from shared.errors import TransientError


class BudgetExceededError(TransientError):
    """The run's time budget was spent before this piece of work started; the next run does it."""


@dataclass(frozen=True)
class Deadline:
    at: float  # on ``clock``'s scale
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    def passed(self) -> bool:
        return self.clock() >= self.at

    def check(self, what: str) -> None:
        """Raise BudgetExceededError naming ``what`` when the deadline has passed."""
        if self.passed():
            raise BudgetExceededError(
                f"not reached: the run's time budget (TIMER_BUDGET_SECONDS) was spent before {what}"
            )


def bounded(deadline: Deadline | None) -> AbstractContextManager[None]:
    """Within the block, the adapters' waits (Retry-After, backoff, polls) end by ``deadline`` (shared/domain/waits.py):
    work already started cannot outlive the run."""
    return nullcontext() if deadline is None else waits_until(deadline.at, deadline.clock)

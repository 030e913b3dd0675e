"""How long the current run may still wait: the deadline of the run (TIMER_BUDGET_SECONDS), for the adapters.

A piece of work checks the run's deadline before it starts (shared/services/budget.py); once started, an ARM call
or a webhook post may still sleep through a Retry-After, a backoff or an operation's poll interval. The services
set the run's deadline here for the work they do (a context variable: each thread and each concurrent run has its
own), and the adapters never sleep past it: they raise a transient error instead, so the run ends in time and the
next one retries. No deadline set: waits are bounded only by the adapters' own caps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_UNTIL: ContextVar[tuple[float, Callable[[], float]] | None] = ContextVar(
    "modelwatch_wait_until", default=None
)


def seconds_left() -> float | None:
    """Seconds before the current run's deadline (0 once it has passed); None when the run has none."""
    until = _UNTIL.get()
    if until is None:
        return None
    at, clock = until
    return max(0.0, at - clock())


@contextmanager
def waits_until(at: float, clock: Callable[[], float]) -> Iterator[None]:
    """Within the block (on this thread, and in contexts copied from it), waits end by ``at`` on ``clock``'s scale.
    A deadline already set that is earlier stays."""
    current = _UNTIL.get()
    if current is not None and current[0] - current[1]() <= at - clock():
        yield
        return
    token = _UNTIL.set((at, clock))
    try:
        yield
    finally:
        _UNTIL.reset(token)

"""One canary run's tally, shared by its workers (``services/canary.py``): the tokens used against
CANARY_MAX_TOKENS (a judge's calls count too: it is the Budget of ``services/rubric.py``), the first reason the run
stopped, and the runs done. Every change under one lock: the workers are threads.
"""

from __future__ import annotations

import threading

from shared.domain.canary import ErrorKind, RunResult
from shared.errors import DataPlaneError, ModelWatchError


class RunStoppedError(ModelWatchError):
    """The run stopped (another worker's error, the token budget): this job starts nothing."""


# how a data-plane error stops a run: the first word of the error verdict's reason
STOPS = {
    "auth": ErrorKind.AUTH,
    "quota": ErrorKind.QUOTA,
    "not-found": ErrorKind.NO_TARGET,
    "unavailable": ErrorKind.UNAVAILABLE,
}


class Tally:
    """One run's shared state across its workers."""

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens
        self.used = 0
        self.stopped: list[str] = []
        self.results: dict[tuple[str, str], list[RunResult]] = {}
        self._lock = threading.Lock()

    def check(self) -> None:
        """Before each call: raise RunStoppedError once the run stopped or the budget is spent."""
        with self._lock:
            if not self.stopped and self.used >= self.max_tokens:
                self.stopped.append(
                    f"{ErrorKind.BUDGET.value}: stopped at CANARY_MAX_TOKENS={self.max_tokens} "
                    f"({self.used} tokens used) before every case ran"
                )
            if self.stopped:
                raise RunStoppedError

    def spend(self, tokens: int) -> None:
        with self._lock:
            self.used += tokens

    def stop(self, exc: DataPlaneError) -> None:
        kind = STOPS.get(exc.kind, ErrorKind.FAILED)
        message = str(exc).split(": ", 1)[-1] if str(exc).startswith(kind.value) else str(exc)
        with self._lock:
            self.stopped.append(f"{kind.value}: {message}")

    def add(self, key: tuple[str, str], run: RunResult) -> None:
        with self._lock:
            self.results.setdefault(key, []).append(run)

"""A canary's verdict (the rules that reach it: shared/domain/canary.py).

A module of its own because the CanaryEvaluated payload carries it (payloads.py), and canary.py builds events: the
payloads importing it from there would be an import cycle.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password; no regression, and the target meets the suite's threshold
    REGRESSION = (
        "regression"  # a case passing on the current version fails on the target (or threshold missed)
    )
    ERROR = "error"  # could not run: the reason says which (quota, capacity, auth, not offered, budget, ...)

"""UPGRADE_GATE=canary: modelwatch's own upgrade of a deployment a suite covers waits for a passing canary.

What the ledger recorded for (deployment, target) under the canary runs' subscriber decides (``services/canary.py``
runs them once each). Fail closed: suites that cannot be read hold every write they might cover.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.domain.canary import canary_key, verdict_of
from shared.domain.evals import SuiteSet, suite_for
from shared.domain.ledger import LedgerState
from shared.domain.policy import Assessment
from shared.domain.verdict import Verdict
from shared.errors import PermanentError
from shared.ports import Ledger
from shared.services.canary import SUBSCRIBER


class CanaryGate:
    """UPGRADE_GATE=canary: modelwatch's own upgrade (enforce mode) of a deployment a suite covers waits for a
    passing canary of that target. What the ledger recorded for (deployment, target) decides:
    - pass: the write goes ahead;
    - nothing yet (or a run in progress): ``WAIT``: the policy subscriber raises a transient error once its other
      writes are done, Event Grid redelivers, and the redelivery finds the canary's verdict;
    - regression or error: ``HOLD``: the write is not made, and the event is done (the canary's own message told
      the team why); a later catalog event about the deployment asks again.
    Suites that cannot be read hold every write they might cover (fail closed): an unreadable source every write,
    a malformed suite every write no readable suite covers."""

    WAIT, HOLD = "wait", "hold"

    def __init__(self, ledger: Ledger, suites: Callable[[], SuiteSet]) -> None:
        self.ledger = ledger
        self.suites = suites  # read on first use: a malformed suite must not stop the function app starting

    def check(self, a: Assessment) -> tuple[str, str] | None:
        """None: the write may go ahead; else (WAIT or HOLD, why)."""
        d = a.deployment
        target_model = a.target_model or d.model_name
        target = f"{target_model} {a.target_version}"
        try:
            found = self.suites()
        except PermanentError as exc:
            return self.HOLD, f"UPGRADE_GATE=canary, and the suites cannot be read: {exc}"
        suite = suite_for(found.suites, d.account_id.rsplit("/", 1)[-1], d.name, d.tags)
        if suite is None and found.problems:  # the malformed one may be the suite covering it
            return (
                self.HOLD,
                f"UPGRADE_GATE=canary, and a suite that may cover it cannot be read: {found.problems[0]}",
            )
        if suite is None:
            return None  # not covered: the gate does not apply
        entry = self.ledger.get(SUBSCRIBER, canary_key(d.resource_id, target_model, a.target_version or ""))
        verdict = (
            verdict_of(entry.outcome) if entry is not None and entry.status == LedgerState.DONE else None
        )
        if verdict is Verdict.PASS:
            return None
        if verdict is None:
            return self.WAIT, f"waiting for the canary of {target} (suite {suite.name})"
        return self.HOLD, f"the canary of {target} did not pass ({entry.outcome if entry else verdict.value})"

"""What the status page shows, read from the stored state: every deployment's standing, what is coming, the watcher.

Read-only: nothing here writes. The same data backs ``GET /api/status`` (HTML or ``?format=json``) and
``python -m shared report``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from shared.domain.catalog import ModelVersion, VersionKey
from shared.domain.changes import POLICY_ONLY, AppliedBy, VersionChange, pins_in_force
from shared.domain.ids import arm_key
from shared.domain.policy import PolicyMode, PolicyRules, assess, worst_first
from shared.domain.status import DEFAULT_POLL_PERIOD, StatusReport, latest_tested, upcoming_changes
from shared.ports import CanaryResults, CatalogStateStore, DeploymentStore, VersionChangeStore
from shared.services.policy import catalog_view


def build_status(
    *,
    inventory: DeploymentStore,
    rollbacks: VersionChangeStore,
    state: CatalogStateStore,
    rules: PolicyRules,
    locations: Sequence[str],
    now: datetime,
    horizon: timedelta = timedelta(days=365),
    recent_days: int = 7,
    poll_period: timedelta = DEFAULT_POLL_PERIOD,
    results: CanaryResults | None = None,
) -> StatusReport:
    """The report as of ``now``; ``poll_period`` (CATALOG_POLL_PERIOD_MINUTES) judges the watcher's health."""
    deployments = inventory.list_deployments()
    wanted = sorted({*locations, *(d.location for d in deployments)})
    catalogs: dict[str, dict[VersionKey, ModelVersion]] = {loc: catalog_view(state, loc) for loc in wanted}
    assessments = sorted(
        (assess(d, catalogs.get(d.location, {}), now, rules) for d in deployments), key=worst_first
    )
    usable: dict[str, VersionChange] = {}
    changes = rollbacks.list_changes()  # newest first
    for record in changes:
        owner = arm_key(record.deployment_id)
        if (
            owner not in usable
            and record.applied_by != AppliedBy.ROLLBACK
            and record.applied_by not in POLICY_ONLY  # a protection moved no version: nothing to go back to
            and record.can_roll_back(now)
        ):
            usable[owner] = record
    return StatusReport(
        at=now,
        mode=PolicyMode.of(rules.enforce),
        assessments=tuple(assessments),
        rollbacks=usable,
        pins={arm_key(pin.deployment_id): pin for pin in pins_in_force(changes)},
        upcoming=upcoming_changes(assessments, catalogs, now, horizon),
        cursors=tuple(state.get_cursor(loc) for loc in wanted),
        # --at in the past shows what was known then: nothing published after it
        recent=tuple(e for e in state.list_history(now - timedelta(days=recent_days)) if e.event_time <= now),
        recent_days=recent_days,
        poll_period=poll_period,
        # one read of the stored canary results (a query of the whole table: results are few, one per run)
        tested=latest_tested(results.list_results(), assessments) if results is not None else {},
    )

"""What the status page shows, read from the stored state: every deployment's standing, what is coming, the watcher.

Read-only: nothing here writes. The same data backs ``GET /api/status`` (HTML or ``?format=json``) and
``python -m shared report``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from shared.domain.catalog import ModelVersion, VersionKey
from shared.domain.changes import VersionChange
from shared.domain.ids import arm_key
from shared.domain.policy import PolicyRules, assess, worst_first
from shared.domain.status import DEFAULT_POLL_PERIOD, StatusReport, Upcoming
from shared.ports import CatalogStateStore, DeploymentStore, VersionChangeStore
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
) -> StatusReport:
    """The report as of ``now``; ``poll_period`` (CATALOG_POLL_PERIOD_MINUTES) judges the watcher's health."""
    deployments = inventory.list_deployments()
    wanted = sorted({*locations, *(d.location for d in deployments)})
    catalogs: dict[str, dict[VersionKey, ModelVersion]] = {loc: catalog_view(state, loc) for loc in wanted}
    assessments = sorted(
        (assess(d, catalogs.get(d.location, {}), now, rules) for d in deployments), key=worst_first
    )
    usable: dict[str, VersionChange] = {}
    for record in rollbacks.list_changes():  # newest first
        owner = arm_key(record.deployment_id)
        if owner not in usable and record.applied_by != "rollback" and record.can_roll_back(now):
            usable[owner] = record
    on_version: dict[tuple[str, VersionKey], int] = {}
    for d in deployments:
        on_version[(d.location, d.version_key)] = on_version.get((d.location, d.version_key), 0) + 1
    upcoming: list[Upcoming] = []
    for (location, key), count in sorted(on_version.items()):
        version = catalogs.get(location, {}).get(key)
        if version is None:
            continue
        label = f"{key.name} {key.version}"
        dates = {version.effective_retirement_date, *(date for _, date in version.sku_retirement_dates)}
        for date in sorted(day for day in dates if day is not None):
            if now <= date <= now + horizon:
                upcoming.append(Upcoming(date, "retirement", label, location, count))
        start = version.replacement.auto_upgrade_start if version.replacement else None
        if start is not None and now <= start <= now + horizon:
            upcoming.append(Upcoming(start, "default change", label, location, count))
    return StatusReport(
        at=now,
        mode="enforce" if rules.enforce else "plan",
        assessments=tuple(assessments),
        rollbacks=usable,
        upcoming=tuple(sorted(upcoming, key=lambda u: (u.when, u.location, u.model))),
        cursors=tuple(state.get_cursor(loc) for loc in wanted),
        # --at in the past shows what was known then: nothing published after it
        recent=tuple(e for e in state.list_history(now - timedelta(days=recent_days)) if e.event_time <= now),
        recent_days=recent_days,
        poll_period=poll_period,
    )

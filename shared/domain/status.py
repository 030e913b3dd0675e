"""The status page's data: every deployment's standing, what is coming, the watcher's health (built by
shared/services/status.py, rendered by shared/domain/status_page.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.policy import Assessment, Status
from shared.domain.rollback import RollbackRecord
from shared.domain.timeutil import format_instant
from shared.ports import Cursor


@dataclass(frozen=True)
class Upcoming:
    """A dated change ahead in a region's catalog that touches deployed models."""

    when: datetime
    kind: str  # "retirement" or "default change"
    model: str  # "gpt-4o 2024-05-13"
    location: str
    deployments: int  # how many deployments are on this version there


@dataclass(frozen=True)
class StatusReport:
    at: datetime
    mode: str
    assessments: tuple[Assessment, ...]
    rollbacks: dict[str, RollbackRecord]  # newest usable rollback per deployment key
    upcoming: tuple[Upcoming, ...]
    cursors: tuple[Cursor, ...]

    def count(self, status: Status) -> int:
        return sum(a.status is status for a in self.assessments)

    def to_json(self) -> dict[str, object]:
        def dep(a: Assessment) -> dict[str, object]:
            d = a.deployment
            r = self.rollbacks.get(d.key)
            return {
                "deploymentId": d.resource_id, "name": d.name, "account": d.account_id.rsplit("/", 1)[-1],
                "location": d.location, "model": d.model_name, "version": d.model_version, "sku": d.sku_name,
                "policy": d.policy, "provisioned": d.is_provisioned, "status": a.status.value, "summary": a.summary,
                "retirementDate": format_instant(a.retirement_date), "daysLeft": a.days_left,
                "actionDate": format_instant(a.action_date), "targetVersion": a.target_version,
                "rollback": None if r is None else {"toVersion": r.from_version,
                                                    "availableUntil": format_instant(r.available_until)},
            }  # fmt: skip

        return {
            "at": format_instant(self.at),
            "mode": self.mode,
            "counts": {s.value: self.count(s) for s in Status},
            "deployments": [dep(a) for a in self.assessments],
            "upcoming": [
                {
                    "date": format_instant(u.when),
                    "kind": u.kind,
                    "model": u.model,
                    "location": u.location,
                    "deployments": u.deployments,
                }
                for u in self.upcoming
            ],
            "locations": [
                {
                    "location": c.location,
                    "lastCycleAt": format_instant(c.last_cycle_at),
                    "cycles": c.cycles,
                    "anomaly": c.anomaly,
                    "lastError": c.last_error,
                }
                for c in self.cursors
            ],
        }

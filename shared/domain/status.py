"""The status page's data: every deployment's standing, what is coming, the watcher's health (built by
shared/services/status.py, rendered by shared/presentation/status_page.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.domain.changes import VersionChange
from shared.domain.cursor import Cursor
from shared.domain.describe import describe, model_label, short_type
from shared.domain.events import CATALOG_EVENT_TYPES, EventType, LifecycleEvent
from shared.domain.policy import Assessment, Status
from shared.domain.timeutil import format_instant


@dataclass(frozen=True)
class Upcoming:
    """A dated change ahead in a region's catalog that touches deployed models."""

    when: datetime
    kind: str  # "retirement" or "default change"
    model: str  # "gpt-4o 2024-05-13"
    location: str
    deployments: int  # how many deployments are on this version there


@dataclass(frozen=True)
class RecentChange:
    """One line of the page's recent events: a catalog change with every region it landed in, or one
    deployment's event."""

    when: datetime
    kind: str  # the event type without its "ModelLifecycle." prefix
    subject: str  # "gpt-4o 2024-08-06" or a deployment's name
    what: str
    where: tuple[str, ...]  # regions; for a deployment its account and region


def _deployment_text(event: LifecycleEvent) -> str:
    d = event.data
    kind = event.event_type
    if kind == EventType.DEPLOYMENT_UPGRADED:
        return (
            f"{d.get('fromModel') or d.get('modelName')} {d.get('fromVersion')} -> "
            f"{d.get('toModel') or d.get('modelName')} {d.get('toVersion')} (by {d.get('appliedBy')})"
        )
    if kind == EventType.DEPLOYMENT_ROLLED_BACK:
        side = f" side by side as {d.get('siblingDeploymentName')}" if d.get("sideBySide") else ""
        return (
            f"rolled back {d.get('fromModel') or d.get('modelName')} {d.get('fromVersion')} -> "
            f"{d.get('toModel') or d.get('modelName')} {d.get('toVersion')}{side}"
        )
    label = f"{d.get('modelName')} {d.get('modelVersion')}"
    summary = str(d.get("summary") or describe(event))
    return summary if summary.startswith(label) else f"{label}: {summary}"


def recent_changes(events: Sequence[LifecycleEvent], limit: int = 40) -> tuple[list[RecentChange], int]:
    """Newest first, a catalog change once with its regions; and how many lines did not fit in ``limit``."""
    lines: dict[tuple[object, ...], RecentChange] = {}
    for e in events:
        if e.event_type in CATALOG_EVENT_TYPES:
            text = describe(e)
            key: tuple[object, ...] = (e.event_time, e.event_type, model_label(e), text)
            location = str(e.data.get("location") or "?")
            seen = lines.get(key)
            where = (location,) if seen is None else tuple(sorted({*seen.where, location}))
            lines[key] = RecentChange(e.event_time, short_type(e), model_label(e), text, where)
        elif e.event_type != EventType.CATALOG_DIGEST:
            account = str(e.data.get("accountId") or "").rsplit("/", 1)[-1]
            name = str(e.data.get("deploymentName") or e.subject.rsplit("/", 1)[-1])
            where = (f"{account} · {e.data.get('location')}",)
            lines[(e.id,)] = RecentChange(e.event_time, short_type(e), name, _deployment_text(e), where)
    ordered = sorted(lines.values(), key=lambda c: (c.when, c.kind, c.subject), reverse=True)
    return ordered[:limit], max(0, len(ordered) - limit)


@dataclass(frozen=True)
class StatusReport:
    at: datetime
    mode: str
    assessments: tuple[Assessment, ...]
    rollbacks: dict[str, VersionChange]  # newest usable rollback per deployment key
    upcoming: tuple[Upcoming, ...]
    cursors: tuple[Cursor, ...]
    recent: tuple[LifecycleEvent, ...] = ()  # published events of the last days, oldest first
    recent_days: int = 7

    @property
    def last_cycle_at(self) -> datetime | None:
        times = [c.last_cycle_at for c in self.cursors if c.last_cycle_at is not None]
        return max(times) if times else None

    def last_cycle_events(self) -> tuple[LifecycleEvent, ...]:
        """The catalog events the last cycle found (a cycle stamps its events with its own time)."""
        last = self.last_cycle_at
        return tuple(e for e in self.recent if e.event_type in CATALOG_EVENT_TYPES and e.event_time == last)

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
                "actionDate": format_instant(a.action_date), "targetModel": a.target_model if a.target_version else None,
                "targetVersion": a.target_version, "reason": a.reason,
                "rollback": None if r is None else {"toModel": r.from_model or d.model_name, "toVersion": r.from_version,
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
            "lastCycleAt": format_instant(self.last_cycle_at),
            "lastCycleEvents": [e.to_wire() for e in self.last_cycle_events()],
            "recentEvents": [e.to_wire() for e in self.recent],
            "recentDays": self.recent_days,
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

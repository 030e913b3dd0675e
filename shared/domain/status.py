"""The status page's data: every deployment's standing, what is coming, the watcher's health (built by
shared/services/status.py, rendered by shared/presentation/status_page.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.domain.changes import VersionChange
from shared.domain.cursor import Cursor
from shared.domain.describe import describe, location_of, model_label, short_type
from shared.domain.events import CATALOG_EVENT_TYPES, LifecycleEvent
from shared.domain.payloads import AssessmentData, DeploymentData, RolledBackData, VersionChangeData
from shared.domain.policy import Assessment, Status
from shared.domain.timeutil import format_instant
from shared.errors import EventFormatError


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


def _deployment_text(event: LifecycleEvent, d: DeploymentData) -> str:
    if isinstance(d, VersionChangeData):
        change = (
            f"{d.from_model or d.model_name} {d.from_version} -> {d.to_model or d.model_name} {d.to_version}"
        )
        if isinstance(d, RolledBackData):
            side = f" side by side as {d.sibling_deployment_name}" if d.side_by_side else ""
            return f"rolled back {change}{side}"
        return f"{change} (by {d.applied_by})"
    label = f"{d.model_name} {d.model_version}"
    summary = (d.summary if isinstance(d, AssessmentData) else "") or describe(event)
    return summary if summary.startswith(label) else f"{label}: {summary}"


def recent_changes(events: Sequence[LifecycleEvent], limit: int = 40) -> tuple[list[RecentChange], int]:
    """Newest first, a catalog change once with its regions; and how many lines did not fit in ``limit``.
    An event whose data cannot be read is left out (it was reported when it was received)."""
    lines: dict[tuple[object, ...], RecentChange] = {}
    for e in events:
        try:
            payload = e.payload()
        except EventFormatError:
            continue
        if e.event_type in CATALOG_EVENT_TYPES:
            text = describe(e)
            key: tuple[object, ...] = (e.event_time, e.event_type, model_label(e), text)
            location = location_of(e) or "?"
            seen = lines.get(key)
            where = (location,) if seen is None else tuple(sorted({*seen.where, location}))
            lines[key] = RecentChange(e.event_time, short_type(e), model_label(e), text, where)
        elif isinstance(payload, DeploymentData):
            account = payload.account_id.rsplit("/", 1)[-1]
            where = (f"{account} · {payload.location}",)
            text = _deployment_text(e, payload)
            lines[(e.id,)] = RecentChange(e.event_time, short_type(e), payload.deployment_name, text, where)
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
                "deploymentId": d.resource_id,
                "name": d.name,
                "account": d.account_id.rsplit("/", 1)[-1],
                "location": d.location,
                "model": d.model_name,
                "version": d.model_version,
                "sku": d.sku_name,
                "policy": d.policy,
                "provisioned": d.is_provisioned,
                "status": a.status.value,
                "summary": a.summary,
                "retirementDate": format_instant(a.retirement_date),
                "daysLeft": a.days_left,
                "actionDate": format_instant(a.action_date),
                "targetModel": a.target_model if a.target_version else None,
                "targetVersion": a.target_version,
                "reason": a.reason,
                "rollback": None
                if r is None
                else {
                    "toModel": r.from_model or d.model_name,
                    "toVersion": r.from_version,
                    "availableUntil": format_instant(r.available_until),
                },
            }

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

"""The status page's data: every deployment's standing, what is coming, the watcher's health (built by
shared/services/status.py, rendered by shared/presentation/status_page.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.catalog import ModelVersion, VersionKey
from shared.domain.changes import VersionChange
from shared.domain.cursor import Cursor
from shared.domain.describe import describe, location_of, model_label, short_type
from shared.domain.events import CATALOG_EVENT_TYPES, EventType, LifecycleEvent
from shared.domain.ids import event_id
from shared.domain.payloads import (
    AssessmentData,
    CanaryEvaluatedData,
    DeploymentData,
    RolledBackData,
    UpgradeFailedData,
    VersionChangeData,
)
from shared.domain.policy import Assessment, PolicyMode, Status
from shared.domain.timeutil import format_instant
from shared.domain.verdict import Verdict
from shared.errors import EventFormatError


class ChangeKind(StrEnum):
    """A dated change ahead in a catalog, as the status page names it."""

    RETIREMENT = "retirement"
    DEFAULT_CHANGE = "default change"


@dataclass(frozen=True)
class Upcoming:
    """A dated change ahead in a region's catalog that touches deployed models."""

    when: datetime
    kind: ChangeKind
    model: str  # "gpt-4o 2024-05-13"
    location: str
    deployments: int  # how many deployments are on this version there


@dataclass(frozen=True)
class DatedChange:
    """One mark of the page's timeline: a version's retirement or default change on one day, in every region where
    it touches deployed models."""

    when: datetime  # the earliest instant of that day among its regions
    kind: ChangeKind
    model: str
    locations: tuple[str, ...]
    deployments: int  # over every region


def upcoming_changes(
    assessments: Iterable[Assessment],
    catalogs: Mapping[str, Mapping[VersionKey, ModelVersion]],
    now: datetime,
    horizon: timedelta,
) -> tuple[Upcoming, ...]:
    """Every dated risk to a deployment within ``horizon``: the retirements (per SKU too) and default changes
    the region's catalog announces for the versions deployed there, and the retirements the catalog cannot speak
    for (a fine-tuned model's own date, from the account's model list), which its assessment carries. Soonest
    first; one entry per version, kind, date and region, counting its deployments."""
    counts: dict[tuple[datetime, ChangeKind, str, str], int] = {}

    def add(when: datetime | None, kind: ChangeKind, label: str, location: str) -> None:
        if when is not None and now <= when <= now + horizon:
            key = (when, kind, label, location)
            counts[key] = counts.get(key, 0) + 1

    for a in assessments:
        d = a.deployment
        label = f"{d.model_name} {d.model_version}"
        version = catalogs.get(d.location, {}).get(d.version_key)
        if version is None:
            add(
                a.retirement_date, ChangeKind.RETIREMENT, label, d.location
            )  # fine-tuned: the date it was judged by
            continue
        dates = {version.effective_retirement_date, *(date for _, date in version.sku_retirement_dates)}
        for date in dates:
            add(date, ChangeKind.RETIREMENT, label, d.location)
        add(
            version.replacement.auto_upgrade_start if version.replacement else None,
            ChangeKind.DEFAULT_CHANGE,
            label,
            d.location,
        )
    upcoming = (Upcoming(when, kind, label, loc, n) for (when, kind, label, loc), n in counts.items())
    return tuple(sorted(upcoming, key=lambda u: (u.when, u.location, u.model)))


def dated_changes(upcoming: Iterable[Upcoming]) -> list[DatedChange]:
    """The upcoming changes, one per model version, kind and day, its regions merged; soonest first."""
    groups: dict[tuple[object, ...], list[Upcoming]] = {}
    for u in upcoming:
        groups.setdefault((u.when.date(), u.kind, u.model), []).append(u)
    merged = [
        DatedChange(
            min(u.when for u in group),
            group[0].kind,
            group[0].model,
            tuple(sorted({u.location for u in group})),
            sum(u.deployments for u in group),
        )
        for group in groups.values()
    ]
    return sorted(merged, key=lambda c: (c.when, c.model, c.kind))


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
    if isinstance(d, CanaryEvaluatedData):
        target = f"{d.target_model_name} {d.target_version}"
        if d.verdict == Verdict.ERROR:
            return f"{label}: the canary on {target} could not run ({d.reason})"
        tested = f"tested: {d.current_passed}/{d.cases} -> {d.target_passed}/{d.cases} on {target}"
        return tested + (f", regressed: {', '.join(d.regressions)}" if d.regressions else "")
    if isinstance(d, UpgradeFailedData):
        return f"{label}: modelwatch's upgrade to {d.target_model_name} {d.target_version} refused: {d.error}"
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


# the missed-run alert's window (infra/modules/monitoring.bicep: missedWindowMinutes = 2 * catalogPollPeriodMinutes)
MISSED_RUN_PERIODS = 2
DEFAULT_POLL_PERIOD = timedelta(minutes=60)


@dataclass(frozen=True)
class RegionProblem:
    """A watched region the page calls out: what is wrong, and since when it was last read well."""

    location: str
    detail: str  # the last error, or what the held anomaly is
    last_cycle_at: datetime | None  # its last completed cycle
    since: datetime | None = (
        None  # an anomaly: when it was announced, when that event is still in the history
    )


@dataclass(frozen=True)
class WatcherHealth:
    """The catalog watcher's health, judged as the Azure Monitor alerts judge it: no completed cycle for twice the
    poll period is a missed run; on top, the regions whose last cycle failed, whose anomaly is held, or that fell
    behind the others."""

    at: datetime
    window: timedelta  # MISSED_RUN_PERIODS times the poll period
    last_cycle_at: datetime | None  # the newest completed cycle of any region
    regions: int
    failing: tuple[RegionProblem, ...] = ()  # the last cycle failed (cursor.last_error); the snapshot is kept
    anomalies: tuple[RegionProblem, ...] = ()  # the catalog looked broken; the old snapshot is held
    behind: tuple[RegionProblem, ...] = ()  # not read within the window (or never) while others were

    @property
    def is_overdue(self) -> bool:
        """No cycle completed in the window: the watcher is blind (the missed-run alert fires too)."""
        return self.last_cycle_at is None or self.at - self.last_cycle_at > self.window

    @property
    def is_healthy(self) -> bool:
        return not (self.is_overdue or self.failing or self.anomalies or self.behind)

    def to_json(self) -> dict[str, object]:
        def region(p: RegionProblem) -> dict[str, object]:
            return {
                "location": p.location,
                "detail": p.detail,
                "lastCycleAt": format_instant(p.last_cycle_at),
                "since": format_instant(p.since),
            }

        return {
            "healthy": self.is_healthy,
            "overdue": self.is_overdue,
            "lastCycleAt": format_instant(self.last_cycle_at),
            "windowMinutes": int(self.window.total_seconds() // 60),
            "failing": [region(p) for p in self.failing],
            "anomalies": [region(p) for p in self.anomalies],
            "behind": [region(p) for p in self.behind],
        }


def _held_anomaly(cursor: Cursor, digest: str, events: Sequence[LifecycleEvent]) -> RegionProblem:
    """What the held anomaly is, from the event that announced it (its id derives from the anomaly's digest,
    shared/domain/diff.py); once that event is out of the recent history, in general words."""
    ident = event_id(EventType.CATALOG_ANOMALY.value, cursor.location, digest)
    announced = next((e for e in events if e.id == ident), None)
    if announced is None:
        text = "too many versions vanished from the listing at once: snapshot kept, no retirements emitted"
        return RegionProblem(cursor.location, text, cursor.last_cycle_at)
    return RegionProblem(cursor.location, describe(announced), cursor.last_cycle_at, announced.event_time)


def watcher_health(
    cursors: Sequence[Cursor],
    now: datetime,
    poll_period: timedelta,
    events: Sequence[LifecycleEvent] = (),
) -> WatcherHealth:
    """The watcher's health at ``now`` from each region's cursor; ``events`` (the recent history) name what a held
    anomaly is. A cycle later than ``now`` (a report as of a past date) counts as fresh."""
    window = MISSED_RUN_PERIODS * poll_period
    times = [c.last_cycle_at for c in cursors if c.last_cycle_at is not None]
    last = max(times) if times else None
    failing: list[RegionProblem] = []
    anomalies: list[RegionProblem] = []
    for c in cursors:
        if c.last_error:
            failing.append(RegionProblem(c.location, c.last_error, c.last_cycle_at))
        if c.anomaly:
            anomalies.append(_held_anomaly(c, c.anomaly, events))
    overdue = last is None or now - last > window
    behind = (
        ()
        if overdue
        else tuple(
            RegionProblem(
                c.location, "never read" if c.last_cycle_at is None else "not read", c.last_cycle_at
            )
            for c in cursors
            if not c.last_error and (c.last_cycle_at is None or now - c.last_cycle_at > window)
        )
    )
    return WatcherHealth(now, window, last, len(cursors), tuple(failing), tuple(anomalies), behind)


def unpin_command(deployment_id: str) -> str:
    """How an operator lifts a CANARY_PROTECT pin by hand (``canary unpin``)."""
    return f"python -m shared canary unpin --deployment {deployment_id}"


def pin_line(pin: VersionChange, mode: PolicyMode) -> str:
    """The status page's words for a pin: since when, what comes back and when; in plan mode, that modelwatch will
    not lift it (lifting is a write) and how to."""
    back = pin.original_policy or "its policy"
    when = f"by {pin.available_until:%Y-%m-%d} at the latest" if pin.available_until else "no deadline known"
    text = (
        f"pinned to NoAutoUpgrade by CANARY_PROTECT since {pin.changed_at:%Y-%m-%d}: {back} is put back when a "
        f"later canary passes ({when})"
    )
    if mode is PolicyMode.PLAN:
        text += f"; plan mode lifts nothing: {unpin_command(pin.deployment_id)}"
    return text


def pin_fields(pin: VersionChange) -> dict[str, object]:
    """A pin as ``canary pins -o json`` and the status JSON give it: since when, the policy put back, the deadline
    (a day), the command that lifts it."""
    return {
        "since": format_instant(pin.changed_at),
        "putBack": pin.original_policy,
        "liftedBy": f"{pin.available_until:%Y-%m-%d}" if pin.available_until else None,
        "lift": unpin_command(pin.deployment_id),
    }


@dataclass(frozen=True)
class Tested:
    """A deployment's latest stored canary result on its current version: the status page's "tested" line."""

    verdict: Verdict | None  # None: the stored result names none this version knows (shown as "")
    suite: str
    target: str  # "gpt-4o 2024-11-20"
    cases: int
    current_passed: int
    target_passed: int
    regressions: tuple[str, ...] = ()
    reason: str = ""  # an error verdict: what stopped it
    at: str = ""  # the run's instant (wire form)

    @property
    def line(self) -> str:
        if self.verdict == Verdict.ERROR:
            return f"canary on {self.target} could not run: {self.reason}"
        n = self.cases
        text = f"tested: {self.current_passed}/{n} → {self.target_passed}/{n} on {self.target}"
        return text + (f" (regressed: {', '.join(self.regressions)})" if self.regressions else "")

    def to_json(self) -> dict[str, object]:
        return {
            "verdict": self.verdict or "",
            "suite": self.suite,
            "target": self.target,
            "cases": self.cases,
            "currentPassed": self.current_passed,
            "targetPassed": self.target_passed,
            "regressions": list(self.regressions),
            "reason": self.reason or None,
            "at": self.at or None,
            "line": self.line,
        }


def _verdict(stored: object) -> Verdict | None:
    """A stored result's verdict; lenient, so a result written without one (or with one since dropped) still reads."""
    return Verdict(stored) if isinstance(stored, str) and stored in {v.value for v in Verdict} else None


def latest_tested(
    results: Iterable[Mapping[str, object]], assessments: Iterable[Assessment]
) -> dict[str, Tested]:
    """Per deployment key, its latest stored canary result (``results`` oldest first, as the store lists them)
    that ran on the version it runs now: a result of a version it has left is history, not its standing."""
    from shared.domain.ids import arm_key

    running = {a.deployment.key: (a.deployment.model_name, a.deployment.model_version) for a in assessments}
    out: dict[str, Tested] = {}
    for doc in results:
        key = arm_key(str(doc.get("deployment") or ""))
        cur, tgt = doc.get("current"), doc.get("target")
        if key not in running or not isinstance(cur, dict) or not isinstance(tgt, dict):
            continue
        if (cur.get("model"), cur.get("version")) != running[key]:
            continue
        cases = doc.get("cases")
        regressions = doc.get("regressions")
        out[key] = Tested(
            verdict=_verdict(doc.get("verdict")),
            suite=str(doc.get("suite") or ""),
            target=f"{tgt.get('model')} {tgt.get('version')}",
            cases=len(cases) if isinstance(cases, list) else 0,
            current_passed=int(str(cur.get("passed") or 0)),
            target_passed=int(str(tgt.get("passed") or 0)),
            regressions=tuple(str(r) for r in regressions) if isinstance(regressions, list) else (),
            reason=str(doc.get("reason") or ""),
            at=str(doc.get("at") or ""),
        )
    return out


@dataclass(frozen=True)
class StatusReport:
    at: datetime
    mode: PolicyMode
    assessments: tuple[Assessment, ...]
    rollbacks: dict[str, VersionChange]  # newest usable rollback per deployment key
    upcoming: tuple[Upcoming, ...]
    cursors: tuple[Cursor, ...]
    recent: tuple[LifecycleEvent, ...] = ()  # published events of the last days, oldest first
    recent_days: int = 7
    poll_period: timedelta = DEFAULT_POLL_PERIOD  # CATALOG_POLL_PERIOD_MINUTES
    tested: Mapping[str, Tested] = field(default_factory=dict)  # per deployment key: its latest canary (#25)
    # per deployment key: the NoAutoUpgrade pin CANARY_PROTECT holds on it (lifted by modelwatch in enforce mode only)
    pins: Mapping[str, VersionChange] = field(default_factory=dict)

    @property
    def last_cycle_at(self) -> datetime | None:
        times = [c.last_cycle_at for c in self.cursors if c.last_cycle_at is not None]
        return max(times) if times else None

    @property
    def health(self) -> WatcherHealth:
        return watcher_health(self.cursors, self.at, self.poll_period, self.recent)

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
            tested = self.tested.get(d.key)
            pin = self.pins.get(d.key)
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
                "tested": tested.to_json() if tested is not None else None,
                "pinned": None if pin is None else {**pin_fields(pin), "line": pin_line(pin, self.mode)},
            }

        return {
            "at": format_instant(self.at),
            "mode": self.mode,
            "health": self.health.to_json(),
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

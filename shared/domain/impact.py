"""What a catalog change means for one team's deployments, in a few lines (pure).

A team owning 24 deployments of one version does not want 24 messages: it wants "Azure moves 12 of them within two
weeks; 6 upgrade when it expires; 6 are NoAutoUpgrade and stop on 2025-01-20". The lines here group the policy
engine's decisions by outcome (who moves them, to what, when) and name the deployments, a few per line, counting
the rest; the status page lists every one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.domain.policy import Assessment, Status, worst_first
from shared.domain.severity import Severity

NAMES_PER_LINE = 6  # deployments named on one line; the rest are counted

# statuses a team is told about; healthy ones are counted only beside these
TOLD = frozenset({Status.BROKEN, Status.AT_RISK, Status.UPGRADE_PLANNED, Status.UPGRADE_EXPECTED})


@dataclass(frozen=True)
class Impact:
    lines: tuple[str, ...]  # one per outcome, worst first
    severity: Severity
    todo: str
    deployments: int  # how many of the team's deployments the change concerns

    @property
    def told(self) -> bool:
        """Whether anything here is worth a message of its own (something happens to a deployment)."""
        return bool(self.lines)


def _day(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d}" if value is not None else "an unknown date"


def _names(group: Sequence[Assessment]) -> str:
    names = [a.deployment.name for a in group[:NAMES_PER_LINE]]
    more = len(group) - len(names)
    return ", ".join(names) + (f" and {more} more" if more else "")


def _outcome(a: Assessment, enforce: bool) -> tuple[str, str]:
    """(sort key, sentence without the names) of one decision: equal sentences share a line."""
    target = a.target_label or "a newer version"
    if a.status is Status.BROKEN:
        return "0", "Stopped answering (HTTP 410): calls fail"
    if a.status is Status.AT_RISK:
        if a.reason in ("upgrade-overdue", "tag-pin") and a.days_left is not None and a.days_left < 0:
            late = f"Not moved by Azure {-a.days_left} days after retirement: check they answer"
            return f"1{_day(a.retirement_date)}", late
        if a.reason == "router-model-retiring":
            return f"1{_day(a.retirement_date)}", f"Route to a model retiring on {_day(a.retirement_date)}"
        why = {
            "no-auto-retiring": " (NoAutoUpgrade never upgrades)",
            "provisioned-retiring": " (provisioned: never auto-upgraded)",
            "tag-pin": " (pinned: modelwatch:policy=pin)",
            "fine-tuned-retiring": " (fine-tuned: retrain on a current base model)",
            "batch-retiring": " (Batch: deploy the new model beside them, resubmit the jobs)",
            "preview-retiring": " (a preview with no replacement, whatever the policy)",
            "other-format-retiring": " (no automatic upgrade for this format)",
        }.get(a.reason, "")
        return f"1{_day(a.retirement_date)}", f"Stop answering on {_day(a.retirement_date)}{why}"
    if a.status is Status.UPGRADE_PLANNED:
        if enforce:
            return "2", f"Being upgraded to {target} by modelwatch"
        return "2", f"Need an upgrade to {target} (POLICY_MODE=plan: modelwatch does not write)"
    if a.status is Status.UPGRADE_EXPECTED:
        when = _day(a.action_date)
        if a.reason == "upgrade-pending":
            return (
                f"3{when}",
                f"Upgrade pending: Azure upgrades to {target} region by region (they keep answering)",
            )
        if a.reason == "preview-force-upgrade":
            return (
                f"3{when}",
                f"Force-upgraded by Azure to {target} on {when} (a preview, whatever the policy)",
            )
        if a.reason == "upgrade-on-expiry":
            return f"3{when}", f"Upgraded by Azure to {target} when their version expires, on {when}"
        if a.action_date is None:
            return "3", f"Moved by Azure to {target} within two weeks"
        return f"3{when}", f"Moved by Azure to {target} from {when}"
    return "9", "Keep working: nothing is scheduled for them"


def impact_of(assessments: Sequence[Assessment], *, enforce: bool) -> Impact:
    """The outcome lines of one team's deployments concerned by a change (the engine's decisions, as of now)."""
    concerned = [a for a in assessments if a.status in TOLD or a.status is Status.HEALTHY]
    groups: dict[tuple[str, str], list[Assessment]] = {}
    for a in sorted(concerned, key=worst_first):
        groups.setdefault(_outcome(a, enforce), []).append(a)
    told = {k: g for k, g in groups.items() if g[0].status in TOLD}
    if not told:
        return Impact((), Severity.INFO, "", len(concerned))
    lines = tuple(f"{sentence}: {len(g)} — {_names(g)}" for (_, sentence), g in sorted(groups.items()))
    statuses = {a.status for g in told.values() for a in g}
    soonest = min(
        (a.days_left for a in concerned if a.status is Status.AT_RISK and a.days_left is not None),
        default=None,
    )
    if Status.BROKEN in statuses or (soonest is not None and soonest <= 7):
        severity = Severity.CRITICAL
    elif Status.AT_RISK in statuses or (Status.UPGRADE_PLANNED in statuses and not enforce):
        severity = Severity.WARNING
    else:
        severity = Severity.INFO
    if Status.BROKEN in statuses:
        todo = "Move the callers of the broken deployments to a supported version now."
    elif Status.AT_RISK in statuses:
        todo = "Upgrade them before the date, or set a policy under which Azure does; `plan` lists each one."
    elif Status.UPGRADE_PLANNED in statuses and not enforce:
        todo = "Upgrade them to the target, or turn on enforcement (POLICY_MODE=enforce)."
    else:
        todo = (
            "Test your workload on the target before then; tag a deployment modelwatch:policy=pin or set "
            "NoAutoUpgrade to hold it."
        )
    return Impact(lines, severity, todo, len(concerned))

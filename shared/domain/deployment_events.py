"""Events about deployments: planned and expected upgrades, risks, applied upgrades and rollbacks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.domain.changes import VersionChange
from shared.domain.deployments import Deployment
from shared.domain.events import EventType, JsonObject, LifecycleEvent, event_id
from shared.domain.policy import Assessment, Status
from shared.domain.timeutil import format_instant


def deployment_data(d: Deployment) -> JsonObject:
    return {
        "deploymentId": d.resource_id,
        "deploymentName": d.name,
        "accountId": d.account_id,
        "location": d.location,
        "modelFormat": d.model_format,
        "modelName": d.model_name,
        "modelVersion": d.model_version,
        "skuName": d.sku_name,
        "isProvisioned": d.is_provisioned,
        "versionUpgradeOption": d.policy,
        "route": d.route,
    }


def reminder_bucket(days_left: int | None, thresholds: Sequence[int]) -> str:
    """The tightest reminder threshold a countdown is within: a new bucket means a new reminder."""
    if days_left is None:
        return "undated"
    if days_left <= 0:
        return "due"
    inside = [t for t in thresholds if days_left <= t]
    return f"within-{min(inside)}" if inside else "scheduled"


def assessment_event(
    a: Assessment, *, now: datetime, trigger: str, enforce: bool, thresholds: Sequence[int]
) -> LifecycleEvent | None:
    """DeploymentUpgradePlanned (Azure's or ours) or DeploymentAtRisk; None when healthy or ignored.

    The id covers what the decision says (status, reason, target, dates) and the countdown bucket, so a repeated
    assessment of an unchanged situation is the same event, while crossing a reminder threshold is a new one.
    """
    if a.status in (Status.UPGRADE_PLANNED, Status.UPGRADE_EXPECTED):
        event_type = EventType.DEPLOYMENT_UPGRADE_PLANNED
    elif a.status in (Status.AT_RISK, Status.BROKEN):
        event_type = EventType.DEPLOYMENT_AT_RISK
    else:
        return None
    d = a.deployment
    bucket = reminder_bucket(a.days_left, thresholds) if a.status is not Status.BROKEN else "broken"
    data = deployment_data(d)
    data.update(
        {
            "status": a.status.value,
            "reason": a.reason,
            "summary": a.summary,
            "targetModelName": a.target_model if a.target_version else None,
            "targetVersion": a.target_version,
            "actionDate": format_instant(a.action_date),
            "retirementDate": format_instant(a.retirement_date),
            "daysRemaining": a.days_left,
            "performedBy": a.actor,
            "reminder": bucket,
            "mode": "enforce" if enforce else "plan",
            "triggeredBy": trigger,
        }
    )
    ident = event_id(
        event_type.value,
        d.key,
        d.model_version,
        a.status.value,
        a.reason,
        a.target_model,
        a.target_version,
        format_instant(a.retirement_date),
        format_instant(a.action_date) if a.actor == "azure" else None,
        bucket,
    )
    return LifecycleEvent(ident, event_type.value, d.resource_id, now, data)


def upgraded_event(d: Deployment, record: VersionChange, *, now: datetime) -> LifecycleEvent:
    """A version change that happened (ours or Azure's), with the way back."""
    data = deployment_data(d)
    from_model = record.from_model or d.model_name
    to_model = record.to_model or d.model_name
    data.update(
        {
            "modelName": to_model,
            "modelVersion": record.to_version,
            "fromModel": from_model,
            "fromVersion": record.from_version,
            "toModel": to_model,
            "toVersion": record.to_version,
            "appliedBy": record.applied_by,
            "changedBy": record.changed_by,
            "changedAt": format_instant(record.changed_at),
            "rollbackAvailableUntil": format_instant(record.available_until),
            "rollbackId": record.id,
        }
    )
    kind = (
        EventType.DEPLOYMENT_ROLLED_BACK if record.applied_by == "rollback" else EventType.DEPLOYMENT_UPGRADED
    )
    if kind is EventType.DEPLOYMENT_ROLLED_BACK:
        data["previousPolicy"] = record.original_policy
        data["versionUpgradeOption"] = "NoAutoUpgrade"
        if record.sibling_id:
            # side by side: this deployment is untouched; the previous model runs in a new sibling deployment
            data["modelName"], data["modelVersion"] = from_model, record.from_version
            data["versionUpgradeOption"] = d.policy
            data["sideBySide"] = True
            data["siblingDeploymentId"] = record.sibling_id
            data["siblingDeploymentName"] = record.sibling_id.rsplit("/", 1)[-1]
    return LifecycleEvent(event_id(kind.value, record.id), kind.value, d.resource_id, now, data)

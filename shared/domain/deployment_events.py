"""Events about deployments: planned and expected upgrades, risks, applied upgrades and rollbacks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.domain.changes import AppliedBy, VersionChange
from shared.domain.deployments import Deployment
from shared.domain.events import EventType, LifecycleEvent
from shared.domain.ids import event_id
from shared.domain.payloads import AssessmentData, RolledBackData, UpgradeFailedData, VersionChangeData
from shared.domain.policy import PREVIEW_NOTICE_DAYS, Actor, Assessment, PolicyMode, Status
from shared.domain.timeutil import format_instant


def deployment_fields(d: Deployment) -> dict[str, Any]:
    """The fields of DeploymentData: every deployment event's payload starts with them."""
    return {
        "deployment_id": d.resource_id,
        "deployment_name": d.name,
        "account_id": d.account_id,
        "location": d.location,
        "model_format": d.model_format,
        "model_name": d.model_name,
        "model_version": d.model_version,
        "sku_name": d.sku_name,
        "is_provisioned": d.is_provisioned,
        "version_upgrade_option": d.policy,
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
    if a.reason.startswith("preview-"):
        # a preview's force-upgrade or retirement comes with "at least 30 days' notice" (https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements):
        # that notice is its first reminder, not the GA thresholds above it
        thresholds = [t for t in thresholds if t < PREVIEW_NOTICE_DAYS] + [PREVIEW_NOTICE_DAYS]
    bucket = reminder_bucket(a.days_left, thresholds) if a.status is not Status.BROKEN else "broken"
    payload = AssessmentData(
        **deployment_fields(d),
        status=a.status,
        reason=a.reason,
        summary=a.summary,
        target_model_name=a.target_model if a.target_version else None,
        target_version=a.target_version,
        action_date=a.action_date,
        retirement_date=a.retirement_date,
        days_remaining=a.days_left,
        performed_by=a.actor,
        reminder=bucket,
        mode=PolicyMode.of(enforce),
        triggered_by=trigger,
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
        format_instant(a.action_date) if a.actor == Actor.AZURE else None,
        bucket,
    )
    return LifecycleEvent.create(event_type, ident, now, payload)


def upgraded_event(d: Deployment, record: VersionChange, *, now: datetime) -> LifecycleEvent:
    """A version change that happened (ours or Azure's), with the way back."""
    from_model = record.from_model or d.model_name
    to_model = record.to_model or d.model_name
    fields = deployment_fields(d) | {"model_name": to_model, "model_version": record.to_version}
    change: dict[str, Any] = {
        "from_model": from_model,
        "from_version": record.from_version,
        "to_model": to_model,
        "to_version": record.to_version,
        "applied_by": record.applied_by,
        "changed_by": record.changed_by,
        "changed_at": record.changed_at,
        "rollback_available_until": record.available_until,
        "rollback_id": record.id,
    }
    if record.applied_by != AppliedBy.ROLLBACK:
        payload: VersionChangeData = VersionChangeData(**fields, **change)
        kind = EventType.DEPLOYMENT_UPGRADED
    elif record.sibling_id:
        # side by side: this deployment is untouched; the previous model runs in a new sibling deployment
        fields |= {"model_name": from_model, "model_version": record.from_version}
        payload = RolledBackData(
            **fields,
            **change,
            previous_policy=record.original_policy,
            side_by_side=True,
            sibling_deployment_id=record.sibling_id,
            sibling_deployment_name=record.sibling_id.rsplit("/", 1)[-1],
        )
        kind = EventType.DEPLOYMENT_ROLLED_BACK
    else:
        fields["version_upgrade_option"] = "NoAutoUpgrade"  # set so Azure does not move it forward again
        payload = RolledBackData(**fields, **change, previous_policy=record.original_policy)
        kind = EventType.DEPLOYMENT_ROLLED_BACK
    return LifecycleEvent.create(kind, event_id(kind.value, record.id), now, payload)


ERROR_CHARS = 500  # ARM's own words, cut: a message card has room for a sentence, not a stack


def upgrade_failed_event(
    a: Assessment, error: str, *, now: datetime, trigger: str, thresholds: Sequence[int]
) -> LifecycleEvent:
    """modelwatch's write of ``a``'s target was refused for good. The id covers the deployment, its version, the
    target and the countdown bucket (not ARM's words, which vary): the same failure is one event, and a
    deployment still failing when a reminder threshold is crossed is told again."""
    d = a.deployment
    target_model = a.target_model or d.model_name
    bucket = reminder_bucket(a.days_left, thresholds)
    payload = UpgradeFailedData(
        **deployment_fields(d),
        target_model_name=target_model,
        target_version=a.target_version or "",
        error=error if len(error) <= ERROR_CHARS else error[: ERROR_CHARS - 1] + "…",
        retirement_date=a.retirement_date,
        days_remaining=a.days_left,
        reminder=bucket,
        triggered_by=trigger,
    )
    kind = EventType.DEPLOYMENT_UPGRADE_FAILED
    ident = event_id(kind.value, d.key, d.model_version, target_model, a.target_version, bucket)
    return LifecycleEvent.create(kind, ident, now, payload)

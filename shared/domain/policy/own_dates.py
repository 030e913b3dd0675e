"""Deployments no documented upgrade moves, judged by their own dates: partner and other formats (their catalog
retirement), fine-tuned models (their own deprecation from Accounts - List Models) and the Developer tier (24 hours
from creation)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from shared.domain.catalog import ModelVersion, VersionKey
from shared.domain.deployments import DEVELOPER_LIFETIME, Deployment
from shared.domain.policy.assessment import Assessment, Status
from shared.domain.timeutil import days_until


def other_format(d: Deployment, catalog: Mapping[VersionKey, ModelVersion], now: datetime) -> Assessment:
    """A deployment of a partner or other format: told its catalog retirement; never an upgrade, never a write.
    The catalog may name a replacement: it is named as where to migrate, never as Azure's move, because Learn
    documents no automatic upgrade for these formats ("update policies ... vary by model and provider")."""
    entry = catalog.get(d.version_key)
    label = f"{d.model_name} {d.model_version}"
    if entry is None:
        where = f"{d.location}'s catalog" if catalog else f"a catalog of {d.location} (none read yet)"
        return Assessment(
            d,
            Status.NOT_TRACKED,
            f"not tracked: {d.model_format} {label} is not in {where}",
            "format-not-listed",
        )
    rep = entry.replacement
    named = (
        f"; the catalog names {rep.target_model_name or d.model_name} {rep.target_model_version}, deploy it "
        "beside this one and move traffic"
        if rep is not None and rep.target_model_version
        else "; deploy a newer model beside it and move traffic"
    )
    never = f"Azure documents no automatic upgrade for {d.model_format} models"
    return _by_own_date(
        d,
        entry.retirement_for_sku(d.sku_name),
        now,
        retired=entry.is_retired_for(d.sku_name, now),
        reasons=("other-format-retired", "other-format-retiring", "other-format-ok"),
        what=f"{d.model_format} {label}",
        advice=(f"{never}{named}", f"{never}{named}"),
        otherwise=f"no retirement scheduled ({d.model_format}: {never})",
    )


def fine_tuned(d: Deployment, now: datetime) -> Assessment:
    """Fine-tuned models are never auto-upgraded; their own deprecation (Accounts - List Models) decides."""
    ft = d.fine_tune
    base = f" (base model {ft.base_model} {ft.base_version})" if ft and ft.base_model else ""
    if d.is_developer_tier:
        return _developer_tier(d, now, base)
    if ft is not None and ft.why and not ft.listed:
        return Assessment(
            d,
            Status.NOT_TRACKED,
            f"not tracked: fine-tuned model{base}; the account's model list could not be read ({ft.why})",
            "fine-tuned-not-read",
        )
    if ft is not None and ft.why:  # dates read before: they stand, said to be as last read
        judged = fine_tuned(replace(d, fine_tune=replace(ft, why=None)), now)
        return replace(judged, summary=f"{judged.summary} (as last read: {ft.why})")
    if ft is None or not ft.listed:
        return Assessment(
            d,
            Status.NOT_TRACKED,
            f"fine-tuned model{base}: not in the location catalog, and the account's model list did not "
            "include it: its retirement is not tracked",
            "fine-tuned-not-tracked",
        )
    date = ft.retirement_date
    return _by_own_date(
        d,
        date,
        now,
        retired=(ft.lifecycle_status or "").casefold() == "deprecated" or (date is not None and date <= now),
        reasons=("fine-tuned-retired", "fine-tuned-retiring", "fine-tuned-ok"),
        what=f"fine-tuned model{base}",
        advice=(
            "retrain on a current base model",
            f"fine-tuned models are never auto-upgraded{base}; retrain on a current base model and redeploy",
        ),
        otherwise=f"fine-tuned model{base}: no retirement scheduled",
    )


def _by_own_date(
    d: Deployment,
    date: datetime | None,
    now: datetime,
    *,
    retired: bool,
    reasons: tuple[str, str, str],
    what: str,
    advice: tuple[str, str],
    otherwise: str,
) -> Assessment:
    """Broken once retired, at risk while a retirement date is set, healthy otherwise (``otherwise`` says so):
    ``reasons`` and ``advice`` (what to do once retired, and before) in that order."""
    days = days_until(date, now) if date is not None else None
    if retired:
        when = f" on {date:%Y-%m-%d}" if date else ""
        status, reason, summary = Status.BROKEN, reasons[0], f"{what} retired{when}: calls fail; {advice[0]}"
    elif date is not None:
        status, reason = Status.AT_RISK, reasons[1]
        summary = f"stops working on {date:%Y-%m-%d} ({days} days): {advice[1]}"
    else:
        return Assessment(d, Status.HEALTHY, otherwise, reasons[2], retirement_date=date, days_left=days)
    return Assessment(d, status, summary, reason, action_date=date, retirement_date=date, days_left=days)


def _developer_tier(d: Deployment, now: datetime, base: str) -> Assessment:
    """A Developer-tier fine-tuned deployment lives 24 hours from its creation
    (https://learn.microsoft.com/azure/ai-foundry/openai/how-to/fine-tuning-deploy), whatever
    the model's own dates: it is never healthy for long."""
    if d.created_at is None:
        return Assessment(
            d,
            Status.AT_RISK,
            f"Developer-tier fine-tuned deployment{base}: it is deleted 24 hours after creation (its creation "
            "time is unknown); redeploy on Standard or Global Standard to keep it",
            "developer-tier-expiring",
        )
    ends = d.created_at + DEVELOPER_LIFETIME
    days = days_until(ends, now)
    if ends <= now:
        return Assessment(
            d,
            Status.BROKEN,
            f"Developer-tier fine-tuned deployment{base} expired {ends:%Y-%m-%d %H:%M} UTC (24 hours after "
            "creation): calls fail; redeploy the fine-tuned model",
            "developer-tier-expired",
            action_date=ends,
            retirement_date=ends,
            days_left=days,
        )
    return Assessment(
        d,
        Status.AT_RISK,
        f"Developer-tier fine-tuned deployment{base}: deleted {ends:%Y-%m-%d %H:%M} UTC (24 hours after "
        "creation); redeploy on Standard or Global Standard to keep it",
        "developer-tier-expiring",
        action_date=ends,
        retirement_date=ends,
        days_left=days,
    )

"""The update-policy engine: for one deployment and the current catalog, what happens, when, and what we do.

Pure. It assesses the deployment's whole situation against the *current* catalog rather than reacting to one
event's payload, so an old event delivered late can never undo a newer state (Event Grid does not keep order);
events only decide which deployments are assessed. Rules (azure-facts.md §2.3, lifecycle-history.md §6):
- OnceNewDefaultVersionAvailable: Azure moves Standard-family deployments to a new default within two weeks of
  the change (from ``replacementConfig.autoUpgradeStartDate`` when given).
- OnceCurrentVersionExpired (also an absent value): Azure upgrades to the default at retirement, minus
  ``upgradeOnExpiryLeadTimeDays``; with no newer default the deployment stops working.
- NoAutoUpgrade: never upgraded; stops working at retirement.
- Provisioned SKUs are never auto-upgraded, whatever the policy.
- The model *name* cannot change in place (CannotChangeDeploymentModel); a target must be in the region's
  catalog, not retired itself, and newer: never a downgrade (rollback is a separate, explicit path).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.catalog import ModelVersion, VersionKey, default_versions
from shared.domain.deployments import Deployment, UpgradeOption
from shared.domain.timeutil import days_until

DEFAULT_CHANGE_WINDOW = timedelta(days=14)  # "within two weeks of that designation change"


class Status(StrEnum):
    """Where a deployment stands; the status page groups by this, worst first."""

    BROKEN = "broken"
    AT_RISK = "atRisk"
    UPGRADE_PLANNED = "upgradePlanned"  # modelwatch upgrades it (enforce) or would (plan)
    UPGRADE_EXPECTED = "upgradeExpected"  # Azure will move it
    HEALTHY = "healthy"
    IGNORED = "ignored"


SEVERITY = {s: i for i, s in enumerate(Status)}


@dataclass(frozen=True)
class PolicyRules:
    """Settings of the engine."""

    enforce: bool = False  # POLICY_MODE=enforce; plan mode decides and records but never writes
    accelerate_default: bool = False  # POLICY_ACCELERATE_DEFAULT: upgrade auto-update deployments at once
    enforce_provisioned: bool = False  # POLICY_ENFORCE_PROVISIONED: provisioned ones may be upgraded too
    provisioned_lead_days: int = 14  # with enforce_provisioned: upgrade this long before retirement


@dataclass(frozen=True)
class Assessment:
    """The decision for one deployment."""

    deployment: Deployment
    status: Status
    summary: str  # what will happen, for people
    reason: str  # a stable code: which rule decided
    target_version: str | None = None
    action_date: datetime | None = None  # when Azure acts, when we would, or when it breaks
    retirement_date: datetime | None = None
    days_left: int | None = None
    write: bool = False  # modelwatch writes target_version now (enforce mode only)
    actor: str = "none"  # who moves it: "azure", "modelwatch" or "none"


_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_newer(candidate: ModelVersion, current: ModelVersion | None, current_version: str) -> bool | None:
    """Whether candidate is a newer version than current; None when it cannot be told."""
    if candidate.version == current_version:
        return False
    if (
        current is not None
        and candidate.created_at is not None
        and current.created_at is not None
        and candidate.created_at != current.created_at
    ):
        return candidate.created_at > current.created_at
    if _DATED.match(candidate.version) and _DATED.match(current_version):
        return candidate.version > current_version
    # "0613" vs "0125" are month-day stamps of different years: string order lies; ask the retirement dates
    if (
        current is not None
        and candidate.retirement_date
        and current.retirement_date
        and candidate.retirement_date != current.retirement_date
    ):
        return candidate.retirement_date > current.retirement_date
    return None


def _retired(v: ModelVersion, sku: str, now: datetime) -> bool:
    date = v.retirement_for_sku(sku)
    return v.is_status_retired or (date is not None and date <= now)


@dataclass(frozen=True)
class _Target:
    version: str | None
    problem: str | None  # why there is no usable target


def _pick_target(
    d: Deployment, current: ModelVersion | None, catalog: Mapping[VersionKey, ModelVersion], now: datetime
) -> _Target:
    """The version Azure (or we) would move this deployment to, and whether it is usable."""
    default = default_versions(catalog.values()).get((d.model_format, d.model_name))
    candidates: list[str] = []
    replacement = current.replacement if current is not None else None
    if replacement and replacement.target_model_version:
        if replacement.target_model_name and replacement.target_model_name != d.model_name:
            if default is None or default == d.model_version:
                return _Target(
                    None,
                    f"the replacement is {replacement.target_model_name} {replacement.target_model_version}, a different "
                    "model: a deployment cannot change model in place; create a new deployment and move traffic",
                )
        else:
            candidates.append(replacement.target_model_version)
    if default is not None:
        candidates.append(default)
    problems: list[str] = []
    for version in dict.fromkeys(candidates):
        if version == d.model_version:
            continue
        target = catalog.get(VersionKey(d.model_format, d.model_name, version))
        if target is None:
            problems.append(f"{d.model_name} {version} is not offered in {d.location}")
            continue
        if _retired(target, d.sku_name, now):
            problems.append(f"{d.model_name} {version} is itself retired")
            continue
        newer = is_newer(target, current, d.model_version)
        if newer is False:
            problems.append(f"{d.model_name} {version} is older than {d.model_version}: never a downgrade")
            continue
        if newer is None and current is not None and not _retired(current, d.sku_name, now):
            problems.append(f"cannot tell whether {version} is newer than {d.model_version}")
            continue
        return _Target(version, None)
    if problems:
        return _Target(None, "; ".join(problems))
    return _Target(None, f"no newer default version of {d.model_name} exists in {d.location}")


def assess(
    d: Deployment,
    catalog: Mapping[VersionKey, ModelVersion],
    now: datetime,
    rules: PolicyRules | None = None,
    *,
    default_changed_at: datetime | None = None,
) -> Assessment:
    """What happens to deployment ``d`` given its region's current catalog, as of ``now``."""
    rules = rules or PolicyRules()
    if d.policy_tag == "ignore":
        return Assessment(d, Status.IGNORED, "ignored: tagged modelwatch:policy=ignore", "tag-ignore")
    current = catalog.get(d.version_key)
    retirement = current.retirement_for_sku(d.sku_name) if current is not None else None
    retired = current is None or _retired(current, d.sku_name, now)
    days = days_until(retirement, now) if retirement is not None else None
    target = _pick_target(d, current, catalog, now)
    seed = Assessment(d, Status.HEALTHY, "", "", target.version, None, retirement, days)
    gone = "is no longer in the catalog" if current is None else "is retired"
    when = f" on {retirement:%Y-%m-%d}" if retirement else ""

    def make(
        status: Status, summary: str, reason: str, date: datetime | None = None, actor: str = "none"
    ) -> Assessment:
        return replace(seed, status=status, summary=summary, reason=reason, action_date=date, actor=actor)

    def ours(reason: str, summary: str) -> Assessment:
        """modelwatch moves it: a write in enforce mode, a plan otherwise; never when pinned."""
        if d.policy_tag == "pin":
            status = Status.BROKEN if retired else Status.AT_RISK
            return make(
                status, f"pinned (modelwatch:policy=pin): not upgraded; {summary}", "tag-pin", retirement
            )
        verb = "upgrading" if rules.enforce else "plan: upgrade"
        planned = make(
            Status.UPGRADE_PLANNED, f"{verb} to {target.version}: {summary}", reason, now, "modelwatch"
        )
        return replace(planned, write=rules.enforce)

    def stuck(reason: str, summary: str) -> Assessment:
        return make(Status.BROKEN if retired else Status.AT_RISK, summary, reason, retirement)

    def healthy(reason: str, policy: str) -> Assessment:
        extra = f"; newer default {target.version} available" if target.version else ""
        return make(Status.HEALTHY, f"no retirement scheduled ({policy}){extra}", reason)

    if d.is_provisioned:
        note = "provisioned deployments are never auto-upgraded by Azure"
        near = retired or (days is not None and days <= rules.provisioned_lead_days)
        if target.version and rules.enforce_provisioned and near:
            return ours("provisioned-enforced", f"{note}; enforcement includes provisioned")
        if retired:
            return stuck(
                "provisioned-retired", f"{d.model_name} {d.model_version} {gone}: calls fail; {note}"
            )
        if retirement is not None:
            return stuck(
                "provisioned-retiring", f"stops working{when} ({days} days): {note}; migrate it yourself"
            )
        return healthy("provisioned-ok", "provisioned: never auto-upgraded")

    policy = d.policy
    if policy == UpgradeOption.NO_AUTO:
        if retired:
            return stuck(
                "no-auto-retired", f"{d.model_name} {d.model_version} {gone}: NoAutoUpgrade, calls fail"
            )
        if retirement is not None:
            return stuck(
                "no-auto-retiring", f"stops working{when} ({days} days): NoAutoUpgrade never upgrades"
            )
        return healthy("no-auto-ok", "NoAutoUpgrade")

    if policy == UpgradeOption.ONCE_NEW_DEFAULT:
        default = default_versions(catalog.values()).get((d.model_format, d.model_name))
        if retired:
            if target.version:
                return ours(
                    "expired-not-upgraded",
                    f"{d.model_name} {d.model_version} {gone} and Azure has not moved it",
                )
            return stuck("auto-default-retired", f"{d.model_name} {d.model_version} {gone}: {target.problem}")
        if target.version and default == target.version:
            if rules.accelerate_default:
                return ours("accelerate-default", "new default; POLICY_ACCELERATE_DEFAULT moves it now")
            start = current.replacement.auto_upgrade_start if current and current.replacement else None
            due = start or ((default_changed_at + DEFAULT_CHANGE_WINDOW) if default_changed_at else None)
            by = f" by {due:%Y-%m-%d}" if due else " within two weeks of the default change"
            summary = f"Azure moves it to the new default {target.version}{by}"
            return make(Status.UPGRADE_EXPECTED, summary, "auto-default", due, "azure")
        if retirement is not None:
            why = target.problem or "none yet"
            return stuck(
                "auto-default-no-newer",
                f"stops working{when} ({days} days) unless a newer default appears: {why}",
            )
        return healthy("auto-default-ok", "auto-update to default")

    # OnceCurrentVersionExpired, and any value this code does not know (treated as Azure's documented default)
    unknown = (
        ""
        if policy == UpgradeOption.ONCE_EXPIRED
        else f"unknown policy {policy!r} treated as OnceCurrentVersionExpired; "
    )
    if retired:
        if target.version:
            return ours(
                "expired-not-upgraded",
                f"{unknown}{d.model_name} {d.model_version} {gone} and Azure has not moved it",
            )
        return stuck(
            "expired-no-target", f"{unknown}{d.model_name} {d.model_version} {gone}: {target.problem}"
        )
    if retirement is not None:
        if target.version is None:
            return stuck("expired-no-target", f"{unknown}stops working{when} ({days} days): {target.problem}")
        lead = current.replacement.upgrade_on_expiry_lead_days if current and current.replacement else None
        due = retirement - timedelta(days=lead or 0)
        minus = f" minus {lead} days" if lead else ""
        summary = f"{unknown}Azure upgrades it to {target.version} on {due:%Y-%m-%d} (at retirement{minus})"
        return make(Status.UPGRADE_EXPECTED, summary, "upgrade-on-expiry", due, "azure")
    return healthy("expired-ok", f"{unknown}upgrade when expired")

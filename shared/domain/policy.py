"""The update-policy engine: for one deployment and the current catalog, what Azure will do, when, and what we do.

Pure. It assesses the deployment's whole situation against the *current* catalog rather than reacting to one
event's payload, so an old event delivered late can never undo a newer state (Event Grid does not keep order);
events only decide which deployments are assessed. What Azure does (azure-facts.md §2.3, §2.3a;
lifecycle-history.md §6; docs/predictions.md has the whole table with sources):
- Azure's target is ``replacementConfig`` (often a *different model*: gpt-4o -> gpt-5.1), else a newer default of
  the same model, else (preview versions) a newer preview. Azure moves deployments across the model-name change.
- OnceNewDefaultVersionAvailable: moved from ``autoUpgradeStartDate`` (a start, rolled out region by region),
  whether or not the target is flagged default; to a new default within two weeks of the change; to a newer
  preview from two weeks after its release.
- OnceCurrentVersionExpired (also an absent or unknown value): moved at retirement minus
  ``upgradeOnExpiryLeadTimeDays``; with no target the deployment stops working.
- NoAutoUpgrade, and every provisioned SKU: never moved; they stop at retirement.
- Azure upgrades even where the target is not offered in the deployment's region.
- Retirement dates are per deployment type: the catalog SKU entry matching the deployment's SKU (exact name, then
  family), else the model's date.
modelwatch's own writes are narrower than Azure's moves: only a target offered in the region, not retired, newer,
and of the same model name, except provisioned deployments, whose documented in-place migration may change the
model family (a Standard deployment's model name cannot change: CannotChangeDeploymentModel).
Deployments the location catalog cannot speak for are never called broken: fine-tuned models use their own
deprecation from Accounts - List Models (else "not tracked"); other formats (every one by default) are told their
catalog dates, never an upgrade; formats outside an explicit CATALOG_MODEL_FORMATS are "not watched".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.catalog import ModelVersion, VersionKey, default_versions
from shared.domain.deployments import DEVELOPER_LIFETIME, Deployment, UpgradeOption
from shared.domain.timeutil import days_until

DEFAULT_CHANGE_WINDOW = timedelta(days=14)  # "within two weeks of that designation change"
PREVIEW_UPGRADE_DELAY = timedelta(
    days=14
)  # previews: "starting two weeks after the new preview ... is released"
# Azure's own upgrades of a retired version's deployments are "scheduled on a rolling, region-by-region basis" with
# no published per-region schedule (azure-facts.md §2.3b; lifecycle-history.md §6), and the data plane keeps
# serving meanwhile (TypeSpec, OnceCurrentVersionExpired). The one rollout duration Learn does state is two weeks
# (a new default reaches auto-update deployments "within two weeks"; previews move "starting two weeks after" a
# newer preview), and the observed windows are of that order (gpt-4o Standard: upgrades from 2026-03-09, retired
# 2026-03-31). So for POLICY_UPGRADE_GRACE_DAYS (default 14) after the retirement date, a deployment Azure upgrades
# that is still on the old version is "upgrade pending", neither broken nor written by modelwatch.
DEFAULT_UPGRADE_GRACE_DAYS = 14
PREVIEW_NOTICE_DAYS = 30  # previews: "at least 30 days' notice" of the force-upgrade or retirement (§2.3b)
OPENAI_FORMAT = (
    "openai"  # the format Azure's documented upgrade rules are for (§2.3b: none for partner models)
)
CANNOT_CHANGE_MODEL = (
    "ARM refuses to change the model of a Standard deployment in place (CannotChangeDeploymentModel)"
)


class Status(StrEnum):
    """Where a deployment stands; the status page groups by this, worst first."""

    BROKEN = "broken"
    AT_RISK = "atRisk"
    UPGRADE_PLANNED = "upgradePlanned"  # modelwatch upgrades it (enforce) or would (plan)
    UPGRADE_EXPECTED = "upgradeExpected"  # Azure will move it
    HEALTHY = "healthy"
    NOT_TRACKED = "notTracked"  # the catalog cannot speak for it (a fine-tuned model without its own dates)
    NOT_WATCHED = "notWatched"  # a format outside an explicit CATALOG_MODEL_FORMATS (Meta, Mistral, ...)
    IGNORED = "ignored"


STATUS_ORDER = {s: i for i, s in enumerate(Status)}  # worst first


@dataclass(frozen=True)
class PolicyRules:
    """Settings of the engine."""

    enforce: bool = False  # POLICY_MODE=enforce; plan mode decides and records but never writes
    accelerate_default: bool = False  # POLICY_ACCELERATE_DEFAULT: upgrade auto-update deployments at once
    enforce_provisioned: bool = False  # POLICY_ENFORCE_PROVISIONED: provisioned ones may be upgraded too
    provisioned_lead_days: int = 14  # with enforce_provisioned: upgrade this long before retirement
    upgrade_grace_days: int = DEFAULT_UPGRADE_GRACE_DAYS  # POLICY_UPGRADE_GRACE_DAYS: Azure's rolling upgrade
    # CATALOG_MODEL_FORMATS, casefolded; None (the default): every format, judged by its catalog dates
    watched_formats: frozenset[str] | None = None


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
    write: bool = False  # modelwatch writes target_model/target_version now (enforce mode only)
    actor: str = "none"  # who moves it: "azure", "modelwatch" or "none"
    target_model: str | None = None  # the target's model name: Azure's replacement can be another model

    @property
    def target_label(self) -> str | None:
        """ "gpt-5.1 2025-11-13": every message names the target's model and version."""
        if self.target_version is None:
            return None
        return f"{self.target_model or self.deployment.model_name} {self.target_version}"


_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_newer(candidate: ModelVersion, current: ModelVersion | None, current_version: str) -> bool | None:
    """Whether candidate is a newer version of the same model than current; None when it cannot be told."""
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


@dataclass(frozen=True)
class Target:
    """Where a deployment goes: Azure's move, or modelwatch's write."""

    model: str
    version: str
    source: str  # "replacement" (replacementConfig), "default" (a newer default), "preview" (a newer preview)
    start: datetime | None  # when Azure starts moving auto-update deployments (None: no published start)
    entry: ModelVersion | None  # the target's entry in the deployment's region; None: not offered there

    @property
    def label(self) -> str:
        return f"{self.model} {self.version}"


def azure_target(
    d: Deployment,
    current: ModelVersion | None,
    catalog: Mapping[VersionKey, ModelVersion],
    now: datetime,
    *,
    previews: bool,
) -> tuple[Target | None, list[str]]:
    """What Azure moves this deployment to, as the catalog says; None (and why) when it names nothing usable."""
    problems: list[str] = []
    replacement = current.replacement if current is not None else None
    if replacement is not None and replacement.target_model_version:
        model = replacement.target_model_name or d.model_name
        version = replacement.target_model_version
        entry = catalog.get(VersionKey(d.model_format, model, version))
        same = model == d.model_name
        if entry is not None and entry.is_retired_for(d.sku_name, now):
            problems.append(f"{model} {version} is itself retired")
        elif same and entry is not None and is_newer(entry, current, d.model_version) is False:
            problems.append(f"{model} {version} is older than {d.model_version}: never a downgrade")
        elif not (same and version == d.model_version):
            # a replacement of another model is not ordered against this one: Azure names it, Azure moves to it
            # the start is model-level in the API; a SKU with its own later date keeps its own (per-SKU schedules)
            start = current.upgrade_start_for_sku(d.sku_name) if current is not None else None
            return Target(model, version, "replacement", start, entry), problems
    default = default_versions(catalog.values()).get((d.model_format, d.model_name))
    entry = catalog.get(VersionKey(d.model_format, d.model_name, default)) if default else None
    if default is not None and default != d.model_version and entry is not None:
        label = f"{d.model_name} {default}"
        newer = is_newer(entry, current, d.model_version)
        if entry.is_retired_for(d.sku_name, now):
            problems.append(f"{label} is itself retired")
        elif newer is False:
            problems.append(f"{label} is older than {d.model_version}: never a downgrade")
        elif newer or current is None or current.is_retired_for(d.sku_name, now):
            return Target(d.model_name, default, "default", None, entry), problems
        else:
            problems.append(f"cannot tell whether {label} is newer than {d.model_version}")
    if previews and current is not None and current.created_at is not None and _is_preview(current):
        later = [
            v
            for v in catalog.values()
            if (v.format, v.name) == (d.model_format, d.model_name)
            and _is_preview(v)
            and v.created_at is not None
            and v.created_at > current.created_at
            and not v.is_retired_for(d.sku_name, now)
        ]
        if later:
            newest = max(later, key=_created)
            start = _created(newest) + PREVIEW_UPGRADE_DELAY
            return Target(d.model_name, newest.version, "preview", start, newest), problems
    return None, list(dict.fromkeys(problems))


def _is_preview(v: ModelVersion) -> bool:
    return (v.lifecycle_status or "").casefold() == "preview"


def _created(v: ModelVersion) -> datetime:
    assert v.created_at is not None  # callers filter on it
    return v.created_at


def write_problem(d: Deployment, t: Target, current: ModelVersion | None, now: datetime) -> str | None:
    """Why modelwatch may not write this target itself (None: it may)."""
    if t.entry is None:
        return f"{t.label} is not offered in {d.location}"
    if t.entry.is_retired_for(d.sku_name, now):
        return f"{t.label} is itself retired"
    if t.model != d.model_name:
        if not d.is_provisioned:
            return f"{t.label} is a different model: {CANNOT_CHANGE_MODEL}"
        return None  # provisioned: the documented in-place migration may change the model family
    newer = is_newer(t.entry, current, d.model_version)
    if newer is False:
        return f"{t.label} is older than {d.model_version}: never a downgrade"
    if newer is None and current is not None and not current.is_retired_for(d.sku_name, now):
        return f"cannot tell whether {t.label} is newer than {d.model_version}"
    return None


def our_target(
    d: Deployment,
    azure: Target | None,
    current: ModelVersion | None,
    catalog: Mapping[VersionKey, ModelVersion],
    now: datetime,
) -> tuple[Target | None, list[str]]:
    """The version modelwatch would write: Azure's target when ARM accepts it, else its own model's default."""
    candidates: list[Target] = [azure] if azure is not None else []
    default = default_versions(catalog.values()).get((d.model_format, d.model_name))
    if default is not None and default != d.model_version:
        entry = catalog.get(VersionKey(d.model_format, d.model_name, default))
        own = Target(d.model_name, default, "default", None, entry)
        if all(c.label != own.label for c in candidates):
            candidates.append(own)
    problems: list[str] = []
    for candidate in candidates:
        problem = write_problem(d, candidate, current, now)
        if problem is None:
            return candidate, problems
        problems.append(problem)
    return None, list(dict.fromkeys(problems))


def worst_first(a: Assessment) -> tuple[int, int, str]:
    """The one order every view lists deployments in: worst standing, then soonest date, then by id."""
    return STATUS_ORDER[a.status], a.days_left if a.days_left is not None else 10**6, a.deployment.key


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
    if rules.watched_formats is not None and d.model_format.casefold() not in rules.watched_formats:
        return Assessment(
            d,
            Status.NOT_WATCHED,
            f"not watched: {d.model_format} models are outside CATALOG_MODEL_FORMATS (add {d.model_format} to it, "
            "or leave it empty for every format, to be told their catalog retirement dates; Azure documents no "
            "automatic upgrade for them)",
            "format-not-watched",
        )
    if d.is_fine_tuned:
        return _fine_tuned(d, now)
    if d.model_format.casefold() != OPENAI_FORMAT:
        # partner and other formats (Meta, Mistral, ...): their catalog dates are watched; Azure documents no
        # automatic upgrade for them (azure-facts.md §2.3b), so none is ever predicted and none written, even
        # with CATALOG_MODEL_FORMATS=*
        return _other_format(d, catalog, now)
    if not catalog:
        return Assessment(
            d,
            Status.NOT_TRACKED,
            f"not tracked: no catalog of {d.location} has been read yet (is it in WATCH_LOCATIONS?)",
            "no-catalog",
        )
    own = _assess(d, catalog, now, rules, default_changed_at)
    return _router(own, catalog, now) if d.is_model_router else own


def _router(own: Assessment, catalog: Mapping[VersionKey, ModelVersion], now: datetime) -> Assessment:
    """A model-router deployment (kit §2.2, api 2026-03-01 ``routing.models``): the retirement of a model in its
    routing subset is linked to it; without a subset it is "not tracked", never silently healthy."""
    d = own.deployment
    if own.status in (Status.BROKEN, Status.AT_RISK):
        return own  # the router's own version decides first
    routed = d.routing_models
    if not routed:
        return replace(
            own,
            status=Status.NOT_TRACKED,
            reason="router-not-tracked",
            summary="not tracked: model-router routes to models Azure picks (no routing.models subset read): "
            f"their retirements are not linked to it; {own.summary}",
        )
    dated: list[tuple[datetime, str]] = []
    unknown: list[str] = []
    for fmt, name, version in routed:
        entry = catalog.get(VersionKey(fmt, name, version)) if version else None
        if entry is None:
            unknown.append(f"{name} {version}".strip())
            continue
        date = entry.retirement_for_sku(d.sku_name)
        if entry.is_retired_for(d.sku_name, now) or date is not None:
            dated.append((date or now, f"{name} {version}"))
    n = len(routed)
    if dated:
        date, label = min(dated)
        days = days_until(date, now)
        more = f" (and {len(dated) - 1} more retiring)" if len(dated) > 1 else ""
        verb = f"retired on {date:%Y-%m-%d}" if date <= now else f"retires on {date:%Y-%m-%d} ({days} days)"
        return replace(
            own,
            status=Status.AT_RISK,
            reason="router-model-retiring",
            summary=f"model-router routes to {label}, which {verb}{more}: take it out of routing.models or "
            f"replace it with a current model ({n} model(s) in the subset)",
            retirement_date=date,
            days_left=days,
            action_date=date,
            write=False,
        )
    if unknown:
        return replace(
            own,
            status=Status.NOT_TRACKED,
            reason="router-not-tracked",
            summary=f"not tracked: routes to {n} models; {', '.join(unknown)} not in {d.location}'s catalog",
        )
    return replace(own, summary=f"{own.summary}; routes to {n} models, none retiring")


def _other_format(d: Deployment, catalog: Mapping[VersionKey, ModelVersion], now: datetime) -> Assessment:
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
    retirement = entry.retirement_for_sku(d.sku_name)
    days = days_until(retirement, now) if retirement is not None else None
    seed = Assessment(d, Status.HEALTHY, "", "", retirement_date=retirement, days_left=days)
    rep = entry.replacement
    named = (
        f"; the catalog names {rep.target_model_name or d.model_name} {rep.target_model_version}, deploy it "
        "beside this one and move traffic"
        if rep is not None and rep.target_model_version
        else "; deploy a newer model beside it and move traffic"
    )
    never = f"Azure documents no automatic upgrade for {d.model_format} models"
    if entry.is_retired_for(d.sku_name, now):
        when = f" on {retirement:%Y-%m-%d}" if retirement else ""
        return replace(
            seed,
            status=Status.BROKEN,
            reason="other-format-retired",
            summary=f"{d.model_format} {label} retired{when}: calls fail; {never}{named}",
            action_date=retirement,
        )
    if retirement is not None:
        return replace(
            seed,
            status=Status.AT_RISK,
            reason="other-format-retiring",
            summary=f"stops working on {retirement:%Y-%m-%d} ({days} days): {never}{named}",
            action_date=retirement,
        )
    return replace(
        seed, reason="other-format-ok", summary=f"no retirement scheduled ({d.model_format}: {never})"
    )


def _fine_tuned(d: Deployment, now: datetime) -> Assessment:
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
        judged = _fine_tuned(replace(d, fine_tune=replace(ft, why=None)), now)
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
    days = days_until(date, now) if date is not None else None
    seed = Assessment(d, Status.HEALTHY, "", "", retirement_date=date, days_left=days)
    retired = (ft.lifecycle_status or "").casefold() == "deprecated" or (date is not None and date <= now)
    if retired:
        when = f" on {date:%Y-%m-%d}" if date else ""
        return replace(
            seed,
            status=Status.BROKEN,
            reason="fine-tuned-retired",
            summary=f"fine-tuned model{base} retired{when}: calls fail; retrain on a current base model",
            action_date=date,
        )
    if date is not None:
        return replace(
            seed,
            status=Status.AT_RISK,
            reason="fine-tuned-retiring",
            summary=f"stops working on {date:%Y-%m-%d} ({days} days): fine-tuned models are never auto-upgraded"
            f"{base}; retrain on a current base model and redeploy",
            action_date=date,
        )
    return replace(seed, reason="fine-tuned-ok", summary=f"fine-tuned model{base}: no retirement scheduled")


def _developer_tier(d: Deployment, now: datetime, base: str) -> Assessment:
    """A Developer-tier fine-tuned deployment lives 24 hours from its creation (azure-facts §2.3b), whatever
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


def _assess(
    d: Deployment,
    catalog: Mapping[VersionKey, ModelVersion],
    now: datetime,
    rules: PolicyRules,
    default_changed_at: datetime | None,
) -> Assessment:
    current = catalog.get(d.version_key)
    retirement = current.retirement_for_sku(d.sku_name) if current is not None else None
    retired = current is None or current.is_retired_for(d.sku_name, now)
    days = days_until(retirement, now) if retirement is not None else None
    policy = d.policy
    auto_default = policy == UpgradeOption.ONCE_NEW_DEFAULT and not d.is_provisioned
    label = f"{d.model_name} {d.model_version}"
    where = f" in {d.location}"
    azure, why_none = azure_target(d, current, catalog, now, previews=auto_default)
    mine, problems = our_target(d, azure, current, catalog, now)
    none_named = f"Azure names no replacement and no newer default{where}" + (
        f" ({'; '.join(why_none)})" if why_none else ""
    )
    seed = Assessment(
        d,
        Status.HEALTHY,
        "",
        "",
        azure.version if azure else None,
        None,
        retirement,
        days,
        target_model=azure.model if azure else None,
    )
    gone = "is no longer in the catalog" if current is None else "is retired"
    when = f" on {retirement:%Y-%m-%d}" if retirement else ""

    def offered_note(t: Target | None) -> str:
        return (
            f" ({t.label} is not offered{where} yet: Azure upgrades anyway)" if t and t.entry is None else ""
        )

    offered = offered_note(azure)

    def make(
        status: Status,
        summary: str,
        reason: str,
        *,
        date: datetime | None = None,
        actor: str = "none",
        target: Target | None = azure,
    ) -> Assessment:
        return replace(
            seed,
            status=status,
            summary=summary,
            reason=reason,
            action_date=date,
            actor=actor,
            target_version=target.version if target else None,
            target_model=target.model if target else None,
        )

    def ours(reason: str, summary: str) -> Assessment:
        """modelwatch moves it: a write in enforce mode, a plan otherwise; never when pinned."""
        assert mine is not None
        if d.policy_tag == "pin":
            status = Status.BROKEN if retired else Status.AT_RISK
            return make(
                status, f"pinned (modelwatch:policy=pin): not upgraded; {summary}", "tag-pin", date=retirement
            )
        verb = "upgrading" if rules.enforce else "plan: upgrade"
        planned = make(
            Status.UPGRADE_PLANNED,
            f"{verb} to {mine.label}: {summary}",
            reason,
            date=now,
            actor="modelwatch",
            target=mine,
        )
        return replace(planned, write=rules.enforce)

    def stuck(reason: str, summary: str) -> Assessment:
        return make(Status.BROKEN if retired else Status.AT_RISK, summary, reason, date=retirement)

    def healthy(reason: str, policy_text: str) -> Assessment:
        extra = f"; newer version {azure.label} available" if azure else ""
        return make(Status.HEALTHY, f"no retirement scheduled ({policy_text}){extra}", reason)

    def on_expiry(azure: Target, retirement: datetime) -> Assessment:
        lead = current.replacement.upgrade_on_expiry_lead_days if current and current.replacement else None
        due = retirement - timedelta(days=lead or 0)
        minus = f" minus {lead} days" if lead else ""
        return make(
            Status.UPGRADE_EXPECTED,
            f"Azure upgrades it to {azure.label} on {due:%Y-%m-%d} (at {label}'s retirement{minus}){offered}",
            "upgrade-on-expiry",
            date=due,
            actor="azure",
        )

    def migrate_to() -> str:
        if azure is not None:
            return f"migrate to {azure.label} (the {_source_text(azure)})"
        return f"{none_named}: pick a newer model"

    def window(target: Target) -> Assessment:
        """Retired, still on the old version, and Azure upgrades it: Azure's upgrade is rolling, region by region,
        and the data plane keeps serving meanwhile. Within POLICY_UPGRADE_GRACE_DAYS it is "upgrade pending":
        neither broken nor written (a write would race Azure's own). After it: at risk, "check it answers", and
        modelwatch (enforce mode) may write the target itself, Azure having evidently not."""
        assert retirement is not None
        since = max(0, (now - retirement).days)
        grace = rules.upgrade_grace_days
        if now < retirement + timedelta(days=grace):
            return make(
                Status.UPGRADE_EXPECTED,
                f"upgrade pending: Azure upgrades region by region; {label} retired on {retirement:%Y-%m-%d} and "
                f"Azure moves it to {target.label} (day {since} of the {grace}-day grace; the deployment keeps "
                f"answering meanwhile){offered_note(target)}",
                "upgrade-pending",
                date=retirement,
                actor="azure",
                target=target,
            )
        late = f"Azure has not moved it {since} days after retirement"
        pinned = d.policy_tag == "pin"
        if mine is not None and not pinned:
            return ours("expired-not-upgraded", f"{label} retired on {retirement:%Y-%m-%d}; {late}")
        why = (
            " (pinned, modelwatch:policy=pin: modelwatch does not write it)"
            if pinned
            else f" (modelwatch cannot write it: {'; '.join(problems)})"
            if problems
            else ""
        )
        return make(
            Status.AT_RISK,
            f"{late}: check it answers; Azure's target is {target.label}{why}",
            "tag-pin" if pinned else "upgrade-overdue",
            date=retirement,
            target=target,
        )

    def not_moved() -> Assessment:
        """Retired and still on the old version: Azure should have moved it; write it ourselves where allowed."""
        if azure is not None and current is not None and retirement is not None and d.azure_upgrades_sku:
            return window(azure)
        if mine is not None:
            missed = f" to {azure.label}" if azure is not None and azure.label != mine.label else ""
            return ours("expired-not-upgraded", f"{label} {gone} and Azure has not moved it{missed}")
        if azure is not None:
            why = "; ".join(problems) if problems else ""
            return stuck(
                "expired-not-moved",
                f"{label} {gone} and Azure has not moved it to {azure.label} yet; modelwatch cannot write it "
                f"({why}): create a deployment of {azure.label} and move traffic",
            )
        return stuck("expired-no-target", f"{label} {gone}: {none_named}")

    if d.is_provisioned:
        note = "provisioned deployments are never auto-upgraded by Azure"
        near = retired or (days is not None and days <= rules.provisioned_lead_days)
        if mine is not None and rules.enforce_provisioned and near:
            return ours("provisioned-enforced", f"{note}; enforcement includes provisioned")
        if retired:
            return stuck("provisioned-retired", f"{label} {gone}: calls fail; {note}; {migrate_to()}")
        if retirement is not None:
            return stuck(
                "provisioned-retiring", f"stops working{when} ({days} days): {note}; {migrate_to()} yourself"
            )
        return healthy("provisioned-ok", "provisioned: never auto-upgraded")

    if d.is_batch:
        # Learn FAQ (azure-facts.md §2.3b): "Batch deployments follow the side-by-side (multi-deployment)
        # migration approach": never upgraded by Azure, whatever the policy, and never written in place
        side = (
            f"deploy {azure.label} beside it (a new {d.sku_name} deployment), resubmit the jobs, then delete this "
            "deployment"
            if azure is not None
            else f"{none_named}: deploy a newer model beside it, resubmit the jobs, then delete this deployment"
        )
        note = "Batch deployments are never upgraded by Azure"
        if retired:
            return stuck("batch-retired", f"{label} {gone}: batch jobs fail; {note}: {side}")
        if retirement is not None:
            return stuck("batch-retiring", f"stops working{when} ({days} days): {note}: {side}")
        return healthy("batch-ok", "Batch: never auto-upgraded")

    if current is not None and current.is_preview and retirement is not None:
        # Learn (§2.3b): preview deployments are "force-upgraded to a replacement (a newer preview version or the
        # GA model) or the model is retired with no replacement. There's no option to remain on a retiring
        # preview model", with at least 30 days' notice: whatever the update policy
        forced, _ = azure_target(d, current, catalog, now, previews=True)
        earlier = (
            auto_default
            and azure is not None
            and azure.source == "preview"
            and azure.start is not None
            and azure.start < retirement
        )
        if not earlier:
            if retired:
                if forced is not None:
                    return window(forced)
                return stuck("preview-retired", f"{label} (preview) {gone} with no replacement: calls fail")
            if forced is not None:
                return make(
                    Status.UPGRADE_EXPECTED,
                    f"preview: Azure force-upgrades it to {forced.label} on {retirement:%Y-%m-%d}, whatever its "
                    f"update policy ({policy}): there is no option to remain on a retiring preview{offered_note(forced)}",
                    "preview-force-upgrade",
                    date=retirement,
                    actor="azure",
                    target=forced,
                )
            return stuck(
                "preview-retiring",
                f"preview: Azure retires it{when} ({days} days) with no replacement, whatever its update policy: "
                "calls fail from then; pick a newer model",
            )

    if policy == UpgradeOption.NO_AUTO:
        if retired:
            return stuck("no-auto-retired", f"{label} {gone}: NoAutoUpgrade, calls fail; {migrate_to()}")
        if retirement is not None:
            return stuck(
                "no-auto-retiring",
                f"stops working{when} ({days} days): NoAutoUpgrade never upgrades; {migrate_to()}",
            )
        return healthy("no-auto-ok", "NoAutoUpgrade")

    if policy == UpgradeOption.ONCE_NEW_DEFAULT:
        if retired:
            return not_moved()
        if azure is not None:
            if rules.accelerate_default and mine is not None and mine.label == azure.label:
                return ours("accelerate-default", "POLICY_ACCELERATE_DEFAULT moves it now, ahead of Azure")
            if azure.start is not None:
                kind = {"preview": "auto-preview", "default": "auto-default"}.get(
                    azure.source, "auto-replacement"
                )
                after = " (two weeks after its release)" if azure.source == "preview" else ""
                until = f"; {label} retires{when}" if retirement else ""
                return make(
                    Status.UPGRADE_EXPECTED,
                    f"Azure moves it to {azure.label} from {azure.start:%Y-%m-%d}{after} (a start, rolled out "
                    f"region by region){until}{offered}",
                    kind,
                    date=azure.start,
                    actor="azure",
                )
            if azure.source == "default":
                due = default_changed_at + DEFAULT_CHANGE_WINDOW if default_changed_at else None
                by = f" by {due:%Y-%m-%d}" if due else " within two weeks of the default change"
                return make(
                    Status.UPGRADE_EXPECTED,
                    f"Azure moves it to the new default {azure.label}{by}{offered}",
                    "auto-default",
                    date=due,
                    actor="azure",
                )
            if retirement is not None:  # a named replacement with no start date: Azure moves it at retirement
                return on_expiry(azure, retirement)
        if retirement is not None:
            return stuck("auto-default-no-newer", f"stops working{when} ({days} days): {none_named}")
        return healthy("auto-default-ok", "auto-update to default")

    # OnceCurrentVersionExpired, and any value this code does not know (treated as Azure's documented default)
    unknown = (
        ""
        if policy == UpgradeOption.ONCE_EXPIRED
        else f"unknown policy {policy!r} treated as OnceCurrentVersionExpired; "
    )
    if retired:
        result = not_moved()
        return replace(result, summary=unknown + result.summary)
    if retirement is not None:
        if azure is None:
            return stuck("expired-no-target", f"{unknown}stops working{when} ({days} days): {none_named}")
        result = on_expiry(azure, retirement)
        return replace(result, summary=unknown + result.summary)
    return healthy("expired-ok", f"{unknown}upgrade when expired")


def _source_text(t: Target) -> str:
    return {
        "replacement": "replacement Azure names",
        "default": "current default",
        "preview": "newer preview",
    }[t.source]


def explains_azure_move(
    before: Deployment,
    after_model: str,
    after_version: str,
    before_entry: ModelVersion | None,
    catalog: Mapping[VersionKey, ModelVersion],
) -> bool:
    """Whether a version change modelwatch did not make is what Azure's documented upgrade does: to the
    replacement the catalog names for the old version, or to a newer default (or preview) of the same model,
    never a downgrade, and never for a deployment Azure does not move (NoAutoUpgrade, provisioned, fine-tuned).
    Anything else was changed outside modelwatch: a person, a pipeline, an infrastructure template."""
    if (
        before.is_provisioned
        or before.is_batch
        or before.is_fine_tuned
        or before.model_format.casefold() != OPENAI_FORMAT
    ):
        return False
    preview = before_entry is not None and before_entry.is_preview
    if (
        before.policy == UpgradeOption.NO_AUTO and not preview
    ):  # a preview is force-upgraded, whatever its policy
        return False
    replacement = before_entry.replacement if before_entry is not None else None
    if (
        replacement is not None
        and replacement.target_model_version == after_version
        and (replacement.target_model_name or before.model_name) == after_model
    ):
        return True
    if after_model != before.model_name:
        return False
    after_entry = catalog.get(VersionKey(before.model_format, after_model, after_version))
    if after_entry is None:
        return False
    newer = is_newer(after_entry, before_entry, before.model_version)
    return bool(newer) and (after_entry.is_default or _is_preview(after_entry))


def concerns(d: Deployment, fmt: str, name: str, version: str | None) -> bool:
    """Whether news of this model (and version) concerns ``d``: its own model, or the base of its fine-tune
    (a fine-tuned model lives by its own dates, but its base model's news is when people ask about it)."""
    if d.model_format.casefold() == fmt.casefold() and d.model_name == name:
        return version is None or d.model_version == version
    if any(
        f.casefold() == fmt.casefold() and n == name and (version is None or v == version)
        for f, n, v in d.routing_models
    ):
        return True  # a model-router routing to it
    ft = d.fine_tune
    return ft is not None and ft.base_model == name and (version is None or ft.base_version == version)

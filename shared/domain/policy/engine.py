"""The engine's entry point: ``assess`` sends a deployment to the rules that speak for it (ignored, not watched,
fine-tuned, another format, no catalog yet, else the OpenAI rules of ``options.py``), then links a model-router's
routed models' retirements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from shared.domain.catalog import ModelVersion, VersionKey
from shared.domain.deployments import Deployment
from shared.domain.policy.assessment import OPENAI_FORMAT, Assessment, PolicyRules, Status
from shared.domain.policy.options import assess_openai
from shared.domain.policy.own_dates import fine_tuned, other_format
from shared.domain.timeutil import days_until


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
        return fine_tuned(d, now)
    if d.model_format.casefold() != OPENAI_FORMAT:
        # partner and other formats (Meta, Mistral, ...): their catalog dates are watched; Azure documents no
        # automatic upgrade for them (https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements), so none is ever predicted and none written, even
        # with CATALOG_MODEL_FORMATS=*
        return other_format(d, catalog, now)
    if not catalog:
        return Assessment(
            d,
            Status.NOT_TRACKED,
            f"not tracked: no catalog of {d.location} has been read yet (is it in WATCH_LOCATIONS?)",
            "no-catalog",
        )
    own = assess_openai(d, catalog, now, rules, default_changed_at)
    return _router(own, catalog, now) if d.is_model_router else own


def _router(own: Assessment, catalog: Mapping[VersionKey, ModelVersion], now: datetime) -> Assessment:
    """A model-router deployment (Deployments - Get, api 2026-03-01 ``routing.models``,
    https://learn.microsoft.com/rest/api/aiservices/accountmanagement/deployments): the retirement of a model in its
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

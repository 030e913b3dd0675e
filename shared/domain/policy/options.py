"""What Azure does to an OpenAI deployment, and what modelwatch does, by what decides first: a provisioned or Batch
SKU, a retiring preview, then the ``versionUpgradeOption`` (https://learn.microsoft.com/azure/ai-foundry/openai/how-to/working-with-models, https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements; docs/predictions.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from shared.domain.catalog import ModelVersion, VersionKey
from shared.domain.deployments import Deployment, UpgradeOption
from shared.domain.policy.assessment import DEFAULT_CHANGE_WINDOW, Actor, Assessment, PolicyRules, Status
from shared.domain.policy.situation import Situation, is_auto_default
from shared.domain.policy.targets import Source, azure_target


def assess_openai(
    d: Deployment,
    catalog: Mapping[VersionKey, ModelVersion],
    now: datetime,
    rules: PolicyRules,
    default_changed_at: datetime | None,
) -> Assessment:
    """The first rule that speaks for the deployment decides."""
    s = Situation.of(d, catalog, now, rules, default_changed_at)
    if d.is_provisioned:
        return provisioned(s)
    if d.is_batch:
        return batch(s)
    if (forced := preview(s)) is not None:
        return forced
    if d.policy == UpgradeOption.NO_AUTO:
        return no_auto(s)
    if d.policy == UpgradeOption.ONCE_NEW_DEFAULT:
        return once_new_default(s)
    return once_expired(s)


def provisioned(s: Situation) -> Assessment:
    """Never moved by Azure; written by modelwatch only with POLICY_ENFORCE_PROVISIONED, near its retirement."""
    note = "provisioned deployments are never auto-upgraded by Azure"
    near = s.retired or (s.days is not None and s.days <= s.rules.provisioned_lead_days)
    if s.mine is not None and s.rules.enforce_provisioned and near:
        return s.ours("provisioned-enforced", f"{note}; enforcement includes provisioned")
    if s.retired:
        return s.stuck("provisioned-retired", f"{s.label} {s.gone}: calls fail; {note}; {s.migrate_to()}")
    if s.retirement is not None:
        return s.stuck(
            "provisioned-retiring",
            f"stops working{s.when} ({s.days} days): {note}; {s.migrate_to()} yourself",
        )
    return s.healthy("provisioned-ok", "provisioned: never auto-upgraded")


def batch(s: Situation) -> Assessment:
    """Never moved by Azure, never written in place: migrated side by side."""
    # Learn FAQ (https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements): "Batch deployments follow the side-by-side (multi-deployment)
    # migration approach": never upgraded by Azure, whatever the policy, and never written in place
    side = (
        f"deploy {s.azure.label} beside it (a new {s.d.sku_name} deployment), resubmit the jobs, then delete this "
        "deployment"
        if s.azure is not None
        else f"{s.none_named}: deploy a newer model beside it, resubmit the jobs, then delete this deployment"
    )
    note = "Batch deployments are never upgraded by Azure"
    if s.retired:
        return s.stuck("batch-retired", f"{s.label} {s.gone}: batch jobs fail; {note}: {side}")
    if s.retirement is not None:
        return s.stuck("batch-retiring", f"stops working{s.when} ({s.days} days): {note}: {side}")
    return s.healthy("batch-ok", "Batch: never auto-upgraded")


def preview(s: Situation) -> Assessment | None:
    """A retiring preview, whatever its policy; None when it is not one, or its own newer preview comes first."""
    current, retirement, azure = s.current, s.retirement, s.azure
    if current is None or not current.is_preview or retirement is None:
        return None
    # Learn (§2.3b): preview deployments are "force-upgraded to a replacement (a newer preview version or the
    # GA model) or the model is retired with no replacement. There's no option to remain on a retiring
    # preview model", with at least 30 days' notice: whatever the update policy
    forced, _ = azure_target(s.d, current, s.catalog, s.now, previews=True)
    earlier = (
        is_auto_default(s.d)
        and azure is not None
        and azure.source == Source.PREVIEW
        and azure.start is not None
        and azure.start < retirement
    )
    if earlier:
        return None
    if s.retired:
        if forced is not None:
            return s.window(forced)
        return s.stuck("preview-retired", f"{s.label} (preview) {s.gone} with no replacement: calls fail")
    if forced is not None:
        return s.make(
            Status.UPGRADE_EXPECTED,
            f"preview: Azure force-upgrades it to {forced.label} on {retirement:%Y-%m-%d}, whatever its "
            f"update policy ({s.d.policy}): there is no option to remain on a retiring preview"
            f"{s.offered_note(forced)}",
            "preview-force-upgrade",
            date=retirement,
            actor=Actor.AZURE,
            target=forced,
        )
    return s.stuck(
        "preview-retiring",
        f"preview: Azure retires it{s.when} ({s.days} days) with no replacement, whatever its update policy: "
        "calls fail from then; pick a newer model",
    )


def no_auto(s: Situation) -> Assessment:
    """NoAutoUpgrade: never moved; it stops at retirement."""
    if s.retired:
        return s.stuck("no-auto-retired", f"{s.label} {s.gone}: NoAutoUpgrade, calls fail; {s.migrate_to()}")
    if s.retirement is not None:
        return s.stuck(
            "no-auto-retiring",
            f"stops working{s.when} ({s.days} days): NoAutoUpgrade never upgrades; {s.migrate_to()}",
        )
    return s.healthy("no-auto-ok", "NoAutoUpgrade")


def once_new_default(s: Situation) -> Assessment:
    """OnceNewDefaultVersionAvailable: moved from the upgrade start, to a new default within two weeks, to a newer
    preview two weeks after its release, or at retirement to a replacement with no start."""
    azure, mine, retirement = s.azure, s.mine, s.retirement
    if s.retired:
        return s.not_moved()
    if azure is not None:
        if s.rules.accelerate_default and mine is not None and mine.label == azure.label:
            return s.ours("accelerate-default", "POLICY_ACCELERATE_DEFAULT moves it now, ahead of Azure")
        if azure.start is not None:
            kind = {Source.PREVIEW: "auto-preview", Source.DEFAULT: "auto-default"}.get(
                azure.source, "auto-replacement"
            )
            after = " (two weeks after its release)" if azure.source == Source.PREVIEW else ""
            until = f"; {s.label} retires{s.when}" if retirement else ""
            return s.make(
                Status.UPGRADE_EXPECTED,
                f"Azure moves it to {azure.label} from {azure.start:%Y-%m-%d}{after} (a start, rolled out "
                f"region by region){until}{s.offered_note(azure)}",
                kind,
                date=azure.start,
                actor=Actor.AZURE,
            )
        if azure.source == Source.DEFAULT:
            changed = s.default_changed_at
            due = changed + DEFAULT_CHANGE_WINDOW if changed else None
            by = f" by {due:%Y-%m-%d}" if due else " within two weeks of the default change"
            return s.make(
                Status.UPGRADE_EXPECTED,
                f"Azure moves it to the new default {azure.label}{by}{s.offered_note(azure)}",
                "auto-default",
                date=due,
                actor=Actor.AZURE,
            )
        if retirement is not None:  # a named replacement with no start date: Azure moves it at retirement
            return s.on_expiry(azure, retirement)
    if retirement is not None:
        return s.stuck("auto-default-no-newer", f"stops working{s.when} ({s.days} days): {s.none_named}")
    return s.healthy("auto-default-ok", "auto-update to default")


def once_expired(s: Situation) -> Assessment:
    """OnceCurrentVersionExpired, and any value this code does not know (treated as Azure's documented default)."""
    policy = s.d.policy
    unknown = (
        ""
        if policy == UpgradeOption.ONCE_EXPIRED
        else f"unknown policy {policy!r} treated as OnceCurrentVersionExpired; "
    )
    if s.retired:
        result = s.not_moved()
        return replace(result, summary=unknown + result.summary)
    if s.retirement is not None:
        if s.azure is None:
            return s.stuck(
                "expired-no-target", f"{unknown}stops working{s.when} ({s.days} days): {s.none_named}"
            )
        result = s.on_expiry(s.azure, s.retirement)
        return replace(result, summary=unknown + result.summary)
    return s.healthy("expired-ok", f"{unknown}upgrade when expired")

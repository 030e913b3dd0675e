"""One OpenAI deployment against its region's catalog: what every rule of ``options.py`` reads (the current entry,
its retirement, Azure's target and modelwatch's), and the outcomes a rule returns (``make``, ``ours``, ``stuck``,
``healthy``, ``on_expiry``, ``window``, ``not_moved``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.domain.catalog import ModelVersion, VersionKey
from shared.domain.deployments import Deployment, UpgradeOption
from shared.domain.policy.assessment import Actor, Assessment, PolicyRules, Status
from shared.domain.policy.targets import Target, azure_target, our_target, source_text
from shared.domain.timeutil import days_until


@dataclass(frozen=True)
class Situation:
    """What the rules read of one deployment, computed once; its methods are the outcomes they return."""

    d: Deployment
    catalog: Mapping[VersionKey, ModelVersion]
    now: datetime
    rules: PolicyRules
    default_changed_at: datetime | None
    current: ModelVersion | None  # the deployment's version in the catalog; None: no longer listed
    retirement: datetime | None  # the current version's retirement for the deployment's SKU
    retired: bool
    days: int | None  # to the retirement
    azure: Target | None  # where Azure moves it
    why_none: tuple[str, ...]  # why Azure's target is None
    mine: Target | None  # what modelwatch would write
    problems: tuple[str, ...]  # why modelwatch may not write a target

    @classmethod
    def of(
        cls,
        d: Deployment,
        catalog: Mapping[VersionKey, ModelVersion],
        now: datetime,
        rules: PolicyRules,
        default_changed_at: datetime | None,
    ) -> Situation:
        current = catalog.get(d.version_key)
        retirement = current.retirement_for_sku(d.sku_name) if current is not None else None
        azure, why_none = azure_target(d, current, catalog, now, previews=is_auto_default(d))
        mine, problems = our_target(d, azure, current, catalog, now)
        return cls(
            d,
            catalog,
            now,
            rules,
            default_changed_at,
            current,
            retirement,
            current is None or current.is_retired_for(d.sku_name, now),
            days_until(retirement, now) if retirement is not None else None,
            azure,
            tuple(why_none),
            mine,
            tuple(problems),
        )

    @property
    def label(self) -> str:
        return f"{self.d.model_name} {self.d.model_version}"

    @property
    def none_named(self) -> str:
        why = f" ({'; '.join(self.why_none)})" if self.why_none else ""
        return f"Azure names no replacement and no newer default in {self.d.location}{why}"

    @property
    def gone(self) -> str:
        return "is no longer in the catalog" if self.current is None else "is retired"

    @property
    def when(self) -> str:
        return f" on {self.retirement:%Y-%m-%d}" if self.retirement else ""

    def offered_note(self, t: Target | None) -> str:
        return (
            f" ({t.label} is not offered in {self.d.location} yet: Azure upgrades anyway)"
            if t and t.entry is None
            else ""
        )

    def make(
        self,
        status: Status,
        summary: str,
        reason: str,
        *,
        date: datetime | None = None,
        actor: Actor = Actor.NONE,
        target: Target | None = None,
    ) -> Assessment:
        """An assessment of this deployment; its target is Azure's unless another is given."""
        t = target if target is not None else self.azure
        return Assessment(
            self.d,
            status,
            summary,
            reason,
            t.version if t else None,
            date,
            self.retirement,
            self.days,
            actor=actor,
            target_model=t.model if t else None,
        )

    def ours(self, reason: str, summary: str) -> Assessment:
        """modelwatch moves it: a write in enforce mode, a plan otherwise; never when pinned."""
        assert self.mine is not None
        if self.d.policy_tag == "pin":
            status = Status.BROKEN if self.retired else Status.AT_RISK
            return self.make(
                status,
                f"pinned (modelwatch:policy=pin): not upgraded; {summary}",
                "tag-pin",
                date=self.retirement,
            )
        verb = "upgrading" if self.rules.enforce else "plan: upgrade"
        planned = self.make(
            Status.UPGRADE_PLANNED,
            f"{verb} to {self.mine.label}: {summary}",
            reason,
            date=self.now,
            actor=Actor.MODELWATCH,
            target=self.mine,
        )
        return replace(planned, write=self.rules.enforce)

    def stuck(self, reason: str, summary: str) -> Assessment:
        """Nothing moves it: broken once retired, at risk until then."""
        status = Status.BROKEN if self.retired else Status.AT_RISK
        return self.make(status, summary, reason, date=self.retirement)

    def healthy(self, reason: str, policy_text: str) -> Assessment:
        extra = f"; newer version {self.azure.label} available" if self.azure else ""
        return self.make(Status.HEALTHY, f"no retirement scheduled ({policy_text}){extra}", reason)

    def on_expiry(self, azure: Target, retirement: datetime) -> Assessment:
        """Azure moves it at its retirement, less the catalog's upgradeOnExpiryLeadTimeDays."""
        current = self.current
        lead = current.replacement.upgrade_on_expiry_lead_days if current and current.replacement else None
        due = retirement - timedelta(days=lead or 0)
        minus = f" minus {lead} days" if lead else ""
        return self.make(
            Status.UPGRADE_EXPECTED,
            f"Azure upgrades it to {azure.label} on {due:%Y-%m-%d} (at {self.label}'s retirement{minus})"
            f"{self.offered_note(self.azure)}",
            "upgrade-on-expiry",
            date=due,
            actor=Actor.AZURE,
        )

    def migrate_to(self) -> str:
        if self.azure is not None:
            return f"migrate to {self.azure.label} (the {source_text(self.azure)})"
        return f"{self.none_named}: pick a newer model"

    def window(self, target: Target) -> Assessment:
        """Retired, still on the old version, and Azure upgrades it: Azure's upgrade is rolling, region by region,
        and the data plane keeps serving meanwhile. Within POLICY_UPGRADE_GRACE_DAYS it is "upgrade pending":
        neither broken nor written (a write would race Azure's own). After it: at risk, "check it answers", and
        modelwatch (enforce mode) may write the target itself, Azure having evidently not."""
        retirement, label = self.retirement, self.label
        assert retirement is not None
        since = max(0, (self.now - retirement).days)
        grace = self.rules.upgrade_grace_days
        if self.now < retirement + timedelta(days=grace):
            return self.make(
                Status.UPGRADE_EXPECTED,
                f"upgrade pending: Azure upgrades region by region; {label} retired on {retirement:%Y-%m-%d} and "
                f"Azure moves it to {target.label} (day {since} of the {grace}-day grace; the deployment keeps "
                f"answering meanwhile){self.offered_note(target)}",
                "upgrade-pending",
                date=retirement,
                actor=Actor.AZURE,
                target=target,
            )
        late = f"Azure has not moved it {since} days after retirement"
        pinned = self.d.policy_tag == "pin"
        if self.mine is not None and not pinned:
            return self.ours("expired-not-upgraded", f"{label} retired on {retirement:%Y-%m-%d}; {late}")
        why = (
            " (pinned, modelwatch:policy=pin: modelwatch does not write it)"
            if pinned
            else f" (modelwatch cannot write it: {'; '.join(self.problems)})"
            if self.problems
            else ""
        )
        return self.make(
            Status.AT_RISK,
            f"{late}: check it answers; Azure's target is {target.label}{why}",
            "tag-pin" if pinned else "upgrade-overdue",
            date=retirement,
            target=target,
        )

    def not_moved(self) -> Assessment:
        """Retired and still on the old version: Azure should have moved it; write it ourselves where allowed."""
        azure, mine, label, gone = self.azure, self.mine, self.label, self.gone
        if (
            azure is not None
            and self.current is not None
            and self.retirement is not None
            and self.d.azure_upgrades_sku
        ):
            return self.window(azure)
        if mine is not None:
            missed = f" to {azure.label}" if azure is not None and azure.label != mine.label else ""
            return self.ours("expired-not-upgraded", f"{label} {gone} and Azure has not moved it{missed}")
        if azure is not None:
            why = "; ".join(self.problems) if self.problems else ""
            return self.stuck(
                "expired-not-moved",
                f"{label} {gone} and Azure has not moved it to {azure.label} yet; modelwatch cannot write it "
                f"({why}): create a deployment of {azure.label} and move traffic",
            )
        return self.stuck("expired-no-target", f"{label} {gone}: {self.none_named}")


def is_auto_default(d: Deployment) -> bool:
    """OnceNewDefaultVersionAvailable, which Azure applies to every SKU but the provisioned ones."""
    return d.policy == UpgradeOption.ONCE_NEW_DEFAULT and not d.is_provisioned

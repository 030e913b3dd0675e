"""What the engine decides for one deployment (``Assessment``: a ``Status``, who moves it, to what, when), the
engine's settings (``PolicyRules``), and Azure's documented timings the rules use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.deployments import Deployment

DEFAULT_CHANGE_WINDOW = timedelta(days=14)  # "within two weeks of that designation change"
PREVIEW_UPGRADE_DELAY = timedelta(
    days=14
)  # previews: "starting two weeks after the new preview ... is released"
# Azure's own upgrades of a retired version's deployments are "scheduled on a rolling, region-by-region basis" with
# no published per-region schedule (https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements;
# docs/predictions.md §2a), and the data plane keeps
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


class PolicyMode(StrEnum):
    """POLICY_MODE, also carried by the assessment events (``mode``)."""

    PLAN = "plan"  # decide and record, write nothing
    ENFORCE = "enforce"  # also write deployments

    @classmethod
    def of(cls, enforce: bool) -> PolicyMode:
        return cls.ENFORCE if enforce else cls.PLAN


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


class Actor(StrEnum):
    """Who moves a deployment to its target."""

    AZURE = "azure"
    MODELWATCH = "modelwatch"
    NONE = "none"


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
    actor: Actor = Actor.NONE  # who moves it to its target
    target_model: str | None = None  # the target's model name: Azure's replacement can be another model

    @property
    def target_label(self) -> str | None:
        """ "gpt-5.1 2025-11-13": every message names the target's model and version."""
        if self.target_version is None:
            return None
        return f"{self.target_model or self.deployment.model_name} {self.target_version}"


def worst_first(a: Assessment) -> tuple[int, int, str]:
    """The one order every view lists deployments in: worst standing, then soonest date, then by id."""
    return STATUS_ORDER[a.status], a.days_left if a.days_left is not None else 10**6, a.deployment.key

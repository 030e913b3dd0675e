"""Sample events for every kind of message: ``alerts preview``, the card rendering check, and the tests.

Built with the same functions the services use (digests from real catalog events, deployment events from
``deployment_fields`` / ``upgraded_event``), so a sample cannot drift from what is really sent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain.changes import VersionChange
from shared.domain.deployment_events import deployment_fields, upgraded_event
from shared.domain.deployments import Deployment
from shared.domain.events import REGISTRY, EventType, LifecycleEvent, event_id
from shared.domain.payloads import AssessmentData, ReplacementData

NOW = datetime(2026, 3, 24, tzinfo=UTC)
ACCOUNT = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ai/providers/"
    "Microsoft.CognitiveServices/accounts/contoso-openai"
)
REGIONS = (
    "australiaeast", "brazilsouth", "canadaeast", "eastus", "eastus2", "francecentral", "japaneast",
    "northcentralus", "norwayeast", "swedencentral", "switzerlandnorth", "westeurope",
)  # fmt: skip


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _catalog(kind: EventType, model: str, version: str, location: str, **extra: Any) -> LifecycleEvent:
    facts: dict[str, Any] = {"location": location, "model_format": "OpenAI", "model_name": model,
                             "model_version": version, "lifecycle_status": "GenerallyAvailable"}  # fmt: skip
    payload = REGISTRY[kind].payload(**(facts | extra))
    ident = event_id(kind.value, location, model, version, str(sorted(extra.items())))
    return LifecycleEvent.create(kind, ident, NOW, payload)


def _digest(events: list[LifecycleEvent]) -> LifecycleEvent:
    from shared.domain.digest import build_digests

    (digest,) = build_digests(events)
    return digest


def deployment(
    name: str,
    version: str = "2024-05-13",
    *,
    sku: str = "Standard",
    policy: str | None = None,
    route: str | None = "payments",
    model: str = "gpt-4o",
) -> Deployment:
    tags = {"modelwatch:route": route} if route else {}
    return Deployment(
        f"{ACCOUNT}/deployments/{name}", ACCOUNT, name, "eastus", "OpenAI", model, version, sku, 50, policy,
        "Succeeded", tags,
    )  # fmt: skip


def _assessed(kind: EventType, d: Deployment, **fields: Any) -> LifecycleEvent:
    payload = AssessmentData(**deployment_fields(d), **fields)
    return LifecycleEvent.create(kind, event_id(kind.value, d.key, str(sorted(fields.items()))), NOW, payload)


def _at_risk(d: Deployment, days: int | None, status: str = "atRisk", summary: str = "") -> LifecycleEvent:
    retires = NOW + timedelta(days=days) if days is not None else NOW - timedelta(days=1)
    return _assessed(
        EventType.DEPLOYMENT_AT_RISK, d, status=status, reason="no-auto-retiring", summary=summary,
        action_date=retires, retirement_date=retires, days_remaining=days, performed_by="none",
        reminder=f"within-{days}", mode="plan", triggered_by="sample",
    )  # fmt: skip


def samples() -> dict[str, LifecycleEvent]:
    """One event per message kind, named by the kind of message it makes."""
    released = [_catalog(EventType.VERSION_RELEASED, "gpt-4.1", "2025-04-14", loc) for loc in REGIONS]
    default = [
        _catalog(EventType.DEFAULT_VERSION_CHANGED, "gpt-4o", "2024-11-20", loc, is_default_version=True,
                 previous_default_version="2024-08-06") for loc in REGIONS[:5]
    ]  # fmt: skip
    approaching = [
        _catalog(EventType.RETIREMENT_APPROACHING, "gpt-4o", "2024-05-13", loc, retirement_date=_day("2026-03-31"),
                 days_remaining=7, threshold=7, affected_skus=("Standard",),
                 replacement=ReplacementData(target_model_name="gpt-4.1", target_model_version="2025-04-14"))
        for loc in REGIONS[:3]
    ]  # fmt: skip
    retired = [
        _catalog(EventType.VERSION_RETIRED, "gpt-35-turbo", "0613", loc, lifecycle_status="Deprecated",
                 reason="lifecycleStatus", fully_retired=True, retirement_date=_day("2025-02-13"))
        for loc in REGIONS[3:5]
    ]  # fmt: skip
    baseline = [
        _catalog(EventType.RETIREMENT_SCHEDULED, f"model-{i}", "2025-01-01", "eastus", change="new", baseline=True,
                 retirement_date=_day(f"2026-{i % 12 + 1:02}-01")) for i in range(14)
    ]  # fmt: skip
    chat = deployment("chat-prod", policy="OnceNewDefaultVersionAvailable")
    legacy = deployment("legacy-batch", policy="NoAutoUpgrade", route="search")
    ptu = deployment("ptu-frontdoor", sku="ProvisionedManaged", route=None)
    summary_far = "stops working on 2026-09-30 (190 days): NoAutoUpgrade never upgrades"
    azure_upgrade = VersionChange(chat.resource_id, "2024-05-13", "2024-08-06", NOW, "azure",
                                   datetime(2026, 3, 31, tzinfo=UTC), "OnceNewDefaultVersionAvailable", "inventory")  # fmt: skip
    ours = VersionChange(legacy.resource_id, "2024-05-13", "2024-11-20", NOW, "modelwatch",
                          datetime(2026, 3, 31, tzinfo=UTC), "NoAutoUpgrade", "sample")  # fmt: skip
    back = VersionChange(chat.resource_id, "2024-08-06", "2024-05-13", NOW, "rollback",
                          datetime(2026, 10, 1, tzinfo=UTC), "OnceNewDefaultVersionAvailable", "sample")  # fmt: skip
    return {
        "catalog-released": _digest(released),
        "catalog-default-changed": _digest(default),
        "catalog-retirement-approaching": _digest(approaching),
        "catalog-retired": _digest(retired),
        "catalog-summary": _digest(baseline),
        "deployment-at-risk-heads-up": _at_risk(legacy, 190, summary=summary_far),
        "deployment-at-risk-30": _at_risk(legacy, 28, summary="stops working on 2026-04-21 (28 days): NoAutoUpgrade never upgrades"),
        "deployment-at-risk-urgent": _at_risk(ptu, 7, summary="stops working on 2026-03-31 (7 days): provisioned deployments are never auto-upgraded by Azure; migrate it yourself"),
        "deployment-broken": _at_risk(legacy, None, "broken", "gpt-4o 2024-05-13 is retired: NoAutoUpgrade, calls fail"),
        "deployment-upgrade-expected": _assessed(
            EventType.DEPLOYMENT_UPGRADE_PLANNED, chat, status="upgradeExpected", reason="auto-default",
            summary="Azure moves it to the new default 2024-11-20 by 2026-04-07", target_version="2024-11-20",
            action_date=_day("2026-04-07"), retirement_date=_day("2026-03-31"), days_remaining=7,
            performed_by="azure", reminder="within-7", mode="plan", triggered_by="sample"),
        "deployment-upgrade-planned": _assessed(
            EventType.DEPLOYMENT_UPGRADE_PLANNED, deployment("summarizer", policy="OnceCurrentVersionExpired"),
            status="upgradePlanned", reason="expired-not-upgraded",
            summary="plan: upgrade to 2024-08-06: gpt-4o 2024-05-13 is retired and Azure has not moved it",
            target_version="2024-08-06", action_date=NOW, retirement_date=_day("2026-03-20"),
            days_remaining=0, performed_by="modelwatch", reminder="due", mode="plan", triggered_by="sample"),
        "deployment-upgraded-by-azure": upgraded_event(chat, azure_upgrade, now=NOW),
        "deployment-upgraded-by-modelwatch": upgraded_event(legacy, ours, now=NOW),
        "deployment-rolled-back": upgraded_event(chat, back, now=NOW),
    }  # fmt: skip

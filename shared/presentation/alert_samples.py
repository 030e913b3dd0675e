"""Sample events for every kind of message: ``alerts preview``, the card rendering check, and the tests.

Built with the same functions the services use (digests from real catalog events, deployment events from
``deployment_data`` / ``upgraded_event``), so a sample cannot drift from what is really sent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.changes import VersionChange
from shared.domain.deployment_events import deployment_data, upgraded_event
from shared.domain.deployments import Deployment
from shared.domain.events import EventType, JsonObject, LifecycleEvent, event_id, version_subject
from shared.domain.timeutil import format_instant

NOW = datetime(2026, 3, 24, tzinfo=UTC)
ACCOUNT = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ai/providers/"
    "Microsoft.CognitiveServices/accounts/contoso-openai"
)
REGIONS = ("australiaeast", "brazilsouth", "canadaeast", "eastus", "eastus2", "francecentral", "japaneast",
           "northcentralus", "norwayeast", "swedencentral", "switzerlandnorth", "westeurope")  # fmt: skip


def _catalog(kind: EventType, model: str, version: str, location: str, **extra: object) -> LifecycleEvent:
    data: JsonObject = {"location": location, "modelFormat": "OpenAI", "modelName": model, "modelVersion": version,
                        "lifecycleStatus": "GenerallyAvailable", "isDefaultVersion": False, "retirementDate": None,
                        "skuRetirementDates": {}, "deprecationStatus": None, "replacement": None, "baseline": False}  # fmt: skip
    data.update(extra)  # type: ignore[arg-type]
    ident = event_id(kind.value, location, model, version, str(sorted(extra.items())))
    return LifecycleEvent(ident, kind.value, version_subject(location, "OpenAI", model, version), NOW, data)


def _digest(events: list[LifecycleEvent]) -> LifecycleEvent:
    from shared.domain.digest import build_digests

    (digest,) = build_digests(events)
    return digest


def deployment(name: str, version: str = "2024-05-13", *, sku: str = "Standard", policy: str | None = None,
               route: str | None = "payments", model: str = "gpt-4o") -> Deployment:  # fmt: skip
    tags = {"modelwatch:route": route} if route else {}
    return Deployment(f"{ACCOUNT}/deployments/{name}", ACCOUNT, name, "eastus", "OpenAI", model, version, sku, 50,
                      policy, "Succeeded", tags)  # fmt: skip


def _assessed(kind: EventType, d: Deployment, **fields: object) -> LifecycleEvent:
    data = deployment_data(d)
    data.update(fields)  # type: ignore[arg-type]
    return LifecycleEvent(
        event_id(kind.value, d.key, str(sorted(fields.items()))), kind.value, d.resource_id, NOW, data
    )


def _at_risk(d: Deployment, days: int | None, status: str = "atRisk", summary: str = "") -> LifecycleEvent:
    retires = NOW + timedelta(days=days) if days is not None else NOW - timedelta(days=1)
    return _assessed(
        EventType.DEPLOYMENT_AT_RISK, d, status=status, reason="no-auto-retiring", summary=summary,
        targetVersion=None, actionDate=format_instant(retires), retirementDate=format_instant(retires),
        daysRemaining=days, performedBy="none", reminder=f"within-{days}", mode="plan", triggeredBy="sample",
    )  # fmt: skip


def samples() -> dict[str, LifecycleEvent]:
    """One event per message kind, named by the kind of message it makes."""
    released = [_catalog(EventType.VERSION_RELEASED, "gpt-4.1", "2025-04-14", loc) for loc in REGIONS]
    default = [
        _catalog(EventType.DEFAULT_VERSION_CHANGED, "gpt-4o", "2024-11-20", loc, isDefaultVersion=True,
                 previousDefaultVersion="2024-08-06") for loc in REGIONS[:5]
    ]  # fmt: skip
    approaching = [
        _catalog(EventType.RETIREMENT_APPROACHING, "gpt-4o", "2024-05-13", loc, retirementDate="2026-03-31T00:00:00Z",
                 daysRemaining=7, threshold=7, affectedSkus=["Standard"],
                 replacement={"targetModelName": "gpt-4.1", "targetModelVersion": "2025-04-14"}) for loc in REGIONS[:3]
    ]  # fmt: skip
    retired = [
        _catalog(EventType.VERSION_RETIRED, "gpt-35-turbo", "0613", loc, lifecycleStatus="Deprecated",
                 reason="lifecycleStatus", fullyRetired=True, retirementDate="2025-02-13T00:00:00Z")
        for loc in REGIONS[3:5]
    ]  # fmt: skip
    baseline = [
        _catalog(EventType.RETIREMENT_SCHEDULED, f"model-{i}", "2025-01-01", "eastus", change="new", baseline=True,
                 retirementDate=f"2026-{i % 12 + 1:02}-01T00:00:00Z") for i in range(14)
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
            summary="Azure moves it to the new default 2024-11-20 by 2026-04-07", targetVersion="2024-11-20",
            actionDate="2026-04-07T00:00:00Z", retirementDate="2026-03-31T00:00:00Z", daysRemaining=7,
            performedBy="azure", reminder="within-7", mode="plan", triggeredBy="sample"),
        "deployment-upgrade-planned": _assessed(
            EventType.DEPLOYMENT_UPGRADE_PLANNED, deployment("summarizer", policy="OnceCurrentVersionExpired"),
            status="upgradePlanned", reason="expired-not-upgraded",
            summary="plan: upgrade to 2024-08-06: gpt-4o 2024-05-13 is retired and Azure has not moved it",
            targetVersion="2024-08-06", actionDate=format_instant(NOW), retirementDate="2026-03-20T00:00:00Z",
            daysRemaining=0, performedBy="modelwatch", reminder="due", mode="plan", triggeredBy="sample"),
        "deployment-upgraded-by-azure": upgraded_event(chat, azure_upgrade, now=NOW),
        "deployment-upgraded-by-modelwatch": upgraded_event(legacy, ours, now=NOW),
        "deployment-rolled-back": upgraded_event(chat, back, now=NOW),
    }  # fmt: skip

"""Sample events for every kind of message: ``alerts preview``, the card rendering check, and the tests.

Built with the same functions the services use (digests from real catalog events, deployment events from
``deployment_fields`` / ``upgraded_event``), so a sample cannot drift from what is really sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from shared.domain.alerts import Concerned, Message, batch_message, mentioned, messages_for, with_links
from shared.domain.catalog import parse_models
from shared.domain.changes import AppliedBy, VersionChange
from shared.domain.deployment_events import upgrade_failed_event, upgraded_event
from shared.domain.deployments import Deployment
from shared.domain.events import REGISTRY, EventType, JsonObject, LifecycleEvent
from shared.domain.ids import event_id
from shared.domain.payloads import NotListedReason, ReplacementData, RetiredReason, RetirementChange
from shared.domain.policy import Actor, Assessment, PolicyRules, Status, assess
from shared.domain.routes import DEFAULT_ROUTE, Mentions, TeamsMention

NOW = datetime(2026, 3, 24, tzinfo=UTC)
ACCOUNT = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ai/providers/"
    "Microsoft.CognitiveServices/accounts/contoso-openai"
)
REGIONS = (
    "australiaeast",
    "brazilsouth",
    "canadaeast",
    "eastus",
    "eastus2",
    "francecentral",
    "japaneast",
    "northcentralus",
    "norwayeast",
    "swedencentral",
    "switzerlandnorth",
    "westeurope",
)


# a route's mentions (the ids of Slack's and Microsoft's documentation examples): critical messages carry them
MENTIONS = Mentions(
    slack=("SAZ94GDB8", "U024BE7LH"),
    teams=(
        TeamsMention("AdeleV@contoso.onmicrosoft.com", "Adele Vance"),
        TeamsMention("87d349ed-44d7-43e1-9a83-5f2406dee5bd", "Payments on-call"),
    ),
)


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _catalog(kind: EventType, model: str, version: str, location: str, **extra: Any) -> LifecycleEvent:
    facts: dict[str, Any] = {
        "location": location,
        "model_format": "OpenAI",
        "model_name": model,
        "model_version": version,
        "lifecycle_status": "GenerallyAvailable",
    }
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
        f"{ACCOUNT}/deployments/{name}",
        ACCOUNT,
        name,
        "eastus",
        "OpenAI",
        model,
        version,
        sku,
        50,
        policy,
        "Succeeded",
        tags,
    )


def _version(
    name: str,
    version: str,
    retires: str | None,
    *,
    default: bool = False,
    status: str = "GenerallyAvailable",
    replacement: tuple[str, str] | None = None,
) -> JsonObject:
    model: JsonObject = {
        "format": "OpenAI",
        "name": name,
        "version": version,
        "lifecycleStatus": status,
        "isDefaultVersion": default,
        "skus": [{"name": "Standard"}, {"name": "ProvisionedManaged"}],
    }
    if retires:
        model["deprecation"] = {"inference": f"{retires}T00:00:00Z"}
    if replacement:
        model["replacementConfig"] = {"targetModelName": replacement[0], "targetModelVersion": replacement[1]}
    return {"kind": "OpenAI", "skuName": "Standard", "model": model}


# one region's catalog as the samples' deployments see it (the policy engine judges them against it)
CATALOG = {
    v.key: v
    for v in parse_models(
        [
            _version("gpt-4o", "2024-05-13", "2026-03-31", replacement=("gpt-4.1", "2025-04-14")),
            _version("gpt-4o", "2024-08-06", "2026-09-30"),
            _version("gpt-4o", "2024-11-20", "2027-03-01", default=True),
            _version("gpt-4.1", "2025-04-14", "2027-04-14", default=True),
            _version("gpt-35-turbo", "0613", "2025-02-13", status="Deprecated"),
            _version("gpt-35-turbo", "0125", "2026-06-01", default=True),
        ]
    ).versions
}


def _team(
    route: str | None,
    plan: Sequence[tuple[str, str, str, str | None, str]],
    *,
    enforce: bool = False,
) -> list[Assessment]:
    """(name@version, count, model, policy, sku) -> the engine's decisions for a team's deployments."""
    out = []
    for prefix, count, model, policy, sku in plan:
        name, version = prefix.split("@")
        for i in range(int(count)):
            d = deployment(
                f"{name}-{i + 1:02}" if int(count) > 1 else name,
                version,
                model=model,
                policy=policy,
                sku=sku,
                route=route,
            )
            out.append(assess(d, CATALOG, NOW, PolicyRules(enforce=enforce)))
    return out


def _retired_0613() -> list[LifecycleEvent]:
    """gpt-35-turbo 0613 retired in two regions."""
    return [
        _catalog(
            EventType.VERSION_RETIRED,
            "gpt-35-turbo",
            "0613",
            loc,
            lifecycle_status="Deprecated",
            reason=RetiredReason.LIFECYCLE_STATUS,
            fully_retired=True,
            retirement_date=_day("2025-02-13"),
        )
        for loc in REGIONS[3:5]
    ]


def _default_moved(regions: Sequence[str]) -> list[LifecycleEvent]:
    """gpt-4o's default moved from 2024-08-06 to 2024-11-20 in ``regions``."""
    return [
        _catalog(
            EventType.DEFAULT_VERSION_CHANGED,
            "gpt-4o",
            "2024-11-20",
            loc,
            is_default_version=True,
            previous_default_version="2024-08-06",
        )
        for loc in regions
    ]


def _approaching_0513(regions: Sequence[str], skus: tuple[str, ...] | None) -> list[LifecycleEvent]:
    """gpt-4o 2024-05-13 seven days from retiring (for ``skus``; None: every SKU) in ``regions``."""
    return [
        _catalog(
            EventType.RETIREMENT_APPROACHING,
            "gpt-4o",
            "2024-05-13",
            loc,
            retirement_date=_day("2026-03-31"),
            days_remaining=7,
            threshold=7,
            affected_skus=skus,
            replacement=ReplacementData(target_model_name="gpt-4.1", target_model_version="2025-04-14"),
        )
        for loc in regions
    ]


def _azure_move(d: Deployment) -> VersionChange:
    """Azure's move of ``d`` from gpt-4o 2024-05-13 to 2024-08-06, as the inventory refresh records it."""
    return VersionChange(
        d.resource_id,
        "2024-05-13",
        "2024-08-06",
        NOW,
        AppliedBy.AZURE,
        datetime(2026, 3, 31, tzinfo=UTC),
        "OnceNewDefaultVersionAvailable",
        "inventory",
    )


def team_samples() -> dict[str, tuple[LifecycleEvent, Concerned, bool]]:
    """Catalog changes as the teams hear them: (digest, each route's decisions per change, enforce)."""
    default = _default_moved(REGIONS[3:5])
    approaching = _approaching_0513(REGIONS[3:5], None)
    retired = _retired_0613()
    on_0806 = [
        ("chat@2024-08-06", "12", "gpt-4o", "OnceNewDefaultVersionAvailable", "Standard"),
        ("batch@2024-08-06", "6", "gpt-4o", "OnceCurrentVersionExpired", "Standard"),
        ("pinned@2024-08-06", "6", "gpt-4o", "NoAutoUpgrade", "Standard"),
    ]
    on_0513 = [
        ("legacy@2024-05-13", "3", "gpt-4o", "NoAutoUpgrade", "Standard"),
        ("chat-eu@2024-05-13", "2", "gpt-4o", "OnceNewDefaultVersionAvailable", "Standard"),
    ]
    ptu = [("ptu-frontdoor@2024-05-13", "1", "gpt-4o", None, "ProvisionedManaged")]
    gone = [("fraud@0613", "2", "gpt-35-turbo", "NoAutoUpgrade", "Standard")]
    late = [("summarizer@0613", "1", "gpt-35-turbo", "OnceCurrentVersionExpired", "Standard")]
    return {
        "team-default-changed": (_digest(default), {0: {"payments": _team("payments", on_0806)}}, False),
        "team-retirement-approaching": (
            _digest(approaching),
            {0: {"payments": _team("payments", on_0513), DEFAULT_ROUTE: _team(None, ptu)}},
            False,
        ),
        "team-broken": (_digest(retired), {0: {"search": _team("search", gone)}}, False),
        "team-upgrade-planned": (_digest(retired), {0: {"payments": _team("payments", late)}}, False),
    }


def _upgrades(n: int) -> list[LifecycleEvent]:
    out = []
    for i in range(n):
        d = deployment(f"chat-{i + 1:02}", policy="OnceNewDefaultVersionAvailable")
        out.append(upgraded_event(d, _azure_move(d), now=NOW))
    return out


def _failures(n: int) -> list[LifecycleEvent]:
    """modelwatch's writes of the new default refused by ARM (POLICY_ACCELERATE_DEFAULT with enforcement)."""
    out = []
    for i in range(n):
        d = deployment(f"batch-{i + 1:02}", sku="GlobalStandard", policy="OnceNewDefaultVersionAvailable")
        a = Assessment(
            d,
            Status.UPGRADE_PLANNED,
            "upgrading to gpt-4o 2024-11-20: POLICY_ACCELERATE_DEFAULT moves it now, ahead of Azure",
            "accelerate-default",
            target_version="2024-11-20",
            action_date=NOW,
            retirement_date=datetime(2026, 3, 31, tzinfo=UTC),
            days_left=7,
            write=True,
            actor=Actor.MODELWATCH,
            target_model="gpt-4o",
        )
        error = (  # as the ARM client words a refusal (shared/adapters/arm.py)
            f"ARM PUT {d.resource_id} answered 409 InsufficientQuota: This operation require 50 new capacity in "
            "quota Tokens Per Minute (thousands) - gpt-4o - GlobalStandard, which is bigger than the current "
            "available capacity 20."
        )
        out.append(upgrade_failed_event(a, error, now=NOW, trigger="sample", thresholds=(30, 14, 7, 1)))
    return out


def _same(value: Any) -> Any:
    return value


def sample_messages(
    status_page_url: str | None = None, *, rewrite: Callable[[Any], Any] = _same
) -> dict[str, list[Message]]:
    """Every kind of message, as the alert subscriber would send it (the team samples: the route messages).
    ``rewrite`` is applied to every input first (each event, each route's decisions): the tests pass one that
    puts hostile text in every string, to check what every kind of message renders."""
    out = {name: messages_for(rewrite(e), status_page_url=status_page_url) for name, e in samples().items()}
    for name, (digest, concerned, enforce) in team_samples().items():
        told = messages_for(
            rewrite(digest), status_page_url=status_page_url, concerned=rewrite(concerned), enforce=enforce
        )
        out[name] = [m for m in told if not m.catalog_news]
    batch = batch_message([rewrite(e) for e in _upgrades(12)])
    assert batch is not None
    out["deployments-upgraded-by-azure"] = with_links([batch], status_page_url)
    failed = batch_message([rewrite(e) for e in _failures(3)])
    assert failed is not None
    out["deployments-upgrade-failed"] = with_links([failed], status_page_url)
    # as a route with mentions tells it (ALERT_ROUTES' "mentions"): the one kind of sample that mentions anyone
    out["deployment-upgrade-failed-mentioned"] = [
        mentioned(m, MENTIONS) for m in out["deployment-upgrade-failed"]
    ]
    return out


def samples() -> dict[str, LifecycleEvent]:
    """One event per message kind, named by the kind of message it makes."""
    released = [_catalog(EventType.VERSION_RELEASED, "gpt-4.1", "2025-04-14", loc) for loc in REGIONS]
    default = _default_moved(REGIONS[:5])
    approaching = _approaching_0513(REGIONS[:3], ("Standard",))
    retired = _retired_0613()
    baseline = [
        _catalog(
            EventType.RETIREMENT_SCHEDULED,
            f"model-{i}",
            "2025-01-01",
            "eastus",
            change=RetirementChange.NEW,
            baseline=True,
            retirement_date=_day(f"2026-{i % 12 + 1:02}-01"),
        )
        for i in range(14)
    ]
    chat = deployment("chat-prod", policy="OnceNewDefaultVersionAvailable")
    legacy = deployment("legacy-batch", policy="NoAutoUpgrade", route="search")
    ours = VersionChange(
        legacy.resource_id,
        "2024-05-13",
        "2024-11-20",
        NOW,
        AppliedBy.MODELWATCH,
        datetime(2026, 3, 31, tzinfo=UTC),
        "NoAutoUpgrade",
        "sample",
    )
    back = VersionChange(
        chat.resource_id,
        "2024-08-06",
        "2024-05-13",
        NOW,
        AppliedBy.ROLLBACK,
        datetime(2026, 10, 1, tzinfo=UTC),
        "OnceNewDefaultVersionAvailable",
        "sample",
    )
    return {
        "catalog-released": _digest(released),
        "catalog-default-changed": _digest(default),
        "catalog-retirement-approaching": _digest(approaching),
        "catalog-retired": _digest(retired),
        "catalog-summary": _digest(baseline),
        # the watched subscription no longer lists a Deprecated version another subscription runs: not retired
        "catalog-not-listed": _digest(
            [
                _catalog(
                    EventType.VERSION_NOT_LISTED,
                    "gpt-4.1",
                    "2025-04-14",
                    "eastus",
                    reason=NotListedReason.LISTED_ELSEWHERE,
                    not_listed_for=("00000000-0000-0000-0000-00000000d3e0",),
                    listed_for=("00000000-0000-0000-0000-00000000d3e1",),
                    retirement_date=_day("2026-10-14"),
                    works_until=_day("2026-10-14"),
                )
            ]
        ),
        "deployment-upgraded-by-azure": upgraded_event(chat, _azure_move(chat), now=NOW),
        "deployment-upgraded-by-modelwatch": upgraded_event(legacy, ours, now=NOW),
        "deployment-rolled-back": upgraded_event(chat, back, now=NOW),
        "deployment-upgrade-failed": _failures(1)[0],
        "canary-regression": canary_sample(chat, regression=True),
        "canary-passed": canary_sample(chat, regression=False),
    }


def canary_sample(
    d: Deployment,
    now: datetime = NOW,
    *,
    regression: bool = True,
    target_version: str = "2024-11-20",
    excerpt: str = "```json {…} ```",
) -> LifecycleEvent:
    """The payments team's suite on ``d``'s version and ``target_version`` in a temporary canary: the newer version
    fences its JSON (is-json fails on two cases: ``excerpt``), or, once the prompt says so, passes. Also the
    CanaryEvaluated example of docs/events.md (scripts/gen_event_docs.py)."""
    from shared.domain.canary import (
        CanaryInfo,
        CanaryResult,
        CaseOnVersion,
        CaseResult,
        Side,
        canary_event,
    )
    from shared.domain.verdict import Verdict

    ok = CaseOnVersion(True, (), 412.0, 1)
    fenced = CaseOnVersion(False, ("is-json: not JSON (Expecting value)",), 455.0, 1, excerpt=excerpt)
    bad = fenced if regression else ok
    ids = ("total", "currency", "due-date", "no-apology", "fast")
    cases = tuple(CaseResult(i, ok, bad if i in ("total", "currency") else ok) for i in ids)
    name = f"{d.name}-mw-canary"
    result = CanaryResult(
        d.resource_id,
        "payments-invoices.yaml",
        Verdict.REGRESSION if regression else Verdict.PASS,
        Side(d.model_name, d.model_version, d.name, 5, 0),
        Side(d.model_name, target_version, name, 3 if regression else 5, 2 if regression else 0),
        cases=cases,
        canary=CanaryInfo(name, created=True, deleted=True),
        tokens=1840,
        regressions=("total", "currency") if regression else (),
    )
    return canary_event(result, d, now)

"""Issue #21's prediction rules, one table per rule: never act or reassure on what Azure has not said.

Catalogs are built as Learn's "Model lifecycle and support policy" (2026-04 and 2026-10 revisions) states them
(https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements); docs/predictions.md gives each rule with its source.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.adapters.storage.records import deployment_from_json, deployment_to_json
from shared.bootstrap import policy_rules
from shared.config import load_settings
from shared.domain.catalog import ModelVersion, Replacement, VersionKey
from shared.domain.deployment_events import assessment_event
from shared.domain.deployments import Deployment, parse_deployment
from shared.domain.policy import PolicyRules, Status, assess, concerns, explains_azure_move
from tests.builders import ACCOUNT, deployment

ONCE_NEW, ONCE_EXP, NO_AUTO = "OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired", "NoAutoUpgrade"
ENFORCE = PolicyRules(enforce=True, accelerate_default=True, enforce_provisioned=True)
THRESHOLDS = (90, 60, 30, 14, 7, 1)


def dt(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def mv(
    name: str,
    version: str,
    *,
    retires: str | None = None,
    skus: dict[str, str] | None = None,
    default: bool = False,
    status: str = "GenerallyAvailable",
    created: str | None = None,
    replacement: Replacement | None = None,
    fmt: str = "OpenAI",
) -> ModelVersion:
    return ModelVersion(
        fmt,
        name,
        version,
        is_default=default,
        lifecycle_status=status,
        retirement_date=dt(retires) if retires else None,
        sku_retirement_dates=tuple(sorted((k, dt(v)) for k, v in (skus or {}).items())),
        created_at=dt(created or version) if created or version[:2] == "20" else None,
        replacement=replacement,
    )


def cat(*versions: ModelVersion) -> dict[VersionKey, ModelVersion]:
    return {v.key: v for v in versions}


def dep(
    model: str = "gpt-4o",
    version: str = "2024-08-06",
    *,
    policy: str | None = ONCE_NEW,
    sku: str = "Standard",
    fmt: str = "OpenAI",
    tags: dict[str, str] | None = None,
    routing: tuple[tuple[str, str, str], ...] = (),
) -> Deployment:
    name = f"{model}-{sku}-{policy}".lower()
    return deployment(
        name, model, version, sku=sku, policy=policy, fmt=fmt, tags=tags or {}, routing_models=routing
    )


GPT51 = mv("gpt-5.1", "2025-11-13", default=True)
# gpt-4o 2024-08-06 as Learn's 2026 schedule gives it: Standard retires 2026-03-31 and is upgraded to gpt-5.1 from
# 2026-03-09; GlobalStandard and DataZoneStandard (and provisioned) have their own date, 2026-10-01
SPLIT = {"GlobalStandard": "2026-10-01", "DataZoneStandard": "2026-10-01", "Provisioned": "2026-10-01"}
GPT4O = mv(
    "gpt-4o",
    "2024-08-06",
    retires="2026-03-31",
    skus=SPLIT,
    status="Deprecating",
    replacement=Replacement("gpt-5.1", "2025-11-13", dt("2026-03-09"), None),
)
LEARN_2026 = cat(GPT4O, GPT51)


# ---- item 2: retirement is a window (Azure's upgrade is rolling, region by region)

# gpt-35-turbo 0613 retired 2025-02-13 for every type; 0125 is the default Azure moves deployments to
OLD_35 = mv("gpt-35-turbo", "0613", retires="2025-02-13", created="2023-06-13")
NEW_35 = mv("gpt-35-turbo", "0125", default=True, retires="2025-09-01", created="2024-01-25")
TURBO = cat(OLD_35, NEW_35)


@pytest.mark.parametrize(
    ("sku", "policy", "when", "rules", "expected"),
    [
        # within the grace (14 days): upgrade pending, whatever Azure-upgraded SKU and policy, never written
        ("Standard", ONCE_EXP, "2025-02-13", ENFORCE, (Status.UPGRADE_EXPECTED, "upgrade-pending", False)),
        ("Standard", ONCE_EXP, "2025-02-16", ENFORCE, (Status.UPGRADE_EXPECTED, "upgrade-pending", False)),
        (
            "GlobalStandard",
            ONCE_NEW,
            "2025-02-26",
            ENFORCE,
            (Status.UPGRADE_EXPECTED, "upgrade-pending", False),
        ),
        (
            "DataZoneStandard",
            None,
            "2025-02-20",
            ENFORCE,
            (Status.UPGRADE_EXPECTED, "upgrade-pending", False),
        ),
        # past it: Azure has not moved it; enforcement may now write the same-model default
        ("Standard", ONCE_EXP, "2025-02-27", ENFORCE, (Status.UPGRADE_PLANNED, "expired-not-upgraded", True)),
        (
            "Standard",
            ONCE_EXP,
            "2025-02-27",
            PolicyRules(),
            (Status.UPGRADE_PLANNED, "expired-not-upgraded", False),
        ),
        # the grace is a setting
        (
            "Standard",
            ONCE_EXP,
            "2025-02-16",
            PolicyRules(enforce=True, upgrade_grace_days=2),
            (Status.UPGRADE_PLANNED, "expired-not-upgraded", True),
        ),
        # not Azure-upgraded: no window, broken on the date
        ("Standard", NO_AUTO, "2025-02-14", ENFORCE, (Status.BROKEN, "no-auto-retired", False)),
        ("GlobalBatch", ONCE_EXP, "2025-02-14", ENFORCE, (Status.BROKEN, "batch-retired", False)),
    ],
)
def test_retirement_is_a_window_of_azures_rolling_upgrade(
    sku: str, policy: str | None, when: str, rules: PolicyRules, expected: tuple[Status, str, bool]
) -> None:
    a = assess(dep("gpt-35-turbo", "0613", policy=policy, sku=sku), TURBO, dt(when), rules)
    assert (a.status, a.reason, a.write) == expected, a.summary
    if a.reason == "upgrade-pending":
        assert a.actor == "azure" and a.target_label == "gpt-35-turbo 0125"
        assert a.summary.startswith("upgrade pending: Azure upgrades region by region")
    if a.reason == "expired-not-upgraded":
        days = (dt(when) - dt("2025-02-13")).days
        assert f"Azure has not moved it {days} days after retirement" in a.summary


def test_past_the_grace_with_nothing_modelwatch_may_write_it_is_at_risk_check_it_answers() -> None:
    # gpt-4o 2024-08-06 Standard, retired 2026-03-31; Azure's target is another model: ARM refuses that PUT
    a = assess(dep(policy=ONCE_EXP), LEARN_2026, dt("2026-04-20"), ENFORCE)
    assert (a.status, a.reason, a.write) == (Status.AT_RISK, "upgrade-overdue", False)
    assert a.summary.startswith("Azure has not moved it 20 days after retirement: check it answers")
    assert "CannotChangeDeploymentModel" in a.summary
    pin = dep("gpt-35-turbo", "0613", policy=ONCE_EXP, tags={"modelwatch:policy": "pin"})
    pinned = assess(pin, TURBO, dt("2025-03-01"), ENFORCE)
    assert (pinned.status, pinned.reason, pinned.write) == (Status.AT_RISK, "tag-pin", False)


# ---- item 3: Batch deployments migrate side by side; Priority processing follows Standard


@pytest.mark.parametrize("sku", ["GlobalBatch", "DataZoneBatch", "globalbatch"])
@pytest.mark.parametrize("policy", [ONCE_NEW, ONCE_EXP, None, NO_AUTO])
def test_batch_deployments_are_never_upgraded_by_azure_nor_written(sku: str, policy: str | None) -> None:
    d = dep(policy=policy, sku=sku)
    before = assess(d, LEARN_2026, dt("2026-02-01"), ENFORCE)
    assert (before.status, before.reason, before.write, before.actor) == (
        Status.AT_RISK,
        "batch-retiring",
        False,
        "none",
    )
    assert before.retirement_date == dt("2026-03-31")  # no SKU date of its own: the model-level one
    for words in ("never upgraded by Azure", "deploy gpt-5.1 2025-11-13 beside it", "resubmit the jobs"):
        assert words in before.summary
    # not moved from the auto-upgrade start either
    assert assess(d, LEARN_2026, dt("2026-03-20"), ENFORCE).reason == "batch-retiring"
    after = assess(d, LEARN_2026, dt("2026-04-01"), ENFORCE)
    assert (after.status, after.reason, after.write) == (Status.BROKEN, "batch-retired", False)
    # a Batch deployment found on the replacement was moved by someone, not by Azure
    assert not explains_azure_move(d, "gpt-5.1", "2025-11-13", GPT4O, LEARN_2026)


def test_priority_processing_follows_standard() -> None:
    # serviceTier Priority runs on the Standard-family SKUs: Azure's upgrade applies (Learn FAQ)
    for sku in ("Standard", "GlobalStandard", "DataZoneStandard"):
        assert dep(sku=sku).azure_upgrades_sku
    for sku in ("GlobalBatch", "DataZoneBatch", "ProvisionedManaged"):
        assert not dep(sku=sku).azure_upgrades_sku


# ---- item 4: per-SKU schedules: a SKU with its own later date keeps its own upgrade date


@pytest.mark.parametrize(
    ("sku", "policy", "when", "reason", "action"),
    [
        ("Standard", ONCE_NEW, "2026-02-01", "auto-replacement", "2026-03-09"),
        ("GlobalStandard", ONCE_NEW, "2026-02-01", "upgrade-on-expiry", "2026-10-01"),
        ("DataZoneStandard", ONCE_NEW, "2026-02-01", "upgrade-on-expiry", "2026-10-01"),
        ("GlobalStandard", ONCE_NEW, "2026-03-20", "upgrade-on-expiry", "2026-10-01"),  # not moved in March
        ("GlobalStandard", ONCE_EXP, "2026-02-01", "upgrade-on-expiry", "2026-10-01"),
        ("Standard", ONCE_EXP, "2026-02-01", "upgrade-on-expiry", "2026-03-31"),
    ],
)
def test_a_sku_with_its_own_later_date_does_not_take_the_model_level_start(
    sku: str, policy: str, when: str, reason: str, action: str
) -> None:
    a = assess(dep(policy=policy, sku=sku), LEARN_2026, dt(when))
    assert (a.status, a.reason, a.target_label) == (Status.UPGRADE_EXPECTED, reason, "gpt-5.1 2025-11-13")
    assert a.action_date == dt(action), a.summary


def test_per_sku_start_with_lead_days_and_with_the_latest_date_model_level() -> None:
    lead = replace(GPT4O, replacement=Replacement("gpt-5.1", "2025-11-13", dt("2026-03-09"), 7))
    a = assess(dep(sku="GlobalStandard"), cat(lead, GPT51), dt("2026-02-01"))
    assert (a.reason, a.action_date) == ("upgrade-on-expiry", dt("2026-09-24"))  # its own date minus 7 days
    # the same schedule written the other way round (the model-level date the latest, Standard's its own)
    other = replace(
        GPT4O,
        retirement_date=dt("2026-10-01"),
        sku_retirement_dates=(("GlobalStandard", dt("2026-10-01")), ("Standard", dt("2026-03-31"))),
    )
    standard = assess(dep(), cat(other, GPT51), dt("2026-02-01"))
    glob = assess(dep(sku="GlobalStandard"), cat(other, GPT51), dt("2026-02-01"))
    assert (standard.reason, standard.action_date) == ("auto-replacement", dt("2026-03-09"))
    assert (glob.reason, glob.action_date) == ("upgrade-on-expiry", dt("2026-10-01"))


# ---- item 5: previews are force-upgraded (or terminated) on their retirement date, whatever the policy

O1_PREVIEW = mv(
    "o1-preview",
    "2024-09-12",
    retires="2025-07-28",
    status="Preview",
    replacement=Replacement("o1", "2024-12-17", None, None),
)
O1 = mv("o1", "2024-12-17", default=True, retires="2026-07-15")


@pytest.mark.parametrize("policy", [NO_AUTO, ONCE_EXP, ONCE_NEW, None])
@pytest.mark.parametrize("sku", ["Standard", "GlobalStandard"])
def test_previews_are_force_upgraded_whatever_the_policy(policy: str | None, sku: str) -> None:
    d = dep("o1-preview", "2024-09-12", policy=policy, sku=sku)
    a = assess(d, cat(O1_PREVIEW, O1), dt("2025-07-01"), ENFORCE)
    assert (a.status, a.reason, a.actor, a.write) == (
        Status.UPGRADE_EXPECTED,
        "preview-force-upgrade",
        "azure",
        False,
    )
    assert (a.target_label, a.action_date) == ("o1 2024-12-17", dt("2025-07-28"))
    assert "whatever its update policy" in a.summary and "no option to remain" in a.summary
    # on the day: Azure's upgrade window, as for GA versions
    assert assess(d, cat(O1_PREVIEW, O1), dt("2025-07-29"), ENFORCE).reason == "upgrade-pending"
    # a preview moved to its replacement on a NoAutoUpgrade deployment is Azure's doing
    assert explains_azure_move(d, "o1", "2024-12-17", O1_PREVIEW, cat(O1_PREVIEW, O1))


@pytest.mark.parametrize("policy", [NO_AUTO, ONCE_EXP, ONCE_NEW])
def test_a_preview_with_no_replacement_is_terminated(policy: str) -> None:
    alone = replace(O1_PREVIEW, replacement=None)
    d = dep("o1-preview", "2024-09-12", policy=policy)
    before = assess(d, cat(alone), dt("2025-07-01"))
    assert (before.status, before.reason) == (Status.AT_RISK, "preview-retiring")
    assert "with no replacement, whatever its update policy" in before.summary
    after = assess(d, cat(alone), dt("2025-07-29"))
    assert (after.status, after.reason) == (Status.BROKEN, "preview-retired")


def test_the_30_day_notice_is_a_previews_first_reminder() -> None:
    d = dep("o1-preview", "2024-09-12", policy=NO_AUTO)

    def bucket(when: str) -> str:
        a = assess(d, cat(O1_PREVIEW, O1), dt(when))
        event = assessment_event(a, now=dt(when), trigger="t", enforce=False, thresholds=THRESHOLDS)
        assert event is not None
        return str(event.data["reminder"])

    assert bucket("2025-05-01") == "scheduled"  # 88 days: GA versions would be within-90
    assert bucket("2025-06-10") == "scheduled"  # 48 days: within-60 for GA
    assert bucket("2025-07-01") == "within-30"
    assert bucket("2025-07-25") == "within-7"


def test_an_auto_update_preview_still_moves_to_a_newer_preview_first() -> None:
    old = mv("gpt-4o-realtime-preview", "2024-10-01", retires="2025-03-26", status="Preview")
    new = mv("gpt-4o-realtime-preview", "2024-12-17", status="Preview")
    catalog = cat(old, new)
    auto = assess(dep("gpt-4o-realtime-preview", "2024-10-01", policy=ONCE_NEW), catalog, dt("2025-02-25"))
    assert (auto.reason, auto.action_date) == ("auto-preview", dt("2024-12-31"))
    pinned = assess(dep("gpt-4o-realtime-preview", "2024-10-01", policy=NO_AUTO), catalog, dt("2025-02-25"))
    assert (pinned.reason, pinned.action_date, pinned.target_label) == (
        "preview-force-upgrade",
        dt("2025-03-26"),
        "gpt-4o-realtime-preview 2024-12-17",
    )


# ---- item 6: partner and other formats: dates told, never an Azure upgrade, never a write

LLAMA = mv(
    "Llama-3.2-90B-Vision-Instruct",
    "2",
    retires="2026-06-13",  # Learn's schedule (https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements)
    fmt="Meta",
    default=True,
    replacement=Replacement("Llama-4-Maverick-17B-128E-Instruct-FP8", "1", dt("2026-05-01"), 7),
)
EVERY_FORMAT = PolicyRules(enforce=True, accelerate_default=True, watched_formats=None)


@pytest.mark.parametrize("policy", [ONCE_NEW, ONCE_EXP, None, NO_AUTO])
@pytest.mark.parametrize(
    ("when", "status", "reason"),
    [
        ("2026-04-01", Status.AT_RISK, "other-format-retiring"),
        ("2026-05-20", Status.AT_RISK, "other-format-retiring"),  # past the "start": never Azure's move
        ("2026-06-14", Status.BROKEN, "other-format-retired"),
    ],
)
def test_other_formats_are_told_their_dates_and_never_upgraded(
    policy: str | None, when: str, status: Status, reason: str
) -> None:
    d = dep("Llama-3.2-90B-Vision-Instruct", "2", fmt="Meta", policy=policy, sku="GlobalStandard")
    a = assess(d, cat(LLAMA), dt(when), EVERY_FORMAT)  # CATALOG_MODEL_FORMATS=*
    assert (a.status, a.reason, a.write, a.actor) == (status, reason, False, "none")
    assert a.retirement_date == dt("2026-06-13")
    assert "Azure documents no automatic upgrade for Meta models" in a.summary
    assert "Llama-4-Maverick-17B-128E-Instruct-FP8 1" in a.summary  # named where to go, not as Azure's move
    assert not explains_azure_move(d, "Llama-4-Maverick-17B-128E-Instruct-FP8", "1", LLAMA, cat(LLAMA))


def rules_of(env: dict[str, str]) -> PolicyRules:
    """The engine's rules as the app builds them from these settings."""
    return policy_rules(load_settings(env))


ENFORCE_ALL = {
    "POLICY_MODE": "enforce",
    "POLICY_ACCELERATE_DEFAULT": "true",
    "POLICY_ENFORCE_ALL_ACCOUNTS": "true",
}


@pytest.mark.parametrize("env", [{}, ENFORCE_ALL], ids=["plan", "enforce"])
@pytest.mark.parametrize("policy", [ONCE_NEW, NO_AUTO])
@pytest.mark.parametrize(
    ("when", "status", "reason"),
    [
        ("2025-10-01", Status.AT_RISK, "other-format-retiring"),  # told from the day a date is set
        ("2026-04-01", Status.AT_RISK, "other-format-retiring"),
        ("2026-06-14", Status.BROKEN, "other-format-retired"),
    ],
)
def test_default_settings_watch_a_partner_deployment_by_its_catalog_date(
    env: dict[str, str], policy: str, when: str, status: Status, reason: str
) -> None:
    """CATALOG_MODEL_FORMATS unset: a Meta deployment is told its date (never "not watched"), never an upgrade."""
    d = dep("Llama-3.2-90B-Vision-Instruct", "2", fmt="Meta", policy=policy, sku="GlobalStandard")
    a = assess(d, cat(LLAMA), dt(when), rules_of(env))
    assert (a.status, a.reason, a.write, a.actor) == (status, reason, False, "none")
    assert (a.retirement_date, a.target_version) == (dt("2026-06-13"), None)


def test_other_formats_outside_the_setting_and_outside_the_catalog() -> None:
    d = dep("Llama-3.2-90B-Vision-Instruct", "2", fmt="Meta", sku="GlobalStandard")
    # set explicitly by an installation (the old default): what its README row promised, OpenAI's rules only
    outside = assess(d, cat(LLAMA), dt("2026-04-01"), rules_of({"CATALOG_MODEL_FORMATS": "OpenAI"}))
    assert (outside.status, outside.write) == (Status.NOT_WATCHED, False)
    assert "outside CATALOG_MODEL_FORMATS" in outside.summary
    mistral = dep("Mistral-Large-2411", "2", fmt="Mistral AI", sku="GlobalStandard")
    gone = assess(mistral, cat(LLAMA), dt("2026-04-01"), EVERY_FORMAT)
    assert (gone.status, gone.reason) == (Status.NOT_TRACKED, "format-not-listed")
    undated = replace(LLAMA, retirement_date=None, replacement=None)
    assert assess(d, cat(undated), dt("2026-04-01"), EVERY_FORMAT).reason == "other-format-ok"


# ---- item 8: model-router deployments

ROUTER = mv("model-router", "2025-11-18", default=True)
GPT41 = mv("gpt-4.1", "2025-04-14", retires="2026-10-14")
GPT5 = mv("gpt-5", "2025-08-07")
ROUTER_BODY = {  # api 2026-03-01 (https://learn.microsoft.com/rest/api/aiservices/accountmanagement/deployments): routing.models is the subset it routes to
    "id": f"{ACCOUNT}/deployments/router",
    "name": "router",
    "sku": {"name": "GlobalStandard", "capacity": 10},
    "properties": {
        "model": {"format": "OpenAI", "name": "model-router", "version": "2025-11-18"},
        "versionUpgradeOption": "OnceNewDefaultVersionAvailable",
        "routing": {
            "mode": "balanced",
            "models": [
                {"format": "OpenAI", "name": "gpt-4.1", "version": "2025-04-14"},
                {"format": "OpenAI", "name": "gpt-5", "version": "2025-08-07"},
            ],
        },
    },
}


def test_a_router_is_linked_to_the_retirement_of_a_model_it_routes_to() -> None:
    d = parse_deployment(ROUTER_BODY, account_id=ACCOUNT, location="eastus")
    assert d.routing_models == (("OpenAI", "gpt-4.1", "2025-04-14"), ("OpenAI", "gpt-5", "2025-08-07"))
    assert deployment_from_json(deployment_to_json(d)).routing_models == d.routing_models  # stored as read
    a = assess(d, cat(ROUTER, GPT41, GPT5), dt("2026-09-01"))
    assert (a.status, a.reason, a.retirement_date, a.days_left) == (
        Status.AT_RISK,
        "router-model-retiring",
        dt("2026-10-14"),
        43,
    )
    assert "routes to gpt-4.1 2025-04-14, which retires on 2026-10-14" in a.summary and not a.write
    # the retirement's news concerns the router
    assert concerns(d, "OpenAI", "gpt-4.1", "2025-04-14") and not concerns(d, "OpenAI", "gpt-4o", None)


@pytest.mark.parametrize(
    ("routing", "catalog", "status", "words"),
    [
        (
            (),
            cat(ROUTER, GPT41, GPT5),
            Status.NOT_TRACKED,
            "not tracked: model-router routes to models Azure",
        ),
        (
            (("OpenAI", "gpt-5", "2025-08-07"), ("OpenAI", "o9", "2027-01-01")),
            cat(ROUTER, GPT5),
            Status.NOT_TRACKED,
            "not tracked: routes to 2 models",
        ),
        ((("OpenAI", "gpt-5", "2025-08-07"),), cat(ROUTER, GPT5), Status.HEALTHY, "routes to 1 models, none"),
    ],
)
def test_a_router_is_never_silently_healthy(
    routing: tuple[tuple[str, str, str], ...],
    catalog: dict[VersionKey, ModelVersion],
    status: Status,
    words: str,
) -> None:
    d = dep("model-router", "2025-11-18", sku="GlobalStandard", routing=routing)
    a = assess(d, catalog, dt("2026-09-01"))
    assert a.status == status and words in a.summary, a.summary


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_news_of_a_routed_model_finds_the_router_in_the_inventory(backend: str, tmp_path: Path) -> None:
    from shared.adapters.memory import InMemoryDeploymentStore
    from shared.adapters.sqlite.deployments import SqliteDeploymentStore

    store = (
        InMemoryDeploymentStore() if backend == "memory" else SqliteDeploymentStore(str(tmp_path / "s.db"))
    )
    router = parse_deployment(ROUTER_BODY, account_id=ACCOUNT, location="eastus")
    plain = dep("model-router", "2025-11-18", sku="GlobalStandard")  # no subset: no routed model's news
    other = dep("gpt-4.1", "2025-04-14")
    store.save_deployments([router, plain, other])
    found = {d.name for d in store.list_deployments_of("eastus", "OpenAI", "gpt-4.1")}
    assert found == {"router", other.name}
    assert {d.name for d in store.list_deployments_of("eastus", "OpenAI", "model-router")} == {
        "router",
        plain.name,
    }


def test_the_new_standings_read_right_in_alerts_and_on_the_status_page() -> None:
    from shared.domain.impact import impact_of
    from shared.presentation.status_page import _todo

    pending = assess(dep("gpt-35-turbo", "0613", policy=ONCE_EXP), TURBO, dt("2025-02-14"))
    overdue = assess(dep(policy=ONCE_EXP), LEARN_2026, dt("2026-04-20"))
    batch = assess(dep(sku="GlobalBatch"), LEARN_2026, dt("2026-02-01"))
    preview = assess(dep("o1-preview", "2024-09-12", policy=NO_AUTO), cat(O1_PREVIEW, O1), dt("2025-07-01"))
    lines = impact_of([pending, overdue, batch, preview], enforce=True).lines
    expected = (
        "Upgrade pending: Azure upgrades to gpt-35-turbo 0125 region by region (they keep answering): 1",
        "Not moved by Azure 20 days after retirement: check they answer: 1",
        "Stop answering on 2026-03-31 (Batch: deploy the new model beside them, resubmit the jobs): 1",
        "Force-upgraded by Azure to o1 2024-12-17 on 2025-07-28 (a preview, whatever the policy): 1",
    )
    for start in expected:
        assert any(line.startswith(start) for line in lines), (start, lines)
    retired = assess(dep(sku="GlobalBatch"), LEARN_2026, dt("2026-04-01"))
    assert _todo(retired).startswith("Deploy gpt-5.1 2025-11-13 beside it, resubmit the jobs there")

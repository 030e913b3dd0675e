"""What modelwatch predicts Azure does, from real shapes: the 2025-09-01 spec's Models - List example (a cross-model
replacement, per-SKU dates, a Meta model), Learn's fine-tuned deployment body, and the SKU-name families."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.domain.catalog import ModelVersion, Replacement, VersionKey, parse_models, sku_candidates
from shared.domain.deployments import Deployment, FineTune, parse_deployment
from shared.domain.policy import PolicyRules, Status, assess
from tests.builders import ACCOUNT, deployment

EVENTS = Path(__file__).parents[1] / "events"
ONCE_NEW, ONCE_EXP, NO_AUTO = "OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired", "NoAutoUpgrade"


def dt(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def spec_catalog(formats: frozenset[str] | None = frozenset({"openai"})) -> dict[VersionKey, ModelVersion]:
    body = json.loads((EVENTS / "ListLocationModels-2025-09-01.json").read_text())
    return parse_models(body["value"], formats=formats).by_key()


def dep(
    model: str = "gpt-4o",
    version: str = "2024-05-13",
    *,
    policy: str | None = ONCE_NEW,
    sku: str = "Standard",
    fmt: str = "OpenAI",
    fine_tune: FineTune | None = None,
) -> Deployment:
    name = f"{model}-{sku}-{policy}".lower()
    return deployment(name, model, version, sku=sku, policy=policy, fmt=fmt, fine_tune=fine_tune)


APRIL = dt("2025-04-15")  # after the autoUpgradeStartDate (2025-03-26), before the retirement (2025-09-15)


def test_spec_example_auto_update_deployment_is_moved_to_another_model_from_the_start_date() -> None:
    a = assess(dep(policy=ONCE_NEW), spec_catalog(), APRIL)
    assert (a.status, a.reason, a.actor) == (Status.UPGRADE_EXPECTED, "auto-replacement", "azure")
    assert (a.target_model, a.target_version, a.target_label) == (
        "gpt-4.1",
        "2025-04-14",
        "gpt-4.1 2025-04-14",
    )
    assert a.action_date == dt("2025-03-26T07:00:00")
    assert a.summary.startswith("Azure moves it to gpt-4.1 2025-04-14 from 2025-03-26")
    # the target is not flagged default, nor even offered in this catalog: Azure upgrades anyway (Learn FAQ)
    assert "not offered in eastus yet: Azure upgrades anyway" in a.summary
    assert "none yet" not in a.summary and "create a new deployment" not in a.summary
    assert not a.write


@pytest.mark.parametrize("policy", [ONCE_EXP, None, "SomethingNew"])
def test_spec_example_upgrade_when_expired_moves_at_retirement_minus_the_lead_days(
    policy: str | None,
) -> None:
    a = assess(dep(policy=policy), spec_catalog(), APRIL)
    assert (a.status, a.reason, a.target_label) == (
        Status.UPGRADE_EXPECTED,
        "upgrade-on-expiry",
        "gpt-4.1 2025-04-14",
    )
    assert a.action_date == dt("2025-09-08")  # 2025-09-15 minus upgradeOnExpiryLeadTimeDays 7
    assert "Azure upgrades it to gpt-4.1 2025-04-14 on 2025-09-08" in a.summary


@pytest.mark.parametrize(("policy", "sku"), [(NO_AUTO, "Standard"), (ONCE_NEW, "ProvisionedManaged")])
def test_spec_example_never_upgraded_deployments_are_at_risk_with_the_replacement_named(
    policy: str, sku: str
) -> None:
    a = assess(dep(policy=policy, sku=sku), spec_catalog(), APRIL)
    assert a.status == Status.AT_RISK and a.target_label == "gpt-4.1 2025-04-14"
    assert "migrate to gpt-4.1 2025-04-14 (the replacement Azure names)" in a.summary
    assert a.retirement_date == dt("2025-09-15")


def test_after_retirement_a_standard_deployment_azure_did_not_move_is_pending_then_at_risk() -> None:
    # 2025-09-15 retirement; Azure's upgrade is rolling: within the grace, pending; after it, at risk
    for policy in (ONCE_NEW, ONCE_EXP):
        a = assess(dep(policy=policy), spec_catalog(), dt("2025-09-20"), PolicyRules(enforce=True))
        assert (a.status, a.reason, a.write, a.actor) == (
            Status.UPGRADE_EXPECTED,
            "upgrade-pending",
            False,
            "azure",
        )
        assert a.summary.startswith("upgrade pending: Azure upgrades region by region")
        late = assess(dep(policy=policy), spec_catalog(), dt("2025-10-05"), PolicyRules(enforce=True))
        assert (late.status, late.reason, late.write) == (Status.AT_RISK, "upgrade-overdue", False)
        assert "Azure has not moved it 20 days after retirement: check it answers" in late.summary
        assert "gpt-4.1 2025-04-14" in late.summary


def test_a_cross_model_target_is_never_written_to_a_standard_deployment() -> None:
    catalog = {
        **spec_catalog(),
        VersionKey("OpenAI", "gpt-4.1", "2025-04-14"): ModelVersion("OpenAI", "gpt-4.1", "2025-04-14"),
    }
    late = dt("2025-10-05")  # past the grace: Azure has not moved it, and modelwatch cannot
    standard = assess(dep(policy=ONCE_EXP), catalog, late, PolicyRules(enforce=True))
    assert standard.status == Status.AT_RISK and not standard.write
    assert "CannotChangeDeploymentModel" in standard.summary
    # provisioned: the documented in-place migration changes the model family, when enforcement includes them
    rules = PolicyRules(enforce=True, enforce_provisioned=True, provisioned_lead_days=14)
    ptu = assess(dep(policy=ONCE_EXP, sku="ProvisionedManaged"), catalog, dt("2025-09-05"), rules)
    assert (ptu.status, ptu.write, ptu.target_label) == (Status.UPGRADE_PLANNED, True, "gpt-4.1 2025-04-14")


def test_provisioned_deployment_uses_the_catalogs_provisioned_date_not_the_model_level_one() -> None:
    # gpt-35-turbo 0301: Standard 2025-02-13, Provisioned 2025-05-15, model-level 2025-04-30, status Deprecated
    may = dt("2025-05-01")
    ptu = assess(dep("gpt-35-turbo", "0301", policy=NO_AUTO, sku="ProvisionedManaged"), spec_catalog(), may)
    assert ptu.retirement_date == dt("2025-05-15") and ptu.status == Status.AT_RISK and ptu.days_left == 14
    standard = assess(dep("gpt-35-turbo", "0301", policy=NO_AUTO), spec_catalog(), may)
    assert standard.retirement_date == dt("2025-02-13") and standard.status == Status.BROKEN
    after = assess(
        dep("gpt-35-turbo", "0301", policy=NO_AUTO, sku="ProvisionedManaged"),
        spec_catalog(),
        dt("2025-05-16"),
    )
    assert after.status == Status.BROKEN


@pytest.mark.parametrize(
    ("sku", "expected"),
    [
        ("ProvisionedManaged", ("provisionedmanaged", "provisioned")),
        (
            "GlobalProvisionedManaged",
            ("globalprovisionedmanaged", "globalprovisioned", "provisionedmanaged", "provisioned"),
        ),
        (
            "DataZoneProvisionedManaged",
            ("datazoneprovisionedmanaged", "datazoneprovisioned", "provisionedmanaged", "provisioned"),
        ),
        ("Standard", ("standard",)),
        (
            "GlobalStandard",
            ("globalstandard",),
        ),  # never Standard's date: they differ (2026-03-31 vs 2026-10-01)
        ("DataZoneBatch", ("datazonebatch",)),
    ],
)
def test_sku_names_match_exactly_then_by_family(sku: str, expected: tuple[str, ...]) -> None:
    assert sku_candidates(sku) == expected


def test_a_scope_specific_provisioned_date_wins_over_the_plain_one() -> None:
    v = ModelVersion(
        "OpenAI",
        "gpt-4o",
        "2024-08-06",
        retirement_date=dt("2026-03-31"),
        sku_retirement_dates=(("GlobalProvisioned", dt("2026-12-01")), ("Provisioned", dt("2026-10-01"))),
    )
    assert v.retirement_for_sku("GlobalProvisionedManaged") == dt("2026-12-01")
    assert v.retirement_for_sku("ProvisionedManaged") == dt("2026-10-01")
    assert v.retirement_for_sku("DataZoneStandard") == dt("2026-03-31")  # no entry: the model-level date


def test_other_formats_are_judged_by_their_entry_and_never_broken() -> None:
    llama = dep("Llama-3.2-90B-Vision-Instruct", "2", fmt="Meta", policy=None, sku="GlobalStandard")
    # every format watched (the default): the Meta entry has no date (2099-12-31 is a sentinel, https://learn.microsoft.com/rest/api/aiservices/accountmanagement/models/list)
    every = assess(llama, spec_catalog(formats=None), APRIL)
    assert (every.status, every.reason, every.write) == (Status.HEALTHY, "other-format-ok", False)
    # CATALOG_MODEL_FORMATS=OpenAI: not watched
    a = assess(llama, spec_catalog(), APRIL, PolicyRules(watched_formats=frozenset({"openai"})))
    assert (a.status, a.reason) == (Status.NOT_WATCHED, "format-not-watched")


LEARN_FINE_TUNED = {  # Learn, fine-tuning: "Deploy a fine-tuned model" (REST body), as ARM returns it
    "id": f"{ACCOUNT}/deployments/gpt-41-ft",
    "name": "gpt-41-ft",
    "sku": {"name": "standard", "capacity": 1},
    "properties": {
        "model": {
            "format": "OpenAI",
            "name": "gpt-4.1-2025-04-14.ft-b044a9d3cf9c4228b5d393567f693b83",
            "version": "1",
        },
        "provisioningState": "Succeeded",
    },
}


def test_fine_tuned_deployment_is_not_tracked_rather_than_broken_when_its_dates_are_unknown() -> None:
    d = parse_deployment(LEARN_FINE_TUNED, account_id=ACCOUNT, location="eastus")
    assert d.is_fine_tuned and not d.is_provisioned
    a = assess(d, spec_catalog(), APRIL)
    assert (a.status, a.reason) == (Status.NOT_TRACKED, "fine-tuned-not-tracked")


def test_fine_tuned_deployment_follows_its_own_deprecation() -> None:
    d = parse_deployment(LEARN_FINE_TUNED, account_id=ACCOUNT, location="eastus")
    listed = FineTune(True, "gpt-4.1", "2025-04-14", dt("2027-10-01"), "GenerallyAvailable")
    from dataclasses import replace

    a = assess(replace(d, fine_tune=listed), spec_catalog(), APRIL)
    assert (a.status, a.reason, a.retirement_date) == (
        Status.AT_RISK,
        "fine-tuned-retiring",
        dt("2027-10-01"),
    )
    assert "base model gpt-4.1 2025-04-14" in a.summary and not a.write
    gone = assess(replace(d, fine_tune=listed), spec_catalog(), dt("2027-10-02"))
    assert (gone.status, gone.reason) == (Status.BROKEN, "fine-tuned-retired")
    undated = assess(replace(d, fine_tune=FineTune(True, "gpt-4.1", "2025-04-14")), spec_catalog(), APRIL)
    assert undated.status == Status.HEALTHY


def test_preview_versions_move_two_weeks_after_a_newer_preview_is_released() -> None:
    old = ModelVersion(
        "OpenAI", "o-preview", "2025-01-01", lifecycle_status="Preview", created_at=dt("2025-01-01")
    )
    new = ModelVersion(
        "OpenAI", "o-preview", "2025-03-01", lifecycle_status="Preview", created_at=dt("2025-03-01")
    )
    catalog = {old.key: old, new.key: new}
    a = assess(dep("o-preview", "2025-01-01", policy=ONCE_NEW), catalog, dt("2025-03-05"))
    assert (a.status, a.reason, a.target_label) == (
        Status.UPGRADE_EXPECTED,
        "auto-preview",
        "o-preview 2025-03-01",
    )
    assert a.action_date == dt("2025-03-15")
    # only auto-update deployments follow previews
    assert (
        assess(dep("o-preview", "2025-01-01", policy=NO_AUTO), catalog, dt("2025-03-05")).status
        == Status.HEALTHY
    )


def test_a_replacement_start_applies_without_a_default_flag_and_names_the_target() -> None:
    old = ModelVersion(
        "OpenAI",
        "gpt-4o",
        "2024-08-06",
        retirement_date=dt("2026-03-31"),
        created_at=dt("2024-08-06"),
        replacement=Replacement("gpt-5.1", "2025-11-13", dt("2026-03-09"), None),
    )
    target = ModelVersion("OpenAI", "gpt-5.1", "2025-11-13", created_at=dt("2025-11-13"))
    a = assess(dep(version="2024-08-06"), {old.key: old, target.key: target}, dt("2026-02-01"))
    assert a.summary.startswith("Azure moves it to gpt-5.1 2025-11-13 from 2026-03-09")
    assert "not offered" not in a.summary  # offered here


def test_empty_catalog_means_not_tracked_not_broken() -> None:
    a = assess(dep(policy=NO_AUTO), {}, APRIL)
    assert a.status == Status.NOT_TRACKED and "WATCH_LOCATIONS" in a.summary

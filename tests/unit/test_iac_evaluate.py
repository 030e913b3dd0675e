"""Judging pins (pure): statuses per deployment type, drift, recommendations, --fail-on matching."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from shared.domain.deployments import Deployment
from shared.iac.evaluate import evaluate, judge, matches
from shared.iac.pins import Lit, Pin, Span, Unknown, Value
from tests.support.iac_fixtures import AS_OF, catalog_index

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.CognitiveServices"


def pin(
    model: str = "gpt-4o",
    version: Value | str | None = "2024-05-13",
    *,
    sku: str | None = None,
    region: Value | str = "eastus",
    account: str = "oai-a",
    name: str = "chat",
    option: str | None = None,
) -> Pin:
    def lit(v: Value | str | None) -> Value | None:
        return Lit(v) if isinstance(v, str) else v

    return Pin(
        kind="bicep",
        file=Path("main.bicep"),
        line=3,
        name=Lit(name),
        account=Lit(account),
        location=lit(region) or Unknown("location"),
        model_format=Lit("OpenAI"),
        model_name=Lit(model),
        model_version=lit(version),
        sku=lit(sku),
        upgrade_option=lit(option),
    )


def live(
    version: str, *, model: str = "gpt-4o", option: str | None = None, tags: dict[str, str] | None = None
) -> Deployment:
    return Deployment(
        resource_id=f"{SUB}/accounts/oai-a/deployments/chat",
        account_id=f"{SUB}/accounts/OAI-A",
        name="Chat",
        location="eastus",
        model_format="OpenAI",
        model_name=model,
        model_version=version,
        sku_name="Standard",
        upgrade_option=option,
        tags=tags or {},
    )


CATALOG = catalog_index()


def test_statuses_per_deployment_type() -> None:
    standard = judge(pin(sku="Standard"), CATALOG, None, AS_OF)
    assert (standard.status, f"{standard.retirement_date:%Y-%m-%d}", standard.days_left) == (
        "retiring",
        "2026-03-31",
        75,
    )
    absent = judge(pin(), CATALOG, None, AS_OF)  # no SKU in the template: ARM's default, Standard
    assert absent.retirement_date == standard.retirement_date and absent.sku == "Standard"
    global_standard = judge(pin(sku="GlobalStandard"), CATALOG, None, AS_OF)
    assert f"{global_standard.retirement_date:%Y-%m-%d}" == "2026-10-01"
    after = judge(pin(sku="Standard"), CATALOG, None, datetime(2026, 4, 1, tzinfo=UTC))
    assert after.status == "retired" and "retired since 2026-03-31" in after.detail
    assert judge(pin("gpt-35-turbo", "0613"), CATALOG, None, AS_OF).status == "retired"  # Deprecated
    assert judge(pin("text-embedding-ada-002", "2"), CATALOG, None, AS_OF).status == "ok"


def test_not_offered_needs_a_known_region() -> None:
    missing = judge(pin("gpt-4", "0613", region="eastus"), CATALOG, None, AS_OF)
    assert missing.status == "not-offered" and "(offered in swedencentral)" in missing.detail
    unknown_region = judge(
        pin("gpt-4", "0613", region=Unknown("resourceGroup().location")), CATALOG, None, AS_OF
    )
    assert unknown_region.status == "retiring"  # found in the union of the known regions
    assert any("region not resolvable" in n for n in unknown_region.notes)
    nowhere = judge(pin("gpt-4", "1106-preview", region=Unknown("x")), CATALOG, None, AS_OF)
    assert nowhere.status == "unknown" and "no known region's catalog" in nowhere.detail
    elsewhere = judge(pin("gpt-4o", "2024-08-06", region="westus"), CATALOG, None, AS_OF)
    assert elsewhere.status == "retiring" and any("no catalog of westus" in n for n in elsewhere.notes)


def test_unknown_says_which_expression() -> None:
    span = Span(Path("main.bicep"), 9, 100, 120)
    finding = judge(
        pin(version=Unknown("deployment.model.version", span, "loop over an unknown array")),
        CATALOG,
        None,
        AS_OF,
    )
    assert finding.status == "unknown" and finding.recommended is None
    assert "`deployment.model.version` (loop over an unknown array)" in finding.detail
    assert (finding.file, finding.line) == (Path("main.bicep"), 9)
    env = judge(pin(version=Lit("", None, (), env="AZURE_OPENAI_VERSION")), CATALOG, None, AS_OF)
    assert env.status == "unknown" and "environment variable AZURE_OPENAI_VERSION" in env.detail
    unpinned = judge(pin(version=None), CATALOG, None, AS_OF)
    assert unpinned.status == "ok" and "no version pinned" in unpinned.detail


def test_recommendation_follows_the_catalog_cross_model_included() -> None:
    finding = judge(pin(sku="Standard"), CATALOG, None, AS_OF)
    assert finding.recommended is not None
    assert (finding.recommended.model, finding.recommended.version) == ("gpt-4.1", "2025-04-14")
    assert "the catalog's replacement (another model)" in finding.detail
    assert "CannotChangeDeploymentModel" in finding.detail
    old = judge(pin("gpt-35-turbo", "0613"), CATALOG, None, AS_OF)  # no replacementConfig: the default
    assert old.recommended is not None and (old.recommended.model, old.recommended.version) == (
        "gpt-35-turbo",
        "0125",
    )
    ok = judge(pin("text-embedding-ada-002", "2"), CATALOG, None, AS_OF)
    assert ok.recommended is not None and ok.recommended.version == "2" and ok.recommended.reason == "keep"


def test_drift_when_azure_moved_it_forward() -> None:
    finding = judge(pin("gpt-4o", "2024-05-13"), CATALOG, [live("2024-08-06")], AS_OF)
    assert finding.status == "drift" and finding.catalog_status == "retiring"
    assert finding.live_version == "2024-08-06"
    assert "the next deployment would move it back to 2024-05-13" in finding.detail
    assert finding.recommended is not None and finding.recommended.version == "2024-08-06"
    assert "pin what runs" in finding.recommended.reason


def test_drift_onto_a_retired_pin_would_fail() -> None:
    later = datetime(2026, 4, 2, tzinfo=UTC)
    finding = judge(pin("gpt-4o", "2024-05-13", sku="Standard"), CATALOG, [live("2024-08-06")], later)
    assert finding.status == "drift" and finding.catalog_status == "retired"
    assert "would fail: 2024-05-13 is retired" in finding.detail
    assert matches(finding, "retired", None) and matches(finding, "drift", None)


def test_drift_across_models_and_the_policy_the_team_recorded() -> None:
    moved = judge(pin("gpt-4o", "2024-05-13"), CATALOG, [live("2025-04-14", model="gpt-4.1")], AS_OF)
    assert moved.status == "drift" and "CannotChangeDeploymentModel" in moved.detail
    assert "would try to change its model back to gpt-4o" in moved.detail
    # what runs is the catalog's replacement: pin it, and the next deployment changes nothing (no rename needed)
    assert moved.recommended is not None
    assert (moved.recommended.model, moved.recommended.version) == ("gpt-4.1", "2025-04-14")
    assert "already runs the catalog's replacement" in moved.recommended.reason
    assert "pinning what runs makes the next deployment change nothing" in moved.detail
    assert "rename the deployment" not in moved.detail
    pinned = judge(
        pin("gpt-4o", "2024-08-06"), CATALOG, [live("2024-08-06", tags={"modelwatch:policy": "pin"})], AS_OF
    )
    assert pinned.status == "retiring" and pinned.recommended is not None
    assert pinned.recommended.upgrade_option == "NoAutoUpgrade"
    rolled_back = judge(
        pin("gpt-4o", "2024-08-06", option="OnceNewDefaultVersionAvailable"),
        CATALOG,
        [live("2024-08-06", option="NoAutoUpgrade")],
        AS_OF,
    )
    assert rolled_back.recommended is not None and rolled_back.recommended.upgrade_option == "NoAutoUpgrade"
    absent = judge(pin(account="oai-b"), CATALOG, [live("2024-08-06")], AS_OF)
    assert absent.status == "retiring" and "no live deployment oai-b/chat" in " ".join(absent.notes)


def test_fail_on_matching_and_order() -> None:
    findings = evaluate(
        [pin("text-embedding-ada-002", "2"), pin(sku="Standard"), pin("gpt-35-turbo", "0613")],
        CATALOG,
        None,
        AS_OF,
    )
    retiring = next(f for f in findings if f.status == "retiring")
    assert matches(retiring, "retiring", None) and matches(retiring, "retiring", 75)
    assert not matches(retiring, "retiring", 74)
    retired = next(f for f in findings if f.status == "retired")
    assert matches(retired, "retiring", 1)  # past its date is within any window
    assert not any(matches(f, "drift", None) for f in findings)


def test_an_unresolved_sku_is_unknown_naming_the_expression_not_standard() -> None:
    sku = Unknown("deployment.sku.name", None, "not declared")
    finding = judge(replace(pin(), sku=sku), catalog_index(), None, AS_OF)
    assert (finding.status, finding.catalog_status) == ("unknown", "unknown")
    assert finding.detail.startswith(
        "the SKU not resolvable statically: `deployment.sku.name` (not declared)"
    )


def test_a_deployment_not_deployed_by_default_fails_the_gate_only_when_asked() -> None:
    off = replace(pin("gpt-35-turbo", "0613"), context=("not deployed by default: if (useLegacy) is false",))
    finding = judge(off, catalog_index(), None, AS_OF)
    assert finding.catalog_status == "retired"
    assert finding.notes[0] == (
        "not deployed by default: if (useLegacy) is false; --fail-on counts it only with --include-disabled"
    )
    assert not matches(finding, "retired", None)
    assert matches(finding, "retired", None, include_disabled=True)

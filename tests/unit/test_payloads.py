"""The event registry and the typed payloads: every type registered once, the JSON form read back exactly, bad
data named field by field, and the files derived from the registry up to date."""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass, replace
from datetime import UTC, datetime

import pytest

from scripts.gen_event_docs import FILTERS, filters
from shared.domain.changes import AppliedBy
from shared.domain.events import (
    CATALOG_EVENT_TYPES,
    REGISTRY,
    Consumer,
    EventType,
    LifecycleEvent,
    consumed_by,
)
from shared.domain.payloads import (
    AssessmentData,
    CanaryEvaluatedData,
    CatalogDigestData,
    Payload,
    ReplacementData,
    RetirementApproachingData,
    VersionChangeData,
    VersionReleasedData,
    camel,
)
from shared.domain.policy import Actor, PolicyMode, Status
from shared.domain.verdict import Verdict
from shared.errors import EventFormatError
from shared.presentation.alert_samples import samples

NOW = datetime(2026, 3, 24, tzinfo=UTC)


def released(**extra: object) -> VersionReleasedData:
    return VersionReleasedData(
        location="eastus", model_format="OpenAI", model_name="gpt-4.1", model_version="2025-04-14", **extra
    )  # type: ignore[arg-type]


def test_every_event_type_is_registered_with_a_payload_dataclass_and_a_subscriber() -> None:
    assert set(REGISTRY) == set(EventType)
    for event_type, spec in REGISTRY.items():
        assert spec.event_type is event_type
        assert is_dataclass(spec.payload) and issubclass(spec.payload, Payload)
        assert spec.about
    assert consumed_by(Consumer.POLICY) == CATALOG_EVENT_TYPES
    # the alerts tell a change once per team (from the digest), and news of one deployment (held, batched),
    # including a write of modelwatch's that ARM refused (the digest leaves enforced writes to their own news)
    assert consumed_by(Consumer.ALERTS) == {
        EventType.CATALOG_DIGEST,
        EventType.DEPLOYMENT_UPGRADED,
        EventType.DEPLOYMENT_UPGRADE_FAILED,
        EventType.DEPLOYMENT_ROLLED_BACK,
        EventType.CANARY_EVALUATED,
    }
    unconsumed = {EventType.DEPLOYMENT_UPGRADE_PLANNED, EventType.DEPLOYMENT_AT_RISK}
    assert {t for t, spec in REGISTRY.items() if not spec.consumers} == unconsumed  # for other subscribers


def test_the_event_grid_filters_file_is_derived_from_the_registry() -> None:
    assert FILTERS.read_text(encoding="utf-8") == filters(), "run: python scripts/gen_event_docs.py"
    derived = json.loads(filters())
    assert derived[Consumer.POLICY] == sorted(CATALOG_EVENT_TYPES)


def test_wire_keys_are_the_field_names_in_camel_case() -> None:
    assert camel("upgrade_on_expiry_lead_time_days") == "upgradeOnExpiryLeadTimeDays"
    assert camel("location") == "location"
    data = samples()["deployment-upgraded-by-azure"].data
    assert data["rollbackAvailableUntil"] == "2026-03-31T00:00:00Z" and "rollback_available_until" not in data


def test_every_sample_event_reads_back_as_itself() -> None:
    for name, event in samples().items():
        payload = event.payload()
        assert payload.to_json() == event.data, name
        assert (
            LifecycleEvent.create(EventType(event.event_type), event.id, event.event_time, payload) == event
        )


def test_nested_and_optional_fields_round_trip() -> None:
    payload = RetirementApproachingData(
        location="eastus",
        model_format="OpenAI",
        model_name="gpt-4o",
        model_version="2024-05-13",
        retirement_date=NOW,
        sku_retirement_dates={"Standard": NOW, "GlobalStandard": None},
        days_remaining=7,
        affected_skus=("Standard",),
        replacement=ReplacementData(target_model_name="gpt-5.1"),
    )
    data = payload.to_json()
    assert data["retirementDate"] == "2026-03-24T00:00:00Z" and data["affectedSkus"] == ["Standard"]
    assert data["replacement"] == {
        "targetModelName": "gpt-5.1",
        "targetModelVersion": None,
        "autoUpgradeStartDate": None,
        "upgradeOnExpiryLeadTimeDays": None,
    }
    assert RetirementApproachingData.from_json(data) == payload


def test_a_flag_only_some_events_carry_is_left_out_when_unset() -> None:
    assert "reappeared" not in released().to_json()
    assert released(reappeared=True).to_json()["reappeared"] is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"daysRemaining": "7"}, "data.daysRemaining is str, expected int"),
        ({"daysRemaining": True}, "data.daysRemaining is bool, expected int"),
        ({"retirementDate": "soon"}, "data.retirementDate: not an ISO-8601 date: 'soon'"),
        ({"retirementDate": 20260324}, "data.retirementDate is int, expected ISO-8601 date"),
        ({"affectedSkus": "Standard"}, "data.affectedSkus is str, expected tuple"),
        ({"affectedSkus": ["Standard", 3]}, "data.affectedSkus[1] is int, expected str"),
        ({"skuRetirementDates": {"Standard": "x"}}, "data.skuRetirementDates.Standard: not an ISO-8601 date"),
        ({"replacement": {"targetModelName": 5}}, "data.replacement.targetModelName is int, expected str"),
        ({"modelName": None}, "data.modelName is null, expected str"),
    ],
)
def test_a_field_of_the_wrong_type_is_named(change: dict[str, object], message: str) -> None:
    event = _approaching()
    bad = {**event.data, **change}
    with pytest.raises(EventFormatError) as info:
        replace(event, data=bad).payload()
    assert message in str(info.value) and event.id in str(info.value)


def test_a_vocabulary_field_reads_as_its_member_and_goes_out_as_its_plain_value() -> None:
    canary = samples()["canary-regression"]
    assert canary.payload_as(CanaryEvaluatedData).verdict is Verdict.REGRESSION
    upgraded = samples()["deployment-upgraded-by-azure"]
    assert upgraded.payload_as(VersionChangeData).applied_by is AppliedBy.AZURE
    # the wire holds plain strings: json, yaml or a repr see no enum
    assert type(canary.payload().to_json()["verdict"]) is str
    assert '"verdict": "regression"' in json.dumps(canary.payload().to_json())


@pytest.mark.parametrize(
    ("sample", "change", "message"),
    [
        (
            "canary-regression",
            {"verdict": "fail"},
            "data.verdict is 'fail', expected one of pass, regression, error",
        ),
        ("canary-regression", {"verdict": 1}, "data.verdict is int, expected one of pass, regression, error"),
        ("canary-regression", {"verdict": "x" * 80}, "data.verdict is '" + "x" * 40 + "…', expected one of"),
        (
            "deployment-upgraded-by-azure",
            {"appliedBy": "Azure"},
            "data.appliedBy is 'Azure', expected one of azure,",
        ),
    ],
)
def test_a_value_outside_its_vocabulary_is_named_with_the_field(
    sample: str, change: dict[str, object], message: str
) -> None:
    event = samples()[sample]
    with pytest.raises(EventFormatError) as info:
        replace(event, data={**event.data, **change}).payload()
    assert message in str(info.value) and event.id in str(info.value)


def test_assessment_vocabularies_round_trip() -> None:
    payload = AssessmentData(
        deployment_id="/subscriptions/x/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a/deployments/d",
        deployment_name="d",
        location="eastus",
        model_name="gpt-4o",
        model_version="2024-05-13",
        status=Status.AT_RISK,
        performed_by=Actor.NONE,
        mode=PolicyMode.ENFORCE,
    )
    data = payload.to_json()
    assert (data["status"], data["performedBy"], data["mode"]) == ("atRisk", "none", "enforce")
    assert AssessmentData.from_json(data) == payload
    assert AssessmentData.from_json({**data, "performedBy": None}).performed_by is None


def _approaching() -> LifecycleEvent:
    payload = RetirementApproachingData(
        location="eastus",
        model_format="OpenAI",
        model_name="gpt-4o",
        model_version="2024-05-13",
        retirement_date=NOW,
        days_remaining=7,
        threshold=7,
    )
    return LifecycleEvent.create(EventType.RETIREMENT_APPROACHING, "evt-1", NOW, payload)


def test_missing_identity_is_an_error_missing_facts_take_defaults_unknown_keys_are_ignored() -> None:
    event = _approaching()
    data = {k: v for k, v in event.data.items() if k not in ("lifecycleStatus", "threshold")}
    data["addedByANewerProducer"] = {"x": 1}
    payload = replace(event, data=data).payload_as(RetirementApproachingData)
    assert payload.threshold is None and payload.lifecycle_status is None and payload.days_remaining == 7
    without_name = {k: v for k, v in event.data.items() if k != "modelName"}
    with pytest.raises(EventFormatError, match=r"data\.modelName is missing"):
        replace(event, data=without_name).payload()


def test_a_subject_that_disagrees_with_the_data_is_refused() -> None:
    event = _approaching()
    with pytest.raises(EventFormatError, match="does not match its data"):
        replace(event, subject="/locations/westus/models/OpenAI/gpt-4o/versions/2024-05-13").payload()
    deployment = samples()["deployment-rolled-back"]
    # ARM ids compare without ASCII case
    assert replace(deployment, subject=deployment.subject.upper()).payload() == deployment.payload()
    with pytest.raises(EventFormatError, match="does not match"):
        replace(deployment, subject=deployment.subject + "-other").payload()


def test_an_unknown_type_and_a_payload_of_another_type_are_refused() -> None:
    with pytest.raises(EventFormatError, match=r"unknown event type 'Contoso\.Other'"):
        replace(_approaching(), event_type="Contoso.Other").payload()
    with pytest.raises(TypeError, match="takes RetirementApproachingData"):
        LifecycleEvent.create(EventType.RETIREMENT_APPROACHING, "x", NOW, released())
    with pytest.raises(EventFormatError, match="does not carry AssessmentData"):
        _approaching().payload_as(AssessmentData)


def test_the_digest_carries_only_the_facts_the_change_type_has() -> None:
    digest = samples()["catalog-retirement-approaching"].payload_as(CatalogDigestData)
    (change,) = digest.changes
    assert change.days_remaining == 7 and change.affected_skus == ("Standard",)
    assert change.previous_default_version is None and "previousDefaultVersion" not in change.to_json()
    own = {f.name for f in fields(change)}
    assert {"event_type", "locations", "event_ids"} <= own

"""Parsing real-shaped Models - List payloads (https://learn.microsoft.com/rest/api/aiservices/accountmanagement/models/list) into normalised model versions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.domain.catalog import VersionKey, default_versions, parse_models
from shared.domain.timeutil import days_until, parse_catalog_date, parse_instant

EXAMPLE = json.loads((Path(__file__).parents[1] / "events" / "models_list_example.json").read_text())["value"]


def test_example_payload_is_normalised() -> None:
    parsed = parse_models(EXAMPLE)
    assert parsed.problems == ()
    keys = [v.key for v in parsed.versions]
    # Meta filtered out; gpt-4o listed under two kinds merged into one
    assert keys == [
        VersionKey("OpenAI", "dall-e-3", "3.0"),
        VersionKey("OpenAI", "gpt-35-turbo", "0301"),
        VersionKey("OpenAI", "gpt-4o", "2024-05-13"),
    ]
    gpt4o = parsed.by_key()[VersionKey("OpenAI", "gpt-4o", "2024-05-13")]
    assert gpt4o.kinds == ("AIServices", "OpenAI")
    assert gpt4o.skus == ("GlobalStandard", "provisioned")
    assert gpt4o.lifecycle_status == "Deprecating"
    assert gpt4o.retirement_date == datetime(2025, 9, 15, tzinfo=UTC)
    assert gpt4o.deprecation_status == "Tentative"
    assert gpt4o.replacement is not None
    assert gpt4o.replacement.target_model_name == "gpt-4.1"
    assert gpt4o.replacement.auto_upgrade_start == datetime(2025, 3, 26, 7, tzinfo=UTC)
    assert gpt4o.replacement.upgrade_on_expiry_lead_days == 7
    turbo = parsed.by_key()[VersionKey("OpenAI", "gpt-35-turbo", "0301")]
    assert turbo.is_status_retired
    assert turbo.sku_retirement_dates == (("Standard", datetime(2025, 2, 13, tzinfo=UTC)),)
    assert turbo.retirement_for_sku("standard") == datetime(2025, 2, 13, tzinfo=UTC)
    assert turbo.retirement_for_sku("GlobalStandard") == datetime(2025, 4, 30, tzinfo=UTC)


def test_all_formats_keeps_meta_and_drops_sentinel_date() -> None:
    parsed = parse_models(EXAMPLE, formats=None)
    llama = parsed.by_key()[VersionKey("Meta", "Llama-3.2-90B-Vision-Instruct", "1")]
    assert llama.retirement_date is None  # 2099-12-31 means "no date"
    assert llama.lifecycle_status == "Stable"


def test_unknown_status_is_kept_as_a_string() -> None:
    item = {
        "kind": "OpenAI",
        "model": {"format": "OpenAI", "name": "m", "version": "1", "lifecycleStatus": "Sunset"},
    }
    (version,) = parse_models([item]).versions
    assert version.lifecycle_status == "Sunset"
    assert not version.is_status_retired


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ("not-an-object", "entry #0"),
        ({"kind": "OpenAI"}, "entry.model is missing"),
        ({"model": {"format": "OpenAI", "name": "gpt-4o"}}, "model.version is missing"),
        ({"model": {"format": "OpenAI", "name": "gpt-4o", "version": 7}}, "model.version is int"),
        (
            {
                "model": {
                    "format": "OpenAI",
                    "name": "gpt-4o",
                    "version": "1",
                    "deprecation": {"inference": "soon"},
                }
            },
            "OpenAI/gpt-4o/1: model.deprecation.inference: not an ISO-8601 date: 'soon'",
        ),
        (
            {
                "model": {
                    "format": "OpenAI",
                    "name": "gpt-4o",
                    "version": "1",
                    "skus": [{"name": "S", "deprecationDate": "2025-13-01"}],
                }
            },
            "model.skus[0].deprecationDate",
        ),
        (
            {"model": {"format": "OpenAI", "name": "x", "version": "1", "isDefaultVersion": "yes"}},
            "isDefaultVersion",
        ),
        (
            {
                "model": {
                    "format": "OpenAI",
                    "name": "x",
                    "version": "1",
                    "replacementConfig": {"upgradeOnExpiryLeadTimeDays": "a"},
                }
            },
            "upgradeOnExpiryLeadTimeDays",
        ),
    ],
)
def test_malformed_entry_is_skipped_with_a_named_problem_and_the_rest_kept(
    item: object, fragment: str
) -> None:
    good = {"kind": "OpenAI", "model": {"format": "OpenAI", "name": "good", "version": "1"}}
    parsed = parse_models([item, good])
    assert [v.name for v in parsed.versions] == ["good"]
    assert len(parsed.problems) == 1
    assert fragment in parsed.problems[0]


def test_identifiable_malformed_entry_is_marked_unreadable_not_absent() -> None:
    bad = {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "1", "deprecation": {"inference": 5}}}
    parsed = parse_models([bad])
    assert parsed.unreadable == {VersionKey("OpenAI", "gpt-4o", "1")}


def test_default_versions_picks_flagged_version() -> None:
    parsed = parse_models(EXAMPLE)
    assert default_versions(parsed.versions) == {("OpenAI", "dall-e-3"): "3.0"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-02-13T00:00:00Z", datetime(2025, 2, 13, tzinfo=UTC)),
        ("2025-02-13", datetime(2025, 2, 13, tzinfo=UTC)),
        ("2023-07-06T00:00:00.1234567Z", datetime(2023, 7, 6, 0, 0, 0, 123456, tzinfo=UTC)),
        ("2025-03-26T09:00:00+02:00", datetime(2025, 3, 26, 7, tzinfo=UTC)),
    ],
)
def test_parse_instant_forms(text: str, expected: datetime) -> None:
    assert parse_instant(text) == expected


def test_sentinel_and_bad_dates() -> None:
    assert parse_catalog_date("2099-12-31T00:00:00Z") is None
    assert parse_catalog_date(None) is None
    with pytest.raises(ValueError, match="not an ISO-8601 date"):
        parse_catalog_date("31/12/2025")


def test_days_until_rounds_up() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert days_until(datetime(2025, 1, 1, 1, tzinfo=UTC), now) == 1
    assert days_until(datetime(2025, 1, 31, tzinfo=UTC), now) == 30
    assert days_until(now, now) == 0


def test_created_at_is_read_and_a_bad_one_costs_nothing() -> None:
    parsed = parse_models(EXAMPLE)
    turbo = parsed.by_key()[VersionKey("OpenAI", "gpt-35-turbo", "0301")]
    assert turbo.created_at == datetime(2023, 3, 9, tzinfo=UTC)
    odd = {
        "model": {"format": "OpenAI", "name": "m", "version": "1", "systemData": {"createdAt": "yesterday"}}
    }
    (version,) = parse_models([odd]).versions
    assert version.created_at is None

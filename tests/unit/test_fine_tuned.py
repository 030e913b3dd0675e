"""Fine-tuned corners: the documented name forms, Developer-tier deployments (24 hours from creation), and an
account whose model list could not be read (not tracked, said why)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.deployments import (
    Deployment,
    FineTune,
    base_of_fine_tuned,
    is_fine_tuned_name,
    parse_deployment,
)
from shared.domain.policy import Status, assess
from tests.builders import account_id

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
ACCOUNT = account_id("a")
FT = "gpt-4o-mini-2024-07-18.ft-0e208cf33a6a466994aff31a08aba678"


@pytest.mark.parametrize(
    ("name", "base"),
    [
        (FT, ("gpt-4o-mini", "2024-07-18")),  # Learn's deploy example
        ("gpt-4.1-2025-04-14.ft-b044a9d3cf9c4228b5d393567f693b83", ("gpt-4.1", "2025-04-14")),
        ("gpt-35-turbo-0613.ft-b044a9d3cf9c4228b5d393567f693b83", ("gpt-35-turbo", "0613")),
        (f"{FT}-support-bot", ("gpt-4o-mini", "2024-07-18")),  # a job suffix after the id
        (f"{FT}_v2", ("gpt-4o-mini", "2024-07-18")),
        (
            f"{FT}.ft-41e7d3a9b59541148bc5514c3b74e616",
            ("gpt-4o-mini", "2024-07-18"),
        ),  # a fine-tune's fine-tune
        ("ftchkpt-e559c011ecc04fc68eaa339d8227d02d", None),  # a checkpoint: fine-tuned, base unknown by name
    ],
)
def test_the_documented_fine_tuned_name_forms_are_recognised(name: str, base: tuple[str, str] | None) -> None:
    assert is_fine_tuned_name(name)
    assert base_of_fine_tuned(name) == base


@pytest.mark.parametrize("name", ["gpt-4o", "gpt-4o-mini", "gpt-4o.ft", "soft-model", "gpt-4o.ft-"])
def test_other_names_are_not_fine_tuned(name: str) -> None:
    assert not is_fine_tuned_name(name)


def tuned(sku: str = "DeveloperTier", created: str | None = "2026-05-01T02:00:00.1234567Z") -> Deployment:
    raw = {
        "id": f"{ACCOUNT}/deployments/try-it",
        "sku": {"name": sku, "capacity": 50},
        "properties": {"model": {"format": "OpenAI", "name": FT, "version": "1"}},
        "systemData": {"createdAt": created} if created else {},
    }
    d = parse_deployment(raw, account_id=ACCOUNT, location="eastus")
    far = datetime(2027, 10, 1, tzinfo=UTC)
    return replace(d, fine_tune=FineTune(True, "gpt-4o-mini", "2024-07-18", far, "GenerallyAvailable"))


@pytest.mark.parametrize(
    ("created", "now", "status", "reason"),
    [
        ("2026-05-01T02:00:00.1234567Z", NOW, Status.AT_RISK, "developer-tier-expiring"),  # 10 h old
        ("2026-04-30T11:00:00Z", NOW, Status.BROKEN, "developer-tier-expired"),  # 25 h old
        (None, NOW, Status.AT_RISK, "developer-tier-expiring"),  # creation unknown: still never healthy
    ],
)
def test_a_developer_tier_fine_tuned_deployment_lives_24_hours_from_its_creation(
    created: str | None, now: datetime, status: Status, reason: str
) -> None:
    d = tuned(created=created)
    a = assess(d, {}, now)
    assert (a.status, a.reason) == (status, reason)
    if created is not None:
        assert d.created_at is not None and a.action_date == d.created_at + timedelta(hours=24)
    # the same model on Standard lives by its own dates (2027-10-01): at risk for that, not for 24 hours
    standard = assess(tuned(sku="Standard", created=created), {}, now)
    assert standard.reason == "fine-tuned-retiring" and standard.retirement_date == datetime(
        2027, 10, 1, tzinfo=UTC
    )


def test_an_unread_model_list_is_not_tracked_and_says_why_or_keeps_the_dates_last_read() -> None:
    why = "Accounts - List Models failed: ARM GET .../models answered 404 ResourceNotFound"
    never_read = replace(
        tuned(sku="Standard"), fine_tune=FineTune(False, "gpt-4o-mini", "2024-07-18", why=why)
    )
    a = assess(never_read, {}, NOW)
    assert a.status is Status.NOT_TRACKED and a.reason == "fine-tuned-not-read" and "404" in a.summary
    d = tuned(sku="Standard")
    assert d.fine_tune is not None
    last_read = replace(d, fine_tune=replace(d.fine_tune, why=why))
    b = assess(last_read, {}, NOW)
    assert b.reason == "fine-tuned-retiring" and "as last read" in b.summary and "404" in b.summary

"""The pure rules of a canary: its name, its data boundary, its body and expiry, the endpoint a token may go to,
and the verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.canary import (
    NAME_RULE,
    CaseOnVersion,
    CaseResult,
    canary_body,
    canary_name,
    canary_skus,
    decide,
    endpoint_problem,
    is_expired_canary,
    offered_skus,
    side_by_side,
    smallest_capacity,
)
from shared.domain.verdict import Verdict
from tests.builders import SUBSCRIPTION, account_id

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
SRC = f"{account_id('a', group='g')}/deployments/chat"


def test_a_canary_name_follows_arm_rules_and_names_its_source() -> None:
    assert canary_name("chat-eu") == "chat-eu-mw-canary"
    long = canary_name("x" * 64)
    assert len(long) == 64 and long.endswith("-mw-canary") and NAME_RULE.match(long)
    assert canary_name("a" * 53 + "--") == "a" * 53 + "-mw-canary"  # no doubled separator at the cut


@pytest.mark.parametrize(
    ("source", "allow_global", "expected"),
    [
        ("Standard", False, ("Standard",)),
        ("Standard", True, ("Standard", "GlobalStandard")),
        ("DataZoneStandard", False, ("DataZoneStandard",)),
        ("datazonestandard", True, ("DataZoneStandard", "GlobalStandard")),
        ("GlobalStandard", False, ("GlobalStandard",)),
        ("ProvisionedManaged", False, ("Standard",)),
        ("DataZoneProvisionedManaged", False, ("DataZoneStandard",)),
        ("GlobalProvisionedManaged", False, ("GlobalStandard",)),
        ("GlobalBatch", False, ()),
    ],
)
def test_a_canary_never_widens_the_data_boundary(
    source: str, allow_global: bool, expected: tuple[str, ...]
) -> None:
    assert canary_skus(source, allow_global) == expected


def test_the_body_is_the_target_at_the_smallest_capacity_never_auto_upgraded_and_tagged() -> None:
    source = {
        "properties": {
            "model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-08-06"},
            "raiPolicyName": "payments-strict",
            "versionUpgradeOption": "OnceNewDefaultVersionAvailable",
        }
    }
    body = canary_body(
        source,
        source_id=SRC,
        model="gpt-4o",
        version="2024-11-20",
        sku="Standard",
        capacity=1,
        expires=NOW + timedelta(hours=2),
    )
    assert body == {
        "sku": {"name": "Standard", "capacity": 1},
        "properties": {
            "model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-11-20"},
            "versionUpgradeOption": "NoAutoUpgrade",
            "raiPolicyName": "payments-strict",
        },
        "tags": {"modelwatch:canary-of": SRC, "modelwatch:expires": "2026-12-06T14:00:00Z"},
    }


def test_offered_skus_and_smallest_capacity_read_the_account_model_list() -> None:
    models = [
        {
            "name": "gpt-4o",
            "version": "2024-11-20",
            "skus": [{"name": "GlobalStandard", "capacity": {"minimum": 5}}, {"name": "Standard"}],
        },
        {"name": "gpt-4o", "version": "2024-08-06"},
    ]
    assert offered_skus(models, "gpt-4o", "2024-11-20") == (True, {"globalstandard", "standard"})
    assert offered_skus(models, "gpt-4o", "2024-08-06") == (True, None)
    assert offered_skus(models, "gpt-4o", "2025-01-01") == (False, None)
    assert smallest_capacity(models, "gpt-4o", "2024-11-20", "GlobalStandard") == 5
    assert smallest_capacity(models, "gpt-4o", "2024-11-20", "Standard") == 1


@pytest.mark.parametrize(
    ("endpoint", "ok"),
    [
        ("https://contoso.openai.azure.com/", True),
        ("https://contoso.cognitiveservices.azure.com", True),
        ("https://contoso.services.ai.azure.com/", True),
        ("http://127.0.0.1:8080/", True),
        ("http://contoso.openai.azure.com/", False),
        ("https://contoso.openai.azure.com:8443/", False),
        ("https://evil.example/", False),
        ("https://contoso.openai.azure.com.evil.example/", False),
        ("https://evil.example\\@contoso.openai.azure.com/", False),  # urlsplit and urllib3 read two hosts
        ("https://user@contoso.openai.azure.com/", False),
    ],
)
def test_the_data_plane_token_goes_only_to_azure_openai_hosts_or_loopback(endpoint: str, ok: bool) -> None:
    assert (endpoint_problem(endpoint) is None) is ok


def _dep(
    name: str, version: str, tags: dict[str, str] | None = None, state: str = "Succeeded"
) -> dict[str, object]:
    return {
        "id": SRC.rsplit("/", 1)[0] + "/" + name,
        "name": name,
        "tags": tags or {},
        "properties": {"model": {"name": "gpt-4o", "version": version}, "provisioningState": state},
    }


def test_side_by_side_prefers_a_team_deployment_and_never_the_source() -> None:
    ours = _dep("chat-mw-canary", "2024-11-20", {"modelwatch:canary-of": SRC})
    team = _dep("chat-next", "2024-11-20")
    source = _dep("chat", "2024-11-20")
    creating = _dep("chat-b", "2024-11-20", state="Creating")
    assert side_by_side([ours, team, source, creating], SRC, "gpt-4o", "2024-11-20") is team
    assert side_by_side([ours, source], SRC, "gpt-4o", "2024-11-20") is ours
    assert side_by_side([source, creating], SRC, "gpt-4o", "2024-11-20") is None


def test_only_our_expired_canaries_are_swept() -> None:
    expired = _dep(
        "chat-mw-canary", "v", {"modelwatch:canary-of": SRC, "modelwatch:expires": "2026-12-06T11:00:00Z"}
    )
    alive = _dep(
        "chat-mw-canary", "v", {"modelwatch:canary-of": SRC, "modelwatch:expires": "2026-12-06T13:00:00Z"}
    )
    team_named_alike = _dep("chat-mw-canary", "v", {"modelwatch:expires": "2026-12-06T11:00:00Z"})
    tagged_but_other_name = _dep(
        "chat", "v", {"modelwatch:canary-of": SRC, "modelwatch:expires": "2020-01-01T00:00:00Z"}
    )
    assert is_expired_canary(expired, NOW)
    assert not is_expired_canary(alive, NOW)
    assert not is_expired_canary(team_named_alike, NOW)
    assert not is_expired_canary(tagged_but_other_name, NOW)


def on(passed: bool) -> CaseOnVersion:
    return CaseOnVersion(passed, () if passed else ("is-json: not JSON",), 10.0, 1)


def test_the_verdict() -> None:
    both = CaseResult("a", on(True), on(True))
    regressed = CaseResult("b", on(True), on(False))
    never = CaseResult("c", on(False), on(False))
    fixed = CaseResult("d", on(False), on(True))
    assert decide([both, fixed], 1.0)[:2] == (Verdict.PASS, ())
    assert decide([both, regressed, fixed], 0.5)[:2] == (Verdict.REGRESSION, ("b",))
    # no case regressed, but the target misses the suite's threshold
    assert decide([both, never], 1.0)[:2] == (Verdict.REGRESSION, ())
    assert decide([both, never], 0.5)[:2] == (Verdict.PASS, ())
    assert decide([both, regressed, never, fixed], 0.0)[2:] == (2, 2, 2, 2)


def test_one_canary_per_deployment_and_target() -> None:
    from shared.domain.canary import canary_key, canary_target

    assert canary_key(SRC, "gpt-4o", "2024-11-20") == canary_key(
        SRC.upper().replace("SUBSCRIPTIONS", "subscriptions"), "gpt-4o", "2024-11-20"
    )
    assert canary_key(SRC, "gpt-4o", "2024-11-20") != canary_key(SRC, "gpt-4o", "2025-01-01")
    assert canary_target("upgradeExpected", "gpt-5.1", "2025-11-13") == ("gpt-5.1", "2025-11-13")
    assert canary_target("upgradePlanned", "gpt-4o", "2024-11-20") == ("gpt-4o", "2024-11-20")
    assert canary_target("healthy", "gpt-4o", "2024-11-20") is None
    assert canary_target("upgradeExpected", None, "2024-11-20") is None


def test_the_team_is_told_the_compact_table_and_the_status_page_shows_it() -> None:
    from shared.domain.alerts import messages_for
    from shared.domain.payloads import CanaryEvaluatedData
    from shared.domain.status import recent_changes
    from shared.presentation.alert_samples import samples

    regression, passed = samples()["canary-regression"], samples()["canary-passed"]
    (message,) = messages_for(regression)
    assert message.kind == "canary-regression" and message.route == "payments"
    assert message.title == "chat-prod on gpt-4o 2024-11-20: 2 regression(s): total, currency"
    facts = dict(message.facts)
    assert facts["Passed"] == "5/5 on gpt-4o 2024-05-13, 3/5 on gpt-4o 2024-11-20"
    assert facts["First failure"] == "total: is-json: not JSON (Expecting value)"
    assert message.items == ("total", "currency")
    assert messages_for(passed)[0].kind == "canary-passed"
    data = regression.payload_as(CanaryEvaluatedData)
    assert (data.verdict, data.regressions, data.canary_created) == (
        "regression",
        ("total", "currency"),
        True,
    )
    (line,), _ = recent_changes([regression])
    assert line.what == "tested: 5/5 -> 3/5 on gpt-4o 2024-11-20, regressed: total, currency"
    assert regression.id != passed.id  # another verdict on the same target is another event


def test_a_pin_modelwatch_made_is_told_instead_of_the_advice_to_pin() -> None:
    from dataclasses import replace

    from shared.domain.alerts import canary_message
    from shared.domain.payloads import CanaryEvaluatedData
    from shared.presentation.alert_samples import samples

    data = samples()["canary-regression"].payload_as(CanaryEvaluatedData)
    advised = canary_message(data)
    assert "or pin the deployment" in (advised.todo or "")
    pinned = canary_message(replace(data, protection="modelwatch set versionUpgradeOption to NoAutoUpgrade"))
    assert "modelwatch set versionUpgradeOption to NoAutoUpgrade" in (pinned.happens or "")
    assert "modelwatch pinned it for now" in (pinned.todo or "") and "or pin the" not in (pinned.todo or "")


def test_canary_settings_are_validated_once() -> None:
    from shared.config import load_settings
    from shared.errors import SettingsError

    account = account_id("a", SUBSCRIPTION, group="g")
    s = load_settings({"CANARY_MODE": "create", "WATCH_ACCOUNTS": account, "UPGRADE_GATE": "canary"})
    assert (s.canary_mode, s.upgrade_gate, s.eval_suites, s.data_plane_api_version) == (
        "create",
        "canary",
        "evals",
        "v1",
    )
    assert load_settings({}).canary_mode == "existing"
    container = "https://acct.blob.core.windows.net/evals/team-a"
    assert load_settings({"EVAL_SUITES": container}).eval_suites == container
    for bad, words in (
        ({"CANARY_MODE": "always"}, "CANARY_MODE='always'"),
        ({"CANARY_MODE": "create"}, "CANARY_MODE=create with an empty WATCH_ACCOUNTS"),
        ({"UPGRADE_GATE": "canary", "CANARY_MODE": "off"}, "UPGRADE_GATE=canary with CANARY_MODE=off"),
        ({"UPGRADE_GATE": "maybe"}, "UPGRADE_GATE='maybe'"),
        ({"EVAL_SUITES": "http://acct.blob.core.windows.net/evals"}, "it must be a blob container, https://"),
        ({"EVAL_SUITES": "https://evals.example.com/evals"}, "it must be a blob container, https://"),
        ({"EVAL_SUITES": "https://x\\@acct.blob.core.windows.net/evals"}, "it must be a blob container"),
        ({"EVAL_SUITES": "https://acct.blob.core.windows.net/"}, "EVAL_SUITES names no container"),
        ({"DATA_PLANE_API_VERSION": "latest"}, "DATA_PLANE_API_VERSION='latest'"),
        ({"CANARY_MAX_TOKENS": "10"}, "CANARY_MAX_TOKENS=10 is out of range"),
        ({"CANARY_PROTECT": "true", "CANARY_MODE": "off"}, "CANARY_PROTECT=true with CANARY_MODE=off"),
        ({"CANARY_PROTECT": "maybe"}, "CANARY_PROTECT"),
        ({"CANARY_PROTECT_MARGIN_DAYS": "0"}, "CANARY_PROTECT_MARGIN_DAYS=0 is out of range"),
    ):
        with pytest.raises(SettingsError) as caught:
            load_settings(bad)
        assert any(words in p for p in caught.value.problems), (bad, caught.value.problems)
    assert (
        load_settings({"CANARY_MODE": "create", "POLICY_ENFORCE_ALL_ACCOUNTS": "true"}).canary_mode
        == "create"
    )
    secret = load_settings({"DATA_PLANE_BEARER_TOKEN": "dp-secret-1"}).data_plane_bearer_token
    assert secret is not None and "dp-secret-1" not in repr(secret)

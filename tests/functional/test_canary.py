"""Canary runs (#25) against the ARM stand-in and the data-plane stand-in over loopback HTTP: the real openai
client, the real ARM client, the composition root's wiring.

The payments team's suite (evals/examples/payments-invoices.yaml, shipped): the newer gpt-4o version wraps its JSON in a
markdown fence, so ``is-json`` fails on 2 of 5 cases (total, currency): a regression found before anything moves.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared import bootstrap
from shared.cli.main import main
from shared.config import load_settings
from shared.domain.payloads import UpgradeFailedData
from shared.domain.verdict import Verdict
from shared.errors import TransientError
from shared.services.canary import CanaryRequest
from tests.fakes.arm_server import FakeArm, Fault
from tests.fakes.dataplane_server import DataFault, FakeDataPlane
from tests.support.canary import (
    ARM_TOKEN,
    CURRENT,
    DP_TOKEN,
    NOW,
    ROOT,
    SUB,
    SUITE,
    TARGET,
    World,
    answers,
    make_world,
    pipeline,
)


@pytest.fixture
def world(arm_server: FakeArm, data_plane: FakeDataPlane) -> World:
    return make_world(arm_server, data_plane)


def test_side_by_side_reuses_the_teams_deployment_and_writes_nothing(world: World) -> None:
    world.arm.add_deployment(world.account, "chat-eu-next", "gpt-4o", TARGET)
    result = world.run()
    assert world.writes() == []
    assert result.verdict == Verdict.REGRESSION
    assert result.regressions == ("total", "currency")
    assert (result.current.passed, result.target.passed) == (5, 3)
    assert result.target.deployment == "chat-eu-next" and result.canary is None
    total = result.cases[0]
    assert total.target.failures[0].startswith("is-json: not JSON")
    assert total.target.excerpt is not None and total.target.excerpt.startswith("```json")
    assert total.target.outputs == ()  # CANARY_STORE_OUTPUTS is off
    assert len(world.plane.calls_to("chat-eu")) == len(world.plane.calls_to("chat-eu-next")) == 5
    assert result.tokens == world.plane.tokens_served > 0


def test_a_passing_target_passes(world: World) -> None:
    world.plane.answer("gpt-4o", "2025-01-01", answers(fenced=False))
    world.arm.add_deployment(world.account, "chat-eu-2025", "gpt-4o", "2025-01-01")
    result = world.run(target="2025-01-01")
    assert (result.verdict, result.regressions, result.target.passed) == (Verdict.PASS, (), 5)


def test_created_canary_is_put_once_deleted_once_and_the_source_is_never_written(world: World) -> None:
    world.arm.account_models[world.account.casefold()] = [
        {
            "format": "OpenAI",
            "name": "gpt-4o",
            "version": TARGET,
            "skus": [{"name": "Standard", "capacity": {"minimum": 1}}, {"name": "GlobalStandard"}],
        }
    ]
    result = world.run("create")
    assert world.writes() == [("PUT", "chat-eu-mw-canary"), ("DELETE", "chat-eu-mw-canary")]
    put = world.arm.puts()[0].body
    assert put["sku"] == {"name": "Standard", "capacity": 1}
    assert put["properties"]["model"] == {"format": "OpenAI", "name": "gpt-4o", "version": TARGET}
    assert put["properties"]["versionUpgradeOption"] == "NoAutoUpgrade"
    assert put["tags"]["modelwatch:canary-of"] == world.source
    assert put["tags"]["modelwatch:expires"] == "2026-12-06T14:00:00Z"
    assert result.canary is not None and result.canary.to_json() == {
        "name": "chat-eu-mw-canary",
        "created": True,
        "deleted": True,
    }
    assert result.verdict == Verdict.REGRESSION and result.regressions == ("total", "currency")
    assert len(world.plane.calls_to("chat-eu-mw-canary")) == 5
    assert world.arm.version_of(world.source) == CURRENT
    assert world.source.casefold() + "-mw-canary" not in world.arm.deployments


def test_existing_mode_without_a_side_by_side_deployment_creates_nothing(world: World) -> None:
    result = world.run("existing")
    assert world.writes() == [] and world.plane.calls == []
    assert result.verdict == Verdict.ERROR
    assert result.reason is not None and result.reason.startswith("no target:")
    assert "CANARY_MODE=create" in result.reason


def test_the_data_boundary_is_never_widened(world: World) -> None:
    world.arm.account_models[world.account.casefold()] = [
        {"name": "gpt-4o", "version": TARGET, "skus": [{"name": "GlobalStandard"}]}
    ]
    result = world.run("create")
    assert world.writes() == []
    assert result.verdict == Verdict.ERROR
    assert result.reason is not None and result.reason.startswith("not offered:")
    assert "not offered as Standard in eastus" in result.reason and "allow_global: true" in result.reason


def test_a_quota_refusal_is_an_error_saying_quota(world: World) -> None:
    world.arm.refusals[(world.account + "/deployments/chat-eu-mw-canary").casefold()] = (
        "InsufficientQuota",
        "This operation require 1 new capacity in quota Tokens Per Minute (thousands) - gpt-4o",
    )
    result = world.run("create")
    assert (
        result.verdict == Verdict.ERROR and result.reason is not None and result.reason.startswith("quota:")
    )
    assert world.writes() == [("PUT", "chat-eu-mw-canary")]  # refused: nothing to delete


def test_a_name_taken_by_a_team_deployment_is_never_written(world: World) -> None:
    world.arm.add_deployment(world.account, "chat-eu-mw-canary", "gpt-4o", CURRENT)
    result = world.run("create")
    assert world.writes() == []
    assert result.verdict == Verdict.ERROR and "never written" in (result.reason or "")


def test_canaries_are_created_only_inside_watch_accounts(world: World) -> None:
    result = world.run("create", WATCH_ACCOUNTS="", WATCH_SUBSCRIPTION_IDS=SUB)
    assert world.writes() == []
    assert result.verdict == Verdict.ERROR and (result.reason or "").startswith("out of scope:")


def test_a_crash_leaves_a_tagged_canary_that_a_redelivery_reuses_and_the_sweeper_deletes(
    world: World,
) -> None:
    # the run dies before its delete lands: ARM answers 500 to every DELETE attempt
    world.arm.faults += [Fault(status=500, path_contains="mw-canary", method="DELETE") for _ in range(6)]
    first = world.run("create", ARM_MAX_RETRIES="5")
    assert first.canary is not None and (first.canary.created, first.canary.deleted) == (True, False)
    left = world.arm.deployments[(world.account + "/deployments/chat-eu-mw-canary").casefold()]
    team_alike = world.arm.add_deployment(
        world.account, "old-mw-canary", "gpt-4o", CURRENT, tags={"modelwatch:expires": "2020-01-01T00:00:00Z"}
    )
    # redelivered within its life: the same canary is put again (same body) and this time deleted
    world.arm.faults.clear()
    again = world.run("create")
    assert again.canary is not None and again.canary.deleted
    assert [w for w in world.writes() if w[0] == "PUT"] == [("PUT", "chat-eu-mw-canary")] * 2
    # a crash with the canary kept: the sweeper leaves it alone until it expires, then deletes only it
    world.run("create", keep=True)
    assert left["tags"]["modelwatch:canary-of"] == world.source
    service = world.service()
    assert service.sweep([world.account], NOW + timedelta(minutes=30)) == []
    swept = service.sweep([world.account], NOW + timedelta(hours=3))
    assert swept == [world.account + "/deployments/chat-eu-mw-canary"]
    assert team_alike.casefold() in world.arm.deployments
    assert world.source.casefold() in world.arm.deployments


@pytest.mark.parametrize(
    ("headers", "waited"),
    [({"retry_after": "2"}, 2.0), ({"retry_after": None, "retry_after_ms": "250"}, 0.25)],
)
def test_a_429_waits_its_retry_after_and_the_run_goes_on(
    world: World, headers: dict[str, Any], waited: float
) -> None:
    world.arm.add_deployment(world.account, "chat-eu-next", "gpt-4o", TARGET)
    world.plane.throttle("chat-eu-next", **headers)
    result = world.run()
    assert world.sleeps == [waited]
    assert result.verdict == Verdict.REGRESSION and result.target.passed == 3
    assert len(world.plane.calls_to("chat-eu-next")) == 6  # one answered 429, retried


def test_429s_past_the_retries_are_a_quota_error(world: World) -> None:
    world.arm.add_deployment(world.account, "chat-eu-next", "gpt-4o", TARGET)
    world.plane.throttle("chat-eu-next", retry_after="120", count=100)
    result = world.run(CANARY_CONCURRENCY="1")
    assert result.verdict == Verdict.ERROR and (result.reason or "").startswith("quota:")
    assert world.sleeps == [60.0] * 4  # Retry-After capped, four retries


def test_a_content_filter_refusal_fails_the_case_with_that_reason(world: World) -> None:
    world.arm.add_deployment(world.account, "chat-eu-next", "gpt-4o", TARGET)
    world.plane.filtered = ["1185"]
    result = world.run()
    by_id = {c.id: c for c in result.cases}
    refused = by_id["no-apology"]
    assert refused.current.failures == refused.target.failures == ("content filter: the prompt was refused",)
    assert "no-apology" not in result.regressions  # refused on both versions: not a regression


def test_the_token_never_leaves_the_endpoints_origin(world: World) -> None:
    world.arm.add_deployment(world.account, "chat-eu-next", "gpt-4o", TARGET)
    with FakeDataPlane() as elsewhere:
        world.plane.faults.append(
            DataFault(
                307,
                {"Location": elsewhere.endpoint + "openai/v1/chat/completions"},
                {"error": {"code": "moved"}},
                count=100,
            )
        )
        result = world.run()
        assert elsewhere.calls == []
    assert result.verdict == Verdict.ERROR
    assert {c.authorization for c in world.plane.calls} == {f"Bearer {DP_TOKEN}"}
    assert {r.authorization for r in world.arm.requests} == {
        f"Bearer {ARM_TOKEN}"
    }  # nor ARM's to the data plane


def test_an_endpoint_outside_azure_openai_gets_no_token(world: World) -> None:
    world.arm.add_deployment(world.account, "chat-eu-next", "gpt-4o", TARGET)
    world.arm.accounts[world.account.casefold()]["properties"]["endpoint"] = "https://contoso.example.com/"
    result = world.run()
    assert result.verdict == Verdict.ERROR and "not an Azure OpenAI data-plane host" in (result.reason or "")
    assert world.plane.calls == []


def test_a_run_stops_at_the_token_budget_and_says_how_many_it_used(world: World) -> None:
    world.arm.add_deployment(world.account, "chat-eu-next", "gpt-4o", TARGET)
    result = world.run(CANARY_MAX_TOKENS="100", CANARY_CONCURRENCY="1")
    assert result.verdict == Verdict.ERROR
    assert (result.reason or "").startswith("budget: stopped at CANARY_MAX_TOKENS=100")
    assert result.tokens >= 100
    assert len(world.plane.calls) < 10


def test_concurrency_is_bounded(world: World) -> None:
    world.arm.add_deployment(world.account, "chat-eu-next", "gpt-4o", TARGET)
    world.plane.latency = 0.02
    world.run(CANARY_CONCURRENCY="2")
    assert 1 <= world.plane.max_in_flight <= 2


def test_the_dated_api_version_shape(world: World) -> None:
    world.arm.add_deployment(world.account, "chat-eu-next", "gpt-4o", TARGET)
    result = world.run(DATA_PLANE_API_VERSION="2024-10-21")
    assert result.regressions == ("total", "currency")
    paths = {c.path for c in world.plane.calls}
    assert paths == {
        "/openai/deployments/chat-eu/chat/completions",
        "/openai/deployments/chat-eu-next/chat/completions",
    }
    assert {c.query["api-version"][0] for c in world.plane.calls} == {"2024-10-21"}


def test_the_v1_shape_names_the_deployment_as_model(world: World) -> None:
    world.arm.add_deployment(world.account, "chat-eu-next", "gpt-4o", TARGET)
    world.run()
    assert {c.path for c in world.plane.calls} == {"/openai/v1/chat/completions"}
    assert {c.body["model"] for c in world.plane.calls} == {"chat-eu", "chat-eu-next"}
    assert all(c.body["temperature"] == 0 and c.body["max_tokens"] == 300 for c in world.plane.calls)


# ---- the command line


@pytest.fixture
def cli_env(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> World:
    monkeypatch.chdir(tmp_path)
    for name in ("WATCH_SUBSCRIPTION_ID", "STATE_STORE", "AzureWebJobsStorage", "POLICY_MODE", "CANARY_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in world.env.items():
        monkeypatch.setenv(name, value)
    return world


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_cli_run_json_shape_and_exit_codes(cli_env: World, capsys: pytest.CaptureFixture[str]) -> None:
    cli_env.arm.add_deployment(cli_env.account, "chat-eu-next", "gpt-4o", TARGET)
    suite = str(ROOT / "evals" / "examples" / "payments-invoices.yaml")
    args = [
        "canary",
        "run",
        "--deployment",
        cli_env.source,
        "--suite",
        suite,
        "--target-model",
        "gpt-4o",
        "--target-version",
        TARGET,
        "--format",
        "json",
    ]
    code, out = cli(*args)
    assert code == 0  # a regression without --fail-on is reported, not failed
    doc = json.loads(out)
    assert set(doc) >= {
        "deployment",
        "suite",
        "verdict",
        "current",
        "target",
        "cases",
        "regressions",
        "canary",
        "tokens",
    }
    assert doc["verdict"] == "regression" and doc["regressions"] == ["total", "currency"]
    assert doc["current"] == {
        "model": "gpt-4o",
        "version": CURRENT,
        "deployment": "chat-eu",
        "passed": 5,
        "failed": 0,
    }
    assert doc["target"] == {
        "model": "gpt-4o",
        "version": TARGET,
        "deployment": "chat-eu-next",
        "passed": 3,
        "failed": 2,
    }
    assert set(doc["cases"][0]) == {"id", "current", "target"}
    assert set(doc["cases"][0]["target"]) >= {"passed", "failures", "latencyMs"}
    assert cli(*args, "--fail-on", "regression")[0] == 1
    code, out = cli(*args, "-o", "json", "--query", "regressions")  # az's conventions, as every command has
    assert code == 0 and json.loads(out) == ["total", "currency"]
    code, out = cli("canary", "list", "--format", "json")
    assert code == 0 and [r["verdict"] for r in json.loads(out)] == ["regression"] * 3
    code, out = cli("canary", "list")
    assert "2/2" not in out and "5/5 -> 3/5 on gpt-4o 2024-11-20" in out


def test_cli_without_a_target_deployment_exits_2_saying_how_to_get_one(
    cli_env: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out = cli(
        "canary",
        "run",
        "--deployment",
        cli_env.source,
        "--target-version",
        TARGET,
        "--suite",
        str(ROOT / "evals" / "examples" / "payments-invoices.yaml"),
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "--against" in err and "--create-canary" in err
    assert cli_env.writes() == []


def test_cli_table_and_create_canary(cli_env: World, capsys: pytest.CaptureFixture[str]) -> None:
    # no --suite: the shipped suites do not cover chat-eu until it opts in by its tag
    cli_env.arm.deployments[cli_env.source.casefold()]["tags"] = {
        "modelwatch:evals": "payments-invoices.yaml"
    }
    code, out = cli(
        "canary", "run", "--deployment", cli_env.source, "--target-version", TARGET, "--create-canary"
    )
    assert code == 2  # EVAL_SUITES defaults to evals/ in the current directory: none here
    cli_env.arm.requests.clear()
    code, out = cli(
        "canary",
        "run",
        "--deployment",
        cli_env.source,
        "--target-version",
        TARGET,
        "--create-canary",
        "--suite",
        str(ROOT / "evals" / "examples" / "payments-invoices.yaml"),
    )
    assert code == 0
    assert "tested: 5/5 -> 3/5 on gpt-4o 2024-11-20" in out
    assert "total" in out and "<- regression" in out
    assert "canary chat-eu-mw-canary: created, deleted" in out
    assert cli_env.writes() == [("PUT", "chat-eu-mw-canary"), ("DELETE", "chat-eu-mw-canary")]


def test_cli_sweep(cli_env: World) -> None:
    cli_env.arm.add_deployment(
        cli_env.account,
        "chat-eu-mw-canary",
        "gpt-4o",
        TARGET,
        tags={"modelwatch:canary-of": cli_env.source, "modelwatch:expires": "2020-01-01T00:00:00Z"},
    )
    code, out = cli("canary", "sweep")
    assert code == 0 and "1 expired canary deleted" in out
    assert cli_env.writes() == [("DELETE", "chat-eu-mw-canary")]


# ---- once per (deployment, target): what the queue-run pipeline calls


def test_a_redelivered_request_runs_the_canary_once(world: World, tmp_path: Path) -> None:
    from shared.adapters.memory import InMemoryLedger
    from shared.adapters.sqlite.canary_results import SqliteCanaryResults
    from shared.services.idempotency import Once

    world.arm.add_deployment(world.account, "chat-eu-next", "gpt-4o", TARGET)
    ledger, results = InMemoryLedger(), SqliteCanaryResults(str(tmp_path / "state.db"))
    service = world.service()
    request = CanaryRequest(world.source, SUITE, "gpt-4o", TARGET)
    first = service.run_once(ledger, request, NOW, results=results)
    calls = len(world.plane.calls)
    again = service.run_once(ledger, request, NOW + timedelta(minutes=5), results=results)
    assert (first.status, again.status) == (Once.DONE, Once.DUPLICATE)
    assert first.value is not None and first.value.regressions == ("total", "currency")
    assert len(world.plane.calls) == calls == 10
    assert [r["verdict"] for r in results.list_results()] == ["regression"]
    # another target of the same deployment is another run
    world.arm.add_deployment(world.account, "chat-eu-2025", "gpt-4o", "2025-01-01")
    other = service.run_once(
        ledger, CanaryRequest(world.source, SUITE, "gpt-4o", "2025-01-01"), NOW, results=results
    )
    assert other.status == Once.DONE


def test_a_throttled_run_releases_its_claim_for_the_redelivery(world: World) -> None:
    from shared.adapters.memory import InMemoryLedger

    world.arm.add_deployment(world.account, "chat-eu-next", "gpt-4o", TARGET)
    world.plane.throttle("chat-eu-next", retry_after="1", count=100)
    ledger = InMemoryLedger()
    service = world.service(CANARY_CONCURRENCY="1")
    request = CanaryRequest(world.source, SUITE, "gpt-4o", TARGET)
    with pytest.raises(TransientError, match="quota"):
        service.run_once(ledger, request, NOW)
    world.plane.faults.clear()
    assert service.run_once(ledger, request, NOW).value is not None  # the redelivery runs it


def test_cli_target_defaults_to_what_modelwatch_predicts(
    cli_env: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.builders import item

    # the catalog makes 2024-11-20 the default: Azure moves the auto-update chat-eu there (upgradeExpected)
    cli_env.arm.set_catalog(SUB, "eastus", [item("gpt-4o", CURRENT), item("gpt-4o", TARGET, default=True)])
    cli_env.arm.add_deployment(cli_env.account, "chat-eu-next", "gpt-4o", TARGET)
    monkeypatch.setenv("WATCH_SUBSCRIPTION_ID", SUB)
    monkeypatch.setenv("WATCH_LOCATIONS", "eastus")
    assert cli("check")[0] == 0
    assert cli("deployments", "--refresh")[0] == 0
    suite = str(ROOT / "evals" / "examples" / "payments-invoices.yaml")
    code, out = cli("canary", "run", "--deployment", cli_env.source, "--suite", suite, "--format", "json")
    assert code == 0, out
    doc = json.loads(out)
    assert (doc["target"]["version"], doc["target"]["deployment"]) == (TARGET, "chat-eu-next")


# ---- the gate: UPGRADE_GATE=canary holds modelwatch's own upgrade until a canary of that target passes


def gated_policy(world: World, suites: Any = None) -> tuple[Any, Any, list[Any]]:
    """The policy subscriber in enforce mode over the stand-in, with the canary gate; TARGET becomes the default and
    POLICY_ACCELERATE_DEFAULT makes enforcement move chat-eu there at once (Azure would within two weeks). Returns
    (policy, ledger, the catalog events)."""
    from shared.adapters.memory import (
        CollectingPublisher,
        InMemoryCatalogStateStore,
        InMemoryDeploymentStore,
        InMemoryLedger,
    )
    from shared.domain.catalog import parse_models
    from shared.domain.diff import diff_location
    from shared.domain.evals import SuiteSet
    from shared.domain.policy import PolicyRules
    from shared.domain.scope import Scope
    from shared.services.canary_gate import CanaryGate
    from shared.services.inventory import InventoryService
    from shared.services.policy import PolicyService
    from tests.builders import item

    before = [item("gpt-4o", CURRENT, default=True), item("gpt-4o", TARGET)]
    after = [item("gpt-4o", CURRENT), item("gpt-4o", TARGET, default=True)]
    state = InMemoryCatalogStateStore()
    first = diff_location(None, parse_models(before), NOW - timedelta(days=1), location="eastus")
    state.save_records("eastus", first.snapshot.records)
    second = diff_location(first.snapshot, parse_models(after), NOW)
    state.save_records("eastus", second.snapshot.records)
    events = list(second.events)
    settings = load_settings(world.env)
    api = bootstrap.build_deployment_api(
        settings, bootstrap.build_arm_client(settings, sleep=world.sleeps.append)
    )
    stores, ledger = InMemoryDeploymentStore(), InMemoryLedger()
    InventoryService(api, stores, stores, state, accounts=[world.account]).refresh(NOW)
    policy = PolicyService(
        deployments=stores,
        ledger=ledger,
        rollbacks=stores,
        state=state,
        api=api,
        publisher=CollectingPublisher(),
        rules=PolicyRules(enforce=True, accelerate_default=True),
        scope=Scope.of(locations=("eastus",), accounts=(world.account,), subscriptions=()),
        reminder_days=(90, 60, 30, 14, 7, 1),
        gate=CanaryGate(ledger, lambda: suites or SuiteSet((SUITE,))).check,
    )
    return policy, ledger, events


def test_the_gate_waits_for_the_canary_then_lets_a_passing_target_through(world: World) -> None:
    world.plane.answer("gpt-4o", TARGET, answers(fenced=False))  # this time the target does the job
    world.arm.add_deployment(world.account, "chat-eu-next", "gpt-4o", TARGET)
    policy, ledger, events = gated_policy(world)
    changed = next(e for e in events if e.event_type == "ModelLifecycle.DefaultVersionChanged")
    with pytest.raises(TransientError, match="waiting for the canary of gpt-4o 2024-11-20"):
        policy.handle(changed, NOW)
    assert world.arm.puts() == []
    result = world.service().run_once(ledger, CanaryRequest(world.source, SUITE, "gpt-4o", TARGET), NOW)
    assert result.value is not None and result.value.verdict == Verdict.PASS
    redelivered = policy.handle(changed, NOW)  # Event Grid's retry
    assert "1 upgraded" in redelivered.detail
    assert [p.path.rsplit("/", 1)[-1] for p in world.arm.puts()] == ["chat-eu"]
    assert world.arm.version_of(world.source) == TARGET


def test_the_gate_holds_the_upgrade_when_the_canary_finds_a_regression(world: World) -> None:
    world.arm.add_deployment(world.account, "chat-eu-next", "gpt-4o", TARGET)
    policy, ledger, events = gated_policy(world)
    changed = next(e for e in events if e.event_type == "ModelLifecycle.DefaultVersionChanged")
    result = world.service().run_once(ledger, CanaryRequest(world.source, SUITE, "gpt-4o", TARGET), NOW)
    assert result.value is not None and result.value.verdict == Verdict.REGRESSION
    handled = policy.handle(changed, NOW)
    assert "held: the canary of gpt-4o 2024-11-20 did not pass (regression: 5/5 -> 3/5)" in handled.detail
    assert world.arm.puts() == [] and world.arm.version_of(world.source) == CURRENT
    # the team is told of the write that did not happen, as of a refused one
    told = [e for e in handled.emitted if e.event_type == "ModelLifecycle.DeploymentUpgradeFailed"]
    assert "ModelLifecycle.DeploymentUpgradePlanned" not in {e.event_type for e in handled.emitted}
    assert [e.payload_as(UpgradeFailedData).error for e in told] == [
        "held by UPGRADE_GATE=canary: the canary of gpt-4o 2024-11-20 did not pass (regression: 5/5 -> 3/5)"
    ]
    assert policy.handle(changed, NOW).outcome == "duplicate"


def test_a_malformed_suite_holds_what_it_may_cover_and_hides_no_other(world: World) -> None:
    from shared.domain.evals import SuiteError, SuiteSet

    bad = SuiteError("https://st.blob.core.windows.net/evals/pay.yaml", 7, "unknown assertion type 'x'")
    policy, _, events = gated_policy(world, SuiteSet((), (bad,)))
    changed = next(e for e in events if e.event_type == "ModelLifecycle.DefaultVersionChanged")
    assert f"a suite that may cover it cannot be read: {bad}" in policy.handle(changed, NOW).detail
    assert world.arm.puts() == []
    policy, _, events = gated_policy(
        world, SuiteSet((SUITE,), (bad,))
    )  # a readable suite covers it: its canary
    with pytest.raises(TransientError, match="waiting for the canary of gpt-4o 2024-11-20"):
        policy.handle(changed, NOW)


# ---- the pipeline: a covered deployment told it will move gets its canary, from a queue, once


def test_plan_mode_pipeline_runs_the_canary_from_the_queue_once_and_writes_nothing(world: World) -> None:
    from shared.domain.payloads import CanaryEvaluatedData

    p = pipeline(world, retires=False)
    assert (p.settings.policy_mode, p.settings.canary_mode) == ("plan", "existing")
    changed = p.new_default(TARGET, TARGET, at=NOW)  # Azure will move chat-eu to TARGET
    p.services.policy.handle(changed, NOW)  # apply_update_policy: chat-eu will move, a suite covers it
    queue = p.queue
    assert len(queue.messages) == 1 and json.loads(queue.messages[0])["version"] == TARGET
    result = p.services.run_canary(queue.messages[0], NOW)  # run_canary
    assert result is not None and result.regressions == ("total", "currency")
    (told,) = [e for e in p.publisher.published if e.event_type == "ModelLifecycle.CanaryEvaluated"]
    data = told.payload_as(CanaryEvaluatedData)
    assert (data.deployment_name, data.verdict, data.target_deployment) == (
        "chat-eu",
        "regression",
        "chat-eu-next",
    )
    calls = len(world.plane.calls)
    assert p.services.run_canary(queue.messages[0], NOW + timedelta(minutes=1)) is None  # redelivered: once
    assert len(world.plane.calls) == calls
    assert world.arm.puts() == [] and world.arm.deletes() == []  # plan mode, side by side: nothing written

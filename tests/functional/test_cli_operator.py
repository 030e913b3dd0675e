"""The operator's path (#16): one state resolution printed first, the deployed app's settings (--app-settings),
`settings` validating as the app does, `run`, gates and formats, test messages, and the rough edges (pipes, help)."""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from shared.cli.main import main
from shared.cli.parser import build_parser
from tests.fakes.arm_server import FakeArm
from tests.fakes.webhooks import FakeSlackWebhook, FakeTeamsWorkflow
from tests.support.cli_tenant import JAN, SUB, Tenant, setup_tenant

ROOT = Path(__file__).resolve().parents[2]
TOPIC = "https://topic.eastus-1.eventgrid.azure.net/api/events"
KEY = "c2VjcmV0a2V5c2VjcmV0"  # an account key: never printed
SETTINGS = (
    "WATCH_SUBSCRIPTION_ID",
    "WATCH_LOCATIONS",
    "STATE_STORE",
    "AzureWebJobsStorage",
    "STATE_TABLE_PREFIX",
    "AzureWebJobsStorage__accountName",
    "EVENTGRID_TOPIC_ENDPOINT",
    "EVENTGRID_TOPIC_KEY",
    "ARM_BEARER_TOKEN",
    "ARM_ENDPOINT",
    "WATCH_ACCOUNTS",
    "WATCH_SUBSCRIPTION_IDS",
    "POLICY_MODE",
    "TEAMS_WEBHOOK_URL",
    "SLACK_WEBHOOK_URL",
    "ALERT_ROUTES",
    "RETIREMENT_REMINDER_DAYS",
    "WEBSITE_SITE_NAME",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def tenant(arm_server: FakeArm, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Tenant:
    return setup_tenant(arm_server, monkeypatch, tmp_path)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def app_settings(path: Path, values: dict[str, str | None]) -> str:
    """What `az functionapp config appsettings list` prints."""
    path.write_text(json.dumps([{"name": k, "value": v, "slotSetting": False} for k, v in values.items()]))
    return str(path)


# ---- 1. one state resolution, printed first


def test_every_state_command_says_first_which_state_it_reads(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'x' / 'state.db'}"
    assert run("check", "--dry-run")[1].startswith(
        "state: sqlite:///.modelwatch/state.db (default: no STATE_STORE or AzureWebJobsStorage set"
    )
    run("check", "--state", state)
    for argv in (
        ("deployments",),
        ("plan",),
        ("report", "--out", "s.html"),
        ("rollback", "/subscriptions/x"),
    ):
        _, text = run(*argv, "--state", state)
        assert text.splitlines()[0] == f"state: {state} (--state)", argv


def test_the_state_line_never_shows_a_key_or_a_sas(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STATE_STORE", f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={KEY}")
    # settings reads no store: nothing here reaches out to the (made-up) account
    _, text = run("settings", "--state", "https://acct.table.core.windows.net/?sv=2024&sig=SASSECRET")
    err = capsys.readouterr().err
    assert text.startswith(
        "state: Table Storage at https://acct.table.core.windows.net/?<SAS masked> (--state)"
    )
    assert "SASSECRET" not in text + err
    _, text = run("settings")
    err = capsys.readouterr().err
    assert text.startswith(
        "state: Table Storage at https://acct.table.core.windows.net (connection string, key not shown) "
        "(STATE_STORE from environment)"
    )
    assert KEY not in text + err


def test_read_commands_never_create_a_missing_state_file(tmp_path: Path) -> None:
    code, text = run("plan", "--state", "sqlite:///typo/state.db")
    assert code == 0 and "the file does not exist yet" in text.splitlines()[0]
    assert "No deployments in this state's inventory" in text
    assert not (tmp_path / "typo").exists()


def test_plan_on_an_empty_default_state_points_at_the_demo_and_the_deployed_app(tmp_path: Path) -> None:
    assert run("demo", "--out", "demo-output")[0] == 0
    code, text = run("plan")
    assert code == 0 and "No deployments" in text
    assert "--state sqlite:///demo-output/state.db" in text and "--app-settings FILE" in text


def test_the_demo_ends_with_commands_that_work_against_its_state() -> None:
    code, text = run("demo", "--out", "demo-output")
    assert code == 0 and text.startswith("state: sqlite:///demo-output/state.db")
    tail = text[text.index("Next, try the command line against the demo's state:") :].splitlines()[1:]
    commands = [line.strip().split("#")[0].split("|")[0] for line in tail if line.strip()]
    assert len(commands) == 4
    for command in commands:
        argv = shlex.split(command)
        assert argv[:3] == ["python", "-m", "shared"] and "sqlite:///demo-output/state.db" in argv
        code, out = run(*argv[3:])
        assert code == (1 if "--fail-on" in argv else 0), command
        assert "No deployments" not in out
    assert "chat-prod" in run("plan", "--state", "sqlite:///demo-output/state.db")[1]
    # the iac fix it suggests edits the demo's copy of the templates, never the package's own (site-packages)
    (fix,) = [
        line.split("next: ", 1)[1] for line in text.splitlines() if "next: " in line and "iac fix" in line
    ]
    argv = shlex.split(fix)
    assert argv[3:5] == ["iac", "fix"] and Path(argv[5]).resolve().is_relative_to(
        Path("demo-output").resolve()
    )
    code, diff = run(*argv[3:])
    assert code == 0 and "would change" in diff


def test_deliver_and_rollback_refuse_an_empty_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = tmp_path / "dead.json"
    body.write_text("[]")
    code, text = run("deliver", str(body), "--state", "sqlite:///empty.db")
    err = capsys.readouterr().err
    assert code == 1 and "holds no deployments" not in err and "does not exist" in err
    assert "--app-settings FILE" in err and "--allow-empty" in err
    assert not (tmp_path / "empty.db").exists()
    code, _ = run("rollback", "/subscriptions/x/deployments/y", "--dry-run")
    err = capsys.readouterr().err
    assert code == 1 and "a rollback needs the state the app writes" in err and "wrong state" in err
    code, text = run("deliver", str(body), "--allow-empty")
    assert code == 0 and "0 event(s) delivered" in text


# ---- --app-settings: the deployed app's settings


def test_app_settings_file_is_the_deployed_apps_settings(
    tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "deployed.db"
    listing = app_settings(
        tmp_path / "app-settings.json",
        {
            "WATCH_SUBSCRIPTION_ID": SUB,
            "WATCH_LOCATIONS": "eastus",
            "ARM_ENDPOINT": tenant.arm.endpoint,
            "ARM_BEARER_TOKEN": "local-token",
            "ARM_MAX_RETRIES": "0",
            "STATE_STORE": f"sqlite:///{state}",
            "EVENTGRID_TOPIC_ENDPOINT": TOPIC,
            "AZURE_TOKEN_CREDENTIALS": "ManagedIdentityCredential",
            "AzureWebJobsStorage__accountName": "stdeployed",
            "TEAMS_WEBHOOK_URL": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/teams/)",
            "ALERT_ROUTES": json.dumps({"payments": {"slack": "PAYMENTS_SLACK"}}),
            "PAYMENTS_SLACK": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/pay/)",
        },
    )
    monkeypatch.setenv("WATCH_LOCATIONS", "westus")  # the laptop's own settings do not leak in
    monkeypatch.setenv("STATE_STORE", "sqlite:///laptop.db")
    (tmp_path / "local.settings.json").write_text(json.dumps({"Values": {"POLICY_MODE": "enforce"}}))
    code, text = run("deployments", "--refresh", "--at", JAN, "--app-settings", listing)
    assert code == 0, text
    lines = text.splitlines()
    assert lines[0].startswith(f"state: sqlite:///{state} (STATE_STORE from app settings {listing}")
    assert any("TEAMS_WEBHOOK_URL is a Key Vault reference" in line for line in lines[1:4])
    assert any("ALERT_ROUTES is left out here" in line for line in lines[1:5])
    assert "4 deployment(s) in 1 account(s)" in text and not Path("laptop.db").exists()
    code, text = run("settings", "--app-settings", listing)
    assert code == 0, text
    rows = {line.split()[0]: line for line in text.splitlines() if line and line.split()[0].isupper()}
    assert rows["WATCH_LOCATIONS"].split()[1:] == ["eastus", "eastus", "app", "settings", listing]
    assert "Key Vault reference (not resolved here)" in rows["TEAMS_WEBHOOK_URL"]
    assert rows["POLICY_MODE"].split()[-1] == "default"  # local.settings.json is not read with --app-settings
    # a Key Vault reference set in the environment is used, and said so
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", "https://example.webhook.office.com/w?sig=TEAMSSECRET")
    code, text = run("settings", "--app-settings", listing)
    assert "*** (set)" in text and f"environment (a Key Vault reference in {listing})" in text
    assert "TEAMSSECRET" not in text + capsys.readouterr().err


def test_a_bad_app_settings_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.json").write_text('{"not": ')
    assert run("plan", "--app-settings", "a.json")[0] == 2
    assert "az functionapp config appsettings list" in capsys.readouterr().err
    (tmp_path / "b.json").write_text('[{"value": "x"}]')
    assert run("plan", "--app-settings", "b.json")[0] == 2
    assert run("plan", "--app-settings", "missing.json")[0] == 2


def test_the_alerts_rollback_command_works_against_the_deployed_state(
    tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from shared.adapters.sqlite.deployments import SqliteDeploymentStore
    from shared.domain.alerts import APP_SETTINGS_FILE, messages_for
    from shared.domain.events import LifecycleEvent

    deployed = {
        "WATCH_SUBSCRIPTION_ID": SUB,
        "WATCH_LOCATIONS": "eastus",
        "ARM_ENDPOINT": tenant.arm.endpoint,
        "ARM_BEARER_TOKEN": "local-token",
        "STATE_STORE": f"sqlite:///{tmp_path / 'deployed.db'}",
    }
    app_settings(tmp_path / APP_SETTINGS_FILE, deployed)
    run("check", "--at", JAN, "--app-settings", APP_SETTINGS_FILE)
    run("deployments", "--refresh", "--at", JAN, "--app-settings", APP_SETTINGS_FILE)
    tenant.arm.deployments[tenant.auto.casefold()]["properties"]["model"]["version"] = "2024-11-20"
    run("deployments", "--refresh", "--at", JAN, "--app-settings", APP_SETTINGS_FILE)  # Azure moved it
    run(
        "check", "--at", JAN, "--app-settings", APP_SETTINGS_FILE
    )  # the next cycle publishes what the refresh found
    events = [
        LifecycleEvent.from_json(line) for line in Path(".modelwatch/events.jsonl").read_text().splitlines()
    ]
    (upgraded,) = [e for e in events if e.event_type.endswith("DeploymentUpgraded")]
    (message,) = messages_for(upgraded, upgraded.event_time)
    assert "az functionapp config appsettings list" in message.todo
    argv = shlex.split(message.command)
    assert argv[:4] == ["python", "-m", "shared", "rollback"]
    monkeypatch.delenv("ARM_ENDPOINT")  # the operator's laptop has none of the app's settings
    monkeypatch.delenv("WATCH_SUBSCRIPTION_ID")
    code, text = run(*argv[3:], "--at", JAN)
    assert code == 0, text
    assert "dry run" in text and f"--app-settings {APP_SETTINGS_FILE}" in text  # and how to do it for real
    assert SqliteDeploymentStore(str(tmp_path / "deployed.db")).list_deployments()
    code, _ = run("rollback", tenant.auto + "-typo", "--app-settings", APP_SETTINGS_FILE, "--at", JAN)
    err = capsys.readouterr().err
    assert code == 1 and "unknown-deployment" in err
    assert f"python -m shared deployments --refresh --app-settings {APP_SETTINGS_FILE}" in err


# ---- 2. settings, as the function app validates them


def test_settings_refuses_the_sample_as_the_app_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "local.settings.json").write_text((ROOT / "local.settings.sample.json").read_text())
    code, text = run("settings")
    assert code == 2
    assert "WATCH_SUBSCRIPTION_ID is missing" in text and "EVENTGRID_TOPIC_ENDPOINT is missing" in text
    from shared.config import load_settings, require_function_app
    from shared.errors import SettingsError

    sample = load_settings(json.loads((ROOT / "local.settings.sample.json").read_text())["Values"])
    with pytest.raises(SettingsError, match="WATCH_SUBSCRIPTION_ID"):
        require_function_app(sample)  # what the app does at start with the same values


def test_settings_names_every_problem_at_once_and_each_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "local.settings.json").write_text(
        json.dumps(
            {
                "Values": {
                    "WATCH_LOCATIONS": "Not A Place!",
                    "RETIREMENT_REMINDER_DAYS": "90,7,14,1,30,60",
                    "POLICY_MODE": "plan",
                }
            }
        )
    )
    monkeypatch.setenv("POLICY_MODE", "enforce")  # the environment wins over local.settings.json
    monkeypatch.setenv("POLICY_ENFORCE_ALL_ACCOUNTS", "true")
    code, text = run("settings")
    assert code == 2
    for problem in (
        "WATCH_LOCATIONS has 'Not A Place!'",
        "WATCH_SUBSCRIPTION_ID is missing",
        "EVENTGRID_TOPIC_ENDPOINT is missing",
    ):
        assert problem in text, problem
    assert "WATCH_LOCATIONS is missing" not in text  # bad, not missing: said once
    rows = {
        line.split()[0]: line.split() for line in text.splitlines() if line[:1].isupper() and "  " in line
    }
    # as set, and as understood (ordered)
    assert rows["RETIREMENT_REMINDER_DAYS"][1:] == [
        "90,7,14,1,30,60",
        "1,7,14,30,60,90",
        "local.settings.json",
    ]
    assert rows["POLICY_MODE"][1:] == ["enforce", "enforce", "environment"]
    assert rows["ARM_ENDPOINT"][-1] == "default"
    monkeypatch.setenv("WATCH_SUBSCRIPTION_ID", SUB)
    monkeypatch.setenv("WATCH_LOCATIONS", "eastus")
    monkeypatch.setenv("EVENTGRID_TOPIC_ENDPOINT", TOPIC)
    monkeypatch.setenv("STATE_STORE", "https://acct.table.core.windows.net")
    code, text = run("settings", "--format", "json")
    document = json.loads(text)
    assert code == 0 and document["ok"] and document["problems"] == []
    by_name = {s["name"]: s for s in document["settings"]}
    assert by_name["WATCH_LOCATIONS"]["source"] == "environment"
    assert by_name["WATCH_SUBSCRIPTION_IDS"]["source"] == "default (WATCH_SUBSCRIPTION_ID)"
    monkeypatch.setenv("WEBSITE_SITE_NAME", "func-x")
    monkeypatch.setenv("STATE_STORE", "sqlite:///state.db")
    code, text = run("settings")
    assert code == 2 and "every instance has its own disk" in text  # what App Service would refuse


# ---- 3. run: the timer's whole job


def test_run_is_the_timers_job(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run("run", "--at", JAN)
    assert code == 0, text
    lines = text.splitlines()
    assert lines[0].startswith("state: sqlite:///.modelwatch/state.db")
    assert "inventory: 4 deployment(s) in 1 account(s)" in text and "RetirementScheduled" in text
    summary = lines[-1]
    assert summary.startswith("catalog cycle at 2026-01-10") and " | inventory: 4 deployment(s)" in summary
    assert Path(".modelwatch/events.jsonl").read_text().count("RetirementScheduled") >= 1  # published
    code, text = run("plan", "--at", JAN)
    assert "chat" in text  # the refresh stored the inventory
    code, text = run("run", "--at", "2026-01-11T00:00:00Z", "--format", "json")
    document = json.loads(text)
    assert code == 0 and document["ok"] and document["inventory"]["deployments"] == 4
    assert document["cycle"]["locations"][0]["location"] == "eastus"
    assert capsys.readouterr().err.startswith("state: ")  # stdout holds the document only


def test_run_without_arm_settings_names_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("run")[0] == 2
    assert "WATCH_SUBSCRIPTION_ID is missing" in capsys.readouterr().err


def test_run_fails_when_a_location_fails(tenant: Tenant) -> None:
    from tests.fakes.arm_server import Fault

    tenant.arm.faults.append(Fault(status=500, path_contains="/locations/eastus/models"))
    code, text = run("run", "--at", JAN)
    assert code == 1 and "fetch" in text and "inventory: 4 deployment(s)" in text


# ---- 4. formats, gates, global options, pipes, help


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from shared.domain.version import VERSION

    assert run("--version")[0] == 0
    assert capsys.readouterr().out.strip() == f"modelwatch {VERSION}"


def test_json_formats(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run("check", "--at", JAN, "--format", "json")
    document = json.loads(text)
    assert code == 0 and document["ok"] and document["events"] and document["state"].startswith("sqlite:///")
    capsys.readouterr()
    run("deployments", "--refresh", "--at", JAN)
    code, text = run("deployments", "--format", "json", "--at", JAN)
    names = [d["name"] for d in json.loads(text)]  # a list command's document is the list, as in az
    assert code == 0 and sorted(names) == ["auto", "chat", "legacy", "ptu"]
    code, text = run("plan", "--format", "json", "--at", JAN)
    document = json.loads(text)
    assert code == 0 and document["mode"] == "plan" and document["counts"]["atRisk"] >= 1
    assert capsys.readouterr().err.startswith("state: ")


def test_plan_fail_on_gates(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    run("check", "--at", JAN)
    run("deployments", "--refresh", "--at", JAN)
    assert run("plan", "--at", JAN, "--fail-on", "broken")[0] == 0  # nothing broken yet
    code, _ = run("plan", "--at", JAN, "--fail-on", "at-risk")
    assert code == 1 and "match --fail-on atRisk: " in capsys.readouterr().err
    assert run("plan", "--at", JAN, "--fail-on", "at-risk", "--within", "30")[0] == 0  # 80 days away
    assert run("plan", "--at", JAN, "--fail-on", "at-risk", "--within", "90")[0] == 1
    code, _ = run("plan", "--at", "2026-04-02T00:00:00Z", "--fail-on", "broken")
    assert code == 1 and "legacy" in capsys.readouterr().err
    code, text = run("plan", "--at", JAN, "--fail-on", "at-risk", "--format", "json")
    assert code == 1 and json.loads(text)["failing"]
    assert run("plan", "--fail-on", "doomed")[0] == 2
    assert run("plan", "--within", "3")[0] == 2


def test_global_options_before_or_after_the_command(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'g.db'}"
    for argv in (
        ("--state", state, "plan"),
        ("plan", "--state", state),
        ("-v", "plan", "--state", state),
        ("plan", "-v", "--state", state),
    ):
        code, text = run(*argv)
        assert code == 0 and text.startswith(f"state: {state} (--state"), argv
    listing = app_settings(tmp_path / "s.json", {"STATE_STORE": state})
    assert run("deployments", "--app-settings", listing)[1].startswith(
        f"state: {state} (STATE_STORE from app"
    )
    assert run("--app-settings", listing, "deployments")[1].startswith(
        f"state: {state} (STATE_STORE from app"
    )
    code, text = run("iac", "scan", str(ROOT / "shared" / "data" / "iac-sample"), "--state", state)
    assert text.startswith(f"state: {state} (--state")


def test_report_out_dash_writes_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run("demo", "--out", "demo-output")
    code, text = run("report", "--out", "-", "--format", "json", "--state", "sqlite:///demo-output/state.db")
    assert code == 0 and json.loads(text)["counts"]["broken"] >= 1
    assert not (tmp_path / "-").exists()
    assert capsys.readouterr().err.startswith("state: sqlite:///demo-output/state.db")


def test_a_closed_pipe_ends_quietly() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "shared", "alerts", "preview"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert "Traceback" not in err and "BrokenPipe" not in err and err == ""


def _commands(parser: object, prefix: str = "") -> dict[str, object]:
    import argparse

    found: dict[str, object] = {}
    assert isinstance(parser, argparse.ArgumentParser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[f"{prefix}{name}"] = sub
                found.update(_commands(sub, f"{prefix}{name} "))
    return found


def test_every_command_has_a_description_and_an_example() -> None:
    commands = _commands(build_parser())
    assert {
        "check",
        "run",
        "plan",
        "deployments",
        "deliver",
        "rollback",
        "report",
        "settings",
        "demo",
        "alerts preview",
        "alerts send",
        "iac scan",
        "iac fix",
    } <= set(commands)
    for name, parser in commands.items():
        text = parser.format_help()  # type: ignore[attr-defined]
        assert parser.description, name  # type: ignore[attr-defined]
        assert "example:\n  python -m shared " + name.split()[0] in text, name
        assert "--app-settings" in text and "--state" in text, name  # global options after the command


def test_alerts_preview_kind_lists_the_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run("alerts", "preview", "--kind")
    assert code == 0 and "team-broken" in text and "## Slack" not in text
    code, _ = run("alerts", "preview", "--kind", "nope")
    assert code == 2 and "team-retirement-approaching" in capsys.readouterr().err


# ---- 5. alerts send: a test message through the real sender


def test_alerts_send_posts_a_marked_test_message_to_each_channel(
    monkeypatch: pytest.MonkeyPatch,
    slack_webhook: FakeSlackWebhook,
    teams_webhook: FakeTeamsWorkflow,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", teams_webhook.url)
    monkeypatch.setenv("PAYMENTS_SLACK", slack_webhook.url)
    monkeypatch.setenv(
        "ALERT_ROUTES", json.dumps({"payments": {"slack": "PAYMENTS_SLACK", "teams": "TEAMS_WEBHOOK_URL"}})
    )
    code, text = run("alerts", "send", "--route", "payments", "--kind", "team-broken")
    assert code == 0, text
    assert "teams  sent" in text and "slack  sent" in text
    (slack,) = slack_webhook.messages
    assert slack["text"].startswith("modelwatch test message: ")
    (teams,) = teams_webhook.messages
    assert "modelwatch test message: " in json.dumps(teams)
    assert (
        "SECRET" not in text + capsys.readouterr().err
    )  # the fakes' URLs carry slacktokenSECRET, teamssigSECRET


def test_alerts_send_reports_a_refusal_by_channel_never_by_url(
    monkeypatch: pytest.MonkeyPatch, slack_webhook: FakeSlackWebhook, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_webhook.url)
    slack_webhook.script.append((404, "channel_not_found", {}))
    code, text = run("alerts", "send", "--route", "default")
    assert code == 1 and "slack  refused: channel_not_found" in text
    assert "SECRET" not in text + capsys.readouterr().err
    code, _ = run("alerts", "send", "--route", "nobody")
    assert code == 2 and "configured: default" in capsys.readouterr().err
    monkeypatch.delenv("SLACK_WEBHOOK_URL")
    code, _ = run("alerts", "send", "--route", "default")
    assert code == 2 and "has no webhook here" in capsys.readouterr().err


def test_alerts_send_says_a_key_vault_webhook_cannot_be_used_here(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = app_settings(
        tmp_path / "s.json",
        {"SLACK_WEBHOOK_URL": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/slack/)"},
    )
    code, text = run("alerts", "send", "--route", "default", "--app-settings", listing)
    assert code == 2 and "SLACK_WEBHOOK_URL is a Key Vault reference" in text
    assert "not set (or not resolved)" in capsys.readouterr().err


# ---- 6. a past --at


def test_a_past_at_warns_that_it_is_judged_against_todays_catalog(
    tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    run("check", "--at", JAN)
    run("deployments", "--refresh", "--at", JAN)
    capsys.readouterr()
    code, _ = run("plan", "--at", "2025-06-01T00:00:00Z")
    err = capsys.readouterr().err
    assert (
        code == 0
        and "warning: --at 2025-06-01 00:00 UTC is before the last catalog snapshot (2026-01-10" in err
    )
    run("plan", "--at", "2026-04-01T00:00:00Z")
    run("deployments", "--at", JAN)
    assert "before the last catalog snapshot" not in capsys.readouterr().err
    code, text = run("plan", "--at", "2025-06-01T00:00:00Z", "--format", "json")
    assert json.loads(text)["warnings"][0].startswith("--at 2025-06-01")


# ---- the docs print commands that work against the deployed app


def test_operations_doc_commands_name_the_deployed_state() -> None:
    import re

    text = (ROOT / "docs" / "operations.md").read_text()
    commands = re.findall(r"python -m shared (?:rollback|deliver) [^`\n]*", text)
    assert len(commands) >= 5
    for command in commands:
        assert "--app-settings app-settings.json" in command or "--state https://" in command, command
    assert "az functionapp config appsettings list -g <resource group> -n <app> > app-settings.json" in text


def test_readme_has_one_run_it_locally_section_that_activates_the_venv() -> None:
    import re

    text = (ROOT / "README.md").read_text()
    assert re.findall(r"^## Run .*locally.*$", text, re.MULTILINE) == ["## Run it locally as a Function App"]
    section = text[text.index("## Run it locally as a Function App") :]
    assert section.index(". .venv/bin/activate") < section.index("func start")
    assert "make lock" in text and "--require-hashes" in text

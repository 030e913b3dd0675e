"""The command line's az conventions (#26): -o/--output in every format, --query (JMESPath) before output, no
abbreviated options, one --out flag, a deployment addressed by id, --ids or -g/--account/-n alike, one spelling of
each status, warnings that say when an answer is stale or where the state came from, exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from shared.cli.main import main
from shared.cli.parser import build_parser
from tests.fakes.arm_server import FakeArm
from tests.fakes.webhooks import FakeSlackWebhook, FakeTeamsWorkflow
from tests.support.cli_tenant import JAN, SUB, Tenant, setup_tenant


@pytest.fixture
def tenant(arm_server: FakeArm, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Tenant:
    tenant = setup_tenant(arm_server, monkeypatch, tmp_path)
    run("check", "--at", JAN)
    run("deployments", "--refresh", "--at", JAN)
    return tenant


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


NAMES = ["auto", "chat", "legacy", "ptu"]


# ---- output formats and --query


def test_every_format_carries_the_same_document(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run("deployments", "-o", "json", "--at", JAN)
    document = json.loads(text)
    assert code == 0 and isinstance(document, list)  # a list command prints the list, as az does
    assert sorted(d["name"] for d in document) == NAMES
    assert json.loads(run("deployments", "--output", "jsonc", "--at", JAN)[1]) == document  # not a terminal
    assert yaml.safe_load(run("deployments", "-o", "yaml", "--at", JAN)[1]) == document
    assert (
        json.loads(run("deployments", "--format", "json", "--at", JAN)[1]) == document
    )  # the older spelling
    tsv = run("deployments", "-o", "tsv", "--at", JAN)[1].splitlines()
    assert len(tsv) == 4 and all("\t" in line for line in tsv)
    rows = [line.split("\t") for line in tsv]
    assert all(len(row) == len(document[0]) for row in rows)  # az's tsv: every field, no header
    legacy = next(row for row in rows if "legacy" in row)
    assert "NoAutoUpgrade" in legacy and "2024-05-13" in legacy and "eastus" in legacy
    assert run("deployments", "-o", "none", "--at", JAN) == (0, "")
    err = capsys.readouterr().err
    assert (
        err.count("state: sqlite:///.modelwatch/state.db") == 6
    )  # the state line: stderr, never the document


def test_query_applies_before_every_format(tenant: Tenant) -> None:
    code, text = run("deployments", "-o", "tsv", "--query", "[].name", "--at", JAN)
    assert code == 0 and sorted(text.splitlines()) == NAMES
    query = "[?name=='legacy'].{name: name, policy: policy}"
    assert json.loads(run("deployments", "-o", "json", "--query", query, "--at", JAN)[1]) == [
        {"name": "legacy", "policy": "NoAutoUpgrade"}
    ]
    # table with --query: az's automatic table of the result (columns from its keys), not the command's own
    table = run("deployments", "--query", query, "--at", JAN)[1].splitlines()
    assert table[0].split() == ["Name", "Policy"] and table[2].split() == ["legacy", "NoAutoUpgrade"]
    assert run("plan", "-o", "tsv", "--query", "counts.atRisk", "--at", JAN)[1].strip().isdigit()
    code, text = run("plan", "-o", "yaml", "--query", "failOn", "--fail-on", "atRisk", "--at", JAN)
    assert code == 1 and yaml.safe_load(text) == ["atRisk"]


def test_a_bad_query_or_format_is_bad_usage(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("deployments", "--query", "[?name==", "--at", JAN)[0] == 2
    assert "invalid JMESPath" in capsys.readouterr().err
    assert run("plan", "-o", "xml")[0] == 2
    assert run("plan", "--output", "status.html")[0] == 2
    assert "to write a file use --out status.html" in capsys.readouterr().err


def test_json_on_every_command_that_had_none(tenant: Tenant, tmp_path: Path) -> None:
    code, text = run("settings", "-o", "json")
    settings = json.loads(text)  # the app would not start (no Event Grid topic): exit 2, said in the document
    assert code == 2 and not settings["ok"] and any("EVENTGRID" in p for p in settings["problems"])
    by_name = {s["name"]: s for s in settings["settings"]}
    assert by_name["WATCH_LOCATIONS"] == {
        "name": "WATCH_LOCATIONS",
        "set": "eastus",
        "value": "eastus",
        "source": "environment",
    }
    assert by_name["ARM_BEARER_TOKEN"]["set"] == "*** (set)"  # a secret: as set means "set", never its value
    assert by_name["ALERT_MIN_SEVERITY"]["value"] == "info"  # a Severity, shown by its name (not its number)
    samples = json.loads(run("alerts", "preview", "--kind", "team-broken", "-o", "json")[1])
    assert samples[0]["sample"] == "team-broken" and samples[0]["slack"]["blocks"] and samples[0]["teams"]
    assert (
        "# team-broken" in run("alerts", "preview", "--kind", "team-broken")[1]
    )  # the table view for people
    assert "team-broken" in json.loads(run("alerts", "preview", "--kind", "-o", "json")[1])
    events = tmp_path / ".modelwatch" / "events.jsonl"
    lines = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
    code, text = run("deliver", str(events), "-o", "json", "--at", JAN)
    document = json.loads(text)
    assert code == 0 and document["events"] == len(lines) > 0 and document["notProcessed"] == 0
    assert {d["eventId"] for d in document["deliveries"]} == {e["id"] for e in lines}


def test_every_command_takes_the_output_options() -> None:
    parser = build_parser()
    leaves = []

    def walk(p: object, path: tuple[str, ...]) -> None:
        for action in p._actions:  # type: ignore[attr-defined]
            if action.__class__.__name__ == "_SubParsersAction":
                for name, child in action.choices.items():
                    walk(child, (*path, name))
        if p.get_default("handler"):  # type: ignore[attr-defined]
            leaves.append((path, p))

    walk(parser, ())
    assert len(leaves) >= 13
    for path, p in leaves:
        options = p._option_string_actions
        assert {"-o", "--output", "--format", "--query"} <= set(options), path
        assert p.allow_abbrev is False, path


# ---- abbreviations, the file flag


@pytest.mark.parametrize(
    "argv",
    [
        ("plan", "--form", "json"),
        ("plan", "--fail", "broken"),
        ("plan", "--stat", "sqlite:///x.db"),
        ("report", "--ou", "x.html"),
        ("iac", "scan", ".", "--fail", "retired"),
    ],
)
def test_abbreviated_options_are_refused(argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(*argv)[0] == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_out_is_the_one_file_flag_and_the_old_ones_still_work_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    sample = str(Path(__file__).resolve().parents[2] / "shared" / "data" / "iac-sample")
    assert run("iac", "scan", sample, "-o", "sarif", "--out", "a.sarif")[0] in (0, 1)
    assert json.loads((tmp_path / "a.sarif").read_text())["version"] == "2.1.0"
    assert "deprecated" not in capsys.readouterr().err
    assert run("iac", "scan", sample, "--format", "sarif", "--output", "b.sarif")[0] in (0, 1)
    assert (tmp_path / "b.sarif").read_text() == (tmp_path / "a.sarif").read_text()
    assert "use --out b.sarif" in capsys.readouterr().err
    code, _ = run("report", "-o", "yaml", "--out", "status.yaml", "--at", JAN)
    assert code == 0 and yaml.safe_load((tmp_path / "status.yaml").read_text())["at"].startswith("2026-01-10")


# ---- addressing a deployment


def test_every_address_form_names_the_same_deployment(tenant: Tenant) -> None:
    tenant.arm.deployments[tenant.auto.casefold()]["properties"]["model"]["version"] = "2024-11-20"
    run("deployments", "--refresh", "--at", JAN)  # Azure moved it: a rollback has something to undo
    forms = [
        (tenant.auto,),
        ("--ids", tenant.auto),
        ("--subscription", SUB, "-g", "rg", "--account", "contoso", "-n", "auto"),
        ("--resource-group", "RG", "--account", "contoso", "--name", "auto"),  # ARM ignores ASCII case
        ("-n", "auto"),
    ]
    seen = set()
    for form in forms:
        code, text = run("rollback", *form, "--dry-run", "-o", "json", "--at", JAN)
        document = json.loads(text)
        assert code == 0 and document["outcome"] == "dry-run", form
        seen.add(document["deploymentId"])
        assert document["to"] == {"model": "gpt-4o", "version": "2024-08-06"}
    assert seen == {tenant.auto}
    assert tenant.arm.puts() == []


def test_an_address_that_names_none_or_two_is_bad_usage(
    tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("rollback", "--dry-run", "--at", JAN)[0] == 2
    assert "which deployment?" in capsys.readouterr().err
    assert run("rollback", tenant.auto, "-n", "auto", "--dry-run")[0] == 2
    assert run("rollback", tenant.auto, "--ids", tenant.auto, "--dry-run")[0] == 2
    code, _ = run("rollback", "-n", "nope", "--dry-run", "--at", JAN)
    err = capsys.readouterr().err
    assert code == 1 and "refused (unknown-deployment)" in err and "-n nope" in err


def test_a_dry_run_says_what_it_would_do_and_a_done_rollback_says_it_is_done(tenant: Tenant) -> None:
    tenant.arm.deployments[tenant.auto.casefold()]["properties"]["model"]["version"] = "2024-11-20"
    run("deployments", "--refresh", "--at", JAN)
    code, text = run("rollback", "-n", "auto", "--dry-run", "--at", JAN)
    assert code == 0 and "would roll back auto: gpt-4o 2024-11-20 -> gpt-4o 2024-08-06" in text
    assert f"to do it: python -m shared rollback {tenant.auto}" in text
    # the command that does it keeps every option that shapes the rollback
    code, text = run("rollback", "-n", "auto", "--to", "2024-08-06", "--force", "--dry-run", "--at", JAN)
    assert code == 0 and f"to do it: python -m shared rollback {tenant.auto} --to 2024-08-06 --force" in text
    assert run("rollback", "-n", "auto", "--at", JAN)[0] == 0
    for argv in (("--dry-run",), ()):
        code, text = run("rollback", "-n", "auto", *argv, "--at", JAN)
        assert code == 0 and "nothing to do: auto was already rolled back" in text, argv
        assert "from gpt-4o 2024-11-20 to gpt-4o 2024-08-06, and runs gpt-4o 2024-08-06" in text
        assert "->" not in text and "to do it" not in text  # nothing contradicts "nothing to do"
    document = json.loads(run("rollback", "-n", "auto", "--dry-run", "-o", "json", "--at", JAN)[1])
    assert document["outcome"] == "already-done" and document["toDoIt"] is None
    assert document["from"]["version"] == "2024-11-20" and document["to"]["version"] == "2024-08-06"


# ---- one spelling of each status


def test_statuses_are_spelt_one_way_and_fail_on_understands_the_old_one(
    tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(run("plan", "-o", "json", "--at", JAN)[1])
    statuses = {d["status"] for d in document["deployments"]}
    assert "atRisk" in statuses and set(document["counts"]) >= statuses
    assert "atRisk" in run("plan", "--at", JAN)[1]
    code, text = run("plan", "--fail-on", "atRisk", "-o", "json", "--at", JAN)
    failing = json.loads(text)["failing"]
    assert code == 1 and failing and json.loads(text)["failOn"] == ["atRisk"]
    code, text = run("plan", "--fail-on", "at-risk", "-o", "json", "--at", JAN)
    assert code == 1 and json.loads(text)["failing"] == failing and json.loads(text)["failOn"] == ["atRisk"]
    capsys.readouterr()
    assert run("plan", "--fail-on", "risky")[0] == 2
    assert "choose from broken, atRisk" in capsys.readouterr().err


# ---- warnings that are true


def test_a_stale_catalog_is_said_on_stderr_by_every_reading_command(
    tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    later = "2026-01-10T02:30:00Z"  # the snapshot is from JAN; hourly polls: two periods is 2 h
    fresh = "2026-01-10T01:30:00Z"
    for command in (("plan",), ("deployments",), ("report", "-o", "json")):
        capsys.readouterr()
        run(*command, "--at", fresh)
        assert "newest catalog snapshot" not in capsys.readouterr().err, command
        out = run(*command, "--at", later)[1]
        err = capsys.readouterr().err
        assert (
            "warning: the newest catalog snapshot is from 2026-01-10 00:00 UTC, 2 hours before the time judged"
            in err
        ), command
        assert "CATALOG_POLL_PERIOD_MINUTES=60" in err and "python -m shared check" in err
        assert "warning" not in out  # stdout carries the answer only
    document = json.loads(run("plan", "-o", "json", "--at", later)[1])
    assert document["warnings"][0].startswith("the newest catalog snapshot")


def test_the_state_line_names_the_file_that_chose_azurite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("STATE_STORE", "AzureWebJobsStorage"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "local.settings.json").write_text(
        json.dumps({"Values": {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}})
    )
    _, text = run("settings")
    assert text.splitlines()[0].startswith(
        "state: Table Storage at Azurite (UseDevelopmentStorage=true) (local.settings.json sets "
        "AzureWebJobsStorage=UseDevelopmentStorage=true: Azurite, which must be running"
    )
    assert "--state sqlite:///.modelwatch/state.db reads the local file" in text.splitlines()[0]


# ---- messages that fit where they are printed


def test_a_test_message_asks_nothing_of_its_readers_and_its_failure_speaks_of_the_cli(
    monkeypatch: pytest.MonkeyPatch,
    slack_webhook: FakeSlackWebhook,
    teams_webhook: FakeTeamsWorkflow,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from shared.adapters.webhooks import WebhookSender
    from shared.cli.commands.alerts import send_test
    from shared.config import load_settings

    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_webhook.url)
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", teams_webhook.url)
    code, text = run("alerts", "send", "--route", "default", "--kind", "team-broken", "-o", "json")
    assert code == 0 and json.loads(text)["channels"] == [
        {"channel": "teams", "outcome": "sent", "detail": json.loads(text)["channels"][0]["detail"]},
        {"channel": "slack", "outcome": "sent", "detail": "Slack answered ok"},
    ]
    posted = json.dumps(slack_webhook.messages) + json.dumps(teams_webhook.messages)
    assert "Move the callers" not in posted and "this is a test of the alert route" in posted
    assert "rollback" not in json.dumps(slack_webhook.messages)  # no command to run either
    # a failure that outlasts the sender's retries: said for a person at a terminal, not for Event Grid
    slack_webhook.script += [(503, "busy", {})] * 10
    settings = load_settings({"SLACK_WEBHOOK_URL": slack_webhook.url})
    result = send_test(settings, "default", None, sender=WebhookSender(sleep=lambda s: None, max_retries=1))
    (answer,) = result.answers
    assert result.exit_code == 1 and not answer.sent and "send the test again later" in answer.detail
    assert "Event Grid" not in answer.detail + result.lines()


@pytest.mark.azurite
def test_reading_commands_create_no_table(
    azurite_connection_string: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.data.tables import TableServiceClient

    monkeypatch.chdir(tmp_path)
    prefix = "ReadOnly" + tmp_path.name[-6:].replace("_", "").replace("-", "")  # tables of this test only
    state = ("--state", azurite_connection_string, "--state-table-prefix", prefix)
    sample = str(Path(__file__).resolve().parents[2] / "shared" / "data" / "iac-sample")
    for argv in (
        ("plan",),
        ("deployments",),
        ("report", "-o", "json"),
        ("plan", "-o", "tsv"),
        ("iac", "scan", sample),
        ("check", "--dry-run"),  # diffs against an empty state, writes and publishes nothing, creates nothing
    ):
        code, _ = run(*argv, *state)
        assert code == 0, argv
    service = TableServiceClient.from_connection_string(azurite_connection_string)
    assert [t.name for t in service.list_tables() if t.name.startswith(prefix)] == []
    run("check", *state)  # a command that writes creates them, as before
    assert [t.name for t in service.list_tables() if t.name.startswith(prefix)]


def test_iac_fix_gives_its_diffs_as_a_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    monkeypatch.chdir(tmp_path)
    shutil.copytree(Path(__file__).resolve().parents[2] / "shared" / "data" / "iac-sample", "t")
    before = {p: p.read_bytes() for p in Path("t").rglob("*") if p.is_file()}
    code, text = run("iac", "fix", "t", "--dry-run", "-o", "json")
    document = json.loads(text)
    assert code == 0 and document["dryRun"] and document["values"] >= 1
    assert all(f["diff"].startswith("--- ") and f["why"] for f in document["files"])
    assert {p: p.read_bytes() for p in Path("t").rglob("*") if p.is_file()} == before  # a dry run
    assert capsys.readouterr().err.startswith("state: ")  # the people's lines on stderr
    code, text = run("iac", "fix", "t", "--dry-run", "-o", "tsv", "--query", "files[].path")
    assert code == 0 and sorted(text.split()) == sorted(f["path"] for f in document["files"])

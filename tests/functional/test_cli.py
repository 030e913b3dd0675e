"""The command line over the real services: output, exit codes, settings errors, no secrets printed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from shared.cli.main import main

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
JAN, MAR = DATA / "catalog-2025-01-09.json", DATA / "catalog-2025-03-12.json"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test in an empty folder with no modelwatch settings in the environment."""
    for name in (
        "WATCH_SUBSCRIPTION_ID",
        "WATCH_LOCATIONS",
        "STATE_STORE",
        "AzureWebJobsStorage",
        "EVENTGRID_TOPIC_ENDPOINT",
        "EVENTGRID_TOPIC_KEY",
        "ARM_BEARER_TOKEN",
        "ARM_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_check_twice_baseline_then_changes(tmp_path: Path) -> None:
    code, first = run("check", "--catalog-file", str(JAN), "--at", "2025-01-09T00:00:00Z")
    assert code == 0
    assert "baseline" in first and "RetirementScheduled" in first
    code, second = run("check", "--catalog-file", str(MAR), "--at", "2025-03-12T00:00:00Z")
    assert code == 0
    for expected in (
        "VersionReleased",
        "o3-mini 2025-01-31",
        "DefaultVersionChanged",
        "is now the default (was 0301)",
        "VersionRetired",
        "retires 2025-06-30 (later; was 2025-05-20",
    ):
        assert expected in second, expected
    events = [
        json.loads(line) for line in (tmp_path / ".modelwatch" / "events.jsonl").read_text().splitlines()
    ]
    assert {e["eventType"] for e in events} >= {
        "ModelLifecycle.VersionReleased",
        "ModelLifecycle.DefaultVersionChanged",
    }
    code, third = run("check", "--catalog-file", str(MAR), "--at", "2025-03-12T01:00:00Z")
    assert "0 change(s) detected" in third


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    code, out = run("check", "--catalog-file", str(JAN), "--at", "2025-01-09T00:00:00Z", "--dry-run")
    assert code == 0 and "would publish" in out
    assert not (tmp_path / ".modelwatch").exists()


def test_embedded_default_uses_the_bundled_catalog() -> None:
    code, out = run("check", "--dry-run")
    assert code == 0
    assert "bundled sample catalog" in out
    assert "as of 2025-03-12" in out  # the sample's own instant, not the wall clock


def test_at_answers_what_is_due_on_a_date() -> None:
    code, out = run("check", "--catalog-file", str(MAR), "--at", "2025-06-07T00:00:00Z", "--dry-run")
    assert code == 0
    assert "retired: retirement date passed" in out  # gpt-4 0613 retired 2025-06-06


def test_bad_setting_exits_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CATALOG_VANISH_GUARD", "lots")
    code, _ = run("check", "--dry-run")
    assert code == 2
    assert "CATALOG_VANISH_GUARD" in capsys.readouterr().err


def test_local_settings_json_is_honoured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "local.settings.json").write_text(json.dumps({"Values": {"WATCH_LOCATIONS": "Not A Place!"}}))
    code, _ = run("check", "--dry-run")
    assert code == 2
    assert "WATCH_LOCATIONS" in capsys.readouterr().err


def test_bad_usage_exits_2() -> None:
    assert run("check", "--at", "yesterday")[0] == 2
    assert run("frobnicate")[0] == 2


def test_unreadable_catalog_file_exits_1_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, out = run("check", "--catalog-file", str(bad), "--locations", "eastus")
    assert code == 1
    assert "bad.json" in out + capsys.readouterr().err


def app_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the function app needs to start (require_function_app)."""
    monkeypatch.setenv("WATCH_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000001")
    monkeypatch.setenv("WATCH_LOCATIONS", "eastus")
    monkeypatch.setenv("EVENTGRID_TOPIC_ENDPOINT", "https://t.eastus-1.eventgrid.azure.net/api/events")


def test_settings_command_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    app_env(monkeypatch)
    monkeypatch.setenv("EVENTGRID_TOPIC_KEY", "very-secret-key-123")
    monkeypatch.setenv(
        "STATE_STORE", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0a2V5"
    )
    code, out = run("settings")
    assert code == 0
    assert "very-secret-key-123" not in out and "c2VjcmV0a2V5" not in out
    assert "EVENTGRID_TOPIC_KEY" in out and "https://acct.table.core.windows.net" in out


def step(out: str, day: str) -> str:
    """What the demo's step dated ``day`` told, without its title."""
    return out.split(f"=== {day}")[1].split("\n=== ", maxsplit=1)[0].split("\n", 1)[1]


def assert_the_gate_and_protect_story(out: str) -> None:
    """UPGRADE_GATE=canary and CANARY_PROTECT=true in the demo's output, step by step."""
    # the payments team's suite finds gpt-4o
    # 2024-08-06 regressing (its JSON in a markdown fence); modelwatch pins invoice-reader before Azure's move...
    assert (
        "canary   regression     invoice-reader: tested 5/5 -> 3/5 on gpt-4o 2024-08-06, regressed: total, currency"
        in step(out, "2024-10-11")
    )
    assert (
        "protect  pinned         invoice-reader: modelwatch set versionUpgradeOption to NoAutoUpgrade (it was "
        "OnceNewDefaultVersionAvailable) because of the regressions (total, currency)"
        in step(out, "2024-10-11")
    )
    assert "Azure upgraded chat-prod" in step(out, "2025-02-14")
    assert out.count("Azure upgraded invoice-reader") == 1  # pinned meanwhile: only once unpinned, below
    # ...holds its own migration of the provisioned invoice-ptu to that version, and says so...
    assert (
        "UpgradeFailed  invoice-ptu: gpt-4o 2024-05-13 -> gpt-4o 2024-08-06 refused: held by UPGRADE_GATE=canary: "
        "the canary of gpt-4o 2024-08-06 did not pass (regression: 5/5 -> 3/5)" in step(out, "2025-09-05")
    )
    assert "invoice-ptu: upgrading to gpt-4o 2024-08-06" not in out
    # ...and once a later target passes, the pin is lifted and the held upgrade goes ahead (to that target)
    assert (
        "protect  unpinned       invoice-reader: modelwatch put versionUpgradeOption OnceNewDefaultVersionAvailable "
        "back (the canary of gpt-5.1 2025-11-13 passed)." in step(out, "2025-12-16")
    )
    assert "Azure upgraded invoice-reader: gpt-4o 2024-05-13 -> gpt-5.1 2025-11-13" in step(out, "2026-03-10")
    assert "invoice-ptu: gpt-4o 2024-05-13 -> gpt-5.1 2025-11-13 by modelwatch" in step(out, "2026-09-20")
    # chat-prod is not covered: its story (Azure moves it, the team rolls it back) is as it was
    assert "canary   regression     chat-prod" not in out


def test_demo_replays_the_bundled_history(tmp_path: Path) -> None:
    code, out = run("demo", "--out", str(tmp_path / "demo"))
    assert code == 0
    assert out.count("=== ") == 23 and "2024-03 to 2026-10" in out  # 22 dated steps, then the iac scan
    events = [json.loads(line) for line in (tmp_path / "demo" / "events.jsonl").read_text().splitlines()]
    # every event type is exercised by the bundled history
    from shared.domain.events import EventType, LifecycleEvent

    assert {e["eventType"] for e in events} == {t.value for t in EventType}
    # every event reads back as its registered payload, and that payload writes the same event again
    for wire in events:
        event = LifecycleEvent.from_wire(wire)
        payload = event.payload()
        assert payload.to_json() == wire["data"], event.event_type
        assert (
            LifecycleEvent.create(EventType(event.event_type), event.id, event.event_time, payload) == event
        )
    for expected in (
        "Azure upgraded chat-prod",
        "rolled back: chat-prod",
        # the day after 0613's retirement: Azure's rolling upgrade is pending, neither broken nor written; Azure
        # moves it three days after the date
        "fraud-scoring: upgrade pending: Azure upgrades region by region",
        "fraud-scoring: gpt-35-turbo 0613 -> gpt-35-turbo 0125 by azure",
        # a preview on NoAutoUpgrade is force-upgraded all the same
        "voice-agent: preview: Azure force-upgrades it to gpt-4o-realtime-preview 2024-12-17 on 2025-03-26",
        "voice-agent: gpt-4o-realtime-preview 2024-10-01 -> gpt-4o-realtime-preview 2024-12-17 by azure",
        # Batch: never upgraded by Azure; the team migrates side by side
        "nightly-batch: stops working on 2026-03-31 (58 days): Batch deployments are never upgraded by Azure: "
        "deploy gpt-5.1 2025-11-13 beside it",
        "team created nightly-gpt51 (gpt-5.1 2025-11-13, GlobalBatch)",
        "team deleted nightly-batch",
        # GlobalStandard keeps its own date: not the Standard 2026-03-09 start
        "search-global: Azure upgrades it to gpt-5.1 2025-11-13 on 2026-10-01",
        "Azure upgraded search-global: gpt-4o 2024-08-06 -> gpt-5.1 2025-11-13",
        "ptu-ranker: gpt-4 0613 is retired",
        "CatalogAnomaly",
        # 2026: Azure moves deployments to another model, and the ways back
        "Azure upgraded chat-eu: gpt-4o 2024-08-06 -> gpt-5.1 2025-11-13",
        "rolled back side by side: chat-eu stays on gpt-5.1 2025-11-13; new deployment chat-eu-gpt4o",
        "ptu-chat: gpt-4o 2024-08-06 -> gpt-5.1 2025-11-13 by modelwatch",
        "Azure upgraded summarizer: gpt-4o 2024-05-13 -> gpt-5.1 2025-11-13",
        "Azure moves it to gpt-5.1 2025-11-13 from 2026-03-09",
        # a partner model is watched by default: told its catalog date (Learn's 2026-06-13), never an upgrade
        "RetirementScheduled            Llama-3.2-90B-Vision-Instruct 2: retires 2026-06-13",
        "llama-tagger: stops working on 2026-06-13 (73 days): Azure documents no automatic upgrade for Meta models",
        "llama-tagger: Meta Llama-3.2-90B-Vision-Instruct 2 retired on 2026-06-13: calls fail",
    ):
        assert expected in out, expected
    assert "fraud-scoring: gpt-35-turbo 0613 is retired" not in out  # never "broken" inside Azure's window

    assert_the_gate_and_protect_story(out)
    march = out.split("=== 2026-03-10")[1].split("\n=== ")[0].split("\n", 1)[1]  # the step, not its title
    assert (
        "Azure upgraded chat-eu" in march and "search-global" not in march
    )  # Standard from 03-09, Global not
    status = json.loads((tmp_path / "demo" / "status.json").read_text())
    standing = {d["name"]: (d["status"], d["model"], d["version"]) for d in status["deployments"]}
    # the fine-tuned deployment stays calm after its base retires; the Meta one is broken by its own date, and
    # nothing was ever planned or written for it
    assert standing["support-ft"][0] == "atRisk"
    assert standing["llama-tagger"] == ("broken", "Llama-3.2-90B-Vision-Instruct", "2")
    assert not [
        line for line in out.splitlines() if "llama-tagger" in line and ("Upgrade" in line or " -> " in line)
    ]
    assert standing["summarizer"] == ("healthy", "gpt-5.1", "2025-11-13")
    assert standing["ptu-chat"] == ("healthy", "gpt-5.1", "2025-11-13")
    assert standing["invoice-reader"] == standing["invoice-ptu"] == ("healthy", "gpt-5.1", "2025-11-13")
    assert standing["chat-eu-gpt4o"] == (
        "broken",
        "gpt-4o",
        "2024-08-06",
    )  # the sibling (Standard) lived until 2026-03-31
    alerts = tmp_path / "demo" / "alerts"
    assert {p.name for p in alerts.iterdir()} == {"default", "payments", "search"}
    assert any("rolled back" in p.read_text() for p in (alerts / "payments" / "slack").glob("*.json"))
    assert "ptu-ranker" in (tmp_path / "demo" / "status.html").read_text()


def test_alerts_preview_prints_valid_payloads_for_every_kind() -> None:
    code, text = run("alerts", "preview")
    assert code == 0
    assert text.count("## Slack") == text.count("## Teams") >= 14
    code, one = run("alerts", "preview", "--kind", "team-broken", "--channel", "slack")
    assert code == 0 and "## Teams" not in one
    payload = json.loads(one.split("\n", 2)[2])
    assert payload["blocks"][0]["text"]["text"] == "Version retired: gpt-35-turbo 0613"
    assert "Stopped answering (HTTP 410)" in json.dumps(payload)
    assert run("alerts", "preview", "--kind", "nope")[0] == 2


def test_settings_command_masks_webhook_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    app_env(monkeypatch)
    monkeypatch.setenv("STATE_STORE", "https://acct.table.core.windows.net")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/VERYSECRET")
    monkeypatch.setenv(
        "ALERT_ROUTES", json.dumps({"payments": {"teams": "https://x.example/w?sig=SIGSECRET"}})
    )
    code, text = run("settings")
    assert code == 0 and "VERYSECRET" not in text and "SIGSECRET" not in text
    assert "payments (teams, min info)" in text

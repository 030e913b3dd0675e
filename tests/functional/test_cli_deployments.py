"""The deployment commands (deployments, plan, deliver, rollback) over the local ARM stand-in and a SQLite state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.adapters.sqlite.deployments import SqliteDeploymentStore
from tests.fakes.arm_server import FakeArm, Fault
from tests.support.cli_tenant import APR, CATALOG, JAN, SUB, Tenant, run, setup_tenant


@pytest.fixture
def tenant(arm_server: FakeArm, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Tenant:
    return setup_tenant(arm_server, monkeypatch, tmp_path)


def _stores() -> SqliteDeploymentStore:
    """The CLI's default local state (the tenant runs in an empty folder)."""
    return SqliteDeploymentStore(".modelwatch/state.db")


def test_deployments_lists_the_inventory_with_countdowns(tenant: Tenant) -> None:
    assert run("check", "--at", JAN)[0] == 0
    code, text = run("deployments", "--refresh", "--at", JAN)
    assert code == 0, text
    assert "4 deployment(s) in 1 account(s)" in text
    rows = {
        line.split()[0]: line.split()
        for line in text.splitlines()
        if line.startswith(("chat", "ptu", "auto"))
    }
    assert rows["chat"][-2:] == ["2026-03-31", "80"]  # retires, days left
    assert rows["ptu"][5] == "ProvisionedManaged"
    assert rows["auto"][-2:] == ["2026-10-01", "264"]
    # stored: a second listing needs no ARM
    tenant.arm.requests.clear()
    code, again = run("deployments", "--at", JAN)
    assert code == 0 and "chat" in again and tenant.arm.requests == []


def test_plan_answers_what_breaks_on_a_date_and_writes_nothing(tenant: Tenant) -> None:
    run("check", "--at", JAN)
    run("deployments", "--refresh", "--at", JAN)
    code, text = run("plan", "--at", APR)
    assert code == 0
    lines = [
        line for line in text.splitlines() if line.split()[:1] in (["broken"], ["atRisk"], ["upgradePlanned"])
    ]
    first = lines[0].split()
    assert first[0] == "broken" and "legacy" in lines[0]  # worst first
    assert any(line.startswith("broken") and "ptu" in line and "provisioned" in line for line in lines)
    assert any(line.startswith("upgradePlanned") and "chat" in line for line in lines)
    assert "POLICY_MODE=plan" in text
    assert tenant.arm.puts() == []
    code, before = run("plan", "--at", JAN)
    assert "upgradeExpected" in before and "Azure upgrades it to gpt-4o 2024-08-06 on 2026-03-31" in before


def test_deliver_replays_events_through_the_subscriber(
    tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("check", "--at", JAN)
    run("deployments", "--refresh", "--at", JAN)
    tenant.arm.set_catalog(SUB, "eastus", CATALOG)
    run("check", "--at", APR)
    run("check", "--at", APR)
    events = [
        json.loads(line) for line in (tmp_path / ".modelwatch" / "events.jsonl").read_text().splitlines()
    ]
    retired = [e for e in events if e["eventType"] == "ModelLifecycle.VersionRetired"]
    assert retired, [e["eventType"] for e in events]
    body = tmp_path / "deadletter.json"
    # a dead-letter file holds the events with Event Grid's extra fields; one malformed event among them
    body.write_text(
        json.dumps([{**retired[0], "deadLetterReason": "MaxDeliveryAttemptsExceeded"}, {"id": "x"}])
    )
    monkeypatch.setenv("POLICY_MODE", "enforce")
    monkeypatch.setenv("POLICY_ENFORCE_ALL_ACCOUNTS", "true")
    code, text = run("deliver", str(body), "--at", APR)
    assert code == 1  # the malformed one was not processed
    assert "processed" in text and "rejected" in text
    assert tenant.arm.version_of(tenant.chat) == "2024-08-06" and len(tenant.arm.puts()) == 1
    code, text = run("deliver", str(body), "--at", APR)
    assert "duplicate" in text and len(tenant.arm.puts()) == 1
    # JSON lines (the local publisher's file) are accepted too
    code, text = run("deliver", str(tmp_path / ".modelwatch" / "events.jsonl"), "--at", APR)
    assert code == 0, text


def test_rollback_command(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    run("check", "--at", JAN)
    run("deployments", "--refresh", "--at", JAN)
    tenant.arm.deployments[tenant.auto.casefold()]["properties"]["model"]["version"] = "2024-11-20"
    code, text = run("deployments", "--refresh", "--at", JAN)
    assert "1 upgrade(s) by Azure" in text
    code, text = run("rollback", tenant.auto, "--dry-run", "--at", JAN)
    assert code == 0 and "dry run" in text and tenant.arm.puts() == []
    code, text = run("rollback", tenant.auto, "--at", JAN)
    assert code == 0 and "rolled back" in text and "NoAutoUpgrade" in text
    assert "DeploymentRolledBack" in text
    import getpass

    (record, *_) = [r for r in _stores().list_changes(tenant.auto) if r.applied_by == "rollback"]
    assert record.changed_by == f"{getpass.getuser()} (command line)"  # who asked
    assert tenant.arm.version_of(tenant.auto) == "2024-08-06"
    code, _ = run("rollback", tenant.chat, "--at", JAN)
    assert code == 1 and "nothing-to-undo" in capsys.readouterr().err
    code, _ = run("rollback", tenant.chat, "--to", "2023-01-01", "--at", JAN)
    assert code == 1 and "not-a-previous-version" in capsys.readouterr().err  # it never ran 2023-01-01


def test_deployment_commands_with_an_empty_inventory(tenant: Tenant) -> None:
    code, text = run("plan", "--at", JAN)
    assert code == 0 and "No deployments" in text
    code, text = run("deliver", "missing.json")
    assert code == 2


def test_an_account_whose_model_list_fails_is_named_and_the_refresh_still_succeeds(tenant: Tenant) -> None:
    account = tenant.arm.add_account(SUB, "rg", "tuned", "eastus")
    tenant.arm.add_deployment(
        account, "ft", "gpt-4o-mini-2024-07-18.ft-0e208cf33a6a466994aff31a08aba678", "1"
    )
    tenant.arm.faults.append(Fault(404, path_contains="/accounts/tuned/models"))
    run("check", "--at", JAN)
    code, text = run("deployments", "--refresh", "--at", JAN)
    assert code == 0, text
    assert "5 deployment(s) in 2 account(s)" in text and "1 warning(s)" in text
    (warning,) = [line for line in text.splitlines() if line.strip().startswith("warning:")]
    assert account in warning and "404" in warning and "not tracked" in warning


def test_check_asks_the_subscription_running_a_version_before_calling_it_retired(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = "00000000-0000-0000-0000-0000000000c2"
    monkeypatch.setenv("WATCH_SUBSCRIPTION_IDS", f"{SUB},{holder}")
    account = tenant.arm.add_account(holder, "rg", "legacy", "eastus")
    tenant.arm.add_deployment(account, "old", "gpt-4o", "2024-11-20")
    tenant.arm.set_catalog(holder, "eastus", CATALOG)
    run("check", "--at", JAN)
    run("deployments", "--refresh", "--at", JAN)
    tenant.arm.set_catalog(SUB, "eastus", CATALOG[:2])  # the watched subscription stops listing 2024-11-20
    run("check", "--at", "2026-01-10T01:00:00Z")
    code, text = run("check", "--at", "2026-01-10T02:00:00Z", "--format", "json")
    assert code == 0, text
    kinds = [e["eventType"] for e in json.loads(text)["events"]]
    assert kinds == ["ModelLifecycle.VersionNotListed"], kinds
    asked = [
        r.path
        for r in tenant.arm.requests
        if f"/subscriptions/{holder}/" in r.path and "/locations/" in r.path
    ]
    assert len(asked) == 1

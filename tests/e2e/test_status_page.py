"""The status page in a real browser: the CLI writes it from a real state, headless Chromium renders it."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.fakes.arm_server import FakeArm
from tests.functional.test_cli_deployments import APR, JAN, Tenant, run, setup_tenant


def browse(chromium: str, page: Path, profile: Path, *extra: str) -> str:
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--user-data-dir={profile}", *extra, page.as_uri()]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


def screenshot(chromium: str, page: Path, target: Path, profile: Path) -> None:
    browse(chromium, page, profile, f"--screenshot={target}", "--window-size=1400,1300")


@pytest.fixture
def state(arm_server: FakeArm, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Tenant:
    tenant = setup_tenant(arm_server, monkeypatch, tmp_path)
    assert run("check", "--at", JAN)[0] == 0
    assert run("deployments", "--refresh", "--at", JAN)[0] == 0
    tenant.arm.deployments[tenant.auto.casefold()]["properties"]["model"]["version"] = "2024-11-20"
    assert (
        run("deployments", "--refresh", "--at", JAN)[0] == 0
    )  # auto: an upgrade by Azure, a rollback option
    return tenant


@pytest.mark.chromium
def test_status_page_shows_the_key_numbers_in_a_browser(state: Tenant, tmp_path: Path, chromium: str) -> None:
    page = tmp_path / "status.html"
    code, text = run("report", "--out", str(page), "--at", "2026-03-20T00:00:00Z")
    assert code == 0 and "4 deployment(s)" in text
    html = page.read_text()
    assert (
        "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    )  # nothing fetched
    dom = browse(chromium, page, tmp_path / "profile", "--dump-dom")
    tiles = dict(
        (label, int(n))
        for n, label in re.findall(r'<div class="n">(\d+)</div><div class="l">([^<]+)</div>', dom)
    )
    # legacy (NoAutoUpgrade), ptu (provisioned), auto (a default that retires with no newer default yet)
    assert tiles == {"Broken": 0, "At risk": 3, "Upgrade planned": 0, "Azure will upgrade": 1, "Healthy": 0}
    for expected in (
        "legacy",
        "ptu",
        "(provisioned)",
        "2026-03-31",
        "to 2024-08-06 until 2026-10-01",
        "eastus",
    ):
        assert expected in dom, expected
    shot = tmp_path / "status.png"
    screenshot(chromium, page, shot, tmp_path / "profile")
    assert shot.stat().st_size > 20_000


def test_status_json_and_what_breaks_on_a_date(state: Tenant, tmp_path: Path) -> None:
    target = tmp_path / "status.json"
    assert run("report", "--out", str(target), "--format", "json", "--at", APR)[0] == 0
    data = json.loads(target.read_text())
    assert data["counts"]["broken"] == 2  # legacy (NoAutoUpgrade) and ptu (provisioned) after 2026-03-31
    by_name = {d["name"]: d for d in data["deployments"]}
    assert by_name["auto"]["rollback"] == {
        "toModel": "gpt-4o",
        "toVersion": "2024-08-06",
        "availableUntil": "2026-10-01T00:00:00Z",
    }
    assert {u["kind"] for u in data["upcoming"]} >= {"retirement"}
    assert data["locations"][0]["location"] == "eastus" and data["locations"][0]["lastCycleAt"]


def test_status_http_function_serves_html_and_json(
    state: Tenant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, eventgrid_server: object
) -> None:
    import azure.functions as func

    from shared import bootstrap
    from tests.app_functions import functions

    monkeypatch.setenv("STATE_STORE", f"sqlite:///{Path.cwd() / '.modelwatch' / 'state.db'}")
    monkeypatch.setenv("EVENTGRID_TOPIC_ENDPOINT", eventgrid_server.endpoint)  # type: ignore[attr-defined]
    monkeypatch.setenv("HTTP_AUTH", "loopback")  # func start on a laptop: no sign-in, this machine only
    bootstrap.reset_function_services()
    try:
        handler = functions()["status"].get_user_function()
        page = handler(func.HttpRequest("GET", "http://localhost:7071/api/status", body=b""))
        assert (
            page.status_code == 200
            and page.mimetype == "text/html"
            and b"Azure will upgrade" in page.get_body()
        )
        data = handler(
            func.HttpRequest("GET", "http://localhost:7071/api/status", params={"format": "json"}, body=b"")
        )
        assert data.mimetype == "application/json" and len(json.loads(data.get_body())["deployments"]) == 4
    finally:
        bootstrap.reset_function_services()


@pytest.mark.chromium
def test_the_demo_page_shows_the_last_cycle_and_its_events(tmp_path: Path, chromium: str) -> None:
    from shared.demo import run_demo

    run_demo(tmp_path / "demo", io.StringIO())
    dom = browse(chromium, tmp_path / "demo" / "status.html", tmp_path / "profile", "--dump-dom")
    text = re.sub(r"<[^>]+>", " ", dom)
    text = re.sub(r"\s+", " ", text)
    # the timeline's last step, 2026-10-05: gpt-4o's GlobalStandard and provisioned date (2026-10-01) has passed
    assert "Last catalog cycle: 2026-10-05 00:00 UTC , 16 catalog events" in text
    assert (
        "VersionRetired gpt-4o 2024-08-06 retired: status Deprecated: calls return 410 eastus, swedencentral"
        in text
    )
    assert "DeploymentAtRisk chat-eu-gpt4o gpt-4o 2024-08-06 is retired" in text  # the side-by-side sibling
    assert "DeploymentUpgraded summarizer gpt-4o 2024-05-13 -&gt; gpt-5.1 2025-11-13 (by azure)" in text
    shown = re.findall(r"<tr( class=\"last\")?><td class=\"nowrap\">(\d{4}-\d\d-\d\d)", dom)
    assert shown and all(day >= "2026-09-28" for _, day in shown)  # the last 7 days only


def test_status_at_a_past_date_shows_no_later_event(state: Tenant, tmp_path: Path) -> None:
    target = tmp_path / "status.json"
    assert run("report", "--out", str(target), "--format", "json", "--at", JAN)[0] == 0
    assert {e["eventType"] for e in json.loads(target.read_text())["recentEvents"]}.isdisjoint(
        {"ModelLifecycle.DeploymentUpgraded"}
    )  # noticed by the refresh, still in the outbox: the page shows what was published
    assert run("check", "--at", JAN)[0] == 0  # the next cycle's drain publishes it
    assert run("report", "--out", str(target), "--format", "json", "--at", JAN)[0] == 0
    now = json.loads(target.read_text())
    kinds = {e["eventType"] for e in now["recentEvents"]}
    assert "ModelLifecycle.DeploymentUpgraded" in kinds  # the upgrade by Azure that the refresh noticed
    assert now["lastCycleAt"] and now["lastCycleEvents"]
    assert run("report", "--out", str(target), "--format", "json", "--at", "2025-01-01T00:00:00Z")[0] == 0
    assert json.loads(target.read_text())["recentEvents"] == []

"""The status page in a real browser: the CLI writes it from a real state, headless Chromium renders it."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import pytest

from shared.presentation.status_page import CONTENT_SECURITY_POLICY
from tests.fakes.arm_server import FakeArm
from tests.support.cli_tenant import APR, JAN, Tenant, run, setup_tenant


def browse(chromium: str, page: Path, profile: Path, *extra: str) -> str:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *extra,
        page.as_uri(),
    ]
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
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", dom))
    for expected in (
        "legacy",
        "ptu",
        "(provisioned)",
        "2026-03-31",
        "to 2024-08-06 until 2026-10-01",
        "eastus",
    ):
        assert expected in text, expected
    # the last cycle ran on 2026-01-10, more than twice the hourly period before 2026-03-20: the watcher is overdue
    assert '<section class="health bad"><h2>Catalog watcher: act now</h2>' in dom
    assert "No catalog cycle has completed for 69 days</b> (the last at 2026-01-10 00:00 UTC" in dom
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
    from tests.support.app_functions import functions

    monkeypatch.setenv("STATE_STORE", f"sqlite:///{Path.cwd() / '.modelwatch' / 'state.db'}")
    monkeypatch.setenv("EVENTGRID_TOPIC_ENDPOINT", eventgrid_server.endpoint)  # type: ignore[attr-defined]
    monkeypatch.setenv("HTTP_AUTH", "loopback")  # func start on a laptop: no sign-in, this machine only
    bootstrap.reset_function_services()
    try:
        from shared.runtime.web import local_token

        handler = functions()["status"].get_user_function()
        token = {"X-ModelWatch-Token": local_token()}  # printed at start (func start)
        page = handler(func.HttpRequest("GET", "http://localhost:7071/api/status", headers=token, body=b""))
        assert (
            page.status_code == 200
            and page.mimetype == "text/html"
            and b"Azure will upgrade" in page.get_body()
        )
        data = handler(
            func.HttpRequest(
                "GET", "http://localhost:7071/api/status", headers=token, params={"format": "json"}, body=b""
            )
        )
        assert data.mimetype == "application/json" and len(json.loads(data.get_body())["deployments"]) == 4
    finally:
        bootstrap.reset_function_services()


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's status page: the end of its timeline (broken, at-risk and fine-tuned deployments)."""
    from shared.demo.run import run_demo

    output = tmp_path_factory.mktemp("demo")
    run_demo(output, io.StringIO())
    return output / "status.html"


@pytest.mark.chromium
def test_the_demo_page_shows_the_last_cycle_and_its_events(
    demo_page: Path, tmp_path: Path, chromium: str
) -> None:
    dom = browse(chromium, demo_page, tmp_path / "profile", "--dump-dom")
    text = re.sub(r"<[^>]+>", " ", dom)
    text = re.sub(r"\s+", " ", text)
    # the timeline's last step, 2026-10-05: gpt-4o's GlobalStandard and provisioned date (2026-10-01) has passed
    assert "Last catalog cycle: 2026-10-05 00:00 UTC , 16 catalog events" in text
    assert (
        "VersionRetired gpt-4o 2024-08-06 retired: status Deprecated: calls return 410 eastus, swedencentral"
        in text
    )
    # GlobalStandard keeps its own date: moved by Azure at 2026-10-01, not from the Standard start in March
    assert "DeploymentUpgraded search-global gpt-4o 2024-08-06 -&gt; gpt-5.1 2025-11-13 (by azure)" in text
    assert "DeploymentUpgraded summarizer gpt-4o 2024-05-13 -&gt; gpt-5.1 2025-11-13 (by azure)" in text
    shown = re.findall(r"<tr( class=\"last\")?><td class=\"nowrap\">(\d{4}-\d\d-\d\d)", dom)
    assert shown and all(day >= "2026-09-28" for _, day in shown)  # the last 7 days only
    assert "Catalog watcher healthy : last cycle 2026-10-05 00:00 UTC" in text
    # gpt-4.1-mini 2025-04-14 retires on 14 Oct in both regions: one label
    assert "gpt-4.1-mini 2025-04-14 · eastus, swedencentral · 2 dep. · 14 Oct" in text


@pytest.mark.chromium
@pytest.mark.parametrize("width", [1400, 700])
def test_no_identifier_breaks_inside_under_the_pages_csp(
    demo_page: Path, width: int, tmp_path: Path, chromium: str
) -> None:
    """Served with its Content-Security-Policy, the stylesheet applies (its hash matches), every identifier sits on
    one line, and a table too narrow for its identifiers scrolls sideways instead."""
    from playwright.sync_api import Route, sync_playwright

    html = demo_page.read_text(encoding="utf-8")
    refused: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)

        def serve(route: Route) -> None:
            route.fulfill(
                status=200,
                content_type="text/html; charset=utf-8",
                body=html,
                headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
            )

        page.route("http://status.test/**", serve)
        page.goto("http://status.test/api/status")
        found = page.evaluate(
            """() => {
            const ids = [...document.querySelectorAll('.id')];
            return {
                count: ids.length,
                nowrap: ids.every(e => getComputedStyle(e).whiteSpace === 'nowrap'),
                broken: ids.filter(e => e.getClientRects().length > 1).map(e => e.textContent),
                scrolls: [...document.querySelectorAll('.scroll')].some(e => e.scrollWidth > e.clientWidth),
            };
        }"""
        )
        page.screenshot(path=str(tmp_path / f"status-{width}.png"), full_page=True)
        browser.close()
    assert refused == []
    assert found["count"] > 50 and found["nowrap"] and found["broken"] == []
    assert found["scrolls"] is (width < 1000)  # the deployments table fits a wide screen


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

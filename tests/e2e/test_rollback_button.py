"""The status page's "Roll back" button, clicked in headless Chromium (Playwright, Debian's chromium).

The functions are served over real HTTP by a small stand-in for the Functions host and App Service
Authentication: each request is handed to function_app's own functions, with the ``X-MS-CLIENT-PRINCIPAL``
header Easy Auth adds for the signed-in user. The browser sends what browsers send (Origin, the form body).
"""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import azure.functions as func
import pytest

from tests.builders import client_principal
from tests.fakes.arm_server import FakeArm
from tests.fakes.eventgrid_server import FakeEventGridTopic
from tests.fakes.serving import serving_thread
from tests.support.app_functions import functions
from tests.support.function_host import Site, serve_site

OPERATOR = client_principal("oncall@contoso.example", "ModelWatch.Operator")


class EasyAuthHost:
    """HTTP on loopback -> function_app's functions, as the Functions host behind App Service Authentication."""

    def __init__(self, principal: str) -> None:
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                host.forward(self, "GET")

            def do_POST(self) -> None:
                host.forward(self, "POST")

        self.principal = principal
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = serving_thread(self.server)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def forward(self, h: BaseHTTPRequestHandler, method: str) -> None:
        from urllib.parse import parse_qsl, urlsplit

        parts = urlsplit(h.path)
        name = {"/api/status": "status", "/api/rollback": "rollback_deployment"}.get(parts.path)
        if name is None:
            h.send_response(404)
            h.end_headers()
            return
        length = int(h.headers.get("Content-Length") or 0)
        headers = {
            k: v for k, v in h.headers.items() if not k.lower().startswith("x-ms-")
        }  # Easy Auth strips
        headers["X-MS-CLIENT-PRINCIPAL"] = self.principal  # ... and adds the signed-in caller
        req = func.HttpRequest(
            method,
            f"{self.url}{h.path}",
            headers=headers,
            params=dict(parse_qsl(parts.query)),
            body=h.rfile.read(length) if length else b"",
        )
        response = functions()[name].get_user_function()(req)
        body = response.get_body()
        h.send_response(response.status_code)
        h.send_header("Content-Type", f"{response.mimetype}; charset=utf-8")
        for k, v in response.headers.items():
            if k.lower() != "content-type":
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)


@pytest.fixture
def site(
    arm_server: FakeArm, eventgrid_server: FakeEventGridTopic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Site]:
    yield from serve_site(arm_server, eventgrid_server, monkeypatch, tmp_path)


@pytest.fixture
def easy_auth(site: Site) -> Iterator[EasyAuthHost]:
    host = EasyAuthHost(OPERATOR)
    host.thread.start()
    yield host
    host.server.shutdown()
    host.server.server_close()


@pytest.mark.chromium
def test_an_operator_rolls_back_from_the_status_page_in_a_browser(  # noqa: PLR0917 - fixtures
    site: Site,
    easy_auth: EasyAuthHost,
    tmp_path: Path,
    arm_server: FakeArm,
    eventgrid_server: FakeEventGridTopic,
    chromium: str,
) -> None:
    from playwright.sync_api import sync_playwright

    seen_policies: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        page.on("response", lambda r: seen_policies.append(r.headers.get("content-security-policy", "")))
        page.goto(f"{easy_auth.url}/api/status")
        page.click("text=Roll back…")
        page.wait_for_selector("text=Confirm rollback")
        assert "gpt-4o 2024-08-06" in page.inner_text("main")
        assert arm_server.puts() == []  # the confirmation step writes nothing
        page.screenshot(path=str(tmp_path / "confirm.png"), full_page=True)
        page.click("button.confirm")
        page.wait_for_selector("text=Rolled back")
        text = page.inner_text("main")
        browser.close()
    assert "NoAutoUpgrade" in text
    assert arm_server.version_of(site.auto) == "2024-08-06" and len(arm_server.puts()) == 1
    (record,) = site.records()
    assert record.changed_by == "oncall@contoso.example (Entra ID)"
    assert seen_policies and all("default-src 'none'" in policy for policy in seen_policies)
    # the browser sent its Origin with the form, and the rollback event names the caller
    rolled = [e for e in eventgrid_server.events if e["eventType"] == "ModelLifecycle.DeploymentRolledBack"]
    assert rolled and rolled[-1]["data"]["changedBy"] == "oncall@contoso.example (Entra ID)"

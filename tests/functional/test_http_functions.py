"""The status and rollback HTTP functions behind sign-in: app roles from App Service Authentication's header,
Easy Auth required, loopback mode for local runs, no-store and a strict CSP, and the status page's rollback
form (confirmation step, same-origin and token checks, the caller recorded). Invoked as the host would."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import quote

import azure.functions as func
import pytest

from shared import bootstrap
from shared.domain.auth import Caller, check_form_token, form_token, parse_client_principal
from shared.runtime.web import local_token
from tests.builders import client_principal
from tests.fakes.arm_server import FakeArm, Fault
from tests.fakes.eventgrid_server import FakeEventGridTopic
from tests.support.app_functions import functions
from tests.support.function_host import APP, Site, serve_site

READER = client_principal("reader@contoso.example", "ModelWatch.Reader")
OPERATOR = client_principal("oncall@contoso.example", "ModelWatch.Operator")
NOBODY = client_principal("guest@contoso.example")


@pytest.fixture
def site(
    arm_server: FakeArm, eventgrid_server: FakeEventGridTopic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Site]:
    yield from serve_site(arm_server, eventgrid_server, monkeypatch, tmp_path)


def test_the_status_page_needs_a_signed_in_reader(site: Site) -> None:
    assert site.get("status", None).status_code == 401
    assert site.get("status", NOBODY).status_code == 403
    page = site.get("status", READER)
    assert page.status_code == 200 and b"Azure OpenAI model lifecycle" in page.get_body()
    assert b"Roll back" not in page.get_body()  # a reader sees the way back, not the button
    data = site.get("status", READER, {"format": "json"})
    assert data.status_code == 200 and json.loads(data.get_body())["deployments"]
    assert data.headers["Cache-Control"] == "no-store"


def test_pages_forbid_caching_scripts_framing_and_sniffing(site: Site) -> None:
    page = site.get("status", OPERATOR)
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
    assert "form-action 'self'" in csp and "'unsafe-inline'" not in csp
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Content-Type-Options"] == "nosniff"
    body = page.get_body().decode()
    assert ' style="' not in body and "<script" not in body  # the policy allows the one stylesheet only
    (style,) = re.findall(r"<style>(.*?)</style>", body, re.S)
    digest = base64.b64encode(__import__("hashlib").sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp


def test_without_easy_auth_a_forged_header_is_refused(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "")
    bootstrap.reset_function_services()
    refused = site.get("status", OPERATOR)
    assert refused.status_code == 503 and b"App Service Authentication is not on" in refused.get_body()


def test_loopback_mode_answers_this_machine_only(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_AUTH", "loopback")
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "")
    bootstrap.reset_function_services()
    token = {"X-ModelWatch-Token": local_token()}
    assert site.get("status", None, url="http://localhost:7071", headers=token).status_code == 200
    assert site.get("status", None, url="http://127.0.0.1:7071", headers=token).status_code == 200
    assert site.get("status", None, url="http://192.168.1.20:7071", headers=token).status_code == 403
    assert site.get("status", None, url=APP, headers=token).status_code == 403
    # and never in App Service
    monkeypatch.setenv("WEBSITE_SITE_NAME", "modelwatch-test")
    bootstrap.reset_function_services()
    assert site.get("status", None, url="http://localhost:7071").status_code == 500


def test_json_rollback_needs_an_operator_and_records_who(site: Site) -> None:
    body = json.dumps({"deploymentId": site.auto}).encode()

    def post(principal: str) -> func.HttpResponse:
        headers = {"Content-Type": "application/json", "X-MS-CLIENT-PRINCIPAL": principal}
        req = func.HttpRequest("POST", f"{APP}/api/rollback", headers=headers, body=body)
        return functions()["rollback_deployment"].get_user_function()(req)

    assert post(READER).status_code == 403 and site.arm.puts() == []
    done = post(OPERATOR)
    assert (
        done.status_code == 200
        and json.loads(done.get_body())["requestedBy"] == "oncall@contoso.example (Entra ID)"
    )
    (record,) = site.records()
    assert record.changed_by == "oncall@contoso.example (Entra ID)"


def test_in_plan_mode_an_operators_rollback_writes_once_or_names_the_cli_when_the_app_may_not_write(
    site: Site,
) -> None:
    """POLICY_MODE is plan here (the default): modelwatch writes nothing on its own, but an operator's explicit
    rollback does what it says, once. Where the app's identity has no writer role (plan-mode installations), the
    answer says so and gives the CLI command, instead of relaying ARM's 403."""
    body = json.dumps({"deploymentId": site.auto}).encode()

    def post() -> func.HttpResponse:
        headers = {"Content-Type": "application/json", "X-MS-CLIENT-PRINCIPAL": OPERATOR}
        req = func.HttpRequest("POST", f"{APP}/api/rollback", headers=headers, body=body)
        return functions()["rollback_deployment"].get_user_function()(req)

    denied = json.dumps(
        {
            "error": {
                "code": "AuthorizationFailed",
                "message": "The client does not have authorization to perform action "
                "'Microsoft.CognitiveServices/accounts/deployments/write'",
            }
        }
    )
    site.arm.faults.append(Fault(status=403, method="PUT", body=denied))
    refused = post()
    answer = json.loads(refused.get_body())
    assert refused.status_code == 409 and answer["reason"] == "app-cannot-write"
    assert answer["command"].startswith(f"python -m shared rollback {site.auto}")
    assert "AuthorizationFailed" not in answer["error"] and site.records() == []
    done, again = post(), post()
    assert done.status_code == 200 and json.loads(done.get_body())["outcome"] == "rolledBack"
    assert json.loads(again.get_body())["outcome"] == "alreadyDone"
    assert len([p for p in site.arm.puts() if p.body is not None]) == 2  # the refused one, then the one write


def _form_of(page: func.HttpResponse) -> dict[str, str]:
    html = page.get_body().decode()
    form = re.search(r'<form method="post" action="rollback">(.*?)</form>', html, re.S)
    assert form, html
    return {
        name: unescape(value)
        for name, value in re.findall(
            r'<input type="(?:hidden|text)" name="(\w+)"[^>]*?value="([^"]*)"', form.group(1)
        )
    }


def test_the_status_page_rolls_back_through_a_confirmation_step(site: Site) -> None:
    page = site.get("status", OPERATOR).get_body().decode()
    link = f"rollback?deploymentId={quote(site.auto, safe='')}"
    assert f'href="{link}"' in page  # an operator gets the button
    confirm = site.get("rollback", OPERATOR, {"deploymentId": site.auto})
    text = confirm.get_body().decode()
    assert confirm.status_code == 200 and "Confirm rollback" in text and "gpt-4o 2024-08-06" in text
    assert site.arm.puts() == []  # the confirmation writes nothing
    fields = _form_of(confirm)
    # a post from another site, or without the token, or with another caller's token, is refused
    assert site.post_form(fields, OPERATOR, origin="https://evil.example").status_code == 403
    assert site.post_form({**fields, "token": "1.x"}, OPERATOR).status_code == 403
    other = client_principal("someone-else@contoso.example", "ModelWatch.Operator")
    assert site.post_form(fields, other).status_code == 403
    assert site.post_form(fields, READER).status_code == 403
    assert site.arm.puts() == []
    done = site.post_form(fields, OPERATOR)
    assert done.status_code == 200 and b"Rolled back" in done.get_body()
    assert site.arm.version_of(site.auto) == "2024-08-06" and len(site.arm.puts()) == 1
    (record,) = site.records()
    assert record.changed_by == "oncall@contoso.example (Entra ID)"


def test_form_tokens_are_bound_to_the_caller_the_deployment_and_time() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 1, 1, tzinfo=UTC)
    alice = Caller("alice (Entra ID)", frozenset({"ModelWatch.Operator"}))
    token = form_token(b"k", alice, "/subscriptions/s/x", now)
    assert check_form_token(b"k", token, alice, "/SUBSCRIPTIONS/s/X", now) is None  # ids compare as ARM does
    assert "not issued to you" in (
        check_form_token(b"k", token, Caller("bob", alice.roles), "/subscriptions/s/x", now) or ""
    )
    assert "not issued to you" in (check_form_token(b"other", token, alice, "/subscriptions/s/x", now) or "")
    assert "expired" in (
        check_form_token(b"k", token, alice, "/subscriptions/s/x", now + timedelta(hours=1)) or ""
    )
    assert "malformed" in (check_form_token(b"k", "", alice, "/subscriptions/s/x", now) or "")


def test_client_principal_parsing() -> None:
    caller = parse_client_principal(OPERATOR)
    assert (
        caller.name == "oncall@contoso.example (Entra ID)"
        and caller.is_operator
        and caller.can("ModelWatch.Reader")
    )
    reader = parse_client_principal(READER)
    assert not reader.is_operator
    app = base64.b64encode(
        json.dumps(
            {
                "claims": [
                    {"typ": "appid", "val": "11111111-aaaa"},
                    {"typ": "roles", "val": "ModelWatch.Operator"},
                ]
            }
        ).encode()
    ).decode()  # an automation's token (client credentials): its app id names it
    assert parse_client_principal(app).name == "11111111-aaaa (Entra ID)"
    from shared.domain.auth import AuthDeniedError

    for bad in (
        "not base64!",
        base64.b64encode(b"[]").decode(),
        base64.b64encode(b'{"claims": []}').decode(),
    ):
        with pytest.raises(AuthDeniedError) as info:
            parse_client_principal(bad)
        assert info.value.status == 401


JSON = {"Content-Type": "application/json"}


def test_the_json_rollback_refuses_what_another_site_can_send(site: Site) -> None:
    """A cross-site page can post text/plain or nothing (a no-cors fetch, sendBeacon) without a preflight, and a
    browser says where a request comes from: each is refused before anything is written."""
    body = json.dumps({"deploymentId": site.auto}).encode()
    operator = {"X-MS-CLIENT-PRINCIPAL": OPERATOR}
    refused = {
        "no Content-Type (sendBeacon, no-cors)": (operator, 415),
        "text/plain": ({**operator, "Content-Type": "text/plain;charset=UTF-8"}, 415),
        "Sec-Fetch-Site: cross-site": ({**operator, **JSON, "Sec-Fetch-Site": "cross-site"}, 403),
        "Sec-Fetch-Site: same-site": ({**operator, **JSON, "Sec-Fetch-Site": "same-site"}, 403),
        "another Origin": ({**operator, **JSON, "Origin": "https://evil.example"}, 403),
        "Origin null": ({**operator, **JSON, "Origin": "null"}, 403),
        "a look-alike Origin": ({**operator, **JSON, "Origin": f"{APP}.evil.example"}, 403),
    }
    for name, (headers, status) in refused.items():
        answer = site.post_json(body, headers)
        assert answer.status_code == status, name
    assert site.arm.puts() == []
    same = site.post_json(body, {**operator, **JSON, "Origin": APP, "Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200 and len(site.arm.puts()) == 1


def test_malformed_and_deeply_nested_bodies_get_400(site: Site) -> None:
    operator = {"X-MS-CLIENT-PRINCIPAL": OPERATOR, **JSON}
    for body in (b"{", b"\xff\xfe", b"[" * 100_000, b'{"a":' * 5_000 + b"1" + b"}" * 5_000, b'"x"'):
        answer = site.post_json(body, operator)
        assert answer.status_code == 400, body[:10]
        assert "error" in json.loads(answer.get_body())
    assert site.arm.puts() == []


def test_loopback_mode_needs_this_runs_token_not_a_host_header(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Core Tools listens on every interface: a LAN peer sending Host: localhost reaches the function with a
    loopback URL. Without the token printed at start it gets nothing, with no cookie or with a wrong one."""
    monkeypatch.setenv("HTTP_AUTH", "loopback")
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "")
    bootstrap.reset_function_services()
    local = "http://localhost:7071"
    body = json.dumps({"deploymentId": site.auto}).encode()
    assert site.get("status", None, url=local).status_code == 401
    assert site.get("status", None, url=local, headers={"X-ModelWatch-Token": "guess"}).status_code == 401
    assert (
        site.get("status", None, url=local, headers={"Cookie": "modelwatch_local=guess"}).status_code == 401
    )
    assert site.post_json(body, JSON, url=local).status_code == 401
    assert site.post_json(body, {**JSON, "Cookie": "modelwatch_local="}, url=local).status_code == 401
    assert site.arm.puts() == []
    # the printed link: the page, and a SameSite=Strict cookie that carries the token from then on
    page = site.get("status", None, {"token": local_token()}, url=local)
    cookie = page.headers["Set-Cookie"]
    assert page.status_code == 200 and "SameSite=Strict" in cookie and "HttpOnly" in cookie
    assert site.get("status", None, url=local, headers={"Cookie": cookie.split(";")[0]}).status_code == 200
    done = site.post_json(body, {**JSON, "X-ModelWatch-Token": local_token()}, url=local)
    assert done.status_code == 200 and len(site.arm.puts()) == 1


def test_the_token_is_printed_at_start_in_loopback_mode_only(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from shared.runtime.web import announce_local_token

    monkeypatch.setenv("HTTP_AUTH", "loopback")
    with caplog.at_level("WARNING", logger="modelwatch"):
        announce_local_token()
    assert f"/api/status?token={local_token()}" in caplog.text
    caplog.clear()
    monkeypatch.setenv("HTTP_AUTH", "entra")
    with caplog.at_level("WARNING", logger="modelwatch"):
        announce_local_token()
    assert local_token() not in caplog.text

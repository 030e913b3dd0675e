"""The HTTP functions' logic: the status page and rollback, behind sign-in (see shared/domain/auth.py).

function_app.py turns the host's request into a ``WebRequest`` and back; everything here is plain Python, so
the same code runs under the Functions host, under the test suite's local server, and in the CLI's tests.

- ``GET /api/status`` (ModelWatch.Reader): the page, or ``?format=json``; operators also see "Roll back…".
- ``GET /api/rollback?deploymentId=…`` (ModelWatch.Operator): the confirmation step; writes nothing.
- ``POST /api/rollback``: JSON (automation, a bearer token through Easy Auth) or the confirmation form (a
  browser: same origin, and a token bound to the caller and the deployment). Who asked is recorded. The JSON
  form needs ``Content-Type: application/json`` (a cross-site ``no-cors`` fetch or ``sendBeacon`` cannot send it
  without a preflight) and is refused when the browser says it is cross-site (``Sec-Fetch-Site``) or its
  ``Origin`` is not this app's.
- ``HTTP_AUTH=loopback``: every request also needs this run's local token (shared/domain/auth.py), printed at
  start (``announce_local_token``).
Every answer says ``Cache-Control: no-store``; pages carry a strict Content-Security-Policy (their own stylesheet,
no script) and ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qs

from shared.domain.auth import (
    LOCAL_TOKEN_COOKIE,
    OPERATOR_ROLE,
    READER_ROLE,
    AuthDeniedError,
    Caller,
    HttpAuth,
    authorize,
    check_form_token,
    form_token,
    origin_matches,
    same_origin,
)
from shared.runtime.entrypoints import rollback_request

log = logging.getLogger("modelwatch")

# same-origin, not no-referrer: with no-referrer a browser posts the confirmation form with "Origin: null"
_COMMON = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


class HttpRequestLike(Protocol):
    """What the HTTP trigger hands over (azure.functions.HttpRequest), without importing it."""

    @property
    def method(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def params(self) -> Mapping[str, str]: ...
    def get_body(self) -> bytes: ...


@dataclass(frozen=True)
class WebRequest:
    method: str
    url: str
    headers: Mapping[str, str]  # lower-case names
    params: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def of(cls, req: HttpRequestLike) -> WebRequest:
        return cls(
            method=req.method.upper(),
            url=req.url,
            headers={k.lower(): v for k, v in req.headers.items()},
            params=dict(req.params),
            body=req.get_body() or b"",
        )


@dataclass(frozen=True)
class WebResponse:
    status: int
    body: str
    mimetype: str
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, payload: Mapping[str, Any]) -> WebResponse:
    return WebResponse(status, json.dumps(payload), "application/json", dict(_COMMON))


def _html(status: int, page: str) -> WebResponse:
    from shared.presentation.status_page import CONTENT_SECURITY_POLICY

    headers = {**_COMMON, "Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Frame-Options": "DENY"}
    return WebResponse(status, page, "text/html", headers)


_process_key = secrets.token_bytes(32)  # local runs: the same process serves the form and its post
# HTTP_AUTH=loopback: this run's token (func start runs one worker process). Per process, never stored.
_local_token = secrets.token_urlsafe(32)
_SAFE_FETCH_SITES = frozenset({"same-origin", "none"})  # "none": typed in the address bar, a bookmark


def local_token() -> str:
    """This run's local token (HTTP_AUTH=loopback)."""
    return _local_token


def announce_local_token(port: str = "7071") -> None:
    """At start (function_app.py): with HTTP_AUTH=loopback, print the status page's link with this run's token.
    The settings are read (not kept) here; a settings problem is left to the first invocation to report."""
    import os

    from shared.config import load_settings
    from shared.errors import SettingsError

    try:
        settings = load_settings(os.environ)
    except SettingsError:
        return
    if settings.http_auth == HttpAuth.LOOPBACK:
        # printed on purpose, like a notebook server's token: only this machine's console sees it (App Service
        # refuses HTTP_AUTH=loopback), and a new run makes a new one
        log.warning(
            "HTTP_AUTH=loopback: open http://localhost:%s/api/status?token=%s (or send X-ModelWatch-Token)",
            port,
            _local_token,
        )


def _form_key() -> bytes:
    """App Service's signing key (shared by every instance) when Easy Auth is on; else this process's key."""
    from shared.bootstrap import function_services

    configured = function_services().settings.website_auth_signing_key
    return configured.reveal().encode() if configured is not None else _process_key


def _caller(request: WebRequest, role: str) -> Caller:
    from shared.bootstrap import function_services
    from shared.errors import SettingsError

    try:
        settings = function_services().settings
    except SettingsError as exc:  # named in the log, not to an unauthenticated caller
        log.error("http: the settings are invalid: %s", exc)
        raise AuthDeniedError(
            500, "modelwatch's settings are invalid: the function's log names each problem"
        ) from exc
    return authorize(
        settings.http_auth,
        request.headers,
        request.url,
        role,
        easy_auth_enabled=settings.website_auth_enabled,
        local_token=_local_token,
        # the link printed at start opens the status page with ?token=: a GET only, then the cookie carries it
        presented=request.params.get("token") if request.method == "GET" else None,
    )


def _with_local_cookie(request: WebRequest, response: WebResponse) -> WebResponse:
    """The status page opened with this run's token keeps it in a cookie the browser sends to this app only
    (SameSite=Strict: never on a request another site starts), so its links and forms need no token."""
    if request.method == "GET" and request.params.get("token") == _local_token:
        response.headers["Set-Cookie"] = (
            f"{LOCAL_TOKEN_COOKIE}={_local_token}; Path=/api; HttpOnly; SameSite=Strict"
        )
    return response


def _cross_site(request: WebRequest) -> str | None:
    """Why a JSON rollback looks sent by another site's page (None: it does not). Automation sends neither header."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site.strip().lower() not in _SAFE_FETCH_SITES:
        return f"a rollback cannot be sent from another site (Sec-Fetch-Site: {site.strip()[:20]})"
    origin = request.headers.get("origin")
    if origin is not None and not origin_matches(origin, request.url):
        return "a rollback cannot be sent from another site (its Origin is not this app)"
    return None


def _denied(request: WebRequest, exc: AuthDeniedError, *, html: bool) -> WebResponse:
    log.warning("http: %s %s refused (%d): %s", request.method, request.url.split("?")[0], exc.status, exc)
    if html:
        from shared.presentation.status_page import render_rollback_outcome

        return _html(exc.status, render_rollback_outcome("Not allowed", str(exc), ok=False))
    return _json(exc.status, {"error": str(exc)})


def status_http(request: WebRequest, now: datetime | None = None) -> WebResponse:
    """GET /api/status: the page (operators get rollback buttons), or ``?format=json``."""
    from shared.bootstrap import function_services
    from shared.presentation.status_page import render_status_page

    wants_json = (request.params.get("format") or "").lower() == "json"
    try:
        caller = _caller(request, READER_ROLE)
    except AuthDeniedError as exc:
        return _denied(request, exc, html=not wants_json)
    services = function_services()
    report = services.status(now or services.clock())
    if wants_json:
        return _with_local_cookie(request, _json(200, report.to_json()))
    return _with_local_cookie(
        request, _html(200, render_status_page(report, rollback_links=caller.is_operator))
    )


def rollback_http(request: WebRequest, now: datetime | None = None) -> WebResponse:
    """GET: the confirmation page. POST: JSON (automation) or the confirmation form (a browser)."""
    if request.method == "GET":
        return _confirmation(request, now)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        return _form_post(request, now)
    # text/plain, or no type at all, is what a cross-site no-cors fetch or sendBeacon sends without a preflight
    if content_type != "application/json":
        return _json(415, {"error": "send JSON (Content-Type: application/json)"})
    if problem := _cross_site(request):
        return _denied(request, AuthDeniedError(403, problem), html=False)
    try:
        caller = _caller(request, OPERATOR_ROLE)
    except AuthDeniedError as exc:
        return _denied(request, exc, html=False)
    status, body = rollback_request(request.body, now, requested_by=caller.name)
    return _json(status, body)


def _confirmation(request: WebRequest, now: datetime | None) -> WebResponse:
    from shared.bootstrap import function_services
    from shared.presentation.status_page import render_rollback_confirmation, render_rollback_outcome
    from shared.services.rollback import RollbackRefusedError

    try:
        caller = _caller(request, OPERATOR_ROLE)
    except AuthDeniedError as exc:
        return _denied(request, exc, html=True)
    deployment_id = request.params.get("deploymentId") or ""
    as_new = (request.params.get("asNew") or "").strip() or None
    if not deployment_id.startswith("/subscriptions/"):
        return _html(
            400, render_rollback_outcome("Nothing to roll back", "No deployment was named.", ok=False)
        )
    services = function_services()
    at = now or services.clock()
    force_reason = None
    needs_new_name = False
    try:
        try:
            plan = services.rollback.plan(deployment_id, at, as_new=as_new)
        except RollbackRefusedError as exc:
            if exc.reason == "needs-force":
                force_reason = str(exc).split(": pass --force")[0]
                plan = services.rollback.plan(deployment_id, at, as_new=as_new, force=True)
            elif exc.reason == "model-name-change":
                needs_new_name = True
                d = services.rollback.find(deployment_id)
                plan = services.rollback.plan(deployment_id, at, as_new=f"{d.name}-previous"[:64])
            else:
                raise
    except RollbackRefusedError as exc:
        return _html(
            409, render_rollback_outcome("This rollback is refused", f"{exc} ({exc.reason})", ok=False)
        )
    d = plan.deployment
    facts = [
        ("Deployment", f"{d.name} ({d.account_id.rsplit('/', 1)[-1]}, {d.location})"),
        ("Runs now", f"{d.model_name} {d.model_version} ({d.sku_name}, {d.policy})"),
        ("Goes back to", f"{plan.model} {plan.target_version}"),
        ("Until", f"{plan.available_until:%Y-%m-%d}" if plan.available_until else "no retirement date known"),
        ("Asked by", caller.name),
    ]
    page = render_rollback_confirmation(
        deployment_id=d.resource_id,
        facts=facts,
        what=plan.describe(),
        token=form_token(_form_key(), caller, d.resource_id, at),
        as_new=as_new,
        needs_new_name=needs_new_name,
        suggested_name=f"{d.name}-previous"[:64],
        force_reason=force_reason,
    )
    return _html(200, page)


def _form_post(request: WebRequest, now: datetime | None) -> WebResponse:
    from shared.bootstrap import function_services
    from shared.presentation.status_page import render_rollback_outcome

    try:
        caller = _caller(request, OPERATOR_ROLE)
    except AuthDeniedError as exc:
        return _denied(request, exc, html=True)
    if not same_origin(request.headers, request.url):
        return _denied(
            request, AuthDeniedError(403, "a rollback form must be sent from this app's own page"), html=True
        )
    fields = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
    deployment_id = fields.get("deploymentId", "")
    services = function_services()
    at = now or services.clock()
    if problem := check_form_token(_form_key(), fields.get("token", ""), caller, deployment_id, at):
        return _denied(request, AuthDeniedError(403, problem), html=True)
    body = {"deploymentId": deployment_id, "force": fields.get("force") == "true"}
    if fields.get("asNew", "").strip():
        body["asNew"] = fields["asNew"].strip()
    status, answer = rollback_request(json.dumps(body).encode(), at, requested_by=caller.name)
    if status == 200:
        return _html(200, render_rollback_outcome("Rolled back", str(answer.get("message", "")), ok=True))
    reason = f" ({answer['reason']})" if answer.get("reason") else ""
    return _html(
        status,
        render_rollback_outcome("The rollback did not happen", f"{answer.get('error')}{reason}", ok=False),
    )

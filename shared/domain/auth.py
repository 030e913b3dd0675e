"""Who may call the HTTP functions (the status page and rollback), decided from what App Service gives the app.

In Azure, App Service Authentication (Easy Auth) with Microsoft Entra ID signs the caller in before the request
reaches the function and passes who they are in ``X-MS-CLIENT-PRINCIPAL`` (base64 JSON with their claims, app
roles included). A function key alone protects nothing here: it would be one shared secret in a URL. Rules:
- ``HTTP_AUTH=entra`` (the default): Easy Auth must be on (the platform sets ``WEBSITE_AUTH_ENABLED``), else every
  request is refused, because without Easy Auth anyone can send that header; the caller needs the app role
  ``ModelWatch.Reader`` to read the status page and ``ModelWatch.Operator`` to roll back (an operator reads too).
- ``HTTP_AUTH=loopback``: no sign-in, for ``func start`` on a laptop (settings refuse this mode in App Service). The
  Functions host hands the worker no peer address (azure.functions.HttpRequest has the method, URL, headers,
  parameters and body only), and Core Tools listens on every interface, so a LAN peer can send ``Host:
  localhost``: the request must also carry this run's local token, printed at start (``X-ModelWatch-Token``, or
  the ``modelwatch_local`` cookie the status page sets when opened with ``?token=``). The loopback address in the
  URL (and in any X-Forwarded-For) is still required, against DNS rebinding.
- A rollback asked from the status page is a browser form: it must come from the same origin and carry a token
  bound to the caller and the deployment, signed with the app's key and short-lived (cross-site request forgery).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from shared.domain.net import is_loopback_host
from shared.errors import PermanentError

READER_ROLE = "ModelWatch.Reader"
OPERATOR_ROLE = "ModelWatch.Operator"
TOKEN_LIFETIME = timedelta(minutes=15)
LOCAL_TOKEN_HEADER = "x-modelwatch-token"  # noqa: S105 (a header name, not a secret)
LOCAL_TOKEN_COOKIE = "modelwatch_local"  # noqa: S105 (a cookie name)


class HttpAuth(StrEnum):
    """HTTP_AUTH: who may call the HTTP functions (the rules above)."""

    ENTRA = "entra"  # App Service Authentication with app roles (the default: never open by omission)
    LOOPBACK = "loopback"  # no sign-in; this machine's callers with this run's token (func start)


# claim types Entra ID puts a person's or an app's name and roles under (the v1 and v2 token shapes)
_NAME_CLAIMS = (
    "preferred_username",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
    "upn",
    "email",
    "name",
    "appid",
    "azp",
)
_ROLE_CLAIMS = ("roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")


class AuthDeniedError(PermanentError):
    """The request is not allowed; ``status`` is the HTTP answer (401, 403 or 503)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Caller:
    """Who is asking: a name for the record, and their app roles."""

    name: str
    roles: frozenset[str]

    def can(self, role: str) -> bool:
        return role in self.roles or (role == READER_ROLE and OPERATOR_ROLE in self.roles)

    @property
    def is_operator(self) -> bool:
        return self.can(OPERATOR_ROLE)


def parse_client_principal(value: str) -> Caller:
    """The caller described by an ``X-MS-CLIENT-PRINCIPAL`` header. Raises AuthDeniedError (401) when malformed."""
    try:
        decoded = json.loads(base64.b64decode(value.strip(), validate=False))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise AuthDeniedError(401, "X-MS-CLIENT-PRINCIPAL is not base64 JSON: sign in again") from None
    claims = decoded.get("claims") if isinstance(decoded, dict) else None
    if not isinstance(claims, list):
        raise AuthDeniedError(401, "X-MS-CLIENT-PRINCIPAL has no claims: sign in again")
    pairs = [
        (str(c.get("typ", "")), str(c.get("val", "")))
        for c in claims
        if isinstance(c, dict) and isinstance(c.get("val"), str)
    ]
    name_typ = decoded.get("name_typ") if isinstance(decoded.get("name_typ"), str) else None
    role_typ = decoded.get("role_typ") if isinstance(decoded.get("role_typ"), str) else None
    roles = frozenset(v for t, v in pairs if t in {*_ROLE_CLAIMS, role_typ or "roles"})
    by_type = dict(pairs)
    name = next((by_type[t] for t in (name_typ, *_NAME_CLAIMS) if t and by_type.get(t)), "")
    if not name:
        raise AuthDeniedError(401, "X-MS-CLIENT-PRINCIPAL names nobody: sign in again")
    return Caller(f"{name} (Entra ID)", roles)


def authorize(
    mode: HttpAuth,
    headers: Mapping[str, str],
    url: str,
    required: str,
    *,
    easy_auth_enabled: bool,
    local_token: str | None = None,
    presented: str | None = None,
) -> Caller:
    """The caller, when allowed ``required``; else raises AuthDeniedError. ``headers`` keys are lower-case.
    ``local_token``: this run's token (HTTP_AUTH=loopback); ``presented``: one the request carried another way
    than its header or cookie (the status page's ``?token=``)."""
    if mode == HttpAuth.LOOPBACK:
        forwarded = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
        if not is_loopback_host(urlsplit(url).hostname) or not all(is_loopback_host(h) for h in forwarded):
            raise AuthDeniedError(403, "HTTP_AUTH=loopback answers requests from this machine only")
        given = presented or headers.get(LOCAL_TOKEN_HEADER) or local_token_cookie(headers)
        if not local_token or not given or not hmac.compare_digest(given.encode(), local_token.encode()):
            raise AuthDeniedError(
                401,
                "HTTP_AUTH=loopback needs this run's local token: open the status page link func start printed "
                "(.../api/status?token=...), or send the token in X-ModelWatch-Token",
            )
        return Caller("local caller (HTTP_AUTH=loopback)", frozenset({READER_ROLE, OPERATOR_ROLE}))
    if not easy_auth_enabled:
        raise AuthDeniedError(
            503,
            "HTTP_AUTH=entra, but App Service Authentication is not on for this app (WEBSITE_AUTH_ENABLED): "
            "turn it on (infra/ does), or set HTTP_AUTH=loopback for a local run",
        )
    principal = headers.get("x-ms-client-principal")
    if not principal:
        raise AuthDeniedError(401, "sign in with Microsoft Entra ID")
    caller = parse_client_principal(principal)
    if not caller.can(required):
        raise AuthDeniedError(403, f"{caller.name} does not have the app role {required}")
    return caller


def local_token_cookie(headers: Mapping[str, str]) -> str | None:
    """The local token in the request's ``modelwatch_local`` cookie, if any."""
    try:
        morsel = SimpleCookie(headers.get("cookie", "")).get(LOCAL_TOKEN_COOKIE)
    except CookieError:
        return None
    return morsel.value if morsel is not None and morsel.value else None


def origin_matches(origin: str, url: str) -> bool:
    """Whether an ``Origin`` header names the origin of ``url`` (the app itself); ``null`` never does."""
    source, target = urlsplit(origin.strip()), urlsplit(url)
    return bool(source.scheme and source.netloc) and (source.scheme.lower(), source.netloc.lower()) == (
        target.scheme.lower(),
        target.netloc.lower(),
    )


def form_token(key: bytes, caller: Caller, deployment_id: str, now: datetime) -> str:
    """A token for one rollback form: bound to the caller and the deployment, valid for TOKEN_LIFETIME."""
    expires = int((now + TOKEN_LIFETIME).timestamp())
    return f"{expires}.{_signature(key, caller, deployment_id, expires)}"


def check_form_token(key: bytes, token: str, caller: Caller, deployment_id: str, now: datetime) -> str | None:
    """Why the token is not good for this caller, deployment and moment (None: it is)."""
    expires_text, _, signature = token.partition(".")
    if not expires_text.isdigit() or not signature:
        return "the form's token is missing or malformed: open the status page again"
    expires = int(expires_text)
    if not hmac.compare_digest(signature, _signature(key, caller, deployment_id, expires)):
        return "the form's token was not issued to you for this deployment: open the status page again"
    if now.timestamp() > expires:
        return "the form has expired: open the status page again"
    return None


def _signature(key: bytes, caller: Caller, deployment_id: str, expires: int) -> str:
    message = "\x1f".join((caller.name, deployment_id.lower(), str(expires))).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def same_origin(headers: Mapping[str, str], url: str) -> bool:
    """Whether a browser form post came from this app's own pages (Origin, else Referer, matches the host)."""
    target = urlsplit(url)
    source = headers.get("origin") or headers.get("referer") or ""
    if not source or source == "null":
        return False
    origin = urlsplit(source)
    return (origin.scheme, origin.netloc.lower()) == (target.scheme, target.netloc.lower())

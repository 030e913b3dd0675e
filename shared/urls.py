"""Where a URL that carries a credential really goes: its origin as the HTTP client reads it.

requests parses a URL with urllib3's ``parse_url`` (``PreparedRequest.prepare_url``) and connects to the host and
port of what that yields; ``urllib.parse.urlsplit`` reads some URLs differently. ``https://evil.example\\@
management.azure.com/x`` is ``management.azure.com`` to urlsplit and ``evil.example`` (path ``/%5C@...``) to
urllib3, so a check made with urlsplit sent ARM's bearer token to evil.example. Here every URL that carries a
credential (ARM_ENDPOINT and the nextLink / Azure-AsyncOperation / Location URLs ARM answers with, the Event Grid
topic, the webhooks) is read by urllib3, and refused outright when it has anything a parser could read two ways:
whitespace or control characters, a non-ASCII host (IDNA forms), a backslash, userinfo (``@``), a percent sign in the
authority, a trailing dot, or a port outside 1-65535; and when urlsplit still disagrees on the host or port.
Scheme and host case, a default port and leading zeros are normalised. Messages never quote the URL: a webhook
URL is a secret.

Its own small layer (docs/architecture.md): settings validation (``shared/config/``) and the adapters both use
it, and it needs urllib3, which the pure layers may not import.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.errors import PermanentError

DEFAULT_PORTS = {"https": 443, "http": 80}
# scheme://authority, the authority ending at the first /, ? or # (RFC 3986 3.2; urllib3 reads it the same way)
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")
_PORT = re.compile(r":(\d*)$")


class UnsafeUrlError(PermanentError, ValueError):
    """The URL cannot be trusted to go where it seems to; the message says why, never quoting the URL."""


@dataclass(frozen=True)
class Origin:
    """Scheme, host and port, as the HTTP client connects to them (lower-case; the default port filled in)."""

    scheme: str
    host: str  # an IPv6 address without brackets
    port: int

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def origin_of(url: str) -> Origin:
    """The origin requests would send ``url`` to. Raises UnsafeUrlError for anything two parsers could read two
    ways, or that is not an http(s) URL with a host and a port in 1-65535."""
    if not url or any(c.isspace() or not c.isprintable() for c in url):
        raise UnsafeUrlError("has whitespace or a control character")
    if "\\" in url:
        raise UnsafeUrlError("has a backslash")
    authority = _AUTHORITY.match(url)
    if authority is None:
        raise UnsafeUrlError("is not an absolute http(s) URL")
    if any(not "!" <= c <= "~" for c in authority.group(1)):
        raise UnsafeUrlError("has a non-ASCII character in its host (give the IDNA form, xn--...)")
    if "@" in authority.group(1):
        raise UnsafeUrlError("carries a user name or password (@)")
    if "%" in authority.group(1):
        raise UnsafeUrlError("has a percent-encoded character in its host")
    port_text = _PORT.search(authority.group(1).rsplit("]", 1)[-1])
    if port_text and port_text.group(1) and not 1 <= int(port_text.group(1)) <= 65535:
        raise UnsafeUrlError(f"has the port {int(port_text.group(1))}, outside 1-65535")
    scheme, raw_host, raw_port = _as_the_client_reads(url)
    if scheme not in DEFAULT_PORTS:
        raise UnsafeUrlError("must be an https:// URL")
    host = raw_host.lower().removeprefix("[").removesuffix("]")
    if not host:
        raise UnsafeUrlError("has no host")
    if host.endswith("."):
        raise UnsafeUrlError("has a host ending in a dot")
    port = raw_port if raw_port is not None else DEFAULT_PORTS[scheme]
    if not 1 <= port <= 65535:
        raise UnsafeUrlError(f"has the port {port}, outside 1-65535")
    try:  # belt and braces: the other parser must read the same host and port
        split = urlsplit(url)
        other = ((split.hostname or "").lower(), split.port or DEFAULT_PORTS[scheme])
    except ValueError:
        other = ("", 0)
    if other != (host, port):
        raise UnsafeUrlError("is read as two different hosts by two URL parsers")
    return Origin(scheme, host, port)


def _as_the_client_reads(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) as urllib3's ``parse_url`` reads ``url``: what requests connects to."""
    try:  # imported here: the CLI's offline commands read settings and never load the HTTP stack
        from urllib3.exceptions import LocationParseError
        from urllib3.util import parse_url
    except (
        ImportError
    ):  # no HTTP client installed, so nothing can be sent: urlsplit (the checks above still hold)
        try:
            split = urlsplit(url)
            return split.scheme.lower(), split.hostname or "", split.port
        except ValueError:
            raise UnsafeUrlError("cannot be parsed") from None
    try:
        parts = parse_url(url)
    except LocationParseError:
        raise UnsafeUrlError("cannot be parsed") from None
    return (parts.scheme or "").lower(), parts.host or "", parts.port


def endpoint_problem(url: str, name: str) -> str | None:
    """A problem with an endpoint setting, or None: a safe https URL, plain http only to a loopback host."""
    try:
        origin = origin_of(url)
    except UnsafeUrlError as exc:
        return f"{name} {exc}"
    if origin.scheme == "https" or origin.is_loopback:
        return None
    return f"{name} uses plain http to a non-loopback host; only https is accepted (http only for localhost)"


def same_origin(url: str, origin: Origin) -> bool:
    """Whether requests would send ``url`` to ``origin`` (False for any URL ``origin_of`` refuses)."""
    try:
        return origin_of(url) == origin
    except UnsafeUrlError:
        return False

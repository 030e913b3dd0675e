"""Small facts about addresses, shared by settings validation and the HTTP functions."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is this machine."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str, name: str) -> str | None:
    """A problem with an endpoint URL, or None. https only; plain http only to a loopback host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{name} is not a URL"
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return None
    if parts.scheme == "http":
        return (
            f"{name} uses plain http to a non-loopback host; only https is accepted (http only for localhost)"
        )
    return f"{name} must be an https:// URL"

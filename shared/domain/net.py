"""Small facts about addresses, shared by settings validation and the HTTP functions. (Whether a URL goes where
it seems to is shared/urls.py: it needs urllib3, the HTTP client's own parser.)"""

from __future__ import annotations

import ipaddress


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

"""ARM resource ids as ARM compares them."""

from __future__ import annotations

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def arm_key(resource_id: str) -> str:
    """The canonical form of an ARM id: ARM ignores ASCII case only. ``str.casefold`` would merge names ARM
    keeps apart ("Straße" and "STRASSE", the Kelvin sign and "k"), so two resources could share one key."""
    return resource_id.strip().rstrip("/").translate(_ASCII_LOWER)


def subscription_of(resource_id: str) -> str | None:
    """The subscription id segment of a resource id (lower-case), or None."""
    parts = resource_id.strip().split("/")
    if len(parts) > 2 and parts[1].lower() == "subscriptions" and parts[2]:
        return parts[2].translate(_ASCII_LOWER)
    return None


def subscription_prefix(subscription: str) -> str:
    """The start every canonical resource id (``arm_key``) in ``subscription`` (its id, or "/subscriptions/{id}")
    shares: "/subscriptions/{id}/"."""
    sub = subscription_of(subscription) or subscription.strip().strip("/")
    return arm_key(f"/subscriptions/{sub}") + "/"

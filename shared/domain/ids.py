"""Ids: ARM resource ids as ARM compares them, and the deterministic ids of what modelwatch records (``event_id``)."""

from __future__ import annotations

import uuid

# Fixed namespace: event ids are uuid5(namespace, canonical change) so the same change always has the same id,
# whichever run, host or retry detects it. Changing this constant changes every id: never do it.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c8e64-8f0b-4c55-9a56-3f8f2b0f4a11")

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


def event_id(*parts: str | None) -> str:
    """Deterministic id of a change: the same parts give the same id on every run."""
    canonical = "\x1f".join("" if p is None else p for p in parts)
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, canonical))

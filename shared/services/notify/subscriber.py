"""What the alerts subscriber takes: its ledger name, its event types, and the check of an event's data."""

from __future__ import annotations

from shared.domain.events import Consumer, LifecycleEvent, consumed_by
from shared.domain.payloads import CatalogDigestData, DeploymentData
from shared.errors import EventFormatError

SUBSCRIBER = Consumer.ALERTS.value
NOTIFY_EVENT_TYPES = consumed_by(Consumer.ALERTS)


def validate(event: LifecycleEvent) -> str | None:
    """The location a deployment event is about (None for a digest). Raises EventFormatError."""
    if event.event_type not in NOTIFY_EVENT_TYPES:
        raise EventFormatError(f"event {event.id}: type {event.event_type!r} is not one {SUBSCRIBER} takes")
    payload = event.payload()  # checks every field's type and the subject against the data
    if isinstance(payload, CatalogDigestData):
        return None
    if not isinstance(payload, DeploymentData):
        raise EventFormatError(f"event {event.id}: no deployment in the data")
    if not payload.deployment_id.casefold().startswith("/subscriptions/"):
        raise EventFormatError(f"event {event.id}: data.deploymentId is not a resource id")
    if not payload.location:
        raise EventFormatError(f"event {event.id}: data.location is missing")
    return payload.location

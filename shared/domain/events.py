"""Typed lifecycle events in the Event Grid schema (``dataVersion`` 1.0). See docs/events.md."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeAlias

from shared.domain.timeutil import format_instant, parse_instant
from shared.errors import EventFormatError

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None
JsonObject: TypeAlias = dict[str, JsonValue]

DATA_VERSION = "1.0"

# Fixed namespace: event ids are uuid5(namespace, canonical change) so the same change always has the same id,
# whichever run, host or retry detects it. Changing this constant changes every id: never do it.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c8e64-8f0b-4c55-9a56-3f8f2b0f4a11")


class EventType(StrEnum):
    """Every event type this product publishes."""

    VERSION_RELEASED = "ModelLifecycle.VersionReleased"
    DEFAULT_VERSION_CHANGED = "ModelLifecycle.DefaultVersionChanged"
    DEFAULT_VERSION_CHANGE_SCHEDULED = "ModelLifecycle.DefaultVersionChangeScheduled"
    RETIREMENT_SCHEDULED = "ModelLifecycle.RetirementScheduled"
    RETIREMENT_APPROACHING = "ModelLifecycle.RetirementApproaching"
    VERSION_RETIRED = "ModelLifecycle.VersionRetired"
    LIFECYCLE_STATUS_CHANGED = "ModelLifecycle.LifecycleStatusChanged"
    CATALOG_ANOMALY = "ModelLifecycle.CatalogAnomaly"
    # published by the policy subscriber and the inventory refresh; subject: the deployment resource id
    DEPLOYMENT_UPGRADE_PLANNED = "ModelLifecycle.DeploymentUpgradePlanned"
    DEPLOYMENT_UPGRADED = "ModelLifecycle.DeploymentUpgraded"
    DEPLOYMENT_AT_RISK = "ModelLifecycle.DeploymentAtRisk"
    DEPLOYMENT_ROLLED_BACK = "ModelLifecycle.DeploymentRolledBack"
    # one per drain: the pending catalog events grouped by change across regions (what alerts are made of)
    CATALOG_DIGEST = "ModelLifecycle.CatalogDigest"


CATALOG_EVENT_TYPES = frozenset(
    {
        EventType.VERSION_RELEASED,
        EventType.DEFAULT_VERSION_CHANGED,
        EventType.DEFAULT_VERSION_CHANGE_SCHEDULED,
        EventType.RETIREMENT_SCHEDULED,
        EventType.RETIREMENT_APPROACHING,
        EventType.VERSION_RETIRED,
        EventType.LIFECYCLE_STATUS_CHANGED,
        EventType.CATALOG_ANOMALY,
    }
)
DEPLOYMENT_EVENT_TYPES = frozenset(
    {
        EventType.DEPLOYMENT_UPGRADE_PLANNED,
        EventType.DEPLOYMENT_UPGRADED,
        EventType.DEPLOYMENT_AT_RISK,
        EventType.DEPLOYMENT_ROLLED_BACK,
    }
)


def event_id(*parts: str | None) -> str:
    """Deterministic id of a change: the same parts give the same id on every run."""
    canonical = "\x1f".join("" if p is None else p for p in parts)
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, canonical))


def version_subject(location: str, model_format: str, name: str, version: str) -> str:
    return f"/locations/{location}/models/{model_format}/{name}/versions/{version}"


def location_subject(location: str) -> str:
    return f"/locations/{location}/catalog"


@dataclass(frozen=True)
class LifecycleEvent:
    """One event as published to an Event Grid topic (Event Grid schema)."""

    id: str
    event_type: str
    subject: str
    event_time: datetime
    data: Mapping[str, JsonValue] = field(hash=False)
    data_version: str = DATA_VERSION

    def to_wire(self) -> JsonObject:
        """The JSON object Event Grid expects in a publish array."""
        return {
            "id": self.id,
            "subject": self.subject,
            "eventType": self.event_type,
            "eventTime": format_instant(self.event_time),
            "dataVersion": self.data_version,
            "data": dict(self.data),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_wire(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_wire(cls, obj: object) -> LifecycleEvent:
        """Parse one Event Grid schema event (as published, delivered or dead-lettered). Raises EventFormatError."""
        if not isinstance(obj, dict):
            raise EventFormatError(f"event is {type(obj).__name__}, expected an object")
        problems: list[str] = []
        values: dict[str, str] = {}
        for name in ("id", "subject", "eventType", "eventTime"):
            value = obj.get(name)
            if not isinstance(value, str) or not value:
                problems.append(f"{name} is missing or not a string")
            else:
                values[name] = value
        data = obj.get("data")
        if not isinstance(data, dict):
            problems.append("data is missing or not an object")
        data_version = obj.get("dataVersion", DATA_VERSION)
        if not isinstance(data_version, str):
            problems.append("dataVersion is not a string")
        when: datetime | None = None
        if "eventTime" in values:
            try:
                when = parse_instant(values["eventTime"])
            except ValueError as exc:
                problems.append(f"eventTime: {exc}")
        if problems or when is None or not isinstance(data, dict) or not isinstance(data_version, str):
            ident = obj.get("id") if isinstance(obj.get("id"), str) else "?"
            raise EventFormatError(f"event {ident}: " + "; ".join(problems))
        return cls(
            id=values["id"],
            event_type=values["eventType"],
            subject=values["subject"],
            event_time=when,
            data=_as_json_object(data),
            data_version=data_version,
        )

    @classmethod
    def from_json(cls, text: str) -> LifecycleEvent:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EventFormatError(f"event is not JSON: {exc.msg} at {exc.pos}") from None
        return cls.from_wire(obj)


def _as_json_object(value: dict[Any, Any]) -> JsonObject:
    # json.loads output is already JSON-typed; this narrows it for the type checker without copying semantics
    return {str(k): v for k, v in value.items()}

"""Typed lifecycle events in the Event Grid schema (``dataVersion`` 1.0). See docs/events.md.

``REGISTRY`` has one entry per event type: its payload dataclass (``shared/domain/payloads.py``), its subject
rule, which subscriber functions take it, and what it means. The subscribers' type sets, the Event Grid filters
(``infra/event-types.json``) and docs/events.md are derived from it (``scripts/gen_event_docs.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from shared.domain.ids import arm_key
from shared.domain.jsontypes import JsonObject, JsonValue
from shared.domain.payloads import (
    AssessmentData,
    CanaryEvaluatedData,
    CatalogAnomalyData,
    CatalogDigestData,
    DefaultVersionChangedData,
    DefaultVersionChangeScheduledData,
    DeploymentData,
    LifecycleStatusChangedData,
    Payload,
    RetirementApproachingData,
    RetirementScheduledData,
    RolledBackData,
    UpgradeFailedData,
    VersionChangeData,
    VersionData,
    VersionNotListedData,
    VersionReleasedData,
    VersionRetiredData,
)
from shared.domain.timeutil import format_instant, parse_instant
from shared.errors import EventFormatError

__all__ = ["JsonObject", "JsonValue"]  # re-exported: most modules take the JSON types from here

DATA_VERSION = "1.0"

DIGEST_SUBJECT = "/catalog/digest"


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
    VERSION_NOT_LISTED = "ModelLifecycle.VersionNotListed"
    DEPLOYMENT_UPGRADE_PLANNED = "ModelLifecycle.DeploymentUpgradePlanned"
    DEPLOYMENT_UPGRADED = "ModelLifecycle.DeploymentUpgraded"
    DEPLOYMENT_AT_RISK = "ModelLifecycle.DeploymentAtRisk"
    DEPLOYMENT_UPGRADE_FAILED = "ModelLifecycle.DeploymentUpgradeFailed"
    DEPLOYMENT_ROLLED_BACK = "ModelLifecycle.DeploymentRolledBack"
    CATALOG_DIGEST = "ModelLifecycle.CatalogDigest"
    CANARY_EVALUATED = "ModelLifecycle.CanaryEvaluated"


class Family(StrEnum):
    """What an event is about; it decides the subject."""

    VERSION = "version"  # /locations/{location}/models/{format}/{name}/versions/{version}
    LOCATION = "location"  # /locations/{location}/catalog
    DEPLOYMENT = "deployment"  # the deployment's resource id
    DIGEST = "digest"  # /catalog/digest


class Consumer(StrEnum):
    """The subscriber functions (their Event Grid subscription filters and their ledger partitions)."""

    POLICY = "apply_update_policy"
    ALERTS = "notify_channels"


@dataclass(frozen=True)
class EventSpec:
    event_type: EventType
    payload: type[Payload]
    family: Family
    consumers: frozenset[Consumer]
    about: str  # docs/events.md

    @property
    def is_catalog(self) -> bool:
        """A change in the published catalog (what the watcher emits and the outbox digests)."""
        return self.family in (Family.VERSION, Family.LOCATION)


_POLICY, _ALERTS = frozenset({Consumer.POLICY}), frozenset({Consumer.ALERTS})
_MACHINES: frozenset[Consumer] = (
    frozenset()
)  # for other subscribers: the alerts tell the change, once per team

REGISTRY: Mapping[EventType, EventSpec] = {
    spec.event_type: spec
    for spec in (
        EventSpec(
            EventType.VERSION_RELEASED,
            VersionReleasedData,
            Family.VERSION,
            _POLICY,
            "A version appears in a location's catalog (not on a baseline cycle; only for CATALOG_NEWS_FORMATS). "
            "`reappeared: true` when a version we had announced as removed is listed again (any format).",
        ),
        EventSpec(
            EventType.DEFAULT_VERSION_CHANGED,
            DefaultVersionChangedData,
            Family.VERSION,
            _POLICY,
            "The version flagged `isDefaultVersion` for a model changed. `OnceNewDefaultVersionAvailable` "
            "deployments are moved by Azure within two weeks.",
        ),
        EventSpec(
            EventType.DEFAULT_VERSION_CHANGE_SCHEDULED,
            DefaultVersionChangeScheduledData,
            Family.VERSION,
            _POLICY,
            "A version's `replacementConfig.autoUpgradeStartDate` appeared or moved (or its target changed): "
            "Azure will start moving auto-update deployments of this version to the target on `scheduledFor`.",
        ),
        EventSpec(
            EventType.RETIREMENT_SCHEDULED,
            RetirementScheduledData,
            Family.VERSION,
            _POLICY,
            "A version's inference retirement date appeared, moved, was withdrawn, or its per-SKU dates or "
            "Planned/Tentative status changed. `change` is `new`, `earlier`, `later`, `changed` or `cancelled`; "
            "the previous values are in the data.",
        ),
        EventSpec(
            EventType.RETIREMENT_APPROACHING,
            RetirementApproachingData,
            Family.VERSION,
            _POLICY,
            "A retirement date came within one of `RETIREMENT_REMINDER_DAYS`. Once per threshold and date; only "
            "the tightest threshold crossed is announced. `affectedSkus` is null for the model-level date (every "
            "SKU without its own date) or lists the SKUs whose own date this is.",
        ),
        EventSpec(
            EventType.VERSION_RETIRED,
            VersionRetiredData,
            Family.VERSION,
            _POLICY,
            "The version stopped answering: `reason` is `lifecycleStatus` (the API says `Deprecated`, i.e. "
            "retired, HTTP 410), `retirementDatePassed`, or `removedFromCatalog` (missing for "
            "`CATALOG_REMOVAL_CONFIRMATIONS` cycles). `fullyRetired: false` when only some SKUs' date passed.",
        ),
        EventSpec(
            EventType.LIFECYCLE_STATUS_CHANGED,
            LifecycleStatusChangedData,
            Family.VERSION,
            _POLICY,
            "`lifecycleStatus` changed (for example GenerallyAvailable -> Deprecating). Unknown statuses are "
            "passed through as strings.",
        ),
        EventSpec(
            EventType.CATALOG_ANOMALY,
            CatalogAnomalyData,
            Family.LOCATION,
            _POLICY,
            "More than `CATALOG_VANISH_GUARD` of a location's known, unretired versions of one format vanished in one cycle. "
            "The snapshot is kept and no retirement is announced until the catalog looks sane again; announced "
            "once per distinct vanished set. Subject: `/locations/{location}/catalog`.",
        ),
        EventSpec(
            EventType.VERSION_NOT_LISTED,
            VersionNotListedData,
            Family.VERSION,
            _POLICY,  # delivered like every catalog event; apply_update_policy acknowledges it and writes nothing
            "A version left the watcher's catalog list for `CATALOG_REMOVAL_CONFIRMATIONS` cycles, and the catalog "
            "of each subscription running deployments of it was read (the Models API is subscription-scoped: a "
            "Deprecated version is listed only to subscriptions that have deployed it). `reason` is "
            "`listedElsewhere` (`listedFor` still lists it: alive, with those dates) or `goneBeforeRetirement` "
            "(no one lists it, but `worksUntil`, its last retirement date, is ahead or absent). Not a retirement: "
            "deployments keep their standing by the dates (at most at risk); `apply_update_policy` acknowledges it "
            "without assessing or writing anything. A version is "
            "retired by absence only when no one lists it and all its dates have passed (`VersionRetired`, "
            "`removedFromCatalog`). Once per finding.",
        ),
        EventSpec(
            EventType.DEPLOYMENT_UPGRADE_PLANNED,
            AssessmentData,
            Family.DEPLOYMENT,
            _MACHINES,
            "A deployment will be moved to a newer version: by Azure (`performedBy: azure`, by `actionDate`) or "
            "by modelwatch (`performedBy: modelwatch`; in plan mode nothing is written). Published by "
            "`apply_update_policy`. Subject: the deployment resource id. For other subscribers (a ticketing "
            "system, a dashboard): the alerts tell each team the catalog change with what it means for its "
            "deployments, not one message per deployment.",
        ),
        EventSpec(
            EventType.DEPLOYMENT_UPGRADED,
            VersionChangeData,
            Family.DEPLOYMENT,
            _ALERTS,
            "A deployment's version changed: `appliedBy` is `modelwatch` (enforcement) or `azure` (noticed by the "
            "inventory refresh: Azure emits no event of its own). `rollbackAvailableUntil` is the from-version's "
            "retirement date for this deployment's SKU and region.",
        ),
        EventSpec(
            EventType.DEPLOYMENT_AT_RISK,
            AssessmentData,
            Family.DEPLOYMENT,
            _MACHINES,
            "A deployment will stop working (`status: atRisk`, with `retirementDate` and `daysRemaining`) or "
            "already has (`status: broken`), with no automatic way forward: NoAutoUpgrade, provisioned (never "
            "auto-upgraded), no newer default, or a target that is unusable (`summary` says why). Re-published at "
            "each `RETIREMENT_REMINDER_DAYS` threshold (`reminder`). For other subscribers; the alerts tell each team "
            "once per change and threshold.",
        ),
        EventSpec(
            EventType.DEPLOYMENT_UPGRADE_FAILED,
            UpgradeFailedData,
            Family.DEPLOYMENT,
            _ALERTS,
            "modelwatch's enforced upgrade of a deployment (`POLICY_MODE=enforce`) was refused for good: quota or "
            "capacity, a deployment someone else changed, an ARM error (`error`, ARM's own words). The deployment "
            "still runs `modelVersion`; `retirementDate` is when that stops (for its SKU). Published once per "
            "deployment, target and reminder threshold (`reminder`): the next relevant catalog event tries again, "
            "and a success is a `DeploymentUpgraded`. The alerts hold it and tell each team its failures in one "
            "message.",
        ),
        EventSpec(
            EventType.DEPLOYMENT_ROLLED_BACK,
            RolledBackData,
            Family.DEPLOYMENT,
            _ALERTS,
            "An operator rolled a deployment back to its previous version; its `versionUpgradeOption` was set to "
            "`NoAutoUpgrade` (otherwise Azure moves it forward again) and `previousPolicy` keeps what it was.",
        ),
        EventSpec(
            EventType.CANARY_EVALUATED,
            CanaryEvaluatedData,
            Family.DEPLOYMENT,
            _ALERTS,
            "A deployment's evaluation suite (`suite`, EVAL_SUITES) ran on its current version and on the version "
            "it will move to (`targetModelName`, `targetVersion`, on `targetDeployment`: side by side, or a "
            "temporary canary modelwatch created and deleted, `canaryCreated`). `verdict` is `pass`, `regression` "
            "(`regressions` names the cases passing now and failing on the target) or `error` (`reason`: quota, "
            "capacity, auth, not offered, budget). Once per deployment, target and verdict. Prompts and outputs are "
            "not carried: `firstFailure` is a short excerpt.",
        ),
        EventSpec(
            EventType.CATALOG_DIGEST,
            CatalogDigestData,
            Family.DIGEST,
            _ALERTS,
            "The catalog events of a drain, grouped by change across regions: one entry per change (`summary`, "
            "`locations`, `eventIds`, and the change's dates). Published after the events it covers "
            "(`coveredEventIds`); the alert subscriber posts catalog news from digests only, so a version "
            "released in twelve regions is one message. Subject `/catalog/digest`; at most 200 events per digest.",
        ),
    )
}

CATALOG_EVENT_TYPES = frozenset(t for t, spec in REGISTRY.items() if spec.is_catalog)
DEPLOYMENT_EVENT_TYPES = frozenset(t for t, spec in REGISTRY.items() if spec.family is Family.DEPLOYMENT)


# catalog events about one version's own facts: they concern the deployments of that version (a release or a new
# default concerns every deployment of the model: it changes where Azure moves them)
VERSION_SCOPED = frozenset(
    {
        EventType.RETIREMENT_SCHEDULED,
        EventType.RETIREMENT_APPROACHING,
        EventType.VERSION_RETIRED,
        EventType.DEFAULT_VERSION_CHANGE_SCHEDULED,
        EventType.LIFECYCLE_STATUS_CHANGED,
        EventType.VERSION_NOT_LISTED,
    }
)


def consumed_by(consumer: Consumer) -> frozenset[EventType]:
    """The event types a subscriber function takes (its Event Grid subscription's includedEventTypes)."""
    return frozenset(t for t, spec in REGISTRY.items() if consumer in spec.consumers)


def version_subject(location: str, model_format: str, name: str, version: str) -> str:
    return f"/locations/{location}/models/{model_format}/{name}/versions/{version}"


def location_subject(location: str) -> str:
    return f"/locations/{location}/catalog"


def subject_of(event_type: EventType, payload: Payload) -> str:
    """The subject an event of this type and payload has (the registry's subject rule)."""
    family = REGISTRY[event_type].family
    if family is Family.VERSION and isinstance(payload, VersionData):
        return version_subject(
            payload.location, payload.model_format, payload.model_name, payload.model_version
        )
    if family is Family.LOCATION and isinstance(payload, CatalogAnomalyData):
        return location_subject(payload.location)
    if family is Family.DEPLOYMENT and isinstance(payload, DeploymentData):
        return payload.deployment_id
    if family is Family.DIGEST:
        return DIGEST_SUBJECT
    raise TypeError(f"{type(payload).__name__} is not the payload of {event_type.value}")


def _subject_matches(family: Family, expected: str, actual: str) -> bool:
    if family is Family.DEPLOYMENT:
        return arm_key(expected) == arm_key(actual)  # ARM ids compare without ASCII case
    return family is Family.DIGEST or expected == actual


P = TypeVar("P", bound=Payload)


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
    def create(cls, event_type: EventType, ident: str, when: datetime, payload: Payload) -> LifecycleEvent:
        """An event of a registered type: its payload the registry's class, its subject from the payload."""
        expected = REGISTRY[event_type].payload
        if type(payload) is not expected:
            raise TypeError(f"{event_type.value} takes {expected.__name__}, not {type(payload).__name__}")
        return cls(ident, event_type.value, subject_of(event_type, payload), when, payload.to_json())

    @property
    def spec(self) -> EventSpec:
        """The registry entry of this event's type. Raises EventFormatError for a type we do not publish."""
        try:
            return REGISTRY[EventType(self.event_type)]
        except ValueError:
            raise EventFormatError(f"event {self.id}: unknown event type {self.event_type!r}") from None

    def payload(self) -> Payload:
        """The typed data, read with the registry's payload class and checked against the subject.
        Raises EventFormatError naming the problem (a forged or garbled event)."""
        cached = self.__dict__.get("_payload")
        if isinstance(cached, Payload):
            return cached
        spec = self.spec
        try:
            payload = spec.payload.from_json(self.data)
        except EventFormatError as exc:
            raise EventFormatError(f"event {self.id}: {exc}") from None
        if not _subject_matches(spec.family, subject_of(spec.event_type, payload), self.subject):
            raise EventFormatError(f"event {self.id}: subject {self.subject!r} does not match its data")
        self.__dict__["_payload"] = payload  # frozen: cached beside the fields, not one of them
        return payload

    def payload_as(self, kind: type[P]) -> P:
        """``payload()`` narrowed to ``kind`` (a payload class or a base such as VersionData)."""
        payload = self.payload()
        if not isinstance(payload, kind):
            raise EventFormatError(f"event {self.id}: a {self.event_type} does not carry {kind.__name__}")
        return payload

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

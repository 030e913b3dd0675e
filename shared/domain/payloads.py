"""Typed event payloads: the ``data`` of every event type as a frozen dataclass, with its JSON form.

The wire key of a field is its name in camelCase (``model_version`` -> ``modelVersion``); a field with a vocabulary
is typed by its StrEnum and holds the plain value on the wire. ``from_json`` is strict about types (a field of the
wrong type, or a value outside its vocabulary, raises EventFormatError naming it) and lenient about presence where
a reader can do without: an optional field that is missing takes its default, and keys it does not know are
ignored, so an event from a newer producer, or one stored by an older one, still reads. Which payload goes with
which event type, and the subject rule, is the registry in ``shared/domain/events.py``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, ClassVar, Self

from shared.domain.changes import AppliedBy
from shared.domain.jsontypes import JsonObject, JsonValue
from shared.domain.policy.assessment import Actor, PolicyMode, Status
from shared.domain.timeutil import format_instant, parse_instant
from shared.domain.verdict import Verdict
from shared.errors import EventFormatError

# A field with this metadata is left out of the JSON when it is None (a flag only some events carry).
OMIT_NONE: Mapping[str, bool] = {"omit_none": True}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class Payload:
    """Base of every payload dataclass."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def to_json(self) -> JsonObject:
        out: JsonObject = {}
        for f, key, _ in _codec(type(self)):
            value = getattr(self, f.name)
            if value is None and f.metadata.get("omit_none"):
                continue
            out[key] = _encode(value)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, JsonValue], where: str = "data") -> Self:
        """Read a payload. Raises EventFormatError naming the first field that is missing or of the wrong type."""
        values: dict[str, Any] = {}
        for f, key, hint in _codec(cls):
            if key not in data:
                if f.default is MISSING and f.default_factory is MISSING:
                    raise EventFormatError(f"{where}.{key} is missing")
                continue
            values[f.name] = _decode(hint, data[key], f"{where}.{key}")
        return cls(**values)


_CODECS: dict[type[Payload], tuple[tuple[Any, str, Any], ...]] = {}


def _codec(cls: type[Payload]) -> tuple[tuple[Any, str, Any], ...]:
    """(field, wire key, type) per field, worked out once per class."""
    codec = _CODECS.get(cls)
    if codec is None:
        hints = typing.get_type_hints(cls)
        codec = _CODECS[cls] = tuple((f, camel(f.name), hints[f.name]) for f in fields(cls))
    return codec


def _encode(value: object) -> JsonValue:
    if isinstance(value, Payload):
        return value.to_json()
    if isinstance(value, Enum):
        return _encode(value.value)  # the wire holds the plain value
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot encode {type(value).__name__}")


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _decode(hint: Any, raw: JsonValue, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if raw is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]  # only Optional[X] is used
        return _decode(inner, raw, where)
    if hint is str:
        if isinstance(raw, str):
            return raw
    elif hint is bool:
        if isinstance(raw, bool):
            return raw
    elif hint is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
    elif hint is float:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
    elif hint is datetime:
        if isinstance(raw, str):
            try:
                return parse_instant(raw)
            except ValueError as exc:
                raise EventFormatError(f"{where}: {exc}") from None
    elif origin is tuple:
        if isinstance(raw, list):
            return tuple(_decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(raw))
    elif origin in (Mapping, dict):
        if isinstance(raw, dict):
            return {k: _decode(args[1], v, f"{where}.{k}") for k, v in raw.items()}
    elif isinstance(hint, type) and issubclass(hint, Payload):
        if isinstance(raw, dict):
            return hint.from_json(raw, where)
    elif isinstance(hint, type) and issubclass(hint, StrEnum):
        known = [m.value for m in hint]
        if isinstance(raw, str) and raw in known:
            return hint(raw)
        shown = repr(raw[:40] + "…" if len(raw) > 40 else raw) if isinstance(raw, str) else _kind(raw)
        raise EventFormatError(f"{where} is {shown}, expected one of {', '.join(known)}")
    else:
        raise TypeError(f"{where}: no decoder for {hint!r}")
    expected = getattr(hint, "__name__", str(hint)).replace("datetime", "ISO-8601 date")
    raise EventFormatError(f"{where} is {_kind(raw)}, expected {expected}")


# ---- the catalog events: one version in one location (or the location's catalog)


class RetirementChange(StrEnum):
    """RetirementScheduled's ``change``: how the headline retirement date moved."""

    NEW = "new"  # a date where there was none
    EARLIER = "earlier"
    LATER = "later"
    CHANGED = "changed"  # same headline date: a SKU date or the Planned/Tentative status moved
    CANCELLED = "cancelled"  # the date is gone


class RetiredReason(StrEnum):
    """VersionRetired's ``reason``: what says the version stopped answering."""

    LIFECYCLE_STATUS = "lifecycleStatus"  # the API says Deprecated (HTTP 410)
    DATE_PASSED = "retirementDatePassed"
    REMOVED = "removedFromCatalog"  # gone from every list, past its dates


class NotListedReason(StrEnum):
    """VersionNotListed's ``reason``: what the subscriptions running the version said."""

    LISTED_ELSEWHERE = "listedElsewhere"  # one that runs it still lists it: the Deprecated stage
    GONE_BEFORE_RETIREMENT = "goneBeforeRetirement"  # nobody lists it, yet its dates are ahead


class AnomalyReason(StrEnum):
    """CatalogAnomaly's ``reason``: why a read catalog was not trusted (one so far)."""

    VERSIONS_VANISHED = "versionsVanished"  # more versions gone at once than CATALOG_VANISH_GUARD allows


@dataclass(frozen=True, kw_only=True)
class ReplacementData(Payload):
    """The version's ``replacementConfig``: what Azure moves its deployments to, and from when."""

    target_model_name: str | None = None
    target_model_version: str | None = None
    auto_upgrade_start_date: datetime | None = None
    upgrade_on_expiry_lead_time_days: int | None = None


@dataclass(frozen=True, kw_only=True)
class VersionData(Payload):
    """Common to every version event: which version, where, and its catalog facts at the time."""

    location: str
    model_format: str
    model_name: str
    model_version: str
    lifecycle_status: str | None = None
    is_default_version: bool = False
    retirement_date: datetime | None = None
    sku_retirement_dates: Mapping[str, datetime | None] = field(default_factory=dict)
    deprecation_status: str | None = None
    fine_tune_retirement_date: datetime | None = None
    replacement: ReplacementData | None = None
    baseline: bool = False


@dataclass(frozen=True, kw_only=True)
class VersionReleasedData(VersionData):
    reappeared: bool | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True, kw_only=True)
class DefaultVersionChangedData(VersionData):
    previous_default_version: str | None = None


@dataclass(frozen=True, kw_only=True)
class DefaultVersionChangeScheduledData(VersionData):
    scheduled_for: datetime | None = None
    previous_scheduled_for: datetime | None = None
    target_model_name: str | None = None
    target_model_version: str | None = None
    upgrade_on_expiry_lead_time_days: int | None = None


@dataclass(frozen=True, kw_only=True)
class RetirementScheduledData(VersionData):
    previous_retirement_date: datetime | None = None
    previous_sku_retirement_dates: Mapping[str, datetime | None] | None = None
    previous_deprecation_status: str | None = None
    change: RetirementChange = RetirementChange.CHANGED


@dataclass(frozen=True, kw_only=True)
class RetirementApproachingData(VersionData):
    """``retirement_date`` is the date approaching (a SKU's own date when ``affected_skus`` lists SKUs)."""

    days_remaining: int | None = None
    threshold: int | None = None
    affected_skus: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class VersionRetiredData(VersionData):
    reason: RetiredReason = RetiredReason.DATE_PASSED
    fully_retired: bool = True
    affected_skus: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class VersionNotListedData(VersionData):
    """A version left the watcher's list, and the subscriptions running it were asked (the Models API is
    subscription-scoped): ``listedElsewhere`` (a subscription that runs it still lists it: the Deprecated stage) or
    ``goneBeforeRetirement`` (no one lists it, yet its dates are ahead). Never a retirement."""

    reason: NotListedReason = NotListedReason.GONE_BEFORE_RETIREMENT  # carried into digests
    not_listed_for: tuple[str, ...] = ()  # subscriptions whose catalog does not list it
    listed_for: tuple[str, ...] = ()  # subscriptions whose catalog does (they run deployments of it)
    works_until: datetime | None = None  # its last retirement date: Azure's word on how long it answers


@dataclass(frozen=True, kw_only=True)
class LifecycleStatusChangedData(VersionData):
    previous_lifecycle_status: str | None = None


@dataclass(frozen=True, kw_only=True)
class CatalogAnomalyData(Payload):
    location: str
    reason: AnomalyReason
    vanished_count: int
    known_count: int
    vanish_guard: float
    vanished_versions: tuple[str, ...] = ()
    action: str = ""


# ---- the deployment events: one deployment (subject: its resource id)


@dataclass(frozen=True, kw_only=True)
class DeploymentData(Payload):
    deployment_id: str
    deployment_name: str
    account_id: str = ""
    location: str
    model_format: str = "OpenAI"
    model_name: str
    model_version: str
    sku_name: str | None = None
    is_provisioned: bool = False
    version_upgrade_option: str | None = None
    route: str | None = None


@dataclass(frozen=True, kw_only=True)
class AssessmentData(DeploymentData):
    """DeploymentUpgradePlanned and DeploymentAtRisk: what the policy engine decided, and why."""

    status: Status
    reason: str = ""
    summary: str = ""
    target_model_name: str | None = None
    target_version: str | None = None
    action_date: datetime | None = None
    retirement_date: datetime | None = None
    days_remaining: int | None = None
    performed_by: Actor | None = None  # who moves it (Actor.NONE: nobody, at risk)
    reminder: str = ""
    mode: PolicyMode = PolicyMode.PLAN
    triggered_by: str = ""


@dataclass(frozen=True, kw_only=True)
class VersionChangeData(DeploymentData):
    """DeploymentUpgraded: a version change that happened, with the way back."""

    from_model: str | None = None
    from_version: str | None = None
    to_model: str | None = None
    to_version: str | None = None
    applied_by: AppliedBy
    changed_by: str | None = None
    changed_at: datetime | None = None
    rollback_available_until: datetime | None = None
    rollback_id: str = ""


@dataclass(frozen=True, kw_only=True)
class UpgradeFailedData(DeploymentData):
    """DeploymentUpgradeFailed: modelwatch's enforced write was refused for good (quota, capacity, a changed
    deployment); the deployment still runs ``model_version``."""

    target_model_name: str
    target_version: str
    error: str
    retirement_date: datetime | None = None
    days_remaining: int | None = None
    reminder: str = ""
    triggered_by: str = ""


@dataclass(frozen=True, kw_only=True)
class CanaryEvaluatedData(DeploymentData):
    """CanaryEvaluated: the team's suite ran on the deployment's current version and on the target version."""

    suite: str
    verdict: Verdict
    reason: str = ""  # an error verdict: what stopped it (quota, capacity, auth, not offered, budget, ...)
    target_model_name: str
    target_version: str
    target_deployment: str = ""
    cases: int = 0
    current_passed: int = 0
    target_passed: int = 0
    regressions: tuple[str, ...] = ()
    first_failure: str = ""  # the first failure on the target version: case and assertion, a short excerpt
    tokens: int = 0
    canary_created: bool = False
    # CANARY_PROTECT: what modelwatch did to this deployment's update policy because of this verdict (set
    # NoAutoUpgrade after a regression, or put the previous policy back after a pass); empty when nothing
    protection: str = ""


@dataclass(frozen=True, kw_only=True)
class RolledBackData(VersionChangeData):
    """DeploymentRolledBack: in place (the deployment now runs the from-version, NoAutoUpgrade) or side by side
    (this deployment untouched; the previous model runs in a new sibling deployment)."""

    previous_policy: str | None = None
    side_by_side: bool | None = field(default=None, metadata=OMIT_NONE)
    sibling_deployment_id: str | None = field(default=None, metadata=OMIT_NONE)
    sibling_deployment_name: str | None = field(default=None, metadata=OMIT_NONE)


# ---- the digest: the catalog events of a drain grouped by change across regions


@dataclass(frozen=True, kw_only=True)
class DigestChange(Payload):
    """One change, told once for all the regions where it happened; the facts of its first event carried along
    (those the change's type has; the others are left out)."""

    event_type: str
    model_format: str = ""
    model_name: str = ""
    model_version: str = ""
    summary: str = ""
    locations: tuple[str, ...] = ()
    event_ids: tuple[str, ...] = ()
    lifecycle_status: str | None = field(default=None, metadata=OMIT_NONE)
    is_default_version: bool | None = field(default=None, metadata=OMIT_NONE)
    retirement_date: datetime | None = field(default=None, metadata=OMIT_NONE)
    sku_retirement_dates: Mapping[str, datetime | None] | None = field(default=None, metadata=OMIT_NONE)
    deprecation_status: str | None = field(default=None, metadata=OMIT_NONE)
    replacement: ReplacementData | None = field(default=None, metadata=OMIT_NONE)
    previous_default_version: str | None = field(default=None, metadata=OMIT_NONE)
    scheduled_for: datetime | None = field(default=None, metadata=OMIT_NONE)
    days_remaining: int | None = field(default=None, metadata=OMIT_NONE)
    threshold: int | None = field(default=None, metadata=OMIT_NONE)
    affected_skus: tuple[str, ...] | None = field(default=None, metadata=OMIT_NONE)
    reason: str | None = field(default=None, metadata=OMIT_NONE)
    fully_retired: bool | None = field(default=None, metadata=OMIT_NONE)
    change: RetirementChange | None = field(default=None, metadata=OMIT_NONE)
    previous_retirement_date: datetime | None = field(default=None, metadata=OMIT_NONE)
    baseline: bool | None = field(default=None, metadata=OMIT_NONE)
    vanished_count: int | None = field(default=None, metadata=OMIT_NONE)
    known_count: int | None = field(default=None, metadata=OMIT_NONE)
    target_model_name: str | None = field(default=None, metadata=OMIT_NONE)
    target_model_version: str | None = field(default=None, metadata=OMIT_NONE)


_CHANGE_OWN = {
    "event_type",
    "model_format",
    "model_name",
    "model_version",
    "summary",
    "locations",
    "event_ids",
}
# the facts a digest entry carries from its first event, when that event's payload has them
CARRIED = tuple(f.name for f in fields(DigestChange) if f.name not in _CHANGE_OWN)


@dataclass(frozen=True, kw_only=True)
class CatalogDigestData(Payload):
    changes: tuple[DigestChange, ...]
    event_count: int = 0
    locations: tuple[str, ...] = ()
    covered_event_ids: tuple[str, ...] = ()

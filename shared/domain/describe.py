"""One-line human descriptions of lifecycle events (CLI tables, logs, and alert fallbacks)."""

from __future__ import annotations

from datetime import datetime

from shared.domain.events import LifecycleEvent
from shared.domain.payloads import (
    CatalogAnomalyData,
    DefaultVersionChangedData,
    DefaultVersionChangeScheduledData,
    DeploymentData,
    LifecycleStatusChangedData,
    Payload,
    RetiredReason,
    RetirementApproachingData,
    RetirementChange,
    RetirementScheduledData,
    VersionData,
    VersionNotListedData,
    VersionReleasedData,
    VersionRetiredData,
)
from shared.errors import EventFormatError

RETIRED_BECAUSE = {
    RetiredReason.LIFECYCLE_STATUS: "status Deprecated: calls return 410",
    RetiredReason.DATE_PASSED: "retirement date passed",
    RetiredReason.REMOVED: "removed from the catalog",
}


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else "?"


def _skus(skus: tuple[str, ...] | None) -> str:
    return f" for {', '.join(skus)}" if skus else ""


def describe_payload(p: Payload) -> str:
    """What changed, in a few words, from an event's typed data."""
    if isinstance(p, VersionReleasedData):
        text = "listed again after removal" if p.reappeared else "released"
        return text + (" (the default)" if p.is_default_version else "")
    if isinstance(p, DefaultVersionChangedData):
        return f"is now the default (was {p.previous_default_version or 'unknown'})"
    if isinstance(p, DefaultVersionChangeScheduledData):
        was = f"; was {_day(p.previous_scheduled_for)}" if p.previous_scheduled_for else ""
        return f"auto-upgrade to {p.target_model_name} {p.target_model_version} from {_day(p.scheduled_for)}{was}"
    if isinstance(p, RetirementScheduledData):
        if p.change == RetirementChange.CANCELLED:
            return f"retirement date withdrawn (was {_day(p.previous_retirement_date)})"
        status = f", {p.deprecation_status}" if p.deprecation_status else ""
        was = f"; was {_day(p.previous_retirement_date)}" if p.previous_retirement_date else ""
        return f"retires {_day(p.retirement_date)} ({p.change}{was}{status})"
    if isinstance(p, RetirementApproachingData):
        return f"retires in {p.days_remaining} day(s), on {_day(p.retirement_date)}{_skus(p.affected_skus)}"
    if isinstance(p, VersionRetiredData):
        reason = RETIRED_BECAUSE.get(p.reason, p.reason)
        scope = (
            "" if p.fully_retired else f" (partly{_skus(p.affected_skus) or ': SKUs without their own date'})"
        )
        return f"retired: {reason}{scope}"
    if isinstance(p, VersionNotListedData):
        until = (
            f"Azure's dates say it works until {_day(p.works_until)}"
            if p.works_until
            else "Azure has published no retirement date for it"
        )
        who = ", ".join(p.not_listed_for) or "?"
        if p.listed_for:
            return f"not listed for subscription {who}; listed for {', '.join(p.listed_for)}; {until}"
        return f"not listed for subscription {who}; {until}"
    if isinstance(p, LifecycleStatusChangedData):
        return f"status {p.previous_lifecycle_status or '-'} -> {p.lifecycle_status or '-'}"
    if isinstance(p, CatalogAnomalyData):
        return (
            f"{p.vanished_count} of {p.known_count} versions vanished at once: "
            "snapshot kept, no retirements emitted"
        )
    return type(p).__name__


def describe(event: LifecycleEvent) -> str:
    """What changed, in a few words (the event's type when its data cannot be read)."""
    try:
        return describe_payload(event.payload())
    except EventFormatError:
        return event.event_type


def model_label(event: LifecycleEvent) -> str:
    try:
        p = event.payload()
    except EventFormatError:
        return "(unreadable)"
    if isinstance(p, VersionData | DeploymentData):
        return f"{p.model_name} {p.model_version}"
    return "(catalog)"


def location_of(event: LifecycleEvent) -> str:
    """The location an event is about ('' for a digest or unreadable data)."""
    try:
        p = event.payload()
    except EventFormatError:
        return ""
    return p.location if isinstance(p, VersionData | DeploymentData | CatalogAnomalyData) else ""


def short_type(event: LifecycleEvent) -> str:
    return event.event_type.removeprefix("ModelLifecycle.")

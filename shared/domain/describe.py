"""One-line human descriptions of lifecycle events (CLI tables, logs, and alert fallbacks)."""

from __future__ import annotations

from collections.abc import Mapping

from shared.domain.events import EventType, JsonValue, LifecycleEvent


def _day(value: JsonValue) -> str:
    return str(value)[:10] if value else "?"


def _skus(data: Mapping[str, JsonValue]) -> str:
    skus = data.get("affectedSkus")
    return f" for {', '.join(str(s) for s in skus)}" if isinstance(skus, list) and skus else ""


def describe(event: LifecycleEvent) -> str:
    """What changed, in a few words."""
    d = event.data
    kind = event.event_type
    if kind == EventType.VERSION_RELEASED:
        text = "listed again after removal" if d.get("reappeared") else "released"
        return text + (" (the default)" if d.get("isDefaultVersion") else "")
    if kind == EventType.DEFAULT_VERSION_CHANGED:
        return f"is now the default (was {d.get('previousDefaultVersion') or 'unknown'})"
    if kind == EventType.DEFAULT_VERSION_CHANGE_SCHEDULED:
        was = f"; was {_day(d.get('previousScheduledFor'))}" if d.get("previousScheduledFor") else ""
        return (
            f"auto-upgrade to {d.get('targetModelName')} {d.get('targetModelVersion')} "
            f"from {_day(d.get('scheduledFor'))}{was}"
        )
    if kind == EventType.RETIREMENT_SCHEDULED:
        change = d.get("change")
        if change == "cancelled":
            return f"retirement date withdrawn (was {_day(d.get('previousRetirementDate'))})"
        status = f", {d.get('deprecationStatus')}" if d.get("deprecationStatus") else ""
        was = f"; was {_day(d.get('previousRetirementDate'))}" if d.get("previousRetirementDate") else ""
        return f"retires {_day(d.get('retirementDate'))} ({change}{was}{status})"
    if kind == EventType.RETIREMENT_APPROACHING:
        return f"retires in {d.get('daysRemaining')} day(s), on {_day(d.get('retirementDate'))}{_skus(d)}"
    if kind == EventType.VERSION_RETIRED:
        reason = {
            "lifecycleStatus": "status Deprecated: calls return 410",
            "retirementDatePassed": "retirement date passed",
            "removedFromCatalog": "removed from the catalog",
        }.get(str(d.get("reason")), str(d.get("reason")))
        scope = "" if d.get("fullyRetired") else f" (partly{_skus(d) or ': SKUs without their own date'})"
        return f"retired: {reason}{scope}"
    if kind == EventType.LIFECYCLE_STATUS_CHANGED:
        return f"status {d.get('previousLifecycleStatus') or '-'} -> {d.get('lifecycleStatus') or '-'}"
    if kind == EventType.CATALOG_ANOMALY:
        return (
            f"{d.get('vanishedCount')} of {d.get('knownCount')} versions vanished at once: "
            "snapshot kept, no retirements emitted"
        )
    return kind


def model_label(event: LifecycleEvent) -> str:
    d = event.data
    if d.get("modelName"):
        return f"{d.get('modelName')} {d.get('modelVersion')}"
    return "(catalog)"


def short_type(event: LifecycleEvent) -> str:
    return event.event_type.removeprefix("ModelLifecycle.")

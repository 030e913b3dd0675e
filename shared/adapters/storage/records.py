"""JSON form of stored records (snapshots, deployments, rollbacks), and the order of stored canary results, shared by
every store adapter so they cannot drift apart."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from shared.domain.catalog import ModelVersion, Replacement, VersionKey
from shared.domain.changes import AppliedBy, VersionChange
from shared.domain.deployments import Deployment, FineTune
from shared.domain.diff import VersionRecord
from shared.domain.events import JsonValue
from shared.domain.timeutil import format_instant, parse_instant
from shared.errors import PermanentError

RECORD_SCHEMA = 1


def _dt(value: datetime | None) -> str | None:
    return format_instant(value)


def _parse_dt(value: Any) -> datetime | None:
    return None if value is None else parse_instant(str(value))


def version_to_json(v: ModelVersion) -> dict[str, Any]:
    r = v.replacement
    return {
        "format": v.format,
        "name": v.name,
        "version": v.version,
        "isDefault": v.is_default,
        "lifecycleStatus": v.lifecycle_status,
        "retirementDate": _dt(v.retirement_date),
        "fineTuneRetirementDate": _dt(v.fine_tune_retirement_date),
        "deprecationStatus": v.deprecation_status,
        "skuRetirementDates": [[s, _dt(d)] for s, d in v.sku_retirement_dates],
        "skus": list(v.skus),
        "kinds": list(v.kinds),
        "createdAt": _dt(v.created_at),
        "replacement": None
        if r is None
        else {
            "targetModelName": r.target_model_name,
            "targetModelVersion": r.target_model_version,
            "autoUpgradeStartDate": _dt(r.auto_upgrade_start),
            "upgradeOnExpiryLeadTimeDays": r.upgrade_on_expiry_lead_days,
        },
    }


def version_from_json(obj: dict[str, Any]) -> ModelVersion:
    r = obj.get("replacement")
    sku_dates: list[tuple[str, datetime]] = []
    for sku, date in obj.get("skuRetirementDates") or []:
        parsed = _parse_dt(date)
        if parsed is not None:
            sku_dates.append((str(sku), parsed))
    return ModelVersion(
        format=obj["format"],
        name=obj["name"],
        version=obj["version"],
        is_default=bool(obj.get("isDefault")),
        lifecycle_status=obj.get("lifecycleStatus"),
        retirement_date=_parse_dt(obj.get("retirementDate")),
        fine_tune_retirement_date=_parse_dt(obj.get("fineTuneRetirementDate")),
        deprecation_status=obj.get("deprecationStatus"),
        sku_retirement_dates=tuple(sku_dates),
        skus=tuple(obj.get("skus") or ()),
        kinds=tuple(obj.get("kinds") or ()),
        created_at=_parse_dt(obj.get("createdAt")),
        replacement=None
        if r is None
        else Replacement(
            target_model_name=r.get("targetModelName"),
            target_model_version=r.get("targetModelVersion"),
            auto_upgrade_start=_parse_dt(r.get("autoUpgradeStartDate")),
            upgrade_on_expiry_lead_days=r.get("upgradeOnExpiryLeadTimeDays"),
        ),
    )


def record_to_json(record: VersionRecord) -> str:
    return json.dumps(
        {
            "schema": RECORD_SCHEMA,
            "version": version_to_json(record.version),
            "notified": sorted(record.notified),
            "missingCycles": record.missing_cycles,
            "removed": record.removed,
            "announced": record.announced,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def record_from_json(text: str) -> VersionRecord:
    obj = json.loads(text)
    return VersionRecord(
        version=version_from_json(obj["version"]),
        notified=frozenset(obj.get("notified") or ()),
        missing_cycles=int(obj.get("missingCycles") or 0),
        removed=bool(obj.get("removed")),
        announced=int(obj.get("announced") or 0),  # absent in records written before it was kept
    )


def key_text(key: VersionKey) -> str:
    """Stable text form of a version key (format|name|version); '|' never appears in ARM model names."""
    return f"{key.format}|{key.name}|{key.version}"


def key_from_text(text: str) -> VersionKey:
    fmt, name, version = text.split("|", 2)
    return VersionKey(fmt, name, version)


# Deployments and rollback records. Instants keep full precision (unlike the seconds-precision wire form of
# snapshot records) so what a store returns compares equal to what it was given.

DEPLOYMENT_SCHEMA = 1
ROLLBACK_SCHEMA = 1


def exact_instant(value: datetime | None) -> str | None:
    """UTC, microseconds, fixed width: reads back equal, and the text sorts in time order (SQL ORDER BY)."""
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))  # ASCII: even a lone surrogate survives


def _object(text: str) -> dict[str, Any]:
    obj = json.loads(text)
    if not isinstance(obj, dict):
        raise TypeError(f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _required(obj: dict[str, Any], name: str) -> str:
    value = obj[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} is {type(value).__name__}, expected a string")
    return value


def _optional(obj: dict[str, Any], name: str) -> str | None:
    return None if obj.get(name) is None else _required(obj, name)


def _unreadable(kind: str, row: str | None, exc: Exception) -> PermanentError:
    where = f" {row!r}" if row is not None else ""
    return PermanentError(f"stored {kind}{where} is unreadable: {exc!r}")


def deployment_to_json(d: Deployment) -> str:
    return _dumps(
        {
            "schema": DEPLOYMENT_SCHEMA,
            "resourceId": d.resource_id,
            "accountId": d.account_id,
            "name": d.name,
            "location": d.location,
            "modelFormat": d.model_format,
            "modelName": d.model_name,
            "modelVersion": d.model_version,
            "skuName": d.sku_name,
            "skuCapacity": d.sku_capacity,
            "upgradeOption": d.upgrade_option,
            "provisioningState": d.provisioning_state,
            "tags": dict(d.tags),
            "lastSeen": exact_instant(d.last_seen),
            "lastModifiedBy": d.last_modified_by,
            "lastModifiedByType": d.last_modified_by_type,
            "createdAt": exact_instant(d.created_at),
            "fineTune": None
            if d.fine_tune is None
            else {
                "listed": d.fine_tune.listed,
                "baseModel": d.fine_tune.base_model,
                "baseVersion": d.fine_tune.base_version,
                "retirementDate": exact_instant(d.fine_tune.retirement_date),
                "lifecycleStatus": d.fine_tune.lifecycle_status,
                "why": d.fine_tune.why,
            },
            **({"routingModels": [list(m) for m in d.routing_models]} if d.routing_models else {}),
        }
    )


def deployment_from_json(text: str, *, row: str | None = None) -> Deployment:
    """Raises PermanentError naming ``row`` (the store's key) when the stored text is not a deployment."""
    try:
        obj = _object(text)
        capacity = obj.get("skuCapacity")
        if capacity is not None and (not isinstance(capacity, int) or isinstance(capacity, bool)):
            raise TypeError(f"skuCapacity is {type(capacity).__name__}, expected an integer")
        tags = obj.get("tags") or {}
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            raise TypeError("tags is not an object of strings")
        return Deployment(
            resource_id=_required(obj, "resourceId"),
            account_id=_required(obj, "accountId"),
            name=_required(obj, "name"),
            location=_required(obj, "location"),
            model_format=_required(obj, "modelFormat"),
            model_name=_required(obj, "modelName"),
            model_version=_required(obj, "modelVersion"),
            sku_name=_required(obj, "skuName"),
            sku_capacity=capacity,
            upgrade_option=_optional(obj, "upgradeOption"),
            provisioning_state=_optional(obj, "provisioningState"),
            tags=dict(tags),
            last_seen=_parse_dt(obj.get("lastSeen")),
            last_modified_by=_optional(obj, "lastModifiedBy"),
            last_modified_by_type=_optional(obj, "lastModifiedByType"),
            fine_tune=_fine_tune(obj.get("fineTune")),
            routing_models=_routing(obj.get("routingModels")),
            created_at=_parse_dt(obj.get("createdAt")),
        )
    except (ValueError, KeyError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
        raise _unreadable("deployment", row, exc) from exc


def _routing(obj: Any) -> tuple[tuple[str, str, str], ...]:
    if obj is None:
        return ()
    if not isinstance(obj, list) or not all(
        isinstance(m, list) and len(m) == 3 and all(isinstance(p, str) for p in m) for m in obj
    ):
        raise TypeError("routingModels is not a list of [format, name, version]")
    return tuple((m[0], m[1], m[2]) for m in obj)


def _fine_tune(obj: Any) -> FineTune | None:
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise TypeError("fineTune is not an object")
    return FineTune(
        listed=bool(obj.get("listed")),
        base_model=_optional(obj, "baseModel"),
        base_version=_optional(obj, "baseVersion"),
        retirement_date=_parse_dt(obj.get("retirementDate")),
        lifecycle_status=_optional(obj, "lifecycleStatus"),
        why=_optional(obj, "why"),
    )


def change_to_json(r: VersionChange) -> str:
    return _dumps(
        {
            "schema": ROLLBACK_SCHEMA,
            "deploymentId": r.deployment_id,
            "fromVersion": r.from_version,
            "toVersion": r.to_version,
            "changedAt": exact_instant(r.changed_at),
            "appliedBy": r.applied_by,
            "availableUntil": exact_instant(r.available_until),
            "originalPolicy": r.original_policy,
            "reference": r.reference,
            "fromModel": r.from_model,
            "toModel": r.to_model,
            "changedBy": r.changed_by,
            "siblingId": r.sibling_id,
        }
    )


def change_from_json(text: str, *, row: str | None = None) -> VersionChange:
    """Raises PermanentError naming ``row`` (the record id) when the stored text is not a rollback record."""
    try:
        obj = _object(text)
        return VersionChange(
            deployment_id=_required(obj, "deploymentId"),
            from_version=_required(obj, "fromVersion"),
            to_version=_required(obj, "toVersion"),
            changed_at=parse_instant(_required(obj, "changedAt")),
            applied_by=AppliedBy(_required(obj, "appliedBy")),
            available_until=_parse_dt(obj.get("availableUntil")),
            original_policy=_optional(obj, "originalPolicy"),
            reference=_optional(obj, "reference") or "",
            from_model=_optional(obj, "fromModel"),
            to_model=_optional(obj, "toModel"),
            changed_by=_optional(obj, "changedBy"),
            sibling_id=_optional(obj, "siblingId"),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise _unreadable("rollback record", row, exc) from exc


def ordered_results(rows: list[tuple[str, dict[str, JsonValue]]]) -> list[dict[str, JsonValue]]:
    """Canary results as (id, document) pairs in the CanaryResults contract's order: by ``at`` (fixed-width UTC
    text: time order), then by id (the same tie-break in every adapter)."""
    return [doc for _, doc in sorted(rows, key=lambda r: (str(r[1].get("at") or ""), r[0]))]

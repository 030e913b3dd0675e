"""JSON form of snapshot records, shared by every store adapter so they cannot drift apart."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from shared.domain.catalog import ModelVersion, Replacement, VersionKey
from shared.domain.diff import VersionRecord
from shared.domain.timeutil import format_instant, parse_instant

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
    )


def key_text(key: VersionKey) -> str:
    """Stable text form of a version key (format|name|version); '|' never appears in ARM model names."""
    return f"{key.format}|{key.name}|{key.version}"


def key_from_text(text: str) -> VersionKey:
    fmt, name, version = text.split("|", 2)
    return VersionKey(fmt, name, version)

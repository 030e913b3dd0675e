"""The model catalog as this product sees it: normalised, de-duplicated model versions of one location.

Input is the ARM ``Models - List`` item shape (``{kind, skuName, model: {...}}``); see
https://learn.microsoft.com/rest/api/aiservices/accountmanagement/models/list. Quirks handled here:
- the same (format, name, version) is listed once per ``kind`` (OpenAI, AIServices): merged into one;
- ``deprecation.inference`` / ``fineTune`` are strings; far-future sentinels (year >= 2099) mean "no date";
- ``lifecycleStatus`` is an open enum: unknown values are kept as strings;
- SKU names vary in case ("provisioned" / "Provisioned"): compared case-insensitively.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from shared.domain.timeutil import parse_catalog_date
from shared.errors import PermanentError


class VersionKey(NamedTuple):
    """Identity of a model version within a location catalog."""

    format: str
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.format}/{self.name}/{self.version}"


# The API's words. "Deprecated" in the API means retired (inference answers 410); "Deprecating" means
# closed to new customers. The docs use "deprecated" for the latter: a known terminology trap.
STATUS_RETIRED = "Deprecated"


# Deployment SKU names and catalog SKU names differ (https://learn.microsoft.com/azure/ai-foundry/openai/how-to/deployment-types): deployments say ProvisionedManaged,
# GlobalProvisionedManaged or DataZoneProvisionedManaged where the catalog says Provisioned (or provisioned).
# An exact name wins; then the same scope's provisioned entry, then the plain one. Standard-family names only
# match exactly: their dates differ by scope (gpt-4o 2024-05-13: Standard 2026-03-31, GlobalStandard 2026-10-01),
# so a missing entry falls back to the model-level date rather than to a neighbour's.
_SCOPES = ("global", "datazone")


def sku_candidates(sku: str) -> tuple[str, ...]:
    """Casefolded catalog SKU names to look for, best first, for a deployment's SKU name."""
    name = sku.strip().casefold()
    if "provisioned" not in name:
        return (name,)
    scope = next((s for s in _SCOPES if name.startswith(s)), "")
    family = [
        name,
        f"{scope}provisionedmanaged",
        f"{scope}provisioned",
        "provisionedmanaged",
        "provisioned",
    ]
    return tuple(dict.fromkeys(family))


@dataclass(frozen=True)
class Replacement:
    """``replacementConfig``: where Azure moves deployments of this version, and when."""

    target_model_name: str | None = None
    target_model_version: str | None = None
    auto_upgrade_start: datetime | None = None  # applies to OnceNewDefaultVersionAvailable deployments
    upgrade_on_expiry_lead_days: int | None = None  # applies to OnceCurrentVersionExpired deployments


@dataclass(frozen=True)
class RetirementWindow:
    """One retirement date and the SKUs it applies to. ``skus is None``: every SKU without its own date."""

    date: datetime
    skus: tuple[str, ...] | None


@dataclass(frozen=True)
class ModelVersion:
    """One model version as listed in one location's catalog."""

    format: str
    name: str
    version: str
    is_default: bool = False
    lifecycle_status: str | None = None
    retirement_date: datetime | None = None  # deprecation.inference: the model-level inference retirement
    fine_tune_retirement_date: datetime | None = None
    deprecation_status: str | None = None  # "Planned" (firm) or "Tentative"
    sku_retirement_dates: tuple[tuple[str, datetime], ...] = ()  # per-SKU deprecationDate, sorted by SKU
    skus: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    replacement: Replacement | None = None
    # systemData.createdAt: the only reliable order of versions (gpt-35-turbo "0125" is newer than "1106")
    created_at: datetime | None = None

    @property
    def key(self) -> VersionKey:
        return VersionKey(self.format, self.name, self.version)

    @property
    def is_status_retired(self) -> bool:
        return (self.lifecycle_status or "").casefold() == STATUS_RETIRED.casefold()

    def sku_retirement(self, sku: str) -> datetime | None:
        """The catalog date of this deployment SKU's own entry (exact name, then its family), or None."""
        dates = {name.casefold(): date for name, date in self.sku_retirement_dates}
        for candidate in sku_candidates(sku):
            if candidate in dates:
                return dates[candidate]
        return None

    def retirement_for_sku(self, sku: str) -> datetime | None:
        """The date a deployment of this SKU stops answering: its SKU's own date, else the model's."""
        own = self.sku_retirement(sku)
        return own if own is not None else self.retirement_date

    def is_retired_for(self, sku: str, now: datetime) -> bool:
        """Whether a deployment of this SKU has stopped answering. A SKU with its own later date outlives the
        model-level status: gpt-35-turbo 0301 was "Deprecated" while its Provisioned date was still ahead."""
        own = self.sku_retirement(sku)
        if own is not None:
            return own <= now
        date = self.retirement_date
        return self.is_status_retired or (date is not None and date <= now)

    @property
    def is_preview(self) -> bool:
        return (self.lifecycle_status or "").casefold() == "preview"

    @property
    def earliest_retirement(self) -> datetime | None:
        """The first date any deployment type of this version stops: the model-level date or a SKU's own."""
        dates = [
            d for d in (self.retirement_date, *(d for _, d in self.sku_retirement_dates)) if d is not None
        ]
        return min(dates) if dates else None

    def upgrade_start_for_sku(self, sku: str) -> datetime | None:
        """``autoUpgradeStartDate`` as it applies to a deployment of this SKU.

        The API carries one, model-level; Learn's schedule (https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements; docs/predictions.md)
        shows it belongs to the first retirement: gpt-4o 2024-05-13/2024-08-06 Standard deployments were upgraded
        to gpt-5.1 from 2026-03-09 (retiring 2026-03-31), while GlobalStandard and DataZoneStandard kept their own
        date, 2026-10-01. So a SKU whose own retirement is later than the version's first one does not take the
        start: Azure moves it at its own date (minus ``upgradeOnExpiryLeadTimeDays``)."""
        start = self.replacement.auto_upgrade_start if self.replacement is not None else None
        if start is None:
            return None
        own, first = self.retirement_for_sku(sku), self.earliest_retirement
        if own is not None and first is not None and own > first:
            return None
        return start

    @property
    def effective_retirement_date(self) -> datetime | None:
        """The model-level date, or the earliest SKU date when the model-level one is absent."""
        if self.retirement_date is not None:
            return self.retirement_date
        dates = [d for _, d in self.sku_retirement_dates]
        return min(dates) if dates else None

    def retirement_windows(self) -> tuple[RetirementWindow, ...]:
        """Distinct retirement dates, earliest first, each with the SKUs it applies to."""
        by_date: dict[datetime, list[str]] = {}
        wildcard: set[datetime] = set()
        if self.retirement_date is not None:
            wildcard.add(self.retirement_date)
            by_date.setdefault(self.retirement_date, [])
        for sku, date in self.sku_retirement_dates:
            by_date.setdefault(date, []).append(sku)
        return tuple(
            RetirementWindow(date, None if date in wildcard else tuple(sorted(by_date[date])))
            for date in sorted(by_date)
        )


@dataclass(frozen=True)
class ParsedCatalog:
    """The outcome of parsing one location's catalog: versions kept, and what was skipped and why."""

    versions: tuple[ModelVersion, ...]
    problems: tuple[str, ...] = ()
    # Keys of entries that were recognisable but malformed: the diff treats them as "unknown this cycle",
    # never as removed, so a bad entry cannot cause a false retirement.
    unreadable: frozenset[VersionKey] = field(default_factory=frozenset)

    def by_key(self) -> dict[VersionKey, ModelVersion]:
        return {v.key: v for v in self.versions}


class _EntryError(PermanentError, ValueError):
    pass


def _opt_str(obj: Mapping[str, object], name: str, where: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _EntryError(f"{where}.{name} is {type(value).__name__}, expected a string")
    return value


def _req_str(obj: Mapping[str, object], name: str, where: str) -> str:
    value = _opt_str(obj, name, where)
    if not value or not value.strip():
        raise _EntryError(f"{where}.{name} is missing or empty")
    return value.strip()


def _opt_dict(obj: Mapping[str, object], name: str, where: str) -> Mapping[str, object] | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _EntryError(f"{where}.{name} is {type(value).__name__}, expected an object")
    return value


def _date(obj: Mapping[str, object], name: str, where: str) -> datetime | None:
    try:
        return parse_catalog_date(obj.get(name))
    except ValueError as exc:
        raise _EntryError(f"{where}.{name}: {exc}") from None


def _bool(obj: Mapping[str, object], name: str, where: str) -> bool | None:
    value = obj.get(name)
    if value is None or isinstance(value, bool):
        return value
    # capabilities-style string booleans appear in this API; accept them rather than drop the entry
    if isinstance(value, str) and value.casefold() in {"true", "false"}:
        return value.casefold() == "true"
    raise _EntryError(f"{where}.{name} is {value!r}, expected true or false")


def _opt_int(obj: Mapping[str, object], name: str, where: str) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _EntryError(f"{where}.{name} is {value!r}, expected an integer")
    try:
        return int(value)
    except ValueError:
        raise _EntryError(f"{where}.{name} is {value!r}, expected an integer") from None


def _parse_replacement(model: Mapping[str, object]) -> Replacement | None:
    cfg = _opt_dict(model, "replacementConfig", "model")
    if cfg is None:
        return None
    where = "model.replacementConfig"
    replacement = Replacement(
        target_model_name=_opt_str(cfg, "targetModelName", where),
        target_model_version=_opt_str(cfg, "targetModelVersion", where),
        auto_upgrade_start=_date(cfg, "autoUpgradeStartDate", where),
        upgrade_on_expiry_lead_days=_opt_int(cfg, "upgradeOnExpiryLeadTimeDays", where),
    )
    return None if replacement == Replacement() else replacement


def _parse_entry(item: object) -> ModelVersion:
    if not isinstance(item, dict):
        raise _EntryError(f"entry is {type(item).__name__}, expected an object")
    model = _opt_dict(item, "model", "entry")
    if model is None:
        raise _EntryError("entry.model is missing")
    fmt = _req_str(model, "format", "model")
    name = _req_str(model, "name", "model")
    version = _req_str(model, "version", "model")
    deprecation = _opt_dict(model, "deprecation", "model") or {}
    skus_raw = model.get("skus") or []
    if not isinstance(skus_raw, list):
        raise _EntryError("model.skus is not a list")
    skus: list[str] = []
    sku_dates: dict[str, datetime] = {}
    for index, sku in enumerate(skus_raw):
        if not isinstance(sku, dict):
            raise _EntryError(f"model.skus[{index}] is not an object")
        sku_name = _req_str(sku, "name", f"model.skus[{index}]")
        skus.append(sku_name)
        sku_date = _date(sku, "deprecationDate", f"model.skus[{index}]")
        if sku_date is not None:
            sku_dates[sku_name] = sku_date
    kind = _opt_str(item, "kind", "entry")
    return ModelVersion(
        created_at=_created_at(model),
        format=fmt,
        name=name,
        version=version,
        is_default=bool(_bool(model, "isDefaultVersion", "model")),
        lifecycle_status=_opt_str(model, "lifecycleStatus", "model"),
        retirement_date=_date(deprecation, "inference", "model.deprecation"),
        fine_tune_retirement_date=_date(deprecation, "fineTune", "model.deprecation"),
        deprecation_status=_opt_str(deprecation, "deprecationStatus", "model.deprecation"),
        sku_retirement_dates=tuple(sorted(sku_dates.items(), key=lambda kv: kv[0].casefold())),
        skus=tuple(sorted(set(skus), key=str.casefold)),
        kinds=(kind,) if kind else (),
        replacement=_parse_replacement(model),
    )


def _created_at(model: Mapping[str, object]) -> datetime | None:
    """Informational only: a malformed or missing createdAt never costs us the entry."""
    system = model.get("systemData")
    if not isinstance(system, dict):
        return None
    try:
        return parse_catalog_date(system.get("createdAt"))
    except ValueError:
        return None


def _entry_key(item: object) -> VersionKey | None:
    """Best-effort identity of a malformed entry, so it can be named and protected from 'removal'."""
    if not isinstance(item, dict) or not isinstance(item.get("model"), dict):
        return None
    model = item["model"]
    parts = [model.get("format"), model.get("name"), model.get("version")]
    if all(isinstance(p, str) and p.strip() for p in parts):
        return VersionKey(*(str(p).strip() for p in parts))
    return None


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return min(a, b)


def _merge(a: ModelVersion, b: ModelVersion) -> ModelVersion:
    """Merge two listings of one version (one per account kind). Dates: the earliest, to warn early."""
    sku_dates = dict(a.sku_retirement_dates)
    for sku, date in b.sku_retirement_dates:
        sku_dates[sku] = min(date, sku_dates.get(sku, date))
    return ModelVersion(
        format=a.format,
        name=a.name,
        version=a.version,
        is_default=a.is_default or b.is_default,
        lifecycle_status=a.lifecycle_status or b.lifecycle_status,
        retirement_date=_earliest(a.retirement_date, b.retirement_date),
        fine_tune_retirement_date=_earliest(a.fine_tune_retirement_date, b.fine_tune_retirement_date),
        deprecation_status=a.deprecation_status or b.deprecation_status,
        sku_retirement_dates=tuple(sorted(sku_dates.items(), key=lambda kv: kv[0].casefold())),
        skus=tuple(sorted(set(a.skus) | set(b.skus), key=str.casefold)),
        kinds=tuple(sorted(set(a.kinds) | set(b.kinds))),
        replacement=a.replacement or b.replacement,
        created_at=_earliest(a.created_at, b.created_at),
    )


def parse_models(
    items: Iterable[object], *, formats: frozenset[str] | None = frozenset({"openai"})
) -> ParsedCatalog:
    """Normalise raw ``Models - List`` items. ``formats`` (casefolded) filters; None keeps every format.

    A malformed entry is skipped with a problem naming it; the rest of the catalog is kept.
    """
    merged: dict[VersionKey, ModelVersion] = {}
    problems: list[str] = []
    unreadable: set[VersionKey] = set()
    for index, item in enumerate(items):
        try:
            version = _parse_entry(item)
        except _EntryError as exc:
            key = _entry_key(item)
            if key is not None and (formats is None or key.format.casefold() in formats):
                unreadable.add(key)
            label = str(key) if key is not None else f"entry #{index}"
            problems.append(f"skipped {label}: {exc}")
            continue
        if formats is not None and version.format.casefold() not in formats:
            continue
        previous = merged.get(version.key)
        merged[version.key] = version if previous is None else _merge(previous, version)
    # a version readable under one kind and unreadable under another is still known: keep what we read
    unreadable -= merged.keys()
    ordered = tuple(merged[k] for k in sorted(merged))
    return ParsedCatalog(ordered, tuple(problems), frozenset(unreadable))


def default_versions(versions: Iterable[ModelVersion]) -> dict[tuple[str, str], str]:
    """(format, name) -> default version. When the catalog flags several, the highest version string wins."""
    defaults: dict[tuple[str, str], str] = {}
    for v in versions:
        if v.is_default:
            current = defaults.get((v.format, v.name))
            if current is None or v.version > current:
                defaults[(v.format, v.name)] = v.version
    return defaults

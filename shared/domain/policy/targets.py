"""Where a deployment goes: Azure's target as the catalog names it, and the version modelwatch may write itself."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.domain.catalog import ModelVersion, VersionKey, default_versions
from shared.domain.deployments import Deployment
from shared.domain.policy.assessment import CANNOT_CHANGE_MODEL, PREVIEW_UPGRADE_DELAY

_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_newer(candidate: ModelVersion, current: ModelVersion | None, current_version: str) -> bool | None:
    """Whether candidate is a newer version of the same model than current; None when it cannot be told."""
    if candidate.version == current_version:
        return False
    if (
        current is not None
        and candidate.created_at is not None
        and current.created_at is not None
        and candidate.created_at != current.created_at
    ):
        return candidate.created_at > current.created_at
    if _DATED.match(candidate.version) and _DATED.match(current_version):
        return candidate.version > current_version
    # "0613" vs "0125" are month-day stamps of different years: string order lies; ask the retirement dates
    if (
        current is not None
        and candidate.retirement_date
        and current.retirement_date
        and candidate.retirement_date != current.retirement_date
    ):
        return candidate.retirement_date > current.retirement_date
    return None


class Source(StrEnum):
    """Where a target comes from."""

    REPLACEMENT = "replacement"  # the catalog's replacementConfig
    DEFAULT = "default"  # a newer default of the same model
    PREVIEW = "preview"  # a newer preview


@dataclass(frozen=True)
class Target:
    """Where a deployment goes: Azure's move, or modelwatch's write."""

    model: str
    version: str
    source: Source
    start: datetime | None  # when Azure starts moving auto-update deployments (None: no published start)
    entry: ModelVersion | None  # the target's entry in the deployment's region; None: not offered there

    @property
    def label(self) -> str:
        return f"{self.model} {self.version}"


def azure_target(
    d: Deployment,
    current: ModelVersion | None,
    catalog: Mapping[VersionKey, ModelVersion],
    now: datetime,
    *,
    previews: bool,
) -> tuple[Target | None, list[str]]:
    """What Azure moves this deployment to, as the catalog says; None (and why) when it names nothing usable."""
    problems: list[str] = []
    replacement = current.replacement if current is not None else None
    if replacement is not None and replacement.target_model_version:
        model = replacement.target_model_name or d.model_name
        version = replacement.target_model_version
        entry = catalog.get(VersionKey(d.model_format, model, version))
        same = model == d.model_name
        if entry is not None and entry.is_retired_for(d.sku_name, now):
            problems.append(f"{model} {version} is itself retired")
        elif same and entry is not None and is_newer(entry, current, d.model_version) is False:
            problems.append(f"{model} {version} is older than {d.model_version}: never a downgrade")
        elif not (same and version == d.model_version):
            # a replacement of another model is not ordered against this one: Azure names it, Azure moves to it
            # the start is model-level in the API; a SKU with its own later date keeps its own (per-SKU schedules)
            start = current.upgrade_start_for_sku(d.sku_name) if current is not None else None
            return Target(model, version, Source.REPLACEMENT, start, entry), problems
    default = default_versions(catalog.values()).get((d.model_format, d.model_name))
    entry = catalog.get(VersionKey(d.model_format, d.model_name, default)) if default else None
    if default is not None and default != d.model_version and entry is not None:
        label = f"{d.model_name} {default}"
        newer = is_newer(entry, current, d.model_version)
        if entry.is_retired_for(d.sku_name, now):
            problems.append(f"{label} is itself retired")
        elif newer is False:
            problems.append(f"{label} is older than {d.model_version}: never a downgrade")
        elif newer or current is None or current.is_retired_for(d.sku_name, now):
            return Target(d.model_name, default, Source.DEFAULT, None, entry), problems
        else:
            problems.append(f"cannot tell whether {label} is newer than {d.model_version}")
    if previews and current is not None and current.created_at is not None and is_preview(current):
        later = [
            v
            for v in catalog.values()
            if (v.format, v.name) == (d.model_format, d.model_name)
            and is_preview(v)
            and v.created_at is not None
            and v.created_at > current.created_at
            and not v.is_retired_for(d.sku_name, now)
        ]
        if later:
            newest = max(later, key=_created)
            start = _created(newest) + PREVIEW_UPGRADE_DELAY
            return Target(d.model_name, newest.version, Source.PREVIEW, start, newest), problems
    return None, list(dict.fromkeys(problems))


def is_preview(v: ModelVersion) -> bool:
    return (v.lifecycle_status or "").casefold() == "preview"


def _created(v: ModelVersion) -> datetime:
    assert v.created_at is not None  # callers filter on it
    return v.created_at


def write_problem(d: Deployment, t: Target, current: ModelVersion | None, now: datetime) -> str | None:
    """Why modelwatch may not write this target itself (None: it may)."""
    if t.entry is None:
        return f"{t.label} is not offered in {d.location}"
    if t.entry.is_retired_for(d.sku_name, now):
        return f"{t.label} is itself retired"
    if t.model != d.model_name:
        if not d.is_provisioned:
            return f"{t.label} is a different model: {CANNOT_CHANGE_MODEL}"
        return None  # provisioned: the documented in-place migration may change the model family
    newer = is_newer(t.entry, current, d.model_version)
    if newer is False:
        return f"{t.label} is older than {d.model_version}: never a downgrade"
    if newer is None and current is not None and not current.is_retired_for(d.sku_name, now):
        return f"cannot tell whether {t.label} is newer than {d.model_version}"
    return None


def our_target(
    d: Deployment,
    azure: Target | None,
    current: ModelVersion | None,
    catalog: Mapping[VersionKey, ModelVersion],
    now: datetime,
) -> tuple[Target | None, list[str]]:
    """The version modelwatch would write: Azure's target when ARM accepts it, else its own model's default."""
    candidates: list[Target] = [azure] if azure is not None else []
    default = default_versions(catalog.values()).get((d.model_format, d.model_name))
    if default is not None and default != d.model_version:
        entry = catalog.get(VersionKey(d.model_format, d.model_name, default))
        own = Target(d.model_name, default, Source.DEFAULT, None, entry)
        if all(c.label != own.label for c in candidates):
            candidates.append(own)
    problems: list[str] = []
    for candidate in candidates:
        problem = write_problem(d, candidate, current, now)
        if problem is None:
            return candidate, problems
        problems.append(problem)
    return None, list(dict.fromkeys(problems))


def source_text(t: Target) -> str:
    return {
        Source.REPLACEMENT: "replacement Azure names",
        Source.DEFAULT: "current default",
        Source.PREVIEW: "newer preview",
    }[t.source]

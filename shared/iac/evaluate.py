"""Judge pins: (pins, catalog, inventory, now) -> findings with a status and a recommendation. Pure.

Rules (sources: https://learn.microsoft.com/rest/api/aiservices/accountmanagement/models/list, https://learn.microsoft.com/azure/ai-foundry/openai/how-to/working-with-models, https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements; docs/predictions.md):
- A deployment type's date is ``ModelVersion.retirement_for_sku`` of the template's SKU (absent: ``Standard``, as
  ARM defaults it): retired when that date has passed or the catalog says ``Deprecated``; retiring when a date is
  set; ``not-offered`` when the version is missing from the catalog of a known region; ``unknown`` when the model,
  version or region needed for the answer cannot be known statically (the finding names the expression).
- Drift: the inventory's deployment of the same account and name (case-insensitive) runs another version. The next
  deployment of the template writes the pinned version back (ARM PUT is create-or-replace), fails when that version
  is retired or not offered (``DeploymentModelNotSupported``), and a changed model name is refused
  (``CannotChangeDeploymentModel``).
- Recommendation: the live version when Azure moved the deployment forward (pin what runs); else, for a version
  that is retired, retiring or not offered, the catalog's ``replacementConfig`` target (another model when the
  catalog says so) or the model's default version, whichever is first offered, not retired for this SKU, and not
  older; else keep the pin. The upgrade option follows the team's recorded policy: ``modelwatch:policy=pin`` on the
  live deployment means ``NoAutoUpgrade``; an option set on the live deployment (a rollback sets ``NoAutoUpgrade``)
  wins over the template's; otherwise the template's stays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.domain.catalog import ModelVersion, VersionKey, default_versions
from shared.domain.deployments import Deployment, UpgradeOption
from shared.domain.policy import is_newer
from shared.domain.timeutil import days_until
from shared.iac.pins import Lit, Pin, Unknown, scalar_text, unknown_reason
from shared.iac.rules import Facts, Finding, Recommendation, Status, trips, verdict
from shared.iac.values import disabled_reason

DEFAULT_SKU = "Standard"  # ARM's default when a deployment names no SKU


def _norm(key: VersionKey) -> tuple[str, str, str]:
    return (key.format.casefold(), key.name.casefold(), key.version.casefold())


@dataclass(frozen=True)
class CatalogView:
    """The catalog one pin is judged against, with what it is (for the detail)."""

    versions: Mapping[tuple[str, str, str], ModelVersion]
    region_known: bool  # the pin's region has a catalog of its own: a missing version is not-offered
    note: str | None = None

    def get(self, fmt: str, name: str, version: str) -> ModelVersion | None:
        return self.versions.get((fmt.casefold(), name.casefold(), version.casefold()))


@dataclass(frozen=True)
class CatalogIndex:
    """Catalogs by region (casefolded), or one catalog that serves every region (a region-less catalog file)."""

    regions: Mapping[str, Mapping[VersionKey, ModelVersion]]
    source: str
    any_region: Mapping[VersionKey, ModelVersion] | None = None
    _union: dict[tuple[str, str, str], ModelVersion] = field(default_factory=dict, compare=False, repr=False)

    def view(self, region: str | None) -> CatalogView:
        if self.any_region is not None:
            return CatalogView({_norm(k): v for k, v in self.any_region.items()}, region is not None)
        if region is not None and region.casefold() in self.regions:
            catalog = self.regions[region.casefold()]
            return CatalogView({_norm(k): v for k, v in catalog.items()}, True)
        known = ", ".join(sorted(self.regions)) or "none"
        if region is not None:
            note = f"no catalog of {region} in {self.source}: judged against the union of {known}"
        else:
            note = f"region not resolvable: judged against the union of the known regions ({known})"
        return CatalogView(self.union(), False, note)

    def union(self) -> dict[tuple[str, str, str], ModelVersion]:
        """Every region's versions; a version listed in several regions keeps its earliest retirement."""
        if not self._union:
            for catalog in self.regions.values():
                for key, version in catalog.items():
                    current = self._union.get(_norm(key))
                    if current is None or _earlier(version, current):
                        self._union[_norm(key)] = version
        return self._union

    def offered_in(self, fmt: str, name: str, version: str) -> list[str]:
        wanted = (fmt.casefold(), name.casefold(), version.casefold())
        return sorted(r for r, c in self.regions.items() if any(_norm(k) == wanted for k in c))


def _earlier(a: ModelVersion, b: ModelVersion) -> bool:
    """Whether listing ``a`` is the more urgent one: retired first, then the earlier date."""
    if a.is_status_retired != b.is_status_retired:
        return a.is_status_retired
    da, db = a.effective_retirement_date, b.effective_retirement_date
    return da is not None and (db is None or da < db)


def _retired(version: ModelVersion, sku: str, now: datetime) -> bool:
    date = version.retirement_for_sku(sku)
    return version.is_status_retired or (date is not None and date <= now)


def _live(
    pin: Pin, inventory: Sequence[Deployment] | None, region: str | None
) -> tuple[Deployment | None, str]:
    if inventory is None:
        return None, ""
    account, name = scalar_text(pin.account), scalar_text(pin.name)
    if account is None:
        return None, "drift not checked: " + unknown_reason(pin.account, "the account name")
    if name is None:
        return None, "drift not checked: " + unknown_reason(pin.name, "the deployment name")
    matches = [
        d
        for d in inventory
        if d.name.casefold() == name.casefold()
        and d.account_id.rstrip("/").rsplit("/", 1)[-1].casefold() == account.casefold()
    ]
    if region is not None and len(matches) > 1:
        matches = [d for d in matches if d.location.casefold() == region.casefold()] or matches
    if not matches:
        return None, f"no live deployment {account}/{name} in the inventory"
    note = (
        f"{len(matches)} live deployments named {account}/{name}: compared with the first"
        if len(matches) > 1
        else ""
    )
    return sorted(matches, key=lambda d: d.key)[0], note


def _option(pin_option: str | None, live: Deployment | None) -> tuple[str | None, str]:
    if live is not None and live.policy_tag == "pin":
        return UpgradeOption.NO_AUTO.value, "the live deployment is tagged modelwatch:policy=pin"
    if (
        live is not None
        and live.upgrade_option
        and live.upgrade_option != (pin_option or UpgradeOption.ONCE_EXPIRED.value)
    ):
        return live.upgrade_option, f"the live deployment is set to {live.upgrade_option}"
    return pin_option, ""


def judge(
    pin: Pin,
    catalogs: CatalogIndex,
    inventory: Sequence[Deployment] | None,
    now: datetime,
) -> Finding:
    """One pin's finding as of ``now``: the rule whose check applies (shared/iac/rules.py), drift laid over it."""
    region = scalar_text(pin.location)
    view = catalogs.view(region)
    facts = _facts(pin, catalogs, view, now)
    notes = _notes(pin, view, region)
    where = pin.model_version.span if isinstance(pin.model_version, Lit | Unknown) else None
    file, line = (where.path, where.line) if where is not None else (pin.file, pin.line)

    def make(**fields: Any) -> Finding:
        return Finding(
            pin=pin,
            file=file,
            line=line,
            region=region,
            account=scalar_text(pin.account),
            name=scalar_text(pin.name),
            model=facts.model,
            version=facts.version,
            sku=facts.sku,
            upgrade_option=scalar_text(pin.upgrade_option),
            notes=tuple(notes),
            **fields,
        )

    live, live_note = _live(pin, inventory, region)
    if live_note:
        notes.append(live_note)
    live_fields = {"live_version": live.model_version, "live_model": live.model_name} if live else {}
    status, detail = verdict(facts)
    if not facts.looked_up or facts.model is None or facts.version is None:
        return make(status=status, catalog_status=status, detail=detail, **live_fields)
    if facts.current is not None and (facts.current.lifecycle_status or "").casefold() == "deprecating":
        notes.append("Deprecating: closed to new customers, so creating this deployment anew may be refused")
    drift_text = _drift(facts, status, view, live)
    recommendation = _recommend(
        fmt=facts.fmt,
        model=facts.model,
        version=facts.version,
        sku=facts.sku,
        current=facts.current,
        status=status,
        view=view,
        live=live,
        pin_option=scalar_text(pin.upgrade_option),
        now=now,
    )
    return make(
        status=Status.DRIFT if drift_text else status,
        catalog_status=status,
        retirement_date=facts.date,
        days_left=facts.days,
        recommended=recommendation,
        detail="; ".join(p for p in [detail, drift_text, *_advice(facts, recommendation, live)] if p),
        **live_fields,
    )


def _facts(pin: Pin, catalogs: CatalogIndex, view: CatalogView, now: datetime) -> Facts:
    fmt = scalar_text(pin.model_format) or "OpenAI"
    model, version = scalar_text(pin.model_name), scalar_text(pin.model_version)
    sku = scalar_text(pin.sku) or DEFAULT_SKU
    sku_known = pin.sku is None or scalar_text(pin.sku) is not None
    looked_up = model is not None and version is not None and sku_known
    current = view.get(fmt, model, version) if looked_up and model and version else None
    missing = looked_up and current is None and model is not None and version is not None
    date = current.retirement_for_sku(sku) if current is not None else None
    return Facts(
        pin=pin,
        fmt=fmt,
        model=model,
        version=version,
        sku=sku,
        sku_known=sku_known,
        region=scalar_text(pin.location),
        current=current,
        region_known=view.region_known,
        elsewhere=tuple(catalogs.offered_in(fmt, model, version)) if missing and model and version else (),
        source=catalogs.source,
        date=date,
        days=days_until(date, now) if date is not None else None,
        retired=current is not None and _retired(current, sku, now),
    )


def _notes(pin: Pin, view: CatalogView, region: str | None) -> list[str]:
    """What a reader should know about how the pin was judged (before the live deployment is looked at)."""
    notes: list[str] = []
    disabled = disabled_reason(pin.context)
    if disabled is not None:
        notes.append(f"{disabled}; --fail-on counts it only with --include-disabled")
    if view.note:
        notes.append(view.note)
    if view.note and region is None and pin.location is not None:
        notes.append(unknown_reason(pin.location, "the region"))
    for value in (pin.model_name, pin.model_version):
        if isinstance(value, Lit):
            notes.extend(n for n in value.notes if "may override" in n or "may replace" in n)
    return notes


def _drift(facts: Facts, status: Status, view: CatalogView, live: Deployment | None) -> str:
    """What the next deployment does to a live deployment that runs another model or version ("" when none)."""
    model, version = facts.model or "", facts.version or ""
    if live is None or (live.model_version == version and live.model_name.casefold() == model.casefold()):
        return ""
    running = f"{live.model_name} {live.model_version}"
    if live.model_name.casefold() != model.casefold():
        return (
            f"the live deployment runs {running}: the next deployment would try to change its model "
            f"back to {model}, which ARM refuses (CannotChangeDeploymentModel)"
        )
    if status == Status.RETIRED:
        return f"the live deployment runs {running}: the next deployment would fail: {version} is retired"
    if status == Status.NOT_OFFERED:
        return (
            f"the live deployment runs {running}: the next deployment would fail: {version} is not "
            f"offered in {facts.region} (DeploymentModelNotSupported)"
        )
    live_current = view.get(facts.fmt, live.model_name, live.model_version)
    newer = is_newer(live_current, facts.current, version) if live_current is not None else None
    verb = "move it back to" if newer else "move it to"
    return f"the live deployment runs {running}: the next deployment would {verb} {version}"


def _advice(facts: Facts, recommendation: Recommendation | None, live: Deployment | None) -> list[str]:
    """The detail's last parts: what to move to, and what moving means."""
    model, version = facts.model or "", facts.version
    parts: list[str] = []
    if recommendation is not None and recommendation.reason.startswith("keep: "):
        parts.append("nothing to move to: " + recommendation.reason.removeprefix("keep: "))
    if recommendation is not None and (recommendation.model, recommendation.version) != (model, version):
        parts.append(
            f"recommended: {recommendation.model} {recommendation.version} ({recommendation.reason})"
        )
        runs_it = live is not None and (live.model_name.casefold(), live.model_version) == (
            recommendation.model.casefold(),
            recommendation.version,
        )
        if runs_it:
            parts.append("pinning what runs makes the next deployment change nothing")
        elif recommendation.model.casefold() != model.casefold():
            parts.append(
                "a new model name means a new deployment: ARM refuses to change the model of an existing "
                "one (CannotChangeDeploymentModel), so rename the deployment or recreate it"
            )
    return parts


def _recommend(
    *,
    fmt: str,
    model: str,
    version: str,
    sku: str,
    current: ModelVersion | None,
    status: Status,
    view: CatalogView,
    live: Deployment | None,
    pin_option: str | None,
    now: datetime,
) -> Recommendation | None:
    option, option_why = _option(pin_option, live)
    suffix = f"; {option_why}" if option_why else ""
    if live is not None and live.model_name.casefold() == model.casefold() and live.model_version != version:
        running = view.get(fmt, model, live.model_version)
        newer = is_newer(running, current, version) if running is not None else None
        if (
            running is not None
            and not _retired(running, sku, now)
            and (newer or status in (Status.RETIRED, Status.NOT_OFFERED))
        ):
            return Recommendation(
                model,
                live.model_version,
                option,
                "Azure moved the live deployment forward: pin what runs" + suffix,
            )
    if live is not None and live.model_name.casefold() != model.casefold():
        # Azure's upgrade crosses model names (gpt-4o -> gpt-5.1): when what runs is the replacement the catalog
        # names for the pinned version, pin what runs; the next deployment then changes nothing
        running = view.get(fmt, live.model_name, live.model_version)
        replacement = current.replacement if current is not None else None
        if (
            running is not None
            and not _retired(running, sku, now)
            and replacement is not None
            and (replacement.target_model_name or model).casefold() == live.model_name.casefold()
            and replacement.target_model_version == live.model_version
        ):
            return Recommendation(
                live.model_name,
                live.model_version,
                option,
                "the live deployment already runs the catalog's replacement, another model: pin what runs"
                + suffix,
            )
    if status not in (Status.RETIRED, Status.RETIRING, Status.NOT_OFFERED):
        return Recommendation(model, version, option, "keep" + suffix)
    candidates: list[tuple[str, str, str]] = []
    replacement = current.replacement if current is not None else None
    if replacement is not None and replacement.target_model_version:
        target_name = replacement.target_model_name or model
        other = " (another model)" if target_name.casefold() != model.casefold() else ""
        candidates.append(
            (target_name, replacement.target_model_version, f"the catalog's replacement{other}")
        )
    defaults = default_versions(view.versions.values())
    catalog_name = next(
        (v for v in view.versions.values() if _n(v) == (fmt.casefold(), model.casefold())), None
    )
    default = defaults.get((catalog_name.format, catalog_name.name)) if catalog_name is not None else None
    if default is not None:
        candidates.append((model, default, f"the catalog's default version of {model}"))
    problems: list[str] = []
    for name, target_version, why in candidates:
        if (name.casefold(), target_version) == (model.casefold(), version):
            continue
        target = view.get(fmt, name, target_version)
        if target is None:
            problems.append(f"{name} {target_version} is not in the catalog")
            continue
        if _retired(target, sku, now):
            problems.append(f"{name} {target_version} is itself retired for {sku}")
            continue
        if (
            name.casefold() == model.casefold()
            and current is not None
            and is_newer(target, current, version) is False
        ):
            problems.append(f"{name} {target_version} is older than {version}")
            continue
        return Recommendation(name, target_version, option, why + suffix)
    why = "; ".join(problems) if problems else "the catalog names no replacement"
    return Recommendation(model, version, option, f"keep: {why}" + suffix)


def _n(version: ModelVersion) -> tuple[str, str]:
    return (version.format.casefold(), version.name.casefold())


def evaluate(
    pins: Sequence[Pin],
    catalogs: CatalogIndex,
    inventory: Sequence[Deployment] | None,
    now: datetime,
) -> list[Finding]:
    """Every pin's finding, in file and line order."""
    findings = [judge(pin, catalogs, inventory, now) for pin in pins]
    return sorted(findings, key=lambda f: (str(f.file), f.line, f.name or "", f.model or ""))


def matches(
    finding: Finding, kind: Status, within_days: int | None, *, include_disabled: bool = False
) -> bool:
    """Whether a finding trips ``--fail-on kind`` (``retiring`` includes retired: it is past its date). A
    deployment that is not deployed by default counts only with ``include_disabled``."""
    if not include_disabled and disabled_reason(finding.pin.context) is not None:
        return False
    return trips(finding, kind, within_days)

"""Scan paths and judge the pins: the use case behind ``iac scan`` and ``iac fix`` (and the demo's sample scan)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from shared.iac.evaluate import CatalogIndex, evaluate
from shared.iac.inputs import State, bundled_catalogs, file_catalogs, state_catalogs
from shared.iac.model import Finding, ScanWarning, scalar_text
from shared.iac.scan import scan


@dataclass(frozen=True)
class ScanReport:
    findings: list[Finding]
    warnings: tuple[ScanWarning, ...]
    files: tuple[Path, ...]
    catalog_source: str
    as_of: datetime
    notes: list[str] = field(default_factory=list)  # what the reader should know about the inputs


def scan_and_judge(
    paths: list[Path],
    *,
    at: datetime | None = None,
    catalog_file: Path | None = None,
    state: State | None = None,
    catalogs: CatalogIndex | None = None,
) -> ScanReport:
    """Find the pins under ``paths`` and judge them. The catalog: ``catalogs`` when given, else ``catalog_file``,
    else the state store's snapshots of the regions involved, else the bundled sample (said in ``notes``)."""
    result = scan(paths)
    notes: list[str] = []
    as_of: datetime | None = None
    if catalogs is None and catalog_file is not None:
        catalogs, as_of = file_catalogs(catalog_file)
    if catalogs is None and state is not None:
        regions = {scalar_text(p.location) or "" for p in result.pins} | {d.location for d in state.inventory}
        catalogs = state_catalogs(state, regions)
        if catalogs is None:
            notes.append(f"the state store ({state.description}) holds no catalog snapshot of these regions")
    if catalogs is None:
        catalogs, as_of = bundled_catalogs()
        notes.append(
            f"judged against {catalogs.source}, as of {as_of:%Y-%m-%d}: pass --catalog-file, or run `check` "
            "with WATCH_SUBSCRIPTION_ID set, for the live catalog"
            if as_of
            else f"judged against {catalogs.source}"
        )
    now = at or as_of or datetime.now(UTC)
    inventory = state.inventory if state is not None else None
    if state is None:
        notes.append("no state store: drift against live deployments not checked")
    findings = evaluate(result.pins, catalogs, inventory, now)
    return ScanReport(findings, result.warnings, result.files, catalogs.source, now, notes)

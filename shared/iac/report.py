"""Scan paths and judge the pins: the use case behind ``iac scan`` and ``iac fix`` (and the demo's sample scan)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from shared.iac import confine, gate
from shared.iac.evaluate import CatalogIndex, evaluate
from shared.iac.inputs import State, bundled_catalogs, file_catalogs, state_catalogs
from shared.iac.pins import ScanWarning, scalar_text
from shared.iac.rules import Finding
from shared.iac.scan import scan
from shared.iac.source import SourceError, SourceText


@dataclass(frozen=True)
class ScanReport:
    findings: list[Finding]  # suppressed ones included (``suppressed`` set); baselined ones left out
    warnings: tuple[ScanWarning, ...]
    files: tuple[Path, ...]
    catalog_source: str
    as_of: datetime
    notes: list[str] = field(default_factory=list)  # what the reader should know about the inputs
    sample_catalog: bool = False  # judged against the bundled sample: a gate must not trust it
    baselined: int = 0  # findings left out because the baseline holds them


class _Lines:
    """Lines of the files findings point to, read under the scan's confinement (for suppressions and
    fingerprints). A file that cannot be read has no lines."""

    def __init__(self, roots: list[Path] | None) -> None:
        self._roots = roots
        self._files: dict[Path, list[str] | None] = {}

    def __call__(self, path: Path, line: int) -> str | None:
        if path not in self._files:
            try:
                if self._roots is None:
                    text = SourceText.read(path).text
                else:
                    with confine.confined(self._roots):
                        text = SourceText.read(path).text
                self._files[path] = [line.rstrip("\r") for line in text.split("\n")]
            except SourceError:
                self._files[path] = None
        lines = self._files[path]
        return lines[line - 1] if lines is not None and 1 <= line <= len(lines) else None


def scan_and_judge(
    paths: list[Path],
    *,
    at: datetime | None = None,
    catalog_file: Path | None = None,
    state: State | None = None,
    catalogs: CatalogIndex | None = None,
    roots: list[Path] | None = None,
    root: Path | None = None,
    baseline: frozenset[tuple[str, str]] | None = None,
) -> ScanReport:
    """Find the pins under ``paths`` and judge them. The catalog: ``catalogs`` when given, else ``catalog_file``,
    else the state store's snapshots of the regions involved, else the bundled sample (said in ``notes``).
    Nothing outside ``roots`` is read (default: each path is its own root); ``root``: what fingerprints are
    relative to (the output's root); ``baseline``: findings it holds are left out."""
    result = scan(paths, roots)
    notes: list[str] = []
    as_of: datetime | None = None
    sample = False
    if catalogs is None and catalog_file is not None:
        catalogs, as_of = file_catalogs(catalog_file)
    if catalogs is None and state is not None:
        regions = {scalar_text(p.location) or "" for p in result.pins} | {d.location for d in state.inventory}
        catalogs = state_catalogs(state, regions)
        if catalogs is None:
            notes.append(f"the state store ({state.description}) holds no catalog snapshot of these regions")
    if catalogs is None:
        catalogs, as_of = bundled_catalogs()
        sample = True
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
    lines = _Lines(roots if roots is not None else [p if p.is_dir() else p.parent for p in paths])
    findings, problems = gate.suppress(evaluate(result.pins, catalogs, inventory, now), lines)
    prints = gate.fingerprints(findings, root or Path("."), lines)
    findings = [replace(f, fingerprint=fp) for f, fp in zip(findings, prints, strict=True)]
    baselined = 0
    if baseline is not None:
        kept = [f for f in findings if not gate.in_baseline(f, f.fingerprint, baseline)]
        baselined = len(findings) - len(kept)
        findings = kept
        if baselined:
            notes.append(f"{baselined} finding(s) held by the baseline are not reported")
    warnings = (*result.warnings, *problems)
    return ScanReport(findings, warnings, result.files, catalogs.source, now, notes, sample, baselined)

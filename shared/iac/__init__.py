"""Model pins in infrastructure code (issue #17): ``python -m shared iac scan|fix``. CLI only: the function app
never imports this package, and the parsers it uses are imported on first use."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from shared.iac.report import ScanReport

SAMPLE_REPO = Path(__file__).resolve().parents[1] / "data" / "iac-sample"


def scan_sample(out: TextIO, *, at: datetime | None = None, root: Path | None = None) -> ScanReport:
    """Scan the bundled sample repository (azd Bicep, a Terraform module, an ARM template) against the bundled
    sample catalog, print the table, and return the report (for the demo)."""
    from shared.iac.formats import table
    from shared.iac.inputs import bundled_catalogs
    from shared.iac.report import scan_and_judge

    catalogs, as_of = bundled_catalogs()
    report = scan_and_judge([SAMPLE_REPO], at=at or as_of, catalogs=catalogs)
    out.write(f"Model pins in {SAMPLE_REPO.name} as of {report.as_of:%Y-%m-%d}, against {catalogs.source}\n")
    out.write(table(report.findings, report.warnings, root or SAMPLE_REPO))
    return report

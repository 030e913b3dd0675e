"""``report``: the status page (the same one GET /api/status serves), or its data."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from shared.cli.args import Subcommands, describe_command
from shared.cli.context import EXIT_OK, command_context, instant, intro, prog
from shared.cli.output import (
    FORMATS,
    add_out_option,
    add_output_options,
    date_text,
    days_text,
    emit,
    write_table,
)
from shared.cli.state import open_services, warn_if_not_current
from shared.domain.policy import Status

# description and example of each command (--help): (description, example lines)
HELP: dict[str, tuple[str, str]] = {
    "report": (
        "Write the status page (the same one GET /api/status serves): HTML (default) to stdout or --out FILE; "
        "-o json|yaml|table|tsv gives its data.",
        "modelwatch report --out status.html\nmodelwatch report -o json --query counts",
    ),
}


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    """Write the status page (the same one GET /api/status serves): HTML by default, or its JSON document in any
    output format; to stdout, or to a file with --out."""
    from shared.presentation.status_page import render_status_page

    to_file = args.out not in (None, "-")
    ctx = command_context(args)
    intro(ctx, out, to_stderr=not to_file)
    services = open_services(ctx, read_only=True)
    now = args.at or datetime.now(UTC)
    report = services.status(now)
    warn_if_not_current(ctx, report, now, args.at is not None)
    counts = ", ".join(f"{report.count(s)} {s.value}" for s in Status if report.count(s))
    if args.format == "html" and not args.query:
        text = render_status_page(report)
    else:
        import io

        buffer = io.StringIO()

        def table(o: TextIO) -> None:
            rows = [["STATUS", "DEPLOYMENT", "REGION", "MODEL", "VERSION", "WHEN", "DAYS", "WHAT HAPPENS"]]
            for a in report.assessments:
                d = a.deployment
                when = date_text(a.action_date or a.retirement_date)
                rows.append(
                    [
                        a.status.value,
                        d.name,
                        d.location,
                        d.model_name,
                        d.model_version,
                        when,
                        days_text(a.days_left),
                        a.summary,
                    ]
                )
            write_table(rows, o)

        fmt = "json" if args.format == "html" else args.format  # html with --query: the queried JSON
        emit(argparse.Namespace(format=fmt, query=args.query), report.to_json(), buffer, table)
        text = buffer.getvalue()
    if not to_file:
        out.write(text)
        sys.stderr.write(f"{len(report.assessments)} deployment(s): {counts or 'none'}\n")
        return EXIT_OK
    target = Path(args.out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    out.write(f"wrote {target} ({len(report.assessments)} deployment(s): {counts or 'none'})\n")
    return EXIT_OK


def register(subparsers: Subcommands) -> None:
    """Add ``report``."""
    report = subparsers.add_parser("report", help="write the status page to a file or stdout (HTML, or JSON)")
    add_out_option(report, "the file to write, e.g. status.html (default, or -: stdout)")
    report.add_argument("--at", type=instant, help="as of this ISO-8601 instant (default: now)")
    add_output_options(report, formats=("html", *FORMATS), default="html")
    report.set_defaults(handler=cmd_report)
    describe_command(report, HELP["report"], prog())

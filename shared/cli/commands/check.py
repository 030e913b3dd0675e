"""``check``: one catalog watch cycle with the same service as the timer, and what changed."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from shared import bootstrap
from shared.cli.args import Subcommands, describe_command
from shared.cli.context import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    command_context,
    describe_store,
    instant,
    intro,
    prog,
)
from shared.cli.output import documented, emit, write_table
from shared.config import Settings
from shared.domain.describe import describe, location_of, model_label, short_type
from shared.domain.timeutil import format_instant
from shared.services.watch import CycleReport

if TYPE_CHECKING:
    from shared.ports import CatalogStateStore

DATA = Path(__file__).parents[2] / "data"
SAMPLE_TIMELINE = (DATA / "catalog-2025-01-09.json", DATA / "catalog-2025-03-12.json")


# description and example of each command (--help): (description, example lines)
HELP: dict[str, tuple[str, str]] = {
    "check": (
        "Run one catalog watch cycle with the same service as the timer (read the catalog, diff it against the "
        "stored snapshot, record and publish events) and show what changed. Without WATCH_SUBSCRIPTION_ID it "
        "reads the bundled sample catalog; without EVENTGRID_TOPIC_ENDPOINT it appends events to "
        ".modelwatch/events.jsonl.",
        "modelwatch check --dry-run\nmodelwatch check --at 2025-06-01T00:00:00Z -o json",
    ),
}


def print_report(report: CycleReport, out: TextIO) -> None:
    rows = [["LOCATION", "STATUS", "VERSIONS", "CHANGES", "NOTE"]]
    for o in report.locations:
        note = o.error or (f"{len(o.problems)} catalog entr(y/ies) skipped" if o.problems else "")
        rows.append([o.location, o.status, str(o.versions), str(len(o.events)), note])
    write_table(rows, out)
    for o in report.locations:
        for problem in o.problems:
            out.write(f"  ! {o.location}: {problem}\n")
    if report.events_detected:
        out.write("\n")
        events = [["LOCATION", "EVENT", "MODEL", "WHAT"]]
        for e in report.events_detected:
            events.append([location_of(e), short_type(e), model_label(e), describe(e)])
        write_table(events, out)
    out.write("\n" + report.summary() + "\n")


def cycle_json(report: CycleReport) -> dict[str, object]:
    """A catalog cycle's report as data (check, run)."""
    return {
        "at": format_instant(report.at),
        "ok": report.ok,
        "dryRun": report.dry_run,
        "summary": report.summary(),
        "locations": [
            {
                "location": o.location,
                "status": o.status,
                "versions": o.versions,
                "changes": len(o.events),
                "error": o.error,
                "problems": list(o.problems),
            }
            for o in report.locations
        ],
        "events": [e.to_wire() for e in report.events_detected],
        "published": len(report.published),
        "stillPending": report.still_pending,
        "publishError": report.publish_error,
    }


def _catalog_choice(args: argparse.Namespace, settings: Settings, out: TextIO) -> str | None:
    """Which catalog to read: --catalog-file, ARM when configured, else the bundled sample (embedded default)."""
    if args.catalog_file:
        return str(args.catalog_file)
    if settings.watch_subscription_id:
        return None
    sample = SAMPLE_TIMELINE[-1]
    out.write(f"No WATCH_SUBSCRIPTION_ID configured: reading the bundled sample catalog ({sample.name}).\n")
    return str(sample)


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    """Run one catalog watch cycle with the same service as the timer and show what changed."""
    ctx = command_context(args)
    settings = ctx.settings
    as_json = documented(args)
    intro(ctx, out, to_stderr=as_json)
    catalog_file = _catalog_choice(args, settings, sys.stderr if as_json else out)
    source = bootstrap.build_catalog_source(settings, catalog_file=catalog_file)
    locations = _locations(args, settings, source)
    now = args.at or _file_as_of(source) or datetime.now(UTC)
    store: CatalogStateStore | None = None
    deployments = None
    if args.dry_run and ctx.is_missing_file():
        from shared.adapters.memory import InMemoryCatalogStateStore

        store = InMemoryCatalogStateStore()  # a dry run leaves no trace, not even an empty database
    else:
        # read only on a dry run: no table is created either (one not there yet reads as empty)
        prefix, read_only = settings.state_table_prefix, bool(args.dry_run)
        if read_only:
            store = bootstrap.build_state_store(settings.state_store, table_prefix=prefix, read_only=True)
        # as the timer: a version leaving the list is confirmed with the subscriptions the inventory says run it
        deployments = bootstrap.build_deployment_stores(
            settings.state_store, table_prefix=prefix, read_only=read_only
        )
    watcher = bootstrap.build_watcher(settings, source=source, store=store, deployments=deployments)
    if not as_json:
        out.write(
            f"Catalog cycle as of {now:%Y-%m-%d %H:%M} UTC over {', '.join(locations)}"
            f"{'; dry run: nothing written or published' if args.dry_run else ''}\n\n"
        )
    report = watcher.run(locations, now, dry_run=args.dry_run)
    document = {"state": describe_store(ctx.state, settings.state_table_prefix), **cycle_json(report)}
    emit(args, document, out, lambda o: print_report(report, o))
    return EXIT_OK if report.ok else EXIT_FAILED


def _file_as_of(source: object) -> datetime | None:
    value = getattr(source, "as_of", None)
    return value if isinstance(value, datetime) else None


def _locations(args: argparse.Namespace, settings: Settings, source: object) -> list[str]:
    if args.locations:
        return [p.strip().lower() for p in args.locations.split(",") if p.strip()]
    if settings.watch_locations:
        return list(settings.watch_locations)
    from_file = getattr(source, "locations", ())
    if from_file:
        return list(from_file)
    raise UsageError("no locations: set WATCH_LOCATIONS (e.g. eastus,swedencentral) or pass --locations")


def register(subparsers: Subcommands) -> None:
    """Add ``check``."""
    check = subparsers.add_parser("check", help="run one catalog watch cycle and show what changed")
    check.add_argument("--at", type=instant, help="evaluate as of this ISO-8601 instant (default: now)")
    check.add_argument(
        "--catalog-file", help="read an ARM Models - List JSON response instead of calling ARM"
    )
    check.add_argument("--dry-run", action="store_true", help="diff and show, but write and publish nothing")
    check.add_argument("--locations", help="comma-separated locations (default: WATCH_LOCATIONS)")
    check.set_defaults(handler=cmd_check)
    describe_command(check, HELP["check"], prog())

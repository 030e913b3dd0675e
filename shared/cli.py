"""The command line: ``python -m shared <command>``. The same services the functions use, run locally.

Exit codes: 0 success, 1 an operation failed, 2 bad usage or settings.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from shared import bootstrap
from shared.config import Secret, Settings, StateStoreConfig, load_settings
from shared.domain.describe import describe, model_label, short_type
from shared.domain.timeutil import parse_instant
from shared.errors import ModelWatchError, SettingsError
from shared.services.watch import CycleReport

DATA = Path(__file__).parent / "data"
SAMPLE_TIMELINE = (DATA / "catalog-2025-01-09.json", DATA / "catalog-2025-03-12.json")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line usage (exit 2)."""


def _environ() -> dict[str, str]:
    """local.settings.json "Values" first, the real environment over them (as the Functions host does)."""
    return {**bootstrap.read_local_settings(Path.cwd()), **os.environ}


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    if not rows:
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() + "\n")


def print_report(report: CycleReport, out: TextIO) -> None:
    rows = [["LOCATION", "STATUS", "VERSIONS", "CHANGES", "NOTE"]]
    for o in report.locations:
        note = o.error or (f"{len(o.problems)} catalog entr(y/ies) skipped" if o.problems else "")
        rows.append([o.location, o.status, str(o.versions), str(len(o.events)), note])
    _table(rows, out)
    for o in report.locations:
        for problem in o.problems:
            out.write(f"  ! {o.location}: {problem}\n")
    if report.events_detected:
        out.write("\n")
        events = [["LOCATION", "EVENT", "MODEL", "WHAT"]]
        for e in report.events_detected:
            events.append([str(e.data.get("location", "")), short_type(e), model_label(e), describe(e)])
        _table(events, out)
    out.write("\n" + report.summary() + "\n")


def _catalog_choice(
    args: argparse.Namespace, settings: Settings, out: TextIO
) -> tuple[str | None, datetime | None]:
    """Which catalog to read: --catalog-file, ARM when configured, else the bundled sample (embedded default)."""
    if args.catalog_file:
        return args.catalog_file, None
    if settings.watch_subscription_id:
        return None, None
    sample = SAMPLE_TIMELINE[-1]
    out.write(f"No WATCH_SUBSCRIPTION_ID configured: reading the bundled sample catalog ({sample.name}).\n")
    return str(sample), None


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    settings = load_settings(_environ())
    if args.state:
        settings = replace(settings, state_store=_state_arg(args.state))
    catalog_file, _ = _catalog_choice(args, settings, out)
    source = bootstrap.build_catalog_source(settings, catalog_file=catalog_file)
    locations = _locations(args, settings, source)
    now = args.at or _file_as_of(source) or datetime.now(UTC)
    store = None
    state_path = settings.state_store.value.reveal() if settings.state_store else bootstrap.DEFAULT_STATE
    if (
        args.dry_run
        and (settings.state_store is None or settings.state_store.kind == "sqlite")
        and not Path(state_path).exists()
    ):
        from shared.adapters.memory import InMemoryCatalogStateStore

        store = InMemoryCatalogStateStore()  # a dry run leaves no trace, not even an empty database
    watcher = bootstrap.build_watcher(settings, source=source, store=store)
    store_text = (
        settings.state_store.describe() if settings.state_store else f"sqlite:///{bootstrap.DEFAULT_STATE}"
    )
    out.write(
        f"Catalog cycle as of {now:%Y-%m-%d %H:%M} UTC over {', '.join(locations)}; state: {store_text}"
        f"{'; dry run: nothing written or published' if args.dry_run else ''}\n\n"
    )
    report = watcher.run(locations, now, dry_run=args.dry_run)
    print_report(report, out)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Replay the bundled catalog snapshots through a fresh local state, cycle by cycle."""
    from shared.adapters.catalog_file import FileCatalogSource
    from shared.adapters.local import JsonLinesPublisher

    output = Path(args.output)
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    settings = replace(
        load_settings({}), state_store=StateStoreConfig("sqlite", Secret(str(output / "state.db")))
    )
    publisher = JsonLinesPublisher(output / "events.jsonl")
    out.write(
        "modelwatch demo: real Azure OpenAI catalog snapshots replayed through the watch cycle.\n"
        f"State: {output / 'state.db'} (SQLite) · events as published: {output / 'events.jsonl'}\n"
    )
    failed = False
    for path in SAMPLE_TIMELINE:
        source = FileCatalogSource(str(path))
        now = _file_as_of(source) or datetime.now(UTC)
        watcher = bootstrap.build_watcher(settings, source=source, publisher=publisher)
        out.write(f"\n=== {now:%Y-%m-%d} · catalog snapshot {path.name} ===\n")
        report = watcher.run(source.locations, now)
        print_report(report, out)
        failed = failed or not report.ok
    out.write(
        f"\nEvery event above is in {output / 'events.jsonl'}, exactly as Event Grid would receive it.\n"
    )
    return EXIT_FAILED if failed else EXIT_OK


def cmd_settings(args: argparse.Namespace, out: TextIO) -> int:
    """Show the effective settings, secrets masked, and every problem."""
    environ = _environ()
    try:
        settings = load_settings(environ)
    except SettingsError as exc:
        out.write(str(exc) + "\n")
        return EXIT_USAGE
    rows = [["SETTING", "VALUE"]]
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if isinstance(value, StateStoreConfig):
            text = value.describe()
        elif isinstance(value, Secret):
            text = "*** (set)"
        elif isinstance(value, tuple | frozenset):
            text = ",".join(str(v) for v in sorted(value, key=str)) if value else "(none)"
        else:
            text = "(not set)" if value is None else str(value)
        rows.append([f.name.upper(), text])
    _table(rows, out)
    return EXIT_OK


def _state_arg(text: str) -> StateStoreConfig:
    parsed = load_settings({"STATE_STORE": text}).state_store
    assert parsed is not None
    return parsed


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m shared",
        description="modelwatch: Azure OpenAI model lifecycle watcher. Settings come from the environment and "
        "local.settings.json; see local.settings.sample.json.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="run one catalog watch cycle and show what changed")
    check.add_argument("--at", type=_instant, help="evaluate as of this ISO-8601 instant (default: now)")
    check.add_argument(
        "--catalog-file", help="read an ARM Models - List JSON response instead of calling ARM"
    )
    check.add_argument("--dry-run", action="store_true", help="diff and show, but write and publish nothing")
    check.add_argument("--state", help="state store override: sqlite:///PATH or a storage connection string")
    check.add_argument("--locations", help="comma-separated locations (default: WATCH_LOCATIONS)")
    check.set_defaults(handler=cmd_check)

    demo = sub.add_parser("demo", help="replay bundled real catalog history through the pipeline")
    demo.add_argument("--output", default="demo-output", help="folder for state and published events")
    demo.set_defaults(handler=cmd_demo)

    show = sub.add_parser("settings", help="show the effective settings (secrets masked) and any problem")
    show.set_defaults(handler=cmd_settings)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.handler(args, stream))
    except SettingsError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_USAGE
    except UsageError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_USAGE
    except ModelWatchError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_FAILED

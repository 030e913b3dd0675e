"""The command line: ``python -m shared <command>``. The same services the functions use, run locally.

Exit codes: 0 success, 1 an operation failed, 2 bad usage or settings.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from shared import bootstrap
from shared.config import WHERE, Settings, StateStoreConfig, load_settings
from shared.domain.describe import describe, location_of, model_label, short_type
from shared.domain.policy import Assessment, Status, worst_first
from shared.domain.secret import Secret
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
            events.append([location_of(e), short_type(e), model_label(e), describe(e)])
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
    """Replay bundled real lifecycle history through the whole pipeline (no Azure, no network)."""
    from shared.demo import run_demo

    return run_demo(Path(args.output), out)


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
        elif f.name == "alert_routes":
            text = (
                ", ".join(
                    f"{r.name} ({'+'.join(k for k, v in (('teams', r.teams), ('slack', r.slack)) if v)}, "
                    f"min {r.min_severity}{'' if r.catalog_news else ', no catalog news'})"
                    for r in value
                )
                or "(none)"
            )
        elif isinstance(value, Secret):
            text = "*** (set)"
        elif isinstance(value, tuple | frozenset):
            text = ",".join(str(v) for v in sorted(value, key=str)) if value else "(none)"
        else:
            text = "(not set)" if value is None else str(value)
        rows.append([f.name.upper(), text])
    _table(rows, out)
    return EXIT_OK


def _services(args: argparse.Namespace) -> bootstrap.Services:
    """The use cases over the configured stores (default: the local SQLite file), ARM when configured."""
    settings = load_settings(_environ())
    if getattr(args, "state", None):
        settings = replace(settings, state_store=_state_arg(args.state))
    return bootstrap.build_services(settings)


def _refresh(services: bootstrap.Services, now: datetime, out: TextIO) -> bool:
    if services.inventory is None:
        raise SettingsError(
            [
                "--refresh reads deployments over ARM: set WATCH_SUBSCRIPTION_ID (and optionally WATCH_ACCOUNTS)"
            ],
            hint=WHERE,
        )
    report = services.inventory.refresh(now)
    out.write(report.summary() + "\n")
    for problem in report.problems:
        out.write(f"  ! {problem}\n")
    return report.ok


def _days(value: int | None) -> str:
    return "" if value is None else str(value)


def _date(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"


def _assessments(services: bootstrap.Services, now: datetime) -> list[Assessment]:
    return list(services.status(now).assessments)


# the order a person reads a plan in: what is broken, then what is at risk, then what will move


def cmd_deployments(args: argparse.Namespace, out: TextIO) -> int:
    """List the inventory with retirement countdowns."""
    services = _services(args)
    now = args.at or datetime.now(UTC)
    ok = _refresh(services, now, out) if args.refresh else True
    assessments = _assessments(services, now)
    if not assessments:
        out.write("No deployments in the inventory yet: run with --refresh, or let catalog_timer run.\n")
        return EXIT_OK if ok else EXIT_FAILED
    rows = [["DEPLOYMENT", "ACCOUNT", "REGION", "MODEL", "VERSION", "SKU", "POLICY", "RETIRES", "DAYS LEFT"]]
    for a in sorted(assessments, key=lambda a: (a.days_left is None, a.days_left or 0, a.deployment.key)):
        d = a.deployment
        rows.append([d.name, d.account_id.rsplit("/", 1)[-1], d.location, d.model_name, d.model_version,
                     d.sku_name, d.policy, _date(a.retirement_date), _days(a.days_left)])  # fmt: skip
    _table(rows, out)
    out.write(f"\n{len(assessments)} deployment(s) as of {now:%Y-%m-%d %H:%M} UTC\n")
    return EXIT_OK if ok else EXIT_FAILED


def cmd_plan(args: argparse.Namespace, out: TextIO) -> int:
    """For every deployment: policy, version, what will happen and when. Writes nothing."""
    services = _services(args)
    now = args.at or datetime.now(UTC)
    ok = _refresh(services, now, out) if args.refresh else True
    assessments = _assessments(services, now)
    mode = "enforce" if services.settings.enforce else "plan"
    out.write(f"Plan as of {now:%Y-%m-%d %H:%M} UTC (POLICY_MODE={mode}; this command writes nothing)\n\n")
    if not assessments:
        out.write("No deployments in the inventory yet: run with --refresh, or let catalog_timer run.\n")
        return EXIT_OK if ok else EXIT_FAILED
    rows = [["STATUS", "DEPLOYMENT", "REGION", "MODEL", "VERSION", "POLICY", "WHEN", "DAYS", "WHAT HAPPENS"]]
    for a in sorted(assessments, key=worst_first):
        d = a.deployment
        rows.append([a.status.value, d.name, d.location, d.model_name, d.model_version,
                     d.policy + (" (provisioned)" if d.is_provisioned else ""),
                     _date(a.action_date or a.retirement_date), _days(a.days_left), a.summary])  # fmt: skip
    _table(rows, out)
    counts = Counter(a.status for a in assessments)
    out.write("\n" + ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s]) + "\n")
    return EXIT_OK if ok else EXIT_FAILED


def cmd_deliver(args: argparse.Namespace, out: TextIO) -> int:
    """Hand an Event Grid delivery body (or dead-letter file) to the subscribers, as the triggers do."""
    import json

    from shared.services.pipeline import deliver, parse_body
    from shared.services.results import RETRY

    try:
        text = sys.stdin.read() if args.events == "-" else Path(args.events).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {args.events}: {exc.strerror}") from None
    try:
        events = parse_body(json.loads(text))
    except ValueError as exc:
        # also JSON lines: one event per line, as the local publisher writes .modelwatch/events.jsonl
        try:
            events = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            raise UsageError(f"{args.events} is neither JSON nor JSON lines: {exc}") from None
    services = _services(args)
    now = args.at or datetime.now(UTC)
    deliveries = deliver(events, services.subscribers(), now)
    rows = [["EVENT", "TYPE", "SUBSCRIBER", "OUTCOME", "DETAIL"]]
    for dlv in deliveries:
        rows.append([dlv.event_id[:12], dlv.event_type.removeprefix("ModelLifecycle."), dlv.subscriber,
                     dlv.outcome, dlv.detail])  # fmt: skip
    _table(rows, out)
    bad = [d for d in deliveries if d.outcome in (RETRY, "failed", "rejected")]
    retry = sum(d.outcome == RETRY for d in deliveries)
    out.write(
        f"\n{len(events)} event(s) delivered, {len(bad)} not processed"
        + (f" ({retry} transient: deliver them again later)" if retry else "")
        + "\n"
    )
    return EXIT_FAILED if bad else EXIT_OK


def cmd_rollback(args: argparse.Namespace, out: TextIO) -> int:
    """Put a deployment back on its previous version (and NoAutoUpgrade), while that version exists."""
    import getpass

    from shared.services.rollback import RollbackRefused

    services = _services(args)
    now = args.at or datetime.now(UTC)
    try:
        result = services.rollback.rollback(
            args.deployment_id,
            now,
            to_version=args.to,
            dry_run=args.dry_run,
            as_new=args.as_new,
            force=args.force,
            requested_by=f"{getpass.getuser()} (command line)",
        )
    except RollbackRefused as exc:
        sys.stderr.write(f"refused ({exc.reason}): {exc}\n")
        return EXIT_FAILED
    out.write(result.describe() + "\n")
    if result.event is not None:
        out.write(f"published {result.event.event_type} ({result.event.id})\n")
    return EXIT_OK


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    """Write the status page (the same one GET /api/status serves) to a file."""
    import json

    from shared.presentation.status_page import render_status_page

    services = _services(args)
    now = args.at or datetime.now(UTC)
    report = services.status(now)
    target = Path(args.out)
    target.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "json":
        target.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    else:
        target.write_text(render_status_page(report), encoding="utf-8")
    counts = ", ".join(f"{report.count(s)} {s.value}" for s in Status if report.count(s))
    out.write(f"wrote {target} ({len(report.assessments)} deployment(s): {counts or 'none'})\n")
    return EXIT_OK


def cmd_alerts_preview(args: argparse.Namespace, out: TextIO) -> int:
    """Print the Slack and Teams payloads of sample events, to paste into Block Kit Builder or the card designer."""
    import json

    from shared.domain.alerts import messages_for
    from shared.presentation.alert_samples import samples
    from shared.presentation.render import slack_payload, teams_payload

    chosen = samples()
    if args.kind:
        if args.kind not in chosen:
            raise UsageError(f"unknown kind {args.kind!r}; kinds: {', '.join(sorted(chosen))}")
        chosen = {args.kind: chosen[args.kind]}
    for name, event in chosen.items():
        for message in messages_for(event):
            out.write(f"# {name}: {message.kind}, severity {message.severity.label}\n")
            if args.channel in ("slack", "both"):
                out.write("## Slack (paste into https://app.slack.com/block-kit-builder)\n")
                out.write(json.dumps(slack_payload(message), indent=2, ensure_ascii=False) + "\n")
            if args.channel in ("teams", "both"):
                out.write(
                    "## Teams Workflows (the card is attachments[0].content: https://adaptivecards.microsoft.com/designer)\n"
                )
                out.write(json.dumps(teams_payload(message), indent=2, ensure_ascii=False) + "\n")
            out.write("\n")
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
    check.add_argument(
        "--state",
        help="state store override: sqlite:///PATH, a table endpoint URL (signed in with az login) or a storage connection string",
    )
    check.add_argument("--locations", help="comma-separated locations (default: WATCH_LOCATIONS)")
    check.set_defaults(handler=cmd_check)

    demo = sub.add_parser(
        "demo", help="replay real lifecycle history (2024-2025) through the whole pipeline, offline"
    )
    demo.add_argument("--output", default="demo-output", help="folder for state, events, alerts, status page")
    demo.set_defaults(handler=cmd_demo)

    def state_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--state",
            help="state store override: sqlite:///PATH, a table endpoint URL (signed in with az login) or a storage connection string",
        )

    deployments = sub.add_parser(
        "deployments", help="list the deployment inventory with retirement countdowns"
    )
    deployments.add_argument(
        "--at", type=_instant, help="count down from this ISO-8601 instant (default: now)"
    )
    deployments.add_argument("--refresh", action="store_true", help="read the deployments from ARM first")
    state_option(deployments)
    deployments.set_defaults(handler=cmd_deployments)

    plan = sub.add_parser("plan", help="what will happen to every deployment, and when (writes nothing)")
    plan.add_argument("--at", type=_instant, help="what breaks on this ISO-8601 instant (default: now)")
    plan.add_argument("--refresh", action="store_true", help="read the deployments from ARM first")
    state_option(plan)
    plan.set_defaults(handler=cmd_plan)

    deliver = sub.add_parser(
        "deliver", help="hand an Event Grid body or dead-letter file to the subscribers (replay)"
    )
    deliver.add_argument(
        "events",
        metavar="EVENTS.json",
        help="a JSON array of Event Grid events (a delivery body or a dead-letter blob), JSON lines "
        "(.modelwatch/events.jsonl), or - for stdin",
    )
    deliver.add_argument("--at", type=_instant, help="process as of this ISO-8601 instant (default: now)")
    state_option(deliver)
    deliver.set_defaults(handler=cmd_deliver)

    rollback = sub.add_parser("rollback", help="put a deployment back on its previous version")
    rollback.add_argument("deployment_id", metavar="DEPLOYMENT_ID", help="the deployment's ARM resource id")
    rollback.add_argument(
        "--to", metavar="VERSION", help="the version to go back to (default: the previous one)"
    )
    rollback.add_argument("--dry-run", action="store_true", help="check and show, write nothing")
    rollback.add_argument(
        "--as-new",
        metavar="NAME",
        help="side by side: create deployment NAME on the previous model and version (same SKU, capacity, RAI "
        "policy; NoAutoUpgrade) and leave this one as it is; the way back after Azure moved it to another model",
    )
    rollback.add_argument(
        "--force", action="store_true", help="also roll back a pinned, ignored or provisioned deployment"
    )
    rollback.add_argument("--at", type=_instant, help=argparse.SUPPRESS)  # tests and what-ifs: evaluate as of
    state_option(rollback)
    rollback.set_defaults(handler=cmd_rollback)

    report = sub.add_parser("report", help="write the status page to a file (HTML, or JSON)")
    report.add_argument("--out", required=True, help="the file to write, e.g. status.html")
    report.add_argument("--at", type=_instant, help="as of this ISO-8601 instant (default: now)")
    report.add_argument("--format", choices=("html", "json"), default="html")
    state_option(report)
    report.set_defaults(handler=cmd_report)

    alerts = sub.add_parser("alerts", help="alert tools")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ALERTS_COMMAND")
    preview = alerts_sub.add_parser("preview", help="print the Slack and Teams payloads of sample events")
    preview.add_argument("--kind", help="one sample only (e.g. deployment-at-risk-urgent); default: all")
    preview.add_argument("--channel", choices=("slack", "teams", "both"), default="both")
    preview.set_defaults(handler=cmd_alerts_preview)

    show = sub.add_parser("settings", help="show the effective settings (secrets masked) and any problem")
    show.set_defaults(handler=cmd_settings)
    __import__("shared.iac.cli").iac.cli.register(sub)  # `iac scan|fix` (#17), imported only here
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

"""The command line: ``modelwatch <command>`` or ``python -m shared <command>``. The same services the functions
use, run locally.

Every command resolves its settings and state store once (``shared/cli/context.py``) and says first which state it
reads (``state: ...``). Exit codes: 0 success, 1 an operation failed (or a ``--fail-on`` gate matched, or the
output pipe was closed), 2 bad usage or settings.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from shared import bootstrap
from shared.cli.context import (
    DEFAULT,
    AppSettingsError,
    Context,
    Sources,
    UsageError,
    app_problems,
    days_arg,
    describe_store,
    gather,
    instant,
    resolve,
    running,
    state_argument,
    with_state,
)
from shared.cli.output import FORMATS, OutputError, add_out_option, add_output_options, emit
from shared.config import WHERE, Settings, StateStoreConfig
from shared.domain.deployments import Deployment
from shared.domain.describe import describe, location_of, model_label, short_type
from shared.domain.ids import arm_key, subscription_of
from shared.domain.policy import Assessment, Status, worst_first
from shared.domain.secret import Secret
from shared.domain.status import MISSED_RUN_PERIODS
from shared.domain.timeutil import format_instant
from shared.domain.version import VERSION
from shared.errors import ModelWatchError, SettingsError
from shared.services.watch import CycleReport

DATA = Path(__file__).parents[1] / "data"
SAMPLE_TIMELINE = (DATA / "catalog-2025-01-09.json", DATA / "catalog-2025-03-12.json")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PROG = "python -m shared"  # how a clone runs it; printed commands start as this process was started (_prog)
# --fail-on takes the statuses as every output spells them (Status values); "at-risk" is still understood
FAIL_ON = (Status.BROKEN.value, Status.AT_RISK.value)
FAIL_ON_SPELLINGS = {"at-risk": Status.AT_RISK.value, "at_risk": Status.AT_RISK.value}
DEMO_STATE = Path("demo-output") / "state.db"


def _table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    if not rows:
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() + "\n")


def _documented(args: argparse.Namespace) -> bool:
    """stdout carries the document (any format but table, or az's table of a --query result): lines for people
    (the state line, notes, progress) go to stderr."""
    return getattr(args, "format", "table") != "table" or bool(getattr(args, "query", None))


def _context(args: argparse.Namespace) -> Context:
    """The command's settings and state (one resolution for every command)."""
    try:
        return resolve(app_settings=args.app_settings, state=args.state, table_prefix=args.state_table_prefix)
    except AppSettingsError as exc:
        raise UsageError(str(exc)) from None


def _intro(ctx: Context, out: TextIO, *, to_stderr: bool = False) -> None:
    """The first line of every command: which state it reads (stderr when stdout carries a document)."""
    stream = sys.stderr if to_stderr else out
    missing = "; the file does not exist yet" if ctx.is_missing_file() else ""
    line = ctx.state_line()
    stream.write((line[:-1] + missing + ")" if missing else line) + "\n")
    for note in ctx.notes:
        stream.write(f"note: {note}\n")


def _command(ctx: Context, text: str) -> str:
    """A command to print, pointed at the same state (so it works where this one did)."""
    return f"{_prog()} {text} {ctx.store_args()}"


def _empty_hint(ctx: Context) -> str:
    """What to do when the state holds no deployments: the usual cause is the wrong state."""
    hints = []
    default = ctx.state_origin.startswith("default")
    if default and DEMO_STATE.is_file() and Path(ctx.state.value.reveal()) != DEMO_STATE:
        hints.append(f"the demo's state is {DEMO_STATE}: add --state sqlite:///{DEMO_STATE}")
    if ctx.sources.app_settings is None:
        hints.append(
            "the deployed app's state: add --app-settings FILE (FILE from `az functionapp config appsettings "
            "list -g <resource group> -n <app>`) or --state https://<storage account>.table.core.windows.net"
        )
    hints.append(
        f"read the deployments from ARM (WATCH_SUBSCRIPTION_ID set): {_command(ctx, 'deployments --refresh')}, "
        "or let catalog_timer run"
    )
    return "; ".join(hints)


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
    ctx = _context(args)
    settings = ctx.settings
    as_json = _documented(args)
    _intro(ctx, out, to_stderr=as_json)
    catalog_file = _catalog_choice(args, settings, sys.stderr if as_json else out)
    source = bootstrap.build_catalog_source(settings, catalog_file=catalog_file)
    locations = _locations(args, settings, source)
    now = args.at or _file_as_of(source) or datetime.now(UTC)
    store = None
    if args.dry_run and ctx.is_missing_file():
        from shared.adapters.memory import InMemoryCatalogStateStore

        store = InMemoryCatalogStateStore()  # a dry run leaves no trace, not even an empty database
    # as the timer: a version leaving the list is confirmed with the subscriptions the inventory says run it
    deployments = (
        bootstrap.build_deployment_stores(settings.state_store, table_prefix=settings.state_table_prefix)
        if store is None
        else None
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


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    """The timer's whole job (catalog_timer): inventory refresh, then the catalog cycle, then publish."""
    ctx = _context(args)
    _intro(ctx, out, to_stderr=_documented(args))
    services = bootstrap.build_services(ctx.settings)
    now = args.at or datetime.now(UTC)
    report = services.run_timer(now)  # the same call catalog_timer makes (shared/entrypoints.py)
    inventory = report.inventory
    document = {
        "state": describe_store(ctx.state, ctx.settings.state_table_prefix),
        "ok": report.ok,
        "summary": report.summary(),
        "inventory": None
        if inventory is None
        else {
            "accounts": inventory.accounts,
            "deployments": inventory.deployments,
            "changed": inventory.written,
            "removed": inventory.removed,
            "azureUpgrades": [e.to_wire() for e in inventory.azure_upgrades],
            "problems": list(inventory.problems),
            "warnings": list(inventory.warnings),
        },
        "inventoryError": report.inventory_error,
        "cycle": cycle_json(report.cycle),
    }

    def table(o: TextIO) -> None:
        o.write(f"Timer run as of {now:%Y-%m-%d %H:%M} UTC: inventory refresh, catalog cycle, publish\n\n")
        if inventory is not None:
            o.write(inventory.summary() + "\n")
            for problem in inventory.problems:
                o.write(f"  ! {problem}\n")
            for warning in inventory.warnings:
                o.write(f"  warning: {warning}\n")
        elif report.inventory_error:
            o.write(f"inventory refresh failed: {report.inventory_error}\n")
        else:
            o.write("inventory: not configured (WATCH_ACCOUNTS or WATCH_SUBSCRIPTION_IDS): no refresh\n")
        o.write("\n")
        print_report(report.cycle, o)
        o.write(report.summary() + "\n")  # the line catalog_timer logs

    emit(args, document, out, table)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Replay bundled real lifecycle history through the whole pipeline (no Azure, no network)."""
    from shared.demo import run_demo

    folder = Path(args.out or "demo-output")
    documented = _documented(args)
    story = sys.stderr if documented else out  # with -o json the story is for people: stderr
    story.write(f"state: sqlite:///{folder / 'state.db'} (the demo's own)\n")
    code = run_demo(folder, story, prog=_prog())
    if documented:
        events = Counter(
            json.loads(line)["eventType"].removeprefix("ModelLifecycle.")
            for line in (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        )
        emit(
            args,
            {
                "ok": code == EXIT_OK,
                "state": f"sqlite:///{folder / 'state.db'}",
                "statusPage": str(folder / "status.html"),
                "statusJson": str(folder / "status.json"),
                "events": str(folder / "events.jsonl"),
                "eventCounts": dict(sorted(events.items())),
                "alerts": sorted(str(p.relative_to(folder)) for p in (folder / "alerts").rglob("*.json")),
                "iacSarif": str(folder / "iac.sarif"),
            },
            out,
        )
    return code


def _setting_text(name: str, value: object) -> str:
    if isinstance(value, StateStoreConfig):
        return describe_store(value)
    if name == "alert_routes":
        return ", ".join(r.describe() for r in value) or "(none)"  # type: ignore[attr-defined]
    if isinstance(value, Secret):
        return "*** (set)"
    if isinstance(value, tuple | frozenset):
        items = list(value)
        if not items:
            return "(none)"
        ordered = sorted(items) if all(isinstance(v, int | float) for v in items) else sorted(items, key=str)
        return ",".join(str(v) for v in ordered)
    return "(not set)" if value is None else str(value)


def _as_set(sources: Sources, name: str, value: object) -> str:
    """The setting as written (in the environment, local.settings.json or --app-settings), secrets masked: a
    secret shows as set, a connection string as its store, webhook URLs in ALERT_ROUTES as <URL>."""
    import re

    raw = sources.environ.get(name)
    if raw is None or not raw.strip():
        return "(not set)"
    if isinstance(value, Secret):
        return "*** (set)"
    if isinstance(value, StateStoreConfig):
        return describe_store(value) if value.kind == "connection-string" else state_argument(value) or "***"
    if name == "ALERT_ROUTES":
        return re.sub(r"https?://[^\s\"',}]+", "<URL>", raw)
    return raw


def _setting_source(sources: Sources, field_name: str) -> tuple[str, str]:
    """(the setting's name, where its value came from)."""
    if field_name == "state_store":
        for name in ("STATE_STORE", "AzureWebJobsStorage", "AzureWebJobsStorage__accountName"):
            if sources.source_of(name) != DEFAULT:
                return name, sources.source_of(name)
        return "STATE_STORE", DEFAULT
    name = field_name.upper()
    source = sources.source_of(name)
    inherited = sources.source_of("WATCH_SUBSCRIPTION_ID") != DEFAULT
    if field_name == "watch_subscription_ids" and source == DEFAULT and inherited:
        return name, "default (WATCH_SUBSCRIPTION_ID)"
    return name, source


def cmd_settings(args: argparse.Namespace, out: TextIO) -> int:
    """Validate the settings exactly as the function app does at start, and show each value and its source."""
    try:
        sources = gather(args.app_settings, Path.cwd())
    except AppSettingsError as exc:
        raise UsageError(str(exc)) from None
    settings, problems, notes = app_problems(sources)
    as_json = _documented(args)
    state_text = "(not readable)"
    if settings is not None:
        ctx = with_state(settings, sources, args.state, args.state_table_prefix)
        state_text = describe_store(ctx.state, ctx.settings.state_table_prefix)
        _intro(ctx, out, to_stderr=as_json)
    rows: list[dict[str, str]] = []
    if settings is not None:
        for f in fields(Settings):
            name, source = _setting_source(sources, f.name)
            value = getattr(settings, f.name)
            rows.append(
                {
                    "name": name,
                    "set": _as_set(sources, name, value),
                    "value": _setting_text(f.name, value),
                    "source": source,
                }
            )
    if args.app_settings is not None:
        listing = sources.app_settings
        assert listing is not None
        for name in listing.key_vault:
            if sources.source_of(name) == DEFAULT:
                rows.append(
                    {
                        "name": name,
                        "set": "@Microsoft.KeyVault(...)",
                        "value": "Key Vault reference (not resolved here)",
                        "source": f"app settings {listing.path}",
                    }
                )
    document = {
        "state": state_text,
        "ok": not problems,
        "problems": problems,
        "notes": notes,
        "settings": rows,
    }

    def table(o: TextIO) -> None:
        if rows:
            _table(
                [
                    ["SETTING", "AS SET", "AS UNDERSTOOD", "SOURCE"],
                    *([r["name"], r["set"], r["value"], r["source"]] for r in rows),
                ],
                o,
            )
        for note in notes:
            o.write(f"note: {note}\n")
        if problems:
            o.write(
                f"\nThe function app would refuse to start: {len(problems)} problem(s)\n"
                + "".join(f"  - {p}\n" for p in problems)
                + f"{WHERE}\n"
            )
        else:
            o.write("\nOK: the function app would start with these settings.\n")

    emit(args, document, out, table)
    return EXIT_USAGE if problems else EXIT_OK


def _services(ctx: Context, *, read_only: bool = False, writes_if_found: bool = False) -> bootstrap.Services:
    """The use cases over the resolved stores, ARM when configured. A read-only command never creates a missing
    SQLite file (a mistyped --state must not leave an empty database behind) nor a table. ``writes_if_found``
    (deliver, rollback): the state is read first and written only when it holds an inventory (the command refuses
    an empty one), so only a missing SQLite file reads as empty."""
    if (read_only or writes_if_found) and ctx.is_missing_file():
        from shared.adapters.memory import (
            InMemoryAlertBuffer,
            InMemoryCatalogStateStore,
            InMemoryDeploymentStore,
            InMemoryLedger,
        )

        return bootstrap.build_services(
            ctx.settings,
            state=InMemoryCatalogStateStore(),
            stores=InMemoryDeploymentStore(),
            ledger=InMemoryLedger(),
            buffer=InMemoryAlertBuffer(),
        )
    if read_only and ctx.state.kind != "sqlite":
        # Table Storage: no table created, no layout migrated ("plan writes nothing" holds for the account too)
        prefix = ctx.settings.state_table_prefix

        def store(role: bootstrap.Role) -> Any:
            return bootstrap.open_read_only(ctx.state, role, table_prefix=prefix)

        return bootstrap.build_services(
            ctx.settings,
            state=store("state"),
            stores=store("deployments"),
            ledger=store("ledger"),
            buffer=store("alerts"),
        )
    return bootstrap.build_services(ctx.settings)


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
    for warning in report.warnings:  # read in part: said, and the command still succeeds
        out.write(f"  warning: {warning}\n")
    return report.ok


def _days(value: int | None) -> str:
    return "" if value is None else str(value)


def _date(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"


def _past_warning(report: Any, now: datetime, explicit: bool) -> str | None:
    """--at before the last catalog snapshot: the answer still comes from today's catalog and inventory."""
    last = report.last_cycle_at
    if not explicit or last is None or now >= last:
        return None
    return (
        f"--at {now:%Y-%m-%d %H:%M} UTC is before the last catalog snapshot ({last:%Y-%m-%d %H:%M} UTC): this "
        "judges that date against the catalog and inventory as stored now, not as they were then"
    )


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.0f} days" if hours >= 48 else f"{hours:.0f} hours"


def _stale_warning(ctx: Context, report: Any, now: datetime) -> str | None:
    """The newest catalog snapshot is older than two poll periods at the time judged (the missed-run alert's
    window): the dates it judges by may have moved since."""
    last = report.last_cycle_at
    if last is None:
        if not report.assessments:
            return None  # nothing to judge: the empty-inventory hint says what to do
        return (
            "this state holds no catalog snapshot: deployments are judged without the catalog's dates; read it "
            f"first: {_command(ctx, 'check')}"
        )
    window = MISSED_RUN_PERIODS * report.poll_period
    if now < last or now - last <= window:
        return None
    minutes = int(report.poll_period.total_seconds() // 60)
    return (
        f"the newest catalog snapshot is from {last:%Y-%m-%d %H:%M} UTC, {_age(now - last)} before the time "
        f"judged ({now:%Y-%m-%d %H:%M} UTC; more than {MISSED_RUN_PERIODS} poll periods of "
        f"CATALOG_POLL_PERIOD_MINUTES={minutes}): dates announced since are not in it; read the catalog first: "
        f"{_command(ctx, 'check')}"
    )


def _warnings(ctx: Context, report: Any, now: datetime, explicit: bool) -> list[str]:
    """What makes this answer less than current, each said once on stderr (and in the JSON document)."""
    found = [w for w in (_past_warning(report, now, explicit), _stale_warning(ctx, report, now)) if w]
    for warning in found:
        sys.stderr.write(f"warning: {warning}\n")
    return found


# the order a person reads a plan in: what is broken, then what is at risk, then what will move


def _ordered(assessments: Sequence[Assessment]) -> list[Assessment]:
    return sorted(assessments, key=worst_first)


def cmd_deployments(args: argparse.Namespace, out: TextIO) -> int:
    """List the inventory with retirement countdowns. The JSON document is the list of deployments, as an az list
    command prints it."""
    ctx = _context(args)
    as_json = _documented(args)
    _intro(ctx, out, to_stderr=as_json)
    services = _services(ctx, read_only=not args.refresh)
    now = args.at or datetime.now(UTC)
    ok = _refresh(services, now, sys.stderr if as_json else out) if args.refresh else True
    report = services.status(now)
    _warnings(ctx, report, now, args.at is not None)
    assessments = sorted(
        report.assessments, key=lambda a: (a.days_left is None, a.days_left or 0, a.deployment.key)
    )
    by_id = {d["deploymentId"]: d for d in report.to_json()["deployments"]}  # type: ignore[attr-defined]

    def table(o: TextIO) -> None:
        if not assessments:
            o.write(f"No deployments in this state's inventory: {_empty_hint(ctx)}.\n")
            return
        rows = [
            ["DEPLOYMENT", "ACCOUNT", "REGION", "MODEL", "VERSION", "SKU", "POLICY", "RETIRES", "DAYS LEFT"]
        ]
        for a in assessments:
            d = a.deployment
            rows.append(
                [
                    d.name,
                    d.account_id.rsplit("/", 1)[-1],
                    d.location,
                    d.model_name,
                    d.model_version,
                    d.sku_name,
                    d.policy,
                    _date(a.retirement_date),
                    _days(a.days_left),
                ]
            )
        _table(rows, o)
        o.write(f"\n{len(assessments)} deployment(s) as of {now:%Y-%m-%d %H:%M} UTC\n")

    if as_json and not assessments:
        sys.stderr.write(f"No deployments in this state's inventory: {_empty_hint(ctx)}.\n")
    emit(args, [by_id[a.deployment.resource_id] for a in assessments], out, table)
    return EXIT_OK if ok else EXIT_FAILED


def _fail_on(values: list[str] | None, within: int | None) -> list[str]:
    kinds = [v.strip() for value in values or [] for v in value.split(",") if v.strip()]
    kinds = [FAIL_ON_SPELLINGS.get(k, k) for k in kinds]  # at-risk: the spelling before statuses had one
    wrong = [k for k in kinds if k not in FAIL_ON]
    if wrong:
        raise UsageError(f"--fail-on {', '.join(wrong)}: choose from {', '.join(FAIL_ON)}")
    if within is not None and Status.AT_RISK.value not in kinds:
        raise UsageError(f"--within DAYS applies to --fail-on {Status.AT_RISK.value}")
    return list(dict.fromkeys(kinds))


def gate(assessments: Sequence[Assessment], kinds: Sequence[str], within: int | None) -> list[Assessment]:
    """The deployments a CI gate fails on: broken ones for either kind; with atRisk, also those at risk (within
    DAYS of their date when given)."""
    if not kinds:
        return []
    hits = []
    for a in assessments:
        if a.status is Status.BROKEN or (
            a.status is Status.AT_RISK
            and Status.AT_RISK.value in kinds
            and (within is None or (a.days_left is not None and a.days_left <= within))
        ):
            hits.append(a)
    return hits


def cmd_plan(args: argparse.Namespace, out: TextIO) -> int:
    """For every deployment: policy, version, what will happen and when. Writes nothing."""
    kinds = _fail_on(args.fail_on, args.within)
    ctx = _context(args)
    as_json = _documented(args)
    _intro(ctx, out, to_stderr=as_json)
    services = _services(ctx, read_only=not args.refresh)
    now = args.at or datetime.now(UTC)
    ok = _refresh(services, now, sys.stderr if as_json else out) if args.refresh else True
    report = services.status(now)
    warnings = _warnings(ctx, report, now, args.at is not None)
    assessments = _ordered(report.assessments)
    if kinds and not assessments:  # a gate over nothing would pass blind (issue #22)
        raise UsageError(f"--fail-on: no deployments in this state's inventory to judge: {_empty_hint(ctx)}")
    mode = "enforce" if services.settings.enforce else "plan"
    failing = gate(assessments, kinds, args.within)
    data = report.to_json()
    by_id = {d["deploymentId"]: d for d in data["deployments"]}  # type: ignore[attr-defined]
    document = {
        "state": describe_store(ctx.state, ctx.settings.state_table_prefix),
        "at": format_instant(now),
        "mode": mode,
        "warnings": warnings,
        "counts": data["counts"],
        "deployments": [by_id[a.deployment.resource_id] for a in assessments],
        "failOn": kinds,
        "failing": [a.deployment.resource_id for a in failing],
    }

    def table(o: TextIO) -> None:
        o.write(f"Plan as of {now:%Y-%m-%d %H:%M} UTC (POLICY_MODE={mode}; this command writes nothing)\n\n")
        if not assessments:
            o.write(f"No deployments in this state's inventory: {_empty_hint(ctx)}.\n")
            return
        rows = [
            ["STATUS", "DEPLOYMENT", "REGION", "MODEL", "VERSION", "POLICY", "WHEN", "DAYS", "WHAT HAPPENS"]
        ]
        for a in assessments:
            d = a.deployment
            rows.append(
                [
                    a.status.value,
                    d.name,
                    d.location,
                    d.model_name,
                    d.model_version,
                    d.policy + (" (provisioned)" if d.is_provisioned else ""),
                    _date(a.action_date or a.retirement_date),
                    _days(a.days_left),
                    a.summary,
                ]
            )
        _table(rows, o)
        counts = Counter(a.status for a in assessments)
        o.write("\n" + ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s]) + "\n")

    emit(args, document, out, table)
    if failing:
        within = f" within {args.within} days" if args.within is not None else ""
        names = ", ".join(a.deployment.name for a in failing[:10]) + (" …" if len(failing) > 10 else "")
        sys.stderr.write(f"{len(failing)} deployment(s) match --fail-on {','.join(kinds)}{within}: {names}\n")
        return EXIT_FAILED
    return EXIT_OK if ok else EXIT_FAILED


def _refuse_empty(ctx: Context, services: bootstrap.Services, what: str) -> bool:
    """An empty inventory where one is needed means the wrong state: say so (stderr) and return True."""
    if services.stores.list_deployments():
        return False
    where = "does not exist" if ctx.is_missing_file() else "holds no deployments"
    sys.stderr.write(
        f"error: the state {describe_store(ctx.state, ctx.settings.state_table_prefix)} {where}: {what} needs "
        f"the state the app writes. Is this the wrong state? {_empty_hint(ctx)}\n"
    )
    return True


def cmd_deliver(args: argparse.Namespace, out: TextIO) -> int:
    """Hand an Event Grid delivery body (or dead-letter file) to the subscribers, as the triggers do."""
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
    ctx = _context(args)
    as_json = _documented(args)
    _intro(ctx, out, to_stderr=as_json)
    services = _services(ctx, writes_if_found=not args.allow_empty)
    # an empty inventory means the subscribers' ledger is elsewhere too: a replay here would decide nothing for
    # the deployments and could post alerts the app already posted
    if not args.allow_empty and _refuse_empty(ctx, services, "replaying events"):
        sys.stderr.write("  (--allow-empty replays into this state anyway)\n")
        return EXIT_FAILED
    now = args.at or datetime.now(UTC)
    deliveries = deliver(events, services.subscribers(), now)
    bad = [d for d in deliveries if d.outcome in (RETRY, "failed", "rejected")]
    retry = sum(d.outcome == RETRY for d in deliveries)
    again = f": {_command(ctx, f'deliver {args.events}')}" if retry else ""
    summary = f"{len(events)} event(s) delivered, {len(bad)} not processed" + (
        f" ({retry} transient: deliver them again later{again})" if retry else ""
    )
    document = {
        "events": len(events),
        "notProcessed": len(bad),
        "transient": retry,
        "summary": summary,
        "deliveries": [
            {
                "eventId": d.event_id,
                "eventType": d.event_type,
                "subscriber": d.subscriber,
                "outcome": d.outcome,
                "detail": d.detail,
            }
            for d in deliveries
        ],
    }

    def table(o: TextIO) -> None:
        rows = [["EVENT", "TYPE", "SUBSCRIBER", "OUTCOME", "DETAIL"]]
        for dlv in deliveries:
            rows.append(
                [
                    dlv.event_id[:12],
                    dlv.event_type.removeprefix("ModelLifecycle."),
                    dlv.subscriber,
                    dlv.outcome,
                    dlv.detail,
                ]
            )
        _table(rows, o)
        o.write(f"\n{summary}\n")

    emit(args, document, out, table)
    return EXIT_FAILED if bad else EXIT_OK


def add_deployment_address(p: argparse.ArgumentParser) -> None:
    """How a command names one deployment, as az names a resource: its ARM id (positional or --ids), or its name
    with as much of --subscription, -g/--resource-group and --account as tells it apart in the inventory."""
    p.add_argument(
        "deployment_id",
        nargs="?",
        metavar="DEPLOYMENT_ID",
        help="the deployment's ARM resource id (or --ids, or -n NAME with --account/-g/--subscription)",
    )
    where = p.add_argument_group("the deployment, as az addresses a resource")
    where.add_argument("--ids", metavar="ID", help="the deployment's ARM resource id")
    where.add_argument("--subscription", metavar="ID", help="its subscription id")
    where.add_argument("-g", "--resource-group", metavar="NAME", help="its resource group")
    where.add_argument("--account", "--account-name", metavar="NAME", help="its Azure OpenAI account")
    where.add_argument("-n", "--name", "--deployment-name", metavar="NAME", help="the deployment's name")


def _ascii_lower(text: str) -> str:
    return arm_key(text)  # ARM compares names ignoring ASCII case only


def deployment_address(args: argparse.Namespace, deployments: Sequence[Deployment]) -> str:
    """The ARM id the address options name. UsageError when they name none clearly (no name, an id and parts
    both, or a name several deployments share); an unknown one is returned as given, for the service's refusal."""
    ids: list[str] = [v for v in (args.deployment_id, args.ids) if v]
    parts = {
        "--subscription": args.subscription,
        "-g": args.resource_group,
        "--account": args.account,
        "-n": args.name,
    }
    given = {k: v for k, v in parts.items() if v}
    if len(ids) > 1:
        raise UsageError("the deployment is named twice: give DEPLOYMENT_ID or --ids, not both")
    if ids and given:
        raise UsageError(
            f"{' '.join(given)} with an ARM id: name the deployment one way, its id or "
            "-n NAME (with --account, -g, --subscription)"
        )
    if ids:
        return ids[0]
    if not args.name:
        raise UsageError(
            "which deployment? give its ARM id (DEPLOYMENT_ID or --ids), or -n NAME (with --account, -g or "
            "--subscription when the name is not unique)"
        )

    def fields(d: Deployment) -> dict[str, str]:
        segments = d.resource_id.strip("/").split("/")
        return {
            "--subscription": subscription_of(d.resource_id) or "",
            "-g": segments[3] if len(segments) > 3 else "",
            "--account": d.account_id.rsplit("/", 1)[-1],
            "-n": d.name,
        }

    wanted = {k: _ascii_lower(v) for k, v in given.items()}
    found = [d for d in deployments if all(_ascii_lower(fields(d)[k]) == v for k, v in wanted.items())]
    if len(found) == 1:
        return found[0].resource_id
    if len(found) > 1:
        raise UsageError(
            f"{len(found)} deployments match {' '.join(f'{k} {v}' for k, v in given.items())}: add --account, -g "
            "or --subscription, or give the ARM id:\n"
            + "".join(f"  {d.resource_id}\n" for d in found).rstrip()
        )
    if len(given) == 4:  # fully named: the service says it is not in the inventory, with what to do
        return (
            f"/subscriptions/{args.subscription}/resourceGroups/{args.resource_group}/providers/"
            f"Microsoft.CognitiveServices/accounts/{args.account}/deployments/{args.name}"
        )
    return f"(a deployment named {' '.join(f'{k} {v}' for k, v in given.items())})"


def cmd_rollback(args: argparse.Namespace, out: TextIO) -> int:
    """Put a deployment back on its previous version (and NoAutoUpgrade), while that version exists."""
    import getpass

    from shared.services.rollback import RollbackRefused

    ctx = _context(args)
    as_json = _documented(args)
    _intro(ctx, out, to_stderr=as_json)
    services = _services(ctx, writes_if_found=True)
    if _refuse_empty(ctx, services, "a rollback"):
        return EXIT_FAILED
    deployment_id = deployment_address(args, services.stores.list_deployments())
    now = args.at or datetime.now(UTC)
    try:
        result = services.rollback.rollback(
            deployment_id,
            now,
            to_version=args.to,
            dry_run=args.dry_run,
            as_new=args.as_new,
            force=args.force,
            requested_by=f"{getpass.getuser()} (command line)",
        )
    except RollbackRefused as exc:
        sys.stderr.write(f"refused ({exc.reason}): {_as_run(str(exc))}\n")
        if exc.reason in ("unknown-deployment", "stale-inventory"):
            sys.stderr.write(f"  refresh this state's inventory: {_command(ctx, 'deployments --refresh')}\n")
        if as_json:
            emit(
                args,
                {
                    "deploymentId": deployment_id,
                    "outcome": "refused",
                    "reason": exc.reason,
                    "dryRun": args.dry_run,
                    "written": False,
                    "message": str(exc),
                },
                out,
            )
        return EXIT_FAILED
    plan = result.plan
    d = plan.deployment
    if plan.done is not None:
        outcome = "already-done"
    elif args.dry_run:
        outcome = "dry-run"
    else:
        outcome = "rolled-back" if result.written else "already-done"
    # the same command without --dry-run: every option that shapes the rollback, the id that names it exactly
    options = "".join(
        f" {flag} {value}" for flag, value in (("--to", args.to), ("--as-new", args.as_new)) if value
    ) + (" --force" if args.force else "")
    todo = _command(ctx, f"rollback {d.resource_id}{options}") if outcome == "dry-run" else None
    document = {
        "deploymentId": d.resource_id,
        "name": d.name,
        "outcome": outcome,
        "dryRun": args.dry_run,
        "written": result.written,
        "from": {"model": d.model_name, "version": d.model_version}
        if plan.done is None
        else {"model": plan.done.from_model or d.model_name, "version": plan.done.from_version},
        "to": {"model": plan.model, "version": plan.target_version},
        "sideBySide": plan.sibling_id,
        "targetRetires": format_instant(plan.available_until) if plan.available_until else None,
        "message": result.describe(),
        "event": result.event.id if result.event is not None else None,
        "toDoIt": todo,
    }

    def table(o: TextIO) -> None:
        o.write(result.describe() + "\n")
        if result.event is not None:
            o.write(f"published {result.event.event_type} ({result.event.id})\n")
        if todo:
            o.write(f"to do it: {todo}\n")

    emit(args, document, out, table)
    return EXIT_OK


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    """Write the status page (the same one GET /api/status serves): HTML by default, or its JSON document in any
    output format; to stdout, or to a file with --out."""
    from shared.presentation.status_page import render_status_page

    to_file = args.out not in (None, "-")
    ctx = _context(args)
    _intro(ctx, out, to_stderr=not to_file)
    services = _services(ctx, read_only=True)
    now = args.at or datetime.now(UTC)
    report = services.status(now)
    _warnings(ctx, report, now, args.at is not None)
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
                when = _date(a.action_date or a.retirement_date)
                rows.append(
                    [
                        a.status.value,
                        d.name,
                        d.location,
                        d.model_name,
                        d.model_version,
                        when,
                        _days(a.days_left),
                        a.summary,
                    ]
                )
            _table(rows, o)

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


def _kinds_text(kinds: Sequence[str]) -> str:
    return "kinds:\n" + "".join(f"  {k}\n" for k in sorted(kinds))


def choose_kind(kind: str | None, args: argparse.Namespace, out: TextIO) -> list[str] | None:
    """The sample kinds --kind picks: all for none; the list of kinds (printed, then None) for an empty value;
    a UsageError listing them for an unknown one."""
    from shared.presentation.alert_samples import sample_messages

    known = list(sample_messages())
    if kind is None:
        return known
    if not kind:
        emit(args, sorted(known), out, lambda o: o.write(_kinds_text(known)))
        return None
    if kind not in known:
        raise UsageError(f"unknown kind {kind!r}; " + _kinds_text(known).rstrip("\n"))
    return [kind]


def cmd_alerts_preview(args: argparse.Namespace, out: TextIO) -> int:
    """Print the Slack and Teams payloads of sample events, to paste into Block Kit Builder or the card designer.
    The table view heads each payload with a comment line; -o json is one document (a list, one item a sample)."""
    from shared.presentation.alert_samples import sample_messages
    from shared.presentation.render import slack_payload, teams_payload

    kinds = choose_kind(args.kind, args, out)
    if kinds is None:
        return EXIT_OK
    chosen = sample_messages()
    samples: list[dict[str, object]] = []
    for name in kinds:
        for message in chosen[name]:
            sample: dict[str, object] = {
                "sample": name,
                "kind": message.kind,
                "severity": message.severity.label,
            }
            if args.channel in ("slack", "both"):
                sample["slack"] = slack_payload(message)
            if args.channel in ("teams", "both"):
                sample["teams"] = teams_payload(message)
            samples.append(sample)

    def table(o: TextIO) -> None:
        for sample in samples:
            o.write(f"# {sample['sample']}: {sample['kind']}, severity {sample['severity']}\n")
            if "slack" in sample:
                o.write("## Slack (paste into https://app.slack.com/block-kit-builder)\n")
                o.write(json.dumps(sample["slack"], indent=2, ensure_ascii=False) + "\n")
            if "teams" in sample:
                o.write(
                    "## Teams Workflows (the card is attachments[0].content: https://adaptivecards.microsoft.com/designer)\n"
                )
                o.write(json.dumps(sample["teams"], indent=2, ensure_ascii=False) + "\n")
            o.write("\n")

    emit(args, samples, out, table)
    return EXIT_OK


def cmd_alerts_send(args: argparse.Namespace, out: TextIO) -> int:
    """Post one test message to the route's real webhooks and report each channel's answer."""
    from shared.cli.commands.alerts import send_test

    kinds = choose_kind(args.kind, args, out)
    if kinds is None:
        return EXIT_OK
    ctx = _context(args)
    notes = sys.stderr if _documented(args) else out
    for note in ctx.notes:
        notes.write(f"note: {note}\n")
    result = send_test(ctx.settings, args.route, kinds[0] if args.kind else None)
    emit(args, result.to_json(), out, lambda o: o.write(result.lines()))
    return result.exit_code


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


# ---- the parser

_GLOBAL_DEFAULTS: dict[str, object] = {
    "verbose": False,
    "state": None,
    "app_settings": None,
    "state_table_prefix": None,
}


def _add_global_options(p: argparse.ArgumentParser) -> None:
    """-v, --state, --app-settings: accepted before and after the command (SUPPRESS keeps an earlier value)."""
    have = p._option_string_actions
    if "-v" not in have:
        p.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log details to stderr"
        )
    if "--app-settings" not in have:
        p.add_argument(
            "--app-settings",
            metavar="FILE",
            default=argparse.SUPPRESS,
            help="use the deployed app's settings: the JSON `az functionapp config appsettings list` "
            "prints (Key Vault references are not resolved here: set those in the environment)",
        )
    if "--state" not in have:
        p.add_argument(
            "--state",
            default=argparse.SUPPRESS,
            help="state store: sqlite:///PATH, a table endpoint URL (signed in with az login) or a "
            "storage connection string (default: STATE_STORE, AzureWebJobsStorage, else "
            "sqlite:///.modelwatch/state.db)",
        )
    else:  # a command that declared its own --state (iac): keep a value given before the command
        have["--state"].default = argparse.SUPPRESS
    if "--state-table-prefix" not in have:
        p.add_argument(
            "--state-table-prefix",
            metavar="PREFIX",
            default=argparse.SUPPRESS,
            help="Table Storage table name prefix (default: STATE_TABLE_PREFIX, else ModelWatch)",
        )


# description and example of every command (--help): (description, example lines)
HELP: dict[str, tuple[str, str]] = {
    "check": (
        "Run one catalog watch cycle with the same service as the timer (read the catalog, diff it against the "
        "stored snapshot, record and publish events) and show what changed. Without WATCH_SUBSCRIPTION_ID it "
        "reads the bundled sample catalog; without EVENTGRID_TOPIC_ENDPOINT it appends events to "
        ".modelwatch/events.jsonl.",
        "modelwatch check --dry-run\nmodelwatch check --at 2025-06-01T00:00:00Z -o json",
    ),
    "run": (
        "The timer's whole job, as catalog_timer does it (Services.run_timer): refresh the deployment "
        "inventory, run the catalog cycle, publish. Needs WATCH_SUBSCRIPTION_ID and WATCH_LOCATIONS.",
        "modelwatch run --app-settings app-settings.json\nmodelwatch run --at 2026-03-01T00:00:00Z -o json",
    ),
    "demo": (
        "Replay real lifecycle history (2024-2026) through the whole pipeline, offline: state, events, alerts "
        "and the status page are written to --out (default demo-output).",
        "modelwatch demo\nmodelwatch plan --state sqlite:///demo-output/state.db   # then, against its state",
    ),
    "deployments": (
        "List the deployment inventory with retirement countdowns (from the state; --refresh reads ARM first).",
        "modelwatch deployments --app-settings app-settings.json\n"
        "modelwatch deployments -o tsv --query \"[?status=='broken'].[name, account, version]\"",
    ),
    "plan": (
        "What will happen to every deployment, and when. Writes nothing, whatever POLICY_MODE says. --fail-on "
        "makes it a CI gate: exit 1 when a deployment is broken (broken) or at risk or broken (atRisk). A past "
        "--at is judged against the catalog and inventory as stored now (a warning says so).",
        "modelwatch plan --state https://mystorage.table.core.windows.net\n"
        "modelwatch plan --fail-on atRisk --within 30 -o json --query failing",
    ),
    "deliver": (
        "Hand an Event Grid delivery body or dead-letter file to the subscribers, through the same code path as "
        "the triggers. Already-processed events are duplicates. Refused when the state holds no deployments "
        "(the wrong state: the ledger is elsewhere too).",
        "modelwatch deliver dead.json --app-settings app-settings.json",
    ),
    "rollback": (
        "Put a deployment back on its previous version (and NoAutoUpgrade) while that version exists. Refused, "
        "with a reason, when it cannot; an empty inventory means the wrong state. Name the deployment by its ARM "
        "id (or --ids), or by -n NAME with as much of --account, -g and --subscription as tells it apart.",
        "modelwatch rollback -g <rg> --account <acct> -n <name> --dry-run --app-settings app-settings.json\n"
        "modelwatch rollback --ids /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.CognitiveServices/"
        "accounts/<acct>/deployments/<name> -o json",
    ),
    "report": (
        "Write the status page (the same one GET /api/status serves): HTML (default) to stdout or --out FILE; "
        "-o json|yaml|table|tsv gives its data.",
        "modelwatch report --out status.html\nmodelwatch report -o json --query counts",
    ),
    "alerts": (
        "Alert tools: preview the payloads of every message kind, or send a test message to a route.",
        "modelwatch alerts preview --kind team-broken\nmodelwatch alerts send --route default",
    ),
    "alerts preview": (
        "Print the Slack and Teams payloads of sample events, to paste into Slack's Block Kit Builder or the "
        "Adaptive Cards designer. --kind with no value lists the kinds.",
        "modelwatch alerts preview --kind team-retirement-approaching --channel slack\nmodelwatch alerts preview --kind",
    ),
    "alerts send": (
        "Post one clearly-marked test message ('modelwatch test message: ...') to the configured webhooks of a "
        "route, with the same sender as the app, and report each channel's answer (never its URL).",
        "modelwatch alerts send --route default\nmodelwatch alerts send --route payments --kind team-broken",
    ),
    "settings": (
        "Validate the settings exactly as the function app does at start (every problem named; exit 2 when it "
        "would refuse to start) and show each value, secrets masked, and where it came from.",
        "modelwatch settings\nmodelwatch settings --app-settings app-settings.json -o json",
    ),
    "iac": (
        "Model pins in infrastructure code: Bicep, Terraform, ARM templates.",
        "modelwatch iac scan infra --state sqlite:///.modelwatch/state.db --fail-on retired,drift",
    ),
    "iac scan": (
        "Find every Azure OpenAI deployment in Bicep, Terraform and ARM templates and judge each pinned version "
        "against the catalog (--catalog-file, else the state, else the bundled sample).",
        "modelwatch iac scan infra -o sarif --out pins.sarif\n"
        "modelwatch iac scan infra --catalog-file catalog.json --fail-on retiring --within 90",
    ),
    "iac fix": (
        "Rewrite each pin to its recommendation and print the diff.",
        "modelwatch iac fix infra --dry-run",
    ),
}


def _prog() -> str:
    """How this command line was started: the console script, or python -m shared."""
    return "modelwatch" if Path(sys.argv[0]).name.startswith("modelwatch") else PROG


def _describe(p: argparse.ArgumentParser, name: str, prog: str) -> None:
    import textwrap

    description, example = HELP[name]
    p.description = textwrap.fill(description, 100)
    lines = [line.replace("modelwatch ", f"{prog} ", 1) for line in example.splitlines()]
    p.epilog = "example:\n" + "".join(f"  {line}\n" for line in lines)
    p.formatter_class = argparse.RawDescriptionHelpFormatter


def build_parser() -> argparse.ArgumentParser:
    prog = _prog()
    parser = argparse.ArgumentParser(
        prog=prog,
        allow_abbrev=False,
        description="modelwatch: Azure OpenAI model lifecycle watcher. Settings come from the environment and\n"
        "local.settings.json (see local.settings.sample.json), or from the deployed app with --app-settings.",
        epilog=f"example:\n  {prog} settings\n  {prog} plan --app-settings app-settings.json\n\n"
        "Every command: -o/--output json|jsonc|table|tsv|yaml|none and --query JMESPath, as in az; --out PATH where it\n"
        "writes a file. Exit codes: 0 success, 1 an operation failed (or a --fail-on gate matched), 2 bad usage or\n"
        "settings.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"modelwatch {VERSION}")
    _add_global_options(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    leaves: dict[str, argparse.ArgumentParser] = {}

    check = leaves["check"] = sub.add_parser(
        "check", help="run one catalog watch cycle and show what changed"
    )
    check.add_argument("--at", type=instant, help="evaluate as of this ISO-8601 instant (default: now)")
    check.add_argument(
        "--catalog-file", help="read an ARM Models - List JSON response instead of calling ARM"
    )
    check.add_argument("--dry-run", action="store_true", help="diff and show, but write and publish nothing")
    check.add_argument("--locations", help="comma-separated locations (default: WATCH_LOCATIONS)")
    check.set_defaults(handler=cmd_check)

    run = leaves["run"] = sub.add_parser(
        "run", help="the timer's whole job: inventory refresh, catalog cycle, publish"
    )
    run.add_argument("--at", type=instant, help="as of this ISO-8601 instant (default: now)")
    run.set_defaults(handler=cmd_run)

    demo = leaves["demo"] = sub.add_parser(
        "demo", help="replay real lifecycle history (2024-2026) through the whole pipeline, offline"
    )
    add_out_option(demo, "folder for state, events, alerts, status page (default: demo-output)")
    add_output_options(demo, legacy_path=True)  # --output DIR, its old flag, still works (with a note)
    demo.set_defaults(handler=cmd_demo)

    deployments = leaves["deployments"] = sub.add_parser(
        "deployments", help="list the deployment inventory with retirement countdowns"
    )
    deployments.add_argument(
        "--at", type=instant, help="count down from this ISO-8601 instant (default: now)"
    )
    deployments.add_argument("--refresh", action="store_true", help="read the deployments from ARM first")
    deployments.set_defaults(handler=cmd_deployments)

    plan = leaves["plan"] = sub.add_parser(
        "plan", help="what will happen to every deployment, and when (writes nothing)"
    )
    plan.add_argument("--at", type=instant, help="what breaks on this ISO-8601 instant (default: now)")
    plan.add_argument("--refresh", action="store_true", help="read the deployments from ARM first")
    plan.add_argument(
        "--fail-on",
        action="append",
        metavar="KIND",
        help="exit 1 when a deployment is broken (broken), or at risk or broken (atRisk; at-risk is "
        "understood too); repeat or comma-separate",
    )
    plan.add_argument(
        "--within",
        type=days_arg,
        metavar="DAYS",
        help="with --fail-on atRisk: only deployments at risk within this many days count",
    )
    plan.set_defaults(handler=cmd_plan)

    deliver = leaves["deliver"] = sub.add_parser(
        "deliver", help="hand an Event Grid body or dead-letter file to the subscribers (replay)"
    )
    deliver.add_argument(
        "events",
        metavar="EVENTS.json",
        help="a JSON array of Event Grid events (a delivery body or a dead-letter blob), JSON lines "
        "(.modelwatch/events.jsonl), or - for stdin",
    )
    deliver.add_argument("--at", type=instant, help="process as of this ISO-8601 instant (default: now)")
    deliver.add_argument(
        "--allow-empty",
        action="store_true",
        help="replay even into a state without deployments (else refused: the wrong state)",
    )
    deliver.set_defaults(handler=cmd_deliver)

    rollback = leaves["rollback"] = sub.add_parser(
        "rollback", help="put a deployment back on its previous version"
    )
    add_deployment_address(rollback)
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
    rollback.add_argument("--at", type=instant, help=argparse.SUPPRESS)  # tests and what-ifs: evaluate as of
    rollback.set_defaults(handler=cmd_rollback)

    report = leaves["report"] = sub.add_parser(
        "report", help="write the status page to a file or stdout (HTML, or JSON)"
    )
    add_out_option(report, "the file to write, e.g. status.html (default, or -: stdout)")
    report.add_argument("--at", type=instant, help="as of this ISO-8601 instant (default: now)")
    add_output_options(report, formats=("html", *FORMATS), default="html")
    report.set_defaults(handler=cmd_report)

    alerts = leaves["alerts"] = sub.add_parser(
        "alerts", help="alert tools: preview payloads, send a test message"
    )
    alerts_sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ALERTS_COMMAND")
    preview = leaves["alerts preview"] = alerts_sub.add_parser(
        "preview", help="print the Slack and Teams payloads of sample events"
    )
    preview.add_argument(
        "--kind",
        nargs="?",
        const="",
        help="one sample only (e.g. team-retirement-approaching); no value: list the kinds",
    )
    preview.add_argument("--channel", choices=("slack", "teams", "both"), default="both")
    preview.set_defaults(handler=cmd_alerts_preview)
    send = leaves["alerts send"] = alerts_sub.add_parser(
        "send", help="post a test message to a route's configured webhooks"
    )
    send.add_argument("--route", required=True, help="the route: default, or a name from ALERT_ROUTES")
    send.add_argument(
        "--kind",
        nargs="?",
        const="",
        help="the sample message to send (default: a short one); no value: list the kinds",
    )
    send.set_defaults(handler=cmd_alerts_send)

    show = leaves["settings"] = sub.add_parser(
        "settings", help="validate the settings as the function app does, and show each value and its source"
    )
    show.set_defaults(handler=cmd_settings)

    __import__("shared.iac.cli").iac.cli.register(sub)  # `iac scan|fix` (#17), imported only here
    __import__("shared.canary.cli").canary.cli.register(sub)  # `canary run|list|sweep` (#25): its own help
    iac = leaves["iac"] = sub.choices["iac"]
    for action in iac._subparsers._group_actions if iac._subparsers else ():
        if isinstance(action, argparse._SubParsersAction):
            for name, p in action.choices.items():
                leaves[f"iac {name}"] = p
    for name, p in leaves.items():
        _describe(p, name, prog)
        _add_global_options(p)
        if "--output" not in p._option_string_actions and p.get_default("handler"):
            add_output_options(p)  # every command: -o/--output, --format, --query
        if name.startswith("iac ") and p.get_default("handler"):
            p.set_defaults(handler=_with_state_line(p.get_default("handler")))
    _no_abbreviations(parser)
    return parser


def _no_abbreviations(parser: argparse.ArgumentParser) -> None:
    """--form is not --format: argparse's prefix matching off on every parser (commands added later included),
    so a misspelt or shortened option is an error, as in az."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _no_abbreviations(child)


def _with_state_line(handler: Any) -> Any:
    """A command defined elsewhere (iac) gets the same first line: the state it reads, resolved the same way."""

    def run_with_state_line(args: argparse.Namespace, out: TextIO) -> int:
        ctx = _context(args)
        document = _documented(args) and not getattr(args, "out", None)
        _intro(ctx, out, to_stderr=document)
        with running(ctx):  # shared/iac/cli.py reads its settings through environ()
            return int(handler(args, out))

    return run_with_state_line


def _as_run(text: str) -> str:
    """A message from below the CLI (a service's refusal) names commands as ``python -m shared ...``: said as this
    command line was started (``modelwatch ...`` once installed)."""
    return text.replace(f"{PROG} ", f"{_prog()} ")


def _quiet_broken_pipe(stream: TextIO) -> None:
    """The reader went away (`... | head`): no traceback, and nothing more written at exit."""
    try:
        fileno = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fileno)
    os.close(devnull)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help and --version
            return int(exc.code or 0)
        for name, default in _GLOBAL_DEFAULTS.items():
            if not hasattr(args, name):
                setattr(args, name, default)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="%(levelname)s %(name)s: %(message)s",
        )
        try:
            code = int(args.handler(args, stream))
            stream.flush()
            return code
        except SettingsError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return EXIT_USAGE
        except (UsageError, OutputError) as exc:
            sys.stderr.write(f"error: {exc}\n")
            return EXIT_USAGE
        except ModelWatchError as exc:
            sys.stderr.write(f"error: {_as_run(str(exc))}\n")
            return EXIT_FAILED
    except BrokenPipeError:
        _quiet_broken_pipe(stream)
        return EXIT_FAILED


def run() -> None:
    """The ``modelwatch`` console script (pyproject.toml [project.scripts])."""
    raise SystemExit(main())

"""``deployments``: the inventory with retirement countdowns."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TextIO

from shared.cli.args import Subcommands, describe_command
from shared.cli.context import EXIT_FAILED, EXIT_OK, command_context, empty_hint, instant, intro, prog
from shared.cli.output import date_text, days_text, documented, emit, write_table
from shared.cli.state import open_services, refresh, warn_if_not_current

# description and example of each command (--help): (description, example lines)
HELP: dict[str, tuple[str, str]] = {
    "deployments": (
        "List the deployment inventory with retirement countdowns (from the state; --refresh reads ARM first).",
        "modelwatch deployments --app-settings app-settings.json\n"
        "modelwatch deployments -o tsv --query \"[?status=='broken'].[name, account, version]\"",
    ),
}


def cmd_deployments(args: argparse.Namespace, out: TextIO) -> int:
    """List the inventory with retirement countdowns. The JSON document is the list of deployments, as an az list
    command prints it."""
    ctx = command_context(args)
    as_json = documented(args)
    intro(ctx, out, to_stderr=as_json)
    services = open_services(ctx, read_only=not args.refresh)
    now = args.at or datetime.now(UTC)
    ok = refresh(services, now, sys.stderr if as_json else out) if args.refresh else True
    report = services.status(now)
    warn_if_not_current(ctx, report, now, args.at is not None)
    assessments = sorted(
        report.assessments, key=lambda a: (a.days_left is None, a.days_left or 0, a.deployment.key)
    )
    by_id = {d["deploymentId"]: d for d in report.to_json()["deployments"]}  # type: ignore[attr-defined]

    def table(o: TextIO) -> None:
        if not assessments:
            o.write(f"No deployments in this state's inventory: {empty_hint(ctx)}.\n")
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
                    date_text(a.retirement_date),
                    days_text(a.days_left),
                ]
            )
        write_table(rows, o)
        o.write(f"\n{len(assessments)} deployment(s) as of {now:%Y-%m-%d %H:%M} UTC\n")

    if as_json and not assessments:
        sys.stderr.write(f"No deployments in this state's inventory: {empty_hint(ctx)}.\n")
    emit(args, [by_id[a.deployment.resource_id] for a in assessments], out, table)
    return EXIT_OK if ok else EXIT_FAILED


def register(subparsers: Subcommands) -> None:
    """Add ``deployments``."""
    deployments = subparsers.add_parser(
        "deployments", help="list the deployment inventory with retirement countdowns"
    )
    deployments.add_argument(
        "--at", type=instant, help="count down from this ISO-8601 instant (default: now)"
    )
    deployments.add_argument("--refresh", action="store_true", help="read the deployments from ARM first")
    deployments.set_defaults(handler=cmd_deployments)
    describe_command(deployments, HELP["deployments"], prog())

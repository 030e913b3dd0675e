"""``run``: the timer's whole job (catalog_timer): inventory refresh, the catalog cycle, publish."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TextIO

from shared import bootstrap
from shared.cli.args import Subcommands, describe_command
from shared.cli.commands.check import cycle_json, print_report
from shared.cli.context import EXIT_FAILED, EXIT_OK, command_context, describe_store, instant, intro, prog
from shared.cli.output import documented, emit

# description and example of each command (--help): (description, example lines)
HELP: dict[str, tuple[str, str]] = {
    "run": (
        "The timer's whole job, as catalog_timer does it (Services.run_timer): refresh the deployment "
        "inventory, run the catalog cycle, publish. Needs WATCH_SUBSCRIPTION_ID and WATCH_LOCATIONS.",
        "modelwatch run --app-settings app-settings.json\nmodelwatch run --at 2026-03-01T00:00:00Z -o json",
    ),
}


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    """The timer's whole job (catalog_timer): inventory refresh, then the catalog cycle, then publish."""
    ctx = command_context(args)
    intro(ctx, out, to_stderr=documented(args))
    services = bootstrap.build_services(ctx.settings)
    now = args.at or datetime.now(UTC)
    report = services.run_timer(now)  # the same call catalog_timer makes (shared/runtime/entrypoints.py)
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


def register(subparsers: Subcommands) -> None:
    """Add ``run``."""
    run = subparsers.add_parser(
        "run", help="the timer's whole job: inventory refresh, catalog cycle, publish"
    )
    run.add_argument("--at", type=instant, help="as of this ISO-8601 instant (default: now)")
    run.set_defaults(handler=cmd_run)
    describe_command(run, HELP["run"], prog())

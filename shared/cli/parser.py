"""The parser: the root's options, then each command group's (``commands/``), every command finished the same way:
the global options (-v, --app-settings, --state, --state-table-prefix) before and after the command, and the output
options (-o/--output, --query) on every command that runs."""

from __future__ import annotations

import argparse
from typing import Any, Protocol

from shared.canary import cli as canary
from shared.cli.args import CommandParser, add_global_options
from shared.cli.commands import (
    alerts,
    check,
    deliver,
    demo,
    deployments,
    iac,
    plan,
    report,
    rollback,
    run,
    settings,
)
from shared.cli.context import prog
from shared.cli.output import add_output_options
from shared.domain.version import VERSION


class CommandGroup(Protocol):
    """A module that adds commands: its parsers, their help, their handlers (``set_defaults(handler=...)``).
    ``subparsers`` is what ``add_subparsers`` returned (a group may name it ``Subcommands`` or argparse's class)."""

    def register(self, subparsers: Any) -> None: ...


# the command groups, in the order --help lists them; a new group is its module and one line here
COMMAND_GROUPS: tuple[CommandGroup, ...] = (
    check,
    run,
    demo,
    deployments,
    plan,
    deliver,
    rollback,
    report,
    alerts,
    settings,
    iac,
    canary,  # `canary run|list|sweep` (#25): shared/canary/cli.py
)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: the root, every group's commands, each finished with the shared options."""
    name = prog()
    parser = CommandParser(
        prog=name,
        description="modelwatch: Azure OpenAI model lifecycle watcher. Settings come from the environment and\n"
        "local.settings.json (see local.settings.sample.json), or from the deployed app with --app-settings.",
        epilog=f"example:\n  {name} settings\n  {name} plan --app-settings app-settings.json\n\n"
        "Every command: -o/--output json|jsonc|table|tsv|yaml|none and --query JMESPath, as in az; --out PATH where it\n"
        "writes a file. Exit codes: 0 success, 1 an operation failed (or a --fail-on gate matched), 2 bad usage or\n"
        "settings.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"modelwatch {VERSION}")
    add_global_options(parser)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(subparsers)
    for p in parser.walk().values():
        add_global_options(p)
        if "--output" not in p.options and p.get_default("handler"):
            add_output_options(p)  # every command: -o/--output, --format, --query
    return parser

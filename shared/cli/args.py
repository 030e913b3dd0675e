"""The parser's building blocks: ``CommandParser`` (argparse's, knowing its own options and subcommands), the
options every command accepts, and a command's help (description and example).

Only argparse's public API: the options a parser has and the subcommands it holds are recorded here as they are
added, so the finishing steps (``shared/cli/parser.py``) never read argparse's internals.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any, Protocol


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser that records its options and its subcommands. argparse makes a subcommand's parser of its
    parent's class, so every parser of the command line is one, a command group's defined elsewhere (iac) too.
    Prefix matching is off (``allow_abbrev``): --form is not --format, a shortened option is an error, as in az."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.options: dict[str, argparse.Action] = {}  # option string -> its action (filled by add_argument)
        self.subcommand_groups: list[
            Any
        ] = []  # what add_subparsers returned: its choices are the subcommands
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def add_argument(self, *name_or_flags: str, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*name_or_flags, **kwargs)
        self.options.update(dict.fromkeys(action.option_strings, action))
        return action

    def add_subparsers(self, **kwargs: Any) -> Any:
        group = super().add_subparsers(**kwargs)
        self.subcommand_groups.append(group)
        return group

    def subcommands(self) -> dict[str, CommandParser]:
        """The subcommands' parsers by name (``alerts`` -> ``preview``, ``send``)."""
        return {name: p for group in self.subcommand_groups for name, p in group.choices.items()}

    def walk(self, prefix: str = "") -> dict[str, CommandParser]:
        """Every parser below this one by its command (``alerts preview``), parents before their children."""
        found: dict[str, CommandParser] = {}
        for name, p in self.subcommands().items():
            found[f"{prefix}{name}"] = p
            found.update(p.walk(f"{prefix}{name} "))
        return found


class Subcommands(Protocol):
    """What ``add_subparsers`` returns, as a command group's ``register(subparsers)`` uses it."""

    @property
    def choices(self) -> dict[str, CommandParser]: ...

    def add_parser(self, name: str, **kwargs: Any) -> CommandParser: ...


# what main fills in when a command has none of the global options
GLOBAL_DEFAULTS: dict[str, object] = {
    "verbose": False,
    "state": None,
    "app_settings": None,
    "state_table_prefix": None,
}


def add_global_options(p: argparse.ArgumentParser) -> None:
    """-v, --state, --app-settings: accepted before and after the command (SUPPRESS keeps an earlier value). Every
    parser of the command line is a CommandParser (a group's ``register`` may name it argparse's class)."""
    if not isinstance(p, CommandParser):
        raise TypeError(f"{p.prog}: not made by the command line's parser (shared/cli/args.py CommandParser)")
    have = p.options
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


def describe_command(p: argparse.ArgumentParser, help_entry: tuple[str, str], prog: str) -> None:
    """A command's --help: its description, and its example as this command line was started (``prog``)."""
    description, example = help_entry
    p.description = textwrap.fill(description, 100)
    lines = [line.replace("modelwatch ", f"{prog} ", 1) for line in example.splitlines()]
    p.epilog = "example:\n" + "".join(f"  {line}\n" for line in lines)
    p.formatter_class = argparse.RawDescriptionHelpFormatter

"""``settings``: the settings validated as the function app does at start, each value and where it came from."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import TextIO

from shared.cli.args import Subcommands, describe_command
from shared.cli.context import (
    DEFAULT,
    EXIT_OK,
    EXIT_USAGE,
    AppSettingsError,
    Sources,
    UsageError,
    app_problems,
    describe_store,
    gather,
    intro,
    prog,
    state_argument,
    with_state,
)
from shared.cli.output import documented, emit, write_table
from shared.config import WHERE, Settings, StateStoreConfig, StoreKind
from shared.domain.secret import Secret
from shared.domain.severity import Severity

# description and example of each command (--help): (description, example lines)
HELP: dict[str, tuple[str, str]] = {
    "settings": (
        "Validate the settings exactly as the function app does at start (every problem named; exit 2 when it "
        "would refuse to start) and show each value, secrets masked, and where it came from.",
        "modelwatch settings\nmodelwatch settings --app-settings app-settings.json -o json",
    ),
}


def _setting_text(name: str, value: object) -> str:
    if isinstance(value, StateStoreConfig):
        return describe_store(value)
    if name == "alert_routes":
        return ", ".join(r.describe() for r in value) or "(none)"  # type: ignore[attr-defined]
    if isinstance(value, Secret):
        return "*** (set)"
    if isinstance(value, Severity):
        return value.label  # an IntEnum: str() would give its number
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
        return (
            describe_store(value)
            if value.kind == StoreKind.CONNECTION_STRING
            else state_argument(value) or "***"
        )
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
    as_json = documented(args)
    state_text = "(not readable)"
    if settings is not None:
        ctx = with_state(settings, sources, args.state, args.state_table_prefix)
        state_text = describe_store(ctx.state, ctx.settings.state_table_prefix)
        intro(ctx, out, to_stderr=as_json)
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
            write_table(
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


def register(subparsers: Subcommands) -> None:
    """Add ``settings``."""
    show = subparsers.add_parser(
        "settings", help="validate the settings as the function app does, and show each value and its source"
    )
    show.set_defaults(handler=cmd_settings)
    describe_command(show, HELP["settings"], prog())

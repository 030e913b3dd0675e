"""``deliver``: an Event Grid delivery body or dead-letter file handed to the subscribers, as the triggers do."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from shared.cli.args import Subcommands, describe_command
from shared.cli.context import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    command_context,
    command_line,
    instant,
    intro,
    prog,
)
from shared.cli.output import documented, emit, write_table
from shared.cli.state import open_services, refuse_empty

# description and example of each command (--help): (description, example lines)
HELP: dict[str, tuple[str, str]] = {
    "deliver": (
        "Hand an Event Grid delivery body or dead-letter file to the subscribers, through the same code path as "
        "the triggers. Already-processed events are duplicates. Refused when the state holds no deployments "
        "(the wrong state: the ledger is elsewhere too).",
        "modelwatch deliver dead.json --app-settings app-settings.json",
    ),
}


def cmd_deliver(args: argparse.Namespace, out: TextIO) -> int:
    """Hand an Event Grid delivery body (or dead-letter file) to the subscribers, as the triggers do."""
    from shared.services.pipeline import deliver, parse_body
    from shared.services.results import FAILED, REJECTED, RETRY

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
    ctx = command_context(args)
    as_json = documented(args)
    intro(ctx, out, to_stderr=as_json)
    services = open_services(ctx, writes_if_found=not args.allow_empty)
    # an empty inventory means the subscribers' ledger is elsewhere too: a replay here would decide nothing for
    # the deployments and could post alerts the app already posted
    if not args.allow_empty and refuse_empty(ctx, services, "replaying events"):
        sys.stderr.write("  (--allow-empty replays into this state anyway)\n")
        return EXIT_FAILED
    now = args.at or datetime.now(UTC)
    deliveries = deliver(events, services.subscribers(), now)
    bad = [d for d in deliveries if d.outcome in (RETRY, FAILED, REJECTED)]
    retry = sum(d.outcome == RETRY for d in deliveries)
    again = f": {command_line(ctx, f'deliver {args.events}')}" if retry else ""
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
        write_table(rows, o)
        o.write(f"\n{summary}\n")

    emit(args, document, out, table)
    return EXIT_FAILED if bad else EXIT_OK


def register(subparsers: Subcommands) -> None:
    """Add ``deliver``."""
    deliver = subparsers.add_parser(
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
    describe_command(deliver, HELP["deliver"], prog())

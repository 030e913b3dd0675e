"""``demo``: real lifecycle history replayed through the whole pipeline, offline."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO

from shared.cli.args import Subcommands, describe_command
from shared.cli.context import EXIT_OK, prog
from shared.cli.output import add_out_option, add_output_options, documented, emit

# description and example of each command (--help): (description, example lines)
HELP: dict[str, tuple[str, str]] = {
    "demo": (
        "Replay real lifecycle history (2024-2026) through the whole pipeline, offline: state, events, alerts "
        "and the status page are written to --out (default demo-output).",
        "modelwatch demo\nmodelwatch plan --state sqlite:///demo-output/state.db   # then, against its state",
    ),
}


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Replay bundled real lifecycle history through the whole pipeline (no Azure, no network)."""
    from shared.demo.run import run_demo

    folder = Path(args.out or "demo-output")
    as_document = documented(args)
    story = sys.stderr if as_document else out  # with -o json the story is for people: stderr
    story.write(f"state: sqlite:///{folder / 'state.db'} (the demo's own)\n")
    code = run_demo(folder, story, prog=prog())
    if as_document:
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


def register(subparsers: Subcommands) -> None:
    """Add ``demo``."""
    demo = subparsers.add_parser(
        "demo", help="replay real lifecycle history (2024-2026) through the whole pipeline, offline"
    )
    add_out_option(demo, "folder for state, events, alerts, status page (default: demo-output)")
    add_output_options(demo, legacy_path=True)  # --output DIR, its old flag, still works (with a note)
    demo.set_defaults(handler=cmd_demo)
    describe_command(demo, HELP["demo"], prog())

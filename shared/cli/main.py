"""The command line: ``modelwatch <command>`` or ``python -m shared <command>``. The same services the functions
use, run locally.

Every command resolves its settings and state store once (``shared/cli/context.py``) and says first which state it
reads (``state: ...``). Exit codes: 0 success, 1 an operation failed (or a ``--fail-on`` gate matched, or the
output pipe was closed), 2 bad usage or settings.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from shared.cli.args import GLOBAL_DEFAULTS
from shared.cli.context import EXIT_FAILED, EXIT_USAGE, UsageError, as_run
from shared.cli.output import OutputError
from shared.cli.parser import build_parser
from shared.errors import ModelWatchError, SettingsError

__all__ = ["main", "run"]


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
    """Parse, run the command's handler, and turn what it raised into an exit code (errors on stderr)."""
    stream = out or sys.stdout
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help and --version
            return int(exc.code or 0)
        for name, default in GLOBAL_DEFAULTS.items():
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
            sys.stderr.write(f"error: {as_run(str(exc))}\n")
            return EXIT_FAILED
    except BrokenPipeError:
        _quiet_broken_pipe(stream)
        return EXIT_FAILED


def run() -> None:
    """The ``modelwatch`` console script (pyproject.toml [project.scripts])."""
    raise SystemExit(main())

"""The command line's output conventions, as ``az`` has them (CLI only).

- ``-o/--output json|jsonc|table|tsv|yaml|none`` on every command (``--format`` is the older spelling of it);
- ``--query`` is a JMESPath expression applied to the command's JSON document before it is printed, whatever the
  format (``-o tsv --query "[].name"`` prints one name a line);
- the document alone goes to stdout; notes, warnings and the state line go to stderr;
- ``table`` is a command's own table for people; with ``--query`` it is az's automatic table of the result (scalar
  fields as columns), as az renders a queried result;
- ``tsv`` is az's: no header, one line per list item, the scalar values tab-separated, a nested list shown by its
  length, a nested object as an empty field;
- ``--out PATH`` writes the output to a file (a folder for ``demo``) on every command that writes one.

JSON is printed as az prints it: two-space indent, non-ASCII kept, a list command's document a JSON array. Keys
keep the order the document has (az sorts them; ours are ordered for reading).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TextIO

from shared.errors import PermanentError

FORMATS = ("json", "jsonc", "table", "tsv", "yaml", "none")


class OutputError(PermanentError):
    """A --query that is not JMESPath, or a result a format cannot show (exit 2)."""


class _OutputAction(argparse.Action):
    """-o/--output FORMAT; on a command whose old ``--output`` named a file or folder, a value that is not a format
    is that path still, with a deprecation note (``--out`` is its name now)."""

    def __init__(self, *args: Any, formats: Sequence[str] = FORMATS, legacy_path: bool = False, **kw: Any):
        self.formats = tuple(formats)
        self.legacy_path = legacy_path
        super().__init__(*args, **kw)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        value = str(values)
        if value.lower() in self.formats:
            setattr(namespace, self.dest, value.lower())
            return
        if self.legacy_path and option_string == "--output":
            sys.stderr.write(
                f"warning: --output {value}: --output is the output format now ({', '.join(self.formats)}), "
                f"as in az; writing to {value} as before, but use --out {value} (the old meaning goes away)\n"
            )
            namespace.out = value
            return
        hint = f"; to write a file use --out {value}" if ("/" in value or "." in value) else ""
        parser.error(
            f"argument {option_string}: invalid choice: {value!r} (choose from {', '.join(self.formats)}){hint}"
        )


def add_output_options(
    p: argparse.ArgumentParser,
    *,
    formats: Sequence[str] = FORMATS,
    default: str = "table",
    legacy_path: bool = False,
) -> None:
    """-o/--output (and --format, its older spelling) and --query."""
    p.add_argument(
        "-o",
        "--output",
        "--format",
        dest="format",
        action=_OutputAction,
        formats=formats,
        legacy_path=legacy_path,
        default=default,
        metavar="FORMAT",
        help=f"output format: {', '.join(formats)} (default: {default}); --format is the older spelling",
    )
    p.add_argument(
        "--query",
        metavar="JMESPATH",
        help="JMESPath query applied to the JSON document before it is printed (https://jmespath.org), as in az",
    )


def add_out_option(p: argparse.ArgumentParser, what: str) -> None:
    """--out PATH: the one flag for writing output to a file (or, for demo, a folder)."""
    p.add_argument("--out", metavar="PATH", help=what)


def query(document: object, expression: str | None) -> object:
    """The document with ``--query`` applied (unchanged without one)."""
    if not expression:
        return document
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.search(expression, document)
    except JMESPathError as exc:
        raise OutputError(f"argument --query: invalid JMESPath query {expression!r}: {exc}") from None


def emit(
    args: argparse.Namespace,
    document: object,
    out: TextIO,
    table: Callable[[TextIO], object] | None = None,
) -> None:
    """Print the command's result: ``--query`` applied, then in the chosen format; ``table`` is the command's own
    table for people (used without --query). jsonc is coloured on a terminal (rich), plain JSON otherwise."""
    fmt = getattr(args, "format", "table")
    expression = getattr(args, "query", None)
    result = query(document, expression)
    if fmt == "table" and table is not None and not expression:
        table(out)
        return
    text = render(result, fmt)
    if fmt == "jsonc":
        from shared.cli.console import Console

        console = Console(out)
        if console.colour:
            console.json(text)
            return
    out.write(text)


def render(result: object, fmt: str) -> str:
    """A (queried) result in one of FORMATS."""
    if fmt in ("json", "jsonc"):
        return json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n"
    if fmt == "yaml":
        import yaml

        plain = json.loads(json.dumps(result, default=str))  # tuples, datetimes: as JSON has them
        return str(yaml.safe_dump(plain, default_flow_style=False, allow_unicode=True, sort_keys=False))
    if fmt == "tsv":
        return tsv(result)
    if fmt == "table":
        return auto_table(result)
    if fmt == "none":
        return ""
    raise OutputError(f"unknown output format {fmt!r}")


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return str(len(value))
    if isinstance(value, dict) or value is None:
        return ""
    return str(value)


def tsv(result: object) -> str:
    """az's tsv: one line per item of a list (the result itself otherwise), values tab-separated."""
    items = result if isinstance(result, list) else [result]
    buffer = io.StringIO()
    for item in items:
        if isinstance(item, dict):
            buffer.write("\t".join(_cell(v) for v in item.values()))
        elif isinstance(item, list):
            buffer.write("\t".join(_cell(v) for v in item))
        elif item is None:
            pass
        else:
            buffer.write(_cell(item))
        buffer.write("\n")
    return buffer.getvalue()


def auto_table(result: object) -> str:
    """az's automatic table: an object's scalar fields as columns (first letter capitalised), one row per item."""
    items = result if isinstance(result, list) else [result]
    rows: list[dict[str, str]] = []
    for item in items:
        if isinstance(item, dict):
            rows.append(
                {
                    k[:1].upper() + k[1:]: _cell(v)
                    for k, v in item.items()
                    if v is not None and not isinstance(v, list | dict)
                }
            )
        elif isinstance(item, list):
            rows.append({f"Column{i + 1}": _cell(v) for i, v in enumerate(item)})
        elif item is not None:
            rows.append({"Result": _cell(item)})
    columns = list(dict.fromkeys(k for row in rows for k in row))
    if not columns:
        return ""
    body = [[row.get(c, "") for c in columns] for row in rows]
    widths = [max(len(r[i]) for r in [columns, *body]) for i in range(len(columns))]
    table = [columns, ["-" * w for w in widths], *body]
    return "".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() + "\n" for r in table
    )


def write_table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """A command's own table: columns padded to their widest cell, two spaces apart."""
    if not rows:
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() + "\n")


def documented(args: argparse.Namespace) -> bool:
    """stdout carries the document (any format but table, or az's table of a --query result): lines for people
    (the state line, notes, progress) go to stderr."""
    return getattr(args, "format", "table") != "table" or bool(getattr(args, "query", None))


def days_text(value: int | None) -> str:
    return "" if value is None else str(value)


def date_text(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"

"""``python -m shared iac scan|fix``: model pins in infrastructure code. ``register`` adds the command group.

Exit codes: 0 ok, 1 a ``--fail-on`` status matched (scan) or a file could not be written (fix), 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from shared.cli_version import VERSION
from shared.iac.model import DRIFT, NOT_OFFERED, RETIRED, RETIRING, UNKNOWN

if TYPE_CHECKING:
    from shared.iac.service import ScanReport

FAIL_ON = (RETIRED, RETIRING, DRIFT, NOT_OFFERED, UNKNOWN)
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _fail_on(values: list[str] | None) -> list[str]:
    from shared.cli import UsageError

    kinds = [v.strip() for value in values or [] for v in value.split(",") if v.strip()]
    wrong = [k for k in kinds if k not in FAIL_ON]
    if wrong:
        raise UsageError(f"--fail-on {', '.join(wrong)}: choose from {', '.join(FAIL_ON)}")
    return list(dict.fromkeys(kinds))


def _report(args: argparse.Namespace) -> ScanReport:
    from shared.cli import UsageError, _environ, _state_arg
    from shared.config import load_settings
    from shared.iac.inputs import InputError, open_state
    from shared.iac.service import scan_and_judge

    settings = load_settings(_environ())
    override = _state_arg(args.state) if args.state else None
    try:
        state = open_state(settings, override)
        catalog_file = Path(args.catalog_file) if args.catalog_file else None
        return scan_and_judge(
            [Path(p) for p in args.paths], at=args.at, catalog_file=catalog_file, state=state
        )
    except InputError as exc:
        raise UsageError(str(exc)) from None


def _intro(report: ScanReport, stream: TextIO) -> None:
    stream.write(f"Model pins as of {report.as_of:%Y-%m-%d %H:%M} UTC, against {report.catalog_source}\n")
    for note in report.notes:
        stream.write(f"note: {note}\n")


def cmd_scan(args: argparse.Namespace, out: TextIO) -> int:
    """Find every Azure OpenAI deployment in the code and judge its pinned version."""
    from shared.cli import UsageError
    from shared.iac import render
    from shared.iac.evaluate import matches

    kinds = _fail_on(args.fail_on)
    if args.within is not None and RETIRING not in kinds:
        raise UsageError("--within DAYS applies to --fail-on retiring")
    report = _report(args)
    root = Path(args.root)
    if args.format == "table" and not args.query:
        _intro(report, out)
        text = render.table(report.findings, report.warnings, root)
    else:
        import io

        from shared.cli_output import emit

        _intro(report, sys.stderr)  # stdout carries the document only
        if args.format == "sarif":
            document = render.to_sarif(report.findings, report.warnings, root, version=VERSION)
        else:
            as_of = f"{report.as_of:%Y-%m-%dT%H:%M:%SZ}"
            document = render.to_json(
                report.findings,
                report.warnings,
                root,
                asOf=as_of,
                catalog=report.catalog_source,
                notes=report.notes,
            )
        buffer = io.StringIO()  # -o/--query as every command has them (shared/cli_output.py); sarif is JSON
        emit(
            argparse.Namespace(format="json" if args.format == "sarif" else args.format, query=args.query),
            document,
            buffer,
        )
        text = buffer.getvalue()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        out.write(
            f"wrote {args.out} ({len(report.findings)} finding(s), {len(report.warnings)} warning(s))\n"
        )
    else:
        out.write(text)
    failing = [f for f in report.findings if any(matches(f, k, args.within) for k in kinds)]
    if failing:
        within = f" within {args.within} days" if args.within is not None else ""
        sys.stderr.write(f"{len(failing)} finding(s) match --fail-on {','.join(kinds)}{within}\n")
        return EXIT_FAILED
    return EXIT_OK


def cmd_fix(args: argparse.Namespace, out: TextIO) -> int:
    """Rewrite each pin to its recommendation (the literal it comes from), print the diff."""
    import io

    from shared.cli_output import emit
    from shared.iac import fix
    from shared.iac.render import relative
    from shared.iac.source import SourceError, SourceText

    # -o json|yaml|tsv or --query: the diffs as a document on stdout, the text for people nowhere (as every command)
    documented = args.format != "table" or bool(args.query)
    people = io.StringIO() if documented else out
    report = _report(args)
    _intro(report, sys.stderr if documented else out)
    plan = fix.plan(report.findings)
    root = Path(args.root)
    failed = False
    changed = 0
    files: list[dict[str, object]] = []
    for path, edits in sorted(plan.by_file().items()):
        try:
            source = SourceText.read(path)
            after = fix.apply(source.text, edits)
        except (SourceError, ValueError) as exc:
            sys.stderr.write(f"error: {relative(path, root)}: {exc}\n")
            failed = True
            continue
        diff = fix.unified_diff(relative(path, root), source.text, after)
        files.append({"path": relative(path, root), "diff": diff, "why": [e.why for e in edits]})
        people.write(diff)
        for edit in edits:
            people.write(f"# {edit.why}\n")
        if not args.dry_run:
            try:
                path.write_bytes(source.encode(after))
            except OSError as exc:
                sys.stderr.write(f"error: {relative(path, root)}: cannot write it ({exc.strerror})\n")
                failed = True
                continue
        changed += 1
    for reason in plan.skipped:
        people.write(f"skipped: {reason}\n")
    verb = "would change" if args.dry_run else "changed"
    people.write(
        f"{verb} {changed} file(s), {len(plan.edits)} value(s)" if plan.edits else "nothing to change"
    )
    people.write("\n")
    if documented:
        document = {
            "dryRun": args.dry_run,
            "changedFiles": changed,
            "values": len(plan.edits),
            "files": files,
            "skipped": list(plan.skipped),
            "failed": failed,
        }
        emit(args, document, out)
    return EXIT_FAILED if failed else EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``iac scan`` and ``iac fix`` to the command line."""
    from shared.cli import _days_arg, _instant
    from shared.cli_output import FORMATS, add_out_option, add_output_options

    iac = subparsers.add_parser(
        "iac", help="model pins in infrastructure code: Bicep, Terraform, ARM templates"
    )
    commands = iac.add_subparsers(dest="iac_command", required=True, metavar="IAC_COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("paths", nargs="+", metavar="PATH", help="template files or folders to scan")
        p.add_argument(
            "--at",
            type=_instant,
            help="judge as of this ISO-8601 instant (default: now, or the catalog file's asOf)",
        )
        p.add_argument(
            "--catalog-file",
            help="an ARM Models - List JSON (default: the state store's catalog, else the bundled sample)",
        )
        p.add_argument(
            "--state",
            help="state store for the catalog and the inventory (drift): sqlite:///PATH, a "
            "table endpoint URL or a storage connection string",
        )
        p.add_argument(
            "--root", default=".", help="paths in the output are relative to this folder (default: .)"
        )

    scan = commands.add_parser("scan", help="find Azure OpenAI deployments in the code and judge each pin")
    common(scan)
    # --output FILE, the old spelling of --out, still works (with a note): -o/--output is the format, as in az
    add_output_options(scan, formats=(*FORMATS, "sarif"), legacy_path=True)
    add_out_option(scan, "write the report to this file instead of standard output")
    scan.add_argument(
        "--fail-on",
        action="append",
        metavar="STATUS",
        help=f"exit 1 when a finding has this status ({', '.join(FAIL_ON)}); repeat or comma-separate",
    )
    scan.add_argument(
        "--within",
        type=_days_arg,
        metavar="DAYS",
        help="with --fail-on retiring: only dates within this many days count",
    )
    scan.set_defaults(handler=cmd_scan)

    fix = commands.add_parser("fix", help="rewrite each pin to its recommendation and print the diff")
    common(fix)
    fix.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    fix.set_defaults(handler=cmd_fix)

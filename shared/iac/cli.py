"""``python -m shared iac scan|fix``: model pins in infrastructure code. ``register`` adds the command group.

Exit codes: 0 ok, 1 a ``--fail-on`` status matched (scan) or a file could not be written (fix), 2 bad usage: a
path that does not exist, or a gate that would judge blind (``--fail-on`` against the bundled sample catalog).

Nothing outside the scan's root is read or written (shared/iac/confine.py): the root is ``--root`` when given
(every PATH must be inside it), else the current folder for the PATHs inside it, else each PATH itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from shared.domain.version import VERSION
from shared.iac.rules import FAIL_ON, Status

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shared.cli.context import Context
    from shared.iac.report import ScanReport

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _fail_on(values: list[str] | None) -> list[Status]:
    from shared.cli.context import UsageError

    kinds = [v.strip() for value in values or [] for v in value.split(",") if v.strip()]
    wrong = [k for k in kinds if k not in FAIL_ON]
    if wrong:
        raise UsageError(f"--fail-on {', '.join(wrong)}: choose from {', '.join(FAIL_ON)}")
    return list(dict.fromkeys(Status(k) for k in kinds))


def _roots(args: argparse.Namespace) -> tuple[list[Path], Path]:
    """(the roots nothing is read or written outside of, the root paths are shown relative to)."""
    from shared.cli.context import UsageError

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        raise UsageError(f"{', '.join(missing)}: no such file or directory (nothing to scan)")
    if args.root is not None:
        root = Path(args.root)
        if not root.is_dir():
            raise UsageError(f"--root {args.root}: not a folder")
        outside = [str(p) for p in paths if not _under(p, root)]
        if outside:
            raise UsageError(f"{', '.join(outside)}: outside --root {args.root} (nothing outside it is read)")
        return [root], root
    here = Path(".")
    return [here if _under(p, here) else (p if p.is_dir() else p.parent) for p in paths], here


def _under(path: Path, root: Path) -> bool:
    real, base = path.resolve(), root.resolve()
    return real == base or base in real.parents


def _report(
    args: argparse.Namespace, roots: list[Path], root: Path, environ: Mapping[str, str]
) -> ScanReport:
    """The scan under the command's settings (``environ``: the settings in force, as the command resolved them)."""
    from shared.cli.context import UsageError, state_arg
    from shared.config import load_settings
    from shared.iac.gate import BaselineError, read_baseline
    from shared.iac.inputs import InputError, open_state
    from shared.iac.report import scan_and_judge

    settings = load_settings(dict(environ))
    override = state_arg(args.state) if args.state else None
    baseline = None
    if getattr(args, "baseline", None):
        try:
            baseline = read_baseline(Path(args.baseline).read_text(encoding="utf-8"), args.baseline)
        except OSError as exc:
            raise UsageError(f"baseline {args.baseline}: cannot read it ({exc.strerror})") from None
        except BaselineError as exc:
            raise UsageError(str(exc)) from None
    try:
        state = open_state(settings, override)
        catalog_file = Path(args.catalog_file) if args.catalog_file else None
        return scan_and_judge(
            [Path(p) for p in args.paths],
            at=args.at,
            catalog_file=catalog_file,
            state=state,
            roots=roots,
            root=root,
            baseline=baseline,
        )
    except InputError as exc:
        raise UsageError(str(exc)) from None


def _intro(report: ScanReport, stream: TextIO) -> None:
    from shared.iac.formats import printable

    stream.write(f"Model pins as of {report.as_of:%Y-%m-%d %H:%M} UTC, against {report.catalog_source}\n")
    for note in report.notes:
        stream.write(printable(f"note: {note}") + "\n")


def _category(paths: list[str], root: Path) -> str:
    """What GitHub tells this scan's analyses apart by: the scanned paths (two jobs scanning other folders of one
    repository must not close each other's alerts)."""
    from shared.iac.gate import relative

    return "+".join(relative(Path(p), root) for p in paths).replace("/", "-") or "root"


def cmd_scan(args: argparse.Namespace, out: TextIO, ctx: Context) -> int:
    """Find every Azure OpenAI deployment in the code and judge its pinned version."""
    from shared.cli.context import UsageError
    from shared.iac import formats, gate
    from shared.iac.evaluate import matches

    kinds = _fail_on(args.fail_on)
    if args.within is not None and Status.RETIRING not in kinds:
        raise UsageError("--within DAYS applies to --fail-on retiring")
    roots, root = _roots(args)
    report = _report(args, roots, root, ctx.sources.environ)
    if kinds and report.sample_catalog and not args.allow_sample_catalog:
        raise UsageError(
            f"--fail-on would judge against {report.catalog_source}, not the live catalog: give it with "
            "--catalog-file FILE (an ARM Models - List response, e.g. from `az rest`) or --state STORE (a state "
            "store `modelwatch check` has filled), or pass --allow-sample-catalog to gate on the sample anyway"
        )
    if args.write_baseline:
        document = gate.baseline_document(report.findings, [f.fingerprint for f in report.findings], root)
        Path(args.write_baseline).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        out.write(
            f"wrote {args.write_baseline} ({len(document['findings'])} finding(s) accepted as they stand)\n"
        )
        return EXIT_OK
    if args.format == "table" and not args.query:
        _intro(report, out)
        text = formats.table(report.findings, report.warnings, root)
    else:
        import io

        from shared.cli.output import emit

        _intro(report, sys.stderr)  # stdout carries the document only
        if args.format == "sarif":
            document = formats.to_sarif(
                report.findings,
                report.warnings,
                root,
                version=VERSION,
                category=_category(args.paths, root),
            )
        else:
            as_of = f"{report.as_of:%Y-%m-%dT%H:%M:%SZ}"
            document = formats.to_json(
                report.findings,
                report.warnings,
                root,
                asOf=as_of,
                catalog=report.catalog_source,
                notes=report.notes,
            )
        buffer = io.StringIO()  # -o/--query as every command has them (shared/cli/output.py); sarif is JSON
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
    gated = [f for f in report.findings if f.suppressed is None]
    disabled = args.include_disabled
    failing = [f for f in gated if any(matches(f, k, args.within, include_disabled=disabled) for k in kinds)]
    # a refused reference or a file too large stands for pins that were not read: unknown, for the gate
    refusals = [w for w in report.warnings if w.rule] if Status.UNKNOWN in kinds else []
    if failing or refusals:
        within = f" within {args.within} days" if args.within is not None else ""
        extra = f" (and {len(refusals)} refused or unevaluated file(s))" if refusals else ""
        sys.stderr.write(f"{len(failing)} finding(s) match --fail-on {','.join(kinds)}{within}{extra}\n")
        return EXIT_FAILED
    return EXIT_OK


def cmd_fix(args: argparse.Namespace, out: TextIO, ctx: Context) -> int:
    """Rewrite each pin to its recommendation (the literal it comes from), print the diff."""
    import io

    from shared.cli.output import emit
    from shared.iac import confine, fix
    from shared.iac.formats import printable
    from shared.iac.gate import relative
    from shared.iac.source import SourceError, SourceText

    # -o json|yaml|tsv or --query: the diffs as a document on stdout, the text for people nowhere (as every command)
    documented = args.format != "table" or bool(args.query)
    people = io.StringIO() if documented else out
    roots, root = _roots(args)
    report = _report(args, roots, root, ctx.sources.environ)
    _intro(report, sys.stderr if documented else out)
    plan = fix.plan([f for f in report.findings if f.suppressed is None])
    failed = False
    changed = 0
    files: list[dict[str, object]] = []
    with confine.confined(roots):  # every file read and written stays under the roots
        for path, edits in sorted(plan.by_file().items()):
            label = relative(path, root)
            try:
                source = SourceText.read(path)
                after = fix.apply(source.text, edits)
            except (SourceError, ValueError) as exc:
                sys.stderr.write(printable(f"error: {label}: {exc}") + "\n")
                failed = True
                continue
            diff = fix.unified_diff(label, source.text, after)
            files.append({"path": label, "diff": diff, "why": [e.why for e in edits]})  # exact: JSON escapes
            people.write(printable(diff, keep_newlines=True))
            for edit in edits:
                people.write(printable(f"# {edit.why}") + "\n")
            if not args.dry_run:
                try:
                    confine.write_bytes(path, source.encode(after))
                except confine.RefusedError as exc:
                    sys.stderr.write(printable(f"error: {label}: {exc}") + "\n")
                    failed = True
                    continue
                except OSError as exc:
                    sys.stderr.write(printable(f"error: {label}: cannot write it ({exc.strerror})") + "\n")
                    failed = True
                    continue
            changed += 1
    for reason in plan.skipped:
        people.write(printable(f"skipped: {reason}") + "\n")
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
    """Add ``iac scan`` and ``iac fix`` to the command line. Their handlers take the command's ``Context`` too:
    shared/cli/commands/iac.py wraps each in ``with_state_line``, which resolves it and passes it in."""
    from shared.cli.context import days_arg, instant
    from shared.cli.output import FORMATS, add_out_option, add_output_options

    iac = subparsers.add_parser(
        "iac", help="model pins in infrastructure code: Bicep, Terraform, ARM templates"
    )
    commands = iac.add_subparsers(dest="iac_command", required=True, metavar="IAC_COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("paths", nargs="+", metavar="PATH", help="template files or folders to scan")
        p.add_argument(
            "--at",
            type=instant,
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
            "--root",
            help="the folder nothing outside of is read or written, and paths in the output are relative to "
            "(default: the current folder for the paths inside it, else each path itself)",
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
        type=days_arg,
        metavar="DAYS",
        help="with --fail-on retiring: only dates within this many days count",
    )
    scan.add_argument(
        "--allow-sample-catalog",
        action="store_true",
        help="let --fail-on judge against the bundled sample catalog (by default that is refused: exit 2)",
    )
    scan.add_argument(
        "--baseline",
        metavar="FILE",
        help="report only the findings this baseline (from --write-baseline) does not hold, or that got worse",
    )
    scan.add_argument(
        "--write-baseline",
        metavar="FILE",
        help="write the current findings (not ok, not suppressed) to FILE as the accepted baseline, and exit 0",
    )
    scan.add_argument(
        "--include-disabled",
        action="store_true",
        help="--fail-on also counts deployments not deployed by default (a false if, count 0, ${USE_X=false})",
    )
    scan.set_defaults(handler=cmd_scan)

    fix = commands.add_parser("fix", help="rewrite each pin to its recommendation and print the diff")
    common(fix)
    fix.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    fix.set_defaults(handler=cmd_fix)

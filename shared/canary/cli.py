"""``python -m shared canary run|list|sweep|pins|unpin``: a team's evaluation suite on the current and the coming
version (``pins``, ``unpin``: CANARY_PROTECT's pins, ``shared/canary/pins.py``).

``register`` adds the command group (shared/cli/parser.py calls it, as it does shared/iac/cli.py's). Exit codes: 0 the run
passed (or ``--fail-on`` did not match), 1 a regression with ``--fail-on regression``, 2 it could not run (no target
deployment, quota, capacity, auth, not offered, bad usage or settings).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from shared.cli.context import Context
    from shared.config import Settings
    from shared.domain.canary import CanaryResult
    from shared.domain.evals import Suite

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

HELP = {
    "canary": "Canaries: a team's evaluation suite (YAML, promptfoo's assertion names) on its current deployment and "
    "on a deployment of the coming version, before anything moves.",
    "canary run": "Run the suite on the deployment and on a deployment of the target version: one already in the "
    "account (side by side, or --against NAME), else with --create-canary (or CANARY_MODE=create) a temporary "
    "<name>-mw-canary, deleted after the run. The target defaults to what modelwatch predicts for the deployment.",
    "canary list": "The stored canary results, oldest first, then the pins CANARY_PROTECT holds (the table).",
    "canary sweep": "Delete expired canaries (tagged modelwatch:canary-of, past modelwatch:expires) a crashed run "
    "left in the WATCH_ACCOUNTS accounts.",
}
EXAMPLES = {
    "canary": "modelwatch canary run --deployment /subscriptions/<sub>/resourceGroups/<rg>/providers/"
    "Microsoft.CognitiveServices/accounts/<acct>/deployments/chat --suite evals/invoices.yaml",
    "canary run": "modelwatch canary run --deployment <ARM id> --suite evals/invoices.yaml --target-version "
    "2024-11-20 --create-canary --fail-on regression",
    "canary list": "modelwatch canary list --format json",
    "canary sweep": "modelwatch canary sweep",
}


def _start(args: argparse.Namespace, out: TextIO) -> Context:
    from shared.cli.context import command_context, intro

    ctx = command_context(args)
    intro(ctx, out, to_stderr=getattr(args, "format", "table") != "table")
    return ctx


def results_store(ctx: Context, *, read_only: bool) -> Any:
    """The stored canary results of the command's state (SQLite file or Table Storage), or None for a read of a
    SQLite state that does not exist (a read never creates it)."""
    from shared import bootstrap
    from shared.config import StoreKind

    prefix = ctx.settings.state_table_prefix
    if ctx.state.kind == StoreKind.SQLITE and read_only and not Path(ctx.state.value.reveal()).is_file():
        return None
    return bootstrap.build_canary_results(ctx.state, table_prefix=prefix, read_only=read_only)


def _suite(args: argparse.Namespace, settings: Settings, source: dict[str, Any]) -> Suite:
    from shared import bootstrap
    from shared.adapters.suite_files import load_suite
    from shared.cli.context import UsageError
    from shared.domain.evals import suite_for

    if args.suite:
        return load_suite(Path(args.suite))
    # a folder relative to the current directory; a blob container with the identity the CLI runs as
    suites = bootstrap.suite_reader(settings, folder=Path.cwd())()
    parts = args.deployment.split("/")
    account, name = parts[-3] if len(parts) >= 3 else "", parts[-1]
    tags = source.get("tags") if isinstance(source.get("tags"), dict) else {}
    found = suite_for(suites.suites, account, name, tags or {})
    if found is None:
        unread = "".join(f"; not read: {problem}" for problem in suites.problems)
        raise UsageError(
            f"no suite in EVAL_SUITES ({settings.eval_suites}) covers {account}/{name}: give --suite FILE, add it "
            f"to a suite's deployments: globs, or tag the deployment modelwatch:evals=<suite file name>{unread}"
        )
    return found


def _predicted(ctx: Context, deployment_id: str, now: datetime) -> tuple[str, str] | None:
    """What modelwatch predicts the deployment moves to (the status page's assessment), from the stored state."""
    from shared.cli.state import open_services
    from shared.domain.ids import arm_key

    services = open_services(ctx, read_only=True)
    for a in services.status(now).assessments:
        if arm_key(a.deployment.resource_id) == arm_key(deployment_id) and a.target_version:
            return a.target_model or a.deployment.model_name, a.target_version
    return None


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    """Run a canary and print the comparison."""
    from shared import bootstrap
    from shared.cli.context import UsageError
    from shared.cli.output import emit
    from shared.domain.canary import CanaryMode
    from shared.domain.verdict import Verdict
    from shared.services.canary import CanaryRequest

    ctx = _start(args, out)
    settings = ctx.settings
    now = datetime.now(UTC)
    if bool(args.target_model) and not args.target_version:
        raise UsageError("--target-model needs --target-version")
    if settings.canary_mode == CanaryMode.OFF and not args.create_canary:
        raise UsageError("CANARY_MODE=off: canaries are switched off (--create-canary allows one run)")
    api = bootstrap.build_deployment_api(settings)
    source = api.get_deployment(args.deployment)
    suite = _suite(args, settings, source)
    target_model, target_version = args.target_model, args.target_version
    if not args.against and not target_version:
        predicted = _predicted(ctx, args.deployment, now)
        if predicted is None:
            raise UsageError(
                "no target: modelwatch predicts no move for this deployment in its state; give --target-model M "
                "--target-version V, or --against NAME (a deployment of the target version in the same account)"
            )
        target_model, target_version = predicted
    request = CanaryRequest(
        deployment_id=args.deployment,
        suite=suite,
        target_model=target_model,
        target_version=target_version,
        against=args.against,
        mode=CanaryMode.CREATE if args.create_canary else settings.canary_mode,
        keep=args.keep,
    )
    result = bootstrap.build_canary_service(settings, api=api).run(request, now)
    results_store(ctx, read_only=False).save(result)
    emit(args, result.to_json(), out, table=lambda o: o.write(render_table(result)))
    if result.verdict == Verdict.ERROR:
        sys.stderr.write(f"error: the canary could not run: {result.reason}\n")
        return EXIT_USAGE
    if result.verdict == Verdict.REGRESSION and "regression" in (args.fail_on or []):
        return EXIT_FAILED
    return EXIT_OK


def _cell(case: Any) -> str:
    if case is None:
        return "not run"
    return f"{'pass' if case.passed else 'FAIL'} {case.latency_ms:.0f}ms"


def render_table(result: CanaryResult) -> str:
    """The comparison for people: one line per case, the failures of the target, the verdict."""
    cur, tgt = result.current, result.target
    lines = [
        f"suite {result.suite}: {cur.deployment} ({cur.model} {cur.version}) vs "
        f"{tgt.deployment or '(none)'} ({tgt.model} {tgt.version})"
    ]
    if result.cases:
        width = max(len(c.id) for c in result.cases)
        lines.append(f"  {'case'.ljust(width)}  {'current':<12}  {'target':<12}  first failure on the target")
        for c in result.cases:
            why = c.target.failures[0] if c.target and c.target.failures else ""
            mark = "  <- regression" if c.regressed else ""
            lines.append(
                f"  {c.id.ljust(width)}  {_cell(c.current):<12}  {_cell(c.target):<12}  {why}{mark}".rstrip()
            )
        lines.append(
            f"tested: {cur.passed}/{len(result.cases)} -> {tgt.passed}/{len(result.cases)} on {tgt.model} {tgt.version}"
        )
    verdict = result.verdict.value
    if result.regressions:
        verdict += f" ({len(result.regressions)}: {', '.join(result.regressions)})"
    if result.reason:
        verdict += f": {result.reason}"
    lines.append(f"verdict: {verdict}; tokens used: {result.tokens}")
    if result.canary:
        state = "created" if result.canary.created else "not created"
        state += (
            ", deleted"
            if result.canary.deleted
            else (", kept until it expires" if result.canary.created else "")
        )
        lines.append(f"canary {result.canary.name}: {state}")
    return "\n".join(lines) + "\n"


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    from shared.canary.pins import pins_of, write_pins
    from shared.cli.output import emit

    ctx = _start(args, out)
    store = results_store(ctx, read_only=True)
    results = store.list_results() if store is not None else []

    def table(o: TextIO) -> None:
        _list_table(results, o)
        write_pins(pins_of(ctx), ctx.settings.enforce, o)  # in force whatever POLICY_MODE is now

    emit(args, results, out, table=table)
    return EXIT_OK


def _list_table(results: list[dict[str, Any]], out: TextIO) -> None:
    if not results:
        out.write(
            "no canary results stored yet: python -m shared canary run --deployment ARM_ID --suite FILE\n"
        )
        return
    for r in results:
        cur, tgt = r.get("current") or {}, r.get("target") or {}
        assert isinstance(cur, dict) and isinstance(tgt, dict)
        total = len(r.get("cases") or [])
        regressions = r.get("regressions") or []
        assert isinstance(regressions, list)
        out.write(
            f"{r.get('at')}  {str(r.get('deployment', '')).rsplit('/', 1)[-1]}  {r.get('suite')}  "
            f"{r.get('verdict')}  {cur.get('passed')}/{total} -> {tgt.get('passed')}/{total} on "
            f"{tgt.get('model')} {tgt.get('version')}"
            + (f"  regressions: {', '.join(map(str, regressions))}" if regressions else "")
            + (f"  ({r.get('reason')})" if r.get("reason") else "")
            + "\n"
        )


def cmd_sweep(args: argparse.Namespace, out: TextIO) -> int:
    from shared import bootstrap
    from shared.cli.context import UsageError
    from shared.cli.output import emit

    ctx = _start(args, out)
    settings = ctx.settings
    if not settings.watch_accounts:
        raise UsageError("canary sweep works on the accounts in WATCH_ACCOUNTS, which is empty")
    service = bootstrap.build_canary_service(settings)
    deleted = service.sweep(settings.watch_accounts, datetime.now(UTC))

    def table(o: TextIO) -> None:
        for rid in deleted:
            o.write(f"deleted expired canary {rid}\n")
        o.write(f"{len(deleted)} expired canar{'y' if len(deleted) == 1 else 'ies'} deleted\n")

    emit(args, {"deleted": deleted}, out, table=table)
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``canary run``, ``list``, ``sweep``, ``pins`` and ``unpin`` to the command line."""
    import textwrap

    from shared.canary import pins
    from shared.cli.args import add_global_options
    from shared.cli.context import prog as command_prog
    from shared.cli.output import add_output_options

    prog = command_prog()
    canary = subparsers.add_parser("canary", help="test the coming version on a team's own prompts")
    commands = canary.add_subparsers(dest="canary_command", required=True, metavar="CANARY_COMMAND")
    run = commands.add_parser("run", help="run a suite on the current and the target version")
    run.add_argument(
        "--deployment", required=True, metavar="ARM_ID", help="the team's deployment (resource id)"
    )
    run.add_argument(
        "--suite", metavar="FILE", help="the suite (default: the one in EVAL_SUITES covering it)"
    )
    run.add_argument("--target-model", metavar="M", help="the target's model (default: the deployment's)")
    run.add_argument(
        "--target-version", metavar="V", help="the target version (default: modelwatch's prediction)"
    )
    run.add_argument(
        "--against", metavar="DEPLOYMENT_NAME", help="test against this deployment of the account"
    )
    run.add_argument(
        "--create-canary",
        action="store_true",
        help="allow creating a temporary canary deployment for this run",
    )
    run.add_argument("--keep", action="store_true", help="leave a created canary (the sweeper deletes it)")
    run.add_argument(
        "--fail-on", action="append", choices=("regression",), help="exit 1 when the verdict is a regression"
    )
    run.set_defaults(handler=cmd_run)
    listing = commands.add_parser("list", help="the stored canary results")
    listing.set_defaults(handler=cmd_list)
    sweep = commands.add_parser("sweep", help="delete expired canaries a crashed run left")
    sweep.set_defaults(handler=cmd_sweep)
    helps, examples = {**HELP, **pins.HELP}, {**EXAMPLES, **pins.EXAMPLES}
    for name, p in (
        ("canary", canary),
        ("canary run", run),
        ("canary list", listing),
        ("canary sweep", sweep),
        *pins.register(commands),
    ):
        p.description = textwrap.fill(helps[name], 100)
        p.epilog = "example:\n  " + examples[name].replace("modelwatch ", f"{prog} ", 1) + "\n"
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        add_global_options(p)
        if p is not canary:
            add_output_options(p)  # -o/--output json|table|... (--format, the spelling), --query

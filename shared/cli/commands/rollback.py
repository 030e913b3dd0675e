"""``rollback``: a deployment put back on its previous version, named as az names a resource."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from shared.cli.args import Subcommands, describe_command
from shared.cli.context import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    as_run,
    command_context,
    command_line,
    instant,
    intro,
    prog,
)
from shared.cli.output import documented, emit
from shared.cli.state import open_services, refuse_empty
from shared.domain.deployments import Deployment
from shared.domain.ids import arm_key, subscription_of
from shared.domain.timeutil import format_instant

# description and example of each command (--help): (description, example lines)
HELP: dict[str, tuple[str, str]] = {
    "rollback": (
        "Put a deployment back on its previous version (and NoAutoUpgrade) while that version exists. Refused, "
        "with a reason, when it cannot; an empty inventory means the wrong state. Name the deployment by its ARM "
        "id (or --ids), or by -n NAME with as much of --account, -g and --subscription as tells it apart.",
        "modelwatch rollback -g <rg> --account <acct> -n <name> --dry-run --app-settings app-settings.json\n"
        "modelwatch rollback --ids /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.CognitiveServices/"
        "accounts/<acct>/deployments/<name> -o json",
    ),
}


def add_deployment_address(p: argparse.ArgumentParser) -> None:
    """How a command names one deployment, as az names a resource: its ARM id (positional or --ids), or its name
    with as much of --subscription, -g/--resource-group and --account as tells it apart in the inventory."""
    p.add_argument(
        "deployment_id",
        nargs="?",
        metavar="DEPLOYMENT_ID",
        help="the deployment's ARM resource id (or --ids, or -n NAME with --account/-g/--subscription)",
    )
    where = p.add_argument_group("the deployment, as az addresses a resource")
    where.add_argument("--ids", metavar="ID", help="the deployment's ARM resource id")
    where.add_argument("--subscription", metavar="ID", help="its subscription id")
    where.add_argument("-g", "--resource-group", metavar="NAME", help="its resource group")
    where.add_argument("--account", "--account-name", metavar="NAME", help="its Azure OpenAI account")
    where.add_argument("-n", "--name", "--deployment-name", metavar="NAME", help="the deployment's name")


def _ascii_lower(text: str) -> str:
    return arm_key(text)  # ARM compares names ignoring ASCII case only


def deployment_address(args: argparse.Namespace, deployments: Sequence[Deployment]) -> str:
    """The ARM id the address options name. UsageError when they name none clearly (no name, an id and parts
    both, or a name several deployments share); an unknown one is returned as given, for the service's refusal."""
    ids: list[str] = [v for v in (args.deployment_id, args.ids) if v]
    parts = {
        "--subscription": args.subscription,
        "-g": args.resource_group,
        "--account": args.account,
        "-n": args.name,
    }
    given = {k: v for k, v in parts.items() if v}
    if len(ids) > 1:
        raise UsageError("the deployment is named twice: give DEPLOYMENT_ID or --ids, not both")
    if ids and given:
        raise UsageError(
            f"{' '.join(given)} with an ARM id: name the deployment one way, its id or "
            "-n NAME (with --account, -g, --subscription)"
        )
    if ids:
        return ids[0]
    if not args.name:
        raise UsageError(
            "which deployment? give its ARM id (DEPLOYMENT_ID or --ids), or -n NAME (with --account, -g or "
            "--subscription when the name is not unique)"
        )

    def fields(d: Deployment) -> dict[str, str]:
        segments = d.resource_id.strip("/").split("/")
        return {
            "--subscription": subscription_of(d.resource_id) or "",
            "-g": segments[3] if len(segments) > 3 else "",
            "--account": d.account_id.rsplit("/", 1)[-1],
            "-n": d.name,
        }

    wanted = {k: _ascii_lower(v) for k, v in given.items()}
    found = [d for d in deployments if all(_ascii_lower(fields(d)[k]) == v for k, v in wanted.items())]
    if len(found) == 1:
        return found[0].resource_id
    if len(found) > 1:
        raise UsageError(
            f"{len(found)} deployments match {' '.join(f'{k} {v}' for k, v in given.items())}: add --account, -g "
            "or --subscription, or give the ARM id:\n"
            + "".join(f"  {d.resource_id}\n" for d in found).rstrip()
        )
    if len(given) == 4:  # fully named: the service says it is not in the inventory, with what to do
        return (
            f"/subscriptions/{args.subscription}/resourceGroups/{args.resource_group}/providers/"
            f"Microsoft.CognitiveServices/accounts/{args.account}/deployments/{args.name}"
        )
    return f"(a deployment named {' '.join(f'{k} {v}' for k, v in given.items())})"


def cmd_rollback(args: argparse.Namespace, out: TextIO) -> int:
    """Put a deployment back on its previous version (and NoAutoUpgrade), while that version exists."""
    import getpass

    from shared.services.rollback import RollbackRefusedError

    ctx = command_context(args)
    as_json = documented(args)
    intro(ctx, out, to_stderr=as_json)
    services = open_services(ctx, writes_if_found=True)
    if refuse_empty(ctx, services, "a rollback"):
        return EXIT_FAILED
    deployment_id = deployment_address(args, services.stores.list_deployments())
    now = args.at or datetime.now(UTC)
    try:
        result = services.rollback.rollback(
            deployment_id,
            now,
            to_version=args.to,
            dry_run=args.dry_run,
            as_new=args.as_new,
            force=args.force,
            requested_by=f"{getpass.getuser()} (command line)",
        )
    except RollbackRefusedError as exc:
        sys.stderr.write(f"refused ({exc.reason}): {as_run(str(exc))}\n")
        if exc.reason in ("unknown-deployment", "stale-inventory"):
            sys.stderr.write(
                f"  refresh this state's inventory: {command_line(ctx, 'deployments --refresh')}\n"
            )
        if as_json:
            emit(
                args,
                {
                    "deploymentId": deployment_id,
                    "outcome": "refused",
                    "reason": exc.reason,
                    "dryRun": args.dry_run,
                    "written": False,
                    "message": str(exc),
                },
                out,
            )
        return EXIT_FAILED
    plan = result.plan
    d = plan.deployment
    if plan.done is not None:
        outcome = "already-done"
    elif args.dry_run:
        outcome = "dry-run"
    else:
        outcome = "rolled-back" if result.written else "already-done"
    # the same command without --dry-run: every option that shapes the rollback, the id that names it exactly
    options = "".join(
        f" {flag} {value}" for flag, value in (("--to", args.to), ("--as-new", args.as_new)) if value
    ) + (" --force" if args.force else "")
    todo = command_line(ctx, f"rollback {d.resource_id}{options}") if outcome == "dry-run" else None
    document = {
        "deploymentId": d.resource_id,
        "name": d.name,
        "outcome": outcome,
        "dryRun": args.dry_run,
        "written": result.written,
        "from": {"model": d.model_name, "version": d.model_version}
        if plan.done is None
        else {"model": plan.done.from_model or d.model_name, "version": plan.done.from_version},
        "to": {"model": plan.model, "version": plan.target_version},
        "sideBySide": plan.sibling_id,
        "targetRetires": format_instant(plan.available_until) if plan.available_until else None,
        "message": result.describe(),
        "event": result.event.id if result.event is not None else None,
        "toDoIt": todo,
    }

    def table(o: TextIO) -> None:
        o.write(result.describe() + "\n")
        if result.event is not None:
            o.write(f"published {result.event.event_type} ({result.event.id})\n")
        if todo:
            o.write(f"to do it: {todo}\n")

    emit(args, document, out, table)
    return EXIT_OK


def register(subparsers: Subcommands) -> None:
    """Add ``rollback``."""
    rollback = subparsers.add_parser("rollback", help="put a deployment back on its previous version")
    add_deployment_address(rollback)
    rollback.add_argument(
        "--to", metavar="VERSION", help="the version to go back to (default: the previous one)"
    )
    rollback.add_argument("--dry-run", action="store_true", help="check and show, write nothing")
    rollback.add_argument(
        "--as-new",
        metavar="NAME",
        help="side by side: create deployment NAME on the previous model and version (same SKU, capacity, RAI "
        "policy; NoAutoUpgrade) and leave this one as it is; the way back after Azure moved it to another model",
    )
    rollback.add_argument(
        "--force", action="store_true", help="also roll back a pinned, ignored or provisioned deployment"
    )
    rollback.add_argument("--at", type=instant, help=argparse.SUPPRESS)  # tests and what-ifs: evaluate as of
    rollback.set_defaults(handler=cmd_rollback)
    describe_command(rollback, HELP["rollback"], prog())

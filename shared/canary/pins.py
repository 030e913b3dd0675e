"""``canary pins`` and ``canary unpin``: the NoAutoUpgrade pins CANARY_PROTECT set, and lifting one by hand.

modelwatch lifts its own pin only in enforce mode (a later canary passes, or the version's retirement comes within
CANARY_PROTECT_MARGIN_DAYS): plan mode writes nothing, so a pin set before POLICY_MODE went to plan stays until
someone lifts it. These commands make that visible and give the way out: ``unpin`` is the operator's explicit act
(it runs in plan mode, as ``rollback`` does) under the protection's own rules: the write scope, a fresh read of the
deployment, If-Match, the recorded policy put back, the end recorded.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from shared.cli.context import Context
    from shared.domain.changes import VersionChange

EXIT_OK = 0

HELP = {
    "canary pins": "The deployments CANARY_PROTECT set to NoAutoUpgrade after a regression, with the policy to put "
    "back and the command that lifts each pin (modelwatch lifts one itself only in enforce mode).",
    "canary unpin": "Put the recorded versionUpgradeOption back on a deployment CANARY_PROTECT pinned (any "
    "POLICY_MODE: the operator's own act), inside WATCH_ACCOUNTS' scope, with If-Match; the pin's end is recorded.",
}
EXAMPLES = {
    "canary pins": "modelwatch canary pins -o json",
    "canary unpin": "modelwatch canary unpin --deployment /subscriptions/<sub>/resourceGroups/<rg>/providers/"
    "Microsoft.CognitiveServices/accounts/<acct>/deployments/chat",
}


def _start(args: argparse.Namespace, out: TextIO) -> Context:
    from shared.cli.context import command_context, intro

    ctx = command_context(args)
    intro(ctx, out, to_stderr=getattr(args, "format", "table") != "table")
    return ctx


def pin_json(pin: VersionChange) -> dict[str, Any]:
    from shared.domain.status import pin_fields

    return {"deployment": pin.deployment_id, **pin_fields(pin)}


def pins_of(ctx: Context) -> list[VersionChange]:
    """The pins in force in the command's state (read-only: a missing SQLite file holds none)."""
    from shared.cli.state import open_services
    from shared.services.protect import active_pins

    return active_pins(open_services(ctx, read_only=True).stores)


def write_pins(pins: list[VersionChange], enforce: bool, out: TextIO) -> None:
    """The pins for people: one line each, the command that lifts it, and in plan mode why none is lifted."""
    from shared.domain.status import unpin_command

    if not pins:
        return
    out.write(f"pinned by CANARY_PROTECT (versionUpgradeOption NoAutoUpgrade): {len(pins)}\n")
    for pin in pins:
        by = f", lifted by {pin.available_until:%Y-%m-%d} in enforce mode" if pin.available_until else ""
        out.write(
            f"  {pin.deployment_id.rsplit('/', 1)[-1]}  since {pin.changed_at:%Y-%m-%d}  "
            f"(was {pin.original_policy}{by})\n    lift: {unpin_command(pin.deployment_id)}\n"
        )
    if not enforce:
        out.write(
            "  POLICY_MODE=plan: modelwatch lifts no pin itself (it writes nothing), not even after a passing canary "
            "or near the version's retirement: lift each one with the command above, or go back to enforce\n"
        )


def cmd_pins(args: argparse.Namespace, out: TextIO) -> int:
    from shared.cli.output import emit

    ctx = _start(args, out)
    pins = pins_of(ctx)
    enforce = ctx.settings.enforce

    def table(o: TextIO) -> None:
        if not pins:
            o.write("no deployment is pinned by CANARY_PROTECT\n")
        write_pins(pins, enforce, o)

    emit(args, [pin_json(p) for p in pins], out, table=table)
    return EXIT_OK


def cmd_unpin(args: argparse.Namespace, out: TextIO) -> int:
    from shared import bootstrap
    from shared.cli.context import UsageError
    from shared.cli.output import emit
    from shared.cli.state import open_services
    from shared.domain.ids import arm_key, subscription_of
    from shared.services.protect import CanaryProtect

    ctx = _start(args, out)
    settings = ctx.settings
    services = open_services(ctx, writes_if_found=True)
    key = arm_key(args.deployment)
    found = services.stores.list_deployments_in([subscription_of(args.deployment) or ""])
    d = next((x for x in found if x.key == key), None)
    if d is None:
        raise UsageError(f"{args.deployment} is not in the inventory of this state: is this the app's state?")
    scope = bootstrap.write_scope(settings)
    protect = CanaryProtect(
        api=bootstrap.build_deployment_api(settings),
        deployments=services.stores,
        rollbacks=services.stores,
        state=services.state,
        scope=scope,
        rules=bootstrap.policy_rules(settings),
        margin=timedelta(days=settings.canary_protect_margin_days),
    )
    if protect.active(d.resource_id) is None:
        raise UsageError(f"{d.name} is not pinned by CANARY_PROTECT (canary pins lists the pins in force)")
    if refusal := scope.write_refusal(d):
        raise UsageError(f"{d.name} is outside the write scope: {refusal}")
    done = protect.lift(d, datetime.now(UTC), why="lifted by hand: canary unpin", explicit=True)
    text = done.text if done is not None else "nothing to lift"
    emit(
        args,
        {"deployment": d.resource_id, "written": bool(done and done.written), "text": text},
        out,
        table=lambda o: o.write(f"{d.name}: {text}\n"),
    )
    return EXIT_OK


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> list[tuple[str, Any]]:
    """Add ``canary pins`` and ``canary unpin`` to the canary group; (name, parser) of each."""
    pins = commands.add_parser("pins", help="the deployments CANARY_PROTECT pinned, and how to lift each")
    pins.set_defaults(handler=cmd_pins)
    unpin = commands.add_parser("unpin", help="lift a CANARY_PROTECT pin by hand (any POLICY_MODE)")
    unpin.add_argument(
        "--deployment", required=True, metavar="ARM_ID", help="the pinned deployment (resource id)"
    )
    unpin.set_defaults(handler=cmd_unpin)
    return [("canary pins", pins), ("canary unpin", unpin)]

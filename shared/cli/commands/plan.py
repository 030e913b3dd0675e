"""``plan``: what will happen to every deployment, and when; with ``--fail-on``, a CI gate."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from shared.cli.args import Subcommands, describe_command
from shared.cli.context import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    command_context,
    days_arg,
    describe_store,
    empty_hint,
    instant,
    intro,
    prog,
)
from shared.cli.output import date_text, days_text, documented, emit, write_table
from shared.cli.state import open_services, refresh, warn_if_not_current
from shared.domain.policy import Assessment, Status, worst_first
from shared.domain.timeutil import format_instant

# --fail-on takes the statuses as every output spells them (Status values); "at-risk" is still understood
FAIL_ON = (Status.BROKEN.value, Status.AT_RISK.value)
FAIL_ON_SPELLINGS = {"at-risk": Status.AT_RISK.value, "at_risk": Status.AT_RISK.value}


# description and example of each command (--help): (description, example lines)
HELP: dict[str, tuple[str, str]] = {
    "plan": (
        "What will happen to every deployment, and when. Writes nothing, whatever POLICY_MODE says. --fail-on "
        "makes it a CI gate: exit 1 when a deployment is broken (broken) or at risk or broken (atRisk). A past "
        "--at is judged against the catalog and inventory as stored now (a warning says so).",
        "modelwatch plan --state https://mystorage.table.core.windows.net\n"
        "modelwatch plan --fail-on atRisk --within 30 -o json --query failing",
    ),
}


# the order a person reads a plan in: what is broken, then what is at risk, then what will move


def _ordered(assessments: Sequence[Assessment]) -> list[Assessment]:
    return sorted(assessments, key=worst_first)


def _fail_on(values: list[str] | None, within: int | None) -> list[str]:
    kinds = [v.strip() for value in values or [] for v in value.split(",") if v.strip()]
    kinds = [FAIL_ON_SPELLINGS.get(k, k) for k in kinds]  # at-risk: the spelling before statuses had one
    wrong = [k for k in kinds if k not in FAIL_ON]
    if wrong:
        raise UsageError(f"--fail-on {', '.join(wrong)}: choose from {', '.join(FAIL_ON)}")
    if within is not None and Status.AT_RISK.value not in kinds:
        raise UsageError(f"--within DAYS applies to --fail-on {Status.AT_RISK.value}")
    return list(dict.fromkeys(kinds))


def gate(assessments: Sequence[Assessment], kinds: Sequence[str], within: int | None) -> list[Assessment]:
    """The deployments a CI gate fails on: broken ones for either kind; with atRisk, also those at risk (within
    DAYS of their date when given)."""
    if not kinds:
        return []
    hits = []
    for a in assessments:
        if a.status is Status.BROKEN or (
            a.status is Status.AT_RISK
            and Status.AT_RISK.value in kinds
            and (within is None or (a.days_left is not None and a.days_left <= within))
        ):
            hits.append(a)
    return hits


def cmd_plan(args: argparse.Namespace, out: TextIO) -> int:
    """For every deployment: policy, version, what will happen and when. Writes nothing."""
    kinds = _fail_on(args.fail_on, args.within)
    ctx = command_context(args)
    as_json = documented(args)
    intro(ctx, out, to_stderr=as_json)
    services = open_services(ctx, read_only=not args.refresh)
    now = args.at or datetime.now(UTC)
    ok = refresh(services, now, sys.stderr if as_json else out) if args.refresh else True
    report = services.status(now)
    warnings = warn_if_not_current(ctx, report, now, args.at is not None)
    assessments = _ordered(report.assessments)
    if kinds and not assessments:  # a gate over nothing would pass blind (issue #22)
        raise UsageError(f"--fail-on: no deployments in this state's inventory to judge: {empty_hint(ctx)}")
    mode = services.settings.policy_mode
    failing = gate(assessments, kinds, args.within)
    data = report.to_json()
    by_id = {d["deploymentId"]: d for d in data["deployments"]}  # type: ignore[attr-defined]
    document = {
        "state": describe_store(ctx.state, ctx.settings.state_table_prefix),
        "at": format_instant(now),
        "mode": mode,
        "warnings": warnings,
        "counts": data["counts"],
        "deployments": [by_id[a.deployment.resource_id] for a in assessments],
        "failOn": kinds,
        "failing": [a.deployment.resource_id for a in failing],
    }

    def table(o: TextIO) -> None:
        o.write(f"Plan as of {now:%Y-%m-%d %H:%M} UTC (POLICY_MODE={mode}; this command writes nothing)\n\n")
        if not assessments:
            o.write(f"No deployments in this state's inventory: {empty_hint(ctx)}.\n")
            return
        rows = [
            ["STATUS", "DEPLOYMENT", "REGION", "MODEL", "VERSION", "POLICY", "WHEN", "DAYS", "WHAT HAPPENS"]
        ]
        for a in assessments:
            d = a.deployment
            rows.append(
                [
                    a.status.value,
                    d.name,
                    d.location,
                    d.model_name,
                    d.model_version,
                    d.policy + (" (provisioned)" if d.is_provisioned else ""),
                    date_text(a.action_date or a.retirement_date),
                    days_text(a.days_left),
                    a.summary,
                ]
            )
        write_table(rows, o)
        counts = Counter(a.status for a in assessments)
        o.write("\n" + ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s]) + "\n")

    emit(args, document, out, table)
    if failing:
        within = f" within {args.within} days" if args.within is not None else ""
        names = ", ".join(a.deployment.name for a in failing[:10]) + (" …" if len(failing) > 10 else "")
        sys.stderr.write(f"{len(failing)} deployment(s) match --fail-on {','.join(kinds)}{within}: {names}\n")
        return EXIT_FAILED
    return EXIT_OK if ok else EXIT_FAILED


def register(subparsers: Subcommands) -> None:
    """Add ``plan``."""
    plan = subparsers.add_parser(
        "plan", help="what will happen to every deployment, and when (writes nothing)"
    )
    plan.add_argument("--at", type=instant, help="what breaks on this ISO-8601 instant (default: now)")
    plan.add_argument("--refresh", action="store_true", help="read the deployments from ARM first")
    plan.add_argument(
        "--fail-on",
        action="append",
        metavar="KIND",
        help="exit 1 when a deployment is broken (broken), or at risk or broken (atRisk; at-risk is "
        "understood too); repeat or comma-separate",
    )
    plan.add_argument(
        "--within",
        type=days_arg,
        metavar="DAYS",
        help="with --fail-on atRisk: only deployments at risk within this many days count",
    )
    plan.set_defaults(handler=cmd_plan)
    describe_command(plan, HELP["plan"], prog())

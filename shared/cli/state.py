"""The services a command runs over its state: read-only or not, the inventory refresh, the warnings when an
answer is less than current, and the refusal of an empty inventory (the wrong state)."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Any, TextIO

from shared import bootstrap
from shared.cli.context import Context, command_line, describe_store, empty_hint
from shared.config import WHERE, StoreKind
from shared.domain.status import MISSED_RUN_PERIODS
from shared.errors import SettingsError


def open_services(
    ctx: Context, *, read_only: bool = False, writes_if_found: bool = False
) -> bootstrap.Services:
    """The use cases over the resolved stores, ARM when configured. A read-only command never creates a missing
    SQLite file (a mistyped --state must not leave an empty database behind) nor a table. ``writes_if_found``
    (deliver, rollback): the state is read first and written only when it holds an inventory (the command refuses
    an empty one), so only a missing SQLite file reads as empty."""
    if (read_only or writes_if_found) and ctx.is_missing_file():
        from shared.adapters.memory import (
            InMemoryAlertBuffer,
            InMemoryCatalogStateStore,
            InMemoryDeploymentStore,
            InMemoryLedger,
        )

        return bootstrap.build_services(
            ctx.settings,
            state=InMemoryCatalogStateStore(),
            stores=InMemoryDeploymentStore(),
            ledger=InMemoryLedger(),
            buffer=InMemoryAlertBuffer(),
        )
    if read_only and ctx.state.kind != StoreKind.SQLITE:
        # Table Storage: no table created, no layout migrated ("plan writes nothing" holds for the account too)
        prefix = ctx.settings.state_table_prefix
        return bootstrap.build_services(
            ctx.settings,
            state=bootstrap.build_state_store(ctx.state, table_prefix=prefix, read_only=True),
            stores=bootstrap.build_deployment_stores(ctx.state, table_prefix=prefix, read_only=True),
            ledger=bootstrap.build_ledger(ctx.state, table_prefix=prefix, read_only=True),
            buffer=bootstrap.build_alert_buffer(ctx.state, table_prefix=prefix, read_only=True),
        )
    return bootstrap.build_services(ctx.settings)


def refresh(services: bootstrap.Services, now: datetime, out: TextIO) -> bool:
    if services.inventory is None:
        raise SettingsError(
            [
                "--refresh reads deployments over ARM: set WATCH_SUBSCRIPTION_ID (and optionally WATCH_ACCOUNTS)"
            ],
            hint=WHERE,
        )
    report = services.inventory.refresh(now)
    out.write(report.summary() + "\n")
    for problem in report.problems:
        out.write(f"  ! {problem}\n")
    for warning in report.warnings:  # read in part: said, and the command still succeeds
        out.write(f"  warning: {warning}\n")
    return report.ok


def refuse_empty(ctx: Context, services: bootstrap.Services, what: str) -> bool:
    """An empty inventory where one is needed means the wrong state: say so (stderr) and return True."""
    if services.stores.list_deployments():
        return False
    where = "does not exist" if ctx.is_missing_file() else "holds no deployments"
    sys.stderr.write(
        f"error: the state {describe_store(ctx.state, ctx.settings.state_table_prefix)} {where}: {what} needs "
        f"the state the app writes. Is this the wrong state? {empty_hint(ctx)}\n"
    )
    return True


def _past_warning(report: Any, now: datetime, explicit: bool) -> str | None:
    """--at before the last catalog snapshot: the answer still comes from today's catalog and inventory."""
    last = report.last_cycle_at
    if not explicit or last is None or now >= last:
        return None
    return (
        f"--at {now:%Y-%m-%d %H:%M} UTC is before the last catalog snapshot ({last:%Y-%m-%d %H:%M} UTC): this "
        "judges that date against the catalog and inventory as stored now, not as they were then"
    )


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.0f} days" if hours >= 48 else f"{hours:.0f} hours"


def _stale_warning(ctx: Context, report: Any, now: datetime) -> str | None:
    """The newest catalog snapshot is older than two poll periods at the time judged (the missed-run alert's
    window): the dates it judges by may have moved since."""
    last = report.last_cycle_at
    if last is None:
        if not report.assessments:
            return None  # nothing to judge: the empty-inventory hint says what to do
        return (
            "this state holds no catalog snapshot: deployments are judged without the catalog's dates; read it "
            f"first: {command_line(ctx, 'check')}"
        )
    window = MISSED_RUN_PERIODS * report.poll_period
    if now < last or now - last <= window:
        return None
    minutes = int(report.poll_period.total_seconds() // 60)
    return (
        f"the newest catalog snapshot is from {last:%Y-%m-%d %H:%M} UTC, {_age(now - last)} before the time "
        f"judged ({now:%Y-%m-%d %H:%M} UTC; more than {MISSED_RUN_PERIODS} poll periods of "
        f"CATALOG_POLL_PERIOD_MINUTES={minutes}): dates announced since are not in it; read the catalog first: "
        f"{command_line(ctx, 'check')}"
    )


def warn_if_not_current(ctx: Context, report: Any, now: datetime, explicit: bool) -> list[str]:
    """What makes this answer less than current, each said once on stderr (and in the JSON document)."""
    found = [w for w in (_past_warning(report, now, explicit), _stale_warning(ctx, report, now)) if w]
    for warning in found:
        sys.stderr.write(f"warning: {warning}\n")
    return found

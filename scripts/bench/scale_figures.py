"""Section 5's figures: ARM's requests against its read bucket, what the run measured (``ScaleRun``) and its
table."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from functools import cached_property

from scripts.bench.common import ROOT
from scripts.bench.scale_rig import (
    ARM_READ_BURST,
    ARM_READ_REFILL,
    PACING,
    SCALE_LATENCY,
    ScaleCycle,
    TenantMix,
)
from shared.config import Settings
from shared.domain.events import EventType
from shared.domain.routes import channels_of


def read_bucket(arrivals: list[float]) -> tuple[int, float]:
    """ARM's read bucket for one subscription replayed over these arrival times (full at the start, as an hour
    after the last cycle): requests it would have throttled, and the fewest tokens left."""
    tokens, last, throttled, lowest = float(ARM_READ_BURST), None, 0, float(ARM_READ_BURST)
    for t in sorted(arrivals):
        if last is not None:
            tokens = min(ARM_READ_BURST, tokens + (t - last) * ARM_READ_REFILL)
        last = t
        if tokens < 1:
            throttled += 1
            continue
        tokens -= 1
        lowest = min(lowest, tokens)
    return throttled, lowest


def subscription_of(path: str) -> str:
    parts = path.split("/")
    return parts[2].casefold() if len(parts) > 2 and parts[1].casefold() == "subscriptions" else "-"


@dataclass(frozen=True)
class ArmFigures:
    """A cycle's ARM requests, by kind and by subscription, against the read bucket."""

    total: int
    catalog: int
    accounts: int
    deployments: int
    tenant: int  # requests without a subscription id (tenant-level): none expected
    catalog_subscription: int
    other_max: int
    lowest: float  # fewest tokens left in any subscription's bucket
    throttled: int
    span: float  # first to last request, s


def arm_figures(arrivals: list[tuple[float, str, str]], catalog_subscription: str) -> ArmFigures:
    by_sub: dict[str, list[float]] = {}
    for t, _, path in arrivals:
        by_sub.setdefault(subscription_of(path), []).append(t)
    buckets = [read_bucket(times) for sub, times in by_sub.items() if sub != "-"]
    others = [
        len(times) for sub, times in by_sub.items() if sub not in ("-", catalog_subscription.casefold())
    ]
    moments = [t for t, _, _ in arrivals]
    return ArmFigures(
        total=len(arrivals),
        catalog=sum(1 for *_, p in arrivals if p.endswith("/models")),
        accounts=sum(1 for *_, p in arrivals if p.endswith("/accounts")),
        deployments=sum(1 for *_, p in arrivals if p.endswith("/deployments")),
        tenant=len(by_sub.get("-", [])),
        catalog_subscription=len(by_sub.get(catalog_subscription.casefold(), [])),
        other_max=max(others, default=0),
        lowest=min((low for _, low in buckets), default=float(ARM_READ_BURST)),
        throttled=sum(n for n, _ in buckets),
        span=max(moments) - min(moments) if moments else 0.0,
    )


def azurite_version() -> str:
    try:
        meta = json.loads((ROOT / "node_modules" / "azurite" / "package.json").read_text(encoding="utf-8"))
        return f"Azurite {meta['version']}"
    except (OSError, ValueError, KeyError):
        return "Azurite"


def refresh_floor(
    subscriptions: int, account_pages: int, accounts: int, deployment_pages: int, concurrency: int
) -> float:
    """Wall time of an inventory refresh's requests alone: the subscriptions' account pages, ``concurrency``
    subscriptions at a time, then the accounts' deployment pages, ``concurrency`` accounts at a time (each
    subscription's and account's own pages in turn)."""
    per_subscription = math.ceil(account_pages / max(subscriptions, 1))
    per_account = math.ceil(deployment_pages / max(accounts, 1))
    waves = math.ceil(subscriptions / concurrency) * per_subscription
    waves += math.ceil(accounts / concurrency) * per_account
    return waves * SCALE_LATENCY


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def plural(n: float, word: str) -> str:
    return f"{n:,.0f} {word}" if n == 1 else f"{n:,.0f} {word}s"


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def pacing_text(c: ScaleCycle) -> str:
    """How the time to the last message is made up, in words."""
    _, kind, n = c.busiest_channel
    if n <= 1:
        return (
            f"all of it the alert handling, no channel getting more than one post; the last post was made "
            f"{c.paced_last:.1f} s in, the rest of the handling records the standings told"
        )
    return (
        f"{c.notify_time:.1f} s of alert handling + ({n} − 1) × {PACING.get(kind, 0.0):g} s of the busiest "
        f"channel's pacing, {kind}"
    )


ACK_TARGET = (
    5.0  # seconds: every Event Grid delivery answered well inside the 30 s Event Grid waits (issue #26)
)


def ack_cells(acks: list[float]) -> str:
    return f"{max(acks):.3f} s; {statistics.median(acks):.3f} s" if acks else "-"


def to_last_text(c: ScaleCycle, name: str) -> str:
    """The time to a run's last message, the formula's and the replayed, in words."""
    _, kind, n = c.busiest_channel
    if n <= 1:
        return (
            f"{name} puts at most one post on each channel: its last message goes out when the handling gets to "
            f"it, {c.to_last_message:.1f} s after the timer's publish by the formula (the whole handling), "
            f"{c.paced_last:.1f} s replayed (the posts are made before the standings told are recorded)."
        )
    return (
        f"{name}'s busiest channel gets {n} posts ({kind}), {c.pacing_time:.0f} s of pacing: "
        f"{c.to_last_message:.0f} s by the formula, {c.paced_last:.0f} s replayed (pacing waits overlap the "
        "handling of later digests)."
    )


@dataclass(frozen=True)
class ScaleRun:
    """What section 5 measured, as ``render_scale`` is given it, with the figures several paragraphs read."""

    cycles: list[ScaleCycle]
    catalog_sub: str
    n_subs: int
    n_accounts: int
    n_deployments: int
    per_region: dict[str, int]
    rss: tuple[float, float]
    runtime: float
    load: float | None
    mix: TenantMix
    settings: Settings
    digests: tuple[int, int, int, int]

    @property
    def base(self) -> ScaleCycle:
        return self.cycles[0]

    @property
    def steady(self) -> ScaleCycle:
        return self.cycles[2]

    @property
    def change(self) -> ScaleCycle:
        return self.cycles[3]

    @cached_property
    def arms(self) -> list[ArmFigures]:
        return [arm_figures(c.arm, self.catalog_sub) for c in self.cycles]

    @property
    def n_locations(self) -> int:
        return len(self.per_region)

    @property
    def pages(self) -> int:  # catalog pages per location
        return self.arms[2].catalog // self.n_locations

    @property
    def concurrency(self) -> int:
        return self.settings.arm_read_concurrency

    @property
    def n_channels(self) -> int:
        return sum(len(channels_of(r)) for r in self.settings.routes.values())


def approx(c: ScaleCycle, text: str) -> str:
    return f"≈ {text}" if c.sampled else text


def ratio(c: ScaleCycle) -> float:
    return c.policy_entities / c.decisions_delivered if c.decisions_delivered else 0.0


def busiest(c: ScaleCycle) -> str:
    route, kind, n = c.busiest_channel
    return f"{n:,} ({kind} of {route})" if n else "0"


def to_last(c: ScaleCycle) -> str:
    return f"{c.to_last_message:,.1f} s = {c.notify_time:,.1f} + {c.pacing_time:,.0f}"


def table_text(run: ScaleRun) -> str:
    """The table's rows: one figure per timer run."""
    cycles, arms = run.cycles, run.arms
    rows = [
        ("**timer run** (refresh, then catalog cycle)", [f"**{c.timer_time:.1f} s**" for c in cycles]),
        (
            f"inventory refresh ({run.n_accounts:,} accounts, {run.n_deployments:,} deployments): time, entity "
            "writes",
            [f"{c.inventory_time:.1f} s, {c.writes_inventory:,}" for c in cycles],
        ),
        (
            f"catalog cycle ({run.n_locations} locations): time, entity writes",
            [f"{c.catalog_time:.1f} s, {c.writes_catalog:,}" for c in cycles],
        ),
        (
            "ARM requests: catalog + account + deployment pages",
            [f"{a.total:,} = {a.catalog} + {a.accounts} + {a.deployments:,}" for a in arms],
        ),
        (
            "ARM reads per subscription: the catalog one; any other (max)",
            [f"{a.catalog_subscription}; {a.other_max}" for a in arms],
        ),
        (
            f"read bucket ({ARM_READ_BURST}, +{ARM_READ_REFILL:.0f}/s) replayed: fewest tokens left; throttled; "
            "reads held back by the app's `ReadBudget`",
            [
                f"{a.lowest:.0f}; {a.throttled}; {c.read_budget_wait:.1f} s"
                for a, c in zip(arms, cycles, strict=True)
            ],
        ),
        (
            "ARM requests: tenant-level; by the subscribers",
            [f"{a.tenant}; {c.policy_arm}" for a, c in zip(arms, cycles, strict=True)],
        ),
        (
            "Table transactions: refresh + catalog cycle",
            [f"{c.tx_inventory:,} + {c.tx_catalog:,}" for c in cycles],
        ),
        (
            "events published: catalog + digests (timer); deployment (policy)",
            [
                f"{sum(n for t, n in c.timer_events.items() if t != EventType.CATALOG_DIGEST):,} + "
                f"{c.timer_events[EventType.CATALOG_DIGEST]}; {c.policy_events:,}"
                for c in cycles
            ],
        ),
        *subscriber_rows(cycles),
    ]
    return "\n".join(f"| {label} | {' | '.join(values)} |" for label, values in rows)


def subscriber_rows(cycles: list[ScaleCycle]) -> list[tuple[str, list[str]]]:
    """The table's rows for what the subscribers and the alerts timer did with each run's events."""
    return [
        (
            "`apply_update_policy`: catalog events delivered",
            [f"{c.delivered:,}" + (f" of {c.handled:,}" if c.sampled else "") for c in cycles],
        ),
        (
            "… deployments assessed (affected); **inventory entities read** (per affected)",
            [
                f"{c.decisions_delivered:,}; **{c.policy_entities:,} ({ratio(c):.2f}×)**"
                if c.delivered
                else "-"
                for c in cycles
            ],
        ),
        (
            "… time, summed (slowest delivery); Table transactions, ledger included",
            [
                approx(c, f"{c.policy_time:,.1f} s ({c.policy_max:.2f} s); {c.tx_policy:,.0f}")
                if c.handled
                else "-"
                for c in cycles
            ],
        ),
        (
            "… **time to acknowledge** (the trigger's hand-off to the delivery queue): slowest; median",
            [ack_cells(c.policy_acks) for c in cycles],
        ),
        (
            "`notify_channels`: events delivered; time, summed (slowest)",
            [
                f"{c.notified}; {c.notify_time:,.1f} s ({c.notify_max:.1f} s)" if c.notified else "0"
                for c in cycles
            ],
        ),
        (
            "… inventory entities read; Table transactions: ledger + other",
            [
                f"{c.notify_entities:,}; {c.tx_notify_ledger:,} + {c.tx_notify_other:,}"
                if c.notified
                else "-"
                for c in cycles
            ],
        ),
        (
            "… **time to acknowledge** (the trigger's hand-off to the delivery queue): slowest; median",
            [ack_cells(c.notify_acks) for c in cycles],
        ),
        (
            "alerts: changes; messages; most per route per digest; **most per route per change**",
            [
                f"{c.changes:,}; {c.messages:,}; {c.per_route_digest}; **{c.per_route_change}**"
                if c.notified
                else "-"
                for c in cycles
            ],
        ),
        (
            "alerts: posts; the busiest channel's",
            [f"{sum(c.posts.values()):,}; {busiest(c)}" for c in cycles],
        ),
        (
            "alerts timer's flush: batch messages; groups waiting",
            [f"{c.flushed}; {c.flush_waiting}" for c in cycles],
        ),
        (
            "**timer's publish → last message**: alert handling + (busiest channel's posts − 1) × interval",
            [f"**{to_last(c)}**" if c.posts else "-" for c in cycles],
        ),
        (
            "… the recorded posts replayed through the sender's pacing",
            [f"{c.paced_last:,.1f} s" if c.posts else "-" for c in cycles],
        ),
        (
            "peak RSS, MiB: timer run; policy; alerts (RSS when the cycle starts)",
            [
                f"{c.peak_rss_timer:.0f}; {c.peak_rss_policy:.0f}; {c.peak_rss_notify:.0f} ({c.rss_start:.0f})"
                for c in cycles
            ],
        ),
    ]


def catalog_burst(run: ScaleRun) -> float:
    """Locations whose catalog pages the catalog subscription's read burst covers, beside its own inventory."""
    other_reads = run.arms[2].catalog_subscription - run.arms[2].catalog
    return (ARM_READ_BURST - other_reads) / run.pages if run.pages else 0.0

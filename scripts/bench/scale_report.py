"""Section 5's text: ARM's requests against its read bucket, the limits and what the figures say."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime

from scripts.bench.common import ROOT
from scripts.bench.deployments import request_floor
from scripts.bench.scale_rig import (
    ARM_READ_BURST,
    ARM_READ_REFILL,
    EVENT_GRID_WAIT,
    SCALE_ACCOUNTS_PER_SUBSCRIPTION,
    SCALE_DELIVERIES,
    SCALE_DEPLOYMENTS_PER_ACCOUNT,
    SCALE_LATENCY,
    SCALE_PAGE,
    SCALE_ROUTES,
    SLACK_RATE,
    TABLE_PARTITION_TARGET,
    TABLE_STRING_LIMIT,
    ScaleCycle,
)
from shared.domain.events import EventType


def function_timeout() -> float:
    """host.json's functionTimeout in seconds (what bounds a timer run), else the Consumption plan's 10 min."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        text = json.loads((ROOT / "host.json").read_text(encoding="utf-8")).get("functionTimeout", "")
        hours, minutes, seconds = (float(part) for part in str(text).split(":"))
        return hours * 3600 + minutes * 60 + seconds
    return 600.0


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


def render_scale(
    cycles: list[ScaleCycle],
    *,
    catalog_sub: str,
    n_subs: int,
    n_accounts: int,
    n_deployments: int,
    per_region: dict[str, int],
    rss: tuple[float, float],
    runtime: float,
    digests: tuple[int, int, int, int],
) -> str:
    base, _, steady, change = cycles
    timeout = function_timeout()
    arms = [arm_figures(c.arm, catalog_sub) for c in cycles]
    n_locations = len(per_region)
    pages = arms[2].catalog // n_locations  # catalog pages per location
    per_sub = SCALE_ACCOUNTS_PER_SUBSCRIPTION

    def cells(values: list[str]) -> str:
        return " | ".join(values)

    def approx(c: ScaleCycle, text: str) -> str:
        return f"≈ {text}" if c.sampled else text

    rows = [
        ("**timer run** (refresh, then catalog cycle)", [f"**{c.timer_time:.1f} s**" for c in cycles]),
        (f"inventory refresh ({n_accounts:,} accounts, {n_deployments:,} deployments): time, entity writes",
         [f"{c.inventory_time:.1f} s, {c.writes_inventory:,}" for c in cycles]),
        (f"catalog cycle ({n_locations} locations): time, entity writes",
         [f"{c.catalog_time:.1f} s, {c.writes_catalog:,}" for c in cycles]),
        ("catalog events for `apply_update_policy` (delivered here)",
         [f"{c.handled:,}" + (f" ({c.delivered})" if c.sampled else "") for c in cycles]),
        ("policy decisions (deployments assessed)", [f"{c.decisions:,}" for c in cycles]),
        ("policy deliveries: time, summed (slowest one made)",
         [approx(c, f"{c.policy_time:,.0f} s ({c.policy_max:.1f} s)") if c.handled else "-" for c in cycles]),
        ("ARM requests: catalog + account + deployment pages",
         [f"{a.total:,} = {a.catalog} + {a.accounts} + {a.deployments:,}" for a in arms]),
        ("ARM reads per subscription: the catalog one; any other (max)",
         [f"{a.catalog_subscription}; {a.other_max}" for a in arms]),
        (f"read bucket ({ARM_READ_BURST}, +{ARM_READ_REFILL:.0f}/s) replayed: fewest tokens left; throttled",
         [f"{a.lowest:.0f}; {a.throttled}" for a in arms]),
        ("ARM requests: tenant-level; by the policy deliveries", [f"{a.tenant}; {c.policy_arm}" for a, c in zip(arms, cycles, strict=True)]),
        ("Table transactions: refresh + catalog cycle + policy",
         [f"{c.tx_inventory:,} + {c.tx_catalog:,} + " + approx(c, f"{c.tx_policy:,.0f}") for c in cycles]),
        ("events published: catalog + digests (timer); deployment (policy)",
         [f"{sum(n for t, n in c.timer_events.items() if t != EventType.CATALOG_DIGEST):,} + "
          f"{c.timer_events[EventType.CATALOG_DIGEST]}; {c.policy_events:,}" for c in cycles]),
        ("alerts planned: messages; posts (busiest channel)",
         [f"{c.messages:,}; {c.posts:,} ({c.busiest_channel})" for c in cycles]),
        ("`notify_channels` ledger transactions (claim + complete per post)", [f"{2 * c.posts:,}" for c in cycles]),
        ("peak RSS, MiB: timer run; policy deliveries (RSS when the cycle starts)",
         [f"{c.peak_rss_timer:.0f}; {c.peak_rss_policy:.0f} ({c.rss_start:.0f})" for c in cycles]),
    ]  # fmt: skip
    table = "\n".join(f"| {label} | {cells(values)} |" for label, values in rows)

    busiest = max(per_region.items(), key=lambda kv: kv[1])
    intro = (
        f"{n_subs} subscriptions in `WATCH_SUBSCRIPTION_IDS`, {per_sub} accounts each ({n_accounts:,}; kind "
        f"`OpenAI` or `AIServices`) over {n_locations} regions, Zipf-distributed (the busiest, {busiest[0]}, "
        f"holds {busiest[1]} accounts, the quietest {min(per_region.values())}), "
        f"{SCALE_DEPLOYMENTS_PER_ACCOUNT} deployments each ({n_deployments:,}, drawn as in section 4: gpt-4o 60%, "
        f"15% provisioned, 3% pin or ignore); each subscription belongs to one of {SCALE_ROUTES} teams "
        "(`modelwatch:route`), each team a Teams and a Slack channel in `ALERT_ROUTES`, beside the default route. "
        f"Every region's catalog, read in `WATCH_SUBSCRIPTION_ID` (the first watched subscription), lists 300 "
        "items: the six deployed versions, 44 other OpenAI versions (all with retirement dates) and 250 of other "
        "formats (listed and paged, then filtered out). The ARM stand-in runs in a process of its own (its work "
        f"is on neither this process's CPU nor its heap), answers every request after {SCALE_LATENCY * 1000:.0f} "
        f"ms and pages every list at {SCALE_PAGE}. Services wired by `build_services` from settings, as in the "
        f"Function App, `POLICY_MODE=plan`, state and inventory in Table Storage ({azurite_version()}, in memory, "
        "on this machine). Four timer runs an hour apart: the first (baseline), the one after it (a full diff: "
        "the baseline changed records), a steady one (no change: diff skipped), and one where gpt-4o's default "
        "moves from 2024-08-06 to 2024-11-20 in every region. Each catalog event is then delivered to "
        "`apply_update_policy` through `deliver_one` (the trigger's path), and the alerts `notify_channels` "
        "would make of everything published are planned (`messages_for`, `plan_posts`; nothing sent)."
    )
    sampled = [c for c in cycles if c.sampled]
    method = (
        f"≈: each delivery reads the whole inventory back (about {sampled[0].policy_time / sampled[0].handled:.1f} s on "
        f"Azurite), so at most {SCALE_DELIVERIES} catalog events of a cycle were delivered (every k-th by id, "
        "plus the one concerning the most deployments); their times and transactions, fitted linearly on each "
        "delivery's decisions and emitted events, are summed over every event. Decisions, deployment events and "
        "alerts are exact: every event's are worked out by the pure functions the subscriber calls, and checked "
        "against the deliveries made. "
        if sampled
        else ""
    )
    default_cap, too_big, cap, fits = digests
    workaround = (
        f"**Workaround in this run:** at the default {default_cap} events per catalog digest, the baseline's "
        f"largest digest is {too_big:,} characters, over Table Storage's {TABLE_STRING_LIMIT:,}-character limit "
        "for a string property; the outbox cannot record it, the drain fails before publishing, and every cycle "
        f"fails the same way: nothing is ever published. This run lowers the cap to {cap} (largest digest "
        f"{fits:,} characters) by setting `shared.domain.digest.MAX_EVENTS_PER_DIGEST` in the benchmark's "
        "process; the digest needs a size bound in the code."
        if cap != default_cap
        else f"The baseline's largest catalog digest is {too_big:,} characters (Table Storage's limit for a "
        f"string property: {TABLE_STRING_LIMIT:,})."
    )
    memory = (
        f"Memory: the process's peak resident set (VmHWM, reset before each measured phase; tracemalloc would "
        f"slow the run several-fold), {rss[0]:.0f} MiB after imports, {rss[1]:.0f} MiB once wired; a cycle "
        "starts from what earlier ones left (freed memory stays in Python's arenas)."
    )

    # what grows with what, and where the limits are
    floor = request_floor(n_accounts, arms[2].accounts, arms[2].deployments, SCALE_LATENCY)
    rest = max(0.0, steady.inventory_time - floor)
    per_subscription = (1 + per_sub / 8) * SCALE_LATENCY + rest / n_subs
    fixed = steady.catalog_time
    max_subs = (timeout - fixed) / per_subscription
    slow = 0.25  # a what-if: ARM answering list calls in 250 ms
    max_subs_slow = (timeout - fixed) / ((1 + per_sub / 8) * slow + rest / n_subs)
    catalog_burst = (ARM_READ_BURST + ARM_READ_REFILL * steady.catalog_time) / pages
    account_burst = ARM_READ_BURST / (1 - ARM_READ_REFILL / (8 / SCALE_LATENCY))
    growth = (
        f"**Locations → catalog requests.** {pages} pages per location ({arms[2].catalog} a cycle), all in the "
        f"catalog subscription, every cycle; the steady cycle skips the diff ({steady.catalog_time:.1f} s for "
        f"{n_locations} locations), the baseline writes every snapshot record and outbox entry "
        f"({base.writes_catalog:,} entity writes, {base.catalog_time:.1f} s). "
        f"**Accounts → inventory requests.** One account page per subscription, listed one subscription after "
        f"another, then one deployment page per account, 8 accounts at a time: {arms[2].accounts + arms[2].deployments:,} "
        f"requests every cycle, change or not, a floor of {floor:.1f} s at {SCALE_LATENCY * 1000:.0f} ms of the "
        f"refresh's {steady.inventory_time:.1f} s (the rest, {rest:.1f} s, is reading {n_deployments:,} "
        "deployments back from the store, parsing and comparing). "
        f"**Deployments → store writes on change only.** {base.writes_inventory:,} entity writes (in batches of "
        f"100) at the baseline, {steady.writes_inventory} when nothing changed; but every refresh reads all of "
        f"them back ({steady.tx_inventory} query pages), and so does every policy delivery. "
        f"**Events × affected deployments → decisions.** {base.handled:,} baseline events made "
        f"{base.decisions:,} decisions, the default change's {change.handled} events {change.decisions:,}; a "
        f"delivery's time is mostly that whole-inventory read, not the deciding (~20 µs each, section 4). "
        f"**Deployment events → alerts, one message each.** The default change publishes "
        f"{change.policy_events:,} deployment events and plans {change.messages:,} messages, {change.posts:,} "
        f"posts; its busiest channel gets {change.busiest_channel}, {change.busiest_channel / SLACK_RATE:,.0f} s at "
        "Slack's one message per second per channel."
    )
    lowest = min(a.lowest for a in arms)
    throttled = sum(a.throttled for a in arms)
    reads_change = change.handled * n_deployments
    partition_minutes = reads_change / TABLE_PARTITION_TARGET / 60
    per_app = EVENT_GRID_WAIT * TABLE_PARTITION_TARGET / max(change.handled, 1)
    two_apps = 2 * arms[2].catalog
    arm_verdict = (
        f"**ARM is not the limit at this size.** No subscription's bucket went below {lowest:.0f} of "
        f"{ARM_READ_BURST} tokens and no request would be throttled"
        if not throttled
        else f"**ARM throttles:** {throttled} requests would have met an empty bucket"
    )
    tenant_span = max(a.span for a in arms)
    tenant_tokens = ARM_READ_BURST + ARM_READ_REFILL * tenant_span
    limits = (
        f"{arm_verdict}. No request is tenant-level (every path carries a subscription id), so the tenant's "
        f"bucket ({ARM_READ_BURST}, +{ARM_READ_REFILL:.0f}/s) is untouched; were it counted, "
        f"{arms[2].total:,} reads in {tenant_span:.0f} s would "
        f"{'overrun' if arms[2].total > tenant_tokens else 'fit in'} it ({tenant_tokens:,.0f} tokens at most). "
        "Plan mode makes no ARM request. "
        f"The catalog subscription carries the most ({arms[2].catalog_subscription} reads a cycle): it would be "
        f"throttled past ~{catalog_burst:.0f} locations at {pages} pages each (250 tokens plus the refill during "
        f"a {steady.catalog_time:.1f} s fetch), and any subscription past ~{account_burst:.0f} accounts of one "
        "deployment page each (its pages come 8 per 50 ms, faster than the refill). "
        f"**The timer is {'not ' if steady.timer_time < timeout / 2 else ''}the limit:** "
        f"{steady.timer_time:.0f} s of the {timeout / 60:.0f}-minute `functionTimeout`; each subscription "
        f"of {per_sub} accounts adds ~{per_subscription * 1000:.0f} ms, so the timer alone would reach the timeout "
        f"near {max_subs:,.0f} subscriptions at {SCALE_LATENCY * 1000:.0f} ms per request, near "
        f"{max_subs_slow:,.0f} if ARM took {slow * 1000:.0f} ms (arithmetic, not measured: the requests are "
        "sequential per subscription and 8-wide per account, so latency dominates). "
        f"**The inventory partition {'is' if partition_minutes * 60 > EVENT_GRID_WAIT else 'is not yet'} the "
        f"limit.** Every deployment sits in one Table partition, and each policy delivery reads all "
        f"{n_deployments:,} of them: the default change's {change.handled} deliveries read {reads_change:,} "
        f"entities, {partition_minutes:.1f} minutes of the partition's documented target "
        f"({TABLE_PARTITION_TARGET:,} entities/s), while Event Grid delivers them together and waits "
        f"{EVENT_GRID_WAIT:.0f} s for each; the baseline's {base.handled:,} deliveries read "
        f"{base.handled * n_deployments:,} ({base.handled * n_deployments / TABLE_PARTITION_TARGET / 3600:.1f} "
        f"hours at the target; {base.policy_time / 3600:.1f} hours of handler time here, one after another). "
        "The target is not a cap (here a delivery, its whole read included, took "
        f"{change.policy_time / max(change.handled, 1):.1f} s on average, and alone the slowest one, "
        f"{max(c.policy_max for c in cycles):.1f} s, is within the {EVENT_GRID_WAIT:.0f} s), but above it the "
        "service may answer 503 ServerBusy, a transient failure: the delivery is retried, and reads everything "
        "again."
    )
    fan_out = (
        "**When to fan out.** Split the tenant (one Function App per group of subscriptions, each with its own "
        "`WATCH_SUBSCRIPTION_IDS` or `WATCH_ACCOUNTS` and its own `STATE_TABLE_PREFIX` or storage account) when "
        "a change's deliveries times the deployments per app exceed what the partition serves inside Event "
        f"Grid's wait: {EVENT_GRID_WAIT:.0f} s × {TABLE_PARTITION_TARGET:,}/s = "
        f"{EVENT_GRID_WAIT * TABLE_PARTITION_TARGET:,.0f} entity reads, i.e. about {per_app:,.0f} deployments per "
        f"app for a change in {change.handled} regions ({math.ceil(n_deployments / per_app)} app(s) for this "
        "tenant). That is the current code's limit, not a sound architecture: reading only the event's region "
        "(a partition per location) would cut each delivery to that region's deployments (here at most "
        f"~{busiest[1] * SCALE_DEPLOYMENTS_PER_ACCOUNT:,}, {n_deployments:,} over a change's {change.handled} "
        "deliveries), and one app would serve this tenant. The other "
        f"thresholds come later: ~{account_burst:.0f} accounts in one subscription or ~{catalog_burst:.0f} catalog "
        f"locations (ARM's bucket), ~{max_subs:,.0f} subscriptions (the timer, at {SCALE_LATENCY * 1000:.0f} ms). "
        "When fanning out, the apps must not all read the catalog in the same subscription with the same "
        f"identity at the same minute: two apps make {two_apps} reads there within seconds, "
        f"{'past' if two_apps > ARM_READ_BURST + ARM_READ_REFILL * steady.catalog_time else 'near'} one "
        f"principal's {ARM_READ_BURST} (the client honours Retry-After: slower, not failed); give each app its "
        "own identity (buckets are per principal, up to the subscription's global 15× = 3,750), or stagger "
        "`CATALOG_POLL_SCHEDULE`. Alerts do not improve with fan-out: Slack's limit is per channel, so a team's "
        "channel needs a digest of its deployments' events, not one message each."
    )
    header = (
        f"Measured on {datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} cores, first thing in its process (`make bench`, or "
        f"`python scripts/benchmark.py --only scale` to rerun this section alone); the section took {runtime:.0f} s. "
        "Single runs vary by about 20%."
    )
    return f"""## 5. Scale: a large tenant

{textwrap.fill(header, 112)}

{textwrap.fill(intro, 112)}

| measurement | baseline | after the baseline | steady, no change | gpt-4o's default moves |
|---|---|---|---|---|
{table}

{textwrap.fill(method + memory, 112)}

{textwrap.fill(workaround, 112)}

{textwrap.fill(growth, 112)}

{textwrap.fill(limits, 112)}

{textwrap.fill(fan_out, 112)}
"""

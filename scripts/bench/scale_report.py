"""Section 5's text: ARM's requests against its read bucket, the limits and what the figures say."""

from __future__ import annotations

import json
import math
import os
import platform
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime

from scripts.bench.common import ROOT
from scripts.bench.scale_rig import (
    ARM_READ_BURST,
    ARM_READ_REFILL,
    EVENT_GRID_WAIT,
    PACING,
    SCALE_ACCOUNTS_PER_SUBSCRIPTION,
    SCALE_DEPLOYMENTS_PER_ACCOUNT,
    SCALE_LATENCY,
    SCALE_PAGE,
    SCALE_ROUTES,
    TABLE_PARTITION_TARGET,
    TABLE_STRING_LIMIT,
    ScaleCycle,
)
from shared.config import Settings
from shared.domain import digest
from shared.domain.events import EventType


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


def pacing(c: ScaleCycle) -> tuple[float, str]:
    """The longest time one channel's posts take at the app's pacing, (posts - 1) x its interval, and which one."""
    best, label = 0.0, "-"
    for (route, kind), n in c.posts.items():
        span = (n - 1) * PACING.get(kind, 0.0)
        if span > best:
            best, label = span, f"{kind} of {route}"
    return best, label


def last_message(c: ScaleCycle) -> float:
    """Seconds from the timer's publish to the last message sent: the alert deliveries' handling (measured, one
    after another) plus the busiest channel's pacing (arithmetic on the measured post counts)."""
    return c.notify_time + pacing(c)[0]


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
    load: float | None,
    concurrency: int,
    digests: tuple[int, int, int, int],
) -> str:
    base, _, steady, change = cycles
    arms = [arm_figures(c.arm, catalog_sub) for c in cycles]
    n_locations = len(per_region)
    pages = arms[2].catalog // n_locations  # catalog pages per location
    per_sub = SCALE_ACCOUNTS_PER_SUBSCRIPTION

    def cells(values: list[str]) -> str:
        return " | ".join(values)

    def approx(c: ScaleCycle, text: str) -> str:
        return f"≈ {text}" if c.sampled else text

    def ratio(c: ScaleCycle) -> str:
        return f"{c.policy_entities / c.decisions_delivered:.2f}×" if c.decisions_delivered else "-"

    def busiest(c: ScaleCycle) -> str:
        route, kind, n = c.busiest_channel
        return f"{n} ({kind} of {route})" if n else "0"

    def to_last(c: ScaleCycle) -> str:
        if not c.posts:
            return "-"
        span, _ = pacing(c)
        return f"{last_message(c):,.0f} s = {c.notify_time:,.1f} + {span:,.0f}"

    rows = [
        ("**timer run** (refresh, then catalog cycle)", [f"**{c.timer_time:.1f} s**" for c in cycles]),
        (f"inventory refresh ({n_accounts:,} accounts, {n_deployments:,} deployments): time, entity writes",
         [f"{c.inventory_time:.1f} s, {c.writes_inventory:,}" for c in cycles]),
        (f"catalog cycle ({n_locations} locations): time, entity writes",
         [f"{c.catalog_time:.1f} s, {c.writes_catalog:,}" for c in cycles]),
        ("ARM requests: catalog + account + deployment pages",
         [f"{a.total:,} = {a.catalog} + {a.accounts} + {a.deployments:,}" for a in arms]),
        ("ARM reads per subscription: the catalog one; any other (max)",
         [f"{a.catalog_subscription}; {a.other_max}" for a in arms]),
        (f"read bucket ({ARM_READ_BURST}, +{ARM_READ_REFILL:.0f}/s) replayed: fewest tokens left; throttled; "
         "reads held back by the app's `ReadBudget`",
         [f"{a.lowest:.0f}; {a.throttled}; {c.read_budget_wait:.1f} s" for a, c in zip(arms, cycles, strict=True)]),
        ("ARM requests: tenant-level; by the subscribers",
         [f"{a.tenant}; {c.policy_arm}" for a, c in zip(arms, cycles, strict=True)]),
        ("events published: catalog + digests (timer); deployment (policy)",
         [f"{sum(n for t, n in c.timer_events.items() if t != EventType.CATALOG_DIGEST):,} + "
          f"{c.timer_events[EventType.CATALOG_DIGEST]}; {c.policy_events:,}" for c in cycles]),
        ("`apply_update_policy`: catalog events delivered",
         [f"{c.delivered:,}" + (f" of {c.handled:,}" if c.sampled else "") for c in cycles]),
        ("… deployments assessed (affected); inventory entities read (per affected)",
         [f"{c.decisions_delivered:,}; {c.policy_entities:,} ({ratio(c)})" if c.delivered else "-"
          for c in cycles]),
        ("… time, summed (slowest delivery); Table transactions, ledger included",
         [approx(c, f"{c.policy_time:,.1f} s ({c.policy_max:.2f} s); {c.tx_policy:,.0f}") if c.handled else "-"
          for c in cycles]),
        ("`notify_channels`: digests delivered; time, summed (slowest)",
         [f"{c.notified}; {c.notify_time:,.1f} s ({c.notify_max:.1f} s)" if c.notified else "0" for c in cycles]),
        ("… inventory entities read; Table transactions: ledger + other",
         [f"{c.notify_entities:,}; {c.tx_notify_ledger:,} + {c.tx_notify_other:,}" if c.notified else "-"
          for c in cycles]),
        ("alerts: changes; messages; most per route per digest; most per route per change",
         [f"{c.changes}; {c.messages:,}; {c.per_route_digest}; {c.per_route_change}" if c.notified else "-"
          for c in cycles]),
        ("alerts: posts (busiest channel)", [f"{sum(c.posts.values()):,}; {busiest(c)}" for c in cycles]),
        ("**timer's publish → last message sent** (handling + busiest channel's pacing)",
         [f"**{to_last(c)}**" if c.posts else "-" for c in cycles]),
        ("Table transactions: refresh + catalog cycle", [f"{c.tx_inventory:,} + {c.tx_catalog:,}" for c in cycles]),
        ("peak RSS, MiB: timer run; policy; alerts (RSS when the cycle starts)",
         [f"{c.peak_rss_timer:.0f}; {c.peak_rss_policy:.0f}; {c.peak_rss_notify:.0f} ({c.rss_start:.0f})"
          for c in cycles]),
    ]  # fmt: skip
    table = "\n".join(f"| {label} | {cells(values)} |" for label, values in rows)

    busiest_region = max(per_region.items(), key=lambda kv: kv[1])
    intro = (
        f"{n_subs} subscriptions in `WATCH_SUBSCRIPTION_IDS`, {per_sub} accounts each ({n_accounts:,}; kind "
        f"`OpenAI` or `AIServices`) over {n_locations} regions, Zipf-distributed (the busiest, {busiest_region[0]}, "
        f"holds {busiest_region[1]} accounts, the quietest {min(per_region.values())}), "
        f"{SCALE_DEPLOYMENTS_PER_ACCOUNT} deployments each ({n_deployments:,}, drawn as in section 4: gpt-4o 60%, "
        f"15% provisioned, 3% pin or ignore); each subscription belongs to one of {SCALE_ROUTES} teams "
        "(`modelwatch:route`), each team a Teams and a Slack channel in `ALERT_ROUTES`, beside the default route "
        f"({SCALE_ROUTES + 1} routes, {2 * (SCALE_ROUTES + 1)} channels). "
        f"Every region's catalog, read in `WATCH_SUBSCRIPTION_ID` (the first watched subscription), lists 300 "
        "items: the six deployed versions, 44 other OpenAI versions (all with retirement dates) and 250 of other "
        "formats (listed and paged, then filtered out). The ARM stand-in runs in a process of its own (its work "
        f"is on neither this process's CPU nor its heap), answers every request after {SCALE_LATENCY * 1000:.0f} "
        f"ms and pages every list at {SCALE_PAGE}. Services wired by `build_services` from settings, as in the "
        f"Function App: reads {concurrency} at a time (`ARM_READ_CONCURRENCY`), paced by the ARM client's "
        "`ReadBudget`, `POLICY_MODE=plan`, state, inventory, ledger and alert buffer in Table Storage "
        f"({azurite_version()}, in memory, on this machine); `INVENTORY_FANOUT_THRESHOLD` raised to {n_subs}, so "
        "the timer refreshes the whole inventory itself (at the default, 20, the Function App queues one part per "
        "subscription to `refresh_inventory`: the same listings and store work, spread over invocations). Four "
        "timer runs an hour apart: the first (baseline), the one after it (a full diff: the baseline changed "
        "records), a steady one (no change: diff skipped), and one where gpt-4o's default moves from 2024-08-06 "
        "to 2024-11-20 in every region. Then, as the Event Grid triggers do (`deliver_one`), one after another: "
        "each catalog event to `apply_update_policy`, and each event `notify_channels` subscribes to (here the "
        "`CatalogDigest`s; no `DeploymentUpgraded`: the stand-in moves no deployment and plan mode writes none) "
        "to `notify_channels`, with notifiers that render each message as the Teams or Slack notifier does and "
        "record it instead of posting it; then the alerts timer's flush (nothing was held)."
    )
    sampled = [c for c in cycles if c.sampled]
    method = (
        "≈: a sample of the catalog events was delivered to `apply_update_policy` (every k-th by id, plus the one "
        "concerning the most deployments); times and transactions, fitted linearly on each delivery's decisions "
        "and emitted events, are summed over every event. "
        if sampled
        else f"Every catalog event was delivered (no sample: a delivery reads one location and model's slice of "
        f"the inventory; the slowest took {max(c.policy_max for c in cycles):.2f} s). "
    )
    method += (
        "Decisions and deployment events are checked against the pure functions the subscriber calls. Entities "
        "read are `TableDeploymentStore.entities_read` before and after each delivery (the inventory's entities "
        "the store's queries returned; the layout marker, read once per store instance, was read by this "
        "instance's first save at the baseline). "
    )
    memory = (
        f"Memory: the process's peak resident set (VmHWM, reset before each measured phase; tracemalloc would "
        f"slow the run several-fold), {rss[0]:.0f} MiB after imports, {rss[1]:.0f} MiB once wired; a cycle "
        "starts from what earlier ones left (freed memory stays in Python's arenas)."
    )
    default_cap, too_big, cap, fits = digests
    digest_text = (
        f"**Workaround in this run:** at the default {default_cap} events per catalog digest, the baseline's "
        f"largest digest is {too_big:,} characters, over Table Storage's {TABLE_STRING_LIMIT:,}-character limit "
        f"for a string property; this run lowers the cap to {cap} (largest digest {fits:,} characters) by setting "
        "`shared.domain.digest.MAX_EVENTS_PER_DIGEST` in the benchmark's process."
        if cap != default_cap
        else f"Digests: at most {default_cap} events each, split further above {digest.MAX_DIGEST_CHARS:,} "
        f"characters; the baseline's largest is {too_big:,} characters (Table Storage's limit for the string "
        f"property the outbox keeps it in: {TABLE_STRING_LIMIT:,})."
    )

    # what grows with what
    floor = refresh_floor(n_subs, arms[2].accounts, n_accounts, arms[2].deployments, concurrency)
    rest = max(0.0, steady.inventory_time - floor)
    change_span, _ = pacing(change)
    base_span, base_channel = pacing(base)
    growth = (
        f"**Locations → catalog requests.** {pages} pages per location ({arms[2].catalog} a cycle), all in the "
        f"catalog subscription, every cycle, every location at once: the steady cycle takes "
        f"{steady.catalog_time:.1f} s for {n_locations} locations (diff skipped), the baseline, which writes every "
        f"snapshot record and outbox entry ({base.writes_catalog:,} entity writes), {base.catalog_time:.1f} s. "
        f"**Accounts → inventory requests.** One account page per subscription and one deployment page per "
        f"account, {concurrency} at a time: {arms[2].accounts + arms[2].deployments:,} requests every cycle, change "
        f"or not, a floor of {floor:.1f} s at {SCALE_LATENCY * 1000:.0f} ms of the refresh's "
        f"{steady.inventory_time:.1f} s; the rest, {rest:.1f} s, is this process's CPU (HTTP and JSON of "
        f"{concurrency} listings at once, on one GIL) and reading {n_deployments:,} deployments back from the "
        "store to compare. "
        f"**Deployments → store writes on change only.** {base.writes_inventory:,} entity writes at the baseline "
        f"(each deployment's record and its copy in its location and model's partition), "
        f"{steady.writes_inventory} when nothing changed; every refresh reads the records back "
        f"({steady.tx_inventory} transactions). "
        f"**Events × affected deployments → decisions, and entities read.** A policy delivery reads its event's "
        f"location and model partition: the default change's {change.delivered} deliveries assessed "
        f"{change.decisions_delivered:,} deployments and read {change.policy_entities:,} entities "
        f"({ratio(change)}; target ≤ 1.1×: {'met' if change.policy_entities <= 1.1 * change.decisions_delivered else '**not met**'}), "
        f"at most {change.policy_entities_max:,} in one delivery (the busiest region's gpt-4o), "
        f"{change.policy_time:.1f} s in all. At the baseline, {base.delivered:,} deliveries assessed "
        f"{base.decisions_delivered:,} and read {base.policy_entities:,} ({ratio(base)}): an event about one "
        "version (a retirement) reads the whole model's partition and keeps that version's deployments. "
        f"**Changes × routes → messages.** The default change is {change.changes} change in "
        f"{change.notified} digest: {change.messages} messages, at most {change.per_route_digest} per route per "
        f"digest and {change.per_route_change} per route per change (target ≤ 1), "
        f"{sum(change.posts.values())} posts, the busiest channel {busiest(change)}. The baseline's "
        f"{base.changes:,} changes came in {base.notified} digests (at most {default_cap} events each): "
        f"{base.messages:,} messages, still one per route per digest, but a change whose regions fall in several "
        f"digests is told in each: up to {base.per_route_change} messages per route per change, "
        f"{sum(base.posts.values()):,} posts, the busiest channel {busiest(base)}."
    )

    # the limits, from what was measured
    lowest = min(a.lowest for a in arms)
    throttled = sum(a.throttled for a in arms)
    held = sum(c.read_budget_wait for c in cycles)
    other_reads = arms[2].catalog_subscription - arms[2].catalog
    catalog_burst = (ARM_READ_BURST - other_reads) / pages
    arm_verdict = (
        f"**ARM is not the limit at this size.** No subscription's bucket went below {lowest:.0f} of "
        f"{ARM_READ_BURST} tokens, no request would be throttled, and the app's `ReadBudget` held reads back "
        f"{held:.1f} s in all"
        if not throttled
        else f"**ARM throttles:** {throttled} requests would have met an empty bucket"
    )
    tenant_span = max(a.span for a in arms)
    tenant_tokens = ARM_READ_BURST + ARM_READ_REFILL * tenant_span
    refresh_half = Settings().timer_budget_seconds / 2
    per_subscription = (1 + per_sub) * SCALE_LATENCY / concurrency + rest / n_subs
    notify_rate = change.tx_notify_ledger / change.notify_time if change.notify_time else 0.0
    limits = (
        f"{arm_verdict} (each run starting with full buckets, as an hour after the last). No request is "
        f"tenant-level (every path carries a subscription id), so the tenant's bucket is untouched; were it "
        f"counted, {arms[2].total:,} reads in {tenant_span:.1f} s would "
        f"{'overrun' if arms[2].total > tenant_tokens else 'fit in'} it ({tenant_tokens:,.0f} tokens at most). "
        "The subscribers make no ARM request in plan mode. "
        f"The catalog subscription carries the most ({arms[2].catalog_subscription} reads a run, {other_reads} of "
        f"them its own inventory): past ~{catalog_burst:.0f} locations at {pages} pages each its burst is spent "
        f"and the `ReadBudget` paces the rest at {ARM_READ_REFILL:.0f}/s (slower, not throttled: "
        f"{pages / ARM_READ_REFILL:.2f} s per further location); a subscription's inventory likewise past "
        f"~{ARM_READ_BURST - 1} accounts of one deployment page. "
        f"**The timer is not the limit:** {steady.timer_time:.1f} s; the refresh may use half of "
        f"`TIMER_BUDGET_SECONDS` ({refresh_half:.0f} s), and each subscription of {per_sub} accounts costs it "
        f"~{per_subscription * 1000:.0f} ms here, so near {refresh_half / per_subscription:,.0f} subscriptions "
        "(arithmetic, not measured), long after the Function App has handed the refresh to the queue "
        "(`INVENTORY_FANOUT_THRESHOLD`, 20). "
        f"**The inventory's partitions are not the limit any more:** a change's policy deliveries each read one "
        f"location and model's partition, {change.policy_entities_max:,} entities at most, against the "
        f"partition's documented target of {TABLE_PARTITION_TARGET:,} entities/s; the slowest delivery took "
        f"{max(c.policy_max for c in cycles):.2f} s of Event Grid's {EVENT_GRID_WAIT:.0f} s. "
        f"**The alert delivery is the new limit.** `notify_channels` handles a digest in one delivery, every "
        f"region and route of it: the default change's took {change.notify_max:.1f} s (Event Grid waits "
        f"{EVENT_GRID_WAIT:.0f} s, then redelivers: the posts already made are skipped by the ledger, the rest "
        f"of the work is done again), reading {change.notify_entities:,} inventory entities (the same partitions "
        f"as the policy deliveries) and making {change.tx_notify_ledger:,} ledger transactions "
        f"({notify_rate:,.0f}/s here), one at a time: a read of each concerned deployment's standing, then a "
        "claim and a completion for each standing told. The ledger keeps a subscriber's entries in one "
        f"partition: {change.tx_notify_ledger:,} transactions are "
        f"{change.tx_notify_ledger / TABLE_PARTITION_TARGET:.0f} s of that partition's target. "
        f"**Slack's pacing sets the time to the last message:** one post per second per channel; the default "
        f"change's busiest channel has {change.busiest_channel[2]} posts ({change_span:.0f} s), so its last "
        f"message goes out ~{last_message(change):.0f} s after the timer's publish; the baseline's "
        f"{base.busiest_channel[2]} posts on one channel take {base_span:.0f} s ({base_channel}), "
        f"~{last_message(base):.0f} s in all. Model: the measured handling time of the alert deliveries, one "
        "after another, plus (posts on the busiest channel − 1) × its interval "
        f"({', '.join(f'{k} {v:g} s' for k, v in sorted(PACING.items()))}, the app's `WebhookSender`); "
        "arithmetic on measured counts, not a measurement: the webhooks' own answer times are not in it, and "
        "posts to the other channels overlap the busiest one's pacing."
    )
    fan_out = (
        "**When to fan out.** Not for the inventory reads any more: a catalog event costs what it concerns, "
        "and one app serves this tenant. Fan-out (one Function App per group of subscriptions, each with its "
        "own `WATCH_SUBSCRIPTION_IDS` and `STATE_TABLE_PREFIX` or storage account) would divide what one "
        "alert delivery must do, the deployments a digest concerns, but not the messages: Slack's limit is per "
        f"channel, and each route hears each digest once. The thresholds that remain: ~{catalog_burst:.0f} "
        f"catalog locations or ~{ARM_READ_BURST - 1} accounts in one subscription before the `ReadBudget` "
        "paces reads (slower, not failed). When fanning out, the apps must not all read the catalog in the "
        "same subscription with the same identity at the same minute: two apps make "
        f"{2 * arms[2].catalog} reads there within seconds, "
        f"{'past' if 2 * arms[2].catalog > ARM_READ_BURST else 'within'} one principal's {ARM_READ_BURST} "
        "(paced, then 429s honoured: slower, not failed); give each app its own identity (buckets are per "
        "principal, up to the subscription's global 15× = 3,750), or stagger `CATALOG_POLL_SCHEDULE`."
    )
    where = f"load average {load:.1f} when it started" if load is not None else "load unknown"
    header = (
        f"Measured on {datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} cores shared with other work ({where}), first thing in "
        f"its process (`make bench`, or `python scripts/benchmark.py --only scale` to rerun this section alone); "
        f"the section took {runtime:.0f} s. Single runs vary by about 20%, more under load."
    )
    return f"""## 5. Scale: a large tenant

{textwrap.fill(header, 112)}

{textwrap.fill(intro, 112)}

| measurement | baseline | after the baseline | steady, no change | gpt-4o's default moves |
|---|---|---|---|---|
{table}

{textwrap.fill(method + memory, 112)}

{textwrap.fill(digest_text, 112)}

{textwrap.fill(growth, 112)}

{textwrap.fill(limits, 112)}

{textwrap.fill(fan_out, 112)}
"""

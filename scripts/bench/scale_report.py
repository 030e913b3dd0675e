"""Section 5's text: the setup, the targets, what grows with what, the limits and when to fan out (the figures:
scale_figures.py)."""

from __future__ import annotations

import math
import os
import platform
import statistics
import textwrap
from datetime import UTC, datetime

from scripts.bench.scale_figures import (
    ACK_TARGET,
    ScaleRun,
    azurite_version,
    busiest,
    catalog_burst,
    pacing_text,
    plural,
    ratio,
    refresh_floor,
    share,
    table_text,
    to_last_text,
    verdict,
)
from scripts.bench.scale_rig import (
    ARM_READ_BURST,
    ARM_READ_REFILL,
    EVENT_GRID_WAIT,
    PACING,
    SCALE_LATENCY,
    SCALE_PAGE,
    TABLE_PARTITION_TARGET,
    TABLE_STRING_LIMIT,
    ScaleCycle,
    TenantMix,
)
from scripts.bench.scale_tenant import (
    SCALE_ACCOUNTS_PER_SUBSCRIPTION,
    SCALE_DEPLOYED_VERSIONS,
    SCALE_DEPLOYMENTS_PER_ACCOUNT,
    SCALE_OTHER_FORMATS,
    SCALE_OTHER_OPENAI,
    SCALE_ROUTES,
    scale_catalog,
)
from shared.adapters.tables.ledger import TableLedger
from shared.config import Settings
from shared.domain import digest
from shared.domain.events import EventType
from shared.services.notify.news import LEDGER_CONCURRENCY


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
    mix: TenantMix,
    settings: Settings,
    digests: tuple[int, int, int, int],
) -> str:
    run = ScaleRun(
        cycles,
        catalog_sub,
        n_subs,
        n_accounts,
        n_deployments,
        per_region,
        rss,
        runtime,
        load,
        mix,
        settings,
        digests,
    )
    return f"""## 5. Scale: a large tenant

{textwrap.fill(header_text(run), 112)}

{textwrap.fill(intro_text(run), 112)}

{textwrap.fill(targets_text(run), 112)}

| measurement | baseline | after the baseline | steady, no change | gpt-4o's default moves |
|---|---|---|---|---|
{table_text(run)}

{textwrap.fill(method_text(run) + memory_text(run), 112)}

{textwrap.fill(digest_text(run), 112)}

{textwrap.fill(growth_text(run), 112)}

{textwrap.fill(limits_text(run), 112)}

{textwrap.fill(fan_out_text(run), 112)}
"""


def header_text(run: ScaleRun) -> str:
    where = f"load average {run.load:.1f} when it started" if run.load is not None else "load unknown"
    return (
        f"Measured on {datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} cores shared with other work ({where}), first thing in "
        f"its process (`make bench`, or `python scripts/benchmark.py --only scale` to rerun this section alone); "
        f"the section took {run.runtime:.0f} s ({run.runtime / 60:.1f} min). Times are wall times of one run: "
        "single runs vary by about 20%, more under load."
    )


def targets_text(run: ScaleRun) -> str:
    """The targets, for the default change."""
    base, change, mix = run.base, run.change, run.mix
    affected = change.decisions_delivered
    entities_ok = change.delivered > 0 and change.policy_entities <= 1.1 * affected
    per_change_ok = change.notified > 0 and change.per_route_change <= 1
    _, _, busy_posts = change.busiest_channel
    late = (
        f"; the handling outlasts the {EVENT_GRID_WAIT:.0f} s Event Grid waits, but it runs in `deliver_queued`, "
        "after the delivery was answered: see the limits below"
        if change.notify_max > EVENT_GRID_WAIT
        else ""
    )
    acks = [a for c in run.cycles for a in (*c.policy_acks, *c.notify_acks)]
    slowest_ack = max(acks, default=0.0)
    ack_target = (
        f" **Every Event Grid delivery acknowledged within {slowest_ack:.3f} s** (the slowest of "
        f"{len(acks):,}, median {statistics.median(acks) if acks else 0.0:.3f} s; target ≤ {ACK_TARGET:.0f} s at "
        f"{mix.deployments:,} deployments: {verdict(slowest_ack <= ACK_TARGET)}): `apply_update_policy` and "
        "`notify_channels` answer once they have handed the delivery's work to the delivery queue "
        "(`DELIVERY_QUEUE_NAME`, here Azurite's queue service: one message each), and `deliver_queued` does the "
        "work, exactly once per event over the ledger. The time to the last message is then the hand-off, the "
        "queue's pickup (the host polls the queue: not modelled here) and the work timed below, one delivery after "
        "another as before."
    )
    targets = (
        f"**Targets, for the default change** ({change.handled} catalog {'event' if change.handled == 1 else 'events'}"
        f" in {run.n_locations} regions, {affected:,} deployments affected, {share(affected, mix.deployments)} of "
        f"the inventory): inventory entities read by the policy deliveries, {change.policy_entities:,}, "
        f"**{ratio(change):.2f}× the deployments affected** (target ≤ 1.1×: {verdict(entities_ok)}); "
        f"**{change.per_route_change} {'message' if change.per_route_change == 1 else 'messages'} per route per "
        f"change** at most (target ≤ 1: {verdict(per_change_ok)}): {plural(change.changes, 'change')} in "
        f"{plural(change.notified, 'digest')}, {plural(change.messages, 'message')} (one for the default route, "
        "one for each team told what it means for its deployments), "
        f"{plural(sum(change.posts.values()), 'post')} to "
        f"{len(change.posts)} of the {run.n_channels} channels, the busiest {busy_posts}; "
        f"**{change.to_last_message:.1f} s from the timer's publish to the last message** ({pacing_text(change)}; "
        f"no target{late}). The old per-deployment alert path is gone: for {change.policy_events:,} deployment "
        f"events the policy subscriber published, {plural(change.messages, 'message')} went out." + ack_target
    )
    if base.per_route_change > 1:
        targets += (
            f" The baseline, the first run, does not keep to one message per route per change: up to "
            f"{base.per_route_change}, its {base.changes} changes being spread over {base.notified} digests (see "
            "**Changes × routes** below)."
        )
    return targets


def intro_text(run: ScaleRun) -> str:
    """How it was set up."""
    settings, mix, per_region, n_subs = run.settings, run.mix, run.per_region, run.n_subs
    busiest_region = max(per_region.items(), key=lambda kv: kv[1])
    catalog_items = len(scale_catalog("2024-08-06"))
    threshold_default = Settings().inventory_fanout_threshold
    threshold = settings.inventory_fanout_threshold
    raised = (
        f"{threshold} (raised from its default, {threshold_default})"
        if threshold > threshold_default
        else f"{threshold} (its default)"
    )
    kinds = sorted({t for c in run.cycles for t in c.notified_types})
    only_digests = kinds == [EventType.CATALOG_DIGEST]
    notified = (
        "the `CatalogDigest`s only (the stand-in moves no deployment and plan mode writes none, so no "
        "`DeploymentUpgraded`; no rollback, so no `DeploymentRolledBack`)"
        if only_digests
        else ", ".join(f"`{k.removeprefix('ModelLifecycle.')}`" for k in kinds)
    )
    held = sum(c.flushed + c.flush_waiting for c in run.cycles)
    flush = (
        "nothing was held, so it sent nothing"
        if held == 0
        else f"{sum(c.flushed for c in run.cycles)} batch messages in all"
    )
    concurrency = run.concurrency
    return (
        f"{n_subs} subscriptions in `WATCH_SUBSCRIPTION_IDS`, {SCALE_ACCOUNTS_PER_SUBSCRIPTION} accounts each "
        f"({run.n_accounts:,}; kind `OpenAI` or `AIServices`) over {run.n_locations} regions, Zipf-distributed "
        f"(the busiest, {busiest_region[0]}, holds {busiest_region[1]} accounts, the quietest "
        f"{min(per_region.values())}), {SCALE_DEPLOYMENTS_PER_ACCOUNT} deployments each ({mix.deployments:,} in "
        f"the inventory, drawn as in section 4: gpt-4o {share(mix.gpt4o, mix.deployments)}, provisioned "
        f"{share(mix.provisioned, mix.deployments)}, tagged pin or ignore "
        f"{share(mix.pinned_or_ignored, mix.deployments)}); each subscription belongs to one of {SCALE_ROUTES} "
        f"teams (`modelwatch:route`), each team a Teams and a Slack channel in `ALERT_ROUTES`, beside the default "
        f"route ({len(settings.routes)} routes, {run.n_channels} channels). Every region's catalog, read in "
        f"`WATCH_SUBSCRIPTION_ID` (the first watched subscription), lists {catalog_items} items: the "
        f"{SCALE_DEPLOYED_VERSIONS} deployed versions, {SCALE_OTHER_OPENAI} other OpenAI versions (all with "
        f"retirement dates) and {SCALE_OTHER_FORMATS} of another format (listed and paged, then filtered out). The "
        "ARM stand-in runs in a process of its own (its work is on neither this process's CPU nor its heap), "
        f"answers every request after {SCALE_LATENCY * 1000:.0f} ms and pages every list at {SCALE_PAGE}. "
        "Services wired by `build_services` from settings, as in the Function App: ARM reads "
        f"{concurrency} at a time (`ARM_READ_CONCURRENCY`"
        f"{', its default' if concurrency == Settings().arm_read_concurrency else ''}) for the catalog and the "
        "inventory alike, paced by the ARM client's `ReadBudget`; `POLICY_MODE=plan`; state, inventory, ledger "
        f"and alert buffer in Table Storage ({azurite_version()}, in memory, on this machine). "
        f"`INVENTORY_FANOUT_THRESHOLD` is {raised}, which {n_subs} subscriptions do not exceed, so the timer "
        "refreshes the whole inventory itself, concurrently; above the threshold the Function App queues one part per subscription to "
        "`refresh_inventory` instead (the same listings and store work, spread over invocations; not measured "
        "here). Four timer runs an hour apart: the first (baseline), the one after it (a full diff: the baseline "
        "changed records), a steady one (no change: diff skipped), and one where gpt-4o's default moves from "
        "2024-08-06 to 2024-11-20 in every region. After each, as the Event Grid triggers do (`deliver_one`), one "
        "after another: each catalog event to `apply_update_policy`, then each event `notify_channels` "
        f"subscribes to, here {notified}, to `notify_channels`, the app's handler with notifiers that render each "
        "message as the Teams or Slack notifier does and record it instead of posting it; then the alerts timer's "
        f"flush (`Services.flush_alerts`, past the batch window): {flush}."
    )


def method_text(run: ScaleRun) -> str:
    """How the figures were taken."""
    sampled = [c for c in run.cycles if c.sampled]
    method = (
        "≈: a sample of the catalog events was delivered to `apply_update_policy` (every k-th by id, plus the one "
        "concerning the most deployments); times and transactions, fitted linearly on each delivery's decisions "
        "and emitted events, are summed over every event. "
        if sampled
        else "Every catalog event was delivered to `apply_update_policy` (no sample). "
    )
    return method + (
        "Decisions and deployment events are checked against the pure functions the subscriber calls. Inventory "
        "entities read are `TableDeploymentStore.entities_read` before and after each delivery (the entities the "
        "store's queries returned). Messages are distinct (event, route, message key) among the recorded posts, "
        "posts one per message and channel; messages per route per change count a route's message from a digest "
        "once for each change the digest holds (exact for the default route, which hears every change, and the "
        "bound of every other route's count). The time to the last message is measured handling plus "
        "arithmetic: the alert deliveries' handling, one after another, plus (posts on the busiest channel − 1) "
        f"× its interval ({', '.join(f'{k} {v:g} s' for k, v in sorted(PACING.items()))}, the app's "
        "`WebhookSender`): an upper bound, since pacing waits overlap later deliveries' handling; replaying the "
        "recorded posts, at the moments the notifiers were handed them, through that pacing gives the row below "
        "it. Neither counts the webhooks' own answer times. "
    )


def memory_text(run: ScaleRun) -> str:
    return (
        f"Memory: the process's peak resident set (VmHWM, reset before each measured phase; tracemalloc would "
        f"slow the run several-fold), {run.rss[0]:.0f} MiB after imports, {run.rss[1]:.0f} MiB once wired; a cycle "
        "starts from what earlier ones left (freed memory stays in Python's arenas)."
    )


def digest_text(run: ScaleRun) -> str:
    default_cap, too_big, cap, fits = run.digests
    return (
        f"**Workaround in this run:** at the default {default_cap} events per catalog digest, the baseline's "
        f"largest digest is {too_big:,} characters, over Table Storage's {TABLE_STRING_LIMIT:,}-character limit "
        f"for a string property; this run lowers the cap to {cap} (largest digest {fits:,} characters) by setting "
        "`shared.domain.digest.MAX_EVENTS_PER_DIGEST` in the benchmark's process."
        if cap != default_cap
        else f"Digests: at most {default_cap} events each, split further above {digest.MAX_DIGEST_CHARS:,} "
        f"characters; the baseline's largest is {too_big:,} characters (Table Storage's limit for the string "
        f"property the outbox keeps it in: {TABLE_STRING_LIMIT:,})."
    )


def growth_text(run: ScaleRun) -> str:
    """What grows with what."""
    base, steady, change, arms = run.base, run.steady, run.change, run.arms
    n_locations, concurrency, n_deployments = run.n_locations, run.concurrency, run.n_deployments
    default_cap = run.digests[0]
    affected = change.decisions_delivered
    floor = refresh_floor(run.n_subs, arms[2].accounts, run.n_accounts, arms[2].deployments, concurrency)
    rest = max(0.0, steady.inventory_time - floor)
    writes_each = base.writes_inventory / n_deployments if n_deployments else 0.0
    version_ratio = (
        f"{ratio(base):.2f}×, as an event about one version, a retirement or a reminder, reads its whole "
        "model's partition and keeps that version's deployments"
        if base.delivered and ratio(base) > 1.1
        else f"{ratio(base):.2f}×"
    )
    at_once = "every location at once" if n_locations <= concurrency else f"{concurrency} locations at a time"
    return (
        f"**Locations → catalog requests.** {run.pages} pages per location ({arms[2].catalog} a run), all in the "
        f"catalog subscription, every run, {at_once}: the steady cycle takes {steady.catalog_time:.1f} s for "
        f"{n_locations} locations (diff skipped); the baseline, which writes every snapshot record and outbox "
        f"entry ({base.writes_catalog:,} entity writes), {base.catalog_time:.1f} s. "
        f"**Accounts → inventory requests.** One account page per subscription and one deployment page per "
        f"account, {concurrency} at a time: {arms[2].accounts + arms[2].deployments:,} requests every run, change "
        f"or not, a floor of {floor:.1f} s at {SCALE_LATENCY * 1000:.0f} ms of the steady refresh's "
        f"{steady.inventory_time:.1f} s; the other {rest:.1f} s are this process's CPU (HTTP and JSON of "
        f"{concurrency} listings at once, on one GIL), parsing and comparing, and reading the "
        f"{n_deployments:,} records back from the store (one whole read, timed alone after the runs: "
        f"{run.mix.read_time:.1f} s). "
        f"**Deployments → store writes on change only.** {base.writes_inventory:,} entity writes at the baseline "
        f"(~{writes_each:.0f} per deployment: its record's slices, its copy in its location and model's "
        f"partition, then the record), {steady.writes_inventory} when nothing changed; every refresh reads the "
        f"records back ({steady.tx_inventory} transactions). "
        f"**Events × affected deployments → decisions, and entities read.** A policy delivery about a model "
        f"reads that model's partition in the event's location, whatever the size of the inventory: the default change's "
        f"{change.delivered} deliveries assessed {affected:,} deployments and read {change.policy_entities:,} "
        f"entities ({ratio(change):.2f}×), at most {change.policy_entities_max:,} in one delivery (the busiest "
        f"region's gpt-4o), {change.policy_time:.1f} s in all, the slowest {change.policy_max:.2f} s. At the "
        f"baseline, {base.delivered:,} deliveries assessed "
        f"{base.decisions_delivered:,} and read {base.policy_entities:,} ({version_ratio}). "
        f"**Changes × routes → messages, not deployments.** `notify_channels` reads the same partitions for a "
        f"digest ({change.notify_entities:,} entities for the default change) and tells each route once per "
        f"digest: the default change's {plural(change.messages, 'message')} stand for {affected:,} deployments "
        f"affected. The baseline's {base.changes:,} changes came in {base.notified} digests (at most {default_cap} "
        f"events each, packed by change: a change is cut only where it alone passes the cap, or a digest passes "
        f"{digest.MAX_DIGEST_CHARS:,} characters): {plural(base.messages, 'message')}, at most "
        f"{base.per_route_digest} per route per digest and "
        + (
            f"{base.per_route_change} per route per change, "
            if base.per_route_change <= 1
            else f"up to {base.per_route_change} per route per change (a change cut across digests is told in "
            "each), "
        )
        + f"{plural(sum(base.posts.values()), 'post')}, the busiest channel {busiest(base)}."
    )


def alert_limit_text(run: ScaleRun) -> str:
    """The alert handling, the nearest limit."""
    cycles, change = run.cycles, run.change
    slowest_notify = max(c.notify_max for c in cycles)
    slowest_digest = max(cycles, key=lambda c: c.notify_max)
    ledger_rate = change.tx_notify_ledger / change.notify_time if change.notify_time else 0.0
    partition_seconds = change.tx_notify_ledger / TABLE_PARTITION_TARGET
    over = sum(1 for c in cycles if c.notify_max > EVENT_GRID_WAIT)
    alert_limit = (
        f"**The alert handling is the nearest limit, and it no longer holds Event Grid's delivery.** "
        f"`notify_channels` hands a digest's work to the delivery queue and answers (the slowest hand-off took "
        f"{max((a for c in cycles for a in c.notify_acks), default=0.0):.3f} s); `deliver_queued` then handles "
        f"it, every region and route of it: the slowest took {slowest_notify:.1f} s ({slowest_digest.name}"
        + (
            f"; over the {EVENT_GRID_WAIT:.0f} s Event Grid waits in {over} of the {len(cycles)} runs"
            if over
            else ""
        )
        + "), under the queue's visibility timeout and `functionTimeout`, and Event Grid, answered, does not "
        "redeliver. A redelivery that does come (a reply lost on the way) is queued again and told nothing twice: "
        f"delivered again once the first attempt was done, the same digest took "
        f"{slowest_digest.redelivery_time:.1f} s ({slowest_digest.redelivery_tx:,} ledger transactions) and "
        f"posted {slowest_digest.redelivery_posts}. "
    )
    return alert_limit + (
        f"For the default change the delivery read {change.notify_entities:,} inventory entities and made "
        f"{change.tx_notify_ledger:,} ledger transactions ({ledger_rate:,.0f}/s over its whole handling): the "
        f"told standings of the deployments concerned read {TableLedger.KEYS_PER_QUERY} keys a query, "
        f"{LEDGER_CONCURRENCY} queries at once (`Ledger.get_many`), a claim and a completion for each post, then "
        "the standings told recorded in batches of 100 (`Ledger.complete_many`); they grow with the deployments a "
        "change affects, not with the messages. The ledger keeps a subscriber's entries in one partition: "
        f"{change.tx_notify_ledger:,} transactions are {partition_seconds:.0f} s of that partition's documented "
        f"target ({TABLE_PARTITION_TARGET:,} entities/s). "
    )


def limits_text(run: ScaleRun) -> str:
    """The limits, from what was measured."""
    cycles, arms, steady, change, pages = run.cycles, run.arms, run.steady, run.change, run.pages
    lowest = min(a.lowest for a in arms)
    throttled = sum(a.throttled for a in arms)
    held_back = sum(c.read_budget_wait for c in cycles)
    other_reads = arms[2].catalog_subscription - arms[2].catalog
    arm_verdict = (
        f"**ARM is not the limit at this size.** No subscription's bucket went below {lowest:.0f} of "
        f"{ARM_READ_BURST} tokens, no request would be throttled, and the app's `ReadBudget` held reads back "
        f"{held_back:.1f} s in all"
        if not throttled
        else f"**ARM throttles:** {throttled} requests would have met an empty bucket"
    )
    tenant_span = arms[2].span  # the steady run's, first request to last
    tenant_tokens = ARM_READ_BURST + ARM_READ_REFILL * tenant_span
    refresh_half = run.settings.timer_budget_seconds / 2
    per_subscription = steady.inventory_time / run.n_subs
    slowest_policy = max(c.policy_max for c in cycles)
    return (
        f"{arm_verdict} (each run starting with full buckets, as an hour after the last). No request is "
        f"tenant-level (every path carries a subscription id), so the tenant's bucket is untouched; were it "
        f"counted, {arms[2].total:,} reads in {tenant_span:.1f} s would "
        f"{'overrun' if arms[2].total > tenant_tokens else 'fit in'} it ({tenant_tokens:,.0f} tokens at most). "
        f"The subscribers made {sum(c.policy_arm for c in cycles)} ARM requests (plan mode). "
        f"The catalog subscription carries the most ({arms[2].catalog_subscription} reads a run, {other_reads} of "
        f"them its own inventory): past ~{catalog_burst(run):.0f} locations at {pages} pages each its burst is "
        f"spent and the `ReadBudget` paces the rest at {ARM_READ_REFILL:.0f}/s (slower, not throttled: "
        f"{pages / ARM_READ_REFILL:.2f} s per further location); a subscription's inventory likewise past "
        f"~{ARM_READ_BURST - 1} accounts of one deployment page. "
        f"**The timer is not the limit:** {steady.timer_time:.1f} s a steady run; the refresh may use half of "
        f"`TIMER_BUDGET_SECONDS` ({refresh_half:.0f} s), and costs ~{per_subscription * 1000:.0f} ms per "
        f"subscription of {SCALE_ACCOUNTS_PER_SUBSCRIPTION} accounts here, so it would reach that near "
        f"{refresh_half / per_subscription:,.0f} subscriptions (linear arithmetic, not measured), long after "
        f"the Function App hands the refresh to the queue (`INVENTORY_FANOUT_THRESHOLD`, "
        f"{Settings().inventory_fanout_threshold} by "
        f"default). **The inventory's partitions are not the limit:** a policy delivery about a model reads one "
        f"location and model's partition, {change.policy_entities_max:,} entities at most here (the busiest; "
        f"{change.policy_entities_max / TABLE_PARTITION_TARGET:.1f} s of a partition's documented target of "
        f"{TABLE_PARTITION_TARGET:,} entities/s, and the regions' partitions are apart); the slowest delivery's work took "
        f"{slowest_policy:.2f} s of Event Grid's {EVENT_GRID_WAIT:.0f} s. {alert_limit_text(run)}"
        f"**The time to the last message.** Slack takes one post per second per channel (`WebhookSender` keeps "
        f"{PACING.get('slack', 0.0):g} s between two posts to a Slack channel). "
        f"{to_last_text(change, 'The default change')} {to_last_text(run.base, 'The baseline')}"
    )


def fan_out_text(run: ScaleRun) -> str:
    """When to fan out."""
    apps = math.ceil(max(c.notify_max for c in run.cycles) / EVENT_GRID_WAIT)
    split = (
        f"At this machine's rate the slowest digest would fit Event Grid's wait with ~{apps} apps (linear "
        "arithmetic, not measured); but each app "
        if apps > 1
        else "Each app "
    )
    catalog_reads = run.arms[2].catalog
    return (
        "**When to fan out.** Not for ARM, the timer nor the policy deliveries, which one app serves at this "
        "size: a catalog event costs what it concerns. Fan-out (one Function App per group of subscriptions, each "
        "with its own `WATCH_SUBSCRIPTION_IDS` and `STATE_TABLE_PREFIX` or storage account) divides what one "
        "alert delivery must read and record, the deployments a digest concerns (each app's share of the "
        f"{run.change.decisions_delivered:,} here). {split}would tell the default route the news of every change, so "
        "the default route would hear a change once per app, past the target of one message per route per "
        "change, and Slack's limit stays per channel. "
        f"The ARM thresholds that remain: ~{catalog_burst(run):.0f} catalog locations or ~{ARM_READ_BURST - 1} "
        "accounts in one subscription before the `ReadBudget` paces reads (slower, not failed). When fanning "
        "out, the apps must not all read the catalog in the same subscription with the same identity at the same "
        f"minute: two apps make {2 * catalog_reads} reads there within seconds, "
        f"{'past' if 2 * catalog_reads > ARM_READ_BURST else 'within'} one principal's {ARM_READ_BURST} "
        "(paced, then 429s honoured: slower, not failed); give each app its own identity (buckets are per "
        f"principal, up to the subscription's global 15× = {15 * ARM_READ_BURST:,}), or stagger "
        "`CATALOG_POLL_SCHEDULE`."
    )

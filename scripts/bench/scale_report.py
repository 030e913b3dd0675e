"""Section 5's text: ARM's requests against its read bucket, the limits and what the figures say."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime

from scripts.bench.common import ROOT
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
from shared.domain.routes import channels_of
from shared.services.notify.news import LEDGER_CONCURRENCY


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
    base, _, steady, change = cycles
    arms = [arm_figures(c.arm, catalog_sub) for c in cycles]
    n_locations = len(per_region)
    pages = arms[2].catalog // n_locations  # catalog pages per location
    per_sub = SCALE_ACCOUNTS_PER_SUBSCRIPTION
    concurrency = settings.arm_read_concurrency
    routes = settings.routes
    n_channels = sum(len(channels_of(r)) for r in routes.values())
    slack = PACING.get("slack", 0.0)

    def cells(values: list[str]) -> str:
        return " | ".join(values)

    def approx(c: ScaleCycle, text: str) -> str:
        return f"≈ {text}" if c.sampled else text

    def ratio(c: ScaleCycle) -> float:
        return c.policy_entities / c.decisions_delivered if c.decisions_delivered else 0.0

    def busiest(c: ScaleCycle) -> str:
        route, kind, n = c.busiest_channel
        return f"{n:,} ({kind} of {route})" if n else "0"

    def to_last(c: ScaleCycle) -> str:
        return f"{c.to_last_message:,.1f} s = {c.notify_time:,.1f} + {c.pacing_time:,.0f}"

    rows = [
        ("**timer run** (refresh, then catalog cycle)", [f"**{c.timer_time:.1f} s**" for c in cycles]),
        (
            f"inventory refresh ({n_accounts:,} accounts, {n_deployments:,} deployments): time, entity writes",
            [f"{c.inventory_time:.1f} s, {c.writes_inventory:,}" for c in cycles],
        ),
        (
            f"catalog cycle ({n_locations} locations): time, entity writes",
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
    table = "\n".join(f"| {label} | {cells(values)} |" for label, values in rows)

    # ---- the targets, for the default change
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
    acks = [a for c in cycles for a in (*c.policy_acks, *c.notify_acks)]
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
        f" in {n_locations} regions, {affected:,} deployments affected, {share(affected, mix.deployments)} of the "
        f"inventory): inventory entities read by the policy deliveries, {change.policy_entities:,}, "
        f"**{ratio(change):.2f}× the deployments affected** (target ≤ 1.1×: {verdict(entities_ok)}); "
        f"**{change.per_route_change} {'message' if change.per_route_change == 1 else 'messages'} per route per "
        f"change** at most (target ≤ 1: {verdict(per_change_ok)}): {plural(change.changes, 'change')} in "
        f"{plural(change.notified, 'digest')}, {plural(change.messages, 'message')} (one for the default route, "
        "one for each team told what it means for its deployments), "
        f"{plural(sum(change.posts.values()), 'post')} to "
        f"{len(change.posts)} of the {n_channels} channels, the busiest {busy_posts}; "
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

    # ---- how it was set up
    busiest_region = max(per_region.items(), key=lambda kv: kv[1])
    catalog_items = len(scale_catalog("2024-08-06"))
    threshold_default = Settings().inventory_fanout_threshold
    threshold = settings.inventory_fanout_threshold
    raised = (
        f"{threshold} (raised from its default, {threshold_default})"
        if threshold > threshold_default
        else f"{threshold} (its default)"
    )
    kinds = sorted({t for c in cycles for t in c.notified_types})
    only_digests = kinds == [EventType.CATALOG_DIGEST]
    notified = (
        "the `CatalogDigest`s only (the stand-in moves no deployment and plan mode writes none, so no "
        "`DeploymentUpgraded`; no rollback, so no `DeploymentRolledBack`)"
        if only_digests
        else ", ".join(f"`{k.removeprefix('ModelLifecycle.')}`" for k in kinds)
    )
    held = sum(c.flushed + c.flush_waiting for c in cycles)
    flush = (
        "nothing was held, so it sent nothing"
        if held == 0
        else f"{sum(c.flushed for c in cycles)} batch messages in all"
    )
    intro = (
        f"{n_subs} subscriptions in `WATCH_SUBSCRIPTION_IDS`, {per_sub} accounts each ({n_accounts:,}; kind "
        f"`OpenAI` or `AIServices`) over {n_locations} regions, Zipf-distributed (the busiest, {busiest_region[0]}, "
        f"holds {busiest_region[1]} accounts, the quietest {min(per_region.values())}), "
        f"{SCALE_DEPLOYMENTS_PER_ACCOUNT} deployments each ({mix.deployments:,} in the inventory, drawn as in "
        f"section 4: gpt-4o {share(mix.gpt4o, mix.deployments)}, provisioned {share(mix.provisioned, mix.deployments)}"
        f", tagged pin or ignore {share(mix.pinned_or_ignored, mix.deployments)}); each subscription belongs to one "
        f"of {SCALE_ROUTES} teams (`modelwatch:route`), each team a Teams and a Slack channel in `ALERT_ROUTES`, "
        f"beside the default route ({len(routes)} routes, {n_channels} channels). Every region's catalog, read in "
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
    sampled = [c for c in cycles if c.sampled]
    method = (
        "≈: a sample of the catalog events was delivered to `apply_update_policy` (every k-th by id, plus the one "
        "concerning the most deployments); times and transactions, fitted linearly on each delivery's decisions "
        "and emitted events, are summed over every event. "
        if sampled
        else "Every catalog event was delivered to `apply_update_policy` (no sample). "
    )
    method += (
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

    # ---- what grows with what
    floor = refresh_floor(n_subs, arms[2].accounts, n_accounts, arms[2].deployments, concurrency)
    rest = max(0.0, steady.inventory_time - floor)
    writes_each = base.writes_inventory / n_deployments if n_deployments else 0.0
    version_ratio = (
        f"{ratio(base):.2f}×, as an event about one version, a retirement or a reminder, reads its whole "
        "model's partition and keeps that version's deployments"
        if base.delivered and ratio(base) > 1.1
        else f"{ratio(base):.2f}×"
    )
    at_once = "every location at once" if n_locations <= concurrency else f"{concurrency} locations at a time"
    growth = (
        f"**Locations → catalog requests.** {pages} pages per location ({arms[2].catalog} a run), all in the "
        f"catalog subscription, every run, {at_once}: the steady cycle takes {steady.catalog_time:.1f} s for "
        f"{n_locations} locations (diff skipped); the baseline, which writes every snapshot record and outbox "
        f"entry ({base.writes_catalog:,} entity writes), {base.catalog_time:.1f} s. "
        f"**Accounts → inventory requests.** One account page per subscription and one deployment page per "
        f"account, {concurrency} at a time: {arms[2].accounts + arms[2].deployments:,} requests every run, change "
        f"or not, a floor of {floor:.1f} s at {SCALE_LATENCY * 1000:.0f} ms of the steady refresh's "
        f"{steady.inventory_time:.1f} s; the other {rest:.1f} s are this process's CPU (HTTP and JSON of "
        f"{concurrency} listings at once, on one GIL), parsing and comparing, and reading the "
        f"{n_deployments:,} records back from the store (one whole read, timed alone after the runs: "
        f"{mix.read_time:.1f} s). "
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

    # ---- the limits, from what was measured
    lowest = min(a.lowest for a in arms)
    throttled = sum(a.throttled for a in arms)
    held_back = sum(c.read_budget_wait for c in cycles)
    other_reads = arms[2].catalog_subscription - arms[2].catalog
    catalog_burst = (ARM_READ_BURST - other_reads) / pages if pages else 0.0
    arm_verdict = (
        f"**ARM is not the limit at this size.** No subscription's bucket went below {lowest:.0f} of "
        f"{ARM_READ_BURST} tokens, no request would be throttled, and the app's `ReadBudget` held reads back "
        f"{held_back:.1f} s in all"
        if not throttled
        else f"**ARM throttles:** {throttled} requests would have met an empty bucket"
    )
    tenant_span = arms[2].span  # the steady run's, first request to last
    tenant_tokens = ARM_READ_BURST + ARM_READ_REFILL * tenant_span
    refresh_half = settings.timer_budget_seconds / 2
    per_subscription = steady.inventory_time / n_subs
    slowest_policy = max(c.policy_max for c in cycles)
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
    alert_limit += (
        f"For the default change the delivery read {change.notify_entities:,} inventory entities and made "
        f"{change.tx_notify_ledger:,} ledger transactions ({ledger_rate:,.0f}/s over its whole handling): the "
        f"told standings of the deployments concerned read {TableLedger.KEYS_PER_QUERY} keys a query, "
        f"{LEDGER_CONCURRENCY} queries at once (`Ledger.get_many`), a claim and a completion for each post, then "
        "the standings told recorded in batches of 100 (`Ledger.complete_many`); they grow with the deployments a "
        "change affects, not with the messages. The ledger keeps a subscriber's entries in one partition: "
        f"{change.tx_notify_ledger:,} transactions are {partition_seconds:.0f} s of that partition's documented "
        f"target ({TABLE_PARTITION_TARGET:,} entities/s). "
    )
    limits = (
        f"{arm_verdict} (each run starting with full buckets, as an hour after the last). No request is "
        f"tenant-level (every path carries a subscription id), so the tenant's bucket is untouched; were it "
        f"counted, {arms[2].total:,} reads in {tenant_span:.1f} s would "
        f"{'overrun' if arms[2].total > tenant_tokens else 'fit in'} it ({tenant_tokens:,.0f} tokens at most). "
        f"The subscribers made {sum(c.policy_arm for c in cycles)} ARM requests (plan mode). "
        f"The catalog subscription carries the most ({arms[2].catalog_subscription} reads a run, {other_reads} of "
        f"them its own inventory): past ~{catalog_burst:.0f} locations at {pages} pages each its burst is spent "
        f"and the `ReadBudget` paces the rest at {ARM_READ_REFILL:.0f}/s (slower, not throttled: "
        f"{pages / ARM_READ_REFILL:.2f} s per further location); a subscription's inventory likewise past "
        f"~{ARM_READ_BURST - 1} accounts of one deployment page. "
        f"**The timer is not the limit:** {steady.timer_time:.1f} s a steady run; the refresh may use half of "
        f"`TIMER_BUDGET_SECONDS` ({refresh_half:.0f} s), and costs ~{per_subscription * 1000:.0f} ms per "
        f"subscription of {per_sub} accounts here, so it would reach that near "
        f"{refresh_half / per_subscription:,.0f} subscriptions (linear arithmetic, not measured), long after "
        f"the Function App hands the refresh to the queue (`INVENTORY_FANOUT_THRESHOLD`, {threshold_default} by "
        f"default). **The inventory's partitions are not the limit:** a policy delivery about a model reads one "
        f"location and model's partition, {change.policy_entities_max:,} entities at most here (the busiest; "
        f"{change.policy_entities_max / TABLE_PARTITION_TARGET:.1f} s of a partition's documented target of "
        f"{TABLE_PARTITION_TARGET:,} entities/s, and the regions' partitions are apart); the slowest delivery's work took "
        f"{slowest_policy:.2f} s of Event Grid's {EVENT_GRID_WAIT:.0f} s. {alert_limit}"
        f"**The time to the last message.** Slack takes one post per second per channel (`WebhookSender` keeps "
        f"{slack:g} s between two posts to a Slack channel). {to_last_text(change, 'The default change')} "
        f"{to_last_text(base, 'The baseline')}"
    )
    apps = math.ceil(slowest_notify / EVENT_GRID_WAIT)
    split = (
        f"At this machine's rate the slowest digest would fit Event Grid's wait with ~{apps} apps (linear "
        "arithmetic, not measured); but each app "
        if apps > 1
        else "Each app "
    )
    fan_out = (
        "**When to fan out.** Not for ARM, the timer nor the policy deliveries, which one app serves at this "
        "size: a catalog event costs what it concerns. Fan-out (one Function App per group of subscriptions, each "
        "with its own `WATCH_SUBSCRIPTION_IDS` and `STATE_TABLE_PREFIX` or storage account) divides what one "
        "alert delivery must read and record, the deployments a digest concerns (each app's share of the "
        f"{affected:,} here). {split}would tell the default route the news of every change, so "
        "the default route would hear a change once per app, past the target of one message per route per "
        "change, and Slack's limit stays per channel. "
        f"The ARM thresholds that remain: ~{catalog_burst:.0f} catalog locations or ~{ARM_READ_BURST - 1} "
        "accounts in one subscription before the `ReadBudget` paces reads (slower, not failed). When fanning "
        "out, the apps must not all read the catalog in the same subscription with the same identity at the same "
        f"minute: two apps make {2 * arms[2].catalog} reads there within seconds, "
        f"{'past' if 2 * arms[2].catalog > ARM_READ_BURST else 'within'} one principal's {ARM_READ_BURST} "
        "(paced, then 429s honoured: slower, not failed); give each app its own identity (buckets are per "
        f"principal, up to the subscription's global 15× = {15 * ARM_READ_BURST:,}), or stagger "
        "`CATALOG_POLL_SCHEDULE`."
    )
    where = f"load average {load:.1f} when it started" if load is not None else "load unknown"
    header = (
        f"Measured on {datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} cores shared with other work ({where}), first thing in "
        f"its process (`make bench`, or `python scripts/benchmark.py --only scale` to rerun this section alone); "
        f"the section took {runtime:.0f} s ({runtime / 60:.1f} min). Times are wall times of one run: single runs "
        "vary by about 20%, more under load."
    )
    return f"""## 5. Scale: a large tenant

{textwrap.fill(header, 112)}

{textwrap.fill(intro, 112)}

{textwrap.fill(targets, 112)}

| measurement | baseline | after the baseline | steady, no change | gpt-4o's default moves |
|---|---|---|---|---|
{table}

{textwrap.fill(method + memory, 112)}

{textwrap.fill(digest_text, 112)}

{textwrap.fill(growth, 112)}

{textwrap.fill(limits, 112)}

{textwrap.fill(fan_out, 112)}
"""

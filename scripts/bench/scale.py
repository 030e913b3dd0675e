"""Section 5: scale, a large tenant: four timer runs of the services on Table Storage (Azurite) against the ARM
stand-in in its own process (scale_tenant.py), measured by scale_rig.py, written up by scale_report.py
(its figures and table: scale_figures.py)."""

from __future__ import annotations

import contextlib
import json
import os
import time
from datetime import timedelta

from scripts.bench.common import start_azurite
from scripts.bench.scale_report import render_scale
from scripts.bench.scale_rig import (
    SCALE_BASE,
    SCALE_DELIVERIES,
    SCALE_LATENCY,
    SCALE_LOCATIONS,
    SCALE_PAGE,
    TABLE_STRING_LIMIT,
    PostLog,
    ScaleRig,
    TenantMix,
    baseline_digest_sizes,
    digest_cap,
    recording_notifiers,
    rss_mb,
    run_scale_cycle,
)
from scripts.bench.scale_tenant import (
    SCALE_ACCOUNTS_PER_SUBSCRIPTION,
    SCALE_DEPLOYMENTS_PER_ACCOUNT,
    SCALE_ROUTES,
    SCALE_SUBSCRIPTIONS,
    ArmProcess,
    scale_subscriptions,
)
from shared.adapters.memory import CollectingPublisher
from shared.adapters.storage.queue import StorageDeliveryQueue
from shared.adapters.tables.alert_buffer import TableAlertBuffer
from shared.adapters.tables.catalog_state import TableCatalogStateStore
from shared.adapters.tables.deployments import TableDeploymentStore
from shared.adapters.tables.ledger import TableLedger
from shared.bootstrap import build_services
from shared.config import load_settings
from shared.domain import digest
from tests.fakes import azurite


def scale_section(quick: bool) -> str:
    n_subs, n_locations = (20, 12) if quick else (SCALE_SUBSCRIPTIONS, SCALE_LOCATIONS)
    budget = SCALE_DELIVERIES
    subscriptions = scale_subscriptions(n_subs)
    locations = [f"region{i:02}" for i in range(n_locations)]
    n_accounts = n_subs * SCALE_ACCOUNTS_PER_SUBSCRIPTION
    n_deployments = n_accounts * SCALE_DEPLOYMENTS_PER_ACCOUNT
    started = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    rss_start = rss_mb()
    # A digest must fit in one Table Storage string property (the outbox stores its body whole); the code splits
    # digests above MAX_DIGEST_CHARS. Check that the baseline's fit; were one too big, lower the events per digest
    # until they do, and say so (at the default, the drain would fail and nothing go out).
    default_cap = cap = digest.MAX_EVENTS_PER_DIGEST
    sizes = {cap: max(baseline_digest_sizes(locations, cap))}
    while sizes[cap] > TABLE_STRING_LIMIT and cap > 1:
        cap //= 2
        sizes[cap] = max(baseline_digest_sizes(locations, cap))
    with ArmProcess(SCALE_PAGE) as arm, digest_cap(cap):
        per_region: dict[str, int] = arm.call("populate", subscriptions, locations, 5)
        arm.call("catalog", subscriptions[0], locations, "2024-08-06")
        arm.call("latency", SCALE_LATENCY)
        process, conn = start_azurite()
        serve_queue = contextlib.contextmanager(azurite._serve)(azurite.AZURITE_QUEUE, "queue")
        queue_port = serve_queue.__enter__()
        try:
            # the delivery queue the Event Grid triggers hand their work to, on Azurite's queue service
            handoff = StorageDeliveryQueue.from_connection_string(
                conn + f"QueueEndpoint={azurite.queue_endpoint(queue_port)};", "modelwatch-deliveries"
            )
            state = TableCatalogStateStore.from_connection_string(conn, table_prefix="Scale")
            stores = TableDeploymentStore.from_connection_string(conn, table_prefix="Scale")
            ledger = TableLedger.from_connection_string(conn, table_prefix="Scale")
            buffer = TableAlertBuffer.from_connection_string(conn, table_prefix="Scale")
            publisher = CollectingPublisher()
            posts = PostLog()
            url = "https://example.invalid/hooks/"
            settings = load_settings(
                {
                    "WATCH_SUBSCRIPTION_ID": subscriptions[0],
                    "WATCH_SUBSCRIPTION_IDS": ",".join(subscriptions),
                    "WATCH_LOCATIONS": ",".join(locations),
                    "ARM_ENDPOINT": arm.endpoint,
                    "ARM_BEARER_TOKEN": "bench",
                    "POLICY_MODE": "plan",
                    # the refresh in the timer, whole (above the threshold the Function App queues one part per
                    # subscription to refresh_inventory: the same listing and store work, spread over invocations)
                    "INVENTORY_FANOUT_THRESHOLD": str(n_subs),
                    "TEAMS_WEBHOOK_URL": url + "default-teams",
                    "SLACK_WEBHOOK_URL": url + "default-slack",
                    "ALERT_ROUTES": json.dumps(
                        {
                            f"team-{i:02}": {"teams": f"{url}{i}-teams", "slack": f"{url}{i}-slack"}
                            for i in range(SCALE_ROUTES)
                        }
                    ),
                }
            )
            services = build_services(
                settings,
                state=state,
                stores=stores,
                publisher=publisher,
                notifiers=recording_notifiers(posts),
                ledger=ledger,
                buffer=buffer,
            )
            rss_ready = rss_mb()
            rig = ScaleRig(services, arm, state, stores, ledger, buffer, publisher, posts, handoff)
            cycles = [
                run_scale_cycle(rig, "baseline (first run)", SCALE_BASE, budget),
                run_scale_cycle(rig, "after the baseline (full diff)", SCALE_BASE + timedelta(hours=1)),
                run_scale_cycle(rig, "steady, no change", SCALE_BASE + timedelta(hours=2)),
            ]
            arm.call("catalog", subscriptions[0], locations, "2024-11-20")
            change = "gpt-4o's default moves, every region"
            cycles.append(run_scale_cycle(rig, change, SCALE_BASE + timedelta(hours=3), budget))
            # the inventory as the app stored it: what the tenant holds, and what one whole read of it costs
            read_started = time.perf_counter()
            inventory = stores.list_deployments()
            mix = TenantMix.of(inventory, time.perf_counter() - read_started)
            del inventory
        finally:
            serve_queue.__exit__(None, None, None)
            azurite._stop(process)
    runtime = time.perf_counter() - started
    return render_scale(
        cycles,
        catalog_sub=subscriptions[0],
        n_subs=n_subs,
        n_accounts=n_accounts,
        n_deployments=n_deployments,
        per_region=per_region,
        rss=(rss_start, rss_ready),
        runtime=runtime,
        load=load,
        mix=mix,
        settings=settings,
        digests=(default_cap, sizes[default_cap], cap, sizes[cap]),
    )

"""Composition root: the one place that builds real clients. Heavy SDKs are imported here, lazily."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack, cast

from shared.adapters.backends import Opening, Options, Port, open_configured, open_queue
from shared.config import (
    Settings,
    StateStoreConfig,
    StoreKind,
    UpgradeGate,
    load_settings,
    require_arm_catalog,
    require_function_app,
)
from shared.domain.canary import CanaryMode
from shared.domain.diff import DiffRules
from shared.domain.scope import Scope
from shared.ports import (
    AlertBuffer,
    CanaryQueue,
    CanaryResults,
    CatalogSource,
    CatalogStateStore,
    DeliveryQueue,
    DeploymentApi,
    DeploymentStores,
    EventPublisher,
    Ledger,
    Notifier,
    RefreshQueue,
    SubscriptionCatalogs,
)
from shared.services.watch import CatalogWatcher

# The other use cases are imported where they are built: `check` (a catalog cycle) and `--help` then import what
# they use only (issue #26: imports were a fifth of a steady `check`).
if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from shared.adapters.notifiers import PayloadPoster
    from shared.adapters.storage.queue import StorageRefreshQueue
    from shared.domain.evals import SuiteSet
    from shared.domain.policy import PolicyRules
    from shared.domain.status import StatusReport
    from shared.services.inventory import InventoryReport, InventoryService
    from shared.services.notify import FlushReport, NotifyService
    from shared.services.pipeline import Subscriber, TimerReport
    from shared.services.policy import PolicyService
    from shared.services.rollback import RollbackService

log = logging.getLogger(__name__)

DEFAULT_STATE = ".modelwatch/state.db"
DEFAULT_EVENTS_FILE = ".modelwatch/events.jsonl"


@functools.cache
def azure_credential() -> TokenCredential:
    """One DefaultAzureCredential per worker (managed identity in Azure), shared by every client."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def _open(config: StateStoreConfig | None, port: Port, how: Opening) -> object:
    return open_configured(config, port, {"default_sqlite": DEFAULT_STATE, **how}, azure_credential)


def build_state_store(config: StateStoreConfig | None, **how: Unpack[Opening]) -> CatalogStateStore:
    """The catalog state: each location's cursor and snapshot, and the outbox."""
    return cast(CatalogStateStore, _open(config, Port.STATE, how))


def build_deployment_stores(config: StateStoreConfig | None, **how: Unpack[Opening]) -> DeploymentStores:
    """The inventory and its change history, beside the catalog state (same file or storage account)."""
    return cast(DeploymentStores, _open(config, Port.DEPLOYMENTS, how))


def build_ledger(config: StateStoreConfig | None, **how: Unpack[Opening]) -> Ledger:
    """The subscribers' idempotency ledger, beside the other stores."""
    return cast(Ledger, _open(config, Port.LEDGER, how))


def build_canary_results(config: StateStoreConfig | None, **how: Unpack[Opening]) -> CanaryResults:
    """The stored canary results, beside the other stores (what `canary list` and the status page read)."""
    return cast(CanaryResults, _open(config, Port.CANARY, how))


def build_alert_buffer(config: StateStoreConfig | None, **how: Unpack[Opening]) -> AlertBuffer:
    """The alert subscriber's buffer of news held for one message per route and group, beside the other stores."""
    return cast(AlertBuffer, _open(config, Port.ALERTS, how))


def build_catalog_source(
    settings: Settings, *, catalog_file: str | None = None, client: Any = None
) -> CatalogSource:
    if catalog_file is not None:
        from shared.adapters.catalog_file import FileCatalogSource

        return FileCatalogSource(catalog_file)
    require_arm_catalog(settings)
    from shared.adapters.arm import ArmCatalogSource

    assert settings.watch_subscription_id is not None
    return ArmCatalogSource(
        client if client is not None else build_arm_client(settings), settings.watch_subscription_id
    )


def build_arm_client(settings: Settings, *, sleep: Callable[[float], None] | None = None) -> Any:
    """The ARM client, pacing its reads to ARM's read bucket per subscription. ``sleep`` (backoff and Retry-After
    waits) is for replays on a virtual clock: those are not paced (the bucket refills on the real clock)."""
    import time

    from shared.adapters.arm import ArmClient, AzureIdentityTokenProvider, ReadBudget, StaticTokenProvider

    tokens: Any = (
        StaticTokenProvider(settings.arm_bearer_token)
        if settings.arm_bearer_token is not None
        else AzureIdentityTokenProvider(
            credential=azure_credential()
        )  # one credential for ARM, Event Grid, Tables
    )
    return ArmClient(
        settings.arm_endpoint,
        settings.arm_api_version,
        tokens,
        timeout=settings.arm_timeout_seconds,
        max_retries=settings.arm_max_retries,
        sleep=sleep or time.sleep,
        read_budget=ReadBudget() if sleep is None else None,
    )


def build_publisher(settings: Settings, *, local_file: str = DEFAULT_EVENTS_FILE) -> EventPublisher:
    """Event Grid when a topic is configured; otherwise a local JSON-lines file (CLI only)."""
    if settings.eventgrid_topic_endpoint:
        from shared.adapters.eventgrid import EventGridPublisher

        credential = None if settings.eventgrid_topic_key else azure_credential()
        return EventGridPublisher(
            settings.eventgrid_topic_endpoint, settings.eventgrid_topic_key, credential=credential
        )
    from shared.adapters.local import JsonLinesPublisher

    return JsonLinesPublisher(local_file)


def build_watcher(
    settings: Settings,
    *,
    source: CatalogSource | None = None,
    store: CatalogStateStore | None = None,
    publisher: EventPublisher | None = None,
    deployments: DeploymentStores | None = None,
) -> CatalogWatcher:
    source = source if source is not None else build_catalog_source(settings)
    store = (
        store
        if store is not None
        else build_state_store(settings.state_store, table_prefix=settings.state_table_prefix)
    )
    return CatalogWatcher(
        source,
        store,
        publisher if publisher is not None else build_publisher(settings),
        rules=DiffRules(
            reminder_days=settings.retirement_reminder_days,
            vanish_guard=settings.catalog_vanish_guard,
            removal_confirmations=settings.catalog_removal_confirmations,
            news_formats=settings.catalog_news_formats,
        ),
        formats=settings.catalog_model_formats,
        max_concurrency=settings.arm_read_concurrency,  # reads: catalog pages of every region at once
        # a version that leaves the list is confirmed with the catalogs of the subscriptions running it
        deployments=deployments,
        catalogs=source if isinstance(source, SubscriptionCatalogs) else None,
        subscription=settings.watch_subscription_id,
    )


def build_deployment_api(settings: Settings, client: Any = None) -> DeploymentApi:
    from shared.adapters.arm import ArmDeploymentApi

    return ArmDeploymentApi(
        client if client is not None else build_arm_client(settings), settings.arm_deployment_api_version
    )


def policy_rules(settings: Settings) -> PolicyRules:
    from shared.domain.policy import PolicyRules

    return PolicyRules(
        enforce=settings.enforce,
        accelerate_default=settings.policy_accelerate_default,
        enforce_provisioned=settings.policy_enforce_provisioned,
        provisioned_lead_days=settings.policy_provisioned_lead_days,
        upgrade_grace_days=settings.policy_upgrade_grace_days,
        watched_formats=settings.catalog_model_formats,
    )


@dataclass(frozen=True)
class Services:
    """Every use case, wired over one set of stores: what the functions and the CLI run."""

    settings: Settings
    state: CatalogStateStore
    stores: DeploymentStores  # the inventory and its change history
    ledger: Ledger
    publisher: EventPublisher
    watcher: CatalogWatcher | None  # None when no catalog source is configured (CLI without ARM settings)
    inventory: InventoryService | None  # None when no ARM access or nothing to watch is configured
    policy: PolicyService
    rollback: RollbackService
    notify: NotifyService
    # what "now" is for the triggers; a replay of dated history installs Services with its own clock
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # where the timer queues the parts of an inventory refresh over more than INVENTORY_FANOUT_THRESHOLD
    # subscriptions or accounts; None: the refresh runs in the timer
    queue: RefreshQueue | None = None
    # canaries (#25): asked by the policy subscriber, run by run_canary; None with CANARY_MODE=off or no queue
    canaries: Any = None
    # their stored results (the status page's "tested" line); None with CANARY_MODE=off
    results: CanaryResults | None = None

    # where the Event Grid triggers hand their deliveries' work (deliver_queued does it); None: they do it
    # themselves (a SQLite state, the CLI, a replay)
    handoff: DeliveryQueue | None = None

    def run_canary(self, message: str, now: datetime) -> Any:
        """One queued canary ask (run_canary): run once, CanaryEvaluated published. None when nothing ran."""
        if self.canaries is None:
            log.warning("run_canary: canaries are off (CANARY_MODE=off, or no queue): message acknowledged")
            return None
        return self.canaries.handle_message(message, now)

    def canary_upkeep(self, now: datetime) -> list[str]:
        """The catalog timer's canary chores: delete expired canaries a crashed run left (inside the write scope),
        and lift CANARY_PROTECT protections whose version's retirement is near. What was done."""
        if self.canaries is None:
            return []
        accounts = set(self.settings.watch_accounts)
        if self.settings.policy_enforce_all_accounts:  # canaries may then be in any watched account
            accounts |= {d.account_id for d in self.stores.list_deployments()}
        return list(self.canaries.upkeep(sorted(accounts), now))

    def subscribers(self) -> list[Subscriber]:
        """The Event Grid subscriptions of the app, as the deployed topic routes them."""
        from shared.domain.events import Consumer, consumed_by
        from shared.services.notify import NOTIFY_EVENT_TYPES
        from shared.services.notify import SUBSCRIBER as NOTIFY_SUBSCRIBER
        from shared.services.pipeline import Subscriber
        from shared.services.policy import SUBSCRIBER as POLICY_SUBSCRIBER

        return [
            Subscriber(POLICY_SUBSCRIBER, consumed_by(Consumer.POLICY), self.policy.handle),
            Subscriber(NOTIFY_SUBSCRIBER, NOTIFY_EVENT_TYPES, self.notify.handle),
        ]

    def flush_alerts(self, now: datetime) -> FlushReport:
        """The alerts timer's job: tell each settled group of held deployment news, one message per route."""
        return self.notify.flush(now)

    def status(self, now: datetime) -> StatusReport:
        """The status page's data, from the stored state (reads only)."""
        from shared.services.status import build_status

        return build_status(
            inventory=self.stores,
            rollbacks=self.stores,
            state=self.state,
            rules=policy_rules(self.settings),
            locations=self.settings.watch_locations,
            now=now,
            poll_period=timedelta(minutes=self.settings.catalog_poll_period_minutes),
            results=self.results,
        )

    def run_timer(self, now: datetime) -> TimerReport:
        from shared.services.pipeline import run_timer

        if self.watcher is None:
            require_arm_catalog(self.settings)  # raises naming what is missing
            raise AssertionError("unreachable: a configured catalog always has a watcher")
        return run_timer(
            self.watcher,
            self.inventory,
            self.settings.watch_locations,
            now,
            budget_seconds=self.settings.timer_budget_seconds,
            queue=self.queue if self.settings.inventory_fans_out else None,
        )

    def refresh_part(self, message: str) -> InventoryReport | None:
        """One queued part of an inventory refresh (refresh_inventory); None when no inventory is configured any
        more (the message is acknowledged). Raises as ``refresh_from_message`` says."""
        if self.inventory is None:
            log.warning(
                "refresh_inventory: no inventory is configured (WATCH_ACCOUNTS, WATCH_SUBSCRIPTION_IDS)"
            )
            return None
        from shared.services.budget import Deadline
        from shared.services.refresh_parts import refresh_from_message

        deadline = Deadline.after(self.settings.timer_budget_seconds)  # under functionTimeout, like the timer
        return refresh_from_message(message, self.inventory, self.state, self.publisher, deadline=deadline)


def build_services(
    settings: Settings,
    *,
    source: CatalogSource | None = None,
    state: CatalogStateStore | None = None,
    stores: DeploymentStores | None = None,
    ledger: Ledger | None = None,
    publisher: EventPublisher | None = None,
    api: DeploymentApi | None = None,
    sender: PayloadPoster | None = None,
    notifiers: Mapping[str, Notifier] | None = None,
    buffer: AlertBuffer | None = None,
    queue: RefreshQueue | None = None,
    canary_queue: CanaryQueue | None = None,
    canary_results: CanaryResults | None = None,
) -> Services:
    """Wire the use cases. Anything not passed is built from the settings; ARM is used only when configured."""
    from shared.services.rollback import RollbackService

    config, prefix = settings.state_store, settings.state_table_prefix
    if canary_results is None and state is not None:
        # the caller brought its own stores (tests, the CLI's in-memory runs): the results stay beside them, never
        # in a file or table the caller did not name
        from shared.adapters.memory import InMemoryCanaryResults

        canary_results = InMemoryCanaryResults()
    if canary_results is None and settings.canary_mode != CanaryMode.OFF:
        canary_results = build_canary_results(config, table_prefix=prefix)
    state = state if state is not None else build_state_store(config, table_prefix=prefix)
    stores = stores if stores is not None else build_deployment_stores(config, table_prefix=prefix)
    ledger = ledger if ledger is not None else build_ledger(config, table_prefix=prefix)
    buffer = buffer if buffer is not None else build_alert_buffer(config, table_prefix=prefix)
    publisher = publisher if publisher is not None else build_publisher(settings)
    # one ARM client for the catalog and the deployments: one read budget per subscription for both
    wants_arm = (api is None and settings.inventory_configured) or source is None
    client = build_arm_client(settings) if settings.watch_subscription_id and wants_arm else None
    if api is None and client is not None and settings.inventory_configured:
        api = build_deployment_api(settings, client)
    if source is None and client is not None:
        source = build_catalog_source(settings, client=client)
    watcher = (
        build_watcher(settings, source=source, store=state, publisher=publisher, deployments=stores)
        if source is not None
        else None
    )
    inventory = build_inventory(settings, api, stores, state)
    if queue is None and inventory is not None and settings.inventory_fans_out:
        queue = build_refresh_queue(settings)
    canaries = build_canaries(
        settings,
        api=api,
        ledger=ledger,
        state=state,
        publisher=publisher,
        stores=stores,
        queue=canary_queue,
        results=canary_results,
    )
    policy = build_policy_service(
        settings, canaries=canaries, ledger=ledger, stores=stores, state=state, api=api, publisher=publisher
    )
    rollback = RollbackService(
        deployments=stores,
        rollbacks=stores,
        state=state,
        api=api,
        publisher=publisher,
        scope=write_scope(settings),
    )
    notify = build_notify_service(settings, ledger, stores, state, buffer, notifiers=notifiers, sender=sender)
    return Services(
        settings,
        state,
        stores,
        ledger,
        publisher,
        watcher,
        inventory,
        policy,
        rollback,
        notify,
        queue=queue,
        canaries=canaries,
        results=canary_results,
    )


def build_inventory(
    settings: Settings, api: DeploymentApi | None, stores: DeploymentStores, state: CatalogStateStore
) -> InventoryService | None:
    """The inventory refresh over ARM; None without ARM access or nothing to watch."""
    if api is None or not settings.inventory_configured:
        return None
    from shared.services.inventory import InventoryService

    return InventoryService(
        api,
        stores,
        stores,
        state,
        accounts=settings.watch_accounts,
        subscriptions=settings.watch_subscription_ids,
        max_concurrency=settings.arm_read_concurrency,
    )


def build_policy_service(
    settings: Settings,
    *,
    canaries: Any,
    ledger: Ledger,
    stores: DeploymentStores,
    state: CatalogStateStore,
    api: DeploymentApi | None,
    publisher: EventPublisher,
) -> PolicyService:
    """The policy subscriber: the update policy applied to each catalog event, gated by the canaries if asked."""
    from shared.services.policy import PolicyService

    return PolicyService(
        gate=canary_gate(settings, ledger),
        on_assessed=canaries.ask if canaries is not None else None,
        deployments=stores,
        ledger=ledger,
        rollbacks=stores,
        state=state,
        api=api,
        publisher=publisher,
        rules=policy_rules(settings),
        scope=write_scope(settings),
        reminder_days=settings.retirement_reminder_days,
        max_concurrency=settings.arm_max_concurrency,
    )


def build_notify_service(
    settings: Settings,
    ledger: Ledger,
    stores: DeploymentStores,
    state: CatalogStateStore,
    buffer: AlertBuffer,
    *,
    notifiers: Mapping[str, Notifier] | None = None,
    sender: PayloadPoster | None = None,
) -> NotifyService:
    """The alert subscriber, sending through ``notifiers`` (default: the webhook notifiers over ``sender``)."""
    from shared.services.notify import NotifyService

    if notifiers is None:
        from shared.adapters.notifiers import webhook_notifiers

        if sender is None:
            from shared.adapters.webhooks import WebhookSender

            sender = WebhookSender()
        notifiers = webhook_notifiers(sender)
    return NotifyService(
        ledger=ledger,
        notifiers=notifiers,
        routes=settings.routes,
        scope=write_scope(settings),
        status_page_url=settings.status_page_url,
        deployments=stores,
        state=state,
        rules=policy_rules(settings),
        buffer=buffer,
        batch_window=timedelta(seconds=settings.alert_batch_seconds),
    )


def build_canaries(
    settings: Settings,
    *,
    api: DeploymentApi | None,
    ledger: Ledger,
    state: CatalogStateStore,
    publisher: EventPublisher,
    stores: DeploymentStores,
    queue: CanaryQueue | None = None,
    results: CanaryResults | None = None,
) -> Any:
    """The canary pipeline (services/canary.py CanaryPipeline), or None: CANARY_MODE=off, no ARM, or no queue
    (a SQLite state has none: the CLI's `canary run` is the way there). Suites are read on first use."""
    if settings.canary_mode == CanaryMode.OFF or api is None:
        return None
    if queue is None:
        queue = build_canary_queue(settings)
        if queue is None:
            return None
    from shared.services.canary import CanaryPipeline

    read = suite_reader(settings)
    rules = policy_rules(settings)
    protect = None
    if settings.canary_protect and rules.enforce:  # never in plan mode
        from shared.services.protect import CanaryProtect

        protect = CanaryProtect(
            api=api,
            deployments=stores,
            rollbacks=stores,
            state=state,
            scope=write_scope(settings),
            rules=rules,
            margin=timedelta(days=settings.canary_protect_margin_days),
        )
    return CanaryPipeline(
        build_canary_service(settings, api=api),
        ledger,
        state,
        publisher,
        lambda: read().suites,  # a malformed suite is logged by its source and asks nothing
        mode=settings.canary_mode,
        queue=queue,
        deployments=stores,
        protect=protect,
        results=results,
    )


def build_canary_queue(settings: Settings) -> CanaryQueue | None:
    """The storage queue of canary asks (CANARY_QUEUE_NAME), beside the inventory's; None with a SQLite state."""
    from shared.adapters.storage.queue import StorageCanaryQueue

    queue = _queue(settings, settings.canary_queue_name)
    return None if queue is None else StorageCanaryQueue(queue)


def build_refresh_queue(settings: Settings) -> RefreshQueue | None:
    """The storage queue of the refresh's parts, in STATE_STORE's account with its credential; None with a SQLite
    state (no storage account: the refresh stays in the timer)."""
    queue = _queue(settings, settings.inventory_queue_name)
    if queue is None:
        log.info("the inventory refresh stays in the timer: a SQLite STATE_STORE has no queue")
    return queue


def _queue(settings: Settings, name: str, **client_options: Any) -> StorageRefreshQueue | None:
    """The queue ``name`` beside STATE_STORE's stores, with its credential; None when its backend has none."""
    return open_queue(settings.state_store, name, Options(credential=azure_credential), **client_options)


def canary_gate(settings: Settings, ledger: Ledger) -> Any:
    """UPGRADE_GATE=canary: the gate the policy subscriber asks before each of its writes (None: no gate). The
    suites are read on first use and kept: a malformed one holds the covered writes, it does not stop the app."""
    if settings.upgrade_gate != UpgradeGate.CANARY:
        return None
    from shared.services.canary_gate import CanaryGate

    return CanaryGate(ledger, suite_reader(settings)).check


def suite_reader(settings: Settings, *, folder: Path | None = None) -> Callable[[], SuiteSet]:
    """EVAL_SUITES' SuiteSource, read on first use (a malformed suite must not stop the app starting): a blob
    container with the app's identity (each read kept minutes), or a folder, read once. A relative folder is the
    app's own (evals/ ships beside function_app.py) or ``folder`` (the CLI's), never the worker's current one."""
    if "://" in settings.eval_suites:
        from shared.adapters.suite_blobs import BlobSuites

        return BlobSuites.from_url(settings.eval_suites, azure_credential).read
    from shared.adapters.suite_files import FolderSuites

    base = folder if folder is not None else Path(__file__).resolve().parents[1]
    return functools.cache(FolderSuites(base / settings.eval_suites).read)


def build_delivery_queue(settings: Settings) -> DeliveryQueue | None:
    """The storage queue of the Event Grid deliveries' work, in STATE_STORE's account with its credential; None with
    a SQLite state (no storage account: each delivery does its own work)."""
    from shared.adapters.storage.queue import HANDOFF_CLIENT_OPTIONS, StorageDeliveryQueue, names_a_queue

    config = settings.state_store
    conn = (
        config.value.reveal() if config is not None and config.kind == StoreKind.CONNECTION_STRING else None
    )
    if conn is not None and not names_a_queue(conn):
        # the SDK would guess the public endpoint of the account name and wait out DNS and retries for
        # minutes: past Event Grid's 30 s, the very thing the hand-off is for
        log.warning(
            "STATE_STORE's connection string names a TableEndpoint but no QueueEndpoint: each Event Grid "
            "delivery does its own work (add QueueEndpoint to hand large deliveries to %s)",
            settings.delivery_queue_name,
        )
        return None
    queue = _queue(settings, settings.delivery_queue_name, **HANDOFF_CLIENT_OPTIONS)
    return None if queue is None else StorageDeliveryQueue(queue)


def write_scope(settings: Settings) -> Scope:
    """What may be written to, from the settings in force: checked again at every write."""
    return Scope.of(
        locations=settings.watch_locations,
        accounts=settings.watch_accounts,
        subscriptions=settings.watch_subscription_ids,
    )


_installed: Services | None = None


def install(services: Services | None) -> None:
    """Make the triggers use these Services (a host composing its own adapters, or an end-to-end replay).
    None goes back to building them from the environment."""
    global _installed  # noqa: PLW0603 - the composition root of a Functions worker is process-wide
    _installed = services


def function_services() -> Services:
    """The installed Services, or those built from the environment once (settings validated once: an invalid
    setting fails the invocation with every problem named)."""
    return _installed if _installed is not None else _from_environment()


@functools.cache
def _from_environment() -> Services:
    settings = load_settings(os.environ)
    require_function_app(settings)
    return replace(build_services(settings), handoff=build_delivery_queue(settings))


def reset_function_services() -> None:
    """Forget installed and cached Services: the next invocation reads the environment again."""
    install(None)
    _from_environment.cache_clear()


def data_plane_token(settings: Settings) -> Callable[[], str]:
    """The data-plane token: DATA_PLANE_BEARER_TOKEN for a stand-in, else Entra for Cognitive Services (a
    bearer-token provider caching the token until near expiry)."""
    if settings.data_plane_bearer_token is not None:
        return settings.data_plane_bearer_token.reveal
    providers: list[Callable[[], str]] = []

    def token() -> str:  # the credential is built on the first call, not when the services are wired
        if not providers:
            from azure.identity import get_bearer_token_provider

            from shared.adapters.dataplane import DATA_PLANE_SCOPE

            providers.append(get_bearer_token_provider(azure_credential(), DATA_PLANE_SCOPE))
        return providers[0]()

    return token


def build_canary_service(
    settings: Settings,
    *,
    api: DeploymentApi | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Any:
    """The canary runner over ARM and the data plane (openai imported here, never at a function's cold start)."""
    import time

    from shared.adapters.dataplane import OpenAIChatApi
    from shared.adapters.suite_files import JsonSchemaChecker
    from shared.services.canary import CanaryLimits, CanaryService

    token = data_plane_token(settings)

    def chat_for(endpoint: str) -> OpenAIChatApi:
        return OpenAIChatApi(
            endpoint, token, api_version=settings.data_plane_api_version, sleep=sleep or time.sleep
        )

    limits = CanaryLimits(
        max_tokens=settings.canary_max_tokens,
        concurrency=settings.canary_concurrency,
        store_outputs=settings.canary_store_outputs,
        ttl=timedelta(minutes=settings.canary_ttl_minutes),
    )
    return CanaryService(
        api if api is not None else build_deployment_api(settings),
        chat_for,
        write_scope(settings),
        JsonSchemaChecker(),
        limits,
        any_account=settings.policy_enforce_all_accounts,
    )

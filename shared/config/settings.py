"""The settings' values: what ``load_settings`` (load.py) returns, frozen."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from shared.domain.auth import HttpAuth
from shared.domain.canary import CanaryMode
from shared.domain.diff import DEFAULT_REMINDER_DAYS
from shared.domain.policy import PolicyMode
from shared.domain.routes import DEFAULT_ROUTE, NO_MENTIONS, ChannelKind, Route
from shared.domain.secret import Secret
from shared.domain.severity import Severity


class StoreKind(StrEnum):
    """How STATE_STORE names where state lives; bootstrap.STORE_BACKENDS opens each."""

    SQLITE = "sqlite"  # a local file: the CLI, the demo, func start
    CONNECTION_STRING = "connection-string"  # Table Storage with an account key or SAS (or Azurite)
    ENDPOINT = "endpoint"  # Table Storage with the managed identity


class UpgradeGate(StrEnum):
    """UPGRADE_GATE: what modelwatch's own upgrades (enforce) of deployments a suite covers wait for."""

    NONE = "none"
    CANARY = "canary"  # a passing canary of the target version


@dataclass(frozen=True)
class StateStoreConfig:
    """Where state lives: a SQLite file, or Table Storage reached with a connection string or the identity."""

    kind: StoreKind
    value: Secret  # a path, a connection string (may hold an account key) or a table endpoint URL

    def describe(self) -> str:
        if self.kind == StoreKind.SQLITE:
            return f"sqlite:///{self.value.reveal()}"
        if self.kind == StoreKind.ENDPOINT:
            parts = urlsplit(self.value.reveal())
            # a table endpoint may carry a SAS token in its query: never shown
            return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?<SAS masked>" if parts.query else "")
        match = re.search(r"AccountName=([^;]+)", self.value.reveal())
        if "UseDevelopmentStorage=true" in self.value.reveal():
            return "Table Storage (development storage)"
        return f"Table Storage (account {match.group(1) if match else '?'})"


@dataclass(frozen=True)
class Settings:
    """Every setting of the app. Field names mirror the setting names (see local.settings.sample.json)."""

    watch_subscription_id: str | None = None
    watch_locations: tuple[str, ...] = ()
    arm_endpoint: str = "https://management.azure.com"
    arm_api_version: str = "2025-09-01"  # Models - List (the catalog)
    # deployments are read and written with the newest stable api-version: a GET -> PUT round trip only keeps
    # the fields its own api-version returns (2026-03-01 adds serviceTier, deploymentState, routing)
    arm_deployment_api_version: str = "2026-03-01"
    arm_bearer_token: Secret | None = None
    arm_max_concurrency: int = 8  # deployment writes at once (each a GET, a PUT and operation polls)
    # reads at once (catalog pages, account and deployment listings): enough that a cycle over every region is one
    # region's chain of pages long; the rate is kept by ReadBudget (ARM's bucket: 250 at once, 25/s per subscription)
    arm_read_concurrency: int = 64
    arm_timeout_seconds: float = 30.0
    arm_max_retries: int = 5
    # formats whose catalog entries are kept and whose deployments are judged (casefolded; None: every format)
    catalog_model_formats: frozenset[str] | None = None
    # formats whose releases, default changes and status changes are published; retirement news is published for
    # every kept format (casefolded; None: every kept format)
    catalog_news_formats: frozenset[str] | None = frozenset({"openai"})
    retirement_reminder_days: tuple[int, ...] = DEFAULT_REMINDER_DAYS
    catalog_vanish_guard: float = 0.2
    catalog_removal_confirmations: int = 2
    catalog_poll_schedule: str = "0 0 * * * *"
    # the schedule's period: the status page calls the watcher overdue after twice that (as the missed-run alert does)
    catalog_poll_period_minutes: int = 60
    # stop starting new work this long into a timer run: host.json's functionTimeout (10 min) kills it unwarned
    timer_budget_seconds: int = 480
    alert_batch_seconds: int = 120  # held deployment news settles this long before its one message per route
    state_store: StateStoreConfig | None = None
    state_table_prefix: str = "ModelWatch"  # Table Storage: tables <prefix>Cursors, <prefix>Snapshots, ...
    eventgrid_topic_endpoint: str | None = None
    eventgrid_topic_key: Secret | None = None
    watch_accounts: tuple[
        str, ...
    ] = ()  # account resource ids; empty: every OpenAI account of the subscriptions
    watch_subscription_ids: tuple[
        str, ...
    ] = ()  # whose accounts are listed; defaults to WATCH_SUBSCRIPTION_ID
    # above this many subscriptions (or WATCH_ACCOUNTS accounts), the timer hands the inventory refresh to a queue:
    # one message per subscription (or group of accounts), each refreshed by refresh_inventory
    inventory_fanout_threshold: int = 20
    inventory_queue_name: str = "modelwatch-inventory"  # in STATE_STORE's storage account
    # where the Event Grid triggers hand their work (deliver_queued does it): Event Grid waits 30 s for an answer
    delivery_queue_name: str = "modelwatch-deliveries"  # in STATE_STORE's storage account
    policy_mode: PolicyMode = PolicyMode.PLAN
    policy_accelerate_default: bool = False
    policy_enforce_provisioned: bool = False
    policy_provisioned_lead_days: int = 14
    # Azure upgrades a retired version's deployments rolling, region by region, with no published per-region
    # schedule; the one rollout duration Learn states is two weeks (working-with-models, model-retirements on
    # learn.microsoft.com; docs/predictions.md §2a).
    # For this many days after the retirement date, a deployment Azure upgrades is "upgrade pending": never broken,
    # never written by modelwatch (a write would race Azure's own upgrade)
    policy_upgrade_grace_days: int = 14
    # enforce with an empty WATCH_ACCOUNTS writes to every account of the subscriptions: only when said outright
    policy_enforce_all_accounts: bool = False
    teams_webhook_url: Secret | None = (
        None  # the default route: catalog news, and deployments without a route
    )
    slack_webhook_url: Secret | None = None
    alert_min_severity: Severity = Severity.INFO
    alert_catalog_news: bool = True
    alert_routes: tuple[
        Route, ...
    ] = ()  # named routes (ALERT_ROUTES), chosen by a deployment's modelwatch:route
    status_page_url: str | None = None  # where alerts link to (the status function behind sign-in)
    # entra: the HTTP functions require App Service Authentication's X-MS-CLIENT-PRINCIPAL with an app role;
    # loopback: no sign-in, and only requests from a loopback address are answered (func start on a laptop)
    http_auth: HttpAuth = HttpAuth.ENTRA
    azure_token_credentials: str | None = None  # read by azure-identity itself; validated here, once
    # set by App Service, not by us: Easy Auth is on (WEBSITE_AUTH_ENABLED), and its signing key, which also signs
    # the status page's rollback forms (WEBSITE_AUTH_SIGNING_KEY)
    website_auth_enabled: bool = False
    website_auth_signing_key: Secret | None = None
    website_site_name: str | None = None  # set by App Service: this runs in Azure, not on a laptop
    # canaries (#25): a team's evaluation suite on the current and the coming version before anything moves
    eval_suites: str = "evals"  # a folder of suite files (*.yaml), one file, or a blob container URL
    canary_mode: CanaryMode = CanaryMode.EXISTING
    canary_max_tokens: int = 200_000  # a run stops starting calls once this many tokens were used
    canary_concurrency: int = 4  # chat calls in flight at once per run (both versions together)
    canary_store_outputs: bool = False  # keep whole outputs; otherwise only a short excerpt of a failure
    canary_ttl_minutes: int = 120  # a created canary's expiry: the sweeper deletes it after this
    data_plane_bearer_token: Secret | None = None  # a fixed data-plane token for local stand-ins and tests
    # "v1": {endpoint}/openai/v1/chat/completions; a dated api-version: /openai/deployments/{name}/...
    data_plane_api_version: str = "v1"
    upgrade_gate: UpgradeGate = UpgradeGate.NONE
    canary_queue_name: str = "modelwatch-canary"  # the canary asks' queue, beside INVENTORY_QUEUE_NAME's
    # enforce mode: a deployment Azure will move to a version whose canary regressed is set to NoAutoUpgrade
    canary_protect: bool = False
    # the protection is lifted (the previous policy restored) this many days before the version's retirement
    canary_protect_margin_days: int = 7

    @property
    def routes(self) -> dict[str, Route]:
        """Every route by name, the default one included (its mentions from ALERT_ROUTES' "default" entry)."""
        named = {r.name: r for r in self.alert_routes}
        told = named.pop(DEFAULT_ROUTE, None)
        webhooks = {ChannelKind.TEAMS: self.teams_webhook_url, ChannelKind.SLACK: self.slack_webhook_url}
        default = Route(
            DEFAULT_ROUTE,
            {kind: url for kind, url in webhooks.items() if url is not None},
            self.alert_min_severity,
            self.alert_catalog_news,
            told.mentions if told is not None else NO_MENTIONS,
        )
        return {DEFAULT_ROUTE: default, **named}

    @property
    def enforce(self) -> bool:
        return self.policy_mode == PolicyMode.ENFORCE

    @property
    def inventory_configured(self) -> bool:
        return bool(self.watch_accounts or self.watch_subscription_ids)

    @property
    def inventory_parts(self) -> int:
        """What the fan-out threshold counts: the watched accounts when named, else the subscriptions."""
        return len(self.watch_accounts) or len(self.watch_subscription_ids)

    @property
    def inventory_fans_out(self) -> bool:
        return self.inventory_parts > self.inventory_fanout_threshold

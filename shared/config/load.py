"""Settings: read once from the environment (app settings in Azure), validated, frozen.

``load_settings`` raises one ``SettingsError`` naming every bad value. Requirements that depend on what is
being run (ARM needs a subscription; the function app needs a topic) are checked by ``require_*`` at the
composition root, so ``python -m shared check --catalog-file ...`` works with no Azure settings at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import urlsplit

from shared.config.reader import Reader, member
from shared.config.routes import read_routes, read_severity, read_webhook
from shared.config.settings import Settings, StateStoreConfig, StoreKind, UpgradeGate
from shared.domain.auth import HttpAuth
from shared.domain.canary import CanaryMode
from shared.domain.diff import DEFAULT_REMINDER_DAYS
from shared.domain.net import is_loopback_host
from shared.domain.policy import PolicyMode
from shared.domain.secret import Secret
from shared.domain.severity import Severity
from shared.errors import SettingsError
from shared.urls import UnsafeUrlError, endpoint_problem, origin_of

WHERE = (
    'Set it in local.settings.json ("Values") for local runs, or as an app setting / environment variable.'
)


_SUBSCRIPTION = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_LOCATION = re.compile(r"^[a-z0-9]+$")
_ACCOUNT_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.CognitiveServices/accounts/[^/]+$",
    re.IGNORECASE,
)
# Blob Storage in the public and sovereign clouds: where EVAL_SUITES may send the app's storage token
BLOB_HOST_SUFFIXES = (".blob.core.windows.net", ".blob.core.usgovcloudapi.net", ".blob.core.chinacloudapi.cn")
# Azure Resource Manager in the public and sovereign clouds (az cloud list: resourceManager)
ARM_HOSTS = frozenset(
    {
        "management.azure.com",
        "management.usgovcloudapi.net",
        "management.chinacloudapi.cn",
        "management.microsoftazure.de",
    }
)


def _arm_host_ok(url: str) -> bool:
    """Read as requests reads it (shared/urls.py): "https://evil.example\\@management.azure.com" is evil.example."""
    try:
        origin = origin_of(url)
    except UnsafeUrlError:
        return False
    return origin.is_loopback or (
        origin.scheme == "https" and origin.host in ARM_HOSTS and origin.port == 443
    )


# the values azure-identity's DefaultAzureCredential accepts in AZURE_TOKEN_CREDENTIALS (1.27)
TOKEN_CREDENTIAL_CHOICES = (
    "dev",
    "prod",
    "environmentcredential",
    "workloadidentitycredential",
    "managedidentitycredential",
    "visualstudiocodecredential",
    "azureclicredential",
    "azuredeveloperclicredential",
    "azurepowershellcredential",
    "interactivebrowsercredential",
)
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and validate every setting. Raises SettingsError listing every problem found."""
    r = Reader(environ)
    settings = Settings()
    # each step reads its settings (and may look at those read before it); the error lists the problems in the
    # order they were found, so the steps keep this order
    for step in (_arm, _catalog, _scope, _http, _canary, _each_alone):
        settings = step(r, settings)
    _fanout_problems(r, settings)
    if r.problems:
        raise SettingsError(r.problems, hint=WHERE)
    return settings


def _arm(r: Reader, s: Settings) -> Settings:
    """The subscription and regions whose catalog is read, and how ARM is reached."""
    subscription = r.get("WATCH_SUBSCRIPTION_ID")
    if subscription and not _SUBSCRIPTION.match(subscription):
        r.problems.append(f"WATCH_SUBSCRIPTION_ID={subscription!r} is not a subscription id (a GUID)")
    locations: list[str] = []
    for loc in r.items("WATCH_LOCATIONS"):
        normal = loc.lower().replace(" ", "")
        if not _LOCATION.match(normal):
            r.problems.append(
                f"WATCH_LOCATIONS has {loc!r}: use ARM location names such as eastus, swedencentral"
            )
        elif normal not in locations:
            locations.append(normal)
    arm_endpoint = (r.get("ARM_ENDPOINT") or Settings.arm_endpoint).rstrip("/")
    if problem := endpoint_problem(arm_endpoint, "ARM_ENDPOINT"):
        r.problems.append(problem)
    elif not _arm_host_ok(arm_endpoint):
        # the bearer token goes wherever ARM_ENDPOINT points: only Azure's management hosts, or a local stand-in
        r.problems.append(
            "ARM_ENDPOINT must be an Azure Resource Manager endpoint (" + ", ".join(sorted(ARM_HOSTS)) + ") "
            "or a loopback address (a local stand-in)"
        )
    api_version = r.get("ARM_API_VERSION") or Settings.arm_api_version
    if not _API_VERSION.match(api_version):
        r.problems.append(f"ARM_API_VERSION={api_version!r} is not an api-version such as 2025-09-01")
    deployment_api = r.get("ARM_DEPLOYMENT_API_VERSION") or Settings.arm_deployment_api_version
    if not _API_VERSION.match(deployment_api):
        r.problems.append(
            f"ARM_DEPLOYMENT_API_VERSION={deployment_api!r} is not an api-version such as 2026-03-01"
        )
    token = r.get("ARM_BEARER_TOKEN")
    return replace(
        s,
        watch_subscription_id=subscription,
        watch_locations=tuple(locations),
        arm_endpoint=arm_endpoint,
        arm_api_version=api_version,
        arm_deployment_api_version=deployment_api,
        arm_bearer_token=Secret(token) if token else None,
    )


def _catalog(r: Reader, s: Settings) -> Settings:
    """Which catalog entries are kept and published, when, and where the events go."""
    formats, news = _formats(r)
    reminders = _reminder_days(r)
    schedule = r.get("CATALOG_POLL_SCHEDULE") or Settings.catalog_poll_schedule
    if len(schedule.split()) != 6:
        r.problems.append(
            f"CATALOG_POLL_SCHEDULE={schedule!r} must be a 6-field NCRONTAB "
            "(second minute hour day month weekday), e.g. '0 0 * * * *' for hourly"
        )
    topic = r.get("EVENTGRID_TOPIC_ENDPOINT")
    if topic and (problem := endpoint_problem(topic, "EVENTGRID_TOPIC_ENDPOINT")):
        r.problems.append(problem)
    key = r.get("EVENTGRID_TOPIC_KEY")
    return replace(
        s,
        catalog_model_formats=formats,
        catalog_news_formats=news,
        retirement_reminder_days=reminders,
        catalog_poll_schedule=schedule,
        eventgrid_topic_endpoint=topic,
        eventgrid_topic_key=Secret(key) if key else None,
    )


def _reminder_days(r: Reader) -> tuple[int, ...]:
    reminders: list[int] = []
    if r.get("RETIREMENT_REMINDER_DAYS") is not None:
        for part in r.items("RETIREMENT_REMINDER_DAYS"):
            if not part.isdigit() or not 0 < int(part) <= 730:
                r.problems.append(f"RETIREMENT_REMINDER_DAYS has {part!r}: whole days from 1 to 730")
            else:
                reminders.append(int(part))
        if not reminders and not r.problems:
            r.problems.append("RETIREMENT_REMINDER_DAYS is empty: give days such as 90,60,30,14,7,1")
    return tuple(sorted(set(reminders), reverse=True)) or DEFAULT_REMINDER_DAYS


def _scope(r: Reader, s: Settings) -> Settings:
    """The accounts and subscriptions watched, and whether modelwatch may write to them."""
    accounts: list[str] = []
    for account in r.items("WATCH_ACCOUNTS"):
        if not _ACCOUNT_ID.match(account):
            r.problems.append(
                f"WATCH_ACCOUNTS has {account!r}: use account resource ids, /subscriptions/<id>/resourceGroups/"
                "<group>/providers/Microsoft.CognitiveServices/accounts/<name>"
            )
        elif account.casefold() not in {a.casefold() for a in accounts}:
            accounts.append(account.rstrip("/"))
    subscription = s.watch_subscription_id
    subscriptions: list[str] = []
    for sub in r.items("WATCH_SUBSCRIPTION_IDS") or ([subscription] if subscription else []):
        if not _SUBSCRIPTION.match(sub):
            if sub != subscription:  # a bad WATCH_SUBSCRIPTION_ID is already reported
                r.problems.append(f"WATCH_SUBSCRIPTION_IDS has {sub!r}: not a subscription id (a GUID)")
        elif sub.lower() not in subscriptions:
            subscriptions.append(sub.lower())
    raw_mode = (r.get("POLICY_MODE") or Settings.policy_mode).lower()
    mode = member(PolicyMode, raw_mode)
    if mode is None:
        r.problems.append(f"POLICY_MODE={raw_mode!r} must be plan (decide, write nothing) or enforce")
        mode = PolicyMode.PLAN  # never fall back to writing
    enforce_all = r.boolean("POLICY_ENFORCE_ALL_ACCOUNTS", False)
    if mode == PolicyMode.ENFORCE and not accounts and not enforce_all:
        r.problems.append(
            "POLICY_MODE=enforce with an empty WATCH_ACCOUNTS would write to every account of the watched "
            "subscriptions: name the accounts enforcement may touch in WATCH_ACCOUNTS, or set "
            "POLICY_ENFORCE_ALL_ACCOUNTS=true to say so outright"
        )
    return replace(
        s,
        watch_accounts=tuple(accounts),
        watch_subscription_ids=tuple(subscriptions),
        policy_mode=mode,
        policy_enforce_all_accounts=enforce_all,
    )


def _http(r: Reader, s: Settings) -> Settings:
    """Where alerts link to, who may call the HTTP functions, and how the app signs in to Azure."""
    status_url = r.get("STATUS_PAGE_URL")
    if status_url and (problem := endpoint_problem(status_url, "STATUS_PAGE_URL")):
        r.problems.append(problem)
        status_url = None
    raw_auth = (r.get("HTTP_AUTH") or Settings.http_auth).lower()
    http_auth = member(HttpAuth, raw_auth)
    if http_auth is None:
        r.problems.append(
            f"HTTP_AUTH={raw_auth!r} must be entra (App Service Authentication with app roles) or loopback "
            "(no sign-in, loopback callers only)"
        )
        http_auth = HttpAuth.ENTRA  # never fall back to open
    if http_auth == HttpAuth.LOOPBACK and r.get("WEBSITE_SITE_NAME"):
        r.problems.append(
            "HTTP_AUTH=loopback is for local runs (func start), and this app runs in App Service "
            "(WEBSITE_SITE_NAME is set): use HTTP_AUTH=entra with App Service Authentication"
        )
    token_credentials = r.get("AZURE_TOKEN_CREDENTIALS")
    if token_credentials and token_credentials.lower() not in TOKEN_CREDENTIAL_CHOICES:
        r.problems.append(
            f"AZURE_TOKEN_CREDENTIALS={token_credentials!r} is not one azure-identity accepts: "
            + ", ".join(TOKEN_CREDENTIAL_CHOICES)
        )
    return replace(
        s, status_page_url=status_url, http_auth=http_auth, azure_token_credentials=token_credentials
    )


def _canary(r: Reader, s: Settings) -> Settings:
    """Canaries (#25): whether they run and may be created, their suites, and what waits for them."""
    raw_canary = (r.get("CANARY_MODE") or Settings.canary_mode).lower()
    canary_mode = member(CanaryMode, raw_canary)
    if canary_mode is None:
        r.problems.append(
            f"CANARY_MODE={raw_canary!r} must be off, existing (test against side-by-side deployments only) or "
            "create (modelwatch may create temporary canary deployments)"
        )
        canary_mode = CanaryMode.EXISTING  # never fall back to creating
    if canary_mode == CanaryMode.CREATE and not s.watch_accounts and not s.policy_enforce_all_accounts:
        r.problems.append(
            "CANARY_MODE=create with an empty WATCH_ACCOUNTS: canaries are created only in the accounts named there "
            "(or set POLICY_ENFORCE_ALL_ACCOUNTS=true to allow every account of the watched subscriptions)"
        )
    eval_suites = r.get("EVAL_SUITES") or Settings.eval_suites
    if (
        "://" in eval_suites
    ):  # a blob container, read with the app's identity: its token goes to Azure Storage only
        try:
            origin, container = origin_of(eval_suites), eval_suites.split("://", 1)[1].split("/")[1:2]
        except (UnsafeUrlError, IndexError):
            origin, container = None, []
        if origin is None or origin.scheme != "https" or not origin.host.endswith(BLOB_HOST_SUFFIXES):
            r.problems.append(
                "EVAL_SUITES is a URL: it must be a blob container, https://<account>.blob.core.windows.net/"
                "<container>[/<prefix>] (or a folder the app ships with)"
            )
        elif not container or not container[0]:
            r.problems.append(
                "EVAL_SUITES names no container: https://<account>.blob.core.windows.net/<container>"
            )
    data_plane_version = r.get("DATA_PLANE_API_VERSION") or Settings.data_plane_api_version
    if data_plane_version != "v1" and not _API_VERSION.match(data_plane_version):
        r.problems.append(
            f"DATA_PLANE_API_VERSION={data_plane_version!r} is v1 or a dated api-version such as 2024-10-21"
        )
    data_plane_token = r.get("DATA_PLANE_BEARER_TOKEN")
    raw_gate = (r.get("UPGRADE_GATE") or Settings.upgrade_gate).lower()
    upgrade_gate = member(UpgradeGate, raw_gate)
    if upgrade_gate is None:
        r.problems.append(f"UPGRADE_GATE={raw_gate!r} must be none or canary")
        upgrade_gate = UpgradeGate.CANARY  # never fall back to an open gate
    if upgrade_gate == UpgradeGate.CANARY and canary_mode == CanaryMode.OFF:
        r.problems.append(
            "UPGRADE_GATE=canary with CANARY_MODE=off: no canary would ever run, and every covered upgrade would "
            "wait for one"
        )
    canary_protect = r.boolean("CANARY_PROTECT", False)
    if canary_protect and canary_mode == CanaryMode.OFF:
        r.problems.append(
            "CANARY_PROTECT=true with CANARY_MODE=off: no canary would ever run to protect against"
        )
    return replace(
        s,
        canary_mode=canary_mode,
        eval_suites=eval_suites,
        data_plane_api_version=data_plane_version,
        data_plane_bearer_token=Secret(data_plane_token) if data_plane_token else None,
        upgrade_gate=upgrade_gate,
        canary_protect=canary_protect,
    )


def _each_alone(r: Reader, s: Settings) -> Settings:
    """The settings checked on their own: limits, state, queues, alerts."""
    return replace(
        s,
        arm_max_concurrency=r.integer("ARM_MAX_CONCURRENCY", Settings.arm_max_concurrency, 1, 64),
        # more reads in flight than ARM's bucket holds would only wait for its refill
        arm_read_concurrency=r.integer("ARM_READ_CONCURRENCY", Settings.arm_read_concurrency, 1, 250),
        arm_timeout_seconds=r.number("ARM_TIMEOUT_SECONDS", Settings.arm_timeout_seconds, 1, 300),
        arm_max_retries=r.integer("ARM_MAX_RETRIES", Settings.arm_max_retries, 0, 20),
        catalog_vanish_guard=r.fraction("CATALOG_VANISH_GUARD", Settings.catalog_vanish_guard),
        catalog_removal_confirmations=r.integer("CATALOG_REMOVAL_CONFIRMATIONS", 2, 1, 48),
        catalog_poll_period_minutes=r.integer(
            "CATALOG_POLL_PERIOD_MINUTES", Settings.catalog_poll_period_minutes, 1, 1440
        ),
        timer_budget_seconds=r.integer("TIMER_BUDGET_SECONDS", Settings.timer_budget_seconds, 10, 7200),
        alert_batch_seconds=r.integer("ALERT_BATCH_SECONDS", Settings.alert_batch_seconds, 0, 86400),
        state_store=_state_store(r),
        state_table_prefix=_table_prefix(r),
        inventory_fanout_threshold=r.integer(
            "INVENTORY_FANOUT_THRESHOLD", Settings.inventory_fanout_threshold, 1, 100_000
        ),
        inventory_queue_name=r.queue_name("INVENTORY_QUEUE_NAME", Settings.inventory_queue_name),
        delivery_queue_name=r.queue_name("DELIVERY_QUEUE_NAME", Settings.delivery_queue_name),
        policy_accelerate_default=r.boolean("POLICY_ACCELERATE_DEFAULT", False),
        policy_enforce_provisioned=r.boolean("POLICY_ENFORCE_PROVISIONED", False),
        policy_provisioned_lead_days=r.integer("POLICY_PROVISIONED_LEAD_DAYS", 14, 0, 365),
        policy_upgrade_grace_days=r.integer(
            "POLICY_UPGRADE_GRACE_DAYS", Settings.policy_upgrade_grace_days, 0, 365
        ),
        teams_webhook_url=read_webhook(r, "TEAMS_WEBHOOK_URL", r.get("TEAMS_WEBHOOK_URL")),
        slack_webhook_url=read_webhook(r, "SLACK_WEBHOOK_URL", r.get("SLACK_WEBHOOK_URL")),
        alert_min_severity=read_severity(r, "ALERT_MIN_SEVERITY", r.get("ALERT_MIN_SEVERITY"), Severity.INFO),
        alert_catalog_news=r.boolean("ALERT_CATALOG_NEWS", True),
        alert_routes=read_routes(r),
        website_auth_enabled=(r.get("WEBSITE_AUTH_ENABLED") or "").lower() == "true",
        website_site_name=r.get("WEBSITE_SITE_NAME"),
        website_auth_signing_key=Secret(signing) if (signing := r.get("WEBSITE_AUTH_SIGNING_KEY")) else None,
        canary_max_tokens=r.integer("CANARY_MAX_TOKENS", Settings.canary_max_tokens, 100, 100_000_000),
        canary_concurrency=r.integer("CANARY_CONCURRENCY", Settings.canary_concurrency, 1, 32),
        canary_store_outputs=r.boolean("CANARY_STORE_OUTPUTS", False),
        canary_ttl_minutes=r.integer("CANARY_TTL_MINUTES", Settings.canary_ttl_minutes, 10, 7 * 24 * 60),
        canary_queue_name=r.queue_name("CANARY_QUEUE_NAME", Settings.canary_queue_name),
        canary_protect_margin_days=r.integer(
            "CANARY_PROTECT_MARGIN_DAYS", Settings.canary_protect_margin_days, 1, 60
        ),
    )


def _format_set(raw: list[str]) -> frozenset[str] | None:
    return None if "*" in raw else frozenset(f.casefold() for f in raw)


def _formats(r: Reader) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """CATALOG_MODEL_FORMATS and CATALOG_NEWS_FORMATS.

    Every format's entries are kept by default: a deployment of a partner model (Meta, Mistral, ...) is judged by
    its catalog retirement date (partner models are in the same schedule: https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements). Releases and
    default changes are news only for OpenAI by default: a region's partner catalog is large, and its releases
    concern nobody until someone deploys one. An installation that set CATALOG_MODEL_FORMATS itself was promised
    every piece of news of those formats: without CATALOG_NEWS_FORMATS it keeps exactly that."""
    model_raw = r.items("CATALOG_MODEL_FORMATS")
    kept = _format_set(model_raw) if model_raw else None
    news_raw = r.items("CATALOG_NEWS_FORMATS")
    if not news_raw:
        return kept, kept if model_raw else frozenset({"openai"})
    news = _format_set(news_raw)
    if kept is not None:
        dropped = sorted(news - kept) if news is not None else ["*"]
        if dropped:
            r.problems.append(
                f"CATALOG_NEWS_FORMATS has {', '.join(dropped)}, which CATALOG_MODEL_FORMATS does not keep: "
                "no news of a format is read unless its entries are kept (add it to CATALOG_MODEL_FORMATS, or "
                "leave that empty for every format)"
            )
    return kept, news


def _state_store(r: Reader) -> StateStoreConfig | None:
    raw = r.get("STATE_STORE") or r.get("AzureWebJobsStorage")
    source = "STATE_STORE" if r.get("STATE_STORE") else "AzureWebJobsStorage"
    if raw is None:
        account = r.get("AzureWebJobsStorage__accountName")
        if account:  # identity-based host storage (Flex Consumption): reach tables with the managed identity
            return StateStoreConfig(StoreKind.ENDPOINT, Secret(f"https://{account}.table.core.windows.net"))
        return None
    if raw.startswith("sqlite:///"):
        path = raw.removeprefix("sqlite:///")
        if not path:
            r.problems.append(f"{source}: sqlite:/// needs a file path, e.g. sqlite:///.modelwatch/state.db")
            return None
        return StateStoreConfig(StoreKind.SQLITE, Secret(path))
    if raw.startswith(("https://", "http://")):
        problem = endpoint_problem(raw, source)
        if problem:
            r.problems.append(problem)
            return None
        return StateStoreConfig(StoreKind.ENDPOINT, Secret(raw.rstrip("/")))
    pairs = dict(p.split("=", 1) for p in raw.split(";") if "=" in p)
    if pairs.get("UseDevelopmentStorage", "").lower() == "true" or (
        "AccountName" in pairs and ("AccountKey" in pairs or "SharedAccessSignature" in pairs)
    ):
        return StateStoreConfig(StoreKind.CONNECTION_STRING, Secret(raw))
    # never echo the value: a connection string carries the account key
    r.problems.append(
        f"{source} is neither sqlite:///PATH, a table endpoint URL, nor a storage connection string "
        "(AccountName=...;AccountKey=... or UseDevelopmentStorage=true)"
    )
    return None


def _table_prefix(r: Reader) -> str:
    prefix = r.get("STATE_TABLE_PREFIX") or Settings.state_table_prefix
    # table names are letters and digits, 3-63 long; the longest suffix this app adds is 11 characters
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,50}", prefix):
        r.problems.append(
            f"STATE_TABLE_PREFIX={prefix!r}: use letters and digits, starting with a letter, at most 51 characters"
        )
        return Settings.state_table_prefix
    return prefix


def storage_account_of(value: str) -> str | None:
    """The storage account a connection string or table/queue endpoint URL names, when it says."""
    if value.startswith(("https://", "http://")):
        parts = urlsplit(value)
        if is_loopback_host(parts.hostname):  # the emulator: http://127.0.0.1:10002/<account>
            return parts.path.strip("/").split("/")[0] or None
        return (parts.hostname or "").split(".")[0] or None
    pairs = dict(p.split("=", 1) for p in value.split(";") if "=" in p)
    if pairs.get("UseDevelopmentStorage", "").lower() == "true":
        return "devstoreaccount1"
    return pairs.get("AccountName")


def _fanout_problems(r: Reader, settings: Settings) -> None:
    """The queue lives in STATE_STORE's account; refresh_inventory reads AzureWebJobsStorage's. A refresh that
    fans out needs them to be one account, or its messages would never be read."""
    if (
        not settings.inventory_fans_out
        or settings.state_store is None
        or settings.state_store.kind == StoreKind.SQLITE
    ):
        return
    host_raw = r.get("AzureWebJobsStorage")
    host = storage_account_of(host_raw) if host_raw else r.get("AzureWebJobsStorage__accountName")
    state = storage_account_of(settings.state_store.value.reveal())
    if host and state and host.lower() != state.lower():
        r.problems.append(
            f"INVENTORY_FANOUT_THRESHOLD={settings.inventory_fanout_threshold} with {settings.inventory_parts} "
            f"subscriptions or accounts: the refresh fans out through a queue in STATE_STORE's storage account "
            f"({state}), but refresh_inventory reads the queues of AzureWebJobsStorage's ({host}); use one account "
            "for both, or raise INVENTORY_FANOUT_THRESHOLD to keep the refresh in the timer"
        )


def require_arm_catalog(settings: Settings) -> None:
    """The settings reading the catalog from ARM needs."""
    problems = []
    if not settings.watch_subscription_id:
        problems.append("WATCH_SUBSCRIPTION_ID is missing: the subscription whose model catalog is read")
    if not settings.watch_locations:
        problems.append(
            "WATCH_LOCATIONS is missing: comma-separated ARM locations, e.g. eastus,swedencentral"
        )
    if problems:
        raise SettingsError(problems, hint=WHERE)


def require_function_app(settings: Settings) -> None:
    """What the deployed function app needs on top of the catalog settings."""
    problems = []
    try:
        require_arm_catalog(settings)
    except SettingsError as exc:
        problems.extend(exc.problems)
    if settings.state_store is None:
        problems.append(
            "STATE_STORE (or AzureWebJobsStorage) is missing: where snapshots and the outbox live"
        )
    if not settings.eventgrid_topic_endpoint:
        problems.append(
            "EVENTGRID_TOPIC_ENDPOINT is missing: the custom topic lifecycle events are published to"
        )
    if (
        settings.state_store is not None
        and settings.state_store.kind == StoreKind.SQLITE
        and settings.website_site_name
    ):
        # each instance would hold its own file: two instances could both claim an event and act twice
        problems.append(
            "STATE_STORE is a SQLite file, and this app runs in App Service, where every instance has its own "
            "disk: use Table Storage (a table endpoint URL, or AzureWebJobsStorage)"
        )
    if problems:
        raise SettingsError(problems, hint=WHERE)

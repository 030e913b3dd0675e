"""Settings: read once from the environment (app settings in Azure), validated, frozen.

``load_settings`` raises one ``SettingsError`` naming every bad value. Requirements that depend on what is
being run (ARM needs a subscription; the function app needs a topic) are checked by ``require_*`` at the
composition root, so ``python -m shared check --catalog-file ...`` works with no Azure settings at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from shared.domain.diff import DEFAULT_REMINDER_DAYS
from shared.domain.net import is_loopback_host
from shared.domain.routes import (
    DEFAULT_ROUTE,
    MENTIONS_LIMIT,
    NO_MENTIONS,
    SEVERITIES,
    Mentions,
    Route,
    TeamsMention,
    slack_id_problem,
    teams_mention_problem,
)
from shared.domain.secret import Secret
from shared.errors import SettingsError
from shared.urls import UnsafeUrlError, endpoint_problem, origin_of

WHERE = (
    'Set it in local.settings.json ("Values") for local runs, or as an app setting / environment variable.'
)


class StoreKind(StrEnum):
    SQLITE = "sqlite"  # a local file: the CLI, the demo, func start
    CONNECTION_STRING = "connection-string"  # Table Storage with an account key or SAS (or Azurite)
    ENDPOINT = "endpoint"  # Table Storage with the managed identity


@dataclass(frozen=True)
class StateStoreConfig:
    """Where state lives: ``kind`` is "sqlite", "connection-string" (Table Storage) or "endpoint" (identity)."""

    kind: str
    value: Secret  # a path, a connection string (may hold an account key) or a table endpoint URL

    def describe(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.value.reveal()}"
        if self.kind == "endpoint":
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
    policy_mode: str = "plan"  # "plan" decides and records; "enforce" also writes deployments
    policy_accelerate_default: bool = False
    policy_enforce_provisioned: bool = False
    policy_provisioned_lead_days: int = 14
    # Azure upgrades a retired version's deployments rolling, region by region, with no published per-region
    # schedule; the one rollout duration Learn states is two weeks (azure-facts.md §2.3, §2.3b; docs/predictions.md).
    # For this many days after the retirement date, a deployment Azure upgrades is "upgrade pending": never broken,
    # never written by modelwatch (a write would race Azure's own upgrade)
    policy_upgrade_grace_days: int = 14
    # enforce with an empty WATCH_ACCOUNTS writes to every account of the subscriptions: only when said outright
    policy_enforce_all_accounts: bool = False
    teams_webhook_url: Secret | None = (
        None  # the default route: catalog news, and deployments without a route
    )
    slack_webhook_url: Secret | None = None
    alert_min_severity: str = "info"
    alert_catalog_news: bool = True
    alert_routes: tuple[
        Route, ...
    ] = ()  # named routes (ALERT_ROUTES), chosen by a deployment's modelwatch:route
    status_page_url: str | None = None  # where alerts link to (the status function behind sign-in)
    # "entra": the HTTP functions require App Service Authentication's X-MS-CLIENT-PRINCIPAL with an app role;
    # "loopback": no sign-in, and only requests from a loopback address are answered (func start on a laptop)
    http_auth: str = "entra"
    azure_token_credentials: str | None = None  # read by azure-identity itself; validated here, once
    # set by App Service, not by us: Easy Auth is on (WEBSITE_AUTH_ENABLED), and its signing key, which also signs
    # the status page's rollback forms (WEBSITE_AUTH_SIGNING_KEY)
    website_auth_enabled: bool = False
    website_auth_signing_key: Secret | None = None
    website_site_name: str | None = None  # set by App Service: this runs in Azure, not on a laptop
    # canaries (#25): a team's evaluation suite on the current and the coming version before anything moves
    eval_suites: str = "evals"  # a folder of suite files (*.yaml), or one file
    canary_mode: str = (
        "existing"  # off | existing (side-by-side deployments only) | create (temporary canaries)
    )
    canary_max_tokens: int = 200_000  # a run stops starting calls once this many tokens were used
    canary_concurrency: int = 4  # chat calls in flight at once per run (both versions together)
    canary_store_outputs: bool = False  # keep whole outputs; otherwise only a short excerpt of a failure
    canary_ttl_minutes: int = 120  # a created canary's expiry: the sweeper deletes it after this
    data_plane_bearer_token: Secret | None = None  # a fixed data-plane token for local stand-ins and tests
    # "v1": {endpoint}/openai/v1/chat/completions; a dated api-version: /openai/deployments/{name}/...
    data_plane_api_version: str = "v1"
    # "canary": modelwatch's own upgrades (enforce) of deployments a suite covers wait for a passing canary
    upgrade_gate: str = "none"
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
        default = Route(
            DEFAULT_ROUTE,
            self.teams_webhook_url,
            self.slack_webhook_url,
            self.alert_min_severity,
            self.alert_catalog_news,
            told.mentions if told is not None else NO_MENTIONS,
        )
        return {DEFAULT_ROUTE: default, **named}

    @property
    def enforce(self) -> bool:
        return self.policy_mode == "enforce"

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


_SUBSCRIPTION = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_LOCATION = re.compile(r"^[a-z0-9]+$")
_ACCOUNT_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.CognitiveServices/accounts/[^/]+$",
    re.IGNORECASE,
)
POLICY_MODES = ("plan", "enforce")
CANARY_MODES = ("off", "existing", "create")
HTTP_AUTH_MODES = ("entra", "loopback")
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
# Storage queue names: 3-63 lower-case letters, digits and single hyphens, not starting or ending with one; at most
# 56 here, so that the host's poison queue "<name>-poison" is a legal name too
_QUEUE_NAME = re.compile(r"^(?=.{3,56}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$")


class _Reader:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self.env = environ
        self.problems: list[str] = []

    def get(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not a whole number")
            return default
        if not low <= value <= high:
            self.problems.append(f"{name}={value} is out of range ({low}..{high})")
            return default
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not a number")
            return default
        if not low <= value <= high:
            self.problems.append(f"{name}={value} is out of range ({low}..{high})")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.get(name)
        if raw is None:
            return default
        if raw.lower() in ("true", "1", "yes", "on"):
            return True
        if raw.lower() in ("false", "0", "no", "off"):
            return False
        self.problems.append(f"{name}={raw!r} is not true or false")
        return default


def _split(raw: str | None) -> list[str]:
    return [p.strip() for p in (raw or "").split(",") if p.strip()]


def _format_set(raw: list[str]) -> frozenset[str] | None:
    return None if "*" in raw else frozenset(f.casefold() for f in raw)


def _formats(r: _Reader) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """CATALOG_MODEL_FORMATS and CATALOG_NEWS_FORMATS.

    Every format's entries are kept by default: a deployment of a partner model (Meta, Mistral, ...) is judged by
    its catalog retirement date (azure-facts.md §2.3b: partner models are in the same schedule). Releases and
    default changes are news only for OpenAI by default: a region's partner catalog is large, and its releases
    concern nobody until someone deploys one. An installation that set CATALOG_MODEL_FORMATS itself was promised
    every piece of news of those formats: without CATALOG_NEWS_FORMATS it keeps exactly that."""
    model_raw = _split(r.get("CATALOG_MODEL_FORMATS"))
    kept = _format_set(model_raw) if model_raw else None
    news_raw = _split(r.get("CATALOG_NEWS_FORMATS"))
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


def _fraction(r: _Reader, name: str, default: float) -> float:
    raw = r.get(name)
    if raw is None:
        return default
    text = raw.rstrip("%").strip()
    try:
        value = float(text) / (100 if raw.endswith("%") else 1)
    except ValueError:
        r.problems.append(f"{name}={raw!r} is not a fraction (0.2) or a percentage (20%)")
        return default
    if not 0 < value <= 1:
        r.problems.append(f"{name}={raw!r} must be more than 0 and at most 100%")
        return default
    return value


def _state_store(r: _Reader) -> StateStoreConfig | None:
    raw = r.get("STATE_STORE") or r.get("AzureWebJobsStorage")
    source = "STATE_STORE" if r.get("STATE_STORE") else "AzureWebJobsStorage"
    if raw is None:
        account = r.get("AzureWebJobsStorage__accountName")
        if account:  # identity-based host storage (Flex Consumption): reach tables with the managed identity
            return StateStoreConfig("endpoint", Secret(f"https://{account}.table.core.windows.net"))
        return None
    if raw.startswith("sqlite:///"):
        path = raw.removeprefix("sqlite:///")
        if not path:
            r.problems.append(f"{source}: sqlite:/// needs a file path, e.g. sqlite:///.modelwatch/state.db")
            return None
        return StateStoreConfig("sqlite", Secret(path))
    if raw.startswith(("https://", "http://")):
        problem = endpoint_problem(raw, source)
        if problem:
            r.problems.append(problem)
            return None
        return StateStoreConfig("endpoint", Secret(raw.rstrip("/")))
    pairs = dict(p.split("=", 1) for p in raw.split(";") if "=" in p)
    if pairs.get("UseDevelopmentStorage", "").lower() == "true" or (
        "AccountName" in pairs and ("AccountKey" in pairs or "SharedAccessSignature" in pairs)
    ):
        return StateStoreConfig("connection-string", Secret(raw))
    # never echo the value: a connection string carries the account key
    r.problems.append(
        f"{source} is neither sqlite:///PATH, a table endpoint URL, nor a storage connection string "
        "(AccountName=...;AccountKey=... or UseDevelopmentStorage=true)"
    )
    return None


_ROUTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ROUTE_KEYS = {"teams", "slack", "minSeverity", "catalogNews", "mentions"}
MENTIONS_FORM = (
    '{"slack": ["S0123ABCD", "U024BE7LH"], "teams": [{"id": "<Entra object id or UPN>", "name": "<shown>"}]}'
)


def _webhook(r: _Reader, where: str, raw: str | None) -> Secret | None:
    """A webhook URL given directly or as the name of a setting holding it (Key Vault references resolve so).
    Problems name where the value came from, never the value: a webhook URL is a secret."""
    if raw is None or not raw.strip():
        return None
    value, source = raw.strip(), where
    if not value.startswith(("https://", "http://")):
        if not _SETTING_NAME.match(value):
            r.problems.append(f"{where} is neither an https:// URL nor the name of a setting holding one")
            return None
        resolved = r.get(value)
        if resolved is None:
            r.problems.append(f"{where} names the setting {value}, which is not set")
            return None
        value, source = resolved, f"{value} (named by {where})"
    if problem := endpoint_problem(value, source):
        r.problems.append(problem)
        return None
    return Secret(value)


def _shown(value: object) -> str:
    """A bad value quoted back in an error, unless it could be a secret (a URL, a signature, anything long)."""
    text = repr(value)
    if isinstance(value, str) and ("://" in value or "sig=" in value.lower() or len(value) > 40):
        return "(a value not shown: it may be a URL or a secret)"
    return text


def _severity(r: _Reader, where: str, raw: object, default: str) -> str:
    if raw is None:
        return default
    if not isinstance(raw, str) or raw.strip().lower() not in SEVERITIES:
        r.problems.append(f"{where}={_shown(raw)} must be info, warning or critical")
        return default
    return raw.strip().lower()


def _mentions(r: _Reader, where: str, raw: object) -> Mentions:
    """A mention list ({"slack": [ids], "teams": [{"id", "name"}]}), each problem naming ``where`` and the value."""
    if raw is None:
        return NO_MENTIONS
    if not isinstance(raw, dict):
        r.problems.append(f"{where} must be an object: {MENTIONS_FORM}")
        return NO_MENTIONS
    unknown = sorted(set(raw) - {"slack", "teams"})
    if unknown:
        r.problems.append(
            f"{where} has unknown key(s) {', '.join(_shown(k) for k in unknown)}; known: slack, teams"
        )
    slack: list[str] = []
    teams: list[TeamsMention] = []
    for kind in ("slack", "teams"):
        items = raw.get(kind, [])
        if not isinstance(items, list):
            r.problems.append(f"{where}.{kind} must be a list: {MENTIONS_FORM}")
            continue
        if len(items) > MENTIONS_LIMIT:
            r.problems.append(f"{where}.{kind} has {len(items)} mentions; at most {MENTIONS_LIMIT}")
            continue
        for i, item in enumerate(items):
            at = f"{where}.{kind}[{i}]"
            if kind == "slack":
                problem = slack_id_problem(item) if isinstance(item, str) else "is not a string"
                if problem:
                    r.problems.append(f"{at}={_shown(item)} {problem}")
                elif item not in slack:
                    slack.append(item)
                continue
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("id"), str)
                or not isinstance(item.get("name"), str)
            ):
                r.problems.append(
                    f'{at} must be {{"id": "<Entra object id, UPN or tag id>", "name": "<shown>"}}'
                )
                continue
            mention = TeamsMention(item["id"].strip(), item["name"].strip())
            if problem := teams_mention_problem(mention.id, mention.name):
                r.problems.append(f"{at} ({_shown(mention.id)}, {_shown(mention.name)}): {problem}")
            elif any(m.name == mention.name for m in teams):
                # Teams binds an entity to the <at>name</at> text: two entities with one name are ambiguous
                r.problems.append(f"{at}: the name {mention.name!r} is already mentioned; names must differ")
            else:
                teams.append(mention)
    return Mentions(tuple(slack), tuple(teams))


def _default_entry(r: _Reader, spec: object) -> list[Route]:
    """ALERT_ROUTES.default: the default route's mentions (its webhooks and threshold have settings of their own).
    Here, not in a setting of its own, so that it travels with ALERT_ROUTES (Key Vault, the azd hook)."""
    where = f"ALERT_ROUTES.{DEFAULT_ROUTE}"
    if not isinstance(spec, dict) or set(spec) != {"mentions"}:
        r.problems.append(
            f"{where}: 'default' is reserved for the default route, which takes only mentions here "
            '({"default": {"mentions": ...}}); its webhooks are TEAMS_WEBHOOK_URL and SLACK_WEBHOOK_URL, its '
            "threshold ALERT_MIN_SEVERITY"
        )
        return []
    return [Route(DEFAULT_ROUTE, mentions=_mentions(r, f"{where}.mentions", spec["mentions"]))]


def _routes(r: _Reader) -> tuple[Route, ...]:
    raw = r.get("ALERT_ROUTES")
    if raw is None:
        return ()
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        r.problems.append(f"ALERT_ROUTES is not JSON ({exc.msg} at {exc.pos})")  # no echo: it may hold URLs
        return ()
    if not isinstance(parsed, dict):
        r.problems.append('ALERT_ROUTES must be a JSON object: {"route": {"teams": ..., "slack": ...}}')
        return ()
    routes: list[Route] = []
    for name, spec in parsed.items():
        where = f"ALERT_ROUTES.{name}"
        if name == DEFAULT_ROUTE:
            routes.extend(_default_entry(r, spec))
            continue
        if not _ROUTE_NAME.match(name):
            # a URL pasted where a route name goes must not be quoted back: it is a secret
            shown = name if _ROUTE_NAME.match(name) else _shown(name)
            r.problems.append(
                f"ALERT_ROUTES has the route name {shown}: route names are letters, digits, '-', '_' or '.'; "
                "'default' is reserved"
            )
            continue
        if not isinstance(spec, dict):
            r.problems.append(f"{where} must be an object with teams and/or slack")
            continue
        unknown = sorted(set(spec) - _ROUTE_KEYS)
        if unknown:
            named = ", ".join(_shown(k) for k in unknown)
            r.problems.append(f"{where} has unknown key(s) {named}; known: {sorted(_ROUTE_KEYS)}")
        teams = _webhook(
            r, f"{where}.teams", spec.get("teams") if isinstance(spec.get("teams"), str) else None
        )
        slack = _webhook(
            r, f"{where}.slack", spec.get("slack") if isinstance(spec.get("slack"), str) else None
        )
        if teams is None and slack is None and not any(p.startswith(where) for p in r.problems):
            r.problems.append(f"{where} has neither a teams nor a slack webhook")
        news = spec.get("catalogNews", True)
        if not isinstance(news, bool):
            r.problems.append(f"{where}.catalogNews must be true or false")
            news = True
        severity = _severity(r, f"{where}.minSeverity", spec.get("minSeverity"), "info")
        mentions = _mentions(r, f"{where}.mentions", spec.get("mentions"))
        routes.append(Route(name, teams, slack, severity, news, mentions))
    return tuple(routes)


def _table_prefix(r: _Reader) -> str:
    prefix = r.get("STATE_TABLE_PREFIX") or Settings.state_table_prefix
    # table names are letters and digits, 3-63 long; the longest suffix this app adds is 11 characters
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,50}", prefix):
        r.problems.append(
            f"STATE_TABLE_PREFIX={prefix!r}: use letters and digits, starting with a letter, at most 51 characters"
        )
        return Settings.state_table_prefix
    return prefix


def _queue_name(r: _Reader, setting: str, default: str) -> str:
    name = r.get(setting) or default
    if not _QUEUE_NAME.match(name):
        r.problems.append(
            f"{setting}={name!r}: a storage queue name of 3-56 lower-case letters, digits and single "
            "hyphens, starting and ending with a letter or digit (the host adds '-poison' for its poison queue)"
        )
        return default
    return name


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


def _fanout_problems(r: _Reader, settings: Settings) -> None:
    """The queue lives in STATE_STORE's account; refresh_inventory reads AzureWebJobsStorage's. A refresh that
    fans out needs them to be one account, or its messages would never be read."""
    if (
        not settings.inventory_fans_out
        or settings.state_store is None
        or settings.state_store.kind == "sqlite"
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


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and validate every setting. Raises SettingsError listing every problem found."""
    r = _Reader(environ)
    subscription = r.get("WATCH_SUBSCRIPTION_ID")
    if subscription and not _SUBSCRIPTION.match(subscription):
        r.problems.append(f"WATCH_SUBSCRIPTION_ID={subscription!r} is not a subscription id (a GUID)")
    locations: list[str] = []
    for loc in _split(r.get("WATCH_LOCATIONS")):
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
    formats, news = _formats(r)
    reminders: list[int] = []
    reminders_raw = r.get("RETIREMENT_REMINDER_DAYS")
    if reminders_raw is not None:
        for part in _split(reminders_raw):
            if not part.isdigit() or not 0 < int(part) <= 730:
                r.problems.append(f"RETIREMENT_REMINDER_DAYS has {part!r}: whole days from 1 to 730")
            else:
                reminders.append(int(part))
        if not reminders and not r.problems:
            r.problems.append("RETIREMENT_REMINDER_DAYS is empty: give days such as 90,60,30,14,7,1")
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
    accounts: list[str] = []
    for account in _split(r.get("WATCH_ACCOUNTS")):
        if not _ACCOUNT_ID.match(account):
            r.problems.append(
                f"WATCH_ACCOUNTS has {account!r}: use account resource ids, /subscriptions/<id>/resourceGroups/"
                "<group>/providers/Microsoft.CognitiveServices/accounts/<name>"
            )
        elif account.casefold() not in {a.casefold() for a in accounts}:
            accounts.append(account.rstrip("/"))
    subscriptions: list[str] = []
    for sub in _split(r.get("WATCH_SUBSCRIPTION_IDS")) or ([subscription] if subscription else []):
        if not _SUBSCRIPTION.match(sub):
            if sub != subscription:  # a bad WATCH_SUBSCRIPTION_ID is already reported
                r.problems.append(f"WATCH_SUBSCRIPTION_IDS has {sub!r}: not a subscription id (a GUID)")
        elif sub.lower() not in subscriptions:
            subscriptions.append(sub.lower())
    mode = (r.get("POLICY_MODE") or "plan").lower()
    if mode not in POLICY_MODES:
        r.problems.append(f"POLICY_MODE={mode!r} must be plan (decide, write nothing) or enforce")
        mode = "plan"  # never fall back to writing
    enforce_all = r.boolean("POLICY_ENFORCE_ALL_ACCOUNTS", False)
    if mode == "enforce" and not accounts and not enforce_all:
        r.problems.append(
            "POLICY_MODE=enforce with an empty WATCH_ACCOUNTS would write to every account of the watched "
            "subscriptions: name the accounts enforcement may touch in WATCH_ACCOUNTS, or set "
            "POLICY_ENFORCE_ALL_ACCOUNTS=true to say so outright"
        )
    status_url = r.get("STATUS_PAGE_URL")
    if status_url and (problem := endpoint_problem(status_url, "STATUS_PAGE_URL")):
        r.problems.append(problem)
        status_url = None
    http_auth = (r.get("HTTP_AUTH") or Settings.http_auth).lower()
    if http_auth not in HTTP_AUTH_MODES:
        r.problems.append(
            f"HTTP_AUTH={http_auth!r} must be entra (App Service Authentication with app roles) or loopback "
            "(no sign-in, loopback callers only)"
        )
        http_auth = "entra"  # never fall back to open
    if http_auth == "loopback" and r.get("WEBSITE_SITE_NAME"):
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
    canary_mode = (r.get("CANARY_MODE") or Settings.canary_mode).lower()
    if canary_mode not in CANARY_MODES:
        r.problems.append(
            f"CANARY_MODE={canary_mode!r} must be off, existing (test against side-by-side deployments only) or "
            "create (modelwatch may create temporary canary deployments)"
        )
        canary_mode = "existing"  # never fall back to creating
    if canary_mode == "create" and not accounts and not enforce_all:
        r.problems.append(
            "CANARY_MODE=create with an empty WATCH_ACCOUNTS: canaries are created only in the accounts named there "
            "(or set POLICY_ENFORCE_ALL_ACCOUNTS=true to allow every account of the watched subscriptions)"
        )
    eval_suites = r.get("EVAL_SUITES") or Settings.eval_suites
    if "://" in eval_suites:
        r.problems.append(
            "EVAL_SUITES is a URL: suites are read from a folder (or one file) the app ships with; a blob "
            "container is not supported yet"
        )
    data_plane_version = r.get("DATA_PLANE_API_VERSION") or Settings.data_plane_api_version
    if data_plane_version != "v1" and not _API_VERSION.match(data_plane_version):
        r.problems.append(
            f"DATA_PLANE_API_VERSION={data_plane_version!r} is v1 or a dated api-version such as 2024-10-21"
        )
    data_plane_token = r.get("DATA_PLANE_BEARER_TOKEN")
    upgrade_gate = (r.get("UPGRADE_GATE") or Settings.upgrade_gate).lower()
    if upgrade_gate not in ("none", "canary"):
        r.problems.append(f"UPGRADE_GATE={upgrade_gate!r} must be none or canary")
        upgrade_gate = "canary"  # never fall back to an open gate
    if upgrade_gate == "canary" and canary_mode == "off":
        r.problems.append(
            "UPGRADE_GATE=canary with CANARY_MODE=off: no canary would ever run, and every covered upgrade would "
            "wait for one"
        )
    canary_protect = r.boolean("CANARY_PROTECT", False)
    if canary_protect and canary_mode == "off":
        r.problems.append(
            "CANARY_PROTECT=true with CANARY_MODE=off: no canary would ever run to protect against"
        )
    settings = Settings(
        watch_subscription_id=subscription,
        watch_locations=tuple(locations),
        arm_endpoint=arm_endpoint,
        arm_api_version=api_version,
        arm_deployment_api_version=deployment_api,
        arm_bearer_token=Secret(token) if token else None,
        arm_max_concurrency=r.integer("ARM_MAX_CONCURRENCY", Settings.arm_max_concurrency, 1, 64),
        # more reads in flight than ARM's bucket holds would only wait for its refill
        arm_read_concurrency=r.integer("ARM_READ_CONCURRENCY", Settings.arm_read_concurrency, 1, 250),
        arm_timeout_seconds=r.number("ARM_TIMEOUT_SECONDS", Settings.arm_timeout_seconds, 1, 300),
        arm_max_retries=r.integer("ARM_MAX_RETRIES", Settings.arm_max_retries, 0, 20),
        catalog_model_formats=formats,
        catalog_news_formats=news,
        retirement_reminder_days=tuple(sorted(set(reminders), reverse=True)) or DEFAULT_REMINDER_DAYS,
        catalog_vanish_guard=_fraction(r, "CATALOG_VANISH_GUARD", Settings.catalog_vanish_guard),
        catalog_removal_confirmations=r.integer("CATALOG_REMOVAL_CONFIRMATIONS", 2, 1, 48),
        catalog_poll_schedule=schedule,
        catalog_poll_period_minutes=r.integer(
            "CATALOG_POLL_PERIOD_MINUTES", Settings.catalog_poll_period_minutes, 1, 1440
        ),
        timer_budget_seconds=r.integer("TIMER_BUDGET_SECONDS", Settings.timer_budget_seconds, 10, 7200),
        alert_batch_seconds=r.integer("ALERT_BATCH_SECONDS", Settings.alert_batch_seconds, 0, 86400),
        state_store=_state_store(r),
        state_table_prefix=_table_prefix(r),
        eventgrid_topic_endpoint=topic,
        eventgrid_topic_key=Secret(key) if key else None,
        watch_accounts=tuple(accounts),
        watch_subscription_ids=tuple(subscriptions),
        inventory_fanout_threshold=r.integer(
            "INVENTORY_FANOUT_THRESHOLD", Settings.inventory_fanout_threshold, 1, 100_000
        ),
        inventory_queue_name=_queue_name(r, "INVENTORY_QUEUE_NAME", Settings.inventory_queue_name),
        delivery_queue_name=_queue_name(r, "DELIVERY_QUEUE_NAME", Settings.delivery_queue_name),
        policy_mode=mode,
        policy_accelerate_default=r.boolean("POLICY_ACCELERATE_DEFAULT", False),
        policy_enforce_provisioned=r.boolean("POLICY_ENFORCE_PROVISIONED", False),
        policy_provisioned_lead_days=r.integer("POLICY_PROVISIONED_LEAD_DAYS", 14, 0, 365),
        policy_upgrade_grace_days=r.integer(
            "POLICY_UPGRADE_GRACE_DAYS", Settings.policy_upgrade_grace_days, 0, 365
        ),
        policy_enforce_all_accounts=enforce_all,
        teams_webhook_url=_webhook(r, "TEAMS_WEBHOOK_URL", r.get("TEAMS_WEBHOOK_URL")),
        slack_webhook_url=_webhook(r, "SLACK_WEBHOOK_URL", r.get("SLACK_WEBHOOK_URL")),
        alert_min_severity=_severity(r, "ALERT_MIN_SEVERITY", r.get("ALERT_MIN_SEVERITY"), "info"),
        alert_catalog_news=r.boolean("ALERT_CATALOG_NEWS", True),
        alert_routes=_routes(r),
        status_page_url=status_url,
        http_auth=http_auth,
        azure_token_credentials=token_credentials,
        website_auth_enabled=(r.get("WEBSITE_AUTH_ENABLED") or "").lower() == "true",
        website_site_name=r.get("WEBSITE_SITE_NAME"),
        website_auth_signing_key=Secret(signing) if (signing := r.get("WEBSITE_AUTH_SIGNING_KEY")) else None,
        eval_suites=eval_suites,
        canary_mode=canary_mode,
        canary_max_tokens=r.integer("CANARY_MAX_TOKENS", Settings.canary_max_tokens, 100, 100_000_000),
        canary_concurrency=r.integer("CANARY_CONCURRENCY", Settings.canary_concurrency, 1, 32),
        canary_store_outputs=r.boolean("CANARY_STORE_OUTPUTS", False),
        canary_ttl_minutes=r.integer("CANARY_TTL_MINUTES", Settings.canary_ttl_minutes, 10, 7 * 24 * 60),
        data_plane_bearer_token=Secret(data_plane_token) if data_plane_token else None,
        data_plane_api_version=data_plane_version,
        upgrade_gate=upgrade_gate,
        canary_queue_name=_queue_name(r, "CANARY_QUEUE_NAME", Settings.canary_queue_name),
        canary_protect=canary_protect,
        canary_protect_margin_days=r.integer(
            "CANARY_PROTECT_MARGIN_DAYS", Settings.canary_protect_margin_days, 1, 60
        ),
    )
    _fanout_problems(r, settings)
    if r.problems:
        raise SettingsError(r.problems, hint=WHERE)
    return settings


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
        and settings.state_store.kind == "sqlite"
        and settings.website_site_name
    ):
        # each instance would hold its own file: two instances could both claim an event and act twice
        problems.append(
            "STATE_STORE is a SQLite file, and this app runs in App Service, where every instance has its own "
            "disk: use Table Storage (a table endpoint URL, or AzureWebJobsStorage)"
        )
    if problems:
        raise SettingsError(problems, hint=WHERE)

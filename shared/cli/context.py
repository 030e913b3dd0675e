"""Where the command line's settings and state come from: one resolution for every command (CLI only), and what a
command group defined elsewhere (``shared/iac/cli.py``) imports: ``UsageError``, the argument types (``instant``,
``days_arg``, ``state_arg``) and ``with_state_line``, which resolves a command's context and passes it in.

Settings come from, in order of precedence:

- without ``--app-settings``: the environment over local.settings.json ("Values"), as the Functions host loads them;
- with ``--app-settings FILE`` (what ``az functionapp config appsettings list`` prints): the deployed app's settings,
  and nothing from local.settings.json or the environment, except the settings the file holds as Key Vault
  references (``@Microsoft.KeyVault(...)``): those cannot be resolved here, and are taken from the environment when
  set there (else left out, and said so);
- ``--state`` (and ``--state-table-prefix``) over either.

The state store is then that setting, or the local SQLite file ``.modelwatch/state.db``. Every command prints it
first (``state: ...``); secrets (account keys, SAS tokens) never appear: see ``describe_store``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from shared import bootstrap
from shared.cli.output import documented
from shared.config import Settings, StateStoreConfig, StoreKind, load_settings
from shared.domain.secret import Secret
from shared.domain.timeutil import parse_instant
from shared.errors import PermanentError, SettingsError

log = logging.getLogger(__name__)

KEY_VAULT_REFERENCE = "@Microsoft.KeyVault("
ENVIRONMENT, LOCAL_SETTINGS, DEFAULT = "environment", "local.settings.json", "default"
STATE_NAMES = ("STATE_STORE", "AzureWebJobsStorage", "AzureWebJobsStorage__accountName")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PROG = "python -m shared"  # how a clone runs it; printed commands start as this process was started (prog)
DEMO_STATE = Path("demo-output") / "state.db"


class UsageError(PermanentError):
    """Bad command-line usage (exit 2)."""


class AppSettingsError(PermanentError):
    """The --app-settings file cannot be read or is not an app settings listing (exit 2)."""


@dataclass(frozen=True)
class AppSettingsFile:
    """The deployed app's settings as ``az functionapp config appsettings list`` prints them."""

    path: str
    values: dict[str, str]  # the settings usable here (Key Vault references left out)
    key_vault: tuple[str, ...] = ()  # names whose value is a Key Vault reference
    no_value: tuple[str, ...] = ()  # names listed without a value (the lister lacked the right to read them)


def read_app_settings(path: str) -> AppSettingsFile:
    """Read an app settings listing: ``[{"name", "value", "slotSetting"}, ...]`` (also ``{"Values": {...}}`` or a
    plain ``{"NAME": "value"}`` object). Raises AppSettingsError; never quotes a value (they hold secrets)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise AppSettingsError(f"--app-settings {path}: cannot read it ({exc.strerror})") from None
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise AppSettingsError(
            f"--app-settings {path} is not JSON ({exc}); save it with: az functionapp config appsettings list "
            "-g <resource group> -n <app> > FILE"
        ) from None
    pairs: list[tuple[str, object]] = []
    if isinstance(parsed, list):
        for item in parsed:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise AppSettingsError(
                    f'--app-settings {path}: expected a list of {{"name", "value", "slotSetting"}} objects '
                    "(az functionapp config appsettings list)"
                )
            pairs.append((item["name"], item.get("value")))
    elif isinstance(parsed, dict):
        values = parsed.get("Values", parsed)
        if not isinstance(values, dict):
            raise AppSettingsError(f'--app-settings {path}: "Values" is not an object')
        pairs = [(str(k), v) for k, v in values.items()]
    else:
        raise AppSettingsError(f"--app-settings {path}: expected a JSON list of settings")
    usable: dict[str, str] = {}
    vault: list[str] = []
    missing: list[str] = []
    for name, value in pairs:
        if value is None:
            missing.append(name)
        elif str(value).strip().startswith(KEY_VAULT_REFERENCE):
            vault.append(name)
        else:
            usable[name] = str(value)
    return AppSettingsFile(path, usable, tuple(vault), tuple(missing))


@dataclass(frozen=True)
class Sources:
    """The merged settings (as the app would see them) and where each one came from."""

    environ: dict[str, str]
    origin: dict[str, str]  # setting name -> "environment", "local.settings.json", "app settings FILE", ...
    notes: tuple[str, ...] = ()
    app_settings: AppSettingsFile | None = None

    def source_of(self, name: str) -> str:
        """Where the value in force came from; "default" when it is unset or empty."""
        value = self.environ.get(name)
        if value is None or not value.strip():
            return DEFAULT
        return self.origin.get(name, ENVIRONMENT)


def read_local_settings(directory: Path) -> dict[str, str]:
    """The "Values" of local.settings.json, as the Functions host would load them (the CLI honours them too)."""
    path = directory / "local.settings.json"
    if not path.is_file():
        return {}
    try:
        values = json.loads(path.read_text(encoding="utf-8")).get("Values", {})
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return {}
    return {str(k): str(v) for k, v in values.items() if v is not None} if isinstance(values, dict) else {}


def gather(app_settings: str | None, cwd: Path, environ: Mapping[str, str] | None = None) -> Sources:
    """The settings layers, merged (see the module docstring)."""
    env = dict(os.environ if environ is None else environ)
    if app_settings is None:
        local = read_local_settings(cwd)
        origin = {name: LOCAL_SETTINGS for name in local}
        origin.update({name: ENVIRONMENT for name in env})
        return Sources({**local, **env}, origin)
    listing = read_app_settings(app_settings)
    label = f"app settings {listing.path}"
    merged = dict(listing.values)
    origin = {name: label for name in merged}
    notes: list[str] = []
    for name in listing.key_vault:
        if env.get(name, "").strip():
            merged[name] = env[name]
            origin[name] = f"{ENVIRONMENT} (a Key Vault reference in {listing.path})"
        else:
            notes.append(
                f"{name} is a Key Vault reference in {listing.path}: it cannot be resolved here; "
                f"set {name} in the environment to the secret's value to use it"
            )
    for name in listing.no_value:
        notes.append(f"{name} has no value in {listing.path} (listing values needs the right to read them)")
    return Sources(merged, origin, tuple(notes), listing)


_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)")


def _named(problem: str) -> str | None:
    """The setting a problem is about (its first word: ``ALERT_ROUTES.payments.slack names ...``)."""
    match = _NAME.match(problem)
    return match.group(1) if match else None


def load_tolerant(sources: Sources) -> tuple[Settings, list[str]]:
    """load_settings over the merged settings. A setting that fails only because it refers to an unresolved Key
    Vault reference (ALERT_ROUTES naming PAYMENTS_SLACK_URL, itself a reference) is left out with a note, so that
    commands that do not need it still run. Raises SettingsError for every other problem."""
    environ = dict(sources.environ)
    unresolved = set(sources.app_settings.key_vault if sources.app_settings else ()) - {
        n for n in environ if environ[n].strip()
    }
    notes: list[str] = []
    for _ in range(10):
        try:
            return load_settings(environ), notes
        except SettingsError as exc:
            blamed = [
                (name, problem)
                for problem in exc.problems
                if (name := _named(problem) or "") in environ and any(u in problem for u in unresolved)
            ]
            if not blamed or len(blamed) < len(exc.problems):
                raise
            for name, problem in blamed:
                environ.pop(name, None)
                notes.append(f"{name} is left out here: {problem}")
    return load_settings(environ), notes


def app_problems(sources: Sources) -> tuple[Settings | None, list[str], list[str]]:
    """Validate as the function app does at start (load_settings, then require_function_app, which includes
    require_arm_catalog), naming every problem at once: a bad value is set aside to find the problems after it.
    Returns the settings (None when they cannot be read at all), the problems, and notes about Key Vault
    references (resolved by the host in Azure, not here)."""
    from shared.config import require_function_app

    environ = dict(sources.environ)
    unresolved = set(sources.app_settings.key_vault if sources.app_settings else ()) - {
        n for n in environ if environ[n].strip()
    }
    problems: list[str] = []
    notes: list[str] = []
    dropped: set[str] = set()
    settings: Settings | None = None
    for _ in range(50):
        try:
            settings = load_settings(environ)
            break
        except SettingsError as exc:
            names: set[str] = set()
            for problem in exc.problems:
                name = _named(problem)
                if unresolved and any(u in problem for u in unresolved):
                    notes.append(
                        f"{problem} (a Key Vault reference: resolved by the host in Azure, not here)"
                    )
                elif problem not in problems:
                    problems.append(problem)
                if name in environ:
                    names.add(name)
            if not names:
                break
            dropped |= names
            environ = {k: v for k, v in environ.items() if k not in names}
    if settings is not None:
        try:
            require_function_app(settings)
        except SettingsError as exc:
            problems.extend(p for p in exc.problems if _named(p) not in dropped and p not in problems)
    return settings, problems, notes


def describe_store(config: StateStoreConfig, table_prefix: str = Settings.state_table_prefix) -> str:
    """Where the state is, for people: never an account key or a SAS token."""
    tables = "" if table_prefix == Settings.state_table_prefix else f", tables {table_prefix}*"
    if config.kind == StoreKind.SQLITE:
        return config.describe()
    if config.kind == StoreKind.ENDPOINT:
        return f"Table Storage at {config.describe()}{tables}"
    if _is_azurite(config):
        return f"Table Storage at Azurite (UseDevelopmentStorage=true){tables}"
    endpoint = table_endpoint(config)
    return f"Table Storage at {endpoint or '?'} (connection string, key not shown){tables}"


def _is_azurite(config: StateStoreConfig) -> bool:
    return (
        config.kind == StoreKind.CONNECTION_STRING
        and "UseDevelopmentStorage=true" in config.value.reveal().replace(" ", "")
    )


def table_endpoint(config: StateStoreConfig) -> str | None:
    """The table endpoint of a connection string (``https://<account>.table.<suffix>``), without its key."""
    pairs = dict(p.split("=", 1) for p in config.value.reveal().split(";") if "=" in p)
    if pairs.get("TableEndpoint"):
        parts = urlsplit(pairs["TableEndpoint"])
        return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")
    account = pairs.get("AccountName")
    if not account:
        return None
    return f"https://{account}.table.{pairs.get('EndpointSuffix', 'core.windows.net')}"


def state_argument(config: StateStoreConfig) -> str | None:
    """A ``--state`` value that reaches this store from a workstation, never holding a secret: the table
    endpoint (signed in with az login) for Table Storage; None when only a secret would do (a SAS URL)."""
    if config.kind == StoreKind.SQLITE:
        return config.describe()
    if config.kind == StoreKind.ENDPOINT:
        return None if urlsplit(config.value.reveal()).query else config.value.reveal()
    if "UseDevelopmentStorage=true" in config.value.reveal().replace(" ", ""):
        return "UseDevelopmentStorage=true"
    return table_endpoint(config)


def parse_state(text: str) -> StateStoreConfig:
    """A --state value, checked as STATE_STORE is (a bad one names the problem, never the value)."""
    try:
        parsed = load_settings({"STATE_STORE": text}).state_store
    except SettingsError as exc:
        raise SettingsError([p.replace("STATE_STORE", "--state") for p in exc.problems]) from None
    assert parsed is not None
    return parsed


@dataclass(frozen=True)
class Context:
    """What a command runs against: the settings in force, the state store and where both came from."""

    settings: Settings  # state_store always set (the CLI's default applied)
    sources: Sources
    state_origin: str  # "--state", "STATE_STORE from environment", "default", ...
    notes: tuple[str, ...] = field(default=())

    @property
    def state(self) -> StateStoreConfig:
        assert self.settings.state_store is not None
        return self.settings.state_store

    def state_line(self) -> str:
        return f"state: {describe_store(self.state, self.settings.state_table_prefix)} ({self.state_origin})"

    def store_args(self) -> str:
        """The options that point a printed command at this same state."""
        if self.sources.app_settings is not None and self.state_origin != "--state":
            return f"--app-settings {self.sources.app_settings.path}"
        argument = state_argument(self.state)
        prefix = self.settings.state_table_prefix
        text = f"--state {argument}" if argument else "--state <table endpoint>"
        if self.state.kind != StoreKind.SQLITE and prefix != Settings.state_table_prefix:
            text += f" --state-table-prefix {prefix}"
        return text

    def is_missing_file(self) -> bool:
        """A SQLite state file that does not exist (a read must not create it)."""
        return self.state.kind == StoreKind.SQLITE and not Path(self.state.value.reveal()).exists()


def resolve(
    *,
    app_settings: str | None,
    state: str | None,
    table_prefix: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Context:
    """The one store and settings resolution of every command."""
    sources = gather(app_settings, cwd or Path.cwd(), environ)
    settings, notes = load_tolerant(sources)
    context = with_state(settings, sources, state, table_prefix)
    return replace(context, notes=(*context.notes, *notes))


def with_state(settings: Settings, sources: Sources, state: str | None, table_prefix: str | None) -> Context:
    """The context of these settings: --state over the configured store, else the CLI's local default."""
    if table_prefix is not None:
        settings = replace(settings, state_table_prefix=_prefix(table_prefix))
    if state:
        config, origin = parse_state(state), "--state"
    elif settings.state_store is not None:
        name = next(n for n in STATE_NAMES if sources.environ.get(n, "").strip())
        config, origin = settings.state_store, f"{name} from {sources.source_of(name)}"
        if _is_azurite(config):
            # the usual surprise: `cp local.settings.sample.json local.settings.json` points every command at
            # Azurite; say which file did it, and the way back to the local file
            origin = (
                f"{sources.source_of(name)} sets {name}=UseDevelopmentStorage=true: Azurite, which must be "
                f"running (npx azurite-table); --state sqlite:///{bootstrap.DEFAULT_STATE} reads the local file"
            )
    else:
        config = StateStoreConfig(StoreKind.SQLITE, Secret(bootstrap.DEFAULT_STATE))
        origin = "default: no STATE_STORE or AzureWebJobsStorage set"
    return Context(replace(settings, state_store=config), sources, origin, sources.notes)


def _prefix(text: str) -> str:
    return load_settings({"STATE_TABLE_PREFIX": text}).state_table_prefix


def instant(text: str) -> datetime:
    """An ISO-8601 instant argument (``--at``)."""
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def days_arg(text: str) -> int:
    """A number of days argument (``--within``): a whole number, not negative."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("days cannot be negative")
    return value


def state_arg(text: str) -> StateStoreConfig:
    """A ``--state`` value (see ``parse_state``)."""
    return parse_state(text)


# ---- a command's context: resolved once, said first, pointed at by every command it prints


def prog() -> str:
    """How this command line was started: the console script, or python -m shared."""
    return "modelwatch" if Path(sys.argv[0]).name.startswith("modelwatch") else PROG


def as_run(text: str) -> str:
    """A message from below the CLI (a service's refusal) names commands as ``python -m shared ...``: said as this
    command line was started (``modelwatch ...`` once installed)."""
    return text.replace(f"{PROG} ", f"{prog()} ")


def command_context(args: argparse.Namespace) -> Context:
    """The command's settings and state (one resolution for every command)."""
    try:
        return resolve(app_settings=args.app_settings, state=args.state, table_prefix=args.state_table_prefix)
    except AppSettingsError as exc:
        raise UsageError(str(exc)) from None


def intro(ctx: Context, out: TextIO, *, to_stderr: bool = False) -> None:
    """The first line of every command: which state it reads (stderr when stdout carries a document)."""
    stream = sys.stderr if to_stderr else out
    missing = "; the file does not exist yet" if ctx.is_missing_file() else ""
    line = ctx.state_line()
    stream.write((line[:-1] + missing + ")" if missing else line) + "\n")
    for note in ctx.notes:
        stream.write(f"note: {note}\n")


def command_line(ctx: Context, text: str) -> str:
    """A command to print, pointed at the same state (so it works where this one did)."""
    return f"{prog()} {text} {ctx.store_args()}"


def empty_hint(ctx: Context) -> str:
    """What to do when the state holds no deployments: the usual cause is the wrong state."""
    hints = []
    default = ctx.state_origin.startswith("default")
    if default and DEMO_STATE.is_file() and Path(ctx.state.value.reveal()) != DEMO_STATE:
        hints.append(f"the demo's state is {DEMO_STATE}: add --state sqlite:///{DEMO_STATE}")
    if ctx.sources.app_settings is None:
        hints.append(
            "the deployed app's state: add --app-settings FILE (FILE from `az functionapp config appsettings "
            "list -g <resource group> -n <app>`) or --state https://<storage account>.table.core.windows.net"
        )
    hints.append(
        f"read the deployments from ARM (WATCH_SUBSCRIPTION_ID set): {command_line(ctx, 'deployments --refresh')}, "
        "or let catalog_timer run"
    )
    return "; ".join(hints)


def with_state_line(
    handler: Callable[[argparse.Namespace, TextIO, Context], int],
) -> Callable[[argparse.Namespace, TextIO], int]:
    """A command defined elsewhere (iac) gets the same first line: the state it reads, resolved the same way,
    and that context passed in (its settings are ``ctx.sources.environ``)."""

    def run_with_state_line(args: argparse.Namespace, out: TextIO) -> int:
        ctx = command_context(args)
        document = documented(args) and not getattr(args, "out", None)
        intro(ctx, out, to_stderr=document)
        return int(handler(args, out, ctx))

    return run_with_state_line

"""The store backends: for each kind of STATE_STORE (a ``StoreKind``), the adapter of each storage port and how one is
opened from STATE_STORE's value. The composition root (``shared/bootstrap.py``) opens stores through it, and the
contract tests (``tests/support/store_backends.py``) run against every backend in it: a new backend is one module
per port and one line in ``BACKENDS``.

Adapter modules are imported when a store is opened, never with this module: a Function App's cold start imports
neither sqlite3 nor the Table Storage modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar

from shared.config import StateStoreConfig, StoreKind
from shared.errors import PermanentError

if TYPE_CHECKING:
    from shared.adapters.storage.queue import StorageRefreshQueue
    from shared.adapters.tables.base import TableStore


class Port(StrEnum):
    """What STATE_STORE keeps: one adapter per port and backend."""

    STATE = "state"  # CatalogStateStore
    DEPLOYMENTS = "deployments"  # DeploymentStore + VersionChangeStore
    LEDGER = "ledger"
    ALERTS = "alerts"  # AlertBuffer
    CANARY = "canary"  # CanaryResults


@dataclass(frozen=True)
class Options:
    """How a store is opened, beyond STATE_STORE's value."""

    table_prefix: str = "ModelWatch"
    # a command that only reads: on Table Storage no table is created nor a layout migrated, and a missing table
    # reads as empty; SQLite needs nothing (the CLI never opens a missing file to read it)
    read_only: bool = False
    credential: Callable[[], object] | None = None  # the app's identity, for an endpoint (called when opened)


def sqlite_adapters() -> dict[Port, Callable[[str], object]]:
    from shared.adapters.sqlite.alert_buffer import SqliteAlertBuffer
    from shared.adapters.sqlite.canary_results import SqliteCanaryResults
    from shared.adapters.sqlite.catalog_state import SqliteCatalogStateStore
    from shared.adapters.sqlite.deployments import SqliteDeploymentStore
    from shared.adapters.sqlite.ledger import SqliteLedger

    return {
        Port.STATE: SqliteCatalogStateStore,
        Port.DEPLOYMENTS: SqliteDeploymentStore,
        Port.LEDGER: SqliteLedger,
        Port.ALERTS: SqliteAlertBuffer,
        Port.CANARY: SqliteCanaryResults,
    }


def table_adapters() -> dict[Port, type[TableStore]]:
    from shared.adapters.tables.alert_buffer import TableAlertBuffer
    from shared.adapters.tables.canary_results import TableCanaryResults
    from shared.adapters.tables.catalog_state import TableCatalogStateStore
    from shared.adapters.tables.deployments import TableDeploymentStore
    from shared.adapters.tables.ledger import TableLedger

    return {
        Port.STATE: TableCatalogStateStore,
        Port.DEPLOYMENTS: TableDeploymentStore,
        Port.LEDGER: TableLedger,
        Port.ALERTS: TableAlertBuffer,
        Port.CANARY: TableCanaryResults,
    }


def _sqlite(adapter: Callable[[str], object], path: str, options: Options) -> object:
    return adapter(path)  # every port in the one file


def _connection_string(adapter: type[TableStore], conn: str, options: Options) -> object:
    return adapter.from_connection_string(
        conn, table_prefix=options.table_prefix, read_only=options.read_only
    )


def _endpoint(adapter: type[TableStore], endpoint: str, options: Options) -> object:
    return adapter.from_endpoint(
        endpoint, _credential(options), table_prefix=options.table_prefix, read_only=options.read_only
    )


def _credential(options: Options) -> object:
    if options.credential is None:
        raise PermanentError("STATE_STORE names an endpoint: opening it needs a credential")
    return options.credential()


# The storage queues (the refresh's parts, canary asks, handed-off deliveries) are in the account of the tables.
def _queue_by_connection_string(
    conn: str, name: str, options: Options, client_options: Mapping[str, Any]
) -> StorageRefreshQueue:
    from shared.adapters.storage.queue import StorageRefreshQueue

    return StorageRefreshQueue.from_connection_string(conn, name, **client_options)


def _queue_by_endpoint(
    endpoint: str, name: str, options: Options, client_options: Mapping[str, Any]
) -> StorageRefreshQueue:
    from shared.adapters.storage.queue import StorageRefreshQueue

    return StorageRefreshQueue.from_endpoint(endpoint, _credential(options), name, **client_options)


A = TypeVar("A")


@dataclass(frozen=True)
class Backend(Generic[A]):
    """One kind of STATE_STORE: its adapters (imported when first asked for), how one is opened from STATE_STORE's
    value, and its queue, if it has one (SQLite has none: the work stays in the trigger that has it)."""

    adapters: Callable[[], Mapping[Port, A]]
    open: Callable[[A, str, Options], object]
    queue: Callable[[str, str, Options, Mapping[str, Any]], StorageRefreshQueue] | None = None


BACKENDS: dict[StoreKind, Backend[Any]] = {
    StoreKind.SQLITE: Backend(sqlite_adapters, _sqlite),
    StoreKind.CONNECTION_STRING: Backend(table_adapters, _connection_string, _queue_by_connection_string),
    StoreKind.ENDPOINT: Backend(table_adapters, _endpoint, _queue_by_endpoint),
}


def open_store(kind: StoreKind, value: str, port: Port, options: Options) -> object:
    """The adapter of ``port`` on the backend of ``kind``, over STATE_STORE's ``value`` (a path, a connection
    string, an endpoint)."""
    backend = BACKENDS[kind]
    return backend.open(backend.adapters()[port], value, options)


class Opening(TypedDict, total=False):
    """The keywords of bootstrap's store builders: ``build_ledger(config, table_prefix=..., read_only=True)``."""

    default_sqlite: str  # the file when no STATE_STORE is set (the CLI's local state)
    table_prefix: str  # see Options
    read_only: bool


def open_configured(
    config: StateStoreConfig | None, port: Port, how: Opening, credential: Callable[[], object]
) -> object:
    """The store of ``port`` on the backend ``config`` names; without one, the SQLite file ``default_sqlite``."""
    options = Options(how.get("table_prefix", "ModelWatch"), how.get("read_only", False), credential)
    if config is None:
        return open_store(StoreKind.SQLITE, how["default_sqlite"], port, options)
    return open_store(config.kind, config.value.reveal(), port, options)


def open_queue(
    config: StateStoreConfig | None, name: str, options: Options, **client_options: Any
) -> StorageRefreshQueue | None:
    """The storage queue ``name`` beside the stores of ``config``; None without a STATE_STORE or when its backend
    has no queue."""
    if config is None:
        return None
    queue = BACKENDS[config.kind].queue
    return None if queue is None else queue(config.value.reveal(), name, options, client_options)

"""The plumbing every Table Storage store shares (azure-data-tables): clients, error translation, paged queries,
batches within the service's limits.

Each store (``tables/<port>.py``) owns its tables, named ``<prefix><suffix>`` (``<prefix>`` defaults to
``ModelWatch``); their layout is in its module docstring. Keys go through ``encode_key`` (``storage/keys.py``) so
names holding '/', '#', '?', '\\' or control characters stay legal.

azure-data-tables is imported inside methods only: importing it costs cold-start time that a Function App
worker pays before its first invocation, even when the run never touches Table Storage.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

from shared.adapters.storage.errors import redact, storage_errors
from shared.adapters.storage.keys import encode_key
from shared.errors import PermanentError

if TYPE_CHECKING:
    from azure.data.tables import TableClient, TableEntity, TableServiceClient

log = logging.getLogger(__name__)

# Entity group transactions: at most 100 operations and a 4 MiB payload
# (https://learn.microsoft.com/rest/api/storageservices/performing-entity-group-transactions). The SDK checks
# neither, and Azurite answers an oversized batch with a malformed response, so chunk here.
MAX_BATCH_OPERATIONS = 100
MAX_BATCH_BYTES = 3 * 1024 * 1024  # estimated; the rest of the 4 MiB is headroom for the multipart envelope

_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
_TABLE_NAME_MAX = 63


def optional_str(value: object) -> str | None:
    """A stored optional property: None when absent or empty."""
    return None if value is None or value == "" else str(value)


def _estimated_size(entity: Mapping[str, Any]) -> int:
    # JSON with ASCII escapes over-counts non-ASCII text; keys also appear (URL-encoded) in each operation's URL.
    keys = len(str(entity["PartitionKey"])) + len(str(entity["RowKey"]))
    return len(json.dumps(entity)) + 3 * keys + 512


def chunks(entities: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Split one partition's entities into batches the service accepts."""
    chunk: list[dict[str, Any]] = []
    used = 0
    for entity in entities:
        size = _estimated_size(entity)
        if chunk and (len(chunk) >= MAX_BATCH_OPERATIONS or used + size > MAX_BATCH_BYTES):
            yield chunk
            chunk, used = [], 0
        chunk.append(entity)
        used += size
    if chunk:
        yield chunk


class TableStore:
    """Plumbing shared by the Table Storage stores: clients, error translation, paged queries, batches.

    ``transactions`` counts REST calls (billing units), ``writes`` entity writes, ``entities_read`` the entities
    that reads returned (a query page counts what it held; a point read one, or none when absent).
    """

    _SUFFIXES: ClassVar[tuple[str, ...]] = ()  # the tables of the store: <prefix><suffix>

    def __init__(
        self, service: TableServiceClient, *, table_prefix: str = "ModelWatch", read_only: bool = False
    ) -> None:
        names = [f"{table_prefix}{suffix}" for suffix in self._SUFFIXES]
        bad = [n for n in names if not _TABLE_NAME.match(n)]
        if bad:
            longest = max(len(suffix) for suffix in self._SUFFIXES)
            raise PermanentError(
                f"table prefix {table_prefix!r} gives invalid table names {bad}: "
                f"use letters and digits, starting with a letter, at most {_TABLE_NAME_MAX - longest} characters"
            )
        self.table_prefix = table_prefix
        self.transactions = 0  # REST calls made (each get, query page, write, batch, table creation is one)
        self.writes = 0  # entity writes, for tests and benchmarks (same meaning as the in-memory store)
        self.entities_read = 0  # entities returned by reads: what one catalog event costs the inventory
        self._service = service
        # read-only (the CLI's plan, report, deployments...): never creates a table nor migrates a layout; a
        # missing table reads as empty (a read must leave the account as it found it)
        self.read_only = read_only
        self._lock = threading.Lock()
        self._tables: dict[str, TableClient] = {}

    @classmethod
    def from_connection_string(
        cls, conn: str, *, table_prefix: str = "ModelWatch", read_only: bool = False, **client_options: Any
    ) -> Self:
        """A store over the account of a connection string (``client_options`` go to TableServiceClient)."""
        from azure.data.tables import TableServiceClient

        try:
            service = TableServiceClient.from_connection_string(conn, **client_options)
        except ValueError:
            # the SDK's parse errors can quote the input, and the input holds the account key
            raise PermanentError("the Table Storage connection string is malformed") from None
        return cls(service, table_prefix=table_prefix, read_only=read_only)

    @classmethod
    def from_endpoint(
        cls,
        endpoint: str,
        credential: object,
        *,
        table_prefix: str = "ModelWatch",
        read_only: bool = False,
        **client_options: Any,
    ) -> Self:
        """A store over ``https://<account>.table.core.windows.net`` with a token or key credential."""
        from azure.data.tables import TableServiceClient

        try:
            service = TableServiceClient(
                endpoint=endpoint, credential=cast(Any, credential), **client_options
            )
        except ValueError as exc:
            raise PermanentError(
                f"invalid Table Storage endpoint {redact(endpoint)!r}: {redact(str(exc))}"
            ) from exc
        return cls(service, table_prefix=table_prefix, read_only=read_only)

    def close(self) -> None:
        """Close the HTTP transport."""
        self._service.close()

    # plumbing

    def _count(self, transactions: int = 1, writes: int = 0, reads: int = 0) -> None:
        with self._lock:
            self.transactions += transactions
            self.writes += writes
            self.entities_read += reads

    def _translate(self, action: str) -> AbstractContextManager[None]:
        return storage_errors("Table Storage", action)

    def _table(self, name: str) -> TableClient:
        """The client of one table, created on first use by this store instance."""
        with self._lock:
            client = self._tables.get(name)
        if client is not None:
            return client
        from azure.core.exceptions import ResourceExistsError

        client = self._service.get_table_client(name)
        if self.read_only:
            with self._lock:
                return self._tables.setdefault(name, client)
        with self._translate(f"creating table {name}"):
            self._count()
            try:
                client.create_table()
                log.info("created table %s", name)
            except ResourceExistsError:
                pass  # the usual case: created by an earlier instance, worker or deployment
        with self._lock:
            return self._tables.setdefault(name, client)

    def _query_partition(self, table: TableClient, partition: str, action: str) -> list[TableEntity]:
        # parameters: the SDK quotes the value; leave spaces around @pk (its substitution splits on spaces)
        return self._query(table, action, "PartitionKey eq @pk", {"pk": partition})

    def _query(
        self,
        table: TableClient,
        action: str,
        query: str | None = None,
        parameters: dict[str, str] | None = None,
        select: list[str] | None = None,
    ) -> list[TableEntity]:
        """Every entity matching ``query`` (None: the whole table), all pages; only the ``select`` properties
        when given."""
        from azure.core.exceptions import ResourceNotFoundError

        entities: list[TableEntity] = []
        with self._translate(action):
            try:
                if query is None:
                    pages = table.list_entities(select=select).by_page()
                else:
                    pages = table.query_entities(query, parameters=parameters, select=select).by_page()
                for page in pages:
                    got = list(page)
                    self._count(reads=len(got))  # one REST call per page of at most 1,000 entities
                    entities.extend(got)
            except ResourceNotFoundError:
                if not self.read_only:
                    raise
                return []  # read-only: the table does not exist (yet), so nothing is in it
        return entities

    def _get(
        self, table: TableClient, partition: str, row: str, action: str, select: list[str] | None = None
    ) -> TableEntity | None:
        """One entity by its keys, or None when absent."""
        from azure.core.exceptions import ResourceNotFoundError

        with self._translate(action):
            try:
                entity = table.get_entity(partition, row, select=select)
            except ResourceNotFoundError:
                self._count()
                return None
        self._count(reads=1)
        return entity

    def _upsert_all(
        self, table: TableClient, entities: list[dict[str, Any]], action: str, *, merge: bool = False
    ) -> None:
        """Upsert in batches of one partition's entities: REPLACE (the entity becomes exactly this), or MERGE
        (only these properties change)."""
        from azure.data.tables import UpdateMode

        mode = UpdateMode.MERGE if merge else UpdateMode.REPLACE
        for chunk in chunks(entities):
            with self._translate(action):
                self._count(writes=len(chunk))
                table.submit_transaction(("upsert", entity, {"mode": mode}) for entity in chunk)

    def _delete_all(
        self,
        table_name: str,
        partition: str,
        texts: Iterable[str],
        action: str,
        *,
        keyed: Callable[[str], str] = encode_key,
    ) -> None:
        """Delete the entities of these (unencoded) row keys; absent ones are ignored."""
        from azure.data.tables import TableTransactionError

        rows: dict[str, None] = {}
        for text in texts:
            try:
                rows[keyed(text)] = None
            except PermanentError:
                continue  # too long to be a key, so never written: absent, and absent rows are ignored
        if not rows:
            return
        table = self._table(table_name)
        for chunk in chunks({"PartitionKey": partition, "RowKey": row} for row in rows):
            with self._translate(action):
                self._count()
                try:
                    table.submit_transaction(("delete", entity) for entity in chunk)
                    continue
                except TableTransactionError as exc:
                    if exc.status_code != 404:
                        raise
                # A batch fails whole when one entity is absent (already deleted, e.g. by an earlier,
                # interrupted attempt); delete one by one instead, where the SDK treats 404 as done.
                log.debug("%s: a batch hit an absent entity; deleting %d one by one", action, len(chunk))
                for entity in chunk:
                    self._count()
                    table.delete_entity(partition, str(entity["RowKey"]))

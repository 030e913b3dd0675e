"""CatalogStateStore and the deployment stores on Azure Table Storage (azure-data-tables): the stores of the
deployed Function App.

Layout (``<prefix>`` defaults to ``ModelWatch``):
- ``<prefix>Cursors``: PartitionKey "cursor", RowKey = the location; guarded by the entity's ETag.
- ``<prefix>Snapshots``: PartitionKey = the location, RowKey = the version key; property ``Record`` (JSON).
- ``<prefix>Outbox``: PartitionKey "pending", RowKey = the event id; properties ``EventTime`` and ``Body`` (JSON).
- ``<prefix>Deployments``: each deployment twice or three times, RowKey = the deployment key (resource id, ASCII
  lower-cased as ARM compares it) everywhere:
  - PartitionKey "deployment": the record of every deployment, properties ``Body`` (JSON) and ``Slices`` (the
    partitions holding its copies, JSON). The refresh and the status page read it whole (one query, pages of
    1,000); ``delete_deployments`` is given only keys, and finds the copies through ``Slices``.
  - PartitionKey ``<location>|<model name>`` (a "slice"; location casefolded): a copy (``Body``) of each
    deployment of that model in that location, and of each fine-tune whose base model has that name. A catalog
    event reads its model's slice: one single-partition query, whatever the size of the inventory. No format in
    the key: a fine-tune's base model is named without one, and a format is filtered after the read.
  - PartitionKey "layout", RowKey "v2-model-slices": written once the inventory has its slices (see
    ``TableDeploymentStore._ensure_layout``: an inventory saved before slices existed is given them).
  Batches stay within one partition (a transaction allows no other), 100 to a transaction.
- ``<prefix>Ledger``: PartitionKey = the subscriber, RowKey = the event id; properties ``Status``, ``ExpiresAt``
  (absent when done), ``Outcome``; claims are conditional writes (insert, or replace guarded by the ETag).
- ``<prefix>Rollbacks``: PartitionKey = the deployment id ASCII lower-cased (what ``list_changes`` filters on),
  RowKey = the record id; properties ``Body`` (JSON) and ``ChangedAt``.
- ``<prefix>AlertBuffer``: PartitionKey = route and group (``_group_partition``), RowKey = the item id
  (``id_key``); properties ``Route``, ``Group``, ``ItemId`` (in full: long keys are shortened), ``HeldAt``,
  ``Body`` (JSON) and ``Batch`` (absent until marked). One partition per group: what a flush reads, marks and
  releases, in transactions of 100.
Keys go through ``encode_key`` so names holding '/', '#', '?', '\\' or control characters stay legal.

azure-data-tables is imported inside methods only: importing it costs cold-start time that a Function App
worker pays before its first invocation, even when the run never touches Table Storage.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

from shared.adapters.keys import decode_key, encode_key, id_key
from shared.adapters.records import (
    change_from_json,
    change_to_json,
    deployment_from_json,
    deployment_to_json,
    exact_instant,
    key_from_text,
    key_text,
    record_from_json,
    record_to_json,
)
from shared.domain.catalog import VersionKey
from shared.domain.changes import VersionChange
from shared.domain.cursor import Cursor
from shared.domain.deployments import Deployment, is_of_model, model_slices
from shared.domain.diff import VersionRecord
from shared.domain.events import LifecycleEvent
from shared.domain.held import HeldAlert
from shared.domain.ids import arm_key, subscription_of, subscription_prefix
from shared.domain.ledger import Claim, LedgerEntry, LedgerState
from shared.domain.timeutil import format_instant, parse_instant
from shared.errors import ConcurrencyError, PermanentError, TransientError

if TYPE_CHECKING:
    from azure.data.tables import TableClient, TableEntity, TableServiceClient

log = logging.getLogger(__name__)

CURSOR_PARTITION = "cursor"
PENDING_PARTITION = "pending"
HISTORY_PARTITION = "history-"  # + the event's UTC day, 2025-03-12
DEPLOYMENT_PARTITION = "deployment"  # the record of every deployment; its copies are in model slices
LAYOUT_PARTITION, LAYOUT_ROW = "layout", "v2-model-slices"  # the inventory has its slices
SLICES = "Slices"
POINT_READS = (
    16  # a save or delete of up to this many deployments reads their records one by one, more: a scan
)

# Entity group transactions: at most 100 operations and a 4 MiB payload (azure-facts §5.2). The SDK checks
# neither, and Azurite answers an oversized batch with a malformed response, so chunk here.
MAX_BATCH_OPERATIONS = 100
MAX_BATCH_BYTES = 3 * 1024 * 1024  # estimated; the rest of the 4 MiB is headroom for the multipart envelope

_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
_TABLE_NAME_MAX = 63
# Throttling (429, 503 ServerBusy), timeouts (408, 500 OperationTimeout) and gateway failures: retry later.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# SAS signatures travel in URLs, and URLs appear in transport errors: never let one reach a message.
_SECRET = re.compile(r"(sig|accountkey|sharedaccesssignature)=[^&;\s'\"]*", re.IGNORECASE)
_MESSAGE_LIMIT = 300


def redact(text: str) -> str:
    return _SECRET.sub(r"\1=REDACTED", text)[:_MESSAGE_LIMIT]


def _optional_str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _stored_record(row_key: str, text: str, location: str) -> tuple[VersionKey, VersionRecord]:
    # Corrupt stored data must surface as an error that says retrying cannot help, not as a raw KeyError.
    try:
        return key_from_text(decode_key(row_key)), record_from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentError(f"stored record {row_key!r} of {location} is unreadable: {exc!r}") from exc


def _cursor_entity(cursor: Cursor) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": CURSOR_PARTITION,
        "RowKey": encode_key(cursor.location),
        "Cycles": cursor.cycles,
    }
    # absent rather than null: REPLACE then drops a value that was cleared
    optional = {
        "LastCycleAt": exact_instant(cursor.last_cycle_at),
        "Anomaly": cursor.anomaly,
        "LastError": cursor.last_error,
        "Fingerprint": cursor.fingerprint,
    }
    entity.update({name: value for name, value in optional.items() if value is not None})
    return entity


def _estimated_size(entity: Mapping[str, Any]) -> int:
    # JSON with ASCII escapes over-counts non-ASCII text; keys also appear (URL-encoded) in each operation's URL.
    keys = len(str(entity["PartitionKey"])) + len(str(entity["RowKey"]))
    return len(json.dumps(entity)) + 3 * keys + 512


def _chunks(entities: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
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


class _TableStore:
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
        for chunk in _chunks(entities):
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
        for chunk in _chunks({"PartitionKey": partition, "RowKey": row} for row in rows):
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


class TableCatalogStateStore(_TableStore):
    """CatalogStateStore on three Azure tables. Thread-safe.

    Every method raises TransientError (network, throttling, 5xx: retry later) or PermanentError (4xx, bad
    configuration, a key over 1 KiB); ``commit_cursor`` raises ConcurrencyError when the ETag moved.
    ``transactions`` counts REST calls (billing units), ``writes`` counts entity writes.
    """

    _SUFFIXES = ("Cursors", "Snapshots", "Outbox")

    def __init__(
        self, service: TableServiceClient, *, table_prefix: str = "ModelWatch", read_only: bool = False
    ) -> None:
        super().__init__(service, table_prefix=table_prefix, read_only=read_only)
        self.cursors_table = f"{table_prefix}Cursors"
        self.snapshots_table = f"{table_prefix}Snapshots"
        self.outbox_table = f"{table_prefix}Outbox"

    # cursors

    def get_cursor(self, location: str) -> Cursor:
        from azure.core.exceptions import ResourceNotFoundError

        row = encode_key(location)  # first: a key over the limit is refused before any request
        table = self._table(self.cursors_table)
        with self._translate(f"reading the cursor of {location}"):
            self._count()
            try:
                entity = table.get_entity(CURSOR_PARTITION, row)
            except ResourceNotFoundError:
                return Cursor(location)
        try:
            last = _optional_str(entity.get("LastCycleAt"))
            return Cursor(
                location=location,
                etag=str(entity.metadata["etag"]),
                last_cycle_at=None if last is None else parse_instant(last),
                anomaly=_optional_str(entity.get("Anomaly")),
                last_error=_optional_str(entity.get("LastError")),
                cycles=int(entity.get("Cycles") or 0),
                fingerprint=_optional_str(entity.get("Fingerprint")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentError(f"stored cursor of {location} is unreadable: {exc!r}") from exc

    def commit_cursor(self, cursor: Cursor, *, expected_etag: str | None) -> Cursor:
        from azure.core import MatchConditions
        from azure.core.exceptions import (
            HttpResponseError,
            ResourceExistsError,
            ResourceModifiedError,
            ResourceNotFoundError,
        )
        from azure.data.tables import UpdateMode

        entity = _cursor_entity(cursor)
        lost = f"cursor {cursor.location} changed since it was read"
        table = self._table(self.cursors_table)
        with self._translate(f"committing the cursor of {cursor.location}"):
            self._count(writes=1)
            if expected_etag is None:
                try:
                    metadata = table.create_entity(entity)
                except ResourceExistsError as exc:  # 409: another writer created it first
                    raise ConcurrencyError(lost) from exc
                except HttpResponseError as exc:
                    if exc.status_code == 409:  # create_entity can re-raise the undecoded error
                        raise ConcurrencyError(lost) from exc
                    raise
            else:
                try:
                    metadata = table.update_entity(
                        entity,
                        mode=UpdateMode.REPLACE,
                        etag=expected_etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
                except (ResourceModifiedError, ResourceNotFoundError) as exc:  # 412 stale; 404 deleted since
                    raise ConcurrencyError(lost) from exc
                except HttpResponseError as exc:
                    if exc.status_code == 412:
                        raise ConcurrencyError(lost) from exc
                    raise
        return replace(cursor, etag=str(metadata["etag"]))

    def commit_cursors(self, commits: Sequence[tuple[Cursor, str | None]]) -> dict[str, Cursor | None]:
        """Entity group transactions of up to 100 (every cursor is in one partition), each operation guarded by
        its etag as ``commit_cursor``'s write is. A transaction fails whole when one cursor moved: that chunk is
        then committed one by one, to write the rest and tell which lost."""
        from azure.core import MatchConditions
        from azure.data.tables import TableTransactionError, UpdateMode

        done: dict[str, Cursor | None] = {}
        table = self._table(self.cursors_table)
        guarded = {"mode": UpdateMode.REPLACE, "match_condition": MatchConditions.IfNotModified}
        for start in range(0, len(commits), MAX_BATCH_OPERATIONS):
            chunk = commits[start : start + MAX_BATCH_OPERATIONS]
            operations: list[Any] = [
                ("create", _cursor_entity(c))
                if etag is None
                else ("update", _cursor_entity(c), {**guarded, "etag": etag})
                for c, etag in chunk
            ]
            with self._translate(f"committing {len(chunk)} cursor(s)"):
                self._count(writes=len(chunk))
                try:
                    results = table.submit_transaction(operations)
                except TableTransactionError as exc:
                    if exc.status_code not in (404, 409, 412):
                        raise
                    self._count(writes=-len(chunk))
                    results = (
                        None  # one cursor moved (412), was created (409) or deleted (404) since it was read
                    )
            if results is not None:
                done.update(
                    (c.location, replace(c, etag=str(r["etag"])))
                    for (c, _), r in zip(chunk, results, strict=True)
                )
                continue
            for cursor, etag in chunk:
                try:
                    done[cursor.location] = self.commit_cursor(cursor, expected_etag=etag)
                except ConcurrencyError:
                    done[cursor.location] = None
        return done

    # snapshots

    def load_records(self, location: str) -> dict[VersionKey, VersionRecord]:
        partition = encode_key(location)
        table = self._table(self.snapshots_table)
        entities = self._query_partition(table, partition, f"loading the snapshot of {location}")
        return dict(_stored_record(str(e["RowKey"]), str(e.get("Record")), location) for e in entities)

    def save_records(self, location: str, records: Mapping[VersionKey, VersionRecord]) -> None:
        if not records:
            return
        partition = encode_key(location)
        entities = [
            {"PartitionKey": partition, "RowKey": encode_key(key_text(k)), "Record": record_to_json(r)}
            for k, r in records.items()
        ]
        table = self._table(self.snapshots_table)
        self._upsert_all(table, entities, f"saving the snapshot of {location}")
        log.debug("saved %d record(s) of %s", len(entities), location)

    # outbox

    def add_pending(self, events: Sequence[LifecycleEvent]) -> None:
        if not events:
            return
        # An entity may appear once per batch; an id names one change, so the first copy is as good as any.
        unique: dict[str, dict[str, Any]] = {}
        for event in events:
            row = encode_key(event.id)
            unique.setdefault(
                row,
                {
                    "PartitionKey": PENDING_PARTITION,
                    "RowKey": row,
                    "EventTime": format_instant(event.event_time),
                    "Body": event.to_json(),
                },
            )
        table = self._table(self.outbox_table)
        # upsert, not insert: a retried cycle re-adds the same ids, and that must not fail the batch
        self._upsert_all(table, list(unique.values()), "adding pending events")

    def list_pending(self) -> list[LifecycleEvent]:
        table = self._table(self.outbox_table)
        entities = self._query_partition(table, PENDING_PARTITION, "listing pending events")
        events = [LifecycleEvent.from_json(str(e["Body"])) for e in entities]
        return sorted(events, key=lambda e: (e.event_time, e.id))

    def remove_pending(self, event_ids: Sequence[str]) -> None:
        if not event_ids:
            return
        self._delete_all(self.outbox_table, PENDING_PARTITION, event_ids, "removing published events")

    # history: published events for the status page, in the outbox table, one partition per event day

    def record_history(self, events: Sequence[LifecycleEvent]) -> None:
        if not events:
            return
        unique: dict[tuple[str, str], dict[str, Any]] = {}
        for event in events:
            partition, row = HISTORY_PARTITION + event.event_time.date().isoformat(), encode_key(event.id)
            unique.setdefault(
                (partition, row),
                {
                    "PartitionKey": partition,
                    "RowKey": row,
                    "EventTime": format_instant(event.event_time),
                    "Body": event.to_json(),
                },
            )
        table = self._table(self.outbox_table)
        by_partition: dict[str, list[dict[str, Any]]] = {}
        for (partition, _), entity in unique.items():
            by_partition.setdefault(partition, []).append(entity)
        for entities in by_partition.values():  # a batch stays within one partition
            self._upsert_all(table, entities, "keeping published events")

    def list_history(self, since: datetime) -> list[LifecycleEvent]:
        table = self._table(self.outbox_table)
        # day partitions sort as text: a range scan over [history-<since day>, history-~) reads no pending event
        entities = self._query(
            table,
            "listing kept events",
            "PartitionKey ge @low and PartitionKey lt @high",
            {
                "low": HISTORY_PARTITION + since.astimezone(UTC).date().isoformat(),
                "high": HISTORY_PARTITION + "~",
            },
        )
        events = [LifecycleEvent.from_json(str(e["Body"])) for e in entities]
        return sorted((e for e in events if e.event_time >= since), key=lambda e: (e.event_time, e.id))


@contextmanager
def storage_errors(service: str, action: str) -> Iterator[None]:
    """Turn azure-core errors of a Storage service (Table, Queue) into TransientError / PermanentError; messages
    carry no secret."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    try:
        yield
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise TransientError(
            f"{service}: {action} failed: no response ({type(exc).__name__}: {redact(str(exc))})"
        ) from exc
    except HttpResponseError as exc:
        status = exc.status_code
        code = getattr(exc, "error_code", None) or ""
        code = getattr(code, "value", code)  # the SDKs' error codes are str enums: show the wire value
        message = f"{service}: {action} failed: HTTP {status} {code}".rstrip()
        # no status: the exchange broke mid-way (an undecodable response), which a retry can fix
        if status is None or status in TRANSIENT_STATUSES:
            raise TransientError(message) from exc
        raise PermanentError(message) from exc


def _status_of(exc: Exception) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def slice_partition(location: str, model_name: str) -> str:
    """The partition of a model's deployments in a location (``model_slices`` pairs)."""
    # id_key: a model name too long for a key (none is) is hashed rather than refused; '|' is in no ARM name
    return id_key(f"{location.casefold()}|{model_name}")


def _slices_of(d: Deployment) -> frozenset[str]:
    return frozenset(slice_partition(location, name) for location, name in model_slices(d))


def _dump_slices(partitions: Iterable[str]) -> str:
    return json.dumps(sorted(partitions), separators=(",", ":"))


def _load_slices(entity: Mapping[str, Any]) -> frozenset[str]:
    raw = entity.get(SLICES)
    if raw is None:
        return frozenset()  # a row of the old layout: it has no copies
    try:
        value = json.loads(str(raw))
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise TypeError("Slices is not a list of partition keys")
    except (ValueError, TypeError) as exc:
        raise PermanentError(f"stored deployment {entity.get('RowKey')!r} is unreadable: {exc!r}") from exc
    return frozenset(value)


class TableDeploymentStore(_TableStore):
    """DeploymentStore and VersionChangeStore on two Azure tables (layout: see the module docstring).

    Thread-safe. Every method raises TransientError (network, throttling, 5xx: retry later) or PermanentError
    (4xx, bad configuration, a key over 1 KiB, an unreadable stored entity). ``transactions`` counts REST calls
    (billing units), ``writes`` entity writes, ``entities_read`` the entities reads returned.

    A save writes, in this order: the deployment's record grows its ``Slices`` to old + new (MERGE), the copies in
    the new slices, deletes of the copies in slices it left, the record itself (``Body`` and exactly the new
    ``Slices``). A crash anywhere leaves ``Slices`` covering every copy, and the record's body unchanged, so the
    next refresh sees a difference, saves again and removes what was left behind. A brand-new deployment
    interrupted after its first step has a record without ``Body``: not listed, saved again by the next refresh.
    """

    _SUFFIXES = ("Deployments", "Rollbacks")

    def __init__(
        self, service: TableServiceClient, *, table_prefix: str = "ModelWatch", read_only: bool = False
    ) -> None:
        super().__init__(service, table_prefix=table_prefix, read_only=read_only)
        self.deployments_table = f"{table_prefix}Deployments"
        self.rollbacks_table = f"{table_prefix}Rollbacks"
        self._layout_checked = False
        self._layout_lock = threading.Lock()

    # inventory

    def list_deployments(self) -> list[Deployment]:
        return self._read_all()

    def list_deployments_in(self, subscriptions: Sequence[str]) -> list[Deployment]:
        self._ensure_layout()
        found = [
            deployment_from_json(str(e["Body"]), row=str(e["RowKey"]))
            for e in self._records_of(
                sorted({subscription_prefix(s) for s in subscriptions}), "listing deployments"
            )
            if e.get("Body") is not None  # a first save interrupted after its first step: not saved yet
        ]
        return sorted(found, key=lambda d: d.key)

    def _records_of(
        self, prefixes: Sequence[str], action: str, select: list[str] | None = None
    ) -> list[TableEntity]:
        """The records (not the slice copies) whose id starts with one of ``prefixes``: a RowKey range each. Keys
        are the percent-encoded id, or its readable head and a hash (``id_key``): either starts with the
        encoded prefix, so the range holds them all."""
        table = self._table(self.deployments_table)
        entities: list[TableEntity] = []
        for prefix in prefixes:
            low = encode_key(prefix)
            high = low[:-1] + chr(ord(low[-1]) + 1)
            entities += self._query(
                table,
                action,
                "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
                {"pk": DEPLOYMENT_PARTITION, "low": low, "high": high},
                select=select,
            )
        return entities

    def list_deployments_of(self, location: str, model_format: str, model_name: str) -> list[Deployment]:
        self._ensure_layout()
        table = self._table(self.deployments_table)
        partition = slice_partition(location, model_name)
        entities = self._query_partition(
            table, partition, f"listing deployments of {model_name} in {location}"
        )
        found: dict[str, Deployment] = {}
        for e in entities:
            d = deployment_from_json(str(e.get("Body")), row=str(e["RowKey"]))
            if is_of_model(
                d, location, model_format, model_name
            ):  # another format of the same name stays out
                found[d.key] = d
        return sorted(found.values(), key=lambda d: d.key)

    def save_deployments(self, deployments: Sequence[Deployment]) -> None:
        if not deployments:
            return
        # An entity may appear once per batch; as in the in-memory store, the last copy of a key wins.
        unique = {id_key(d.key): d for d in deployments}
        self._ensure_layout()
        action = "saving deployments"
        table = self._table(self.deployments_table)
        known = self._known_slices({row: d.key for row, d in unique.items()}, action)
        wanted = {row: _slices_of(d) for row, d in unique.items()}
        bodies = {row: deployment_to_json(d) for row, d in unique.items()}
        growing = [
            {
                "PartitionKey": DEPLOYMENT_PARTITION,
                "RowKey": row,
                SLICES: _dump_slices(known.get(row, frozenset()) | new),
            }
            for row, new in wanted.items()
            if not new <= known.get(row, frozenset())
        ]
        if growing:  # first, so that Slices covers every copy even if what follows is interrupted
            self._upsert_all(table, growing, action, merge=True)
        copies: dict[str, list[dict[str, Any]]] = {}
        stale: dict[str, list[str]] = {}
        for row, partitions in wanted.items():
            for partition in partitions:
                copies.setdefault(partition, []).append(
                    {"PartitionKey": partition, "RowKey": row, "Body": bodies[row]}
                )
            for partition in known.get(row, frozenset()) - partitions:  # moved to another model
                stale.setdefault(partition, []).append(row)
        for _, entities in sorted(copies.items()):
            self._upsert_all(table, entities, action)
        for partition, rows in sorted(stale.items()):
            self._delete_all(self.deployments_table, partition, rows, action, keyed=str)
        records = [
            {
                "PartitionKey": DEPLOYMENT_PARTITION,
                "RowKey": row,
                "Body": bodies[row],
                SLICES: _dump_slices(wanted[row]),
            }
            for row in unique
        ]
        self._upsert_all(table, records, action)

    def delete_deployments(self, keys: Sequence[str]) -> None:
        rows: dict[str, str] = {}
        for key in keys:
            try:
                rows[id_key(arm_key(key))] = arm_key(key)
            except PermanentError:
                continue  # not text a key can hold, so never written: absent, and absent keys are ignored
        if not rows:
            return
        self._ensure_layout()
        action = "deleting deployments"
        known = self._known_slices(rows, action)
        copies: dict[str, list[str]] = {}
        for row, partitions in known.items():
            for partition in partitions:
                copies.setdefault(partition, []).append(row)
        for partition, in_partition in sorted(copies.items()):
            self._delete_all(self.deployments_table, partition, in_partition, action, keyed=str)
        # the records last: an interrupted delete keeps the record, so the next refresh deletes again
        self._delete_all(self.deployments_table, DEPLOYMENT_PARTITION, list(rows), action, keyed=str)

    def _read_all(self) -> list[Deployment]:
        table = self._table(self.deployments_table)
        entities = self._query_partition(table, DEPLOYMENT_PARTITION, "listing deployments")
        found: list[Deployment] = []
        old_layout: list[tuple[Deployment, TableEntity]] = []
        for e in entities:
            if e.get("Body") is None:
                continue  # a first save interrupted after its first step: not saved yet (see the class docstring)
            d = deployment_from_json(str(e["Body"]), row=str(e["RowKey"]))
            found.append(d)
            if SLICES not in e:
                old_layout.append((d, e))
        if old_layout and not self.read_only:
            self._give_slices(old_layout)
        return sorted(found, key=lambda d: d.key)

    def _known_slices(self, rows: Mapping[str, str], action: str) -> dict[str, frozenset[str]]:
        """The recorded slices of these deployments (``rows``: row key -> canonical id; absent ones left out): a
        few are read one by one, more with one scan of their subscriptions' records (a refresh part saves one
        subscription's), or of the whole partition when they span many."""
        table = self._table(self.deployments_table)
        select = ["RowKey", SLICES]
        if len(rows) <= POINT_READS:
            found = [self._get(table, DEPLOYMENT_PARTITION, row, action, select=select) for row in rows]
            entities = [e for e in found if e is not None]
        else:
            subscriptions = {subscription_of(key) for key in rows.values()}
            if None not in subscriptions and len(subscriptions) <= POINT_READS:
                prefixes = sorted(subscription_prefix(s) for s in subscriptions if s is not None)
                every = self._records_of(prefixes, action, select=select)
            else:
                every = self._query(
                    table, action, "PartitionKey eq @pk", {"pk": DEPLOYMENT_PARTITION}, select=select
                )
            entities = [e for e in every if str(e["RowKey"]) in rows]
        return {str(e["RowKey"]): _load_slices(e) for e in entities}

    def _ensure_layout(self) -> None:
        """Once per store instance (one point read): make sure the inventory has its slices. An inventory saved
        by a version of modelwatch before slices existed has only records without ``Slices``: the first full read
        gives each its copies (``_give_slices``), and then the layout marker is written."""
        # held while a first read gives an old inventory its slices: this instance's other callers wait for it
        with self._layout_lock:
            if self._layout_checked:
                return
            table = self._table(self.deployments_table)
            action = "reading the inventory's layout"
            if self._get(table, LAYOUT_PARTITION, LAYOUT_ROW, action) is None:
                if self.read_only:
                    return  # the old layout is read as it is; the first writer gives it its slices
                self._read_all()
                self._upsert_all(table, [{"PartitionKey": LAYOUT_PARTITION, "RowKey": LAYOUT_ROW}], action)
            self._layout_checked = True

    def _give_slices(self, old_layout: list[tuple[Deployment, TableEntity]]) -> None:
        """Records without ``Slices`` (the old layout, or written by an old instance during a rollout) get their
        copies, then ``Slices``, guarded by the ETag they were read with: a record changed in between was saved by
        someone else, whose copies are refreshed from what the record says now (``_after_race``)."""
        from azure.core import MatchConditions
        from azure.data.tables import TableTransactionError, UpdateMode

        action = "giving deployments their model slices"
        table = self._table(self.deployments_table)
        copies: dict[str, list[dict[str, Any]]] = {}
        for d, e in old_layout:
            for partition in _slices_of(d):
                copies.setdefault(partition, []).append(
                    {"PartitionKey": partition, "RowKey": e["RowKey"], "Body": e["Body"]}
                )
        for _, entities in sorted(copies.items()):
            self._upsert_all(table, entities, action)
        marks = [
            (
                {
                    "PartitionKey": DEPLOYMENT_PARTITION,
                    "RowKey": e["RowKey"],
                    SLICES: _dump_slices(_slices_of(d)),
                },
                str(e.metadata["etag"]),
                _slices_of(d),
            )
            for d, e in old_layout
        ]
        for start in range(0, len(marks), MAX_BATCH_OPERATIONS):
            chunk = marks[start : start + MAX_BATCH_OPERATIONS]
            guarded = {"mode": UpdateMode.MERGE, "match_condition": MatchConditions.IfNotModified}
            with self._translate(action):
                self._count(writes=len(chunk))
                try:
                    table.submit_transaction(
                        ("update", mark, {**guarded, "etag": etag}) for mark, etag, _ in chunk
                    )
                    continue
                except TableTransactionError:
                    pass  # one of them changed since it was read: take them one by one
            for mark, etag, ours in chunk:
                if not self._guarded_merge(table, mark, etag, action):
                    self._after_race(str(mark["RowKey"]), ours, action)
        log.info("gave %d deployment(s) of the old inventory layout their model slices", len(old_layout))

    def _guarded_merge(self, table: TableClient, entity: dict[str, Any], etag: str, action: str) -> bool:
        """MERGE if the entity still has ``etag``; False when it changed or went since."""
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError
        from azure.data.tables import UpdateMode

        with self._translate(action):
            self._count(writes=1)
            try:
                table.update_entity(
                    entity, mode=UpdateMode.MERGE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
            except HttpResponseError as exc:
                if _status_of(exc) in (404, 412):
                    return False
                raise
        return True

    def _after_race(self, row: str, ours: frozenset[str], action: str) -> None:
        """A record changed while its copies were being made from what it said before: the copies follow it."""
        table = self._table(self.deployments_table)
        current = self._get(table, DEPLOYMENT_PARTITION, row, action)
        theirs = _load_slices(current) if current is not None else frozenset()
        if current is not None and current.get("Body") is not None and SLICES not in current:
            return  # rewritten in the old layout again (an old instance): the next full read handles it
        if current is not None and current.get("Body") is not None:
            for partition in sorted(theirs):  # ours may have overwritten a newer copy with the older body
                self._upsert_all(
                    table, [{"PartitionKey": partition, "RowKey": row, "Body": current["Body"]}], action
                )
        for partition in sorted(ours - theirs):  # copies the record does not know would never be cleaned
            self._delete_all(self.deployments_table, partition, [row], action, keyed=str)

    # rollbacks

    def add_change(self, record: VersionChange) -> None:
        from azure.core.exceptions import HttpResponseError

        entity = {
            "PartitionKey": id_key(arm_key(record.deployment_id)),
            "RowKey": encode_key(record.id),
            "ChangedAt": exact_instant(record.changed_at),
            "Body": change_to_json(record),
        }
        table = self._table(self.rollbacks_table)
        with self._translate(f"recording rollback {record.id}"):
            self._count(writes=1)
            try:
                table.create_entity(entity)
            except HttpResponseError as exc:
                # 409: recorded before; first writer wins, like the in-memory store (an id names one change)
                if _status_of(exc) != 409:
                    raise

    def list_changes(self, deployment_id: str | None = None) -> list[VersionChange]:
        action = "listing rollback records"
        if deployment_id is None:
            entities = self._query(self._table(self.rollbacks_table), action)
        else:
            partition = id_key(arm_key(deployment_id))
            entities = self._query_partition(self._table(self.rollbacks_table), partition, action)
        records = [change_from_json(str(e.get("Body")), row=str(e["RowKey"])) for e in entities]
        return sorted(records, key=lambda r: (r.changed_at, r.id), reverse=True)


def _ledger_entry(subscriber: str, event_id: str, entity: TableEntity) -> LedgerEntry:
    try:
        expires = _optional_str(entity.get("ExpiresAt"))
        return LedgerEntry(
            subscriber=subscriber,
            event_id=event_id,
            status=LedgerState(str(entity["Status"])),
            expires_at=None if expires is None else parse_instant(expires),
            outcome=str(entity.get("Outcome") or ""),
            etag=str(entity.metadata["etag"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentError(
            f"stored ledger entry {event_id!r} of {subscriber} is unreadable: {exc!r}"
        ) from exc


class TableLedger(_TableStore):
    """Ledger on an Azure table: a claim is an insert, or an ETag-guarded takeover of an expired claim.

    Thread-safe; errors as the other Table stores. ``transactions`` and ``writes`` as theirs.
    """

    _SUFFIXES = ("Ledger",)

    # Rounds of insert -> read -> take over a claim makes when the entry it met is released in between; then it
    # answers BUSY and the platform's retry comes back later.
    CLAIM_ATTEMPTS = 3

    def __init__(
        self, service: TableServiceClient, *, table_prefix: str = "ModelWatch", read_only: bool = False
    ) -> None:
        super().__init__(service, table_prefix=table_prefix, read_only=read_only)
        self.ledger_table = f"{table_prefix}Ledger"

    def _ledger_keys(self, subscriber: str, event_id: str) -> tuple[str, str]:
        return encode_key(subscriber), encode_key(event_id)

    def _read_entry(self, subscriber: str, event_id: str, action: str) -> LedgerEntry | None:
        from azure.core.exceptions import ResourceNotFoundError

        partition, row = self._ledger_keys(subscriber, event_id)
        table = self._table(self.ledger_table)
        with self._translate(action):
            self._count()
            try:
                entity = table.get_entity(partition, row)
            except ResourceNotFoundError:
                return None
        return _ledger_entry(subscriber, event_id, entity)

    def claim(self, subscriber: str, event_id: str, *, now: datetime, expires_at: datetime) -> Claim:
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError
        from azure.data.tables import UpdateMode

        partition, row = self._ledger_keys(subscriber, event_id)
        entity = {
            "PartitionKey": partition,
            "RowKey": row,
            "Status": LedgerState.IN_PROGRESS.value,
            "ExpiresAt": exact_instant(expires_at),
            "Outcome": "",
        }
        action = f"claiming event {event_id} for {subscriber}"
        table = self._table(self.ledger_table)
        for _ in range(self.CLAIM_ATTEMPTS):
            with self._translate(action):
                self._count(writes=1)
                try:
                    table.create_entity(entity)
                    return Claim.CLAIMED
                except (
                    HttpResponseError
                ) as exc:  # ResourceExistsError, or the undecoded error create re-raises
                    if _status_of(exc) != 409:
                        raise
            current = self._read_entry(subscriber, event_id, action)
            if current is None:
                continue  # released since the insert failed: try the insert again
            if current.status == LedgerState.DONE:
                return Claim.DONE
            if current.expires_at is not None and current.expires_at > now:
                return Claim.BUSY
            # an abandoned claim (a crashed attempt): take it over, unless someone changed it since it was read
            with self._translate(action):
                self._count(writes=1)
                try:
                    table.update_entity(
                        entity,
                        mode=UpdateMode.REPLACE,
                        etag=current.etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
                    return Claim.CLAIMED
                except HttpResponseError as exc:
                    if _status_of(exc) == 412:
                        return Claim.BUSY  # another attempt took it over (or completed it) first
                    if _status_of(exc) != 404:
                        raise
            # 404: released since it was read: try the insert again
        return Claim.BUSY

    def complete(self, subscriber: str, event_id: str, outcome: str) -> None:
        from azure.data.tables import UpdateMode

        partition, row = self._ledger_keys(subscriber, event_id)
        # REPLACE without ExpiresAt: a done entry has no expiry
        entity = {
            "PartitionKey": partition,
            "RowKey": row,
            "Status": LedgerState.DONE.value,
            "Outcome": outcome,
        }
        table = self._table(self.ledger_table)
        with self._translate(f"completing event {event_id} for {subscriber}"):
            self._count(writes=1)
            table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    # Table Storage takes at most 15 discrete comparisons in one filter: one comparison for the partition, then
    # up to 14 row keys a query
    KEYS_PER_QUERY = 14

    def get_many(self, subscriber: str, event_ids: Sequence[str]) -> dict[str, LedgerEntry]:
        partition = encode_key(subscriber)
        rows = {encode_key(i): i for i in dict.fromkeys(event_ids)}
        keys = list(rows)
        table = self._table(self.ledger_table)
        found: dict[str, LedgerEntry] = {}
        for start in range(0, len(keys), self.KEYS_PER_QUERY):
            chunk = keys[start : start + self.KEYS_PER_QUERY]
            # spaces around every @name and parenthesis: the SDK's substitution splits the filter on spaces
            either = " or ".join(f"RowKey eq @k{n}" for n in range(len(chunk)))
            parameters = {"pk": partition, **{f"k{n}": key for n, key in enumerate(chunk)}}
            for entity in self._query(
                table,
                f"reading ledger entries for {subscriber}",
                f"PartitionKey eq @pk and ( {either} )",
                parameters,
            ):
                event_id = rows[str(entity["RowKey"])]
                found[event_id] = _ledger_entry(subscriber, event_id, entity)
        return found

    def complete_many(self, subscriber: str, outcomes: Mapping[str, str]) -> None:
        # one subscriber's entries share a partition: entity group transactions of up to 100 upserts each
        partition = encode_key(subscriber)
        entities = [
            {
                "PartitionKey": partition,
                "RowKey": encode_key(i),
                "Status": LedgerState.DONE.value,
                "Outcome": outcome,
            }
            for i, outcome in outcomes.items()
        ]
        if entities:
            table = self._table(self.ledger_table)
            self._upsert_all(table, entities, f"completing {len(entities)} entries for {subscriber}")

    def release(self, subscriber: str, event_id: str) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError

        action = f"releasing event {event_id} for {subscriber}"
        current = self._read_entry(subscriber, event_id, action)
        if current is None or current.status == LedgerState.DONE:
            return
        partition, row = self._ledger_keys(subscriber, event_id)
        table = self._table(self.ledger_table)
        with self._translate(action):
            self._count()
            try:
                # guarded: an entry completed or taken over since the read is no longer ours to drop
                table.delete_entity(
                    partition, row, etag=current.etag, match_condition=MatchConditions.IfNotModified
                )
            except HttpResponseError as exc:
                if _status_of(exc) != 412:
                    raise  # 404 (already gone) the SDK answers itself, as success

    def get(self, subscriber: str, event_id: str) -> LedgerEntry | None:
        return self._read_entry(
            subscriber, event_id, f"reading the ledger entry of {event_id} for {subscriber}"
        )


# A string property holds at most 64 KiB of UTF-16: 32,768 code units, a character outside the BMP taking two
# (Azurite 3.37 answers one unit more with 400 PropertyValueTooLarge, as the service does).
MAX_STRING_UNITS = 32 * 1024

_SHOWN = 80  # how much of a long name an error message quotes


def _shown(text: str) -> str:
    return repr(text[:_SHOWN] + ("…" if len(text) > _SHOWN else ""))


def _group_partition(route: str, group: str) -> str:
    """The partition of one (route, group): '|' joins the two, after escaping '\\' and '|' in the route, so no
    two pairs give the same text; ``id_key`` keeps it a legal key however long (the names are properties)."""
    escaped = route.replace("\\", "\\\\").replace("|", "\\|")
    return id_key(f"{escaped}|{group}")


def _checked(text: str, what: str) -> str:
    """``text`` if Table Storage can keep it whole as a string property; else a PermanentError naming ``what``
    (a body is never truncated: the message would tell less than the event said)."""
    try:
        units = len(text.encode("utf-16-le")) // 2
    except UnicodeEncodeError as exc:  # a lone surrogate: refused, as by the SQLite buffer
        raise PermanentError(f"{what} is not valid Unicode") from exc
    if units > MAX_STRING_UNITS:
        raise PermanentError(
            f"{what} is {units} UTF-16 code units, over Table Storage's {MAX_STRING_UNITS} for a string property"
        )
    return text


def _held_entity(item: HeldAlert) -> dict[str, Any]:
    of = f"of held alert {_shown(item.item_id)}"
    entity: dict[str, Any] = {
        "PartitionKey": _group_partition(item.route, item.group),
        "RowKey": id_key(item.item_id),
        "Route": _checked(item.route, f"the route {of}"),
        "Group": _checked(item.group, f"the group {of}"),
        "ItemId": _checked(item.item_id, f"the id {of}"),
        "HeldAt": exact_instant(item.held_at),
        "Body": _checked(item.body, f"the body {of}"),
    }
    if item.batch is not None:  # absent, not empty: "" is a batch name like any other
        entity["Batch"] = _checked(item.batch, f"the batch {of}")
    return entity


def _held_alert(entity: Mapping[str, Any]) -> HeldAlert:
    try:
        batch = entity.get("Batch")
        return HeldAlert(
            route=str(entity["Route"]),
            group=str(entity["Group"]),
            item_id=str(entity["ItemId"]),
            held_at=parse_instant(str(entity["HeldAt"])),
            body=str(entity["Body"]),
            batch=None if batch is None else str(batch),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentError(f"held alert {entity.get('RowKey')!r} is unreadable: {exc!r}") from exc


class TableAlertBuffer(_TableStore):
    """AlertBuffer on an Azure table (layout: see the module docstring). Thread-safe.

    ``hold`` inserts (an item already held is left as it is), ``mark`` is an ETag-guarded merge (an item another
    flusher marked first keeps its batch), ``release`` a delete. Raises TransientError (network, throttling,
    5xx: retry later) or PermanentError (4xx, bad configuration, an unreadable stored entity, text that is not
    valid Unicode, or a route, group, item id or body over a string property's 32,768 UTF-16 code units: refused
    before anything of the call is written). ``transactions`` and ``writes`` as in the other Table stores.
    """

    _SUFFIXES = ("AlertBuffer",)

    # Rounds of merge -> precondition failed -> re-read of a still unmarked item before giving up (TransientError):
    # only a mark, or a release and a new hold, changes a held item, so the second round is already rare.
    MARK_ATTEMPTS = 3

    def __init__(
        self, service: TableServiceClient, *, table_prefix: str = "ModelWatch", read_only: bool = False
    ) -> None:
        super().__init__(service, table_prefix=table_prefix, read_only=read_only)
        self.buffer_table = f"{table_prefix}AlertBuffer"

    def hold(self, items: Sequence[HeldAlert]) -> None:
        if not items:
            return
        # Every entity is built, and so checked, before the first write. An entity may appear once per
        # transaction; the first copy wins, as in the in-memory buffer (an item id names one event).
        partitions: dict[str, dict[str, dict[str, Any]]] = {}
        for item in items:
            entity = _held_entity(item)
            partitions.setdefault(entity["PartitionKey"], {}).setdefault(entity["RowKey"], entity)
        table = self._table(self.buffer_table)
        action = f"holding {len(items)} alert(s)"
        for rows in partitions.values():  # a transaction stays within one partition
            for chunk in _chunks(rows.values()):
                self._insert_new(table, chunk, action)

    def _insert_new(self, table: TableClient, chunk: list[dict[str, Any]], action: str) -> None:
        """Insert these entities of one partition, leaving any already held as it is."""
        from azure.core.exceptions import HttpResponseError
        from azure.data.tables import TableTransactionError

        with self._translate(action):
            if len(chunk) > 1:
                self._count()
                try:
                    table.submit_transaction(("create", entity) for entity in chunk)
                    self._count(transactions=0, writes=len(chunk))
                    return
                except TableTransactionError as exc:
                    if exc.status_code != 409:
                        raise
                # One item already held (a redelivered event, a retried hold) fails the whole transaction and
                # writes nothing: insert one by one instead, where a conflict means "held before".
                log.debug("%s: a transaction met a held item; inserting %d one by one", action, len(chunk))
            for entity in chunk:
                self._count()
                try:
                    table.create_entity(entity)
                    self._count(transactions=0, writes=1)
                except HttpResponseError as exc:
                    # ResourceExistsError, or the undecoded error create re-raises: held before
                    if _status_of(exc) != 409:
                        raise

    def groups(self) -> list[tuple[str, str, datetime]]:
        table = self._table(self.buffer_table)
        # the whole table, three properties each: the buffer holds only news not yet sent
        entities = self._query(table, "listing held alert groups", select=["Route", "Group", "HeldAt"])
        oldest: dict[tuple[str, str], datetime] = {}
        for entity in entities:
            try:
                key = (str(entity["Route"]), str(entity["Group"]))
                held_at = parse_instant(str(entity["HeldAt"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise PermanentError(f"a held alert of {self.buffer_table} is unreadable: {exc!r}") from exc
            if key not in oldest or held_at < oldest[key]:
                oldest[key] = held_at
        return [(route, group, held_at) for (route, group), held_at in sorted(oldest.items())]

    def held(self, route: str, group: str) -> list[HeldAlert]:
        partition = _group_partition(route, group)
        table = self._table(self.buffer_table)
        entities = self._query_partition(table, partition, f"reading the held alerts of {route}/{group}")
        return sorted((_held_alert(e) for e in entities), key=lambda i: (i.held_at, i.item_id))

    def mark(self, route: str, group: str, item_ids: Sequence[str], batch: str) -> None:
        from azure.core import MatchConditions
        from azure.data.tables import TableTransactionError, UpdateMode

        if not item_ids:
            return
        partition = _group_partition(route, group)
        wanted = {id_key(ident) for ident in item_ids}
        merge = {"Batch": _checked(batch, f"batch {_shown(batch)}")}
        action = f"marking held alerts of {route}/{group} with batch {batch}"
        table = self._table(self.buffer_table)
        # One query for the ETags (not one read per item); missing items are simply not found.
        found = self._query(
            table, action, "PartitionKey eq @pk", {"pk": partition}, select=["RowKey", "Batch"]
        )
        etags = {
            str(e["RowKey"]): str(e.metadata["etag"])
            for e in found
            if str(e["RowKey"]) in wanted and e.get("Batch") is None
        }
        updates = [{"PartitionKey": partition, "RowKey": row, **merge} for row in etags]
        for chunk in _chunks(updates):
            with self._translate(action):
                self._count()
                try:
                    # guarded by the ETags read: a merge over an item marked since then fails
                    table.submit_transaction(
                        (
                            "update",
                            entity,
                            {
                                "mode": UpdateMode.MERGE,
                                "etag": etags[entity["RowKey"]],
                                "match_condition": MatchConditions.IfNotModified,
                            },
                        )
                        for entity in chunk
                    )
                    self._count(transactions=0, writes=len(chunk))
                    continue
                except TableTransactionError as exc:
                    if exc.status_code not in (404, 412):
                        raise
            # An item marked by another flusher (412) or released (404) since the read fails the whole
            # transaction and writes nothing: mark one by one instead, each under its own ETag.
            log.debug("%s: a transaction met an item changed since read; marking one by one", action)
            for entity in chunk:
                self._mark_one(table, entity, etags[entity["RowKey"]], action)

    def _mark_one(self, table: TableClient, entity: dict[str, Any], etag: str, action: str) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        partition, row = str(entity["PartitionKey"]), str(entity["RowKey"])
        for _ in range(self.MARK_ATTEMPTS):
            with self._translate(action):
                self._count()
                try:
                    table.update_entity(
                        entity,
                        mode=UpdateMode.MERGE,
                        etag=etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
                    self._count(transactions=0, writes=1)
                    return
                except HttpResponseError as exc:  # ResourceModifiedError, ResourceNotFoundError, or undecoded
                    if _status_of(exc) == 404:
                        return  # released since the read: missing items are ignored
                    if _status_of(exc) != 412:
                        raise
                # changed since the read: read it again; marked by another flusher, it keeps that batch
                self._count()
                try:
                    current = table.get_entity(partition, row, select=["Batch"])
                except ResourceNotFoundError:
                    return
            if current.get("Batch") is not None:
                return
            etag = str(current.metadata["etag"])
        raise TransientError(f"Table Storage: {action} failed: item {row!r} kept changing while being marked")

    def release(self, route: str, group: str, item_ids: Sequence[str]) -> None:
        if not item_ids:
            return
        partition = _group_partition(route, group)
        rows = [id_key(ident) for ident in item_ids]  # refuses text that is not valid Unicode, as hold does
        action = f"releasing held alerts of {route}/{group}"
        self._delete_all(self.buffer_table, partition, rows, action, keyed=lambda row: row)

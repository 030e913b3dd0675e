"""CatalogStateStore on Azure Table Storage: the cursor of each location, its snapshot, and the outbox.

Layout (``<prefix>`` defaults to ``ModelWatch``):
- ``<prefix>Cursors``: PartitionKey "cursor", RowKey = the location; guarded by the entity's ETag.
- ``<prefix>Snapshots``: PartitionKey = the location, RowKey = the version key; property ``Record`` (JSON).
- ``<prefix>Outbox``: PartitionKey "pending", RowKey = the event id; properties ``EventTime`` and ``Body`` (JSON).
  Published events kept for the status page are in the same table, PartitionKey "history-<UTC day>".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.adapters.storage.keys import decode_key, encode_key
from shared.adapters.storage.records import (
    exact_instant,
    key_from_text,
    key_text,
    record_from_json,
    record_to_json,
)
from shared.adapters.tables.base import MAX_BATCH_OPERATIONS, TableStore, optional_str
from shared.domain.catalog import VersionKey
from shared.domain.cursor import Cursor
from shared.domain.diff import VersionRecord
from shared.domain.events import LifecycleEvent
from shared.domain.timeutil import format_instant, parse_instant
from shared.errors import ConcurrencyError, PermanentError

if TYPE_CHECKING:
    from azure.data.tables import TableServiceClient

log = logging.getLogger(__name__)

CURSOR_PARTITION = "cursor"
PENDING_PARTITION = "pending"
HISTORY_PARTITION = "history-"  # + the event's UTC day, 2025-03-12


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


class TableCatalogStateStore(TableStore):
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
            last = optional_str(entity.get("LastCycleAt"))
            return Cursor(
                location=location,
                etag=str(entity.metadata["etag"]),
                last_cycle_at=None if last is None else parse_instant(last),
                anomaly=optional_str(entity.get("Anomaly")),
                last_error=optional_str(entity.get("LastError")),
                cycles=int(entity.get("Cycles") or 0),
                fingerprint=optional_str(entity.get("Fingerprint")),
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

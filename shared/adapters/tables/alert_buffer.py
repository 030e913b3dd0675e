"""AlertBuffer on Azure Table Storage: deployment news held for one message per route and group.

Layout: ``<prefix>AlertBuffer`` (``<prefix>`` defaults to ``ModelWatch``): PartitionKey = route and group
(``_group_partition``), RowKey = the item id (``id_key``); properties ``Route``, ``Group``, ``ItemId`` (in full: long
keys are shortened), ``HeldAt``, ``Body`` (JSON) and ``Batch`` (absent until marked). One partition per group: what
a flush reads, marks and releases, in transactions of 100.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.adapters.storage.errors import status_of
from shared.adapters.storage.keys import id_key
from shared.adapters.storage.records import exact_instant
from shared.adapters.tables.base import TableStore, chunks
from shared.domain.held import HeldAlert
from shared.domain.timeutil import parse_instant
from shared.errors import PermanentError, TransientError

if TYPE_CHECKING:
    from azure.data.tables import TableClient, TableServiceClient

log = logging.getLogger(__name__)

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


class TableAlertBuffer(TableStore):
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
            for chunk in chunks(rows.values()):
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
                    if status_of(exc) != 409:
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
        for chunk in chunks(updates):
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
                    if status_of(exc) == 404:
                        return  # released since the read: missing items are ignored
                    if status_of(exc) != 412:
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

"""Ledger on Azure Table Storage: the subscribers' record of what they did, claimed with conditional writes.

Layout: ``<prefix>Ledger`` (``<prefix>`` defaults to ``ModelWatch``): PartitionKey = the subscriber, RowKey = the
event id; properties ``Status``, ``ExpiresAt`` (absent when done), ``Outcome``; claims are conditional writes
(insert, or replace guarded by the ETag).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from shared.adapters.storage.errors import status_of
from shared.adapters.storage.keys import encode_key
from shared.adapters.storage.records import exact_instant
from shared.adapters.tables.base import TableStore, optional_str
from shared.domain.ledger import Claim, LedgerEntry, LedgerState
from shared.domain.timeutil import parse_instant
from shared.errors import PermanentError

if TYPE_CHECKING:
    from azure.data.tables import TableEntity, TableServiceClient


def _ledger_entry(subscriber: str, event_id: str, entity: TableEntity) -> LedgerEntry:
    try:
        expires = optional_str(entity.get("ExpiresAt"))
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


class TableLedger(TableStore):
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
                    if status_of(exc) != 409:
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
                    if status_of(exc) == 412:
                        return Claim.BUSY  # another attempt took it over (or completed it) first
                    if status_of(exc) != 404:
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
                if status_of(exc) != 412:
                    raise  # 404 (already gone) the SDK answers itself, as success

    def get(self, subscriber: str, event_id: str) -> LedgerEntry | None:
        return self._read_entry(
            subscriber, event_id, f"reading the ledger entry of {event_id} for {subscriber}"
        )

"""Ledger in a SQLite file: the local twin of the Table Storage ledger; a claim is one conditional upsert."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime

from shared.adapters.sqlite.file import SqliteFile
from shared.adapters.storage.records import exact_instant
from shared.domain.ledger import Claim, LedgerEntry, LedgerState
from shared.domain.timeutil import parse_instant
from shared.errors import PermanentError

_LEDGER_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger (
    subscriber TEXT NOT NULL,
    event_id TEXT NOT NULL,
    status TEXT NOT NULL,
    expires_at TEXT,
    outcome TEXT NOT NULL,
    etag TEXT NOT NULL,
    PRIMARY KEY (subscriber, event_id)
);
"""


_SELECT_ENTRY = "SELECT status, expires_at, outcome, etag FROM ledger WHERE subscriber = ? AND event_id = ?"
_SELECT_ENTRIES = "SELECT event_id, status, expires_at, outcome, etag FROM ledger WHERE subscriber = ?"


def _stored_entry(subscriber: str, event_id: str, row: tuple[str, str | None, str, str]) -> LedgerEntry:
    status, expires_at, outcome, etag = row
    try:
        expires = None if expires_at is None else parse_instant(expires_at)
    except ValueError as exc:
        raise PermanentError(
            f"stored ledger entry {event_id!r} of {subscriber} is unreadable: {exc}"
        ) from exc
    return LedgerEntry(subscriber, event_id, LedgerState(status), expires, outcome, etag)


class SqliteLedger(SqliteFile):
    """Ledger in a SQLite file (WAL); may share the file of the other stores. The claim is one conditional
    upsert inside BEGIN IMMEDIATE: one claim wins across threads and processes."""

    def __init__(self, path: str) -> None:
        super().__init__(path, _LEDGER_SCHEMA)

    def claim(self, subscriber: str, event_id: str, *, now: datetime, expires_at: datetime) -> Claim:
        with self._transaction(f"claiming event {event_id} for {subscriber}") as conn:
            # The upsert is the conditional write: it inserts, or takes over a claim that is neither done nor
            # unexpired; otherwise it changes nothing. Inside BEGIN IMMEDIATE, the read below sees the same row.
            changed = conn.execute(
                "INSERT INTO ledger (subscriber, event_id, status, expires_at, outcome, etag)"
                " VALUES (?, ?, 'in-progress', ?, '', ?)"
                " ON CONFLICT (subscriber, event_id) DO UPDATE SET status = excluded.status,"
                " expires_at = excluded.expires_at, outcome = excluded.outcome, etag = excluded.etag"
                " WHERE ledger.status != 'done' AND (ledger.expires_at IS NULL OR ledger.expires_at <= ?)",
                (subscriber, event_id, exact_instant(expires_at), secrets.token_hex(16), exact_instant(now)),
            ).rowcount
            if changed == 1:
                self.writes += 1
                return Claim.CLAIMED
            row = conn.execute(_SELECT_ENTRY, (subscriber, event_id)).fetchone()
        current = None if row is None else _stored_entry(subscriber, event_id, row)
        return Claim.DONE if current is not None and current.status == LedgerState.DONE else Claim.BUSY

    def complete(self, subscriber: str, event_id: str, outcome: str) -> None:
        with self._lock, self._translate(f"completing event {event_id} for {subscriber}"):
            self._conn.execute(
                "INSERT INTO ledger (subscriber, event_id, status, expires_at, outcome, etag)"
                " VALUES (?, ?, 'done', NULL, ?, ?)"
                " ON CONFLICT (subscriber, event_id) DO UPDATE SET status = excluded.status,"
                " expires_at = NULL, outcome = excluded.outcome, etag = excluded.etag",
                (subscriber, event_id, outcome, secrets.token_hex(16)),
            )
            self.writes += 1

    def complete_many(self, subscriber: str, outcomes: Mapping[str, str]) -> None:
        if not outcomes:
            return
        with self._lock, self._translate(f"completing {len(outcomes)} entries for {subscriber}"):
            self._conn.executemany(
                "INSERT INTO ledger (subscriber, event_id, status, expires_at, outcome, etag)"
                " VALUES (?, ?, 'done', NULL, ?, ?)"
                " ON CONFLICT (subscriber, event_id) DO UPDATE SET status = excluded.status,"
                " expires_at = NULL, outcome = excluded.outcome, etag = excluded.etag",
                [(subscriber, i, outcome, secrets.token_hex(16)) for i, outcome in outcomes.items()],
            )
            self.writes += len(outcomes)

    def release(self, subscriber: str, event_id: str) -> None:
        with self._lock, self._translate(f"releasing event {event_id} for {subscriber}"):
            self._conn.execute(
                "DELETE FROM ledger WHERE subscriber = ? AND event_id = ? AND status != 'done'",
                (subscriber, event_id),
            )

    def get(self, subscriber: str, event_id: str) -> LedgerEntry | None:
        with self._lock, self._translate(f"reading the ledger entry of {event_id} for {subscriber}"):
            row = self._conn.execute(_SELECT_ENTRY, (subscriber, event_id)).fetchone()
        return None if row is None else _stored_entry(subscriber, event_id, row)

    def get_many(self, subscriber: str, event_ids: Sequence[str]) -> dict[str, LedgerEntry]:
        unique = list(dict.fromkeys(event_ids))
        rows: list[tuple[str, str, str | None, str, str]] = []
        with self._lock, self._translate(f"reading {len(unique)} ledger entries for {subscriber}"):
            for i in range(0, len(unique), 500):  # well under SQLite's bound on a statement's parameters
                chunk = unique[i : i + 500]
                # only placeholders are formatted in; every value is bound
                marks = ", ".join("?" * len(chunk))
                query = f"{_SELECT_ENTRIES} AND event_id IN ({marks})"
                rows += self._conn.execute(query, (subscriber, *chunk)).fetchall()
        return {row[0]: _stored_entry(subscriber, row[0], row[1:]) for row in rows}

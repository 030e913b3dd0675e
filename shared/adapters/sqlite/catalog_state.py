"""CatalogStateStore in a SQLite file: the local twin of the Table Storage store (CLI, tests, single host)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from shared.adapters.sqlite.file import SqliteFile
from shared.adapters.storage.records import (
    exact_instant,
    key_from_text,
    key_text,
    record_from_json,
    record_to_json,
)
from shared.domain.catalog import VersionKey
from shared.domain.cursor import Cursor
from shared.domain.diff import VersionRecord
from shared.domain.events import LifecycleEvent
from shared.domain.timeutil import format_instant, parse_instant
from shared.errors import ConcurrencyError, PermanentError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursors (
    location TEXT PRIMARY KEY,
    etag TEXT NOT NULL,
    last_cycle_at TEXT,
    anomaly TEXT,
    last_error TEXT,
    cycles INTEGER NOT NULL,
    fingerprint TEXT
);
CREATE TABLE IF NOT EXISTS records (
    location TEXT NOT NULL,
    key TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (location, key)
);
CREATE TABLE IF NOT EXISTS pending (
    id TEXT PRIMARY KEY,
    event_time TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_by_time ON pending (event_time, id);
CREATE TABLE IF NOT EXISTS history (
    day TEXT NOT NULL,
    id TEXT NOT NULL,
    event_time TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (day, id)
);
CREATE INDEX IF NOT EXISTS history_by_time ON history (event_time, id);
"""


def _stored_record(key: str, text: str, location: str) -> tuple[VersionKey, VersionRecord]:
    # Corrupt stored data must surface as an error that says retrying cannot help, not as a raw KeyError.
    try:
        return key_from_text(key), record_from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentError(f"stored record {key!r} of {location} is unreadable: {exc!r}") from exc


class SqliteCatalogStateStore(SqliteFile):
    """CatalogStateStore in one SQLite file (WAL). Thread-safe: one connection behind a lock."""

    def __init__(self, path: str) -> None:
        super().__init__(path, _SCHEMA)
        with self._lock, self._translate("open"):
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(cursors)")}
            if "fingerprint" not in columns:  # a state file from schema 1
                self._conn.execute("ALTER TABLE cursors ADD COLUMN fingerprint TEXT")
            self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def get_cursor(self, location: str) -> Cursor:
        with self._lock, self._translate(f"reading the cursor of {location}"):
            row = self._conn.execute(
                "SELECT etag, last_cycle_at, anomaly, last_error, cycles, fingerprint FROM cursors WHERE location = ?",
                (location,),
            ).fetchone()
        if row is None:
            return Cursor(location)
        etag, last_cycle_at, anomaly, last_error, cycles, fingerprint = row
        try:
            when = None if last_cycle_at is None else parse_instant(last_cycle_at)
        except ValueError as exc:
            raise PermanentError(f"stored cursor of {location} is unreadable: {exc}") from exc
        return Cursor(location, etag, when, anomaly, last_error, int(cycles), fingerprint)

    def commit_cursor(self, cursor: Cursor, *, expected_etag: str | None) -> Cursor:
        with self._lock, self._translate(f"committing the cursor of {cursor.location}"):
            committed = self._commit_cursor(cursor, expected_etag)
        if committed is None:
            raise ConcurrencyError(f"cursor {cursor.location} changed since it was read")
        return committed

    def commit_cursors(self, commits: Sequence[tuple[Cursor, str | None]]) -> dict[str, Cursor | None]:
        done: dict[str, Cursor | None] = {}
        if not commits:
            return done
        # one transaction: a commit (a sync of the log) per cursor was most of a steady cycle's store time
        with self._lock, self._translate(f"committing {len(commits)} cursor(s)"):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for cursor, expected_etag in commits:
                    done[cursor.location] = self._commit_cursor(cursor, expected_etag)
            except BaseException:
                self._conn.execute("ROLLBACK")
                self.writes -= sum(1 for c in done.values() if c is not None)
                raise
            self._conn.execute("COMMIT")
        return done

    def _commit_cursor(self, cursor: Cursor, expected_etag: str | None) -> Cursor | None:
        """Write the cursor if it still has ``expected_etag``; None when it moved. Under the lock."""
        etag = secrets.token_hex(16)
        values = (
            etag,
            exact_instant(cursor.last_cycle_at),
            cursor.anomaly,
            cursor.last_error,
            cursor.cycles,
            cursor.fingerprint,
            cursor.location,
        )
        # One statement each way, so the check and the write are atomic even across processes.
        if expected_etag is None:
            changed = self._conn.execute(
                "INSERT INTO cursors (etag, last_cycle_at, anomaly, last_error, cycles, fingerprint, location)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (location) DO NOTHING",
                values,
            ).rowcount
        else:
            changed = self._conn.execute(
                "UPDATE cursors SET etag = ?, last_cycle_at = ?, anomaly = ?, last_error = ?, cycles = ?, fingerprint = ?"
                " WHERE location = ? AND etag = ?",
                (*values, expected_etag),
            ).rowcount
        if changed != 1:
            return None
        self.writes += 1
        return replace(cursor, etag=etag)

    def load_records(self, location: str) -> dict[VersionKey, VersionRecord]:
        with self._lock, self._translate(f"loading the snapshot of {location}"):
            rows = self._conn.execute(
                "SELECT key, record FROM records WHERE location = ?", (location,)
            ).fetchall()
        return dict(_stored_record(key, record, location) for key, record in rows)

    def save_records(self, location: str, records: Mapping[VersionKey, VersionRecord]) -> None:
        if not records:
            return
        rows = [(location, key_text(k), record_to_json(r)) for k, r in records.items()]
        with self._transaction(f"saving the snapshot of {location}") as conn:
            conn.executemany(
                "INSERT INTO records (location, key, record) VALUES (?, ?, ?)"
                " ON CONFLICT (location, key) DO UPDATE SET record = excluded.record",
                rows,
            )
            self.writes += len(rows)

    def add_pending(self, events: Sequence[LifecycleEvent]) -> None:
        if not events:
            return
        # First writer wins, like the in-memory store: an id always names the same change, so nothing is lost.
        rows = [(e.id, format_instant(e.event_time), e.to_json()) for e in events]
        with self._transaction("adding pending events") as conn:
            conn.executemany(
                "INSERT INTO pending (id, event_time, body) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
                rows,
            )
            self.writes += len(rows)

    def list_pending(self) -> list[LifecycleEvent]:
        with self._lock, self._translate("listing pending events"):
            rows = self._conn.execute("SELECT body FROM pending ORDER BY event_time, id").fetchall()
        return [LifecycleEvent.from_json(body) for (body,) in rows]

    def remove_pending(self, event_ids: Sequence[str]) -> None:
        if not event_ids:
            return
        with self._transaction("removing published events") as conn:
            conn.executemany("DELETE FROM pending WHERE id = ?", [(ident,) for ident in event_ids])
        log.debug("removed up to %d published event(s) from %s", len(event_ids), self.path)

    def record_history(self, events: Sequence[LifecycleEvent]) -> None:
        if not events:
            return
        rows = [
            (e.event_time.date().isoformat(), e.id, format_instant(e.event_time), e.to_json()) for e in events
        ]
        with self._transaction("keeping published events") as conn:
            conn.executemany(
                "INSERT INTO history (day, id, event_time, body) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                rows,
            )
            self.writes += len(rows)

    def list_history(self, since: datetime) -> list[LifecycleEvent]:
        with self._lock, self._translate("listing kept events"):
            rows = self._conn.execute(
                "SELECT body FROM history WHERE event_time >= ? ORDER BY event_time, id",
                (format_instant(since),),
            ).fetchall()
        return [LifecycleEvent.from_json(body) for (body,) in rows]

"""CatalogStateStore, the deployment stores, the ledger and the alert buffer in a SQLite file: the local twins of
the Table Storage stores (CLI, tests, single host). Every class can open the same file: each creates only its own
tables."""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

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
from shared.domain.deployments import MODEL_ROUTER, Deployment, is_of_model
from shared.domain.diff import VersionRecord
from shared.domain.events import LifecycleEvent
from shared.domain.held import HeldAlert
from shared.domain.ids import arm_key, subscription_prefix
from shared.domain.ledger import Claim, LedgerEntry, LedgerState
from shared.domain.timeutil import format_instant, parse_instant
from shared.errors import ConcurrencyError, PermanentError, TransientError

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

_DEPLOYMENT_SCHEMA = """
CREATE TABLE IF NOT EXISTS deployments (
    key TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    location TEXT,
    model_format TEXT,
    model_name TEXT,
    base_model TEXT
);
CREATE TABLE IF NOT EXISTS rollbacks (
    id TEXT PRIMARY KEY,
    deployment_key TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rollbacks_by_deployment ON rollbacks (deployment_key, changed_at, id);
"""

# The columns list_deployments_of filters on (location and format casefolded, names as the catalog spells them),
# and their indexes: one model's news reads that model's rows. Created after _add_model_columns, which gives a file
# from before them the columns first (CREATE TABLE IF NOT EXISTS leaves an existing table as it was).
_MODEL_COLUMNS = ("location", "model_format", "model_name", "base_model")
_MODEL_INDEXES = """
CREATE INDEX IF NOT EXISTS deployments_by_model ON deployments (location, model_format, model_name);
CREATE INDEX IF NOT EXISTS deployments_by_base ON deployments (location, base_model);
"""


def _model_columns(d: Deployment) -> tuple[str, str, str, str | None]:
    base = d.fine_tune.base_model if d.fine_tune is not None and d.fine_tune.base_model else None
    return d.location.casefold(), d.model_format.casefold(), d.model_name, base


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

_ALERT_BUFFER_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_buffer (
    route TEXT NOT NULL,
    grp TEXT NOT NULL,
    item_id TEXT NOT NULL,
    held_at TEXT NOT NULL,
    body TEXT NOT NULL,
    batch TEXT,
    PRIMARY KEY (route, grp, item_id)
);
"""

# Messages of sqlite3.OperationalError that mean "another connection holds the lock": retrying can succeed.
_BUSY_MARKERS = ("database is locked", "database table is locked", "busy")


def _stored_record(key: str, text: str, location: str) -> tuple[VersionKey, VersionRecord]:
    # Corrupt stored data must surface as an error that says retrying cannot help, not as a raw KeyError.
    try:
        return key_from_text(key), record_from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentError(f"stored record {key!r} of {location} is unreadable: {exc!r}") from exc


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


class _SqliteFile:
    """One connection to a SQLite file (WAL) behind a lock, with errors translated to Transient/Permanent."""

    def __init__(self, path: str, schema: str) -> None:
        self.path = path
        self.writes = 0  # entity writes, for tests and benchmarks (same meaning as the in-memory store)
        self._lock = threading.Lock()
        with self._translate("open"):
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: autocommit; multi-statement writes open their own BEGIN IMMEDIATE, which takes
            # the write lock up front so two processes cannot both read-then-write the same rows.
            self._conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(schema)

    def close(self) -> None:
        """Close the connection; the store cannot be used afterwards."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            message = f"SQLite state store {self.path}: {action} failed: {exc}"
            text = str(exc).lower()
            if isinstance(exc, sqlite3.OperationalError) and any(m in text for m in _BUSY_MARKERS):
                raise TransientError(message) from exc
            raise PermanentError(message) from exc
        except OSError as exc:
            raise PermanentError(f"SQLite state store {self.path}: {action} failed: {exc.strerror}") from exc

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock, self._translate(action):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")


class SqliteCatalogStateStore(_SqliteFile):
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


class SqliteDeploymentStore(_SqliteFile):
    """DeploymentStore and VersionChangeStore in one SQLite file (WAL); may be the catalog state's file.

    Thread-safe (one connection behind a lock) and safe across processes: each write is one statement or one
    BEGIN IMMEDIATE transaction. Raises TransientError when another process holds the lock past the timeout,
    PermanentError otherwise (including unreadable stored rows).
    """

    def __init__(self, path: str) -> None:
        super().__init__(path, _DEPLOYMENT_SCHEMA)
        self.entities_read = 0  # rows returned by the list methods, for tests and benchmarks
        self._add_model_columns()
        with self._lock, self._translate("open"):
            self._conn.executescript(_MODEL_INDEXES)

    def _add_model_columns(self) -> None:
        """A file from before the model columns gets them, filled from each row's body (once; in one write
        transaction, so two processes opening the same old file do not both alter it)."""
        with self._transaction("adding the model columns to deployments") as conn:
            present = {row[1] for row in conn.execute("PRAGMA table_info(deployments)")}
            for column in _MODEL_COLUMNS:
                if column not in present:
                    conn.execute(f"ALTER TABLE deployments ADD COLUMN {column} TEXT")
            rows = conn.execute("SELECT key, body FROM deployments WHERE location IS NULL").fetchall()
            filled = []
            for key, body in rows:
                try:
                    filled.append((*_model_columns(deployment_from_json(body, row=key)), key))
                except PermanentError:
                    continue  # unreadable: list_deployments names it; no model's query can match it
            conn.executemany(
                "UPDATE deployments SET location = ?, model_format = ?, model_name = ?, base_model = ?"
                " WHERE key = ?",
                filled,
            )

    # inventory

    def list_deployments(self) -> list[Deployment]:
        with self._lock, self._translate("listing deployments"):
            rows = self._conn.execute("SELECT key, body FROM deployments ORDER BY key").fetchall()
            self.entities_read += len(rows)
        return [deployment_from_json(body, row=key) for key, body in rows]

    def list_deployments_in(self, subscriptions: Sequence[str]) -> list[Deployment]:
        rows: list[tuple[str, str]] = []
        with self._lock, self._translate("listing deployments of subscriptions"):
            for prefix in sorted({subscription_prefix(s) for s in subscriptions}):
                # a range on the primary key: the subscription's rows only ('0' follows '/')
                rows += self._conn.execute(
                    "SELECT key, body FROM deployments WHERE key >= ? AND key < ? ORDER BY key",
                    (prefix, prefix[:-1] + "0"),
                ).fetchall()
            self.entities_read += len(rows)
        return sorted((deployment_from_json(body, row=key) for key, body in rows), key=lambda d: d.key)

    def list_deployments_of(self, location: str, model_format: str, model_name: str) -> list[Deployment]:
        with self._lock, self._translate(f"listing deployments of {model_name} in {location}"):
            # indexed lookups (SQLite's OR optimisation): the model's rows, fine-tunes of a model so named, and the
            # location's model-routers (kept when the model is in their routing subset)
            rows = self._conn.execute(
                "SELECT key, body FROM deployments WHERE location = ?"
                " AND ((model_format = ? AND model_name = ?) OR base_model = ?"
                " OR (model_format = 'openai' AND model_name = ?)) ORDER BY key",
                (location.casefold(), model_format.casefold(), model_name, model_name, MODEL_ROUTER),
            ).fetchall()
            self.entities_read += len(rows)
        found = [deployment_from_json(body, row=key) for key, body in rows]
        return [d for d in found if is_of_model(d, location, model_format, model_name)]

    def save_deployments(self, deployments: Sequence[Deployment]) -> None:
        if not deployments:
            return
        rows = [(d.key, deployment_to_json(d), *_model_columns(d)) for d in deployments]
        with self._transaction("saving deployments") as conn:
            conn.executemany(
                "INSERT INTO deployments (key, body, location, model_format, model_name, base_model)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET body = excluded.body,"
                " location = excluded.location, model_format = excluded.model_format,"
                " model_name = excluded.model_name, base_model = excluded.base_model",
                rows,
            )
            self.writes += len(rows)

    def delete_deployments(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        with self._transaction("deleting deployments") as conn:
            conn.executemany("DELETE FROM deployments WHERE key = ?", [(arm_key(key),) for key in keys])

    # rollbacks

    def add_change(self, record: VersionChange) -> None:
        # First writer wins, like the in-memory store: an id always names the same change.
        with self._lock, self._translate(f"recording rollback {record.id}"):
            self._conn.execute(
                "INSERT INTO rollbacks (id, deployment_key, changed_at, body) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING",
                (
                    record.id,
                    arm_key(record.deployment_id),
                    exact_instant(record.changed_at),
                    change_to_json(record),
                ),
            )
            self.writes += 1

    def list_changes(self, deployment_id: str | None = None) -> list[VersionChange]:
        # changed_at is fixed-width UTC text, so its order is time order
        with self._lock, self._translate("listing rollback records"):
            if deployment_id is None:
                rows = self._conn.execute(
                    "SELECT id, body FROM rollbacks ORDER BY changed_at DESC, id DESC"
                ).fetchall()
            else:
                rows = self._conn.execute(
                    "SELECT id, body FROM rollbacks WHERE deployment_key = ? ORDER BY changed_at DESC, id DESC",
                    (arm_key(deployment_id),),
                ).fetchall()
        return [change_from_json(body, row=ident) for ident, body in rows]


class SqliteLedger(_SqliteFile):
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


def _stored_alert(route: str, group: str, row: tuple[str, str, str, str | None]) -> HeldAlert:
    item_id, held_at, body, batch = row
    try:
        return HeldAlert(route, group, item_id, parse_instant(held_at), body, batch)
    except ValueError as exc:
        raise PermanentError(f"held alert {item_id!r} of {route}/{group} is unreadable: {exc}") from exc


class SqliteAlertBuffer(_SqliteFile):
    """AlertBuffer in a SQLite file (WAL); may share the file of the other stores.

    Thread-safe and safe across processes: ``hold``, ``mark`` and ``release`` are each one BEGIN IMMEDIATE
    transaction, and ``mark`` is conditional in its own UPDATE, so two flushers cannot both mark an item.
    No size limit on a body (unlike Table Storage's). Raises TransientError when another process holds the
    lock past the timeout, PermanentError otherwise (including unreadable stored rows and names or bodies that
    are not valid Unicode).
    """

    def __init__(self, path: str) -> None:
        super().__init__(path, _ALERT_BUFFER_SCHEMA)

    @contextmanager
    def _unicode(self, action: str) -> Iterator[None]:
        # sqlite3 binds text as strict UTF-8: a lone surrogate raises UnicodeEncodeError, which no retry fixes
        try:
            yield
        except UnicodeEncodeError as exc:
            raise PermanentError(f"SQLite alert buffer {self.path}: {action} failed: {exc.reason}") from exc

    def hold(self, items: Sequence[HeldAlert]) -> None:
        if not items:
            return
        # held_at as fixed-width UTC text: reads back as the same instant, and sorts in time order
        rows = [(i.route, i.group, i.item_id, exact_instant(i.held_at), i.body, i.batch) for i in items]
        action = f"holding {len(rows)} alert(s)"
        with self._unicode(action), self._transaction(action) as conn:
            # the first copy wins, also within one call, as in the in-memory buffer: an item id names one event
            conn.executemany(
                "INSERT INTO alert_buffer (route, grp, item_id, held_at, body, batch)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (route, grp, item_id) DO NOTHING",
                rows,
            )
            self.writes += len(rows)

    def groups(self) -> list[tuple[str, str, datetime]]:
        with self._lock, self._translate("listing held alert groups"):
            rows = self._conn.execute(
                "SELECT route, grp, MIN(held_at) FROM alert_buffer GROUP BY route, grp"
            ).fetchall()
        try:
            found = [(route, group, parse_instant(oldest)) for route, group, oldest in rows]
        except ValueError as exc:
            raise PermanentError(f"SQLite alert buffer {self.path}: a held_at is unreadable: {exc}") from exc
        return sorted(found)  # here, not in SQL: the in-memory buffer's order (code points, not bytes)

    def held(self, route: str, group: str) -> list[HeldAlert]:
        action = f"reading the held alerts of {route}/{group}"
        with self._unicode(action), self._lock, self._translate(action):
            rows = self._conn.execute(
                "SELECT item_id, held_at, body, batch FROM alert_buffer WHERE route = ? AND grp = ?",
                (route, group),
            ).fetchall()
        return sorted(
            (_stored_alert(route, group, row) for row in rows), key=lambda i: (i.held_at, i.item_id)
        )

    def mark(self, route: str, group: str, item_ids: Sequence[str], batch: str) -> None:
        if not item_ids:
            return
        action = f"marking held alerts of {route}/{group} with batch {batch}"
        with self._unicode(action), self._transaction(action) as conn:
            # the condition is in the UPDATE itself: an item another flusher marked first keeps its batch
            changed = conn.executemany(
                "UPDATE alert_buffer SET batch = ? WHERE route = ? AND grp = ? AND item_id = ? AND batch IS NULL",
                [(batch, route, group, ident) for ident in item_ids],
            ).rowcount
            self.writes += max(changed, 0)

    def release(self, route: str, group: str, item_ids: Sequence[str]) -> None:
        if not item_ids:
            return
        action = f"releasing held alerts of {route}/{group}"
        with self._unicode(action), self._transaction(action) as conn:
            conn.executemany(
                "DELETE FROM alert_buffer WHERE route = ? AND grp = ? AND item_id = ?",
                [(route, group, ident) for ident in item_ids],
            )

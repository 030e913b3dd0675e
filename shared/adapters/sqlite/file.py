"""One SQLite file (WAL) behind a lock: the base of every SQLite store. Each store creates only its own tables, so
every store can open the same file (the CLI's and the demo's state)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.errors import PermanentError, TransientError

# Messages of sqlite3.OperationalError that mean "another connection holds the lock": retrying can succeed.
_BUSY_MARKERS = ("database is locked", "database table is locked", "busy")


class SqliteFile:
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

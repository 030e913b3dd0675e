"""AlertBuffer in a SQLite file: the local twin of the Table Storage buffer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from shared.adapters.sqlite.file import SqliteFile
from shared.adapters.storage.records import exact_instant
from shared.domain.held import HeldAlert
from shared.domain.timeutil import parse_instant
from shared.errors import PermanentError

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


def _stored_alert(route: str, group: str, row: tuple[str, str, str, str | None]) -> HeldAlert:
    item_id, held_at, body, batch = row
    try:
        return HeldAlert(route, group, item_id, parse_instant(held_at), body, batch)
    except ValueError as exc:
        raise PermanentError(f"held alert {item_id!r} of {route}/{group} is unreadable: {exc}") from exc


class SqliteAlertBuffer(SqliteFile):
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

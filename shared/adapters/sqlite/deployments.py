"""DeploymentStore and VersionChangeStore in a SQLite file: the local twin of the Table Storage store."""

from __future__ import annotations

from collections.abc import Sequence

from shared.adapters.sqlite.file import SqliteFile
from shared.adapters.storage.records import (
    change_from_json,
    change_to_json,
    deployment_from_json,
    deployment_to_json,
    exact_instant,
)
from shared.domain.changes import VersionChange
from shared.domain.deployments import MODEL_ROUTER, Deployment, is_of_model
from shared.domain.ids import arm_key, subscription_prefix
from shared.errors import PermanentError

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


class SqliteDeploymentStore(SqliteFile):
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

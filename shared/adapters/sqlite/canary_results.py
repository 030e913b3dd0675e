"""CanaryResults in a SQLite file, beside the other stores (the CLI's and the demo's state). A result is stored as
its JSON document (``CanaryResult.to_json``: what ``canary run --format json`` prints, and ``canary list`` shows),
identified by ``result_id``: saving the same run twice keeps one."""

from __future__ import annotations

import json

from shared.adapters.sqlite.file import SqliteFile
from shared.adapters.storage.records import ordered_results
from shared.domain.canary import CanaryResult, result_id
from shared.domain.events import JsonValue
from shared.domain.ids import arm_key
from shared.errors import PermanentError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS canary_results (
    id TEXT PRIMARY KEY,
    deployment TEXT NOT NULL,
    at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS canary_results_by_deployment ON canary_results (deployment, at);
"""


class SqliteCanaryResults(SqliteFile):
    """CanaryResults in a SQLite file (WAL), beside the other stores (the CLI's and the demo's state). A save is
    one upsert; an unreadable stored document raises PermanentError naming it."""

    def __init__(self, path: str) -> None:
        super().__init__(path, _SCHEMA)

    def save(self, result: CanaryResult) -> None:
        doc = result.to_json()
        text = json.dumps(doc, ensure_ascii=False, sort_keys=True)
        row = (result_id(result), arm_key(result.deployment), str(doc.get("at") or ""), text)
        try:
            with self._transaction("saving a canary result") as conn:
                conn.execute(
                    "INSERT INTO canary_results (id, deployment, at, doc) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                    row,
                )
                self.writes += 1
        except UnicodeEncodeError as exc:  # a lone surrogate in an output: no retry fixes it
            raise PermanentError(
                f"SQLite canary results {self.path}: not valid Unicode: {exc.reason}"
            ) from exc

    def list_results(self, deployment_id: str | None = None) -> list[dict[str, JsonValue]]:
        with self._lock, self._translate("reading canary results"):
            if deployment_id is None:
                rows = self._conn.execute("SELECT id, doc FROM canary_results").fetchall()
            else:
                rows = self._conn.execute(
                    "SELECT id, doc FROM canary_results WHERE deployment = ?", (arm_key(deployment_id),)
                ).fetchall()
        docs: list[tuple[str, dict[str, JsonValue]]] = []
        for ident, text in rows:
            try:
                doc = json.loads(text)
            except ValueError as exc:
                raise PermanentError(f"stored canary result {ident!r} is unreadable: {exc}") from exc
            if not isinstance(doc, dict):
                raise PermanentError(f"stored canary result {ident!r} is not a JSON object")
            docs.append((ident, doc))
        return ordered_results(docs)

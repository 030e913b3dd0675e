"""Stored canary results as JSON lines in a local file: what ``canary list`` reads (the CLI's store).

One line per result (``CanaryResult.to_json``), appended; the pipeline's Table Storage twin is still to come.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from shared.domain.canary import CanaryResult
from shared.domain.events import JsonValue


class JsonLinesCanaryResults:
    """CanaryResults in a JSON-lines file; a missing file holds none, an unreadable line is skipped."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def save(self, result: CanaryResult) -> None:
        line = json.dumps(result.to_json(), ensure_ascii=False, sort_keys=True)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line + "\n")

    def list_results(self) -> list[dict[str, JsonValue]]:
        if not self.path.is_file():
            return []
        found: list[dict[str, JsonValue]] = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict):
                found.append(doc)
        return found

"""Local stand-ins used when no Azure endpoint is configured (the CLI's embedded default)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from shared.domain.events import LifecycleEvent
from shared.errors import PublishError


class JsonLinesPublisher:
    """EventPublisher that appends each event as one JSON line to a file (what a topic would have received)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def publish(self, events: Sequence[LifecycleEvent]) -> None:
        if not events:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                for event in events:
                    out.write(event.to_json() + "\n")
        except OSError as exc:
            raise PublishError(
                f"could not append events to {self.path}: {exc.strerror}", transient=False
            ) from exc

    def describe(self) -> str:
        return f"local file {self.path}"

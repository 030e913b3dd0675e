"""Per-location bookkeeping of the catalog watcher."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Cursor:
    """Per-location bookkeeping, guarded by an ETag so two concurrent cycles cannot both commit."""

    location: str
    etag: str | None = None  # None: never committed
    last_cycle_at: datetime | None = None
    anomaly: str | None = None
    last_error: str | None = None
    cycles: int = 0
    # "<catalog digest>|<next due instant>|<versions>": lets an unchanged catalog skip the diff (see watch.py)
    fingerprint: str | None = None

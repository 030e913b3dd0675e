"""What the Functions triggers call: translate, call one service, return its report.

Import-light on purpose: function_app imports this at host start, so everything heavy (SDKs, requests,
thread pools) is imported on first invocation, not at indexing (cold start).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.services.watch import CycleReport


def run_catalog_cycle(now: datetime | None = None) -> CycleReport:
    """One watch cycle over the configured locations (the timer's job)."""
    from shared.bootstrap import function_services

    services = function_services()
    return services.watcher.run(services.settings.watch_locations, now or datetime.now(UTC))

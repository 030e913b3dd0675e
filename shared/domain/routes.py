"""Alert routes: where a team's messages go, and how loud they must be to go there."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.secret import Secret


@dataclass(frozen=True)
class Route:
    """An alert route: where a team's messages go. URLs are secrets (they carry a signature or token)."""

    name: str
    teams: Secret | None = None
    slack: Secret | None = None
    min_severity: str = "info"  # info, warning or critical
    catalog_news: bool = True  # informational catalog news (releases, default changes)


DEFAULT_ROUTE = "default"
SEVERITIES = ("info", "warning", "critical")

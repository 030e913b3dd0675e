"""Alert routes: where a team's messages go, and how loud they must be to go there."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from shared.domain.secret import Secret


class ChannelKind(StrEnum):
    """Where a route can post. A new kind is a member here, a field of Route (its settings), and a Notifier
    adapter registered in shared/adapters/notifiers.py."""

    TEAMS = "teams"  # a Teams Workflows webhook ("Post to a channel when a webhook request is received")
    SLACK = "slack"  # a Slack incoming webhook


@dataclass(frozen=True)
class Channel:
    """One alert destination: a route's webhook of one kind.

    ``url`` is a secret (it carries a signature or token): never logged, never in an error message; errors and
    logs name ``route`` and ``kind`` instead.
    """

    route: str
    kind: str  # a ChannelKind value
    url: Secret = field(repr=False)

    def label(self) -> str:
        return f"{self.kind} of route {self.route}"


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


def channels_of(route: Route) -> tuple[Channel, ...]:
    """The route's configured destinations, one per channel kind."""
    urls = {ChannelKind.TEAMS: route.teams, ChannelKind.SLACK: route.slack}
    return tuple(Channel(route.name, kind.value, url) for kind, url in urls.items() if url is not None)

"""Microsoft Teams Workflows webhooks ("Post to a channel when a webhook request is received")."""

from __future__ import annotations

from shared.adapters.notifiers.base import WebhookNotifier
from shared.domain.alerts import Message
from shared.domain.events import JsonObject
from shared.domain.routes import ChannelKind
from shared.presentation.teams import teams_payload


class TeamsNotifier(WebhookNotifier):
    """An Adaptive Card in a message. Workflows answers 202 at once and posts asynchronously: a 202 means
    accepted, not shown (a failing flow shows in its run history)."""

    kind = ChannelKind.TEAMS
    min_interval = 0.2
    accepted = "Teams accepted it: the flow posts it; a failing flow shows in its run history"

    @staticmethod
    def render(message: Message) -> JsonObject:
        return teams_payload(message)

    @staticmethod
    def answered(where: str, status: int, body: str) -> str | None:
        return None if status in (200, 201, 202, 204) else f"HTTP {status}"

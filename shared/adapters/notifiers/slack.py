"""Slack incoming webhooks (docs.slack.dev, "Sending messages using incoming webhooks")."""

from __future__ import annotations

from shared.adapters.notifiers.base import WebhookNotifier
from shared.domain.alerts import Message
from shared.domain.events import JsonObject
from shared.domain.routes import ChannelKind
from shared.errors import WebhookError
from shared.presentation.slack import slack_payload


class SlackNotifier(WebhookNotifier):
    """Block Kit; answers 200 with the body ``ok``, anything else in a 200 is a failure; an error's body string
    (``invalid_payload``, ``channel_not_found``) is its reason."""

    kind = ChannelKind.SLACK
    min_interval = 1.0  # Slack allows about one message per second per channel
    accepted = "Slack answered ok"

    @staticmethod
    def render(message: Message) -> JsonObject:
        return slack_payload(message)

    @staticmethod
    def answered(where: str, status: int, body: str) -> str | None:
        if status == 200:
            if body == "ok":
                return None
            raise WebhookError(
                f"{where}: Slack answered 200 but not ok: {body[:100]!r}", status=200, reason=body[:100]
            )
        return body[:100] if body else f"HTTP {status}"

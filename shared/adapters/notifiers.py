"""Notifier adapters: each channel kind renders the channel-neutral Message in its own wire format and posts it.

Teams and Slack share the HTTP machinery of ``WebhookSender`` (retries, Retry-After, per-channel pacing, secrets
kept out of errors) and differ in their payload (``shared/presentation/render.py``: Adaptive Card / Block Kit,
each within its platform's size limits). A new channel kind (PagerDuty, e-mail) is one adapter here, registered in
``RENDERERS`` (or its own class), plus its kind in ``shared/domain/routes.py`` and its setting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from shared.domain.alerts import Message
from shared.domain.events import JsonObject, JsonValue
from shared.domain.routes import Channel, ChannelKind
from shared.ports import Notifier
from shared.presentation.render import slack_payload, teams_payload

RENDERERS: dict[str, Callable[[Message], JsonObject]] = {
    ChannelKind.TEAMS.value: teams_payload,
    ChannelKind.SLACK.value: slack_payload,
}


class PayloadPoster(Protocol):
    """Posts a rendered payload to a channel's webhook (``WebhookSender``)."""

    def send(self, channel: Channel, payload: Mapping[str, JsonValue]) -> None: ...


class WebhookNotifier:
    """A Notifier that renders with its kind's renderer and posts over a webhook."""

    def __init__(self, kind: str, poster: PayloadPoster) -> None:
        self.kind = kind
        self.render = RENDERERS[kind]
        self.poster = poster

    def send(self, channel: Channel, message: Message) -> None:
        self.poster.send(channel, self.render(message))


def webhook_notifiers(poster: PayloadPoster) -> dict[str, Notifier]:
    """A notifier per known channel kind over one HTTP poster (one pacing state for every channel)."""
    return {kind: WebhookNotifier(kind, poster) for kind in RENDERERS}

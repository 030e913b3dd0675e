"""What a webhook notifier is: one channel kind's wire rules over the shared HTTP poster.

The rules are the channel's own (its payload, its pacing, which answers mean the message was taken, what to say of
a refusal); the poster (``shared/adapters/webhooks.py`` ``WebhookSender``) is everyone's: retries, Retry-After,
deadlines, one pacing state, URLs kept out of errors and logs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar, Protocol

from shared.domain.alerts import Message
from shared.domain.events import JsonObject, JsonValue
from shared.domain.routes import Channel, ChannelKind


class WebhookRules(Protocol):
    """What the poster needs to know of a channel kind's webhook."""

    @property
    def min_interval(self) -> float:
        """Seconds kept between two posts to one webhook (the platform's rate limit)."""
        ...

    def answered(self, where: str, status: int, body: str) -> str | None:
        """None when an HTTP answer means the message was taken; otherwise the reason to report. Raises
        WebhookError (permanent) for an answer that is a refusal whatever its status says."""
        ...


class PayloadPoster(Protocol):
    """Posts a rendered payload to a channel's webhook, by that channel's rules (``WebhookSender``)."""

    def send(self, channel: Channel, payload: Mapping[str, JsonValue], rules: WebhookRules) -> None: ...


class WebhookNotifier(ABC):
    """A Notifier (shared/ports.py) for one channel kind: renders the Message in the kind's format and posts it
    through the poster, with the kind's own rules (the class, like each instance, is its ``WebhookRules``)."""

    kind: ClassVar[ChannelKind]
    min_interval: ClassVar[float] = 0.0
    accepted: ClassVar[str]  # what a success means, told to an operator (``alerts send``)

    def __init__(self, poster: PayloadPoster) -> None:
        self.poster = poster

    @staticmethod
    @abstractmethod
    def render(message: Message) -> JsonObject:
        """The webhook's body for ``message``, within the platform's limits."""

    @staticmethod
    @abstractmethod
    def answered(where: str, status: int, body: str) -> str | None:
        """See ``WebhookRules.answered``."""

    def send(self, channel: Channel, message: Message) -> None:
        self.poster.send(channel, self.render(message), self)

"""Notifier adapters: each channel kind renders the channel-neutral Message in its own wire format and posts it.

One module per channel kind (``slack.py``, ``teams.py``): a ``WebhookNotifier`` holding the kind's wire rules
(payload, pacing, which answers mean accepted), over the shared HTTP poster (``shared/adapters/webhooks.py``). A new
channel kind is its module, its line in ``NOTIFIERS`` and its ``ChannelKind`` member (shared/domain/routes.py).
"""

from __future__ import annotations

from collections.abc import Callable

from shared.adapters.notifiers.base import PayloadPoster, WebhookNotifier
from shared.adapters.notifiers.slack import SlackNotifier
from shared.adapters.notifiers.teams import TeamsNotifier
from shared.domain.alerts import Message
from shared.domain.events import JsonObject
from shared.domain.routes import ChannelKind
from shared.ports import Notifier

__all__ = ["NOTIFIERS", "RENDERERS", "PayloadPoster", "WebhookNotifier", "webhook_notifiers"]

# every channel kind the app can post to, by its notifier
NOTIFIERS: dict[ChannelKind, type[WebhookNotifier]] = {
    n.kind: n
    for n in (
        TeamsNotifier,
        SlackNotifier,
    )
}
# each kind's rendering alone: the demo and the bench write or record payloads instead of posting them
RENDERERS: dict[str, Callable[[Message], JsonObject]] = {kind: n.render for kind, n in NOTIFIERS.items()}


def webhook_notifiers(poster: PayloadPoster) -> dict[str, Notifier]:
    """A notifier per known channel kind over one HTTP poster (one pacing state for every channel)."""
    return {kind: notifier(poster) for kind, notifier in NOTIFIERS.items()}

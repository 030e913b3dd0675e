"""``alerts send``: one clearly-marked test message to a route's real webhooks (CLI only).

The message is a sample of a real kind, rendered by the same functions and posted by the same sender as
``notify_channels`` (``shared/adapters/webhooks.py``), marked "modelwatch test message: ..." so nobody acts on it.
Nothing is recorded in the ledger. Each channel's answer is reported by route and kind, never by URL (a secret).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TextIO

from shared.adapters.notifiers import PayloadPoster, webhook_notifiers
from shared.config import Settings
from shared.domain.alerts import Message
from shared.domain.routes import DEFAULT_ROUTE, ChannelKind, channels_of
from shared.errors import SettingsError, WebhookError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_KIND = "catalog-released"  # short and informational: nobody is paged by a test
MARK = "modelwatch test message: "


def marked_message(kind: str | None) -> Message:
    """The first message of the sample ``kind``, marked as a test in its headline and notification text."""
    from shared.presentation.alert_samples import sample_messages

    (message, *_) = sample_messages()[kind or DEFAULT_KIND]
    return replace(
        message,
        title=MARK + message.title,
        text=MARK + message.text,
        todo=("Nothing to do: this is a test of the alert route. " + message.todo).strip(),
    )


def send_test(
    settings: Settings, route_name: str, kind: str | None, out: TextIO, *, sender: PayloadPoster | None = None
) -> int:
    """Post the test message to each webhook of the route. 0 all sent, 1 one refused, 2 no such route or no
    webhook configured for it."""
    routes = settings.routes
    route = routes.get(route_name)
    if route is None:
        raise SettingsError(
            [
                f"no route {route_name!r}; configured: {', '.join(sorted(routes))} (ALERT_ROUTES names the others)"
            ]
        )
    channels = channels_of(route)
    if not channels:
        where = (
            "TEAMS_WEBHOOK_URL and SLACK_WEBHOOK_URL are"
            if route.name == DEFAULT_ROUTE
            else f"ALERT_ROUTES.{route.name} has"
        )
        raise SettingsError([f"route {route.name} has no webhook here: {where} not set (or not resolved)"])
    if sender is None:
        from shared.adapters.webhooks import WebhookSender

        sender = WebhookSender()  # the app's sender: retries, pacing, URLs never in an error
    notifiers = webhook_notifiers(sender)  # the app's notifiers: each renders its own format
    message = marked_message(kind)
    out.write(f"Sending {message.kind!r} as a test message to route {route.name}\n")
    refused = 0
    for channel in channels:
        try:
            notifiers[channel.kind].send(channel, message)
        except WebhookError as exc:
            refused += 1
            reason = exc.reason or (f"HTTP {exc.status}" if exc.status else "")
            out.write(f"  {channel.kind:<5}  refused: {reason or 'no answer'} ({exc})\n")
            continue
        answer = (
            "sent (Teams accepted it: the flow posts it; a failing flow shows in its run history)"
            if channel.kind == ChannelKind.TEAMS
            else "sent (Slack answered ok)"
        )
        out.write(f"  {channel.kind:<5}  {answer}\n")
    return EXIT_FAILED if refused else EXIT_OK

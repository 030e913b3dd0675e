"""``alerts send``: one clearly-marked test message to a route's real webhooks (CLI only).

The message is a sample of a real kind, rendered by the same functions and posted by the same sender as
``notify_channels`` (``shared/adapters/webhooks.py``), marked "modelwatch test message: ..." so nobody acts on it.
Nothing is recorded in the ledger. Each channel's answer is reported by route and kind, never by URL (a secret).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from shared.adapters.notifiers import PayloadPoster, webhook_notifiers
from shared.config import Settings
from shared.domain.alerts import Message, mentioned
from shared.domain.routes import DEFAULT_ROUTE, ChannelKind, channels_of
from shared.errors import SettingsError, WebhookError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_KIND = "catalog-released"  # short and informational: nobody is paged by a test
MARK = "modelwatch test message: "


def marked_message(kind: str | None) -> Message:
    """The first message of the sample ``kind``, marked as a test in its headline and notification text. Its
    call to action is the test's own: a sample's "what to do" (move callers, run a rollback) would be an order
    nobody should follow."""
    from shared.presentation.alert_samples import sample_messages

    (message, *_) = sample_messages()[kind or DEFAULT_KIND]
    return replace(
        message,
        title=MARK + message.title,
        text=MARK + message.text,
        todo="Nothing to do: this is a test of the alert route.",
        command="",
    )


@dataclass(frozen=True)
class ChannelAnswer:
    """What one channel of the route answered to the test message."""

    channel: str  # "teams" or "slack"
    sent: bool
    detail: str  # the service's answer, never the URL

    def to_json(self) -> dict[str, object]:
        return {"channel": self.channel, "outcome": "sent" if self.sent else "refused", "detail": self.detail}


@dataclass(frozen=True)
class TestSend:
    route: str
    kind: str
    answers: tuple[ChannelAnswer, ...]

    @property
    def exit_code(self) -> int:
        return EXIT_OK if all(a.sent for a in self.answers) else EXIT_FAILED

    def to_json(self) -> dict[str, object]:
        return {
            "route": self.route,
            "kind": self.kind,
            "ok": self.exit_code == EXIT_OK,
            "channels": [a.to_json() for a in self.answers],
        }

    def lines(self) -> str:
        return f"Sent {self.kind!r} as a test message to route {self.route}\n" + "".join(
            f"  {a.channel:<5}  {'sent' if a.sent else 'refused'}: {a.detail}\n" for a in self.answers
        )


def send_test(
    settings: Settings, route_name: str, kind: str | None, *, sender: PayloadPoster | None = None
) -> TestSend:
    """Post the test message to each webhook of the route, and say what each answered (exit 0 all sent, 1 one
    refused). SettingsError (exit 2) for no such route, or no webhook configured for it."""
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
    # a critical kind mentions the route's people, as the real message would: the test shows the ids resolve
    message = mentioned(marked_message(kind), route.mentions)
    answers: list[ChannelAnswer] = []
    for channel in channels:
        try:
            notifiers[channel.kind].send(channel, message)
        except WebhookError as exc:
            # said here, for a person at a terminal: the sender's own message speaks of the app's delivery
            # (Event Grid redelivering), which does not happen to a test sent from the command line
            reason = exc.reason or (f"HTTP {exc.status}" if exc.status else "") or "no answer"
            after = "; a passing failure (the sender retried it): send the test again later"
            answers.append(ChannelAnswer(channel.kind, False, reason + (after if exc.is_transient else "")))
            continue
        answers.append(
            ChannelAnswer(
                channel.kind,
                True,
                "Teams accepted it: the flow posts it; a failing flow shows in its run history"
                if channel.kind == ChannelKind.TEAMS
                else "Slack answered ok",
            )
        )
    return TestSend(route.name, message.kind, tuple(answers))

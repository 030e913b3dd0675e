"""``alerts preview``: the Slack and Teams payloads of sample messages; ``alerts send``: one clearly-marked test
message to a route's real webhooks.

The message is a sample of a real kind, rendered by the same functions and posted by the same sender as
``notify_channels`` (``shared/adapters/webhooks.py``), marked "modelwatch test message: ..." so nobody acts on it.
Nothing is recorded in the ledger. Each channel's answer is reported by route and kind, never by URL (a secret).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TextIO

from shared.cli.args import Subcommands, describe_command
from shared.cli.context import EXIT_FAILED, EXIT_OK, UsageError, command_context, prog
from shared.cli.output import documented, emit
from shared.config import Settings
from shared.domain.alerts import Message, mentioned
from shared.domain.routes import DEFAULT_ROUTE, ChannelKind, channels_of
from shared.errors import SettingsError, WebhookError

if TYPE_CHECKING:  # the notifiers (and their renderers) load when a test is sent, not for --help
    from shared.adapters.notifiers import PayloadPoster

DEFAULT_KIND = "catalog-released"  # short and informational: nobody is paged by a test
BOTH = "both"  # --channel: every kind preview renders
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

    channel: ChannelKind
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
    from shared.adapters.notifiers import NOTIFIERS, webhook_notifiers

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
        answers.append(ChannelAnswer(channel.kind, True, NOTIFIERS[channel.kind].accepted))
    return TestSend(route.name, message.kind, tuple(answers))


# description and example of each command (--help): (description, example lines)
HELP: dict[str, tuple[str, str]] = {
    "alerts": (
        "Alert tools: preview the payloads of every message kind, or send a test message to a route.",
        "modelwatch alerts preview --kind team-broken\nmodelwatch alerts send --route default",
    ),
    "alerts preview": (
        "Print the Slack and Teams payloads of sample events, to paste into Slack's Block Kit Builder or the "
        "Adaptive Cards designer. --kind with no value lists the kinds.",
        "modelwatch alerts preview --kind team-retirement-approaching --channel slack\nmodelwatch alerts preview --kind",
    ),
    "alerts send": (
        "Post one clearly-marked test message ('modelwatch test message: ...') to the configured webhooks of a "
        "route, with the same sender as the app, and report each channel's answer (never its URL).",
        "modelwatch alerts send --route default\nmodelwatch alerts send --route payments --kind team-broken",
    ),
}


def _kinds_text(kinds: Sequence[str]) -> str:
    return "kinds:\n" + "".join(f"  {k}\n" for k in sorted(kinds))


def choose_kind(kind: str | None, args: argparse.Namespace, out: TextIO) -> list[str] | None:
    """The sample kinds --kind picks: all for none; the list of kinds (printed, then None) for an empty value;
    a UsageError listing them for an unknown one."""
    from shared.presentation.alert_samples import sample_messages

    known = list(sample_messages())
    if kind is None:
        return known
    if not kind:
        emit(args, sorted(known), out, lambda o: o.write(_kinds_text(known)))
        return None
    if kind not in known:
        raise UsageError(f"unknown kind {kind!r}; " + _kinds_text(known).rstrip("\n"))
    return [kind]


def cmd_alerts_preview(args: argparse.Namespace, out: TextIO) -> int:
    """Print the Slack and Teams payloads of sample events, to paste into Block Kit Builder or the card designer.
    The table view heads each payload with a comment line; -o json is one document (a list, one item a sample)."""
    from shared.presentation.alert_samples import sample_messages
    from shared.presentation.slack import slack_payload
    from shared.presentation.teams import teams_payload

    kinds = choose_kind(args.kind, args, out)
    if kinds is None:
        return EXIT_OK
    chosen = sample_messages()
    samples: list[dict[str, object]] = []
    for name in kinds:
        for message in chosen[name]:
            sample: dict[str, object] = {
                "sample": name,
                "kind": message.kind,
                "severity": message.severity.label,
            }
            if args.channel in (ChannelKind.SLACK, BOTH):
                sample[ChannelKind.SLACK] = slack_payload(message)
            if args.channel in (ChannelKind.TEAMS, BOTH):
                sample[ChannelKind.TEAMS] = teams_payload(message)
            samples.append(sample)

    def table(o: TextIO) -> None:
        for sample in samples:
            o.write(f"# {sample['sample']}: {sample['kind']}, severity {sample['severity']}\n")
            if ChannelKind.SLACK in sample:
                o.write("## Slack (paste into https://app.slack.com/block-kit-builder)\n")
                o.write(json.dumps(sample[ChannelKind.SLACK], indent=2, ensure_ascii=False) + "\n")
            if ChannelKind.TEAMS in sample:
                o.write(
                    "## Teams Workflows (the card is attachments[0].content: https://adaptivecards.microsoft.com/designer)\n"
                )
                o.write(json.dumps(sample[ChannelKind.TEAMS], indent=2, ensure_ascii=False) + "\n")
            o.write("\n")

    emit(args, samples, out, table)
    return EXIT_OK


def cmd_alerts_send(args: argparse.Namespace, out: TextIO) -> int:
    """Post one test message to the route's real webhooks and report each channel's answer."""
    kinds = choose_kind(args.kind, args, out)
    if kinds is None:
        return EXIT_OK
    ctx = command_context(args)
    notes = sys.stderr if documented(args) else out
    for note in ctx.notes:
        notes.write(f"note: {note}\n")
    result = send_test(ctx.settings, args.route, kinds[0] if args.kind else None)
    emit(args, result.to_json(), out, lambda o: o.write(result.lines()))
    return result.exit_code


def register(subparsers: Subcommands) -> None:
    """Add ``alerts preview`` and ``alerts send``."""
    alerts = subparsers.add_parser("alerts", help="alert tools: preview payloads, send a test message")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ALERTS_COMMAND")
    preview = alerts_sub.add_parser("preview", help="print the Slack and Teams payloads of sample events")
    preview.add_argument(
        "--kind",
        nargs="?",
        const="",
        help="one sample only (e.g. team-retirement-approaching); no value: list the kinds",
    )
    # slack first, as the help has always listed them (ChannelKind's order is teams, slack)
    preview.add_argument("--channel", choices=(ChannelKind.SLACK, ChannelKind.TEAMS, BOTH), default=BOTH)
    preview.set_defaults(handler=cmd_alerts_preview)
    send = alerts_sub.add_parser("send", help="post a test message to a route's configured webhooks")
    send.add_argument("--route", required=True, help="the route: default, or a name from ALERT_ROUTES")
    send.add_argument(
        "--kind",
        nargs="?",
        const="",
        help="the sample message to send (default: a short one); no value: list the kinds",
    )
    send.set_defaults(handler=cmd_alerts_send)
    describe_command(alerts, HELP["alerts"], prog())
    describe_command(preview, HELP["alerts preview"], prog())
    describe_command(send, HELP["alerts send"], prog())

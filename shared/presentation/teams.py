"""Messages rendered for Teams: a Workflows webhook message wrapping one Adaptive Card, within Teams' limits.

Limits (learn.microsoft.com, Teams "Format cards" and incoming webhooks): about 28 KB a message, Adaptive Card 1.4
or lower. Long lists are summarised with a count; a card still over its budget has every text shortened until it
fits, so the whole message stays under 28 KB.

Every text is outside text to the renderer (names, tags, catalog fields, ARM's errors and settings reach it inside
the message). So (besides ``alerts.inert`` on tenant strings) ``[``, ``]``, ``*``, ``_`` and ``<`` are followed by
a zero-width space, so ``[text](url)`` is no link, ``**x**`` no emphasis and ``<at>name</at>`` no mention; ``://``
is broken the same way, so no bare URL is linked. The command is a ``TextRun``, which Adaptive Cards never read as
markdown, so it is copied exactly. The message's links (``message.links``) are the only links, and its ``mentions``
(a critical message's, from the route's validated settings) the only mentions: ``<at>name</at>`` with its
``msteams.entities`` entry, each id and name checked again here.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

from shared.domain.alerts import RETIREMENTS_URL, Message
from shared.domain.events import JsonObject, JsonValue
from shared.domain.routes import TeamsMention, teams_mention_problem
from shared.domain.severity import Severity
from shared.presentation.common import ZWSP, cut, fit_items, items_title, links, no_bare_links

TEAMS_BYTES_BUDGET = 24_000  # under the ~28 KB Teams accepts, with room for the Workflows envelope

_STYLE = {Severity.CRITICAL: "attention", Severity.WARNING: "warning", Severity.INFO: "accent"}
_MARKS = re.compile(r"([\[\]*_<])(?!\u200b)")


def _text(text: str) -> str:
    """Any text for an Adaptive Card TextBlock or FactSet: no markdown link, emphasis, bare URL or <at> mention."""
    return _MARKS.sub(r"\1" + ZWSP, no_bare_links(text))


def _no_code_spans(message: Message) -> Message:
    """Adaptive Cards' markdown has no code spans: a `command` would show its backticks. Commands go in their own
    monospace block; elsewhere the backticks are dropped (tenant strings keep theirs, made inert by alerts.inert).
    Then every text is made inert for Teams' markdown (``_text``)."""

    def plain(text: str) -> str:
        return _text(text.replace("`\u200b", "\x00").replace("`", "").replace("\x00", "`\u200b"))

    return replace(
        message,
        title=plain(message.title),
        text=plain(message.text),
        facts=tuple((plain(k), plain(v)) for k, v in message.facts),
        happens=plain(message.happens),
        todo=plain(message.todo),
        items=tuple(plain(i) for i in message.items),
        items_title=plain(message.items_title),
    )


def _shortened(message: Message, limit: int) -> Message:
    """Every text of ``message`` within ``limit`` characters (the list is fitted separately)."""
    return replace(
        message,
        title=cut(message.title, limit),
        text=cut(message.text, limit),
        facts=tuple((cut(k, limit), cut(v, limit)) for k, v in message.facts),
        happens=cut(message.happens, limit),
        todo=cut(message.todo, limit),
        command=cut(message.command, limit),
        items=tuple(cut(i, limit) for i in message.items),
        items_title=cut(message.items_title, limit),
    )


def _msteams(mentions: list[TeamsMention]) -> JsonObject:
    if not mentions:
        return {"width": "Full"}
    entities: list[JsonValue] = [
        {"type": "mention", "text": f"<at>{m.name}</at>", "mentioned": {"id": m.id, "name": m.name}}
        for m in mentions
    ]
    return {"width": "Full", "entities": entities}


def teams_payload(message: Message) -> JsonObject:
    """A Teams Workflows webhook body: a message wrapping one Adaptive Card (version 1.4), within TEAMS_BYTES_BUDGET:
    the list is cut first, then every text shortened (long names, ARM's errors) until the whole card fits."""
    message = _no_code_spans(message)
    for limit in (None, 2000, 1000, 500, 250, 120, 60):
        shortened = message if limit is None else _shortened(message, limit)
        payload = _card(shortened)
        if len(json.dumps(payload).encode("utf-8")) <= TEAMS_BYTES_BUDGET:
            return payload
    return payload  # 60 characters a text and a fitted list: only a message with thousands of facts is over


def teams_mentions(message: Message) -> list[TeamsMention]:
    """The message's Teams mentions whose id and name pass the settings' check again."""
    return [m for m in message.mentions.teams if teams_mention_problem(m.id, m.name) is None]


def _heading(message: Message) -> JsonObject:
    return {
        "type": "Container",
        "style": _STYLE[message.severity],
        "bleed": True,
        "items": [
            {
                "type": "TextBlock",
                "text": message.title,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {
                "type": "TextBlock",
                "text": f"{message.severity.label.upper()} · modelwatch",
                "isSubtle": True,
                "size": "Small",
                "spacing": "None",
                "wrap": True,
            },
        ],
    }


def _body(message: Message, mentions: list[TeamsMention], items_line: str) -> list[JsonValue]:
    body: list[JsonValue] = [_heading(message)]
    if mentions:
        # Teams binds each <at>name</at> to the msteams.entities entry with the same text (cards-format)
        text = " ".join(f"<at>{m.name}</at>" for m in mentions)
        body.append({"type": "TextBlock", "text": text, "wrap": True, "spacing": "Small"})
    if message.facts:
        body.append({"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in message.facts]})
    # a bold label over plain text, rather than inline markdown: reads the same on every Teams client
    for label, text in (("What happens", message.happens), ("What to do", message.todo)):
        if text:
            body.append(
                {"type": "TextBlock", "text": label, "weight": "Bolder", "wrap": True, "spacing": "Medium"}
            )
            body.append({"type": "TextBlock", "text": text, "wrap": True, "spacing": "None"})
    if message.command:
        body.append(
            {
                "type": "Container",
                "style": "emphasis",
                "spacing": "Small",
                # a TextRun is never read as markdown: the command shows, and is copied, exactly as it is
                "items": [
                    {
                        "type": "RichTextBlock",
                        "inlines": [{"type": "TextRun", "text": message.command, "fontType": "Monospace"}],
                    }
                ],
            }
        )
    if items_line:
        label = items_title(message)
        body.append(
            {"type": "TextBlock", "text": label, "weight": "Bolder", "wrap": True, "spacing": "Medium"}
        )
        for line in items_line.split("\n"):  # a TextBlock per line: line breaks render alike everywhere
            body.append({"type": "TextBlock", "text": line, "wrap": True, "spacing": "None"})
    return body


def _card(message: Message) -> JsonObject:
    mentions = teams_mentions(message)

    def card(items_line: str) -> JsonObject:
        actions: list[JsonValue] = [
            {"type": "Action.OpenUrl", "title": t, "url": u}
            for t, u in [*links(message), ("Azure OpenAI model retirements", RETIREMENTS_URL)]
        ]
        content: JsonObject = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "msteams": _msteams(mentions),
            "body": _body(message, mentions, items_line),
            "actions": actions,
        }
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": content,
                }
            ],
        }

    def size(line: str) -> int:
        return len(json.dumps(card(line)).encode("utf-8"))

    line = fit_items(message, TEAMS_BYTES_BUDGET, size) if message.items else ""
    return card(line)

"""Messages rendered for Slack (Block Kit) and Teams (an Adaptive Card in a Workflows message), within limits.

Limits (azure-facts §6): Slack 50 blocks, 3,000 characters a section text, 150 a header, 10 fields of 2,000;
Teams about 28 KB a message, Adaptive Card 1.4 or lower. Long lists are summarised with a count ("and 12 more"),
cut between items, never inside one; so a payload is always valid JSON of a valid shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from shared.domain.alerts import RETIREMENTS_URL, Message, summarise
from shared.domain.events import JsonObject, JsonValue
from shared.domain.severity import Severity

SLACK_HEADER_LIMIT = 150
SLACK_SECTION_LIMIT = 3000
SLACK_FIELD_LIMIT = 2000
SLACK_MAX_FIELDS = 10
SLACK_MAX_BLOCKS = 50
TEAMS_BYTES_BUDGET = 24_000  # under the ~28 KB Teams accepts, with room for the Workflows envelope
ITEM_LIMIT = 200  # characters of one list item

_SLACK_MARK = {
    Severity.CRITICAL: ":red_circle:",
    Severity.WARNING: ":large_orange_circle:",
    Severity.INFO: ":large_blue_circle:",
}
_TEAMS_STYLE = {Severity.CRITICAL: "attention", Severity.WARNING: "warning", Severity.INFO: "accent"}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _slack_escape(text: str) -> str:
    # mrkdwn control characters; everything else passes through
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _items_line(items: list[str], more: int, *, lines: bool = False) -> str:
    if (
        lines
    ):  # an item starting "  → " belongs to the one above it: indented under it, not a bullet of its own
        text = "\n".join(
            f"    ↳ {_cut(i[4:], ITEM_LIMIT)}" if i.startswith("  → ") else f"• {_cut(i, ITEM_LIMIT)}"
            for i in items
        )
        return text + (f"\n… and {more} more" if more else "")
    line = ", ".join(_cut(i, ITEM_LIMIT) for i in items)
    return line + (f" … and {more} more" if more else "")


def _items_title(message: Message) -> str:
    return f"{message.items_title} ({len(message.items)})" if message.count_items else message.items_title


def _fit_items(message: Message, budget: int, render: Callable[[str], int]) -> str:
    """The longest prefix of the list whose rendering stays within ``budget`` characters."""
    limit = len(message.items)
    while True:
        shown, more = summarise(message.items, limit)
        text = _items_line(shown, more, lines=message.items_as_lines)
        if render(text) <= budget or limit == 0:
            return text
        limit = max(0, limit // 2 if limit > 8 else limit - 1)


def slack_payload(message: Message) -> JsonObject:
    """An incoming-webhook body: ``text`` (the notification) plus Block Kit ``blocks``."""
    header = f"{message.title}"
    blocks: list[JsonValue] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(header, SLACK_HEADER_LIMIT), "emoji": True},
        },
    ]
    fields: list[JsonValue] = [
        {"type": "mrkdwn", "text": _cut(f"*{_slack_escape(k)}:*\n{_slack_escape(v)}", SLACK_FIELD_LIMIT)}
        for k, v in message.facts[:SLACK_MAX_FIELDS]
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    for label, text in (("What happens", message.happens), ("What to do", message.todo)):
        if text:
            blocks.append(_section(f"*{label}:* {_slack_escape(text)}"))
    if message.command:  # a backtick in it would end the code block early
        command = message.command.replace("`", "ˋ")
        blocks.append(_section(f"```{_cut(command, SLACK_SECTION_LIMIT - 6)}```"))
    if message.items:
        title = f"*{_slack_escape(_items_title(message))}:*" + ("\n" if message.items_as_lines else " ")
        line = _fit_items(message, SLACK_SECTION_LIMIT, lambda t: len(title) + len(_slack_escape(t)))
        blocks.append(_section(title + _slack_escape(line)))
    if message.links:
        # the URLs are this app's own (STATUS_PAGE_URL), not tenant text; the titles are ours
        blocks.append(_section(" · ".join(f"<{url}|{title}>" for title, url in message.links)))
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{_SLACK_MARK[message.severity]} {message.severity.label} · modelwatch",
                }
            ],
        }
    )
    return {
        "text": _cut(_slack_escape(message.text), SLACK_SECTION_LIMIT),
        "blocks": blocks[:SLACK_MAX_BLOCKS],
    }


def _section(text: str) -> JsonObject:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SLACK_SECTION_LIMIT)}}


def _no_code_spans(message: Message) -> Message:
    """Adaptive Cards' markdown has no code spans: a `command` would show its backticks. Commands go in their own
    monospace block; elsewhere the backticks are dropped (tenant strings keep theirs, made inert by alerts._t)."""

    def plain(text: str) -> str:
        return text.replace("`\u200b", "\x00").replace("`", "").replace("\x00", "`\u200b")

    return replace(
        message,
        title=plain(message.title),
        text=plain(message.text),
        facts=tuple((plain(k), plain(v)) for k, v in message.facts),
        happens=plain(message.happens),
        todo=plain(message.todo),
        items=tuple(plain(i) for i in message.items),
    )


def teams_payload(message: Message) -> JsonObject:
    """A Teams Workflows webhook body: a message wrapping one Adaptive Card (version 1.4)."""
    message = _no_code_spans(message)

    def card(items_line: str) -> JsonObject:
        body: list[JsonValue] = [
            {
                "type": "Container",
                "style": _TEAMS_STYLE[message.severity],
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
        ]
        if message.facts:
            body.append({"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in message.facts]})
        # a bold label over plain text, rather than inline markdown: reads the same on every Teams client
        for label, text in (("What happens", message.happens), ("What to do", message.todo)):
            if text:
                body.append(
                    {
                        "type": "TextBlock",
                        "text": label,
                        "weight": "Bolder",
                        "wrap": True,
                        "spacing": "Medium",
                    }
                )
                body.append({"type": "TextBlock", "text": text, "wrap": True, "spacing": "None"})
        if message.command:
            body.append(
                {
                    "type": "Container",
                    "style": "emphasis",
                    "spacing": "Small",
                    "items": [
                        {"type": "TextBlock", "text": message.command, "fontType": "Monospace", "wrap": True}
                    ],
                }
            )
        if items_line:
            label = _items_title(message)
            body.append(
                {"type": "TextBlock", "text": label, "weight": "Bolder", "wrap": True, "spacing": "Medium"}
            )
            for line in items_line.split("\n"):  # a TextBlock per line: line breaks render alike everywhere
                body.append({"type": "TextBlock", "text": line, "wrap": True, "spacing": "None"})
        links = [*message.links, ("Azure OpenAI model retirements", RETIREMENTS_URL)]
        actions: list[JsonValue] = [{"type": "Action.OpenUrl", "title": t, "url": u} for t, u in links]
        content: JsonObject = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "msteams": {"width": "Full"},
            "body": body,
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

    line = _fit_items(message, TEAMS_BYTES_BUDGET, size) if message.items else ""
    return card(line)

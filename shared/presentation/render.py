"""Messages rendered for Slack (Block Kit) and Teams (an Adaptive Card in a Workflows message), within limits.

Limits (azure-facts §6): Slack 50 blocks, 3,000 characters a section text, 150 a header, 10 fields of 2,000;
Teams about 28 KB a message, Adaptive Card 1.4 or lower. Long lists are summarised with a count ("and 12 more"),
cut between items, never inside one; so a payload is always valid JSON of a valid shape. A Teams card still over
its budget has every text shortened until it fits, so the whole message stays under 28 KB.

Every text is outside text to the renderer: names, tags, catalog fields, ARM's errors and settings reach it
inside the message. So, for each channel (besides ``alerts.inert`` on tenant strings):
- Slack: ``&``, ``<`` and ``>`` escaped in every mrkdwn text, code blocks included (Slack reads ``<!channel>`` and
  ``<url|text>`` there too), so no mention or link comes from the text; ``verbatim`` stops Slack's own linking of
  bare URLs and channel names; ``*``, ``_`` and ``~`` are followed by a zero-width space (shown, but no emphasis).
  Cuts never split an entity (``&lt;``) or a character from its zero-width space.
- Teams: ``[``, ``]``, ``*`` and ``_`` are followed by a zero-width space, so ``[text](url)`` is no link and
  ``**x**`` no emphasis; ``://`` is broken the same way in both channels, so no bare URL is linked. The command
  is a ``TextRun``, which Adaptive Cards never read as markdown, so it is copied exactly.
- Teams: ``<`` is followed by a zero-width space too, so ``<at>name</at>`` in outside text is no mention.
The links a message carries (``message.links``: this app's status page) are the only links rendered, and its
``mentions`` (a critical message's, from the route's validated settings: ``alerts.mentioned``) the only mentions:
Slack ``<@U…>`` / ``<!subteam^S…>``, Teams ``<at>name</at>`` with its ``msteams.entities`` entry. Each id is checked
again here, so no other string can become one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace

from shared.domain.alerts import RETIREMENTS_URL, Message, summarise
from shared.domain.events import JsonObject, JsonValue
from shared.domain.routes import SLACK_GROUP_ID, TeamsMention, slack_id_problem, teams_mention_problem
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


_ZWSP = "\u200b"
_SLACK_MARKS = re.compile(r"([*_~])(?!\u200b)")
_TEAMS_MARKS = re.compile(r"([\[\]*_<])(?!\u200b)")
_SCHEME_SLASHES = re.compile(r"://")
_OPEN_ENTITY = re.compile(r"&[a-z]{0,4}$")


def _cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, ending in "…" when cut: never inside an entity (``&lt;``), and never
    between a markup character and the zero-width space that makes it inert."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    head = _OPEN_ENTITY.sub("", head)
    if text[len(head) : len(head) + 1] == _ZWSP:
        head = head[:-1]
    return head.rstrip() + "…"


def _no_bare_links(text: str) -> str:
    return _SCHEME_SLASHES.sub(":/" + _ZWSP + "/", text)


def _slack_code(text: str) -> str:
    """Text inside a Slack code block: Slack still reads <...> there; no zero-width spaces (it is copied)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_escape(text: str) -> str:
    """Any text for a Slack mrkdwn field: entities escaped, emphasis and bare URLs made inert."""
    return _SLACK_MARKS.sub(r"\1" + _ZWSP, _no_bare_links(_slack_code(text)))


def _teams_text(text: str) -> str:
    """Any text for an Adaptive Card TextBlock or FactSet: no markdown link, emphasis, bare URL or <at> mention."""
    return _TEAMS_MARKS.sub(r"\1" + _ZWSP, _no_bare_links(text))


def _slack_url(url: str) -> str:
    """A URL inside <url|title>: nothing in it may end the link or start another."""
    return url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


URL_LIMIT = 2000  # a longer link is left out whole, never cut (a cut <url|title> would show as text)


def _links(message: Message) -> list[tuple[str, str]]:
    return [(title, url) for title, url in message.links if len(url) <= URL_LIMIT]


def _mrkdwn(text: str) -> JsonObject:
    # verbatim: Slack does not turn bare URLs, #channels or @mentions in the text into links
    return {"type": "mrkdwn", "text": text, "verbatim": True}


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


def slack_mentions(message: Message) -> str:
    """The message's Slack mentions (``<!subteam^S…>`` for a user group, ``<@U…>`` for a user), space-separated.
    Slack still reads them with ``verbatim`` on (it only stops its own linking of plain text)."""
    ids = [i for i in message.mentions.slack if slack_id_problem(i) is None]
    return " ".join(f"<!subteam^{i}>" if SLACK_GROUP_ID.fullmatch(i) else f"<@{i}>" for i in ids)


def slack_payload(message: Message) -> JsonObject:
    """An incoming-webhook body: ``text`` (the notification) plus Block Kit ``blocks``."""
    header = f"{message.title}"
    blocks: list[JsonValue] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(header, SLACK_HEADER_LIMIT), "emoji": True},
        },
    ]
    mentions = slack_mentions(message)
    if mentions:  # right under the header: never among the blocks cut at 50
        blocks.append(_section(mentions))
    fields: list[JsonValue] = [
        _mrkdwn(_cut(f"*{_slack_escape(k)}:*\n{_slack_escape(v)}", SLACK_FIELD_LIMIT))
        for k, v in message.facts[:SLACK_MAX_FIELDS]
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    for label, text in (("What happens", message.happens), ("What to do", message.todo)):
        if text:
            blocks.append(_section(f"*{label}:* {_slack_escape(text)}"))
    if message.command:  # a backtick in it would end the code block early
        command = _slack_code(message.command.replace("`", "ˋ"))
        blocks.append(_section(f"```{_cut(command, SLACK_SECTION_LIMIT - 6)}```"))
    if message.items:
        title = f"*{_slack_escape(_items_title(message))}:*" + ("\n" if message.items_as_lines else " ")
        line = _fit_items(message, SLACK_SECTION_LIMIT, lambda t: len(title) + len(_slack_escape(t)))
        blocks.append(_section(title + _slack_escape(line)))
    if _links(message):
        # the URLs are this app's own (STATUS_PAGE_URL), not tenant text; the titles are ours
        line = ""
        for title, url in _links(message):  # whole links only: a cut one would show as text
            link = f"<{_slack_url(url)}|{_slack_code(title)}>"
            if len(line) + len(link) + 3 <= SLACK_SECTION_LIMIT:
                line = f"{line} · {link}" if line else link
        blocks.append(_section(line))
    blocks.append(
        {
            "type": "context",
            "elements": [_mrkdwn(f"{_SLACK_MARK[message.severity]} {message.severity.label} · modelwatch")],
        }
    )
    # the notification text carries the mentions too: it is what the push notification shows
    lead = f"{mentions} " if mentions else ""
    return {
        "text": lead + _cut(_slack_escape(message.text), SLACK_SECTION_LIMIT - len(lead)),
        "blocks": blocks[:SLACK_MAX_BLOCKS],
    }


def _section(text: str) -> JsonObject:
    return {"type": "section", "text": _mrkdwn(_cut(text, SLACK_SECTION_LIMIT))}


def _no_code_spans(message: Message) -> Message:
    """Adaptive Cards' markdown has no code spans: a `command` would show its backticks. Commands go in their own
    monospace block; elsewhere the backticks are dropped (tenant strings keep theirs, made inert by alerts.inert).
    Then every text is made inert for Teams' markdown (``_teams_text``)."""

    def plain(text: str) -> str:
        return _teams_text(text.replace("`\u200b", "\x00").replace("`", "").replace("\x00", "`\u200b"))

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
        title=_cut(message.title, limit),
        text=_cut(message.text, limit),
        facts=tuple((_cut(k, limit), _cut(v, limit)) for k, v in message.facts),
        happens=_cut(message.happens, limit),
        todo=_cut(message.todo, limit),
        command=_cut(message.command, limit),
        items=tuple(_cut(i, limit) for i in message.items),
        items_title=_cut(message.items_title, limit),
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
        payload = _teams_card(shortened)
        if len(json.dumps(payload).encode("utf-8")) <= TEAMS_BYTES_BUDGET:
            return payload
    return payload  # 60 characters a text and a fitted list: only a message with thousands of facts is over


def teams_mentions(message: Message) -> list[TeamsMention]:
    """The message's Teams mentions whose id and name pass the settings' check again."""
    return [m for m in message.mentions.teams if teams_mention_problem(m.id, m.name) is None]


def _teams_card(message: Message) -> JsonObject:
    mentions = teams_mentions(message)

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
                    # a TextRun is never read as markdown: the command shows, and is copied, exactly as it is
                    "items": [
                        {
                            "type": "RichTextBlock",
                            "inlines": [
                                {"type": "TextRun", "text": message.command, "fontType": "Monospace"}
                            ],
                        }
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
        links = [*_links(message), ("Azure OpenAI model retirements", RETIREMENTS_URL)]
        actions: list[JsonValue] = [{"type": "Action.OpenUrl", "title": t, "url": u} for t, u in links]
        content: JsonObject = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "msteams": _msteams(mentions),
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

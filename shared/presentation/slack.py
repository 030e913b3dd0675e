"""Messages rendered for Slack: an incoming-webhook body, Block Kit within Slack's limits.

Limits (docs.slack.dev, Block Kit reference): 50 blocks, 3,000 characters a section text, 150 a header, 10 fields
of 2,000. Every text is outside text to the renderer: names, tags, catalog fields, ARM's errors and settings reach
it inside the message. So (besides ``alerts.inert`` on tenant strings) ``&``, ``<`` and ``>`` are escaped in every
mrkdwn text, code blocks included (Slack reads ``<!channel>`` and ``<url|text>`` there too), so no mention or link
comes from the text; ``verbatim`` stops Slack's own linking of bare URLs and channel names; ``*``, ``_`` and ``~``
are followed by a zero-width space (shown, but no emphasis), and so is the ``/`` of ``://`` (no bare URL is linked).
Cuts never split an entity (``&lt;``) or a character from its zero-width space.

The message's links (``message.links``) are the only links, and its ``mentions`` (a critical message's, from the
route's validated settings) the only mentions: ``<@U…>`` / ``<!subteam^S…>``, each id checked again here.
"""

from __future__ import annotations

import re

from shared.domain.alerts import Message
from shared.domain.events import JsonObject, JsonValue
from shared.domain.routes import SLACK_GROUP_ID, slack_id_problem
from shared.domain.severity import Severity
from shared.presentation.common import ZWSP, cut, fit_items, items_title, links, no_bare_links

SLACK_HEADER_LIMIT = 150
SLACK_SECTION_LIMIT = 3000
SLACK_FIELD_LIMIT = 2000
SLACK_MAX_FIELDS = 10
SLACK_MAX_BLOCKS = 50

_MARK = {
    Severity.CRITICAL: ":red_circle:",
    Severity.WARNING: ":large_orange_circle:",
    Severity.INFO: ":large_blue_circle:",
}
_MARKS = re.compile(r"([*_~])(?!\u200b)")


def _code(text: str) -> str:
    """Text inside a Slack code block: Slack still reads <...> there; no zero-width spaces (it is copied)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape(text: str) -> str:
    """Any text for a Slack mrkdwn field: entities escaped, emphasis and bare URLs made inert."""
    return _MARKS.sub(r"\1" + ZWSP, no_bare_links(_code(text)))


def _url(url: str) -> str:
    """A URL inside <url|title>: nothing in it may end the link or start another."""
    return url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def _mrkdwn(text: str) -> JsonObject:
    # verbatim: Slack does not turn bare URLs, #channels or @mentions in the text into links
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> JsonObject:
    return {"type": "section", "text": _mrkdwn(cut(text, SLACK_SECTION_LIMIT))}


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
            "text": {"type": "plain_text", "text": cut(header, SLACK_HEADER_LIMIT), "emoji": True},
        },
    ]
    mentions = slack_mentions(message)
    if mentions:  # right under the header: never among the blocks cut at 50
        blocks.append(_section(mentions))
    fields: list[JsonValue] = [
        _mrkdwn(cut(f"*{_escape(k)}:*\n{_escape(v)}", SLACK_FIELD_LIMIT))
        for k, v in message.facts[:SLACK_MAX_FIELDS]
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    for label, text in (("What happens", message.happens), ("What to do", message.todo)):
        if text:
            blocks.append(_section(f"*{label}:* {_escape(text)}"))
    if message.command:  # a backtick in it would end the code block early
        command = _code(message.command.replace("`", "ˋ"))
        blocks.append(_section(f"```{cut(command, SLACK_SECTION_LIMIT - 6)}```"))
    if message.items:
        title = f"*{_escape(items_title(message))}:*" + ("\n" if message.items_as_lines else " ")
        line = fit_items(message, SLACK_SECTION_LIMIT, lambda t: len(title) + len(_escape(t)))
        blocks.append(_section(title + _escape(line)))
    if links(message):
        # the URLs are this app's own (STATUS_PAGE_URL), not tenant text; the titles are ours
        line = ""
        for title, url in links(message):  # whole links only: a cut one would show as text
            link = f"<{_url(url)}|{_code(title)}>"
            if len(line) + len(link) + 3 <= SLACK_SECTION_LIMIT:
                line = f"{line} · {link}" if line else link
        blocks.append(_section(line))
    blocks.append(
        {
            "type": "context",
            "elements": [_mrkdwn(f"{_MARK[message.severity]} {message.severity.label} · modelwatch")],
        }
    )
    # the notification text carries the mentions too: it is what the push notification shows
    lead = f"{mentions} " if mentions else ""
    return {
        "text": lead + cut(_escape(message.text), SLACK_SECTION_LIMIT - len(lead)),
        "blocks": blocks[:SLACK_MAX_BLOCKS],
    }

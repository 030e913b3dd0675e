"""What the chat renderers (``slack.py``, ``teams.py``) share: cutting a text within a limit, fitting a list into a
budget, the message's own links, bare URLs made inert.

Long lists are summarised with a count ("and 12 more"), cut between items, never inside one; so a payload is always
valid JSON of a valid shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from shared.domain.alerts import Message, summarise

ITEM_LIMIT = 200  # characters of one list item
URL_LIMIT = 2000  # a longer link is left out whole, never cut (a cut <url|title> would show as text)

ZWSP = "\u200b"
_SCHEME_SLASHES = re.compile(r"://")
_OPEN_ENTITY = re.compile(r"&[a-z]{0,4}$")


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, ending in "…" when cut: never inside an entity (``&lt;``), and never
    between a markup character and the zero-width space that makes it inert."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    head = _OPEN_ENTITY.sub("", head)
    if text[len(head) : len(head) + 1] == ZWSP:
        head = head[:-1]
    return head.rstrip() + "…"


def no_bare_links(text: str) -> str:
    """``://`` broken by a zero-width space: no client links a bare URL in outside text."""
    return _SCHEME_SLASHES.sub(":/" + ZWSP + "/", text)


def links(message: Message) -> list[tuple[str, str]]:
    """The message's own links (``message.links``: this app's status page), each short enough to keep whole."""
    return [(title, url) for title, url in message.links if len(url) <= URL_LIMIT]


def items_line(items: list[str], more: int, *, lines: bool = False) -> str:
    if (
        lines
    ):  # an item starting "  → " belongs to the one above it: indented under it, not a bullet of its own
        text = "\n".join(
            f"    ↳ {cut(i[4:], ITEM_LIMIT)}" if i.startswith("  → ") else f"• {cut(i, ITEM_LIMIT)}"
            for i in items
        )
        return text + (f"\n… and {more} more" if more else "")
    line = ", ".join(cut(i, ITEM_LIMIT) for i in items)
    return line + (f" … and {more} more" if more else "")


def items_title(message: Message) -> str:
    return f"{message.items_title} ({len(message.items)})" if message.count_items else message.items_title


def fit_items(message: Message, budget: int, render: Callable[[str], int]) -> str:
    """The longest prefix of the list whose rendering stays within ``budget`` characters."""
    limit = len(message.items)
    while True:
        shown, more = summarise(message.items, limit)
        text = items_line(shown, more, lines=message.items_as_lines)
        if render(text) <= budget or limit == 0:
            return text
        limit = max(0, limit // 2 if limit > 8 else limit - 1)

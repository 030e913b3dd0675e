"""Console output for people: colour on a terminal (rich, when installed), the same words as plain text otherwise.

The demo and the CLI write through ``Console`` so that output piped to a file, a test or a CI log stays plain and
greppable, and NO_COLOR (https://no-color.org) is honoured. rich is optional: the Function App never imports this.
"""

from __future__ import annotations

import os
from typing import TextIO

Segment = str | tuple[str, str]  # text, or (text, rich style such as "bold red")


class Console:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._rich: object | None = None
        if _wants_colour(out):
            try:
                from rich.console import Console as RichConsole
            except ImportError:  # plain text it is
                return
            self._rich = RichConsole(file=out, highlight=False, soft_wrap=True, force_terminal=True)

    @property
    def colour(self) -> bool:
        return self._rich is not None

    def line(self, *segments: Segment) -> None:
        """One line; styles apply only on a colour terminal, the text is the same either way."""
        if self._rich is None:
            self.out.write("".join(s if isinstance(s, str) else s[0] for s in segments) + "\n")
            return
        from rich.console import Console as RichConsole
        from rich.text import Text

        assert isinstance(self._rich, RichConsole)
        self._rich.print(Text.assemble(*segments))

    def json(self, text: str) -> None:
        """A JSON document: highlighted on a colour terminal (``-o jsonc``), as written otherwise."""
        if self._rich is None:
            self.out.write(text)
            return
        from rich.console import Console as RichConsole
        from rich.json import JSON

        assert isinstance(self._rich, RichConsole)
        self._rich.print(JSON(text, indent=2, ensure_ascii=False))


def _wants_colour(out: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())

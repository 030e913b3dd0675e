"""Console output: colour only on a terminal, the same words either way."""

from __future__ import annotations

import io
import re

import pytest

from shared.cli.console import Console


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_text_when_not_a_terminal() -> None:
    out = io.StringIO()
    Console(out).line("  deploy   ", ("AtRisk", "bold red"), " chat-prod: [eastus] stops working")
    assert out.getvalue() == "  deploy   AtRisk chat-prod: [eastus] stops working\n"


def test_colour_on_a_terminal_keeps_the_words_and_brackets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Terminal()
    console = Console(out)
    console.line("  deploy   ", ("AtRisk", "bold red"), " chat-prod: [eastus] stops working")
    assert console.colour
    text = out.getvalue()
    assert "\x1b[1;31mAtRisk\x1b[0m" in text
    assert "[eastus]" in text  # data is never read as markup


def test_no_color_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = Terminal()
    Console(out).line(("Broken", "red"))
    assert out.getvalue() == "Broken\n"


def test_jsonc_is_highlighted_on_a_terminal_and_plain_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.delenv("NO_COLOR", raising=False)
    text = json.dumps({"name": "chat-prod", "days": [1, 2]}, indent=2) + "\n"
    plain = io.StringIO()
    Console(plain).json(text)
    assert plain.getvalue() == text
    out = Terminal()
    Console(out).json(text)
    coloured = out.getvalue()
    assert "\x1b[" in coloured and '"chat-prod"' in coloured
    assert json.loads(re.sub(r"\x1b\[[0-9;]*m", "", coloured)) == json.loads(text)  # the same document

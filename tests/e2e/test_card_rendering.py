"""Every message kind's Teams card, rendered by the real Adaptive Cards renderer in headless Chromium.

Needs chromium (apt-get install -y chromium; the chromium fixture, marker ``chromium``) and npm ci; .ci/run installs
both. Missing, the test fails with the install hint: a rendering check that silently skipped would pass as green.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.render_cards import render_cards, sample_cards

pytestmark = pytest.mark.chromium


def test_every_message_kind_renders_without_errors(tmp_path: Path, chromium: str) -> None:
    cards = sample_cards()
    assert len(cards) >= 14
    results = render_cards(cards, tmp_path, browser=chromium)
    failed = {name: r.errors for name, r in results.items() if not r.ok}
    assert failed == {}
    for name, r in results.items():
        assert r.height > 150, name  # something was drawn
        assert r.screenshot and Path(r.screenshot).stat().st_size > 5_000, name


def test_the_check_can_fail_on_a_broken_card(chromium: str) -> None:
    broken = {
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [{"type": "NoSuchElement", "text": "x"}, {"type": "FactSet"}],
        "actions": [{"type": "Action.OpenUrl", "title": "no url"}],
    }
    (result,) = render_cards({"broken": broken}, browser=chromium).values()
    assert not result.ok and result.errors
    assert any("UnknownElementType" in e for e in result.errors)

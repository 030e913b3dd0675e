"""Documentation cannot drift from the code: events, settings."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

from scripts.gen_event_docs import OUT, render
from shared.config import Settings
from shared.domain.events import EventType

ROOT = Path(__file__).resolve().parents[2]


def test_events_doc_is_generated_from_current_code() -> None:
    assert OUT.read_text(encoding="utf-8") == render(), "run: python scripts/gen_event_docs.py"


def test_every_event_type_has_an_example() -> None:
    text = OUT.read_text(encoding="utf-8")
    for event_type in EventType:
        section = text.split(f"## `{event_type.value}`", 1)[1].split("\n## ", 1)[0]
        assert "```json" in section, event_type


def test_every_setting_is_in_the_sample_and_the_readme() -> None:
    sample = json.loads((ROOT / "local.settings.sample.json").read_text())
    readme = (ROOT / "README.md").read_text()
    for f in fields(Settings):
        name = f.name.upper()
        assert name in sample["Values"], name
        assert name in sample["SettingsHelp"], name
        assert re.search(rf"`{name}`", readme), name


def test_sample_holds_no_secret_values() -> None:
    sample = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    for name in (
        "ARM_BEARER_TOKEN",
        "DATA_PLANE_BEARER_TOKEN",
        "EVENTGRID_TOPIC_KEY",
        "STATE_STORE",
        "WATCH_SUBSCRIPTION_ID",
        "TEAMS_WEBHOOK_URL",
        "SLACK_WEBHOOK_URL",
        "ALERT_ROUTES",
    ):
        assert sample[name] == "", name


def test_every_relative_link_in_the_docs_exists() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert broken == []

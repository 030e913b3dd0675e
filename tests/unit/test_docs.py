"""Documentation cannot drift from the code: events, settings, links and the repository paths it names."""

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


# --- the repository paths the docs name ------------------------------------------------------------------------

PATH_ROOTS = ("shared", "tests", "scripts", "infra")
# the packages of shared/ a doc names without the prefix (`domain/policy/`, `adapters/tables/<port>.py`); shared/data/
# is not one of them: `data/` in a doc may be tests/data/
SHARED_PACKAGES = frozenset(
    p.name for p in (ROOT / "shared").iterdir() if p.is_dir() and p.name not in ("data", "__pycache__")
)
# paths named on purpose though absent: the examples a "How to add" section measured and then removed (each
# marked "hypothetical" where it is named)
HYPOTHETICAL = frozenset({"shared/cli/commands/hello.py"})


def named_paths(text: str) -> list[tuple[int, str]]:
    """(line, repository path) for every path in backticks into shared/, tests/, scripts/ or infra/, or into a
    package of shared/ named without the prefix; ``::name`` and ``:line`` after it dropped."""
    found = []
    for match in re.finditer(r"`([\w.*<>-]+/[^`\s]*)`", text):
        path = re.split(r"::|:", match.group(1))[0].rstrip(".,;")
        first = path.split("/")[0]
        if first in SHARED_PACKAGES:
            path = f"shared/{path}"
        elif first not in PATH_ROOTS:
            continue
        found.append((text.count("\n", 0, match.start()) + 1, path))
    return found


def exists(path: str, root: Path = ROOT) -> bool:
    """A path, or a pattern (``*``, ``**``, a ``<placeholder>`` for one name) that matches something."""
    pattern = re.sub(r"<[^>/]*>", "*", path)
    if "*" not in pattern:
        return (root / pattern).exists()
    return next(root.glob(pattern.rstrip("/")), None) is not None


def test_every_repository_path_the_docs_name_exists() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    stale = [
        f"{page.relative_to(ROOT)}:{line}: {path}"
        for page in pages
        for line, path in named_paths(page.read_text(encoding="utf-8"))
        if path not in HYPOTHETICAL and not exists(path)
    ]
    assert stale == []
    assert [path for path in HYPOTHETICAL if exists(path)] == [], "it exists now: delete its entry"


def test_the_path_rule_reads_prefixes_placeholders_and_globs(tmp_path: Path) -> None:
    text = (
        "`shared/config.py`, `services/notify/`, `tests/unit/test_x.py::test_y`, `shared/a.py:12`,\n"
        "`adapters/<kind>/`, `infra/**/*.bicep`, `docs/x.md`, `python -m shared`, `data/iac`\n"
    )
    assert named_paths(text) == [
        (1, "shared/config.py"),
        (1, "shared/services/notify/"),
        (1, "tests/unit/test_x.py"),
        (1, "shared/a.py"),
        (2, "shared/adapters/<kind>/"),
        (2, "infra/**/*.bicep"),
    ]
    (tmp_path / "infra" / "modules").mkdir(parents=True)
    (tmp_path / "infra" / "modules" / "kv.bicep").write_text("")
    assert exists("infra/**/*.bicep", tmp_path) and exists("infra/<module>/", tmp_path)
    assert not exists("infra/main.bicep", tmp_path) and not exists("infra/*.json", tmp_path)

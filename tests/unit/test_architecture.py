"""The layers' import rules (docs/architecture.md): no import points upward. Read from the source with ast, so
a lazy import inside a function counts as much as one at the top."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "shared"

# layer -> the layers of shared/ it may import (a layer may always import itself)
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "urls": {
        "errors"
    },  # urllib3's reading of a URL (shared/urls.py): settings and adapters check origins with it
    "domain": {"errors"},
    "presentation": {"domain", "errors"},
    "ports": {"domain", "errors"},
    "config": {"domain", "errors", "urls"},
    "services": {"domain", "ports", "errors"},
    "adapters": {"domain", "ports", "errors", "presentation", "urls"},
}
# the pure layers use the standard library only: no SDK, no HTTP
STDLIB_ONLY = {"domain", "presentation", "ports", "services", "errors"}


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports(source: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def violations(layer: str, source: str) -> list[str]:
    problems = []
    for name in imports(source):
        top = name.split(".")[0]
        if top == "shared":
            target = layer_of(name)
            if target != layer and target not in ALLOWED[layer]:
                problems.append(f"{layer} imports {name}")
        elif layer in STDLIB_ONLY and top != "__future__" and top not in sys.stdlib_module_names:
            problems.append(f"{layer} imports the third-party {name}")
    return problems


def test_no_import_points_upward() -> None:
    problems: list[str] = []
    checked: set[str] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        layer = layer_of(module)
        if layer in ALLOWED:
            checked.add(layer)
            problems += [
                f"{path.relative_to(PACKAGE.parent)}: {p}" for p in violations(layer, path.read_text())
            ]
    assert checked == set(ALLOWED)
    assert problems == []


def test_the_rule_sees_an_upward_import_a_lazy_one_and_a_third_party_one() -> None:
    assert violations("domain", "from shared.ports import Ledger\n") == ["domain imports shared.ports"]
    lazy = "def f():\n    from shared.config import Settings\n"
    assert violations("services", lazy) == ["services imports shared.config"]
    assert violations("domain", "import requests\n") == ["domain imports the third-party requests"]
    assert violations("adapters", "import requests\nfrom shared.presentation.render import x\n") == []

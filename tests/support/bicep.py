"""Reading infra/ without a Bicep compiler: the tree-sitter Bicep grammar for structure, text for the settings table
(tests/unit/test_infra*.py, test_watcher_health.py)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import tree_sitter_bicep
from tree_sitter import Language, Node, Parser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"


@cache
def _parser() -> Parser:
    return Parser(Language(tree_sitter_bicep.language()))


def parse(source: str) -> Node:
    return _parser().parse(source.encode("utf-8")).root_node


def syntax_errors(source: str) -> list[str]:
    """Where the grammar could not parse (ERROR or MISSING nodes), as line:column; empty when the file parses."""
    found: list[str] = []

    def walk(node: Node) -> None:
        if node.is_error or node.is_missing:
            found.append(f"{node.start_point[0] + 1}:{node.start_point[1] + 1} {node.type}")
        for child in node.children:
            walk(child)

    walk(parse(source))
    return found


def node_text(node: Node | None) -> str:
    return "" if node is None or node.text is None else node.text.decode("utf-8")


def string_value(node: Node | None) -> str:
    """A string literal's content (quotes off); other expressions as written."""
    text = node_text(node)
    return text[1:-1] if node is not None and node.type == "string" else text


def declarations(root: Node, kind: str) -> list[tuple[str, str, Node]]:
    """(symbolic name, type or path string, body object) of each resource_declaration / module_declaration; the
    body of a conditional or looped declaration is its object."""
    out = []
    for node in root.children:
        if node.type != kind:
            continue
        name = node_text(node.child(1))
        kind_string = string_value(next(c for c in node.children if c.type == "string"))
        body = next(c for c in node.children if c.type in ("object", "if_statement", "for_statement"))
        while body.type != "object":
            body = next(c for c in body.children if c.type in ("object", "if_statement", "for_statement"))
        out.append((name, kind_string, body))
    return out


def resources(root: Node, type_prefix: str = "") -> list[tuple[str, str, Node]]:
    return [r for r in declarations(root, "resource_declaration") if r[1].startswith(type_prefix)]


def prop(obj: Node | None, *path: str) -> Node | None:
    """The value of obj.path[0].path[1]... (object_property identifier: value), or None."""
    for key in path:
        if obj is None or obj.type != "object":
            return None
        found = None
        for child in obj.children:
            if child.type == "object_property" and node_text(child.child(0)).strip("'") == key:
                found = child.child(2)
        obj = found
    return obj


def items(array: Node | None) -> list[Node]:
    return [] if array is None else [c for c in array.children if c.is_named and c.type != "comment"]


def variables(root: Node) -> dict[str, str]:
    return {
        node_text(node.child(1)): node_text(node.children[-1])
        for node in root.children
        if node.type == "variable_declaration"
    }


def parameters(root: Node) -> dict[str, Node]:
    return {node_text(n.child(1)): n for n in root.children if n.type == "parameter_declaration"}


def bicep(name: str) -> Node:
    return parse((INFRA / name).read_text(encoding="utf-8"))


def text(name: str) -> str:
    """A template without its // comments (a comment's words are not settings; 'https://' is not a comment)."""
    return re.sub(r"(?m)(^|\s)//[^\n]*$", "", (INFRA / name).read_text(encoding="utf-8"))


def block(source: str, start: str) -> str:
    """The text from ``start`` to its matching closing brace or bracket."""
    i = source.index(start)
    opening = min(p for p in (source.find("{", i), source.find("[", i)) if p != -1)
    pairs = {"{": "}", "[": "]"}
    depth, closer = 0, pairs[source[opening]]
    for j in range(opening, len(source)):
        if source[j] == source[opening]:
            depth += 1
        elif source[j] == closer:
            depth -= 1
            if depth == 0:
                return source[opening : j + 1]
    raise AssertionError(f"unbalanced block after {start!r}")


def declaration(source: str, start: str) -> str:
    """A top-level declaration: from ``start`` to the next blank line."""
    i = source.index(start)
    return source[i : source.index("\n\n", i)]


def app_settings(source: str, *, secrets: bool = True) -> dict[str, str]:
    """Setting name -> its Bicep value expression, from the appSettings and secretSettings variables.
    secretSettings holds the Key Vault references, each set only when its secret exists."""
    found: dict[str, str] = {}
    for var in ("var secretSettings", "var appSettings") if secrets else ("var appSettings",):
        body = declaration(source, var)
        for name, value in re.findall(r"\b([A-Za-z][A-Za-z0-9_]*):\s*('[^'\n]*'|[^\s,}\n]+)", body):
            if name[0].isupper() or name.startswith("AzureWebJobs"):
                found[name] = value
    return found


def subscriptions(source: str, filters: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Target function name -> includedEventTypes, for each eventSubscriptions resource: a literal list, or
    ``eventTypes.<key>`` read from infra/event-types.json the way Bicep's loadJsonContent does."""
    if filters is None:
        filters = json.loads((INFRA / "event-types.json").read_text())
    loaded = re.search(r"var eventTypes = loadJsonContent\('event-types\.json'\)", source) is not None
    out: dict[str, list[str]] = {}
    for match in re.finditer(r"resource \w+ 'Microsoft\.EventGrid/topics/eventSubscriptions@[^']+'", source):
        body = block(source, source[match.start() : match.end()])
        target = re.search(r"/functions/([A-Za-z0-9_]+)'", body)
        assert target is not None, body
        ref = re.search(r"includedEventTypes: eventTypes\.(\w+)", body)
        if ref is not None:
            assert loaded, "eventTypes is used but not loaded from event-types.json"
            out[target.group(1)] = list(filters[ref.group(1)])
        else:
            out[target.group(1)] = re.findall(
                r"'(ModelLifecycle\.[A-Za-z]+)'", block(body, "includedEventTypes")
            )
    return out


def bicep_files(root: Path = INFRA) -> list[Path]:
    return sorted(root.rglob("*.bicep"))

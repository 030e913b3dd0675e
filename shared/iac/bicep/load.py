"""Bicep files parsed by tree-sitter-bicep into their declarations: parameters, variables, resources, modules,
functions, imports (today's syntax the grammar does not know rewritten first: ``syntax.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shared.iac.bicep.syntax import Lost, prepare
from shared.iac.source import SourceText
from shared.iac.treesitter import text

if TYPE_CHECKING:
    from tree_sitter import Node


DEPLOYMENTS = "microsoft.cognitiveservices/accounts/deployments"
ACCOUNTS = "microsoft.cognitiveservices/accounts"

ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "'": "'", "$": "$"}


@dataclass
class ResourceDecl:
    symbol: str
    type: str  # casefolded, without the API version; a nested one gets its parent's type prefixed
    node: Node
    body: Node | None  # object, for_statement or if_statement
    parent: ResourceDecl | None
    existing: bool = False  # `existing`: a reference to a deployment made elsewhere, not one this file makes


@dataclass
class ModuleDecl:
    symbol: str
    path: str
    node: Node
    body: Node | None


@dataclass
class BicepFile:
    """One parsed .bicep (or rewritten .bicepparam) file and its declarations."""

    source: SourceText
    root: Node
    error: tuple[int, str] | None
    params: dict[str, Node | None] = field(default_factory=dict)
    vars: dict[str, Node] = field(default_factory=dict)
    resources: dict[str, ResourceDecl] = field(default_factory=dict)
    modules: list[ModuleDecl] = field(default_factory=list)
    using: str | None = None
    # the bytes the tree was parsed from: the file's, today's syntax rewritten (same length)
    data: bytes = b""
    spreads: set[int] = field(default_factory=set)  # start bytes of `...x` items
    lost: list[Lost] = field(default_factory=list)  # statements the grammar could not read
    nullable: set[str] = field(default_factory=set)  # `param x T?` without a default: null unless given
    funcs: dict[str, Node] = field(default_factory=dict)  # user-defined functions
    # imported names: local name -> (path, exported name), or (path, None) for `import * as ns`
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.source.path


def child_nodes(node: Node) -> list[Node]:
    return [c for c in node.named_children if c.type not in ("comment", "decorators", "decorator")]


def string_literal(node: Node | None, source: SourceText) -> str | None:
    """The text of a plain string node (no interpolation), else None."""
    if node is None or node.type != "string":
        return None
    if any(c.type == "interpolation" for c in node.named_children):
        return None
    return "".join(string_piece(c, source) for c in node.named_children)


def string_piece(node: Node, source: SourceText) -> str:
    raw = text(node, source)
    if node.type == "escape_sequence":
        if raw.startswith("\\u{"):
            try:
                return chr(int(raw[3:-1], 16))
            except ValueError:
                return raw
        return ESCAPES.get(raw[1:], raw)
    return raw


def _declarations(file: BicepFile) -> None:
    for node in child_nodes(file.root):
        _declare(file, node, None)


def _declare(file: BicepFile, node: Node, parent: ResourceDecl | None) -> None:
    kind = node.type
    named = child_nodes(node)
    if kind == "parameter_declaration" and named:
        value = node_after(node, "=")
        file.params[text(named[0], file.source)] = value
    elif kind == "variable_declaration" and named:
        value = node_after(node, "=")
        if value is not None:
            file.vars[text(named[0], file.source)] = value
    elif kind == "user_defined_function":
        name_node = node.child_by_field_name("name")
        if name_node is not None:
            file.funcs[text(name_node, file.source)] = node
    elif kind == "import_functionality":
        _import(file, node)
    elif kind == "using_statement":
        file.using = string_literal(next((c for c in named if c.type == "string"), None), file.source)
    elif kind == "resource_declaration" and len(named) >= 2:
        type_text = string_literal(named[1], file.source) or ""
        type_name = type_text.split("@", 1)[0].casefold()
        if parent is not None and "/" not in type_name:
            type_name = f"{parent.type}/{type_name}"
        body = node_after(node, "=")
        existing = any(c.type == "existing" for c in node.children)
        decl = ResourceDecl(text(named[0], file.source), type_name, node, body, parent, existing)
        file.resources[decl.symbol] = decl
        for nested in _nested_resources(body):
            _declare(file, nested, decl)
    elif kind == "module_declaration" and len(named) >= 2:
        path = string_literal(named[1], file.source) or ""
        file.modules.append(ModuleDecl(text(named[0], file.source), path, node, node_after(node, "=")))


def _import(file: BicepFile, node: Node) -> None:
    """``import { a, b as c } from 'x.bicep'`` and ``import * as ns from 'x.bicep'`` (exported vars and functions)."""
    path = string_literal(next((c for c in node.named_children if c.type == "string"), None), file.source)
    if path is None:
        return
    children = node.children
    if any(c.type == "*" for c in children):
        alias = next((c for c in node.named_children if c.type == "identifier"), None)
        if alias is not None:
            file.imports[text(alias, file.source)] = (path, None)
        return
    pending: str | None = None
    renaming = False
    for child in children:
        if child.type == "identifier":
            if renaming and pending is not None:
                file.imports[text(child, file.source)] = (path, pending)
                pending, renaming = None, False
            else:
                if pending is not None:
                    file.imports[pending] = (path, pending)
                pending = text(child, file.source)
        elif child.type == "as":
            renaming = True
    if pending is not None:
        file.imports[pending] = (path, pending)


def node_after(node: Node, token: str) -> Node | None:
    """The first named child after an anonymous ``token`` child (the value of ``x = value``)."""
    seen = False
    for child in node.children:
        if seen and child.is_named and child.type != "comment":
            return child
        if child.type == token and not child.is_named:
            seen = True
    return None


def object_of(body: Node | None) -> Node | None:
    """The object inside a resource or module body (``{…}``, ``if (…) {…}``, ``[for …: {…}]``)."""
    if body is None:
        return None
    if body.type == "object":
        return body
    if body.type in ("if_statement", "for_statement"):
        inner = body.child_by_field_name("body") or next(
            (c for c in reversed(body.named_children) if c.type in ("object", "if_statement")), None
        )
        return object_of(inner)
    return None


def _nested_resources(body: Node | None) -> Iterator[Node]:
    obj = object_of(body)
    if obj is None:
        return
    for prop in obj.named_children:
        if prop.type == "object_property":
            for c in prop.named_children:
                if c.type == "resource_declaration":
                    yield c


def parse_file(path: Path) -> BicepFile:
    """Parse one .bicep file. Raises SourceError when it cannot be read."""
    return _parsed(SourceText.read(path), params_as_vars=False)


def parse_bicepparam(path: Path) -> BicepFile:
    """Parse a .bicepparam file (its ``param x = …`` statements read as the file's parameter values)."""
    file = _parsed(SourceText.read(path), params_as_vars=True)
    file.params, file.vars = dict(file.vars), {}
    return file


def _parsed(source: SourceText, *, params_as_vars: bool) -> BicepFile:
    prepared = prepare(source.data, params_as_vars=params_as_vars)
    root = prepared.tree.root_node
    error = None
    if prepared.lost:
        first = prepared.lost[0]
        error = (first.line, f"syntax error at {source.path.name}:{first.line} (`{first.header}` not read)")
    file = BicepFile(
        source,
        root,
        error,
        data=prepared.data,
        spreads=prepared.spreads,
        lost=prepared.lost,
        nullable=prepared.nullable,
    )
    _declarations(file)
    return file


def local_module(caller: Path, reference: str) -> Path | None:
    if (
        not reference
        or ":" in reference.split("/", 1)[0]
        or reference.startswith(("br/", "ts/", "br:", "ts:"))
    ):
        return None
    return caller.parent / reference

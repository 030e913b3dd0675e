"""Terraform modules read by python-hcl2: a directory's blocks and attributes, each token with its position."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shared.errors import PermanentError
from shared.iac.pins import Span
from shared.iac.source import SourceError, SourceText

if TYPE_CHECKING:
    from lark import Token, Tree


DEPLOYMENT = "azurerm_cognitive_deployment"
ACCOUNT = "azurerm_cognitive_account"
AZAPI = "azapi_resource"
DEPLOYMENTS_TYPE = "microsoft.cognitiveservices/accounts/deployments"
META_ARGUMENTS = frozenset({"source", "version", "providers", "depends_on", "count", "for_each"})
MAX_DEPTH = 12


@dataclass(frozen=True)
class Located:
    """An expression (a Lark subtree) and the file it is in."""

    tree: Tree[Token]
    source: SourceText


@dataclass
class Block:
    kind: str
    labels: tuple[str, ...]
    body: Tree[Token]
    source: SourceText
    line: int


@dataclass
class Module:
    """One directory of .tf files."""

    directory: Path
    variables: dict[str, Located | None] = field(default_factory=dict)
    types: dict[str, Located] = field(default_factory=dict)  # variable types: optional() attribute defaults
    outputs: dict[str, Located] = field(default_factory=dict)
    locals: dict[str, Located] = field(default_factory=dict)
    resources: dict[tuple[str, str], Block] = field(default_factory=dict)
    data: dict[tuple[str, str], Block] = field(default_factory=dict)
    calls: list[Block] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # files not read: "syntax error at variables.tf:12"

    def undeclared(self, what: str) -> str:
        """Why a name is missing: not declared, or perhaps declared in a file that did not parse."""
        return f"{what} (or lost to a {', '.join(self.broken)})" if self.broken else what


def is_tree(node: object) -> bool:
    from lark import Tree

    return isinstance(node, Tree)


def subtrees(tree: Tree[Token]) -> list[Tree[Token]]:
    return [c for c in tree.children if is_tree(c) and c.data != "new_line_or_comment"]  # type: ignore[union-attr,misc]


def tree_tokens(tree: Tree[Token]) -> Iterator[Token]:
    from lark import Token

    return (t for t in tree.scan_values(lambda v: isinstance(v, Token)))


def tree_name(tree: Tree[Token]) -> str:
    """The text of an identifier / keyword / literal_value / string label."""
    if tree.data == "string":
        return "".join(str(t) for t in tree_tokens(tree) if t.type == "STRING_CHARS")
    return "".join(str(t) for t in tree_tokens(tree))


def tree_text(tree: Tree[Token], source: SourceText) -> str:
    tokens = list(tree_tokens(tree))
    if not tokens:
        return ""
    start, end = tokens[0].start_pos or 0, tokens[-1].end_pos or 0
    return " ".join(source.text[start:end].split())


def tree_span(tree: Tree[Token], source: SourceText) -> Span | None:
    tokens = list(tree_tokens(tree))
    if not tokens:
        return None
    return source.span(tokens[0].start_pos or 0, tokens[-1].end_pos or 0)


def parse_hcl(source: SourceText) -> Tree[Token]:
    """Parse HCL text. Raises HclError (with a line) on a syntax error."""
    import hcl2
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        return hcl2.parses_to_tree(source.text)
    except UnexpectedInput as exc:
        raise HclError(
            getattr(exc, "line", None), f"syntax error at column {getattr(exc, 'column', '?')}"
        ) from None
    except (LarkError, RecursionError, ValueError) as exc:
        raise HclError(None, f"cannot parse it ({type(exc).__name__})") from None


class HclError(PermanentError):
    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line


def body_items(body: Tree[Token], source: SourceText) -> Iterator[tuple[str, Tree[Token] | Block]]:
    """(name, expression) for attributes and (type, Block) for blocks of a body."""
    for child in subtrees(body):
        parts = subtrees(child)
        if child.data == "attribute" and len(parts) >= 2:
            yield tree_name(parts[0]), parts[-1]
        elif child.data == "block" and parts:
            inner = next((p for p in parts if p.data == "body"), None)
            labels = tuple(tree_name(p) for p in parts[1:] if p.data != "body")
            first = next(tree_tokens(child), None)
            line = first.line if first is not None and first.line is not None else 1
            if inner is not None:
                yield tree_name(parts[0]), Block(tree_name(parts[0]), labels, inner, source, line)


def load_module(directory: Path, warn: Callable[[Path, int | None, str], None]) -> Module:
    module = Module(directory)
    for path in sorted(directory.glob("*.tf")):
        try:
            source = SourceText.read(path)
            tree = parse_hcl(source)
        except SourceError as exc:
            warn(path, None, str(exc))
            continue
        except HclError as exc:
            warn(path, exc.line, f"{exc}; the deployments in this file are not scanned")
            module.broken.append(
                f"syntax error at {path.name}:{exc.line}" if exc.line else f"{path.name} unreadable"
            )
            continue
        body = subtrees(tree)[0] if subtrees(tree) else None
        if body is None:
            continue
        for _, item in body_items(body, source):
            if not isinstance(item, Block):
                continue
            if item.kind == "variable" and item.labels:
                attributes = {k: v for k, v in body_items(item.body, source) if not isinstance(v, Block)}
                value, declared = attributes.get("default"), attributes.get("type")
                module.variables[item.labels[0]] = Located(value, source) if value is not None else None
                if declared is not None:
                    module.types[item.labels[0]] = Located(declared, source)
            elif item.kind == "output" and item.labels:
                attributes = {k: v for k, v in body_items(item.body, source) if not isinstance(v, Block)}
                if "value" in attributes:
                    module.outputs[item.labels[0]] = Located(attributes["value"], source)
            elif item.kind == "locals":
                for key, local in body_items(item.body, source):
                    if not isinstance(local, Block):
                        module.locals[key] = Located(local, source)
            elif item.kind == "resource" and len(item.labels) == 2:
                module.resources[(item.labels[0], item.labels[1])] = item
            elif item.kind == "data" and len(item.labels) == 2:
                module.data[(item.labels[0], item.labels[1])] = item
            elif item.kind == "module" and item.labels:
                module.calls.append(item)
    return module

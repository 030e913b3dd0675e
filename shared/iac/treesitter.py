"""tree-sitter parsers (Bicep, JSON), imported on first use only: the function app never loads them."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from shared.iac import confine
from shared.iac.pins import TOO_LARGE
from shared.iac.source import SourceError, SourceText

if TYPE_CHECKING:
    from tree_sitter import Node, Parser, Tree


@functools.cache
def _parser(language: str) -> Parser:
    import tree_sitter

    if language == "bicep":
        import tree_sitter_bicep

        grammar = tree_sitter_bicep.language()
    else:
        import tree_sitter_json

        grammar = tree_sitter_json.language()
    return tree_sitter.Parser(tree_sitter.Language(grammar))


def parse(language: str, data: bytes) -> Tree:
    """Parse bytes; tree-sitter always returns a tree (errors are ERROR/MISSING nodes in it). Raises SourceError
    when it is nested too deeply for the evaluators (they recurse over it): that file alone is not scanned."""
    tree = _parser(language).parse(data)
    if confine.too_deep(tree):
        raise SourceError(f"nested more than {confine.MAX_TREE_DEPTH} levels deep: {TOO_LARGE}")
    return tree


def first_error(root: Node, source: SourceText) -> tuple[int, str] | None:
    """(line, message) of the first syntax error in a tree, or None."""
    if not root.has_error:
        return None
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing:
            line = source.line_of(source.char_offset(node.start_byte))
            return line, f"syntax error: missing {node.type!r}"
        if node.is_error:
            line = source.line_of(source.char_offset(node.start_byte))
            snippet = source.data[node.start_byte : node.end_byte].decode("utf-8", "replace").strip()
            first = snippet.splitlines()[0][:40] if snippet else ""
            return line, f"syntax error near {first!r}" if first else "syntax error"
        if node.has_error:
            stack.extend(reversed(node.children))
    return None


def text(node: Node, source: SourceText) -> str:
    return source.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

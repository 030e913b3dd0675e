"""Today's Bicep for tree-sitter-bicep 1.1 (the newest grammar packaged on PyPI): same-length rewrites, then
recovery statement by statement.

The grammar predates ``extension``, typed ``var x string = …``, ``resourceInput<'…'>`` / ``resourceOutput<'…'>``
types and the spread ``...``. Each is rewritten in a copy of the bytes to something it parses with the same meaning
for static evaluation and *the same length*, so every node's byte offset (and every literal's span, which ``fix``
edits) stays true for the original text. A top-level statement that still does not parse is blanked (newlines kept)
and the rest parsed again: one bad statement costs that statement, never the file, and is reported with its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.iac.treesitter import parse

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

MAX_RECOVERIES = 64  # statements blanked before giving up on a file (its first error is still reported)

_STATEMENT = re.compile(
    rb"^[ \t]*(@|param\b|var\b|resource\b|module\b|output\b|type\b|func\b|import\b|extension\b|metadata\b"
    rb"|targetScope\b|using\b|provider\b)",
    re.MULTILINE,
)
_DECLARED = re.compile(rb"(param|var|resource|module|output|type|func)\s+([A-Za-z_][A-Za-z0-9_]*)")
_EXTENSION = re.compile(rb"^[ \t]*(extension|provider)\b[^\n]*", re.MULTILINE)
_TYPED_VAR = re.compile(
    rb"^([ \t]*var[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]+)([^=\n]*?[^=\s])([ \t]*=)", re.MULTILINE
)
# `param x T?` with no default: null when not given. tree-sitter-bicep 1.1 misreads a user type's `?` before an
# `import`, so the `?` is blanked and the parameter remembered as nullable.
_NULLABLE_PARAM = re.compile(
    rb"^param[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]+[^=\n]*?(\?)[ \t]*(?://[^\n]*)?\r?$", re.MULTILINE
)
_IMPORT_LIST = re.compile(rb"^import[ \t]*\{([^}]*)\}", re.MULTILINE)
_LEADING_PIPE = re.compile(rb"\(\s*(\|)")
_ENDS_OPERAND = re.compile(rb"[A-Za-z0-9_)\]]")
_RESOURCE_TYPE = re.compile(rb"resource(?:Input|Output)<'[^'\n]*'>(?:\.[A-Za-z_][A-Za-z0-9_]*)*(\?)?")


@dataclass(frozen=True)
class Lost:
    """A top-level statement the grammar could not read: where, and what it declared (if anything)."""

    line: int
    header: str  # "param deployments", or the statement's first words
    name: str | None


@dataclass
class Prepared:
    tree: Tree
    data: bytes  # the rewritten bytes the tree was parsed from (same length as the file's)
    spreads: set[int] = field(default_factory=set)  # start bytes of `...x` items (objects and arrays)
    lost: list[Lost] = field(default_factory=list)
    nullable: set[str] = field(default_factory=set)


def _code_flags(data: bytes) -> bytearray:
    """1 for each byte of code, 2 inside a string, 0 in comments and quotes (interpolations ``${…}`` are code)."""
    flags = bytearray(len(data))
    i, n = 0, len(data)
    braces: list[int] = []  # brace depth at which each open interpolation returns to its string
    depth = 0
    in_string = False
    while i < n:
        c = data[i]
        if in_string:
            flags[i] = 2
            if c == 0x5C:  # backslash escape
                i += 2
                continue
            if c == 0x27:  # closing quote
                flags[i] = 0
                in_string = False
                i += 1
                continue
            if data.startswith(b"${", i):
                braces.append(depth)
                in_string = False
                flags[i : i + 2] = b"\x01\x01"
                depth += 1
                i += 2
                continue
            i += 1
            continue
        if data.startswith(b"'''", i):
            end = data.find(b"'''", i + 3)
            i = n if end < 0 else end + 3
            continue
        if data.startswith(b"//", i):
            end = data.find(b"\n", i)
            i = n if end < 0 else end
            continue
        if data.startswith(b"/*", i):
            end = data.find(b"*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        flags[i] = 1
        if c == 0x27:
            flags[i] = 0
            in_string = True
        elif c == 0x7B:
            depth += 1
        elif c == 0x7D:
            depth -= 1
            if braces and braces[-1] == depth:
                braces.pop()
                in_string = True
        i += 1
    return flags


def _blank(data: bytearray, start: int, end: int) -> None:
    for i in range(start, end):
        if data[i] not in (0x0A, 0x0D):
            data[i] = 0x20


def nullable_parameters(original: bytes) -> set[str]:
    """Parameters declared ``param x T?`` without a default (null when the caller gives none)."""
    flags = _code_flags(original)
    return {m.group(1).decode() for m in _NULLABLE_PARAM.finditer(original) if flags[m.start()] == 1}


def rewrite(original: bytes) -> tuple[bytes, set[int]]:
    """The same-length rewrite of today's syntax, and the start bytes of spread items."""
    data = bytearray(original)
    flags = _code_flags(original)
    for m in _NULLABLE_PARAM.finditer(original):
        if flags[m.start()] == 1:
            data[m.start(2)] = 0x20

    def code(at: int) -> bool:
        return at < len(flags) and flags[at] == 1

    for i in range(len(original) - 1):
        # tree-sitter-bicep 1.1 reads `//` right after a string's quote or an interpolation as a comment; the
        # values come from the original text, so the tree only needs to see a string
        if flags[i] == 2 and flags[i + 1] == 2 and original[i] == 0x2F and original[i + 1] == 0x2F:
            data[i] = ord("_")

    for m in _EXTENSION.finditer(original):
        if code(m.start(1)):
            _blank(data, m.start(), m.end())
    for m in _TYPED_VAR.finditer(original):
        if code(m.start(2)):
            _blank(data, m.start(2), m.end(2))
    for m in _RESOURCE_TYPE.finditer(original):
        if code(m.start()):
            replacement = b"object" + (b"?" if m.group(1) else b"")
            data[m.start() : m.end()] = replacement.ljust(m.end() - m.start())
    for m in _IMPORT_LIST.finditer(original):  # one name a line: the grammar wants commas
        if code(m.start()):
            for newline in re.finditer(rb"(?<=[A-Za-z0-9_])([ \t]*)\n(?=\s*[A-Za-z_])", m.group(1)):
                data[m.start(1) + newline.end() - 1] = ord(",")
    for m in _LEADING_PIPE.finditer(original):  # a union type written `( | 'a' | 'b')`
        if code(m.start(1)):
            data[m.start(1)] = 0x20
    spreads: set[int] = set()
    stack: list[int] = []
    for i, c in enumerate(original):
        if flags[i] != 1:
            continue
        if c == 0x21 and i > 0 and _ENDS_OPERAND.match(original, i - 1) and not original.startswith(b"!=", i):
            data[i] = 0x20  # the non-null assertion `x!` changes no value
            continue
        if c in b"{[(":
            stack.append(c)
        elif c in b"}])":
            if stack:
                stack.pop()
        elif c == 0x2E and original.startswith(b"...", i) and stack and stack[-1] in b"{[":
            if stack[-1] == ord("{"):
                data[i : i + 3] = b"_: "  # an object property whose start byte marks it as a spread
                spreads.add(i)
            else:
                data[i : i + 3] = b"   "
                spreads.add(i + 3)
    return bytes(data), spreads


def _first_error(root: Node) -> int | None:
    """Byte offset of the first syntax error in a tree."""
    if not root.has_error:
        return None
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing or node.is_error:
            return node.start_byte
        if node.has_error:
            stack.extend(reversed(node.children))
    return None


def _statement_bounds(data: bytes, flags: bytearray, offset: int) -> tuple[int, int]:
    """The top-level statement around a byte: from its first decorator to the next statement's start."""
    starts = [
        m.start() for m in _STATEMENT.finditer(data) if flags[m.start(1)] == 1 and m.start(1) == m.start()
    ]
    before = [s for s in starts if s <= offset]
    start = before[-1] if before else 0
    # decorators above belong to it
    while True:
        earlier = [s for s in starts if s < start]
        if earlier and data[earlier[-1] : earlier[-1] + 1] == b"@":
            start = earlier[-1]
        else:
            break
    after = [s for s in starts if s > offset and data[s : s + 1] != b"@"]
    end = after[0] if after else len(data)
    # a decorator that belongs to the next statement stays with it
    decorators = [s for s in starts if start < s < end and s > offset and data[s : s + 1] == b"@"]
    if decorators:
        end = decorators[0]
    return start, end


def prepare(original: bytes, *, params_as_vars: bool = False) -> Prepared:
    """Parse today's Bicep: rewrite, parse, and blank each top-level statement that still fails (reported)."""
    data, spreads = rewrite(original)
    if params_as_vars:
        data = _params_as_vars(data)
    flags = _code_flags(original)
    lost: list[Lost] = []
    tree = parse("bicep", data)
    for _ in range(MAX_RECOVERIES):
        offset = _first_error(tree.root_node)
        if offset is None:
            break
        start, end = _statement_bounds(original, flags, min(offset, max(len(original) - 1, 0)))
        if start >= end or not data[start:end].strip():
            break
        pos = start
        while True:  # past blank and decorator lines to the declaration itself
            while pos < end and original[pos] in b" \t\r\n":
                pos += 1
            newline = original.find(b"\n", pos)
            if original.startswith(b"@", pos) and 0 <= newline < end:
                pos = newline + 1
                continue
            break
        body = original[pos:end]
        declared = _DECLARED.match(body)
        line = original.count(b"\n", 0, pos) + 1
        header = " ".join(body.decode("utf-8", "replace").split()[:2]) or "?"
        lost.append(Lost(line, header, declared.group(2).decode() if declared is not None else None))
        mutable = bytearray(data)
        _blank(mutable, start, end)
        data = bytes(mutable)
        tree = parse("bicep", data)
    return Prepared(tree, data, spreads, lost, nullable_parameters(original))


def _params_as_vars(data: bytes) -> bytes:
    """A .bicepparam file: tree-sitter-bicep 1.1 has no rule for an untyped ``param x = …``; the same statement
    with ``var`` is valid Bicep, so each ``param`` keyword becomes ``var  `` (same length)."""
    first = parse("bicep", data)
    mutable = bytearray(data)
    for node in first.root_node.named_children:
        if node.type == "parameter_declaration" and node.children and node.children[0].type == "param":
            keyword = node.children[0]
            mutable[keyword.start_byte : keyword.end_byte] = b"var  "
    return bytes(mutable)

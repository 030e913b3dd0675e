"""JSON (with the comments ARM allows) read by tree-sitter-json into values that keep their source spans."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from shared.iac.pins import TOO_LARGE, Arr, Lit, Obj, Unknown, Value
from shared.iac.source import SourceError, SourceText
from shared.iac.treesitter import first_error, parse

if TYPE_CHECKING:
    from tree_sitter import Node


class JsonDocument:
    """A parsed JSON file: ``value`` (None when there is no top-level value), ``error`` the first syntax error."""

    def __init__(self, source: SourceText) -> None:
        self.source = source
        tree = parse("json", source.data)
        self.error = first_error(tree.root_node, source)
        root = next((c for c in tree.root_node.named_children if c.type != "comment"), None)
        try:
            self.value: Value | None = self._value(root) if root is not None else None
        except RecursionError:  # parse() bounds the depth; this keeps a surprise to this one file
            raise SourceError(f"nested too deeply: {TOO_LARGE}") from None

    def _value(self, node: Node) -> Value:
        kind = node.type
        src = self.source
        if kind == "object":
            items: dict[str, Value] = {}
            for pair in node.named_children:
                if pair.type != "pair":
                    continue
                key_node, value_node = pair.child_by_field_name("key"), pair.child_by_field_name("value")
                if key_node is None or value_node is None:
                    continue
                key = self._value(key_node)
                if isinstance(key, Lit) and isinstance(key.value, str):
                    items[key.value] = self._value(value_node)
            return Obj(items, src.byte_span(node.start_byte, node.end_byte))
        if kind == "array":
            values = tuple(self._value(c) for c in node.named_children if c.type != "comment")
            return Arr(values, src.byte_span(node.start_byte, node.end_byte))
        if kind == "string":
            raw = src.data[node.start_byte : node.end_byte].decode("utf-8")
            try:
                text = json.loads(raw)
            except ValueError:
                return Unknown(raw, src.byte_span(node.start_byte, node.end_byte), "malformed string")
            # the editable text is between the quotes, and only when it holds no escape sequence
            escaped = any(c.type == "escape_sequence" for c in node.named_children)
            span = None if escaped else src.byte_span(node.start_byte + 1, node.end_byte - 1)
            return Lit(text, span)
        if kind == "number":
            raw = src.data[node.start_byte : node.end_byte].decode("utf-8")
            try:
                number: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
            except ValueError:  # a MISSING node in a file cut short
                return Unknown(raw, src.byte_span(node.start_byte, node.end_byte), "not a number")
            return Lit(number, src.byte_span(node.start_byte, node.end_byte))
        if kind in ("true", "false"):
            return Lit(kind == "true", src.byte_span(node.start_byte, node.end_byte))
        if kind == "null":
            return Lit(None, src.byte_span(node.start_byte, node.end_byte))
        text = src.data[node.start_byte : node.end_byte].decode("utf-8", "replace")
        return Unknown(text[:80], src.byte_span(node.start_byte, node.end_byte), "not JSON")


def yaml_value(source: SourceText) -> Value:
    """A YAML file (azd's ``ai.yaml``, read by ``loadYamlContent``) as values whose scalars keep their spans.

    Quoted scalars are editable between their quotes when they hold no escape; plain scalars when their text is
    exactly the value. Raises ValueError on malformed YAML (the caller names the file)."""
    import yaml

    loader = yaml.SafeLoader(source.text)
    try:
        root = loader.get_single_node()
        if root is None:
            return Lit(None)
        return _yaml_node(loader, root, source)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None
    finally:
        loader.dispose()


def _yaml_node(loader: object, node: object, source: SourceText) -> Value:
    import yaml

    assert isinstance(loader, yaml.SafeLoader)
    if isinstance(node, yaml.MappingNode):
        items: dict[str, Value] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            items[str(key)] = _yaml_node(loader, value_node, source)
        return Obj(items, source.span(node.start_mark.index, node.end_mark.index))
    if isinstance(node, yaml.SequenceNode):
        return Arr(
            tuple(_yaml_node(loader, c, source) for c in node.value),
            source.span(node.start_mark.index, node.end_mark.index),
        )
    assert isinstance(node, yaml.ScalarNode)
    value = loader.construct_object(node, deep=True)
    if not isinstance(value, str | int | float | bool) and value is not None:
        value = str(value)  # a date or timestamp: azd passes the text
    start, end = node.start_mark.index, node.end_mark.index
    raw = source.text[start:end]
    span = None
    if node.style in ("'", '"') and len(raw) >= 2 and raw[1:-1] == str(value):
        span = source.span(start + 1, end - 1)
    elif node.style is None and (raw == str(value) or type(value) in (int, float)):
        span = source.span(start, end)
    return Lit(value, span)

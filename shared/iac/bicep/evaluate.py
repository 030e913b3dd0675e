"""Bicep expressions evaluated statically by the ``BicepEvaluator``: literals, operators, functions, lambdas, loops,
imports, ``load*`` functions. A value that needs deployment-time data becomes ``Unknown`` naming the expression.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from shared.iac import confine
from shared.iac import values as ops
from shared.iac.bicep.load import (
    BicepFile,
    ResourceDecl,
    child_nodes,
    local_module,
    node_after,
    object_of,
    parse_file,
    string_literal,
    string_piece,
)
from shared.iac.bicep.scope import BicepScope
from shared.iac.jsonsrc import JsonDocument, yaml_value
from shared.iac.pins import Arr, Lit, Obj, Resource, Unknown, Value
from shared.iac.source import SourceError, SourceText
from shared.iac.treesitter import parse, text

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

MAX_CALL_DEPTH = 16  # user-defined functions calling each other
LAMBDA_FUNCTIONS = frozenset({"map", "filter", "reduce", "toObject", "sort", "groupBy", "mapValues"})


class BicepEvaluator:
    """Evaluates Bicep expressions to values; collects warnings."""

    def __init__(self, warn: Callable[[Path, int | None, str], None]) -> None:
        self.warn = warn
        self._files: dict[Path, BicepFile | None] = {}
        self._bodies: dict[tuple[Path, int, int], Node | None] = {}  # lambda bodies, parsed on their own
        self._trees: list[Tree] = []
        self._depth = 0  # user-defined function calls in progress
        # tree-sitter-bicep 1.1 binds `a == b.c` as `(a == b).c`: the steps to put back on an operand, by node
        self._postfix: dict[tuple[int, int, str], list[Node]] = {}

    def file(self, path: Path) -> BicepFile | None:
        key = path.resolve()
        if key not in self._files:
            try:
                parsed = parse_file(key)
            except SourceError as exc:
                self.warn(path, None, str(exc))
                parsed = None
            for lost in parsed.lost if parsed is not None else []:
                if lost.header.startswith("type "):
                    continue  # a type declares no value and no deployment: nothing is missed
                self.warn(
                    path,
                    lost.line,
                    f"syntax error at {path.name}:{lost.line}: `{lost.header}` not read (the rest of the file "
                    "is); what it declares is missing",
                )
            self._files[key] = parsed
        return self._files[key]

    def unknown(self, node: Node, scope: BicepScope, reason: str) -> Unknown:
        src = scope.file.source
        raw = " ".join(text(node, src).split())
        return Unknown(raw[:100], src.byte_span(node.start_byte, node.end_byte), reason)

    def resource(self, decl: ResourceDecl, scope: BicepScope) -> Value:
        obj = decl.body
        if obj is not None and obj.type == "for_statement":
            return Unknown(decl.symbol, None, "a resource collection (loop)")
        body = self.value(object_of(obj), scope) if object_of(obj) is not None else Obj({})
        return Resource(decl.type, body if isinstance(body, Obj) else Obj({}), None)

    def value(self, node: Node | None, scope: BicepScope) -> Value:
        if node is None:
            return Unknown("", None, "missing")
        kind = node.type
        src = scope.file.source
        if self._postfix:
            chain = self._postfix.pop((node.start_byte, node.end_byte, kind), None)
            if chain is not None:  # an operand the grammar left its `.x` / `[i]` off: put them back
                return self._apply_postfix(self.value(node, scope), chain, scope)
        if kind in ("member_expression", "subscript_expression"):
            misbound = _misbound(node)
            if misbound is not None:
                operator_node, chain, operand = misbound
                where = (operand.start_byte, operand.end_byte, operand.type)
                self._postfix[where] = chain
                try:
                    return self.value(operator_node, scope)
                finally:
                    self._postfix.pop(where, None)
        if kind == "string":
            return self._string(node, scope)
        if kind == "number":
            raw = text(node, src)
            try:
                return Lit(int(raw), src.byte_span(node.start_byte, node.end_byte))
            except ValueError:
                return self.unknown(node, scope, "not a number")
        if kind == "boolean":
            return Lit(text(node, src).strip() == "true", src.byte_span(node.start_byte, node.end_byte))
        if kind == "null":
            return Lit(None, src.byte_span(node.start_byte, node.end_byte))
        if kind == "object":
            return self._object(node, scope)
        if kind == "array":
            return self._array(node, scope)
        if kind == "identifier":
            return scope.lookup(text(node, src), node)
        if kind == "parenthesized_expression":
            inner = child_nodes(node)
            return self.value(inner[0], scope) if inner else self.unknown(node, scope, "empty")
        if kind == "member_expression":
            return self._member(node, scope)
        if kind == "subscript_expression":
            target = self.value(node.child_by_field_name("object"), scope)
            index_key = self.value(node.child_by_field_name("index"), scope)
            return ops.index(target, index_key, text(node, src))
        if kind == "ternary_expression":
            return ops.condition(
                self.value(node.child_by_field_name("condition"), scope),
                self.value(node.child_by_field_name("consequence"), scope),
                self.value(node.child_by_field_name("alternative"), scope),
                text(node, src),
            )
        if kind == "unary_expression":
            return self._unary(node, scope)
        if kind == "binary_expression":
            return self._binary(node, scope)
        if kind == "call_expression":
            return self._call(node, scope)
        if kind == "for_statement":
            return self._for_array(node, scope)
        return self.unknown(node, scope, f"unsupported expression ({kind})")

    def _object(self, node: Node, scope: BicepScope) -> Value:
        """An object literal; ``...x`` merges x's properties in."""
        src = scope.file.source
        items: dict[str, Value] = {}
        for prop in node.named_children:
            if prop.type != "object_property":
                continue
            parts = child_nodes(prop)
            if len(parts) < 2 or parts[-1].type == "resource_declaration":
                continue
            if prop.start_byte in scope.file.spreads:  # `...x`: x's properties, merged in
                spread = self.value(parts[-1], scope)
                if isinstance(spread, Obj):
                    items.update(spread.items)
                elif not (isinstance(spread, Lit) and spread.value is None):
                    return (
                        spread if isinstance(spread, Unknown) else self.unknown(prop, scope, "not an object")
                    )
                continue
            key_node = parts[0]
            key = text(key_node, src) if key_node.type == "identifier" else string_literal(key_node, src)
            if key is not None:
                items[key] = self.value(parts[-1], scope)
        return Obj(items, src.byte_span(node.start_byte, node.end_byte))

    def _array(self, node: Node, scope: BicepScope) -> Value:
        """An array literal; ``...x`` puts x's items in place."""
        src = scope.file.source
        elements: list[Value] = []
        for child in child_nodes(node):
            element = self.value(child, scope)
            if child.start_byte not in scope.file.spreads:
                elements.append(element)
            elif isinstance(element, Arr):  # `...x`: x's items, in place
                elements.extend(element.items)
            else:
                return element if isinstance(element, Unknown) else self.unknown(child, scope, "not an array")
        return Arr(tuple(elements), src.byte_span(node.start_byte, node.end_byte))

    def _member(self, node: Node, scope: BicepScope) -> Value:
        """``a.b``, ``a.?b`` and ``ns.x`` of an ``import * as ns``."""
        src = scope.file.source
        object_node = node.child_by_field_name("object")
        property_node = node.child_by_field_name("property")
        if (
            object_node is not None
            and property_node is not None
            and object_node.type == "identifier"
            and scope.file.imports.get(text(object_node, src), ("", ""))[1] is None
            and text(object_node, src) not in scope.locals
        ):  # `ns.x` of `import * as ns from '…'`
            return self.imported_member(scope, text(object_node, src), text(property_node, src), node)
        target = self.value(object_node, scope)
        if (
            isinstance(target, Unknown)
            and object_node is not None
            and target.expression == text(object_node, src)
        ):
            # `resourceGroup().location`: name the whole expression, not just its unknown start
            return self.unknown(node, scope, target.reason)
        property_node = node.child_by_field_name("property")
        safe = any(c.type == ".?" for c in node.children)
        result = ops.member(target, text(property_node, src) if property_node else "", text(node, src))
        if safe and isinstance(result, Unknown) and not isinstance(target, Unknown):
            return Lit(None)  # `.?`: a missing property is null
        return result

    def _unary(self, node: Node, scope: BicepScope) -> Value:
        """``!x`` and ``-n``."""
        src = scope.file.source
        operator = node.child_by_field_name("operator")
        argument = self.value(node.child_by_field_name("argument"), scope)
        op = text(operator, src) if operator else ""
        if op == "!":
            truth = ops.truth(argument)
            if truth is None:
                return argument if isinstance(argument, Unknown) else self.unknown(node, scope, "not static")
            return ops.derived(not truth, argument)
        if op == "-" and isinstance(argument, Lit) and isinstance(argument.value, int):
            return Lit(-argument.value)
        return self.unknown(node, scope, "unsupported operator")

    def _apply_postfix(self, value: Value, chain: list[Node], scope: BicepScope) -> Value:
        """``value.a[0].?b``: the member and index steps of ``chain`` (innermost first) applied in order."""
        src = scope.file.source
        for step in chain:
            safe = any(c.type in (".?", "?") for c in step.children)
            if safe and isinstance(value, Lit) and value.value is None:
                continue
            if step.type == "member_expression":
                prop = step.child_by_field_name("property")
                result = ops.member(value, text(prop, src) if prop else "", text(step, src))
            else:
                result = ops.index(
                    value, self.value(step.child_by_field_name("index"), scope), text(step, src)
                )
            value = (
                Lit(None)
                if safe and isinstance(result, Unknown) and not isinstance(value, Unknown)
                else result
            )
        return value

    def _string(self, node: Node, scope: BicepScope) -> Value:
        src = scope.file.source
        parts = node.named_children
        if not any(c.type == "interpolation" for c in parts):
            value = "".join(string_piece(c, src) for c in parts)
            escaped = any(c.type == "escape_sequence" for c in parts)
            quote = 3 if text(node, src).startswith("'''") else 1
            span = None if escaped else src.byte_span(node.start_byte + quote, node.end_byte - quote)
            return Lit(value, span)
        pieces: list[Value] = []
        for c in parts:
            if c.type == "interpolation":
                inner = child_nodes(c)
                pieces.append(self.value(inner[0], scope) if inner else self.unknown(c, scope, "empty"))
            else:
                pieces.append(Lit(string_piece(c, src)))
        result = ops.concat_text(pieces, text(node, src))
        if isinstance(result, Unknown) and result.span is None:
            return Unknown(result.expression, src.byte_span(node.start_byte, node.end_byte), result.reason)
        return result

    def _binary(self, node: Node, scope: BicepScope) -> Value:
        src = scope.file.source
        operator = node.child_by_field_name("operator")
        op = text(operator, src) if operator else ""
        left = self.value(node.child_by_field_name("left"), scope)
        if op in ("&&", "||"):
            first = ops.truth(left)
            if first is not None and first == (op == "||"):
                return Lit(first)
            right = self.value(node.child_by_field_name("right"), scope)
            second = ops.truth(right)
            if first is None or second is None:
                return self.unknown(node, scope, "not static")
            return Lit(second)
        right = self.value(node.child_by_field_name("right"), scope)
        if op == "??":
            return ops.coalesce([left, right], text(node, src))
        if op in ("==", "!=", "=~", "!~"):
            same = ops.equals(left, right, case_insensitive=op in ("=~", "!~"))
            if same is None:
                return self.unknown(node, scope, "not static")
            return Lit(same if op in ("==", "=~") else not same)
        if op in _COMPARISONS and isinstance(left, Lit) and isinstance(right, Lit):
            a, b = left.value, right.value
            if isinstance(a, str) and isinstance(b, str):
                return Lit(bool(_COMPARISONS[op](a, b)))
            if (
                isinstance(a, int)
                and isinstance(b, int)
                and not isinstance(a, bool)
                and not isinstance(b, bool)
            ):
                return Lit(bool(_COMPARISONS[op](a, b)))  # bool is an int in Python, not in Bicep
        if op == "+" and isinstance(left, Lit) and isinstance(right, Lit):
            a, b = left.value, right.value
            if (
                isinstance(a, int)
                and isinstance(b, int)
                and not isinstance(a, bool)
                and not isinstance(b, bool)
            ):
                return Lit(a + b)
        return self.unknown(node, scope, f"operator {op} not evaluated")

    def _call(self, node: Node, scope: BicepScope) -> Value:
        src = scope.file.source
        fn = node.child_by_field_name("function")
        name = text(fn, src).removeprefix("sys.") if fn is not None else ""
        args_node = node.child_by_field_name("arguments")
        arg_nodes = child_nodes(args_node) if args_node is not None else []
        expression = text(node, src)
        if name in (
            "resourceGroup",
            "subscription",
            "tenant",
            "deployment",
            "environment",
            "managementGroup",
        ):
            return self.unknown(node, scope, "known at deployment time")
        if name in ("uniqueString", "newGuid", "utcNow", "guid"):
            return self.unknown(node, scope, "computed at deployment time")
        if name == "readEnvironmentVariable" and arg_nodes:
            variable = string_literal(arg_nodes[0], src) or "?"
            if len(arg_nodes) < 2:
                return self.unknown(node, scope, f"environment variable {variable}")
            default = self.value(arg_nodes[1], scope)
            if not isinstance(default, Lit):
                return default
            why = f"default of readEnvironmentVariable('{variable}', …); {variable} may override it"
            return Lit(default.value, default.span, (*default.notes, why), env=variable)
        function = self._function(fn, scope)
        if function is not None:
            return self._call_function(function, node, [self.value(a, scope) for a in arg_nodes], scope)
        if name in ("loadJsonContent", "loadYamlContent", "loadTextContent") and arg_nodes:
            return self._load(name, node, arg_nodes, scope)
        if name in LAMBDA_FUNCTIONS:
            return self._higher_order(name, node, arg_nodes, scope)
        args = [self.value(a, scope) for a in arg_nodes]
        simple = ops.builtin(name.casefold(), args, expression)
        if simple is not None:
            return simple
        return self.unknown(node, scope, f"{name}() is not evaluated statically")

    def _load(self, name: str, node: Node, arg_nodes: list[Node], scope: BicepScope) -> Value:
        """``loadJsonContent`` / ``loadYamlContent`` (values keep their spans: a pin in ``ai.yaml`` is fixable),
        ``loadTextContent``; an optional JSONPath of plain ``$.a.b`` steps."""
        rel = string_literal(arg_nodes[0], scope.file.source)
        if rel is None:
            return self.unknown(node, scope, "path not static")
        path = scope.file.path.parent / rel
        # confinement: a load that leads out of the scanned root is a finding, and is not read
        refused = confine.refusal(f"{name}('{rel}')", path)
        if refused is not None:
            src = scope.file.source
            self.warn(scope.file.path, src.line_of(src.char_offset(node.start_byte)), refused)
            return self.unknown(node, scope, refused)
        try:
            source = SourceText.read(path)
        except SourceError as exc:
            return self.unknown(node, scope, f"{rel}: {exc}")
        value: Value | None
        if name == "loadTextContent":
            return Lit(source.text)
        if name == "loadYamlContent":
            try:
                value = yaml_value(source)
            except ValueError as exc:
                return self.unknown(node, scope, f"{rel}: not YAML ({exc})")
        else:
            value = JsonDocument(source).value
        if value is None:
            return self.unknown(node, scope, f"{rel} is empty")
        if len(arg_nodes) > 1:
            query = string_literal(arg_nodes[1], scope.file.source)
            if query is None or not query.startswith("$"):
                return self.unknown(node, scope, "JSONPath not static")
            for step in [p for p in query[1:].split(".") if p]:
                value = ops.member(value, step, text(node, scope.file.source))
        return value

    def _function(self, fn: Node | None, scope: BicepScope) -> tuple[BicepFile, Node] | None:
        """A user-defined function: declared in this file, imported by name, or ``ns.f`` of an ``import *``."""
        if fn is None:
            return None
        file = scope.file
        if fn.type == "identifier":
            name = text(fn, file.source)
            if name in file.funcs:
                return file, file.funcs[name]
            if name in file.imports:
                path, original = file.imports[name]
                target = self._import_target(file, path)
                if target is not None and original is not None and original in target.funcs:
                    return target, target.funcs[original]
            return None
        if fn.type == "member_expression":
            object_node, property_node = fn.child_by_field_name("object"), fn.child_by_field_name("property")
            if object_node is None or property_node is None or object_node.type != "identifier":
                return None
            entry = file.imports.get(text(object_node, file.source))
            if entry is None or entry[1] is not None:
                return None
            target = self._import_target(file, entry[0])
            name = text(property_node, file.source)
            if target is not None and name in target.funcs:
                return target, target.funcs[name]
        return None

    def _call_function(
        self, function: tuple[BicepFile, Node], node: Node, args: list[Value], scope: BicepScope
    ) -> Value:
        file, declaration = function
        if self._depth >= MAX_CALL_DEPTH:
            return self.unknown(node, scope, "functions call each other too deep")
        parameters = next((c for c in declaration.named_children if c.type == "parameters"), None)
        names = [
            text(p.named_children[0], file.source)
            for p in (parameters.named_children if parameters is not None else [])
            if p.type == "parameter" and p.named_children
        ]
        if len(names) != len(args):
            return self.unknown(node, scope, f"{len(args)} argument(s) for {len(names)} parameter(s)")
        body = node_after(declaration, "=>")
        called = BicepScope(self, file, {}, file.path.name).child(dict(zip(names, args, strict=True)))
        self._depth += 1
        try:
            return self.value(body, called)
        finally:
            self._depth -= 1

    def _import_target(self, file: BicepFile, path: str) -> BicepFile | None:
        target = local_module(file.path, path)
        return self.file(target) if target is not None and target.is_file() else None

    def imported(self, file: BicepFile, name: str, node: Node, scope: BicepScope) -> Value:
        """A variable imported by name (``import { x } from '…'``): its value in its own file."""
        path, original = file.imports[name]
        return self.imported_member(scope, None, original or name, node, path=path)

    def imported_member(
        self, scope: BicepScope, namespace: str | None, name: str, node: Node, path: str | None = None
    ) -> Value:
        file = scope.file
        if path is None:
            path = file.imports[namespace or ""][0]
        target = self._import_target(file, path)
        where = text(node, file.source)
        if target is None:
            return Unknown(where, file.source.byte_span(node.start_byte, node.end_byte), f"{path} not read")
        if name in target.vars:
            return BicepScope(self, target, {}, target.path.name).lookup(name, node)
        return Unknown(
            where, file.source.byte_span(node.start_byte, node.end_byte), f"no variable {name} in {path}"
        )

    def _lambda(self, argument: Node, scope: BicepScope) -> tuple[list[str], Node] | None:
        """(parameter names, body) of a lambda argument. tree-sitter-bicep 1.1 binds ``x => x.a`` as
        ``(x => x).a``; the body is everything after ``=>`` to the argument's end, parsed again on its own (in a
        copy of the file with the rest blanked, so offsets stay true)."""
        file = scope.file
        node: Node | None = argument
        while node is not None and node.type != "lambda_expression":
            node = node.children[0] if node.child_count else None
        if node is None:
            return None
        arrow = next((c for c in node.children if c.type == "=>"), None)
        if arrow is None:
            return None
        names: list[str] = []
        for child in node.children:
            if child == arrow:
                break
            identifiers = [child] if child.type == "identifier" else child.named_children
            names.extend(text(c, file.source) for c in identifiers if c.type == "identifier")
        start, end = arrow.end_byte, argument.end_byte
        key = (file.path, start, end)
        if key not in self._bodies:
            prefix = b"var _ = "
            data = file.data or file.source.data
            body: Node | None = None
            if start >= len(prefix):
                synthetic = b" " * (start - len(prefix)) + prefix + data[start:end] + b" " * (len(data) - end)
                tree = parse("bicep", synthetic)
                declaration = tree.root_node.named_children[0] if tree.root_node.named_children else None
                if not tree.root_node.has_error and declaration is not None:
                    body = node_after(declaration, "=")
                    self._trees.append(tree)  # the nodes live as long as their tree
            self._bodies[key] = body
        body = self._bodies[key]
        return (names, body) if body is not None else None

    def _higher_order(self, name: str, node: Node, arg_nodes: list[Node], scope: BicepScope) -> Value:
        """``map``, ``filter``, ``reduce``, ``toObject``, ``sort``, ``groupBy`` over a known array, ``mapValues`` over
        a known object."""
        expression = text(node, scope.file.source)
        lambdas = [self._lambda(a, scope) for a in arg_nodes[1:]]
        source = self.value(arg_nodes[0], scope)
        if isinstance(source, Unknown):
            return source

        def apply(function: tuple[list[str], Node] | None, *values: Value) -> Value:
            if function is None:
                return self.unknown(node, scope, "the lambda is not understood")
            names, body = function
            return self.value(body, scope.child(dict(zip(names, values, strict=False))))

        if name == "mapValues" and lambdas:
            if isinstance(source, Obj):
                return Obj({k: apply(lambdas[0], v) for k, v in source.items.items()})
            return self.unknown(node, scope, "mapValues() of a non-object")
        if not isinstance(source, Arr):
            return self.unknown(node, scope, f"{name}() of a non-array")
        if name == "map" and lambdas:
            return Arr(tuple(apply(lambdas[0], item, Lit(i)) for i, item in enumerate(source.items)))
        if name == "groupBy" and lambdas:
            groups: dict[str, list[Value]] = {}
            for item in source.items:
                key = apply(lambdas[0], item)
                if not isinstance(key, Lit) or not isinstance(key.value, str):
                    return key if isinstance(key, Unknown) else self.unknown(node, scope, "a key is not text")
                groups.setdefault(key.value, []).append(item)
            return Obj({k: Arr(tuple(v)) for k, v in groups.items()})
        if name == "sort" and lambdas:
            undecided: list[Value] = []

            def before(a: Value, b: Value) -> int:  # sort(arr, (a, b) => a.x < b.x): a comes first when true
                decided = ops.truth(apply(lambdas[0], a, b))
                if decided is None:
                    undecided.append(a)
                return -1 if decided else 1

            ordered = sorted(source.items, key=functools.cmp_to_key(before))
            return (
                Arr(tuple(ordered)) if not undecided else self.unknown(node, scope, "the order is not static")
            )
        if name == "filter" and lambdas:
            kept: list[Value] = []
            for i, item in enumerate(source.items):
                decided = ops.truth(apply(lambdas[0], item, Lit(i)))
                if decided is None:
                    return self.unknown(node, scope, "the filter is not static")
                if decided:
                    kept.append(item)
            return Arr(tuple(kept))
        if name == "reduce" and len(arg_nodes) == 3:
            accumulator = self.value(arg_nodes[1], scope)
            function = self._lambda(arg_nodes[2], scope)
            for i, item in enumerate(source.items):
                accumulator = apply(function, accumulator, item, Lit(i))
            return accumulator
        if name == "toObject" and lambdas:
            result: dict[str, Value] = {}
            for item in source.items:
                key = apply(lambdas[0], item)
                if not isinstance(key, Lit) or not isinstance(key.value, str):
                    return key if isinstance(key, Unknown) else self.unknown(node, scope, "a key is not text")
                result[key.value] = apply(lambdas[1], item) if len(lambdas) > 1 else item
            return Obj(result)
        return Unknown(" ".join(expression.split())[:100], None, f"{name}() is not evaluated statically")

    def loop(self, node: Node, scope: BicepScope) -> tuple[list[BicepScope], Unknown | None, list[str]]:
        """One child scope per item of a ``[for …]`` (or one with the items unknown), with a label each."""
        src = scope.file.source
        params = next((c for c in node.named_children if c.type == "for_loop_parameters"), None)
        if params is not None:
            item_node = next((c for c in params.named_children if c.type == "loop_variable"), None)
            index_node = next((c for c in params.named_children if c.type == "loop_enumerator"), None)
        else:
            item_node, index_node = node.child_by_field_name("initializer"), None
        item_name = text(item_node, src) if item_node is not None else "_"
        index_name = text(index_node, src) if index_node is not None else None
        iterable_node = node_after(node, "in")
        label = " ".join(text(iterable_node, src).split()) if iterable_node is not None else "?"
        iterable = confine.bounded_loop(
            self.value(iterable_node, scope), label
        )  # confinement: ARM's 800 copies
        if isinstance(iterable, Arr):
            scopes = []
            for i, item in enumerate(iterable.items):
                names: dict[str, Value] = {item_name: item}
                if index_name:
                    names[index_name] = Lit(i)
                scopes.append(scope.child(names))
            return scopes, None, [f"item {i + 1} of {label}" for i in range(len(scopes))]
        if isinstance(iterable, Lit) and isinstance(iterable.value, int):
            return (
                [scope.child({item_name: Lit(i)}) for i in range(iterable.value)],
                None,
                [f"index {i} of {label}" for i in range(iterable.value)],
            )
        unknown = iterable if isinstance(iterable, Unknown) else self.unknown(node, scope, "not an array")
        names = {item_name: unknown}
        if index_name:
            names[index_name] = unknown
        return [scope.child(names)], unknown, [f"loop over {label}"]

    def _for_array(self, node: Node, scope: BicepScope) -> Value:
        scopes, unknown, _ = self.loop(node, scope)
        if unknown is not None:
            return unknown
        body = node.child_by_field_name("body")
        return Arr(tuple(self.value(body, s) for s in scopes))


_OPERATORS = ("binary_expression", "ternary_expression", "unary_expression")
_COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _misbound(node: Node) -> tuple[Node, list[Node], Node] | None:
    """For ``x.a[0]`` whose ``x`` is an unparenthesised operator expression (``a == b.c`` read as ``(a == b).c``,
    ``!a.b`` as ``(!a).b``, ``c ? a : b.x`` as ``(c ? a : b).x``): the operator expression, the member and index
    steps (innermost first), and the operand they belong to (its rightmost). None for a correctly bound one."""
    chain: list[Node] = []
    current: Node | None = node
    while current is not None and current.type in ("member_expression", "subscript_expression"):
        chain.append(current)
        current = current.child_by_field_name("object")
    if current is None or current.type not in _OPERATORS:
        return None
    operand: Node | None = current
    while operand is not None and operand.type in _OPERATORS:
        field_name = {"binary_expression": "right", "ternary_expression": "alternative"}.get(
            operand.type, "argument"
        )
        operand = operand.child_by_field_name(field_name)
    if operand is None:
        return None
    return current, list(reversed(chain)), operand

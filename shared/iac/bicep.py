"""Bicep: Azure OpenAI deployments found by tree-sitter-bicep and evaluated statically.

Found: ``Microsoft.CognitiveServices/accounts/deployments@…`` resources (top level, nested in an account, in
``[for …]`` loops and behind ``if``), in local modules (the caller's ``params`` bound to the module's parameters, so
a version literal in the caller's array is reported where it is), and the Azure Verified Module
``br/public:avm/res/cognitive-services/account`` (its ``deployments`` parameter). Values come from literals,
``param`` defaults, ``var``s, and the parameter files beside the template: ``<name>.parameters.json`` (azd's
``${VAR=default}`` included) and ``*.bicepparam`` files whose ``using`` names it.
An expression that needs deployment-time data (``resourceGroup().location``, ``uniqueString(…)``, a module output)
becomes ``Unknown`` naming it.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shared.iac import confine
from shared.iac import values as ops
from shared.iac.bicep_syntax import Lost, prepare
from shared.iac.jsonsrc import JsonDocument, yaml_value
from shared.iac.pins import (
    EVALUATION_ERRORS,
    Arr,
    Lit,
    Obj,
    Pin,
    Resource,
    ScanWarning,
    Span,
    Unknown,
    Value,
    body_pin,
    scalar_text,
    unread_pin,
)
from shared.iac.source import SourceError, SourceText
from shared.iac.treesitter import parse, text

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

DEPLOYMENTS = "microsoft.cognitiveservices/accounts/deployments"
ACCOUNTS = "microsoft.cognitiveservices/accounts"
# Azure Verified Modules (registry ``br/public:``) by their documented deployments parameter
# (deployments parameter, account name parameter); the ai-foundry pattern names its account from `baseName`
AVM_MODULES = {
    "avm/res/cognitive-services/account": ("deployments", "name"),
    "avm/ptn/ai-ml/ai-foundry": ("aiModelDeployments", ""),
    "avm/ptn/azd/ml-hub-dependencies": ("cognitiveServicesDeployments", "cognitiveServicesName"),
}
MAX_MODULE_DEPTH = 12
MAX_CALL_DEPTH = 16  # user-defined functions calling each other
LAMBDA_FUNCTIONS = frozenset({"map", "filter", "reduce", "toObject", "sort", "groupBy", "mapValues"})

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "'": "'", "$": "$"}


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


def _children(node: Node) -> list[Node]:
    return [c for c in node.named_children if c.type not in ("comment", "decorators", "decorator")]


def _string_literal(node: Node | None, source: SourceText) -> str | None:
    """The text of a plain string node (no interpolation), else None."""
    if node is None or node.type != "string":
        return None
    if any(c.type == "interpolation" for c in node.named_children):
        return None
    return "".join(_piece(c, source) for c in node.named_children)


def _piece(node: Node, source: SourceText) -> str:
    raw = text(node, source)
    if node.type == "escape_sequence":
        if raw.startswith("\\u{"):
            try:
                return chr(int(raw[3:-1], 16))
            except ValueError:
                return raw
        return _ESCAPES.get(raw[1:], raw)
    return raw


def _declarations(file: BicepFile) -> None:
    for node in _children(file.root):
        _declare(file, node, None)


def _declare(file: BicepFile, node: Node, parent: ResourceDecl | None) -> None:
    kind = node.type
    named = _children(node)
    if kind == "parameter_declaration" and named:
        value = _after(node, "=")
        file.params[text(named[0], file.source)] = value
    elif kind == "variable_declaration" and named:
        value = _after(node, "=")
        if value is not None:
            file.vars[text(named[0], file.source)] = value
    elif kind == "user_defined_function":
        name_node = node.child_by_field_name("name")
        if name_node is not None:
            file.funcs[text(name_node, file.source)] = node
    elif kind == "import_functionality":
        _import(file, node)
    elif kind == "using_statement":
        file.using = _string_literal(next((c for c in named if c.type == "string"), None), file.source)
    elif kind == "resource_declaration" and len(named) >= 2:
        type_text = _string_literal(named[1], file.source) or ""
        type_name = type_text.split("@", 1)[0].casefold()
        if parent is not None and "/" not in type_name:
            type_name = f"{parent.type}/{type_name}"
        body = _after(node, "=")
        existing = any(c.type == "existing" for c in node.children)
        decl = ResourceDecl(text(named[0], file.source), type_name, node, body, parent, existing)
        file.resources[decl.symbol] = decl
        for nested in _nested_resources(body):
            _declare(file, nested, decl)
    elif kind == "module_declaration" and len(named) >= 2:
        path = _string_literal(named[1], file.source) or ""
        file.modules.append(ModuleDecl(text(named[0], file.source), path, node, _after(node, "=")))


def _import(file: BicepFile, node: Node) -> None:
    """``import { a, b as c } from 'x.bicep'`` and ``import * as ns from 'x.bicep'`` (exported vars and functions)."""
    path = _string_literal(next((c for c in node.named_children if c.type == "string"), None), file.source)
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


def _after(node: Node, token: str) -> Node | None:
    """The first named child after an anonymous ``token`` child (the value of ``x = value``)."""
    seen = False
    for child in node.children:
        if seen and child.is_named and child.type != "comment":
            return child
        if child.type == token and not child.is_named:
            seen = True
    return None


def _object_of(body: Node | None) -> Node | None:
    """The object inside a resource or module body (``{…}``, ``if (…) {…}``, ``[for …: {…}]``)."""
    if body is None:
        return None
    if body.type == "object":
        return body
    if body.type in ("if_statement", "for_statement"):
        inner = body.child_by_field_name("body") or next(
            (c for c in reversed(body.named_children) if c.type in ("object", "if_statement")), None
        )
        return _object_of(inner)
    return None


def _nested_resources(body: Node | None) -> Iterator[Node]:
    obj = _object_of(body)
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


class Scope:
    """Names visible while evaluating one instance of a file: bound parameters, vars, resources, loop items."""

    def __init__(self, evaluator: Evaluator, file: BicepFile, bound: dict[str, Value], where: str) -> None:
        self.evaluator = evaluator
        self.file = file
        self.bound = bound
        self.where = where  # for notes: "main.bicep", "module openAi (core/ai/cognitiveservices.bicep)"
        self.locals: dict[str, Value] = {}
        self._cache: dict[str, Value] = {}
        self._busy: set[str] = set()
        self.root: Scope = self

    def child(self, names: dict[str, Value]) -> Scope:
        scope = Scope(self.evaluator, self.file, self.bound, self.where)
        scope.locals = {**self.locals, **names}
        scope.root = self.root
        return scope

    def lookup(self, name: str, node: Node) -> Value:
        if name in self.locals:
            return self.locals[name]
        root = self.root
        if name in root._cache:
            return root._cache[name]
        if name in root._busy:
            return Unknown(name, self._span(node), "refers to itself")
        root._busy.add(name)
        try:
            value = confine.bounded(self._resolve(name, node), name)  # confinement: a value's size limit
        finally:
            root._busy.discard(name)
        root._cache[name] = value
        return value

    def _resolve(self, name: str, node: Node) -> Value:
        file = self.file
        if name in file.params:
            if name in self.bound:
                return self.bound[name]
            default = file.params[name]
            if default is None and name in file.nullable:
                return Lit(None)
            if default is None:
                return Unknown(name, self._span(node), f"parameter without a value in {file.path.name}")
            return self.evaluator.ev(default, self.root)
        if name in file.vars:
            return self.evaluator.ev(file.vars[name], self.root)
        if name in file.resources:
            return self.evaluator.resource(file.resources[name], self.root)
        if any(m.symbol == name for m in file.modules):
            return Unknown(name, self._span(node), "a module's outputs are known only after deployment")
        if name in file.imports:
            return self.evaluator.imported(file, name, node, self)
        lost = next((x for x in file.lost if x.name == name), None)
        if lost is not None:
            return Unknown(name, self._span(node), f"syntax error at {file.path.name}:{lost.line}")
        return Unknown(name, self._span(node), "not declared")

    def _span(self, node: Node) -> Span:
        return self.file.source.byte_span(node.start_byte, node.end_byte)


class Evaluator:
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

    def unknown(self, node: Node, scope: Scope, reason: str) -> Unknown:
        src = scope.file.source
        raw = " ".join(text(node, src).split())
        return Unknown(raw[:100], src.byte_span(node.start_byte, node.end_byte), reason)

    def resource(self, decl: ResourceDecl, scope: Scope) -> Value:
        obj = decl.body
        if obj is not None and obj.type == "for_statement":
            return Unknown(decl.symbol, None, "a resource collection (loop)")
        body = self.ev(_object_of(obj), scope) if _object_of(obj) is not None else Obj({})
        return Resource(decl.type, body if isinstance(body, Obj) else Obj({}), None)

    def ev(self, node: Node | None, scope: Scope) -> Value:
        if node is None:
            return Unknown("", None, "missing")
        kind = node.type
        src = scope.file.source
        if self._postfix:
            chain = self._postfix.pop((node.start_byte, node.end_byte, kind), None)
            if chain is not None:  # an operand the grammar left its `.x` / `[i]` off: put them back
                return self._apply_postfix(self.ev(node, scope), chain, scope)
        if kind in ("member_expression", "subscript_expression"):
            misbound = _misbound(node)
            if misbound is not None:
                operator_node, chain, operand = misbound
                where = (operand.start_byte, operand.end_byte, operand.type)
                self._postfix[where] = chain
                try:
                    return self.ev(operator_node, scope)
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
            inner = _children(node)
            return self.ev(inner[0], scope) if inner else self.unknown(node, scope, "empty")
        if kind == "member_expression":
            return self._member(node, scope)
        if kind == "subscript_expression":
            target = self.ev(node.child_by_field_name("object"), scope)
            index_key = self.ev(node.child_by_field_name("index"), scope)
            return ops.index(target, index_key, text(node, src))
        if kind == "ternary_expression":
            return ops.condition(
                self.ev(node.child_by_field_name("condition"), scope),
                self.ev(node.child_by_field_name("consequence"), scope),
                self.ev(node.child_by_field_name("alternative"), scope),
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

    def _object(self, node: Node, scope: Scope) -> Value:
        """An object literal; ``...x`` merges x's properties in."""
        src = scope.file.source
        items: dict[str, Value] = {}
        for prop in node.named_children:
            if prop.type != "object_property":
                continue
            parts = _children(prop)
            if len(parts) < 2 or parts[-1].type == "resource_declaration":
                continue
            if prop.start_byte in scope.file.spreads:  # `...x`: x's properties, merged in
                spread = self.ev(parts[-1], scope)
                if isinstance(spread, Obj):
                    items.update(spread.items)
                elif not (isinstance(spread, Lit) and spread.value is None):
                    return (
                        spread if isinstance(spread, Unknown) else self.unknown(prop, scope, "not an object")
                    )
                continue
            key_node = parts[0]
            key = text(key_node, src) if key_node.type == "identifier" else _string_literal(key_node, src)
            if key is not None:
                items[key] = self.ev(parts[-1], scope)
        return Obj(items, src.byte_span(node.start_byte, node.end_byte))

    def _array(self, node: Node, scope: Scope) -> Value:
        """An array literal; ``...x`` puts x's items in place."""
        src = scope.file.source
        elements: list[Value] = []
        for child in _children(node):
            element = self.ev(child, scope)
            if child.start_byte not in scope.file.spreads:
                elements.append(element)
            elif isinstance(element, Arr):  # `...x`: x's items, in place
                elements.extend(element.items)
            else:
                return element if isinstance(element, Unknown) else self.unknown(child, scope, "not an array")
        return Arr(tuple(elements), src.byte_span(node.start_byte, node.end_byte))

    def _member(self, node: Node, scope: Scope) -> Value:
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
        target = self.ev(object_node, scope)
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

    def _unary(self, node: Node, scope: Scope) -> Value:
        """``!x`` and ``-n``."""
        src = scope.file.source
        operator = node.child_by_field_name("operator")
        argument = self.ev(node.child_by_field_name("argument"), scope)
        op = text(operator, src) if operator else ""
        if op == "!":
            truth = ops.truth(argument)
            if truth is None:
                return argument if isinstance(argument, Unknown) else self.unknown(node, scope, "not static")
            return ops.derived(not truth, argument)
        if op == "-" and isinstance(argument, Lit) and isinstance(argument.value, int):
            return Lit(-argument.value)
        return self.unknown(node, scope, "unsupported operator")

    def _apply_postfix(self, value: Value, chain: list[Node], scope: Scope) -> Value:
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
                result = ops.index(value, self.ev(step.child_by_field_name("index"), scope), text(step, src))
            value = (
                Lit(None)
                if safe and isinstance(result, Unknown) and not isinstance(value, Unknown)
                else result
            )
        return value

    def _string(self, node: Node, scope: Scope) -> Value:
        src = scope.file.source
        parts = node.named_children
        if not any(c.type == "interpolation" for c in parts):
            value = "".join(_piece(c, src) for c in parts)
            escaped = any(c.type == "escape_sequence" for c in parts)
            quote = 3 if text(node, src).startswith("'''") else 1
            span = None if escaped else src.byte_span(node.start_byte + quote, node.end_byte - quote)
            return Lit(value, span)
        pieces: list[Value] = []
        for c in parts:
            if c.type == "interpolation":
                inner = _children(c)
                pieces.append(self.ev(inner[0], scope) if inner else self.unknown(c, scope, "empty"))
            else:
                pieces.append(Lit(_piece(c, src)))
        result = ops.concat_text(pieces, text(node, src))
        if isinstance(result, Unknown) and result.span is None:
            return Unknown(result.expression, src.byte_span(node.start_byte, node.end_byte), result.reason)
        return result

    def _binary(self, node: Node, scope: Scope) -> Value:
        src = scope.file.source
        operator = node.child_by_field_name("operator")
        op = text(operator, src) if operator else ""
        left = self.ev(node.child_by_field_name("left"), scope)
        if op in ("&&", "||"):
            first = ops.truth(left)
            if first is not None and first == (op == "||"):
                return Lit(first)
            right = self.ev(node.child_by_field_name("right"), scope)
            second = ops.truth(right)
            if first is None or second is None:
                return self.unknown(node, scope, "not static")
            return Lit(second)
        right = self.ev(node.child_by_field_name("right"), scope)
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

    def _call(self, node: Node, scope: Scope) -> Value:
        src = scope.file.source
        fn = node.child_by_field_name("function")
        name = text(fn, src).removeprefix("sys.") if fn is not None else ""
        args_node = node.child_by_field_name("arguments")
        arg_nodes = _children(args_node) if args_node is not None else []
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
            variable = _string_literal(arg_nodes[0], src) or "?"
            if len(arg_nodes) < 2:
                return self.unknown(node, scope, f"environment variable {variable}")
            default = self.ev(arg_nodes[1], scope)
            if not isinstance(default, Lit):
                return default
            why = f"default of readEnvironmentVariable('{variable}', …); {variable} may override it"
            return Lit(default.value, default.span, (*default.notes, why), env=variable)
        function = self._function(fn, scope)
        if function is not None:
            return self._call_function(function, node, [self.ev(a, scope) for a in arg_nodes], scope)
        if name in ("loadJsonContent", "loadYamlContent", "loadTextContent") and arg_nodes:
            return self._load(name, node, arg_nodes, scope)
        if name in LAMBDA_FUNCTIONS:
            return self._higher_order(name, node, arg_nodes, scope)
        args = [self.ev(a, scope) for a in arg_nodes]
        simple = ops.builtin(name.casefold(), args, expression)
        if simple is not None:
            return simple
        return self.unknown(node, scope, f"{name}() is not evaluated statically")

    def _load(self, name: str, node: Node, arg_nodes: list[Node], scope: Scope) -> Value:
        """``loadJsonContent`` / ``loadYamlContent`` (values keep their spans: a pin in ``ai.yaml`` is fixable),
        ``loadTextContent``; an optional JSONPath of plain ``$.a.b`` steps."""
        rel = _string_literal(arg_nodes[0], scope.file.source)
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
            query = _string_literal(arg_nodes[1], scope.file.source)
            if query is None or not query.startswith("$"):
                return self.unknown(node, scope, "JSONPath not static")
            for step in [p for p in query[1:].split(".") if p]:
                value = ops.member(value, step, text(node, scope.file.source))
        return value

    def _function(self, fn: Node | None, scope: Scope) -> tuple[BicepFile, Node] | None:
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
        self, function: tuple[BicepFile, Node], node: Node, args: list[Value], scope: Scope
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
        body = _after(declaration, "=>")
        called = Scope(self, file, {}, file.path.name).child(dict(zip(names, args, strict=True)))
        self._depth += 1
        try:
            return self.ev(body, called)
        finally:
            self._depth -= 1

    def _import_target(self, file: BicepFile, path: str) -> BicepFile | None:
        target = _local_module(file.path, path)
        return self.file(target) if target is not None and target.is_file() else None

    def imported(self, file: BicepFile, name: str, node: Node, scope: Scope) -> Value:
        """A variable imported by name (``import { x } from '…'``): its value in its own file."""
        path, original = file.imports[name]
        return self.imported_member(scope, None, original or name, node, path=path)

    def imported_member(
        self, scope: Scope, namespace: str | None, name: str, node: Node, path: str | None = None
    ) -> Value:
        file = scope.file
        if path is None:
            path = file.imports[namespace or ""][0]
        target = self._import_target(file, path)
        where = text(node, file.source)
        if target is None:
            return Unknown(where, file.source.byte_span(node.start_byte, node.end_byte), f"{path} not read")
        if name in target.vars:
            return Scope(self, target, {}, target.path.name).lookup(name, node)
        return Unknown(
            where, file.source.byte_span(node.start_byte, node.end_byte), f"no variable {name} in {path}"
        )

    def _lambda(self, argument: Node, scope: Scope) -> tuple[list[str], Node] | None:
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
                    body = _after(declaration, "=")
                    self._trees.append(tree)  # the nodes live as long as their tree
            self._bodies[key] = body
        body = self._bodies[key]
        return (names, body) if body is not None else None

    def _higher_order(self, name: str, node: Node, arg_nodes: list[Node], scope: Scope) -> Value:
        """``map``, ``filter``, ``reduce``, ``toObject``, ``sort``, ``groupBy`` over a known array, ``mapValues`` over
        a known object."""
        expression = text(node, scope.file.source)
        lambdas = [self._lambda(a, scope) for a in arg_nodes[1:]]
        source = self.ev(arg_nodes[0], scope)
        if isinstance(source, Unknown):
            return source

        def apply(function: tuple[list[str], Node] | None, *values: Value) -> Value:
            if function is None:
                return self.unknown(node, scope, "the lambda is not understood")
            names, body = function
            return self.ev(body, scope.child(dict(zip(names, values, strict=False))))

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
            accumulator = self.ev(arg_nodes[1], scope)
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

    def loop(self, node: Node, scope: Scope) -> tuple[list[Scope], Unknown | None, list[str]]:
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
        iterable_node = _after(node, "in")
        label = " ".join(text(iterable_node, src).split()) if iterable_node is not None else "?"
        iterable = confine.bounded_loop(self.ev(iterable_node, scope), label)  # confinement: ARM's 800 copies
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

    def _for_array(self, node: Node, scope: Scope) -> Value:
        scopes, unknown, _ = self.loop(node, scope)
        if unknown is not None:
            return unknown
        body = node.child_by_field_name("body")
        return Arr(tuple(self.ev(body, s) for s in scopes))


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


class BicepScanner:
    """Evaluates entry templates (and the local modules they call) into pins."""

    def __init__(self) -> None:
        self.pins: list[Pin] = []
        self.warnings: list[ScanWarning] = []
        self.evaluator = Evaluator(self._warn)
        self.files_read: set[Path] = set()
        self._warned: set[tuple[Path, int | None, str]] = set()
        self._compiled_cache: dict[Path, tuple[Path, Obj] | None] = {}

    def _warn(self, path: Path, line: int | None, message: str) -> None:
        key = (path.resolve(), line, message)
        if key not in self._warned:
            self._warned.add(key)
            self.warnings.append(ScanWarning(path, line, message))

    def scan(self, paths: list[Path]) -> None:
        """``paths``: every .bicep file found. Files another one calls as a module are scanned through it."""
        files = {p.resolve(): self.evaluator.file(p) for p in paths}
        called: set[Path] = set()
        for path, parsed in files.items():
            if parsed is None:
                continue
            self.files_read.add(path)
            for module in parsed.modules:
                target = _local_module(path, module.path)
                if target is not None:
                    called.add(target.resolve())
        for path in sorted(files):
            if path in called or files[path] is None:
                continue
            parsed = files[path]
            assert parsed is not None
            try:
                for bound, where in self._parameter_sets(path):
                    self._evaluate_switched(parsed, bound, (where,) if where else ())
            except EVALUATION_ERRORS as exc:
                self._warn(
                    path, None, f"could not evaluate it ({type(exc).__name__}: {exc}); please report this"
                )

    def _evaluate_switched(self, file: BicepFile, bound: dict[str, Value], context: tuple[str, ...]) -> None:
        """The deployment as it is by default, then each environment switch (``${USE_X=false}``) turned the other
        way: deployments only the switch brings are listed as not deployed by default (never dropped silently)."""
        start = len(self.pins)
        self._evaluate(file, bound, context, depth=0)
        seen = {_deployment_key(p) for p in self.pins[start:]}
        for name, value in ops.switches(bound):
            other, why = ops.flipped(value)
            before = len(self.pins)
            self._evaluate(file, {**bound, name: other}, (*context, why), depth=0)
            extra = [p for p in self.pins[before:] if _deployment_key(p) not in seen]
            seen.update(_deployment_key(p) for p in extra)
            self.pins[before:] = extra

    def _parameter_sets(self, template: Path) -> list[tuple[dict[str, Value], str]]:
        """Each parameter file beside the template (a separate deployment each), or none."""
        sets: list[tuple[dict[str, Value], str]] = []
        json_file = template.with_name(template.stem + ".parameters.json")
        if json_file.is_file():
            values = self._json_parameters(json_file)
            if values is not None:
                sets.append((values, f"parameters from {json_file.name}"))
        for candidate in sorted(template.parent.glob("*.bicepparam")):
            values = self._bicepparam(candidate, template)
            if values is not None:
                sets.append((values, f"parameters from {candidate.name}"))
        return sets or [({}, "")]

    def _json_parameters(self, path: Path) -> dict[str, Value] | None:
        try:
            doc = JsonDocument(SourceText.read(path))
        except SourceError as exc:
            self._warn(path, None, str(exc))
            return None
        self.files_read.add(path.resolve())
        if doc.error is not None:
            self._warn(path, doc.error[0], doc.error[1] + "; values after it may be missed")
        params = ops.lookup(doc.value, "parameters") if doc.value is not None else None
        if not isinstance(params, Obj):
            self._warn(path, 1, 'not a deployment parameters file (no "parameters" object)')
            return None
        return parameter_values(params, path.name)

    def _bicepparam(self, path: Path, template: Path) -> dict[str, Value] | None:
        try:
            parsed = parse_bicepparam(path)
        except SourceError as exc:
            self._warn(path, None, str(exc))
            return None
        if parsed.using is None or (path.parent / parsed.using).resolve() != template.resolve():
            return None
        self.files_read.add(path.resolve())
        for lost in parsed.lost:  # one statement each; the rest of the file is read
            self._warn(path, lost.line, f"syntax error at {path.name}:{lost.line}: `{lost.header}` not read")
        scope = Scope(self.evaluator, parsed, {}, path.name)
        values = {
            name: ops.note(scope.lookup(name, parsed.root), f"parameter {name} from {path.name}")
            for name in parsed.params
        }
        for lost in parsed.lost:  # never the template's default in place of the value the file meant to give
            if lost.name is not None and lost.header.startswith("param "):
                values[lost.name] = Unknown(lost.name, None, f"syntax error at {path.name}:{lost.line}")
        return values

    def _evaluate(
        self, file: BicepFile, bound: dict[str, Value], context: tuple[str, ...], depth: int
    ) -> None:
        scope = Scope(self.evaluator, file, bound, file.path.name)
        for decl in file.resources.values():
            if decl.type == DEPLOYMENTS and not decl.existing:
                self._deployment(decl, scope, context)
        for lost in file.lost:
            if lost.header.startswith("resource ") and lost.name is not None:
                self._lost_deployment(lost, scope, context)
        for module in file.modules:
            self._module(file, module, scope, context, depth)

    def _instances(self, body: Node | None, scope: Scope) -> list[tuple[Node, Scope, str]]:
        """(object node, scope, label) for each instance a resource/module body declares; [] when its ``if`` is false."""
        if body is None:
            return []
        if body.type == "object":
            return [(body, scope, "")]
        if body.type == "if_statement":
            test_node = next((c for c in body.named_children if c.type == "parenthesized_expression"), None)
            test = self.evaluator.ev(test_node, scope) if test_node is not None else Lit(True)
            decided = ops.truth(test)
            inner = _object_of(body)
            src = scope.file.source
            if decided is False:
                condition = " ".join(text(test_node, src).split()) if test_node is not None else "(…)"
                why = f"{ops.NOT_DEPLOYED}: if {condition[:80]} is false"
                return [(inner, scope, why)] if inner is not None else []
            label = (
                ""
                if decided
                else f"deployed only if {' '.join(text(test_node, src).split())}"
                if test_node
                else ""
            )
            return [(inner, scope, label)] if inner is not None else []
        if body.type == "for_statement":
            scopes, _, labels = self.evaluator.loop(body, scope)
            inner_body = body.child_by_field_name("body")
            found = []
            for child, label in zip(scopes, labels, strict=True):
                for obj, s, extra in self._instances(inner_body, child):
                    found.append((obj, s, "; ".join(x for x in (label, extra) if x)))
            return found
        return []

    def _deployment(self, decl: ResourceDecl, scope: Scope, context: tuple[str, ...]) -> None:
        src = scope.file.source
        line = src.line_of(src.char_offset(decl.node.start_byte))
        instances = self._instances(decl.body, scope)
        compiled = self._compiled_instances(scope, decl.symbol, len(instances))
        for index, (obj_node, inner, label) in enumerate(instances):
            body = self.evaluator.ev(obj_node, inner)
            if compiled is not None:
                body = _fill_unknowns(body, compiled[index])
            parent: Value | None = ops.lookup(body, "parent")
            if parent is None and decl.parent is not None:
                parent = self.evaluator.resource(decl.parent, inner.root)
            name = ops.lookup(body, "name") or Unknown("name", None, "absent")
            account: Value = Unknown("parent", None, "no parent account")
            location: Value = Unknown("location", None, "the account is not in this file")
            if isinstance(parent, Resource):
                account = ops.lookup(parent, "name") or account
                location = ops.lookup(parent, "location") or location
            elif isinstance(parent, Unknown):
                account = location = parent
            if isinstance(name, Lit) and isinstance(name.value, str) and "/" in name.value:
                # the older form: name: '${account.name}/chat'
                account_name, _, short = name.value.partition("/")
                name = Lit(short, None, name.notes, name.env)
                account = Lit(account_name)
                location = self._account_location(account_name, inner) or location
            self.pins.append(
                body_pin(
                    "bicep",
                    src.path,
                    line,
                    body,
                    ops.lookup,
                    name=name,
                    account=account,
                    location=location,
                    context=tuple(c for c in (*context, label) if c),
                )
            )

    def _compiled(self, file: BicepFile) -> tuple[Path, Obj] | None:
        """The ARM template compiled from this file and committed beside it (AVM modules commit ``main.json``)."""
        key = file.path.resolve()
        if key not in self._compiled_cache:
            self._compiled_cache[key] = _compiled_template(file.path)
        return self._compiled_cache[key]

    def _compiled_instances(self, scope: Scope, symbol: str, count: int) -> list[Obj] | None:
        """The compiled resource of the same symbolic name, one evaluated body per instance, when the compiled
        template declares as many instances as the Bicep evaluation found (else None: nothing to pair)."""
        from shared.iac.arm_templates import ArmScanner
        from shared.iac.arm_templates import Scope as ArmScope

        compiled = self._compiled(scope.file)
        if compiled is None or count == 0:
            return None
        path, template = compiled
        resources = ops.lookup(template, "resources")
        resource = resources.get(symbol) if isinstance(resources, Obj) else None  # languageVersion 2.0 only
        if not isinstance(resource, Obj):
            return None
        arm = ArmScanner()
        arm_scope = ArmScope(template, path, dict(scope.bound))
        try:
            instances = arm._instances(resource, arm_scope)
            bodies = [arm.evaluator.value(resource, inner) for inner, _ in instances]
        except EVALUATION_ERRORS:
            return None
        if len(bodies) != count:
            return None
        kept = [_not_in(body, path) for body in bodies]
        return [body for body in kept if isinstance(body, Obj)] or None

    def _lost_deployment(self, lost: Lost, scope: Scope, context: tuple[str, ...]) -> None:
        """A deployment resource the grammar could not read, read from the compiled template instead (its
        finding stays on the .bicep line)."""
        compiled = self._compiled(scope.file)
        if compiled is None:
            return
        path, template = compiled
        resources = ops.lookup(template, "resources")
        resource = resources.get(lost.name or "") if isinstance(resources, Obj) else None
        kind = ops.lookup(resource, "type")
        if not isinstance(kind, Lit) or str(kind.value).casefold() != DEPLOYMENTS:
            return
        bodies = self._compiled_instances(scope, lost.name or "", 1) or []
        for body in bodies:
            name = ops.lookup(body, "name") or Unknown("name", None, "absent")
            account: Value = Unknown("name", None, "the account is in the compiled template")
            if isinstance(name, Lit) and isinstance(name.value, str) and "/" in name.value:
                account_name, _, short = name.value.partition("/")
                name, account = Lit(short, None, name.notes, name.env), Lit(account_name)
            self.pins.append(
                body_pin(
                    "bicep",
                    scope.file.path,
                    lost.line,
                    body,
                    ops.lookup,
                    name=name,
                    account=account,
                    location=Unknown("location", None, "the account is in the compiled template"),
                    context=(*context, f"read from {path.name}: the grammar could not read it"),
                )
            )

    def _account_location(self, account_name: str, scope: Scope) -> Value | None:
        for decl in scope.file.resources.values():
            if decl.type == ACCOUNTS:
                account = self.evaluator.resource(decl, scope.root)
                name = ops.lookup(account, "name")
                if isinstance(name, Lit) and name.value == account_name:
                    return ops.lookup(account, "location")
        return None

    def _module(
        self, file: BicepFile, module: ModuleDecl, scope: Scope, context: tuple[str, ...], depth: int
    ) -> None:
        src = file.source
        line = src.line_of(src.char_offset(module.node.start_byte))
        known = next((m for m in AVM_MODULES if m in module.path.casefold()), None)
        if known is not None:
            self._avm(module, scope, context, line, AVM_MODULES[known])
            return
        target = _local_module(file.path, module.path)
        if target is None:
            self._registry(module, scope, context, line)
            return
        refused = confine.refusal(f"module {module.symbol} '{module.path}'", target)  # confinement
        if refused is not None:
            self._warn(file.path, line, refused)
            return
        if not target.is_file():
            self._warn(file.path, line, f"module {module.symbol}: {module.path} not found")
            return
        if depth >= MAX_MODULE_DEPTH:
            self._warn(file.path, line, f"module {module.symbol}: modules nested too deep (a cycle?)")
            return
        called = self.evaluator.file(target)
        if called is None:
            return
        self.files_read.add(target.resolve())
        for obj_node, inner, label in self._instances(module.body, scope):
            body = self.evaluator.ev(obj_node, inner)
            params = ops.lookup(body, "params")
            bound = dict(params.items) if isinstance(params, Obj) else {}
            step = f"module {module.symbol} ({module.path}) in {file.path.name}" + (
                f", {label}" if label else ""
            )
            self._evaluate(called, bound, (*context, step), depth + 1)

    def _registry(self, module: ModuleDecl, scope: Scope, context: tuple[str, ...], line: int) -> None:
        """A registry or template-spec module whose code is not here: given something that looks like model
        deployments, an ``unknown`` pin naming it; otherwise a warning (never silent)."""
        src = scope.file.source
        for obj_node, inner, label in self._instances(module.body, scope):
            body = self.evaluator.ev(obj_node, inner)
            params = ops.lookup(body, "params")
            given = (
                [k for k, v in params.items.items() if ops.looks_like_deployments(k, v)]
                if isinstance(params, Obj)
                else []
            )
            if not given:
                self._warn(
                    src.path,
                    line,
                    f"module {module.symbol}: {module.path} not read (its code is not here; it is given no "
                    "model deployments)",
                )
                continue
            unknown = Unknown(
                f"module {module.symbol} {given[0]}",
                src.byte_span(module.node.start_byte, module.node.end_byte),
                f"{module.path}: its code is not here (scan the module's source)",
            )
            context_here = tuple(c for c in (*context, f"module {module.symbol}", label) if c)
            self.pins.append(unread_pin("bicep", src.path, line, unknown, context_here))

    def _avm(
        self,
        module: ModuleDecl,
        scope: Scope,
        context: tuple[str, ...],
        line: int,
        parameters: tuple[str, str],
    ) -> None:
        """An AVM module's documented deployments parameter: items with the deployment resource's shape,
        flattened (``name``, ``model``, ``sku``, ``versionUpgradeOption``)."""
        src = scope.file.source
        for obj_node, inner, label in self._instances(module.body, scope):
            body = self.evaluator.ev(obj_node, inner)
            parameter, account_parameter = parameters
            account = (
                ops.lookup(body, "params", account_parameter) if account_parameter else None
            ) or Unknown("name", None, f"{module.path} names its account itself")
            location = ops.lookup(body, "params", "location") or Unknown(
                "location", None, "the AVM module defaults to resourceGroup().location"
            )
            deployments = ops.lookup(body, "params", parameter)
            items: list[tuple[Value, str]]
            if isinstance(deployments, Arr):
                items = [(d, f"{parameter}[{i}]") for i, d in enumerate(deployments.items)]
            elif deployments is None:
                continue
            else:
                items = [(deployments, parameter)]
            for item, where in items:
                self.pins.append(
                    body_pin(
                        "bicep",
                        src.path,
                        line,
                        item,
                        ops.lookup,
                        # the account module's default: '${name}-deployments'
                        name=ops.lookup(item, "name")
                        or ops.concat_text([account, Lit("-deployments")], "'${name}-deployments'"),
                        account=account,
                        location=location,
                        context=tuple(
                            c for c in (*context, f"AVM module {module.symbol} {where}", label) if c
                        ),
                        wrapped=False,
                    )
                )


def _compiled_template(path: Path) -> tuple[Path, Obj] | None:
    """``<name>.json`` beside ``<name>.bicep`` when Bicep generated it, else None."""
    beside = path.with_suffix(".json")
    if beside.is_file():
        try:
            document = JsonDocument(SourceText.read(beside))
        except SourceError:
            document = None
        generator = ops.lookup(document.value, "metadata", "_generator", "name") if document else None
        if document is not None and isinstance(document.value, Obj) and scalar_text(generator) == "bicep":
            return beside, document.value
    # A Bicep CLI on PATH is not run: it follows `loadTextContent` and modules wherever they point, past the
    # scanned root that the scan itself stays inside, and it would run on untrusted pull requests.
    return None


def _not_in(value: Value, path: Path) -> Value:
    """The value with spans into ``path`` (a compiled template nobody edits) dropped, its origin noted."""
    if isinstance(value, Lit) and value.span is not None and value.span.path == path:
        return Lit(value.value, None, (*value.notes, f"from the compiled {path.name}"), value.env)
    if isinstance(value, Obj):
        return Obj({k: _not_in(v, path) for k, v in value.items.items()})
    if isinstance(value, Arr):
        return Arr(tuple(_not_in(v, path) for v in value.items))
    return value


def _fill_unknowns(value: Value, compiled: Value) -> Value:
    """Each part of a Bicep value that could not be known, taken from the compiled template where it is known
    there (the rest, and every span the fix needs, stays the Bicep evaluation's)."""
    if isinstance(value, Unknown):
        return compiled if ops.has_unknown(compiled) is None else value
    if isinstance(value, Obj) and isinstance(compiled, Obj):
        items = dict(value.items)
        for key, other in compiled.items.items():
            mine = value.get(key)
            items[key] = _fill_unknowns(mine, other) if mine is not None else other
        return Obj(items, value.span)
    return value


def _deployment_key(pin: Pin) -> tuple[object, ...]:
    """One deployment, whatever notes its values carry: where it is declared, its name, model and version."""
    return (
        pin.file,
        pin.line,
        *(ops.plain(v) if v is not None else None for v in (pin.name, pin.model_name, pin.model_version)),
    )


def parameter_values(params: Obj, file_name: str) -> dict[str, Value]:
    """An ARM parameters object ({name: {value: …}}) as bound values; azd ``${VAR=default}`` substituted."""
    bound: dict[str, Value] = {}
    for name, entry in params.items.items():
        value = ops.lookup(entry, "value")
        if value is None:
            reference = ops.lookup(entry, "reference")
            if reference is not None:
                bound[name] = Unknown(name, None, f"a Key Vault reference in {file_name}")
            continue
        bound[name] = ops.note(ops.azd_substitute(value, file_name), f"parameter {name} from {file_name}")
    return bound


def _local_module(caller: Path, reference: str) -> Path | None:
    if (
        not reference
        or ":" in reference.split("/", 1)[0]
        or reference.startswith(("br/", "ts/", "br:", "ts:"))
    ):
        return None
    return caller.parent / reference


def scan_bicep(paths: list[Path]) -> tuple[list[Pin], list[ScanWarning], set[Path]]:
    """Pins, warnings and the files read, for the given .bicep files (and parameter files beside them)."""
    scanner = BicepScanner()
    scanner.scan(paths)
    return scanner.pins, scanner.warnings, scanner.files_read

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

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shared.iac import confine
from shared.iac import values as ops
from shared.iac.jsonsrc import JsonDocument
from shared.iac.model import (
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
)
from shared.iac.source import SourceError, SourceText
from shared.iac.treesitter import first_error, parse, text

if TYPE_CHECKING:
    from tree_sitter import Node

DEPLOYMENTS = "microsoft.cognitiveservices/accounts/deployments"
ACCOUNTS = "microsoft.cognitiveservices/accounts"
AVM_ACCOUNT = "avm/res/cognitive-services/account"  # the Azure Verified Module for accounts and deployments
MAX_MODULE_DEPTH = 12

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "'": "'", "$": "$"}


@dataclass
class ResourceDecl:
    symbol: str
    type: str  # casefolded, without the API version; a nested one gets its parent's type prefixed
    node: Node
    body: Node | None  # object, for_statement or if_statement
    parent: ResourceDecl | None


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
    elif kind == "using_statement":
        file.using = _string_literal(next((c for c in named if c.type == "string"), None), file.source)
    elif kind == "resource_declaration" and len(named) >= 2:
        type_text = _string_literal(named[1], file.source) or ""
        type_name = type_text.split("@", 1)[0].casefold()
        if parent is not None and "/" not in type_name:
            type_name = f"{parent.type}/{type_name}"
        body = _after(node, "=")
        decl = ResourceDecl(text(named[0], file.source), type_name, node, body, parent)
        file.resources[decl.symbol] = decl
        for nested in _nested_resources(body):
            _declare(file, nested, decl)
    elif kind == "module_declaration" and len(named) >= 2:
        path = _string_literal(named[1], file.source) or ""
        file.modules.append(ModuleDecl(text(named[0], file.source), path, node, _after(node, "=")))


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
    source = SourceText.read(path)
    tree = parse("bicep", source.data)
    file = BicepFile(source, tree.root_node, first_error(tree.root_node, source))
    _declarations(file)
    return file


def parse_bicepparam(path: Path) -> BicepFile:
    """Parse a .bicepparam file. tree-sitter-bicep 1.1 has no rule for an untyped ``param x = …``; the same
    statement with ``var`` is valid Bicep, so each ``param`` keyword the first parse found is overwritten by
    ``var  `` (same length: every offset and line stays true) and the text parsed again."""
    source = SourceText.read(path)
    data = bytearray(source.data)
    first = parse("bicep", source.data)
    for node in first.root_node.named_children:
        if node.type == "parameter_declaration" and node.children and node.children[0].type == "param":
            keyword = node.children[0]
            data[keyword.start_byte : keyword.end_byte] = b"var  "
    tree = parse("bicep", bytes(data))
    file = BicepFile(source, tree.root_node, first_error(tree.root_node, source))
    _declarations(file)
    file.params, file.vars = dict(file.vars), {}
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
            if default is None:
                return Unknown(name, self._span(node), f"parameter without a value in {file.path.name}")
            return self.evaluator.ev(default, self.root)
        if name in file.vars:
            return self.evaluator.ev(file.vars[name], self.root)
        if name in file.resources:
            return self.evaluator.resource(file.resources[name], self.root)
        if any(m.symbol == name for m in file.modules):
            return Unknown(name, self._span(node), "a module's outputs are known only after deployment")
        return Unknown(name, self._span(node), "not declared")

    def _span(self, node: Node) -> Span:
        return self.file.source.byte_span(node.start_byte, node.end_byte)


class Evaluator:
    """Evaluates Bicep expressions to values; collects warnings."""

    def __init__(self, warn: Callable[[Path, int | None, str], None]) -> None:
        self.warn = warn
        self._files: dict[Path, BicepFile | None] = {}

    def file(self, path: Path) -> BicepFile | None:
        key = path.resolve()
        if key not in self._files:
            try:
                parsed = parse_file(key)
            except SourceError as exc:
                self.warn(path, None, str(exc))
                parsed = None
            if parsed is not None and parsed.error is not None:
                self.warn(path, parsed.error[0], parsed.error[1] + "; deployments in it may be missed")
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
            items: dict[str, Value] = {}
            for prop in node.named_children:
                if prop.type != "object_property":
                    continue
                parts = _children(prop)
                if len(parts) < 2 or parts[-1].type == "resource_declaration":
                    continue
                key_node = parts[0]
                key = text(key_node, src) if key_node.type == "identifier" else _string_literal(key_node, src)
                if key is not None:
                    items[key] = self.ev(parts[-1], scope)
            return Obj(items, src.byte_span(node.start_byte, node.end_byte))
        if kind == "array":
            return Arr(
                tuple(self.ev(c, scope) for c in _children(node)),
                src.byte_span(node.start_byte, node.end_byte),
            )
        if kind == "identifier":
            return scope.lookup(text(node, src), node)
        if kind == "parenthesized_expression":
            inner = _children(node)
            return self.ev(inner[0], scope) if inner else self.unknown(node, scope, "empty")
        if kind == "member_expression":
            object_node = node.child_by_field_name("object")
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
            operator = node.child_by_field_name("operator")
            argument = self.ev(node.child_by_field_name("argument"), scope)
            op = text(operator, src) if operator else ""
            if op == "!":
                truth = ops.truth(argument)
                if truth is None:
                    return (
                        argument if isinstance(argument, Unknown) else self.unknown(node, scope, "not static")
                    )
                return ops.derived(not truth, argument)
            if op == "-" and isinstance(argument, Lit) and isinstance(argument.value, int):
                return Lit(-argument.value)
            return self.unknown(node, scope, "unsupported operator")
        if kind == "binary_expression":
            return self._binary(node, scope)
        if kind == "call_expression":
            return self._call(node, scope)
        if kind == "for_statement":
            return self._for_array(node, scope)
        return self.unknown(node, scope, f"unsupported expression ({kind})")

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
        if name == "loadJsonContent" and arg_nodes:
            return self._load_json(node, arg_nodes, scope)
        args = [self.ev(a, scope) for a in arg_nodes]
        if name == "empty" and len(args) == 1:
            return ops.empty(args[0])
        if name == "contains" and len(args) == 2:
            return ops.contains(args[0], args[1], expression)
        if name in ("toLower", "toUpper") and len(args) == 1:
            arg = args[0]
            if isinstance(arg, Lit) and isinstance(arg.value, str):
                return Lit(
                    arg.value.lower() if name == "toLower" else arg.value.upper(), None, arg.notes, arg.env
                )
            return arg if isinstance(arg, Unknown) else self.unknown(node, scope, "not a string")
        if name == "concat":
            if all(isinstance(a, Arr) for a in args):
                return Arr(tuple(i for a in args if isinstance(a, Arr) for i in a.items))
            return ops.concat_text(args, expression)
        if name == "union":
            return ops.union(args, expression)
        if name == "coalesce":
            return ops.coalesce(args, expression)
        if (
            name == "string"
            and len(args) == 1
            and isinstance(args[0], Lit)
            and isinstance(args[0].value, str)
        ):
            return args[0]
        if name == "items" and len(args) == 1 and isinstance(args[0], Obj):
            return Arr(tuple(Obj({"key": Lit(k), "value": v}) for k, v in args[0].items.items()))
        return self.unknown(node, scope, f"{name}() is not evaluated statically")

    def _load_json(self, node: Node, arg_nodes: list[Node], scope: Scope) -> Value:
        rel = _string_literal(arg_nodes[0], scope.file.source)
        if rel is None:
            return self.unknown(node, scope, "path not static")
        path = scope.file.path.parent / rel
        # confinement: a load that leads out of the scanned root is a finding, and is not read
        refused = confine.refusal(f"loadJsonContent('{rel}')", path)
        if refused is not None:
            src = scope.file.source
            self.warn(scope.file.path, src.line_of(src.char_offset(node.start_byte)), refused)
            return self.unknown(node, scope, refused)
        try:
            doc = JsonDocument(SourceText.read(path))
        except SourceError as exc:
            return self.unknown(node, scope, f"{rel}: {exc}")
        return doc.value if doc.value is not None else self.unknown(node, scope, f"{rel} is empty")

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


def _field(value: Value | None, *path: str) -> Value | None:
    """Walk object properties; None when a property is absent, Unknown when a step cannot be known."""
    current = value
    for step in path:
        if current is None:
            return None
        if isinstance(current, Unknown):
            return current
        if isinstance(current, Resource):
            current = current.body
        if not isinstance(current, Obj):
            return Unknown(step, None, "not an object")
        found = current.get(step)
        if found is None or (isinstance(found, Lit) and found.value is None):
            return None
        current = found
    return current


class BicepScanner:
    """Evaluates entry templates (and the local modules they call) into pins."""

    def __init__(self) -> None:
        self.pins: list[Pin] = []
        self.warnings: list[ScanWarning] = []
        self.evaluator = Evaluator(self._warn)
        self.files_read: set[Path] = set()
        self._warned: set[tuple[Path, int | None, str]] = set()

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
                    self._evaluate(parsed, bound, (where,) if where else (), depth=0)
            except EVALUATION_ERRORS as exc:
                self._warn(
                    path, None, f"could not evaluate it ({type(exc).__name__}: {exc}); please report this"
                )

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
        params = _field(doc.value, "parameters") if doc.value is not None else None
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
        if parsed.error is not None:
            self._warn(path, parsed.error[0], parsed.error[1] + "; values after it may be missed")
        scope = Scope(self.evaluator, parsed, {}, path.name)
        return {
            name: ops.note(scope.lookup(name, parsed.root), f"parameter {name} from {path.name}")
            for name in parsed.params
        }

    def _evaluate(
        self, file: BicepFile, bound: dict[str, Value], context: tuple[str, ...], depth: int
    ) -> None:
        scope = Scope(self.evaluator, file, bound, file.path.name)
        for decl in file.resources.values():
            if decl.type == DEPLOYMENTS:
                self._deployment(decl, scope, context)
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
            if decided is False:
                return []
            inner = _object_of(body)
            src = scope.file.source
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
        for obj_node, inner, label in self._instances(decl.body, scope):
            body = self.evaluator.ev(obj_node, inner)
            parent: Value | None = _field(body, "parent")
            if parent is None and decl.parent is not None:
                parent = self.evaluator.resource(decl.parent, inner.root)
            name = _field(body, "name") or Unknown("name", None, "absent")
            account: Value = Unknown("parent", None, "no parent account")
            location: Value = Unknown("location", None, "the account is not in this file")
            if isinstance(parent, Resource):
                account = _field(parent, "name") or account
                location = _field(parent, "location") or location
            elif isinstance(parent, Unknown):
                account = location = parent
            if isinstance(name, Lit) and isinstance(name.value, str) and "/" in name.value:
                # the older form: name: '${account.name}/chat'
                account_name, _, short = name.value.partition("/")
                name = Lit(short, None, name.notes, name.env)
                account = Lit(account_name)
                location = self._account_location(account_name, inner) or location
            self.pins.append(
                Pin(
                    kind="bicep",
                    file=src.path,
                    line=line,
                    name=name,
                    account=account,
                    location=location,
                    model_format=_field(body, "properties", "model", "format"),
                    model_name=_field(body, "properties", "model", "name"),
                    model_version=_field(body, "properties", "model", "version"),
                    sku=_field(body, "sku", "name"),
                    upgrade_option=_field(body, "properties", "versionUpgradeOption"),
                    context=tuple(c for c in (*context, label) if c),
                )
            )

    def _account_location(self, account_name: str, scope: Scope) -> Value | None:
        for decl in scope.file.resources.values():
            if decl.type == ACCOUNTS:
                account = self.evaluator.resource(decl, scope.root)
                name = _field(account, "name")
                if isinstance(name, Lit) and name.value == account_name:
                    return _field(account, "location")
        return None

    def _module(
        self, file: BicepFile, module: ModuleDecl, scope: Scope, context: tuple[str, ...], depth: int
    ) -> None:
        src = file.source
        line = src.line_of(src.char_offset(module.node.start_byte))
        if AVM_ACCOUNT in module.path.casefold():
            self._avm(module, scope, context, line)
            return
        target = _local_module(file.path, module.path)
        if target is None:
            return  # a registry or template-spec module: its source is not here
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
            params = _field(body, "params")
            bound = dict(params.items) if isinstance(params, Obj) else {}
            step = f"module {module.symbol} ({module.path}) in {file.path.name}" + (
                f", {label}" if label else ""
            )
            self._evaluate(called, bound, (*context, step), depth + 1)

    def _avm(self, module: ModuleDecl, scope: Scope, context: tuple[str, ...], line: int) -> None:
        """The AVM account module: ``params.deployments`` items have the deployment resource's shape, flattened."""
        src = scope.file.source
        for obj_node, inner, label in self._instances(module.body, scope):
            body = self.evaluator.ev(obj_node, inner)
            account = _field(body, "params", "name") or Unknown("name", None, "absent")
            location = _field(body, "params", "location") or Unknown(
                "location", None, "the AVM module defaults to resourceGroup().location"
            )
            deployments = _field(body, "params", "deployments")
            items: list[tuple[Value, str]]
            if isinstance(deployments, Arr):
                items = [(d, f"deployments[{i}]") for i, d in enumerate(deployments.items)]
            elif deployments is None:
                continue
            else:
                items = [(deployments, "deployments")]
            for item, where in items:
                self.pins.append(
                    Pin(
                        kind="bicep",
                        file=src.path,
                        line=line,
                        name=_field(item, "name")
                        or _field(item, "model", "name")
                        or Unknown("name", None, "absent"),
                        account=account,
                        location=location,
                        model_format=_field(item, "model", "format"),
                        model_name=_field(item, "model", "name"),
                        model_version=_field(item, "model", "version"),
                        sku=_field(item, "sku", "name"),
                        upgrade_option=_field(item, "versionUpgradeOption"),
                        context=tuple(
                            c for c in (*context, f"AVM module {module.symbol} {where}", label) if c
                        ),
                    )
                )


def parameter_values(params: Obj, file_name: str) -> dict[str, Value]:
    """An ARM parameters object ({name: {value: …}}) as bound values; azd ``${VAR=default}`` substituted."""
    bound: dict[str, Value] = {}
    for name, entry in params.items.items():
        value = _field(entry, "value")
        if value is None:
            reference = _field(entry, "reference")
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

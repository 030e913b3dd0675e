"""Terraform: ``azurerm_cognitive_deployment`` and ``azapi_resource`` deployments, parsed by python-hcl2.

python-hcl2's Lark parse tree keeps every token's position, so a literal keeps the span of its text. A directory
is a module: its ``variable`` defaults, ``locals``, ``terraform.tfvars`` / ``*.auto.tfvars`` (always loaded) and
each other ``*.tfvars`` (a separate ``-var-file`` run each) give the values; ``for_each`` over a map or set and
``count`` produce one pin per instance; a local ``module`` call binds its arguments to the called module's
variables, so a version literal in the caller's map is reported where it is. Anything known only at apply time
(data sources, module outputs, ``path.*``) becomes ``Unknown`` naming the expression.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shared.iac import confine
from shared.iac import values as ops
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

if TYPE_CHECKING:
    from lark import Token, Tree

DEPLOYMENT = "azurerm_cognitive_deployment"
ACCOUNT = "azurerm_cognitive_account"
AZAPI = "azapi_resource"
DEPLOYMENTS_TYPE = "microsoft.cognitiveservices/accounts/deployments"
META_ARGUMENTS = frozenset({"source", "version", "providers", "depends_on", "count", "for_each"})
MAX_DEPTH = 12
_HCL_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


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


def _is_tree(node: object) -> bool:
    from lark import Tree

    return isinstance(node, Tree)


def _trees(tree: Tree[Token]) -> list[Tree[Token]]:
    return [c for c in tree.children if _is_tree(c) and c.data != "new_line_or_comment"]  # type: ignore[union-attr,misc]


def _tokens(tree: Tree[Token]) -> Iterator[Token]:
    from lark import Token

    return (t for t in tree.scan_values(lambda v: isinstance(v, Token)))


def _name(tree: Tree[Token]) -> str:
    """The text of an identifier / keyword / literal_value / string label."""
    if tree.data == "string":
        return "".join(str(t) for t in _tokens(tree) if t.type == "STRING_CHARS")
    return "".join(str(t) for t in _tokens(tree))


def _text(tree: Tree[Token], source: SourceText) -> str:
    tokens = list(_tokens(tree))
    if not tokens:
        return ""
    start, end = tokens[0].start_pos or 0, tokens[-1].end_pos or 0
    return " ".join(source.text[start:end].split())


def _span(tree: Tree[Token], source: SourceText) -> Span | None:
    tokens = list(_tokens(tree))
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


class HclError(Exception):
    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line


def _body_items(body: Tree[Token], source: SourceText) -> Iterator[tuple[str, Tree[Token] | Block]]:
    """(name, expression) for attributes and (type, Block) for blocks of a body."""
    for child in _trees(body):
        parts = _trees(child)
        if child.data == "attribute" and len(parts) >= 2:
            yield _name(parts[0]), parts[-1]
        elif child.data == "block" and parts:
            inner = next((p for p in parts if p.data == "body"), None)
            labels = tuple(_name(p) for p in parts[1:] if p.data != "body")
            first = next(_tokens(child), None)
            line = first.line if first is not None and first.line is not None else 1
            if inner is not None:
                yield _name(parts[0]), Block(_name(parts[0]), labels, inner, source, line)


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
        body = _trees(tree)[0] if _trees(tree) else None
        if body is None:
            continue
        for _, item in _body_items(body, source):
            if not isinstance(item, Block):
                continue
            if item.kind == "variable" and item.labels:
                attributes = {k: v for k, v in _body_items(item.body, source) if not isinstance(v, Block)}
                value, declared = attributes.get("default"), attributes.get("type")
                module.variables[item.labels[0]] = Located(value, source) if value is not None else None
                if declared is not None:
                    module.types[item.labels[0]] = Located(declared, source)
            elif item.kind == "output" and item.labels:
                attributes = {k: v for k, v in _body_items(item.body, source) if not isinstance(v, Block)}
                if "value" in attributes:
                    module.outputs[item.labels[0]] = Located(attributes["value"], source)
            elif item.kind == "locals":
                for key, local in _body_items(item.body, source):
                    if not isinstance(local, Block):
                        module.locals[key] = Located(local, source)
            elif item.kind == "resource" and len(item.labels) == 2:
                module.resources[(item.labels[0], item.labels[1])] = item
            elif item.kind == "data" and len(item.labels) == 2:
                module.data[(item.labels[0], item.labels[1])] = item
            elif item.kind == "module" and item.labels:
                module.calls.append(item)
    return module


class Scope:
    def __init__(self, evaluator: Evaluator, module: Module, bound: dict[str, Value]) -> None:
        self.evaluator = evaluator
        self.module = module
        self.bound = bound
        self.locals: dict[str, Value] = {}
        self.root: Scope = self
        self._cache: dict[str, Value] = {}
        self._busy: set[str] = set()

    def child(self, names: dict[str, Value]) -> Scope:
        scope = Scope(self.evaluator, self.module, self.bound)
        scope.locals = {**self.locals, **names}
        scope.root = self.root
        return scope

    def cached(self, key: str, compute: Callable[[], Value], expression: str) -> Value:
        root = self.root
        if key in root._cache:
            return root._cache[key]
        if key in root._busy:
            return Unknown(expression, None, "refers to itself")
        root._busy.add(key)
        try:
            value = confine.bounded(compute(), expression)  # confinement: a value's size limit
        finally:
            root._busy.discard(key)
        root._cache[key] = value
        return value


class Evaluator:
    def __init__(self, scanner: TerraformScanner | None = None) -> None:
        self.scanner = scanner

    def ev(self, node: Tree[Token], source: SourceText, scope: Scope) -> Value:
        kind = node.data
        parts = _trees(node)
        if kind == "expr_term":
            if len(parts) == 1:
                return self.ev(parts[0], source, scope)
            return self._unknown(node, source, "unsupported expression")
        if kind == "string":
            return self._string(node, source, scope)
        if kind == "int_lit":
            token = next(_tokens(node))
            return Lit(int(str(token)), source.span(token.start_pos or 0, token.end_pos or 0))
        if kind == "float_lit":
            token = next(_tokens(node))
            return Lit(float(str(token)), source.span(token.start_pos or 0, token.end_pos or 0))
        if kind == "literal_value":
            word = _name(node)
            return Lit(None if word == "null" else word == "true", _span(node, source))
        if kind == "tuple":
            return Arr(tuple(self.ev(p, source, scope) for p in parts), _span(node, source))
        if kind == "object":
            items: dict[str, Value] = {}
            for elem in parts:
                if elem.data != "object_elem":
                    continue
                key_tree, value_tree = _trees(elem)[0], _trees(elem)[-1]
                key = self._key(key_tree, source, scope)
                if key is not None:
                    items[key] = self.ev(value_tree, source, scope)
            return Obj(items, _span(node, source))
        if kind == "identifier":
            return self._reference([_name(node)], node, source, scope)
        if kind == "get_attr_expr_term":
            path = self._path(node)
            if path is not None:
                return self._reference(path, node, source, scope)
            target = self.ev(parts[0], source, scope)
            attr = _name(_trees(parts[1])[0]) if len(parts) > 1 and _trees(parts[1]) else ""
            return self._member(target, attr, _text(node, source))
        if kind == "index_expr_term":
            target = self.ev(parts[0], source, scope)
            index_tree = parts[1] if len(parts) > 1 else None
            if index_tree is None:
                return self._unknown(node, source, "empty index")
            if index_tree.data == "short_index":
                token = next(t for t in _tokens(index_tree) if t.type == "INT_LITERAL")
                index_key: Value = Lit(int(str(token)))
            else:
                index_key = self.ev(_trees(index_tree)[0], source, scope)
            return ops.index(target, index_key, _text(node, source))
        if kind == "conditional":
            test, then, otherwise = parts[0], parts[1], parts[2]
            return ops.condition(
                self.ev(test, source, scope),
                self.ev(then, source, scope),
                self.ev(otherwise, source, scope),
                _text(node, source),
            )
        if kind == "binary_op":
            return self._binary(node, source, scope)
        if kind == "unary_op":
            op = next(_tokens(node))
            value = self.ev(parts[0], source, scope)
            if str(op) == "!":
                truth = ops.truth(value)
                return (
                    ops.derived(not truth, value)
                    if truth is not None
                    else self._unknown(node, source, "not static")
                )
            if (
                isinstance(value, Lit)
                and isinstance(value.value, int | float)
                and not isinstance(value.value, bool)
            ):
                return Lit(-value.value)
            return self._unknown(node, source, "not static")
        if kind == "function_call":
            return self._call(node, source, scope)
        if kind in ("for_object_expr", "for_tuple_expr"):
            return self._for(node, source, scope)
        return self._unknown(node, source, f"unsupported expression ({kind})")

    def _unknown(self, node: Tree[Token], source: SourceText, reason: str) -> Unknown:
        return Unknown(_text(node, source)[:100], _span(node, source), reason)

    def _key(self, tree: Tree[Token], source: SourceText, scope: Scope) -> str | None:
        inner = _trees(tree)
        node = inner[0] if inner else tree
        while node.data == "expr_term" and len(_trees(node)) == 1:
            node = _trees(node)[0]
        if node.data in ("identifier", "keyword"):
            return _name(node)
        value = self.ev(node, source, scope)
        return str(value.value) if isinstance(value, Lit) and value.value is not None else None

    def _string(self, node: Tree[Token], source: SourceText, scope: Scope) -> Value:
        pieces = [p for p in _trees(node) if p.data == "string_part"]
        dquotes = [t for t in node.children if not _is_tree(t)]
        if all(not _trees(p) for p in pieces):
            raw = "".join(str(t) for p in pieces for t in _tokens(p))
            if any(t.type != "STRING_CHARS" for p in pieces for t in _tokens(p)):
                return self._unknown(node, source, "template directive")
            if "\\" in raw:
                return Lit(_unescape(raw))
            start = (dquotes[0].end_pos or 0) if dquotes else 0  # type: ignore[union-attr]
            end = (dquotes[-1].start_pos or 0) if dquotes else 0  # type: ignore[union-attr]
            return Lit(raw, source.span(start, end))
        values: list[Value] = []
        for piece in pieces:
            inner = _trees(piece)
            if inner and inner[0].data == "interpolation":
                expressions = _trees(inner[0])
                values.append(self.ev(expressions[0], source, scope) if expressions else Lit(""))
            elif inner:
                return self._unknown(node, source, "template directive")
            else:
                values.append(Lit(_unescape("".join(str(t) for t in _tokens(piece)))))
        result = ops.concat_text(values, _text(node, source))
        if isinstance(result, Unknown) and result.span is None:
            return Unknown(result.expression, _span(node, source), result.reason)
        return result

    def _path(self, node: Tree[Token]) -> list[str] | None:
        """``a.b.c`` as names when it is a plain traversal from an identifier."""
        names: list[str] = []
        current = node
        while current.data == "get_attr_expr_term":
            parts = _trees(current)
            attr = _trees(parts[1]) if len(parts) > 1 else []
            if not attr:
                return None
            names.append(_name(attr[0]))
            current = parts[0]
            while current.data == "expr_term" and len(_trees(current)) == 1:
                current = _trees(current)[0]
        if current.data != "identifier":
            return None
        return [_name(current), *reversed(names)]

    def _member(self, target: Value, attr: str, expression: str) -> Value:
        if isinstance(target, Resource) and attr == "id":
            return target  # an account's id: the deployment's parent
        return ops.member(target, attr, expression)

    def _reference(self, path: list[str], node: Tree[Token], source: SourceText, scope: Scope) -> Value:
        expression = _text(node, source)
        head = path[0]
        rest = path[1:]
        module = scope.module
        if head in scope.locals:
            value = scope.locals[head]
        elif head == "var" and rest:
            name, rest = rest[0], rest[1:]
            value = scope.cached(f"var.{name}", lambda: self._variable(name, scope, expression), expression)
        elif head == "local" and rest:
            name, rest = rest[0], rest[1:]
            local = module.locals.get(name)
            if local is None:
                return Unknown(
                    expression, _span(node, source), module.undeclared(f"local.{name} is not declared")
                )
            value = scope.cached(
                f"local.{name}", lambda: self.ev(local.tree, local.source, scope.root), expression
            )
        elif head == "data" and len(rest) >= 2:
            block = module.data.get((rest[0], rest[1]))
            value = (
                self._resource(block, f"data.{rest[0]}", scope)
                if block
                else Unknown(expression, None, module.undeclared("not declared"))
            )
            rest = rest[2:]
        elif head == "module" and len(rest) >= 2:
            call_name, output, rest = rest[0], rest[1], rest[2:]
            value = scope.cached(
                f"module.{call_name}.{output}",
                lambda: self._output(call_name, output, scope, expression),
                expression,
            )
        elif head == "path" and rest and rest[0] in ("module", "root"):
            value, rest = Lit(str(module.directory)), rest[1:]  # where file() reads from
        elif head in ("module", "path", "terraform", "self"):
            return Unknown(expression, _span(node, source), f"{head}.* is known only at apply time")
        elif rest and (head, rest[0]) in module.resources:
            block = module.resources[(head, rest[0])]
            value = self._resource(block, head, scope)
            rest = rest[1:]
        else:
            return Unknown(expression, _span(node, source), module.undeclared("not declared"))
        for attr in rest:
            value = self._member(value, attr, expression)
        if isinstance(value, Unknown) and value.span is None:
            return Unknown(value.expression, _span(node, source), value.reason)
        return value

    def _variable(self, name: str, scope: Scope, expression: str) -> Value:
        module = scope.module
        if name in scope.bound:
            value = scope.bound[name]
        elif name not in module.variables:
            return Unknown(expression, None, module.undeclared(f"variable {name} is not declared"))
        else:
            default = module.variables[name]
            if default is None:
                return Unknown(f"var.{name}", None, "variable without a default or tfvars value")
            value = self.ev(default.tree, default.source, scope.root)
        declared = module.types.get(name)
        return self._apply_type(value, declared.tree, declared.source, scope.root) if declared else value

    def _apply_type(self, value: Value, type_tree: Tree[Token], source: SourceText, scope: Scope) -> Value:
        """Fill in ``optional(type, default)`` attributes the value leaves out, as Terraform does."""
        node = type_tree
        while node.data == "expr_term" and len(_trees(node)) == 1:
            node = _trees(node)[0]
        if node.data != "function_call":
            return value
        parts = _trees(node)
        kind = _name(parts[0])
        arguments = next((p for p in parts if p.data == "arguments"), None)
        args = _trees(arguments) if arguments is not None else []
        if not args:
            return value
        if kind == "map" and isinstance(value, Obj):
            return Obj(
                {k: self._apply_type(v, args[0], source, scope) for k, v in value.items.items()}, value.span
            )
        if kind in ("list", "set") and isinstance(value, Arr):
            return Arr(tuple(self._apply_type(v, args[0], source, scope) for v in value.items), value.span)
        if kind == "object" and isinstance(value, Obj):
            shape = args[0]
            while shape.data == "expr_term" and len(_trees(shape)) == 1:
                shape = _trees(shape)[0]
            if shape.data != "object":
                return value
            items = dict(value.items)
            for elem in _trees(shape):
                if elem.data != "object_elem":
                    continue
                key = self._key(_trees(elem)[0], source, scope)
                attribute_type = _trees(elem)[-1]
                if key is None:
                    continue
                if key in items:
                    items[key] = self._apply_type(items[key], attribute_type, source, scope)
                    continue
                optional = attribute_type
                while optional.data == "expr_term" and len(_trees(optional)) == 1:
                    optional = _trees(optional)[0]
                if optional.data == "function_call" and _name(_trees(optional)[0]) == "optional":
                    opt_args = next((p for p in _trees(optional) if p.data == "arguments"), None)
                    defaults = _trees(opt_args) if opt_args is not None else []
                    items[key] = (
                        ops.note(self.ev(defaults[1], source, scope), f"optional() default of {key}")
                        if len(defaults) > 1
                        else Lit(None)
                    )
            return Obj(items, value.span)
        return value

    def _output(self, call_name: str, output: str, scope: Scope, expression: str) -> Value:
        """A local module's output, evaluated in that module with the call's arguments."""
        call = next((c for c in scope.module.calls if c.labels and c.labels[0] == call_name), None)
        if call is None or self.scanner is None:
            return Unknown(expression, None, f"module {call_name} is not declared")
        items = dict(_body_items(call.body, call.source))
        if "for_each" in items or "count" in items:
            return Unknown(expression, None, "a module with count/for_each")
        target = self.scanner.call_target(call)
        if target is None or not target.is_dir():
            return Unknown(expression, None, "a module whose source is not here")
        called = self.scanner.module(target)
        located = called.outputs.get(output)
        if located is None:
            return Unknown(expression, None, f"module {call_name} has no output {output}")
        bound = {
            key: self.ev(item, call.source, scope.root)
            for key, item in items.items()
            if not isinstance(item, Block) and key not in META_ARGUMENTS
        }
        return self.ev(located.tree, located.source, Scope(self, called, bound))

    def _resource(self, block: Block, kind: str, scope: Scope) -> Value:
        items = dict(_body_items(block.body, block.source))
        if "for_each" in items or "count" in items:
            return Unknown(f"{kind}.{block.labels[-1]}", None, "a resource with count/for_each")
        return Resource(kind, self.body(block.body, block.source, scope.root))

    def body(self, body: Tree[Token], source: SourceText, scope: Scope) -> Obj:
        """A block body as an object: attributes evaluated, nested blocks as objects (repeated ones as a list)."""
        items: dict[str, Value] = {}
        for key, item in _body_items(body, source):
            if isinstance(item, Block):
                if item.kind == "dynamic":
                    items[item.labels[0] if item.labels else "dynamic"] = Unknown(
                        f"dynamic {item.labels[0] if item.labels else ''}", None, "a dynamic block"
                    )
                    continue
                value = self.body(item.body, item.source, scope)
                previous = items.get(key)
                if isinstance(previous, Obj):
                    items[key] = Arr((previous, value))
                elif isinstance(previous, Arr):
                    items[key] = Arr((*previous.items, value))
                else:
                    items[key] = value
            else:
                items[key] = self.ev(item, source, scope)
        return Obj(items, _span(body, source))

    def _binary(self, node: Tree[Token], source: SourceText, scope: Scope) -> Value:
        parts = _trees(node)
        left = self.ev(parts[0], source, scope)
        term = parts[1] if len(parts) > 1 else None
        if term is None:
            return left
        term_parts = _trees(term)
        op = _name(term_parts[0]) if term_parts else ""
        right = self.ev(term_parts[-1], source, scope)
        if op in ("==", "!="):
            same = ops.equals(left, right)
            return (
                Lit(same if op == "==" else not same)
                if same is not None
                else self._unknown(node, source, "not static")
            )
        if op in ("&&", "||"):
            a, b = ops.truth(left), ops.truth(right)
            if a is None or b is None:
                return self._unknown(node, source, "not static")
            return Lit(a and b if op == "&&" else a or b)
        return self._unknown(node, source, f"operator {op} not evaluated")

    def _call(self, node: Tree[Token], source: SourceText, scope: Scope) -> Value:
        parts = _trees(node)
        name = _name(parts[0])
        arguments = next((p for p in parts if p.data == "arguments"), None)
        args_trees = _trees(arguments) if arguments is not None else []
        expression = _text(node, source)
        if name == "try":
            for arg in args_trees:
                value = self.ev(arg, source, scope)
                if ops.has_unknown(value) is None:
                    return value
            return self._unknown(node, source, "every try() argument is unknown")
        if name in ("jsondecode", "yamldecode") and len(args_trees) == 1:
            loaded = self._decode_file(name, args_trees[0], source, scope)
            if loaded is not None:
                return loaded
        args = [self.ev(a, source, scope) for a in args_trees]
        if name == "length" and len(args) == 1:
            return ops.length(args[0], expression)
        if name in ("keys", "values") and len(args) == 1:
            if isinstance(args[0], Obj):
                chosen = [Lit(k) for k in args[0].items] if name == "keys" else list(args[0].items.values())
                return Arr(tuple(chosen))
            return args[0] if isinstance(args[0], Unknown) else self._unknown(node, source, "not a map")
        if name == "contains" and len(args) == 2:
            return ops.contains(args[0], args[1], expression)
        if name == "flatten" and len(args) == 1:
            return ops.builtin("flatten", args, expression) or self._unknown(node, source, "not static")
        if name == "file" and len(args) == 1:
            return self._unknown(
                node, source, "file() contents are read only inside jsondecode()/yamldecode()"
            )
        if name in ("jsonencode", "tomap", "tolist", "tostring") and len(args) == 1:
            return args[0]  # azapi v1 bodies are jsonencode({...}): the object is what matters
        if name == "toset" and len(args) == 1:
            return ops.union([args[0]], expression) if isinstance(args[0], Arr) else args[0]
        if name == "lookup" and len(args) in (2, 3):
            found = ops.index(args[0], args[1], expression)
            if isinstance(found, Unknown) and len(args) == 3 and not isinstance(args[0], Unknown):
                return args[2]
            return found
        if name == "merge":
            return ops.union(args, expression)
        if name == "concat":
            if all(isinstance(a, Arr) for a in args):
                return Arr(tuple(i for a in args if isinstance(a, Arr) for i in a.items))
            return next(
                (a for a in args if isinstance(a, Unknown)),
                self._unknown(node, source, "concat of non-lists"),
            )
        if name == "coalesce":
            return (
                next((a for a in args if not ops.is_empty(a)), Lit(None))
                if all(ops.is_empty(a) is not None for a in args)
                else self._unknown(node, source, "not static")
            )
        if (
            name in ("lower", "upper")
            and len(args) == 1
            and isinstance(args[0], Lit)
            and isinstance(args[0].value, str)
        ):
            text = args[0].value
            return Lit(text.lower() if name == "lower" else text.upper())
        if name == "format" and args and isinstance(args[0], Lit) and isinstance(args[0].value, str):
            pieces = args[0].value.split("%s")
            if len(pieces) == len(args):
                mixed: list[Value] = []
                for i, piece in enumerate(pieces):
                    mixed.append(Lit(piece))
                    if i + 1 < len(args):
                        mixed.append(args[i + 1])
                return ops.concat_text(mixed, expression)
        return self._unknown(node, source, f"{name}() is not evaluated statically")

    def _decode_file(
        self, name: str, argument: Tree[Token], source: SourceText, scope: Scope
    ) -> Value | None:
        """``jsondecode(file(p))`` / ``yamldecode(file(p))``: the file's values, each keeping its span (a pin in
        a JSON or YAML file beside the module is reported, and fixed, where it is written)."""
        parts = _trees(argument)
        while argument.data == "expr_term" and len(parts) == 1:
            argument, parts = parts[0], _trees(parts[0])
        if argument.data != "function_call" or not parts or _name(parts[0]) != "file":
            return None
        inner = next((p for p in parts if p.data == "arguments"), None)
        inner_args = _trees(inner) if inner is not None else []
        if len(inner_args) != 1:
            return None
        where = self.ev(inner_args[0], source, scope)
        if not isinstance(where, Lit) or not isinstance(where.value, str):
            return where if isinstance(where, Unknown) else self._unknown(argument, source, "path not static")
        path = Path(where.value)
        if not path.is_absolute():
            path = scope.module.directory / path  # Terraform reads relative paths from the working directory
        refused = confine.refusal(f'file("{where.value}")', path)
        if refused is not None:  # confinement: a file outside the scanned root is a finding, not read
            span = _span(argument, source)
            if self.scanner is not None:
                self.scanner._warn(source.path, span.line if span else None, refused)
            return self._unknown(argument, source, refused)
        try:
            loaded = SourceText.read(path)
        except SourceError as exc:
            return self._unknown(argument, source, f"{where.value}: {exc}")
        if name == "yamldecode":
            try:
                return yaml_value(loaded)
            except ValueError as exc:
                return self._unknown(argument, source, f"{where.value}: not YAML ({exc})")
        document = JsonDocument(loaded)
        if document.value is None or document.error is not None:
            return self._unknown(argument, source, f"{where.value}: not JSON")
        return document.value

    def _for(self, node: Tree[Token], source: SourceText, scope: Scope) -> Value:
        parts = _trees(node)
        intro = next((p for p in parts if p.data == "for_intro"), None)
        if intro is None:
            return self._unknown(node, source, "malformed for expression")
        intro_parts = _trees(intro)
        names = [_name(p) for p in intro_parts if p.data == "identifier"]
        collection = self.ev(intro_parts[-1], source, scope)
        body = [p for p in parts if p.data not in ("for_intro", "for_cond")]
        condition = next((p for p in parts if p.data == "for_cond"), None)
        if isinstance(collection, Unknown):
            return collection
        pairs: list[tuple[Value, Value]]
        if isinstance(collection, Obj):
            pairs = [(Lit(k), v) for k, v in collection.items.items()]
        elif isinstance(collection, Arr):
            pairs = [(Lit(i), v) for i, v in enumerate(collection.items)]
        else:
            return self._unknown(node, source, "not a collection")
        results_obj: dict[str, Value] = {}
        results_arr: list[Value] = []
        for key, value in pairs:
            binding = {names[0]: value} if len(names) == 1 else {names[0]: key, names[1]: value}
            inner = scope.child(binding)
            if condition is not None:
                test = ops.truth(self.ev(_trees(condition)[-1], source, inner))
                if test is None:
                    return self._unknown(node, source, "the for condition is not static")
                if not test:
                    continue
            if node.data == "for_object_expr":
                k = self.ev(body[0], source, inner)
                if not isinstance(k, Lit) or k.value is None:
                    return k if isinstance(k, Unknown) else self._unknown(node, source, "key not static")
                results_obj[str(k.value)] = self.ev(body[1], source, inner)
            else:
                results_arr.append(self.ev(body[0], source, inner))
        return Obj(results_obj) if node.data == "for_object_expr" else Arr(tuple(results_arr))


def _unescape(raw: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            out.append(_HCL_ESCAPES.get(raw[i + 1], raw[i : i + 2]))
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


def _get(value: Value | None, *path: str) -> Value | None:
    """``values.lookup`` as Terraform reads it: a block (a list) stands for its first item."""
    return ops.lookup(value, *path, blocks=True)


class TerraformScanner:
    def __init__(self) -> None:
        self.pins: list[Pin] = []
        self.warnings: list[ScanWarning] = []
        self.files_read: set[Path] = set()
        self.evaluator = Evaluator(self)
        self._modules: dict[Path, Module] = {}

    def _warn(self, path: Path, line: int | None, message: str) -> None:
        warning = ScanWarning(path, line, message)
        if warning not in self.warnings:
            self.warnings.append(warning)

    def module(self, directory: Path) -> Module:
        key = directory.resolve()
        if key not in self._modules:
            self._modules[key] = load_module(key, self._warn)
            self.files_read.update(p.resolve() for p in key.glob("*.tf"))
        return self._modules[key]

    def scan(self, paths: list[Path]) -> None:
        directories = sorted({p.resolve().parent for p in paths if p.suffix == ".tf"})
        called: set[Path] = set()
        for directory in directories:
            for call in self.module(directory).calls:
                target = self.call_target(call)
                if target is not None:
                    called.add(target.resolve())
        for directory in directories:
            if directory in called:
                continue
            module = self.module(directory)
            try:
                for bound, where in self._tfvars_sets(module):
                    self._evaluate(module, bound, (where,) if where else (), 0)
            except EVALUATION_ERRORS as exc:
                self._warn(
                    directory,
                    None,
                    f"could not evaluate it ({type(exc).__name__}: {exc}); please report this",
                )

    def _tfvars_sets(self, module: Module) -> list[tuple[dict[str, Value], str]]:
        auto = [module.directory / "terraform.tfvars", *sorted(module.directory.glob("*.auto.tfvars"))]
        base: dict[str, Value] = {}
        base_names = []
        for path in auto:
            if path.is_file():
                base.update(self._tfvars(path, module))
                base_names.append(path.name)
        others = [p for p in sorted(module.directory.glob("*.tfvars")) if p not in auto]
        where = f"values from {', '.join(base_names)}" if base_names else ""
        if not others:
            return [(base, where)]
        return [
            (
                {**base, **self._tfvars(p, module)},
                f"values from {', '.join([*base_names, p.name])} (-var-file)",
            )
            for p in others
        ]

    def _tfvars(self, path: Path, module: Module) -> dict[str, Value]:
        try:
            source = SourceText.read(path)
            tree = parse_hcl(source)
        except SourceError as exc:
            self._warn(path, None, str(exc))
            return {}
        except HclError as exc:
            self._warn(path, exc.line, f"{exc}; its values are not used")
            return {}
        self.files_read.add(path.resolve())
        bodies = _trees(tree)
        scope = Scope(self.evaluator, module, {})
        values: dict[str, Value] = {}
        for key, item in _body_items(bodies[0], source) if bodies else ():
            if not isinstance(item, Block):
                values[key] = ops.note(
                    self.evaluator.ev(item, source, scope), f"variable {key} from {path.name}"
                )
        return values

    def call_target(self, call: Block) -> Path | None:
        items = dict(_body_items(call.body, call.source))
        source_tree = items.get("source")
        if source_tree is None or isinstance(source_tree, Block):
            return None
        scope = Scope(self.evaluator, Module(call.source.path.parent), {})
        value = self.evaluator.ev(source_tree, call.source, scope)
        text = value.value if isinstance(value, Lit) and isinstance(value.value, str) else ""
        if not text.startswith(("./", "../")):
            return None  # a registry or remote module: its source is not here
        return call.source.path.parent / text

    def _instances(self, block: Block, scope: Scope) -> list[tuple[Scope, str]]:
        items = dict(_body_items(block.body, block.source))
        for_each, count = items.get("for_each"), items.get("count")
        if isinstance(for_each, Block) or isinstance(count, Block):
            return [(scope, "")]
        switch = for_each if for_each is not None else count
        if switch is not None:
            other = self._other_branch(switch, block.source, scope)
            if other is not None:
                # `count = var.x ? 1 : 0` with x false by default: the instances the other branch declares,
                # listed as not deployed by default rather than dropped
                why = f"{ops.NOT_DEPLOYED}: {'for_each' if for_each is not None else 'count'} = "
                why += f"{_text(switch, block.source)[:80]} is empty"
                return [(inner, f"{label}; {why}" if label else why) for inner, label in other]
        if for_each is not None:
            label = _text(for_each, block.source)
            collection = confine.bounded_loop(self.evaluator.ev(for_each, block.source, scope), label)
            if isinstance(collection, Obj):
                return [
                    (scope.child({"each": Obj({"key": Lit(k), "value": v})}), f'{label}["{k}"]')
                    for k, v in collection.items.items()
                ]
            if isinstance(collection, Arr):
                return [
                    (scope.child({"each": Obj({"key": v, "value": v})}), f"{label}[{i}]")
                    for i, v in enumerate(collection.items)
                ]
            unknown = (
                collection if isinstance(collection, Unknown) else Unknown(label, None, "not a map or set")
            )
            return [
                (scope.child({"each": Obj({"key": unknown, "value": unknown})}), f"for_each over {label}")
            ]
        if count is not None:
            number = confine.bounded_loop(
                self.evaluator.ev(count, block.source, scope), _text(count, block.source)
            )
            if (
                isinstance(number, Lit)
                and isinstance(number.value, int)
                and not isinstance(number.value, bool)
            ):
                return [
                    (scope.child({"count": Obj({"index": Lit(i)})}), f"count.index {i}")
                    for i in range(number.value)
                ]
            unknown = (
                number
                if isinstance(number, Unknown)
                else Unknown(_text(count, block.source), None, "not a number")
            )
            return [(scope.child({"count": Obj({"index": unknown})}), "count not static")]
        return [(scope, "")]

    def _other_branch(
        self, switch: Tree[Token], source: SourceText, scope: Scope
    ) -> list[tuple[Scope, str]] | None:
        """The instances of a ``test ? a : b`` count/for_each that is empty as things stand, taken the other
        way; None when it is not such a switch."""
        tree = switch
        while tree.data == "expr_term" and len(_trees(tree)) == 1:
            tree = _trees(tree)[0]
        if tree.data != "conditional":
            return None
        branches = _trees(tree)
        if len(branches) != 3:
            return None
        test_tree, then_tree, else_tree = branches
        decided = ops.truth(self.evaluator.ev(test_tree, source, scope))
        if decided is None:
            return None
        chosen = self.evaluator.ev(then_tree if decided else else_tree, source, scope)
        empty = ops.is_empty(chosen) or (isinstance(chosen, Lit) and chosen.value == 0)
        if not empty:
            return None
        other = self.evaluator.ev(else_tree if decided else then_tree, source, scope)
        if isinstance(other, Lit) and isinstance(other.value, int) and not isinstance(other.value, bool):
            return [
                (scope.child({"count": Obj({"index": Lit(i)})}), f"count.index {i}")
                for i in range(other.value)
            ]
        if isinstance(other, Obj):
            return [
                (scope.child({"each": Obj({"key": Lit(k), "value": v})}), f'["{k}"]')
                for k, v in other.items.items()
            ]
        if isinstance(other, Arr):
            return [
                (scope.child({"each": Obj({"key": v, "value": v})}), f"[{i}]")
                for i, v in enumerate(other.items)
            ]
        return None

    def _evaluate(
        self, module: Module, bound: dict[str, Value], context: tuple[str, ...], depth: int
    ) -> None:
        scope = Scope(self.evaluator, module, bound)
        for (kind, label), block in module.resources.items():
            if kind == DEPLOYMENT:
                self._azurerm(block, label, scope, context)
            elif kind == AZAPI:
                self._azapi(block, label, scope, context)
        for call in module.calls:
            target = self.call_target(call) or self._downloaded(module, call)
            if target is None:
                self._registry(call, scope, context)
                continue
            try:
                written = target.relative_to(call.source.path.parent).as_posix()
            except ValueError:  # an absolute folder named by .terraform/modules/modules.json
                written = target.as_posix()
            refused = confine.refusal(f'module "{call.labels[0]}" source "{written}"', target)
            if refused is not None:  # confinement: a module outside the scanned root is a finding, not read
                self._warn(call.source.path, call.line, refused)
                continue
            if not target.is_dir():
                self._warn(call.source.path, call.line, f"module {call.labels[0]}: {target.name} not found")
                continue
            if depth >= MAX_DEPTH:
                self._warn(
                    call.source.path, call.line, f"module {call.labels[0]}: nested too deep (a cycle?)"
                )
                continue
            called = self.module(target)
            for inner, label in self._instances(call, scope):
                bound_args = {
                    key: self.evaluator.ev(item, call.source, inner)
                    for key, item in _body_items(call.body, call.source)
                    if not isinstance(item, Block) and key not in META_ARGUMENTS
                }
                step = f'module "{call.labels[0]}" ({target.name}) in {call.source.path.name}' + (
                    f", {label}" if label else ""
                )
                self._evaluate(called, bound_args, (*context, step), depth + 1)

    def _downloaded(self, module: Module, call: Block) -> Path | None:
        """A registry module ``terraform init`` downloaded: ``.terraform/modules/modules.json`` names its folder."""
        listing = module.directory / ".terraform" / "modules" / "modules.json"
        if not listing.is_file():
            return None
        try:
            document = JsonDocument(SourceText.read(listing))
        except SourceError:
            return None
        entries = _get(document.value, "Modules")
        for entry in entries.items if isinstance(entries, Arr) else ():
            key, folder = _get(entry, "Key"), _get(entry, "Dir")
            if scalar_text(key) == call.labels[0] and scalar_text(folder):
                target = module.directory / str(scalar_text(folder))
                # a folder outside the root is refused by the caller, like any module source leading out
                return target if target.is_dir() or not confine.is_inside(target) else None
        return None

    def _registry(self, call: Block, scope: Scope, context: tuple[str, ...]) -> None:
        """A registry module whose code is not here: the two Azure OpenAI modules by their documented inputs;
        any other one given something that looks like model deployments is an ``unknown`` pin naming it, else a
        warning (never silent)."""
        items = dict(_body_items(call.body, call.source))
        source_tree = items.get("source")
        if source_tree is None or isinstance(source_tree, Block):
            return
        source_value = self.evaluator.ev(
            source_tree, call.source, Scope(self.evaluator, Module(call.source.path.parent), {})
        )
        address = scalar_text(source_value) or _text(source_tree, call.source)
        short = address.casefold().removeprefix("registry.terraform.io/").split("//")[0]
        documented = REGISTRY_MODULES.get(short)
        name = call.labels[0] if call.labels else "?"
        for inner, label in self._instances(call, scope):
            arguments = {
                key: self.evaluator.ev(item, call.source, inner)
                for key, item in _body_items(call.body, call.source)
                if not isinstance(item, Block) and key not in META_ARGUMENTS
            }
            step = f'module "{name}" ({address}) in {call.source.path.name}' + (f", {label}" if label else "")
            if documented is not None:
                self._documented(documented, arguments, call, (*context, step))
                continue
            given = [k for k, v in arguments.items() if ops.looks_like_deployments(k, v)]
            if not given:
                self._warn(
                    call.source.path,
                    call.line,
                    f'module "{name}": registry module {address} not read (its code is not here; it is given '
                    "no model deployments)",
                )
                continue
            why = f"registry module {address}: its code is not here (run terraform init, or scan the module)"
            unknown = Unknown(f'module "{name}" {given[0]}', _span(call.body, call.source), why)
            self.pins.append(unread_pin("terraform", call.source.path, call.line, unknown, (*context, step)))

    def _documented(
        self, inputs: RegistryInputs, arguments: dict[str, Value], call: Block, context: tuple[str, ...]
    ) -> None:
        """Pins from a known registry module's deployments input (a map of objects)."""
        collection = arguments.get(inputs.deployments)
        account = arguments.get(inputs.account) or Unknown(inputs.account, None, "absent")
        location = arguments.get("location") or Unknown("location", None, "absent")
        if collection is None:
            return  # the module's default: no deployments
        entries: list[tuple[str, Value]]
        if isinstance(collection, Obj):
            entries = [(f'["{k}"]', v) for k, v in collection.items.items()]
        elif isinstance(collection, Arr):
            entries = [(f"[{i}]", v) for i, v in enumerate(collection.items)]
        else:
            entries = [("", collection)]
        for where, entry in entries:
            self.pins.append(
                Pin(
                    kind="terraform",
                    file=call.source.path,
                    line=call.line,
                    name=_get(entry, "name") or Unknown("name", None, "absent"),
                    account=account,
                    location=location,
                    model_format=_get(entry, *inputs.model_format),
                    model_name=_get(entry, *inputs.model_name),
                    model_version=_get(entry, *inputs.model_version),
                    sku=_get(entry, *inputs.sku) or (Lit(inputs.default_sku) if inputs.default_sku else None),
                    upgrade_option=_get(entry, "version_upgrade_option")
                    or (Lit(inputs.default_upgrade) if inputs.default_upgrade else None),
                    context=(*context, f"{inputs.deployments}{where}"),
                )
            )

    def _azurerm(self, block: Block, label: str, scope: Scope, context: tuple[str, ...]) -> None:
        for inner, where in self._instances(block, scope):
            body = self.evaluator.body(block.body, block.source, inner)
            account_ref = _get(body, "cognitive_account_id")
            account, location = _account(account_ref)
            sku = _get(body, "sku", "name") or _get(body, "scale", "type")
            self.pins.append(
                Pin(
                    kind="terraform",
                    file=block.source.path,
                    line=block.line,
                    name=_get(body, "name") or Unknown("name", None, "absent"),
                    account=account,
                    location=location,
                    model_format=_get(body, "model", "format"),
                    model_name=_get(body, "model", "name"),
                    model_version=_get(body, "model", "version"),
                    sku=sku,
                    upgrade_option=_get(body, "version_upgrade_option"),
                    context=tuple(c for c in (*context, f"{DEPLOYMENT}.{label}", where) if c),
                )
            )

    def _azapi(self, block: Block, label: str, scope: Scope, context: tuple[str, ...]) -> None:
        items = dict(_body_items(block.body, block.source))
        type_tree = items.get("type")
        if type_tree is None or isinstance(type_tree, Block):
            return
        kind = self.evaluator.ev(type_tree, block.source, scope)
        if not (isinstance(kind, Lit) and str(kind.value).casefold().split("@")[0] == DEPLOYMENTS_TYPE):
            return
        for inner, where in self._instances(block, scope):
            body = self.evaluator.body(block.body, block.source, inner)
            account, location = _account(_get(body, "parent_id"))
            payload = _get(body, "body")
            self.pins.append(
                body_pin(
                    "terraform",
                    block.source.path,
                    block.line,
                    payload,
                    _get,
                    name=_get(body, "name") or Unknown("name", None, "absent"),
                    account=account,
                    location=location,
                    context=tuple(c for c in (*context, f"{AZAPI}.{label}", where) if c),
                )
            )


@dataclass(frozen=True)
class RegistryInputs:
    """Where a registry module's documented input holds each deployment's values."""

    deployments: str
    account: str
    model_format: tuple[str, ...]
    model_name: tuple[str, ...]
    model_version: tuple[str, ...]
    sku: tuple[str, ...]
    default_sku: str | None = None
    default_upgrade: str | None = None


# Documented inputs (the modules' README / variables.tf): Azure/openai/azurerm `deployment` (a map of
# {name, model_format, model_name, model_version, scale_type}); Azure/avm-res-cognitiveservices-account/azurerm
# `cognitive_deployments` (a map of {name, model {format, name, version}, scale {type}, version_upgrade_option,
# which defaults to OnceNewDefaultVersionAvailable}).
REGISTRY_MODULES = {
    "azure/openai/azurerm": RegistryInputs(
        "deployment",
        "account_name",
        ("model_format",),
        ("model_name",),
        ("model_version",),
        ("scale_type",),
        default_sku="Standard",
    ),
    "azure/avm-res-cognitiveservices-account/azurerm": RegistryInputs(
        "cognitive_deployments",
        "name",
        ("model", "format"),
        ("model", "name"),
        ("model", "version"),
        ("scale", "type"),
        default_upgrade="OnceNewDefaultVersionAvailable",
    ),
}


def _account(reference: Value | None) -> tuple[Value, Value]:
    """(account name, location) from the deployment's account id reference."""
    if isinstance(reference, Resource):
        name = _get(reference, "name") or Unknown("name", None, "the account has no static name")
        location = _get(reference, "location") or Unknown(
            "location", None, "the account has no static location"
        )
        return name, location
    if isinstance(reference, Unknown):
        return reference, reference
    if (
        isinstance(reference, Lit)
        and isinstance(reference.value, str)
        and "/accounts/" in reference.value.casefold()
    ):
        return Lit(reference.value.rstrip("/").rsplit("/", 1)[-1]), Unknown(
            "location", None, "an account id gives no region"
        )
    return Unknown("cognitive_account_id", None, "absent"), Unknown("location", None, "no account")


def scan_terraform(paths: list[Path]) -> tuple[list[Pin], list[ScanWarning], set[Path]]:
    """Pins, warnings and the files read, for the directories of the given .tf files."""
    scanner = TerraformScanner()
    scanner.scan(paths)
    return scanner.pins, scanner.warnings, scanner.files_read

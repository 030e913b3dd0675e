"""HCL expressions evaluated statically: variables (defaults, tfvars, a caller's arguments), locals, functions,
``for`` expressions, ``count`` and ``for_each``; what is known only at apply time becomes ``Unknown``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from shared.iac import confine
from shared.iac import values as ops
from shared.iac.jsonsrc import JsonDocument, yaml_value
from shared.iac.pins import Arr, Lit, Obj, Resource, Unknown, Value
from shared.iac.source import SourceError, SourceText
from shared.iac.terraform.load import (
    META_ARGUMENTS,
    Block,
    Module,
    body_items,
    is_tree,
    subtrees,
    tree_name,
    tree_span,
    tree_text,
    tree_tokens,
)
from shared.iac.values import Memo

if TYPE_CHECKING:
    from lark import Token, Tree

_HCL_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


class TerraformScope:
    def __init__(self, evaluator: TerraformEvaluator, module: Module, bound: dict[str, Value]) -> None:
        self.evaluator = evaluator
        self.module = module
        self.bound = bound
        self.locals: dict[str, Value] = {}
        self.root: TerraformScope = self
        self.memo = Memo()  # the root's

    def child(self, names: dict[str, Value]) -> TerraformScope:
        scope = TerraformScope(self.evaluator, self.module, self.bound)
        scope.locals = {**self.locals, **names}
        scope.root = self.root
        return scope

    def cached(self, key: str, compute: Callable[[], Value], expression: str) -> Value:
        return self.root.memo.get(key, compute, expression)


class ScanCallbacks(Protocol):
    """What the evaluator asks of the scan that owns it (terraform/scan.py's ``TerraformScanner``): where a module
    call leads, that module loaded, and a warning kept. A protocol, so this module does not import the scanner."""

    def call_target(self, call: Block) -> Path | None: ...

    def module(self, directory: Path) -> Module: ...

    def warn(self, path: Path, line: int | None, message: str) -> None: ...


class TerraformEvaluator:
    def __init__(self, scanner: ScanCallbacks | None = None) -> None:
        self.scanner = scanner

    def value(self, node: Tree[Token], source: SourceText, scope: TerraformScope) -> Value:
        kind = node.data
        parts = subtrees(node)
        if kind == "expr_term":
            if len(parts) == 1:
                return self.value(parts[0], source, scope)
            return self._unknown(node, source, "unsupported expression")
        if kind == "string":
            return self._string(node, source, scope)
        if kind == "int_lit":
            token = next(tree_tokens(node))
            return Lit(int(str(token)), source.span(token.start_pos or 0, token.end_pos or 0))
        if kind == "float_lit":
            token = next(tree_tokens(node))
            return Lit(float(str(token)), source.span(token.start_pos or 0, token.end_pos or 0))
        if kind == "literal_value":
            word = tree_name(node)
            return Lit(None if word == "null" else word == "true", tree_span(node, source))
        if kind == "tuple":
            return Arr(tuple(self.value(p, source, scope) for p in parts), tree_span(node, source))
        if kind == "object":
            items: dict[str, Value] = {}
            for elem in parts:
                if elem.data != "object_elem":
                    continue
                key_tree, value_tree = subtrees(elem)[0], subtrees(elem)[-1]
                key = self._key(key_tree, source, scope)
                if key is not None:
                    items[key] = self.value(value_tree, source, scope)
            return Obj(items, tree_span(node, source))
        if kind == "identifier":
            return self._reference([tree_name(node)], node, source, scope)
        if kind == "get_attr_expr_term":
            path = self._path(node)
            if path is not None:
                return self._reference(path, node, source, scope)
            target = self.value(parts[0], source, scope)
            attr = tree_name(subtrees(parts[1])[0]) if len(parts) > 1 and subtrees(parts[1]) else ""
            return self._member(target, attr, tree_text(node, source))
        if kind == "index_expr_term":
            target = self.value(parts[0], source, scope)
            index_tree = parts[1] if len(parts) > 1 else None
            if index_tree is None:
                return self._unknown(node, source, "empty index")
            if index_tree.data == "short_index":
                token = next(t for t in tree_tokens(index_tree) if t.type == "INT_LITERAL")
                index_key: Value = Lit(int(str(token)))
            else:
                index_key = self.value(subtrees(index_tree)[0], source, scope)
            return ops.index(target, index_key, tree_text(node, source))
        if kind == "conditional":
            test, then, otherwise = parts[0], parts[1], parts[2]
            return ops.condition(
                self.value(test, source, scope),
                self.value(then, source, scope),
                self.value(otherwise, source, scope),
                tree_text(node, source),
            )
        if kind == "binary_op":
            return self._binary(node, source, scope)
        if kind == "unary_op":
            op = next(tree_tokens(node))
            value = self.value(parts[0], source, scope)
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
        return Unknown(tree_text(node, source)[:100], tree_span(node, source), reason)

    def _key(self, tree: Tree[Token], source: SourceText, scope: TerraformScope) -> str | None:
        inner = subtrees(tree)
        node = inner[0] if inner else tree
        while node.data == "expr_term" and len(subtrees(node)) == 1:
            node = subtrees(node)[0]
        if node.data in ("identifier", "keyword"):
            return tree_name(node)
        value = self.value(node, source, scope)
        return str(value.value) if isinstance(value, Lit) and value.value is not None else None

    def _string(self, node: Tree[Token], source: SourceText, scope: TerraformScope) -> Value:
        pieces = [p for p in subtrees(node) if p.data == "string_part"]
        dquotes = [t for t in node.children if not is_tree(t)]
        if all(not subtrees(p) for p in pieces):
            raw = "".join(str(t) for p in pieces for t in tree_tokens(p))
            if any(t.type != "STRING_CHARS" for p in pieces for t in tree_tokens(p)):
                return self._unknown(node, source, "template directive")
            if "\\" in raw:
                return Lit(_unescape(raw))
            start = (dquotes[0].end_pos or 0) if dquotes else 0  # type: ignore[union-attr]
            end = (dquotes[-1].start_pos or 0) if dquotes else 0  # type: ignore[union-attr]
            return Lit(raw, source.span(start, end))
        values: list[Value] = []
        for piece in pieces:
            inner = subtrees(piece)
            if inner and inner[0].data == "interpolation":
                expressions = subtrees(inner[0])
                values.append(self.value(expressions[0], source, scope) if expressions else Lit(""))
            elif inner:
                return self._unknown(node, source, "template directive")
            else:
                values.append(Lit(_unescape("".join(str(t) for t in tree_tokens(piece)))))
        result = ops.concat_text(values, tree_text(node, source))
        if isinstance(result, Unknown) and result.span is None:
            return Unknown(result.expression, tree_span(node, source), result.reason)
        return result

    def _path(self, node: Tree[Token]) -> list[str] | None:
        """``a.b.c`` as names when it is a plain traversal from an identifier."""
        names: list[str] = []
        current = node
        while current.data == "get_attr_expr_term":
            parts = subtrees(current)
            attr = subtrees(parts[1]) if len(parts) > 1 else []
            if not attr:
                return None
            names.append(tree_name(attr[0]))
            current = parts[0]
            while current.data == "expr_term" and len(subtrees(current)) == 1:
                current = subtrees(current)[0]
        if current.data != "identifier":
            return None
        return [tree_name(current), *reversed(names)]

    def _member(self, target: Value, attr: str, expression: str) -> Value:
        if isinstance(target, Resource) and attr == "id":
            return target  # an account's id: the deployment's parent
        return ops.member(target, attr, expression)

    def _reference(
        self, path: list[str], node: Tree[Token], source: SourceText, scope: TerraformScope
    ) -> Value:
        expression = tree_text(node, source)
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
                    expression, tree_span(node, source), module.undeclared(f"local.{name} is not declared")
                )
            value = scope.cached(
                f"local.{name}", lambda: self.value(local.tree, local.source, scope.root), expression
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
            return Unknown(expression, tree_span(node, source), f"{head}.* is known only at apply time")
        elif rest and (head, rest[0]) in module.resources:
            block = module.resources[(head, rest[0])]
            value = self._resource(block, head, scope)
            rest = rest[1:]
        else:
            return Unknown(expression, tree_span(node, source), module.undeclared("not declared"))
        for attr in rest:
            value = self._member(value, attr, expression)
        if isinstance(value, Unknown) and value.span is None:
            return Unknown(value.expression, tree_span(node, source), value.reason)
        return value

    def _variable(self, name: str, scope: TerraformScope, expression: str) -> Value:
        module = scope.module
        if name in scope.bound:
            value = scope.bound[name]
        elif name not in module.variables:
            return Unknown(expression, None, module.undeclared(f"variable {name} is not declared"))
        else:
            default = module.variables[name]
            if default is None:
                return Unknown(f"var.{name}", None, "variable without a default or tfvars value")
            value = self.value(default.tree, default.source, scope.root)
        declared = module.types.get(name)
        return self._apply_type(value, declared.tree, declared.source, scope.root) if declared else value

    def _apply_type(
        self, value: Value, type_tree: Tree[Token], source: SourceText, scope: TerraformScope
    ) -> Value:
        """Fill in ``optional(type, default)`` attributes the value leaves out, as Terraform does."""
        node = type_tree
        while node.data == "expr_term" and len(subtrees(node)) == 1:
            node = subtrees(node)[0]
        if node.data != "function_call":
            return value
        parts = subtrees(node)
        kind = tree_name(parts[0])
        arguments = next((p for p in parts if p.data == "arguments"), None)
        args = subtrees(arguments) if arguments is not None else []
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
            while shape.data == "expr_term" and len(subtrees(shape)) == 1:
                shape = subtrees(shape)[0]
            if shape.data != "object":
                return value
            items = dict(value.items)
            for elem in subtrees(shape):
                if elem.data != "object_elem":
                    continue
                key = self._key(subtrees(elem)[0], source, scope)
                attribute_type = subtrees(elem)[-1]
                if key is None:
                    continue
                if key in items:
                    items[key] = self._apply_type(items[key], attribute_type, source, scope)
                    continue
                optional = attribute_type
                while optional.data == "expr_term" and len(subtrees(optional)) == 1:
                    optional = subtrees(optional)[0]
                if optional.data == "function_call" and tree_name(subtrees(optional)[0]) == "optional":
                    opt_args = next((p for p in subtrees(optional) if p.data == "arguments"), None)
                    defaults = subtrees(opt_args) if opt_args is not None else []
                    items[key] = (
                        ops.note(self.value(defaults[1], source, scope), f"optional() default of {key}")
                        if len(defaults) > 1
                        else Lit(None)
                    )
            return Obj(items, value.span)
        return value

    def _output(self, call_name: str, output: str, scope: TerraformScope, expression: str) -> Value:
        """A local module's output, evaluated in that module with the call's arguments."""
        call = next((c for c in scope.module.calls if c.labels and c.labels[0] == call_name), None)
        if call is None or self.scanner is None:
            return Unknown(expression, None, f"module {call_name} is not declared")
        items = dict(body_items(call.body, call.source))
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
            key: self.value(item, call.source, scope.root)
            for key, item in items.items()
            if not isinstance(item, Block) and key not in META_ARGUMENTS
        }
        return self.value(located.tree, located.source, TerraformScope(self, called, bound))

    def _resource(self, block: Block, kind: str, scope: TerraformScope) -> Value:
        items = dict(body_items(block.body, block.source))
        if "for_each" in items or "count" in items:
            return Unknown(f"{kind}.{block.labels[-1]}", None, "a resource with count/for_each")
        return Resource(kind, self.body(block.body, block.source, scope.root))

    def body(self, body: Tree[Token], source: SourceText, scope: TerraformScope) -> Obj:
        """A block body as an object: attributes evaluated, nested blocks as objects (repeated ones as a list)."""
        items: dict[str, Value] = {}
        for key, item in body_items(body, source):
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
                items[key] = self.value(item, source, scope)
        return Obj(items, tree_span(body, source))

    def _binary(self, node: Tree[Token], source: SourceText, scope: TerraformScope) -> Value:
        parts = subtrees(node)
        left = self.value(parts[0], source, scope)
        term = parts[1] if len(parts) > 1 else None
        if term is None:
            return left
        term_parts = subtrees(term)
        op = tree_name(term_parts[0]) if term_parts else ""
        right = self.value(term_parts[-1], source, scope)
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

    def _call(self, node: Tree[Token], source: SourceText, scope: TerraformScope) -> Value:
        parts = subtrees(node)
        name = tree_name(parts[0])
        arguments = next((p for p in parts if p.data == "arguments"), None)
        args_trees = subtrees(arguments) if arguments is not None else []
        expression = tree_text(node, source)
        if name == "try":
            for arg in args_trees:
                value = self.value(arg, source, scope)
                if ops.has_unknown(value) is None:
                    return value
            return self._unknown(node, source, "every try() argument is unknown")
        if name in ("jsondecode", "yamldecode") and len(args_trees) == 1:
            loaded = self._decode_file(name, args_trees[0], source, scope)
            if loaded is not None:
                return loaded
        args = [self.value(a, source, scope) for a in args_trees]
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
        self, name: str, argument: Tree[Token], source: SourceText, scope: TerraformScope
    ) -> Value | None:
        """``jsondecode(file(p))`` / ``yamldecode(file(p))``: the file's values, each keeping its span (a pin in
        a JSON or YAML file beside the module is reported, and fixed, where it is written)."""
        parts = subtrees(argument)
        while argument.data == "expr_term" and len(parts) == 1:
            argument, parts = parts[0], subtrees(parts[0])
        if argument.data != "function_call" or not parts or tree_name(parts[0]) != "file":
            return None
        inner = next((p for p in parts if p.data == "arguments"), None)
        inner_args = subtrees(inner) if inner is not None else []
        if len(inner_args) != 1:
            return None
        where = self.value(inner_args[0], source, scope)
        if not isinstance(where, Lit) or not isinstance(where.value, str):
            return where if isinstance(where, Unknown) else self._unknown(argument, source, "path not static")
        path = Path(where.value)
        if not path.is_absolute():
            path = scope.module.directory / path  # Terraform reads relative paths from the working directory
        refused = confine.refusal(f'file("{where.value}")', path)
        if refused is not None:  # confinement: a file outside the scanned root is a finding, not read
            span = tree_span(argument, source)
            if self.scanner is not None:
                self.scanner.warn(source.path, span.line if span else None, refused)
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

    def _for(self, node: Tree[Token], source: SourceText, scope: TerraformScope) -> Value:
        parts = subtrees(node)
        intro = next((p for p in parts if p.data == "for_intro"), None)
        if intro is None:
            return self._unknown(node, source, "malformed for expression")
        intro_parts = subtrees(intro)
        names = [tree_name(p) for p in intro_parts if p.data == "identifier"]
        collection = self.value(intro_parts[-1], source, scope)
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
                test = ops.truth(self.value(subtrees(condition)[-1], source, inner))
                if test is None:
                    return self._unknown(node, source, "the for condition is not static")
                if not test:
                    continue
            if node.data == "for_object_expr":
                k = self.value(body[0], source, inner)
                if not isinstance(k, Lit) or k.value is None:
                    return k if isinstance(k, Unknown) else self._unknown(node, source, "key not static")
                results_obj[str(k.value)] = self.value(body[1], source, inner)
            else:
                results_arr.append(self.value(body[0], source, inner))
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


def hcl_get(value: Value | None, *path: str) -> Value | None:
    """``values.lookup`` as Terraform reads it: a block (a list) stands for its first item."""
    return ops.lookup(value, *path, blocks=True)

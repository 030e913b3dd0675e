"""ARM JSON templates: ``Microsoft.CognitiveServices/accounts/deployments`` resources, evaluated statically.

Found: top-level resources (a list, or the symbolic-name object of ``languageVersion`` 2.0), child resources nested in
an account, ``copy`` loops with ``copyIndex()``, ``condition``, and inline nested deployments
(``Microsoft.Resources/deployments`` with ``properties.template``). Values come from literals, ``parameters('…')``
(the parameter file beside the template, ``<name>.parameters.json``, else ``defaultValue``) and ``variables('…')``.
Template expressions (``"[…]"``) are parsed by a small recursive-descent parser of the ARM expression grammar;
functions that need deployment-time data become ``Unknown``. A template compiled from a Bicep file that sits beside
it is skipped: the Bicep source is scanned instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.iac import confine
from shared.iac import values as ops
from shared.iac.jsonsrc import JsonDocument
from shared.iac.pins import EVALUATION_ERRORS, Arr, Lit, Obj, Pin, ScanWarning, Unknown, Value, body_pin
from shared.iac.source import SourceError, SourceText

DEPLOYMENTS = "microsoft.cognitiveservices/accounts/deployments"
ACCOUNTS = "microsoft.cognitiveservices/accounts"
NESTED = "microsoft.resources/deployments"
MAX_DEPTH = 8


class ExpressionError(ValueError):
    pass


# ---- the ARM template expression language: "[fn(arg, 'text')[0].prop]" ----


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Access:
    target: Expr
    key: Expr | str  # a string: .property; an expression: [index]


@dataclass(frozen=True)
class Const:
    value: str | int | bool | None


Expr = Call | Access | Const


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "'":
            j, chars = i + 1, []
            while True:
                if j >= len(text):
                    raise ExpressionError("unterminated string")
                if text[j] == "'":
                    if j + 1 < len(text) and text[j + 1] == "'":
                        chars.append("'")
                        j += 2
                        continue
                    break
                chars.append(text[j])
                j += 1
            tokens.append(("str", "".join(chars)))
            i = j + 1
        elif c in "(),.[]":
            tokens.append((c, c))
            i += 1
        elif c.isdigit() or (c == "-" and i + 1 < len(text) and text[i + 1].isdigit()):
            j = i + 1
            while j < len(text) and text[j].isdigit():
                j += 1
            tokens.append(("int", text[i:j]))
            i = j
        elif c.isalpha() or c == "_":
            j = i + 1
            while j < len(text) and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(("name", text[i:j]))
            i = j
        else:
            raise ExpressionError(f"unexpected {c!r}")
    return tokens


def parse_expression(text: str) -> Expr:
    """Parse the inside of ``"[…]"``. Raises ExpressionError."""
    tokens = _tokens(text)
    position = 0

    def peek() -> str:
        return tokens[position][0] if position < len(tokens) else ""

    def take(kind: str) -> str:
        nonlocal position
        if peek() != kind:
            raise ExpressionError(f"expected {kind!r}")
        position += 1
        return tokens[position - 1][1]

    def expression() -> Expr:
        nonlocal position
        kind = peek()
        node: Expr
        if kind == "str":
            node = Const(take("str"))
        elif kind == "int":
            node = Const(int(take("int")))
        elif kind == "name":
            name = take("name")
            while (
                peek() == "."
                and position + 1 < len(tokens)
                and tokens[position + 1][0] == "name"
                and (position + 2 < len(tokens) and tokens[position + 2][0] == "(")
            ):
                take(".")
                name += "." + take("name")  # a user-defined function: namespace.name(…)
            if peek() != "(":
                lowered = name.casefold()
                if lowered in ("true", "false"):
                    node = Const(lowered == "true")
                elif lowered == "null":
                    node = Const(None)
                else:
                    raise ExpressionError(f"unexpected name {name!r}")
            else:
                take("(")
                args: list[Expr] = []
                while peek() != ")":
                    args.append(expression())
                    if peek() == ",":
                        take(",")
                    elif peek() != ")":
                        raise ExpressionError("expected ',' or ')'")
                take(")")
                node = Call(name, tuple(args))
        else:
            raise ExpressionError("expected a value")
        while peek() in (".", "["):
            if take(peek()) == ".":
                node = Access(node, take("name"))
            else:
                key = expression()
                take("]")
                node = Access(node, key)
        return node

    parsed = expression()
    if position != len(tokens):
        raise ExpressionError("unexpected text after the expression")
    return parsed


def is_expression(text: str) -> bool:
    return text.startswith("[") and text.endswith("]") and not text.startswith("[[")


# ---- evaluation ----


@dataclass
class Scope:
    template: Obj
    file: Path
    bound: dict[str, Value]
    loops: dict[str, int] = field(default_factory=dict)  # copy name -> index; "" is the resource's own loop
    _cache: dict[str, Value] = field(default_factory=dict)
    _busy: set[str] = field(default_factory=set)

    def with_loop(self, name: str, index: int) -> Scope:
        scope = Scope(self.template, self.file, self.bound, {**self.loops, name.casefold(): index, "": index})
        scope._cache = self._cache
        scope._busy = self._busy
        return scope


class Evaluator:
    def value(self, value: Value, scope: Scope) -> Value:
        """A template value with its expressions evaluated."""
        if isinstance(value, Lit) and isinstance(value.value, str) and is_expression(value.value):
            try:
                parsed = parse_expression(value.value[1:-1])
            except ExpressionError as exc:
                return Unknown(value.value, value.span, f"not a valid template expression: {exc}")
            result = self.expr(parsed, scope, value.value)
            if isinstance(result, Unknown) and result.span is None:
                return Unknown(result.expression, value.span, result.reason)
            return result
        if isinstance(value, Lit) and isinstance(value.value, str) and value.value.startswith("[["):
            return Lit(value.value[1:])  # an escaped literal bracket: not editable in place
        if isinstance(value, Obj):
            return Obj({k: self.value(v, scope) for k, v in value.items.items()}, value.span)
        if isinstance(value, Arr):
            return Arr(tuple(self.value(v, scope) for v in value.items), value.span)
        return value

    def expr(self, node: Expr, scope: Scope, source: str) -> Value:
        if isinstance(node, Const):
            return Lit(node.value)
        if isinstance(node, Access):
            target = self.expr(node.target, scope, source)
            if isinstance(node.key, str):
                return ops.member(target, node.key, source)
            return ops.index(target, self.expr(node.key, scope, source), source)
        name = node.name.casefold()
        if name == "parameters" and len(node.args) == 1:
            key = self.expr(node.args[0], scope, source)
            return self._parameter(key, scope, source) if isinstance(key, Lit) else key
        if name == "variables" and len(node.args) == 1:
            key = self.expr(node.args[0], scope, source)
            return self._variable(key, scope, source) if isinstance(key, Lit) else key
        if name == "copyindex":
            loop, offset = "", 0
            for argument in node.args:
                value = self.expr(argument, scope, source)
                if isinstance(value, Lit) and isinstance(value.value, int):
                    offset = value.value
                elif isinstance(value, Lit) and isinstance(value.value, str):
                    loop = value.value.casefold()
            if loop not in scope.loops:
                return Unknown(source, None, "copyIndex() outside a known loop")
            return Lit(scope.loops[loop] + offset)
        if name in (
            "resourcegroup",
            "subscription",
            "tenant",
            "deployment",
            "environment",
            "managementgroup",
            "reference",
            "list",
            "listkeys",
            "resourceid",
            "uniquestring",
            "newguid",
            "utcnow",
            "guid",
        ):
            return Unknown(source, None, f"{node.name}() is known only at deployment time")
        args = [self.expr(a, scope, source) for a in node.args]
        if name == "concat":
            if args and all(isinstance(a, Arr) for a in args):
                return Arr(tuple(i for a in args if isinstance(a, Arr) for i in a.items))
            return ops.concat_text(args, source)
        if name == "format" and args:
            return self._format(args, source)
        if name in ("tolower", "toupper") and len(args) == 1:
            arg = args[0]
            if isinstance(arg, Lit) and isinstance(arg.value, str):
                return Lit(
                    arg.value.lower() if name == "tolower" else arg.value.upper(), None, arg.notes, arg.env
                )
            return arg if isinstance(arg, Unknown) else Unknown(source, None, "not a string")
        if name == "length" and len(args) == 1:
            arg = args[0]
            if isinstance(arg, Arr | Obj):
                return Lit(len(arg.items))
            if isinstance(arg, Lit) and isinstance(arg.value, str):
                return Lit(len(arg.value))
            return arg if isinstance(arg, Unknown) else Unknown(source, None, "length() of a non-collection")
        if name == "empty" and len(args) == 1:
            return ops.empty(args[0])
        if name == "not" and len(args) == 1:
            truth = ops.truth(args[0])
            return (
                ops.derived(not truth, args[0]) if truth is not None else Unknown(source, None, "not static")
            )
        if name == "equals" and len(args) == 2:
            same = ops.equals(args[0], args[1])
            return Lit(same) if same is not None else Unknown(source, None, "not static")
        if name == "if" and len(args) == 3:
            return ops.condition(args[0], args[1], args[2], source)
        if name == "contains" and len(args) == 2:
            return ops.contains(args[0], args[1], source)
        if name == "coalesce":
            return ops.coalesce(args, source)
        if name == "union":
            return ops.union(args, source)
        if name in ("and", "or") and args:
            truths = [ops.truth(a) for a in args]
            if None in truths:
                return Unknown(source, None, "not static")
            return Lit(all(truths) if name == "and" else any(truths))
        shared = ops.builtin(name, args, source)
        if shared is not None:
            return shared
        return Unknown(source, None, f"{node.name}() is not evaluated statically")

    def _format(self, args: list[Value], source: str) -> Value:
        template = args[0]
        if not isinstance(template, Lit) or not isinstance(template.value, str):
            return (
                template if isinstance(template, Unknown) else Unknown(source, None, "format string unknown")
            )
        parts: list[Value] = []
        text = template.value
        i = 0
        while i < len(text):
            if text[i] == "{":
                end = text.find("}", i)
                if end < 0:
                    return Unknown(source, None, "malformed format string")
                spec = text[i + 1 : end].split(":", 1)[0]
                if not spec.isdigit() or int(spec) + 1 >= len(args):
                    return Unknown(source, None, "format placeholder out of range")
                parts.append(args[int(spec) + 1])
                i = end + 1
            else:
                end = text.find("{", i)
                end = len(text) if end < 0 else end
                parts.append(Lit(text[i:end]))
                i = end
        return ops.concat_text(parts, source)

    def _parameter(self, key: Lit, scope: Scope, source: str) -> Value:
        name = str(key.value)
        for bound_name, value in scope.bound.items():
            if bound_name.casefold() == name.casefold():
                return value
        declared = _get(scope.template, "parameters", name)
        if declared is None:
            return Unknown(source, None, f"parameter {name} is not declared")
        default = _get(declared, "defaultValue")
        if default is None:
            return Unknown(f"parameters('{name}')", None, f"parameter without a value in {scope.file.name}")
        return self._cached(f"p:{name}", lambda: self.value(default, scope), scope, source)

    def _variable(self, key: Lit, scope: Scope, source: str) -> Value:
        name = str(key.value)
        declared = _get(scope.template, "variables", name)
        if declared is None:
            return Unknown(source, None, f"variable {name} is not declared")
        return self._cached(f"v:{name}", lambda: self.value(declared, scope), scope, source)

    def _cached(self, key: str, compute: Callable[[], Value], scope: Scope, source: str) -> Value:
        if key in scope._cache:
            return scope._cache[key]
        if key in scope._busy:
            return Unknown(source, None, "refers to itself")
        scope._busy.add(key)
        try:
            result = confine.bounded(compute(), source)  # confinement: a value's size limit
        finally:
            scope._busy.discard(key)
        if not scope.loops:  # a value computed inside a copy loop may depend on copyIndex()
            scope._cache[key] = result
        return result


def _get(value: Value | None, *path: str) -> Value | None:
    """``values.lookup`` as ARM templates are read: a step that is not an object gives None, a null stays."""
    return ops.lookup(value, *path, loose=True)


def _resources(template: Obj) -> list[Obj]:
    found = _get(template, "resources")
    if isinstance(found, Arr):
        return [r for r in found.items if isinstance(r, Obj)]
    if isinstance(found, Obj):  # languageVersion 2.0: symbolic names
        return [r for r in found.items.values() if isinstance(r, Obj)]
    return []


def _type(resource: Obj) -> str:
    value = _get(resource, "type")
    return value.value.casefold() if isinstance(value, Lit) and isinstance(value.value, str) else ""


def _line(value: Value) -> int:
    span = getattr(value, "span", None)
    return span.line if span is not None else 1


class ArmScanner:
    def __init__(self) -> None:
        self.pins: list[Pin] = []
        self.warnings: list[ScanWarning] = []
        self.files_read: set[Path] = set()
        self.evaluator = Evaluator()

    def scan(self, paths: list[Path]) -> None:
        for path in paths:
            try:
                doc = JsonDocument(SourceText.read(path))
            except SourceError as exc:
                self.warnings.append(ScanWarning(path, None, str(exc)))
                continue
            template = doc.value
            if not isinstance(template, Obj) or not is_template(template):
                if doc.error is not None and path.name.casefold().endswith(
                    (".parameters.json", "azuredeploy.json")
                ):
                    self.warnings.append(ScanWarning(path, doc.error[0], doc.error[1]))
                continue
            if _compiled_from_bicep(template, path):
                continue
            self.files_read.add(path.resolve())
            if doc.error is not None:
                self.warnings.append(
                    ScanWarning(path, doc.error[0], doc.error[1] + "; deployments after it may be missed")
                )
            try:
                for bound, where in self._parameter_sets(path):
                    self._template(template, Scope(template, path, bound), (where,) if where else (), depth=0)
            except EVALUATION_ERRORS as exc:
                message = f"could not evaluate it ({type(exc).__name__}: {exc}); please report this"
                self.warnings.append(ScanWarning(path, None, message))

    def _parameter_sets(self, template: Path) -> list[tuple[dict[str, Value], str]]:
        from shared.iac.bicep import parameter_values

        names = [template.stem + ".parameters.json"]
        if template.name.casefold() == "azuredeploy.json":
            names.append("azuredeploy.parameters.json")
        sets = []
        for name in dict.fromkeys(names):
            candidate = template.with_name(name)
            if not candidate.is_file():
                continue
            try:
                doc = JsonDocument(SourceText.read(candidate))
            except SourceError as exc:
                self.warnings.append(ScanWarning(candidate, None, str(exc)))
                continue
            self.files_read.add(candidate.resolve())
            if doc.error is not None:
                self.warnings.append(ScanWarning(candidate, doc.error[0], doc.error[1]))
            params = _get(doc.value, "parameters")
            if isinstance(params, Obj):
                sets.append((parameter_values(params, candidate.name), f"parameters from {candidate.name}"))
        return sets or [({}, "")]

    def _template(self, template: Obj, scope: Scope, context: tuple[str, ...], depth: int) -> None:
        accounts = [r for r in _resources(template) if _type(r) == ACCOUNTS]
        for resource in _resources(template):
            kind = _type(resource)
            if kind == DEPLOYMENTS:
                self._deployment(resource, None, accounts, scope, context)
            elif kind == ACCOUNTS:
                for child in _children(resource):
                    child_type = _type(child)
                    if child_type in ("deployments", DEPLOYMENTS):
                        self._deployment(child, resource, accounts, scope, context)
            elif kind == NESTED and depth < MAX_DEPTH:
                self._nested(resource, scope, context, depth)

    def _instances(self, resource: Obj, scope: Scope) -> list[tuple[Scope, str]]:
        condition = _get(resource, "condition")
        label = ""
        if condition is not None:
            test = self.evaluator.value(condition, scope)
            decided = ops.truth(test)
            if decided is False:
                shown = condition.value if isinstance(condition, Lit) else "condition"
                label = f"{ops.NOT_DEPLOYED}: {str(shown)[:80]} is false"
            elif decided is None and isinstance(condition, Lit):
                label = f"deployed only if {condition.value}"
        copy = _get(resource, "copy")
        if not isinstance(copy, Obj):
            return [(scope, label)]
        loop_name = _get(copy, "name")
        count = confine.bounded_loop(self.evaluator.value(_get(copy, "count") or Lit(0), scope), "copy count")
        name = loop_name.value if isinstance(loop_name, Lit) and isinstance(loop_name.value, str) else ""
        if isinstance(count, Lit) and isinstance(count.value, int):
            return [
                (scope.with_loop(name, i), "; ".join(x for x in (f"copy {name} index {i}", label) if x))
                for i in range(count.value)
            ]
        return [(scope, "; ".join(x for x in (f"copy {name}: count not static", label) if x))]

    def _deployment(
        self, resource: Obj, parent: Obj | None, accounts: list[Obj], scope: Scope, context: tuple[str, ...]
    ) -> None:
        line = _line(resource)
        for inner, label in self._instances(resource, scope):
            body = self.evaluator.value(resource, inner)
            name = _get(body, "name") or Unknown("name", None, "absent")
            account: Value = Unknown("name", None, "no parent account")
            location: Value = Unknown("location", None, "the account is not in this template")
            if parent is not None:
                parent_body = self.evaluator.value(parent, scope)
                account = _get(parent_body, "name") or account
                location = _get(parent_body, "location") or location
            if isinstance(name, Lit) and isinstance(name.value, str) and "/" in name.value:
                account_name, _, short = name.value.partition("/")
                name = Lit(short, None, name.notes, name.env)
                account = Lit(account_name)
                for candidate in accounts:
                    evaluated = self.evaluator.value(candidate, scope)
                    if ops.equals(_get(evaluated, "name") or Lit(None), account, case_insensitive=True):
                        location = _get(evaluated, "location") or location
            elif isinstance(name, Unknown) and parent is None:
                account = location = name
            self.pins.append(
                body_pin(
                    "arm",
                    scope.file,
                    line,
                    body,
                    _opt,
                    name=name,
                    account=account,
                    location=location,
                    context=tuple(c for c in (*context, label) if c),
                )
            )

    def _nested(self, resource: Obj, scope: Scope, context: tuple[str, ...], depth: int) -> None:
        template = _get(resource, "properties", "template")
        if not isinstance(template, Obj):
            # templateLink: the linked template is not read; one that leads out of the root is a finding
            link = _get(resource, "properties", "templateLink", "relativePath")
            if isinstance(link, Lit) and isinstance(link.value, str):
                what = f"templateLink relativePath '{link.value}'"
                refused = confine.refusal(what, scope.file.parent / link.value)
                if refused is not None:
                    self.warnings.append(ScanWarning(scope.file, _line(link), refused))
            return
        options = _get(resource, "properties", "expressionEvaluationOptions", "scope")
        inner = isinstance(options, Lit) and str(options.value).casefold() == "inner"
        name = _get(resource, "name")
        label = f"nested deployment {name.value if isinstance(name, Lit) else '?'}"
        for outer, instance in self._instances(resource, scope):  # its condition and copy loop
            step = (*context, "; ".join(x for x in (label, instance) if x))
            if not inner:  # outer scope: the nested template's expressions read the parent's parameters
                self._template(template, Scope(template, outer.file, outer.bound), step, depth + 1)
                continue
            params = self.evaluator.value(_get(resource, "properties", "parameters") or Obj({}), outer)
            bound: dict[str, Value] = {}
            if isinstance(params, Obj):
                for key, entry in params.items.items():
                    value = _get(entry, "value")
                    if value is not None:
                        bound[key] = value
            self._template(template, Scope(template, outer.file, bound), step, depth + 1)


def _children(resource: Obj) -> list[Obj]:
    found = _get(resource, "resources")
    return [r for r in found.items if isinstance(r, Obj)] if isinstance(found, Arr) else []


def _opt(body: Value, *path: str) -> Value | None:
    found = _get(body, *path)
    if isinstance(found, Lit) and found.value is None:
        return None
    return found


def is_template(doc: Obj) -> bool:
    schema = _get(doc, "$schema")
    if isinstance(schema, Lit) and isinstance(schema.value, str):
        return "deploymenttemplate" in schema.value.casefold()
    return _get(doc, "resources") is not None and _get(doc, "contentVersion") is not None


def _compiled_from_bicep(template: Obj, path: Path) -> bool:
    generator = _get(template, "metadata", "_generator", "name")
    is_bicep = isinstance(generator, Lit) and str(generator.value).casefold() == "bicep"
    return is_bicep and path.with_suffix(".bicep").is_file()


def scan_arm(paths: list[Path]) -> tuple[list[Pin], list[ScanWarning], set[Path]]:
    """Pins, warnings and the files read, for the given .json files (templates among them)."""
    scanner = ArmScanner()
    scanner.scan(paths)
    return scanner.pins, scanner.warnings, scanner.files_read

"""ARM template expressions evaluated statically: ``parameters()``, ``variables()``, ``copyIndex()``, and the
functions that need no deployment-time data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.iac import values as ops
from shared.iac.arm.expression import Access, Const, Expr, ExpressionError, is_expression, parse_expression
from shared.iac.pins import Arr, Lit, Obj, Unknown, Value
from shared.iac.values import Memo

# ---- evaluation ----


@dataclass
class ArmScope:
    template: Obj
    file: Path
    bound: dict[str, Value]
    loops: dict[str, int] = field(default_factory=dict)  # copy name -> index; "" is the resource's own loop
    memo: Memo = field(default_factory=Memo)  # shared with the scopes of its copy loops

    def with_loop(self, name: str, index: int) -> ArmScope:
        scope = ArmScope(
            self.template, self.file, self.bound, {**self.loops, name.casefold(): index, "": index}
        )
        scope.memo = self.memo
        return scope


class ArmEvaluator:
    def value(self, value: Value, scope: ArmScope) -> Value:
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

    def expr(self, node: Expr, scope: ArmScope, source: str) -> Value:
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

    def _parameter(self, key: Lit, scope: ArmScope, source: str) -> Value:
        name = str(key.value)
        for bound_name, value in scope.bound.items():
            if bound_name.casefold() == name.casefold():
                return value
        declared = arm_get(scope.template, "parameters", name)
        if declared is None:
            return Unknown(source, None, f"parameter {name} is not declared")
        default = arm_get(declared, "defaultValue")
        if default is None:
            return Unknown(f"parameters('{name}')", None, f"parameter without a value in {scope.file.name}")
        return self._cached(f"p:{name}", lambda: self.value(default, scope), scope, source)

    def _variable(self, key: Lit, scope: ArmScope, source: str) -> Value:
        name = str(key.value)
        declared = arm_get(scope.template, "variables", name)
        if declared is None:
            return Unknown(source, None, f"variable {name} is not declared")
        return self._cached(f"v:{name}", lambda: self.value(declared, scope), scope, source)

    def _cached(self, key: str, compute: Callable[[], Value], scope: ArmScope, source: str) -> Value:
        # a value computed inside a copy loop may depend on copyIndex(): not kept
        return scope.memo.get(key, compute, source, keep=not scope.loops)


def arm_get(value: Value | None, *path: str) -> Value | None:
    """``values.lookup`` as ARM templates are read: a step that is not an object gives None, a null stays."""
    return ops.lookup(value, *path, loose=True)

"""Operations on statically evaluated values, shared by the Bicep, Terraform and ARM evaluators.

Every operation answers ``Unknown`` (carrying the first unknown operand, so a finding can name the expression that
could not be known) rather than guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from shared.iac import confine
from shared.iac.confine import MAX_VALUE_CHARS
from shared.iac.pins import TOO_LARGE, Arr, Lit, Obj, Resource, Span, Unknown, Value

# azd substitutes ${NAME} and ${NAME=default} into main.parameters.json from the environment (an unset NAME
# without a default becomes the empty string). https://learn.microsoft.com/azure/developer/azure-developer-cli/
# A pin whose ``context`` holds an entry starting with this is declared but switched off by default (a false
# ``if``, ``count = 0``, an azd ``${USE_X=false}``): listed, and not failing the gate unless asked.
NOT_DEPLOYED = "not deployed by default"
MAX_FLIPS = 8  # boolean switches tried the other way, per template and parameter set

_AZD = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:=([^}]*))?\}")


def azd_substitute(value: Value, where: str) -> Value:
    """A parameter-file value as azd would pass it: the default of ``${NAME=default}``, noting the override."""
    if isinstance(value, Obj):
        return Obj({k: azd_substitute(v, where) for k, v in value.items.items()}, value.span)
    if isinstance(value, Arr):
        return Arr(tuple(azd_substitute(v, where) for v in value.items), value.span)
    if not isinstance(value, Lit) or not isinstance(value.value, str) or "${" not in value.value:
        return value
    text = value.value
    whole = _AZD.fullmatch(text)
    if whole is None:
        return Unknown(text, value.span, f"azd substitutes environment variables into it ({where})")
    name, default = whole.group(1), whole.group(2)
    if default is None:
        note = f"environment variable {name} ({where}; empty when unset)"
        return Lit("", None, (*value.notes, note), env=name)
    span = None
    if value.span is not None and "\\" not in text:
        start = value.span.start + whole.start(2)
        span = Span(value.span.path, value.span.line, start, start + len(default))
    note = f"default of ${{{name}=…}} in {where}; environment variable {name} may override it"
    return Lit(default, span, (*value.notes, note), env=name)


class Memo:
    """Values computed once each, by name, as every evaluator binds parameters and variables: a name asked for
    while it is being computed refers to itself (``Unknown``), and each value is bounded (``confine.bounded``)."""

    def __init__(self) -> None:
        self.values: dict[str, Value] = {}
        self.busy: set[str] = set()

    def get(
        self,
        key: str,
        compute: Callable[[], Value],
        expression: str,
        *,
        span: Callable[[], Span] | None = None,
        keep: bool = True,
    ) -> Value:
        """The value of ``key``, computed by ``compute`` the first time. ``span``: where a self-reference is
        reported; ``keep=False``: not remembered (a value inside a copy loop may depend on the index)."""
        if key in self.values:
            return self.values[key]
        if key in self.busy:
            return Unknown(expression, span() if span is not None else None, "refers to itself")
        self.busy.add(key)
        try:
            value = confine.bounded(compute(), expression)  # confinement: a value's size limit
        finally:
            self.busy.discard(key)
        if keep:
            self.values[key] = value
        return value


def lookup(value: Value | None, *path: str, blocks: bool = False, loose: bool = False) -> Value | None:
    """The value at ``path`` of object properties (a resource stands for its body), as every language reads it:
    None when a property is absent or null, Unknown when a step is unknown or not an object. ``blocks``: a list
    on the way stands for its first item (Terraform's ``sku { name = … }`` blocks). ``loose``: a step that is not
    an object, or unknown, gives None, and a null is returned as it is (ARM templates)."""
    current = value
    for step in path:
        if isinstance(current, Resource):
            current = current.body
        if loose:
            if not isinstance(current, Obj):
                return None
            current = current.get(step)
            continue
        if current is None or isinstance(current, Unknown):
            return current
        if blocks and isinstance(current, Arr) and current.items:
            current = current.items[0]
        if not isinstance(current, Obj):
            return Unknown(step, None, "not an object")
        current = current.get(step)
        if isinstance(current, Lit) and current.value is None:
            return None
    return current


def note(value: Value, text: str) -> Value:
    """The value with one more provenance note (literals only: they are what findings report)."""
    if isinstance(value, Lit) and text not in value.notes:
        return replace(value, notes=(*value.notes, text))
    return value


def member(value: Value, key: str, expression: str) -> Value:
    """``value.key``."""
    if isinstance(value, Unknown):
        return value
    if isinstance(value, Resource):
        found = value.body.get(key)
        return found if found is not None else Unknown(expression, None, f"{value.kind} has no static {key}")
    if isinstance(value, Obj):
        found = value.get(key)
        return found if found is not None else Unknown(expression, None, f"no property {key!r}")
    return Unknown(expression, None, "not an object")


def index(value: Value, key: Value, expression: str) -> Value:
    """``value[key]``."""
    if isinstance(value, Unknown):
        return value
    if isinstance(key, Unknown):
        return key
    if isinstance(value, Arr) and isinstance(key, Lit) and isinstance(key.value, int):
        if 0 <= key.value < len(value.items):
            return value.items[key.value]
        return Unknown(expression, None, f"index {key.value} is out of range")
    if isinstance(value, Obj | Resource) and isinstance(key, Lit) and isinstance(key.value, str):
        return member(value, key.value, expression)
    return Unknown(expression, None, "cannot index it")


def is_empty(value: Value) -> bool | None:
    """Bicep/ARM ``empty()``; None when unknown."""
    if isinstance(value, Lit):
        return value.value is None or value.value == ""
    if isinstance(value, Obj):
        return not value.items
    if isinstance(value, Arr):
        return not value.items
    return None if isinstance(value, Unknown) else False


def truth(value: Value) -> bool | None:
    if isinstance(value, Lit) and isinstance(value.value, bool):
        return value.value
    if (
        isinstance(value, Lit)
        and isinstance(value.value, str)
        and value.value.casefold() in ("true", "false")
    ):
        return value.value.casefold() == "true"  # azd passes "${USE_X=true}" as a string
    return None


def plain(value: Value) -> object:
    """A comparable Python value, or a sentinel for unknown."""
    if isinstance(value, Lit):
        return value.value
    if isinstance(value, Arr):
        return tuple(plain(v) for v in value.items)
    if isinstance(value, Obj):
        return tuple(sorted((k, repr(plain(v))) for k, v in value.items.items()))
    return _UNKNOWN


_UNKNOWN = object()


def has_unknown(value: Value) -> Unknown | None:
    """The first unknown inside a value, if any."""
    if isinstance(value, Unknown):
        return value
    if isinstance(value, Arr):
        for item in value.items:
            found = has_unknown(item)
            if found:
                return found
    if isinstance(value, Obj):
        for item in value.items.values():
            found = has_unknown(item)
            if found:
                return found
    return None


def equals(left: Value, right: Value, *, case_insensitive: bool = False) -> bool | None:
    unknown = has_unknown(left) or has_unknown(right)
    if unknown is not None or isinstance(left, Resource) or isinstance(right, Resource):
        return None
    a, b = plain(left), plain(right)
    if case_insensitive and isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    return a == b


def condition(test: Value, then: Value, otherwise: Value, expression: str) -> Value:
    """``test ? then : otherwise``. When an environment variable decided the test, the result says so."""
    decided = truth(test)
    if decided is None:
        return test if isinstance(test, Unknown) else Unknown(expression, None, "the condition is not static")
    chosen = then if decided else otherwise
    if isinstance(test, Lit) and test.env and isinstance(chosen, Lit) and chosen.env is None:
        why = (
            f"environment variable {test.env} may replace it (it decides {' '.join(expression.split())[:80]})"
        )
        return replace(chosen, notes=(*chosen.notes, why), env=test.env)
    return chosen


def derived(result: bool, source: Value) -> Lit:
    """A boolean computed from one value, keeping what it depends on (an environment variable)."""
    if isinstance(source, Lit):
        return Lit(result, None, source.notes, source.env)
    return Lit(result)


def empty(value: Value) -> Value:
    """Bicep/ARM ``empty()``."""
    result = is_empty(value)
    return derived(result, value) if result is not None else value


def concat_text(parts: list[Value], expression: str) -> Value:
    """String interpolation / concat: known only when every part is a known scalar."""
    pieces: list[str] = []
    notes: list[str] = []
    env = None
    for part in parts:
        if isinstance(part, Unknown):
            return part
        if not isinstance(part, Lit):
            return Unknown(expression, None, "a part is not a string")
        if part.env and part.value == "":
            return Unknown(expression, None, f"environment variable {part.env}")
        pieces.append(_text(part.value))
        notes.extend(n for n in part.notes if n not in notes)
        env = env or part.env
    if sum(map(len, pieces)) > MAX_VALUE_CHARS:  # confinement: measured before the text is built
        return Unknown(expression[:100], None, f"{TOO_LARGE}: more than {MAX_VALUE_CHARS:,} characters")
    return Lit("".join(pieces), None, tuple(notes), env=env)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def contains(container: Value, item: Value, expression: str) -> Value:
    """Bicep/ARM ``contains(object|array|string, key)``."""
    if isinstance(container, Unknown):
        return container
    if isinstance(item, Unknown):
        return item
    key = plain(item)
    if isinstance(container, Obj) and isinstance(key, str):
        return Lit(container.get(key) is not None)
    if isinstance(container, Arr):
        found = [equals(v, item) for v in container.items]
        if True in found:
            return Lit(True)
        return Unknown(expression, None, "an item is unknown") if None in found else Lit(False)
    if isinstance(container, Lit) and isinstance(container.value, str) and isinstance(key, str):
        return Lit(key.casefold() in container.value.casefold())
    return Unknown(expression, None, "cannot evaluate contains()")


def coalesce(values: list[Value], expression: str) -> Value:
    """The first value that is not null (ARM ``coalesce``, Bicep ``??``)."""
    for value in values:
        if isinstance(value, Unknown):
            return value
        if not (isinstance(value, Lit) and value.value is None):
            return value
    return Lit(None)


def union(values: list[Value], expression: str) -> Value:
    """Bicep/ARM ``union`` of objects (shallow, later wins) or arrays."""
    if all(isinstance(v, Obj) for v in values):
        merged: dict[str, Value] = {}
        for v in values:
            assert isinstance(v, Obj)
            merged.update(v.items)
        return Obj(merged)
    if all(isinstance(v, Arr) for v in values):
        items: list[Value] = []
        for v in values:
            assert isinstance(v, Arr)
            items.extend(i for i in v.items if not any(equals(i, j) for j in items))
        return Arr(tuple(items))
    return next((v for v in values if isinstance(v, Unknown)), Unknown(expression, None, "cannot merge"))


def length(value: Value, expression: str) -> Value:
    """Bicep/ARM ``length`` of an array, object or string."""
    if isinstance(value, Arr | Obj):
        return Lit(len(value.items))
    if isinstance(value, Lit) and isinstance(value.value, str):
        return Lit(len(value.value))
    return value if isinstance(value, Unknown) else Unknown(expression, None, "length() of a scalar")


def builtin(name: str, args: list[Value], expression: str) -> Value | None:
    """The Bicep/ARM functions that need no context (``name`` casefolded), or None when ``name`` is not one."""
    if name == "empty" and len(args) == 1:
        return empty(args[0])
    if name == "contains" and len(args) == 2:
        return contains(args[0], args[1], expression)
    if name in ("tolower", "toupper") and len(args) == 1:
        arg = args[0]
        if isinstance(arg, Lit) and isinstance(arg.value, str):
            changed = arg.value.lower() if name == "tolower" else arg.value.upper()
            return Lit(changed, None, arg.notes, arg.env)
        return arg if isinstance(arg, Unknown) else Unknown(expression, None, "not a string")
    if name == "concat":
        if args and all(isinstance(a, Arr) for a in args):
            return Arr(tuple(i for a in args if isinstance(a, Arr) for i in a.items))
        return concat_text(args, expression)
    if name == "union":
        return union(args, expression)
    if name == "coalesce":
        return coalesce(args, expression)
    if name == "string" and len(args) == 1 and isinstance(args[0], Lit) and isinstance(args[0].value, str):
        return args[0]
    if name == "items" and len(args) == 1:
        if isinstance(args[0], Obj):
            return Arr(tuple(Obj({"key": Lit(k), "value": v}) for k, v in args[0].items.items()))
        return (
            args[0] if isinstance(args[0], Unknown) else Unknown(expression, None, "items() of a non-object")
        )
    if name == "length" and len(args) == 1:
        return length(args[0], expression)
    if name == "array" and len(args) == 1:
        # array(x): an array stays itself, anything else is wrapped
        if isinstance(args[0], Unknown | Arr):
            return args[0]
        return Arr((args[0],))
    if name in ("first", "last") and len(args) == 1:
        arr = args[0]
        if isinstance(arr, Arr):
            if not arr.items:
                return Lit(None)
            return arr.items[0] if name == "first" else arr.items[-1]
        return arr if isinstance(arr, Unknown) else Unknown(expression, None, f"{name}() of a non-array")
    if name == "tryget" and len(args) >= 2:
        # tryGet(object, key, …): null when a key is absent, instead of an error
        current = args[0]
        for key in args[1:]:
            if isinstance(current, Lit) and current.value is None:
                return current
            if isinstance(current, Obj) and isinstance(key, Lit) and isinstance(key.value, str):
                current = current.get(key.value) or Lit(None)
            elif isinstance(current, Arr) and isinstance(key, Lit) and isinstance(key.value, int):
                current = current.items[key.value] if 0 <= key.value < len(current.items) else Lit(None)
            else:
                return next((v for v in (current, key) if isinstance(v, Unknown)), None) or Unknown(
                    expression, None, "cannot look it up"
                )
        return current
    if name == "createobject" and len(args) % 2 == 0:
        built: dict[str, Value] = {}
        for key, value in zip(args[::2], args[1::2], strict=True):
            if not isinstance(key, Lit) or not isinstance(key.value, str):
                return key if isinstance(key, Unknown) else Unknown(expression, None, "a key is not text")
            built[key.value] = value
        return Obj(built)
    if name == "createarray":
        return Arr(tuple(args))
    if name == "flatten" and len(args) == 1 and isinstance(args[0], Arr):
        flat: list[Value] = []
        for item in args[0].items:
            if not isinstance(item, Arr):
                return (
                    item if isinstance(item, Unknown) else Unknown(expression, None, "not an array of arrays")
                )
            flat.extend(item.items)
        return Arr(tuple(flat))
    if name in ("split", "replace", "join", "startswith", "endswith") and args:
        return _text_function(name, args, expression)
    if name == "range" and len(args) == 2:
        start, count = args
        if (
            isinstance(start, Lit)
            and isinstance(count, Lit)
            and isinstance(start.value, int)
            and isinstance(count.value, int)
            and 0 <= count.value <= 10_000
        ):
            return Arr(tuple(Lit(start.value + i) for i in range(count.value)))
        return next(
            (v for v in args if isinstance(v, Unknown)), Unknown(expression, None, "range() not static")
        )
    return None


def disabled_reason(context: tuple[str, ...]) -> str | None:
    """Why a pin is not deployed by default, from its context, or None."""
    for entry in context:
        at = entry.find(NOT_DEPLOYED)
        if at >= 0:
            return entry[at:]
    return None


def switches(bound: dict[str, Value]) -> list[tuple[str, Lit]]:
    """Bound values an environment variable can turn the other way (azd ``${USE_X=false}``): (name, value)."""
    found = []
    for name, value in bound.items():
        if isinstance(value, Lit) and value.env and truth(value) is not None:
            found.append((name, value))
    return found[:MAX_FLIPS]


def flipped(value: Lit) -> tuple[Lit, str]:
    """The switch turned the other way, and the context entry that says so."""
    decided = truth(value)
    why = f"{NOT_DEPLOYED}: only when {value.env}={'false' if decided else 'true'} (the default is {value.value})"
    return Lit(not decided, None, value.notes, value.env), why


def looks_like_deployments(key: str, value: Value) -> bool:
    """Whether an argument of a module whose code is not here plausibly carries model deployments."""
    word = key.casefold().replace("_", "")
    named = word.endswith(("deployment", "deployments", "model", "models"))
    if isinstance(value, Unknown) and word.endswith(("deployments", "models")):
        return True  # `modelDeployments: var.x`: what it holds is not known, the name says what it is
    if named and isinstance(value, Arr | Obj) and value.items:
        # a collection of objects (`enableVaultForDeployment: true` or a list of names is not deployments)
        items = value.items if isinstance(value, Arr) else tuple(value.items.values())
        if all(isinstance(item, Obj | Unknown) for item in items):
            return True
    pending: list[tuple[Value, int]] = [(value, 0)]
    while pending:
        current, depth = pending.pop()
        if isinstance(current, Obj):
            if any(k.casefold() in ("model", "model_name") for k in current.items):
                return True
            if depth < 4:
                pending.extend((v, depth + 1) for v in current.items.values())
        elif isinstance(current, Arr) and depth < 4:
            pending.extend((v, depth + 1) for v in current.items)
    return False


def _text_function(name: str, args: list[Value], expression: str) -> Value:
    """``split``, ``replace``, ``join``, ``startsWith``, ``endsWith`` over known text."""
    unknown = next((a for a in args if isinstance(a, Unknown)), None)
    if unknown is not None:
        return unknown
    if name == "join" and len(args) == 2 and isinstance(args[0], Arr) and isinstance(args[1], Lit):
        parts = [p.value for p in args[0].items if isinstance(p, Lit) and isinstance(p.value, str)]
        if len(parts) == len(args[0].items) and isinstance(args[1].value, str):
            return Lit(args[1].value.join(parts))
        return Unknown(expression, None, "join() of non-text")
    texts = [a.value if isinstance(a, Lit) and isinstance(a.value, str) else None for a in args]
    if None in texts:
        return Unknown(expression, None, f"{name}() of non-text")
    text = [t for t in texts if t is not None]
    if name == "split" and len(text) == 2:
        return Arr(tuple(Lit(piece) for piece in text[0].split(text[1])))
    if name == "replace" and len(text) == 3:
        return Lit(text[0].replace(text[1], text[2]))
    if name in ("startswith", "endswith") and len(text) == 2:
        first, second = text[0].casefold(), text[1].casefold()
        return Lit(first.startswith(second) if name == "startswith" else first.endswith(second))
    return Unknown(expression, None, f"{name}() is not evaluated statically")

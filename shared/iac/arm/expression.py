"""ARM template expressions (``"[…]"``) parsed by a small recursive-descent parser of the ARM grammar."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import PermanentError


class ExpressionError(PermanentError, ValueError):
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

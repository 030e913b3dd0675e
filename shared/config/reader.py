"""Reading settings one by one: ``Reader`` turns a raw value into a typed one, or notes the problem and keeps the
default, so that ``load_settings`` can name every problem at once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)

# Storage queue names: 3-63 lower-case letters, digits and single hyphens, not starting or ending with one; at most
# 56 here, so that the host's poison queue "<name>-poison" is a legal name too
_QUEUE_NAME = re.compile(r"^(?=.{3,56}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$")


def member(kind: type[E], text: str) -> E | None:
    """The member of ``kind`` spelled ``text``, or None: the caller names the problem and its safe fallback."""
    return kind(text) if text in {m.value for m in kind} else None


class Reader:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self.env = environ
        self.problems: list[str] = []

    def get(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not a whole number")
            return default
        if not low <= value <= high:
            self.problems.append(f"{name}={value} is out of range ({low}..{high})")
            return default
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not a number")
            return default
        if not low <= value <= high:
            self.problems.append(f"{name}={value} is out of range ({low}..{high})")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.get(name)
        if raw is None:
            return default
        if raw.lower() in ("true", "1", "yes", "on"):
            return True
        if raw.lower() in ("false", "0", "no", "off"):
            return False
        self.problems.append(f"{name}={raw!r} is not true or false")
        return default

    def items(self, name: str) -> list[str]:
        """A comma-separated list, blanks dropped."""
        return [p.strip() for p in (self.get(name) or "").split(",") if p.strip()]

    def fraction(self, name: str, default: float) -> float:
        raw = self.get(name)
        if raw is None:
            return default
        text = raw.rstrip("%").strip()
        try:
            value = float(text) / (100 if raw.endswith("%") else 1)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not a fraction (0.2) or a percentage (20%)")
            return default
        if not 0 < value <= 1:
            self.problems.append(f"{name}={raw!r} must be more than 0 and at most 100%")
            return default
        return value

    def queue_name(self, name: str, default: str) -> str:
        value = self.get(name) or default
        if not _QUEUE_NAME.match(value):
            self.problems.append(
                f"{name}={value!r}: a storage queue name of 3-56 lower-case letters, digits and single "
                "hyphens, starting and ending with a letter or digit (the host adds '-poison' for its poison queue)"
            )
            return default
        return value

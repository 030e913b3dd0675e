"""How loud a message is: a route's ``min_severity`` drops what is below it."""

from __future__ import annotations

from enum import IntEnum


class Severity(IntEnum):
    INFO = 0
    WARNING = 1
    CRITICAL = 2

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"{text!r} is not a severity (info, warning, critical)") from None

    @property
    def label(self) -> str:
        return self.name.lower()

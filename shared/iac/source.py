"""Template files as text with offsets: lines for reports, spans for edits. Reading never raises on content."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

from shared.errors import PermanentError
from shared.iac import confine
from shared.iac.pins import Span

BOM = "\ufeff"


class SourceError(PermanentError):
    """A file cannot be read as UTF-8 text (the scanner turns this into a warning)."""


@dataclass
class SourceText:
    """One file's text (a leading BOM set aside, line endings kept as they are)."""

    path: Path
    text: str
    bom: bool = False
    _line_starts: list[int] = field(default_factory=list, repr=False)
    _data: bytes | None = field(default=None, repr=False)
    _char_of_byte: dict[int, int] | None = field(default=None, repr=False)

    @classmethod
    def read(cls, path: Path) -> SourceText:
        """A file's text. Every evaluator reads through here, so the scan's confinement holds for each file it
        reads (shared/iac/confine.py): outside the roots, not a regular file, or too large -> SourceError."""
        try:
            raw = confine.read_bytes(path)
        except confine.RefusedError as exc:
            raise SourceError(str(exc)) from None
        except OSError as exc:
            raise SourceError(f"cannot read it ({exc.strerror})") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourceError(f"not UTF-8 text (byte {exc.start})") from None
        bom = text.startswith(BOM)
        return cls(path, text[1:] if bom else text, bom)

    def __post_init__(self) -> None:
        starts = [0]
        for index, char in enumerate(self.text):
            if char == "\n":
                starts.append(index + 1)
        self._line_starts = starts

    @property
    def data(self) -> bytes:
        """UTF-8 bytes (what tree-sitter parses; its offsets are byte offsets)."""
        if self._data is None:
            self._data = self.text.encode("utf-8")
        return self._data

    def line_of(self, offset: int) -> int:
        """1-based line of a character offset."""
        return bisect.bisect_right(self._line_starts, offset)

    def char_offset(self, byte_offset: int) -> int:
        """Character offset of a byte offset into ``data``."""
        if self.text.isascii():
            return byte_offset
        if self._char_of_byte is None:
            mapping: dict[int, int] = {}
            position = 0
            for index, char in enumerate(self.text):
                mapping[position] = index
                position += len(char.encode("utf-8"))
            mapping[position] = len(self.text)
            self._char_of_byte = mapping
        return self._char_of_byte.get(byte_offset, len(self.text))

    def span(self, start: int, end: int) -> Span:
        """A span from character offsets."""
        return Span(self.path, self.line_of(start), start, end)

    def byte_span(self, start: int, end: int) -> Span:
        """A span from byte offsets (tree-sitter)."""
        first = self.char_offset(start)
        return Span(self.path, self.line_of(first), first, self.char_offset(end))

    def encode(self, text: str) -> bytes:
        """The file's bytes for new text (the BOM put back when it had one)."""
        return ((BOM if self.bom else "") + text).encode("utf-8")

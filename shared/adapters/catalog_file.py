"""CatalogSource over a JSON file: an ARM Models - List response, or one per location (the CLI and the demo)."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path

from shared.domain.events import JsonValue
from shared.domain.timeutil import parse_instant
from shared.errors import CatalogFormatError, PermanentError


class FileCatalogSource:
    """Reads ``{"value": [...]}`` (served for every location) or ``{"locations": {loc: {"value": [...]}}}``.

    An optional top-level ``asOf`` says when the snapshot was taken; the CLI evaluates as of that instant.
    """

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._loaded: (
            tuple[dict[str, list[JsonValue]] | None, list[JsonValue] | None, datetime | None] | None
        ) = None

    def _load(self) -> tuple[dict[str, list[JsonValue]] | None, list[JsonValue] | None, datetime | None]:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._read()
            return self._loaded

    def _read(self) -> tuple[dict[str, list[JsonValue]] | None, list[JsonValue] | None, datetime | None]:
        name = self.path.name
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CatalogFormatError(f"catalog file {name}: cannot read it ({exc.strerror})") from exc
        except ValueError as exc:
            raise CatalogFormatError(f"catalog file {name}: not JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise CatalogFormatError(f"catalog file {name}: expected a JSON object")
        as_of = None
        if doc.get("asOf") is not None:
            try:
                as_of = parse_instant(str(doc["asOf"]))
            except ValueError as exc:
                raise CatalogFormatError(f"catalog file {name}: asOf: {exc}") from None
        if "locations" in doc:
            locations = doc["locations"]
            if not isinstance(locations, dict):
                raise CatalogFormatError(f"catalog file {name}: locations must be an object")
            per: dict[str, list[JsonValue]] = {}
            for loc, response in locations.items():
                per[str(loc).casefold()] = _values(response, f"catalog file {name}, location {loc}")
            return per, None, as_of
        return None, _values(doc, f"catalog file {name}"), as_of

    @property
    def locations(self) -> tuple[str, ...]:
        per, _, _ = self._load()
        return tuple(per) if per is not None else ()

    @property
    def as_of(self) -> datetime | None:
        return self._load()[2]

    def fetch_models(self, location: str) -> list[JsonValue]:
        per, single, _ = self._load()
        if per is None:
            assert single is not None
            return list(single)
        if location.casefold() not in per:
            raise PermanentError(f"catalog file {self.path.name} has no location {location}")
        return list(per[location.casefold()])


def _values(response: object, where: str) -> list[JsonValue]:
    if not isinstance(response, dict) or not isinstance(response.get("value"), list):
        raise CatalogFormatError(f'{where}: expected an ARM response {{"value": [...]}}')
    values: list[JsonValue] = response["value"]
    return values

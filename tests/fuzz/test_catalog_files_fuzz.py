"""Fuzzing the catalog file source (``FileCatalogSource``): mutated catalogs of shared/data, random JSON, raw
bytes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.adapters.catalog_file import FileCatalogSource
from shared.domain.catalog import ParsedCatalog, parse_models
from shared.errors import ModelWatchError
from tests.fuzz.support.catalogs import CATALOG_DOCS, check_catalog
from tests.fuzz.support.strategies import CATALOG_ERRORS, FILE_ERRORS, FUZZ, attempt, json_values, mutated


@st.composite
def catalog_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "random", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=40) | st.sampled_from([b"", b"[]", b"{}", b"\xef\xbb\xbf{}"]))
    doc = draw(json_values) if kind == "random" else draw(mutated(draw(st.sampled_from(CATALOG_DOCS)), 4))
    return json.dumps(doc).encode("utf-8")


@pytest.mark.reliability(
    fault="fuzz: catalog files: mutated, random, raw bytes (60)",
    held="only CatalogFormatError/PermanentError",
)
@settings(FUZZ, max_examples=60)
@given(catalog_files(), st.sampled_from(["eastus", "swedencentral", "EastUS", "westus"]))
def test_a_catalog_file_is_read_or_refused_clearly(content: bytes, location: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.json"
        path.write_bytes(content)
        source = FileCatalogSource(str(path))
        loaded = attempt(lambda: (source.as_of, source.locations), FILE_ERRORS)
        if isinstance(loaded, ModelWatchError):
            return
        items = attempt(lambda: source.fetch_models(location), FILE_ERRORS)
    if isinstance(items, ModelWatchError):
        return
    parsed = attempt(lambda: parse_models(items), CATALOG_ERRORS)
    assert isinstance(parsed, ParsedCatalog)
    check_catalog(parsed, len(items))

"""The real catalog pages (the example page, the dated catalogs of shared/data) and the checks any parsed catalog
must pass."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import timedelta

from hypothesis import strategies as st

from shared.domain.catalog import ParsedCatalog, VersionKey, default_versions, parse_models
from shared.domain.events import JsonValue
from shared.domain.timeutil import SENTINEL_YEAR
from tests.fuzz.support.strategies import ROOT, as_object, fresh, json_values, mutated, nonsense

EXAMPLE_PAGE: list[JsonValue] = json.loads(
    (ROOT / "tests" / "events" / "models_list_example.json").read_text(encoding="utf-8")
)["value"]
CATALOG_FILES = sorted((ROOT / "shared" / "data").glob("catalog-*.json"))
CATALOG_DOCS: list[JsonValue] = [json.loads(p.read_text(encoding="utf-8")) for p in CATALOG_FILES]


def _real_pages() -> list[list[JsonValue]]:
    pages = [EXAMPLE_PAGE]
    for doc in CATALOG_DOCS:
        for response in as_object(as_object(doc)["locations"]).values():
            values = as_object(response)["value"]
            assert isinstance(values, list)
            pages.append(values)
    return pages


REAL_PAGES = _real_pages()
BASELINES = [parse_models(page, formats=None) for page in REAL_PAGES]


def entry_label(entry: JsonValue, index: int) -> tuple[str, VersionKey | None]:
    """How a rejected entry must be named: its version key when recognisable, else its position."""
    model = entry.get("model") if isinstance(entry, dict) else None
    if isinstance(model, dict):
        parts = [model.get("format"), model.get("name"), model.get("version")]
        if all(isinstance(p, str) and p.strip() for p in parts):
            key = VersionKey(*(str(p).strip() for p in parts))
            return str(key), key
    return f"entry #{index}", None


def check_catalog(parsed: ParsedCatalog, n_items: int) -> None:
    """Invariants of any ParsedCatalog, whatever went in."""
    assert isinstance(parsed, ParsedCatalog)
    keys = [v.key for v in parsed.versions]
    assert keys == sorted(set(keys)), "versions are unique and sorted"
    assert len(parsed.versions) + len(parsed.problems) <= n_items
    assert not parsed.unreadable & set(keys), "a version read under one listing is never 'unreadable'"
    for problem in parsed.problems:
        assert problem.startswith("skipped ") and ": " in problem
    for v in parsed.versions:
        for part in v.key:
            assert isinstance(part, str) and part and part == part.strip()
        instants = [v.retirement_date, v.fine_tune_retirement_date, v.created_at]
        instants += [d for _, d in v.sku_retirement_dates]
        if v.replacement is not None:
            instants.append(v.replacement.auto_upgrade_start)
            assert v.replacement.upgrade_on_expiry_lead_days is None or isinstance(
                v.replacement.upgrade_on_expiry_lead_days, int
            )
        for when in instants:
            if when is not None:
                assert when.utcoffset() == timedelta(0) and when.year < SENTINEL_YEAR
        assert all(isinstance(s, str) and s == s.strip() and s for s in v.skus)
        # the derived views every consumer uses
        v.retirement_windows()
        _ = v.effective_retirement_date, v.is_status_retired
        for sku in v.skus:
            v.retirement_for_sku(sku)
    default_versions(parsed.versions)


def check_one_bad_entry(
    original: JsonValue, page: Sequence[JsonValue], index: int, baseline: ParsedCatalog, result: ParsedCatalog
) -> None:
    """``original`` (entry ``index``) became ``page[index]``: named when rejected; nothing else is lost."""
    entry = page[index]
    original_label, original_key = entry_label(original, index)
    label, key = entry_label(entry, index)
    alone = parse_models([entry], formats=None)
    rejected = bool(alone.problems)
    # everything the mutated entry cannot influence is exactly as before
    spared = set(baseline.by_key()) - {original_key, key}
    now = result.by_key()
    for k in spared:
        assert now.get(k) == baseline.by_key()[k], f"{k} changed although only {original_label} was mutated"
    if rejected:
        assert len(result.problems) == len(baseline.problems) + 1
        assert any(p.startswith(f"skipped {label}: ") for p in result.problems), (label, result.problems)
        if key is not None:
            assert (key in result.unreadable) != (key in now), "a named bad entry is protected from 'removal'"
    else:
        assert result.problems == baseline.problems
        assert key is not None and key in now


@st.composite
def many_mutated_entries(draw: st.DrawFn) -> list[JsonValue]:
    page = copy.deepcopy(draw(st.sampled_from(REAL_PAGES)))
    for index in draw(st.lists(st.integers(0, len(page) - 1), max_size=4, unique=True)):
        page[index] = draw(mutated(page[index]))
    for _ in range(draw(st.integers(0, 3))):  # garbage items anywhere in the page
        page.insert(draw(st.integers(0, len(page))), fresh(draw(json_values | nonsense)))
    return page

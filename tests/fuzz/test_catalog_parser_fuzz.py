"""Fuzzing ``parse_models`` (ARM ``Models - List`` entries): random JSON, one or several mutated real entries,
and two mutated catalogs through the diff, its only consumer."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.catalog import ParsedCatalog, parse_models
from shared.domain.diff import DiffRules, diff_location, next_due
from shared.domain.events import JsonValue, LifecycleEvent
from tests.fuzz.support.catalogs import (
    BASELINES,
    REAL_PAGES,
    check_catalog,
    check_one_bad_entry,
    entry_label,
    many_mutated_entries,
)
from tests.fuzz.support.strategies import CATALOG_ERRORS, FUZZ, attempt, json_values, mutated


@pytest.mark.reliability(
    fault="fuzz: random JSON as a Models - List page (100 examples)",
    held="only documented errors; every result consistent (unique versions, UTC dates)",
)
@FUZZ
@given(st.lists(json_values, max_size=8), st.sampled_from([None, frozenset({"openai"})]))
def test_parse_models_on_random_json(items: list[JsonValue], formats: frozenset[str] | None) -> None:
    parsed = attempt(lambda: parse_models(items, formats=formats), CATALOG_ERRORS)
    if isinstance(parsed, ParsedCatalog):
        check_catalog(parsed, len(items))


@st.composite
def one_mutated_entry(draw: st.DrawFn) -> tuple[int, list[JsonValue], int]:
    which = draw(st.integers(0, len(REAL_PAGES) - 1))
    page = copy.deepcopy(REAL_PAGES[which])
    index = draw(st.integers(0, len(page) - 1))
    page[index] = draw(mutated(page[index]))
    return which, page, index


@pytest.mark.reliability(
    fault="fuzz: one entry of a real catalog page mutated (wrong types, unknown enums, bad and out-of-range dates, 200k strings, deep nesting; 250)",
    held="the bad entry named once, never counted as removed; every other version unchanged",
)
@settings(FUZZ, max_examples=250)
@given(one_mutated_entry())
def test_a_mutated_real_entry_is_named_and_loses_nothing_else(case: tuple[int, list[JsonValue], int]) -> None:
    which, page, index = case
    result = attempt(lambda: parse_models(page, formats=None), CATALOG_ERRORS)
    assert isinstance(result, ParsedCatalog), "parse_models reports bad entries, it never raises"
    check_catalog(result, len(page))
    check_one_bad_entry(REAL_PAGES[which][index], page, index, BASELINES[which], result)


@pytest.mark.reliability(
    fault="fuzz: several mutated entries and garbage items in one page (120)",
    held="every bad entry named; every readable one kept",
)
@settings(FUZZ, max_examples=120)
@given(many_mutated_entries(), st.sampled_from([None, frozenset({"openai"})]))
def test_every_bad_entry_of_a_page_is_named(page: list[JsonValue], formats: frozenset[str] | None) -> None:
    result = attempt(lambda: parse_models(page, formats=formats), CATALOG_ERRORS)
    assert isinstance(result, ParsedCatalog)
    check_catalog(result, len(page))
    bad = [entry_label(e, i)[0] for i, e in enumerate(page) if parse_models([e], formats=None).problems]
    assert len(result.problems) == len(bad)
    for label in bad:
        assert any(p.startswith(f"skipped {label}: ") for p in result.problems), (label, result.problems)
    # good entries survive: every readable entry's key is in the result (when its format is kept)
    for e in page:
        alone = parse_models([e], formats=formats)
        for v in alone.versions:
            assert v.key in result.by_key()


@pytest.mark.reliability(
    fault="fuzz: two mutated catalogs diffed (80)",
    held="the diff and its events never crash; every event parses back",
)
@settings(FUZZ, max_examples=80)
@given(many_mutated_entries(), many_mutated_entries(), st.integers(0, 400))
def test_mutated_catalogs_flow_through_the_diff(
    before: list[JsonValue], after: list[JsonValue], days: int
) -> None:
    """What parse_models accepts, the diff (its only consumer) handles: baseline, then a second cycle."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    first = diff_location(None, parse_models(before), start, location="eastus")
    second = diff_location(first.snapshot, parse_models(after), start + timedelta(days=days))
    for event in (*first.events, *second.events):
        assert LifecycleEvent.from_json(event.to_json()) == event  # what is published parses back, unchanged
    next_due(second.snapshot, DiffRules(), start + timedelta(days=days))

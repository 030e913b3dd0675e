"""The fuzz properties can fail: each check, fed a wrong result, says so."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from shared.domain.catalog import ParsedCatalog, parse_models
from shared.domain.deployments import DeploymentFormatError, parse_deployment
from shared.errors import CatalogFormatError, EventFormatError
from tests.fuzz.support.catalogs import BASELINES, REAL_PAGES, check_catalog, check_one_bad_entry
from tests.fuzz.support.deployments import CHAT, EAST, WEST_CHAT, check_mutated_deployment
from tests.fuzz.support.events import (
    RETIRED,
    TARGET,
    World,
    check_nothing_written,
    check_only_legitimate_writes,
    with_version,
)
from tests.fuzz.support.strategies import (
    CATALOG_ERRORS,
    DEPLOYMENT_ERRORS,
    EVENT_ERRORS,
    NOW,
    PAGE_ERRORS,
    as_object,
    attempt,
    is_documented,
)


def test_the_documented_error_predicate_rejects_raw_builtins() -> None:
    for raw in (KeyError("model"), TypeError("x"), AttributeError("x"), ValueError("x"), OverflowError("x")):
        assert not is_documented(raw, CATALOG_ERRORS + DEPLOYMENT_ERRORS + EVENT_ERRORS + PAGE_ERRORS)
    assert is_documented(CatalogFormatError("bad page"), CATALOG_ERRORS)
    assert not is_documented(CatalogFormatError(""), CATALOG_ERRORS), "a clear error has a message"
    assert not is_documented(EventFormatError("bad event"), CATALOG_ERRORS), "only the parser's own errors"
    with pytest.raises(AssertionError, match="undocumented KeyError"):
        attempt(lambda: as_object({})["model"], CATALOG_ERRORS)
    assert isinstance(
        attempt(lambda: parse_deployment({}, account_id=EAST, location="x"), DEPLOYMENT_ERRORS),
        DeploymentFormatError,
    )


def test_the_catalog_checks_catch_a_lost_entry_and_an_unnamed_one() -> None:
    page = copy.deepcopy(REAL_PAGES[0])
    page[0] = {"model": "garbage"}
    honest = parse_models(page, formats=None)
    check_one_bad_entry(REAL_PAGES[0][0], page, 0, BASELINES[0], honest)
    lossy = ParsedCatalog(honest.versions[1:], honest.problems, honest.unreadable)
    with pytest.raises(AssertionError, match="changed although only"):
        check_one_bad_entry(REAL_PAGES[0][0], page, 0, BASELINES[0], lossy)
    silent = ParsedCatalog(honest.versions, (), honest.unreadable)
    with pytest.raises(AssertionError):
        check_one_bad_entry(REAL_PAGES[0][0], page, 0, BASELINES[0], silent)
    unsorted = ParsedCatalog(tuple(reversed(honest.versions)), honest.problems)
    with pytest.raises(AssertionError, match="unique and sorted"):
        check_catalog(unsorted, len(page))


def test_the_deployment_checks_catch_a_needless_rejection_and_a_stray_change() -> None:
    chat = parse_deployment(CHAT, account_id=EAST, location="eastus", seen_at=NOW)
    check_mutated_deployment(CHAT, CHAT, [("etag",)], chat)
    with pytest.raises(AssertionError, match="rejected for"):
        check_mutated_deployment(CHAT, CHAT, [("etag",)], DeploymentFormatError("deployment chat: no etag"))
    moved = replace(chat, model_version="2024-08-06")
    with pytest.raises(AssertionError, match="model_version changed"):
        check_mutated_deployment(CHAT, CHAT, [("tags", "team")], moved)


def test_the_event_checks_catch_a_write_and_a_processed_forgery() -> None:
    world = World()
    deliveries = world.deliver([RETIRED])  # a valid event: it writes, so "nothing written" must fail
    with pytest.raises(AssertionError):
        check_nothing_written(world, deliveries, [RETIRED["id"]])
    check_only_legitimate_writes(world, deliveries)
    world.api.put_deployment(str(WEST_CHAT["id"]), with_version(WEST_CHAT, TARGET))  # a write out of scope
    with pytest.raises(AssertionError):
        check_only_legitimate_writes(world, deliveries)

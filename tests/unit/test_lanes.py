"""The lanes' guard (tests/lanes.py): a test that needs Azurite or Chromium without its marker fails, however it
asks (directly, through a fixture, or with getfixturevalue), and Azurite is not started for it."""

from __future__ import annotations

import pytest

SAMPLES = """
import pytest


@pytest.fixture
def through_a_fixture(azurite_connection_string):
    return azurite_connection_string


@pytest.fixture
def dynamically(request):
    return request.getfixturevalue("azurite_connection_string")


def test_unmarked_direct(azurite_connection_string):
    pass


def test_unmarked_through_a_fixture(through_a_fixture):
    pass


def test_unmarked_dynamic(dynamically):
    pass


def test_unmarked_browser(chromium):
    pass


@pytest.mark.azurite
def test_marked_direct(azurite_connection_string):
    assert azurite_connection_string == "stand-in connection string"


@pytest.mark.parametrize("kind", ["memory", pytest.param("table", marks=pytest.mark.azurite)])
def test_marked_parameter(request, kind):
    if kind == "table":
        assert request.getfixturevalue("azurite_connection_string") == "stand-in connection string"
"""

# the session's Azurite, replaced by a recorder: which tests got it started
CONFTEST = """
import pytest

STARTED = []


@pytest.fixture(scope="session")
def azurite_service():
    STARTED.append("azurite")
    return "stand-in connection string"


def pytest_sessionfinish(session):
    print(f"azurite started: {len(STARTED)}")
"""


def test_a_test_needing_azurite_or_chromium_without_its_marker_fails(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmarkers =\n    azurite: a\n    chromium: c\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_samples=SAMPLES)
    result = pytester.runpytest_inprocess(
        "-p", "tests.lanes", "-p", "tests.fakes.azurite", "--strict-markers", "-s"
    )
    result.assert_outcomes(passed=3, errors=4)
    result.stdout.fnmatch_lines(
        [
            "*test_unmarked_direct uses azurite_connection_string but is not marked @pytest.mark.azurite*",
            "*test_unmarked_through_a_fixture uses azurite_connection_string but is not marked*",
            "*test_unmarked_dynamic uses azurite_connection_string but is not marked @pytest.mark.azurite*",
            "*test_unmarked_browser uses chromium but is not marked @pytest.mark.chromium*",
        ]
    )
    result.stdout.fnmatch_lines(["*azurite started: 1"])  # for the marked tests only, once


def test_the_layer_marker_comes_from_the_directory(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("unit") is not None
    assert request.node.get_closest_marker("functional") is None

"""Pytest plugin: the test lanes. Each test carries its layer's marker and a marker per outside resource it needs.

Layers (docs/testing.md): the directory is the layer, and its marker (``unit``, ``functional``, ``integration``,
``e2e``, ``fuzz``) is added here, so no test can lack one. Resources: ``azurite`` (the Table service the session
starts) and ``chromium`` (headless Debian chromium) are written on the tests, and enforced: a test that reaches
Azurite or Chromium without its marker fails, naming the marker. Otherwise a lane selected with
``-m "not azurite and not chromium"`` (``make check``) would start Azurite or need Chromium after all.

Enforced two ways: a fixture that needs a resource (``azurite_connection_string``, ``azurite_service``,
``chromium``) in a test's fixture closure, directly or through other fixtures, fails the test before any fixture is
set up; and the function-scoped ``azurite_connection_string`` and ``chromium`` fixtures check the requesting test
themselves, which catches ``request.getfixturevalue(...)`` (the store backends, the ``wired`` fixtures).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.render_cards import chromium as find_chromium

TESTS = Path(__file__).resolve().parent
LAYERS = ("unit", "functional", "integration", "e2e", "fuzz")
# fixture -> the marker a test using it must carry
NEEDS: dict[str, str] = {
    "azurite_service": "azurite",
    "azurite_connection_string": "azurite",
    "chromium": "chromium",
}


def layer_of(item: pytest.Item) -> str | None:
    """The layer a test belongs to: the directory under tests/ it lives in."""
    try:
        top = item.path.resolve().relative_to(TESTS).parts[0]
    except (ValueError, IndexError):
        return None
    return top if top in LAYERS else None


@pytest.hookimpl(tryfirst=True)  # before -m deselects: the layer markers must be there to select on
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        layer = layer_of(item)
        if layer is not None:
            item.add_marker(layer)


def require_marker(item: pytest.Item, marker: str, fixture: str) -> None:
    """Fail ``item`` unless it carries ``marker``: it needs what ``fixture`` gives."""
    if item.get_closest_marker(marker) is None:
        pytest.fail(
            f"{item.nodeid} uses {fixture} but is not marked @pytest.mark.{marker}: mark the test (or its "
            f"parameter, module or class) so that the lanes without {marker} leave it out (docs/testing.md)",
            pytrace=False,
        )


@pytest.hookimpl(tryfirst=True)  # before any fixture is set up: Azurite is not even started
def pytest_runtest_setup(item: pytest.Item) -> None:
    for fixture in getattr(item, "fixturenames", ()):
        marker = NEEDS.get(fixture)
        if marker is not None:
            require_marker(item, marker, fixture)


@pytest.fixture
def chromium(request: pytest.FixtureRequest) -> str:
    """Debian's chromium (or Chrome), for a test marked ``chromium``. Missing, the test fails with the install
    hint: a rendering check that silently skipped would pass as green."""
    require_marker(request.node, "chromium", "chromium")
    return find_chromium()

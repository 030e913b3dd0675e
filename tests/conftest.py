"""Test session wiring: the lanes (markers, tests/lanes.py); the local stand-ins for Azure endpoints are pytest plugins
under tests/fakes."""

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.lanes",
    "tests.fakes.azurite",
    "tests.fakes.arm_server",
    "tests.fakes.dataplane_server",
    "tests.fakes.eventgrid_server",
    "tests.fakes.recorder",
    "tests.fakes.webhooks",
    "tests.reliability",
    "pytester",  # tests/unit/test_lanes.py runs pytest on sample tests
]

# The CLI's default state (.modelwatch/state.db) is relative to the working directory: a test works under tmp_path,
# never on the checkout's. One that creates or changes it fails, by name (one read and rewrote a developer's state).
REPOSITORY_STATE = Path(__file__).resolve().parents[1] / ".modelwatch"


def _state_signature() -> tuple[tuple[str, int, int], ...]:
    if not REPOSITORY_STATE.is_dir():
        return ()
    return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in REPOSITORY_STATE.iterdir()))


@pytest.fixture(autouse=True)
def _leaves_the_repository_state_alone(request: pytest.FixtureRequest) -> Iterator[None]:
    before = (REPOSITORY_STATE.exists(), _state_signature())
    yield
    if (REPOSITORY_STATE.exists(), _state_signature()) != before:
        pytest.fail(f"{request.node.nodeid} wrote {REPOSITORY_STATE} (use tmp_path or monkeypatch.chdir)")

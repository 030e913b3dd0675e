"""The catalog diff's tests' vocabulary: one region's diff at a fixed instant, a settled snapshot, a base catalog, and
the values a catalog entry takes for property tests (tests/unit/test_diff.py, test_diff_formats.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from shared.domain.catalog import ParsedCatalog, parse_models
from shared.domain.diff import DiffResult, DiffRules, LocationSnapshot, diff_location
from tests.builders import item

T0 = datetime(2025, 1, 9, tzinfo=UTC)
LOC = "eastus"


def cat(*items: dict[str, Any]) -> ParsedCatalog:
    return parse_models(list(items))


def run(
    prev: LocationSnapshot | None, *items: dict[str, Any], now: datetime = T0, rules: DiffRules | None = None
) -> DiffResult:
    return diff_location(prev, cat(*items), now, rules, location=LOC)


def types(result: DiffResult) -> list[str]:
    return [e.event_type.removeprefix("ModelLifecycle.") for e in result.events]


def settled(*items: dict[str, Any], now: datetime = T0) -> LocationSnapshot:
    """A non-baseline snapshot of these items (as after a first cycle)."""
    return run(None, *items, now=now).snapshot


BASE = (
    item("gpt-4o", "2024-05-13", default=True),
    item("gpt-4o", "2024-08-06", default=False),
    item("gpt-35-turbo", "0125", default=True),
)


# ---- for property tests: the values a catalog entry takes

dates = st.sampled_from(
    [None, "2025-01-20T00:00:00Z", "2025-03-01T00:00:00Z", "2025-09-15T00:00:00Z", "2024-12-01T00:00:00Z"]
)
statuses = st.sampled_from(
    ["GenerallyAvailable", "Preview", "Deprecating", "Deprecated", "Legacy", "Sunset", None]
)
names = st.sampled_from(["gpt-4o", "gpt-4", "gpt-35-turbo", "o3-mini"])
versions = st.sampled_from(["0613", "0125", "2024-05-13", "2024-08-06", "1"])
moments = st.datetimes(
    min_value=datetime(2024, 11, 1), max_value=datetime(2025, 10, 1), timezones=st.just(UTC)
)

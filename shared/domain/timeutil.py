"""Parsing and formatting of the instants found in ARM payloads, events and settings."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# ARM uses far-future dates (2099-12-31) to mean "no date"; treat any year >= this as absent.
SENTINEL_YEAR = 2099

# Python 3.11's fromisoformat accepts most ISO forms, but ARM emits 7 fractional digits (.NET ticks).
_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_instant(value: str) -> datetime:
    """Parse an ISO-8601 date or date-time into an aware UTC datetime. Raises ValueError naming the input."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not an ISO-8601 date: {value!r}")
    text = _FRACTION.sub(r"\1", value.strip())
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO-8601 date: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 or 9999-12-31T23:59-08:00: no UTC instant exists
        raise ValueError(f"not a representable instant: {value!r}") from None


def parse_catalog_date(value: object) -> datetime | None:
    """A catalog date: None when absent or a far-future sentinel. Raises ValueError when malformed."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not an ISO-8601 date: {value!r}")
    parsed = parse_instant(value)
    return None if parsed.year >= SENTINEL_YEAR else parsed


def format_instant(value: datetime | None) -> str | None:
    """Canonical wire form: UTC, seconds precision, trailing Z."""
    if value is None:
        return None
    utc = value.astimezone(UTC)
    # %Y is not zero-padded below year 1000 on glibc ("1-10-01"): the year is written by hand (BUG-4)
    return f"{utc.year:04d}" + utc.strftime("-%m-%dT%H:%M:%SZ")


def days_until(when: datetime, now: datetime) -> int:
    """Whole days from now until when, rounded up (a date 1 h away is 1 day away; a past date is <= 0)."""
    seconds = (when - now).total_seconds()
    whole, rest = divmod(seconds, 86400)
    return int(whole) + (1 if rest > 0 else 0)

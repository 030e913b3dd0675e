"""The queue message of one part of an inventory refresh: its wire form, and what is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.domain.refresh import RefreshPart
from shared.errors import MessageFormatError, PermanentError

AT = datetime(2025, 3, 12, 6, 30, 15, 123456, tzinfo=UTC)


def test_parts_round_trip_with_the_exact_instant() -> None:
    sub = RefreshPart(AT, subscription="00000000-0000-0000-0000-000000000001")
    group = RefreshPart(AT, accounts=("/subscriptions/x/resourceGroups/r/providers/p/accounts/a", "/b"))
    for part in (sub, group):
        assert RefreshPart.from_json(part.to_json()) == part
    assert json.loads(sub.to_json()) == {
        "v": 1,
        "at": "2025-03-12T06:30:15.123456+00:00",
        "subscription": sub.subscription,
    }


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"v": 2, "at": "2025-03-12T00:00:00Z", "subscription": "s"}',
        '{"v": 1, "subscription": "s"}',
        '{"v": 1, "at": "yesterday", "subscription": "s"}',
        '{"v": 1, "at": "2025-03-12T00:00:00Z"}',
        '{"v": 1, "at": "2025-03-12T00:00:00Z", "subscription": "s", "accounts": ["a"]}',
        '{"v": 1, "at": "2025-03-12T00:00:00Z", "accounts": []}',
        '{"v": 1, "at": "2025-03-12T00:00:00Z", "accounts": ["a", 3]}',
    ],
)
def test_a_message_that_is_not_a_part_is_a_permanent_format_error(text: str) -> None:
    with pytest.raises(MessageFormatError) as caught:
        RefreshPart.from_json(text)
    assert isinstance(caught.value, PermanentError)

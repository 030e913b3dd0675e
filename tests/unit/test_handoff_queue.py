"""Which STATE_STORE connection strings let Event Grid deliveries hand their work to a queue (storage/queue.py)."""

from __future__ import annotations

import pytest

from shared.adapters.storage.queue import names_a_queue

KEY = "AccountKey=a2V5;"  # not a real key: the rule reads only the keys' names


@pytest.mark.parametrize(
    ("connection_string", "expected"),
    [
        # Azurite's table alone (the test session's, or a hand-written one): the queue cannot be told
        (
            f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;{KEY}TableEndpoint=http://127.0.0.1:1/x;",
            False,
        ),
        (f"accountname=a;{KEY}tableendpoint=https://a.table.example/;", False),
        # an explicit queue, the development storage shortcut, or the account's public endpoints
        (f"AccountName=a;{KEY}TableEndpoint=http://127.0.0.1:1/a;QueueEndpoint=http://127.0.0.1:2/a;", True),
        ("UseDevelopmentStorage=true", True),
        (f"DefaultEndpointsProtocol=https;AccountName=a;{KEY}EndpointSuffix=core.windows.net", True),
    ],
)
def test_a_queue_is_handed_work_only_where_the_connection_string_says_where_it_is(
    connection_string: str, expected: bool
) -> None:
    assert names_a_queue(connection_string) is expected

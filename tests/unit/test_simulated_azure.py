"""The demo's simulated Azure: a policy PUT is what Azure's own upgrades then follow, and If-Match is honoured as
the ARM stand-in honours it (a write prepared before Azure moved a deployment is refused, never applied)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.demo.simulated import SimulatedAzure
from shared.demo.timeline import TIMELINE, Timeline
from shared.domain.timeutil import parse_instant
from shared.errors import ArmError


def with_policy(read: dict[str, Any], policy: str) -> dict[str, Any]:
    body = copy.deepcopy(read)
    body["properties"]["versionUpgradeOption"] = policy
    return body


def test_a_pinned_deployment_is_left_where_it_is_and_moved_once_its_policy_is_put_back() -> None:
    azure = SimulatedAzure(Timeline.load(TIMELINE))
    rid = azure.deployment_id("invoice-reader")
    read = azure.get_deployment(rid)
    azure.put_deployment(rid, with_policy(read, "NoAutoUpgrade"), if_match=str(read["etag"]))
    # 2025-03-17: gpt-4o's default becomes 2024-08-06; auto-update deployments move, the pinned one does not
    moved = azure.advance(parse_instant("2025-03-18"))
    assert "chat-prod: gpt-4o 2024-05-13 -> gpt-4o 2024-08-06" in moved
    assert not [m for m in moved if m.startswith("invoice-reader")]
    assert azure.get_deployment(rid)["properties"]["model"] == {
        "format": "OpenAI",
        "name": "gpt-4o",
        "version": "2024-05-13",
    }
    again = azure.get_deployment(rid)
    azure.put_deployment(
        rid, with_policy(again, "OnceNewDefaultVersionAvailable"), if_match=str(again["etag"])
    )
    assert "invoice-reader: gpt-4o 2024-05-13 -> gpt-4o 2024-08-06" in azure.advance(
        parse_instant("2025-03-19")
    )


def test_a_write_over_a_version_that_changed_since_it_was_read_is_refused() -> None:
    azure = SimulatedAzure(Timeline.load(TIMELINE))
    rid = azure.deployment_id("chat-prod")
    read = azure.get_deployment(rid)
    azure.advance(parse_instant("2025-03-18"))  # Azure moves chat-prod: its ETag changes
    with pytest.raises(ArmError) as refused:
        azure.put_deployment(rid, with_policy(read, "NoAutoUpgrade"), if_match=str(read["etag"]))
    assert refused.value.status == 412
    live = azure.get_deployment(rid)
    assert live["properties"]["model"]["version"] == "2024-08-06"  # Azure's move stands
    assert live["properties"].get("versionUpgradeOption") == "OnceNewDefaultVersionAvailable"
    assert azure.puts == 0
    # with the current ETag, the write is made, and the version gets an ETag of its own
    azure.put_deployment(rid, with_policy(live, "NoAutoUpgrade"), if_match=str(live["etag"]))
    assert azure.get_deployment(rid)["etag"] != live["etag"] and azure.puts == 1

"""The inventory refresh fanned out through a real storage queue (Azurite): the timer queues a message per
subscription, the queue is drained with the real SDK, each message goes to the refresh_inventory function, and
the inventory ends as the in-process refresh leaves it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import azure.functions as func
import pytest
from azure.storage.queue import QueueClient, TextBase64DecodePolicy

from shared import bootstrap
from shared.adapters.memory import CollectingPublisher
from shared.config import load_settings
from shared.domain.deployments import Deployment
from shared.domain.events import LifecycleEvent
from shared.domain.refresh import RefreshPart
from tests.builders import deployment
from tests.fakes.arm_server import PROVIDER, FakeArm
from tests.support.app_functions import functions

pytestmark = pytest.mark.azurite

SUBS = [f"00000000-0000-0000-0000-0000000002{i:02d}" for i in range(5)]
UNWATCHED = "00000000-0000-0000-0000-000000000299"
NOW = datetime(2025, 3, 12, 6, 0, 0, 123456, tzinfo=UTC)


def tenant(arm: FakeArm) -> None:
    """Five subscriptions, seven accounts, their deployments as ARM lists them now."""
    for i, sub in enumerate(SUBS):
        for j in range(1 + i % 2):
            account = arm.add_account(sub, f"rg-{i}", f"aoai-{i}-{j}", ("eastus", "swedencentral")[j])
            for k in range(3):
                arm.add_deployment(
                    account,
                    f"d-{k}",
                    ("gpt-4o", "gpt-4.1", "gpt-4o-mini")[k],
                    "2024-08-06",
                    policy="OnceNewDefaultVersionAvailable",
                    tags={"team": f"t{i}"},
                )


def known_before(arm: FakeArm) -> list[Deployment]:
    """What the inventory held before this refresh: one deployment since moved by someone, one since deleted,
    one of a subscription no longer watched."""
    account = f"/subscriptions/{SUBS[0]}/resourceGroups/rg-0{PROVIDER}/accounts/aoai-0-0"
    base = deployment("d-0", version="2024-05-13", account=account, tags={"team": "t0"})
    unwatched = f"/subscriptions/{UNWATCHED}/resourceGroups/rg{PROVIDER}/accounts/old"
    return [
        base,  # ARM says 2024-08-06 now: moved outside modelwatch
        replace(base, resource_id=f"{account}/deployments/gone", name="gone"),  # deleted since
        replace(base, resource_id=f"{unwatched}/deployments/x", account_id=unwatched, name="x"),
    ]


def services(arm: FakeArm, conn: str, prefix: str, queue: str, *, threshold: int) -> bootstrap.Services:
    settings = load_settings(
        {
            "WATCH_SUBSCRIPTION_ID": SUBS[0],
            "WATCH_SUBSCRIPTION_IDS": ",".join(SUBS),
            "WATCH_LOCATIONS": "eastus",
            "ARM_ENDPOINT": arm.endpoint,
            "ARM_BEARER_TOKEN": "t",
            "AzureWebJobsStorage": conn,
            "STATE_STORE": conn,
            "STATE_TABLE_PREFIX": prefix,
            "INVENTORY_FANOUT_THRESHOLD": str(threshold),
            "INVENTORY_QUEUE_NAME": queue,
        }
    )
    built = bootstrap.build_services(settings, publisher=CollectingPublisher())
    built.stores.save_deployments(known_before(arm))
    return built


def upgrades(s: bootstrap.Services) -> list[LifecycleEvent]:
    assert isinstance(s.publisher, CollectingPublisher)
    return sorted(
        (e for e in s.publisher.published if e.event_type == "ModelLifecycle.DeploymentUpgraded"),
        key=lambda e: e.id,
    )


@pytest.fixture
def installed() -> Iterator[None]:
    yield
    bootstrap.reset_function_services()


def test_a_fanned_out_refresh_leaves_the_inventory_the_in_process_refresh_leaves(
    arm_server: FakeArm, azurite_storage_connection_string: str, table_prefix: str, installed: None
) -> None:
    tenant(arm_server)
    conn = azurite_storage_connection_string
    queue_name = f"inv-{table_prefix.lower()}"
    in_process = services(arm_server, conn, table_prefix + "A", queue_name, threshold=20)
    fanned = services(arm_server, conn, table_prefix + "B", queue_name, threshold=2)
    assert in_process.queue is None and fanned.queue is not None

    whole = in_process.run_timer(NOW)
    assert whole.inventory is not None and whole.fanned_out is None and whole.ok, whole.summary()

    timer = fanned.run_timer(NOW)
    assert timer.inventory is None and timer.fanned_out is not None and timer.ok, timer.summary()
    assert (timer.fanned_out.parts, timer.fanned_out.swept) == (len(SUBS), 1)  # the unwatched one, swept

    # drain the queue as the Functions host would: the real SDK, base64 as the host decodes it by default
    reader = QueueClient.from_connection_string(
        conn, queue_name, message_decode_policy=TextBase64DecodePolicy()
    )
    handler = functions()["refresh_inventory"].get_user_function()
    bootstrap.install(fanned)
    received = list(reader.receive_messages(max_messages=32, visibility_timeout=60))
    assert sorted(RefreshPart.from_json(m.content).subscription or "" for m in received) == SUBS
    reads: dict[str, int] = {}  # inventory entities each part read
    for message in received:
        before = fanned.stores.entities_read
        handler(func.QueueMessage(id=message.id, body=message.content.encode()))
        reads[RefreshPart.from_json(message.content).subscription or ""] = (
            fanned.stores.entities_read - before
        )
        reader.delete_message(message)
    # a part reads what the store held of its own subscription (SUBS[0]: two records, and their slices), never
    # the rest of the inventory: the other subscriptions had nothing stored, so their parts read nothing
    assert reads[SUBS[0]] <= 2 * 2 and all(reads[sub] == 0 for sub in SUBS[1:]), reads
    handler(func.QueueMessage(id="again", body=received[0].content.encode()))  # a redelivery: changes nothing
    assert list(reader.receive_messages()) == []
    reader.close()

    deployments = in_process.stores.list_deployments()
    assert len(deployments) == 7 * 3  # gone and unwatched removed, every listed one there
    assert (
        fanned.stores.list_deployments() == deployments
    )  # last_seen too: a part carries the timer's instant
    for d in deployments:
        for s in (in_process, fanned):
            assert d in s.stores.list_deployments_of(d.location, d.model_format, d.model_name)
    assert fanned.stores.list_changes() == in_process.stores.list_changes() != []
    assert [e.id for e in upgrades(fanned)] == [e.id for e in upgrades(in_process)] != []
    assert fanned.state.list_pending() == [] == in_process.state.list_pending()

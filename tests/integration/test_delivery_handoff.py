"""Event Grid deliveries handed off through a real storage queue (Azurite), state in Table Storage: the trigger
answers after one queue message, the queue is drained with the real SDK as the host decodes it, and a change
Event Grid delivered three times is told once per channel."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import azure.functions as func
import pytest
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.meta import Datum
from azure.storage.queue import QueueClient, TextBase64DecodePolicy

from shared import bootstrap
from shared.adapters.memory import CollectingPublisher
from shared.adapters.storage.queue import StorageDeliveryQueue
from shared.adapters.webhooks import WebhookSender
from shared.config import load_settings
from shared.domain.handoff import HandedOff
from tests.builders import item
from tests.fakes.arm_server import FakeArm
from tests.fakes.webhooks import FakeSlackWebhook
from tests.support.app_functions import functions

pytestmark = pytest.mark.azurite

SUB = "00000000-0000-0000-0000-0000000003a1"
REGIONS = ["eastus", "swedencentral"]
T0, T1 = datetime(2025, 3, 12, tzinfo=UTC), datetime(2025, 3, 12, 1, tzinfo=UTC)


@pytest.fixture
def installed() -> Iterator[None]:
    yield
    bootstrap.reset_function_services()


def test_a_change_delivered_three_times_is_queued_three_times_and_told_once(
    arm_server: FakeArm,
    slack_webhook: FakeSlackWebhook,
    azurite_storage_connection_string: str,
    table_prefix: str,
    installed: None,
) -> None:
    conn = azurite_storage_connection_string
    queue_name = f"dlv-{table_prefix.lower()}"
    settings = load_settings(
        {
            "WATCH_SUBSCRIPTION_ID": SUB,
            "WATCH_LOCATIONS": ",".join(REGIONS),
            "ARM_ENDPOINT": arm_server.endpoint,
            "ARM_BEARER_TOKEN": "t",
            "AzureWebJobsStorage": conn,
            "STATE_STORE": conn,
            "STATE_TABLE_PREFIX": table_prefix,
            "DELIVERY_QUEUE_NAME": queue_name,
            "SLACK_WEBHOOK_URL": slack_webhook.url,
        }
    )
    handoff = bootstrap.build_delivery_queue(settings)
    assert isinstance(handoff, StorageDeliveryQueue)
    publisher = CollectingPublisher()
    services = bootstrap.build_services(
        settings, publisher=publisher, sender=WebhookSender(sleep=lambda _: None)
    )
    bootstrap.install(replace(services, handoff=handoff))
    for at, default in ((T0, "2024-08-06"), (T1, "2024-11-20")):
        for region in REGIONS:
            arm_server.set_catalog(
                SUB, region, [item("gpt-4o", v, default=v == default) for v in ("2024-08-06", "2024-11-20")]
            )
        bootstrap.function_services().run_timer(at)
    (change,) = [
        e.to_wire()
        for e in publisher.published
        if e.event_type == "ModelLifecycle.CatalogDigest" and "2024-11-20" in json.dumps(e.to_wire())
    ]

    notify = functions()["notify_channels"].get_user_function()
    for _ in range(3):  # Event Grid redelivers: the first answers came too late, say
        notify(EventGridEventInConverter.decode(Datum(json.dumps(change), "json"), trigger_metadata=None))
    assert slack_webhook.messages == [] and handoff.sent == 3

    reader = QueueClient.from_connection_string(
        conn, queue_name, message_decode_policy=TextBase64DecodePolicy()
    )
    received = list(reader.receive_messages(max_messages=32, visibility_timeout=60))
    assert [HandedOff.from_json(m.content).event["id"] for m in received] == [change["id"]] * 3
    work = functions()["deliver_queued"].get_user_function()
    for message in received:
        work(func.QueueMessage(id=message.id, body=message.content.encode()))
        reader.delete_message(message)
    assert list(reader.receive_messages()) == []
    reader.close()
    (told,) = slack_webhook.messages
    assert "2024-11-20" in json.dumps(told)

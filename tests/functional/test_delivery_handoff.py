"""Event Grid deliveries handed to the delivery queue (issue #26): the triggers answer at once, deliver_queued does
the work as of the delivery's instant, exactly once per event and subscriber however often Event Grid redelivers."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.meta import Datum
from azure.functions.timer import TimerRequest

from shared import bootstrap
from shared.adapters.memory import InMemoryDeliveryQueue
from shared.adapters.webhooks import WebhookSender
from shared.config import load_settings, require_function_app
from shared.domain.handoff import HandedOff
from shared.errors import MessageFormatError, TransientError
from tests.builders import item
from tests.fakes.arm_server import FakeArm
from tests.fakes.eventgrid_server import FakeEventGridTopic
from tests.fakes.webhooks import FakeSlackWebhook, FakeTeamsWorkflow
from tests.support.app_functions import functions

SUB = "00000000-0000-0000-0000-0000000000ac"
V1 = [item("gpt-4o", "2024-08-06", default=True, retires="2030-01-01T00:00:00Z")]
V2 = [
    item("gpt-4o", "2024-08-06", retires="2030-01-01T00:00:00Z"),
    item("gpt-4o", "2024-11-20", default=True),
]
REGIONS = ["eastus", "swedencentral", "westeurope"]


@pytest.fixture
def queue(
    *,
    arm_server: FakeArm,
    eventgrid_server: FakeEventGridTopic,
    slack_webhook: FakeSlackWebhook,
    teams_webhook: FakeTeamsWorkflow,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[InMemoryDeliveryQueue]:
    """The app as the host builds it, with the delivery queue in memory; a default change in three regions
    published (the baseline's and this change's digests, and the catalog events) and not delivered yet."""
    env = {
        "WATCH_SUBSCRIPTION_ID": SUB,
        "WATCH_LOCATIONS": ",".join(REGIONS),
        "ARM_ENDPOINT": arm_server.endpoint,
        "ARM_BEARER_TOKEN": "local-token",
        "EVENTGRID_TOPIC_ENDPOINT": eventgrid_server.endpoint,
        "EVENTGRID_TOPIC_KEY": eventgrid_server.key,
        "STATE_STORE": f"sqlite:///{tmp_path / 'state.db'}",
        "TEAMS_WEBHOOK_URL": teams_webhook.url,
        "SLACK_WEBHOOK_URL": slack_webhook.url,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    settings = load_settings(os.environ)
    require_function_app(settings)
    handoff = InMemoryDeliveryQueue()
    sender = WebhookSender(sleep=lambda _: None)  # Slack's pacing is not what this test is about
    bootstrap.install(replace(bootstrap.build_services(settings, sender=sender), handoff=handoff))
    timer = functions()["catalog_timer"].get_user_function()
    for version in (V1, V2):
        for region in REGIONS:
            arm_server.set_catalog(SUB, region, version)
        timer(TimerRequest(past_due=False))
    yield handoff
    bootstrap.reset_function_services()


def trigger(name: str, wire: dict[str, Any]) -> None:
    event = EventGridEventInConverter.decode(Datum(json.dumps(wire), "json"), trigger_metadata=None)
    functions()[name].get_user_function()(event)


def drain(handoff: InMemoryDeliveryQueue) -> int:
    """Every queued message to deliver_queued, as the host's queue trigger hands it; how many there were."""
    messages, handoff.messages = handoff.messages, []
    for n, text in enumerate(messages):
        functions()["deliver_queued"].get_user_function()(func.QueueMessage(id=f"m{n}", body=text.encode()))
    return len(messages)


def test_a_redelivered_change_is_answered_at_once_and_told_once(
    queue: InMemoryDeliveryQueue,
    eventgrid_server: FakeEventGridTopic,
    slack_webhook: FakeSlackWebhook,
    teams_webhook: FakeTeamsWorkflow,
) -> None:
    digests = [e for e in eventgrid_server.events if e["eventType"] == "ModelLifecycle.CatalogDigest"]
    assert len(digests) == 2  # the baseline's (gpt-4o's 2030 retirement) and the default change's
    deliveries = digests * 3  # Event Grid redelivers each twice (no answer in 30 s, say)
    random.Random(7).shuffle(deliveries)
    for wire in deliveries:
        trigger("notify_channels", wire)
    # answered without telling anyone: every delivery's work is on the queue
    assert slack_webhook.messages == [] and teams_webhook.messages == []
    assert sorted(HandedOff.from_json(m).event["id"] for m in queue.messages) == sorted(
        d["id"] for d in deliveries
    )
    assert {HandedOff.from_json(m).subscriber for m in queue.messages} == {"notify_channels"}
    assert drain(queue) == 6
    # each digest told once per channel, whichever of its three messages came first
    assert len(slack_webhook.messages) == len(teams_webhook.messages) == 2
    assert sum("2024-11-20" in json.dumps(m) for m in slack_webhook.messages) == 1
    # and a redelivery after the work was done tells nothing either
    trigger("notify_channels", digests[1])
    assert drain(queue) == 1
    assert len(slack_webhook.messages) == len(teams_webhook.messages) == 2


def test_policy_deliveries_are_handed_off_and_done_once(
    queue: InMemoryDeliveryQueue, eventgrid_server: FakeEventGridTopic
) -> None:
    changes = [e for e in eventgrid_server.events if e["eventType"] == "ModelLifecycle.DefaultVersionChanged"]
    assert len(changes) == len(REGIONS)
    for wire in changes * 2:
        trigger("apply_update_policy", wire)
    assert [HandedOff.from_json(m).subscriber for m in queue.messages] == ["apply_update_policy"] * 6
    services = bootstrap.function_services()
    drain(queue)
    done = services.ledger.get_many("apply_update_policy", [c["id"] for c in changes])
    assert sorted(done) == sorted(c["id"] for c in changes)


def test_the_queued_work_is_judged_as_of_the_delivery(
    queue: InMemoryDeliveryQueue, eventgrid_server: FakeEventGridTopic
) -> None:
    (change, *_) = [
        e for e in eventgrid_server.events if e["eventType"] == "ModelLifecycle.DefaultVersionChanged"
    ]
    services = bootstrap.function_services()
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    object.__setattr__(services, "clock", lambda: at)
    delivery = functions()["apply_update_policy"].get_user_function()
    event = EventGridEventInConverter.decode(Datum(json.dumps(change), "json"), trigger_metadata=None)
    delivery(event)
    (message,) = queue.messages
    assert HandedOff.from_json(message).at == at


def test_an_event_the_subscriber_does_not_take_is_answered_in_the_delivery(
    queue: InMemoryDeliveryQueue, eventgrid_server: FakeEventGridTopic
) -> None:
    (released, *_) = [
        e for e in eventgrid_server.events if e["eventType"] == "ModelLifecycle.DefaultVersionChanged"
    ]
    trigger("notify_channels", released)  # not in notify_channels' subscription: no work to queue
    assert queue.messages == []


def test_a_message_that_is_not_handed_off_work_is_refused_for_the_poison_queue(
    queue: InMemoryDeliveryQueue,
) -> None:
    work = functions()["deliver_queued"].get_user_function()
    with pytest.raises(MessageFormatError):
        work(func.QueueMessage(id="x", body=b"not json"))
    other = HandedOff("someone_else", {"id": "e"}, datetime(2026, 1, 1, tzinfo=UTC)).to_json()
    with pytest.raises(MessageFormatError, match="no subscriber"):
        work(func.QueueMessage(id="y", body=other.encode()))


def test_the_handed_off_delivery_reads_back_as_it_was_written() -> None:
    work = HandedOff(
        "notify_channels", {"id": "e1", "data": {"x": [1, "é"]}}, datetime(2026, 1, 1, 2, tzinfo=UTC)
    )
    assert HandedOff.from_json(work.to_json()) == work


class BrokenQueue:
    def enqueue(self, work: HandedOff) -> None:
        raise TransientError("Queue Storage: sending to queue q failed: HTTP 503 ServerBusy")


def test_a_queue_that_cannot_be_written_leaves_the_work_to_the_delivery(
    queue: InMemoryDeliveryQueue,
    eventgrid_server: FakeEventGridTopic,
    slack_webhook: FakeSlackWebhook,
) -> None:
    bootstrap.install(replace(bootstrap.function_services(), handoff=BrokenQueue()))
    (digest, *_) = [e for e in eventgrid_server.events if e["eventType"] == "ModelLifecycle.CatalogDigest"]
    trigger("notify_channels", digest)  # answered later, but answered, and nothing lost
    assert len(slack_webhook.messages) == 1 and queue.messages == []

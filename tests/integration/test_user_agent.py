"""Every outgoing call says who it is: ``modelwatch/<version>`` in the User-Agent of ARM, Event Grid and webhook
requests, seen by the local stand-ins (not the HTTP library's default ``python-requests/x``)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.adapters.arm import ArmCatalogSource, ArmClient, StaticTokenProvider
from shared.adapters.eventgrid import EventGridPublisher
from shared.adapters.notifiers.slack import SlackNotifier
from shared.adapters.notifiers.teams import TeamsNotifier
from shared.adapters.webhooks import WebhookSender
from shared.domain.events import LifecycleEvent
from shared.domain.routes import Channel
from shared.domain.secret import Secret
from shared.domain.version import VERSION
from tests.builders import CARD, item
from tests.builders import SUBSCRIPTION as SUB
from tests.fakes.arm_server import FakeArm
from tests.fakes.eventgrid_server import FakeEventGridTopic
from tests.fakes.webhooks import FakeSlackWebhook, FakeTeamsWorkflow

AGENT = f"modelwatch/{VERSION}"


def test_arm_calls_say_modelwatch(arm_server: FakeArm) -> None:
    arm_server.page_size = 2
    arm_server.set_catalog(SUB, "eastus", [item("gpt-4o", f"v{i}") for i in range(3)])
    client = ArmClient(
        arm_server.endpoint, "2025-09-01", StaticTokenProvider(Secret("t")), sleep=lambda s: None
    )
    ArmCatalogSource(client, SUB).fetch_models("eastus")
    assert len(arm_server.requests) == 2  # the nextLink page too
    assert {r.user_agent for r in arm_server.requests} == {AGENT}


def test_event_grid_calls_say_modelwatch_before_the_sdk(eventgrid_server: FakeEventGridTopic) -> None:
    event = LifecycleEvent(
        "id-1",
        "ModelLifecycle.VersionReleased",
        "/locations/eastus/models/OpenAI/m/versions/1",
        datetime(2026, 1, 1, tzinfo=UTC),
        {"location": "eastus"},
    )
    EventGridPublisher(
        eventgrid_server.endpoint, Secret(eventgrid_server.key), retry_total=0, sleep=lambda s: None
    ).publish([event])
    (request,) = eventgrid_server.requests
    assert request["headers"]["User-Agent"].startswith(AGENT + " ")  # then azsdk-python-eventgrid/...


def test_webhook_calls_say_modelwatch(
    slack_webhook: FakeSlackWebhook, teams_webhook: FakeTeamsWorkflow
) -> None:
    sender = WebhookSender(sleep=lambda s: None)
    sender.send(Channel("payments", "slack", Secret(slack_webhook.url)), {"text": "hello"}, SlackNotifier)
    sender.send(Channel("payments", "teams", Secret(teams_webhook.url)), CARD, TeamsNotifier)
    assert slack_webhook.user_agents == [AGENT] and teams_webhook.user_agents == [AGENT]

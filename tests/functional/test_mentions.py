"""Mentions end to end: settings (ALERT_ROUTES' "mentions", the default route's under "default") -> notify_channels -> the real sender
-> the local Slack and Teams Workflows stand-ins; what they received is checked. Critical news mentions the route's
people; routine news nobody; a hostile deployment name mentions nobody."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from shared.adapters.memory import InMemoryLedger
from shared.adapters.notifiers import webhook_notifiers
from shared.adapters.webhooks import WebhookSender
from shared.cli.commands.alerts import send_test
from shared.config import Settings, load_settings
from shared.domain.events import EventType, LifecycleEvent
from shared.domain.payloads import DeploymentData
from shared.domain.scope import Scope
from shared.presentation.alert_samples import samples
from shared.services.notify import NotifyService
from shared.services.results import PROCESSED
from tests.fakes.webhooks import FakeSlackWebhook, FakeTeamsWorkflow

NOW = datetime(2026, 3, 24, tzinfo=UTC)
SAMPLES = samples()
ADELE = {"id": "AdeleV@contoso.onmicrosoft.com", "name": "Adele Vance"}
ONCALL = {"id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd", "name": "Payments on-call"}


def _settings(slack: FakeSlackWebhook, teams: FakeTeamsWorkflow) -> Settings:
    return load_settings(
        {
            "TEAMS_WEBHOOK_URL": teams.url,
            "SLACK_WEBHOOK_URL": slack.url,
            "ALERT_ROUTES": json.dumps(
                {
                    "default": {"mentions": {"slack": ["SDEFAULT1"], "teams": [ADELE]}},
                    "payments": {
                        "slack": slack.url,
                        "teams": teams.url,
                        "mentions": {"slack": ["SAZ94GDB8", "U024BE7LH"], "teams": [ONCALL]},
                    },
                }
            ),
        }
    )


def _sender() -> WebhookSender:
    clock = [0.0]  # the sender's pacing (1 message/s per channel) on a clock of its own: no real waits

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    return WebhookSender(sleep=sleep, monotonic=lambda: clock[0])


def _service(slack: FakeSlackWebhook, teams: FakeTeamsWorkflow) -> NotifyService:
    routes = _settings(slack, teams).routes
    return NotifyService(
        ledger=InMemoryLedger(), notifiers=webhook_notifiers(_sender()), routes=routes, scope=Scope()
    )


def _slack_mentions(payload: dict[str, Any]) -> list[str]:
    texts = [payload["text"]] + [
        b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and "text" in b
    ]
    return re.findall(r"<[@!][^>]*>", "\n".join(texts))


def _teams(payload: dict[str, Any]) -> tuple[list[str], list[Any]]:
    card = payload["attachments"][0]["content"]
    ats = re.findall(r"<at>.*?</at>", json.dumps(card["body"], ensure_ascii=False))
    return ats, card["msteams"].get("entities", [])


def test_critical_news_mentions_each_routes_people_and_routine_news_nobody(
    slack_webhook: FakeSlackWebhook, teams_webhook: FakeTeamsWorkflow
) -> None:
    service = _service(slack_webhook, teams_webhook)
    for kind in ("catalog-released", "deployment-upgrade-failed", "catalog-retirement-approaching"):
        assert service.handle(SAMPLES[kind], NOW).outcome == PROCESSED, kind
    # what arrived, in order: the release (info, default route), the failure (critical, payments), the
    # retirement 7 days away (critical, default route)
    released, failed, approaching = slack_webhook.messages
    assert "gpt-4.1" in released["text"] and "could not upgrade" in failed["text"]
    assert _slack_mentions(released) == []
    assert (
        _slack_mentions(failed) == ["<!subteam^SAZ94GDB8>", "<@U024BE7LH>"] * 2
    )  # text, and under the header
    assert _slack_mentions(approaching) == ["<!subteam^SDEFAULT1>"] * 2
    t_released, t_failed, t_approaching = teams_webhook.messages
    assert _teams(t_released) == ([], [])
    assert _teams(t_failed) == (
        ["<at>Payments on-call</at>"],
        [{"type": "mention", "text": "<at>Payments on-call</at>", "mentioned": ONCALL}],
    )
    assert _teams(t_approaching) == (
        ["<at>Adele Vance</at>"],
        [{"type": "mention", "text": "<at>Adele Vance</at>", "mentioned": ADELE}],
    )


def test_a_hostile_deployment_name_reaches_the_channels_inert(
    slack_webhook: FakeSlackWebhook, teams_webhook: FakeTeamsWorkflow
) -> None:
    event = SAMPLES["deployment-upgrade-failed"]
    data = event.payload_as(DeploymentData)
    name = "chat <!channel> <@U0HOSTILE> <at>x</at> <at>Payments on-call</at>"
    hostile = LifecycleEvent.create(
        EventType(event.event_type), event.id, event.event_time, replace(data, deployment_name=name)
    )
    assert _service(slack_webhook, teams_webhook).handle(hostile, NOW).outcome == PROCESSED
    (slack,) = slack_webhook.messages
    assert _slack_mentions(slack) == ["<!subteam^SAZ94GDB8>", "<@U024BE7LH>"] * 2
    assert "&lt;!channel&gt;" in slack["text"]
    (teams,) = teams_webhook.messages
    ats, entities = _teams(teams)
    assert ats == ["<at>Payments on-call</at>"]  # the configured one, once; the name's copy is text
    assert entities == [{"type": "mention", "text": "<at>Payments on-call</at>", "mentioned": ONCALL}]


def test_a_critical_test_message_mentions_the_routes_people_and_the_default_one_nobody(
    slack_webhook: FakeSlackWebhook, teams_webhook: FakeTeamsWorkflow
) -> None:
    """``alerts send --kind <critical kind>`` shows the route's mentions resolve; the default kind pages nobody."""
    settings = _settings(slack_webhook, teams_webhook)
    assert send_test(settings, "payments", None, sender=_sender()).exit_code == 0
    assert send_test(settings, "payments", "team-broken", sender=_sender()).exit_code == 0
    quiet, loud = slack_webhook.messages
    assert _slack_mentions(quiet) == []
    assert loud["text"].startswith("<!subteam^SAZ94GDB8> <@U024BE7LH> modelwatch test message: ")
    t_quiet, t_loud = teams_webhook.messages
    assert _teams(t_quiet) == ([], [])
    assert _teams(t_loud)[0] == ["<at>Payments on-call</at>"]

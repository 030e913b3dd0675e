"""A key the ledger's store refuses (over Table Storage's 1 KiB) is recorded and acknowledged, never retried."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shared.adapters.memory import CollectingPublisher, InMemoryCatalogStateStore
from shared.adapters.tables.deployments import TableDeploymentStore
from shared.adapters.tables.ledger import TableLedger
from shared.domain.alerts import Message
from shared.domain.events import EventType, LifecycleEvent, version_subject
from shared.domain.policy import PolicyRules
from shared.domain.routes import DEFAULT_ROUTE, Channel, ChannelKind, Route
from shared.domain.scope import Scope
from shared.domain.secret import Secret
from shared.presentation.alert_samples import samples
from shared.services.notify import NotifyService
from shared.services.policy import PolicyService
from shared.services.results import FAILED

pytestmark = pytest.mark.azurite
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class NeverSends:
    def __init__(self) -> None:
        self.sent = 0

    def send(self, channel: Channel, message: Message) -> None:
        self.sent += 1


def test_a_refused_ledger_key_is_acknowledged_not_retried(
    azurite_connection_string: str, table_prefix: str
) -> None:
    stores = TableDeploymentStore.from_connection_string(azurite_connection_string, table_prefix=table_prefix)
    ledger = TableLedger.from_connection_string(azurite_connection_string, table_prefix=table_prefix)
    long_id = "x" * 600  # Table Storage keys stop at 512 characters
    subject = version_subject("eastus", "OpenAI", "gpt-4o", "2024-05-13")
    data = {
        "location": "eastus",
        "modelFormat": "OpenAI",
        "modelName": "gpt-4o",
        "modelVersion": "2024-05-13",
    }
    event = LifecycleEvent(long_id, EventType.VERSION_RETIRED.value, subject, NOW, data)
    policy = PolicyService(
        deployments=stores,
        ledger=ledger,
        rollbacks=stores,
        state=InMemoryCatalogStateStore(),
        api=None,
        publisher=CollectingPublisher(),
        rules=PolicyRules(),
        scope=Scope(subscriptions=frozenset({"s"})),
        reminder_days=(30,),
    )
    result = policy.handle(event, NOW)  # returns: Event Grid gets a 200 and stops
    assert result.outcome == FAILED and "ledger refused" in result.detail
    sender = NeverSends()
    notify = NotifyService(
        ledger=ledger,
        notifiers={"slack": sender, "teams": sender},
        routes={
            DEFAULT_ROUTE: Route(
                DEFAULT_ROUTE, {ChannelKind.SLACK: Secret("https://hooks.slack.com/services/T/B/x")}
            )
        },
        scope=Scope(),
    )
    alert = replace(samples()["deployment-rolled-back"], id=long_id)  # told at once: no buffer in between
    outcome = notify.handle(alert, NOW)
    assert "ledger refused" in outcome.detail and sender.sent == 0

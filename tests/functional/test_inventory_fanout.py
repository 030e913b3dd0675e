"""The fanned-out inventory refresh's failure paths, through the refresh_inventory function: a message that is
not a part, a part a retry may complete, a part that fails for good, and a queue that cannot be written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import azure.functions as func
import pytest

from shared import bootstrap
from shared.adapters.memory import (
    CollectingPublisher,
    InMemoryAlertBuffer,
    InMemoryCatalogStateStore,
    InMemoryDeploymentStore,
    InMemoryLedger,
    InMemoryRefreshQueue,
)
from shared.config import load_settings
from shared.domain.refresh import RefreshPart
from shared.errors import MessageFormatError, TransientError
from tests.builders import deployment
from tests.fakes.arm_server import FakeArm, Fault
from tests.support.app_functions import functions

SUBS = [f"00000000-0000-0000-0000-0000000003{i:02d}" for i in range(3)]
NOW = datetime(2025, 3, 12, tzinfo=UTC)


class BrokenQueue:
    def enqueue(self, parts: object) -> None:
        raise TransientError("Queue Storage: sending to queue q failed: HTTP 503 ServerBusy")


def wire(arm: FakeArm, queue: object, **extra: str) -> bootstrap.Services:
    for i, sub in enumerate(SUBS):
        account = arm.add_account(sub, "rg", f"aoai-{i}", "eastus")
        arm.add_deployment(account, "chat", "gpt-4o", "2024-08-06")
    settings = load_settings(
        {
            "WATCH_SUBSCRIPTION_ID": SUBS[0],
            "WATCH_SUBSCRIPTION_IDS": ",".join(SUBS),
            "WATCH_LOCATIONS": "eastus",
            "ARM_ENDPOINT": arm.endpoint,
            "ARM_BEARER_TOKEN": "t",
            "ARM_MAX_RETRIES": "0",
            "INVENTORY_FANOUT_THRESHOLD": "2",
            **extra,
        }
    )
    stores = InMemoryDeploymentStore()
    services = bootstrap.build_services(
        settings,
        state=InMemoryCatalogStateStore(),
        stores=stores,
        ledger=InMemoryLedger(),
        buffer=InMemoryAlertBuffer(),  # else opened at the default .modelwatch/state.db, in the repository
        publisher=CollectingPublisher(),
        queue=queue,  # type: ignore[arg-type]
    )
    bootstrap.install(services)
    return services


@pytest.fixture(autouse=True)
def uninstall() -> Iterator[None]:
    yield
    bootstrap.reset_function_services()


def deliver(body: str) -> None:
    functions()["refresh_inventory"].get_user_function()(func.QueueMessage(id="m", body=body.encode()))


def test_the_timer_queues_a_part_per_subscription_and_refreshes_nothing_itself(arm_server: FakeArm) -> None:
    queue = InMemoryRefreshQueue()
    services = wire(arm_server, queue)
    report = services.run_timer(NOW)
    assert report.fanned_out is not None and report.inventory is None
    assert [RefreshPart.from_json(m) for m in queue.messages] == [
        RefreshPart(NOW, subscription=s) for s in SUBS
    ]
    assert services.stores.list_deployments() == []
    assert "3 part(s) queued" in report.summary()


def test_a_message_that_is_not_a_part_raises_so_the_platform_retries_then_poisons_it(
    arm_server: FakeArm,
) -> None:
    wire(arm_server, InMemoryRefreshQueue())
    for body in ("not json", json.dumps({"v": 1, "at": "2025-03-12T00:00:00Z"})):
        with pytest.raises(MessageFormatError):
            deliver(body)
    assert arm_server.requests == []


def test_a_part_a_retry_may_complete_raises_and_its_redelivery_completes_it(arm_server: FakeArm) -> None:
    services = wire(arm_server, InMemoryRefreshQueue())
    arm_server.faults.append(Fault(status=503, path_contains=f"/subscriptions/{SUBS[1]}/"))
    part = RefreshPart(NOW, subscription=SUBS[1]).to_json()
    with pytest.raises(TransientError, match="part incomplete"):
        deliver(part)
    assert services.stores.list_deployments() == []
    deliver(part)  # the platform's redelivery
    (d,) = services.stores.list_deployments()
    assert d.account_id.startswith(f"/subscriptions/{SUBS[1]}/") and d.last_seen == NOW


def test_a_part_that_fails_for_good_is_logged_and_acknowledged(
    arm_server: FakeArm, caplog: pytest.LogCaptureFixture
) -> None:
    services = wire(arm_server, InMemoryRefreshQueue())
    arm_server.faults.append(Fault(status=403, path_contains=f"/subscriptions/{SUBS[2]}/"))
    deliver(
        RefreshPart(NOW, subscription=SUBS[2]).to_json()
    )  # no raise: a redelivery would fail the same way
    assert services.stores.list_deployments() == []
    assert any("403" in r.getMessage() and SUBS[2] in r.getMessage() for r in caplog.records)


def test_a_part_of_a_subscription_no_longer_watched_lists_nothing(arm_server: FakeArm) -> None:
    services = wire(arm_server, InMemoryRefreshQueue())
    deliver(RefreshPart(NOW, subscription="00000000-0000-0000-0000-000000000399").to_json())
    assert arm_server.requests == [] and services.stores.list_deployments() == []


def test_a_queue_that_cannot_be_written_fails_the_run_visibly_and_sweeps_nothing(arm_server: FakeArm) -> None:
    services = wire(arm_server, BrokenQueue())
    unwatched = (
        "/subscriptions/00000000-0000-0000-0000-000000000399/resourceGroups/rg/providers/a/accounts/old"
    )
    kept = deployment("x", version="1", account=unwatched, policy=None)
    services.stores.save_deployments([kept])
    report = services.run_timer(NOW)
    assert report.inventory_error is not None and "503" in report.inventory_error
    assert services.stores.list_deployments() == [kept]  # queue first, sweep after: nothing half done
    assert report.cycle.locations  # the catalog cycle still ran
    with pytest.raises(Exception, match="inventory refresh failed"):
        report.raise_if_incomplete()

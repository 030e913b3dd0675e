"""catalog_timer invoked as the Functions host would, against local ARM and Event Grid stand-ins over HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.functions.timer import TimerRequest

from shared import bootstrap
from shared.adapters.eventgrid import EventGridPublisher
from shared.config import load_settings, require_function_app
from shared.errors import CycleIncompleteError, SettingsError
from tests.builders import item
from tests.fakes.arm_server import FakeArm, Fault
from tests.fakes.eventgrid_server import FakeEventGridTopic
from tests.support.app_functions import functions

SUB = "00000000-0000-0000-0000-0000000000aa"
V1 = [
    item("gpt-4o", "2024-05-13", default=True, retires="2099-01-01T00:00:00Z"),
    item("gpt-4o", "2024-08-06"),
]
V2 = [
    item("gpt-4o", "2024-05-13", default=False),
    item("gpt-4o", "2024-08-06", default=True),
    item("gpt-4o", "2024-11-20"),
]


def timer() -> None:
    functions()["catalog_timer"].get_user_function()(TimerRequest(past_due=False))


@pytest.fixture
def wired(
    arm_server: FakeArm,
    eventgrid_server: FakeEventGridTopic,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[tuple[FakeArm, FakeEventGridTopic]]:
    state = request.param if hasattr(request, "param") else "sqlite"
    env = {
        "WATCH_SUBSCRIPTION_ID": SUB,
        "WATCH_LOCATIONS": "eastus,swedencentral",
        "ARM_ENDPOINT": arm_server.endpoint,
        "ARM_BEARER_TOKEN": "local-token",
        "ARM_MAX_RETRIES": "1",
        "EVENTGRID_TOPIC_ENDPOINT": eventgrid_server.endpoint,
        "EVENTGRID_TOPIC_KEY": eventgrid_server.key,
        "STATE_STORE": f"sqlite:///{tmp_path / 'state.db'}"
        if state == "sqlite"
        else request.getfixturevalue("azurite_connection_string"),
    }
    if state == "table":
        env["STATE_TABLE_PREFIX"] = request.getfixturevalue("table_prefix")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    bootstrap.reset_function_services()
    yield arm_server, eventgrid_server
    bootstrap.reset_function_services()


def catalog_events(topic: FakeEventGridTopic) -> list[dict[str, Any]]:
    """What the topic received, less the digests (tested in test_watch_cycle and the alert tests)."""
    return [e for e in topic.events if e["eventType"] != "ModelLifecycle.CatalogDigest"]


def set_catalog(arm: FakeArm, items: list[dict[str, object]]) -> None:
    for loc in ("eastus", "swedencentral"):
        arm.set_catalog(SUB, loc, items)


@pytest.mark.parametrize("wired", ["sqlite", pytest.param("table", marks=pytest.mark.azurite)], indirect=True)
def test_timer_publishes_changes_once(wired: tuple[FakeArm, FakeEventGridTopic]) -> None:
    arm, topic = wired
    set_catalog(arm, V1)
    timer()  # baseline: nothing actionable in V1
    assert catalog_events(topic) == []
    set_catalog(arm, V2)
    timer()
    kinds = sorted(e["eventType"] for e in catalog_events(topic))
    assert kinds == sorted(["ModelLifecycle.VersionReleased", "ModelLifecycle.DefaultVersionChanged"] * 2)
    assert {e["data"]["location"] for e in catalog_events(topic)} == {"eastus", "swedencentral"}
    # one digest: each change once, with both regions, published after the events it covers
    (digest,) = [e for e in topic.events if e["eventType"] == "ModelLifecycle.CatalogDigest"]
    assert topic.events[-1] is digest
    changes = {
        c["eventType"].removeprefix("ModelLifecycle."): c["locations"] for c in digest["data"]["changes"]
    }
    assert changes == {
        "VersionReleased": ["eastus", "swedencentral"],
        "DefaultVersionChanged": ["eastus", "swedencentral"],
    }
    timer()  # unchanged: nothing more
    assert len(topic.events) == 5


def test_a_failing_region_fails_the_run_but_not_the_others(wired: tuple[FakeArm, FakeEventGridTopic]) -> None:
    arm, topic = wired
    set_catalog(arm, V1)
    timer()
    set_catalog(arm, V2)
    arm.faults = [Fault(503, path_contains="/locations/swedencentral/") for _ in range(2)]
    with pytest.raises(CycleIncompleteError, match="swedencentral"):
        timer()
    assert {e["data"]["location"] for e in catalog_events(topic)} == {"eastus"}
    timer()  # the region recovers: its changes arrive, eastus's are not repeated
    assert sorted(e["data"]["location"] for e in catalog_events(topic)) == [
        "eastus",
        "eastus",
        "swedencentral",
        "swedencentral",
    ]


def test_topic_outage_fails_the_run_and_the_next_run_delivers(
    wired: tuple[FakeArm, FakeEventGridTopic],
) -> None:
    arm, topic = wired
    # the services the host builds from the environment, but the publisher's retries wait on a recorded clock
    settings = load_settings(os.environ)
    require_function_app(settings)
    assert settings.eventgrid_topic_endpoint and settings.eventgrid_topic_key
    waits: list[float] = []
    publisher = EventGridPublisher(
        settings.eventgrid_topic_endpoint, settings.eventgrid_topic_key, sleep=waits.append
    )
    bootstrap.install(bootstrap.build_services(settings, publisher=publisher))
    set_catalog(arm, V1)
    timer()
    set_catalog(arm, V2)
    topic.outage = True
    with pytest.raises(CycleIncompleteError, match="publish"):
        timer()
    assert waits  # the SDK retried the publish, backing off (on the recorded clock, not for real)
    topic.outage = False
    timer()
    assert len(catalog_events(topic)) == 4 and len({e["id"] for e in catalog_events(topic)}) == 4


def test_missing_settings_fail_the_invocation_naming_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "WATCH_SUBSCRIPTION_ID",
        "WATCH_LOCATIONS",
        "EVENTGRID_TOPIC_ENDPOINT",
        "STATE_STORE",
        "AzureWebJobsStorage",
    ):
        monkeypatch.delenv(name, raising=False)
    bootstrap.reset_function_services()
    with pytest.raises(SettingsError) as info:
        timer()
    for name in ("WATCH_SUBSCRIPTION_ID", "WATCH_LOCATIONS", "EVENTGRID_TOPIC_ENDPOINT", "STATE_STORE"):
        assert name in str(info.value)
    bootstrap.reset_function_services()


class Ticks:
    """A monotonic clock that moves 60 s each time it is read: the time budget is spent by the work done."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 60.0
        return self.now


def test_a_run_stops_starting_work_at_its_time_budget_and_says_what_it_did_not_reach(
    wired: tuple[FakeArm, FakeEventGridTopic],
) -> None:
    from shared.services.pipeline import run_timer
    from shared.services.watch import NOT_REACHED

    arm, _ = wired
    for i in range(6):
        account = arm.add_account(SUB, "rg", f"acct{i}", "eastus")
        arm.add_deployment(account, f"d{i}", "gpt-4o", "2024-08-06")
    arm.set_catalog(SUB, "eastus", V1)
    arm.set_catalog(SUB, "swedencentral", V1)
    services = bootstrap.function_services()
    assert services.watcher is not None and services.inventory is not None
    # 300 s budget, a clock that reads 60 s further each time: the refresh gets 150 s, the catalog what is left
    report = run_timer(
        services.watcher,
        services.inventory,
        ["eastus", "swedencentral"],
        services.clock(),
        budget_seconds=300,
        clock=Ticks(),
    )
    assert report.inventory is not None
    not_reached = [p for p in report.inventory.problems if "time budget" in p]
    assert not_reached and len(not_reached) < 6  # some accounts were listed, the rest reported
    assert {o.status for o in report.cycle.locations} <= {"baseline", NOT_REACHED}
    assert any(o.status == NOT_REACHED for o in report.cycle.locations)
    assert not report.ok  # visible: the run fails, after publishing what it found
    with pytest.raises(CycleIncompleteError, match="time budget"):
        report.raise_if_incomplete()
    # the next run, with time to spare, reaches everything
    again = services.run_timer(services.clock())
    assert again.ok and again.inventory is not None and again.inventory.deployments == 6

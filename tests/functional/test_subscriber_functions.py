"""The Event Grid and HTTP functions, invoked as the Functions host would: the timer publishes to a local topic,
its events go back through the real Event Grid trigger decoder to ``apply_update_policy``, at least once and out of
order; ``rollback_deployment`` takes HTTP requests. ARM, the topic and state are local (SQLite or Azurite)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.meta import Datum
from azure.functions.timer import TimerRequest

from shared import bootstrap
from shared.errors import ModelWatchError
from tests.builders import client_principal
from tests.fakes.arm_server import FakeArm, Fault
from tests.fakes.eventgrid_server import FakeEventGridTopic
from tests.support.app_functions import functions
from tests.support.function_host import FAR, SUB, V1, V2, V3


class App:
    def __init__(self, arm: FakeArm, topic: FakeEventGridTopic) -> None:
        self.arm, self.topic = arm, topic
        account = arm.add_account(SUB, "rg", "contoso", "eastus")
        self.chat = arm.add_deployment(
            account,
            "chat",
            "gpt-4o",
            "2024-05-13",
            policy="OnceCurrentVersionExpired",
            extra={"futureField": 1},
        )
        self.legacy = arm.add_deployment(account, "legacy", "gpt-4o", "2024-05-13", policy="NoAutoUpgrade")
        self.auto = arm.add_deployment(
            account, "auto", "gpt-4o", "2024-08-06", policy="OnceNewDefaultVersionAvailable"
        )
        arm.set_catalog(SUB, "eastus", V1)

    def timer(self) -> None:
        functions()["catalog_timer"].get_user_function()(TimerRequest(past_due=False))

    def deliver(self, wire: dict[str, Any]) -> None:
        # through the trigger's own decoder, as the host hands it over
        event = EventGridEventInConverter.decode(Datum(json.dumps(wire), "json"), trigger_metadata=None)
        functions()["apply_update_policy"].get_user_function()(event)

    def post_rollback(self, body: object) -> tuple[int, dict[str, Any]]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        # as App Service Authentication hands it over: the caller signed in, with the operator app role
        headers = {
            "Content-Type": "application/json",
            "X-MS-CLIENT-PRINCIPAL": client_principal("oncall@contoso.example", "ModelWatch.Operator"),
        }
        req = func.HttpRequest("POST", "https://app.example.net/api/rollback", body=raw, headers=headers)
        response = functions()["rollback_deployment"].get_user_function()(req)
        return response.status_code, json.loads(response.get_body())

    def catalog_events(self) -> list[dict[str, Any]]:
        return [e for e in self.topic.events if not e["eventType"].startswith("ModelLifecycle.Deployment")]

    def deployment_events(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.topic.events if e["eventType"] == f"ModelLifecycle.{kind}"]


@pytest.fixture
def app(
    arm_server: FakeArm,
    eventgrid_server: FakeEventGridTopic,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[App]:
    mode, state = getattr(request, "param", ("plan", "sqlite"))
    env = {
        "WATCH_SUBSCRIPTION_ID": SUB,
        "WATCH_LOCATIONS": "eastus",
        "ARM_ENDPOINT": arm_server.endpoint,
        "ARM_BEARER_TOKEN": "local-token",
        "ARM_MAX_RETRIES": "1",
        "EVENTGRID_TOPIC_ENDPOINT": eventgrid_server.endpoint,
        "EVENTGRID_TOPIC_KEY": eventgrid_server.key,
        "POLICY_MODE": mode,
        "POLICY_ENFORCE_ALL_ACCOUNTS": "true",  # the stand-in tenant's accounts are all in scope
        "HTTP_AUTH": "entra",
        "WEBSITE_AUTH_ENABLED": "True",  # App Service sets it when Easy Auth is on
        "STATE_STORE": f"sqlite:///{tmp_path / 'state.db'}"
        if state == "sqlite"
        else request.getfixturevalue("azurite_connection_string"),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    if state == "table":
        monkeypatch.setenv("STATE_TABLE_PREFIX", request.getfixturevalue("table_prefix"))
    bootstrap.reset_function_services()
    yield App(arm_server, eventgrid_server)
    bootstrap.reset_function_services()


def test_functions_are_indexed_with_their_triggers() -> None:
    indexed = {name: f.get_bindings_dict()["bindings"] for name, f in functions().items()}
    (grid,) = indexed["apply_update_policy"]
    assert grid["type"] == "eventGridTrigger" and grid["name"] == "event"
    http = next(b for b in indexed["rollback_deployment"] if b["type"] == "httpTrigger")
    # anonymous to the host: Easy Auth signs callers in and the function checks their app role
    assert http["authLevel"] == func.AuthLevel.ANONYMOUS and http["route"] == "rollback"
    assert [str(getattr(m, "value", m)).upper() for m in http["methods"]] == ["GET", "POST"]


def run_retirement(app: App) -> list[dict[str, Any]]:
    app.timer()  # baseline; the inventory is read first
    app.arm.set_catalog(SUB, "eastus", V2)
    app.timer()
    events = app.catalog_events()
    assert {e["eventType"] for e in events} >= {"ModelLifecycle.VersionRetired"}
    return events


def test_timer_reads_the_inventory(app: App) -> None:
    app.timer()
    services = bootstrap.function_services()
    assert {d.name for d in services.stores.list_deployments()} == {"chat", "legacy", "auto"}


def test_plan_mode_publishes_decisions_and_writes_nothing(app: App) -> None:
    for wire in run_retirement(app):
        app.deliver(wire)
    assert app.arm.puts() == []
    planned = {
        e["data"]["deploymentName"]: e["data"] for e in app.deployment_events("DeploymentUpgradePlanned")
    }
    at_risk = {e["data"]["deploymentName"]: e["data"] for e in app.deployment_events("DeploymentAtRisk")}
    assert planned["chat"]["mode"] == "plan" and planned["chat"]["targetVersion"] == "2024-08-06"
    assert at_risk["legacy"]["status"] == "broken"
    # auto's own version is the default and retires in 2030: at risk then only if no newer default comes
    assert "auto" not in planned and at_risk["auto"]["status"] == "atRisk"
    assert at_risk["auto"]["retirementDate"] == FAR and at_risk["auto"]["reminder"] == "scheduled"


@pytest.mark.parametrize(
    "app",
    [("enforce", "sqlite"), pytest.param(("enforce", "table"), marks=pytest.mark.azurite)],
    indirect=True,
)
def test_enforce_upgrades_once_under_redelivery_in_shuffled_order(app: App) -> None:
    deliveries = run_retirement(app) * 3
    random.Random(3).shuffle(deliveries)
    for wire in deliveries:
        app.deliver(wire)
    (put,) = app.arm.puts()
    assert (
        put.body["properties"]["model"]["version"] == "2024-08-06"
        and put.body["properties"]["futureField"] == 1
    )
    assert app.arm.version_of(app.chat) == "2024-08-06" and app.arm.version_of(app.legacy) == "2024-05-13"
    (upgraded,) = app.deployment_events("DeploymentUpgraded")
    assert upgraded["data"]["appliedBy"] == "modelwatch" and upgraded["subject"] == app.chat
    # the next timer's inventory refresh does not mistake our upgrade for Azure's
    app.timer()
    assert len(app.deployment_events("DeploymentUpgraded")) == 1


@pytest.mark.parametrize("app", [("enforce", "sqlite")], indirect=True)
def test_transient_arm_failure_is_raised_for_redelivery_then_done_once(app: App) -> None:
    retired = next(e for e in run_retirement(app) if e["eventType"] == "ModelLifecycle.VersionRetired")
    app.arm.faults = [Fault(503, path_contains="/deployments/chat") for _ in range(4)]
    with pytest.raises(ModelWatchError) as info:
        app.deliver(retired)
    assert info.value.is_transient
    assert app.arm.puts() == []
    app.arm.faults = []
    app.deliver(retired)  # Event Grid's retry
    app.deliver(retired)  # and a duplicate
    assert len(app.arm.puts()) == 1


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e.pop("data"),
        lambda e: e.update(subject="/locations/eastus/models/OpenAI/gpt-4o/versions/2024-08-06"),
        lambda e: (
            e["data"].update(location="westeurope")
            or e.update(subject=e["subject"].replace("eastus", "westeurope"))
        ),
        lambda e: e.update(eventType="Microsoft.Storage.BlobCreated"),
        lambda e: e.pop("eventTime"),
    ],
    # (an unparseable eventTime never reaches us: the worker's decoder fails the invocation before our code)
    ids=["no-data", "forged-subject", "out-of-scope", "foreign-type", "no-time"],
)
@pytest.mark.parametrize("app", [("enforce", "sqlite")], indirect=True)
def test_bad_and_out_of_scope_events_are_acknowledged_and_write_nothing(app: App, mutate: Any) -> None:
    retired = next(e for e in run_retirement(app) if e["eventType"] == "ModelLifecycle.VersionRetired")
    bad = json.loads(json.dumps(retired))
    bad["id"] = "bad-" + bad["id"]
    mutate(bad)
    before = len(app.topic.events)
    app.deliver(bad)  # returns: acknowledged, Event Grid must not retry it
    assert app.arm.puts() == [] and len(app.topic.events) == before


@pytest.mark.parametrize("app", [("plan", "sqlite")], indirect=True)
def test_a_change_azure_does_not_make_is_recorded_as_outside_modelwatch(app: App) -> None:
    app.timer()
    # 2024-11-20 is not the default and no replacement names it: not Azure's upgrade, whoever did it
    raw = app.arm.deployments[app.auto.casefold()]
    raw["properties"]["model"]["version"] = "2024-11-20"
    raw["systemData"] = {"lastModifiedBy": "pipeline@contoso.example", "lastModifiedByType": "User"}
    # and a NoAutoUpgrade deployment moved to the default: Azure never moves those
    app.arm.deployments[app.legacy.casefold()]["properties"]["model"]["version"] = "2024-08-06"
    app.timer()
    events = {e["data"]["deploymentName"]: e["data"] for e in app.deployment_events("DeploymentUpgraded")}
    assert events["auto"]["appliedBy"] == "external"
    assert events["auto"]["changedBy"] == "pipeline@contoso.example (User)"
    assert events["legacy"]["appliedBy"] == "external" and events["legacy"]["changedBy"] is None


@pytest.mark.parametrize("app", [("enforce", "sqlite")], indirect=True)
def test_rollback_http_function(app: App) -> None:
    app.timer()
    # 2024-11-20 becomes the default; Azure moves the auto-update deployment to it; the next timer notices
    app.arm.set_catalog(SUB, "eastus", V3)
    app.timer()
    app.arm.deployments[app.auto.casefold()]["properties"]["model"]["version"] = "2024-11-20"
    app.timer()
    (azure,) = app.deployment_events("DeploymentUpgraded")
    assert azure["data"]["appliedBy"] == "azure" and azure["data"]["rollbackAvailableUntil"] == FAR

    status, body = app.post_rollback({"deploymentId": app.auto, "dryRun": True})
    assert status == 200 and body["outcome"] == "dryRun" and app.arm.puts() == []
    status, body = app.post_rollback({"deploymentId": app.auto})
    assert status == 200 and body["outcome"] == "rolledBack", body
    assert (body["fromVersion"], body["toVersion"]) == ("2024-11-20", "2024-08-06")
    assert (
        body["previousPolicy"] == "OnceNewDefaultVersionAvailable"
        and body["versionUpgradeOption"] == "NoAutoUpgrade"
    )
    assert app.arm.version_of(app.auto) == "2024-08-06"
    status, again = app.post_rollback({"deploymentId": app.auto})
    assert status == 200 and again["outcome"] == "alreadyDone" and again["rollbackId"] == body["rollbackId"]
    assert len(app.arm.puts()) == 1
    (rolled,) = app.deployment_events("DeploymentRolledBack")
    assert rolled["subject"] == app.auto


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        ([1], 400),
        ({"deploymentId": "chat"}, 400),
        ({"deploymentId": "/subscriptions/x/deployments/nope"}, 404),
        ({"deploymentId": "CHAT", "toVersion": 5}, 400),
        ({"deploymentId": "CHAT", "dryRun": "yes"}, 400),
        ({"deploymentId": "CHAT"}, 409),  # nothing to undo
    ],
)
def test_rollback_http_function_refuses_bad_requests(app: App, body: Any, status: int) -> None:
    app.timer()
    if isinstance(body, dict) and body.get("deploymentId") == "CHAT":
        body["deploymentId"] = app.chat
    got, answer = app.post_rollback(body)
    assert got == status and answer["error"]
    assert app.arm.puts() == []

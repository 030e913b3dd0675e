"""End-to-end replay: dated lifecycle history through the function app's own entry points, with real adapters.

What is real: function_app's functions (the timer, both Event Grid triggers, the rollback HTTP function) invoked
as the host would (the worker's own Event Grid decoder); the services and their adapters as
``bootstrap.build_services`` wires them from app settings: Table Storage on Azurite, ARM over HTTP to the local
stand-in (tests/fakes/arm_server.py), the Event Grid publisher over HTTP to the topic stand-in, and the webhook
sender over HTTP to one Slack and one Teams stand-in per route.

What is simulated: time (the replay's clock, installed on the Services; the webhook sender's pacing and the ARM
client's and the Event Grid publisher's backoff sleep on a virtual clock), Azure's own behaviour between steps (``SimulatedAzure``: the timeline's catalog, and its
auto-upgrades applied to the deployments held by the ARM stand-in), and Event Grid's delivery (``Dispatcher``: the
subscriptions' includedEventTypes filters, at least once, some events twice, shuffled, a handler that raises is
redelivered, dead-lettered after ``max_attempts``).
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.meta import Datum
from azure.functions.timer import TimerRequest

from shared import bootstrap
from shared.adapters.arm import ArmCatalogSource
from shared.adapters.eventgrid import EventGridPublisher
from shared.adapters.simulated import SUBSCRIPTION, SimulatedAzure, Timeline
from shared.adapters.table_store import TableCatalogStateStore
from shared.adapters.webhooks import WebhookSender
from shared.config import load_settings
from shared.domain.events import CATALOG_EVENT_TYPES
from shared.domain.timeutil import parse_instant
from shared.services.notify import NOTIFY_EVENT_TYPES
from tests.app_functions import functions
from tests.builders import client_principal
from tests.fakes.arm_server import FakeArm
from tests.fakes.eventgrid_server import FakeEventGridTopic
from tests.fakes.webhooks import FakeSlackWebhook, FakeTeamsWorkflow

DEMO_TIMELINE = Path(__file__).parents[2] / "shared" / "data" / "timeline.json"
SECOND_TIMELINE = Path(__file__).parent / "data" / "timeline-2.json"
TOPIC_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/ops/providers/Microsoft.EventGrid/topics/modelwatch"
# the event subscriptions infra/ creates: function -> includedEventTypes
SUBSCRIPTIONS: dict[str, frozenset[str]] = {
    "apply_update_policy": frozenset(CATALOG_EVENT_TYPES),
    "notify_channels": frozenset(NOTIFY_EVENT_TYPES),
}


class WorkerDied(BaseException):
    """The worker process dying mid-invocation: not an Exception, so no code of the app can catch it."""


class VirtualTime:
    """The replay's clock: ``now`` is the step's instant; ``sleep`` only moves a monotonic counter."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.mono = 0.0
        self.slept = 0.0

    def clock(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.mono += max(seconds, 0.0)
        self.slept += max(seconds, 0.0)


class World:
    """Azure as the replay sees it: the timeline's catalog served by the ARM stand-in, and Azure's own upgrades
    applied to the deployments the stand-in holds (where modelwatch's writes land)."""

    def __init__(self, timeline: Timeline, arm: FakeArm) -> None:
        self.sim = SimulatedAzure(timeline)
        self.arm = arm
        self.locations = list(timeline.locations)
        for key, account in self.sim.accounts.items():
            arm.accounts[key] = {**copy.deepcopy(account), "properties": {}}
        for key, deployment in self.sim.deployments.items():
            arm.deployments[key] = {
                **copy.deepcopy(deployment),
                "type": "Microsoft.CognitiveServices/accounts/deployments",
                "etag": f'"{uuid.uuid4()}"',
            }

    def advance(self, at: datetime, *, flaky: str | None = None) -> list[str]:
        for key, held in self.arm.deployments.items():  # modelwatch's writes are Azure's starting point
            if key not in self.sim.deployments:  # created by modelwatch (a side-by-side rollback)
                self.sim.deployments[key] = {
                    k: copy.deepcopy(v) for k, v in held.items() if k not in ("etag", "type")
                }
                continue
            props = self.sim.deployments[key]["properties"]
            props["model"] = copy.deepcopy(held["properties"]["model"])
            props.pop("versionUpgradeOption", None)
            if "versionUpgradeOption" in held["properties"]:
                props["versionUpgradeOption"] = held["properties"]["versionUpgradeOption"]
        moved = self.sim.advance(at)
        for key, deployment in self.sim.deployments.items():
            if key not in self.arm.deployments:  # the story creates it now ("from")
                self.arm.deployments[key] = {
                    **copy.deepcopy(deployment),
                    "type": "Microsoft.CognitiveServices/accounts/deployments",
                    "etag": f'"{uuid.uuid4()}"',
                }
                continue
            self.arm.deployments[key]["properties"]["model"] = copy.deepcopy(
                deployment["properties"]["model"]
            )
            if "systemData" in deployment:
                self.arm.deployments[key]["systemData"] = copy.deepcopy(deployment["systemData"])
        for account_id, models in self.sim.account_models.items():
            self.arm.account_models[account_id] = copy.deepcopy(models)
        if flaky:
            self.sim.flaky.add(flaky)
        for location in self.locations:
            self.arm.set_catalog(SUBSCRIPTION, location, self.sim.fetch_models(location))  # type: ignore[arg-type]
        return moved


@dataclass
class Dispatcher:
    """Event Grid between the topic stand-in and the app's Event Grid functions."""

    topic: FakeEventGridTopic
    rng: random.Random
    duplicate_rate: float = 0.3
    max_attempts: int = 30
    seen: int = 0
    attempts: Counter[tuple[str, str]] = field(default_factory=Counter)
    dead_letters: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # every non-2xx an invocation caused (visible)
    before_each: Callable[[str, dict[str, Any]], None] | None = None

    def drain(self) -> int:
        """Deliver what the topic accepted, and what the functions publish in turn, until nothing is left."""
        retry: list[tuple[str, dict[str, Any]]] = []
        delivered = 0
        while True:
            new = self.topic.events[self.seen :]
            self.seen += len(new)
            queue = [
                (name, {**e, "topic": TOPIC_ID, "metadataVersion": "1"})
                for e in new
                for name, types in SUBSCRIPTIONS.items()
                if e["eventType"] in types
            ]
            queue += [q for q in queue if self.rng.random() < self.duplicate_rate]  # at least once
            queue += retry
            retry = []
            if not queue:
                return delivered
            self.rng.shuffle(queue)  # no ordering guarantee
            for name, wire in queue:
                key = (name, str(wire["id"]))
                self.attempts[key] += 1
                delivered += 1
                try:
                    if self.before_each is not None:
                        self.before_each(name, wire)
                    invoke(name, wire)
                except (
                    Exception,
                    WorkerDied,
                ) as exc:  # a non-2xx answer: Event Grid retries, then dead-letters
                    self.failures.append(f"{name} {wire['eventType']}: {exc}")
                    if self.attempts[key] >= self.max_attempts:
                        self.dead_letters.append((name, wire, str(exc)))
                    else:
                        retry.append((name, wire))


def invoke(name: str, wire: dict[str, Any]) -> None:
    """One Event Grid delivery, decoded by the worker's own converter, handed to the function."""
    event = EventGridEventInConverter.decode(Datum(json.dumps(wire), "json"), trigger_metadata=None)
    functions()[name].get_user_function()(event)


def event_identity(event: Mapping[str, Any]) -> tuple[str, str]:
    """(type, id), except for an upgrade modelwatch made: its id derives from the catalog event that triggered it
    (so a retry records the same change once), and which of several events concerning the deployment arrives
    first depends on delivery order. The change itself is the identity there."""
    kind = str(event["eventType"])
    data = event.get("data") or {}
    if kind == "ModelLifecycle.DeploymentUpgraded" and data.get("appliedBy") == "modelwatch":
        return kind, f"{event['subject']}: {data.get('fromVersion')} -> {data.get('toVersion')}"
    return kind, str(event["id"])


@dataclass(frozen=True)
class Outcome:
    """What a replay leaves behind, compared exactly between runs."""

    versions: dict[
        str, tuple[str, str, str | None]
    ]  # deployment name -> (model, version, versionUpgradeOption)
    rollbacks: tuple[tuple[str, str, str, str], ...]  # (deployment, from, to, applied by)
    messages: dict[str, tuple[str, ...]]  # "route/slack" -> every payload received, sorted
    writes: int  # deployment PUTs the ARM stand-in accepted
    events: frozenset[tuple[str, str]]  # (event type, identity) of everything published: see event_identity


@dataclass
class Stack:
    arm: FakeArm
    topic: FakeEventGridTopic
    hooks: dict[str, FakeSlackWebhook | FakeTeamsWorkflow]
    world: World
    time: VirtualTime
    dispatcher: Dispatcher
    services: bootstrap.Services
    timeline: Timeline
    timer_failures: list[tuple[str, str]] = field(default_factory=list)  # (step date, error)
    rollbacks: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def timer(self) -> bool:
        try:
            functions()["catalog_timer"].get_user_function()(TimerRequest(past_due=False))
        except (
            Exception,
            WorkerDied,
        ) as exc:  # the host logs the failed run; the next occurrence starts over
            self.timer_failures.append((f"{self.time.now:%Y-%m-%d}", str(exc)))
            return False
        return True

    def rollback(self, ask: str | dict[str, str]) -> None:
        import azure.functions as func

        ask = ask if isinstance(ask, dict) else {"deployment": ask}
        target = next(d for d in self.arm.deployments.values() if d["name"] == ask["deployment"])
        request: dict[str, str] = {"deploymentId": target["id"]}
        if ask.get("asNew"):
            request["asNew"] = ask["asNew"]
        body = json.dumps(request).encode()
        # as App Service Authentication hands it over: the operator signed in with Entra ID, holding the app role
        headers = {
            "Content-Type": "application/json",
            "X-MS-CLIENT-PRINCIPAL": client_principal(
                ask.get("by", "oncall@contoso.example"), "ModelWatch.Operator"
            ),
        }
        response = functions()["rollback_deployment"].get_user_function()(
            func.HttpRequest(
                "POST", "https://modelwatch.example.net/api/rollback", body=body, headers=headers
            )
        )
        self.rollbacks.append((response.status_code, json.loads(response.get_body())))

    def replay(
        self,
        *,
        on_step: Callable[[int, Stack], None] | None = None,
        retry_failed_timer: bool = True,
    ) -> None:
        """Every step: Azure moves, the timer runs (again once, as its next occurrence, if it failed), Event Grid
        delivers, the operator rolls back where the timeline says so."""
        for index, step in enumerate(self.timeline.steps):
            at = parse_instant(step["at"])
            self.time.now = at
            self.world.advance(at, flaky=step.get("flaky"))
            if on_step is not None:
                on_step(index, self)
            ok = self.timer()
            self.dispatcher.drain()
            if not ok and retry_failed_timer:
                self.timer()
                self.dispatcher.drain()
            if step.get("rollback"):
                self.rollback(step["rollback"])
                self.dispatcher.drain()

    def outcome(self) -> Outcome:
        versions = {
            d["name"]: (
                str(d["properties"]["model"]["name"]),
                str(d["properties"]["model"]["version"]),
                d["properties"].get("versionUpgradeOption"),
            )
            for d in self.arm.deployments.values()
        }
        names = {d["id"].casefold(): d["name"] for d in self.arm.deployments.values()}
        rollbacks = tuple(
            sorted(
                (names[r.deployment_id.casefold()], r.from_version, r.to_version, r.applied_by)
                for r in self.services.stores.list_rollbacks()
            )
        )
        messages = {
            key: tuple(sorted(json.dumps(m, sort_keys=True) for m in hook.messages))
            for key, hook in self.hooks.items()
        }
        return Outcome(
            versions=versions,
            rollbacks=rollbacks,
            messages=messages,
            writes=len(self.arm.operations),
            events=frozenset(event_identity(e) for e in self.topic.events),
        )


ROUTES = ("default", "payments", "search")


@contextmanager
def stack(
    timeline_path: Path,
    arm: FakeArm,
    topic: FakeEventGridTopic,
    connection_string: str,
    table_prefix: str,
    *,
    seed: int = 7,
    duplicate_rate: float = 0.3,
    state_class: type[TableCatalogStateStore] = TableCatalogStateStore,
) -> Iterator[Stack]:
    """The whole app over the stand-ins, installed as the functions' Services for the duration."""
    timeline = Timeline.load(timeline_path)
    hooks: dict[str, FakeSlackWebhook | FakeTeamsWorkflow] = {}
    for route in ROUTES:
        hooks[f"{route}/slack"] = FakeSlackWebhook()
        hooks[f"{route}/teams"] = FakeTeamsWorkflow()
    routed = [r for r in ROUTES if r != "default"]
    env = {
        "WATCH_SUBSCRIPTION_ID": SUBSCRIPTION,
        "WATCH_LOCATIONS": ",".join(timeline.locations),
        "ARM_ENDPOINT": arm.endpoint,
        "ARM_BEARER_TOKEN": "replay-token",
        "ARM_MAX_RETRIES": "3",
        "EVENTGRID_TOPIC_ENDPOINT": topic.endpoint,
        "EVENTGRID_TOPIC_KEY": topic.key,
        "STATE_STORE": connection_string,
        "STATE_TABLE_PREFIX": table_prefix,
        "POLICY_MODE": "enforce",
        "POLICY_ENFORCE_ALL_ACCOUNTS": "true",
        "POLICY_ENFORCE_PROVISIONED": "true",  # as the demo: the in-place migration of a provisioned deployment
        "HTTP_AUTH": "entra",
        "WEBSITE_AUTH_ENABLED": "True",
        "SLACK_WEBHOOK_URL": hooks["default/slack"].url,
        "TEAMS_WEBHOOK_URL": hooks["default/teams"].url,
        "ALERT_ROUTES": json.dumps(
            {r: {"slack": hooks[f"{r}/slack"].url, "teams": hooks[f"{r}/teams"].url} for r in routed}
        ),
    }
    settings = load_settings(env)
    time = VirtualTime(parse_instant(timeline.steps[0]["at"]))
    # the real sender; only its pacing and backoff sleep on the virtual clock
    sender = WebhookSender(sleep=time.sleep, monotonic=time.monotonic, base_backoff=0.0)
    state = state_class.from_connection_string(connection_string, table_prefix=table_prefix)
    # the real ARM adapters; their backoff and Retry-After waits sleep on the virtual clock
    client = bootstrap.build_arm_client(settings, sleep=time.sleep)
    source = ArmCatalogSource(client, SUBSCRIPTION)
    api = bootstrap.build_deployment_api(settings, client)
    # the real publisher; its retries' backoff sleeps on the virtual clock
    assert settings.eventgrid_topic_endpoint
    publisher = EventGridPublisher(
        settings.eventgrid_topic_endpoint, settings.eventgrid_topic_key, sleep=time.sleep
    )
    built = bootstrap.build_services(
        settings, source=source, api=api, state=state, sender=sender, publisher=publisher
    )
    services = replace(built, clock=time.clock)
    bootstrap.install(services)
    try:
        yield Stack(
            arm=arm,
            topic=topic,
            hooks=hooks,
            world=World(timeline, arm),
            time=time,
            dispatcher=Dispatcher(topic, random.Random(seed), duplicate_rate),
            services=services,
            timeline=timeline,
        )
    finally:
        bootstrap.reset_function_services()
        for hook in hooks.values():
            hook.close()

"""End-to-end replay: dated lifecycle history through the function app's own entry points, with real adapters.

What is real: function_app's functions (the timer, both Event Grid triggers, the rollback HTTP function) invoked
as the host would (the worker's own Event Grid decoder); the services and their adapters as
``bootstrap.build_services`` wires them from app settings: Table Storage on Azurite, ARM over HTTP to the local
stand-in (tests/fakes/arm_server.py), the Event Grid publisher over HTTP to the topic stand-in, and the webhook
sender over HTTP to one Slack and one Teams stand-in per route.

What is simulated: time (the replay's clock, installed on the Services; the webhook sender's pacing and the ARM
client's and the Event Grid publisher's backoff sleep on a virtual clock), Azure's own behaviour between steps
(``SimulatedAzure``: the timeline's catalog, and its auto-upgrades applied to the deployments held by the ARM
stand-in), and Event Grid's delivery (``Dispatcher``: the subscriptions' includedEventTypes filters, at least once,
some events twice, shuffled, a handler that raises is redelivered, dead-lettered after ``max_attempts``).

A replay can be forked: ``Stack.snapshot()`` between two steps takes everything the replay holds as data (the
tables under its prefix, the stand-ins' state, the clock, the dispatcher, the simulated Azure, the adapters'
counters), and ``stack(..., resume=snapshot)`` starts another replay from there, with its own stand-ins and a fresh
table prefix. The fault tests replay the fault-free prefix once and fork from it.
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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from azure.functions import QueueMessage
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.meta import Datum
from azure.functions.timer import TimerRequest

from shared import bootstrap
from shared.adapters.arm import ArmCatalogSource
from shared.adapters.eventgrid import EventGridPublisher
from shared.adapters.memory import InMemoryCanaryQueue
from shared.adapters.tables.catalog_state import TableCatalogStateStore
from shared.adapters.webhooks import WebhookSender
from shared.config import load_settings
from shared.demo.run import DEMO_EVALS
from shared.demo.simulated import FENCED, LEGACY_SUBSCRIPTION, SUBSCRIPTION, SimulatedAzure, invoice_answer
from shared.demo.timeline import Timeline
from shared.domain.events import CATALOG_EVENT_TYPES
from shared.domain.timeutil import parse_instant
from shared.services.notify import NOTIFY_EVENT_TYPES
from tests.builders import client_principal
from tests.fakes.arm_server import FakeArm
from tests.fakes.azurite import Tables, read_tables, write_tables
from tests.fakes.dataplane_server import FakeDataPlane
from tests.fakes.eventgrid_server import FakeEventGridTopic
from tests.fakes.webhooks import FakeSlackWebhook, FakeTeamsWorkflow
from tests.support.app_functions import functions

DEMO_TIMELINE = Path(__file__).parents[2] / "shared" / "data" / "timeline.json"
SECOND_TIMELINE = Path(__file__).parents[1] / "e2e" / "data" / "timeline-2.json"
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

    def __init__(self, timeline: Timeline, arm: FakeArm, endpoint: str) -> None:
        self.sim = SimulatedAzure(timeline)
        self.arm = arm
        self.locations = list(timeline.locations)
        for key, account in self.sim.accounts.items():  # every account's data plane: the replay's stand-in
            arm.accounts[key] = {**copy.deepcopy(account), "properties": {"endpoint": endpoint}}
        for key, deployment in self.sim.deployments.items():
            arm.deployments[key] = {
                **copy.deepcopy(deployment),
                "type": "Microsoft.CognitiveServices/accounts/deployments",
                "etag": f'"{uuid.uuid4()}"',
            }

    @classmethod
    def resumed(cls, sim: SimulatedAzure, arm: FakeArm, locations: list[str]) -> World:
        """The world of a snapshot: its simulated Azure, over an ARM stand-in already holding its state."""
        world = cls.__new__(cls)
        world.sim, world.arm, world.locations = sim, arm, list(locations)
        return world

    def advance(
        self,
        at: datetime,
        *,
        flaky: str | None = None,
        refuse: Mapping[str, str] | None = None,
        allow: str | None = None,
    ) -> list[str]:
        if refuse:  # the story's refusals: ARM answers the deployment's PUTs 409 until it allows them again
            self.sim.refuse(refuse)
        if allow:
            self.sim.allow(allow)
        self.arm.refusals = dict(self.sim.refusals)
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
        for key in self.sim.deleted:  # the story's teams deleted it (a side-by-side migration ends)
            self.arm.deployments.pop(key, None)
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
            # the Models API is subscription-scoped: the other subscription's list, as it sees it
            self.arm.set_catalog(
                LEGACY_SUBSCRIPTION,
                location,
                self.sim.fetch_models_for(LEGACY_SUBSCRIPTION, location),  # type: ignore[arg-type]
            )
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
    # the canary asks apply_update_policy queued (run_canary's queue); None: no canaries in this replay
    canaries: InMemoryCanaryQueue | None = None

    def drain(self) -> int:
        """Deliver what the topic accepted, and what the functions publish in turn, until nothing is left; the
        queued canaries run after each round of deliveries, before Event Grid's retries (a gated upgrade that
        waited for its canary finds the verdict on its redelivery)."""
        retry: list[tuple[str, dict[str, Any]]] = []
        delivered = 0
        while True:
            ran = self.run_canaries()
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
            if not queue and not ran:
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

    def run_canaries(self) -> int:
        """Run every queued canary ask through the run_canary function, as the queue trigger would; one that
        raises stays queued (the platform redelivers it), poisoned after ``max_attempts``. How many ran."""
        if self.canaries is None or not self.canaries.messages:
            return 0
        messages, self.canaries.messages = self.canaries.messages, []
        for text in messages:
            key = ("run_canary", text)
            self.attempts[key] += 1
            try:
                functions()["run_canary"].get_user_function()(QueueMessage(body=text.encode()))
            except (Exception, WorkerDied) as exc:
                self.failures.append(f"run_canary: {exc}")
                if self.attempts[key] >= self.max_attempts:
                    self.dead_letters.append(("run_canary", {"message": text}, str(exc)))
                else:
                    self.canaries.messages.append(text)
        return len(messages)


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


# the adapters' counters a snapshot carries over (Table stores, ARM client, publisher, webhook sender)
COUNTERS = ("writes", "transactions", "requests_sent", "posts", "sent")


@dataclass(frozen=True)
class Snapshot:
    """Everything a replay holds between two steps, as data (deep copies): ``stack(..., resume=snapshot)`` goes on
    from ``next_step`` as the replay it was taken from would have."""

    next_step: int
    tables: Tables  # the run's tables (its prefix stripped) and their entities
    arm: dict[str, Any]  # the stand-ins' state (Restorable.state)
    topic: dict[str, Any]
    hooks: dict[str, dict[str, Any]]
    hook_urls: dict[str, str]  # each webhook stand-in's base URL: the sender paces by URL
    clock: tuple[datetime, float, float]  # VirtualTime's now, monotonic counter, seconds slept
    # what Event Grid delivered, retried, dead-lettered; its random generator's state
    dispatcher: dict[str, Any]
    sim: SimulatedAzure
    timer_failures: list[tuple[str, str]]
    rollbacks: list[tuple[int, dict[str, Any]]]
    # adapter -> counter -> value (a resumed Table store's REST calls then include creating its tables again, as a
    # new worker's do)
    counters: dict[str, dict[str, int]]
    pacing: dict[str, float]  # the webhook sender's last post per channel URL, on the virtual clock


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
    connection_string: str
    table_prefix: str
    client: Any  # the ARM client of the catalog source and the deployment API
    sender: WebhookSender
    plane: FakeDataPlane  # every account's data plane (the canaries' chat completions)
    timer_failures: list[tuple[str, str]] = field(default_factory=list)  # (step date, error)
    rollbacks: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    next_step: int = 0  # the index of the timeline step the next replay() starts with

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

    def alerts(self) -> None:
        """The alerts timer, once the step's held news has settled (ALERT_BATCH_SECONDS later)."""
        at = self.time.now
        self.time.now = at + timedelta(seconds=self.services.settings.alert_batch_seconds)
        try:
            functions()["alerts_timer"].get_user_function()(TimerRequest(past_due=False))
        except (Exception, WorkerDied) as exc:  # a failed run; the next one retries what is left
            self.timer_failures.append((f"{self.time.now:%Y-%m-%d}", f"alerts_timer: {exc}"))
        finally:
            self.time.now = at

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
        until: int | None = None,
    ) -> None:
        """Every step from ``next_step`` (up to ``until``, excluded; default: the last one): Azure moves, the timer
        runs (again once, as its next occurrence, if it failed), Event Grid delivers, the operator rolls back where
        the timeline says so."""
        stop = len(self.timeline.steps) if until is None else until
        for index in range(self.next_step, stop):
            step = self.timeline.steps[index]
            self.next_step = index + 1
            at = parse_instant(step["at"])
            self.time.now = at
            self.world.advance(
                at, flaky=step.get("flaky"), refuse=step.get("refuse"), allow=step.get("allow")
            )
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
            self.alerts()

    def snapshot(self) -> Snapshot:
        """Everything this replay holds now, between two steps."""
        d = self.dispatcher
        sim = copy.deepcopy(self.world.sim, {id(self.world.sim.timeline): self.world.sim.timeline})
        return Snapshot(
            next_step=self.next_step,
            tables=read_tables(self.connection_string, self.table_prefix),
            arm=self.arm.state(),
            topic=self.topic.state(),
            hooks={key: hook.state() for key, hook in self.hooks.items()},
            hook_urls={key: hook.base for key, hook in self.hooks.items()},
            clock=(self.time.now, self.time.mono, self.time.slept),
            dispatcher=copy.deepcopy(
                {
                    "seen": d.seen,
                    "attempts": d.attempts,
                    "dead_letters": d.dead_letters,
                    "failures": d.failures,
                    "rng": d.rng.getstate(),
                    "duplicate_rate": d.duplicate_rate,
                    "max_attempts": d.max_attempts,
                }
            ),
            sim=sim,
            timer_failures=list(self.timer_failures),
            rollbacks=copy.deepcopy(self.rollbacks),
            counters={
                name: {c: getattr(adapter, c) for c in COUNTERS if hasattr(adapter, c)}
                for name, adapter in self._adapters().items()
            },
            pacing=dict(self.sender._last_post),  # private to the sender: see _resume
        )

    def _adapters(self) -> dict[str, object]:
        return {
            "state": self.services.state,
            "stores": self.services.stores,
            "publisher": self.services.publisher,
            "client": self.client,
            "sender": self.sender,
        }

    def _resume(self, snapshot: Snapshot) -> None:
        """Take on a snapshot's state (the tables are written by ``stack`` before the stores are built)."""
        self.arm.restore(snapshot.arm)
        for account in self.arm.accounts.values():  # the data plane of this fork, not of the one snapshotted
            account["properties"] = {"endpoint": self.plane.endpoint}
        self.topic.restore(snapshot.topic)
        for key, hook in self.hooks.items():
            hook.restore(snapshot.hooks[key])
        self.time.now, self.time.mono, self.time.slept = snapshot.clock
        state = copy.deepcopy(snapshot.dispatcher)
        self.dispatcher.rng.setstate(state.pop("rng"))
        for name, value in state.items():
            setattr(self.dispatcher, name, value)
        self.timer_failures = list(snapshot.timer_failures)
        self.rollbacks = copy.deepcopy(snapshot.rollbacks)
        for name, adapter in self._adapters().items():
            for counter, value in snapshot.counters[name].items():
                setattr(adapter, counter, value)
        # the sender's pacing (private to it: a replay's harness reaches in), keyed by the channels' URLs, which
        # moved with the webhook stand-ins
        moved = {snapshot.hook_urls[key] + "/": hook.base + "/" for key, hook in self.hooks.items()}
        for url, last in snapshot.pacing.items():
            base = next((old for old in moved if url.startswith(old)), None)
            self.sender._last_post[url if base is None else moved[base] + url[len(base) :]] = last
        self.next_step = snapshot.next_step

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
                for r in self.services.stores.list_changes()
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


def app_settings(
    timeline: Timeline,
    arm: FakeArm,
    topic: FakeEventGridTopic,
    hooks: Mapping[str, FakeSlackWebhook | FakeTeamsWorkflow],
    *,
    connection_string: str,
    table_prefix: str,
) -> dict[str, str]:
    """The app settings of a replay: the demo's policy, canaries and routes over the stand-ins."""
    routed = [r for r in ROUTES if r != "default"]
    return {
        "WATCH_SUBSCRIPTION_ID": SUBSCRIPTION,
        "WATCH_SUBSCRIPTION_IDS": f"{SUBSCRIPTION},{LEGACY_SUBSCRIPTION}",
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
        # as the demo: the payments team's suite (its invoice-* deployments), canaries created and deleted, the gate
        # on modelwatch's own upgrades, and a pin against Azure's move to a version whose canary regressed
        "EVAL_SUITES": str(DEMO_EVALS),
        "CANARY_MODE": "create",
        "UPGRADE_GATE": "canary",
        "CANARY_PROTECT": "true",
        "DATA_PLANE_BEARER_TOKEN": "replay-data-plane-token",
        "HTTP_AUTH": "entra",
        "WEBSITE_AUTH_ENABLED": "True",
        "SLACK_WEBHOOK_URL": hooks["default/slack"].url,
        "TEAMS_WEBHOOK_URL": hooks["default/teams"].url,
        "ALERT_ROUTES": json.dumps(
            {r: {"slack": hooks[f"{r}/slack"].url, "teams": hooks[f"{r}/teams"].url} for r in routed}
        ),
    }


def data_plane(timeline: Timeline, arm: FakeArm) -> FakeDataPlane:
    """The accounts' data plane, started: every version answers the payments team's questions right, but FENCED
    ones (as the demo's), whose JSON comes in a markdown fence."""
    plane = FakeDataPlane("replay-data-plane-token").__enter__()
    plane.link(arm)
    for v in timeline.raw["versions"]:
        fenced = (v["model"], v["version"]) in FENCED
        plane.answer(
            v["model"],
            v["version"],
            lambda messages, fenced=fenced: invoice_answer(str(messages[-1]["content"]), fenced=fenced),
        )
    return plane


@contextmanager
def stack(
    timeline_path: Path,
    arm: FakeArm,
    topic: FakeEventGridTopic,
    connection_string: str,
    table_prefix: str,
    *,
    seed: int | None = None,
    duplicate_rate: float | None = None,
    state_class: type[TableCatalogStateStore] = TableCatalogStateStore,
    resume: Snapshot | None = None,
) -> Iterator[Stack]:
    """The whole app over the stand-ins, installed as the functions' Services for the duration; with ``resume``,
    a fork of the replay a snapshot was taken from (its tables copied under ``table_prefix``), which goes on from
    the snapshot's step with the snapshot's delivery order (so no ``seed`` or ``duplicate_rate`` of its own)."""
    if resume is not None and (seed is not None or duplicate_rate is not None):
        raise ValueError(
            "a fork delivers as the replay it was taken from: no seed or duplicate_rate of its own"
        )
    timeline = Timeline.load(timeline_path)
    hooks: dict[str, FakeSlackWebhook | FakeTeamsWorkflow] = {}
    for route in ROUTES:
        hooks[f"{route}/slack"] = FakeSlackWebhook()
        hooks[f"{route}/teams"] = FakeTeamsWorkflow()
    settings = load_settings(
        app_settings(
            timeline, arm, topic, hooks, connection_string=connection_string, table_prefix=table_prefix
        )
    )
    time = VirtualTime(parse_instant(timeline.steps[0]["at"]))
    # the real sender; only its pacing and backoff sleep on the virtual clock
    sender = WebhookSender(sleep=time.sleep, monotonic=time.monotonic, base_backoff=0.0)
    if resume is not None:
        write_tables(connection_string, table_prefix, resume.tables)
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
    canaries = InMemoryCanaryQueue()  # run_canary's queue: the dispatcher runs what it holds
    built = bootstrap.build_services(
        settings,
        source=source,
        api=api,
        state=state,
        sender=sender,
        publisher=publisher,
        canary_queue=canaries,
    )
    services = replace(built, clock=time.clock)
    plane = data_plane(timeline, arm)
    bootstrap.install(services)
    try:
        world = (
            World(timeline, arm, plane.endpoint)
            if resume is None
            else World.resumed(
                copy.deepcopy(resume.sim, {id(resume.sim.timeline): resume.sim.timeline}),
                arm,
                timeline.locations,
            )
        )
        replay = Stack(
            arm=arm,
            topic=topic,
            hooks=hooks,
            world=world,
            time=time,
            dispatcher=Dispatcher(
                topic,
                random.Random(7 if seed is None else seed),
                0.3 if duplicate_rate is None else duplicate_rate,
                canaries=canaries,
            ),
            services=services,
            timeline=timeline,
            connection_string=connection_string,
            table_prefix=table_prefix,
            client=client,
            sender=sender,
            plane=plane,
        )
        if resume is not None:
            replay._resume(resume)
        yield replay
    finally:
        bootstrap.reset_function_services()
        plane.__exit__()
        for hook in hooks.values():
            hook.close()

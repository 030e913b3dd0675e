"""A canary's world (#25): the payments team's chat-eu on the ARM stand-in, the data-plane stand-in answering its
suite, and the pipeline from the catalog to ``run_canary`` (tests/functional/test_canary.py,
test_canary_protect.py)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared import bootstrap
from shared.adapters.memory import (
    CollectingPublisher,
    InMemoryAlertBuffer,
    InMemoryCanaryQueue,
    InMemoryCatalogStateStore,
    InMemoryDeploymentStore,
    InMemoryLedger,
)
from shared.adapters.suite_files import load_suite
from shared.config import Settings, load_settings
from shared.domain.catalog import parse_models
from shared.domain.diff import LocationSnapshot, diff_location
from shared.domain.events import LifecycleEvent
from shared.domain.payloads import CanaryEvaluatedData
from shared.services.canary import CanaryRequest, CanaryService
from tests.builders import item
from tests.fakes.arm_server import FakeArm, Seen
from tests.fakes.dataplane_server import FakeDataPlane

ROOT = Path(__file__).resolve().parents[2]
SUITE = load_suite(ROOT / "evals" / "examples" / "payments-invoices.yaml")
SUB = "00000000-0000-0000-0000-0000000000c1"
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
CURRENT, TARGET = "2024-08-06", "2024-11-20"
ARM_TOKEN, DP_TOKEN = "arm-token-1", "dp-token-1"


def answers(fenced: bool) -> Any:
    """The stand-in model: right answers; ``fenced`` wraps the JSON of total and currency in a markdown fence."""

    def answer(messages: list[dict[str, Any]]) -> str:
        prompt = str(messages[-1]["content"])
        for marker, doc in (("1182", {"total": 42.1}), ("1183", {"currency": "USD"})):
            if marker in prompt:
                text = json.dumps(doc)
                return f"```json\n{text}\n```" if fenced else text
        if "1184" in prompt:
            return '{"due": "2026-01-31"}'
        if "1185" in prompt:
            return "unpaid"
        return "OK"

    return answer


@dataclass
class World:
    """The stand-ins, the team's account and deployment (``source``), the settings a canary runs with."""

    arm: FakeArm
    plane: FakeDataPlane
    account: str
    source: str
    sleeps: list[float]
    env: dict[str, str]

    def service(self, **env: str) -> CanaryService:
        settings = load_settings({**self.env, **env})
        client = bootstrap.build_arm_client(settings, sleep=self.sleeps.append)
        api = bootstrap.build_deployment_api(settings, client)
        service: CanaryService = bootstrap.build_canary_service(settings, api=api, sleep=self.sleeps.append)
        return service

    def run(
        self,
        mode: str = "existing",
        *,
        target: str = TARGET,
        keep: bool = False,
        against: str | None = None,
        now: datetime = NOW,
        **env: str,
    ) -> Any:
        request = CanaryRequest(self.source, SUITE, "gpt-4o", target, against=against, mode=mode, keep=keep)
        return self.service(**env).run(request, now)

    def writes(self) -> list[tuple[str, str]]:
        return [
            (r.method, r.path.rsplit("/", 1)[-1]) for r in self.arm.requests if r.method in ("PUT", "DELETE")
        ]


def make_world(arm_server: FakeArm, data_plane: FakeDataPlane) -> World:
    """contoso-payments/chat-eu on gpt-4o CURRENT (auto-update); the data plane answers CURRENT right, TARGET
    with its JSON fenced."""
    account = arm_server.add_account(SUB, "rg", "contoso-payments", "eastus", endpoint=data_plane.endpoint)
    source = arm_server.add_deployment(
        account, "chat-eu", "gpt-4o", CURRENT, policy="OnceNewDefaultVersionAvailable"
    )
    data_plane.token = DP_TOKEN
    data_plane.link(arm_server)
    data_plane.answer("gpt-4o", CURRENT, answers(fenced=False))
    data_plane.answer("gpt-4o", TARGET, answers(fenced=True))
    env = {
        "ARM_ENDPOINT": arm_server.endpoint,
        "ARM_BEARER_TOKEN": ARM_TOKEN,
        "DATA_PLANE_BEARER_TOKEN": DP_TOKEN,
        "WATCH_ACCOUNTS": account,
    }
    return World(arm_server, data_plane, account, source, [], env)


def catalog(default: str, *versions: str, retires: bool = True) -> list[dict[str, Any]]:
    """gpt-4o CURRENT and ``versions``, ``default`` the default; CURRENT retires on 2027-09-01 if ``retires``."""
    return [
        item(
            "gpt-4o",
            v,
            default=v == default,
            retires="2027-09-01T00:00:00Z" if v == CURRENT and retires else None,
        )
        for v in (CURRENT, *versions)
    ]


@dataclass
class Pipe:
    """The canary's whole chain over a World, through the composition root: the watcher's catalog state, the
    inventory, ``apply_update_policy`` asking for canaries on an in-memory queue, ``run_canary`` taking them."""

    world: World
    settings: Settings
    services: Any
    queue: InMemoryCanaryQueue
    publisher: CollectingPublisher
    snapshot: LocationSnapshot
    retires: bool = True  # CURRENT has a retirement date in the catalog

    def new_default(self, version: str, *versions: str, at: datetime) -> LifecycleEvent:
        """The watcher's work: the catalog now has ``version`` as default; its DefaultVersionChanged."""
        out = diff_location(
            self.snapshot, parse_models(catalog(version, *versions, retires=self.retires)), at
        )
        self.services.state.save_records("eastus", out.snapshot.records)
        self.snapshot = out.snapshot
        return next(e for e in out.events if e.event_type == "ModelLifecycle.DefaultVersionChanged")

    def canary(self, event: LifecycleEvent, at: datetime) -> Any:
        """apply_update_policy for the event, then run_canary for the one ask it queued."""
        asked = len(self.queue.messages)
        self.services.policy.handle(event, at)
        (message,) = self.queue.messages[asked:]
        return self.services.run_canary(message, at)

    def told(self) -> CanaryEvaluatedData:
        events = [e for e in self.publisher.published if e.event_type == "ModelLifecycle.CanaryEvaluated"]
        return events[-1].payload_as(CanaryEvaluatedData)

    def policy_puts(self) -> list[Seen]:
        return [p for p in self.world.arm.puts() if p.path.rsplit("/", 1)[-1] == "chat-eu"]

    def live(self) -> dict[str, Any]:
        return copy.deepcopy(self.world.arm.deployments[self.world.source.casefold()])


def pipeline(world: World, *, retires: bool = True, **env: str) -> Pipe:
    """The chain after a first catalog cycle (CURRENT the default, TARGET listed; ``retires``: CURRENT has a date),
    the inventory read; chat-eu-next runs TARGET side by side. ``env``: settings over the World's (POLICY_MODE,
    CANARY_PROTECT...)."""
    world.arm.add_deployment(world.account, "chat-eu-next", "gpt-4o", TARGET)  # side by side: no canary made
    state = InMemoryCatalogStateStore()
    first = diff_location(
        None,
        parse_models(catalog(CURRENT, TARGET, retires=retires)),
        NOW - timedelta(days=1),
        location="eastus",
    )
    state.save_records("eastus", first.snapshot.records)
    settings = load_settings(
        {
            **world.env,
            "WATCH_LOCATIONS": "eastus",
            "EVAL_SUITES": str(ROOT / "evals" / "examples"),
            **env,
        }
    )
    api = bootstrap.build_deployment_api(
        settings, bootstrap.build_arm_client(settings, sleep=world.sleeps.append)
    )
    queue, publisher = InMemoryCanaryQueue(), CollectingPublisher()
    services = bootstrap.build_services(
        settings,
        state=state,
        stores=InMemoryDeploymentStore(),
        ledger=InMemoryLedger(),
        publisher=publisher,
        api=api,
        notifiers={},
        buffer=InMemoryAlertBuffer(),
        canary_queue=queue,
    )
    services.inventory.refresh(NOW)
    return Pipe(world, settings, services, queue, publisher, first.snapshot, retires)

"""Section 5's tenant (200 subscriptions, 2,000 accounts, 20,000 deployments, a catalog of 300 items per region)
and the ARM stand-in serving it from a process of its own (scale_rig.py measures a timer run against it)."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit

from scripts.bench.deployments import MODELS, POLICIES, SKUS, deployment_catalog
from tests.builders import item
from tests.fakes.arm_server import FakeArm

SCALE_SUBSCRIPTIONS = 200
SCALE_ACCOUNTS_PER_SUBSCRIPTION = 10
SCALE_DEPLOYMENTS_PER_ACCOUNT = 10  # within Azure's default of 32 Standard deployments per account
SCALE_ROUTES = 20  # teams, each a Teams and a Slack channel; a subscription belongs to one team


def scale_subscriptions(n: int) -> list[str]:
    return [f"5ca1e000-0000-4000-8000-{i:012d}" for i in range(n)]


SCALE_DEPLOYED_VERSIONS = len(MODELS)  # the versions the tenant's deployments use, first in every catalog
SCALE_OTHER_OPENAI = 44  # further OpenAI versions per catalog, each with a retirement date
SCALE_OTHER_FORMATS = 250  # catalog items of another format (Meta): listed and paged, then filtered out
PIN_SHARE, IGNORE_SHARE = 0.02, 0.01  # deployments tagged modelwatch:policy pin, ignore


def scale_catalog(gpt4o_default: str) -> list[dict[str, object]]:
    """A region's Models - List: the deployed versions, other OpenAI versions, items of other formats (filtered
    out by CATALOG_MODEL_FORMATS, but listed, paged and fingerprinted)."""
    others = [
        item(
            f"model-{i // 4}",
            f"2025-{i % 4 + 1:02}-01",
            default=i % 4 == 3,
            retires=f"2027-{i % 12 + 1:02}-01T00:00:00Z",
            skus={"Standard": None, "GlobalStandard": None},
        )
        for i in range(SCALE_OTHER_OPENAI)
    ]
    partners = [
        item(
            f"partner-{i // 5}",
            str(i % 5 + 1),
            default=i % 5 == 4,
            fmt="Meta",
            kind="AIServices",
            skus={"GlobalStandard": None},
        )
        for i in range(SCALE_OTHER_FORMATS)
    ]
    return [*deployment_catalog(gpt4o_default)[:SCALE_DEPLOYED_VERSIONS], *others, *partners]


class TimedArm(FakeArm):
    """FakeArm noting when each request arrived (for the read-bucket simulation), deployments indexed by account
    on the first list (the tenant is fixed by then; the stand-in's own scan of 20,000 deployments per list would
    otherwise be measured)."""

    def __init__(self, page_size: int) -> None:
        super().__init__(page_size)
        self.arrivals: list[tuple[float, str, str]] = []
        self._by_account: dict[str, list[dict[str, Any]]] | None = None
        self._arrivals_lock = threading.Lock()

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        with self._arrivals_lock:
            self.arrivals.append((time.monotonic(), method, urlsplit(h.path).path))
        super()._handle(h, method)

    def _list_deployments(
        self, q: dict[str, list[str]], path: str, account: str
    ) -> tuple[int, dict[str, str], Any]:
        if self._by_account is None:
            index: dict[str, list[dict[str, Any]]] = {}
            for key, d in self.deployments.items():
                index.setdefault(key.rsplit("/deployments/", 1)[0], []).append(d)
            self._by_account = index
        return self._page(self._by_account.get(account.casefold(), []), q, path)


def populate_tenant(
    arm: FakeArm, subscriptions: list[str], locations: list[str], seed: int
) -> dict[str, int]:
    """SCALE_ACCOUNTS_PER_SUBSCRIPTION accounts per subscription, regions Zipf-distributed (the first ones busy),
    each with SCALE_DEPLOYMENTS_PER_ACCOUNT deployments drawn as in section 4 and tagged with their team's route."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(locations))]
    per_region: Counter[str] = Counter()
    for s, sub in enumerate(subscriptions):
        route = f"team-{s % SCALE_ROUTES:02}"
        for a in range(SCALE_ACCOUNTS_PER_SUBSCRIPTION):
            region = rng.choices(locations, weights)[0]
            kind = "AIServices" if rng.random() < 0.3 else "OpenAI"
            account = arm.add_account(sub, f"rg-{region}", f"aoai-{s:03}-{a:02}", region, kind=kind)
            per_region[region] += 1
            for k in range(SCALE_DEPLOYMENTS_PER_ACCOUNT):
                model, version, _ = rng.choices(MODELS, [w for *_, w in MODELS])[0]
                policy = rng.choices(POLICIES, [w for _, w in POLICIES])[0][0]
                sku = rng.choices(SKUS, [w for _, w in SKUS])[0][0]
                roll = rng.random()
                tags = {"modelwatch:route": route}
                if roll < PIN_SHARE + IGNORE_SHARE:
                    tags["modelwatch:policy"] = "pin" if roll < PIN_SHARE else "ignore"
                arm.add_deployment(
                    account, f"d{k:02}-{model}", model, version, sku=sku, policy=policy, tags=tags
                )
    return dict(per_region)


def serve_arm(conn: Connection, page_size: int) -> None:
    """The child process: a TimedArm answering commands from the benchmark over a pipe."""
    arm = TimedArm(page_size)
    with arm:
        conn.send(arm.endpoint)
        while True:
            command, args = conn.recv()
            if command == "stop":
                conn.send(None)
                return
            if command == "populate":
                conn.send(populate_tenant(arm, *args))
            elif command == "catalog":
                subscription, locations, default = args
                for location in locations:
                    arm.set_catalog(subscription, location, scale_catalog(default))
                conn.send(None)
            elif command == "latency":
                arm.latency = args[0]
                conn.send(None)
            elif command == "mark":
                conn.send(len(arm.arrivals))
            elif command == "since":
                conn.send(arm.arrivals[args[0] :])
            else:
                conn.send(f"unknown command {command}")


class ArmProcess:
    """FakeArm in a child process, so that ARM's work is on neither this process's CPU (GIL) nor its heap."""

    def __init__(self, page_size: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve_arm, args=(child, page_size), daemon=True)
        self._process.start()
        self.endpoint: str = self._conn.recv()

    def call(self, command: str, *args: object) -> Any:
        self._conn.send((command, args))
        return self._conn.recv()

    def __enter__(self) -> ArmProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.call("stop")
        self._process.join(timeout=10)

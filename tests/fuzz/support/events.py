"""Real events (the diff's, the alert samples', docs/events.md's), the two subscribers over in-memory stores, forged
events, and the checks of what a delivery may write."""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

from hypothesis import assume
from hypothesis import strategies as st

from shared.adapters.memory import (
    CollectingPublisher,
    InMemoryCatalogStateStore,
    InMemoryDeploymentStore,
    InMemoryLedger,
)
from shared.adapters.notifiers import webhook_notifiers
from shared.domain.catalog import parse_models
from shared.domain.deployments import parse_deployment
from shared.domain.diff import LocationSnapshot, diff_location
from shared.domain.digest import build_digests
from shared.domain.events import (
    CATALOG_EVENT_TYPES,
    EventType,
    JsonObject,
    JsonValue,
    LifecycleEvent,
    version_subject,
)
from shared.domain.policy import PolicyRules
from shared.domain.routes import DEFAULT_ROUTE, Channel, ChannelKind, Route
from shared.domain.secret import Secret
from shared.domain.severity import Severity
from shared.domain.timeutil import parse_instant
from shared.errors import ArmError, ModelWatchError
from shared.presentation.alert_samples import samples
from shared.services.notify import NOTIFY_EVENT_TYPES, NotifyService
from shared.services.notify import SUBSCRIBER as NOTIFY
from shared.services.pipeline import Delivery, Subscriber, deliver, deliver_one, parse_body
from shared.services.policy import SUBSCRIBER as POLICY
from shared.services.policy import PolicyService, Scope
from shared.services.results import DUPLICATE, FAILED, IGNORED, PROCESSED, REJECTED, RETRY, UNROUTED
from tests.builders import item
from tests.fuzz.support.deployments import (
    CHAT,
    EAST,
    FOREIGN_CHAT,
    PINNED,
    PTU,
    REAL_DEPLOYMENTS,
    SUB,
    WEST,
    WEST_CHAT,
)
from tests.fuzz.support.strategies import (
    BAD_DATES,
    EVENT_ERRORS,
    NOW,
    ROOT,
    as_object,
    attempt,
    json_values,
    keys,
    pick,
    scalars,
    texts,
    wrong_types,
)

V0 = [
    item("gpt-4o", "2024-05-13", default=True, retires="2026-03-31T00:00:00Z"),
    item("gpt-4o", "2024-08-06"),
]
V1 = [
    item("gpt-4o", "2024-05-13", retires="2026-03-31T00:00:00Z"),
    item("gpt-4o", "2024-08-06", default=True, retires="2026-10-01T00:00:00Z"),
    item("gpt-4o", "2024-11-20", retires="2027-03-01T00:00:00Z", status="Preview"),
]
WATCHED = frozenset({"eastus"})
TARGET = "2024-08-06"


def _history(location: str) -> tuple[LocationSnapshot, list[LifecycleEvent]]:
    """Real events: the diff over three cycles (a default change, a release, a retirement)."""
    snapshot: LocationSnapshot | None = None
    events: list[LifecycleEvent] = []
    for when, catalog in [(NOW - timedelta(days=60), V0), (NOW - timedelta(days=30), V1), (NOW, V1)]:
        result = diff_location(snapshot, parse_models(catalog), when, location=location)
        snapshot, events = result.snapshot, events + list(result.events)
    assert snapshot is not None
    return snapshot, events


HISTORY = {loc: _history(loc) for loc in ("eastus", "westus")}
CATALOG_SEEDS: list[JsonObject] = [e.to_wire() for e in HISTORY["eastus"][1]]
WEST_SEEDS: list[JsonObject] = [e.to_wire() for e in HISTORY["westus"][1]]
RETIRED: JsonObject = next(w for w in CATALOG_SEEDS if w["eventType"] == EventType.VERSION_RETIRED)
SAMPLES = samples()
DIGEST_SEEDS: list[JsonObject] = [
    *(e.to_wire() for e in SAMPLES.values() if e.event_type == EventType.CATALOG_DIGEST),
    *(e.to_wire() for e in build_digests(HISTORY["eastus"][1])),
]
DEPLOYMENT_SEEDS: list[JsonObject] = [
    e.to_wire() for e in SAMPLES.values() if e.event_type != EventType.CATALOG_DIGEST
]
DOC_SEEDS: list[JsonObject] = [
    as_object(json.loads(block))
    for block in re.findall(
        r"```json\n(.*?)\n```", (ROOT / "docs" / "events.md").read_text(encoding="utf-8"), re.S
    )
]
ALL_SEEDS = CATALOG_SEEDS + WEST_SEEDS + DIGEST_SEEDS + DEPLOYMENT_SEEDS + DOC_SEEDS
KNOWN_TYPES = frozenset(t.value for t in EventType)
DEPLOYMENT_TYPES = frozenset(t.value for t in NOTIFY_EVENT_TYPES if t != EventType.CATALOG_DIGEST)
QUIET = frozenset({REJECTED, IGNORED, UNROUTED})
OUTCOMES = frozenset({PROCESSED, DUPLICATE, IGNORED, REJECTED, FAILED, RETRY, UNROUTED})


class RecordingDeploymentApi:
    """DeploymentApi in memory: serves the raw deployments and records every GET and PUT."""

    def __init__(self, deployments: Sequence[JsonObject]) -> None:
        self._lock = threading.Lock()
        self.deployments = {str(d["id"]).casefold(): copy.deepcopy(d) for d in deployments}
        self.gets: list[str] = []
        self.puts: list[tuple[str, JsonObject]] = []

    def list_accounts(self, subscription_id: str) -> list[JsonValue]:
        return []

    def get_account(self, account_id: str) -> JsonObject:
        raise ArmError(f"account {account_id} not found", status=404)

    def list_deployments(self, account_id: str) -> list[JsonValue]:
        prefix = account_id.casefold() + "/deployments/"
        return [copy.deepcopy(d) for k, d in self.deployments.items() if k.startswith(prefix)]

    def list_account_models(self, account_id: str) -> list[JsonValue]:
        return []

    def find_deployment(self, deployment_id: str) -> JsonObject | None:
        with self._lock:
            found = self.deployments.get(deployment_id.casefold())
            return copy.deepcopy(found) if found is not None else None

    def get_deployment(self, deployment_id: str) -> JsonObject:
        with self._lock:
            self.gets.append(deployment_id)
            if deployment_id.casefold() not in self.deployments:
                raise ArmError(f"deployment {deployment_id} not found", status=404)
            return copy.deepcopy(self.deployments[deployment_id.casefold()])

    def put_deployment(
        self, deployment_id: str, body: JsonObject, *, if_match: str | None = None
    ) -> JsonObject:
        with self._lock:
            self.puts.append((deployment_id, copy.deepcopy(body)))
            self.deployments[deployment_id.casefold()] = copy.deepcopy(body)
            return copy.deepcopy(body)

    def delete_deployment(self, deployment_id: str) -> None:
        with self._lock:
            self.deployments.pop(deployment_id.casefold(), None)


class RecordingSender:
    """MessageSender that keeps what it is given; the payload must be JSON requests can send (no NaN)."""

    def __init__(self) -> None:
        self.posts: list[tuple[Channel, Mapping[str, JsonValue]]] = []

    def send(self, channel: Channel, payload: Mapping[str, JsonValue], rules: object) -> None:
        json.dumps(payload, allow_nan=False)
        self.posts.append((channel, payload))


ROUTES = {
    DEFAULT_ROUTE: Route(
        DEFAULT_ROUTE,
        {
            ChannelKind.TEAMS: Secret("https://teams.invalid/a"),
            ChannelKind.SLACK: Secret("https://slack.invalid/b"),
        },
    ),
    "payments": Route("payments", {ChannelKind.SLACK: Secret("https://slack.invalid/c")}, Severity.WARNING),
}


class World:
    """The two subscribers over in-memory stores, as Services.subscribers() wires them, enforce mode."""

    def __init__(self) -> None:
        self.api = RecordingDeploymentApi([*REAL_DEPLOYMENTS, FOREIGN_CHAT])
        self.state = InMemoryCatalogStateStore()
        for loc, (snapshot, _) in HISTORY.items():
            self.state.save_records(loc, snapshot.records)
        self.stores = InMemoryDeploymentStore()
        self.stores.save_deployments(
            [
                parse_deployment(raw, account_id=acc, location=loc, seen_at=NOW)
                for raw, acc, loc in [
                    (CHAT, EAST, "eastus"),
                    (PINNED, EAST, "eastus"),
                    (PTU, EAST, "eastus"),
                    (WEST_CHAT, WEST, "westus"),
                ]
            ]
        )
        self.ledger = InMemoryLedger()
        self.publisher = CollectingPublisher()
        self.policy = PolicyService(
            deployments=self.stores,
            ledger=self.ledger,
            rollbacks=self.stores,
            state=self.state,
            api=self.api,
            publisher=self.publisher,
            rules=PolicyRules(enforce=True),
            scope=Scope(WATCHED, subscriptions=frozenset({SUB.lower()})),
            reminder_days=(90, 60, 30, 14, 7, 1),
        )
        self.notify_ledger = InMemoryLedger()
        self.sender = RecordingSender()
        self.notify = NotifyService(
            ledger=self.notify_ledger,
            notifiers=webhook_notifiers(self.sender),
            routes=ROUTES,
            scope=Scope(WATCHED),
        )
        self.subscribers = [
            Subscriber(POLICY, frozenset(CATALOG_EVENT_TYPES), self.policy.handle),
            Subscriber(NOTIFY, NOTIFY_EVENT_TYPES, self.notify.handle),
        ]

    def deliver(self, body: JsonValue) -> list[Delivery]:
        raw = attempt(lambda: parse_body(body), EVENT_ERRORS)
        if isinstance(raw, ModelWatchError):
            return []
        return deliver(raw, self.subscribers, NOW)

    def deliver_directly(self, wire: JsonValue) -> list[Delivery]:
        """Past the type routing, as a misconfigured subscription would: each subscriber validates on its own."""
        event = attempt(lambda: LifecycleEvent.from_wire(wire), EVENT_ERRORS)
        if isinstance(event, ModelWatchError):
            return []
        return [deliver_one(event, s, NOW) for s in self.subscribers]


def with_version(raw: JsonObject, version: str) -> JsonObject:
    body = copy.deepcopy(raw)
    model = as_object(as_object(body["properties"])["model"])
    model["version"] = version
    return body


def check_nothing_written(world: World, deliveries: Sequence[Delivery], ids: Sequence[JsonValue]) -> None:
    """A forged or out-of-scope event changes nothing anywhere."""
    assert all(d.outcome in QUIET for d in deliveries), [
        (d.subscriber, d.outcome, d.detail) for d in deliveries
    ]
    assert world.api.puts == [] and world.api.gets == [], "no ARM call at all"
    for ident in ids:
        if isinstance(ident, str):
            assert world.ledger.get(POLICY, ident) is None, "nothing in the ledger"
    assert world.sender.posts == [], "no alert"
    assert world.publisher.published == [] and world.state.list_pending() == [], "nothing published"
    assert world.stores.list_changes() == []


def check_only_legitimate_writes(world: World, deliveries: Sequence[Delivery]) -> None:
    """Whatever arrives, a write only ever moves the watched, upgradable deployment to the catalog's target."""
    assert all(d.outcome in OUTCOMES for d in deliveries)
    inventory_east = {str(d["id"]).casefold() for d in (CHAT, PINNED, PTU)}
    assert all(rid.casefold() in inventory_east for rid in world.api.gets), world.api.gets
    for rid, body in world.api.puts:
        assert rid.casefold() == str(CHAT["id"]).casefold() and body == with_version(CHAT, TARGET), rid
    assert len(world.api.puts) <= 1, "an upgrade happens once"
    for d in deliveries:
        if (
            d.subscriber == POLICY
            and d.outcome in QUIET
            and not any(
                e.event_id == d.event_id and e.subscriber == POLICY and e.outcome not in QUIET
                for e in deliveries
            )
        ):
            assert world.ledger.get(POLICY, d.event_id) is None


def unparseable(value: JsonValue) -> bool:
    """Not an instant the event parser accepts (and not one of BUG-1's overflowing ones)."""
    if not isinstance(value, str):
        return True
    try:
        parse_instant(value)
    except OverflowError:
        return False
    except ValueError:
        return True
    return False


def _other_location(draw: st.DrawFn) -> str:
    loc = draw(
        st.sampled_from(["westus", "WestUS2", "swedencentral", "east us", "eastus2", "eastus/x"])
        | st.text(min_size=1, max_size=12)
    )
    assume(loc.casefold() not in WATCHED)
    return loc


def _unknown_type(draw: st.DrawFn, seed: JsonObject, data: JsonObject, kind: str) -> None:
    seed["eventType"] = draw(
        (
            st.sampled_from(
                [
                    "ModelLifecycle.Unknown",
                    "modellifecycle.versionretired",
                    "Microsoft.Storage.BlobCreated",
                ]
            )
            | st.text(max_size=20)
        ).filter(lambda t: t not in KNOWN_TYPES)
    )


def _data_not_object(draw: st.DrawFn, seed: JsonObject, data: JsonObject, kind: str) -> None:
    seed["data"] = draw(
        st.one_of(st.none(), st.booleans(), st.integers(), texts, st.lists(json_values, max_size=3))
    )


def _bad_id(draw: st.DrawFn, seed: JsonObject, data: JsonObject, kind: str) -> None:
    if draw(st.booleans()):
        del seed["id"]
    else:
        seed["id"] = draw(pick(["", None, 7, ["id"], {"id": "x"}]))


def _bad_time(draw: st.DrawFn, seed: JsonObject, data: JsonObject, kind: str) -> None:
    bad = draw((st.sampled_from(BAD_DATES) | wrong_types | st.text(max_size=20)).filter(unparseable))
    if bad is None and draw(st.booleans()):
        del seed["eventTime"]
    else:
        seed["eventTime"] = bad


def _bad_data_version(draw: st.DrawFn, seed: JsonObject, data: JsonObject, kind: str) -> None:
    seed["dataVersion"] = draw(pick([None, 1, 1.0, True, ["1.0"], {"v": "1.0"}]))


def _missing(draw: st.DrawFn, seed: JsonObject, data: JsonObject, kind: str) -> None:
    del seed[draw(st.sampled_from(["id", "subject", "eventType", "eventTime", "data"]))]


def _out_of_scope(draw: st.DrawFn, seed: JsonObject, data: JsonObject, kind: str) -> None:
    loc = _other_location(draw)
    data["location"] = loc
    if kind in CATALOG_EVENT_TYPES:
        seed["subject"] = version_subject(
            loc, str(data["modelFormat"]), str(data["modelName"]), str(data["modelVersion"])
        )


def _bad_location(draw: st.DrawFn, seed: JsonObject, data: JsonObject, kind: str) -> None:
    if draw(st.booleans()):
        del data["location"]
    else:
        data["location"] = draw(pick(["", None, 1, ["eastus"], {"name": "eastus"}]))


def _bad_changes(draw: st.DrawFn, seed: JsonObject, data: JsonObject, kind: str) -> None:
    data["changes"] = draw(
        st.one_of(st.none(), texts, st.integers(), st.dictionaries(keys, scalars, max_size=2))
    )


def _subject_mismatch(draw: st.DrawFn, seed: JsonObject, data: JsonObject, kind: str) -> None:
    subject = draw(
        st.sampled_from(
            [
                str(CHAT["id"]),
                str(FOREIGN_CHAT["id"]),
                "/locations/eastus/catalog",
                version_subject("eastus", "OpenAI", "gpt-4o", "9"),
                version_subject("westus", "OpenAI", "gpt-4o", TARGET),
            ]
        )
        | texts
    )
    expected = (
        str(data.get("deploymentId", "")).casefold()
        if kind in DEPLOYMENT_TYPES
        else version_subject(
            str(data.get("location")),
            str(data.get("modelFormat")),
            str(data.get("modelName")),
            str(data.get("modelVersion")),
        )
    )
    assume(subject.casefold() != expected.casefold() if kind in DEPLOYMENT_TYPES else subject != expected)
    seed["subject"] = subject


def _bad_model_fields(draw: st.DrawFn, seed: JsonObject, data: JsonObject, kind: str) -> None:
    names = ["deploymentName", "modelName", "modelVersion", "deploymentId"]
    if kind in CATALOG_EVENT_TYPES:
        names = ["modelFormat", "modelName", "modelVersion"]
    name = draw(st.sampled_from(names))
    if draw(st.booleans()):
        data.pop(name, None)
    else:
        bad_values: list[JsonValue] = [None, 1, ["gpt-4o"], {"v": 1}]
        if kind in CATALOG_EVENT_TYPES or name == "deploymentId":
            bad_values.append("")
        data[name] = draw(st.sampled_from(bad_values))


# how each forgery breaks an event (seed: the event, data: its data, kind: its type), by name; "not_object" is
# forged_events' own (it replaces the event)
FORGERIES: dict[str, Callable[[st.DrawFn, JsonObject, JsonObject, str], None]] = {
    "unknown_type": _unknown_type,
    "data_not_object": _data_not_object,
    "bad_id": _bad_id,
    "bad_time": _bad_time,
    "bad_data_version": _bad_data_version,
    "missing": _missing,
    "out_of_scope": _out_of_scope,
    "bad_location": _bad_location,
    "bad_changes": _bad_changes,
    "subject_mismatch": _subject_mismatch,
    "bad_model_fields": _bad_model_fields,
}


@st.composite
def forged_events(draw: st.DrawFn) -> JsonValue:
    """A real event made invalid or out of scope: every subscriber must reject or ignore it."""
    seed = copy.deepcopy(draw(st.sampled_from(CATALOG_SEEDS + DIGEST_SEEDS + DEPLOYMENT_SEEDS)))
    kind = str(seed["eventType"])
    data = as_object(seed["data"])
    located = kind != EventType.CATALOG_DIGEST
    subject_checked = kind in DEPLOYMENT_TYPES or (
        kind in CATALOG_EVENT_TYPES and kind != EventType.CATALOG_ANOMALY
    )
    ops = [
        "unknown_type",
        "data_not_object",
        "bad_id",
        "bad_time",
        "bad_data_version",
        "missing",
        "not_object",
    ]
    ops += ["out_of_scope", "bad_location"] if located else ["bad_changes"]
    ops += ["subject_mismatch", "bad_model_fields"] if subject_checked else []
    op = draw(st.sampled_from(ops))
    if op == "not_object":
        wrapped: JsonValue = [seed]
        return draw(pick([None, 0, 1.5, True, wrapped]) | texts)
    FORGERIES[op](draw, seed, data, kind)
    return seed

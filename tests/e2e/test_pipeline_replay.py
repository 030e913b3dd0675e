"""The whole pipeline replaying real lifecycle history, without and with faults (harness:
tests/support/replay.py).

The demo timeline (shared/data/timeline.json, 2024-03 to 2025-06) runs through the function app's entry points
against Table Storage on Azurite, the ARM, Event Grid and webhook stand-ins over HTTP. Its end state is asserted
exactly; then each fault is injected into a replay, and the outcome must be the fault-free one (every
deployment's version and policy, the rollback records, every message on every channel, the number of deployment
writes, the published event ids), or, for faults that delay what is seen by whole cycles, the invariants: no event
lost, no action twice, no false retirement, and every failure visible.

The fault-free reference is replayed once per session (``demo_reference``), with a snapshot before each step a
fault is injected at; a fault test forks from that snapshot (``forked``: the same state, its own stand-ins and
tables) and replays the rest with its fault, as a fresh replay would have from its fault-free prefix.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shared import bootstrap
from shared.adapters.tables.catalog_state import TableCatalogStateStore
from shared.domain.catalog import VersionKey
from shared.domain.cursor import Cursor
from shared.domain.diff import VersionRecord
from tests.fakes.arm_server import FakeArm, Fault
from tests.fakes.eventgrid_server import FakeEventGridTopic
from tests.support.demo_history import DEMO_CHANGES, DEMO_END_VERSIONS
from tests.support.replay import DEMO_TIMELINE, SECOND_TIMELINE, Outcome, Snapshot, Stack, WorkerDied, stack

pytestmark = pytest.mark.azurite

# The steps of the demo timeline where the most happens (0-based): 5 = 2025-01-21, gpt-35-turbo's default moves
# to 0125 and Azure moves the auto-update deployments; 20 = 2026-09-24, enforcement migrates the provisioned ptu-chat
# in place, after ARM refused it for quota (fraud-scoring's upgrade at 0613's retirement is Azure's).
BUSY_STEP = 5
WRITE_STEP = 20
# the steps Sweden Central's catalog is down in test_a_region_failing_for_several_cycles_...
REGION_DOWN = (4, 5, 6)
# where the fault tests fork from the reference replay: the first step each one injects a fault at
FORK_STEPS = (REGION_DOWN[0], BUSY_STEP, WRITE_STEP)


def demo_step(stack: Stack, text: str) -> int:
    return next(i for i, s in enumerate(stack.timeline.steps) if s["at"] == text)


@contextmanager
def fresh(
    connection_string: str, path: Path = DEMO_TIMELINE, **options: Any
) -> Iterator[tuple[Stack, FakeArm, FakeEventGridTopic]]:
    with (
        FakeArm() as arm,
        FakeEventGridTopic() as topic,
        stack(path, arm, topic, connection_string, new_table_prefix(), **options) as s,
    ):
        yield s, arm, topic


def new_table_prefix() -> str:
    return "R" + uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Reference:
    """The fault-free replay of the demo history: its outcome and published events, and a snapshot before each of
    FORK_STEPS."""

    outcome: Outcome
    events: list[dict[str, Any]]
    snapshots: dict[int, Snapshot]
    connection_string: str


@pytest.fixture(scope="session")
def demo_reference(azurite_service: str) -> Reference:
    """The fault-free replay, once per session (the tests using it are marked azurite with the module)."""
    snapshots: dict[int, Snapshot] = {}
    with fresh(azurite_service) as (s, _, topic):
        for step in sorted(FORK_STEPS):
            s.replay(until=step)
            snapshots[step] = s.snapshot()
        s.replay()
        assert not s.timer_failures and not s.dispatcher.failures
        return Reference(s.outcome(), list(topic.events), snapshots, azurite_service)


@contextmanager
def forked(
    reference: Reference, step: int, **options: Any
) -> Iterator[tuple[Stack, FakeArm, FakeEventGridTopic]]:
    """The reference replay as it stood before ``step``, with its own stand-ins and tables: ``replay()`` goes on
    from ``step``. ``options``: the state class (a fork keeps the reference's delivery order)."""
    with (
        FakeArm() as arm,
        FakeEventGridTopic() as topic,
        stack(
            DEMO_TIMELINE,
            arm,
            topic,
            reference.connection_string,
            new_table_prefix(),
            resume=reference.snapshots[step],
            **options,
        ) as s,
    ):
        yield s, arm, topic


def event_types(outcome: Outcome) -> Counter[str]:
    return Counter(t.removeprefix("ModelLifecycle.") for t, _ in outcome.events)


# ---- the demo history, fault-free


def assert_canaries_told_once(events: list[dict[str, Any]], arm: FakeArm, outcome: Outcome) -> None:
    """The canaries: the payments team's suite on each coming version of its invoice-* deployments, once each
    (side by side against ptu-chat where the account runs the target, else in a canary created and deleted)."""
    canaries = {
        (
            e["eventTime"][:10],
            e["data"]["deploymentName"],
            e["data"]["targetVersion"],
            e["data"]["verdict"],
            e["data"]["targetDeployment"],
            e["data"]["protection"].split(" (")[0],
        )
        for e in events
        if e["eventType"] == "ModelLifecycle.CanaryEvaluated"
    }
    assert sorted(canaries) == [
        (
            "2024-10-11",
            "invoice-reader",
            "2024-08-06",
            "regression",
            "invoice-reader-mw-canary",
            "modelwatch set versionUpgradeOption to NoAutoUpgrade",
        ),
        ("2025-01-21", "invoice-ptu", "2024-08-06", "regression", "ptu-chat", ""),  # Azure never moves it
        ("2025-12-16", "invoice-ptu", "2025-11-13", "pass", "invoice-ptu-mw-canary", ""),
        (
            "2025-12-16",
            "invoice-reader",
            "2025-11-13",
            "pass",
            "invoice-reader-mw-canary",
            "modelwatch put versionUpgradeOption OnceNewDefaultVersionAvailable back",
        ),
    ]
    assert not [d for d in arm.deployments.values() if d["name"].endswith("-mw-canary")]  # all deleted
    # each verdict told to the team once, in a message of its own (its headline, on Slack)
    heads = [json.loads(m)["blocks"][0]["text"]["text"] for m in outcome.messages["payments/slack"]]
    for name in ("invoice-reader", "invoice-ptu"):
        assert heads.count(f"{name} on gpt-4o 2024-08-06: 2 regression(s): total, currency") == 1, name
        assert heads.count(f"{name} passes its suite on gpt-5.1 2025-11-13") == 1, name


@pytest.mark.reliability(
    fault="none: the demo history (22 dated steps, 2024-03 to 2026-10) replayed, each event delivered at least once (30% twice), shuffled",
    held="every deployment's end state as the documented rules say; 12 writes accepted (3 canaries created and deleted, a CANARY_PROTECT pin and its lifting), 1 refused and told once; an upgrade held by its canary's regression (UPGRADE_GATE), told once, done to a later target that passed; none inside Azure's upgrade window; 16 event types; a version the watched subscription no longer lists told as not listed, never retired; one message per route per digest, on both channels; the half-empty listing an anomaly, no false retirement",
)
def test_demo_history_ends_where_the_documented_rules_say(
    azurite_connection_string: str, demo_reference: Reference
) -> None:
    with fresh(azurite_connection_string) as (s, arm, topic):
        s.replay()
        outcome = s.outcome()
        assert s.timer_failures == [] and s.dispatcher.failures == [] and s.dispatcher.dead_letters == []
        assert outcome.versions == DEMO_END_VERSIONS
        assert outcome.rollbacks == DEMO_CHANGES
        # the in-place rollback, the side-by-side sibling, ptu-chat's provisioned migration (its first PUT was
        # refused before ARM accepted anything), invoice-ptu's; three canaries created and deleted (PUT, DELETE);
        # invoice-reader's pin and its lifting; none for a deployment inside Azure's upgrade window
        assert outcome.writes == 12
        pending = [
            e
            for e in topic.events
            if e["eventType"] == "ModelLifecycle.DeploymentUpgradePlanned"
            and e["data"]["reason"] == "upgrade-pending"
        ]
        assert sorted({(e["data"]["deploymentName"], e["eventTime"][:10]) for e in pending}) == [
            ("fraud-scoring", "2025-02-14")
        ]
        assert not any(
            e["data"].get("deploymentName") == "fraud-scoring" and e["data"].get("status") == "broken"
            for e in topic.events
            if e["eventType"] == "ModelLifecycle.DeploymentAtRisk"
        )
        refused = [e for e in topic.events if e["eventType"] == "ModelLifecycle.DeploymentUpgradeFailed"]
        assert [
            (e["eventTime"][:10], e["data"]["deploymentName"], e["data"]["targetVersion"]) for e in refused
        ] == [("2025-09-05", "invoice-ptu", "2024-08-06"), ("2026-09-20", "ptu-chat", "2025-11-13")]
        assert refused[0]["data"]["error"] == (
            "held by UPGRADE_GATE=canary: the canary of gpt-4o 2024-08-06 did not pass (regression: 5/5 -> 3/5)"
        )
        assert "InsufficientQuota" in refused[1]["data"]["error"]
        for channel in ("payments/slack", "payments/teams"):  # told once, to the team that owns it
            for told in ("could not upgrade ptu-chat", "could not upgrade invoice-ptu"):
                assert sum(told in m for m in outcome.messages[channel]) == 1, (channel, told)
        assert_canaries_told_once(topic.events, arm, outcome)
        assert [code for code, _ in s.rollbacks] == [200, 200]
        assert s.rollbacks[1][1]["siblingDeploymentId"].endswith("/deployments/chat-eu-gpt4o")
        assert len(event_types(outcome)) == 16  # every event type this product publishes
        counts = {key: len(payloads) for key, payloads in outcome.messages.items()}
        for route in ("default", "payments", "search"):
            assert counts[f"{route}/slack"] == counts[f"{route}/teams"] > 0  # one message, both channels
        # no false retirement: Sweden Central's half-empty listing (2025-01-21) was held as an anomaly
        retired = [e for e in topic.events if e["eventType"] == "ModelLifecycle.VersionRetired"]
        assert retired and all(e["data"]["reason"] != "removedFromCatalog" for e in retired)
        assert sum(e["eventType"] == "ModelLifecycle.CatalogAnomaly" for e in topic.events) == 1
        # a subscription that does not see a Deprecated version: gpt-4.1 2025-04-14 left the watched subscription's
        # list while contoso-legacy's subscription, which runs it in eastus, still listed it: "not listed", with
        # Azure's date, once per region; no "retired", no write
        not_listed = [e for e in topic.events if e["eventType"] == "ModelLifecycle.VersionNotListed"]
        assert sorted({(e["data"]["location"], e["data"]["reason"]) for e in not_listed}) == [
            ("eastus", "listedElsewhere"),
            ("swedencentral", "goneBeforeRetirement"),
        ]
        assert {e["data"]["worksUntil"] for e in not_listed} == {"2026-10-14T00:00:00Z"}
        assert not [e for e in retired if e["data"]["modelName"] == "gpt-4.1"]
        # a partner model, watched by default: its catalog date (Learn's 2026-06-13) told, at risk then broken, no
        # Azure upgrade predicted and nothing written; its release was never news (CATALOG_NEWS_FORMATS: OpenAI)
        meta = [
            e
            for e in topic.events
            if e["data"].get("modelFormat") == "Meta" and "deploymentName" not in e["data"]
        ]
        assert sorted({e["eventType"].removeprefix("ModelLifecycle.") for e in meta}) == [
            "LifecycleStatusChanged",  # to Deprecated: a retirement stage, told for every format
            "RetirementApproaching",
            "RetirementScheduled",
            "VersionRetired",
        ]
        llama = [e for e in topic.events if e["data"].get("deploymentName") == "llama-tagger"]
        assert {e["eventType"] for e in llama} == {"ModelLifecycle.DeploymentAtRisk"}
        assert sorted({(e["eventTime"][:10], e["data"]["status"]) for e in llama}) == [
            ("2026-04-01", "atRisk"),
            ("2026-09-20", "broken"),
        ]
        assert outcome == demo_reference.outcome  # the replay is deterministic


def message_diff(got: Outcome, want: Outcome) -> dict[str, tuple[list[str], list[str]]]:
    """Per channel: the headlines received only in ``got``, and only in ``want`` (readable where == is not)."""

    def heads(payloads: tuple[str, ...]) -> list[str]:
        out = []
        for text in payloads:
            body = json.loads(text)
            out.append(str(body.get("text") or json.dumps(body)[:200]))
        return out

    diff = {}
    for key in sorted(set(got.messages) | set(want.messages)):
        a, b = heads(got.messages.get(key, ())), heads(want.messages.get(key, ()))
        extra, missing = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        if extra or missing or len(a) != len(b):
            diff[key] = (extra, missing)
    return diff


@pytest.mark.parametrize(("seed", "duplicates"), [(1, 0.0), (99, 0.8)])
@pytest.mark.reliability(
    fault="delivery order and duplicates: seed {seed}, {duplicates:.0%} of deliveries twice",
    held="the same end state, messages and event ids as the reference run",
)
def test_delivery_order_and_duplicates_change_nothing(
    azurite_connection_string: str, demo_reference: Reference, seed: int, duplicates: float
) -> None:
    with fresh(azurite_connection_string, seed=seed, duplicate_rate=duplicates) as (s, _, _):
        s.replay()
        outcome = s.outcome()
        assert message_diff(outcome, demo_reference.outcome) == {}
        assert outcome == demo_reference.outcome


def test_a_fork_goes_on_as_the_replay_it_was_taken_from(demo_reference: Reference) -> None:
    """The harness the fault tests stand on: a fork holds what the reference held before its step (its snapshot,
    taken again at once, is the same but for the stand-ins' addresses), and replayed with no fault it ends exactly
    where the reference ended."""

    def comparable(snapshot: Snapshot) -> dict[str, Any]:
        by_key = {url: key for key, url in snapshot.hook_urls.items()}
        pacing = {
            next((by_key[u] + url[len(u) :] for u in by_key if url.startswith(u + "/")), url): last
            for url, last in snapshot.pacing.items()
        }
        arm = copy.deepcopy(snapshot.arm)
        for account in arm["accounts"].values():  # the data plane's address: each fork has its own stand-in
            account["properties"].pop("endpoint", None)
        return {**vars(snapshot), "hook_urls": None, "pacing": pacing, "sim": vars(snapshot.sim), "arm": arm}

    for step in FORK_STEPS:
        with forked(demo_reference, step) as (s, _, _):
            assert comparable(s.snapshot()) == comparable(demo_reference.snapshots[step]), step
    with forked(demo_reference, BUSY_STEP) as (s, _, _):
        s.replay()
        assert s.timer_failures == [] and s.dispatcher.failures == []
        assert s.outcome() == demo_reference.outcome


# ---- faults that heal within a cycle: the outcome is exactly the fault-free one


def arm_storm(status: int, path: str, count: int, **fault: Any) -> Callable[[int, Stack], None]:
    def inject(index: int, s: Stack) -> None:
        if index == BUSY_STEP:
            s.arm.faults.extend(Fault(status, path_contains=path, **fault) for _ in range(count))

    return inject


TRUNCATED = '{"value": [{"kind": "OpenAI", "skuName": "S0", "model": {"format": "Open'
CATALOG = (
    "/providers/Microsoft.CognitiveServices/locations/"  # Models - List only ("/models" is also an account's)
)

# At most ARM_MAX_RETRIES (3) faults per path: whichever requests they hit, each succeeds within its retries, so
# the cycle completes. More than that can exhaust one location's retries: that is the region-down case below.
HEALING: dict[str, Callable[[int, Stack], None]] = {
    "ARM 429 storm on the catalog (Retry-After honoured)": arm_storm(
        429, CATALOG, 3, headers={"Retry-After": "1"}, body='{"error":{"code":"TooManyRequests"}}'
    ),
    "ARM 429 storm on the deployment listing": arm_storm(
        429, "/deployments", 3, headers={"Retry-After": "1"}, body='{"error":{"code":"TooManyRequests"}}'
    ),
    "ARM 503 on the catalog": arm_storm(503, CATALOG, 3),
    "ARM 500 on the deployment listing": arm_storm(500, "/deployments", 3),
    "a truncated catalog page (200, cut mid-JSON)": arm_storm(200, CATALOG, 2, body=TRUNCATED),
}


@pytest.mark.parametrize("fault", sorted(HEALING))
@pytest.mark.reliability(
    fault="{fault}, at the busiest step",
    held="retried within the cycle; outcome identical to the fault-free run",
)
def test_arm_faults_heal_with_no_trace_in_the_outcome(demo_reference: Reference, fault: str) -> None:
    with forked(demo_reference, BUSY_STEP) as (s, arm, _):
        s.replay(on_step=HEALING[fault])
        assert s.outcome() == demo_reference.outcome
        assert not arm.faults  # every scripted fault was served


@pytest.mark.reliability(
    fault="Event Grid topic answers 503 to every publish of one timer run",
    held="the run fails (visible); the outbox keeps the events; the next run publishes each once; outcome identical",
)
def test_event_grid_publish_failures_fail_the_run_and_lose_nothing(demo_reference: Reference) -> None:
    def inject(index: int, s: Stack) -> None:
        if index == BUSY_STEP:
            s.topic.failures = [503] * 4  # the SDK's retries (3) and the drain all fail this run

    with forked(demo_reference, BUSY_STEP) as (s, _, _):
        s.replay(on_step=inject)
        assert [when for when, _ in s.timer_failures] == ["2025-01-21"]  # visible: the run failed
        assert "publish" in s.timer_failures[0][1].lower()
        assert s.outcome() == demo_reference.outcome  # the next run published all of it, once


class CrashingStore(TableCatalogStateStore):
    """The real Table adapter, whose worker dies once at a chosen write when armed."""

    crash_on: str | None = None

    def _maybe(self, step: str) -> None:
        if type(self).crash_on == step:
            type(self).crash_on = None
            raise WorkerDied(step)

    def commit_cursor(self, cursor: Cursor, *, expected_etag: str | None) -> Cursor:
        self._maybe("commit_cursor")
        return super().commit_cursor(cursor, expected_etag=expected_etag)

    def save_records(self, location: str, records: Mapping[VersionKey, VersionRecord]) -> None:
        self._maybe("save_records")
        super().save_records(location, records)

    def remove_pending(self, event_ids: Sequence[str]) -> None:
        self._maybe("remove_pending")
        super().remove_pending(event_ids)


@pytest.mark.parametrize(
    "where",
    [
        "commit_cursor",  # events recorded in the outbox, snapshot not committed
        "save_records",  # cursor committed, snapshot records not written
        "remove_pending",  # events published, not yet removed from the outbox: published again
    ],
)
@pytest.mark.reliability(
    fault="the worker dies at {where} during the busiest cycle",
    held="the run fails; the next run finishes it: no event lost, none acted on twice; outcome identical",
)
def test_a_worker_dying_mid_cycle_loses_nothing_and_acts_once(demo_reference: Reference, where: str) -> None:
    class Store(CrashingStore):
        crash_on: str | None = None

    def inject(index: int, s: Stack) -> None:
        if index == BUSY_STEP:
            Store.crash_on = where

    with forked(demo_reference, BUSY_STEP, state_class=Store) as (s, _, _):
        s.replay(on_step=inject)
        assert Store.crash_on is None and len(s.timer_failures) == 1
        assert s.outcome() == demo_reference.outcome


@pytest.mark.reliability(
    fault="a second worker runs the same cycle and commits first (Table Storage 412 on the stale ETag)",
    held="the loser stops for the location without failing; nothing published or written twice; outcome identical",
)
def test_a_concurrent_cycle_wins_the_cursor_with_a_real_412(demo_reference: Reference) -> None:
    """Two workers run the same step: the second commits each location first; the first gets 412 from Table
    Storage at its cursor, stops for that location, and nothing is published or done twice."""
    outcomes: list[str] = []

    class Racing(TableCatalogStateStore):
        race = False

        def commit_cursor(self, cursor: Cursor, *, expected_etag: str | None) -> Cursor:
            if Racing.race:
                Racing.race = False
                other = bootstrap.build_services(stack_ref[0].services.settings)  # another worker, own stores
                assert other.run_timer(stack_ref[0].time.now).ok
            try:
                return super().commit_cursor(cursor, expected_etag=expected_etag)
            except Exception as exc:
                outcomes.append(type(exc).__name__)
                raise

    stack_ref: list[Stack] = []

    def inject(index: int, s: Stack) -> None:
        if index == BUSY_STEP:
            Racing.race = True

    with forked(demo_reference, BUSY_STEP, state_class=Racing) as (s, _, _):
        stack_ref.append(s)
        s.replay(on_step=inject)
        assert outcomes and set(outcomes) == {"ConcurrencyError"}  # Azurite answered 412 to the stale ETag
        assert s.timer_failures == []  # losing the race is not a failure: the other cycle did the work
        assert s.outcome() == demo_reference.outcome


@pytest.mark.reliability(
    fault="Slack 503 x12 and Teams 500 x7 for two routes",
    held="non-2xx to Event Grid, redelivered; each message posted exactly once, none lost",
)
def test_a_webhook_outage_is_retried_by_event_grid_and_posts_once(demo_reference: Reference) -> None:
    def inject(index: int, s: Stack) -> None:
        if index == BUSY_STEP:
            s.hooks["payments/slack"].script = [(503, "service_unavailable", {})] * 12
            s.hooks["default/teams"].script = [(500, "", {})] * 7

    with forked(demo_reference, BUSY_STEP) as (s, _, _):
        s.replay(on_step=inject)
        assert any("notify_channels" in f for f in s.dispatcher.failures)  # visible: non-2xx to Event Grid
        assert s.dispatcher.dead_letters == []
        assert s.outcome() == demo_reference.outcome  # every message once, none lost


@pytest.mark.reliability(
    fault="a deployment PUT whose long-running operation fails",
    held="the failure recorded in the ledger with ARM's error and told to the owning team once; other deployments go on; the next event upgrades it once",
)
def test_a_failed_upgrade_operation_is_recorded_and_the_next_event_upgrades_once(
    demo_reference: Reference,
) -> None:
    """ARM accepts the PUT, then its long-running operation fails. That deployment's failure is permanent for
    the event (acknowledged, recorded in the ledger with the ARM error, logged); the other deployments go on; the
    next event concerning the deployment upgrades it, once."""

    def inject(index: int, s: Stack) -> None:
        if index == WRITE_STEP:
            s.arm.fail_next_put = ("InternalServerError", "the deployment operation failed (scripted)")

    with forked(demo_reference, WRITE_STEP) as (s, arm, topic):
        s.replay(on_step=inject)
        failed = [op for op in arm.operations.values() if op["failure"]]
        assert len(failed) == 1
        ledger = [s.services.ledger.get("apply_update_policy", str(e["id"])) for e in topic.events]
        recorded = [  # the quota refusal of 2026-09-20 is recorded too: this is the failed operation
            entry.outcome
            for entry in ledger
            if entry is not None and "failed: ptu-chat" in entry.outcome and "(scripted)" in entry.outcome
        ]
        assert len(recorded) == 1 and "the deployment operation failed (scripted)" in recorded[0]
        ref = demo_reference.outcome
        outcome = s.outcome()
        assert outcome.writes == ref.writes + 1  # the failed operation, then the one that succeeded
        assert (outcome.versions, outcome.rollbacks) == (ref.versions, ref.rollbacks)

        def others(messages: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
            return {k: tuple(m for m in v if "ptu-chat" not in m) for k, v in messages.items()}

        # the other deployments' messages are untouched; ptu-chat's migration waited for the next event about
        # gpt-4o 2024-08-06 (its provisioned retirement, 2026-10-05), and is told once on each channel
        assert others(outcome.messages) == others(ref.messages)
        for channel in ("payments/slack", "payments/teams"):
            told = [m for m in outcome.messages[channel] if "modelwatch upgraded ptu-chat" in m]
            assert len(told) == 1, channel
            # the refused write is the team's news too (the digest leaves enforced writes to their own news):
            # the quota refusal of 2026-09-20, then the failed operation
            refused = [m for m in outcome.messages[channel] if "could not upgrade ptu-chat" in m]
            assert len(refused) == 2, channel
            assert sum("the deployment operation failed (scripted)" in m for m in refused) == 1, channel
        refusals = [e for e in topic.events if e["eventType"] == "ModelLifecycle.DeploymentUpgradeFailed"]
        # and invoice-ptu's upgrade the gate held on 2025-09-05, before the fork
        assert sorted(e["data"]["deploymentName"] for e in refusals) == [
            "invoice-ptu",
            "ptu-chat",
            "ptu-chat",
        ]


# ---- a region down for several cycles: later, but not lost, and never a false retirement


@pytest.mark.reliability(
    fault="Sweden Central's catalog answers 500 for three cycles in a row",
    held="three failed runs and the cursor's last error (visible); no false retirement; every retirement still seen; East US unaffected; same end state",
)
def test_a_region_failing_for_several_cycles_is_visible_and_never_retires_anything(
    demo_reference: Reference,
) -> None:
    down = set(
        REGION_DOWN
    )  # 2024-11-11, 2025-01-21, 2025-02-14: Sweden Central's catalog answers 500 to every try

    def inject(index: int, s: Stack) -> None:
        s.arm.faults = [f for f in s.arm.faults if "swedencentral" not in f.path_contains]
        if index in down:
            s.arm.faults.extend(Fault(500, path_contains="/locations/swedencentral/models") for _ in range(8))
        if index == max(down) + 1:
            cursor = s.services.state.get_cursor("swedencentral")
            assert cursor.last_error and "500" in cursor.last_error  # the status page shows it

    with forked(demo_reference, REGION_DOWN[0]) as (s, _, topic):
        s.replay(on_step=inject)
        failed_days = sorted({when for when, _ in s.timer_failures})
        assert failed_days == ["2024-11-11", "2025-01-21", "2025-02-14"]
        assert all("swedencentral" in error for _, error in s.timer_failures)
        ref, ref_events = demo_reference.outcome, demo_reference.events
        outcome = s.outcome()
        assert (outcome.versions, outcome.rollbacks, outcome.writes) == (
            ref.versions,
            ref.rollbacks,
            ref.writes,
        )
        retired = [e for e in topic.events if e["eventType"] == "ModelLifecycle.VersionRetired"]
        assert all(e["data"]["reason"] != "removedFromCatalog" for e in retired)

        # nothing lost: every version retirement the fault-free run saw in Sweden Central is seen here too
        def retirements(events: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
            return {
                (e["data"]["modelName"], e["data"]["modelVersion"])
                for e in events
                if e["eventType"] == "ModelLifecycle.VersionRetired"
                and e["data"]["location"] == "swedencentral"
            }

        assert retirements(topic.events) == retirements(ref_events)

        # East US never noticed: its catalog events are exactly the fault-free ones
        def eastus(events: Sequence[dict[str, Any]]) -> set[str]:
            return {str(e["id"]) for e in events if e["subject"].startswith("/locations/eastus/")}

        assert eastus(topic.events) == eastus(ref_events)


# ---- a second, different history: 2025-02 to 2026-10, three regions, retirement dates by deployment type


@pytest.mark.reliability(
    fault="none: a second history (tests/e2e/data/timeline-2.json, 10 steps 2025-02 to 2026-10, 3 regions, "
    "retirement dates that differ by deployment type), delivered at least once, shuffled",
    held="every deployment's end state as the rules say; Standard retires first, the other types later; "
    "West US 3's half-empty listing an anomaly, no false retirement; outcome independent of delivery order",
)
def test_second_history_with_retirements_by_deployment_type(azurite_connection_string: str) -> None:
    with fresh(azurite_connection_string, SECOND_TIMELINE, seed=3, duplicate_rate=0.5) as (s, _, topic):
        s.replay()
        outcome = s.outcome()
        assert s.timer_failures == [] and s.dispatcher.failures == []
        assert outcome.versions == {
            # auto-update: Azure moved it to the new default 2024-08-06 (2025-03-17); the team rolled it back
            "checkout-assistant": ("gpt-4o", "2024-05-13", "NoAutoUpgrade"),
            # no newer gpt-4o-mini default ever appears: nothing to move to, whatever the policy
            "receipt-reader": ("gpt-4o-mini", "2024-07-18", "OnceCurrentVersionExpired"),
            "query-expander": ("gpt-4o-mini", "2024-07-18", "NoAutoUpgrade"),
            # provisioned: never auto-upgraded
            "refunds-ptu": ("gpt-4o", "2024-08-06", None),
            # no policy means OnceCurrentVersionExpired; 2024-08-06 is the default, nothing newer to move to
            "answer-writer": ("gpt-4o", "2024-08-06", None),
            # already newer than the default: Azure never downgrades
            "semantic-ranker": ("gpt-4o", "2024-11-20", "OnceNewDefaultVersionAvailable"),
            # o1-preview has no same-model successor: it stops at retirement (2025-07-28)
            "reasoning-lab": ("o1-preview", "2024-09-12", "OnceCurrentVersionExpired"),
        }
        assert outcome.rollbacks == (
            ("checkout-assistant", "2024-05-13", "2024-08-06", "azure"),
            ("checkout-assistant", "2024-08-06", "2024-05-13", "rollback"),
        )
        assert outcome.writes == 1 and [code for code, _ in s.rollbacks] == [200]
        retired = [e for e in topic.events if e["eventType"] == "ModelLifecycle.VersionRetired"]
        assert all(e["data"]["reason"] != "removedFromCatalog" for e in retired)
        # 2026-04-01: gpt-4o 2024-08-06 retired for Standard only; 2026-10-02: for every deployment type
        split = sorted(
            (e["eventTime"][:10], e["data"]["fullyRetired"])
            for e in retired
            if e["data"]["modelName"] == "gpt-4o"
            and e["data"]["modelVersion"] == "2024-08-06"
            and e["data"]["location"] == "eastus2"
        )
        assert split == [("2026-04-01", False), ("2026-10-02", True)]
        broken_on = {
            e["data"]["deploymentName"]: e["eventTime"][:10]
            for e in sorted(topic.events, key=lambda e: e["eventTime"], reverse=True)
            if e["eventType"] == "ModelLifecycle.DeploymentAtRisk" and e["data"]["status"] == "broken"
        }
        assert broken_on["query-expander"] == "2026-04-01"  # Standard: the first date
        assert broken_on["refunds-ptu"] == broken_on["answer-writer"] == "2026-10-02"  # their own, later date
        counts = {key: len(payloads) for key, payloads in outcome.messages.items()}
        for route in ("default", "payments", "search"):
            assert counts[f"{route}/slack"] == counts[f"{route}/teams"] > 0
    with fresh(azurite_connection_string, SECOND_TIMELINE, seed=11, duplicate_rate=0.0) as (again, _, _):
        again.replay()
        assert again.outcome() == outcome

"""Apply update policies: the Event Grid subscriber that turns catalog events into per-deployment decisions.

At-least-once, out of order, untrusted input:
- a ledger keyed by (subscriber, event id) makes a redelivery a no-op; a crashed attempt's claim expires and the
  next delivery takes over; a transient error releases the claim and re-raises (Event Grid retries); a
  permanent one is recorded and acknowledged;
- decisions assess each deployment against the *current* catalog and inventory, never the event payload, so a
  late, old event cannot undo a newer state;
- the event is validated and scoped (location, subscription); a write targets only a deployment found in the
  inventory, never a resource id built from event data;
- events this service emits go through the outbox first (the timer's drain publishes any left behind).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import replace
from datetime import datetime, timedelta

from shared.domain.catalog import ModelVersion, VersionKey
from shared.domain.changes import APPLIED_BY_MODELWATCH, VersionChange
from shared.domain.deployment_events import assessment_event, upgrade_failed_event, upgraded_event
from shared.domain.deployments import Deployment, parse_deployment
from shared.domain.events import (
    CATALOG_EVENT_TYPES,
    VERSION_SCOPED,
    Consumer,
    EventType,
    JsonValue,
    LifecycleEvent,
)
from shared.domain.payloads import CatalogAnomalyData, VersionData
from shared.domain.policy import CANNOT_CHANGE_MODEL, Assessment, PolicyRules, assess, concerns
from shared.domain.scope import Scope
from shared.errors import (
    ChangedMeanwhileError,
    EventFormatError,
    ModelWatchError,
    OutOfScopeError,
    PermanentError,
    TransientError,
)
from shared.ports import (
    CatalogStateStore,
    DeploymentApi,
    DeploymentStore,
    EventPublisher,
    Ledger,
    VersionChangeStore,
)
from shared.services.idempotency import Once, process_once
from shared.services.outbox import drain_outbox
from shared.services.results import HandleResult, Outcome
from shared.services.writes import put_if_match

log = logging.getLogger(__name__)

SUBSCRIBER = Consumer.POLICY.value


def catalog_view(store: CatalogStateStore, location: str) -> dict[VersionKey, ModelVersion]:
    """The location's current catalog as last committed by the watcher (removed versions left out)."""
    return {k: r.version for k, r in store.load_records(location).items() if not r.removed}


def validate_catalog_event(event: LifecycleEvent) -> tuple[str, str, str, str]:
    """(location, format, name, version) of a catalog event whose data agrees with its subject
    (format, name and version empty for a location's CatalogAnomaly). Raises EventFormatError."""
    if event.event_type not in CATALOG_EVENT_TYPES:
        raise EventFormatError(f"event {event.id}: type {event.event_type!r} is not a catalog event")
    payload = event.payload()  # checks every field's type and the subject against the data
    if isinstance(payload, VersionData):
        if not all((payload.location, payload.model_format, payload.model_name, payload.model_version)):
            raise EventFormatError(
                f"event {event.id}: location, modelFormat, modelName, modelVersion are required"
            )
        return payload.location, payload.model_format, payload.model_name, payload.model_version
    if isinstance(payload, CatalogAnomalyData) and payload.location:
        return payload.location, "", "", ""
    raise EventFormatError(f"event {event.id}: data.location is missing")


class PolicyService:
    """The apply-update-policy use case."""

    def __init__(
        self,
        *,
        deployments: DeploymentStore,
        ledger: Ledger,
        rollbacks: VersionChangeStore,
        state: CatalogStateStore,
        api: DeploymentApi | None,
        publisher: EventPublisher,
        rules: PolicyRules,
        scope: Scope,
        reminder_days: Sequence[int],
        claim_ttl: timedelta = timedelta(minutes=10),
        max_concurrency: int = 8,
        gate: Callable[[Assessment], tuple[str, str] | None] | None = None,
        on_assessed: Callable[[Sequence[Assessment], datetime], object] | None = None,
    ) -> None:
        self.deployments = deployments
        self.ledger = ledger
        self.rollbacks = rollbacks
        self.state = state
        self.api = api
        self.publisher = publisher
        self.rules = rules
        self.scope = scope
        self.reminder_days = tuple(reminder_days)
        self.claim_ttl = claim_ttl
        self.max_concurrency = max_concurrency
        # UPGRADE_GATE=canary (services/canary_gate.py CanaryGate): None lets a write go, else ("wait" | "hold", why)
        self.gate = gate
        # canaries (services/canary.py CanaryPipeline.ask): the moves these assessments announce, queued inside the
        # event's claim, so a failed send retries the event; a repeated ask runs nothing twice (its own ledger)
        self.on_assessed = on_assessed

    def handle(self, event: LifecycleEvent, now: datetime) -> HandleResult:
        """Process one delivered event, once. Raises TransientError when Event Grid should redeliver it."""
        try:
            location, fmt, name, version = validate_catalog_event(event)
        except EventFormatError as exc:
            log.warning("%s: rejected: %s", SUBSCRIBER, exc)
            return HandleResult(event.id, Outcome.REJECTED, str(exc))
        if event.event_type == EventType.VERSION_NOT_LISTED:
            # absence from one subscription's list is not a retirement (https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements): never a write
            return HandleResult(
                event.id, Outcome.IGNORED, "a version not listed for a subscription: no action"
            )
        location = (
            location.lower()
        )  # ARM location names; the watcher keys its snapshots by the lower-case name
        if not self.scope.covers_location(location):
            log.info(
                "%s: event %s is for %s, outside WATCH_LOCATIONS: ignored", SUBSCRIBER, event.id, location
            )
            return HandleResult(event.id, Outcome.IGNORED, f"location {location} is out of scope")
        # a retirement concerns the deployments on that version; a release or default change, the whole model
        only = version if event.event_type in VERSION_SCOPED else None
        done = process_once(
            self.ledger,
            SUBSCRIBER,
            event.id,
            lambda: self._process(event, location, fmt, name, version=only, now=now),
            now=now,
            ttl=self.claim_ttl,
            outcome=lambda r: r.detail,
        )
        if done.status == Once.DUPLICATE:
            return HandleResult(event.id, Outcome.DUPLICATE, "already processed")
        if done.status == Once.BUSY:
            raise TransientError(f"event {event.id} is being processed by another attempt; retry later")
        if done.status == Once.FAILED or done.value is None:
            log.warning(
                "%s: event %s failed permanently (acknowledged): %s", SUBSCRIBER, event.id, done.error
            )
            return HandleResult(event.id, Outcome.FAILED, str(done.error))
        self._drain()
        return done.value

    def affected(self, location: str, fmt: str, name: str, version: str | None = None) -> list[Deployment]:
        """Inventory deployments an event about this model (and version, when given) in this location concerns.

        Reads that model's slice of the inventory, not all of it; a catalog anomaly (no model) concerns every
        deployment of the location, and reads the inventory whole (anomalies are rare)."""
        candidates = (
            self.deployments.list_deployments_of(location, fmt, name)
            if name
            else self.deployments.list_deployments()
        )
        return [
            d
            for d in candidates
            if d.location.casefold() == location.casefold()
            and (not name or concerns(d, fmt, name, version))
            # the inventory can lag the settings: a deployment of an account no longer watched is not ours
            and self.scope.unwatched_reason(d) is None
        ]

    def _process(
        self, event: LifecycleEvent, location: str, fmt: str, name: str, *, version: str | None, now: datetime
    ) -> HandleResult:
        catalog = catalog_view(self.state, location)
        changed_at = event.event_time if event.event_type == EventType.DEFAULT_VERSION_CHANGED else None
        assessments: list[Assessment] = []
        emitted: list[LifecycleEvent] = []
        writes: list[str] = []
        problems: list[str] = []
        to_write: list[Assessment] = []
        waiting: list[str] = []  # writes the gate holds until their canary has a verdict
        for d in self.affected(location, fmt, name, version):
            a = assess(d, catalog, now, self.rules, default_changed_at=changed_at)
            assessments.append(a)
            planned = assessment_event(
                a, now=now, trigger=event.id, enforce=self.rules.enforce, thresholds=self.reminder_days
            )
            if planned is not None:
                emitted.append(planned)
            if a.write and a.target_version:
                gated = self.gate(a) if self.gate is not None else None
                if gated is None:
                    to_write.append(a)
                elif gated[0] == "wait":
                    waiting.append(f"{d.name}: {gated[1]}")
                else:
                    problems.append(f"{d.name}: held: {gated[1]}")
                    log.warning("%s: upgrade of %s held: %s", SUBSCRIBER, d.resource_id, gated[1])
                    # the team hears of the write that did not happen, as of a refused one (the alerts leave
                    # enforced writes to their own news), not that it is "upgrading"; one event per target and
                    # reminder, however redelivered
                    if planned is not None:
                        emitted.remove(planned)
                    emitted.append(
                        upgrade_failed_event(
                            a,
                            f"held by UPGRADE_GATE=canary: {gated[1]}",
                            now=now,
                            trigger=event.id,
                            thresholds=self.reminder_days,
                        )
                    )
        if self.on_assessed is not None and assessments:
            self.on_assessed(assessments, now)
        transient: ModelWatchError | None = None
        if to_write:
            # Writes overlap (each is GET, PUT and operation polls): hundreds one after another would outlast
            # the delivery. ARM_MAX_CONCURRENCY bounds them, well inside ARM's write budget per subscription.
            workers = max(1, min(self.max_concurrency, len(to_write)))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="upgrade") as pool:
                # each in a copy of this context: the delivery's deadline bounds its waits (shared/domain/waits.py)
                futures = [
                    (
                        a,
                        pool.submit(
                            copy_context().run, self._upgrade, a, catalog, reference=event.id, now=now
                        ),
                    )
                    for a in to_write
                ]
                for a, future in futures:  # in submission order: results stay deterministic
                    d = a.deployment
                    try:
                        upgraded = future.result()
                    except ModelWatchError as exc:
                        if exc.is_transient:
                            transient = transient or exc  # the others finish; the whole event is retried
                            continue
                        # one deployment's refusal (quota, ARM error) must not stop the others
                        problems.append(f"{d.name}: {exc}")
                        log.warning("%s: upgrading %s failed: %s", SUBSCRIBER, d.resource_id, exc)
                        if not isinstance(exc, OutOfScopeError):
                            # the alerts leave enforced writes to the upgrade's own news: the team must hear
                            # of a write that did not happen (an out-of-scope deployment is not ours to tell)
                            emitted.append(
                                upgrade_failed_event(
                                    a, str(exc), now=now, trigger=event.id, thresholds=self.reminder_days
                                )
                            )
                        continue
                    emitted.append(upgraded)
                    writes.append(d.resource_id)
        if transient is not None:
            raise transient  # done upgrades are recorded: the retry finds them at target and writes nothing
        if (
            waiting
        ):  # Event Grid redelivers (backing off up to 24 h); the redelivery finds the canary's verdict
            raise TransientError(f"{SUBSCRIBER}: event {event.id}: " + "; ".join(waiting))
        if emitted:
            self.state.add_pending(emitted)  # idempotent by id: the upgrade events are already there
        detail = f"{len(assessments)} deployment(s) assessed, {len(writes)} upgraded"
        if problems:
            detail += "; failed: " + "; ".join(problems)
        return HandleResult(
            event.id, Outcome.PROCESSED, detail, tuple(assessments), tuple(emitted), tuple(writes)
        )

    def _upgrade(
        self, a: Assessment, catalog: dict[VersionKey, ModelVersion], *, reference: str, now: datetime
    ) -> LifecycleEvent:
        """GET the deployment as raw JSON, change only the model (version; name for a provisioned in-place
        migration) to the assessment's target, PUT the whole body back. Idempotent: a retry finds it at the
        target and writes nothing."""
        d = a.deployment
        target_model, target = a.target_model or d.model_name, a.target_version
        assert target is not None  # only assessments with a target are written (_process)
        if self.api is None:
            raise PermanentError("enforcement needs the ARM deployment API, which is not configured")
        if refusal := self.scope.write_refusal(d):
            # checked at the moment of the write, against the settings in force now
            raise OutOfScopeError(f"{d.name}: not written: {refusal}")
        if target_model != d.model_name and not d.is_provisioned:
            # the engine never asks for this; refuse here too, before ARM does (CannotChangeDeploymentModel)
            raise PermanentError(f"{d.name}: {CANNOT_CHANGE_MODEL}; not written")
        raw = self.api.get_deployment(d.resource_id)
        model = _model_of(raw, d.resource_id)
        live = (model.get("name"), model.get("version"))
        if live not in ((d.model_name, d.model_version), (target_model, target)):
            # someone else changed it since the inventory saw it: do not guess, the next refresh will tell
            raise PermanentError(
                f"inventory says {d.model_name} {d.model_version} but ARM says {live[0]} {live[1]}; not touched"
            )
        if live != (target_model, target):
            self._recheck(a, raw, catalog, now)
            body = copy.deepcopy(raw)
            new_model = _model_of(body, d.resource_id)
            new_model["name"], new_model["version"] = target_model, target
            put_if_match(
                self.api,
                d.resource_id,
                body,
                raw.get("etag"),
                lambda: ChangedMeanwhileError(
                    f"{d.name}: changed meanwhile (ARM answered 412 to If-Match): not written; the next "
                    "refresh and catalog event re-plan it"
                ),
            )
        # record and announce even when an earlier attempt already did the PUT: same ids, so no duplicates
        source = catalog.get(d.version_key)
        record = VersionChange(
            deployment_id=d.resource_id,
            from_version=d.model_version,
            to_version=target,
            changed_at=now,
            applied_by=APPLIED_BY_MODELWATCH,
            available_until=source.retirement_for_sku(d.sku_name) if source else None,
            original_policy=d.upgrade_option,
            reference=reference,
            from_model=d.model_name,
            to_model=target_model,
        )
        moved = replace(d, model_name=target_model, model_version=target, last_seen=now)
        event = upgraded_event(moved, record, now=now)
        # rollback record and event before the inventory moves on: a crash in between is retried (claim
        # expiry), finds the version already at target, and records the same ids again
        self.rollbacks.add_change(record)
        self.state.add_pending([event])
        self.deployments.save_deployments([moved])
        log.info(
            "%s: upgraded %s from %s %s to %s %s",
            SUBSCRIBER,
            d.resource_id,
            d.model_name,
            d.model_version,
            target_model,
            target,
        )
        return event

    def _recheck(
        self, a: Assessment, raw: dict[str, JsonValue], catalog: dict[VersionKey, ModelVersion], now: datetime
    ) -> None:
        """Judge the live deployment again, as the engine would: its tags (a new ignore or pin wins) and its
        versionUpgradeOption may have changed since the inventory read them. Raises unless the same write stands."""
        d = a.deployment
        live = replace(
            parse_deployment(raw, account_id=d.account_id, location=d.location, seen_at=now),
            fine_tune=d.fine_tune,
        )
        if live.policy_tag == "ignore":
            raise OutOfScopeError(f"{d.name}: tagged modelwatch:policy=ignore in ARM now: not written")
        again = assess(live, catalog, now, self.rules)
        wanted = (a.target_model or d.model_name, a.target_version)
        if not again.write or (again.target_model or d.model_name, again.target_version) != wanted:
            changes = [
                f"{what} {before or '-'} -> {after or '-'}"
                for what, before, after in (
                    ("modelwatch:policy", d.policy_tag, live.policy_tag),
                    ("versionUpgradeOption", d.upgrade_option, live.upgrade_option),
                )
                if before != after
            ]
            raise ChangedMeanwhileError(
                f"{d.name}: changed since the inventory read it ({'; '.join(changes) or 'its live state'}): "
                f"re-planned: {again.summary}; not written"
            )

    def _drain(self) -> None:
        """Publish what is pending now; on failure it stays in the outbox for the timer's next drain."""
        drain_outbox(self.state, self.publisher, who=SUBSCRIBER)


def _model_of(raw: dict[str, JsonValue], where: str) -> dict[str, JsonValue]:
    props = raw.get("properties")
    model = props.get("model") if isinstance(props, dict) else None
    if not isinstance(model, dict):
        raise PermanentError(f"deployment {where}: ARM returned no properties.model")
    return model

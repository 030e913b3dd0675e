"""Roll a deployment back to the version it had before a recorded change, while that version still exists.

A rollback is a write like an upgrade: GET the deployment as raw JSON, change the version, PUT the whole body
back. It also sets ``versionUpgradeOption`` to ``NoAutoUpgrade``, or Azure would move the deployment forward
again at its next default change; the policy it had is recorded so it can be restored. Checks come first and
refuse with a reason an operator can act on: the version is retired for this deployment's SKU, gone from the
region's catalog, or belongs to another model name (ARM refuses to change a deployment's model name).

Idempotent: repeating a rollback that already happened finds the deployment on the target version with
``NoAutoUpgrade`` and writes nothing; the record and event ids are derived from the change they undo.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, replace
from datetime import datetime

from shared.domain.catalog import VersionKey
from shared.domain.deployment_events import upgraded_event
from shared.domain.deployments import Deployment, UpgradeOption
from shared.domain.events import JsonValue, LifecycleEvent
from shared.domain.ids import arm_key
from shared.domain.rollback import APPLIED_BY_ROLLBACK, RollbackRecord
from shared.errors import PermanentError
from shared.ports import CatalogStateStore, DeploymentApi, DeploymentStore, EventPublisher, RollbackStore
from shared.services.outbox import drain_outbox
from shared.services.policy import catalog_view

log = logging.getLogger(__name__)


class RollbackRefused(PermanentError):
    """The rollback cannot be done; ``reason`` is a stable code, the message says why and what to do."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class UnknownDeployment(RollbackRefused):
    def __init__(self, deployment_id: str) -> None:
        super().__init__(
            f"deployment {deployment_id} is not in the inventory: check the id, or let the next refresh "
            "(catalog_timer, or `python -m shared deployments --refresh`) pick it up",
            reason="unknown-deployment",
        )


@dataclass(frozen=True)
class RollbackPlan:
    """What a rollback would do. ``undoes`` is the recorded change it reverts (None with an explicit --to)."""

    deployment: Deployment
    target_version: str
    undoes: RollbackRecord | None
    available_until: datetime | None  # the target's retirement for this deployment's SKU and region
    done: RollbackRecord | None = None  # set when this rollback already happened
    current_until: datetime | None = None  # the current version's retirement: the way forward again

    def describe(self) -> str:
        d = self.deployment
        until = (
            f"; {self.target_version} retires {self.available_until:%Y-%m-%d}" if self.available_until else ""
        )
        return (
            f"{d.name}: {d.model_name} {d.model_version} -> {self.target_version}, versionUpgradeOption "
            f"{d.policy} -> NoAutoUpgrade (so Azure does not move it forward again){until}"
        )


@dataclass(frozen=True)
class RollbackResult:
    plan: RollbackPlan
    dry_run: bool
    written: bool  # False when dry run, or when an earlier attempt already did it
    record: RollbackRecord | None = None
    event: LifecycleEvent | None = None

    def describe(self) -> str:
        if self.plan.done is not None:
            return f"already rolled back on {self.plan.done.changed_at:%Y-%m-%d %H:%M} UTC, nothing written: {self.plan.describe()}"
        if self.dry_run:
            return f"dry run, nothing written: would roll back {self.plan.describe()}"
        done = "rolled back" if self.written else "already rolled back (nothing written)"
        restore = (
            f". To restore the policy later, set versionUpgradeOption back to {self.record.original_policy}"
            if self.record and self.record.original_policy
            else ". To restore the policy later, clear versionUpgradeOption (absent means OnceCurrentVersionExpired)"
        )
        return f"{done}: {self.plan.describe()}{restore}"


class RollbackService:
    """The rollback use case (CLI ``rollback`` and the ``rollback_deployment`` HTTP function)."""

    def __init__(
        self,
        *,
        inventory: DeploymentStore,
        rollbacks: RollbackStore,
        state: CatalogStateStore,
        api: DeploymentApi | None,
        publisher: EventPublisher,
    ) -> None:
        self.inventory = inventory
        self.rollbacks = rollbacks
        self.state = state
        self.api = api
        self.publisher = publisher

    def find(self, deployment_id: str) -> Deployment:
        key = arm_key(deployment_id)
        for d in self.inventory.list_deployments():
            if d.key == key:
                return d
        raise UnknownDeployment(deployment_id)

    def plan(self, deployment_id: str, now: datetime, *, to_version: str | None = None) -> RollbackPlan:
        """Check a rollback without writing. Raises RollbackRefused naming the reason."""
        d = self.find(deployment_id)
        catalog = catalog_view(self.state, d.location)  # read once: every check below uses it

        def until(version: str) -> datetime | None:
            found = catalog.get(VersionKey(d.model_format, d.model_name, version))
            return found.retirement_for_sku(d.sku_name) if found else None

        history = self.rollbacks.list_rollbacks(d.resource_id)
        latest = history[0] if history else None
        if (
            latest is not None
            and latest.applied_by == APPLIED_BY_ROLLBACK
            and latest.to_version == d.model_version
            and to_version in (None, d.model_version)
        ):
            # repeated request: it is done already (the record says so); report it, write nothing
            return RollbackPlan(d, d.model_version, None, until(d.model_version), done=latest)
        undoes = next(
            (r for r in history if r.to_version == d.model_version and r.applied_by != APPLIED_BY_ROLLBACK),
            None,
        )
        if to_version is None:
            if undoes is None:
                raise RollbackRefused(
                    f"{d.name}: no recorded version change to {d.model_version} to undo; "
                    "pass --to VERSION to choose a version",
                    reason="nothing-to-undo",
                )
            to_version = undoes.from_version
        elif undoes is not None and undoes.from_version != to_version:
            undoes = None  # an explicit target that is not the recorded previous version
        if to_version == d.model_version:
            raise RollbackRefused(
                f"{d.name} already runs {d.model_name} {to_version}", reason="already-on-version"
            )
        if undoes is not None and undoes.from_model and undoes.from_model != d.model_name:
            raise RollbackRefused(
                f"{d.name}: the previous version belongs to {undoes.from_model}, but the deployment now runs "
                f"{d.model_name}; ARM cannot change a deployment's model name: create a new deployment of "
                f"{undoes.from_model} {to_version} instead",
                reason="model-name-change",
            )
        target = catalog.get(VersionKey(d.model_format, d.model_name, to_version))
        if target is None:
            others = sorted({k.name for k in catalog if k.version == to_version and k.name != d.model_name})
            if others:
                raise RollbackRefused(
                    f"{d.name}: version {to_version} is of {', '.join(others)}, not {d.model_name}; ARM cannot "
                    "change a deployment's model name",
                    reason="model-name-change",
                )
            raise RollbackRefused(
                f"{d.name}: {d.model_name} {to_version} is not in the {d.location} model catalog (gone, or never "
                "offered there): it cannot be deployed",
                reason="not-in-catalog",
            )
        retires = target.retirement_for_sku(d.sku_name)
        if retires is not None and retires <= now:
            raise RollbackRefused(
                f"{d.name}: {d.model_name} {to_version} retired on {retires:%Y-%m-%d} for {d.sku_name} in "
                f"{d.location}: it cannot come back",
                reason="retired",
            )
        return RollbackPlan(d, to_version, undoes, retires, current_until=until(d.model_version))

    def rollback(
        self, deployment_id: str, now: datetime, *, to_version: str | None = None, dry_run: bool = False
    ) -> RollbackResult:
        """Plan, then (unless dry run) write. Raises RollbackRefused, or ArmError / TransientError from ARM."""
        plan = self.plan(deployment_id, now, to_version=to_version)
        if plan.done is not None:
            return RollbackResult(plan, dry_run=dry_run, written=False, record=plan.done)
        if dry_run:
            return RollbackResult(plan, dry_run=True, written=False)
        if self.api is None:
            raise PermanentError(
                "a rollback needs the ARM deployment API: set WATCH_SUBSCRIPTION_ID / ARM settings"
            )
        d = plan.deployment
        raw = self.api.get_deployment(d.resource_id)
        props = raw.get("properties")
        model = props.get("model") if isinstance(props, dict) else None
        if not isinstance(props, dict) or not isinstance(model, dict):
            raise PermanentError(f"deployment {d.resource_id}: ARM returned no properties.model")
        live = model.get("version")
        if live not in (d.model_version, plan.target_version):
            raise RollbackRefused(
                f"{d.name}: the inventory says {d.model_version} but ARM says {live}; refresh the inventory "
                "and try again",
                reason="stale-inventory",
            )
        if model.get("name") != d.model_name:
            raise RollbackRefused(
                f"{d.name}: ARM says the model is {model.get('name')}, not {d.model_name}",
                reason="stale-inventory",
            )
        written = False
        if live != plan.target_version or props.get("versionUpgradeOption") != UpgradeOption.NO_AUTO.value:
            body: dict[str, JsonValue] = copy.deepcopy(raw)
            new_props = body["properties"]
            assert isinstance(new_props, dict)
            new_model = new_props["model"]
            assert isinstance(new_model, dict)
            new_model["version"] = plan.target_version
            new_props["versionUpgradeOption"] = UpgradeOption.NO_AUTO.value
            self.api.put_deployment(d.resource_id, body)
            written = True
        from_version = d.model_version
        record = RollbackRecord(
            deployment_id=d.resource_id,
            from_version=from_version,
            to_version=plan.target_version,
            changed_at=now,
            applied_by=APPLIED_BY_ROLLBACK,
            # the way forward again: the version we leave stays deployable until its own retirement
            available_until=plan.current_until,
            original_policy=d.upgrade_option,
            reference=plan.undoes.id if plan.undoes else f"to:{plan.target_version}",
            from_model=d.model_name,
            to_model=d.model_name,
        )
        event = upgraded_event(d, record, now=now)
        self.rollbacks.add_rollback(record)
        self.state.add_pending([event])
        self.inventory.save_deployments(
            [
                replace(
                    d,
                    model_version=plan.target_version,
                    upgrade_option=UpgradeOption.NO_AUTO.value,
                    last_seen=now,
                )
            ]
        )
        drain_outbox(self.state, self.publisher, who="rollback")
        log.info("rollback: %s from %s to %s", d.resource_id, from_version, plan.target_version)
        return RollbackResult(plan, dry_run=False, written=written, record=record, event=event)

"""Roll a deployment back to a version it ran before, while that version still exists. A rollback only rolls back.

Rules, checked before anything is written (each refusal has a stable reason code an operator can act on):
- the deployment is in scope now (WATCH_ACCOUNTS / WATCH_SUBSCRIPTION_IDS / WATCH_LOCATIONS), checked against
  the settings in force, not against how it got into the inventory;
- ignored deployments (``modelwatch:policy=ignore``) are never written, ``force`` included; pinned and provisioned
  ones need ``force``: someone decided modelwatch should not move them, and a provisioned move carries capacity;
- the live deployment (the GET before the PUT) is judged again: a tag set since the last refresh counts (a new
  ignore refuses, a new pin needs ``force``); the PUT carries ``If-Match`` with the GET's ETag, and a 412
  ("changed meanwhile") is refused with reason ``changed-meanwhile``, never retried blindly;
- an operator's rollback is the operator's explicit act: it runs in plan mode too (POLICY_MODE governs what
  modelwatch does on its own), once (idempotent, below);
- the target is a version this deployment ran before (a recorded change: modelwatch's, Azure's or anyone's),
  never one it never had, never a newer one than it runs now, offered in its region and not retired for its SKU.

In place: GET the deployment as raw JSON, change the model, PUT the whole body back with ``versionUpgradeOption``
``NoAutoUpgrade`` (or Azure would move it forward again); the policy it had is recorded so it can be restored.
ARM refuses a model-name change on a Standard deployment (CannotChangeDeploymentModel), so after Azure moved one
across models (gpt-4o -> gpt-5.1) the way back is **side by side** (``as_new``): a sibling deployment on the
previous model and version, same SKU, capacity and RAI policy, ``NoAutoUpgrade``; nothing is ever deleted.

Idempotent: repeating a rollback that already happened finds the deployment (or the sibling) as wanted and
writes nothing; record and event ids derive from the change they undo. Every rollback records who asked.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime

from shared.domain.catalog import ModelVersion, VersionKey
from shared.domain.changes import APPLIED_BY_ROLLBACK, POLICY_ONLY, VersionChange
from shared.domain.deployment_events import upgraded_event
from shared.domain.deployments import Deployment, DeploymentFormatError, UpgradeOption, parse_deployment
from shared.domain.events import JsonValue, LifecycleEvent
from shared.domain.ids import arm_key
from shared.domain.policy import CANNOT_CHANGE_MODEL, is_newer
from shared.domain.scope import Scope
from shared.errors import ArmError, PermanentError
from shared.ports import CatalogStateStore, DeploymentApi, DeploymentStore, EventPublisher, VersionChangeStore
from shared.services.outbox import drain_outbox
from shared.services.policy import catalog_view
from shared.services.writes import put_if_match

log = logging.getLogger(__name__)

# ARM deployment names: letters, digits, '-', '_' and '.', 2 to 64 characters, starting with a letter or digit
_DEPLOYMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")
TAG_ROLLBACK_OF = "modelwatch:rollback-of"


class RollbackRefusedError(PermanentError):
    """The rollback cannot be done; ``reason`` is a stable code, the message says why and what to do."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class UnknownDeploymentError(RollbackRefusedError):
    def __init__(self, deployment_id: str) -> None:
        super().__init__(
            f"deployment {deployment_id} is not in the inventory: check the id, or let the next refresh "
            "(catalog_timer, or `python -m shared deployments --refresh`) pick it up",
            reason="unknown-deployment",
        )


@dataclass(frozen=True)
class RollbackPlan:
    """What a rollback would do. ``undoes`` is the recorded change it reverts."""

    deployment: Deployment
    target_version: str
    undoes: VersionChange | None
    available_until: datetime | None  # the target's retirement for this deployment's SKU and region
    done: VersionChange | None = None  # set when this rollback already happened
    current_until: datetime | None = None  # the current version's retirement: the way forward again
    target_model: str | None = None  # None: the deployment's own model
    sibling_id: str | None = None  # side by side: the new deployment's id

    @property
    def model(self) -> str:
        return self.target_model or self.deployment.model_name

    def describe(self) -> str:
        d = self.deployment
        until = (
            f"; {self.model} {self.target_version} retires {self.available_until:%Y-%m-%d}"
            if self.available_until
            else ""
        )
        if self.sibling_id:
            return (
                f"{d.name} stays on {d.model_name} {d.model_version}; new deployment "
                f"{self.sibling_id.rsplit('/', 1)[-1]} on {self.model} {self.target_version} (same SKU, capacity "
                f"and RAI policy, NoAutoUpgrade){until}; move traffic to it"
            )
        return (
            f"{d.name}: {d.model_name} {d.model_version} -> {self.model} {self.target_version}, "
            f"versionUpgradeOption {d.policy} -> NoAutoUpgrade (so Azure does not move it forward again){until}"
        )


@dataclass(frozen=True)
class RollbackResult:
    plan: RollbackPlan
    dry_run: bool
    written: bool  # False when dry run, or when an earlier attempt already did it
    record: VersionChange | None = None
    event: LifecycleEvent | None = None

    def describe(self) -> str:
        if self.plan.done is not None:
            # said as what is true now (the plan's "from -> to" would read "X -> X": it runs the target already)
            record, d = self.plan.done, self.plan.deployment
            when = f"{record.changed_at:%Y-%m-%d %H:%M} UTC"
            if self.plan.sibling_id:
                return (
                    f"nothing to do: already rolled back side by side on {when}: "
                    f"{self.plan.sibling_id.rsplit('/', 1)[-1]} runs {self.plan.model} {self.plan.target_version} "
                    f"beside {d.name}; nothing written"
                )
            return (
                f"nothing to do: {d.name} was already rolled back on {when} from "
                f"{record.from_model or d.model_name} {record.from_version} to {self.plan.model} "
                f"{self.plan.target_version}, and runs {d.model_name} {d.model_version}; nothing written"
            )
        if self.dry_run:
            return f"dry run, nothing written: would roll back {self.plan.describe()}"
        done = "rolled back" if self.written else "already rolled back (nothing written)"
        if self.plan.sibling_id:
            return f"{done} side by side: {self.plan.describe()}"
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
        deployments: DeploymentStore,
        rollbacks: VersionChangeStore,
        state: CatalogStateStore,
        api: DeploymentApi | None,
        publisher: EventPublisher,
        scope: Scope,
    ) -> None:
        self.deployments = deployments
        self.rollbacks = rollbacks
        self.state = state
        self.api = api
        self.publisher = publisher
        self.scope = scope

    def find(self, deployment_id: str) -> Deployment:
        key = arm_key(deployment_id)
        for d in self.deployments.list_deployments():
            if d.key == key:
                return d
        raise UnknownDeploymentError(deployment_id)

    def plan(
        self,
        deployment_id: str,
        now: datetime,
        *,
        to_version: str | None = None,
        as_new: str | None = None,
        force: bool = False,
    ) -> RollbackPlan:
        """Check a rollback without writing. Raises RollbackRefusedError naming the reason."""
        d = self.find(deployment_id)
        if outside := self.scope.unwatched_reason(d):
            raise RollbackRefusedError(
                f"{d.name}: out of scope: {outside}; nothing written", reason="out-of-scope"
            )
        _check_tags(d, force)
        sibling_id = self._sibling_id(d, as_new) if as_new is not None else None
        catalog = catalog_view(self.state, d.location)  # read once: every check below uses it

        def until(model: str, version: str) -> datetime | None:
            found = catalog.get(VersionKey(d.model_format, model, version))
            return found.retirement_for_sku(d.sku_name) if found else None

        # CANARY_PROTECT's records changed a policy, not a version: not ways back
        history = [r for r in self.rollbacks.list_changes(d.resource_id) if r.applied_by not in POLICY_ONLY]
        latest = history[0] if history else None
        if latest is not None and _repeats(latest, d, to_version, sibling_id):
            # repeated request: it is done already (the record says so); report it, write nothing
            done_model = latest.to_model or d.model_name
            return RollbackPlan(
                d,
                latest.to_version,
                None,
                until(done_model, latest.to_version),
                done=latest,
                target_model=done_model,
                sibling_id=latest.sibling_id,
            )
        undoes = _change_to_undo(d, history, to_version, sibling_id)
        target_model = undoes.from_model or d.model_name
        target_version = undoes.from_version
        target = catalog.get(VersionKey(d.model_format, target_model, target_version))
        label = f"{target_model} {target_version}"
        if target is None:
            raise RollbackRefusedError(
                f"{d.name}: {label} is not in the {d.location} model catalog (gone, or never offered there): "
                "it cannot be deployed",
                reason="not-in-catalog",
            )
        if target_model == d.model_name and self._newer(target, catalog, d):
            raise RollbackRefusedError(
                f"{d.name}: {label} is newer than {d.model_version}: a rollback never moves forward",
                reason="not-older",
            )
        retires = target.retirement_for_sku(d.sku_name)
        if target.is_retired_for(d.sku_name, now):
            when = f" on {retires:%Y-%m-%d}" if retires else ""
            raise RollbackRefusedError(
                f"{d.name}: {label} retired{when} for {d.sku_name} in {d.location}: it cannot come back",
                reason="retired",
            )
        if target_model != d.model_name and sibling_id is None and not d.is_provisioned:
            raise RollbackRefusedError(
                f"{d.name}: the previous version belongs to {target_model}, but the deployment now runs "
                f"{d.model_name}; {CANNOT_CHANGE_MODEL}. Roll back side by side instead: --as-new NAME (CLI) or "
                f'"asNew": "NAME" (HTTP) creates a deployment of {label} beside it',
                reason="model-name-change",
            )
        return RollbackPlan(
            d,
            target_version,
            undoes,
            retires,
            current_until=until(d.model_name, d.model_version),
            target_model=target_model,
            sibling_id=sibling_id,
        )

    @staticmethod
    def _newer(target: ModelVersion, catalog: dict[VersionKey, ModelVersion], d: Deployment) -> bool:
        return bool(is_newer(target, catalog.get(d.version_key), d.model_version))

    def _sibling_id(self, d: Deployment, name: str) -> str:
        if not _DEPLOYMENT_NAME.match(name):
            raise RollbackRefusedError(
                f"{name!r} is not a deployment name: 2-64 letters, digits, '-', '_' or '.'", reason="bad-name"
            )
        sibling = f"{d.account_id}/deployments/{name}"
        if arm_key(sibling) == d.key:
            raise RollbackRefusedError(
                f"{name} is the deployment itself: a side-by-side rollback needs a new name",
                reason="bad-name",
            )
        return sibling

    def rollback(
        self,
        deployment_id: str,
        now: datetime,
        *,
        to_version: str | None = None,
        dry_run: bool = False,
        as_new: str | None = None,
        force: bool = False,
        requested_by: str = "unknown",
    ) -> RollbackResult:
        """Plan, then (unless dry run) write. Raises RollbackRefusedError, or ArmError / TransientError from ARM."""
        plan = self.plan(deployment_id, now, to_version=to_version, as_new=as_new, force=force)
        if plan.done is not None:
            return RollbackResult(plan, dry_run=dry_run, written=False, record=plan.done)
        if dry_run:
            return RollbackResult(plan, dry_run=True, written=False)
        if self.api is None:
            raise PermanentError(
                "a rollback needs the ARM deployment API: set WATCH_SUBSCRIPTION_ID / ARM settings"
            )
        if outside := self.scope.unwatched_reason(plan.deployment):  # again, at the moment of the write
            raise RollbackRefusedError(
                f"{plan.deployment.name}: not written: {outside}", reason="out-of-scope"
            )
        if plan.sibling_id is not None:
            return self._side_by_side(plan, now, requested_by, force)
        return self._in_place(plan, now, requested_by, force)

    def _live(self, d: Deployment, force: bool, now: datetime) -> tuple[dict[str, JsonValue], Deployment]:
        """The deployment as ARM has it now, judged again: a tag set since the last refresh counts."""
        assert self.api is not None
        raw = self.api.get_deployment(d.resource_id)
        try:
            live = parse_deployment(raw, account_id=d.account_id, location=d.location, seen_at=now)
        except DeploymentFormatError as exc:
            raise PermanentError(f"deployment {d.resource_id}: {exc}") from exc
        _check_tags(live, force, live_state=True)
        return raw, live

    def _in_place(
        self, plan: RollbackPlan, now: datetime, requested_by: str, force: bool = False
    ) -> RollbackResult:
        assert self.api is not None
        d = plan.deployment
        raw, live_d = self._live(d, force, now)
        props = raw.get("properties")
        model = props.get("model") if isinstance(props, dict) else None
        if not isinstance(props, dict) or not isinstance(model, dict):
            raise PermanentError(f"deployment {d.resource_id}: ARM returned no properties.model")
        live = (model.get("name"), model.get("version"))
        wanted = (plan.model, plan.target_version)
        if live not in ((d.model_name, d.model_version), wanted):
            raise RollbackRefusedError(
                f"{d.name}: the inventory says {d.model_name} {d.model_version} but ARM says {live[0]} {live[1]}; "
                "refresh the inventory and try again",
                reason="stale-inventory",
            )
        written = False
        if live != wanted or props.get("versionUpgradeOption") != UpgradeOption.NO_AUTO.value:
            body: dict[str, JsonValue] = copy.deepcopy(raw)
            new_props = body["properties"]
            assert isinstance(new_props, dict)
            new_model = new_props["model"]
            assert isinstance(new_model, dict)
            new_model["name"], new_model["version"] = wanted
            new_props["versionUpgradeOption"] = UpgradeOption.NO_AUTO.value
            _put(self.api, d, body, raw.get("etag"))
            written = True
        record = VersionChange(
            deployment_id=d.resource_id,
            from_version=d.model_version,
            to_version=plan.target_version,
            changed_at=now,
            applied_by=APPLIED_BY_ROLLBACK,
            # the way forward again: the version we leave stays deployable until its own retirement
            available_until=plan.current_until,
            # the policy ARM had at the write (live), so that restoring it restores what really was there
            original_policy=live_d.upgrade_option if written else d.upgrade_option,
            reference=plan.undoes.id if plan.undoes else f"to:{plan.target_version}",
            from_model=d.model_name,
            to_model=plan.model,
            changed_by=requested_by,
        )
        after = replace(
            d,
            model_name=plan.model,
            model_version=plan.target_version,
            upgrade_option=UpgradeOption.NO_AUTO.value,
            last_seen=now,
        )
        return self._finish(plan, record, after, written=written, now=now, requested_by=requested_by)

    def _side_by_side(
        self, plan: RollbackPlan, now: datetime, requested_by: str, force: bool = False
    ) -> RollbackResult:
        assert self.api is not None and plan.sibling_id is not None
        d = plan.deployment
        existing = self.api.find_deployment(plan.sibling_id)
        written = False
        if existing is not None:
            props = existing.get("properties")
            model = props.get("model") if isinstance(props, dict) else None
            same = isinstance(model, dict) and (model.get("name"), model.get("version")) == (
                plan.model,
                plan.target_version,
            )
            tags = existing.get("tags")
            ours = isinstance(tags, dict) and str(tags.get(TAG_ROLLBACK_OF, "")).lower() == d.name.lower()
            if not (same and ours):
                raise RollbackRefusedError(
                    f"a deployment named {plan.sibling_id.rsplit('/', 1)[-1]} already exists in "
                    f"{d.account_id.rsplit('/', 1)[-1]}: choose another name (nothing is ever replaced)",
                    reason="name-taken",
                )
            result = existing  # an earlier attempt created it: record the same change, write nothing
        else:
            raw, _ = self._live(d, force, now)
            body = _sibling_body(raw, d, plan)
            try:
                result = self.api.put_deployment(plan.sibling_id, body)
            except ArmError as exc:
                if "quota" in exc.code.lower() or "capacity" in exc.code.lower():
                    raise RollbackRefusedError(
                        f"not enough quota in {d.location} for a {d.sku_name} deployment of {plan.model} "
                        f"{plan.target_version} with capacity {d.sku_capacity}: {exc}. Free or request quota, "
                        "or pick a smaller capacity by hand",
                        reason="quota",
                    ) from exc
                raise
            written = True
        record = VersionChange(
            deployment_id=d.resource_id,
            from_version=d.model_version,
            to_version=plan.target_version,
            changed_at=now,
            applied_by=APPLIED_BY_ROLLBACK,
            available_until=plan.available_until,  # how long the sibling's version keeps answering
            original_policy=d.upgrade_option,
            reference=plan.undoes.id if plan.undoes else f"to:{plan.target_version}",
            from_model=d.model_name,
            to_model=plan.model,
            changed_by=requested_by,
            sibling_id=plan.sibling_id,
        )
        try:
            sibling = parse_deployment(
                {**result, "id": plan.sibling_id}, account_id=d.account_id, location=d.location, seen_at=now
            )
        except DeploymentFormatError:  # ARM answered oddly: the next refresh lists it properly
            sibling = None
        return self._finish(plan, record, sibling, written=written, now=now, requested_by=requested_by)

    def _finish(
        self,
        plan: RollbackPlan,
        record: VersionChange,
        saved: Deployment | None,
        *,
        written: bool,
        now: datetime,
        requested_by: str,
    ) -> RollbackResult:
        d = plan.deployment
        event = upgraded_event(d, record, now=now)
        self.rollbacks.add_change(record)
        self.state.add_pending([event])
        if saved is not None:
            self.deployments.save_deployments([saved])
        drain_outbox(self.state, self.publisher, who="rollback")
        log.info(
            "rollback: %s from %s %s to %s %s%s, asked by %s",
            d.resource_id,
            d.model_name,
            d.model_version,
            plan.model,
            plan.target_version,
            f" side by side as {plan.sibling_id}" if plan.sibling_id else "",
            requested_by,
        )
        return RollbackResult(plan, dry_run=False, written=written, record=record, event=event)


def _check_tags(d: Deployment, force: bool, *, live_state: bool = False) -> None:
    """ignore: never written, force included; pin and provisioned: only with force."""
    now_ = " in ARM now" if live_state else ""
    if d.policy_tag == "ignore":
        raise RollbackRefusedError(
            f"{d.name} is tagged modelwatch:policy=ignore{now_}: modelwatch never writes it, --force included; "
            "remove the tag to roll it back, or change it by hand",
            reason="ignored",
        )
    if not force and (d.policy_tag == "pin" or d.is_provisioned):
        why = (
            f"tagged modelwatch:policy=pin{now_}"
            if d.policy_tag == "pin"
            else f"provisioned ({d.sku_name}): a move carries its capacity"
        )
        raise RollbackRefusedError(
            f'{d.name} is {why}: pass --force (CLI) or "force": true (HTTP) to roll it back anyway',
            reason="needs-force",
        )


def _repeats(latest: VersionChange, d: Deployment, to_version: str | None, sibling_id: str | None) -> bool:
    """Whether the latest record is a rollback that already did what is asked (in place, or side by side)."""
    return (
        latest.applied_by == APPLIED_BY_ROLLBACK
        and to_version in (None, latest.to_version)
        and (
            (
                sibling_id is not None
                and bool(latest.sibling_id)
                and arm_key(latest.sibling_id or "") == arm_key(sibling_id)
            )
            or (sibling_id is None and not latest.sibling_id and latest.to_version == d.model_version)
        )
    )


def _change_to_undo(
    d: Deployment, history: list[VersionChange], to_version: str | None, sibling_id: str | None
) -> VersionChange:
    """The recorded change a rollback undoes: the one that brought the current version, or the one away from
    ``to_version``. Raises RollbackRefusedError when there is none."""
    changes = [r for r in history if r.applied_by != APPLIED_BY_ROLLBACK and not r.sibling_id]
    if to_version is None:
        undoes = next(
            (
                r
                for r in changes
                if r.to_version == d.model_version and (r.to_model or d.model_name) == d.model_name
            ),
            None,
        )
        if undoes is None:
            raise RollbackRefusedError(
                f"{d.name}: no recorded change to {d.model_name} {d.model_version} to undo",
                reason="nothing-to-undo",
            )
    else:
        if to_version == d.model_version and sibling_id is None:
            raise RollbackRefusedError(
                f"{d.name} already runs {d.model_name} {to_version}", reason="already-on-version"
            )
        undoes = next((r for r in changes if r.from_version == to_version), None)
        if undoes is None:
            had = sorted({r.from_version for r in changes})
            raise RollbackRefusedError(
                f"{d.name} never ran {to_version} as far as modelwatch recorded"
                + (f" (versions it ran before: {', '.join(had)})" if had else " (no recorded change)")
                + ": a rollback only goes back to a version the deployment had",
                reason="not-a-previous-version",
            )
    return undoes


def _put(api: DeploymentApi, d: Deployment, body: dict[str, JsonValue], etag: JsonValue) -> None:
    """A rollback's PUT: one that met a change since its GET is refused, never retried blindly."""
    put_if_match(
        api,
        d.resource_id,
        body,
        etag,
        lambda: RollbackRefusedError(
            f"{d.name} changed meanwhile (ARM answered 412 to If-Match): nothing written; refresh the "
            "inventory (`python -m shared deployments --refresh`) and plan the rollback again",
            reason="changed-meanwhile",
        ),
    )


def _sibling_body(raw: dict[str, JsonValue], d: Deployment, plan: RollbackPlan) -> dict[str, JsonValue]:
    """A new deployment like ``d`` (SKU, capacity, RAI policy, tags) on the previous model, NoAutoUpgrade."""
    props = raw.get("properties") if isinstance(raw.get("properties"), dict) else {}
    assert isinstance(props, dict)
    raw_sku = raw.get("sku")
    sku: JsonValue = copy.deepcopy(raw_sku) if isinstance(raw_sku, dict) else {"name": d.sku_name}
    raw_tags = raw.get("tags")
    tags: dict[str, JsonValue] = dict(raw_tags) if isinstance(raw_tags, dict) else {}
    tags[TAG_ROLLBACK_OF] = d.name
    new_props: dict[str, JsonValue] = {
        "model": {"format": d.model_format, "name": plan.model, "version": plan.target_version},
        "versionUpgradeOption": UpgradeOption.NO_AUTO.value,
    }
    if isinstance(props.get("raiPolicyName"), str):
        new_props["raiPolicyName"] = props["raiPolicyName"]
    return {"sku": sku, "tags": tags, "properties": new_props}

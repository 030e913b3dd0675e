"""CANARY_PROTECT (enforce mode): keep Azure from moving a deployment to a version its canary found regressing.

The only write modelwatch makes to a team's deployment outside an upgrade or a rollback, so it follows the same
rules as the policy subscriber's writes (services/policy.py): the scope is checked at the moment of the write, the
live deployment is read again (a new ``modelwatch:policy`` tag or a changed versionUpgradeOption wins), the PUT
carries the whole body back with only ``versionUpgradeOption`` changed and ``If-Match``, and nothing is written in
plan mode. Each write is recorded in the change history (``protect`` / ``unprotect``) with the policy to put back,
before the inventory moves on: a crash in between is retried, finds the live policy already written, and records
the same ids again.

It never outlives the version: a protected deployment would stop working at its version's retirement, so the
protection is lifted CANARY_PROTECT_MARGIN_DAYS before it (``expire``, run by the catalog timer: hourly, far finer
than a margin of days, and already the app's schedule for catalog and inventory work), and at once when a later
canary of the deployment passes (Azure then moves it to that version, the one that does the team's job).

Plan mode lifts nothing either: switching POLICY_MODE to plan while a pin is in force leaves it in force (plan mode
promises no write, and lifting is one). ``active_pins`` lists them for ``canary list``, which says so and names the
command that lifts one, ``canary unpin`` (``lift(..., explicit=True)``): the operator's own act, as a rollback is.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.domain.canary import CanaryResult, canary_key
from shared.domain.changes import AppliedBy, VersionChange, pins_in_force
from shared.domain.deployments import Deployment, UpgradeOption, parse_deployment
from shared.domain.events import JsonValue
from shared.domain.ids import arm_key, subscription_of
from shared.domain.policy import Actor, Assessment, PolicyRules, assess
from shared.domain.scope import Scope
from shared.domain.verdict import Verdict
from shared.errors import ChangedMeanwhileError, ModelWatchError, PermanentError
from shared.ports import CatalogStateStore, DeploymentApi, DeploymentStore, VersionChangeStore
from shared.services.policy import catalog_view
from shared.services.writes import put_if_match

log = logging.getLogger(__name__)

NO_AUTO = UpgradeOption.NO_AUTO.value


@dataclass(frozen=True)
class Protection:
    """What a protect or unprotect did, for the team's message; ``written`` says whether a PUT was made."""

    text: str
    written: bool


class CanaryProtect:
    def __init__(
        self,
        *,
        api: DeploymentApi,
        deployments: DeploymentStore,
        rollbacks: VersionChangeStore,
        state: CatalogStateStore,
        scope: Scope,
        rules: PolicyRules,
        margin: timedelta,
    ) -> None:
        self.api = api
        self.deployments = deployments
        self.rollbacks = rollbacks
        self.state = state
        self.scope = scope
        self.rules = rules
        self.margin = margin  # CANARY_PROTECT_MARGIN_DAYS

    # ---- after a canary (inside its ledger claim: a redelivered run is a duplicate and calls nothing)
    def after(self, d: Deployment, result: CanaryResult, now: datetime) -> Protection | None:
        """Protect after a regression, lift after a pass; None when there was nothing to do."""
        if not self.rules.enforce:
            return None  # never a write in plan mode
        if result.verdict is Verdict.REGRESSION:
            return self.protect(d, result, now)
        if result.verdict is Verdict.PASS:
            return self.lift(
                d, now, why=f"the canary of {result.target.model} {result.target.version} passed"
            )
        return None

    def protect(self, d: Deployment, result: CanaryResult, now: datetime) -> Protection | None:
        catalog = catalog_view(self.state, d.location)
        a = assess(d, catalog, now, self.rules)
        target = (result.target.model, result.target.version)
        held = self.active(d.resource_id) if d.upgrade_option == NO_AUTO else None
        if held is not None:  # pinned already, by an earlier regression: it stays so, nothing written
            a = self.unpinned(a, now)
            if a.actor != Actor.AZURE or (a.target_model or d.model_name, a.target_version) != target:
                return None
            return Protection(
                f"modelwatch keeps it at NoAutoUpgrade (its own policy, {held.original_policy}, would let Azure "
                f"move it to {target[0]} {target[1]})"
                + (f" until {_day(held.available_until)} at the latest" if held.available_until else "")
                + ", or until a later canary passes.",
                written=False,
            )
        if a.actor != Actor.AZURE or (a.target_model or d.model_name, a.target_version) != target:
            return None  # Azure is not about to move it to the version tested: nothing to keep it from
        source = catalog.get(d.version_key)
        retirement = a.retirement_date or (source.retirement_for_sku(d.sku_name) if source else None)
        deadline = retirement - self.margin if retirement is not None else None
        if deadline is not None and deadline <= now:
            log.info("canary protect: %s retires too soon to hold it (%s)", d.name, retirement)
            return None
        if refusal := self.scope.write_refusal(d):
            log.info("canary protect: %s not written: %s", d.name, refusal)
            return None
        raw = self.api.get_deployment(d.resource_id)
        live = parse_deployment(raw, account_id=d.account_id, location=d.location, seen_at=now)
        if (live.model_name, live.model_version) != (d.model_name, d.model_version):
            raise ChangedMeanwhileError(
                f"{d.name}: ARM says {live.model_name} {live.model_version} now: not protected"
            )
        if live.policy_tag in ("ignore", "pin"):
            raise ChangedMeanwhileError(
                f"{d.name}: tagged modelwatch:policy={live.policy_tag} in ARM now: not protected"
            )
        previous = d.upgrade_option or UpgradeOption.ONCE_EXPIRED.value
        record = VersionChange(
            deployment_id=d.resource_id,
            from_version=d.model_version,
            to_version=d.model_version,
            changed_at=now,
            applied_by=AppliedBy.PROTECT,
            available_until=deadline,
            original_policy=previous,
            reference=canary_key(d.resource_id, *target),  # one protection per regression, however retried
            from_model=d.model_name,
            to_model=d.model_name,
        )
        written = False
        if live.upgrade_option == NO_AUTO:
            # ours only if an earlier attempt recorded this very protection (then died after its PUT); a pin
            # someone else set meanwhile is theirs: never recorded, so never "put back" over their decision
            mine = self.active(d.resource_id)
            if mine is None or mine.id != record.id:
                raise ChangedMeanwhileError(
                    f"{d.name}: set to NoAutoUpgrade by someone else since the inventory read it: not recorded"
                )
        else:
            again = assess(live, catalog, now, self.rules)
            if again.actor != Actor.AZURE or live.upgrade_option != d.upgrade_option:
                raise ChangedMeanwhileError(
                    f"{d.name}: versionUpgradeOption {d.upgrade_option or '-'} -> {live.upgrade_option or '-'} "
                    "since the inventory read it: not protected"
                )
            # the intent first: a crash after the PUT leaves a record saying the pin is ours (see above)
            self.rollbacks.add_change(record)
            try:
                self._put_policy(d, raw, NO_AUTO)
            except ModelWatchError as exc:
                if not exc.is_transient:  # not written, and no retry will: the record ends here
                    self._end(record, now)
                raise  # a transient one: the run is redelivered and finds the record
            written = True
        self.deployments.save_deployments([replace(d, upgrade_option=NO_AUTO, last_seen=now)])
        # when: Azure's start date, or (a default change, whose instant the catalog does not keep) "within two
        # weeks of the default change", as the assessment words it
        when = f" from {_day(a.action_date)}" if a.action_date else ""
        regressions = ", ".join(result.regressions) or "below the suite's threshold"
        text = (
            f"modelwatch set versionUpgradeOption to NoAutoUpgrade (it was {previous}) because of the regressions "
            f"({regressions}): Azure would have moved it to {target[0]} {target[1]}"
            # the date when the assessment has one; else its own words for when ("within two weeks of ...")
            + (when or f" ({a.summary})")
            + ". Pinned, it stops "
            "working at its version's retirement"
            + (f" on {_day(retirement)}" if retirement else "")
            + " if nothing changes: modelwatch puts "
            f"{previous} back when a later canary passes"
            + (f", and by {_day(deadline)} at the latest" if deadline else "")
            + "."
        )
        log.warning("canary protect: %s: %s", d.resource_id, text)
        return Protection(text, written)

    def lift(self, d: Deployment, now: datetime, *, why: str, explicit: bool = False) -> Protection | None:
        """Put the recorded policy back on a deployment modelwatch protected; None when it is not protected.
        ``explicit``: an operator's ``canary unpin``, which lifts in plan mode too."""
        held = self.active(d.resource_id)
        if held is None or not (self.rules.enforce or explicit):
            return None
        if refusal := self.scope.write_refusal(d):
            log.warning("canary protect: %s not restored: %s", d.name, refusal)
            return None
        previous = held.original_policy or UpgradeOption.ONCE_EXPIRED.value
        raw = self.api.get_deployment(d.resource_id)
        live = parse_deployment(raw, account_id=d.account_id, location=d.location, seen_at=now)
        written = False
        if live.upgrade_option == NO_AUTO:
            if live.policy_tag in ("ignore", "pin"):
                # the team took it over: theirs now; the record ends, nothing written
                text = f"left at NoAutoUpgrade: tagged modelwatch:policy={live.policy_tag} ({why})"
            else:
                self._put_policy(d, raw, previous)
                written = True
                text = f"modelwatch put versionUpgradeOption {previous} back ({why})."
        else:  # someone (or an attempt that crashed before recording) set it already: not ours to change
            text = f"versionUpgradeOption is {live.upgrade_option or '-'} already: left alone ({why})"
        self._end(held, now)
        if written:
            self.deployments.save_deployments([replace(d, upgrade_option=previous, last_seen=now)])
        log.warning("canary protect: %s: %s", d.resource_id, text)
        return Protection(text, written)

    def unpinned(self, a: Assessment, now: datetime) -> Assessment:
        """The assessment of a deployment this protects as if its recorded policy were back (what Azure would
        do without the pin); any other assessment as it is. Reads the change history of pinned ones only."""
        d = a.deployment
        if d.upgrade_option != NO_AUTO:
            return a
        held = self.active(d.resource_id)
        if held is None:
            return a
        own = replace(d, upgrade_option=held.original_policy)
        return assess(own, catalog_view(self.state, d.location), now, self.rules)

    def active(self, deployment_id: str) -> VersionChange | None:
        """The protection in force on a deployment (its newest protect record with no unprotect after it)."""
        for r in self.rollbacks.list_changes(deployment_id):  # newest first
            if r.applied_by == AppliedBy.UNPROTECT:
                return None
            if r.applied_by == AppliedBy.PROTECT:
                return r
        return None

    # ---- on the catalog timer's schedule
    def expire(self, now: datetime) -> list[str]:
        """Lift every protection whose deadline (retirement minus the margin) has come; the texts of what was done.
        The deadline is the recorded one, or sooner when the catalog has learned of an earlier retirement since."""
        if not self.rules.enforce:
            return []
        done: list[str] = []
        for r in active_pins(self.rollbacks):
            key = arm_key(r.deployment_id)
            d = next(
                (
                    x
                    for x in self.deployments.list_deployments_in([subscription_of(r.deployment_id) or ""])
                    if x.key == key
                ),
                None,
            )
            if d is None:
                continue  # gone from the inventory: nothing left to protect or restore
            source = catalog_view(self.state, d.location).get(d.version_key)
            retirement = source.retirement_for_sku(d.sku_name) if source else None
            deadlines = [t for t in (r.available_until, retirement and retirement - self.margin) if t]
            if not deadlines or now < min(deadlines):
                continue
            try:
                out = self.lift(
                    d, now, why=f"its version retires on {_day(retirement) if retirement else 'soon'}"
                )
            except ModelWatchError as exc:  # the next run (an hour on) tries again, well inside the margin
                log.error("canary protect: %s not restored yet: %s", d.resource_id, exc)
                done.append(f"{d.name}: not restored yet: {exc}")
                continue
            if out is not None:
                done.append(f"{d.name}: {out.text}")
        return done

    def _end(self, held: VersionChange, now: datetime) -> None:
        """Record that a protection is over (put back, left alone, or never written)."""
        self.rollbacks.add_change(
            VersionChange(
                deployment_id=held.deployment_id,
                from_version=held.to_version,
                to_version=held.to_version,
                changed_at=now,
                applied_by=AppliedBy.UNPROTECT,
                available_until=None,
                original_policy=NO_AUTO,
                reference=held.id,  # one end per protection, however often it is retried
                from_model=held.to_model,
                to_model=held.to_model,
            )
        )

    def _put_policy(self, d: Deployment, raw: dict[str, JsonValue], policy: str) -> None:
        body = copy.deepcopy(raw)
        props = body.get("properties")
        if not isinstance(props, dict):
            raise PermanentError(f"deployment {d.resource_id}: ARM returned no properties")
        props["versionUpgradeOption"] = policy
        put_if_match(
            self.api,
            d.resource_id,
            body,
            raw.get("etag"),
            lambda: ChangedMeanwhileError(
                f"{d.name}: changed meanwhile (ARM answered 412 to If-Match): policy not written"
            ),
        )


def active_pins(changes: VersionChangeStore) -> list[VersionChange]:
    """The protections in force: per deployment, its newest protect or unprotect record, when it is a protect."""
    return pins_in_force(changes.list_changes())


def _day(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d}" if at is not None else "?"

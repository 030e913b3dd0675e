"""Refresh the deployment inventory, and notice the version changes modelwatch did not make.

Runs before each catalog cycle. A deployment whose model or version changed since the last refresh, without a
rollback record saying modelwatch (or a rollback) did it, was moved by someone else: by Azure when the change is
what Azure's documented upgrade does (the replacement the catalog names, or a newer default; never a downgrade),
otherwise "outside modelwatch" (a person, a pipeline, a template), with ARM's systemData.lastModifiedBy. The
change is recorded with its way back and announced as DeploymentUpgraded (appliedBy "azure" or "external"):
Azure itself emits no event when it upgrades.

Fine-tuned models are not in the location catalog: for accounts that run one, Accounts - List Models is read for
their own deprecation. A model list that fails (404, 403, or 5xx after the ARM client's retries) is a warning naming
the account, not a failed refresh: that account's fine-tuned deployments are "not tracked" with ARM's answer (or
judged by the dates last read, said so), and every other account and deployment is refreshed as usual.

Subscriptions, accounts and their deployments are listed concurrently (ARM_READ_CONCURRENCY); the ARM adapter's
ReadBudget keeps each subscription within ARM's read bucket. A large inventory is refreshed in parts
(``parts``, ``refresh_part``): the timer queues one message per subscription, or per group of named accounts, and
``sweep`` drops what left the scope. Every deployment belongs to exactly one part, so the parts together save,
delete and announce what one whole refresh would.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from shared.domain.changes import APPLIED_BY_AZURE, APPLIED_BY_EXTERNAL, VersionChange
from shared.domain.deployment_events import upgraded_event
from shared.domain.deployments import (
    Deployment,
    DeploymentFormatError,
    fine_tune_from_account_models,
    parse_deployment,
)
from shared.domain.events import JsonValue, LifecycleEvent
from shared.domain.ids import arm_key, subscription_of
from shared.domain.policy import explains_azure_move
from shared.domain.refresh import RefreshPart
from shared.domain.scope import Scope
from shared.errors import ModelWatchError
from shared.ports import CatalogStateStore, DeploymentApi, DeploymentStore, VersionChangeStore
from shared.services.budget import Deadline, bounded
from shared.services.policy import catalog_view

log = logging.getLogger(__name__)

OPENAI_KINDS = frozenset({"openai", "aiservices"})
T = TypeVar("T")


@dataclass(frozen=True)
class Account:
    resource_id: str
    location: str
    kind: str


# Named accounts per queue message when a refresh of WATCH_ACCOUNTS fans out: a message stays far below the
# queue's 64 KiB, and a part's listing well inside one invocation.
ACCOUNTS_PER_PART = 25


@dataclass(frozen=True)
class InventoryReport:
    accounts: int
    deployments: int
    written: int
    removed: int
    azure_upgrades: tuple[LifecycleEvent, ...]
    problems: tuple[str, ...]
    # a problem was transient (throttling, 5xx, the time budget): retrying the same refresh may complete it
    retryable: bool = False
    # what was read only in part, without failing the refresh (an account's fine-tuned models not read)
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        text = (
            f"inventory: {self.deployments} deployment(s) in {self.accounts} account(s); {self.written} changed, "
            f"{self.removed} removed, {len(self.azure_upgrades)} upgrade(s) by Azure"
        )
        text += f"; {len(self.problems)} problem(s)" if self.problems else ""
        return text + (f"; {len(self.warnings)} warning(s)" if self.warnings else "")


def parse_account(raw: JsonValue) -> Account | None:
    """An Azure OpenAI-capable account, or None for other kinds."""
    if not isinstance(raw, dict):
        raise DeploymentFormatError(f"account is {type(raw).__name__}, expected an object")
    rid, location, kind = raw.get("id"), raw.get("location"), raw.get("kind")
    if not isinstance(rid, str) or not isinstance(location, str):
        raise DeploymentFormatError("account without id or location")
    if not isinstance(kind, str) or kind.casefold() not in OPENAI_KINDS:
        return None
    return Account(rid, location.replace(" ", "").casefold(), kind)


class _Problems:
    """What went wrong, and whether any of it was transient (thread-safe: listings run concurrently)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.warnings: list[str] = []
        self.retryable = False
        self._lock = threading.Lock()

    def warn(self, text: str) -> None:
        with self._lock:
            self.warnings.append(text)

    def add(self, text: str, exc: ModelWatchError | None = None) -> None:
        with self._lock:
            self.lines.append(text)
            self.retryable = self.retryable or (exc is not None and exc.is_transient)


class InventoryService:
    """The refresh-inventory use case."""

    def __init__(
        self,
        api: DeploymentApi,
        inventory: DeploymentStore,
        rollbacks: VersionChangeStore,
        state: CatalogStateStore,
        *,
        accounts: Sequence[str] = (),
        subscriptions: Sequence[str] = (),
        max_concurrency: int = 8,
    ) -> None:
        # what is watched now: deployments of accounts that left it leave the inventory at the next refresh
        self.scope = Scope.of(locations=(), accounts=tuple(accounts), subscriptions=tuple(subscriptions))
        self.api = api
        self.inventory = inventory
        self.rollbacks = rollbacks
        self.state = state
        self.account_ids = tuple(accounts)
        self.subscriptions = tuple(subscriptions)
        self.max_concurrency = max_concurrency  # ARM reads at once (ARM_READ_CONCURRENCY)

    def _concurrently(
        self, work: Callable[[str], T], keys: Sequence[str], name: str
    ) -> list[T | ModelWatchError]:
        """``work`` over ``keys`` on up to max_concurrency threads; each result or its error, in the keys' order."""
        if not keys:
            return []
        results: list[T | ModelWatchError] = []
        workers = max(1, min(self.max_concurrency, len(keys)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
            # each thread runs in a copy of the caller's context: the run's deadline bounds its waits too
            futures = [pool.submit(copy_context().run, work, key) for key in keys]
            for future in futures:
                try:
                    results.append(future.result())
                except ModelWatchError as exc:
                    results.append(exc)
        return results

    def _accounts(
        self,
        problems: _Problems,
        account_ids: Sequence[str],
        subscriptions: Sequence[str],
        deadline: Deadline | None,
    ) -> list[Account]:
        """The named accounts, else every account of the subscriptions, read concurrently: one subscription or
        account failing is reported and costs none of the others."""

        def check(what: str) -> None:
            if deadline is not None:
                deadline.check(what)

        def get_one(account_id: str) -> list[JsonValue]:
            check(f"account {account_id.rsplit('/', 1)[-1]} was read")
            return [self.api.get_account(account_id)]

        def list_subscription(sub: str) -> list[JsonValue]:
            check(f"the accounts of subscription {sub} were listed")
            return self.api.list_accounts(sub)

        raws: list[JsonValue] = []
        if account_ids:
            for account_id, result in zip(
                account_ids, self._concurrently(get_one, account_ids, "account"), strict=True
            ):
                if isinstance(result, ModelWatchError):
                    problems.add(f"account {account_id}: {result}", result)
                else:
                    raws.extend(result)
        else:
            for sub, listed in zip(
                subscriptions,
                self._concurrently(list_subscription, subscriptions, "subscription"),
                strict=True,
            ):
                if isinstance(listed, ModelWatchError):
                    problems.add(f"subscription {sub}: {listed}", listed)
                else:
                    raws.extend(listed)
        found: list[Account] = []
        for raw in raws:
            try:
                account = parse_account(raw)
            except DeploymentFormatError as exc:
                problems.add(str(exc))
                continue
            if account is not None:
                found.append(account)
        return found

    def refresh(self, now: datetime, *, deadline: Deadline | None = None) -> InventoryReport:
        """List the watched accounts' deployments. An account not started before ``deadline`` keeps what was
        known and is reported (its listing is not a deletion), so a slow or throttled tenant never starves the
        catalog cycle that runs after. A wait already begun (a Retry-After) ends by ``deadline`` too."""
        problems = _Problems()
        with bounded(deadline):
            accounts = self._accounts(problems, self.account_ids, self.subscriptions, deadline)
            previous = {d.key: d for d in self.inventory.list_deployments()}
            return self._reconcile(now, accounts, previous, problems, deadline, sweep=True)

    def parts(self, now: datetime) -> list[RefreshPart]:
        """The whole refresh as parts, each a queue message: one per subscription, or per group of accounts."""
        if self.account_ids:
            return [
                RefreshPart(now, accounts=self.account_ids[i : i + ACCOUNTS_PER_PART])
                for i in range(0, len(self.account_ids), ACCOUNTS_PER_PART)
            ]
        return [RefreshPart(now, subscription=sub) for sub in self.subscriptions]

    def refresh_part(self, part: RefreshPart, *, deadline: Deadline | None = None) -> InventoryReport:
        """One part of a refresh, as of the part's instant (a redelivery saves and announces the same). What the
        part names outside today's scope (a message from before a settings change) is left to ``sweep``. Waits
        already begun end by ``deadline``."""
        with bounded(deadline):
            return self._refresh_part(part, deadline)

    def _refresh_part(self, part: RefreshPart, deadline: Deadline | None) -> InventoryReport:
        problems = _Problems()
        accounts_named = [a for a in part.accounts if self.scope.watches_account(a)]
        watched = part.subscription is not None and not self.account_ids and self._watches(part.subscription)
        subscriptions = [part.subscription] if watched and part.subscription is not None else []
        if len(accounts_named) < len(part.accounts) or (part.subscription is not None and not watched):
            log.warning("inventory: a queued part names what is no longer watched: left to the timer's sweep")
        accounts = self._accounts(problems, accounts_named, subscriptions, deadline)
        keys = {arm_key(a) for a in accounts_named}
        sub = arm_key(subscriptions[0]) if subscriptions else None
        # what the store knows of this part only: its subscription's range of the inventory, not all of it
        involved = {s for s in (*(subscription_of(a) for a in accounts_named), sub) if s is not None}
        previous = {
            d.key: d
            for d in self.inventory.list_deployments_in(sorted(involved))
            if arm_key(d.account_id) in keys or (sub is not None and subscription_of(d.account_id) == sub)
        }
        return self._reconcile(part.at, accounts, previous, problems, deadline, sweep=False)

    def sweep(self) -> int:
        """Forget the deployments of accounts or subscriptions no longer watched (a fanned-out refresh's parts
        cover only what is watched). The count removed."""
        gone = [
            d.key for d in self.inventory.list_deployments() if not self.scope.watches_account(d.account_id)
        ]
        if gone:
            self.inventory.delete_deployments(gone)
        return len(gone)

    def _watches(self, subscription: str) -> bool:
        return arm_key(subscription) in {arm_key(s) for s in self.subscriptions}

    def _reconcile(
        self,
        now: datetime,
        accounts: list[Account],
        previous: dict[str, Deployment],
        problems: _Problems,
        deadline: Deadline | None,
        *,
        sweep: bool,
    ) -> InventoryReport:
        """List these accounts' deployments and bring the inventory (``previous`` is its part for them) in line."""

        def list_one(account_id: str) -> list[JsonValue]:
            if deadline is not None:
                deadline.check(f"the deployments of {account_id.rsplit('/', 1)[-1]} were listed")
            return self.api.list_deployments(account_id)

        account_ids = [a.resource_id for a in accounts]
        listed = dict(zip(account_ids, self._concurrently(list_one, account_ids, "deployments"), strict=True))
        fresh: dict[str, Deployment] = {}
        complete_accounts: set[str] = set()
        for account in accounts:
            result = listed[account.resource_id]
            if isinstance(result, ModelWatchError):
                problems.add(f"account {account.resource_id}: {result}", result)
                continue  # keep what we knew: a failed listing is not a deletion
            complete_accounts.add(arm_key(account.resource_id))
            parsed: list[Deployment] = []
            for raw in result:
                try:
                    parsed.append(
                        parse_deployment(
                            raw, account_id=account.resource_id, location=account.location, seen_at=now
                        )
                    )
                except DeploymentFormatError as exc:
                    problems.add(f"account {account.resource_id}: {exc}")
            for d in self._with_fine_tunes(account, parsed, previous, problems):
                fresh[d.key] = d
        events: list[LifecycleEvent] = []
        changed: list[Deployment] = []
        for key, d in fresh.items():
            before = previous.get(key)
            if before is not None and replace(before, last_seen=None) == replace(d, last_seen=None):
                continue
            changed.append(d)
            if before is not None and before.version_key != d.version_key and not self._ours(before, d):
                events.append(self._outside_change(before, d, now))
        if events:
            self.state.add_pending(events)  # the outbox first: the timer's drain publishes them
        if changed:
            self.inventory.save_deployments(changed)
        gone = [
            k
            for k, d in previous.items()
            if (arm_key(d.account_id) in complete_accounts and k not in fresh)
            # its account or subscription left the scope (a part leaves that to sweep)
            or (sweep and not self.scope.watches_account(d.account_id))
        ]
        if gone:
            self.inventory.delete_deployments(gone)
        for problem in (*problems.lines, *problems.warnings):
            log.warning("inventory: %s", problem)
        return InventoryReport(
            len(accounts),
            len(fresh),
            len(changed),
            len(gone),
            tuple(events),
            tuple(problems.lines),
            problems.retryable,
            tuple(problems.warnings),
        )

    def _with_fine_tunes(
        self,
        account: Account,
        deployments: list[Deployment],
        previous: dict[str, Deployment],
        problems: _Problems,
    ) -> list[Deployment]:
        """Fine-tuned deployments get their model's own deprecation from Accounts - List Models."""
        if not any(d.is_fine_tuned for d in deployments):
            return deployments
        why: str | None = None
        try:
            items: list[object] | None = list(self.api.list_account_models(account.resource_id))
        except ModelWatchError as exc:
            # one account's model list is not the inventory: its fine-tuned deployments are "not tracked", said
            # why; the refresh goes on and succeeds (a warning, not a problem)
            why = f"Accounts - List Models failed: {exc}"
            problems.warn(
                f"account {account.resource_id}: fine-tuned deployments not tracked ({why}); every other "
                "deployment was refreshed"
            )
            items = None
        out: list[Deployment] = []
        for d in deployments:
            if not d.is_fine_tuned:
                out.append(d)
                continue
            known = previous.get(d.key)
            if why is None:
                out.append(replace(d, fine_tune=fine_tune_from_account_models(d, items)))
            elif known is not None and known.fine_tune is not None and known.fine_tune.listed:
                # dates read before stay (never a false "retired", never a lost date), said to be as last read
                out.append(replace(d, fine_tune=replace(known.fine_tune, why=why)))
            else:
                out.append(replace(d, fine_tune=replace(fine_tune_from_account_models(d, None), why=why)))
        return out

    def _ours(self, before: Deployment, after: Deployment) -> bool:
        return any(
            r.from_version == before.model_version
            and r.to_version == after.model_version
            and (r.to_model or after.model_name) == after.model_name
            and r.applied_by not in (APPLIED_BY_AZURE, APPLIED_BY_EXTERNAL)
            and not r.sibling_id
            for r in self.rollbacks.list_changes(after.resource_id)
        )

    def _outside_change(self, before: Deployment, after: Deployment, now: datetime) -> LifecycleEvent:
        records = self.state.load_records(after.location)  # removed versions too: the old one may be gone
        entry = records.get(before.version_key)
        source = entry.version if entry is not None else None
        by_azure = explains_azure_move(
            before, after.model_name, after.model_version, source, catalog_view(self.state, after.location)
        )
        who = after.last_modified_by
        if who and after.last_modified_by_type:
            who = f"{who} ({after.last_modified_by_type})"
        record = VersionChange(
            deployment_id=after.resource_id,
            from_version=before.model_version,
            to_version=after.model_version,
            changed_at=now,
            applied_by=APPLIED_BY_AZURE if by_azure else APPLIED_BY_EXTERNAL,
            available_until=source.retirement_for_sku(after.sku_name) if source else None,
            original_policy=before.upgrade_option,
            reference="inventory",
            from_model=before.model_name,
            to_model=after.model_name,
            changed_by=who,
        )
        self.rollbacks.add_change(record)
        log.info(
            "inventory: %s moved %s from %s %s to %s %s",
            "Azure" if by_azure else "someone outside modelwatch",
            after.resource_id,
            before.model_name,
            before.model_version,
            after.model_name,
            after.model_version,
        )
        return upgraded_event(after, record, now=now)

"""Ports: what the services need from the outside world, as Protocols. Adapters live in shared/adapters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from shared.domain.alerts import Message
from shared.domain.canary import CanaryAsk, CanaryResult, ChatReply
from shared.domain.catalog import VersionKey
from shared.domain.changes import VersionChange
from shared.domain.cursor import Cursor
from shared.domain.deployments import Deployment
from shared.domain.diff import VersionRecord
from shared.domain.evals import SuiteSet
from shared.domain.events import JsonValue, LifecycleEvent
from shared.domain.handoff import HandedOff
from shared.domain.held import HeldAlert
from shared.domain.ledger import Claim, LedgerEntry
from shared.domain.refresh import RefreshPart
from shared.domain.routes import Channel


class CatalogSource(Protocol):
    def fetch_models(self, location: str) -> list[JsonValue]:
        """Every raw ``Models - List`` item of one location (all pages).

        Raises ArmError / TransientError / PermanentError; never returns a partial list.
        """
        ...


@runtime_checkable
class SubscriptionCatalogs(Protocol):
    def fetch_models_for(self, subscription_id: str, location: str) -> list[JsonValue]:
        """``Models - List`` of one location as one subscription sees it (the API is subscription-scoped: a
        Deprecated version is listed only to subscriptions that have deployed it). Raises like fetch_models."""
        ...


class CatalogStateStore(Protocol):
    """Snapshots, cursors and the outbox of pending events."""

    def get_cursor(self, location: str) -> Cursor:
        """The location's cursor; a Cursor with etag None when it was never committed."""
        ...

    def commit_cursor(self, cursor: Cursor, *, expected_etag: str | None) -> Cursor:
        """Write the cursor if it still has ``expected_etag`` (None: if it does not exist yet).

        Returns the cursor with its new etag. Raises ConcurrencyError when another writer got there first.
        """
        ...

    def commit_cursors(self, commits: Sequence[tuple[Cursor, str | None]]) -> dict[str, Cursor | None]:
        """``commit_cursor`` for each (cursor, expected etag), in as few requests as the backend allows (Table
        Storage: one per 100): each is written only if it still has its expected etag. Returns, by location, the
        cursor with its new etag, or None where another writer got there first (the rest are written). Locations
        are distinct."""
        ...

    def load_records(self, location: str) -> dict[VersionKey, VersionRecord]:
        """The location's snapshot (empty when none)."""
        ...

    def save_records(self, location: str, records: Mapping[VersionKey, VersionRecord]) -> None:
        """Upsert these records (only the changed ones are passed). Idempotent."""
        ...

    def add_pending(self, events: Sequence[LifecycleEvent]) -> None:
        """Record events as pending (outbox). Idempotent by event id."""
        ...

    def list_pending(self) -> list[LifecycleEvent]:
        """Every pending event, oldest first."""
        ...

    def remove_pending(self, event_ids: Sequence[str]) -> None:
        """Forget published events. Ids not pending are ignored."""
        ...

    def record_history(self, events: Sequence[LifecycleEvent]) -> None:
        """Keep published events for the status page, keyed by (event day, id): a repeat is harmless."""
        ...

    def list_history(self, since: datetime) -> list[LifecycleEvent]:
        """Kept events whose event time is at or after ``since``, oldest first."""
        ...


class EventPublisher(Protocol):
    def publish(self, events: Sequence[LifecycleEvent]) -> None:
        """Publish all of these events or raise (PublishError when retrying may help)."""
        ...


class DeploymentStore(Protocol):
    """The deployment inventory."""

    def list_deployments(self) -> list[Deployment]:
        """Every deployment known (empty when none), sorted by key: the status page, the CLI, the refresh."""
        ...

    def list_deployments_of(self, location: str, model_format: str, model_name: str) -> list[Deployment]:
        """The deployments in ``location`` of this model, and the fine-tunes whose base model has this name
        (``shared.domain.deployments.is_of_model``), sorted by key. Reads that slice only, not the inventory:
        one catalog event costs what it concerns."""
        ...

    def list_deployments_in(self, subscriptions: Sequence[str]) -> list[Deployment]:
        """The deployments of these subscriptions (ids, any case), sorted by key. Reads those subscriptions'
        deployments only: one part of a fanned-out refresh costs its own subscription, not the inventory."""
        ...

    def save_deployments(self, deployments: Sequence[Deployment]) -> None:
        """Upsert these deployments (keyed by their canonical resource id). Idempotent."""
        ...

    def delete_deployments(self, keys: Sequence[str]) -> None:
        """Forget deployments that no longer exist. Absent keys are ignored."""
        ...


class RefreshQueue(Protocol):
    """Where the timer hands the parts of a large inventory refresh (one message each) to refresh_inventory."""

    def enqueue(self, parts: Sequence[RefreshPart]) -> None:
        """Send one message per part. Raises TransientError or PermanentError; parts sent before a failure stay
        sent (a part refreshed twice saves the same rows: harmless)."""
        ...


class DeliveryQueue(Protocol):
    """Where an Event Grid trigger hands a delivery's work (one message per event and subscriber) to
    deliver_queued, so that Event Grid has its answer within seconds whatever the work's size."""

    def enqueue(self, work: HandedOff) -> None:
        """Send one message. Raises TransientError or PermanentError (then nothing was handed off)."""
        ...


class Ledger(Protocol):
    """Turns at-least-once delivery into exactly-once processing per subscriber."""

    def claim(self, subscriber: str, event_id: str, *, now: datetime, expires_at: datetime) -> Claim:
        """CLAIMED when this attempt may process the event; DONE when it was processed; BUSY when another
        attempt holds an unexpired claim. One conditional write; an expired claim is taken over."""
        ...

    def complete(self, subscriber: str, event_id: str, outcome: str) -> None:
        """Mark the event processed (also for a permanent error: recorded, acknowledged)."""
        ...

    def complete_many(self, subscriber: str, outcomes: Mapping[str, str]) -> None:
        """Mark these events done at once with their outcomes, unclaimed: for facts whose recording guards no work
        (the standings the alerts told), where one write per entry would cost more than the telling. Like
        ``complete``, it overwrites what was there."""
        ...

    def release(self, subscriber: str, event_id: str) -> None:
        """Drop the claim after a transient error, so the platform's retry can process it."""
        ...

    def get(self, subscriber: str, event_id: str) -> LedgerEntry | None: ...

    def get_many(self, subscriber: str, event_ids: Sequence[str]) -> dict[str, LedgerEntry]:
        """The entries of these events that exist, by event id: a few requests, not one per entry."""
        ...


class VersionChangeStore(Protocol):
    def add_change(self, record: VersionChange) -> None:
        """Record a version change (idempotent by record id)."""
        ...

    def list_changes(self, deployment_id: str | None = None) -> list[VersionChange]:
        """Records, newest first; of one deployment when given (ids compared case-insensitively)."""
        ...


class AlertBuffer(Protocol):
    """Deployment news held until it is told as one message per route and group (shared/domain/held.py)."""

    def hold(self, items: Sequence[HeldAlert]) -> None:
        """Keep these items. An item already held (same route, group and item_id) is left as it is, batch mark
        included: holding is idempotent."""
        ...

    def groups(self) -> list[tuple[str, str, datetime]]:
        """(route, group, oldest held_at) of every group holding items."""
        ...

    def held(self, route: str, group: str) -> list[HeldAlert]:
        """The group's items, oldest first (held_at, then item_id)."""
        ...

    def mark(self, route: str, group: str, item_ids: Sequence[str], batch: str) -> None:
        """Set ``batch`` on these items, except those already marked with a batch; missing items are ignored."""
        ...

    def release(self, route: str, group: str, item_ids: Sequence[str]) -> None:
        """Delete these items; missing ones are ignored."""
        ...


class DeploymentApi(Protocol):
    """ARM operations on accounts and deployments, as raw JSON (so unknown fields survive a GET -> PUT)."""

    def list_accounts(self, subscription_id: str) -> list[JsonValue]:
        """Every Microsoft.CognitiveServices account of the subscription (all pages)."""
        ...

    def get_account(self, account_id: str) -> dict[str, JsonValue]: ...

    def list_deployments(self, account_id: str) -> list[JsonValue]:
        """Every deployment of the account (all pages)."""
        ...

    def get_deployment(self, deployment_id: str) -> dict[str, JsonValue]: ...

    def find_deployment(self, deployment_id: str) -> dict[str, JsonValue] | None:
        """The deployment, or None when ARM answers 404 (a name not taken yet)."""
        ...

    def list_account_models(self, account_id: str) -> list[JsonValue]:
        """Accounts - List Models: flat AccountModel items, fine-tuned models (with baseModel) included."""
        ...

    def put_deployment(
        self, deployment_id: str, body: dict[str, JsonValue], *, if_match: str | None = None
    ) -> dict[str, JsonValue]:
        """Create-or-replace, following the long-running operation to a terminal state. ``if_match``: the ETag of
        the GET the body was made from (a 412 ArmError when the resource changed since).

        Returns the final resource; raises ArmError with ARM's code and message when the operation fails.
        """
        ...

    def delete_deployment(self, deployment_id: str) -> None:
        """Delete, following the long-running operation; a no-op when it is absent (204/404). Only canaries
        modelwatch created are ever deleted."""
        ...


class DeploymentStores(DeploymentStore, VersionChangeStore, Protocol):
    """The inventory and its change history, which every adapter keeps together over one backend (the ledger is
    its own port: an adapter of its own per backend)."""


class Notifier(Protocol):
    """One kind of alert channel (Teams, Slack, ...): renders the channel-neutral message in its own format,
    within its own limits, and posts it with its own pacing and retries."""

    def send(self, channel: Channel, message: Message) -> None:
        """Post ``message`` to ``channel``. Raises WebhookError saying transient (retries exhausted: redeliver
        later) or permanent (recorded, acknowledged); never with the channel's URL in it."""
        ...


class ChatApi(Protocol):
    """Chat completions on one account's data plane (a canary run)."""

    def complete(
        self, deployment: str, messages: Sequence[tuple[str, str]], options: Mapping[str, JsonValue]
    ) -> ChatReply:
        """One completion of ``messages`` ((role, content) pairs) on ``deployment``. A content-filter refusal is a
        reply with ``refusal`` set; 429s are retried honouring Retry-After (bounded). Raises DataPlaneError."""
        ...


class SuiteSource(Protocol):
    """Where EVAL_SUITES keeps the evaluation suites: a folder the app ships with, or a blob container."""

    def read(self) -> SuiteSet:
        """Every suite that parses, in name order, and a SuiteError for each that does not (naming its file or blob
        and line): one bad suite never hides the others. Raises SuiteError when the source itself is not there (a
        missing container), PermanentError when it may not be read (a role missing), TransientError when a later
        read may succeed."""
        ...


class CanaryQueue(Protocol):
    """Where the policy subscriber hands the canaries a move calls for (one message each) to run_canary."""

    def enqueue(self, asks: Sequence[CanaryAsk]) -> None:
        """Send one message per ask. Raises TransientError or PermanentError; a repeated ask is harmless (the
        canary runs once per deployment and target: the ledger)."""
        ...


class CanaryResults(Protocol):
    """Stored canary results: what ``canary list`` and the status page show."""

    def save(self, result: CanaryResult) -> None:
        """Keep the result (its JSON document, ``CanaryResult.to_json``); the same run saved again is one result
        (``result_id``). Raises TransientError or PermanentError."""
        ...

    def list_results(self, deployment_id: str | None = None) -> list[dict[str, JsonValue]]:
        """The stored results (of one deployment, when given: ARM's case-insensitive id), oldest first."""
        ...

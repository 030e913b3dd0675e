"""In-memory adapters: the reference implementation of the store contract, and test doubles of endpoints."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from shared.adapters.storage.records import ordered_results
from shared.domain.canary import CanaryAsk, CanaryResult, result_id
from shared.domain.catalog import VersionKey
from shared.domain.changes import VersionChange
from shared.domain.cursor import Cursor
from shared.domain.deployments import Deployment, is_of_model, model_slices
from shared.domain.diff import VersionRecord
from shared.domain.events import JsonValue, LifecycleEvent
from shared.domain.handoff import HandedOff
from shared.domain.held import HeldAlert
from shared.domain.ids import arm_key, subscription_prefix
from shared.domain.ledger import Claim, LedgerEntry, LedgerState
from shared.domain.refresh import RefreshPart
from shared.errors import ConcurrencyError


class InMemoryCatalogStateStore:
    """CatalogStateStore in process memory. Thread-safe; etags are counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cursors: dict[str, Cursor] = {}
        self._records: dict[str, dict[VersionKey, VersionRecord]] = {}
        self._pending: dict[str, LifecycleEvent] = {}
        self._history: dict[tuple[str, str], LifecycleEvent] = {}
        self._counter = 0
        self.writes = 0  # entity writes, for tests and benchmarks

    def get_cursor(self, location: str) -> Cursor:
        with self._lock:
            return self._cursors.get(location, Cursor(location))

    def commit_cursor(self, cursor: Cursor, *, expected_etag: str | None) -> Cursor:
        with self._lock:
            current = self._cursors.get(cursor.location)
            current_etag = current.etag if current is not None else None
            if current_etag != expected_etag:
                raise ConcurrencyError(f"cursor {cursor.location} changed since it was read")
            self._counter += 1
            stored = replace(cursor, etag=f"m{self._counter}")
            self._cursors[cursor.location] = stored
            self.writes += 1
            return stored

    def commit_cursors(self, commits: Sequence[tuple[Cursor, str | None]]) -> dict[str, Cursor | None]:
        done: dict[str, Cursor | None] = {}
        for cursor, expected_etag in commits:
            try:
                done[cursor.location] = self.commit_cursor(cursor, expected_etag=expected_etag)
            except ConcurrencyError:
                done[cursor.location] = None
        return done

    def load_records(self, location: str) -> dict[VersionKey, VersionRecord]:
        with self._lock:
            return dict(self._records.get(location, {}))

    def save_records(self, location: str, records: Mapping[VersionKey, VersionRecord]) -> None:
        with self._lock:
            self._records.setdefault(location, {}).update(records)
            self.writes += len(records)

    def add_pending(self, events: Sequence[LifecycleEvent]) -> None:
        with self._lock:
            for event in events:
                self._pending.setdefault(event.id, event)
            self.writes += len(events)

    def list_pending(self) -> list[LifecycleEvent]:
        with self._lock:
            return sorted(self._pending.values(), key=lambda e: (e.event_time, e.id))

    def remove_pending(self, event_ids: Sequence[str]) -> None:
        with self._lock:
            for ident in event_ids:
                self._pending.pop(ident, None)

    def record_history(self, events: Sequence[LifecycleEvent]) -> None:
        with self._lock:
            for event in events:
                self._history.setdefault((event.event_time.date().isoformat(), event.id), event)
            self.writes += len(events)

    def list_history(self, since: datetime) -> list[LifecycleEvent]:
        with self._lock:
            kept = [e for e in self._history.values() if e.event_time >= since]
        return sorted(kept, key=lambda e: (e.event_time, e.id))


class CollectingPublisher:
    """EventPublisher that keeps what it is given (the CLI's dry runs and in-process delivery build on it)."""

    def __init__(self) -> None:
        self.published: list[LifecycleEvent] = []

    def publish(self, events: Sequence[LifecycleEvent]) -> None:
        self.published.extend(events)


class InMemoryCatalogSource:
    """CatalogSource serving raw Models - List items from memory; a location can be set to fail."""

    def __init__(self, catalogs: dict[str, list[JsonValue]] | None = None) -> None:
        self.catalogs: dict[str, list[JsonValue]] = dict(catalogs or {})
        self.failures: dict[str, Exception] = {}
        self.calls: list[str] = []

    def fetch_models(self, location: str) -> list[JsonValue]:
        self.calls.append(location)
        if location in self.failures:
            raise self.failures[location]
        return list(self.catalogs.get(location, []))


class InMemoryDeploymentStore:
    """DeploymentStore and VersionChangeStore in memory: the reference implementation of their contracts.

    Deployments are indexed by (location, model name) as the Table store partitions them (``model_slices``).
    ``entities_read`` counts deployments looked at by the list methods (same meaning as the other stores)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deployments: dict[str, Deployment] = {}
        self._by_slice: dict[tuple[str, str], set[str]] = {}
        self._rollbacks: dict[str, VersionChange] = {}
        self._counter = 0
        self.entities_read = 0

    # inventory
    def list_deployments(self) -> list[Deployment]:
        with self._lock:
            self.entities_read += len(self._deployments)
            return sorted(self._deployments.values(), key=lambda d: d.key)

    def list_deployments_in(self, subscriptions: Sequence[str]) -> list[Deployment]:
        prefixes = tuple(subscription_prefix(s) for s in subscriptions)
        with self._lock:
            found = [d for k, d in self._deployments.items() if prefixes and k.startswith(prefixes)]
            self.entities_read += len(found)  # as an index on the key would read
        return sorted(found, key=lambda d: d.key)

    def list_deployments_of(self, location: str, model_format: str, model_name: str) -> list[Deployment]:
        with self._lock:
            keys = self._by_slice.get((location.casefold(), model_name), set())
            self.entities_read += len(keys)
            found = [self._deployments[k] for k in keys]
        return sorted(
            (d for d in found if is_of_model(d, location, model_format, model_name)), key=lambda d: d.key
        )

    def save_deployments(self, deployments: Sequence[Deployment]) -> None:
        with self._lock:
            for d in deployments:
                self._forget(d.key)
                self._deployments[d.key] = d
                for pair in model_slices(d):
                    self._by_slice.setdefault(pair, set()).add(d.key)

    def delete_deployments(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._forget(arm_key(key))

    def _forget(self, key: str) -> None:
        old = self._deployments.pop(key, None)
        for pair in model_slices(old) if old is not None else ():
            self._by_slice[pair].discard(key)
            if not self._by_slice[pair]:
                del self._by_slice[pair]

    # rollbacks
    def add_change(self, record: VersionChange) -> None:
        with self._lock:
            self._rollbacks.setdefault(record.id, record)

    def list_changes(self, deployment_id: str | None = None) -> list[VersionChange]:
        with self._lock:
            records = [
                r
                for r in self._rollbacks.values()
                if deployment_id is None or arm_key(r.deployment_id) == arm_key(deployment_id)
            ]
        return sorted(records, key=lambda r: (r.changed_at, r.id), reverse=True)


class InMemoryLedger:
    """Ledger in memory: the reference implementation of its contract."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ledger: dict[tuple[str, str], LedgerEntry] = {}
        self._counter = 0

    def claim(self, subscriber: str, event_id: str, *, now: datetime, expires_at: datetime) -> Claim:
        with self._lock:
            entry = self._ledger.get((subscriber, event_id))
            if entry is not None and entry.status == LedgerState.DONE:
                return Claim.DONE
            if entry is not None and entry.expires_at is not None and entry.expires_at > now:
                return Claim.BUSY
            self._counter += 1
            self._ledger[(subscriber, event_id)] = LedgerEntry(
                subscriber, event_id, LedgerState.IN_PROGRESS, expires_at, "", f"m{self._counter}"
            )
            return Claim.CLAIMED

    def complete(self, subscriber: str, event_id: str, outcome: str) -> None:
        with self._lock:
            self._counter += 1
            self._ledger[(subscriber, event_id)] = LedgerEntry(
                subscriber, event_id, LedgerState.DONE, None, outcome, f"m{self._counter}"
            )

    def complete_many(self, subscriber: str, outcomes: Mapping[str, str]) -> None:
        for event_id, outcome in outcomes.items():
            self.complete(subscriber, event_id, outcome)

    def release(self, subscriber: str, event_id: str) -> None:
        with self._lock:
            entry = self._ledger.get((subscriber, event_id))
            if entry is not None and entry.status != LedgerState.DONE:
                del self._ledger[(subscriber, event_id)]

    def get(self, subscriber: str, event_id: str) -> LedgerEntry | None:
        with self._lock:
            return self._ledger.get((subscriber, event_id))

    def get_many(self, subscriber: str, event_ids: Sequence[str]) -> dict[str, LedgerEntry]:
        with self._lock:
            found = ((i, self._ledger.get((subscriber, i))) for i in event_ids)
            return {i: e for i, e in found if e is not None}


class InMemoryAlertBuffer:
    """AlertBuffer in memory: the reference implementation of its contract."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], dict[str, HeldAlert]] = {}

    def hold(self, items: Sequence[HeldAlert]) -> None:
        with self._lock:
            for item in items:
                self._items.setdefault((item.route, item.group), {}).setdefault(item.item_id, item)

    def groups(self) -> list[tuple[str, str, datetime]]:
        with self._lock:
            return [
                (route, group, min(i.held_at for i in items.values()))
                for (route, group), items in sorted(self._items.items())
                if items
            ]

    def held(self, route: str, group: str) -> list[HeldAlert]:
        with self._lock:
            items = list(self._items.get((route, group), {}).values())
        return sorted(items, key=lambda i: (i.held_at, i.item_id))

    def mark(self, route: str, group: str, item_ids: Sequence[str], batch: str) -> None:
        with self._lock:
            items = self._items.get((route, group), {})
            for ident in item_ids:
                item = items.get(ident)
                if item is not None and item.batch is None:
                    items[ident] = replace(item, batch=batch)

    def release(self, route: str, group: str, item_ids: Sequence[str]) -> None:
        with self._lock:
            items = self._items.get((route, group), {})
            for ident in item_ids:
                items.pop(ident, None)
            if not items:
                self._items.pop((route, group), None)


class InMemoryCanaryQueue:
    """CanaryQueue in memory: the message texts, in order, for tests and local runs."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def enqueue(self, asks: Sequence[CanaryAsk]) -> None:
        self.messages.extend(a.to_json() for a in asks)


class InMemoryDeliveryQueue:
    """DeliveryQueue in memory: the message texts, in order, for tests and local runs."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def enqueue(self, work: HandedOff) -> None:
        self.messages.append(work.to_json())


class InMemoryRefreshQueue:
    """RefreshQueue in memory: the message texts, in order, for tests and local runs."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def enqueue(self, parts: Sequence[RefreshPart]) -> None:
        self.messages.extend(p.to_json() for p in parts)


def _of(doc: dict[str, JsonValue], deployment_id: str | None) -> bool:
    return deployment_id is None or arm_key(str(doc.get("deployment") or "")) == arm_key(deployment_id)


class InMemoryCanaryResults:
    """CanaryResults in memory: the reference implementation of its contract."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._docs: dict[str, str] = {}  # id -> JSON text: a caller's later change to a dict never leaks in

    def save(self, result: CanaryResult) -> None:
        text = json.dumps(result.to_json(), ensure_ascii=False, sort_keys=True)
        with self._lock:
            self._docs[result_id(result)] = text

    def list_results(self, deployment_id: str | None = None) -> list[dict[str, JsonValue]]:
        with self._lock:
            rows = [(ident, json.loads(text)) for ident, text in self._docs.items()]
        return ordered_results([(i, d) for i, d in rows if _of(d, deployment_id)])

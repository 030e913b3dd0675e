"""Watch the catalog: one cycle over every configured location.

Order of work, per location, so that no event is ever lost and a re-run is harmless:
1. read the cursor (remember its ETag) and the last snapshot;
2. fetch the catalog (concurrently across locations) and diff it (pure);
3. record the events as pending in the outbox  <- before anything is committed;
4. commit the cursor with If-Match on the ETag  <- the commit point; a concurrent cycle loses here and stops;
5. write the changed snapshot records.
An unchanged catalog (its fingerprint on the cursor) skips steps 3-5 but for the cursor's commit, which waits for
the other locations' and goes with them in one request per 100 (``commit_cursors``), each still If-Match.
Then publish every pending event (this cycle's and any left by an earlier crash or outage) and drop the
published ones from the outbox. A crash anywhere means the next cycle recomputes the same changes with the
same deterministic ids and publishes exactly what is missing; duplicates are harmless downstream.

A version that left the list is not concluded on this list alone (https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements: the Models API is
subscription-scoped; a Deprecated version is listed only to subscriptions that have deployed it): before the diff,
the catalog of that location is read as each subscription holding deployments of it sees it (the inventory says
which), once per subscription and location, only for versions whose absence is due to be concluded, on the same
ARM client (each read spends that subscription's ReadBudget) and before the run's deadline.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from shared.domain.catalog import ModelVersion, VersionKey, parse_models
from shared.domain.cursor import Cursor
from shared.domain.deployments import Deployment
from shared.domain.diff import (
    THE_WATCHER,
    Confirmation,
    DiffRules,
    LocationSnapshot,
    diff_location,
    next_due,
    to_confirm,
    within_formats,
)
from shared.domain.events import JsonValue, LifecycleEvent
from shared.domain.ids import subscription_of
from shared.domain.timeutil import format_instant, parse_instant
from shared.errors import ConcurrencyError, CycleIncompleteError, ModelWatchError
from shared.ports import (
    CatalogSource,
    CatalogStateStore,
    DeploymentStore,
    EventPublisher,
    SubscriptionCatalogs,
)
from shared.services.budget import BudgetExceededError, Deadline, bounded
from shared.services.outbox import drain_outbox

log = logging.getLogger(__name__)


class LocationStatus(StrEnum):
    """What one location's part of a cycle came to (the cycle report's words)."""

    OK = "ok"
    BASELINE = "baseline"
    FETCH_FAILED = "fetch-failed"
    STORE_FAILED = "store-failed"
    CONCURRENT = "skipped-concurrent"
    ANOMALY = "anomaly"
    NOT_REACHED = "not-reached"  # the run's time budget was spent before this location was read


OK, BASELINE, FETCH_FAILED, STORE_FAILED, CONCURRENT, ANOMALY, NOT_REACHED = (
    LocationStatus.OK,
    LocationStatus.BASELINE,
    LocationStatus.FETCH_FAILED,
    LocationStatus.STORE_FAILED,
    LocationStatus.CONCURRENT,
    LocationStatus.ANOMALY,
    LocationStatus.NOT_REACHED,
)

# a catalog item's canonical text: keys sorted, no whitespace, ASCII only (a lone surrogate still encodes)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), check_circular=False)


@dataclass(frozen=True)
class LocationOutcome:
    """What one location's part of a cycle did."""

    location: str
    status: LocationStatus
    events: tuple[LifecycleEvent, ...] = ()
    versions: int = 0
    problems: tuple[str, ...] = ()  # catalog entries skipped, each named
    error: str | None = None
    records_written: int = 0


@dataclass(frozen=True)
class CycleReport:
    """The outcome of one watch cycle, for logs, the CLI and tests."""

    at: datetime
    locations: tuple[LocationOutcome, ...]
    published: tuple[LifecycleEvent, ...] = ()
    still_pending: int = 0
    publish_error: str | None = None
    dry_run: bool = False
    events_detected: tuple[LifecycleEvent, ...] = field(default=())

    @property
    def failed_locations(self) -> tuple[LocationOutcome, ...]:
        return tuple(o for o in self.locations if o.status in (FETCH_FAILED, STORE_FAILED, NOT_REACHED))

    @property
    def ok(self) -> bool:
        return not self.failed_locations and self.publish_error is None

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for outcome in self.locations:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no locations"
        verb = "would publish" if self.dry_run else "published"
        text = (
            f"catalog cycle at {self.at.isoformat()}: {len(self.locations)} location(s) ({statuses}); "
            f"{len(self.events_detected)} change(s) detected; {len(self.published)} event(s) {verb}; "
            f"{self.still_pending} pending"
        )
        if self.publish_error:
            text += f"; publish failed: {self.publish_error}"
        return text

    def raise_if_incomplete(self) -> None:
        """Make a partial failure visible to the platform (a failed run), after all other work is done."""
        if self.ok:
            return
        parts = [f"{o.location}: {o.error}" for o in self.failed_locations]
        if self.publish_error:
            parts.append(f"publish: {self.publish_error}")
        raise CycleIncompleteError("catalog cycle incomplete: " + "; ".join(parts))


class CatalogWatcher:
    """The watch-catalog use case over its ports."""

    def __init__(
        self,
        source: CatalogSource,
        store: CatalogStateStore,
        publisher: EventPublisher,
        *,
        rules: DiffRules | None = None,
        formats: frozenset[str] | None = None,  # CATALOG_MODEL_FORMATS: whose entries are kept (None: all)
        max_concurrency: int = 8,
        deployments: DeploymentStore | None = None,
        catalogs: SubscriptionCatalogs | None = None,
        subscription: str | None = None,
    ) -> None:
        self.source = source
        self.store = store
        self.publisher = publisher
        self.rules = rules or DiffRules()
        self.formats = formats
        self.max_concurrency = max_concurrency
        # who else to ask before a vanished version is concluded: the inventory names the subscriptions running
        # it, ``catalogs`` reads their lists; without either, only the watcher's own list speaks
        self.deployments = deployments
        self.catalogs = catalogs
        self.subscription = (subscription or "").lower() or None

    def run(
        self,
        locations: Sequence[str],
        now: datetime,
        *,
        dry_run: bool = False,
        deadline: Deadline | None = None,
    ) -> CycleReport:
        """One cycle as of ``now``. ``dry_run`` diffs and reports but writes and publishes nothing. A location
        not started before ``deadline`` is reported as not reached (the next run reads it); the drain runs."""
        outcomes: list[LocationOutcome] = []
        # the unchanged locations: their cursors are committed together, at the end
        unchanged: list[tuple[Cursor, LocationOutcome]] = []
        workers = max(1, min(self.max_concurrency, len(locations)))

        def fetch(location: str) -> list[JsonValue]:
            if deadline is not None:
                deadline.check(f"the catalog of {location} was read")
            with bounded(deadline):  # a Retry-After already begun ends by the deadline too
                return self.source.fetch_models(location)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="catalog") as pool:
            futures: dict[Future[list[JsonValue]], str] = {
                pool.submit(fetch, location): location for location in locations
            }
            # state work happens on this thread as each fetch lands: stores need no cross-thread care
            for future in as_completed(futures):
                outcome = self._settle(
                    futures.pop(future), future, now, dry_run, unchanged, deadline=deadline
                )
                if outcome is not None:
                    outcomes.append(outcome)
        outcomes.extend(self._commit_unchanged(unchanged))
        outcomes.sort(key=lambda o: locations.index(o.location))
        detected = tuple(e for o in outcomes for e in o.events)
        if dry_run:
            return CycleReport(now, tuple(outcomes), detected, 0, None, True, detected)
        published, pending, error = self._drain()
        return CycleReport(now, tuple(outcomes), published, pending, error, False, detected)

    def _settle(
        self,
        location: str,
        future: Future[list[JsonValue]],
        now: datetime,
        dry_run: bool,
        unchanged: list[tuple[Cursor, LocationOutcome]],
        *,
        deadline: Deadline | None = None,
    ) -> LocationOutcome | None:
        """The location's outcome; None when its catalog is unchanged and its cursor joins ``unchanged``."""
        try:
            items = future.result()
        except Exception as exc:  # one location failing never stops the others
            message = _describe(exc)
            log.error("catalog fetch failed for %s: %s", location, message)
            if not isinstance(exc, ModelWatchError):
                log.exception("unexpected error fetching %s", location)
            if not dry_run:
                self._note_failure(location, message)
            status = NOT_REACHED if isinstance(exc, BudgetExceededError) else FETCH_FAILED
            return LocationOutcome(location, status, error=message)
        try:
            return self._apply(location, items, now, dry_run, unchanged, deadline=deadline)
        except ModelWatchError as exc:
            message = _describe(exc)
            log.error("state update failed for %s: %s", location, message)
            return LocationOutcome(location, STORE_FAILED, error=message)

    def _digest(self, items: list[JsonValue]) -> str:
        """Of the catalog as listed (order-free) and of the rules that judge it."""
        h = hashlib.sha256(repr((self.rules, sorted(self.formats or ()))).encode())
        # one canonical encoder for every item: json.dumps(sort_keys=True) builds an encoder per call, which
        # cost more than the encoding itself (issue #26). Sorting the texts keeps the digest order-free; JSON
        # texts are self-delimiting, so the concatenation stays exact.
        for text in sorted(map(_CANONICAL.encode, items)):
            h.update(text.encode())
        return h.hexdigest()[:32]

    def _apply(
        self,
        location: str,
        items: list[JsonValue],
        now: datetime,
        dry_run: bool,
        unchanged: list[tuple[Cursor, LocationOutcome]],
        *,
        deadline: Deadline | None = None,
    ) -> LocationOutcome | None:
        cursor = self.store.get_cursor(location)
        digest = self._digest(items)
        skip = _unchanged(cursor, digest, now)
        if skip is not None and not dry_run:
            # Same catalog bytes, same rules, and no reminder or retirement instant reached since the last diff:
            # the diff would be empty (property-tested), so neither decode the snapshot nor diff. The cursor's
            # commit (If-Match its etag, as read here) goes with the other unchanged locations' at the end.
            unchanged.append(
                (
                    replace(cursor, last_cycle_at=now, last_error=None, cycles=cursor.cycles + 1),
                    LocationOutcome(location, ANOMALY if cursor.anomaly else OK, versions=skip),
                )
            )
            return None
        parsed = parse_models(items, formats=self.formats)
        for problem in parsed.problems:
            log.warning("catalog %s: %s", location, problem)
        # only the kept formats' records: one taken out of CATALOG_MODEL_FORMATS has not left the catalog
        records = within_formats(self.store.load_records(location), self.formats)
        previous = LocationSnapshot(location, records, cursor.anomaly) if records else None
        confirmations, unconfirmed = self._confirm(
            location, to_confirm(previous, parsed, now, self.rules), deadline
        )
        result = diff_location(
            previous, parsed, now, self.rules, location=location, confirmations=confirmations
        )
        status = ANOMALY if result.is_anomaly else (BASELINE if previous is None else OK)
        changed = result.changed_records(previous)
        problems = (*parsed.problems, *unconfirmed)
        outcome = LocationOutcome(
            location, status, result.events, len(parsed.versions), problems, None, len(changed)
        )
        if dry_run:
            return outcome
        due = next_due(result.snapshot, self.rules, now)
        # only a cycle that changed no record may vouch for the snapshot: after a change, the next cycle
        # re-diffs in full, so a crash between the cursor commit and the record writes cannot hide behind a skip
        fingerprint = (
            None if changed else f"{digest}|{format_instant(due) if due else '-'}|{len(parsed.versions)}"
        )
        if result.events:
            self.store.add_pending(result.events)  # the outbox first: from here on nothing can be lost
        try:
            self.store.commit_cursor(
                Cursor(location, None, now, result.snapshot.anomaly, None, cursor.cycles + 1, fingerprint),
                expected_etag=cursor.etag,
            )
        except ConcurrencyError:
            # another cycle committed this location since we read it; its snapshot stands, ours is dropped.
            # Our events stay pending: they are real observations and their ids dedupe downstream.
            log.warning(
                "catalog %s: another cycle committed first; this one stops for the location", location
            )
            return LocationOutcome(location, CONCURRENT, result.events, len(parsed.versions), problems)
        if changed:
            self.store.save_records(location, changed)
        return outcome

    def _confirm(
        self, location: str, keys: Sequence[VersionKey], deadline: Deadline | None
    ) -> tuple[dict[VersionKey, Confirmation], tuple[str, ...]]:
        """Each vanished version as the subscriptions running deployments of it see it: their catalog of this
        location read once each (only theirs, only for these versions). A list that cannot be read concludes
        nothing for the versions it concerns (named in the problems; the next cycle asks again)."""
        me = self.subscription or THE_WATCHER
        if not keys:
            return {}, ()
        holders: dict[VersionKey, list[str]] = {}
        for key in keys:
            running = {subscription_of(d.account_id) for d in self._deployments_of(location, key)}
            holders[key] = sorted(s for s in running if s is not None and s != self.subscription)
        seen: dict[str, dict[VersionKey, ModelVersion]] = {}
        failed: dict[str, str] = {}
        for sub in sorted({s for subs in holders.values() for s in subs}):
            if self.catalogs is None:
                failed[sub] = "no way to read another subscription's catalog is configured"
                continue
            try:
                if deadline is not None:
                    deadline.check(f"the catalog of {location} was read for subscription {sub}")
                with bounded(deadline):  # its waits end by the deadline, like the watcher's own reads
                    listed = self.catalogs.fetch_models_for(sub, location)
            except ModelWatchError as exc:
                failed[sub] = _describe(exc)
                continue
            seen[sub] = parse_models(listed, formats=self.formats).by_key()
        out: dict[VersionKey, Confirmation] = {}
        problems: list[str] = []
        for key, subs in holders.items():
            listed_for = tuple(s for s in subs if key in seen.get(s, {}))
            out[key] = Confirmation(
                listed=seen[listed_for[0]][key] if listed_for else None,
                listed_for=listed_for,
                not_listed_for=(me, *(s for s in subs if s in seen and s not in listed_for)),
                unread=tuple(s for s in subs if s in failed),
            )
            for sub in out[key].unread:
                problems.append(
                    f"{key}: left the list; not concluded: subscription {sub} runs it and its catalog could not "
                    f"be read ({failed[sub]})"
                )
        for problem in problems:
            log.warning("catalog %s: %s", location, problem)
        return out, tuple(problems)

    def _deployments_of(self, location: str, key: VersionKey) -> list[Deployment]:
        if self.deployments is None:
            return []
        return [
            d
            for d in self.deployments.list_deployments_of(location, key.format, key.name)
            if d.model_format.casefold() == key.format.casefold()
            and d.model_name == key.name
            and d.model_version == key.version
        ]

    def _commit_unchanged(self, unchanged: list[tuple[Cursor, LocationOutcome]]) -> list[LocationOutcome]:
        """Commit the cursors of the unchanged locations at once (each If-Match the etag it was read with)."""
        if not unchanged:
            return []
        try:
            committed = self.store.commit_cursors([(cursor, cursor.etag) for cursor, _ in unchanged])
        except ModelWatchError as exc:
            message = _describe(exc)
            log.error("state update failed for %d unchanged location(s): %s", len(unchanged), message)
            return [LocationOutcome(o.location, STORE_FAILED, error=message) for _, o in unchanged]
        outcomes = []
        for cursor, outcome in unchanged:
            lost = committed.get(cursor.location) is None
            if lost:
                log.warning(
                    "catalog %s: another cycle committed first; this one stops for the location",
                    cursor.location,
                )
            outcomes.append(
                LocationOutcome(cursor.location, CONCURRENT, versions=outcome.versions) if lost else outcome
            )
        return outcomes

    def _note_failure(self, location: str, message: str) -> None:
        """Keep the snapshot; remember the error on the cursor so status pages can show it."""
        try:
            cursor = self.store.get_cursor(location)
            self.store.commit_cursor(
                Cursor(location, None, cursor.last_cycle_at, cursor.anomaly, message[:1000], cursor.cycles),
                expected_etag=cursor.etag,
            )
        except ModelWatchError as exc:  # best effort: the failure is already reported
            log.warning("could not record the failure of %s: %s", location, _describe(exc))

    def _drain(self) -> tuple[tuple[LifecycleEvent, ...], int, str | None]:
        """Publish everything pending (with the catalog digest); drop exactly what went out."""
        result = drain_outbox(self.store, self.publisher, who="catalog cycle")
        if result.error:
            log.error("publishing pending events failed: %s", result.error)
        return result.published, result.still_pending, result.error


def _unchanged(cursor: Cursor, digest: str, now: datetime) -> int | None:
    """The version count when the cursor's fingerprint proves nothing can have changed, else None."""
    if not cursor.fingerprint or cursor.etag is None:
        return None
    stored, due, versions = [*cursor.fingerprint.split("|"), "", "", ""][:3]
    if stored != digest or not versions.isdigit():
        return None
    if due != "-" and parse_instant(due) <= now:
        return None
    return int(versions)


def _describe(exc: BaseException) -> str:
    kind = "transient" if getattr(exc, "is_transient", False) else "permanent"
    text = str(exc) or type(exc).__name__
    return f"{text} ({kind})" if isinstance(exc, ModelWatchError) else f"{type(exc).__name__}: {text}"

"""Catalog news as each team hears it: what a digest's changes mean for the route's own deployments, told once.

For each change the deployments it concerns are read (the inventory, one location and model at a time) and judged
by the policy engine as of now. A route is told a deployment's standing when it changes, not again with a new day
count; told again when it comes back after another, or after being healthy; and every deployment still at risk
when a reminder threshold is crossed. What each route knows is kept in the ledger (``told_key``), read in chunks
and in parallel: a change concerning 12,000 deployments must be told well within Event Grid's 30 s wait.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from shared.domain.alerts import Concerned
from shared.domain.catalog import ModelVersion, VersionKey
from shared.domain.deployments import Deployment
from shared.domain.events import VERSION_SCOPED, EventType, LifecycleEvent
from shared.domain.impact import TOLD
from shared.domain.ledger import LedgerState
from shared.domain.payloads import CatalogDigestData, DigestChange
from shared.domain.policy import Assessment, PolicyRules, Status, assess, concerns
from shared.domain.scope import Scope
from shared.ports import CatalogStateStore, DeploymentStore, Ledger
from shared.services.notify.subscriber import SUBSCRIBER

# Ledger reads and writes at once when telling a change: the standings of every deployment it concerns (Table
# Storage answers each in a few ms; one after another, 12,000 deployments outlast Event Grid's 30 s wait)
LEDGER_CONCURRENCY = 16
LEDGER_READ_CHUNK = 140  # keys per get_many call: ten of Table Storage's 14-key queries

HEALTHY = "healthy"  # the standing recorded, untold, when a deployment a route was told of is healthy again


def told_key(route: str, deployment_key: str) -> str:
    """The ledger key under which the alerts keep the standing ``route`` last knew of a deployment."""
    return "told/" + hashlib.sha256(f"{route}|{deployment_key}".encode()).hexdigest()[:40]


def standing_of(a: Assessment) -> str:
    """A deployment's standing as its route is told it: status, who moves it, to what, when (never the day count,
    nor the planned write's date, which is always now). Kept as the outcome of its ``told_key``."""
    when = "" if a.status is Status.UPGRADE_PLANNED else f"{_day(a.action_date)}"
    sig = "|".join((a.status.value, a.actor, a.target_label or "", when, _day(a.retirement_date)))
    return "standing:" + hashlib.sha256(sig.encode("utf-8")).hexdigest()[:40]


def standing_key(route: str, a: Assessment) -> str:
    """The key of the earlier layout (one done entry per standing ever told): still read, so an upgrade of
    modelwatch does not tell every deployment's standing again."""
    when = "" if a.status is Status.UPGRADE_PLANNED else f"{_day(a.action_date)}"
    sig = "|".join(
        (
            route,
            a.deployment.key,
            a.status.value,
            a.actor,
            a.target_label or "",
            when,
            _day(a.retirement_date),
        )
    )
    return "standing/" + hashlib.sha256(sig.encode("utf-8")).hexdigest()[:40]


def _day(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d}" if value is not None else ""


def _dated_for(change: DigestChange, entry: ModelVersion | None, sku: str, now: datetime) -> bool:
    """Whether a dated change is about this deployment's SKU: a date approaching that is another SKU's (the
    provisioned date of a version whose Standard date passed), or a partial retirement of other SKUs, is not."""
    if entry is None:
        return True  # a fine-tune (its base model's news) or a version gone from the catalog: tell it
    if change.event_type == EventType.RETIREMENT_APPROACHING and change.retirement_date is not None:
        return entry.retirement_for_sku(sku) == change.retirement_date
    if change.event_type == EventType.VERSION_RETIRED and change.fully_retired is False:
        return entry.is_retired_for(sku, now)
    return True


def _decisions(concerned: Concerned) -> Iterator[tuple[int, str, Assessment]]:
    """(change index, route, decision) of every deployment the alerts judge by its standing, changes in order:
    the told statuses and healthy ones, not modelwatch's own writes (told by the upgrade, held and batched, or
    by its failure, whichever the alerts see first)."""
    for i in sorted(concerned):
        for route, assessments in concerned[i].items():
            for a in assessments:
                if not a.write and (a.status in TOLD or a.status is Status.HEALTHY):
                    yield i, route, a


@dataclass(frozen=True)
class TeamNews:
    """What a digest means for each route's deployments, and which standings each route has not been told."""

    ledger: Ledger
    deployments: DeploymentStore
    state: CatalogStateStore
    scope: Scope
    rules: PolicyRules
    route_of: Callable[[str | None], str]  # the configured route a deployment's tag names

    def concerned(self, digest: LifecycleEvent, now: datetime) -> Concerned:
        """Per change of the digest, per route: the engine's decisions for the deployments the change concerns
        (read one location and model at a time)."""
        from shared.services.policy import catalog_view

        data = digest.payload_as(CatalogDigestData)
        views: dict[str, dict[VersionKey, ModelVersion]] = {}
        out: dict[int, dict[str, list[Assessment]]] = {}
        for i, change in enumerate(data.changes):
            for location in change.locations:
                if not self.scope.covers_location(location):
                    continue
                if location not in views:
                    views[location] = catalog_view(self.state, location)
                for d in self._deployments(change, location, views[location], now):
                    a = assess(d, views[location], now, self.rules)
                    out.setdefault(i, {}).setdefault(self.route_of(d.route), []).append(a)
        return out

    def read(self, digest: LifecycleEvent, now: datetime) -> tuple[Concerned, dict[str, str]]:
        """What to tell each route of a digest: per change, the decisions for its deployments whose standing the
        route does not know yet (told when it changes, not again with a new day count; told again when it comes
        back after another, or after being healthy), plus every deployment still at risk when a reminder threshold
        is crossed. And the standings to record once told (by ``told_key``)."""
        concerned = self.concerned(digest, now)
        changes = digest.payload_as(CatalogDigestData).changes
        # read what each route knows of its deployments' standings, all at once
        keys: dict[str, list[str]] = {}  # told key -> the earlier layout's keys of its standings now
        for _, route, a in _decisions(concerned):
            legacy = keys.setdefault(told_key(route, a.deployment.key), [])
            if a.status in TOLD:
                legacy.append(standing_key(route, a))
        known = self._known(set(keys))
        # the earlier layout, read only for the deployments with no standing recorded since
        known |= self._known({k for told, old in keys.items() if told not in known for k in old})
        news: dict[int, dict[str, list[Assessment]]] = {}
        record: dict[str, str] = {}
        seen: set[tuple[str, str]] = set()  # a deployment is told once per digest, under its first change
        for i, route, a in _decisions(concerned):
            key = told_key(route, a.deployment.key)
            if (route, a.deployment.key) in seen:
                continue
            if a.status is Status.HEALTHY:
                if known.get(key, HEALTHY) != HEALTHY:  # told of before: a later return is news again
                    record[key] = HEALTHY
                continue
            standing = standing_of(a)
            # the earlier layout's entry counts only while the route has no standing recorded since
            told = known.get(key) == standing or (key not in known and standing_key(route, a) in known)
            reminder = (
                changes[i].event_type == EventType.RETIREMENT_APPROACHING and a.status is Status.AT_RISK
            )
            if told and not reminder:
                continue
            seen.add((route, a.deployment.key))
            news.setdefault(i, {}).setdefault(route, []).append(a)
            record[key] = standing
        return news, record

    def _known(self, keys: set[str]) -> dict[str, str]:
        """The outcomes of the done ledger entries among these keys: the ledger read in chunks (a few keys a
        request in Table Storage), LEDGER_CONCURRENCY chunks at a time; a change concerning 12,000 deployments
        must be told well within Event Grid's 30 s wait, not after it."""
        ordered = sorted(keys)
        chunks = [ordered[i : i + LEDGER_READ_CHUNK] for i in range(0, len(ordered), LEDGER_READ_CHUNK)]

        def done(chunk: list[str]) -> dict[str, str]:
            found = self.ledger.get_many(SUBSCRIBER, chunk)
            return {k: e.outcome for k, e in found.items() if e.status == LedgerState.DONE}

        out: dict[str, str] = {}
        if len(chunks) <= 1:
            for c in chunks:
                out.update(done(c))
            return out
        with ThreadPoolExecutor(min(LEDGER_CONCURRENCY, len(chunks)), thread_name_prefix="ledger") as pool:
            for part in pool.map(done, chunks):
                out.update(part)
        return out

    def _deployments(
        self, change: DigestChange, location: str, view: Mapping[VersionKey, ModelVersion], now: datetime
    ) -> list[Deployment]:
        if not change.model_name:
            return []  # a catalog anomaly concerns no deployment
        version = change.model_version if change.event_type in VERSION_SCOPED else None
        return [
            d  # one location and model's slice of the inventory: reads in proportion to what the change touches
            for d in self.deployments.list_deployments_of(location, change.model_format, change.model_name)
            if concerns(d, change.model_format, change.model_name, version)
            and self.scope.unwatched_reason(d) is None
            and _dated_for(change, view.get(d.version_key), d.sku_name, now)
        ]

"""DeploymentStore and VersionChangeStore on Azure Table Storage: the inventory and its change history.

Layout (``<prefix>`` defaults to ``ModelWatch``):
- ``<prefix>Deployments``: each deployment twice or three times, RowKey = the deployment key (resource id, ASCII
  lower-cased as ARM compares it) everywhere:
  - PartitionKey "deployment": the record of every deployment, properties ``Body`` (JSON) and ``Slices`` (the
    partitions holding its copies, JSON). The refresh and the status page read it whole (one query, pages of
    1,000); ``delete_deployments`` is given only keys, and finds the copies through ``Slices``.
  - PartitionKey ``<location>|<model name>`` (a "slice"; location casefolded): a copy (``Body``) of each
    deployment of that model in that location, and of each fine-tune whose base model has that name. A catalog
    event reads its model's slice: one single-partition query, whatever the size of the inventory. No format in
    the key: a fine-tune's base model is named without one, and a format is filtered after the read.
  - PartitionKey "layout", RowKey "v2-model-slices": written once the inventory has its slices (see
    ``TableDeploymentStore._ensure_layout``: an inventory saved before slices existed is given them).
  Batches stay within one partition (a transaction allows no other), 100 to a transaction.
- ``<prefix>Rollbacks``: PartitionKey = the deployment id ASCII lower-cased (what ``list_changes`` filters on),
  RowKey = the record id; properties ``Body`` (JSON) and ``ChangedAt``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shared.adapters.storage.errors import status_of
from shared.adapters.storage.keys import encode_key, id_key
from shared.adapters.storage.records import (
    change_from_json,
    change_to_json,
    deployment_from_json,
    deployment_to_json,
    exact_instant,
)
from shared.adapters.tables.base import MAX_BATCH_OPERATIONS, TableStore
from shared.domain.changes import VersionChange
from shared.domain.deployments import Deployment, is_of_model, model_slices
from shared.domain.ids import arm_key, subscription_of, subscription_prefix
from shared.errors import PermanentError

if TYPE_CHECKING:
    from azure.data.tables import TableClient, TableEntity, TableServiceClient

log = logging.getLogger(__name__)

DEPLOYMENT_PARTITION = "deployment"  # the record of every deployment; its copies are in model slices
LAYOUT_PARTITION, LAYOUT_ROW = "layout", "v2-model-slices"  # the inventory has its slices
SLICES = "Slices"
POINT_READS = (
    16  # a save or delete of up to this many deployments reads their records one by one, more: a scan
)


def slice_partition(location: str, model_name: str) -> str:
    """The partition of a model's deployments in a location (``model_slices`` pairs)."""
    # id_key: a model name too long for a key (none is) is hashed rather than refused; '|' is in no ARM name
    return id_key(f"{location.casefold()}|{model_name}")


def _slices_of(d: Deployment) -> frozenset[str]:
    return frozenset(slice_partition(location, name) for location, name in model_slices(d))


def _dump_slices(partitions: Iterable[str]) -> str:
    return json.dumps(sorted(partitions), separators=(",", ":"))


def _load_slices(entity: Mapping[str, Any]) -> frozenset[str]:
    raw = entity.get(SLICES)
    if raw is None:
        return frozenset()  # a row of the old layout: it has no copies
    try:
        value = json.loads(str(raw))
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise TypeError("Slices is not a list of partition keys")
    except (ValueError, TypeError) as exc:
        raise PermanentError(f"stored deployment {entity.get('RowKey')!r} is unreadable: {exc!r}") from exc
    return frozenset(value)


class TableDeploymentStore(TableStore):
    """DeploymentStore and VersionChangeStore on two Azure tables (layout: see the module docstring).

    Thread-safe. Every method raises TransientError (network, throttling, 5xx: retry later) or PermanentError
    (4xx, bad configuration, a key over 1 KiB, an unreadable stored entity). ``transactions`` counts REST calls
    (billing units), ``writes`` entity writes, ``entities_read`` the entities reads returned.

    A save writes, in this order: the deployment's record grows its ``Slices`` to old + new (MERGE), the copies in
    the new slices, deletes of the copies in slices it left, the record itself (``Body`` and exactly the new
    ``Slices``). A crash anywhere leaves ``Slices`` covering every copy, and the record's body unchanged, so the
    next refresh sees a difference, saves again and removes what was left behind. A brand-new deployment
    interrupted after its first step has a record without ``Body``: not listed, saved again by the next refresh.
    """

    _SUFFIXES = ("Deployments", "Rollbacks")

    def __init__(
        self, service: TableServiceClient, *, table_prefix: str = "ModelWatch", read_only: bool = False
    ) -> None:
        super().__init__(service, table_prefix=table_prefix, read_only=read_only)
        self.deployments_table = f"{table_prefix}Deployments"
        self.rollbacks_table = f"{table_prefix}Rollbacks"
        self._layout_checked = False
        self._layout_lock = threading.Lock()

    # inventory

    def list_deployments(self) -> list[Deployment]:
        return self._read_all()

    def list_deployments_in(self, subscriptions: Sequence[str]) -> list[Deployment]:
        self._ensure_layout()
        found = [
            deployment_from_json(str(e["Body"]), row=str(e["RowKey"]))
            for e in self._records_of(
                sorted({subscription_prefix(s) for s in subscriptions}), "listing deployments"
            )
            if e.get("Body") is not None  # a first save interrupted after its first step: not saved yet
        ]
        return sorted(found, key=lambda d: d.key)

    def _records_of(
        self, prefixes: Sequence[str], action: str, select: list[str] | None = None
    ) -> list[TableEntity]:
        """The records (not the slice copies) whose id starts with one of ``prefixes``: a RowKey range each. Keys
        are the percent-encoded id, or its readable head and a hash (``id_key``): either starts with the
        encoded prefix, so the range holds them all."""
        table = self._table(self.deployments_table)
        entities: list[TableEntity] = []
        for prefix in prefixes:
            low = encode_key(prefix)
            high = low[:-1] + chr(ord(low[-1]) + 1)
            entities += self._query(
                table,
                action,
                "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
                {"pk": DEPLOYMENT_PARTITION, "low": low, "high": high},
                select=select,
            )
        return entities

    def list_deployments_of(self, location: str, model_format: str, model_name: str) -> list[Deployment]:
        self._ensure_layout()
        table = self._table(self.deployments_table)
        partition = slice_partition(location, model_name)
        entities = self._query_partition(
            table, partition, f"listing deployments of {model_name} in {location}"
        )
        found: dict[str, Deployment] = {}
        for e in entities:
            d = deployment_from_json(str(e.get("Body")), row=str(e["RowKey"]))
            if is_of_model(
                d, location, model_format, model_name
            ):  # another format of the same name stays out
                found[d.key] = d
        return sorted(found.values(), key=lambda d: d.key)

    def save_deployments(self, deployments: Sequence[Deployment]) -> None:
        if not deployments:
            return
        # An entity may appear once per batch; as in the in-memory store, the last copy of a key wins.
        unique = {id_key(d.key): d for d in deployments}
        self._ensure_layout()
        action = "saving deployments"
        table = self._table(self.deployments_table)
        known = self._known_slices({row: d.key for row, d in unique.items()}, action)
        wanted = {row: _slices_of(d) for row, d in unique.items()}
        bodies = {row: deployment_to_json(d) for row, d in unique.items()}
        growing = [
            {
                "PartitionKey": DEPLOYMENT_PARTITION,
                "RowKey": row,
                SLICES: _dump_slices(known.get(row, frozenset()) | new),
            }
            for row, new in wanted.items()
            if not new <= known.get(row, frozenset())
        ]
        if growing:  # first, so that Slices covers every copy even if what follows is interrupted
            self._upsert_all(table, growing, action, merge=True)
        copies: dict[str, list[dict[str, Any]]] = {}
        stale: dict[str, list[str]] = {}
        for row, partitions in wanted.items():
            for partition in partitions:
                copies.setdefault(partition, []).append(
                    {"PartitionKey": partition, "RowKey": row, "Body": bodies[row]}
                )
            for partition in known.get(row, frozenset()) - partitions:  # moved to another model
                stale.setdefault(partition, []).append(row)
        for _, entities in sorted(copies.items()):
            self._upsert_all(table, entities, action)
        for partition, rows in sorted(stale.items()):
            self._delete_all(self.deployments_table, partition, rows, action, keyed=str)
        records = [
            {
                "PartitionKey": DEPLOYMENT_PARTITION,
                "RowKey": row,
                "Body": bodies[row],
                SLICES: _dump_slices(wanted[row]),
            }
            for row in unique
        ]
        self._upsert_all(table, records, action)

    def delete_deployments(self, keys: Sequence[str]) -> None:
        rows: dict[str, str] = {}
        for key in keys:
            try:
                rows[id_key(arm_key(key))] = arm_key(key)
            except PermanentError:
                continue  # not text a key can hold, so never written: absent, and absent keys are ignored
        if not rows:
            return
        self._ensure_layout()
        action = "deleting deployments"
        known = self._known_slices(rows, action)
        copies: dict[str, list[str]] = {}
        for row, partitions in known.items():
            for partition in partitions:
                copies.setdefault(partition, []).append(row)
        for partition, in_partition in sorted(copies.items()):
            self._delete_all(self.deployments_table, partition, in_partition, action, keyed=str)
        # the records last: an interrupted delete keeps the record, so the next refresh deletes again
        self._delete_all(self.deployments_table, DEPLOYMENT_PARTITION, list(rows), action, keyed=str)

    def _read_all(self) -> list[Deployment]:
        table = self._table(self.deployments_table)
        entities = self._query_partition(table, DEPLOYMENT_PARTITION, "listing deployments")
        found: list[Deployment] = []
        old_layout: list[tuple[Deployment, TableEntity]] = []
        for e in entities:
            if e.get("Body") is None:
                continue  # a first save interrupted after its first step: not saved yet (see the class docstring)
            d = deployment_from_json(str(e["Body"]), row=str(e["RowKey"]))
            found.append(d)
            if SLICES not in e:
                old_layout.append((d, e))
        if old_layout and not self.read_only:
            self._give_slices(old_layout)
        return sorted(found, key=lambda d: d.key)

    def _known_slices(self, rows: Mapping[str, str], action: str) -> dict[str, frozenset[str]]:
        """The recorded slices of these deployments (``rows``: row key -> canonical id; absent ones left out): a
        few are read one by one, more with one scan of their subscriptions' records (a refresh part saves one
        subscription's), or of the whole partition when they span many."""
        table = self._table(self.deployments_table)
        select = ["RowKey", SLICES]
        if len(rows) <= POINT_READS:
            found = [self._get(table, DEPLOYMENT_PARTITION, row, action, select=select) for row in rows]
            entities = [e for e in found if e is not None]
        else:
            subscriptions = {subscription_of(key) for key in rows.values()}
            if None not in subscriptions and len(subscriptions) <= POINT_READS:
                prefixes = sorted(subscription_prefix(s) for s in subscriptions if s is not None)
                every = self._records_of(prefixes, action, select=select)
            else:
                every = self._query(
                    table, action, "PartitionKey eq @pk", {"pk": DEPLOYMENT_PARTITION}, select=select
                )
            entities = [e for e in every if str(e["RowKey"]) in rows]
        return {str(e["RowKey"]): _load_slices(e) for e in entities}

    def _ensure_layout(self) -> None:
        """Once per store instance (one point read): make sure the inventory has its slices. An inventory saved
        by a version of modelwatch before slices existed has only records without ``Slices``: the first full read
        gives each its copies (``_give_slices``), and then the layout marker is written."""
        # held while a first read gives an old inventory its slices: this instance's other callers wait for it
        with self._layout_lock:
            if self._layout_checked:
                return
            table = self._table(self.deployments_table)
            action = "reading the inventory's layout"
            if self._get(table, LAYOUT_PARTITION, LAYOUT_ROW, action) is None:
                if self.read_only:
                    return  # the old layout is read as it is; the first writer gives it its slices
                self._read_all()
                self._upsert_all(table, [{"PartitionKey": LAYOUT_PARTITION, "RowKey": LAYOUT_ROW}], action)
            self._layout_checked = True

    def _give_slices(self, old_layout: list[tuple[Deployment, TableEntity]]) -> None:
        """Records without ``Slices`` (the old layout, or written by an old instance during a rollout) get their
        copies, then ``Slices``, guarded by the ETag they were read with: a record changed in between was saved by
        someone else, whose copies are refreshed from what the record says now (``_after_race``)."""
        from azure.core import MatchConditions
        from azure.data.tables import TableTransactionError, UpdateMode

        action = "giving deployments their model slices"
        table = self._table(self.deployments_table)
        copies: dict[str, list[dict[str, Any]]] = {}
        for d, e in old_layout:
            for partition in _slices_of(d):
                copies.setdefault(partition, []).append(
                    {"PartitionKey": partition, "RowKey": e["RowKey"], "Body": e["Body"]}
                )
        for _, entities in sorted(copies.items()):
            self._upsert_all(table, entities, action)
        marks = [
            (
                {
                    "PartitionKey": DEPLOYMENT_PARTITION,
                    "RowKey": e["RowKey"],
                    SLICES: _dump_slices(_slices_of(d)),
                },
                str(e.metadata["etag"]),
                _slices_of(d),
            )
            for d, e in old_layout
        ]
        for start in range(0, len(marks), MAX_BATCH_OPERATIONS):
            chunk = marks[start : start + MAX_BATCH_OPERATIONS]
            guarded = {"mode": UpdateMode.MERGE, "match_condition": MatchConditions.IfNotModified}
            with self._translate(action):
                self._count(writes=len(chunk))
                try:
                    table.submit_transaction(
                        ("update", mark, {**guarded, "etag": etag}) for mark, etag, _ in chunk
                    )
                    continue
                except TableTransactionError:
                    pass  # one of them changed since it was read: take them one by one
            for mark, etag, ours in chunk:
                if not self._guarded_merge(table, mark, etag, action):
                    self._after_race(str(mark["RowKey"]), ours, action)
        log.info("gave %d deployment(s) of the old inventory layout their model slices", len(old_layout))

    def _guarded_merge(self, table: TableClient, entity: dict[str, Any], etag: str, action: str) -> bool:
        """MERGE if the entity still has ``etag``; False when it changed or went since."""
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError
        from azure.data.tables import UpdateMode

        with self._translate(action):
            self._count(writes=1)
            try:
                table.update_entity(
                    entity, mode=UpdateMode.MERGE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
            except HttpResponseError as exc:
                if status_of(exc) in (404, 412):
                    return False
                raise
        return True

    def _after_race(self, row: str, ours: frozenset[str], action: str) -> None:
        """A record changed while its copies were being made from what it said before: the copies follow it."""
        table = self._table(self.deployments_table)
        current = self._get(table, DEPLOYMENT_PARTITION, row, action)
        theirs = _load_slices(current) if current is not None else frozenset()
        if current is not None and current.get("Body") is not None and SLICES not in current:
            return  # rewritten in the old layout again (an old instance): the next full read handles it
        if current is not None and current.get("Body") is not None:
            for partition in sorted(theirs):  # ours may have overwritten a newer copy with the older body
                self._upsert_all(
                    table, [{"PartitionKey": partition, "RowKey": row, "Body": current["Body"]}], action
                )
        for partition in sorted(ours - theirs):  # copies the record does not know would never be cleaned
            self._delete_all(self.deployments_table, partition, [row], action, keyed=str)

    # rollbacks

    def add_change(self, record: VersionChange) -> None:
        from azure.core.exceptions import HttpResponseError

        entity = {
            "PartitionKey": id_key(arm_key(record.deployment_id)),
            "RowKey": encode_key(record.id),
            "ChangedAt": exact_instant(record.changed_at),
            "Body": change_to_json(record),
        }
        table = self._table(self.rollbacks_table)
        with self._translate(f"recording rollback {record.id}"):
            self._count(writes=1)
            try:
                table.create_entity(entity)
            except HttpResponseError as exc:
                # 409: recorded before; first writer wins, like the in-memory store (an id names one change)
                if status_of(exc) != 409:
                    raise

    def list_changes(self, deployment_id: str | None = None) -> list[VersionChange]:
        action = "listing rollback records"
        if deployment_id is None:
            entities = self._query(self._table(self.rollbacks_table), action)
        else:
            partition = id_key(arm_key(deployment_id))
            entities = self._query_partition(self._table(self.rollbacks_table), partition, action)
        records = [change_from_json(str(e.get("Body")), row=str(e["RowKey"])) for e in entities]
        return sorted(records, key=lambda r: (r.changed_at, r.id), reverse=True)

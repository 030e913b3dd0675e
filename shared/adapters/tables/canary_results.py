"""Stored canary results on Azure Table Storage (the CanaryResults port), beside the other tables of STATE_STORE.

Layout: table ``<prefix>CanaryResults``; PartitionKey: a name-based UUID of the deployment's canonical id (ARM ids
hold '/', which keys may not), so one deployment's results are one partition query (the status page's line);
RowKey: ``result_id`` (deployment, suite, target, instant), so saving a run twice is one entity. The document is
JSON text cut into ``Doc0``..``DocN`` (a string property holds at most 32,768 UTF-16 code units; a part is at most
16,000 characters, which stays under that whatever the characters) within the 1 MiB entity: at most 14 parts. A
document larger than that (whole outputs kept by CANARY_STORE_OUTPUTS) is stored without the outputs, saying so.
"""

from __future__ import annotations

import json
from typing import Any

from shared.adapters.storage.records import ordered_results
from shared.adapters.tables.base import TableStore
from shared.domain.canary import CanaryResult, result_id
from shared.domain.events import JsonValue
from shared.domain.ids import arm_key, event_id
from shared.errors import PermanentError

PART = 16_000
MAX_PARTS = (
    14  # 14 x 16,000 characters x at most 4 bytes in UTF-16 < 1 MiB with the keys and other properties
)
DROPPED = "the outputs were not stored: the result is over Table Storage's entity size"


def _partition(deployment_id: str) -> str:
    return event_id("canary-results", arm_key(deployment_id))


def _without_outputs(doc: dict[str, JsonValue]) -> dict[str, JsonValue]:
    cases = doc.get("cases")
    slim: list[JsonValue] = []
    for case in cases if isinstance(cases, list) else []:
        slim.append(
            {
                k: ({kk: vv for kk, vv in v.items() if kk != "outputs"} if isinstance(v, dict) else v)
                for k, v in case.items()
            }
            if isinstance(case, dict)
            else case
        )
    return {**doc, "cases": slim, "truncated": DROPPED}


class TableCanaryResults(TableStore):
    """CanaryResults on an Azure table. Raises TransientError (network, throttling, 5xx) or PermanentError (4xx,
    a document too large even without outputs, an unreadable stored entity)."""

    _SUFFIXES = ("CanaryResults",)

    def __init__(self, service: Any, *, table_prefix: str = "ModelWatch", read_only: bool = False) -> None:
        super().__init__(service, table_prefix=table_prefix, read_only=read_only)
        self.results_table = f"{table_prefix}CanaryResults"

    def save(self, result: CanaryResult) -> None:
        from azure.data.tables import UpdateMode

        doc = result.to_json()
        text = json.dumps(doc, ensure_ascii=False, sort_keys=True)
        if len(text) > PART * MAX_PARTS:
            text = json.dumps(_without_outputs(doc), ensure_ascii=False, sort_keys=True)
            if len(text) > PART * MAX_PARTS:
                raise PermanentError(
                    f"the canary result of {result.deployment.rsplit('/', 1)[-1]} is {len(text)} characters "
                    f"even without outputs: over Table Storage's entity size"
                )
        parts = [text[i : i + PART] for i in range(0, len(text), PART)] or [""]
        entity: dict[str, Any] = {
            "PartitionKey": _partition(result.deployment),
            "RowKey": result_id(result),
            "Deployment": arm_key(result.deployment),
            "At": str(doc.get("at") or ""),
            "Parts": len(parts),
            **{f"Doc{i}": part for i, part in enumerate(parts)},
        }
        table = self._table(self.results_table)
        with self._translate("saving a canary result"):
            self._count(writes=1)
            table.upsert_entity(entity, mode=UpdateMode.REPLACE)  # REPLACE: no part of a longer save is left

    def list_results(self, deployment_id: str | None = None) -> list[dict[str, JsonValue]]:
        table = self._table(self.results_table)
        if deployment_id is None:
            entities = self._query(table, "reading canary results")
        else:
            entities = self._query_partition(
                table, _partition(deployment_id), "reading a deployment's canary results"
            )
        return ordered_results([(str(e.get("RowKey")), self._doc(e)) for e in entities])

    @staticmethod
    def _doc(entity: Any) -> dict[str, JsonValue]:
        row = entity.get("RowKey")
        try:
            parts = int(entity["Parts"])
            doc = json.loads("".join(str(entity[f"Doc{i}"]) for i in range(parts)))
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentError(f"stored canary result {row!r} is unreadable: {exc!r}") from exc
        if not isinstance(doc, dict):
            raise PermanentError(f"stored canary result {row!r} is not a JSON object")
        return doc

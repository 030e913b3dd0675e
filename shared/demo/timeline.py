"""The demo's story: the timeline file (``shared/data/timeline.json``, real Azure OpenAI lifecycle history with
its sources), and the model catalog it implies on any date, as ARM's Models - List would have answered then."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.domain.catalog import sku_candidates
from shared.domain.events import JsonValue
from shared.domain.timeutil import parse_instant

TIMELINE = Path(__file__).parent.parent / "data" / "timeline.json"


def parse_day(text: str | None) -> datetime | None:
    """A date of the timeline ("2026-03-09"), or None where it has none."""
    return None if not text else parse_instant(text)


@dataclass
class Timeline:
    """The timeline file, and the catalog it implies on any date."""

    raw: dict[str, Any]
    locations: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Timeline:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(raw, list(raw["locations"]))

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self.raw["steps"])

    @property
    def span(self) -> str:
        """ "2024-03 to 2026-10": what the story covers, from its first and last steps."""
        first, last = self.steps[0]["at"][:7], self.steps[-1]["at"][:7]
        return f"{first} to {last}"

    def _latest(self, entries: list[dict[str, Any]], at: datetime) -> dict[str, Any] | None:
        known = [e for e in entries if parse_instant(e["from"]) <= at]
        return known[-1] if known else None

    def default_of(self, model: str, at: datetime) -> str | None:
        for v in self.raw["versions"]:
            if v["model"] == model and any(
                parse_instant(a) <= at and (b is None or at < parse_instant(b))
                for a, b in v.get("default", [])
            ):
                return str(v["version"])
        return None

    def newer(self, model: str, candidate: str, current: str) -> bool:
        created = {v["version"]: v["created"] for v in self.raw["versions"] if v["model"] == model}
        return candidate in created and current in created and created[candidate] > created[current]

    def replacement_of(self, model: str, version: str, at: datetime) -> dict[str, Any] | None:
        """The latest replacement announced by ``at``: {"toModel", "to", "start"?, "leadDays"?}."""
        for v in self.raw["versions"]:
            if (v["model"], v["version"]) == (model, version):
                upgrade = self._latest(v.get("upgrade", []), at)
                if upgrade is not None:
                    return {"toModel": upgrade.get("toModel", model), **upgrade}
        return None

    def lifecycle_of(self, model: str, version: str, at: datetime) -> str | None:
        for v in self.raw["versions"]:
            if (v["model"], v["version"]) == (model, version):
                fact = self._latest(v.get("facts", []), at) or {}
                return fact.get("lifecycle")
        return None

    def first_retirement(self, model: str, version: str, at: datetime) -> datetime | None:
        """The first date any deployment type of the version stops: the one its auto-upgrade start belongs to."""
        for v in self.raw["versions"]:
            if (v["model"], v["version"]) == (model, version):
                fact = self._latest(v.get("facts", []), at) or {}
                dates = [
                    parse_day(fact.get("retires")),
                    *(parse_day(x) for x in fact.get("skuRetires", {}).values()),
                ]
                known = [d for d in dates if d is not None]
                return min(known) if known else None
        return None

    def retirement_of(self, model: str, version: str, sku: str, at: datetime) -> datetime | None:
        """The date a deployment of this SKU stops: its SKU's own date (matched as modelwatch matches it)."""
        for v in self.raw["versions"]:
            if (v["model"], v["version"]) == (model, version):
                fact = self._latest(v.get("facts", []), at) or {}
                own = {k.casefold(): d for k, d in fact.get("skuRetires", {}).items()}
                for candidate in sku_candidates(sku):
                    if candidate in own:
                        return parse_day(own[candidate])
                return parse_day(fact.get("retires"))
        return None

    @staticmethod
    def _sku(name: str, model: str, fact: dict[str, Any]) -> dict[str, Any]:
        """A SKU entry; ``skuRetires`` in a fact gives a deployment type its own date (Provisioned, Global, ...)."""
        sku: dict[str, Any] = {"name": name, "usageName": f"OpenAI.{name}.{model}"}
        own = fact.get("skuRetires", {}).get(name)
        if own:
            sku["deprecationDate"] = f"{own}T00:00:00Z"
        return sku

    def items(self, at: datetime, runs: frozenset[tuple[str, str]] | None = None) -> list[JsonValue]:
        """Models - List items as the catalog showed them on ``at``, to a subscription running ``runs`` (model,
        version) pairs (None: every version, as to a subscription that runs them all)."""
        return list(self.models(at, runs))

    def models(self, at: datetime, runs: frozenset[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for v in self.raw["versions"]:
            if parse_instant(v["created"]) > at:
                continue
            fact = self._latest(v.get("facts", []), at) or {}
            if (
                fact.get("existingCustomersOnly")
                and runs is not None
                and (v["model"], v["version"]) not in runs
            ):
                # Learn's Deprecated stage: "no longer available to new customers", listed only to subscriptions
                # that have deployed it ("existing customer is determined at the subscription level")
                continue
            retires = parse_day(fact.get("retires"))
            dates = [d for d in (retires, *(parse_day(x) for x in fact.get("skuRetires", {}).values())) if d]
            last = max(dates) if dates else None  # "Deprecated" (retired) once every deployment type is past
            status = (
                "Deprecated"
                if last is not None and last <= at
                else fact.get("lifecycle", "GenerallyAvailable")
            )
            model: dict[str, Any] = {
                "format": v.get("format", "OpenAI"),
                "name": v["model"],
                "version": v["version"],
                "lifecycleStatus": status,
                "isDefaultVersion": self.default_of(v["model"], at) == v["version"],
                "systemData": {"createdAt": f"{v['created']}T00:00:00Z"},
                "skus": [self._sku(s, v["model"], fact) for s in v.get("skus", ["Standard"])],
            }
            if retires is not None:
                model["deprecation"] = {
                    "inference": f"{fact['retires']}T00:00:00Z",
                    "deprecationStatus": fact.get("status", "Tentative"),
                }
            upgrade = self.replacement_of(v["model"], v["version"], at)
            if upgrade is not None:
                config: dict[str, Any] = {
                    "targetModelName": upgrade["toModel"],
                    "targetModelVersion": upgrade["to"],
                }
                if upgrade.get("start"):
                    config["autoUpgradeStartDate"] = f"{upgrade['start']}T00:00:00Z"
                if upgrade.get("leadDays") is not None:
                    config["upgradeOnExpiryLeadTimeDays"] = upgrade["leadDays"]
                model["replacementConfig"] = config
            kind = "AIServices" if v.get("format", "OpenAI") != "OpenAI" else "OpenAI"
            out.append({"kind": kind, "skuName": "S0", "model": model})
        return out

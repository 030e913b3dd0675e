"""A simulated Azure for the demo: a model catalog that follows a dated timeline, and deployments that Azure
itself upgrades by the documented rules. It implements the same ports as ARM (CatalogSource, DeploymentApi), so
the demo runs the real services over it.

Azure's own moves, as documented (azure-facts §2.3): ``OnceNewDefaultVersionAvailable`` deployments are moved to a
new default from its auto-upgrade start; ``OnceCurrentVersionExpired`` (or absent) ones are moved at retirement,
here a few days late (Azure's rollout is not instant, which is when modelwatch's enforcement steps in);
``NoAutoUpgrade`` and provisioned deployments are never moved.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared.domain.deployments import PROVISIONED_SKUS
from shared.domain.events import JsonValue
from shared.domain.timeutil import parse_instant

SUBSCRIPTION = "00000000-0000-0000-0000-00000000d3e0"
GROUP = "demo"
EXPIRY_LAG = timedelta(days=3)  # Azure's upgrade-on-expiry lands a few days after the date in this story


def _day(text: str | None) -> datetime | None:
    return None if text is None else parse_instant(text)


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

    @staticmethod
    def _sku(name: str, model: str, fact: dict[str, Any]) -> dict[str, Any]:
        """A SKU entry; ``skuRetires`` in a fact gives a deployment type its own date (Provisioned, Global, ...)."""
        sku: dict[str, Any] = {"name": name, "usageName": f"OpenAI.{name}.{model}"}
        own = fact.get("skuRetires", {}).get(name)
        if own:
            sku["deprecationDate"] = f"{own}T00:00:00Z"
        return sku

    def items(self, at: datetime) -> list[JsonValue]:
        """Models - List items as the catalog showed them on ``at``."""
        return list(self.models(at))

    def models(self, at: datetime) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for v in self.raw["versions"]:
            if parse_instant(v["created"]) > at:
                continue
            fact = self._latest(v.get("facts", []), at) or {}
            retires = _day(fact.get("retires"))
            status = (
                "Deprecated"
                if retires is not None and retires <= at
                else fact.get("lifecycle", "GenerallyAvailable")
            )
            model: dict[str, Any] = {"format": "OpenAI", "name": v["model"], "version": v["version"],
                                     "lifecycleStatus": status,
                                     "isDefaultVersion": self.default_of(v["model"], at) == v["version"],
                                     "systemData": {"createdAt": f"{v['created']}T00:00:00Z"},
                                     "skus": [self._sku(s, v["model"], fact) for s in v.get("skus", ["Standard"])]}  # fmt: skip
            if retires is not None:
                model["deprecation"] = {"inference": f"{fact['retires']}T00:00:00Z",
                                        "deprecationStatus": fact.get("status", "Tentative")}  # fmt: skip
            upgrade = self._latest(v.get("upgrade", []), at)
            if upgrade is not None:
                model["replacementConfig"] = {"targetModelName": v["model"], "targetModelVersion": upgrade["to"],
                                              "autoUpgradeStartDate": f"{upgrade['start']}T00:00:00Z"}  # fmt: skip
            out.append({"kind": "OpenAI", "skuName": "S0", "model": model})
        return out


class SimulatedAzure:
    """CatalogSource and DeploymentApi over the timeline; ``advance(at)`` moves the clock and applies Azure's rules."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.at = parse_instant(timeline.steps[0]["at"])
        self.flaky: set[str] = set()  # locations whose next listing comes back half-empty
        self.accounts: dict[str, dict[str, JsonValue]] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.puts = 0
        for a in timeline.raw["accounts"]:
            rid = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.CognitiveServices/accounts/{a['name']}"
            self.accounts[rid.casefold()] = {
                "id": rid,
                "name": a["name"],
                "kind": "OpenAI",
                "location": a["location"],
            }
        for d in timeline.raw["deployments"]:
            account = next(v for v in self.accounts.values() if v["name"] == d["account"])
            rid = f"{account['id']}/deployments/{d['name']}"
            props: dict[str, Any] = {"model": {"format": "OpenAI", "name": d["model"], "version": d["version"]},
                                     "provisioningState": "Succeeded", "raiPolicyName": "Microsoft.DefaultV2"}  # fmt: skip
            if d.get("policy"):
                props["versionUpgradeOption"] = d["policy"]
            self.deployments[rid.casefold()] = {"id": rid, "name": d["name"], "sku": {"name": d.get("sku", "Standard"), "capacity": 50},
                                                "tags": {"modelwatch:route": d["route"]} if d.get("route") else {},
                                                "properties": props}  # fmt: skip

    # CatalogSource
    def fetch_models(self, location: str) -> list[JsonValue]:
        items = self.timeline.items(self.at)
        if location in self.flaky:
            self.flaky.discard(location)
            return items[:2]  # a listing that came back half-empty: the watcher must not conclude retirements
        return items

    # DeploymentApi
    def list_accounts(self, subscription_id: str) -> list[JsonValue]:
        return [copy.deepcopy(a) for a in self.accounts.values()]

    def get_account(self, account_id: str) -> dict[str, JsonValue]:
        return copy.deepcopy(self.accounts[account_id.casefold()])

    def list_deployments(self, account_id: str) -> list[JsonValue]:
        prefix = account_id.casefold() + "/deployments/"
        return [copy.deepcopy(d) for k, d in self.deployments.items() if k.startswith(prefix)]

    def get_deployment(self, deployment_id: str) -> dict[str, JsonValue]:
        return copy.deepcopy(self.deployments[deployment_id.casefold()])

    def put_deployment(self, deployment_id: str, body: dict[str, JsonValue]) -> dict[str, JsonValue]:
        self.puts += 1
        self.deployments[deployment_id.casefold()] = copy.deepcopy(body)
        return copy.deepcopy(body)

    # Azure's own behaviour
    def advance(self, at: datetime) -> list[str]:
        """Move to ``at`` and apply Azure's upgrades; returns what Azure did, for the story."""
        self.at = at
        moved: list[str] = []
        catalog = {(i["model"]["name"], i["model"]["version"]): i["model"] for i in self.timeline.models(at)}
        for d in self.deployments.values():
            props = d["properties"]
            model = props["model"]
            policy = props.get("versionUpgradeOption") or "OnceCurrentVersionExpired"
            if d["sku"]["name"].casefold() in PROVISIONED_SKUS or policy == "NoAutoUpgrade":
                continue
            default = self.timeline.default_of(model["name"], at)
            if default is None or not self.timeline.newer(model["name"], default, model["version"]):
                continue  # Azure never downgrades
            entry = catalog.get((model["name"], model["version"]), {})
            if policy == "OnceNewDefaultVersionAvailable":
                start = _day(entry.get("replacementConfig", {}).get("autoUpgradeStartDate", "")[:10] or None)
                due = start is None or start <= at
            else:
                own = [
                    k.get("deprecationDate", "")
                    for k in entry.get("skus", [])
                    if k["name"] == d["sku"]["name"]
                ]
                retires = _day(
                    (own[0] if own and own[0] else entry.get("deprecation", {}).get("inference", ""))[:10]
                    or None
                )
                due = retires is not None and retires + EXPIRY_LAG <= at
            if due:
                moved.append(f"{d['name']}: {model['name']} {model['version']} -> {default}")
                model["version"] = default
        return moved

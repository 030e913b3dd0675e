"""A simulated Azure for the demo: the model catalog of the dated timeline (``timeline.py``), and deployments that
Azure itself upgrades by the documented rules. It implements the same ports as ARM (CatalogSource, DeploymentApi),
and a data plane behind ChatApi, so the demo runs the real services over it.

Azure's own moves, as documented (https://learn.microsoft.com/azure/ai-foundry/openai/how-to/working-with-models, https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements): ``OnceNewDefaultVersionAvailable`` deployments
are moved to the replacement Azure names from its auto-upgrade start (across a model-name change: gpt-4o ->
gpt-5.1), or to a new default; the start is the first retirement's: a SKU with its own later date (gpt-4o
GlobalStandard, 2026-10-01) is moved at that date instead. ``OnceCurrentVersionExpired`` (or absent) ones move at
their deployment type's retirement date minus the lead days, here three days late (Azure's upgrade is rolling,
region by region: inside modelwatch's grace, so no race and no "broken"). Preview versions are force-upgraded at
their retirement, whatever the policy. ``NoAutoUpgrade`` (but previews), provisioned, Batch, fine-tuned and
non-OpenAI deployments are never moved. The story's deployments may come ("from") and go ("until": the team
deletes it, as a side-by-side migration ends).
Like ARM, a customer PUT that changes the model name of a non-provisioned deployment is refused
(``CannotChangeDeploymentModel``); a PUT on a new name creates a deployment.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from shared.demo.timeline import Timeline, parse_day
from shared.domain.canary import ChatReply
from shared.domain.deployments import UpgradeOption, is_fine_tuned_name
from shared.domain.events import JsonValue
from shared.domain.timeutil import parse_instant
from shared.errors import ArmError

SUBSCRIPTION = (
    "00000000-0000-0000-0000-00000000d3e0"  # WATCH_SUBSCRIPTION_ID: the watcher reads the catalog as it
)
# a second subscription of the story ("subscription": "legacy" on an account): it runs a version the first one never
# deployed, so in that version's Deprecated stage only its catalog lists it (https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements)
LEGACY_SUBSCRIPTION = "00000000-0000-0000-0000-00000000d3e1"
SUBSCRIPTIONS = {"demo": SUBSCRIPTION, "legacy": LEGACY_SUBSCRIPTION}
GROUP = "demo"
EXPIRY_LAG = timedelta(days=3)  # Azure's rolling upgrade lands three days after the date in this story
# the demo's data plane: this version wraps its JSON in a markdown fence (is-json fails): the canary catches it
FENCED = {("gpt-4o", "2024-08-06")}


class SimulatedAzure:
    """CatalogSource and DeploymentApi over the timeline; ``advance(at)`` moves the clock and applies Azure's rules."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.at = parse_instant(timeline.steps[0]["at"])
        self.flaky: set[str] = set()  # locations whose next listing comes back half-empty
        self.accounts: dict[str, dict[str, JsonValue]] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.pending: list[dict[str, Any]] = []  # deployments the story creates later ("from")
        self.leaving: list[dict[str, Any]] = []  # deployments the team deletes later ("until")
        self.deleted: set[str] = set()  # ids (casefolded) of the deployments the team deleted
        self.team: list[str] = []  # what the teams did at the last advance (created, deleted), for the story
        self.account_models: dict[str, list[dict[str, Any]]] = {}
        self.puts = 0
        self.etags = 0  # the ETags handed out so far
        # deployments whose PUTs ARM refuses for now (the story's "refuse"): id (casefolded) -> (code, message)
        self.refusals: dict[str, tuple[str, str]] = {}
        for a in timeline.raw["accounts"]:
            sub = SUBSCRIPTIONS[a.get("subscription", "demo")]
            rid = f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.CognitiveServices/accounts/{a['name']}"
            self.accounts[rid.casefold()] = {
                "id": rid,
                "name": a["name"],
                "kind": a.get("kind", "OpenAI"),
                "location": a["location"],
                "properties": {"endpoint": f"https://{a['name']}.openai.azure.com/"},
            }
        for d in timeline.raw["deployments"]:
            if d.get("until"):
                self.leaving.append(d)
            if d.get("from") and parse_instant(d["from"]) > self.at:
                self.pending.append(d)
            else:
                self._create(d)

    def _create(self, d: dict[str, Any]) -> None:
        account = next(v for v in self.accounts.values() if v["name"] == d["account"])
        rid = f"{account['id']}/deployments/{d['name']}"
        model = {"format": d.get("format", "OpenAI"), "name": d["model"], "version": d["version"]}
        props: dict[str, Any] = {
            "model": model,
            "provisioningState": "Succeeded",
            "raiPolicyName": "Microsoft.DefaultV2",
        }
        if d.get("policy"):
            props["versionUpgradeOption"] = d["policy"]
        self.deployments[rid.casefold()] = {
            "id": rid,
            "name": d["name"],
            "etag": self._etag(),
            "sku": {"name": d.get("sku", "Standard"), "capacity": 50},
            "tags": {"modelwatch:route": d["route"]} if d.get("route") else {},
            "properties": props,
            "systemData": {
                "lastModifiedBy": d.get("createdBy", "team@contoso.example"),
                "lastModifiedByType": "User",
            },
        }
        fine = d.get("fineTune")
        if fine:  # Accounts - List Models lists the account's fine-tuned model with its own deprecation
            entry: dict[str, Any] = {
                "format": "OpenAI",
                "name": d["model"],
                "version": d["version"],
                "baseModel": {"format": "OpenAI", "name": fine["base"], "version": fine["baseVersion"]},
                "lifecycleStatus": "GenerallyAvailable",
                "capabilities": {"fineTune": "false", "inference": "true"},
            }
            if fine.get("retires"):
                entry["deprecation"] = {
                    "inference": f"{fine['retires']}T00:00:00Z",
                    "deprecationStatus": "Planned",
                }
            self.account_models.setdefault(str(account["id"]).casefold(), []).append(entry)

    # CatalogSource, SubscriptionCatalogs
    def fetch_models(self, location: str) -> list[JsonValue]:
        items = self.fetch_models_for(SUBSCRIPTION, location)
        if location in self.flaky:
            self.flaky.discard(location)
            return items[:2]  # a listing that came back half-empty: the watcher must not conclude retirements
        return items

    def fetch_models_for(self, subscription_id: str, location: str) -> list[JsonValue]:
        """The catalog as ``subscription_id`` sees it: a version in its Deprecated stage only where it runs."""
        prefix = f"/subscriptions/{subscription_id}/".casefold()
        runs = frozenset(
            (str(d["properties"]["model"]["name"]), str(d["properties"]["model"]["version"]))
            for k, d in self.deployments.items()
            if k.startswith(prefix)
        )
        return self.timeline.items(self.at, runs)

    # DeploymentApi
    def list_accounts(self, subscription_id: str) -> list[JsonValue]:
        prefix = f"/subscriptions/{subscription_id}/".casefold()
        return [copy.deepcopy(a) for k, a in self.accounts.items() if k.startswith(prefix)]

    def get_account(self, account_id: str) -> dict[str, JsonValue]:
        return copy.deepcopy(self.accounts[account_id.casefold()])

    def list_account_models(self, account_id: str) -> list[JsonValue]:
        return copy.deepcopy(list(self.account_models.get(account_id.casefold(), [])))

    def list_deployments(self, account_id: str) -> list[JsonValue]:
        prefix = account_id.casefold() + "/deployments/"
        return [copy.deepcopy(d) for k, d in self.deployments.items() if k.startswith(prefix)]

    def get_deployment(self, deployment_id: str) -> dict[str, JsonValue]:
        found = self.find_deployment(deployment_id)
        if found is None:
            raise ArmError(
                f"ARM GET {deployment_id} answered 404 ResourceNotFound", status=404, code="ResourceNotFound"
            )
        return found

    def find_deployment(self, deployment_id: str) -> dict[str, JsonValue] | None:
        found = self.deployments.get(deployment_id.casefold())
        return copy.deepcopy(found) if found is not None else None

    def deployment_id(self, name: str) -> str:
        """The resource id of the story's deployment called ``name``."""
        for d in self.deployments.values():
            if d["name"] == name:
                return str(d["id"])
        raise KeyError(f"the timeline has no deployment {name!r}")

    def refuse(self, ask: Mapping[str, str]) -> None:
        """From now on ARM refuses PUTs of ``ask["deployment"]`` with ``ask["code"]`` (quota, capacity)."""
        self.refusals[self.deployment_id(ask["deployment"]).casefold()] = (ask["code"], ask["message"])

    def allow(self, name: str) -> None:
        self.refusals.pop(self.deployment_id(name).casefold(), None)

    def put_deployment(
        self, deployment_id: str, body: dict[str, JsonValue], *, if_match: str | None = None
    ) -> dict[str, JsonValue]:
        refused = self.refusals.get(deployment_id.casefold())
        if refused is not None:
            code, message = refused
            raise ArmError(f"ARM PUT {deployment_id} answered 409 {code}: {message}", status=409, code=code)
        current = self.deployments.get(deployment_id.casefold())
        stored: dict[str, Any] = copy.deepcopy(body)
        # If-Match as ARM's stand-in plays it (tests/fakes/arm_server.py): a write over a version that changed
        # since the caller read it (Azure moved it, a team edited it) is 412, never applied
        unconditional = if_match is None or (if_match == "*" and current is not None)
        if not unconditional and (current is None or if_match != current.get("etag")):
            raise ArmError(
                f"ARM PUT {deployment_id} answered 412 PreconditionFailed: the deployment changed since it "
                "was read",
                status=412,
                code="PreconditionFailed",
            )
        if current is not None:
            old_name = current["properties"]["model"]["name"]
            new_name = stored.get("properties", {}).get("model", {}).get("name")
            provisioned = "provisioned" in str(current.get("sku", {}).get("name", "")).casefold()
            if new_name != old_name and not provisioned:
                raise ArmError(
                    f"ARM PUT {deployment_id} answered 400 CannotChangeDeploymentModel: The model of a deployment "
                    "cannot be changed.",
                    status=400,
                    code="CannotChangeDeploymentModel",
                )
        self.puts += 1
        stored.setdefault("id", deployment_id)
        stored.setdefault("name", deployment_id.rsplit("/", 1)[-1])
        stored["systemData"] = {"lastModifiedBy": "modelwatch", "lastModifiedByType": "Application"}
        stored["etag"] = self._etag()  # whatever the body carried: ARM gives every version its own
        self.deployments[deployment_id.casefold()] = stored
        return copy.deepcopy(stored)

    def _etag(self) -> str:
        """A new ETag, deterministic (a counter): the demo's output and its replays stay the same run to run."""
        self.etags += 1
        return f'"{self.etags}"'

    def delete_deployment(self, deployment_id: str) -> None:
        self.deployments.pop(deployment_id.casefold(), None)

    # Azure's own behaviour
    def advance(self, at: datetime) -> list[str]:
        """Move to ``at`` and apply Azure's upgrades; returns what Azure did, for the story."""
        self.at = at
        self.team = []
        for d in [p for p in self.pending if parse_instant(p["from"]) <= at]:
            self.pending.remove(d)
            self._create(d)
            self.team.append(f"created {d['name']} ({d['model']} {d['version']}, {d.get('sku', 'Standard')})")
        for d in [g for g in self.leaving if parse_instant(g["until"]) <= at]:
            self.leaving.remove(d)
            rid = self.deployment_id(d["name"]).casefold()
            self.deployments.pop(rid, None)
            self.deleted.add(rid)
            self.team.append(f"deleted {d['name']}")
        moved: list[str] = []
        for d in self.deployments.values():
            target = self._azure_moves(d, at)
            if target is None:
                continue
            model = d["properties"]["model"]
            moved.append(f"{d['name']}: {model['name']} {model['version']} -> {target[0]} {target[1]}")
            model["name"], model["version"] = target
            d["systemData"] = {"lastModifiedBy": "Microsoft", "lastModifiedByType": "Application"}
            d["etag"] = self._etag()  # a write modelwatch prepared before this move is refused (If-Match)
        return moved

    def _azure_moves(self, d: dict[str, Any], at: datetime) -> tuple[str, str] | None:
        props = d["properties"]
        model = props["model"]
        policy = props.get("versionUpgradeOption") or UpgradeOption.ONCE_EXPIRED
        sku = str(d["sku"]["name"])
        name, version = model["name"], model["version"]
        preview = self.timeline.lifecycle_of(name, version, at) == "Preview"
        if (
            "provisioned" in sku.casefold()
            or sku.casefold().endswith("batch")  # Batch: side by side, by the team
            or (
                policy == UpgradeOption.NO_AUTO and not preview
            )  # previews: force-upgraded whatever the policy
            or model.get("format", "OpenAI") != "OpenAI"
            or is_fine_tuned_name(model["name"])
        ):
            return None
        replacement = self.timeline.replacement_of(name, version, at)
        default = self.timeline.default_of(name, at)
        newer_default = (
            (name, default) if default is not None and self.timeline.newer(name, default, version) else None
        )
        target = (replacement["toModel"], replacement["to"]) if replacement else newer_default
        if target is None:
            return None
        retires = self.timeline.retirement_of(name, version, sku, at)
        if preview:
            return target if retires is not None and retires + EXPIRY_LAG <= at else None
        if policy == UpgradeOption.ONCE_NEW_DEFAULT:
            start = parse_day(replacement.get("start")) if replacement else None
            first = self.timeline.first_retirement(name, version, at)
            if start is not None and retires is not None and first is not None and retires > first:
                pass  # a SKU with its own later date keeps it: moved at that date, below
            elif replacement is None or start is not None:
                return target if start is None or start <= at else None
        lead = timedelta(days=int((replacement or {}).get("leadDays") or 0))
        return target if retires is not None and retires - lead + EXPIRY_LAG <= at else None


class SimulatedChatApi:
    """The demo's data plane (ChatApi), in memory behind the same port as the openai adapter: the demo is offline
    and in-process, as its simulated ARM is. A deployment answers as the model and version it runs; the prompts it
    knows are the payments team's invoice questions (evals/examples/payments-invoices.yaml), answered right, except that the
    versions in ``fenced`` wrap their JSON in a markdown fence (a real kind of regression: ``is-json`` fails)."""

    def __init__(self, azure: SimulatedAzure, fenced: set[tuple[str, str]]) -> None:
        self.azure = azure
        self.fenced = fenced
        self.calls = 0

    def complete(
        self, deployment: str, messages: Sequence[tuple[str, str]], options: Mapping[str, JsonValue]
    ) -> ChatReply:
        from shared.errors import DataPlaneError

        self.calls += 1
        found = next((d for d in self.azure.deployments.values() if d["name"] == deployment), None)
        if found is None:
            raise DataPlaneError(
                f"not found: the data plane has no deployment {deployment}", kind="not-found"
            )
        model = found["properties"]["model"]
        prompt = messages[-1][1]
        text = invoice_answer(prompt, fenced=(model["name"], model["version"]) in self.fenced)
        return ChatReply(text, latency_ms=420.0, tokens=len(prompt.split()) + len(text.split()) + 2)


def invoice_answer(prompt: str, *, fenced: bool) -> str:
    """The stand-in model's answer to one of the payments team's invoice questions: right, with its JSON in a
    markdown fence when ``fenced`` (the demo's and the end-to-end replay's data plane answer alike)."""
    answers = {"1182": '{"total": 42.1}', "1183": '{"currency": "USD"}', "1184": '{"due": "2026-01-31"}'}
    text = next((doc for marker, doc in answers.items() if marker in prompt), "OK")
    if "1185" in prompt:
        text = "unpaid"
    return f"```json\n{text}\n```" if fenced and text.startswith("{") else text

"""Azure OpenAI deployments as this product sees them (ARM ``accounts/deployments``, https://learn.microsoft.com/rest/api/aiservices/accountmanagement/deployments)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.catalog import VersionKey
from shared.domain.ids import arm_key
from shared.domain.timeutil import parse_catalog_date, parse_instant
from shared.errors import PermanentError


class UpgradeOption(StrEnum):
    """``properties.versionUpgradeOption``. Absent (null) means ONCE_EXPIRED."""

    ONCE_NEW_DEFAULT = "OnceNewDefaultVersionAvailable"
    ONCE_EXPIRED = "OnceCurrentVersionExpired"
    NO_AUTO = "NoAutoUpgrade"


# Azure never auto-upgrades these (https://learn.microsoft.com/azure/ai-foundry/openai/how-to/working-with-models); names compared case-insensitively.
PROVISIONED_SKUS = frozenset({"provisionedmanaged", "globalprovisionedmanaged", "datazoneprovisionedmanaged"})

# Learn ("Model lifecycle and support policy", FAQ; https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements): "Batch deployments follow the side-by-side
# (multi-deployment) migration approach": GlobalBatch, DataZoneBatch (and any *Batch) are never upgraded by Azure.
# "Priority Processing follows the same upgrade process as Standard deployments": a Priority tier is Standard.
# a model-router deployment routes to the models of properties.routing (api 2026-03-01:
# https://learn.microsoft.com/rest/api/aiservices/accountmanagement/deployments)
MODEL_ROUTER = "model-router"

TAG_POLICY = "modelwatch:policy"  # "ignore": leave alone entirely; "pin": never upgraded by modelwatch
TAG_ROUTE = "modelwatch:route"  # which alert route owns the deployment


class DeploymentFormatError(PermanentError):
    """A deployment payload from ARM does not have the documented shape."""


# A fine-tuned model is named "<base model>-<base version>.ft-<job id>" (version "1"), e.g.
# gpt-4.1-2025-04-14.ft-b044a9d3cf9c4228b5d393567f693b83 or gpt-4o-mini-2024-07-18.ft-0e208cf33a6a466994aff31a08aba678
# (Learn, fine-tuning: deploy; "base-model.ft-{jobid}" can itself be fine-tuned again); a checkpoint is
# "ftchkpt-<id>". A job's ``suffix`` is appended after the id: "-<suffix>" (letters, digits, '-', '_', '.').
_FINE_TUNED = re.compile(r"^(?P<base>.+?)\.ft-[0-9a-zA-Z]+(?:[-_.][0-9A-Za-z_.-]*)?$")
# Developer-tier fine-tuned deployments live a fixed 24 hours (Learn, fine-tuning test deployments:
# https://learn.microsoft.com/azure/ai-foundry/openai/how-to/fine-tuning-deploy): they are deleted then, whatever the model's own dates
DEVELOPER_TIER = "developertier"
DEVELOPER_LIFETIME = timedelta(hours=24)
_BASE = re.compile(r"^(?P<name>.+?)-(?P<version>\d{4}-\d{2}-\d{2}|\d{4})$")


def is_fine_tuned_name(model_name: str) -> bool:
    return bool(_FINE_TUNED.match(model_name)) or model_name.casefold().startswith("ftchkpt-")


def base_of_fine_tuned(model_name: str) -> tuple[str, str] | None:
    """(base model, base version) read from a fine-tuned model's name, when it has the documented form."""
    match = _FINE_TUNED.match(model_name)
    base = _BASE.match(match.group("base")) if match else None
    return (base.group("name"), base.group("version")) if base else None


@dataclass(frozen=True)
class FineTune:
    """What Accounts - List Models says of a fine-tuned model (the location catalog does not list these)."""

    listed: bool  # False: the account's model list did not include it (or could not be read)
    base_model: str | None = None
    base_version: str | None = None
    retirement_date: datetime | None = None  # its own deprecation.inference: when the deployment stops
    lifecycle_status: str | None = None
    why: str | None = None  # not listed because the account's model list could not be read: what ARM said


@dataclass(frozen=True)
class Deployment:
    """One model deployment, as last seen in the inventory."""

    resource_id: str
    account_id: str
    name: str
    location: str
    model_format: str
    model_name: str
    model_version: str
    sku_name: str
    sku_capacity: int | None = None
    upgrade_option: str | None = None  # raw value; None when ARM omitted it
    provisioning_state: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)
    last_seen: datetime | None = None
    # systemData of the last change: who moved a version modelwatch did not move (Azure, a person, a pipeline)
    last_modified_by: str | None = None
    last_modified_by_type: str | None = None
    fine_tune: FineTune | None = None  # fine-tuned models only: read from Accounts - List Models
    # model-router only (api 2026-03-01, properties.routing.models): the (format, name, version) it routes to;
    # empty when ARM gave no subset (the router then picks among models Azure chooses)
    routing_models: tuple[tuple[str, str, str], ...] = ()
    created_at: datetime | None = None  # systemData.createdAt: a Developer-tier deployment ends 24 h after it

    @property
    def key(self) -> str:
        """ARM ids are case-insensitive: one canonical form for storage and comparison."""
        return arm_key(self.resource_id)

    @property
    def version_key(self) -> VersionKey:
        return VersionKey(self.model_format, self.model_name, self.model_version)

    @property
    def policy(self) -> str:
        """The effective update policy: an absent value means OnceCurrentVersionExpired."""
        return self.upgrade_option or UpgradeOption.ONCE_EXPIRED.value

    @property
    def is_provisioned(self) -> bool:
        return self.sku_name.casefold() in PROVISIONED_SKUS or "provisioned" in self.sku_name.casefold()

    @property
    def is_fine_tuned(self) -> bool:
        return is_fine_tuned_name(self.model_name)

    @property
    def is_batch(self) -> bool:
        """GlobalBatch, DataZoneBatch, any *Batch SKU: Azure never upgrades them; they migrate side by side."""
        return self.sku_name.strip().casefold().endswith("batch")

    @property
    def azure_upgrades_sku(self) -> bool:
        """Whether Azure's automatic upgrades apply to this SKU: the Standard family (Standard, GlobalStandard,
        DataZoneStandard, and Priority processing, which "follows the same upgrade process as Standard"); never
        provisioned or Batch deployments (https://learn.microsoft.com/azure/ai-foundry/openai/how-to/working-with-models, https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements)."""
        return not (self.is_provisioned or self.is_batch)

    @property
    def is_model_router(self) -> bool:
        return self.model_name.casefold() == MODEL_ROUTER or bool(self.routing_models)

    @property
    def is_developer_tier(self) -> bool:
        return self.sku_name.casefold() == DEVELOPER_TIER

    @property
    def policy_tag(self) -> str | None:
        value = _tag(self.tags, TAG_POLICY)
        return value.casefold() if value else None

    @property
    def route(self) -> str | None:
        return _tag(self.tags, TAG_ROUTE)


def model_slices(d: Deployment) -> frozenset[tuple[str, str]]:
    """The (location, model name) pairs a deployment is filed under, so that one model's news in one location
    finds it without reading the rest: its own model, and the base model of its fine-tune (whose news concerns
    it too; a fine-tune's base is named without its format, so the pairs carry no format). Location casefolded,
    as ARM location names compare."""
    location = d.location.casefold()
    names = {d.model_name}
    if d.fine_tune is not None and d.fine_tune.base_model:
        names.add(d.fine_tune.base_model)
    names.update(name for _, name, _ in d.routing_models)  # a model-router: the models it routes to
    return frozenset((location, name) for name in names)


def is_of_model(d: Deployment, location: str, model_format: str, model_name: str) -> bool:
    """Whether ``d`` is in ``location`` and runs this model (format compared case-insensitively, name exactly, as
    the catalog names it), or is a fine-tune of a model of that name: what ``list_deployments_of`` returns."""
    if d.location.casefold() != location.casefold():
        return False
    if d.model_format.casefold() == model_format.casefold() and d.model_name == model_name:
        return True
    if any(f.casefold() == model_format.casefold() and n == model_name for f, n, _ in d.routing_models):
        return True
    return d.fine_tune is not None and d.fine_tune.base_model == model_name


def _tag(tags: Mapping[str, str], name: str) -> str | None:
    # ARM tag names are case-insensitive
    for key, value in tags.items():
        if key.casefold() == name:
            return value
    return None


def _str(obj: Mapping[str, object], name: str, where: str, *, required: bool = True) -> str | None:
    value = obj.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise DeploymentFormatError(f"{where}.{name} is missing or not a string")
    return value


def parse_deployment(
    raw: object, *, account_id: str, location: str, seen_at: datetime | None = None
) -> Deployment:
    """Normalise one ARM deployment resource. Raises DeploymentFormatError naming the problem."""
    if not isinstance(raw, dict):
        raise DeploymentFormatError(f"deployment is {type(raw).__name__}, expected an object")
    resource_id = _str(raw, "id", "deployment")
    assert resource_id is not None
    where = f"deployment {resource_id.rsplit('/', 1)[-1]}"
    props = raw.get("properties")
    if not isinstance(props, dict):
        raise DeploymentFormatError(f"{where}: properties is missing")
    model = props.get("model")
    if not isinstance(model, dict):
        raise DeploymentFormatError(f"{where}: properties.model is missing")
    sku = raw.get("sku") if isinstance(raw.get("sku"), dict) else {}
    assert isinstance(sku, dict)
    capacity = sku.get("capacity")
    tags = raw.get("tags") if isinstance(raw.get("tags"), dict) else {}
    assert isinstance(tags, dict)
    option = props.get("versionUpgradeOption")
    if option is not None and not isinstance(option, str):
        raise DeploymentFormatError(f"{where}: properties.versionUpgradeOption is not a string")
    system = raw.get("systemData") if isinstance(raw.get("systemData"), dict) else {}
    assert isinstance(system, dict)
    return Deployment(
        resource_id=resource_id,
        account_id=account_id,
        name=str(raw.get("name") or resource_id.rsplit("/", 1)[-1]),
        location=location,
        model_format=_str(model, "format", f"{where}: properties.model") or "",
        model_name=_str(model, "name", f"{where}: properties.model") or "",
        model_version=_str(model, "version", f"{where}: properties.model") or "",
        sku_name=str(sku.get("name") or "Standard"),
        sku_capacity=capacity if isinstance(capacity, int) and not isinstance(capacity, bool) else None,
        upgrade_option=option,
        provisioning_state=props.get("provisioningState")
        if isinstance(props.get("provisioningState"), str)
        else None,
        tags={str(k): str(v) for k, v in tags.items()},
        last_seen=seen_at,
        last_modified_by=_text(system.get("lastModifiedBy")),
        last_modified_by_type=_text(system.get("lastModifiedByType")),
        routing_models=_routing_models(props.get("routing")),
        created_at=_instant(system.get("createdAt")),
    )


def _routing_models(routing: object) -> tuple[tuple[str, str, str], ...]:
    """``properties.routing.models`` of a model-router deployment (api 2026-03-01): the DeploymentModels it routes
    to, as (format, name, version). Entries without a name are skipped; a malformed block is no subset (the
    router is then "not tracked", never an error that costs the inventory the deployment)."""
    if not isinstance(routing, dict) or not isinstance(routing.get("models"), list):
        return ()
    out: list[tuple[str, str, str]] = []
    for m in routing["models"]:
        if isinstance(m, dict) and isinstance(m.get("name"), str) and m["name"].strip():
            fmt = m.get("format") if isinstance(m.get("format"), str) else "OpenAI"
            version = m.get("version") if isinstance(m.get("version"), str) else ""
            out.append((str(fmt), m["name"].strip(), str(version)))
    return tuple(dict.fromkeys(out))


def _instant(value: object) -> datetime | None:
    """systemData's ISO-8601 time (seven fractional digits included); None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_instant(value)
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def fine_tune_from_account_models(d: Deployment, items: list[object] | None) -> FineTune:
    """What Accounts - List Models (flat AccountModel items) says of ``d``'s fine-tuned model.

    ``items`` None means the listing could not be read: the model is then "not listed", never "retired".
    A malformed date is treated as unknown rather than guessed.
    """
    guessed = base_of_fine_tuned(d.model_name)
    base_model, base_version = guessed if guessed else (None, None)
    for item in items or []:
        if not isinstance(item, dict) or item.get("name") != d.model_name:
            continue
        if str(item.get("version") or "") != d.model_version:
            continue
        base = item.get("baseModel")
        if isinstance(base, dict):
            base_model = str(base.get("name") or base_model or "") or None
            base_version = str(base.get("version") or base_version or "") or None
        deprecation = item.get("deprecation")
        retires = None
        if isinstance(deprecation, dict):
            try:
                retires = parse_catalog_date(deprecation.get("inference"))
            except ValueError:
                retires = None
        status = item.get("lifecycleStatus")
        return FineTune(True, base_model, base_version, retires, status if isinstance(status, str) else None)
    return FineTune(False, base_model, base_version)

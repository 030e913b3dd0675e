"""Builders of test data: raw ARM ``Models - List`` items (the wire shape), deployments, account ids, an Entra ID
client principal, a minimal Teams card."""

from __future__ import annotations

from typing import Any

from shared.domain.deployments import Deployment

# a subscription id of the right shape where any will do; modules that need their own keep it (state is per module)
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"


def account_id(name: str = "contoso", subscription: str = "s", group: str = "rg") -> str:
    """An Azure OpenAI account's ARM id."""
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.CognitiveServices/accounts/{name}"


ACCOUNT = account_id()  # where no test cares which account a deployment is in


def deployment(
    name: str = "chat",
    model: str = "gpt-4o",
    version: str = "2024-08-06",
    *,
    account: str = ACCOUNT,
    location: str = "eastus",
    sku: str = "Standard",
    policy: str | None = "OnceNewDefaultVersionAvailable",
    fmt: str = "OpenAI",
    **fields: Any,
) -> Deployment:
    """A deployment of ``account`` named ``name`` (its resource id under the account's); ``fields`` sets the other
    fields of ``Deployment`` (``tags``, ``fine_tune``, ``sku_capacity``...)."""
    return Deployment(
        resource_id=f"{account}/deployments/{name}",
        account_id=account,
        name=name,
        location=location,
        model_format=fmt,
        model_name=model,
        model_version=version,
        sku_name=sku,
        upgrade_option=policy,
        **fields,
    )


def item(
    name: str,
    version: str,
    *,
    status: str | None = "GenerallyAvailable",
    default: bool | None = None,
    retires: str | None = None,
    deprecation_status: str | None = None,
    skus: dict[str, str | None] | None = None,
    upgrade: tuple[str, str, str] | None = None,
    lead_days: int | None = None,
    kind: str = "OpenAI",
    fmt: str = "OpenAI",
) -> dict[str, Any]:
    """One Models - List item. ``skus`` maps SKU name to its own deprecationDate (or None)."""
    model: dict[str, Any] = {"format": fmt, "name": name, "version": version}
    if status is not None:
        model["lifecycleStatus"] = status
    if default is not None:
        model["isDefaultVersion"] = default
    if retires is not None or deprecation_status is not None:
        model["deprecation"] = {}
        if retires is not None:
            model["deprecation"]["inference"] = retires
        if deprecation_status is not None:
            model["deprecation"]["deprecationStatus"] = deprecation_status
    sku_list = []
    for sku, date in (skus or {"Standard": None}).items():
        entry: dict[str, Any] = {"name": sku, "usageName": f"OpenAI.{sku}.{name}"}
        if date is not None:
            entry["deprecationDate"] = date
        sku_list.append(entry)
    model["skus"] = sku_list
    if upgrade is not None or lead_days is not None:
        cfg: dict[str, Any] = {}
        if upgrade is not None:
            cfg.update(
                targetModelName=upgrade[0], targetModelVersion=upgrade[1], autoUpgradeStartDate=upgrade[2]
            )
        if lead_days is not None:
            cfg["upgradeOnExpiryLeadTimeDays"] = lead_days
        model["replacementConfig"] = cfg
    return {"kind": kind, "skuName": "S0", "model": model}


def client_principal(name: str, *roles: str) -> str:
    """An ``X-MS-CLIENT-PRINCIPAL`` header as App Service Authentication passes it (base64 JSON, Entra ID claims)."""
    import base64
    import json as _json

    claims = [{"typ": "preferred_username", "val": name}, *({"typ": "roles", "val": r} for r in roles)]
    body = {"auth_typ": "aad", "claims": claims, "name_typ": "preferred_username", "role_typ": "roles"}
    return base64.b64encode(_json.dumps(body).encode()).decode()


# the smallest Teams message a webhook accepts: an Adaptive Card attachment
CARD = {
    "type": "message",
    "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard"}}
    ],
}

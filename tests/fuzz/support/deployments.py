"""Real ARM deployments and the checks a parsed deployment must pass."""

from __future__ import annotations

from collections.abc import Sequence

from shared.domain.deployments import Deployment, parse_deployment
from shared.domain.events import JsonObject, JsonValue
from shared.errors import ModelWatchError
from tests.builders import account_id
from tests.fuzz.support.strategies import DEPLOYMENT_ERRORS, NOW, JsonPath, attempt, related

SUB = "00000000-0000-0000-0000-00000000f022"
OTHER_SUB = "00000000-0000-0000-0000-00000000bad0"


EAST, WEST, FOREIGN = (
    account_id("contoso-east", SUB),
    account_id("contoso-west", SUB),
    account_id("x", OTHER_SUB),
)


def raw_deployment(
    account: str,
    name: str,
    version: str,
    *,
    sku: str = "Standard",
    policy: str | None = "OnceCurrentVersionExpired",
    tags: dict[str, JsonValue] | None = None,
) -> JsonObject:
    """A deployment as ARM returns it (https://learn.microsoft.com/rest/api/aiservices/accountmanagement/deployments)."""
    props: JsonObject = {
        "model": {"format": "OpenAI", "name": "gpt-4o", "version": version},
        "provisioningState": "Succeeded",
        "raiPolicyName": "Microsoft.DefaultV2",
        "rateLimits": [{"key": "request", "renewalPeriod": 10, "count": 80}],
        "futureField": {"kept": True},
    }
    if policy is not None:
        props["versionUpgradeOption"] = policy
    return {
        "id": f"{account}/deployments/{name}",
        "name": name,
        "type": "Microsoft.CognitiveServices/accounts/deployments",
        "sku": {"name": sku, "capacity": 10},
        "tags": tags or {},
        "properties": props,
        "etag": '"0x1"',
        "systemData": {"createdAt": "2024-06-01T00:00:00Z", "createdBy": "someone"},
    }


CHAT = raw_deployment(EAST, "chat", "2024-05-13", tags={"modelwatch:route": "payments"})
PINNED = raw_deployment(
    EAST, "legacy", "2024-05-13", policy="NoAutoUpgrade", tags={"modelwatch:policy": "pin"}
)
PTU = raw_deployment(EAST, "ptu", "2024-05-13", sku="ProvisionedManaged", policy=None)
WEST_CHAT = raw_deployment(WEST, "chat", "2024-05-13")  # in the inventory, in a location not watched
FOREIGN_CHAT = raw_deployment(FOREIGN, "chat", "2024-05-13")  # in ARM, in no watched account
REAL_DEPLOYMENTS = [CHAT, PINNED, PTU, WEST_CHAT]

# where parse_deployment reads each field: an edit elsewhere must leave the field as it was
FIELD_SOURCES: dict[str, list[JsonPath]] = {
    "resource_id": [("id",)],
    "name": [("name",), ("id",)],
    "model_format": [("properties", "model", "format")],
    "model_name": [("properties", "model", "name")],
    "model_version": [("properties", "model", "version")],
    "sku_name": [("sku", "name")],
    "sku_capacity": [("sku", "capacity")],
    "upgrade_option": [("properties", "versionUpgradeOption")],
    "provisioning_state": [("properties", "provisioningState")],
    "tags": [("tags",)],
}
REQUIRED = [
    path
    for name in ("resource_id", "model_format", "model_name", "model_version", "upgrade_option")
    for path in FIELD_SOURCES[name]
]


def check_deployment(d: Deployment, raw: JsonValue) -> None:
    assert isinstance(raw, dict) and d.resource_id == raw["id"]
    for text in (d.resource_id, d.model_format, d.model_name, d.model_version):
        assert isinstance(text, str) and text.strip()
    assert d.account_id == EAST and d.location == "eastus"
    assert isinstance(d.sku_name, str) and d.sku_name
    assert d.sku_capacity is None or (
        isinstance(d.sku_capacity, int) and not isinstance(d.sku_capacity, bool)
    )
    assert d.upgrade_option is None or isinstance(d.upgrade_option, str)
    assert d.provisioning_state is None or isinstance(d.provisioning_state, str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in d.tags.items())
    _ = d.key, d.version_key, d.policy, d.is_provisioned, d.policy_tag, d.route, hash(d)


def parse_east(raw: JsonValue) -> Deployment | ModelWatchError:
    return attempt(
        lambda: parse_deployment(raw, account_id=EAST, location="eastus", seen_at=NOW), DEPLOYMENT_ERRORS
    )


def check_mutated_deployment(
    base: JsonObject, raw: JsonValue, touched: Sequence[JsonPath], after: Deployment | ModelWatchError
) -> None:
    """Only an edit of a field parse_deployment requires may cost the deployment; an edit changes only the
    fields read where it was made."""
    if isinstance(after, ModelWatchError):
        assert any(related(t, r) for t in touched for r in REQUIRED), f"rejected for {touched}: {after}"
        return
    check_deployment(after, raw)
    before = parse_deployment(base, account_id=EAST, location="eastus", seen_at=NOW)
    for name, sources in FIELD_SOURCES.items():
        if not any(related(t, s) for t in touched for s in sources):
            assert getattr(after, name) == getattr(before, name), f"{name} changed by an edit at {touched}"

"""azd's side of a deployment: how it substitutes its environment into infra/main.parameters.json, and the values
it really holds (tests/unit/test_infra.py, test_infra_hooks.py)."""

from __future__ import annotations

import json
import re

from tests.builders import account_id

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
ACCOUNT = account_id("contoso", SUBSCRIPTION, group="ai")  # the watched account


def azd_substitute(template: str, env: dict[str, str]) -> str:
    """What azd does to main.parameters.json before parsing it: ${NAME} and ${NAME=default} replaced by the value,
    as is (no JSON escaping), the default when unset or empty."""

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(3) or ""
        return env.get(name) or default

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(=([^}]*))?\}", value, template)


def substituted_parameters(template: str, env: dict[str, str]) -> dict[str, str]:
    """Parameter -> value after substitution; json.JSONDecodeError is "unmarshalling Bicep template parameters"."""
    parsed = json.loads(azd_substitute(template, env))
    return {name: spec["value"] for name, spec in parsed["parameters"].items()}


# values azd really holds in CI or .azure/<env>/.env: JSON, quotes, backslashes, spaces
AZD_ENV = {
    "AZURE_ENV_NAME": "modelwatch-prod",
    "AZURE_LOCATION": "swedencentral",
    "WATCH_ACCOUNTS": ACCOUNT,
    "POLICY_MODE": "enforce",
    "ALERT_ROUTES": json.dumps(
        {
            "payments": {"slack": "https://hooks.slack.com/services/T1/B1/x", "minSeverity": "critical"},
            "search": {"teams": "SEARCH_TEAMS_URL", "catalogNews": False},
        }
    ),
    "TEAMS_WEBHOOK_URL": "https://prod-01.westeurope.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=a%2Fb",
    "AUTH_CLIENT_ID": "22222222-3333-4444-5555-666666666666",
    "HEALTH_ALERT_EMAIL": "platform@contoso.com",
}

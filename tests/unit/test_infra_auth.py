"""Sign-in (App Service Authentication in modules/app.bicep), read structurally. Whether Azure accepts authsettingsV2
as written on Flex Consumption, and lets Event Grid's deliveries through, is verified only by deploying it (not
possible here)."""

from __future__ import annotations

from tests.unit.test_infra import INFRA, bicep, items, node_text, parameters, parse, prop, resources
from tests.unit.test_infra import string_value as s

# ---- 10. App Service Authentication


def auth_problems(source: str) -> list[str]:
    root = parse(source)
    configs = {s(prop(b, "name")): b for _, _, b in resources(root, "Microsoft.Web/sites/config@")}
    auth = configs.get("authsettingsV2")
    if auth is None:
        return ["no authsettingsV2"]
    problems = []
    expected = {
        ("platform", "enabled"): "true",
        ("globalValidation", "requireAuthentication"): "true",
        ("globalValidation", "unauthenticatedClientAction"): "'Return401'",
        ("identityProviders", "azureActiveDirectory", "enabled"): "true",
        ("identityProviders", "azureActiveDirectory", "registration", "clientId"): "authClientId",
        ("httpSettings", "requireHttps"): "true",
    }
    for path, value in expected.items():
        if node_text(prop(auth, "properties", *path)) != value:
            problems.append(f"{'.'.join(path)} is not {value}")
    issuer = node_text(
        prop(auth, "properties", "identityProviders", "azureActiveDirectory", "registration", "openIdIssuer")
    )
    if "/v2.0" not in issuer or "tenantId" not in issuer:
        problems.append(f"issuer {issuer}")
    excluded = [s(p) for p in items(prop(auth, "properties", "globalValidation", "excludedPaths"))]
    if excluded != ["/runtime/webhooks/eventgrid"]:
        problems.append(f"excluded paths {excluded}: Event Grid must get through, nothing else")
    audiences = node_text(
        prop(
            auth, "properties", "identityProviders", "azureActiveDirectory", "validation", "allowedAudiences"
        )
    )
    if "api://${authClientId}" not in audiences:
        problems.append("the API's identifier URI is not an allowed audience")
    return problems


def test_the_http_functions_sit_behind_entra_sign_in() -> None:
    source = (INFRA / "modules" / "app.bicep").read_text()
    assert auth_problems(source) == []
    main = bicep("main.bicep")
    assert "authClientId" in parameters(main) and "=" not in node_text(
        parameters(main)["authClientId"]
    )  # required
    assert '"authClientId": { "value": "${AUTH_CLIENT_ID}" }' in (INFRA / "main.parameters.json").read_text()


def test_the_auth_check_sees_anonymous_access() -> None:
    source = (INFRA / "modules" / "app.bicep").read_text()
    assert auth_problems(source.replace("'Return401'", "'AllowAnonymous'")) == [
        "globalValidation.unauthenticatedClientAction is not 'Return401'"
    ]
    assert auth_problems(source.replace("'/runtime/webhooks/eventgrid'", "'/api'")) == [
        "excluded paths ['/api']: Event Grid must get through, nothing else"
    ]

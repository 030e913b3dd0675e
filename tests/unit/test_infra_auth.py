"""Sign-in (App Service Authentication in modules/app.bicep), read structurally. Whether Azure accepts authsettingsV2
as written on Flex Consumption, and lets Event Grid's deliveries through, is verified only by deploying it (not
possible here)."""

from __future__ import annotations

from tests.support.bicep import (
    INFRA,
    bicep,
    declarations,
    items,
    node_text,
    parameters,
    parse,
    prop,
    resources,
)
from tests.support.bicep import string_value as s

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
    # Event Grid's deliveries, and nothing else, pass without sign-in: under both spellings of the extension's path
    # (the Functions docs write EventGrid, the subscription URL eventgrid; whether App Service matches excludedPaths
    # case-insensitively is not documented, and a refused delivery is retried 30 times, then dead-lettered)
    excluded = [s(p) for p in items(prop(auth, "properties", "globalValidation", "excludedPaths"))]
    if sorted(excluded) != ["/runtime/webhooks/EventGrid", "/runtime/webhooks/eventgrid"]:
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
        "excluded paths ['/api', '/runtime/webhooks/EventGrid']: Event Grid must get through, nothing else"
    ]
    one_spelling = source.replace("        '/runtime/webhooks/EventGrid'\n", "")
    assert auth_problems(one_spelling) == [
        "excluded paths ['/runtime/webhooks/eventgrid']: Event Grid must get through, nothing else"
    ]


# ---- no basic publishing credentials; the topic's public endpoint can be closed


def publishing_problems(source: str) -> list[str]:
    """FTP and the SCM site's basic auth are off on the Function App (azd deploys with an Entra token)."""
    policies = {
        s(prop(b, "name")): b
        for _, _, b in resources(parse(source), "Microsoft.Web/sites/basicPublishingCredentialsPolicies@")
    }
    problems = []
    for name in ("ftp", "scm"):
        body = policies.get(name)
        if body is None or node_text(prop(body, "properties", "allow")) != "false":
            problems.append(f"{name} basic publishing credentials are not disabled")
        elif node_text(prop(body, "parent")) != "functionApp":
            problems.append(f"{name}: not the Function App's")
    return problems


def test_basic_publishing_credentials_are_disabled() -> None:
    source = (INFRA / "modules" / "app.bicep").read_text()
    assert publishing_problems(source) == []
    assert publishing_problems(source.replace("allow: false", "allow: true", 1)) == [
        "ftp basic publishing credentials are not disabled"
    ]


def topic_access_problems(main_source: str, app_source: str, parameters_file: str) -> list[str]:
    """TOPIC_PUBLIC_NETWORK_ACCESS reaches the topic; Enabled unless told (Disabled needs a network this template does
    not create)."""
    problems = []
    param = parameters(parse(main_source)).get("topicPublicNetworkAccess")
    if param is None or s(param.children[-1]) != "Enabled":
        problems.append("no topicPublicNetworkAccess parameter defaulting to Enabled")
    app = next(b for n, _, b in declarations(parse(main_source), "module_declaration") if n == "app")
    if node_text(prop(app, "params", "topicPublicNetworkAccess")) != "topicPublicNetworkAccess":
        problems.append("main.bicep does not pass topicPublicNetworkAccess to the app module")
    topic = next(b for _, _, b in resources(parse(app_source), "Microsoft.EventGrid/topics@"))
    if node_text(prop(topic, "properties", "publicNetworkAccess")) != "topicPublicNetworkAccess":
        problems.append("the topic's publicNetworkAccess is fixed")
    if (
        '"topicPublicNetworkAccess": { "value": "${TOPIC_PUBLIC_NETWORK_ACCESS=Enabled}" }'
        not in parameters_file
    ):
        problems.append("main.parameters.json does not map TOPIC_PUBLIC_NETWORK_ACCESS")
    return problems


def test_the_topics_public_network_access_is_an_option_off_by_default() -> None:
    main = (INFRA / "main.bicep").read_text()
    app = (INFRA / "modules" / "app.bicep").read_text()
    file = (INFRA / "main.parameters.json").read_text()
    assert topic_access_problems(main, app, file) == []
    fixed = app.replace("publicNetworkAccess: topicPublicNetworkAccess", "publicNetworkAccess: 'Enabled'")
    assert topic_access_problems(main, fixed, file) == ["the topic's publicNetworkAccess is fixed"]
    closed = main.replace(
        "param topicPublicNetworkAccess string = 'Enabled'",
        "param topicPublicNetworkAccess string = 'Disabled'",
    )
    assert topic_access_problems(closed, app, file) == [
        "no topicPublicNetworkAccess parameter defaulting to Enabled"
    ]

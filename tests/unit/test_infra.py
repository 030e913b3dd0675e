"""infra/ checked without a Bicep compiler (none is installable here: PyPI, npm and Debian have none; npm's bicep-node
only downloads the binary from GitHub). Every template is parsed with the tree-sitter Bicep grammar (a syntax error
fails), then read structurally and checked against the code and against Azure's known behaviour: the settings the
template sets are the ones the code reads and pass its validation; the Event Grid subscriptions target functions that
exist; azd's parameter substitution yields valid JSON; deployment and role assignment names are what ARM accepts
over time. RBAC is in test_infra_rbac.py, the hook scripts in test_infra_hooks.py, sign-in in test_infra_auth.py,
monitoring in test_infra_monitoring.py; the readers of Bicep and of azd they share are in tests/support/."""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import shutil
from pathlib import Path

import pytest
from tree_sitter import Node

from shared.config import load_settings, require_arm_catalog, require_function_app
from shared.domain.events import CATALOG_EVENT_TYPES, Consumer, consumed_by
from shared.errors import SettingsError
from shared.services.notify import NOTIFY_EVENT_TYPES
from tests.support.app_functions import functions
from tests.support.azd import ACCOUNT, AZD_ENV, substituted_parameters
from tests.support.bicep import (
    INFRA,
    ROOT,
    app_settings,
    bicep,
    bicep_files,
    block,
    declaration,
    declarations,
    node_text,
    parameters,
    parse,
    prop,
    resources,
    subscriptions,
    syntax_errors,
    text,
    variables,
)

PLATFORM_SETTINGS = {
    "AzureWebJobsStorage__accountName",  # identity-based host storage (the code falls back to it for state too)
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}


# ---- 6. every template parses


def grammar_problems(root: Path) -> dict[str, list[str]]:
    return {
        str(path.relative_to(root)): errors
        for path in bicep_files(root)
        if (errors := syntax_errors(path.read_text(encoding="utf-8")))
    }


def test_every_template_parses_with_the_bicep_grammar() -> None:
    assert len(bicep_files()) >= 7
    assert grammar_problems(INFRA) == {}


def test_the_grammar_check_fails_on_a_broken_copy(tmp_path: Path) -> None:
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy)
    main = copy / "main.bicep"
    # a brace closed too early: what a bad merge leaves behind
    main.write_text(main.read_text().replace("  name: 'app'\n", "  name: 'app'\n  }\n", 1))
    broken = grammar_problems(copy)
    assert list(broken) == ["main.bicep"] and broken["main.bicep"]


# ---- 1. Flex Consumption: no ftpsState


def flex_site_config_problems(root: Node) -> list[str]:
    """siteConfig properties Flex Consumption rejects ("site configuration properties ... for Flex Consumption sites is
    invalid", Azure/azure-cli#31414) on any Microsoft.Web/sites that has functionAppConfig (a Flex app)."""
    problems = []
    for name, _, body in resources(root, "Microsoft.Web/sites@"):
        if prop(body, "properties", "functionAppConfig") is None:
            continue
        for key in ("ftpsState", "linuxFxVersion", "alwaysOn", "use32BitWorkerProcess", "javaVersion"):
            if prop(body, "properties", "siteConfig", key) is not None:
                problems.append(f"{name}: siteConfig.{key}")
    return problems


def test_the_flex_consumption_app_sets_no_site_config_it_rejects() -> None:
    root = bicep("modules/app.bicep")
    assert [
        n for n, _, b in resources(root, "Microsoft.Web/sites@") if prop(b, "properties", "functionAppConfig")
    ]
    assert flex_site_config_problems(root) == []


def test_the_site_config_check_sees_ftps_state() -> None:
    source = (INFRA / "modules/app.bicep").read_text()
    broken = source.replace("minTlsVersion: '1.2'", "minTlsVersion: '1.2'\n      ftpsState: 'Disabled'", 1)
    assert flex_site_config_problems(parse(broken)) == ["functionApp: siteConfig.ftpsState"]


# ---- the Event Grid subscriptions


def test_the_subscriptions_target_existing_functions_with_the_subscribers_filters() -> None:
    subs = subscriptions(text("subscriptions.bicep"))
    registered = set(functions())
    assert set(subs) == {c.value for c in Consumer} <= registered
    # the filters are the registry's, and the subscribers take exactly those types
    assert (
        sorted(subs[Consumer.POLICY]) == sorted(consumed_by(Consumer.POLICY)) == sorted(CATALOG_EVENT_TYPES)
    )
    assert sorted(subs[Consumer.ALERTS]) == sorted(consumed_by(Consumer.ALERTS)) == sorted(NOTIFY_EVENT_TYPES)
    documented = set(
        re.findall(r"^## `(ModelLifecycle\.\w+)`", (ROOT / "docs" / "events.md").read_text(), re.M)
    )
    assert {t for types in subs.values() for t in types} <= documented


def test_the_filter_reader_sees_a_wrong_list() -> None:
    source = text("subscriptions.bicep")
    filters = json.loads((INFRA / "event-types.json").read_text())
    filters["apply_update_policy"] = [
        t.replace("VersionRetired", "VersionRetierd") for t in filters["apply_update_policy"]
    ]
    assert sorted(subscriptions(source, filters)["apply_update_policy"]) != sorted(CATALOG_EVENT_TYPES)
    swapped = source.replace("eventTypes.apply_update_policy", "eventTypes.notify_channels")
    assert sorted(subscriptions(swapped)["apply_update_policy"]) != sorted(CATALOG_EVENT_TYPES)


def test_subscriptions_retry_and_dead_letter() -> None:
    source = text("subscriptions.bicep")
    assert "maxDeliveryAttempts: 30" in source and "eventTimeToLiveInMinutes: 1440" in source
    assert source.count("deadLetterWithResourceIdentity: deadLetter") == 2
    assert "endpointType: 'StorageBlob'" in source


# ---- the app settings


def test_every_setting_the_template_sets_is_one_the_code_reads() -> None:
    settings = app_settings(text("modules/app.bicep"))
    known = set(json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]) | PLATFORM_SETTINGS
    assert settings, "no app settings found"
    assert set(settings) <= known, set(settings) - known
    # Flex Consumption rejects these: the runtime is functionAppConfig.runtime; keys never go in settings
    for absent in (
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "EVENTGRID_TOPIC_KEY",
        "ARM_BEARER_TOKEN",
        "AzureWebJobsStorage",
    ):
        assert absent not in settings
    assert "name: 'python', version: '3.11'" in text("modules/app.bicep")


# what each parameter or reference resolves to in a real deployment (placeholders of the right shape)
DEPLOYED = {
    "storage.name": "stmodelwatch01",
    "environment().suffixes.storage": "core.windows.net",
    "stateTablePrefix": "ModelWatch",
    "refreshQueue.name": "modelwatch-inventory",
    "canaryQueue.name": "modelwatch-canary",
    "handoffQueue.name": "modelwatch-deliveries",
    "insights.properties.ConnectionString": "InstrumentationKey=00000000-0000-0000-0000-000000000000",
    "catalogPollSchedule": "0 0 * * * *",
    "catalogPollPeriodMinutes": "60",
    "watchSubscriptionId": "11111111-2222-3333-4444-555555555555",
    "watchSubscriptionIds": "11111111-2222-3333-4444-555555555555",
    "watchLocations": "eastus,swedencentral",
    "watchAccounts": ACCOUNT,
    "topic.properties.endpoint": "https://evgt-modelwatch.eastus-1.eventgrid.azure.net/api/events",
    "policyMode": "enforce",
    "policyEnforceAllAccounts": "false",
    "canaryMode": "existing",
    "evalSuites": "https://stsuites01.blob.core.windows.net/evals/team-a",  # main.bicep's, from evalSuitesContainer
    "alertMinSeverity": "warning",
    "functionApp.properties.defaultHostName": "func-modelwatch01.azurewebsites.net",
}
# what the host hands the app for each Key Vault reference: the secret's value
SECRETS = {
    "teams-webhook-url": "https://contoso.webhook.office.com/webhookb2/resolvedbykeyvault",
    "slack-webhook-url": "https://hooks.slack.com/services/T000/B000/resolvedbykeyvault",
    "alert-routes": '{"payments": {"slack": "https://hooks.slack.com/services/T1/B1/x", "minSeverity": "critical"}}',
}


def resolve(expression: str, deployed: dict[str, str] = DEPLOYED) -> str:
    """A setting's value as the app sees it. An expression the table does not know fails the test (KeyError)."""
    if reference := re.fullmatch(
        r"'@Microsoft\.KeyVault\(SecretUri=\$\{[^}]+\}secrets/([a-z-]+)/\)'", expression
    ):
        return SECRETS[reference.group(1)]
    if expression.startswith("'"):
        return re.sub(r"\$\{([^}]+)\}", lambda m: deployed[m.group(1)], expression.strip("'"))
    return deployed[expression]


@pytest.mark.parametrize("secrets", [True, False], ids=["with-webhooks", "without"])
def test_the_settings_the_template_produces_pass_the_apps_validation(secrets: bool) -> None:
    template = app_settings(text("modules/app.bicep"), secrets=secrets)
    env = {name: resolve(value) for name, value in template.items()}
    assert env["STATE_STORE"] == "https://stmodelwatch01.table.core.windows.net"
    settings = load_settings(env)  # raises SettingsError naming every problem
    require_arm_catalog(settings)
    require_function_app(settings)
    assert settings.enforce and settings.watch_accounts and settings.eventgrid_topic_key is None
    assert ("payments" in settings.routes) == secrets and (settings.slack_webhook_url is not None) == secrets
    # 10, 12: sign-in required, alerts link to the status page, only the managed identity is tried
    assert settings.http_auth == "entra"
    assert settings.status_page_url == "https://func-modelwatch01.azurewebsites.net/api/status"
    assert settings.azure_token_credentials == "ManagedIdentityCredential"


def test_enforce_on_every_account_is_passed_through_when_said_outright() -> None:
    """14: enforce with no named account starts only with POLICY_ENFORCE_ALL_ACCOUNTS=true, which the template sets
    from policyEnforceAllAccounts."""
    deployed = DEPLOYED | {"watchAccounts": "", "policyEnforceAllAccounts": "true"}
    env = {name: resolve(value, deployed) for name, value in app_settings(text("modules/app.bicep")).items()}
    settings = load_settings(env)
    assert settings.enforce and settings.policy_enforce_all_accounts and not settings.watch_accounts
    env["POLICY_ENFORCE_ALL_ACCOUNTS"] = "false"  # what the template's guard refuses to produce
    with pytest.raises(SettingsError, match="POLICY_ENFORCE_ALL_ACCOUNTS"):
        load_settings(env)


def enforce_guard(main: Node) -> tuple[str, str]:
    """(the refusal condition, what POLICY_MODE is set from) in main.bicep."""
    variables_ = variables(main)
    app_module = next(b for n, _, b in declarations(main, "module_declaration") if n == "app")
    return variables_.get("enforceRefused", ""), node_text(prop(app_module, "params", "policyMode"))


def guard_problems(main: Node) -> list[str]:
    condition, mode_from = enforce_guard(main)
    problems = []
    for part in ("policyMode == 'enforce'", "empty(accounts)", "!policyEnforceAllAccounts"):
        if part not in condition:
            problems.append(f"enforceRefused lacks {part}")
    checked = variables(main).get(mode_from, "")
    if not checked.startswith("enforceRefused") or "int(" not in checked:
        problems.append(
            f"POLICY_MODE comes from {mode_from}, which does not stop the deployment when refused"
        )
    return problems


def test_the_template_refuses_enforce_with_no_accounts_unless_told() -> None:
    main = bicep("main.bicep")
    assert guard_problems(main) == []
    assert "policyEnforceAllAccounts" in parameters(main)
    assert node_text(parameters(main)["policyEnforceAllAccounts"].children[-1]) == "false"  # default off
    writers = next(b for n, _, b in declarations(main, "module_declaration") if n == "writers")
    assert "checkedPolicyMode == 'enforce'" in node_text(writers.parent)


def test_the_guard_check_sees_policy_mode_passed_unchecked() -> None:
    source = (
        (INFRA / "main.bicep").read_text().replace("policyMode: checkedPolicyMode", "policyMode: policyMode")
    )
    assert guard_problems(parse(source)) == [
        "POLICY_MODE comes from policyMode, which does not stop the deployment when refused"
    ]


def test_each_key_vault_reference_names_a_secret_the_template_can_create() -> None:
    source = text("modules/app.bicep")
    created = {
        re.findall(r"\bname: '([a-z-]+)'", block(source, match.group(0)))[0]
        for match in re.finditer(r"resource \w+ 'Microsoft\.KeyVault/vaults/secrets@[^']+'", source)
    }
    settings = declaration(source, "var secretSettings")
    assert created == set(re.findall(r"secrets/([a-z-]+)/\)'", settings)) == set(SECRETS)
    # a secret added by hand stays referenced (its InVault flag), and the settings wait for the roles that read it
    assert settings.count("InVault") == len(SECRETS)
    assert "appRoles" in block(source, "resource settings 'Microsoft.Web/sites/config")
    assert "secretsUser" in (INFRA / "modules/app-roles.bicep").read_text()


def test_the_settings_check_catches_a_template_typo() -> None:
    env = {name: resolve(value) for name, value in app_settings(text("modules/app.bicep")).items()}
    env["POLICY_MODE"] = "enforced"
    with pytest.raises(SettingsError, match="POLICY_MODE"):
        load_settings(env)


# ---- 2. azd pastes values raw into main.parameters.json


def encoded_env(env: dict[str, str]) -> dict[str, str]:
    """What the preprovision hook leaves in azd's environment (tests/unit/test_infra_hooks.py runs the real hook and
    checks it does exactly this)."""
    return env | {"ALERT_ROUTES_B64": base64.b64encode(env["ALERT_ROUTES"].encode()).decode()}


def test_the_parameters_file_stays_json_with_a_json_alert_routes() -> None:
    template = (INFRA / "main.parameters.json").read_text()
    values = substituted_parameters(template, encoded_env(AZD_ENV))
    assert json.loads(base64.b64decode(values["alertRoutesBase64"])) == json.loads(AZD_ENV["ALERT_ROUTES"])
    assert (
        values["teamsWebhookUrl"] == AZD_ENV["TEAMS_WEBHOOK_URL"]
        and values["policyEnforceAllAccounts"] == "false"
    )
    declared = set(parameters(bicep("main.bicep")))
    assert set(values) <= declared, set(values) - declared
    required = {name for name, node in parameters(bicep("main.bicep")).items() if "=" not in node_text(node)}
    assert required <= set(values), required - set(values)
    # the raw JSON never reaches the file, and the template decodes what it gets
    assert "${ALERT_ROUTES}" not in template and "${ALERT_ROUTES=" not in template
    assert "base64ToString(alertRoutesBase64)" in variables(bicep("main.bicep"))["alertRoutes"]


def test_the_substitution_check_breaks_on_raw_json() -> None:
    old = (INFRA / "main.parameters.json").read_text().replace("${ALERT_ROUTES_B64=}", "${ALERT_ROUTES=}")
    with pytest.raises(json.JSONDecodeError):
        substituted_parameters(old, AZD_ENV)


# ---- 3. deployment names at subscription scope


def subscription_scope_deployment_names(main: Node) -> dict[str, str]:
    """Module symbol -> its name expression, for the modules main.bicep (subscription scope) deploys at a
    subscription's scope: those deployments are kept per location."""
    out = {}
    for name, _, body in declarations(main, "module_declaration"):
        scope = node_text(prop(body, "scope"))
        if not scope or scope.startswith("subscription("):
            out[name] = node_text(prop(body, "name"))
    return out


def deployment_name_problems(main: Node) -> list[str]:
    problems = []
    suffix = variables(main).get("deploymentSuffix", "")
    for module, expression in subscription_scope_deployment_names(main).items():
        says = expression + (suffix if "deploymentSuffix" in expression else "")
        for part in ("environmentName", "location"):
            if part not in says:
                problems.append(f"{module}: deployment name {expression} does not include {part}")
    return problems


def longest_name(expression: str, suffix: str) -> int:
    """The name's length with a 40-character environment name and the longest region name."""
    env, location = "e" * 40, "australiasoutheast"
    take = re.fullmatch(r"take\('\$\{environmentName\}-\$\{location\}', (\d+)\)", suffix)
    assert take, suffix
    filled = expression.strip("'").replace("${deploymentSuffix}", f"{env}-{location}"[: int(take.group(1))])
    return len(re.sub(r"\$\{uniqueString\([^}]*\)\}", "x" * 13, filled))


def test_subscription_scope_deployment_names_carry_the_environment_and_location() -> None:
    main = bicep("main.bicep")
    names = subscription_scope_deployment_names(main)
    assert "subscriptionRoles" in names
    assert deployment_name_problems(main) == []
    for expression in names.values():
        assert longest_name(expression, variables(main)["deploymentSuffix"]) <= 64  # ARM's limit


def test_the_deployment_name_check_sees_a_fixed_name() -> None:
    source = (INFRA / "main.bicep").read_text()
    old = re.sub(r"name: 'mw-roles-[^\n]+", "name: 'reader-${uniqueString(sub)}'", source)
    assert deployment_name_problems(parse(old)) == [
        "subscriptionRoles: deployment name 'reader-${uniqueString(sub)}' does not include environmentName",
        "subscriptionRoles: deployment name 'reader-${uniqueString(sub)}' does not include location",
    ]


# ---- 5. role assignment names include the principal


def assignment_name_problems(root: Node, file: str) -> list[str]:
    problems = []
    for name, _, body in resources(root, "Microsoft.Authorization/roleAssignments@"):
        expression = node_text(prop(body, "name"))
        principal = node_text(prop(body, "properties", "principalId"))
        if not expression.startswith("guid(") or principal not in expression:
            problems.append(f"{file}: {name} is named {expression}, without its principal {principal}")
    return problems


def test_role_assignment_names_include_the_principal_id() -> None:
    checked = 0
    for path in bicep_files():
        root = parse(path.read_text())
        checked += len(resources(root, "Microsoft.Authorization/roleAssignments@"))
        assert assignment_name_problems(root, path.name) == []
    assert checked >= 8


def test_the_assignment_name_check_sees_an_app_id_instead_of_the_principal() -> None:
    source = (INFRA / "modules/app-roles.bicep").read_text()
    old = source.replace(
        "guid(storage.id, principalId, roles.storageBlobDataOwner)",
        "guid(storage.id, roles.storageBlobDataOwner)",
    )
    assert assignment_name_problems(parse(old), "app-roles.bicep") == [
        "app-roles.bicep: blobOwner is named guid(storage.id, roles.storageBlobDataOwner), without its principal principalId"
    ]


# ---- 5. azd version, CI concurrency


def required_azd(azure_yaml: str) -> tuple[int, ...] | None:
    match = re.search(r"^requiredVersions:\n\s+azd:\s*[\"']>=\s*(\d+)\.(\d+)\.(\d+)[\"']", azure_yaml, re.M)
    return tuple(int(g) for g in match.groups()) if match else None


def test_azd_is_recent_enough_not_to_delete_the_watched_accounts_groups() -> None:
    azure = (ROOT / "azure.yaml").read_text()
    version = required_azd(azure)
    # 1.24.1: azd down no longer deletes resource groups a subscription deployment only touched (#7698)
    assert version is not None and version >= (1, 24, 1)
    assert "#7698" in azure  # the comment says why
    assert required_azd(azure.replace('">= 1.', '">= 0.')) == (0, *version[1:])


def deploy_job(workflow: str) -> str:
    return workflow[workflow.index("\n  deploy:") :]


def concurrency_problems(workflow: str) -> list[str]:
    job = deploy_job(workflow)
    match = re.search(r"\n    concurrency:\n      group: (\S+)\n      cancel-in-progress: (\w+)", job)
    if not match:
        return ["the deploy job has no concurrency group"]
    return [] if match.group(2) == "false" else ["a deployment under way would be cancelled"]


def test_the_workflow_deploys_one_at_a_time() -> None:
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert concurrency_problems(workflow) == []
    assert concurrency_problems(workflow.replace("cancel-in-progress: false", "cancel-in-progress: true"))
    assert concurrency_problems(re.sub(r"\n    concurrency:\n.*\n.*", "", workflow)) == [
        "the deploy job has no concurrency group"
    ]


def test_azd_project_and_the_workflow() -> None:
    azure = (ROOT / "azure.yaml").read_text()
    assert "host: function" in azure and "language: python" in azure
    hooks = re.findall(r"run: (infra/hooks/\S+)", azure)
    assert sorted(hooks) == sorted(
        f"infra/hooks/{event}.{ext}"
        for event in ("preprovision", "postprovision", "postdeploy")
        for ext in ("sh", "ps1")
    )
    assert all((ROOT / hook).is_file() for hook in hooks)
    scripts = "".join(
        (ROOT / hook).read_text() for hook in [*hooks, "infra/hooks/lib.sh"] if hook.endswith(".sh")
    )
    assert "infra/subscriptions.bicep" in scripts
    outputs = set(re.findall(r"^output (\w+) ", text("main.bicep"), re.M))
    # the hooks read what provisioning outputs, azd's own values and the azd environment's settings
    azd_env = {"AZURE_SUBSCRIPTION_ID", "AZURE_ENV_NAME", "AUTH_CLIENT_ID", "AUTH_APP_SKIP_SETUP"}
    settings = set(re.findall(r"\$\{([A-Z0-9_]+)=", (INFRA / "main.parameters.json").read_text()))
    tuning = {
        "MODELWATCH_HOOK_ATTEMPTS",
        "MODELWATCH_HOOK_DELAY_SECONDS",
        "MODELWATCH_KV_ATTEMPTS",
        "MODELWATCH_KV_INTERVAL_SECONDS",
    }
    used = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", scripts)) - set(
        re.findall(r"(?m)^\s*([A-Z][A-Z0-9_]+)=", scripts)
    )
    known = outputs | azd_env | settings | tuning | {"ALERT_ROUTES"}  # ALERT_ROUTES: encoded by the hook
    assert used <= known, used - known
    assert '--subscription "$AZURE_SUBSCRIPTION_ID"' in scripts  # not az's default subscription
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert re.search(r"^\s*- run: bash \.ci/run$", workflow, re.M), "the test job must run bash .ci/run"
    assert "azd up --no-prompt" in workflow and "id-token: write" in workflow
    assert "needs: test" in workflow


# ---- 8. what the package leaves out


def funcignore_excludes(patterns: list[str], path: str) -> bool:
    """gitignore semantics as azd applies .funcignore (go-gitignore), for the patterns used here: a pattern without
    '/' matches any path component; a trailing '/' only directories; a leading '/' anchors at the root; '!' negates."""
    parts = path.split("/")
    excluded = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        directory_only = pattern.endswith("/")
        pattern = pattern.rstrip("/")
        anchored = pattern.startswith("/") or "/" in pattern
        pattern = pattern.lstrip("/")
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))] if anchored else parts
        for i, candidate in enumerate(candidates):
            is_directory = i < len(candidates) - 1
            if directory_only and not is_directory:
                continue
            if fnmatch.fnmatchcase(candidate, pattern):
                excluded = not negate
    return excluded


def funcignore() -> list[str]:
    lines = (ROOT / ".funcignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


LEFT_OUT = [
    "__azurite_db_table__.json",
    "__azurite_db_blob__.json",
    "__azurite_db_queue_extent__.json",
    "__blobstorage__/x/y.bin",
    "__queuestorage__/q/1",
    ".azurite/__azurite_db_table__.json",
    "shared/__pycache__/config.cpython-311.pyc",
    "shared/domain/__pycache__/diff.cpython-311.pyc",
    ".python_packages/lib/site-packages/requests/__init__.py",
    ".venv/bin/python",
    "node_modules/azurite/package.json",
    "tests/unit/test_infra.py",
    "demo-output/state.db",
    ".modelwatch/state.db",
    "local.settings.json",
    ".azure/modelwatch-prod/.env",
    ".env",
    "infra/main.bicep",
    "docs/deploy.md",
    ".github/workflows/ci.yml",
    "package-lock.json",
    "requirements-dev.txt",
    ".pytest_cache/v/cache/nodeids",
    ".mypy_cache/3.11/x.json",
]
KEPT = [
    "function_app.py",
    "host.json",
    "requirements.txt",
    "shared/config/settings.py",
    "shared/domain/diff.py",
    "shared/data/timeline.json",
    "shared/py.typed",
    "evals/payments-invoices.yaml",  # EVAL_SUITES: the teams' suites ship with the app (#25)
]


def test_the_package_leaves_out_local_state_caches_and_tools() -> None:
    patterns = funcignore()
    assert [p for p in LEFT_OUT if not funcignore_excludes(patterns, p)] == []
    assert [p for p in KEPT if funcignore_excludes(patterns, p)] == []


def test_the_funcignore_check_sees_a_missing_line() -> None:
    patterns = [p for p in funcignore() if p != "__azurite_db*"]
    assert not funcignore_excludes(patterns, "__azurite_db_table__.json")
    # the matcher can exclude what must be kept
    assert funcignore_excludes(["shared/"], "shared/config/settings.py")


# ---- docs/deploy.md says what the templates and azd do


def deploy_doc_problems(doc: str) -> list[str]:
    problems = []
    if re.search(r"[Nn]o queue role", doc):
        problems.append(
            "says there is no queue role (refresh_inventory's queue needs Storage Queue Data Contributor)"
        )
    if "Storage Queue Data Contributor" not in doc or "refresh_inventory" not in doc:
        problems.append("does not explain the queue role")
    # --preview skips the hooks (Azure/azure-dev#2570): AUTH_CLIENT_ID would be empty in the what-if
    preview = doc.find("azd provision --preview")
    if preview != -1 and "azd hooks run preprovision" not in doc[max(0, preview - 400) : preview + 400]:
        problems.append("suggests azd provision --preview without running the preprovision hook first")
    # azd's changelog lists Azure/azure-dev#7698 (resource groups only touched are not deleted) under 1.24.1
    if "1.24.1" not in doc or "#7698" not in doc:
        problems.append("does not name the azd release (1.24.1, #7698) the clean-up relies on")
    if "TOPIC_PUBLIC_NETWORK_ACCESS" not in doc or "privatelink.eventgrid.azure.net" not in doc:
        problems.append("does not say how to close the topic's public endpoint and what that needs")
    if "RoleDefinitionDoesNotExist" not in doc:
        problems.append("does not say what to do about RoleDefinitionDoesNotExist")
    return problems


def test_the_deploy_guide_matches_the_templates() -> None:
    doc = (ROOT / "docs" / "deploy.md").read_text()
    assert deploy_doc_problems(doc) == []
    old = doc.replace("azd hooks run preprovision", "azd up").replace("The one queue role", "No queue role")
    assert deploy_doc_problems(old) == [
        "says there is no queue role (refresh_inventory's queue needs Storage Queue Data Contributor)",
        "suggests azd provision --preview without running the preprovision hook first",
    ]


# ---- the README's quickstart names what azd asks for and the defaults it uses


def quickstart_problems(readme: str, parameters_file: str) -> list[str]:
    section = readme.split("## Deploy to Azure with azd", 1)[1].split("\n## ", 1)[0]
    problems = []
    mapped = dict(re.findall(r"\$\{(\w+)(?:=([^}]*))?\}", parameters_file))
    # no default: azd asks (AZURE_*), or the preprovision hook sets it (AUTH_CLIENT_ID)
    for name, default in mapped.items():
        if default == "" and f"${{{name}}}" in parameters_file and name not in section:
            if name == "AZURE_ENV_NAME" and "environment name" in section:
                continue
            problems.append(f"{name} is required and the quickstart does not say who sets it")
    for name, default in re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", section, re.M):
        if mapped.get(name) != default:
            problems.append(
                f"{name}: the quickstart says {default!r}, main.parameters.json {mapped.get(name)!r}"
            )
    if "azd hooks run preprovision" not in section:
        problems.append(
            "the quickstart does not register the sign-in app before azd up asks for authClientId"
        )
    return problems


def test_the_readme_quickstart_matches_the_parameters() -> None:
    readme = (ROOT / "README.md").read_text()
    parameters_file = (INFRA / "main.parameters.json").read_text()
    assert quickstart_problems(readme, parameters_file) == []
    changed = parameters_file.replace("${POLICY_MODE=plan}", "${POLICY_MODE=enforce}")
    assert quickstart_problems(readme, changed) == [
        "POLICY_MODE: the quickstart says 'plan', main.parameters.json 'enforce'"
    ]
    assert quickstart_problems(readme.replace("AUTH_CLIENT_ID", "the client id"), parameters_file) == [
        "AUTH_CLIENT_ID is required and the quickstart does not say who sets it"
    ]

"""The azd hooks (infra/hooks/*.sh) run for real under sh, with stand-ins for az and azd on PATH: a small Python script
that answers the commands the hooks send as az would (role assignments and Key Vault reference statuses from JSON
fixtures) and logs every call. Nothing reaches Azure. The PowerShell twins (*.ps1) cannot run here (no pwsh on this
machine's registries); they are checked for the same steps by text only."""

from __future__ import annotations

import base64
import json
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.builders import account_id
from tests.support.azd import ACCOUNT, AZD_ENV, azd_substitute, substituted_parameters
from tests.support.azd import SUBSCRIPTION as SUB
from tests.support.bicep import INFRA

HOOKS = INFRA / "hooks"
OTHER_SUB = "99999999-8888-7777-6666-555555555555"
PRINCIPAL = "aaaaaaaa-0000-0000-0000-000000000001"
GONE = account_id("retired", SUB, group="ai")
ELSEWHERE = account_id("lab", OTHER_SUB, group="ml")
WRITER = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/0b5c3a6e-0000-4000-8000-000000000001"
OTHER_WRITER = f"/subscriptions/{OTHER_SUB}/providers/Microsoft.Authorization/roleDefinitions/0b5c3a6e-0000-4000-8000-000000000002"
READER_BUILT_IN = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
CS_CONTRIBUTOR = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68"
TABLE_CONTRIBUTOR = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
CANARY_WRITER = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/0c5c3a6e-0000-4000-8000-000000000003"
OPENAI_USER = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
CANARY_MARKER = "modelwatch canaries (#25)"  # infra/modules/account-canary.bicep's description of its grant

FAKE_AZ = r"""
import json, os, sys
from pathlib import Path

state = Path(os.environ["FAKE_AZ_STATE"])
args = sys.argv[1:]
with (state / "calls.log").open("a") as log:
    log.write(json.dumps(args) + "\n")


def arg(name):
    return args[args.index(name) + 1] if name in args else None


def fixture(name, default):
    path = state / name
    return json.loads(path.read_text()) if path.exists() else default


def counter(name, bump=False):
    path = state / name
    value = int(path.read_text()) if path.exists() else 0
    if bump:
        path.write_text(str(value + 1))
    return value


cmd = " ".join(a for a in args[:3] if not a.startswith("-"))
if args[:2] == ["account", "show"]:
    if (state / "signed-out").exists():
        print("ERROR: Please run 'az login' to setup account.", file=sys.stderr)
        sys.exit(1)
elif args[:3] == ["deployment", "group", "create"]:
    sys.exit(int(fixture("deploy-rc.json", 0)))
elif args[:3] == ["ad", "app", "show"]:
    apps = fixture("apps.json", {})
    app_id = arg("--id")
    if app_id not in apps.values():
        print(f"ERROR: Resource '{app_id}' does not exist", file=sys.stderr)
        sys.exit(3)
    print("object-" + app_id if arg("--query") == "id" else app_id)
elif args[:3] == ["ad", "app", "list"]:
    name = arg("--filter").split("'")[1]
    print(fixture("apps.json", {}).get(name, ""))
elif args[:3] == ["ad", "app", "create"]:
    apps = fixture("apps.json", {})
    apps[arg("--display-name")] = "33333333-4444-5555-6666-777777777777"
    (state / "apps.json").write_text(json.dumps(apps))
    print(apps[arg("--display-name")])
elif args[:2] == ["cloud", "show"]:
    print("https://graph.microsoft.com/")
elif args[0] == "rest":
    method, url = arg("--method").lower(), arg("--url") or arg("--uri")
    if "/providers/Microsoft.Authorization/roleAssignments?" in url and method == "get":
        sub = url.split("/")[2].lower()
        principal = url.split("principalId%20eq%20'")[1].split("'")[0]
        for a in fixture("assignments.json", []):
            if a["id"].lower().startswith(f"/subscriptions/{sub}/") and a["properties"]["principalId"] == principal:
                p = a["properties"]
                print("\t".join([a["id"], p["scope"], p["roleDefinitionId"], p.get("description") or ""]))
    elif url.split("?")[0].endswith("/config/configreferences/appsettings/refresh"):
        counter("refreshes", bump=True)
    elif url.split("?")[0].endswith("/config/configreferences/appsettings") and method == "get":
        if (state / "kv-fails").exists():
            print("ERROR: (AuthorizationFailed) ...", file=sys.stderr)
            sys.exit(1)
        done = counter("refreshes")
        site = url.split("/config/")[0]
        for name, statuses in fixture("kv.json", {}).items():
            print(f"{site}/config/configreferences/appsettings/{name}\t{statuses[min(done, len(statuses) - 1)]}")
"""
FAKE_AZD = r"""
import json, os, sys
from pathlib import Path

state = Path(os.environ["FAKE_AZ_STATE"])
path = state / "azd-env.json"
env = json.loads(path.read_text()) if path.exists() else {}
if sys.argv[1:3] == ["env", "set"]:
    env[sys.argv[3]] = sys.argv[4]
    path.write_text(json.dumps(env))
"""
TOOLS = ["sh", "dirname", "sed", "grep", "tr", "cut", "base64", "sort", "sleep", "cat", "head"]


class Hooks:
    """A sandbox: a PATH with the few tools the hooks use, optionally a fake az and azd, and their state."""

    def __init__(self, root: Path, *, az: bool = True, json_tool: str | None = "python3") -> None:
        self.state = root / "state"
        self.bin = root / "bin"
        self.state.mkdir()
        self.bin.mkdir()
        for tool in TOOLS:
            found = shutil.which(tool)
            assert found, tool
            (self.bin / tool).symlink_to(found)
        # what the preprovision hook parses ALERT_ROUTES with: python3 (azd needs it for a Python app), jq, or neither
        if json_tool == "python3":
            (self.bin / "python3").symlink_to(sys.executable)
        elif json_tool is not None:
            found = shutil.which(json_tool)
            assert found, json_tool
            (self.bin / json_tool).symlink_to(found)
        self._script("azd", FAKE_AZD)
        if az:
            self._script("az", FAKE_AZ)

    def _script(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text(f"#!{sys.executable}\n{body}")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)

    def write(self, name: str, value: Any) -> None:
        (self.state / name).write_text(json.dumps(value))

    def run(self, hook: str, **env: str) -> subprocess.CompletedProcess[str]:
        base = {"PATH": str(self.bin), "FAKE_AZ_STATE": str(self.state), "HOME": str(self.state)}
        return subprocess.run(
            ["sh", str(HOOKS / f"{hook}.sh")],
            env=base | env,
            cwd=INFRA.parent,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def calls(self) -> list[list[str]]:
        log = self.state / "calls.log"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def azd_env(self) -> dict[str, str]:
        path = self.state / "azd-env.json"
        return json.loads(path.read_text()) if path.exists() else {}


@pytest.fixture
def hooks(tmp_path: Path) -> Hooks:
    return Hooks(tmp_path)


def test_every_hook_script_is_valid_sh() -> None:
    scripts = sorted(HOOKS.glob("*.sh"))
    assert len(scripts) == 4
    for script in scripts:
        subprocess.run(["sh", "-n", str(script)], check=True)


# ---- 7. az checked first


DEPLOY_ENV = {
    "AZURE_SUBSCRIPTION_ID": SUB,
    "AZURE_RESOURCE_GROUP": "rg-modelwatch-prod",
    "EVENTGRID_TOPIC_NAME": "evgt-x",
    "FUNCTION_APP_NAME": "func-x",
    "STORAGE_ACCOUNT_NAME": "stx",
    "DEADLETTER_CONTAINER": "deadletter",
    "MODELWATCH_HOOK_DELAY_SECONDS": "0",
}


def test_postdeploy_stops_at_once_when_az_is_missing(tmp_path: Path) -> None:
    sandbox = Hooks(tmp_path, az=False)
    result = sandbox.run("postdeploy", **DEPLOY_ENV)
    assert result.returncode == 1
    assert "Azure CLI (az) is not installed" in result.stderr and "azd hooks run postdeploy" in result.stderr
    assert "event subscriptions not created" not in result.stdout + result.stderr  # no retry loop


def test_postdeploy_stops_at_once_when_az_is_signed_out(hooks: Hooks) -> None:
    (hooks.state / "signed-out").touch()
    result = hooks.run("postdeploy", **DEPLOY_ENV)
    assert result.returncode == 1
    assert "az is not signed in" in result.stderr and "az login" in result.stderr
    assert [c[:3] for c in hooks.calls()] == [["account", "show", "--output"]]


def test_postdeploy_creates_the_subscriptions_in_azds_subscription(hooks: Hooks) -> None:
    result = hooks.run("postdeploy", **DEPLOY_ENV)
    assert result.returncode == 0, result.stderr
    deploy = [c for c in hooks.calls() if c[:3] == ["deployment", "group", "create"]]
    assert len(deploy) == 1
    assert deploy[0][deploy[0].index("--subscription") + 1] == SUB
    assert "infra/subscriptions.bicep" in deploy[0] and "functionAppName=func-x" in deploy[0]


def test_postdeploy_retries_then_says_what_to_do(hooks: Hooks) -> None:
    hooks.write("deploy-rc.json", 1)
    result = hooks.run("postdeploy", **DEPLOY_ENV, MODELWATCH_HOOK_ATTEMPTS="3")
    assert result.returncode == 1
    assert len([c for c in hooks.calls() if c[:2] == ["deployment", "group"]]) == 3
    assert "not created after 3 attempts" in result.stderr and "azd hooks run postdeploy" in result.stderr


# ---- preprovision: 5 (WATCH_ACCOUNTS), 14 (enforce guard), 2 (ALERT_ROUTES), 10 (the Entra app)

PRE_ENV = {"AZURE_ENV_NAME": "modelwatch-prod", "AUTH_APP_SKIP_SETUP": "true", "AUTH_CLIENT_ID": "c" * 8}


def test_watch_accounts_are_trimmed_and_deduplicated(hooks: Hooks) -> None:
    messy = f" {ACCOUNT}/ ,{ACCOUNT.upper().replace('/SUBSCRIPTIONS/', '/subscriptions/')},,{ELSEWHERE} "
    result = hooks.run("preprovision", **PRE_ENV, WATCH_ACCOUNTS=messy)
    assert result.returncode == 0, result.stderr
    assert hooks.azd_env()["WATCH_ACCOUNTS"] == f"{ACCOUNT},{ELSEWHERE}"


def test_a_clean_watch_accounts_is_left_alone(hooks: Hooks) -> None:
    result = hooks.run("preprovision", **PRE_ENV, WATCH_ACCOUNTS=f"{ACCOUNT},{ELSEWHERE}")
    assert result.returncode == 0, result.stderr
    assert "WATCH_ACCOUNTS" not in hooks.azd_env()


@pytest.mark.parametrize(
    "bad",
    [
        "contoso",
        f"/subscriptions/{SUB}/resourceGroups/ai",
        "/subscriptions/not-a-guid/resourceGroups/ai/providers/Microsoft.CognitiveServices/accounts/x",
        f"{ACCOUNT}/deployments/chat",
        f"/subscriptions/{SUB}/resourceGroups/ai/providers/Microsoft.Storage/storageAccounts/x",
    ],
)
def test_a_malformed_watch_account_stops_provisioning(hooks: Hooks, bad: str) -> None:
    result = hooks.run("preprovision", **PRE_ENV, WATCH_ACCOUNTS=f"{ACCOUNT},{bad}")
    assert result.returncode == 1
    assert f"'{bad}'" in result.stderr and "Microsoft.CognitiveServices/accounts/<name>" in result.stderr
    assert hooks.azd_env() == {}  # nothing stored, nothing provisioned


CONTAINER = f"/subscriptions/{SUB}/resourceGroups/st/providers/Microsoft.Storage/storageAccounts/stsuites/blobServices/default/containers/evals"


@pytest.mark.parametrize(
    ("container", "refused"),
    [
        ("", False),
        (CONTAINER, False),
        (CONTAINER.rsplit("/blobServices", 1)[0], True),  # the account, not a container
        ("https://stsuites.blob.core.windows.net/evals", True),  # EVAL_SUITES' URL, not the resource id
        (CONTAINER.replace("/evals", "/Evals"), True),  # container names are lower case
    ],
)
def test_eval_suites_container_must_be_a_containers_resource_id(
    hooks: Hooks, container: str, refused: bool
) -> None:
    result = hooks.run("preprovision", **PRE_ENV, EVAL_SUITES_CONTAINER=container)
    assert (result.returncode == 1) == refused, result.stderr
    assert ("EVAL_SUITES_CONTAINER must be a blob container's resource id" in result.stderr) == refused


@pytest.mark.parametrize(
    ("mode", "accounts", "everywhere", "refused"),
    [
        ("enforce", "", "false", True),
        ("Enforce", "", "", True),
        ("enforce", "", "true", False),
        ("enforce", ACCOUNT, "false", False),
        ("plan", "", "false", False),
    ],
)
def test_enforce_on_no_named_account_needs_saying_so(
    hooks: Hooks, mode: str, accounts: str, everywhere: str, refused: bool
) -> None:
    result = hooks.run(
        "preprovision",
        **PRE_ENV,
        POLICY_MODE=mode,
        WATCH_ACCOUNTS=accounts,
        POLICY_ENFORCE_ALL_ACCOUNTS=everywhere,
    )
    assert (result.returncode == 1) == refused, result.stderr
    assert ("POLICY_ENFORCE_ALL_ACCOUNTS" in result.stderr) == refused


def test_alert_routes_reach_the_parameters_file_encoded(hooks: Hooks) -> None:
    """2, end to end: the real hook encodes ALERT_ROUTES; azd's substitution of what it stored keeps the file JSON."""
    result = hooks.run("preprovision", **PRE_ENV, ALERT_ROUTES=AZD_ENV["ALERT_ROUTES"])
    assert result.returncode == 0, result.stderr
    stored = hooks.azd_env()["ALERT_ROUTES_B64"]
    assert base64.b64decode(stored).decode() == AZD_ENV["ALERT_ROUTES"]
    template = (INFRA / "main.parameters.json").read_text()
    values = substituted_parameters(template, AZD_ENV | {"ALERT_ROUTES_B64": stored})
    assert json.loads(base64.b64decode(values["alertRoutesBase64"])) == json.loads(AZD_ENV["ALERT_ROUTES"])
    with pytest.raises(json.JSONDecodeError):  # what the raw value does to the file
        json.loads(azd_substitute(template.replace("ALERT_ROUTES_B64", "ALERT_ROUTES"), AZD_ENV))


def test_clearing_alert_routes_clears_the_encoded_copy(hooks: Hooks) -> None:
    assert hooks.run("preprovision", **PRE_ENV).returncode == 0
    assert hooks.azd_env()["ALERT_ROUTES_B64"] == ""
    result = hooks.run("preprovision", **PRE_ENV, ALERT_ROUTES="payments=https://x")
    assert result.returncode == 1 and "JSON object" in result.stderr


PRETTY_ROUTES = """{
  "payments": {
    "slack": "https://hooks.slack.com/services/T0/B0/x",
    "minSeverity": "warning"
  },
  "search": { "teams": "https://example.invalid/workflows/1" }
}
"""


@pytest.mark.parametrize("json_tool", ["python3", "jq"])
def test_pretty_printed_alert_routes_are_accepted(tmp_path: Path, json_tool: str) -> None:
    """A multi-line JSON object (a GitHub secret pasted pretty-printed) is parsed, not sniffed line by line."""
    sandbox = Hooks(tmp_path, json_tool=json_tool)
    result = sandbox.run("preprovision", **PRE_ENV, ALERT_ROUTES=PRETTY_ROUTES)
    assert result.returncode == 0, result.stderr
    assert base64.b64decode(sandbox.azd_env()["ALERT_ROUTES_B64"]).decode() == PRETTY_ROUTES


@pytest.mark.parametrize("json_tool", ["python3", "jq"])
@pytest.mark.parametrize(
    "routes",
    [
        '{"payments": {"slack": "https://x"}',  # unterminated: starts like an object
        '[{"payments": {}}]',  # an array
        '"{}"',  # a string
        '{"payments": {}} trailing',
        "{\n  payments: {}\n}",  # not JSON (unquoted key), multi-line
    ],
)
def test_alert_routes_that_are_not_a_json_object_are_refused(
    tmp_path: Path, json_tool: str, routes: str
) -> None:
    sandbox = Hooks(tmp_path, json_tool=json_tool)
    result = sandbox.run("preprovision", **PRE_ENV, ALERT_ROUTES=routes)
    assert result.returncode == 1 and "ALERT_ROUTES must be a JSON object" in result.stderr
    assert "ALERT_ROUTES_B64" not in sandbox.azd_env()


def test_no_json_parser_stops_naming_the_fix(tmp_path: Path) -> None:
    sandbox = Hooks(tmp_path, json_tool=None)
    result = sandbox.run("preprovision", **PRE_ENV, ALERT_ROUTES=PRETTY_ROUTES)
    assert result.returncode == 1 and "needs python3 (or jq)" in result.stderr
    assert sandbox.run("preprovision", **PRE_ENV).returncode == 0  # no ALERT_ROUTES: nothing to parse


def ps_env_set_problems(ps1: str) -> list[str]:
    """PowerShell 7.2 and older drop an empty-string argument to a native command ('' or an empty variable), so
    `azd env set KEY $value` with an empty value becomes `azd env set KEY` and fails: every azd env set in the
    PowerShell hooks passes KEY=value as one argument (azd accepts that form since 1.17)."""
    problems = []
    for line in ps1.splitlines():
        code = line.split("#", 1)[0]
        for call in re.findall(r"azd env set ([^}]*)\}", code):
            args = call.split()
            if len(args) != 1 or not re.fullmatch(r"[\"']?[A-Z0-9_]+=.*", args[0]):
                problems.append(f"azd env set {call.strip()}")
    return problems


def test_the_powershell_hooks_never_pass_an_empty_argument_to_azd() -> None:
    for hook in sorted(HOOKS.glob("*.ps1")):
        assert ps_env_set_problems(hook.read_text()) == [], hook.name
    assert ps_env_set_problems("Invoke-Checked { azd env set ALERT_ROUTES_B64 '' } | Out-Null") == [
        "azd env set ALERT_ROUTES_B64 ''"
    ]
    assert ps_env_set_problems("Invoke-Checked { azd env set WATCH_ACCOUNTS $accounts } | Out-Null") == [
        "azd env set WATCH_ACCOUNTS $accounts"
    ]


ENTRA_ENV = {"AZURE_ENV_NAME": "prod"}  # the registration is named modelwatch-<env>


def test_the_app_registration_is_created_once_with_its_roles(hooks: Hooks) -> None:
    result = hooks.run("preprovision", **ENTRA_ENV)
    assert result.returncode == 0, result.stderr
    created = "33333333-4444-5555-6666-777777777777"
    assert hooks.azd_env()["AUTH_CLIENT_ID"] == created
    calls = hooks.calls()
    assert calls[2][:5] == ["ad", "app", "create", "--display-name", "modelwatch-prod"]
    update = next(c for c in calls if c[:3] == ["ad", "app", "update"])
    assert update[update.index("--identifier-uris") + 1] == f"api://{created}"
    roles_file = update[update.index("--app-roles") + 1]
    assert roles_file.startswith("@") and Path(roles_file[1:]).resolve() == HOOKS / "app-roles.json"
    patches = [c for c in calls if c[:1] == ["rest"] and "PATCH" in c]
    assert [p[p.index("--body") + 1].rsplit("/", 1)[1] for p in patches] == [
        "app-api.json",
        "app-api-preauthorized.json",
    ]
    assert any(c[:3] == ["ad", "sp", "update"] and "appRoleAssignmentRequired=true" in c for c in calls)


def test_an_existing_app_registration_is_found_not_duplicated(hooks: Hooks) -> None:
    existing = "44444444-5555-6666-7777-888888888888"
    hooks.write("apps.json", {"modelwatch-prod": existing})
    assert hooks.run("preprovision", **ENTRA_ENV).returncode == 0
    assert hooks.azd_env()["AUTH_CLIENT_ID"] == existing
    assert not any(c[:3] == ["ad", "app", "create"] for c in hooks.calls())
    # next run: found by the stored client id
    hooks.write("apps.json", {"renamed": existing})
    assert hooks.run("preprovision", **ENTRA_ENV, AUTH_CLIENT_ID=existing).returncode == 0
    assert not any(c[:3] == ["ad", "app", "create"] for c in hooks.calls())


def test_ci_can_use_a_registration_made_by_a_person(tmp_path: Path) -> None:
    sandbox = Hooks(tmp_path, az=False)  # no az, no Graph: only the client id
    result = sandbox.run("preprovision", **PRE_ENV)
    assert result.returncode == 0, result.stderr
    refused = sandbox.run("preprovision", AZURE_ENV_NAME="x", AUTH_APP_SKIP_SETUP="true")
    assert refused.returncode == 1 and "needs AUTH_CLIENT_ID" in refused.stderr


def test_the_app_roles_are_the_ones_the_app_checks() -> None:
    roles = json.loads((HOOKS / "app-roles.json").read_text())
    assert {r["value"] for r in roles} == {"ModelWatch.Reader", "ModelWatch.Operator"}
    help_text = json.loads((INFRA.parent / "local.settings.sample.json").read_text())["SettingsHelp"][
        "HTTP_AUTH"
    ]
    assert all(r["value"] in help_text for r in roles)
    assert len({r["id"] for r in roles}) == 2 and all(r["isEnabled"] for r in roles)
    api = json.loads((HOOKS / "app-api.json").read_text())["api"]
    full = json.loads((HOOKS / "app-api-preauthorized.json").read_text())["api"]
    assert full["oauth2PermissionScopes"] == api["oauth2PermissionScopes"]  # the second PATCH keeps the scope
    scope_id = api["oauth2PermissionScopes"][0]["id"]
    assert full["preAuthorizedApplications"] == [
        {"appId": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "delegatedPermissionIds": [scope_id]}  # Azure CLI
    ]
    assert scope_id not in {r["id"] for r in roles}


# ---- postprovision: 13 (stale writer assignments), 4 (Key Vault references)


def assignment(
    scope: str, role: str, principal: str = PRINCIPAL, description: str | None = None
) -> dict[str, Any]:
    sub = scope.split("/")[2]
    name = f"{abs(hash((scope, role, principal))):032x}"[:32]
    properties = {
        "scope": scope,
        "roleDefinitionId": role,
        "principalId": principal,
        "description": description,
    }
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "properties": properties,
        "subscription": sub,
    }


ASSIGNMENTS = {
    "kept writer": assignment(ACCOUNT, WRITER),
    "writer on a dropped account": assignment(GONE, WRITER),
    "writer in another subscription": assignment(ELSEWHERE, OTHER_WRITER),
    "legacy Reader": assignment(f"/subscriptions/{SUB}", READER_BUILT_IN),
    "legacy Contributor": assignment(ACCOUNT, CS_CONTRIBUTOR),
    "state tables": assignment(
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st",
        TABLE_CONTRIBUTOR,
    ),
    "someone else's writer": assignment(GONE, WRITER, principal="bbbbbbbb-0000-0000-0000-000000000002"),
}
POST_ENV = {
    "AZURE_SUBSCRIPTION_ID": SUB,
    "AZURE_RESOURCE_GROUP": "rg-modelwatch-prod",
    "FUNCTION_APP_NAME": "func-x",
    "FUNCTION_APP_HOST": "func-x.azurewebsites.net",
    "FUNCTION_APP_PRINCIPAL_ID": PRINCIPAL,
    "AUTH_CLIENT_ID": "c" * 8,
    "WRITER_ROLE_IDS": f"{WRITER},{OTHER_WRITER.upper().replace('/SUBSCRIPTIONS/', '/subscriptions/')}",
    "MODELWATCH_KV_INTERVAL_SECONDS": "0",
}


def removed(hooks: Hooks, assignments: dict[str, Any] = ASSIGNMENTS, **env: str) -> set[str]:
    hooks.write("assignments.json", list(assignments.values()))
    result = hooks.run("postprovision", **(POST_ENV | env))
    assert result.returncode == 0, result.stderr
    ids = {c[c.index("--ids") + 1] for c in hooks.calls() if c[:3] == ["role", "assignment", "delete"]}
    return {label for label, a in assignments.items() if a["id"] in ids}


# canaries (#25): the canary writer and the data-plane role this template granted, on a watched account and on one
# dropped from WATCH_ACCOUNTS; a data-plane role granted by hand (a judge's account) is never the hook's
CANARY_ASSIGNMENTS = {
    "canary writer": assignment(ACCOUNT, CANARY_WRITER),
    "canary writer on a dropped account": assignment(GONE, CANARY_WRITER),
    "data plane": assignment(ACCOUNT, OPENAI_USER, description=CANARY_MARKER),
    "data plane on a dropped account": assignment(GONE, OPENAI_USER, description=CANARY_MARKER),
    "data plane granted by hand": assignment(
        ELSEWHERE, OPENAI_USER.replace(SUB, OTHER_SUB), description="judge"
    ),
}
CANARY_ENV = {"CANARY_ROLE_IDS": CANARY_WRITER, "WATCH_ACCOUNTS": ACCOUNT}


WRITERS = {"canary writer", "canary writer on a dropped account"}


@pytest.mark.parametrize(
    ("mode", "gone"),
    [
        ("create", {"canary writer on a dropped account", "data plane on a dropped account"}),
        ("existing", {*WRITERS, "data plane on a dropped account"}),  # no canary is created: no canary writer
        (
            "",
            {*WRITERS, "data plane", "data plane on a dropped account"},
        ),  # unset: off (a hand-made grant stays)
    ],
)
def test_canary_roles_stay_only_on_watched_accounts_and_while_needed(
    hooks: Hooks, mode: str, gone: set[str]
) -> None:
    assert removed(hooks, CANARY_ASSIGNMENTS, CANARY_MODE=mode, **CANARY_ENV) == gone


def test_canary_roles_are_listed_in_the_canary_writers_subscriptions_too(hooks: Hooks) -> None:
    other = CANARY_WRITER.replace(SUB, OTHER_SUB)
    removed(hooks, CANARY_ASSIGNMENTS, CANARY_MODE="create", CANARY_ROLE_IDS=other, WRITER_ROLE_IDS="")
    urls = [
        c[c.index("--url") + 1] for c in hooks.calls() if c[:1] == ["rest"] and "roleAssignments?" in str(c)
    ]
    assert [u.split("/")[2] for u in urls] == [OTHER_SUB]


def test_enforce_keeps_the_writer_only_on_watched_accounts(hooks: Hooks) -> None:
    assert removed(hooks, POLICY_MODE="enforce", WATCH_ACCOUNTS=f"{ACCOUNT.upper()} ") == {
        "writer on a dropped account",
        "writer in another subscription",
        "legacy Reader",
        "legacy Contributor",
    }


def test_plan_mode_removes_every_writer_assignment(hooks: Hooks) -> None:
    assert removed(hooks, POLICY_MODE="plan", WATCH_ACCOUNTS=ACCOUNT) == {
        "kept writer",
        "writer on a dropped account",
        "writer in another subscription",
        "legacy Reader",
        "legacy Contributor",
    }


def test_enforce_everywhere_keeps_hand_made_writer_assignments(hooks: Hooks) -> None:
    assert removed(hooks, POLICY_MODE="enforce", POLICY_ENFORCE_ALL_ACCOUNTS="true") == {
        "legacy Reader",
        "legacy Contributor",
    }


def test_the_assignment_listing_is_per_subscription_and_principal(hooks: Hooks) -> None:
    removed(hooks, POLICY_MODE="plan")
    listings = [
        c for c in hooks.calls() if c[:1] == ["rest"] and "roleAssignments?" in (c[c.index("--url") + 1])
    ]
    urls = sorted(c[c.index("--url") + 1] for c in listings)
    assert [u.split("/")[2] for u in urls] == sorted([SUB, OTHER_SUB])
    assert all(f"principalId%20eq%20'{PRINCIPAL}'" in u for u in urls)


def test_the_redirect_uri_points_at_the_apps_host(hooks: Hooks) -> None:
    removed(hooks)
    update = next(c for c in hooks.calls() if c[:3] == ["ad", "app", "update"])
    assert (
        update[update.index("--web-redirect-uris") + 1]
        == "https://func-x.azurewebsites.net/.auth/login/aad/callback"
    )


def test_key_vault_references_are_refreshed_until_resolved(hooks: Hooks) -> None:
    hooks.write(
        "kv.json",
        {
            "SLACK_WEBHOOK_URL": ["AccessToKeyVaultDenied", "AccessToKeyVaultDenied", "Resolved"],
            "ALERT_ROUTES": ["Initialized", "Resolved"],
        },
    )
    result = hooks.run("postprovision", **POST_ENV)
    assert result.returncode == 0, result.stderr
    assert "Key Vault references resolved" in result.stdout
    refreshes = [c for c in hooks.calls() if c[:1] == ["rest"] and "post" in c]
    assert len(refreshes) == 2
    assert refreshes[0][refreshes[0].index("--url") + 1] == (
        f"/subscriptions/{SUB}/resourceGroups/rg-modelwatch-prod/providers/Microsoft.Web/sites/func-x"
        "/config/configreferences/appsettings/refresh?api-version=2022-03-01"
    )
    assert "SLACK_WEBHOOK_URL=AccessToKeyVaultDenied" in result.stdout  # progress names the setting


def test_an_unresolved_reference_fails_with_the_fix_named(hooks: Hooks) -> None:
    hooks.write("kv.json", {"TEAMS_WEBHOOK_URL": ["SecretNotFound"]})
    result = hooks.run("postprovision", **POST_ENV, MODELWATCH_KV_ATTEMPTS="3")
    assert result.returncode == 1
    assert "TEAMS_WEBHOOK_URL=SecretNotFound" in result.stderr and "after 3 checks" in result.stderr
    assert "azd hooks run postprovision" in result.stderr and "az keyvault secret set" in result.stderr
    assert len([c for c in hooks.calls() if c[:1] == ["rest"] and "post" in c]) == 3  # bounded


def test_a_failing_az_is_not_read_as_resolved(hooks: Hooks) -> None:
    hooks.write("kv.json", {"TEAMS_WEBHOOK_URL": ["Resolved"]})
    (hooks.state / "kv-fails").touch()
    result = hooks.run("postprovision", **POST_ENV)
    assert result.returncode == 1 and "AuthorizationFailed" in result.stderr
    assert "references resolved" not in result.stdout and "no Key Vault references" not in result.stdout


def test_no_reference_no_wait(hooks: Hooks) -> None:
    result = hooks.run("postprovision", **POST_ENV)
    assert result.returncode == 0 and "no Key Vault references" in result.stdout
    assert not [c for c in hooks.calls() if c[:1] == ["rest"] and "post" in c]


def test_postprovision_checks_az_first(tmp_path: Path) -> None:
    result = Hooks(tmp_path, az=False).run("postprovision", **POST_ENV)
    assert result.returncode == 1 and "azd hooks run postprovision" in result.stderr


# ---- the PowerShell twins: the same steps, by text


@pytest.mark.parametrize("hook", ["preprovision", "postprovision", "postdeploy"])
def test_the_powershell_twin_takes_the_same_steps(hook: str) -> None:
    ps1 = (HOOKS / f"{hook}.ps1").read_text()
    lib = (HOOKS / "lib.ps1").read_text()
    assert '. "$PSScriptRoot/lib.ps1"' in ps1
    if hook != "preprovision":
        assert f"Require-Az {hook}" in ps1.splitlines()[2]  # before anything else
    assert "Get-Command az" in lib and "az account show" in lib and "az login" in lib
    shared_markers = {
        "preprovision": [
            "Get-NormalizedAccounts",
            "POLICY_ENFORCE_ALL_ACCOUNTS",
            "EVAL_SUITES_CONTAINER",
            "ALERT_ROUTES_B64",
            "ToBase64String",
            "app-roles.json",
            "app-api.json",
            "app-api-preauthorized.json",
            "appRoleAssignmentRequired=true",
            "AUTH_APP_SKIP_SETUP",
        ],
        "postprovision": [
            "--web-redirect-uris",
            "acdd72a7-3385-48ef-bd42-f606fba81ae7",
            "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68",
            "WRITER_ROLE_IDS",
            "CANARY_ROLE_IDS",
            "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
            "modelwatch canaries (#25)",
            "properties.description",
            "az role assignment delete",
            "configreferences/appsettings/refresh?$api",
            "Resolved",
            "MODELWATCH_KV_ATTEMPTS",
        ],
        "postdeploy": [
            "--subscription $env:AZURE_SUBSCRIPTION_ID",
            "infra/subscriptions.bicep",
            "MODELWATCH_HOOK_ATTEMPTS",
        ],
    }
    missing = [m for m in shared_markers[hook] if m not in ps1]
    assert missing == []

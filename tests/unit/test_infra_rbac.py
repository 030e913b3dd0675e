"""Least privilege, checked against the code: every ARM call shared/adapters/arm.py makes is in the table below with the
RBAC action Azure checks for it, and the two custom roles the templates define hold exactly the actions the table
gives them. A new ARM call without a table row (and so without a role update) fails here; so does a role action no
call needs.

Action names are from the Microsoft.CognitiveServices resource provider's operations list (MicrosoftDocs/azure-docs
articles/role-based-access-control/permissions/ai-machine-learning.md): accounts/read, accounts/deployments/read and
/write, accounts/models/read, locations/models/read, locations/operationresults/read. Not verifiable here: which
action ARM checks for an Azure-AsyncOperation URL under .../operationStatuses/ (the provider lists no such action;
the row below assumes operationresults/read, as for .../operationResults/), and that the roles work end to end (no
Azure account: nothing here creates a role or calls ARM).
"""

from __future__ import annotations

import ast
import re

from tree_sitter import Node

from tests.support.bicep import (
    INFRA,
    ROOT,
    bicep,
    declarations,
    items,
    node_text,
    parse,
    prop,
    resources,
    string_value,
)

READER, WRITER, CANARY = "catalog reader", "deployment writer", "canary writer"
CS = "Microsoft.CognitiveServices"
AT_SUBSCRIPTION = f"/subscriptions/{{subscriptionId}}/providers/{CS}"  # the subscription-level paths' start

# (method, path as arm.py builds it) -> (the action ARM checks, the custom roles that must hold it). The reader role is
# assigned on each watched subscription, the writer role on each account enforcement may write (enforce mode only).
ARM_CALLS: dict[tuple[str, str], tuple[str, frozenset[str]]] = {
    # Models - List: the catalog (subscription-level, hence the reader at subscription scope)
    ("GET", f"{AT_SUBSCRIPTION}/locations/{{location}}/models"): (
        f"{CS}/locations/models/read",
        frozenset({READER}),
    ),
    # Accounts - List by subscription (WATCH_SUBSCRIPTION_IDS), Accounts - Get (WATCH_ACCOUNTS)
    ("GET", f"{AT_SUBSCRIPTION}/accounts"): (f"{CS}/accounts/read", frozenset({READER})),
    ("GET", "{accountId}"): (f"{CS}/accounts/read", frozenset({READER})),
    # Accounts - List Models: fine-tuned models' deprecation
    ("GET", "{accountId}/models"): (f"{CS}/accounts/models/read", frozenset({READER})),
    # Deployments - List / Get; the writer holds the read too, so the read-modify-write of an upgrade needs one role
    ("GET", "{accountId}/deployments"): (f"{CS}/accounts/deployments/read", frozenset({READER})),
    ("GET", "{deploymentId}"): (f"{CS}/accounts/deployments/read", frozenset({READER, WRITER, CANARY})),
    ("GET", "{accountId}/deployments/{deploymentName}"): (
        f"{CS}/accounts/deployments/read",
        frozenset({READER, WRITER, CANARY}),
    ),
    # Deployments - Create Or Update: an upgrade, a rollback, a rollback's sibling deployment under a new name
    # and a canary (#25): the temporary <name>-mw-canary, with the canary writer role (canaryMode create)
    ("PUT", "{deploymentId}"): (f"{CS}/accounts/deployments/write", frozenset({WRITER, CANARY})),
    ("PUT", "{accountId}/deployments/{deploymentName}"): (
        f"{CS}/accounts/deployments/write",
        frozenset({WRITER, CANARY}),
    ),
    # Deployments - Delete: only a canary modelwatch created (#25), tagged and named *-mw-canary
    ("DELETE", "{deploymentId}"): (f"{CS}/accounts/deployments/delete", frozenset({CANARY})),
    # the PUT's Azure-AsyncOperation / Location poll: a subscription-level URL, outside any account, so the role
    # assigned on the subscription (the reader) must hold it; an action on the account would never apply
    ("GET", f"{AT_SUBSCRIPTION}/locations/{{location}}/operationResults/{{operationId}}"): (
        f"{CS}/locations/operationresults/read",
        frozenset({READER}),
    ),
    ("GET", f"{AT_SUBSCRIPTION}/locations/{{location}}/operationStatuses/{{operationId}}"): (
        f"{CS}/locations/operationresults/read",  # unverified: see the module docstring
        frozenset({READER}),
    ),
}
POLLS = {key for key in ARM_CALLS if "/operation" in key[1]}

# what arm.py names each part of a path -> the table's placeholder; an unknown name fails (add it on purpose)
PLACEHOLDERS = {
    "subscription_id": "{subscriptionId}",
    "self.subscription_id": "{subscriptionId}",
    "location": "{location}",
    "account_id": "{accountId}",
    "deployment_id": "{deploymentId}",
    "name": "{deploymentName}",
    "deployment_name": "{deploymentName}",
    "new_name": "{deploymentName}",
}
CLIENT_METHODS = {"get": "GET", "list_all": "GET", "put_and_wait": "PUT", "delete_and_wait": "DELETE"}


def _placeholder(node: ast.expr) -> str:
    name = ast.unparse(node)
    assert name in PLACEHOLDERS, f"arm.py builds a path from {name}: add it to PLACEHOLDERS and the table"
    return PLACEHOLDERS[name]


def _template(node: ast.expr) -> str:
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else _placeholder(part.value)  # type: ignore[attr-defined]
            for part in node.values
        )
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return _placeholder(node)


def arm_calls(source: str) -> set[tuple[str, str]]:
    """(method, path template) of each call the adapters make through their ArmClient (self.client.get/list_all/
    put_and_wait/request); a PUT also polls its operation URL."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = ast.unparse(node.func.value)
        if owner != "self.client":
            continue
        method = node.func.attr
        if method == "request":
            verb, path = node.args[0], node.args[1]
            assert isinstance(verb, ast.Constant)
            found.add((str(verb.value).upper(), _template(path)))
        elif method in CLIENT_METHODS:
            found.add((CLIENT_METHODS[method], _template(node.args[0])))
    if any(method == "PUT" for method, _ in found):
        found |= POLLS
    return found


def missing_rows(source: str) -> set[tuple[str, str]]:
    return arm_calls(source) - set(ARM_CALLS)


def test_every_arm_call_of_the_code_has_its_action_in_the_table() -> None:
    source = (ROOT / "shared" / "adapters" / "arm.py").read_text()
    calls = arm_calls(source)
    assert ("PUT", "{deploymentId}") in calls and ("GET", "{accountId}/deployments") in calls
    assert missing_rows(source) == set()


def test_the_table_check_sees_a_new_call() -> None:
    source = (ROOT / "shared" / "adapters" / "arm.py").read_text()
    added = (
        source
        + '\n\ndef list_keys(self, account_id):\n    return self.client.get(f"{account_id}/listKeys")\n'
    )
    assert missing_rows(added) == {("GET", "{accountId}/listKeys")}


def role_definitions(source: str) -> dict[str, tuple[list[str], Node]]:
    """'catalog reader' / 'deployment writer' -> (actions, body) of each roleDefinitions resource."""
    out = {}
    for _, _, body in resources(parse(source), "Microsoft.Authorization/roleDefinitions@"):
        role_name = string_value(prop(body, "properties", "roleName"))
        kind = next((k for k in (READER, WRITER, CANARY) if k in role_name), role_name)
        permissions = items(prop(body, "properties", "permissions"))
        assert len(permissions) == 1, role_name
        actions = [string_value(a) for a in items(prop(permissions[0], "actions"))]
        out[kind] = (actions, body)
    return out


def required_actions(role: str) -> set[str]:
    return {action for action, roles in ARM_CALLS.values() if role in roles}


def role_problems(source: str) -> list[str]:
    problems = []
    definitions = role_definitions(source)
    if set(definitions) != {READER, WRITER, CANARY}:
        problems.append(f"custom roles defined: {sorted(definitions)}")
    for role, (actions, body) in definitions.items():
        if len(actions) != len(set(actions)):
            problems.append(f"{role}: repeated actions")
        if set(actions) != required_actions(role):
            problems.append(
                f"{role}: extra {sorted(set(actions) - required_actions(role))}, "
                f"missing {sorted(required_actions(role) - set(actions))}"
            )
        if any("*" in a for a in actions) or items(prop(body, "properties", "permissions"))[0] is None:
            problems.append(f"{role}: a wildcard")
        for key in ("notActions", "dataActions", "notDataActions"):
            if items(prop(items(prop(body, "properties", "permissions"))[0], key)):
                problems.append(f"{role}: {key} is not empty")
        # whole text: the grammar splits a call inside an array literal into two items (a quirk, not an error)
        scopes = re.sub(r"\s", "", node_text(prop(body, "properties", "assignableScopes")))
        if scopes != "[subscription().id]":
            problems.append(f"{role}: assignable at {scopes}")
    return problems


def test_the_custom_roles_hold_exactly_what_the_calls_need() -> None:
    source = (INFRA / "modules" / "subscription-roles.bicep").read_text()
    assert role_problems(source) == []
    assert required_actions(WRITER) == {f"{CS}/accounts/deployments/read", f"{CS}/accounts/deployments/write"}


def test_the_role_check_sees_an_extra_action() -> None:
    source = (INFRA / "modules" / "subscription-roles.bicep").read_text()
    wider = source.replace(
        "'Microsoft.CognitiveServices/accounts/deployments/write'",
        "'Microsoft.CognitiveServices/accounts/deployments/write'\n          'Microsoft.CognitiveServices/accounts/deployments/delete'",
        1,  # the writer's (the canary writer's list comes later and holds delete on purpose)
    )
    assert role_problems(wider) == [f"{WRITER}: extra ['{CS}/accounts/deployments/delete'], missing []"]


def test_role_definition_names_are_stable_and_the_same_on_both_sides() -> None:
    """The definitions are named guid(subscription, purpose) in the module; main.bicep derives the writer's id the same
    way for the account assignments and for the hook's WRITER_ROLE_IDS."""
    module = (INFRA / "modules" / "subscription-roles.bicep").read_text()
    main = (INFRA / "main.bicep").read_text()
    assert "guid(subscriptionKey, 'modelwatch-catalog-reader')" in module
    assert "guid(subscriptionKey, 'modelwatch-deployment-writer')" in module
    assert "guid(split(account, '/')[2], 'modelwatch-deployment-writer')" in main  # accounts are lower case
    assert "guid(s, 'modelwatch-deployment-writer')" in main  # subscriptionsToRead are lower case
    assert "subscriptionKey: sub" in main
    # role names are unique in a tenant: each carries its subscription
    assert "guid(subscriptionKey, 'modelwatch-canary-writer')" in module
    assert "guid(split(account, '/')[2], 'modelwatch-canary-writer')" in main
    assert module.count("(${subscriptionKey})'") == 3


# ---- which role is granted where

BUILT_IN = {
    "d5a91429-5739-47e2-a06b-3470a27159e7": "EventGrid Data Sender",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",  # the inventory refresh's queue
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",  # the topic's dead letters
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd": "Cognitive Services OpenAI User",  # canaries' data plane (#25)
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",  # EVAL_SUITES' container (#25)
}
OPENAI_USER = "Cognitive Services OpenAI User"
# roles granted only on one account (or one container), and in which module
ON_ONE_ACCOUNT = {
    WRITER: ("account-writer.bicep", "account"),
    CANARY: ("account-canary.bicep", "account"),
    OPENAI_USER: ("account-canary.bicep", "account"),
    "Storage Blob Data Reader": ("eval-suites-reader.bicep", "container"),
}
# built-in roles the templates must never grant (earlier versions granted the last two; the hook removes them)
NEVER = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68": "Cognitive Services Contributor",
}


def assignments_in(file: str, source: str) -> list[tuple[str, str, str]]:
    """(file, role, scope) of each role assignment: role is a built-in's name, READER or WRITER; scope is the symbolic
    name of the resource it is on, or the file's target scope."""
    root = parse(source)
    declared = re.search(r"^targetScope = '(\w+)'", source, re.M)
    guids = dict(re.findall(r"(\w+):\s*'([0-9a-f-]{36})'", source))
    guids.update(re.findall(r"var (\w+) = '([0-9a-f-]{36})'", source))
    out = []
    for _, _, body in resources(root, "Microsoft.Authorization/roleAssignments@"):
        expression = node_text(prop(body, "properties", "roleDefinitionId"))
        if built_in := re.search(r"roleDefinitions', (?:roles\.)?(\w+)\)", expression):
            guid = guids[built_in.group(1)]
            role = BUILT_IN.get(guid) or NEVER.get(guid) or guid
        elif expression == "roleDefinitionId" and file == "catalog-reader.bicep":
            role = READER  # main.bicep passes the reader role of the subscription (subscription-roles.bicep)
        elif expression == "roleDefinitionId" and file == "account-writer.bicep":
            role = WRITER  # main.bicep passes the writer role of the account's subscription
        elif expression == "canaryRoleDefinitionId" and file == "account-canary.bicep":
            role = CANARY  # main.bicep passes the canary writer role of the account's subscription
        else:
            role = expression
        scope = node_text(prop(body, "scope")) or (declared.group(1) if declared else "resourceGroup")
        out.append((file, role, scope))
    return out


def all_assignments() -> list[tuple[str, str, str]]:
    return [a for path in sorted(INFRA.rglob("*.bicep")) for a in assignments_in(path.name, path.read_text())]


def grant_problems(assignments: list[tuple[str, str, str]]) -> list[str]:
    problems = []
    for file, role, scope in assignments:
        if role not in {*BUILT_IN.values(), READER, WRITER, CANARY}:
            problems.append(f"{file}: {role} is not a role this app needs")
        elif scope == "subscription" and role != READER:
            problems.append(f"{file}: {role} at subscription scope")
        elif scope == "resourceGroup":
            problems.append(f"{file}: {role} on a whole resource group")
        elif (file, scope) != (ON_ONE_ACCOUNT.get(role, (file, scope))):
            problems.append(f"{file}: {role} on {scope}, not on one account")
        elif role == READER and (file, scope) != ("catalog-reader.bicep", "subscription"):
            problems.append(f"{file}: {role} on {scope}")
    return problems


def test_roles_are_least_privilege() -> None:
    assignments = all_assignments()
    assert {role for _, role, _ in assignments} == {*BUILT_IN.values(), READER, WRITER, CANARY}
    assert grant_problems(assignments) == []
    templates = "".join(p.read_text() for p in INFRA.rglob("*.bicep"))
    assert not set(NEVER) & set(re.findall(r"[0-9a-f-]{36}", templates))
    main = bicep("main.bicep")
    writers = next(b for n, _, b in declarations(main, "module_declaration") if n == "writers")
    assert "(checkedPolicyMode == 'enforce' ? accounts : [])" in node_text(
        writers.parent
    )  # only when enforcing
    canaries = next(b for n, _, b in declarations(main, "module_declaration") if n == "canaryRoles")
    assert "(canaryMode != 'off' ? accounts : [])" in node_text(canaries.parent)  # only with canaries on
    suites = next(b for n, _, b in declarations(main, "module_declaration") if n == "suitesReader")
    assert "if (canaryMode != 'off' && !empty(evalSuitesContainer))" in node_text(suites.parent)


def test_the_grant_check_sees_a_broad_grant() -> None:
    source = (INFRA / "modules" / "catalog-reader.bicep").read_text()
    contributor = source.replace(
        "    roleDefinitionId: roleDefinitionId",
        "    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', contributor)",
    ).replace(
        "param principalId string",
        "var contributor = 'b24988ac-6180-42a0-ab88-20f7382dd24c'\nparam principalId string",
    )
    assert grant_problems(assignments_in("catalog-reader.bicep", contributor)) == [
        "catalog-reader.bicep: Contributor is not a role this app needs"
    ]
    group = (INFRA / "modules" / "account-writer.bicep").read_text().replace("  scope: account\n", "")
    assert grant_problems(assignments_in("account-writer.bicep", group)) == [
        f"account-writer.bicep: {WRITER} on a whole resource group"
    ]


# ---- a custom role is assigned only after the deployment that defines it has finished


def replication_problems(files: dict[str, str]) -> list[str]:
    """A custom role assigned in the deployment (file) that defines it can meet RoleDefinitionDoesNotExist while the
    new definition replicates: every assignment of a custom role must be in another module, and main.bicep must make
    that module wait for the defining one (an output of it passed in, or dependsOn)."""
    problems = []
    for file, source in files.items():
        if "Microsoft.Authorization/roleDefinitions@" not in source:
            continue
        root = parse(source)
        defined = {name for name, _, _ in resources(root, "Microsoft.Authorization/roleDefinitions@")}
        for name, _, body in resources(root, "Microsoft.Authorization/roleAssignments@"):
            role = node_text(prop(body, "properties", "roleDefinitionId"))
            if role.split(".")[0] in defined:
                problems.append(f"{file}: {name} assigns {role}, defined in the same deployment")
    main = parse(files["main.bicep"])
    for name, path, body in declarations(main, "module_declaration"):
        if path.removeprefix("modules/") not in ("catalog-reader.bicep", "account-writer.bicep"):
            continue
        waits = "subscriptionRoles" in node_text(
            prop(body, "dependsOn")
        ) or "subscriptionRoles[" in node_text(prop(body, "params", "roleDefinitionId"))
        if not waits:
            problems.append(f"main.bicep: {name} does not wait for subscriptionRoles")
    return problems


def infra_sources() -> dict[str, str]:
    return {p.name: p.read_text() for p in INFRA.rglob("*.bicep")}


def test_custom_roles_are_assigned_after_their_definition_exists() -> None:
    files = infra_sources()
    assert replication_problems(files) == []
    assert "catalog-reader.bicep" in files  # the reader assignment has a module of its own


def test_the_replication_check_sees_a_same_deployment_assignment_and_a_missing_wait() -> None:
    files = infra_sources()
    same = (
        files["subscription-roles.bicep"]
        + """
resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, 'p', readerRoleName)
  properties: {
    roleDefinitionId: readerRole.id
    principalId: 'p'
  }
}
"""
    )
    assert replication_problems(files | {"subscription-roles.bicep": same}) == [
        "subscription-roles.bicep: readerAssignment assigns readerRole.id, defined in the same deployment"
    ]
    unordered = files["main.bicep"].replace("subscriptionRoles[i].outputs.readerRoleId", "'x'")
    assert replication_problems(files | {"main.bicep": unordered}) == [
        "main.bicep: readers does not wait for subscriptionRoles"
    ]


def test_the_docs_name_the_custom_roles() -> None:
    for page in ("deploy.md", "operations.md"):
        doc = (ROOT / "docs" / page).read_text()
        assert "modelwatch catalog reader" in doc and "modelwatch deployment writer" in doc, page
        assert "Cognitive Services Contributor` |" not in doc, page  # no longer granted

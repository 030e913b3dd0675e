"""Every resource body in infra/ checked against Azure's own type definitions: the `types.json` files that
Azure/bicep-types-az generates from the REST API specs, and from which the Bicep compiler takes its resource types
(tests/data/bicep-types/README.md names the commit). No compiler can be installed here, so this is the part of
`bicep build`'s type check that matters for a deployment: for each resource's exact `type@apiVersion`, unknown
properties, values of the wrong type, enum values outside the allowed set, missing required properties and read-only
properties set; for each module, parameters not passed, unknown, or of the wrong type; for main.bicep, parameters azd
does not supply (main.parameters.json).

Values are resolved as far as they can be without deploying: literals, variables, `loadJsonContent`, `union` of
objects, both branches of a `?:`; a parameter is known by its declared type (and its `@allowed` values), and anything
computed at deployment time (a resource's properties, most functions) by the kind of value it yields, or not at all.
Each check is shown to fail on a planted mistake in a copy of the templates."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import pytest
from tree_sitter import Node

from tests.support.bicep import INFRA, ROOT, declarations, node_text, parse

TYPES = ROOT / "tests" / "data" / "bicep-types"

# bicep-types flags on an object's property
REQUIRED, READ_ONLY = 1, 2
# the keys of a resource or module body that are Bicep's, not the resource's
BICEP_KEYS = {"parent", "scope", "dependsOn"}


# ---- the type definitions


@dataclass(frozen=True)
class TypeRef:
    """One type in one types.json (references are '#/<index>' within the file)."""

    file: str
    index: int

    @property
    def node(self) -> dict[str, Any]:
        return _types(self.file)[self.index]

    def follow(self, ref: dict[str, str]) -> TypeRef:
        return TypeRef(self.file, int(ref["$ref"].split("/")[-1]))


@cache
def _types(file: str) -> list[dict[str, Any]]:
    return json.loads(Path(file).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@cache
def resource_types() -> dict[str, TypeRef]:
    """'microsoft.web/sites@2024-04-01' (lower case: ARM types are case-insensitive) -> the resource's body type."""
    out = {}
    for path in sorted(TYPES.rglob("types.json")):
        for i, t in enumerate(_types(str(path))):
            if t["$type"] == "ResourceType":
                out[t["name"].lower()] = TypeRef(str(path), i).follow(t["body"])
    return out


# ---- values, resolved from the Bicep syntax tree as far as they can be


@dataclass(frozen=True)
class Unknown:
    """A value known only by its kind: string, int, bool, object, array or any (and, for a parameter, its @allowed)."""

    kind: str
    allowed: tuple[Any, ...] = ()


@dataclass(frozen=True)
class OneOf:
    """Either branch of a condition: each must be valid."""

    options: tuple[Any, ...]


STRING_FUNCTIONS = {
    "guid", "uniqueString", "toLower", "toUpper", "trim", "format", "replace", "base64", "base64ToString", "string",
    "subscriptionResourceId", "resourceId", "tenantResourceId", "extensionResourceId", "join", "uri", "dataUri",
    "substring", "padLeft", "utcNow", "newGuid",
}  # fmt: skip
INT_FUNCTIONS = {"int", "min", "max", "length", "indexOf", "lastIndexOf"}
BOOL_FUNCTIONS = {"empty", "contains", "startsWith", "endsWith", "equals", "bool", "not", "and", "or"}
ARRAY_FUNCTIONS = {"split", "map", "filter", "range", "items", "flatten", "array", "sort", "skip"}
OBJECT_FUNCTIONS = {"subscription", "resourceGroup", "environment", "deployment", "tenant"}
ESCAPES = {"\\'": "'", "\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\$": "$"}


@dataclass
class Template:
    """One .bicep file: its variables, parameters (type, default, @allowed) and symbols. As a module, bound to what
    its caller passes: a parameter is then the caller's value (a literal, or the caller's own parameter)."""

    path: Path
    root: Node
    bindings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, bindings: dict[str, Any] | None = None) -> Template:
        return cls(path, parse(path.read_text(encoding="utf-8")), bindings or {})

    @cached_property
    def variables(self) -> dict[str, Node]:
        return {
            node_text(n.child(1)): n.children[-1]
            for n in self.root.children
            if n.type == "variable_declaration"
        }

    @cached_property
    def parameters(self) -> dict[str, tuple[str, bool, tuple[Any, ...]]]:
        """name -> (declared type, has a default, @allowed values)."""
        out = {}
        for n in self.root.children:
            if n.type != "parameter_declaration":
                continue
            allowed: tuple[Any, ...] = ()
            before = n.prev_named_sibling
            while before is not None and before.type in ("decorators", "decorator", "comment"):
                for call in _descendants(before, "call_expression"):
                    if node_text(call.child(0)) == "allowed":
                        array = next(_descendants(call, "array"))
                        allowed = tuple(self.evaluate(i) for i in array.named_children if i.type != "comment")
                before = before.prev_named_sibling
            out[node_text(n.child(1))] = (node_text(n.child(2)), "=" in [c.type for c in n.children], allowed)
        return out

    def evaluate(self, node: Node | None, seen: frozenset[str] = frozenset()) -> Any:
        """A Python value for a Bicep expression: literals as such, the rest as Unknown(kind) or OneOf(branches)."""
        if node is None:
            return Unknown("any")
        kind = node.type
        if kind == "string":
            if any(c.type == "interpolation" for c in node.children):
                return Unknown("string")
            return "".join(
                ESCAPES.get(node_text(c), node_text(c)) if c.type == "escape_sequence" else node_text(c)
                for c in node.children
                if c.type in ("string_content", "escape_sequence")
            )
        if kind == "number":
            return int(node_text(node))
        if kind == "boolean":
            return node_text(node) == "true"
        if kind == "null":
            return None
        if kind == "array":
            return [self.evaluate(c, seen) for c in node.named_children if c.type != "comment"]
        if kind == "object":
            out = {}
            for c in node.named_children:
                if c.type == "object_property":
                    key = node_text(c.child(0))
                    out[key[1:-1] if key.startswith("'") else key] = self.evaluate(c.children[-1], seen)
            return out
        if kind == "parenthesized_expression" and node.named_children:
            return self.evaluate(node.named_children[0], seen)
        if kind == "ternary_expression":
            branches = [c for c in node.named_children][1:]
            return OneOf(tuple(self.evaluate(b, seen) for b in branches))
        if kind == "identifier":
            return self._identifier(node_text(node), seen)
        if kind == "member_expression":
            target = self.evaluate(node.named_children[0], seen)
            key = node_text(node.named_children[-1])
            if isinstance(target, dict):
                return target.get(key, Unknown("any"))
            return Unknown("any")
        if kind == "call_expression":
            return self._call(node, seen)
        if kind == "binary_expression":
            operator = node.children[1].type
            if operator in ("+", "-", "*", "/", "%"):
                return Unknown("int")
            if operator == "??":
                return Unknown("any")
            return Unknown("bool")
        if kind == "unary_expression":
            return Unknown("bool") if node.children[0].type == "!" else Unknown("int")
        return Unknown("any")

    def _identifier(self, name: str, seen: frozenset[str]) -> Any:
        if name in self.variables and name not in seen:
            return self.evaluate(self.variables[name], seen | {name})
        if name in self.bindings:
            return self.bindings[name]
        if name in self.parameters:
            declared, _, allowed = self.parameters[name]
            return Unknown(
                declared if declared in ("string", "int", "bool", "object", "array") else "any", allowed
            )
        return Unknown("any")  # a resource, a module, a loop variable

    def _call(self, node: Node, seen: frozenset[str]) -> Any:
        name = node_text(node.child(0))
        args = [a for a in (node.child_by_field_name("arguments") or node.children[-1]).named_children]
        if name == "loadJsonContent":
            return json.loads((self.path.parent / self.evaluate(args[0], seen)).read_text(encoding="utf-8"))
        if name == "union":
            values = [self.evaluate(a, seen) for a in args]
            if all(isinstance(v, dict | OneOf) for v in values):
                merged: dict[str, Any] = {}
                for v in values:  # every key either branch may set
                    for option in v.options if isinstance(v, OneOf) else (v,):
                        if isinstance(option, dict):
                            merged |= option
                return merged
            return Unknown("any")
        for kinds, result in (
            (STRING_FUNCTIONS, "string"),
            (INT_FUNCTIONS, "int"),
            (BOOL_FUNCTIONS, "bool"),
            (ARRAY_FUNCTIONS, "array"),
            (OBJECT_FUNCTIONS, "object"),
        ):
            if name in kinds:
                return Unknown(result)
        return Unknown("any")


def _descendants(node: Node, kind: str) -> Any:
    if node.type == kind:
        yield node
    for c in node.children:
        yield from _descendants(c, kind)


# ---- checking a value against a type


def kinds_of(t: TypeRef) -> set[str]:
    node = t.node
    kind = node["$type"]
    if kind in ("StringType", "StringLiteralType"):
        return {"string"}
    if kind == "IntegerType":
        return {"int"}
    if kind == "BooleanType":
        return {"bool"}
    if kind in ("ObjectType", "DiscriminatedObjectType"):
        return {"object"}
    if kind == "ArrayType":
        return {"array"}
    if kind == "UnionType":
        return {k for e in node["elements"] for k in kinds_of(t.follow(e))}
    return {"string", "int", "bool", "object", "array"}  # AnyType


def kind_of(value: Any) -> str:
    if isinstance(value, Unknown):
        return value.kind
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def check(t: TypeRef, value: Any, path: str) -> list[str]:
    """What is wrong with value as type t, one line per problem, each starting with path."""
    if isinstance(value, OneOf):
        return [p for option in value.options for p in check(t, option, path)]
    if value is None:
        return []  # null: the property is left out
    if isinstance(value, Unknown):
        problems = []
        if value.kind != "any" and value.kind not in kinds_of(t):
            problems.append(f"{path}: a {value.kind} where {'/'.join(sorted(kinds_of(t)))} is expected")
        for allowed in value.allowed:  # every value the parameter allows must be one the property takes
            problems += check(t, allowed, path)
        return problems
    node = t.node
    kind = node["$type"]
    if kind == "AnyType":
        return []
    if kind == "UnionType":
        elements = [t.follow(e) for e in node["elements"]]
        literals = sorted(e.node["value"] for e in elements if e.node["$type"] == "StringLiteralType")
        # an enum: the API's values only, even where the definition adds `string` ("extensible": the type accepts any
        # string, but the resource provider still refuses a value it does not know)
        if isinstance(value, str) and literals:
            return [] if value in literals else [f"{path}: {value!r} is not one of {literals}"]
        if any(not check(e, value, path) for e in elements):
            return []
        return [f"{path}: a {kind_of(value)} where {'/'.join(sorted(kinds_of(t)))} is expected"]
    if kind_of(value) not in kinds_of(t):
        return [f"{path}: a {kind_of(value)} where {'/'.join(sorted(kinds_of(t)))} is expected"]
    if kind == "StringLiteralType":
        return [] if value == node["value"] else [f"{path}: {value!r} is not {node['value']!r}"]
    if kind == "StringType":
        if len(value) < node.get("minLength", 0) or len(value) > node.get("maxLength", len(value)):
            return [
                f"{path}: {value!r} is not {node.get('minLength', 0)} to {node.get('maxLength')} characters"
            ]
        pattern = _pattern(node.get("pattern", ""))
        if pattern is not None and not pattern.search(value):
            return [f"{path}: {value!r} does not match {node['pattern']}"]
        return []
    if kind == "IntegerType":
        if value < node.get("minValue", value) or value > node.get("maxValue", value):
            return [f"{path}: {value} is outside {node.get('minValue')}..{node.get('maxValue')}"]
        return []
    if kind == "ArrayType":
        item = t.follow(node["itemType"])
        return [p for i, v in enumerate(value) for p in check(item, v, f"{path}[{i}]")]
    if kind == "DiscriminatedObjectType":
        return _check_discriminated(t, value, path)
    if kind == "ObjectType":
        return _check_object(t, node.get("properties", {}), node.get("additionalProperties"), value, path)
    return []


@cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    """The definition's pattern (written for .NET) where Python's re reads it alike; else None (not checked)."""
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _check_discriminated(t: TypeRef, value: dict[str, Any], path: str) -> list[str]:
    node = t.node
    key = node["discriminator"]
    chosen = value.get(key)
    elements = node["elements"]
    if isinstance(chosen, str):
        if chosen not in elements:
            return [f"{path}.{key}: {chosen!r} is not one of {sorted(elements)}"]
        candidates = [chosen]
    elif chosen is None:
        return [f"{path}: required property {key!r} is missing"]
    else:
        candidates = list(elements)  # decided at deployment: valid as any one of them
    results = []
    for name in candidates:
        element = t.follow(elements[name])
        properties = node.get("baseProperties", {}) | element.node.get("properties", {})
        results.append(
            _check_object(element, properties, element.node.get("additionalProperties"), value, path)
        )
    return min(results, key=len)


def _check_object(
    t: TypeRef,
    properties: dict[str, Any],
    additional: dict[str, str] | None,
    value: dict[str, Any],
    path: str,
) -> list[str]:
    problems = []
    for key, v in value.items():
        spec = properties.get(key)
        if spec is None:
            near = [p for p in properties if p.lower() == key.lower()]
            if near:
                problems.append(f"{path}.{key}: spelled {near[0]!r} in the API")
            elif additional is not None:
                problems += check(t.follow(additional), v, f"{path}.{key}")
            else:
                problems.append(f"{path}.{key}: unknown property")
            continue
        if spec.get("flags", 0) & READ_ONLY and not spec.get("flags", 0) & REQUIRED:
            problems.append(f"{path}.{key}: read-only property set")
            continue
        problems += check(t.follow(spec["type"]), v, f"{path}.{key}")
    for key, spec in properties.items():
        if spec.get("flags", 0) & REQUIRED and key not in value:
            problems.append(f"{path}: required property {key!r} is missing")
    return problems


# ---- the templates


def resource_problems(template: Template) -> list[str]:
    problems = []
    where = template.path.name
    for name, type_string, body in declarations(template.root, "resource_declaration"):
        body_type = resource_types().get(type_string.lower())
        if body_type is None:
            problems.append(f"{where}:{name}: no type definition for {type_string}")
            continue
        value = template.evaluate(body)
        for key in BICEP_KEYS:
            value.pop(key, None)
        existing = any(c.type == "existing" for c in body.parent.children) or any(
            c.type == "existing" for c in (body.parent.parent.children if body.parent.parent else [])
        )
        found = check(body_type, value, f"{where}:{name}")
        if existing:  # a reference: only its name is written, nothing is required
            found = [p for p in found if "required property" not in p]
        problems += found
    return problems


PARAMETER_KINDS = {"string", "int", "bool", "object", "array"}


def module_problems(template: Template) -> list[str]:
    problems = []
    where = template.path.name
    for name, path, body in declarations(template.root, "module_declaration"):
        target = Template.load(template.path.parent / path)
        declared = target.parameters
        given = template.evaluate(body).get("params", {})
        for param, (kind, has_default, allowed) in declared.items():
            if param not in given:
                if not has_default:
                    problems.append(f"{where}:{name}: module parameter {param!r} not passed")
                continue
            value = given[param]
            for option in value.options if isinstance(value, OneOf) else (value,):
                actual = kind_of(option)
                if kind in PARAMETER_KINDS and actual not in (kind, "any", "null"):
                    problems.append(f"{where}:{name}: parameter {param!r} is a {kind}, given a {actual}")
                elif allowed and not isinstance(option, Unknown) and option not in allowed:
                    problems.append(
                        f"{where}:{name}: parameter {param!r} given {option!r}, not one of {allowed}"
                    )
        for param in given:
            if param not in declared:
                problems.append(f"{where}:{name}: {path} has no parameter {param!r}")
    return problems


def parameters_file_problems(main: Template, parameters_file: dict[str, Any]) -> list[str]:
    """azd passes main.bicep's parameters from main.parameters.json: each required one must be there."""
    given = parameters_file["parameters"]
    problems = [
        f"main.parameters.json: required parameter {p!r} not passed"
        for p, (_, has_default, _) in main.parameters.items()
        if not has_default and p not in given
    ]
    problems += [
        f"main.parameters.json: main.bicep has no parameter {p!r}" for p in given if p not in main.parameters
    ]
    return problems


def schema_problems(root: Path) -> list[str]:
    """Each template on its own (parameters known by their declared type), then each module again as its caller binds
    it (main.bicep's values reach the resources in the modules); each problem once."""
    problems: dict[str, None] = {}
    for path in sorted(root.rglob("*.bicep")):
        template = Template.load(path)
        problems.update(dict.fromkeys(resource_problems(template) + module_problems(template)))
    for module in module_calls(Template.load(root / "main.bicep")):
        problems.update(dict.fromkeys(resource_problems(module)))
    main = Template.load(root / "main.bicep")
    problems.update(
        dict.fromkeys(parameters_file_problems(main, json.loads((root / "main.parameters.json").read_text())))
    )
    return list(problems)


def module_calls(caller: Template) -> list[Template]:
    """Every module called, bound to its caller's parameter values; modules of modules too."""
    out: list[Template] = []
    for _, path, body in declarations(caller.root, "module_declaration"):
        given = caller.evaluate(body).get("params", {})
        module = Template.load(caller.path.parent / path, given if isinstance(given, dict) else {})
        out.append(module)
        out += module_calls(module)
    return out


def test_the_templates_match_azures_type_definitions() -> None:
    assert schema_problems(INFRA) == []


def test_every_resource_type_the_templates_use_has_its_definition() -> None:
    used = {
        t.lower()
        for path in INFRA.rglob("*.bicep")
        for _, t, _ in declarations(parse(path.read_text()), "resource_declaration")
    }
    missing = sorted(used - set(resource_types()))
    assert missing == [], (
        f"add them: python tests/data/bicep-types/trim.py <checkout> <commit> {' '.join(missing)}"
    )
    assert len(used) >= 20  # the whole app, not a part of it


# ---- each mistake, planted in a copy of infra/, fails the check


@pytest.fixture
def infra_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy)
    return copy


def plant(root: Path, file: str, old: str, new: str) -> list[str]:
    path = root / file
    source = path.read_text()
    assert source.count(old) == 1, old
    path.write_text(source.replace(old, new))
    return schema_problems(root)


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        pytest.param(
            "modules/app.bicep",
            "allowBlobPublicAccess: false",
            "allowBlobPublicAcess: false",
            ["app.bicep:storage.properties.allowBlobPublicAcess: unknown property"],
            id="misspelled property",
        ),
        pytest.param(
            "modules/app.bicep",
            "retentionInDays: 30",
            "retentionInDays: '30'",
            ["app.bicep:logs.properties.retentionInDays: a string where int is expected"],
            id="wrong type",
        ),
        pytest.param(
            "modules/app.bicep",
            "inputSchema: 'EventGridSchema'",
            "inputSchema: 'EventGrid'",
            [
                "app.bicep:topic.properties.inputSchema: 'EventGrid' is not one of "
                "['CloudEventSchemaV1_0', 'CustomEventSchema', 'EventGridSchema']"
            ],
            id="invalid enum value",
        ),
        pytest.param(
            "modules/app.bicep",
            "    tenantId: subscription().tenantId\n",
            "",
            ["app.bicep:vault.properties: required property 'tenantId' is missing"],
            id="missing required property",
        ),
        pytest.param(
            "modules/app.bicep",
            "    inputSchema: 'EventGridSchema'\n",
            "    inputSchema: 'EventGridSchema'\n    endpoint: 'https://example.invalid/api/events'\n",
            ["app.bicep:topic.properties.endpoint: read-only property set"],
            id="read-only property set",
        ),
        pytest.param(
            "main.bicep",
            "    authClientId: authClientId\n",
            "",
            ["main.bicep:app: module parameter 'authClientId' not passed"],
            id="module parameter not passed",
        ),
        pytest.param(
            "modules/app.bicep",
            "'Microsoft.EventGrid/topics@2025-02-15' = {",
            "'Microsoft.EventGrid/topics@2025-02-30' = {",
            ["app.bicep:topic: no type definition for Microsoft.EventGrid/topics@2025-02-30"],
            id="impossible api-version",
        ),
        pytest.param(
            "modules/app.bicep",
            "var inventoryQueue = 'modelwatch-inventory'",
            "var inventoryQueue = 'modelwatch_inventory'",
            [
                "app.bicep:refreshQueue.name: 'modelwatch_inventory' does not match "
                "^[a-z0-9]([a-z0-9]|(-(?!-))){1,61}[a-z0-9]$"
            ],
            id="name outside the API's pattern",
        ),
        pytest.param(
            "modules/monitoring.bicep",
            "    severity: 2\n    enabled: true\n    scopes: [\n      workspaceId",
            "    severity: 'high'\n    enabled: true\n    scopes: [\n      workspaceId",
            ["monitoring.bicep:failures.properties.severity: a string where int is expected"],
            id="wrong type in a log alert",
        ),
    ],
)
def test_the_check_fails_on_a_planted_mistake(
    infra_copy: Path, file: str, old: str, new: str, expected: list[str]
) -> None:
    assert plant(infra_copy, file, old, new) == expected


def test_the_check_sees_mistakes_inside_a_branch_a_parameter_and_a_module_call(infra_copy: Path) -> None:
    # a receiver inside `empty(x) ? [] : [ {...} ]`
    assert plant(infra_copy, "modules/monitoring.bicep", "useCommonAlertSchema: true\n          }\n        ]\n    webhook",
                 "useCommonAlertSchema: 'yes'\n          }\n        ]\n    webhook") == [
        "monitoring.bicep:actionGroup.properties.emailReceivers[0].useCommonAlertSchema: a string where bool is expected"
    ]  # fmt: skip


def test_the_check_sees_a_parameter_value_the_property_refuses(infra_copy: Path) -> None:
    """A value allowed in main.bicep reaches the topic through the app module: the property must take every one."""
    problems = plant(
        infra_copy,
        "main.bicep",
        "@allowed(['Enabled', 'Disabled'])",
        "@allowed(['Enabled', 'Disabled', 'Closed'])",
    )
    assert problems == [
        "app.bicep:topic.properties.publicNetworkAccess: 'Closed' is not one of ['Disabled', 'Enabled']"
    ]


def test_the_check_sees_a_literal_passed_into_a_module(infra_copy: Path) -> None:
    problems = plant(
        infra_copy,
        "main.bicep",
        "    topicPublicNetworkAccess: topicPublicNetworkAccess\n",
        "    topicPublicNetworkAccess: 'Open'\n",
    )
    assert problems == [
        "app.bicep:topic.properties.publicNetworkAccess: 'Open' is not one of ['Disabled', 'Enabled']"
    ]


def test_the_check_sees_module_parameters_of_the_wrong_type_or_unknown(infra_copy: Path) -> None:
    assert plant(infra_copy, "main.bicep", "    catalogPollPeriodMinutes: catalogPollPeriodMinutes\n",
                 "    catalogPollPeriodMinutes: '60'\n    catalogPollPeriod: 60\n") == [
        "main.bicep:app: parameter 'catalogPollPeriodMinutes' is a int, given a string",
        "main.bicep:app: modules/app.bicep has no parameter 'catalogPollPeriod'",
    ]  # fmt: skip


def test_the_check_sees_a_parameter_azd_does_not_pass(infra_copy: Path) -> None:
    problems = plant(
        infra_copy, "main.parameters.json", '    "authClientId": { "value": "${AUTH_CLIENT_ID}" },\n', ""
    )
    assert problems == ["main.parameters.json: required parameter 'authClientId' not passed"]


def test_a_value_is_resolved_through_variables_json_files_and_unions() -> None:
    subscriptions = Template.load(INFRA / "subscriptions.bicep")
    events = subscriptions.evaluate(subscriptions.variables["eventTypes"])
    assert events == json.loads((INFRA / "event-types.json").read_text())
    app = Template.load(INFRA / "modules" / "app.bicep")
    settings = app.evaluate(app.variables["appSettings"])
    assert {"TEAMS_WEBHOOK_URL", "ALERT_ROUTES", "STATE_TABLE_PREFIX"} <= set(settings)
    assert re.fullmatch(r"[a-z]+", str(settings["HTTP_AUTH"]))


def hook_parameter_problems(hook: str, template: Template) -> list[str]:
    """The postdeploy hook deploys subscriptions.bicep with `az deployment group create --parameters k=v ...`: like a
    module call, every parameter without a default must be passed, and nothing else."""
    passed = set(re.findall(r"(?:^|\s)(\w+)=[\"$]", hook.split("--parameters", 1)[1].split("--output", 1)[0]))
    problems = [
        f"{p!r} not passed"
        for p, (_, has_default, _) in template.parameters.items()
        if not has_default and p not in passed
    ]
    problems += [
        f"{p!r} is not a parameter of {template.path.name}" for p in sorted(passed - set(template.parameters))
    ]
    return problems


@pytest.mark.parametrize("hook", ["postdeploy.sh", "postdeploy.ps1"])
def test_the_postdeploy_hook_passes_the_subscriptions_template_its_parameters(hook: str) -> None:
    source = (INFRA / "hooks" / hook).read_text()
    template = Template.load(INFRA / "subscriptions.bicep")
    assert hook_parameter_problems(source, template) == []
    dropped = re.sub(r"functionAppName=\S+", "", source)
    assert hook_parameter_problems(dropped, template) == ["'functionAppName' not passed"]

"""Bicep as teams write it today (the shapes met in azd templates and the AVM account module), on our own fixtures."""

from __future__ import annotations

import json
from pathlib import Path

from shared.iac.bicep import scan_bicep
from shared.iac.bicep.syntax import rewrite
from shared.iac.pins import Lit, Pin, ScanWarning, Unknown, scalar_text
from shared.iac.values import disabled_reason

DEPLOYMENT = "Microsoft.CognitiveServices/accounts/deployments@2024-10-01"


def _scan(folder: Path) -> tuple[list[Pin], list[ScanWarning]]:
    pins, warnings, _ = scan_bicep(sorted(folder.rglob("*.bicep")))
    return pins, warnings


def _by_name(pins: list[Pin]) -> dict[str | None, Pin]:
    return {scalar_text(p.name): p for p in pins}


def _line(value: object) -> tuple[str, int]:
    assert isinstance(value, Lit) and value.span is not None, value
    return value.span.path.name, value.span.line


def test_rewrites_keep_every_offset() -> None:
    original = (
        b"extension microsoftGraphV1\nvar y string = 'a'\n"
        b"param p resourceInput<'Microsoft.X/y@2024-01-01'>.properties?\nvar s = { ...o, a: x!.b }\n"
        b"var t = [ ...l ]\nvar q = 'it''s ... not a spread' // nor ... this\n"
    )
    data, spreads = rewrite(original)
    assert len(data) == len(original)
    assert b"extension" not in data and b"var y        = 'a'" in data
    assert b"param p object" in data and b"resourceInput" not in data
    assert original.index(b"...o") in spreads and original.index(b"...l") + 3 in spreads
    assert b"x .b" in data  # the non-null assertion blanked
    assert data.endswith(b"var q = 'it''s ... not a spread' // nor ... this\n")  # strings and comments kept


def test_what_else_the_grammar_misreads_is_read(tmp_path: Path) -> None:
    (tmp_path / "types.bicep").write_text("@export()\nvar version = '2024-11-20'\n")
    (tmp_path / "main.bicep").write_text(
        f"""import {{
  version
}} from 'types.bicep'
type tier = (
  | 'Standard'
  | 'GlobalStandard')
param sku tier = 'GlobalStandard'
var parts = split(true ? 'oai/chat' : '///', '/')
resource d '{DEPLOYMENT}' = {{
  name: 'oai/chat'
  sku: {{ name: sku }}
  properties: {{ model: {{ format: 'OpenAI', name: 'gpt-4o', version: version }} }}
}}
"""
    )
    pins, warnings = _scan(tmp_path)
    assert warnings == []
    (pin,) = pins
    assert (scalar_text(pin.model_version), scalar_text(pin.sku)) == ("2024-11-20", "GlobalStandard")
    assert _line(pin.model_version) == ("types.bicep", 2)


def test_todays_syntax_is_evaluated(tmp_path: Path) -> None:
    (tmp_path / "types.bicep").write_text(
        "@export()\ntype deploymentType = {\n  name: string\n  model: { name: string, version: string? }\n}\n"
        "@export()\nvar defaultSku = 'GlobalStandard'\n"
        "@export()\nfunc deploymentName(model string, suffix string) string => '${model}-${suffix}'\n"
    )
    (tmp_path / "ai.yaml").write_text(
        "deployments:\n  - name: chat\n    model:\n      name: gpt-4o\n      version: '2024-11-20'\n"
        '  - name: embed\n    model:\n      name: text-embedding-3-large\n      version: "1"\n'
    )
    (tmp_path / "main.bicep").write_text(
        f"""extension microsoftGraphV1
import {{ deploymentType, defaultSku, deploymentName as named }} from 'types.bicep'
import * as t from 'types.bicep'

param extra deploymentType[]?
param location string = 'eastus'
var ai = loadYamlContent('ai.yaml')
var fromYaml array = array(contains(ai, 'deployments') ? ai.deployments : [])
var base object = {{ sku: {{ name: defaultSku }} }}
var all = [
  ...(extra ?? [])
  ...map(fromYaml, d => {{ ...base, ...d }})
]
var kept = filter(all, d => d.model.name != 'text-embedding-3-large')
var total = reduce(kept, 0, (count, d) => count + 1)
func suffix(n int) string => 'v${{n}}'

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {{
  name: 'oai-${{t.defaultSku}}'
  location: location
}}

resource d '{DEPLOYMENT}' = [for (item, i) in kept: {{
  parent: account
  name: named(item.name, suffix(total))
  properties: {{
    model: {{ format: 'OpenAI', name: item.model.name, version: item.model.?version ?? 'latest' }}
  }}
  sku: item.?sku!
}}]

resource m '{DEPLOYMENT}' = [for entry in items({{ mini: 'gpt-4o-mini' }}): {{
  parent: account
  name: entry.key
  properties: {{ model: union({{ format: 'OpenAI' }}, {{ name: entry.value, version: '2024-07-18' }}) }}
}}]
"""
    )
    pins, warnings = _scan(tmp_path)
    assert warnings == []
    by_name = _by_name(pins)
    assert set(by_name) == {"chat-v1", "mini"}  # the embedding was filtered out; `extra` is null: nothing
    chat = by_name["chat-v1"]
    assert scalar_text(chat.model_version) == "2024-11-20"
    assert _line(chat.model_version) == ("ai.yaml", 5)  # the pin is where it is written: fixable in the YAML
    assert scalar_text(chat.sku) == "GlobalStandard" and _line(chat.sku) == ("types.bicep", 7)
    assert scalar_text(chat.account) == "oai-GlobalStandard" and scalar_text(chat.location) == "eastus"
    assert scalar_text(by_name["mini"].model_name) == "gpt-4o-mini"


def test_a_statement_the_grammar_cannot_read_costs_that_statement_only(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        f"""param version string = '2024-08-06'
var broken = )
param name string = 'chat'
resource a '{DEPLOYMENT}' = {{
  name: 'acct/${{name}}'
  properties: {{ model: {{ format: 'OpenAI', name: 'gpt-4o', version: version }} }}
}}
param model string = ]
resource made 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' existing = {{
  name: 'acct/made-elsewhere'
}}
resource b '{DEPLOYMENT}' = {{
  name: 'acct/other'
  properties: {{ model: {{ format: 'OpenAI', name: model, version: version }} }}
}}
"""
    )
    pins, warnings = _scan(tmp_path)
    by_name = _by_name(pins)
    assert set(by_name) == {"chat", "other"}  # an `existing` deployment is made elsewhere: not a pin here
    assert scalar_text(by_name["chat"].model_version) == "2024-08-06"
    lost = by_name["other"].model_name
    assert isinstance(lost, Unknown) and lost.reason == "syntax error at main.bicep:8"
    assert [(w.line, w.message.split(":")[0] + ":" + w.message.split(":")[1]) for w in warnings] == [
        (2, "syntax error at main.bicep:2"),
        (8, "syntax error at main.bicep:8"),
    ]
    assert "`var broken` not read" in warnings[0].message


def test_a_module_called_with_no_deployments_yields_nothing(tmp_path: Path) -> None:
    (tmp_path / "account").mkdir()
    (tmp_path / "account" / "main.bicep").write_text(
        f"""type deploymentType = {{ name: string, model: object }}
param deployments deploymentType[]?
import {{ lockType }} from 'br/public:avm/utl/types/avm-common-types:0.6.0'
param lock lockType?
resource a 'Microsoft.CognitiveServices/accounts@2024-10-01' = {{
  name: 'x'
}}
resource d '{DEPLOYMENT}' = [for dep in (deployments ?? []): {{
  parent: a
  name: dep.name
  properties: {{ model: dep.model }}
}}]
"""
    )
    (tmp_path / "test.bicep").write_text(
        "module none 'account/main.bicep' = {\n  name: 'none'\n}\n"
        "module one 'account/main.bicep' = {\n  name: 'one'\n  params: {\n    deployments: [\n"
        "      { name: 'chat', model: { format: 'OpenAI', name: 'gpt-4o', version: '2024-11-20' } }\n"
        "    ]\n  }\n}\n"
    )
    pins, warnings = _scan(tmp_path)
    assert warnings == []
    assert [scalar_text(p.name) for p in pins] == ["chat"]


def test_a_switch_off_by_default_is_listed_not_dropped(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        f"""param useEval bool
param evalVersion string
var chat = [{{ name: 'chat', model: {{ format: 'OpenAI', name: 'gpt-4o', version: '2024-11-20' }} }}]
var evaluation = {{ name: 'eval', model: {{ format: 'OpenAI', name: 'gpt-4', version: evalVersion }} }}
var all = useEval ? union([evaluation], chat) : chat
resource d '{DEPLOYMENT}' = [for x in all: {{
  name: 'acct/${{x.name}}'
  properties: {{ model: x.model }}
}}]
"""
    )
    (tmp_path / "main.parameters.json").write_text(
        '{"parameters": {"useEval": {"value": "${USE_EVAL=false}"},\n'
        ' "evalVersion": {"value": "${EVAL_VERSION=turbo-2024-04-09}"}}}\n'
    )
    pins, warnings = _scan(tmp_path)
    assert warnings == []
    by_name = _by_name(pins)
    assert set(by_name) == {"chat", "eval"}
    assert disabled_reason(by_name["chat"].context) is None
    assert disabled_reason(by_name["eval"].context) == (
        "not deployed by default: only when USE_EVAL=true (the default is false)"
    )
    assert _line(by_name["eval"].model_version) == ("main.parameters.json", 2)


def test_registry_modules_by_their_documented_parameter_or_never_silent(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        """module foundry 'br/public:avm/ptn/ai-ml/ai-foundry:0.4.0' = {
  name: 'foundry'
  params: {
    baseName: 'chat'
    location: 'eastus'
    aiModelDeployments: [
      { name: 'chat', model: { format: 'OpenAI', name: 'gpt-4o-mini', version: '2024-07-18' }, sku: { name: 'GlobalStandard', capacity: 10 } }
    ]
  }
}
module account 'br/public:avm/res/cognitive-services/account:0.13.0' = {
  name: 'account'
  params: {
    name: 'oai'
    kind: 'OpenAI'
    deployments: [ { model: { format: 'OpenAI', name: 'gpt-4o', version: '2024-11-20' } } ]
  }
}
module monitoring 'br/public:avm/ptn/azd/monitoring:0.2.1' = {
  name: 'monitoring'
  params: { logAnalyticsName: 'log' }
}
module custom 'ts/contoso:ai:1.0' = {
  name: 'custom'
  params: { modelDeployments: [ { name: 'x' } ] }
}
"""
    )
    pins, warnings = _scan(tmp_path)
    assert [(w.line, w.message) for w in warnings] == [
        (
            19,
            "module monitoring: br/public:avm/ptn/azd/monitoring:0.2.1 not read (its code is not here; it is "
            "given no model deployments)",
        )
    ]
    by_name = _by_name(pins)
    chat = by_name["chat"]
    assert (scalar_text(chat.model_version), scalar_text(chat.sku), scalar_text(chat.location)) == (
        "2024-07-18",
        "GlobalStandard",
        "eastus",
    )
    assert isinstance(chat.account, Unknown)  # the pattern names its account itself
    assert scalar_text(by_name["oai-deployments"].model_name) == "gpt-4o"  # the account module's default name
    (custom,) = [p for p in pins if isinstance(p.name, Unknown)]
    assert isinstance(custom.model_version, Unknown)
    assert custom.model_version.expression == "module custom modelDeployments"
    assert "ts/contoso:ai:1.0: its code is not here" in custom.model_version.reason


def test_text_functions_in_names(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        f"""param model string = 'gpt-4o-mini'
var family = split(model, '-')[1]
resource d '{DEPLOYMENT}' = {{
  name: 'oai/${{join([family, replace(model, '-', '')], '_')}}'
  properties: {{
    model: {{ format: 'OpenAI', name: model, version: startsWith(model, 'GPT') ? '2024-07-18' : 'none' }}
  }}
}}
"""
    )
    pins, warnings = _scan(tmp_path)
    assert warnings == []
    (pin,) = pins
    assert (scalar_text(pin.name), scalar_text(pin.model_version)) == ("4o_gpt4omini", "2024-07-18")


def test_the_compiled_template_beside_fills_what_the_grammar_could_not_read(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        f"""param model string = ]
param version string = '2024-11-20'
resource a 'Microsoft.CognitiveServices/accounts@2024-10-01' = {{
  name: 'oai'
  location: 'eastus'
}}
resource chat '{DEPLOYMENT}' = {{
  parent: a
  name: 'chat'
  properties: {{ model: {{ format: 'OpenAI', name: model, version: version }} }}
}}
resource lost '{DEPLOYMENT}' = {{
  parent: a
  name: 'mini' )
}}
"""
    )
    deployment = {"type": DEPLOYMENT.split("@", maxsplit=1)[0], "apiVersion": "2024-10-01"}
    compiled = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "languageVersion": "2.0",
        "contentVersion": "1.0.0.0",
        "metadata": {"_generator": {"name": "bicep", "version": "0.38.5.1644"}},
        "parameters": {
            "model": {"type": "string", "defaultValue": "gpt-4o"},
            "version": {"type": "string", "defaultValue": "2024-11-20"},
        },
        "resources": {
            "a": {"type": "Microsoft.CognitiveServices/accounts", "apiVersion": "2024-10-01", "name": "oai"},
            "chat": {
                **deployment,
                "name": "[format('{0}/{1}', 'oai', 'chat')]",
                "properties": {
                    "model": {
                        "format": "OpenAI",
                        "name": "[parameters('model')]",
                        "version": "[parameters('version')]",
                    }
                },
            },
            "lost": {
                **deployment,
                "name": "oai/mini",
                "properties": {"model": {"format": "OpenAI", "name": "gpt-4o-mini", "version": "2024-07-18"}},
            },
        },
    }
    (tmp_path / "main.json").write_text(json.dumps(compiled, indent=2))
    pins, warnings = _scan(tmp_path)
    assert [w.line for w in warnings] == [1, 12]
    by_name = _by_name(pins)
    chat = by_name["chat"]
    assert scalar_text(chat.model_name) == "gpt-4o"  # `param model` was lost: the compiled default
    assert isinstance(chat.model_name, Lit) and chat.model_name.span is None  # nobody edits main.json
    assert "from the compiled main.json" in chat.model_name.notes
    assert _line(chat.model_version) == ("main.bicep", 2)  # what the Bicep evaluation knew keeps its place
    mini = by_name["mini"]  # the resource the grammar lost, read from main.json, found on its .bicep line
    assert (mini.file.name, mini.line, scalar_text(mini.model_version)) == ("main.bicep", 12, "2024-07-18")


def test_a_bicepparam_value_lost_to_a_syntax_error_is_unknown_not_the_default(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        f"""param version string = '2024-05-13'
resource d '{DEPLOYMENT}' = {{
  name: 'oai/chat'
  properties: {{ model: {{ format: 'OpenAI', name: 'gpt-4o', version: version }} }}
}}
"""
    )
    (tmp_path / "main.bicepparam").write_text("using 'main.bicep'\nparam version = '2024-11-20' )\n")
    pins, warnings = _scan(tmp_path)
    assert [(w.file.name, w.line) for w in warnings] == [("main.bicepparam", 2)]
    (pin,) = pins
    assert isinstance(pin.model_version, Unknown)
    assert pin.model_version.reason == "syntax error at main.bicepparam:2"


def test_only_arguments_that_look_like_deployments_make_an_unread_module_matter(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        """@secure()
param password string
module vault 'br/public:avm/res/key-vault/vault:0.13.3' = {
  name: 'vault'
  params: { enableVaultForDeployment: true, deploymentUserPassword: password, deploymentsToPerform: 'All' }
}
module hub 'br/public:avm/ptn/azd/ml-hub-dependencies:0.5.0' = {
  name: 'hub'
  params: {
    cognitiveServicesName: 'oai-hub'
    cognitiveServicesDeployments: [ { name: 'chat', model: { format: 'OpenAI', name: 'gpt-4o', version: '2024-11-20' } } ]
  }
}
module other 'br/public:contoso/ai:1.0.0' = {
  name: 'other'
  params: { modelDeployments: password }
}
"""
    )
    pins, warnings = _scan(tmp_path)
    assert [w.line for w in warnings] == [3]  # the vault module: a warning, not a finding
    by_name = _by_name(pins)
    assert scalar_text(by_name["chat"].account) == "oai-hub"
    (other,) = [p for p in pins if isinstance(p.name, Unknown)]
    assert isinstance(other.model_version, Unknown)
    assert other.model_version.expression == "module other modelDeployments"


def test_sort_group_by_and_map_values(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        f"""var models = {{
  chat: {{ name: 'gpt-4o', version: '2024-11-20', rank: 2 }}
  mini: {{ name: 'gpt-4o-mini', version: '2024-07-18', rank: 1 }}
}}
var pinned = mapValues(models, m => {{ format: 'OpenAI', name: m.name, version: m.version }})
var ordered = sort(items(models), (a, b) => a.value.rank < b.value.rank)
var byFamily = groupBy(ordered, e => split(e.value.name, '-')[0])
resource d '{DEPLOYMENT}' = [for (e, i) in byFamily.gpt: {{
  name: 'oai/${{i}}-${{e.key}}'
  properties: {{ model: pinned[e.key] }}
}}]
"""
    )
    pins, warnings = _scan(tmp_path)
    assert warnings == []
    assert [(scalar_text(p.name), scalar_text(p.model_version)) for p in pins] == [
        ("0-mini", "2024-07-18"),
        ("1-chat", "2024-11-20"),
    ]


def test_operators_bind_as_bicep_binds_them(tmp_path: Path) -> None:
    # tree-sitter-bicep 1.1 reads `a ?? b.c` as `(a ?? b).c`, `!a.b` as `(!a).b`, `c ? a : b.x` as `(c ? a : b).x`
    (tmp_path / "main.bicep").write_text(
        f"""param custom object = {{}}
var defaults = {{ model: {{ name: 'gpt-4o', version: '2024-11-20' }}, sku: {{ name: 'GlobalStandard' }} }}
var flags = {{ off: false }}
var model = custom.?model ?? defaults.model
var useDefaults = !flags.off && 'gpt-4o' == defaults.model.name
resource d '{DEPLOYMENT}' = {{
  name: 'oai/chat'
  sku: useDefaults ? defaults.sku : custom.sku
  properties: {{ model: {{ format: 'OpenAI', name: model.name, version: empty(custom) ? defaults.model['version'] : 'x' }} }}
}}
"""
    )
    pins, warnings = _scan(tmp_path)
    assert warnings == []
    (pin,) = pins
    assert (scalar_text(pin.model_name), scalar_text(pin.model_version), scalar_text(pin.sku)) == (
        "gpt-4o",
        "2024-11-20",
        "GlobalStandard",
    )
    assert _line(pin.model_version) == ("main.bicep", 2)

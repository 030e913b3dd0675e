"""ARM templates: tree-sitter-json (comments allowed), copy loops, child resources, parameter files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.iac.arm import scan_arm
from shared.iac.arm.expression import ExpressionError, parse_expression
from shared.iac.pins import Lit, scalar_text
from tests.support.iac_fixtures import DATA


def _where(value: object) -> tuple[str, int]:
    assert isinstance(value, Lit) and value.span is not None, value
    return value.span.path.name, value.span.line


def test_copy_loop_and_child_resource_with_a_parameter_file() -> None:
    pins, warnings, files = scan_arm(sorted((DATA / "arm").glob("*.json")))
    assert warnings == []
    assert {f.name for f in files} == {"azuredeploy.json", "azuredeploy.parameters.json"}
    by_name = {scalar_text(p.name): p for p in pins}
    assert set(by_name) == {"embedding", "gpt4", "mini"}
    gpt4 = by_name["gpt4"]  # parameters('deployments')[copyIndex()].model
    assert (scalar_text(gpt4.model_version), scalar_text(gpt4.sku)) == ("0613", "ProvisionedManaged")
    assert _where(gpt4.model_version) == ("azuredeploy.json", 21)
    assert (
        scalar_text(gpt4.account) == "oai-contoso-arm"
    )  # from the parameter file, through format('{0}/{1}')
    assert _where(gpt4.location) == ("azuredeploy.parameters.json", 6)  # the file's value beats defaultValue
    embedding = by_name["embedding"]  # a child resource of the account, version from variables()
    assert _where(embedding.model_version) == ("azuredeploy.json", 34)
    assert scalar_text(embedding.upgrade_option) == "OnceNewDefaultVersionAvailable"


def test_a_template_compiled_from_bicep_beside_its_source_is_skipped(tmp_path: Path) -> None:
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "metadata": {"_generator": {"name": "bicep", "version": "0.30.23.60470"}},
        "resources": [
            {
                "type": "Microsoft.CognitiveServices/accounts/deployments",
                "apiVersion": "2024-10-01",
                "name": "a/b",
                "properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-05-13"}},
            }
        ],
    }
    (tmp_path / "main.json").write_text(json.dumps(template))
    assert len(scan_arm([tmp_path / "main.json"])[0]) == 1
    (tmp_path / "main.bicep").write_text("// the source\n")
    assert scan_arm([tmp_path / "main.json"])[0] == []


def test_nested_inline_deployment_with_inner_scope(tmp_path: Path) -> None:
    inner = {  # the nested deployment's own template: inner scope, so its parameters are its own
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"version": {"type": "string"}},
        "resources": [
            {
                "type": "Microsoft.CognitiveServices/accounts/deployments",
                "apiVersion": "2024-10-01",
                "name": "oai/chat",
                "properties": {
                    "model": {"format": "OpenAI", "name": "gpt-4o", "version": "[parameters('version')]"}
                },
            }
        ],
    }
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"chatVersion": {"type": "string", "defaultValue": "2024-11-20"}},
        "resources": [
            {
                "type": "Microsoft.Resources/deployments",
                "apiVersion": "2022-09-01",
                "name": "openai",
                "properties": {
                    "expressionEvaluationOptions": {"scope": "inner"},
                    "mode": "Incremental",
                    "parameters": {"version": {"value": "[parameters('chatVersion')]"}},
                    "template": inner,
                },
            }
        ],
    }
    path = tmp_path / "azuredeploy.json"
    path.write_text(json.dumps(template, indent=2))
    (pin,) = scan_arm([path])[0]
    assert (
        scalar_text(pin.model_version) == "2024-11-20" and _where(pin.model_version)[0] == "azuredeploy.json"
    )
    assert any("nested deployment openai" in c for c in pin.context)


def test_broken_json_warns_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "azuredeploy.json"
    path.write_text(
        '{\n  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",\n'
        '  "contentVersion": "1.0.0.0",\n  "resources": [\n    { "type": "x" "name": "y" }\n  ]\n}\n'
    )
    pins, warnings, _ = scan_arm([path])
    assert pins == []
    (warning,) = warnings
    assert warning.line == 5 and "syntax error" in warning.message


def test_expression_parser() -> None:
    parsed = parse_expression("format('{0}/{1}', parameters('a'), parameters('d')[copyIndex()].name)")
    assert "copyIndex" in repr(parsed)
    assert repr(parse_expression("'it''s'")) == 'Const(value="it\'s")'
    with pytest.raises(ExpressionError):
        parse_expression("concat('a',")

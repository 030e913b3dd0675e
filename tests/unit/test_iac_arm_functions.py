"""ARM template functions met in real templates, copy counts, conditions and nested deployments (own fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

from shared.iac.arm import scan_arm
from shared.iac.pins import Pin, scalar_text
from shared.iac.values import disabled_reason

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
DEPLOYMENTS = "Microsoft.CognitiveServices/accounts/deployments"


def _scan(tmp_path: Path, template: dict[str, object]) -> dict[str | None, Pin]:
    (tmp_path / "azuredeploy.json").write_text(json.dumps(template, indent=2))
    pins, warnings, _ = scan_arm([tmp_path / "azuredeploy.json"])
    assert warnings == []
    return {scalar_text(p.name): p for p in pins}


def test_functions_copy_counts_and_conditions(tmp_path: Path) -> None:
    template = {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {
            "deployments": {
                "type": "array",
                "defaultValue": [
                    {"name": "chat", "model": {"name": "gpt-4o", "version": "2024-11-20"}},
                    {
                        "name": "embed",
                        "model": {"name": "text-embedding-3-large", "version": "1"},
                        "sku": "Standard",
                    },
                ],
            },
            "deployEval": {"type": "bool", "defaultValue": False},
        },
        "variables": {
            "base": "[createObject('format', 'OpenAI')]",
        },
        "resources": [
            {
                "type": DEPLOYMENTS,
                "apiVersion": "2024-10-01",
                "name": "[format('oai/{0}', parameters('deployments')[copyIndex()].name)]",
                "copy": {"name": "models", "count": "[length(parameters('deployments'))]"},
                "sku": {
                    "name": "[coalesce(tryGet(parameters('deployments')[copyIndex()], 'sku'), 'GlobalStandard')]"
                },
                "properties": {
                    "model": "[union(variables('base'), parameters('deployments')[copyIndex()].model)]",
                    "versionUpgradeOption": "[if(and(true, not(parameters('deployEval'))), 'NoAutoUpgrade', 'x')]",
                },
            },
            {
                "condition": "[parameters('deployEval')]",
                "type": DEPLOYMENTS,
                "apiVersion": "2024-10-01",
                "name": "oai/eval",
                "properties": {"model": {"format": "OpenAI", "name": "gpt-4", "version": "turbo-2024-04-09"}},
            },
        ],
    }
    pins = _scan(tmp_path, template)
    assert set(pins) == {"chat", "embed", "eval"}
    chat, embed = pins["chat"], pins["embed"]
    assert (scalar_text(chat.model_format), scalar_text(chat.model_version)) == ("OpenAI", "2024-11-20")
    assert (scalar_text(chat.sku), scalar_text(embed.sku)) == ("GlobalStandard", "Standard")
    assert scalar_text(chat.upgrade_option) == "NoAutoUpgrade"
    assert (
        disabled_reason(pins["eval"].context)
        == "not deployed by default: [parameters('deployEval')] is false"
    )
    assert disabled_reason(chat.context) is None


def test_a_nested_deployment_with_inner_scope_and_its_own_condition(tmp_path: Path) -> None:
    inner = {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {"version": {"type": "string"}, "label": {"type": "string", "defaultValue": "x"}},
        "resources": [
            {
                "type": DEPLOYMENTS,
                "apiVersion": "2024-10-01",
                "name": "[concat('oai/', parameters('label'))]",
                "properties": {
                    "model": {"format": "OpenAI", "name": "gpt-4o", "version": "[parameters('version')]"}
                },
            }
        ],
    }
    nested = {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "models",
        "copy": {"name": "each", "count": 2},
        "properties": {
            "mode": "Incremental",
            "expressionEvaluationOptions": {"scope": "inner"},
            "parameters": {
                "version": {"value": "[parameters('version')]"},
                "label": {"value": "[format('n{0}', copyIndex())]"},
            },
            "template": inner,
        },
    }
    template = {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {"version": {"type": "string", "defaultValue": "2024-08-06"}},
        "resources": [nested],
    }
    pins = _scan(tmp_path, template)
    assert set(pins) == {"n0", "n1"}
    assert scalar_text(pins["n0"].model_version) == "2024-08-06"

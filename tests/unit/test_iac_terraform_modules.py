"""Terraform as teams write it: registry modules, decoded files, counts and switches (our own fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

from shared.iac.pins import Lit, Pin, Unknown, scalar_text
from shared.iac.terraform import scan_terraform
from shared.iac.values import disabled_reason


def _scan(folder: Path) -> tuple[list[Pin], list[str]]:
    pins, warnings, _ = scan_terraform(sorted(folder.rglob("*.tf")))
    return pins, [f"{w.file.name}:{w.line} {w.message}" for w in warnings]


def _by_name(pins: list[Pin]) -> dict[str | None, Pin]:
    return {scalar_text(p.name): p for p in pins}


def _where(value: object) -> tuple[str, int]:
    assert isinstance(value, Lit) and value.span is not None, value
    return value.span.path.name, value.span.line


def test_the_two_azure_openai_registry_modules_by_their_documented_inputs(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        """variable "chat_version" {
  default = "2024-11-20"
}
module "openai" {
  source   = "Azure/openai/azurerm"
  version  = "0.1.3"
  location = "eastus"
  account_name = "oai-one"
  deployment = {
    chat = {
      name          = "chat"
      model_format  = "OpenAI"
      model_name    = "gpt-4o"
      model_version = var.chat_version
      scale_type    = "GlobalStandard"
    }
  }
}
module "avm" {
  source   = "Azure/avm-res-cognitiveservices-account/azurerm"
  name     = "oai-two"
  location = "swedencentral"
  cognitive_deployments = {
    "mini" = {
      name  = "mini"
      model = { format = "OpenAI", name = "gpt-4o-mini", version = "2024-07-18" }
      scale = { type = "Standard" }
    }
  }
}
module "empty" {
  source   = "Azure/avm-res-cognitiveservices-account/azurerm"
  name     = "oai-three"
  location = "eastus"
}
"""
    )
    pins, warnings = _scan(tmp_path)
    assert warnings == []
    by_name = _by_name(pins)
    assert set(by_name) == {"chat", "mini"}  # the module called with no deployments yields nothing
    chat = by_name["chat"]
    assert (scalar_text(chat.model_name), scalar_text(chat.sku), scalar_text(chat.account)) == (
        "gpt-4o",
        "GlobalStandard",
        "oai-one",
    )
    assert _where(chat.model_version) == ("main.tf", 2)
    mini = by_name["mini"]
    assert (scalar_text(mini.location), scalar_text(mini.model_version)) == ("swedencentral", "2024-07-18")
    assert scalar_text(mini.upgrade_option) == "OnceNewDefaultVersionAvailable"  # the module's default


def test_other_registry_modules_are_never_silent(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        """module "naming" {
  source  = "Azure/naming/azurerm"
  version = "0.4.3"
}
module "ai" {
  source = "contoso/ai-foundry/azurerm"
  model_deployments = [{ model = { name = "gpt-4o", version = "2024-11-20" } }]
}
"""
    )
    pins, warnings = _scan(tmp_path)
    assert warnings == [
        'main.tf:1 module "naming": registry module Azure/naming/azurerm not read (its code is not here; it '
        "is given no model deployments)"
    ]
    (pin,) = pins
    assert isinstance(pin.model_version, Unknown)
    assert pin.model_version.expression == 'module "ai" model_deployments'
    assert "registry module contoso/ai-foundry/azurerm" in pin.model_version.reason


def test_a_downloaded_registry_module_is_read_from_modules_json(tmp_path: Path) -> None:
    downloaded = tmp_path / ".terraform" / "modules" / "openai"
    downloaded.mkdir(parents=True)
    (downloaded / "main.tf").write_text(
        """variable "models" {
  default = {}
}
resource "azurerm_cognitive_deployment" "this" {
  for_each             = var.models
  name                 = each.key
  cognitive_account_id = "/subscriptions/s/resourceGroups/r/providers/Microsoft.CognitiveServices/accounts/oai"
  model {
    format  = "OpenAI"
    name    = each.value.name
    version = each.value.version
  }
  sku {
    name = "Standard"
  }
}
"""
    )
    (tmp_path / ".terraform" / "modules" / "modules.json").write_text(
        json.dumps(
            {"Modules": [{"Key": "openai", "Source": "contoso/openai/azurerm", "Dir": str(downloaded)}]}
        )
    )
    (tmp_path / "main.tf").write_text(
        'module "openai" {\n  source = "contoso/openai/azurerm"\n'
        '  models = { chat = { name = "gpt-4o", version = "2024-08-06" } }\n}\n'
    )
    pins, warnings, _ = scan_terraform([tmp_path / "main.tf"])
    assert warnings == []
    (pin,) = pins
    assert (scalar_text(pin.name), scalar_text(pin.model_version), scalar_text(pin.account)) == (
        "chat",
        "2024-08-06",
        "oai",
    )


def test_decoded_files_counts_and_switches(tmp_path: Path) -> None:
    (tmp_path / "models.json").write_text('{"chat": {"name": "gpt-4o", "version": "2024-11-20"}}\n')
    (tmp_path / "models.yaml").write_text("embed:\n  name: text-embedding-3-large\n  version: '1'\n")
    (tmp_path / "main.tf").write_text(
        """variable "use_eval" {
  default = false
}
locals {
  models = merge(jsondecode(file("${path.module}/models.json")), yamldecode(file("models.yaml")))
  names  = [for k, v in local.models : k]
}
resource "azurerm_cognitive_account" "oai" {
  name     = "oai"
  location = "eastus"
}
resource "azurerm_cognitive_deployment" "d" {
  count                = length(local.names)
  name                 = local.names[count.index]
  cognitive_account_id = azurerm_cognitive_account.oai.id
  model {
    format  = "OpenAI"
    name    = lookup(local.models[local.names[count.index]], "name", "none")
    version = try(local.models[local.names[count.index]].version, "1")
  }
  sku {
    name = coalesce(null, "GlobalStandard")
  }
}
resource "azurerm_cognitive_deployment" "eval" {
  count                = var.use_eval ? 1 : 0
  name                 = "eval"
  cognitive_account_id = azurerm_cognitive_account.oai.id
  model {
    format  = "OpenAI"
    name    = "gpt-4"
    version = "turbo-2024-04-09"
  }
}
"""
    )
    pins, warnings = _scan(tmp_path)
    assert warnings == []
    by_name = _by_name(pins)
    assert set(by_name) == {"chat", "embed", "eval"}
    assert _where(by_name["chat"].model_version) == ("models.json", 1)
    assert _where(by_name["embed"].model_version) == ("models.yaml", 3)
    assert scalar_text(by_name["embed"].sku) == "GlobalStandard"
    assert disabled_reason(by_name["chat"].context) is None
    assert disabled_reason(by_name["eval"].context) == (
        "not deployed by default: count = var.use_eval ? 1 : 0 is empty"
    )


def test_a_variable_lost_to_a_syntax_error_says_so(tmp_path: Path) -> None:
    (tmp_path / "variables.tf").write_text('variable "chat_version" {\n  default = "2024-11-20"\n\n')
    (tmp_path / "main.tf").write_text(
        """resource "azurerm_cognitive_deployment" "chat" {
  name                 = "chat"
  cognitive_account_id = "/subscriptions/s/resourceGroups/r/providers/Microsoft.CognitiveServices/accounts/oai"
  model {
    format  = "OpenAI"
    name    = "gpt-4o"
    version = var.chat_version
  }
}
"""
    )
    pins, warnings = _scan(tmp_path)
    assert len(warnings) == 1 and warnings[0].startswith("variables.tf:")
    (pin,) = pins
    assert isinstance(pin.model_version, Unknown)
    assert pin.model_version.reason.startswith(
        "variable chat_version is not declared (or lost to a syntax error at"
    )


def test_files_and_downloaded_modules_outside_the_root_are_refused(tmp_path: Path) -> None:
    from shared.iac import confine

    root, outside = tmp_path / "repo", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (outside / "models.json").write_text('{"secret": {"name": "token-123", "version": "1"}}')
    (outside / "main.tf").write_text('variable "models" {\n  default = {}\n}\n')
    (root / ".terraform" / "modules").mkdir(parents=True)
    (root / ".terraform" / "modules" / "modules.json").write_text(
        json.dumps({"Modules": [{"Key": "far", "Source": "contoso/x/azurerm", "Dir": str(outside)}]})
    )
    (root / "main.tf").write_text(
        'locals {\n  models = jsondecode(file("../elsewhere/models.json"))\n}\n'
        'module "far" {\n  source = "contoso/x/azurerm"\n  models = local.models\n}\n'
        'resource "azurerm_cognitive_deployment" "d" {\n  name = "d"\n'
        '  model {\n    format = "OpenAI"\n    name = local.models.secret.name\n    version = "1"\n  }\n}\n'
    )
    with confine.confined([root]):
        pins, warnings = _scan(root)
    assert all("token-123" not in w for w in warnings)
    assert any('file("../elsewhere/models.json") resolves outside the scanned root' in w for w in warnings)
    assert any('module "far"' in w and "outside the scanned root" in w for w in warnings)
    (pin,) = pins
    assert isinstance(pin.model_name, Unknown) and "outside the scanned root" in pin.model_name.reason

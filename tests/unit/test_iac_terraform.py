"""Terraform adapter: python-hcl2 on a module with for_each over a map of deployments, tfvars, azapi."""

from __future__ import annotations

from pathlib import Path

from shared.iac.pins import Lit, Pin, Unknown, scalar_text
from shared.iac.terraform import scan_terraform
from tests.support.iac_fixtures import DATA


def _scan(folder: Path) -> tuple[list[Pin], list[str]]:
    pins, warnings, _ = scan_terraform(sorted(folder.rglob("*.tf")))
    return pins, [f"{w.file.name}:{w.line} {w.message}" for w in warnings]


def _where(value: object) -> tuple[str, int]:
    assert isinstance(value, Lit) and value.span is not None, value
    return value.span.path.name, value.span.line


def test_module_for_each_over_a_map_takes_the_values_from_tfvars() -> None:
    pins, warnings = _scan(DATA / "terraform")
    assert warnings == []
    by_name = {scalar_text(p.name): p for p in pins}
    assert set(by_name) == {"chat", "embedding", "realtime"}  # terraform.tfvars replaces the default map
    chat = by_name["chat"]
    assert _where(chat.model_version) == ("terraform.tfvars", 6)
    assert (scalar_text(chat.model_name), scalar_text(chat.sku)) == ("gpt-4o", "GlobalStandard")
    assert scalar_text(chat.upgrade_option) == "OnceNewDefaultVersionAvailable"
    # the account comes through the module's azurerm_cognitive_account, its region from terraform.tfvars
    assert (scalar_text(chat.account), scalar_text(chat.location)) == ("oai-contoso-prod", "swedencentral")
    assert chat.file.name == "main.tf" and chat.file.parent.name == "openai" and chat.line == 10
    assert any('var.deployments["chat"]' in c for c in chat.context)
    # optional(string, "OnceNewDefaultVersionAvailable") in the root variable's type fills the gap
    embedding = by_name["embedding"]
    assert scalar_text(embedding.upgrade_option) == "OnceNewDefaultVersionAvailable"
    assert _where(embedding.upgrade_option) == ("variables.tf", 19)
    realtime = by_name["realtime"]  # azapi_resource, its parent through the module's output
    assert scalar_text(realtime.account) == "oai-contoso-prod" and _where(realtime.model_version) == (
        "main.tf",
        44,
    )
    assert scalar_text(realtime.sku) == "GlobalStandard"


def test_another_var_file_is_another_run(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        """variable "chat_version" {
  default = "2024-05-13"
}
resource "azurerm_cognitive_account" "a" {
  name     = "oai-x"
  location = "eastus"
}
resource "azurerm_cognitive_deployment" "chat" {
  count                = 2
  name                 = "chat-${count.index}"
  cognitive_account_id = azurerm_cognitive_account.a.id
  model {
    format  = "OpenAI"
    name    = "gpt-4o"
    version = var.chat_version
  }
  scale {
    type = "Standard"
  }
}
"""
    )
    (tmp_path / "prod.tfvars").write_text('chat_version = "2024-08-06"\n')
    pins, warnings = _scan(tmp_path)
    assert warnings == []
    assert sorted((scalar_text(p.name), scalar_text(p.model_version)) for p in pins) == [
        ("chat-0", "2024-08-06"),
        ("chat-1", "2024-08-06"),
    ]
    assert _where(pins[0].model_version) == ("prod.tfvars", 1)
    assert scalar_text(pins[0].sku) == "Standard"  # the older `scale { type }` block


def test_unknowns_name_the_expression_and_bad_files_warn(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        """variable "model_version" {}
data "azurerm_cognitive_account" "shared" {
  name                = "oai-shared"
  resource_group_name = "rg"
}
resource "azurerm_cognitive_deployment" "chat" {
  name                 = "chat"
  cognitive_account_id = data.azurerm_cognitive_account.shared.id
  model {
    format  = "OpenAI"
    name    = "gpt-4o"
    version = var.model_version
  }
  sku {
    name = "Standard"
  }
}
"""
    )
    (tmp_path / "broken.tf").write_text(
        'resource "azurerm_cognitive_deployment" "x" {\n  name = "x"\n  model {\n    name = \n'
    )
    pins, warnings = _scan(tmp_path)
    (pin,) = pins
    assert isinstance(pin.model_version, Unknown) and pin.model_version.expression == "var.model_version"
    assert "without a default" in pin.model_version.reason
    assert scalar_text(pin.account) == "oai-shared"  # a data source's name is in the code
    assert isinstance(pin.location, Unknown)  # its region is not
    (warning,) = warnings
    assert warning.startswith("broken.tf:") and "syntax error" in warning
    assert warning.split()[0] != "broken.tf:None"

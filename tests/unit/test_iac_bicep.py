"""Bicep adapter: tree-sitter-bicep on real-world shaped templates (the Azure-Samples azd layout and others)."""

from __future__ import annotations

from pathlib import Path

from shared.iac.bicep import scan_bicep
from shared.iac.pins import Lit, Pin, Unknown, scalar_text
from shared.iac.values import disabled_reason
from tests.support.iac_fixtures import DATA


def _pins(folder: Path) -> list[Pin]:
    pins, warnings, _ = scan_bicep(sorted(folder.rglob("*.bicep")))
    assert warnings == []
    return pins


def _where(value: object) -> tuple[str, int]:
    assert isinstance(value, Lit) and value.span is not None, value
    return value.span.path.name, value.span.line


def test_azd_layout_resolves_the_module_loop_into_the_callers_values() -> None:
    pins = {scalar_text(p.name): p for p in _pins(DATA / "azd")}
    assert set(pins) == {"chat", "embedding"}  # the module is scanned through its caller only
    chat = pins["chat"]
    assert (scalar_text(chat.model_name), scalar_text(chat.model_version)) == ("gpt-4o", "2024-05-13")
    # the version is the default of ${AZURE_OPENAI_CHATGPT_MODEL_VERSION=...} in main.parameters.json
    assert _where(chat.model_version) == ("main.parameters.json", 24)
    assert (
        isinstance(chat.model_version, Lit) and chat.model_version.env == "AZURE_OPENAI_CHATGPT_MODEL_VERSION"
    )
    assert _where(chat.model_name) == ("main.bicep", 28)  # the param default
    assert scalar_text(chat.account) == "oai-contoso-chat" and scalar_text(chat.location) == "eastus"
    assert scalar_text(chat.sku) == "Standard"
    assert chat.file.name == "cognitiveservices.bicep" and chat.line == 29
    assert any("module openAi" in c for c in chat.context)
    embedding = pins["embedding"]
    # !empty(embeddingDeploymentVersion) ? ... : '2', with ${AZURE_OPENAI_EMB_DEPLOYMENT_VERSION} unset
    assert scalar_text(embedding.model_version) == "2" and _where(embedding.model_version) == (
        "main.bicep",
        36,
    )
    assert isinstance(embedding.model_version, Lit)
    assert embedding.model_version.env == "AZURE_OPENAI_EMB_DEPLOYMENT_VERSION"
    # the item has no sku: the module's `contains(deployment, 'sku') ? ... : {name: 'Standard'}` decides
    assert _where(embedding.sku) == ("cognitiveservices.bicep", 37)


def test_bicepparam_nested_deployment_and_a_false_condition() -> None:
    pins = {scalar_text(p.name): p for p in _pins(DATA / "bicepparam")}
    assert set(pins) == {"chat", "legacy"}
    # `legacy` is behind if (provisioned), false: listed, not dropped
    assert disabled_reason(pins["legacy"].context) == "not deployed by default: if (provisioned) is false"
    assert disabled_reason(pins["chat"].context) is None
    chat = pins["chat"]
    assert _where(chat.model_version) == ("main.bicepparam", 7)
    assert scalar_text(chat.account) == "oai-team-a"  # readEnvironmentVariable's default
    assert isinstance(chat.account, Lit) and chat.account.env == "OPENAI_ACCOUNT"
    assert scalar_text(chat.location) == "eastus"
    assert scalar_text(chat.sku) == "GlobalStandard"
    assert scalar_text(chat.upgrade_option) == "NoAutoUpgrade"


def test_unresolvable_values_name_the_expression(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        """param deployments array
param location string = resourceGroup().location
resource account 'Microsoft.CognitiveServices/accounts@2023-05-01' = {
  name: 'oai-${uniqueString(resourceGroup().id)}'
  location: location
}
resource d 'Microsoft.CognitiveServices/accounts/deployments@2023-05-01' = [for x in deployments: {
  parent: account
  name: x.name
  properties: {
    model: x.model
  }
}]
"""
    )
    (pin,) = _pins(tmp_path)
    assert isinstance(pin.model_version, Unknown) and pin.model_version.expression == "deployments"
    assert "parameter without a value" in pin.model_version.reason
    assert isinstance(pin.location, Unknown) and "resourceGroup().location" in pin.location.expression
    assert isinstance(pin.account, Unknown) and "uniqueString" in pin.account.expression


def test_avm_module_and_the_old_name_form(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        """module openai 'br/public:avm/res/cognitive-services/account:0.9.1' = {
  name: 'openai'
  params: {
    name: 'oai-avm'
    location: 'swedencentral'
    kind: 'OpenAI'
    deployments: [
      {
        name: 'gpt4o'
        model: { format: 'OpenAI', name: 'gpt-4o', version: '2024-11-20' }
        sku: { name: 'GlobalStandard', capacity: 10 }
        versionUpgradeOption: 'OnceNewDefaultVersionAvailable'
      }
    ]
  }
}
resource acct 'Microsoft.CognitiveServices/accounts@2023-05-01' = {
  name: 'oai-old'
  location: 'eastus'
}
resource old 'Microsoft.CognitiveServices/accounts/deployments@2023-05-01' = {
  name: '${acct.name}/embedding'
  properties: { model: { format: 'OpenAI', name: 'text-embedding-ada-002', version: '2' } }
}
"""
    )
    pins = {scalar_text(p.name): p for p in _pins(tmp_path)}
    avm = pins["gpt4o"]
    assert (scalar_text(avm.account), scalar_text(avm.location), scalar_text(avm.sku)) == (
        "oai-avm",
        "swedencentral",
        "GlobalStandard",
    )
    assert _where(avm.model_version) == ("main.bicep", 10)
    assert scalar_text(avm.upgrade_option) == "OnceNewDefaultVersionAvailable"
    old = pins["embedding"]
    assert (scalar_text(old.account), scalar_text(old.location)) == ("oai-old", "eastus")
    assert old.sku is None  # absent: ARM's default (Standard) applies when judged


def test_a_broken_file_is_a_warning_naming_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "good.bicep").write_text(
        "resource d 'Microsoft.CognitiveServices/accounts/deployments@2023-05-01' = {\n"
        "  name: 'acct/chat'\n  properties: { model: { name: 'gpt-4o', version: '2024-08-06' } }\n}\n"
    )
    (tmp_path / "bad.bicep").write_text(
        "param x string\n\nresource d 'Microsoft.CognitiveServices/accounts/deployments@2023-05-01' = {\n"
        "  name: 'x'\n  properties: {\n    model: { name: 'gpt-4o' version: '2024-05-13'\n  }\n"
    )
    (tmp_path / "latin1.bicep").write_bytes(b"param caf\xe9 string\n")
    pins, warnings, _ = scan_bicep(sorted(tmp_path.glob("*.bicep")))
    assert [scalar_text(p.model_version) for p in pins] == ["2024-08-06"]
    by_file = {w.file.name: w for w in warnings}
    assert by_file["bad.bicep"].line == 3 and "syntax error" in by_file["bad.bicep"].message
    assert by_file["latin1.bicep"].line is None and "not UTF-8" in by_file["latin1.bicep"].message


def test_a_missing_module_and_a_cycle_are_warnings(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        "module m 'missing.bicep' = {\n  name: 'm'\n}\nmodule a 'a.bicep' = {\n  name: 'a'\n}\n"
    )
    (tmp_path / "a.bicep").write_text("module b 'b.bicep' = {\n  name: 'b'\n}\n")
    (tmp_path / "b.bicep").write_text("module a 'a.bicep' = {\n  name: 'a'\n}\n")
    pins, warnings, _ = scan_bicep(sorted(tmp_path.glob("*.bicep")))
    assert pins == []
    messages = [f"{w.file.name}:{w.line} {w.message}" for w in warnings]
    assert "main.bicep:1 module m: missing.bicep not found" in messages
    assert any("nested too deep" in m for m in messages)

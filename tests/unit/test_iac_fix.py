"""fix: the exact source token of each pin is rewritten, nothing else; a re-scan then reports ok."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.iac import fix
from shared.iac.report import scan_and_judge
from tests.support.iac_fixtures import AS_OF, catalog_index, copy_fixture


def _run_fix(folder: Path) -> tuple[fix.FixPlan, dict[Path, tuple[str, str]]]:
    report = scan_and_judge([folder], at=AS_OF, catalogs=catalog_index())
    plan = fix.plan(report.findings)
    changed = {}
    for path, edits in plan.by_file().items():
        before = path.read_text(encoding="utf-8")
        after = fix.apply(before, edits)
        path.write_text(after, encoding="utf-8")
        changed[path] = (before, after)
    return plan, changed


def test_azd_fix_rewrites_the_parameter_file_default_and_the_model_param(tmp_path: Path) -> None:
    folder = copy_fixture("azd", tmp_path)
    plan, changed = _run_fix(folder)
    assert plan.skipped == ()
    diff = {p.name: fix.unified_diff(p.name, *texts) for p, texts in changed.items()}
    assert set(diff) == {"main.parameters.json", "main.bicep"}
    # azd's ${VAR=default}: only the default changes
    assert (
        '-      "value": "${AZURE_OPENAI_CHATGPT_MODEL_VERSION=2024-05-13}"' in diff["main.parameters.json"]
    )
    assert (
        '+      "value": "${AZURE_OPENAI_CHATGPT_MODEL_VERSION=2025-04-14}"' in diff["main.parameters.json"]
    )
    # cross-model: the model name pin (a param default) moves too
    assert "-param chatGptModelName string = 'gpt-4o'" in diff["main.bicep"]
    assert "+param chatGptModelName string = 'gpt-4.1'" in diff["main.bicep"]
    # and, since ARM refuses to change an existing Standard deployment's model, so does the deployment's name
    assert '+      "value": "${AZURE_OPENAI_CHATGPT_DEPLOYMENT=chat-gpt-4.1}"' in diff["main.parameters.json"]
    lines_changed = {
        p.name: sum(a != b for a, b in zip(before.splitlines(), after.splitlines(), strict=True))
        for p, (before, after) in changed.items()
    }
    assert lines_changed == {"main.parameters.json": 2, "main.bicep": 1}  # minimal
    rename = next(e for e in plan.edits if e.new == "chat-gpt-4.1")
    assert "a new deployment chat-gpt-4.1 (gpt-4.1) is created beside chat" in rename.why
    assert "CannotChangeDeploymentModel" in rename.why and "move callers to chat-gpt-4.1" in rename.why
    assert "(azd env set AZURE_OPENAI_CHATGPT_DEPLOYMENT chat-gpt-4.1)" in rename.why
    assert rename.why.startswith("deployment oai-contoso-chat/chat (cognitiveservices.bicep:29)")
    # the scan's warning that azd's environment may override the default survives in the plan
    assert any("warning: default of ${AZURE_OPENAI_CHATGPT" in e.why for e in plan.edits)
    rescan = scan_and_judge([folder], at=AS_OF, catalogs=catalog_index())
    assert {f.name: f.status for f in rescan.findings} == {"chat-gpt-4.1": "ok", "embedding": "ok"}
    assert fix.plan(rescan.findings).edits == ()  # idempotent


def test_terraform_and_arm_fixes_round_trip(tmp_path: Path) -> None:
    folder = copy_fixture("terraform", tmp_path)
    _run_fix(folder)
    rescan = scan_and_judge([folder], at=AS_OF, catalogs=catalog_index())
    assert {f.name: (f.model, f.version, f.status) for f in rescan.findings} == {
        # gpt-4o -> gpt-4.1 would change the model of the GlobalStandard deployment in place (ARM refuses), and
        # its name is a map key: refused, with the reason
        "chat": ("gpt-4o", "2024-05-13", "retiring"),
        "embedding": ("text-embedding-ada-002", "2", "ok"),
        "realtime": ("gpt-4o-mini", "2024-07-18", "retiring"),  # GlobalStandard: 2026-10-01, nothing newer
    }
    assert fix.plan(rescan.findings).edits == ()
    (skipped,) = fix.plan(rescan.findings).skipped
    assert skipped.startswith(
        "deployment oai-contoso-prod/chat (main.tf:10): not changed: gpt-4.1 is another"
    )
    assert "CannotChangeDeploymentModel" in skipped and "its name is not a literal in the code" in skipped
    tfvars = (folder / "terraform.tfvars").read_text()
    assert 'model_name     = "gpt-4o"' in tfvars and 'model_version  = "2024-05-13"' in tfvars

    folder = copy_fixture("arm", tmp_path)
    _, changed = _run_fix(folder)
    assert changed == {}  # gpt-4 0613 is not offered in eastus and the catalog names nothing to move to
    gpt4 = next(
        f for f in scan_and_judge([folder], at=AS_OF, catalogs=catalog_index()).findings if f.name == "gpt4"
    )
    assert gpt4.status == "not-offered" and gpt4.recommended is not None
    assert gpt4.recommended.reason == "keep: the catalog names no replacement"


def test_a_shared_literal_with_disagreeing_recommendations_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        """param version string = '2024-05-13'
resource a 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: 'oai'
  location: 'eastus'
}
resource std 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: a
  name: 'std'
  properties: { model: { format: 'OpenAI', name: 'gpt-4o', version: version } }
}
resource mini 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: a
  name: 'mini'
  properties: { model: { format: 'OpenAI', name: 'gpt-35-turbo', version: '0613' } }
}
resource other 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: a
  name: 'other'
  properties: { model: { format: 'OpenAI', name: 'gpt-35-turbo', version: version } }
}
"""
    )
    report = scan_and_judge([tmp_path], at=AS_OF, catalogs=catalog_index())
    plan = fix.plan(report.findings)
    assert [e.new for e in plan.edits] == ["0125"]  # `mini`'s own literal
    assert any("feeds several pins" in s and "main.bicep:1" in s for s in plan.skipped)
    # `std` would need gpt-4.1 and the shared version: neither half is written
    assert any(s.startswith("deployment oai/std (") and "shares a value" in s for s in plan.skipped)


def test_apply_refuses_a_changed_file() -> None:
    plan = fix.Edit(fix.Span(Path("x"), 1, 0, 3), "abc", "xyz", "why")
    assert fix.apply("abc def", [plan]) == "xyz def"
    with pytest.raises(ValueError, match="no longer holds 'abc'"):
        fix.apply("abd def", [plan])


def test_a_cross_model_move_renames_the_deployment_or_is_refused(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        """resource a 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: 'oai'
  location: 'eastus'
}
resource named 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: a
  name: 'gpt-4o'
  properties: { model: { format: 'OpenAI', name: 'gpt-4o', version: '2024-05-13' } }
}
resource ptu 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: a
  name: 'ptu'
  sku: { name: 'ProvisionedManaged', capacity: 100 }
  properties: { model: { format: 'OpenAI', name: 'gpt-4o', version: '2024-05-13' } }
}
resource computed 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: a
  name: 'chat-${uniqueString(resourceGroup().id)}'
  properties: { model: { format: 'OpenAI', name: 'gpt-4o', version: '2024-05-13' } }
}
"""
    )
    report = scan_and_judge([tmp_path], at=AS_OF, catalogs=catalog_index())
    plan = fix.plan(report.findings)
    by_line = sorted((e.span.line, e.old, e.new) for e in plan.edits)
    assert by_line == [
        (7, "gpt-4o", "gpt-4.1"),  # the name holds the model's name: it becomes the new model's
        (8, "2024-05-13", "2025-04-14"),
        (8, "gpt-4o", "gpt-4.1"),
        (14, "2024-05-13", "2025-04-14"),  # provisioned: Learn documents an in-place model family change
        (14, "gpt-4o", "gpt-4.1"),
    ]
    (refused,) = plan.skipped
    assert refused.startswith("deployment oai/? (main.bicep:16): not changed: gpt-4.1 is another model")
    assert "CannotChangeDeploymentModel" in refused and "its name is not a literal in the code" in refused


def test_new_deployment_names() -> None:
    assert fix.new_deployment_name("gpt-4o", "gpt-4o", "gpt-5.1") == "gpt-5.1"
    assert fix.new_deployment_name("chat-GPT-4o", "gpt-4o", "gpt-5.1") == "chat-gpt-5.1"
    assert fix.new_deployment_name("chat", "gpt-4o", "gpt-5.1") == "chat-gpt-5.1"

"""Suppressions, fingerprints and baselines (shared/iac/gate.py), on templates written in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.iac import gate
from shared.iac.report import ScanReport, scan_and_judge
from tests.support.iac_fixtures import AS_OF, catalog_index

ACCOUNT = """param location string = 'eastus'
resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: 'oai'
  location: location
  kind: 'OpenAI'
  sku: { name: 'S0' }
}
"""


def _deployment(symbol: str, name: str, version: str, *, before: str = "", after: str = "") -> str:
    return f"""{before}resource {symbol} 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {{
  parent: account
  name: '{name}'
  sku: {{ name: 'GlobalStandard', capacity: 1 }}
  properties: {{
    model: {{ format: 'OpenAI', name: 'gpt-4o', version: {version} }}{after}
  }}
}}
"""


def _scan(folder: Path, **kwargs: object) -> ScanReport:
    return scan_and_judge([folder], at=AS_OF, catalogs=catalog_index(), root=folder, **kwargs)  # type: ignore[arg-type]


def _by_name(report: ScanReport) -> dict[str | None, object]:
    return {f.name: f for f in report.findings}


def test_bicep_suppressions_need_a_reason_and_are_shown(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        "param version string = '2024-05-13'\n"
        + ACCOUNT
        + _deployment("chat", "chat", "version", before="// modelwatch:ignore moving to gpt-4.1 in PR 42\n")
        + _deployment("embed", "embed", "version")
        + _deployment("bare", "bare", "'2024-05-13'", after=" // modelwatch:ignore")
        + _deployment("hash", "hash", "'2024-05-13'", before="# modelwatch:ignore Bicep has no # comments\n"),
        encoding="utf-8",
    )
    report = _scan(tmp_path)
    suppressed = {f.name: f.suppressed for f in report.findings}
    assert suppressed == {"chat": "moving to gpt-4.1 in PR 42", "embed": None, "bare": None, "hash": None}
    (problem,) = [w for w in report.warnings if w.rule]
    assert problem.rule == "suppression-without-reason" and problem.line is not None
    assert "without a reason" in problem.message


def test_terraform_suppressions_take_hash_and_slashes(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        """# modelwatch:ignore accepted until the 2026-09 migration
resource "azurerm_cognitive_deployment" "a" {
  name                 = "a"
  cognitive_account_id = "acct"
  model {
    format  = "OpenAI"
    name    = "gpt-4o"
    version = "2024-05-13"
  }
  sku { name = "GlobalStandard" }
}

resource "azurerm_cognitive_deployment" "b" {
  name                 = "b"
  cognitive_account_id = "acct"
  model {
    format  = "OpenAI"
    name    = "gpt-4o"
    version = "2024-05-13" // modelwatch:ignore pinned for the eval suite
  }
  sku { name = "GlobalStandard" }
}
""",
        encoding="utf-8",
    )
    report = _scan(tmp_path)
    assert {f.name: f.suppressed for f in report.findings} == {
        "a": "accepted until the 2026-09 migration",
        "b": "pinned for the eval suite",
    }


def test_fingerprints_survive_unrelated_lines_and_keep_deployments_apart(tmp_path: Path) -> None:
    body = "param version string = '2024-05-13'\n" + ACCOUNT + _deployment("chat", "chat", "version")
    body += _deployment("embed", "embed", "version")  # the same version line feeds both
    (tmp_path / "main.bicep").write_text(body, encoding="utf-8")
    first = {f.name: (f.fingerprint, f.line) for f in _scan(tmp_path).findings}
    (tmp_path / "main.bicep").write_text("// a comment\n\n// another\n" + body, encoding="utf-8")
    moved = {f.name: (f.fingerprint, f.line) for f in _scan(tmp_path).findings}
    assert {n: fp for n, (fp, _) in first.items()} == {n: fp for n, (fp, _) in moved.items()}
    assert {n: line + 3 for n, (_, line) in first.items()} == {n: line for n, (_, line) in moved.items()}
    assert first["chat"][0] != first["embed"][0]
    assert all("None" not in fp and fp for fp, _ in first.values())


def test_a_baseline_hides_what_it_holds_until_it_gets_worse(tmp_path: Path) -> None:
    old = _deployment("old", "old", "'0613'").replace("'gpt-4o'", "'gpt-35-turbo'")
    (tmp_path / "main.bicep").write_text(
        ACCOUNT + _deployment("chat", "chat", "'2024-05-13'") + old, encoding="utf-8"
    )
    report = _scan(tmp_path)
    statuses = {f.name: f.status for f in report.findings}
    assert statuses == {"chat": "retiring", "old": "retired"}
    document = gate.baseline_document(report.findings, [f.fingerprint for f in report.findings], tmp_path)
    baseline = gate.read_baseline(json.dumps(document), "b.json")
    again = _scan(tmp_path, baseline=baseline)
    assert again.findings == [] and again.baselined == 2
    assert "2 finding(s) held by the baseline are not reported" in again.notes
    # the same pin, worse: retiring -> retired (judged later) comes back
    later = scan_and_judge(
        [tmp_path], at=AS_OF.replace(year=2027), catalogs=catalog_index(), root=tmp_path, baseline=baseline
    )
    assert [f.name for f in later.findings] == ["chat"]


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("not json", "is not JSON"),
        ('{"findings": []}', "not a baseline written by --write-baseline"),
        ('{"format": "modelwatch-iac-baseline/1", "findings": [{"status": "retired"}]}', "entry 1"),
    ],
)
def test_a_bad_baseline_says_what_is_wrong(text: str, wrong: str) -> None:
    with pytest.raises(gate.BaselineError, match=wrong):
        gate.read_baseline(text, "b.json")

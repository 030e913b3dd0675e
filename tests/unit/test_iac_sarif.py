"""SARIF 2.1.0 that GitHub code scanning keeps apart, validated against the official schema (tests/data/sarif)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from shared.iac import confine
from shared.iac.formats import to_sarif
from shared.iac.pins import ScanWarning
from shared.iac.report import scan_and_judge
from tests.support.iac_fixtures import AS_OF, DATA, catalog_index

SCHEMA = json.loads((Path(__file__).parents[1] / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text())

TEMPLATE = """param version string = '2024-05-13'
param location string = 'eastus'
resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: 'oai'
  location: location
  kind: 'OpenAI'
  sku: { name: 'S0' }
}
module out '../outside.bicep' = {
  name: 'out'
}
"""


def _deployment(symbol: str, name: str, *, before: str = "") -> str:
    return f"""{before}resource {symbol} 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {{
  parent: account
  name: '{name}'
  sku: {{ name: 'GlobalStandard', capacity: 1 }}
  properties: {{ model: {{ format: 'OpenAI', name: 'gpt-4o', version: version }} }}
}}
"""


def _sarif(repo: Path, root: Path) -> dict[str, Any]:
    report = scan_and_judge([repo], at=AS_OF, catalogs=catalog_index(), root=root)
    return to_sarif(report.findings, report.warnings, root, version="9.9.9", category="infra")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "main.bicep").write_text(
        TEMPLATE
        + _deployment("chat", "chat")
        + _deployment("embed", "embed", before="// modelwatch:ignore retired with the v1 API move\n"),
        encoding="utf-8",
    )
    return folder


def test_the_document_is_valid_sarif_2_1_0(repo: Path) -> None:
    document = _sarif(repo, repo)
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    errors = sorted(jsonschema.Draft4Validator(SCHEMA).iter_errors(document), key=str)
    assert errors == []
    # the sample repository's document too (every status, notifications for unreadable files)
    report = scan_and_judge([DATA], at=AS_OF, catalogs=catalog_index(), root=DATA)
    assert not list(
        jsonschema.Draft4Validator(SCHEMA).iter_errors(
            to_sarif(report.findings, report.warnings, DATA, version="1")
        )
    )


def test_the_schema_catches_what_github_rejects(repo: Path) -> None:
    document = _sarif(repo, repo)
    document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    assert list(jsonschema.Draft4Validator(SCHEMA).iter_errors(document))  # the check can fail


def test_results_are_relative_to_srcroot_fingerprinted_and_named(repo: Path) -> None:
    (run,) = _sarif(repo, repo)["runs"]
    assert run["automationDetails"] == {"id": "modelwatch-iac/infra/"}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"
    pins = {
        r["properties"]["deployment"]: r for r in run["results"] if "deployment" in r.get("properties", {})
    }
    chat, embed = pins["chat"], pins["embed"]
    for result in (chat, embed):
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {"uri": "main.bicep", "uriBaseId": "%SRCROOT%"}
        assert location["region"]["startLine"] == 1  # the version is written on the parameter's line
        assert result["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "main.bicep"
    assert chat["message"]["text"].startswith("Deployment chat pins gpt-4o version 2024-05-13: ")
    # one parameter line feeds both: still two alerts, and no "None" anywhere in a fingerprint
    prints = [r["partialFingerprints"]["modelPin/v2"] for r in run["results"]]
    assert len(set(prints)) == len(prints) and not any("None" in p for p in prints)
    assert embed["suppressions"] == [{"kind": "inSource", "justification": "retired with the v1 API move"}]
    assert "suppressions" not in chat
    (refused,) = [r for r in run["results"] if r["ruleId"] == "outside-root"]
    rule = run["tool"]["driver"]["rules"][refused["ruleIndex"]]
    assert rule["name"] == "ReferenceOutsideRoot" and refused["level"] == "error"
    assert refused["locations"][0]["physicalLocation"]["region"] == {"startLine": 9}


def test_paths_outside_the_root_are_file_uris(repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with confine.confined([repo]):
        report = scan_and_judge([repo], at=AS_OF, catalogs=catalog_index(), root=elsewhere)
    warning = ScanWarning(tmp_path / "outside.bicep", None, "outside the scanned root: not read")
    (run,) = to_sarif(report.findings, [warning], elsewhere, version="1")["runs"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert (repo / "main.bicep").resolve().as_uri() in uris
    assert (tmp_path / "outside.bicep").as_uri() in uris
    assert not list(jsonschema.Draft4Validator(SCHEMA).iter_errors({"version": "2.1.0", "runs": [run]}))

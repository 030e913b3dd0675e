"""Table, JSON and SARIF 2.1.0 renderings of findings."""

from __future__ import annotations

from pathlib import Path

from shared.iac.formats import RULES, table, to_json, to_sarif
from shared.iac.report import scan_and_judge
from shared.iac.rules import WARNING_RULES
from tests.support.iac_fixtures import AS_OF, DATA, catalog_index

ROOT = DATA.parent.parent.parent


def _report():  # type: ignore[no-untyped-def]
    return scan_and_judge([DATA / "azd", DATA / "arm"], at=AS_OF, catalogs=catalog_index())


def test_json_has_the_documented_keys() -> None:
    report = _report()
    document = to_json(report.findings, report.warnings, ROOT)
    keys = {
        "file",
        "line",
        "name",
        "model",
        "version",
        "sku",
        "upgradeOption",
        "status",
        "retirementDate",
        "daysLeft",
        "liveVersion",
        "recommended",
        "detail",
    }
    chat = next(f for f in document["findings"] if f["name"] == "chat")
    assert keys <= set(chat)
    assert chat["file"] == "tests/data/iac/azd/infra/main.parameters.json" and chat["line"] == 24
    assert (chat["status"], chat["retirementDate"], chat["daysLeft"]) == ("retiring", "2026-03-31", 75)
    assert chat["recommended"] == {"model": "gpt-4.1", "version": "2025-04-14", "upgradeOption": None}
    assert chat["resource"] == {
        "file": "tests/data/iac/azd/infra/core/ai/cognitiveservices.bicep",
        "line": 29,
    }


def test_sarif_structure() -> None:
    report = _report()
    sarif = to_sarif(report.findings, report.warnings, ROOT, version="0.1.0")
    assert sarif["version"] == "2.1.0" and sarif["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "modelwatch"
    assert [r["id"] for r in driver["rules"]] == [*RULES, *WARNING_RULES] and "ok" not in RULES
    for rule in driver["rules"]:
        assert {"id", "shortDescription", "fullDescription", "defaultConfiguration"} <= set(rule)
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    results = run["results"]
    assert len(results) == sum(f.status != "ok" for f in report.findings) > 0
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert not physical["artifactLocation"]["uri"].startswith("/")  # relative to the scan root
        assert isinstance(physical["region"]["startLine"], int) and physical["region"]["startLine"] >= 1
    not_offered = next(r for r in results if r["ruleId"] == "not-offered")
    assert not_offered["level"] == "error"


def test_table_lists_worst_first_with_details(tmp_path: Path) -> None:
    report = _report()
    text = table(report.findings, report.warnings, ROOT)
    rows = [line.split()[0] for line in text.splitlines()[1:4]]
    assert rows[0] in ("retired", "not-offered")
    assert "tests/data/iac/azd/infra/main.parameters.json:24 chat:" in text
    assert "environment variable AZURE_OPENAI_CHATGPT_MODEL_VERSION may override it" in text
    assert table([], [], tmp_path) == "No Azure OpenAI deployments found.\n"

"""`python -m shared iac scan|fix` end to end: formats, --fail-on exit codes, drift from a SQLite inventory."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared.adapters.sqlite.deployments import SqliteDeploymentStore
from shared.cli.main import main
from tests.builders import account_id, deployment
from tests.support.iac_fixtures import AS_OF, DATA, copy_fixture, write_catalog

ROOT = Path(__file__).resolve().parents[2]
AT = AS_OF.strftime("%Y-%m-%dT%H:%M:%SZ")
ACCOUNT = account_id("oai-contoso-chat", "00000000-0000-0000-0000-0000000000c1")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder with no settings: no state store unless a test makes one."""
    for name in (
        "STATE_STORE",
        "AzureWebJobsStorage",
        "WATCH_SUBSCRIPTION_ID",
        "WATCH_LOCATIONS",
        "WATCH_ACCOUNTS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_scan_table_against_a_catalog_file(workdir: Path) -> None:
    catalog = write_catalog(workdir / "catalog.json")
    code, text = run("iac", "scan", str(DATA), "--catalog-file", str(catalog), "--root", str(ROOT))
    assert code == 0, text
    assert "Model pins as of 2026-01-15 00:00 UTC, against catalog file catalog.json" in text
    assert "note: no state store: drift against live deployments not checked" in text
    rows = {
        line.split()[1]: line.split()
        for line in text.splitlines()
        if line.startswith(("retir", "not-", "ok "))
    }
    assert rows["tests/data/iac/azd/infra/main.parameters.json:24"][0] == "retiring"
    assert rows["tests/data/iac/arm/azuredeploy.json:21"][0] == "not-offered"
    assert "warning:" not in text and text.rstrip().endswith("; 0 warning(s)")


def test_json_and_sarif_on_stdout(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = write_catalog(workdir / "catalog.json")
    code, text = run(
        "iac",
        "scan",
        str(DATA / "azd"),
        "--catalog-file",
        str(catalog),
        "--format",
        "json",
        "--root",
        str(ROOT),
    )
    assert code == 0
    document = json.loads(text)  # nothing but the document on stdout
    chat = next(f for f in document["findings"] if f["name"] == "chat")
    assert chat["version"] == "2024-05-13" and chat["recommended"]["model"] == "gpt-4.1"
    assert document["asOf"] == AT and "Model pins as of" in capsys.readouterr().err
    code, text = run(
        "iac",
        "scan",
        str(DATA / "arm"),
        "--catalog-file",
        str(catalog),
        "--format",
        "sarif",
        "--output",
        str(workdir / "pins.sarif"),
        "--root",
        str(ROOT),
    )
    assert code == 0 and "wrote" in text
    sarif = json.loads((workdir / "pins.sarif").read_text())
    (result,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "not-offered"]
    physical = result["locations"][0]["physicalLocation"]
    assert physical == {
        "artifactLocation": {"uri": "tests/data/iac/arm/azuredeploy.json", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 21},
    }


def test_fail_on_gates_the_build(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = str(write_catalog(workdir / "catalog.json"))
    azd = str(DATA / "azd")
    assert run("iac", "scan", azd, "--catalog-file", catalog, "--fail-on", "retired")[0] == 0
    assert (
        run("iac", "scan", azd, "--catalog-file", catalog, "--fail-on", "retiring", "--within", "74")[0] == 0
    )
    assert (
        run("iac", "scan", azd, "--catalog-file", catalog, "--fail-on", "retiring", "--within", "75")[0] == 1
    )
    assert "1 finding(s) match --fail-on retiring within 75 days" in capsys.readouterr().err
    arm = str(DATA / "arm")
    assert run("iac", "scan", arm, "--catalog-file", catalog, "--fail-on", "drift,not-offered")[0] == 1
    assert (
        run("iac", "scan", arm, "--catalog-file", catalog, "--fail-on", "drift", "--fail-on", "retired")[0]
        == 0
    )
    # after its date the pin is retired: the same gate fails
    later = ("--at", "2026-04-01T00:00:00Z")
    assert run("iac", "scan", azd, "--catalog-file", catalog, *later, "--fail-on", "retired")[0] == 1
    assert run("iac", "scan", azd, "--fail-on", "expired")[0] == 2
    assert run("iac", "scan", azd, "--within", "30")[0] == 2
    assert run("iac", "scan", azd, "--catalog-file", str(workdir / "missing.json"))[0] == 2
    assert run("iac", "scan")[0] == 2


def test_drift_from_the_inventory_in_sqlite(workdir: Path) -> None:
    catalog = write_catalog(workdir / "catalog.json")
    state = workdir / "state.db"
    # the catalog snapshot as the watcher commits it, and the inventory Azure moved forward
    code, text = run(
        "check",
        "--catalog-file",
        str(catalog),
        "--state",
        f"sqlite:///{state}",
        "--locations",
        "eastus,swedencentral",
        "--at",
        AT,
    )
    assert code == 0, text
    store = SqliteDeploymentStore(str(state))
    store.save_deployments(
        [
            deployment("chat", account=ACCOUNT),
        ]
    )
    store.close()
    azd = copy_fixture("azd", workdir)
    code, text = run(
        "iac",
        "scan",
        str(azd),
        "--state",
        f"sqlite:///{state}",
        "--format",
        "json",
        "--fail-on",
        "drift",
        "--at",
        AT,
    )
    assert code == 1
    document = json.loads(text)
    assert document["catalog"].startswith("the state store (sqlite:///")
    chat = next(f for f in document["findings"] if f["name"] == "chat")
    assert (chat["status"], chat["liveVersion"]) == ("drift", "2024-08-06")
    assert "the next deployment would move it back to 2024-05-13" in chat["detail"]
    assert chat["recommended"] == {
        "model": "gpt-4o",
        "version": "2024-08-06",
        "upgradeOption": "OnceNewDefaultVersionAvailable",
    }
    embedding = next(f for f in document["findings"] if f["name"] == "embedding")
    assert embedding["status"] == "ok"
    assert any("no live deployment oai-contoso-chat/embedding" in n for n in embedding["notes"])

    # fix pins what runs; --dry-run first writes nothing
    before = (azd / "infra" / "main.parameters.json").read_text()
    code, diff = run(
        "iac",
        "fix",
        str(azd),
        "--state",
        f"sqlite:///{state}",
        "--dry-run",
        "--at",
        AT,
        "--root",
        str(workdir),
    )
    assert code == 0 and (azd / "infra" / "main.parameters.json").read_text() == before
    assert '+      "value": "${AZURE_OPENAI_CHATGPT_MODEL_VERSION=2024-08-06}"' in diff
    assert "would change 1 file(s), 1 value(s)" in diff
    assert run("iac", "fix", str(azd), "--state", f"sqlite:///{state}", "--at", AT)[0] == 0
    code, text = run(
        "iac", "scan", str(azd), "--state", f"sqlite:///{state}", "--fail-on", "drift", "--at", AT
    )
    assert code == 0, text


def test_fix_then_scan_reports_ok(workdir: Path) -> None:
    catalog = str(write_catalog(workdir / "catalog.json"))
    azd = copy_fixture("azd", workdir)
    code, diff = run("iac", "fix", str(azd), "--catalog-file", catalog, "--root", str(workdir))
    assert code == 0
    assert "--- a/azd/infra/main.bicep" in diff and "+param chatGptModelName string = 'gpt-4.1'" in diff
    # gpt-4o -> gpt-4.1 is another model: a new deployment, under a new name, beside the old one
    assert "${AZURE_OPENAI_CHATGPT_DEPLOYMENT=chat-gpt-4.1}" in diff and "# deployment " in diff
    code, text = run("iac", "scan", str(azd), "--catalog-file", catalog, "--format", "json")
    statuses = {f["name"]: f["status"] for f in json.loads(text)["findings"]}
    assert statuses == {"chat-gpt-4.1": "ok", "embedding": "ok"}
    code, again = run("iac", "fix", str(azd), "--catalog-file", catalog)
    assert code == 0 and again.rstrip().endswith("nothing to change")
    # a Terraform deployment named by its map key cannot be renamed by the fix: refused, with the reason
    terraform = copy_fixture("terraform", workdir)
    code, refused = run("iac", "fix", str(terraform), "--catalog-file", catalog)
    assert code == 0 and "skipped: deployment oai-contoso-prod/chat (main.tf:10): not changed" in refused
    assert "CannotChangeDeploymentModel" in refused


def test_bundled_sample_catalog_is_the_default_and_says_so(workdir: Path) -> None:
    code, text = run("iac", "scan", str(DATA / "azd"))
    assert code == 0
    assert (
        "note: judged against the bundled sample catalog (catalog-2025-03-12.json), as of 2025-03-12" in text
    )


def test_the_function_app_and_the_cli_parser_do_not_load_the_parsers() -> None:
    code = (
        "import sys, function_app; from shared.cli.parser import build_parser; build_parser(); "
        "loaded = [m for m in ('shared.iac.bicep', 'shared.iac.terraform', 'tree_sitter', 'hcl2', 'lark') "
        "if m in sys.modules]; print(','.join(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_the_demo_scans_the_bundled_sample_repository(workdir: Path) -> None:
    from shared.iac import SAMPLE_REPO, scan_sample

    out = io.StringIO()
    report = scan_sample(out)
    assert {f.pin.kind for f in report.findings} == {"bicep", "terraform", "arm"}
    assert report.warnings == ()
    statuses = {(f.pin.kind, f.name): f.status for f in report.findings}
    assert statuses[("terraform", "chat")] == "retired"  # gpt-35-turbo 0613, retired 2025-02-13
    assert statuses[("bicep", "chat")] == "retiring"
    text = out.getvalue()
    assert "infra/main.parameters.json:24" in text and "terraform/terraform.tfvars:6" in text
    # the CLI on the same folder agrees
    code, cli = run("iac", "scan", str(SAMPLE_REPO), "--root", str(SAMPLE_REPO))
    assert code == 0 and "1 retired, 7 retiring" in cli


def test_a_deployment_off_by_default_fails_the_gate_only_with_include_disabled(workdir: Path) -> None:
    catalog = str(write_catalog(workdir / "catalog.json"))
    (workdir / "main.bicep").write_text(
        "param useLegacy bool = false\n"
        "resource legacy 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = if (useLegacy) {\n"
        "  name: 'oai/legacy'\n"
        "  properties: { model: { format: 'OpenAI', name: 'gpt-35-turbo', version: '0613' } }\n"
        "}\n"
    )
    scan = ("iac", "scan", str(workdir / "main.bicep"), "--catalog-file", catalog, "--fail-on", "retired")
    code, text = run(*scan)
    assert code == 0 and "not deployed by default: if (useLegacy) is false" in text
    assert run(*scan, "--include-disabled")[0] == 1

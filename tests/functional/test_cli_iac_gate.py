"""A gate never passes blind (issue #22): `iac scan` and `plan` exit 2 when they would judge nothing or judge
against the bundled sample; suppressions and baselines as Checkov/tfsec users expect them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from shared.cli.main import main
from tests.support.iac_fixtures import DATA, catalog_document, write_catalog

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("STATE_STORE", "AzureWebJobsStorage", "WATCH_SUBSCRIPTION_ID", "WATCH_LOCATIONS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    captured = capsys.readouterr()
    return code, out.getvalue() + captured.out, captured.err


def test_a_path_that_does_not_exist_is_a_usage_error(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = write_catalog(workdir / "catalog.json")
    code, _, err = run(
        capsys, "iac", "scan", "nonexistent", "--catalog-file", str(catalog), "--fail-on", "retired"
    )
    assert code == 2 and "nonexistent: no such file or directory" in err


def test_fail_on_against_the_bundled_sample_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "iac", "scan", str(DATA / "arm"), "--fail-on", "retired")
    assert code == 2 and "Model pins" not in out
    assert "bundled sample catalog" in err and "--catalog-file" in err and "--state" in err
    code, out, _ = run(
        capsys, "iac", "scan", str(DATA / "arm"), "--fail-on", "retired", "--allow-sample-catalog"
    )
    assert code in (0, 1) and "judged against the bundled sample catalog" in out
    code, _, _ = run(capsys, "iac", "scan", str(DATA / "arm"))  # no gate: the sample is fine for a look
    assert code == 0


def test_paths_outside_an_explicit_root_are_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "repo").mkdir()
    catalog = write_catalog(workdir / "catalog.json")
    code, _, err = run(capsys, "iac", "scan", str(DATA), "--root", "repo", "--catalog-file", str(catalog))
    assert code == 2 and "outside --root repo" in err


def test_a_catalog_file_holding_one_page_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = catalog_document()
    document["locations"]["eastus"]["nextLink"] = "https://management.azure.com/next?page=2"
    (workdir / "catalog.json").write_text(json.dumps(document), encoding="utf-8")
    code, _, err = run(capsys, "iac", "scan", str(DATA / "arm"), "--catalog-file", "catalog.json")
    assert code == 2 and "location eastus: one page of a paged response" in err


def test_suppressions_show_and_do_not_gate(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = write_catalog(workdir / "catalog.json")
    infra = workdir / "infra"
    infra.mkdir()
    (infra / "main.tf").write_text(
        """resource "azurerm_cognitive_deployment" "legacy" {
  name                 = "legacy"
  cognitive_account_id = "acct"
  model {
    format  = "OpenAI"
    name    = "gpt-35-turbo"
    version = "0613" # modelwatch:ignore the account is deleted in sprint 12
  }
  sku { name = "Standard" }
}
""",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "iac", "scan", "infra", "--catalog-file", str(catalog), "--fail-on", "retired")
    assert code == 0
    assert (
        "suppressed (1):\n  infra/main.tf:7 legacy gpt-35-turbo 0613 retired: the account is deleted in sprint 12"
        in out
    )
    code, out, _ = run(capsys, "iac", "fix", "infra", "--catalog-file", str(catalog), "--dry-run")
    assert code == 0 and "nothing to change" in out  # a suppressed pin is left as it is
    (infra / "main.tf").write_text(
        (infra / "main.tf").read_text().replace(" the account is deleted in sprint 12", ""), encoding="utf-8"
    )
    code, out, _ = run(capsys, "iac", "scan", "infra", "--catalog-file", str(catalog), "--fail-on", "retired")
    assert code == 1 and "warning[suppression-without-reason]: infra/main.tf:7" in out


def test_a_baseline_reports_only_new_findings(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = write_catalog(workdir / "catalog.json")
    repo = workdir / "repo"
    (repo / "infra").mkdir(parents=True)
    template = (DATA / "arm" / "azuredeploy.json").read_text()
    (repo / "infra" / "azuredeploy.json").write_text(template, encoding="utf-8")
    args = ("iac", "scan", "repo", "--catalog-file", str(catalog))
    code, _, _ = run(capsys, *args, "--fail-on", "retiring,not-offered")
    assert code == 1
    code, out, _ = run(capsys, *args, "--write-baseline", "baseline.json")
    written = json.loads((workdir / "baseline.json").read_text())
    assert (
        code == 0
        and written["findings"]
        and f"wrote baseline.json ({len(written['findings'])} finding(s)" in out
    )
    code, out, _ = run(capsys, *args, "--baseline", "baseline.json", "--fail-on", "retiring,not-offered")
    assert code == 0 and "held by the baseline are not reported" in out
    # a new deployment, copied from an existing one under another name, is reported
    (repo / "infra" / "second.json").write_text(template.replace("gpt4", "gpt4-second"), encoding="utf-8")
    code, out, _ = run(capsys, *args, "--baseline", "baseline.json", "--fail-on", "retiring,not-offered")
    assert code == 1 and "second.json" in out, out
    (workdir / "bad.json").write_text("{}", encoding="utf-8")
    code, _, err = run(capsys, *args, "--baseline", "bad.json")
    assert code == 2 and "not a baseline written by --write-baseline" in err


def test_plan_fail_on_with_no_inventory_is_a_usage_error(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "plan", "--fail-on", "broken")
    assert code == 2 and "no deployments in this state's inventory to judge" in err
    assert not (workdir / ".modelwatch").exists()  # a missing default state is not created
    code, _, _ = run(capsys, "plan")  # without a gate an empty plan is not an error
    assert code == 0


def test_a_refused_reference_fails_the_unknown_gate_only(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = write_catalog(workdir / "catalog.json")
    (workdir / "repo").mkdir()
    (workdir / "repo" / "main.bicep").write_text(
        "module shared '../shared/openai.bicep' = {\n  name: 'x'\n}\n"
    )
    args = ("iac", "scan", "repo", "--root", "repo", "--catalog-file", str(catalog))
    code, out, _ = run(capsys, *args, "--fail-on", "retired,not-offered")
    assert code == 0 and "warning[outside-root]: main.bicep:1: module shared '../shared/openai.bicep'" in out
    code, _, err = run(capsys, *args, "--fail-on", "unknown")
    assert code == 1 and "(and 1 refused or unevaluated file(s))" in err

"""docs/model-pins.yml, the example workflow: it reads every page of the live catalog (ARM Models - List is paged,
https://learn.microsoft.com/rest/api/aiservices/accountmanagement/models/list), and no Azure credential is present where the pull request's files are read. The catalog
step's script is run under bash with a fake `az` serving two pages (and the real `jq`, as on GitHub's runners)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from shared.iac.inputs import file_catalogs
from tests.builders import item

WORKFLOW = Path(__file__).resolve().parents[2] / "docs" / "model-pins.yml"
FAKE_AZ = """#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in --url) url="$2"; shift ;; esac
  shift
done
echo "$url" >> "$FAKE_DIR/calls"
case "$url" in
  *page=2*) cat "$FAKE_DIR/eastus-2.json" ;;
  */locations/eastus/models\\?api-version=2025-09-01) cat "$FAKE_DIR/eastus-1.json" ;;
  */locations/swedencentral/models\\?api-version=2025-09-01) cat "$FAKE_DIR/sweden.json" ;;
  *) echo "unexpected url $url" >&2; exit 1 ;;
esac
"""


def _workflow() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return document


def _step(job: dict[str, Any], needle: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if needle in str(s.get("name", "")) + str(s.get("run", "")))


def test_the_catalog_step_reads_every_page(tmp_path: Path) -> None:
    catalog_job = _workflow()["jobs"]["catalog"]
    script = _step(catalog_job, "az rest")["run"]
    assert "${{" not in script  # values reach the script through env, never spliced into its text
    (tmp_path / "bin").mkdir()
    az = tmp_path / "bin" / "az"
    az.write_text(FAKE_AZ, encoding="utf-8")
    az.chmod(0o755)
    base = "https://management.azure.com/subscriptions/sub/providers/Microsoft.CognitiveServices/locations"
    pages = {
        "eastus-1.json": {
            "value": [item("gpt-4o", "2024-08-06", default=True)],
            "nextLink": f"{base}/eastus/models?api-version=2025-09-01&page=2",
        },
        "eastus-2.json": {"value": [item("gpt-4.1", "2025-04-14", default=True)], "nextLink": None},
        "sweden.json": {"value": [item("gpt-4o", "2024-08-06", default=True)]},
    }
    for name, page in pages.items():
        (tmp_path / name).write_text(json.dumps(page), encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if k in ("HOME", "LANG")},
        "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin",
        "FAKE_DIR": str(tmp_path),
        "REGIONS": "eastus swedencentral",
        "SUBSCRIPTION": "sub",
    }
    work = tmp_path / "work"
    work.mkdir()
    subprocess.run(["bash", "-c", script], cwd=work, env=env, check=True, capture_output=True, timeout=60)

    calls = (tmp_path / "calls").read_text().split()
    assert calls == [
        f"{base}/eastus/models?api-version=2025-09-01",
        f"{base}/eastus/models?api-version=2025-09-01&page=2",
        f"{base}/swedencentral/models?api-version=2025-09-01",
    ]
    catalog = json.loads((work / "catalog.json").read_text())
    assert [m["model"]["name"] for m in catalog["locations"]["eastus"]["value"]] == ["gpt-4o", "gpt-4.1"]
    index, _ = file_catalogs(work / "catalog.json")  # what the scan job reads: whole, no nextLink left
    assert {k.version for k in index.regions["eastus"]} == {"2024-08-06", "2025-04-14"}


def test_no_credential_where_the_pull_request_is_read_and_the_gate_needs_the_live_catalog() -> None:
    workflow = _workflow()
    assert workflow["permissions"] == {"contents": "read"}
    catalog, scan = workflow["jobs"]["catalog"], workflow["jobs"]["scan"]
    assert not any("checkout" in str(s.get("uses", "")) for s in catalog["steps"])
    assert "id-token" not in scan["permissions"] and scan["needs"] == "catalog"
    assert not any("azure/login" in str(s.get("uses", "")) for s in scan["steps"])
    gate = _step(scan, "--fail-on")["run"]
    assert "--catalog-file" in gate and "--allow-sample-catalog" not in gate
    sarif = _step(scan, "-o sarif")["run"]
    assert "--catalog-file" in sarif

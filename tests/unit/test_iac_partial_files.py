"""Partial and garbled templates never crash a scan: every file cut short at many points, and byte noise."""

from __future__ import annotations

import shutil
from pathlib import Path

from shared.iac.scan import scan
from tests.support.iac_fixtures import DATA

FILES = [
    "azd/infra/main.bicep",
    "azd/infra/core/ai/cognitiveservices.bicep",
    "azd/infra/main.parameters.json",
    "bicepparam/main.bicepparam",
    "terraform/terraform.tfvars",
    "terraform/modules/openai/main.tf",
    "arm/azuredeploy.json",
]


def test_every_fixture_cut_short_scans_without_raising(tmp_path: Path) -> None:
    for relative in FILES:
        kind = relative.split("/")[0]
        original = (DATA / relative).read_text(encoding="utf-8")
        for cut in range(0, len(original), max(1, len(original) // 25)):
            shutil.rmtree(tmp_path / kind, ignore_errors=True)
            shutil.copytree(DATA / kind, tmp_path / kind)
            (tmp_path / relative).write_text(original[:cut], encoding="utf-8")
            result = scan([tmp_path / kind])  # must not raise
            for warning in result.warnings:
                assert warning.file.exists() and warning.message


def test_noise_and_odd_files(tmp_path: Path) -> None:
    (tmp_path / "noise.bicep").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "noise.tf").write_bytes(b"\x00\xff" * 100)
    (tmp_path / "azuredeploy.json").write_text(
        '{"$schema": "deploymentTemplate.json", "resources": [1, "x", null, {"type": 5}]}'
    )
    (tmp_path / "deep.bicep").write_text("var x = " + "[" * 3000 + "]" * 3000 + "\n")
    (tmp_path / "empty.tf").write_text("")
    result = scan([tmp_path, tmp_path / "missing"])
    assert result.pins == ()
    messages = {f"{w.file.name}: {w.message}" for w in result.warnings}
    assert "noise.bicep: not UTF-8 text (byte 128)" in messages
    assert "missing: no such file or directory" in messages

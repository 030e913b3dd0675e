"""Confinement (shared/iac/confine.py): reads and writes stay under the roots, regular files only, bounded sizes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shared.iac import confine
from shared.iac import values as ops
from shared.iac.formats import printable
from shared.iac.pins import Arr, Lit, Pin, ScanWarning, Unknown
from shared.iac.scan import scan
from shared.iac.source import SourceError, SourceText
from shared.iac.treesitter import parse


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.json").write_text('{"token": "s3cret"}', encoding="utf-8")
    (root / "ok.json").write_text("{}", encoding="utf-8")
    return root, outside


def test_a_symlink_out_of_the_root_is_refused_and_one_inside_is_read(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    (root / "out.json").symlink_to(outside / "secret.json")
    (root / "alias.json").symlink_to(root / "ok.json")
    with confine.confined([root]):
        with pytest.raises(SourceError, match="outside the scanned root"):
            SourceText.read(root / "out.json")
        with pytest.raises(SourceError, match="outside the scanned root"):
            SourceText.read(root / ".." / "outside" / "secret.json")
        assert SourceText.read(root / "alias.json").text == "{}"
    assert SourceText.read(root / "out.json").text == '{"token": "s3cret"}'  # no roots: only kind and size


def test_non_regular_files_are_never_read(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    os.mkfifo(root / "pipe.json")  # a blocking read would wait forever for a writer
    for path in (root / "pipe.json", Path("/dev/zero"), root):
        with pytest.raises(confine.RefusedError, match="not a regular file"):
            confine.read_bytes(path)


def test_files_are_read_up_to_the_limit(tree: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    root, _ = tree
    monkeypatch.setattr(confine, "MAX_FILE_BYTES", 10)
    (root / "ten.json").write_bytes(b"[" + b"1," * 3 + b"11]")
    (root / "eleven.json").write_bytes(b"[" + b"1," * 4 + b"1]")
    assert len(confine.read_bytes(root / "ten.json")) == 10
    with pytest.raises(confine.RefusedError, match="too large to evaluate"):
        confine.read_bytes(root / "eleven.json")
    assert confine.MAX_FILE_BYTES == 10 and scan([root]).warnings[0].rule == "too-large"


def test_writes_go_through_a_temporary_file_and_never_through_a_link(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    target = root / "ok.json"
    target.chmod(0o640)
    inode = target.stat().st_ino
    (root / "link.json").symlink_to(outside / "secret.json")
    with confine.confined([root]):
        confine.write_bytes(target, b'{"a": 1}')
        with pytest.raises(confine.RefusedError, match="symbolic link"):
            confine.write_bytes(root / "link.json", b"{}")
        with pytest.raises(confine.RefusedError, match="outside the scanned root"):
            confine.write_bytes(outside / "secret.json", b"{}")
    assert target.read_bytes() == b'{"a": 1}' and target.stat().st_ino != inode  # replaced, not rewritten
    assert oct(target.stat().st_mode & 0o777) == oct(0o640)
    assert (outside / "secret.json").read_text() == '{"token": "s3cret"}'
    assert sorted(p.name for p in root.iterdir()) == ["link.json", "ok.json"]  # no temporary file left


def test_references_out_of_the_root_are_refusals(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    with confine.confined([root]):
        assert confine.refusal("module m '../x.bicep'", root / "a" / ".." / "ok.json") is None
        assert "outside the scanned root" in str(confine.refusal("m", root / ".." / "outside" / "x.bicep"))
        assert "outside the scanned root" in str(confine.refusal("loadJsonContent", Path("/etc/passwd")))
    assert confine.refusal("m", outside / "secret.json") is None  # outside a scan, nothing is confined


def test_values_and_loops_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    small = Arr((Lit("x"),) * 10)
    assert confine.bounded(small, "v") is small
    monkeypatch.setattr(confine, "MAX_VALUE_ITEMS", 100)
    big = Arr((small,) * 10)  # 111 items, 100 characters
    assert isinstance(confine.bounded(big, "v"), Unknown)
    assert "too large to evaluate" in confine.bounded(Lit("y" * (confine.MAX_VALUE_CHARS + 1)), "v").reason  # type: ignore[union-attr]
    assert confine.bounded_loop(Lit(800), "count") == Lit(800)
    loop = confine.bounded_loop(Lit(801), "count")
    assert isinstance(loop, Unknown) and "ARM allows 800" in loop.reason


def test_a_tree_nested_too_deep_is_refused_before_evaluation() -> None:
    assert parse("json", b'{"a":' * 100 + b"1" + b"}" * 100) is not None
    with pytest.raises(SourceError, match="too large to evaluate"):
        parse("json", b'{"a":' * 300 + b"1" + b"}" * 300)


def test_an_adapter_that_recurses_too_deep_loses_only_the_file_at_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.iac import arm

    for name in ("bad.json", "good.json"):
        (tmp_path / name).write_text("{}", encoding="utf-8")

    def scan_arm(paths: list[Path]) -> tuple[list[Pin], list[ScanWarning], set[Path]]:
        if any(p.name == "bad.json" for p in paths):
            raise RecursionError
        return [], [], set(paths)

    monkeypatch.setattr(arm, "scan_arm", scan_arm)
    result = scan([tmp_path])
    assert [(w.file.name, w.rule) for w in result.warnings] == [("bad.json", "too-large")]
    assert [p.name for p in result.files] == ["good.json"]


def test_control_characters_are_shown_escaped() -> None:
    assert printable("a\x1b[2J\x07\x85\u202eb\tc\nd") == "a\\x1b[2J\\x07\\x85\\u202eb\tc\\nd"
    assert printable("-x\r\n+y\x1b\n", keep_newlines=True) == "-x\r\n+y\\x1b\n"


def _doubling(language: str, kind: str) -> tuple[str, str]:
    """A 34-step doubling chain (text, or a list) whose last value gives a deployment's version: 2**34 characters
    or items if evaluated."""
    if language == "bicep":
        first, step, use = (
            ("'xx'", "'${{a{p}}}${{a{p}}}'", "a33")
            if kind == "text"
            else ("['x']", "concat(a{p}, a{p})", "a33[0]")
        )
        chain = "\n".join(
            [f"var a0 = {first}", *(f"var a{i} = {step.format(p=i - 1)}" for i in range(1, 34))]
        )
        return "main.bicep", (
            f"{chain}\nresource d 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {{\n"
            f"  name: 'd'\n  properties: {{ model: {{ format: 'OpenAI', name: 'gpt-4o', version: {use} }} }}\n}}\n"
        )
    if language == "terraform":
        first, step, use = (
            ('"xx"', '"${{local.a{p}}}${{local.a{p}}}"', "local.a33")
            if kind == "text"
            else ('["x"]', "concat(local.a{p}, local.a{p})", "local.a33[0]")
        )
        chain = "\n".join([f"  a0 = {first}", *(f"  a{i} = {step.format(p=i - 1)}" for i in range(1, 34))])
        return "main.tf", (
            f"locals {{\n{chain}\n}}\n"
            'resource "azurerm_cognitive_deployment" "d" {\n  name = "d"\n  cognitive_account_id = "a"\n'
            f'  model {{\n    format = "OpenAI"\n    name = "gpt-4o"\n    version = {use}\n  }}\n'
            '  sku { name = "Standard" }\n}\n'
        )
    variables = {
        "a0": "xx",
        **{f"a{i}": f"[concat(variables('a{i - 1}'), variables('a{i - 1}'))]" for i in range(1, 34)},
    }
    return "azuredeploy.json", json.dumps(
        {
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0",
            "variables": variables,
            "resources": [
                {
                    "type": "Microsoft.CognitiveServices/accounts/deployments",
                    "apiVersion": "2024-10-01",
                    "name": "oai/d",
                    "properties": {
                        "model": {"format": "OpenAI", "name": "gpt-4o", "version": "[variables('a33')]"}
                    },
                }
            ],
        }
    )


@pytest.mark.parametrize(
    ("language", "kind"),
    [("bicep", "text"), ("bicep", "list"), ("terraform", "text"), ("terraform", "list"), ("arm", "text")],
)
def test_a_doubling_chain_is_too_large_to_evaluate(tmp_path: Path, language: str, kind: str) -> None:
    name, text = _doubling(language, kind)
    (tmp_path / name).write_text(text, encoding="utf-8")
    (pin,) = scan([tmp_path]).pins
    assert isinstance(pin.model_version, Unknown) and "too large to evaluate" in pin.model_version.reason


def test_one_expression_cannot_build_text_past_the_limit() -> None:
    big = Lit("x" * confine.MAX_VALUE_CHARS)
    result = ops.concat_text([big, big, big], "'${a}${a}${a}'")
    assert isinstance(result, Unknown) and "too large to evaluate" in result.reason
    assert ops.concat_text([Lit("a"), Lit("b")], "e") == Lit("ab")


def test_an_arm_copy_loop_past_800_is_not_expanded(tmp_path: Path) -> None:
    resource = {
        "type": "Microsoft.CognitiveServices/accounts/deployments",
        "apiVersion": "2024-10-01",
        "name": "[concat('oai/d', copyIndex())]",
        "copy": {"name": "many", "count": 1000000000},
        "properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-05-13"}},
    }
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [resource],
    }
    (tmp_path / "azuredeploy.json").write_text(json.dumps(template), encoding="utf-8")
    (pin,) = scan([tmp_path]).pins
    assert isinstance(pin.name, Unknown)

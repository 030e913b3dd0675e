"""A hostile repository (issue #22, security review): `iac scan` and `iac fix` read and write nothing outside the
scanned root, finish, and say what they refused.

The repository is built in tmp_path: symlinks out (a file, a folder, a parameter file, /dev/zero), a FIFO,
`module '../../…'`, absolute and escaping `loadJsonContent`, Terraform `source = "../.."`, an ARM `templateLink`
leading out, deeply nested JSON, a 34-line doubling `var` chain, a billion-instance `count`, and control
characters in names. Outside it sits a folder holding a secret-looking token in every file a scanner following
those references would read; the test checks that no output holds the token and that nothing outside changed.
"""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest

from shared.cli.main import main
from tests.support.iac_fixtures import write_catalog

TOKEN = "ghp_iacsafeOUTSIDEtoken0123456789abcdefXYZ"  # what a file outside the repository must never leak
DEPLOYMENT = "Microsoft.CognitiveServices/accounts/deployments@2024-10-01"


def _bicep_deployment(symbol: str, name: str, version: str) -> str:
    return f"""resource {symbol} '{DEPLOYMENT}' = {{
  name: '{name}'
  sku: {{ name: 'GlobalStandard', capacity: 1 }}
  properties: {{
    model: {{ format: 'OpenAI', name: 'gpt-4o', version: {version} }}
  }}
}}
"""


def _outside(base: Path) -> Path:
    """Files a scanner must not read, each holding the token where a version or value would be taken from."""
    out = base / "outside"
    (out / "tf").mkdir(parents=True)
    (out / "module.bicep").write_text(_bicep_deployment("leak", "leak", f"'{TOKEN}'"), encoding="utf-8")
    (out / "secret.json").write_text(json.dumps({"version": TOKEN, "token": TOKEN}), encoding="utf-8")
    (out / "target.bicep").write_text(_bicep_deployment("linked", "linked", "'2024-05-13'"), encoding="utf-8")
    (out / "main.parameters.json").write_text(
        json.dumps({"parameters": {"version": {"value": TOKEN}}}), encoding="utf-8"
    )
    (out / "secret.auto.tfvars").write_text(f'model_version = "{TOKEN}"\n', encoding="utf-8")
    (out / "tf" / "main.tf").write_text(
        f"""resource "azurerm_cognitive_deployment" "leak" {{
  name                 = "leak"
  cognitive_account_id = "acct"
  model {{
    format  = "OpenAI"
    name    = "gpt-4o"
    version = "{TOKEN}"
  }}
  sku {{ name = "Standard" }}
}}
""",
        encoding="utf-8",
    )
    (out / "linked.json").write_text(json.dumps({"token": TOKEN}), encoding="utf-8")
    return out


def _repository(base: Path, outside: Path) -> Path:
    repo = base / "repo"
    infra, tf, arm = repo / "infra", repo / "tf", repo / "arm"
    for folder in (infra, tf, arm):
        folder.mkdir(parents=True)
    doubling = "\n".join(
        ["var a0 = 'xx'", *(f"var a{i} = '${{a{i - 1}}}${{a{i - 1}}}'" for i in range(1, 34))]
    )
    shown = _bicep_deployment("shown", "evil\x1b[2J\x1b]0;owned\x07\u202e", "'2024-05-13'")
    (infra / "main.bicep").write_text(
        f"""param version string = '2024-05-13'
module out '../../outside/module.bicep' = {{
  name: 'out'
}}
var absolute = loadJsonContent('{outside / "secret.json"}')
var escaping = loadJsonContent('../../outside/secret.json')
{doubling}
{_bicep_deployment("chat", "chat", "version")}
{_bicep_deployment("fromAbsolute", "from-absolute", "absolute.version")}
{_bicep_deployment("fromEscaping", "from-escaping", "escaping.version")}
{_bicep_deployment("doubled", "doubled", "a33")}
{shown}
""",
        encoding="utf-8",
    )
    (infra / "linked.bicep").symlink_to(outside / "target.bicep")  # a file symlink leading out
    (infra / "main.parameters.json").symlink_to(outside / "main.parameters.json")  # a parameter file, too
    (infra / "zero.json").symlink_to("/dev/zero")  # never ends
    os.mkfifo(infra / "pipe.json")  # blocks a reader that waits for a writer
    (repo / "modules").symlink_to(outside, target_is_directory=True)  # a folder symlink leading out
    (tf / "main.tf").write_text(
        """module "out" {
  source = "../../outside/tf"
}

variable "model_version" {
  default = "2024-05-13"
}

resource "azurerm_cognitive_deployment" "chat" {
  name                 = "tf-chat"
  cognitive_account_id = "acct"
  model {
    format  = "OpenAI"
    name    = "gpt-4o"
    version = var.model_version
  }
  sku { name = "GlobalStandard" }
}

resource "azurerm_cognitive_deployment" "many" {
  count                = 1000000000
  name                 = "many-${count.index}"
  cognitive_account_id = "acct"
  model {
    format  = "OpenAI"
    name    = "gpt-4o"
    version = "2024-05-13"
  }
  sku { name = "GlobalStandard" }
}
""",
        encoding="utf-8",
    )
    (tf / "secret.auto.tfvars").symlink_to(outside / "secret.auto.tfvars")
    (arm / "deep.json").write_text('{"a":' * 5000 + "1" + "}" * 5000, encoding="utf-8")
    (arm / "azuredeploy.json").write_text(
        json.dumps(
            {
                "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0",
                "resources": [
                    {
                        "type": DEPLOYMENT.split("@", maxsplit=1)[0],
                        "apiVersion": "2024-10-01",
                        "name": "oai/arm-chat\x1b[31m",
                        "sku": {"name": "GlobalStandard", "capacity": 1},
                        "properties": {
                            "model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-05-13"}
                        },
                    },
                    {
                        "type": "Microsoft.Resources/deployments",
                        "apiVersion": "2022-09-01",
                        "name": "linked",
                        "properties": {
                            "mode": "Incremental",
                            "templateLink": {"relativePath": "../../outside/linked.json"},
                        },
                    },
                ],
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return repo


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every entry under a folder (links not followed): content, mtime and inode."""
    found = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        data = path.read_bytes() if stat.S_ISREG(info.st_mode) else b""
        found[str(path.relative_to(folder))] = (data, info.st_mtime_ns, info.st_ino)
    return found


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    for name in ("STATE_STORE", "AzureWebJobsStorage", "WATCH_SUBSCRIPTION_ID"):
        monkeypatch.delenv(name, raising=False)
    outside = _outside(tmp_path)
    repo = _repository(tmp_path, outside)
    catalog = write_catalog(tmp_path / "catalog.json")
    monkeypatch.chdir(repo)  # the root: the current folder, as in CI
    return repo, outside, catalog


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    captured = capsys.readouterr()
    return code, out.getvalue() + captured.out + captured.err


def test_nothing_outside_the_root_is_read_or_written(
    hostile: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, outside, catalog = hostile
    before = _snapshot(outside)
    table_code, table = _run(capsys, "iac", "scan", ".", "--catalog-file", str(catalog))
    json_code, document_text = _run(
        capsys,
        "iac",
        "scan",
        ".",
        "--catalog-file",
        str(catalog),
        "--format",
        "json",
        "--output",
        "scan.json",
    )
    sarif_code, _ = _run(
        capsys,
        "iac",
        "scan",
        ".",
        "--catalog-file",
        str(catalog),
        "--format",
        "sarif",
        "--output",
        "scan.sarif",
    )
    gate_code, _ = _run(capsys, "iac", "scan", ".", "--catalog-file", str(catalog), "--fail-on", "unknown")
    fix_code, fixed = _run(capsys, "iac", "fix", ".", "--catalog-file", str(catalog))
    outputs = [
        table,
        document_text,
        fixed,
        (repo / "scan.json").read_text(),
        (repo / "scan.sarif").read_text(),
    ]

    # the run finished, and nothing from outside reached any output
    assert (table_code, json_code, sarif_code, gate_code) == (0, 0, 0, 1)
    assert all(TOKEN not in text for text in outputs)
    # nothing outside changed: same entries, contents, mtimes and inodes (no write, no replace, no new file)
    assert _snapshot(outside) == before

    document = json.loads((repo / "scan.json").read_text())
    refused = {(w["file"], w["rule"]) for w in document["warnings"] if w["rule"]}
    assert (
        "infra/main.bicep",
        "outside-root",
    ) in refused  # module '../../…', loadJsonContent('/…'), '../../…'
    messages = " | ".join(w["message"] for w in document["warnings"])
    assert "module out '../../outside/module.bicep' resolves outside the scanned root" in messages
    assert f"loadJsonContent('{outside / 'secret.json'}') resolves outside the scanned root" in messages
    assert "loadJsonContent('../../outside/secret.json') resolves outside the scanned root" in messages
    assert 'module "out" source "../../outside/tf" resolves outside the scanned root' in messages
    assert (
        "templateLink relativePath '../../outside/linked.json' resolves outside the scanned root" in messages
    )
    assert {
        ("infra/linked.bicep", "outside-root"),
        ("infra/zero.json", "outside-root"),
        ("infra/main.parameters.json", "outside-root"),
        ("modules", "outside-root"),
        ("tf/secret.auto.tfvars", "outside-root"),
        ("infra/pipe.json", "not-regular"),
        ("arm/deep.json", "too-large"),
    } <= refused

    findings = {f["name"]: f for f in document["findings"]}
    # a deeply nested JSON file is its own problem: the ARM template beside it is still scanned
    assert findings["arm-chat\x1b[31m"]["version"] == "2024-05-13"  # JSON keeps the exact text
    assert "too large to evaluate" in findings["doubled"]["detail"]
    assert "outside the scanned root" in findings["from-absolute"]["detail"]
    assert findings["chat"]["version"] == "2024-05-13" and findings["tf-chat"]["version"] == "2024-05-13"
    # count = 1000000000: one finding (its count not evaluated), not a billion
    assert [f["resource"] for f in document["findings"] if f["name"] is None] == [
        {"file": "tf/main.tf", "line": 20}
    ]
    assert {"leak", "linked"}.isdisjoint(findings)

    # people see control characters escaped; the raw ones never reach the terminal
    assert "\x1b" not in table and "\x07" not in table and "\u202e" not in table and "\x1b" not in fixed
    assert "evil\\x1b[2J\\x1b]0;owned\\x07\\u202e" in table
    assert "arm-chat\\x1b[31m" in table

    # iac fix rewrote files inside (through a temporary file and a rename: a new inode), none outside
    assert fix_code == 0 and "changed" in fixed
    assert (
        "gpt-4.1" in (repo / "infra" / "main.bicep").read_text()
        or "2024-08-06" in (repo / "infra" / "main.bicep").read_text()
    )
    assert (repo / "infra" / "linked.bicep").is_symlink()
    assert not [p for p in repo.rglob("*.tmp")]

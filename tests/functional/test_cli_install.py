"""`pip install .` gives the `modelwatch` command: the wheel built from this tree, installed into a fresh venv.

Offline: the wheel is built with the test environment's setuptools (--no-build-isolation) and installed with
--no-deps (the bundled-catalog `check` needs no third-party package). The lock files pin what requirements*.txt pin.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from shared.domain.version import VERSION

ROOT = Path(__file__).resolve().parents[2]
SKIP = (
    "node_modules",
    ".venv",
    ".git",
    "build",
    "dist",
    "demo-output",
    ".modelwatch",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "*.egg-info",
    ".azurite",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of a copy of this tree (the build writes build/ and *.egg-info beside its sources)."""
    base = tmp_path_factory.mktemp("install")
    tree = base / "tree"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(*SKIP))
    out = base / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(out),
            str(tree),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (found,) = out.glob("modelwatch-*.whl")
    return found


def test_the_wheel_holds_the_application_package_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if not n.startswith("modelwatch-")}
    assert tops == {"shared"}  # not infra/, scripts/, tests/ beside it (a flat layout)
    assert "shared/py.typed" in names
    assert "shared/data/timeline.json" in names and "shared/data/demo-iac/search/infra/main.bicep" in names
    assert wheel.name.startswith(f"modelwatch-{VERSION}-")
    metadata = zipfile.ZipFile(wheel).read(f"modelwatch-{VERSION}.dist-info/METADATA").decode()
    required = set(re.findall(r"^Requires-Dist: (\S+)", metadata, re.MULTILINE))
    pins = {line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()}
    assert required == {p for p in pins if p}  # the runtime pins, as the Functions remote build installs them
    entry_points = zipfile.ZipFile(wheel).read(f"modelwatch-{VERSION}.dist-info/entry_points.txt").decode()
    assert "modelwatch = shared.cli.main:run" in entry_points


def test_modelwatch_runs_from_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bindir = env_dir / "bin"
    subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "STATE_STORE", "WATCH_SUBSCRIPTION_ID")
    }
    version = subprocess.run(
        [str(bindir / "modelwatch"), "--version"],
        check=False,
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=60,
    )
    assert version.returncode == 0 and version.stdout.strip() == f"modelwatch {VERSION}"
    # the bundled sample catalog is package data: found from outside the source tree
    check = subprocess.run(
        [str(bindir / "modelwatch"), "check", "--dry-run"],
        check=False,
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    assert (
        check.stdout.startswith("state: sqlite:///.modelwatch/state.db")
        and "bundled sample catalog" in check.stdout
    )
    usage = subprocess.run(
        [str(bindir / "modelwatch"), "plan", "--help"],
        check=False,
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=60,
    )
    assert "usage: modelwatch plan" in usage.stdout and "  modelwatch plan --fail-on" in usage.stdout
    # the hints name the command as it was started, never `python -m shared`
    plan = subprocess.run(
        [str(bindir / "modelwatch"), "plan"],
        check=False,
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=60,
    )
    assert plan.returncode == 0, plan.stderr
    assert "modelwatch deployments --refresh --state sqlite:///.modelwatch/state.db" in plan.stdout
    assert "python -m shared" not in plan.stdout + plan.stderr


def _pins(path: Path) -> set[str]:
    pins = set()
    for line in path.read_text().splitlines():
        text = line.split("#")[0].strip()
        if text and not text.startswith("-"):
            pins.add(text.lower().replace("_", "-"))
    return pins


@pytest.mark.parametrize("name", ["requirements", "requirements-dev"])
def test_lock_files_pin_every_package_with_hashes(name: str) -> None:
    lock = (ROOT / f"{name}.lock").read_text()
    entries = re.findall(
        r"^([A-Za-z0-9_.-]+==\S+)(?: ;[^\\\n]*)? \\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)",
        lock,
        re.MULTILINE,
    )
    locked = {pin.lower().replace("_", "-") for pin, _ in entries}
    assert len(entries) == len(re.findall(r"^[A-Za-z0-9_.-]+==", lock, re.MULTILINE))  # every pin has hashes
    assert _pins(ROOT / f"{name}.txt") <= locked, "requirements changed: run make lock"
    if name == "requirements-dev":
        assert {p.lower() for p in _pins(ROOT / "requirements.txt")} <= locked

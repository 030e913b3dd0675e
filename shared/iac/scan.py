"""Find the template files under the given paths and hand each kind to its adapter. Never raises on content."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from shared.iac import confine
from shared.iac.pins import OUTSIDE_ROOT, TOO_LARGE, Pin, ScanResult, ScanWarning

log = logging.getLogger(__name__)

# build output, dependencies and tool state: never the team's templates
SKIPPED_DIRECTORIES = frozenset(
    {
        ".git",
        ".terraform",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".azure",
        ".modelwatch",
        "demo-output",
    }
)


def template_files(paths: list[Path]) -> tuple[list[Path], list[ScanWarning]]:
    """Every .bicep, .bicepparam, .tf, .tfvars and .json file under the paths (a file path is taken as is).
    A symbolic link leading out of the roots, a file that is not regular, or one too large is skipped with a
    warning (a finding: see ScanWarning.rule); folders reached through symbolic links are not entered."""
    found: list[Path] = []
    problems: list[ScanWarning] = []
    for path in paths:
        if path.is_dir():
            for directory, subdirectories, names in os.walk(path):  # followlinks=False: links are not entered
                here = Path(directory)
                for name in subdirectories:
                    if (here / name).is_symlink() and not confine.is_inside(here / name):
                        problems.append(ScanWarning(here / name, None, _LINKED_FOLDER))
                subdirectories[:] = sorted(d for d in subdirectories if d not in SKIPPED_DIRECTORIES)
                for name in sorted(names):
                    if _wanted(name):
                        problem = _unreadable(here / name)
                        if problem is None:
                            found.append(here / name)
                        else:
                            problems.append(problem)
        elif path.exists() or path.is_symlink():
            problem = _unreadable(path)
            if problem is None:
                found.append(path)
            else:
                problems.append(problem)
        else:
            problems.append(ScanWarning(path, None, "no such file or directory"))
    return list(dict.fromkeys(found)), problems


_LINKED_FOLDER = f"a symbolic link to a folder {OUTSIDE_ROOT}: not entered"


def _unreadable(path: Path) -> ScanWarning | None:
    """Why a file found by name is not read (confinement, kind, size), or None."""
    try:
        confine.check_file(path)
    except confine.RefusedError as exc:
        return ScanWarning(path, None, str(exc))
    return None


def _wanted(name: str) -> bool:
    return name.endswith((".bicep", ".bicepparam", ".tf", ".tfvars", ".json"))


def scan(paths: list[Path], roots: list[Path] | None = None) -> ScanResult:
    """Pins and warnings for every Azure OpenAI deployment defined under the paths. Nothing outside ``roots``
    is read (default: each path is its own root; a file's root is its folder)."""
    if roots is None:
        roots = [p if p.is_dir() else p.parent for p in paths]
    with confine.confined(roots):
        return _scan(paths)


def _scan(paths: list[Path]) -> ScanResult:
    from shared.iac.arm import scan_arm
    from shared.iac.bicep import scan_bicep
    from shared.iac.terraform import scan_terraform

    files, warnings = template_files(paths)
    bicep = [f for f in files if f.suffix == ".bicep"]
    # a .bicepparam or parameters file named on its own: scan the template it belongs to
    bicep += [
        f.with_suffix(".bicep")
        for f in files
        if f.suffix == ".bicepparam" and f.with_suffix(".bicep").is_file()
    ]
    # Terraform reads directories: one .tf file stands for its directory (a .tfvars file for the one it is in)
    terraform_dirs = sorted({f.parent for f in files if f.suffix in (".tf", ".tfvars")})
    terraform = [min(d.glob("*.tf")) for d in terraform_dirs if any(d.glob("*.tf"))]
    arm = [f for f in files if f.suffix == ".json"]
    pins: list[Pin] = []
    read: set[Path] = set()
    for adapter, group in (
        (scan_bicep, list(dict.fromkeys(bicep))),
        (scan_terraform, terraform),
        (scan_arm, arm),
    ):
        if not group:
            continue
        try:
            outcomes = [adapter(group)]
        except RecursionError:
            # a pathological nesting the limits did not catch: scan that kind again file by file, so only the
            # file at fault is lost (and named), not every file of its kind
            outcomes = []
            for one in group:
                try:
                    outcomes.append(adapter([one]))
                except RecursionError:
                    warnings.append(ScanWarning(one, None, f"nested too deeply: {TOO_LARGE}"))
        for found, problems, files_read in outcomes:
            pins.extend(found)
            warnings.extend(problems)
            read.update(files_read)
    unique: dict[tuple[object, ...], Pin] = {}
    for pin in pins:
        unique.setdefault(pin.identity, pin)
    # one refusal is found twice (by name here, and by the evaluator that reads the file): say it once
    kept = list({(os.path.abspath(w.file), w.line, w.message): w for w in reversed(warnings)}.values())[::-1]
    log.debug("scanned %d file(s): %d pin(s), %d warning(s)", len(read), len(unique), len(kept))
    return ScanResult(tuple(unique.values()), tuple(kept), tuple(sorted(read)))

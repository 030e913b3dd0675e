"""Find the template files under the given paths and hand each kind to its adapter. Never raises on content."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from shared.iac.model import Pin, ScanResult, ScanWarning

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
    """Every .bicep, .bicepparam, .tf, .tfvars and .json file under the paths (a file path is taken as is)."""
    found: list[Path] = []
    problems: list[ScanWarning] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            for directory, subdirectories, names in os.walk(path):
                subdirectories[:] = sorted(d for d in subdirectories if d not in SKIPPED_DIRECTORIES)
                found.extend(Path(directory) / n for n in sorted(names) if _wanted(n))
        else:
            problems.append(ScanWarning(path, None, "no such file or directory"))
    return list(dict.fromkeys(found)), problems


def _wanted(name: str) -> bool:
    return name.endswith((".bicep", ".bicepparam", ".tf", ".tfvars", ".json"))


def scan(paths: list[Path]) -> ScanResult:
    """Pins and warnings for every Azure OpenAI deployment defined under the paths."""
    from shared.iac.arm_templates import scan_arm
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
            found, problems, files_read = adapter(group)
        except RecursionError:
            # a pathological nesting depth while parsing; the other kinds still get scanned
            warnings.append(ScanWarning(group[0], None, "nested too deeply to scan"))
            continue
        pins.extend(found)
        warnings.extend(problems)
        read.update(files_read)
    unique: dict[tuple[object, ...], Pin] = {}
    for pin in pins:
        unique.setdefault(pin.identity, pin)
    log.debug("scanned %d file(s): %d pin(s), %d warning(s)", len(read), len(unique), len(warnings))
    return ScanResult(tuple(unique.values()), tuple(warnings), tuple(sorted(read)))

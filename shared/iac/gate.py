"""What a gate lets through: inline suppressions, a baseline, and the fingerprints both rest on. Pure.

As Checkov and tfsec users expect: a ``modelwatch:ignore <reason>`` comment on a finding's line or the line above
it (``//`` in Bicep and JSON; ``#`` or ``//`` in Terraform) suppresses it, and the reason is shown; without a
reason nothing is suppressed and that is a finding of its own. A baseline file lists the findings a team has
accepted (``--write-baseline``); ``--baseline`` then reports only the others.

A finding's fingerprint is what GitHub code scanning keys an alert on (SARIF ``partialFingerprints``): the pin's
own file and the text of its declaration line, the file and text of the line holding the version (a parameter
file, a caller's array item), and the deployment's name. Line numbers are left out, so the fingerprint survives
unrelated lines moving; two findings that still agree on all of it are told apart by their order (``:2``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from shared.errors import PermanentError
from shared.iac.pins import ScanWarning, WarningKind
from shared.iac.rules import Finding, Status

# the reason is everything after the marker on that line (a block comment's closing */ set aside)
_IGNORE = re.compile(r"(?:#|//)\s*modelwatch:ignore\b(?P<reason>.*)$")
FINGERPRINT_KEY = "modelPin/v2"
BASELINE_FORMAT = "modelwatch-iac-baseline/1"

LineText = Callable[[Path, int], str | None]  # a file's 1-based line, or None when it cannot be read


class BaselineError(PermanentError, ValueError):
    """A baseline file that cannot be used (the CLI reports it as a usage error)."""


@dataclass(frozen=True)
class Suppression:
    reason: str
    file: Path
    line: int


def _comment_markers(path: Path) -> tuple[str, ...]:
    return ("#", "//") if path.suffix in (".tf", ".tfvars") else ("//",)


def _ignore(text: str, path: Path, *, whole_line: bool) -> str | None:
    """The reason of a modelwatch:ignore comment in ``text`` ('' when it gives none), or None when none."""
    match = _IGNORE.search(text)
    if match is None or not match.group(0).startswith(_comment_markers(path)):
        return None
    if whole_line and not text.lstrip().startswith(_comment_markers(path)):
        return None  # the line above counts only when it is a comment line
    return match.group("reason").strip().removesuffix("*/").strip()


def suppress(findings: Sequence[Finding], line_text: LineText) -> tuple[list[Finding], list[ScanWarning]]:
    """Each finding with its suppression (``suppressed``), and a warning for each ignore without a reason."""
    result: list[Finding] = []
    problems: dict[tuple[Path, int], ScanWarning] = {}
    for finding in findings:
        places = dict.fromkeys([(finding.file, finding.line), (finding.pin.file, finding.pin.line)])
        found: Suppression | None = None
        for path, line in places:
            for where, whole_line in ((line, False), (line - 1, True)):
                text = line_text(path, where) if where >= 1 else None
                reason = _ignore(text, path, whole_line=whole_line) if text is not None else None
                if reason is None:
                    continue
                if reason:
                    found = found or Suppression(reason, path, where)
                else:
                    problems[(path, where)] = ScanWarning(
                        path,
                        where,
                        "modelwatch:ignore without a reason: the finding is not suppressed "
                        "(write `modelwatch:ignore <why it is acceptable>`)",
                        rule=WarningKind.SUPPRESSION_WITHOUT_REASON,
                    )
        result.append(replace(finding, suppressed=found.reason) if found else finding)
    return result, list(problems.values())


def inside(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` (forward slashes), or None when outside it. A symbolic link is named as it
    is (where it sits, not where it leads); a root reached through links (``/tmp`` on macOS) still matches."""
    for candidate, base in (
        (Path(os.path.abspath(path)), Path(os.path.abspath(root))),
        (path.resolve(), root.resolve()),
    ):
        try:
            return candidate.relative_to(base).as_posix()
        except ValueError:
            continue
    return None


def relative(path: Path, root: Path) -> str:
    """A path relative to the root, with forward slashes; absolute when outside it."""
    found = inside(path, root)
    return found if found is not None else Path(os.path.abspath(path)).as_posix()


def fingerprints(findings: Sequence[Finding], root: Path, line_text: LineText) -> list[str]:
    """One fingerprint per finding, in order (see the module docstring). Never holds None."""
    seen: dict[str, int] = {}
    result = []
    for f in findings:
        parts = [
            relative(f.pin.file, root),
            (line_text(f.pin.file, f.pin.line) or "").strip(),
            relative(f.file, root),
            (line_text(f.file, f.line) or "").strip(),
            f.name or "",
        ]
        digest = hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]
        seen[digest] = seen.get(digest, 0) + 1
        result.append(f"{digest}:{seen[digest]}")
    return result


def baseline_document(findings: Sequence[Finding], prints: Sequence[str], root: Path) -> dict[str, Any]:
    """The baseline of the findings that are not ok and not suppressed (what a team accepts as it stands)."""
    entries = [
        {
            "fingerprint": fp,
            "status": f.status,
            "file": relative(f.file, root),
            "line": f.line,
            "name": f.name,
            "model": f.model,
            "version": f.version,
        }
        for f, fp in zip(findings, prints, strict=True)
        if f.status != Status.OK and f.suppressed is None
    ]
    return {"format": BASELINE_FORMAT, "findings": entries}


def read_baseline(text: str, name: str) -> frozenset[tuple[str, str]]:
    """(fingerprint, status) pairs of a baseline file. Raises BaselineError naming what is wrong."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise BaselineError(f"baseline {name} is not JSON ({exc})") from None
    if not isinstance(document, Mapping) or document.get("format") != BASELINE_FORMAT:
        raise BaselineError(
            f'baseline {name}: not a baseline written by --write-baseline ("format" is not '
            f'"{BASELINE_FORMAT}")'
        )
    entries = document.get("findings")
    if not isinstance(entries, list):
        raise BaselineError(f'baseline {name}: "findings" is not a list')
    pairs = set()
    for index, entry in enumerate(entries):
        if not (
            isinstance(entry, Mapping)
            and isinstance(entry.get("fingerprint"), str)
            and isinstance(entry.get("status"), str)
        ):
            raise BaselineError(f"baseline {name}: entry {index + 1} has no fingerprint and status")
        pairs.add((entry["fingerprint"], entry["status"]))
    return frozenset(pairs)


def in_baseline(finding: Finding, fingerprint: str, baseline: frozenset[tuple[str, str]]) -> bool:
    """A finding is accepted while its status stays what the baseline recorded (worse comes back)."""
    return (fingerprint, finding.status) in baseline

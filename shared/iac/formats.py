"""Findings as a table (people), JSON (scripts) and SARIF 2.1.0 (GitHub code scanning). Pure.

Text from templates reaches people through the table, warnings and diffs: control characters in it (C0, C1, and
the bidirectional overrides that reorder what a reviewer sees) are shown escaped there (``printable``). JSON and
SARIF keep the exact text (their encoders escape what needs escaping).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.iac.gate import FINGERPRINT_KEY, fingerprints, inside, relative
from shared.iac.pins import ScanWarning
from shared.iac.rules import RULES as REGISTRY
from shared.iac.rules import STATUSES, WARNING_RULES, Finding, Rule, Status

SRCROOT = "%SRCROOT%"
# CRLF as a unit; C0 but tab, DEL, C1; and the bidirectional controls (Trojan Source, CVE-2021-42574)
_CONTROL = re.compile("\r\n|[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with control characters escaped (``\\x1b``, ``\\u202e``); line breaks too unless kept
    (a diff keeps them, and a CRLF file's carriage returns before them)."""

    def shown(match: re.Match[str]) -> str:
        char = match.group(0)
        if char in ("\n", "\r\n"):
            return char if keep_newlines else char.replace("\r", "\\r").replace("\n", "\\n")
        return _escape(char)

    return _CONTROL.sub(shown, text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements"

# one SARIF rule per status; ok findings are not results
RULES: dict[Status, Rule] = {rule.status: rule for rule in REGISTRY if rule.sarif_name}


def _date(finding: Finding) -> str:
    return f"{finding.retirement_date:%Y-%m-%d}" if finding.retirement_date else ""


def _recommended(finding: Finding) -> str:
    r = finding.recommended
    if r is None:
        return ""
    if (r.model, r.version) == (finding.model, finding.version):
        return "keep"
    return f"{r.model} {r.version}" if r.model != finding.model else r.version


def _warning_line(w: ScanWarning, root: Path) -> str:
    where = relative(w.file, root) + (f":{w.line}" if w.line else "")
    kind = f"warning[{w.rule}]" if w.rule else "warning"
    return printable(f"{kind}: {where}: {w.message}")


def table(findings: Sequence[Finding], warnings: Sequence[ScanWarning], root: Path) -> str:
    """The findings worst first, one row each, with the detail under the table; suppressed ones after it, with
    their reasons. Template text is shown with control characters escaped."""
    if not findings and not warnings:
        return "No Azure OpenAI deployments found.\n"
    order = {s: i for i, s in enumerate(STATUSES)}
    ordered = sorted(
        findings, key=lambda f: (order.get(f.status, 99), f.days_left if f.days_left is not None else 10**6)
    )
    active = [f for f in ordered if f.suppressed is None]
    suppressed = [f for f in ordered if f.suppressed is not None]
    rows = [
        [
            "STATUS",
            "WHERE",
            "DEPLOYMENT",
            "MODEL",
            "VERSION",
            "SKU",
            "UPGRADE",
            "RETIRES",
            "DAYS",
            "LIVE",
            "RECOMMENDED",
        ]
    ]
    for f in active:
        cells = [
            f.status,
            f"{relative(f.file, root)}:{f.line}",
            f.name or "?",
            f.model or "?",
            f.version or "?",
            f.sku,
            f.upgrade_option or "-",
            _date(f),
            "" if f.days_left is None else str(f.days_left),
            f.live_version or "",
            _recommended(f),
        ]
        rows.append([printable(c) for c in cells])
    lines: list[str] = []
    if active:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
        lines.append("")
        for f in active:
            lines.append(printable(f"{relative(f.file, root)}:{f.line} {f.name or '?'}: {f.detail}"))
            lines.extend(printable(f"    {n}") for n in f.notes)
    if suppressed:
        lines.append("")
        lines.append(f"suppressed ({len(suppressed)}):")
        for f in suppressed:
            lines.append(
                printable(
                    f"  {relative(f.file, root)}:{f.line} {f.name or '?'} {f.model or '?'} {f.version or '?'} "
                    f"{f.status}: {f.suppressed}"
                )
            )
    lines.extend(_warning_line(w, root) for w in warnings)
    counts = {s: sum(f.status == s for f in active) for s in STATUSES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    hushed = f", {len(suppressed)} suppressed" if suppressed else ""
    lines.append(f"\n{len(findings)} deployment(s): {summary or 'none'}{hushed}; {len(warnings)} warning(s)")
    return "\n".join(lines) + "\n"


def finding_json(finding: Finding, root: Path) -> dict[str, Any]:
    r = finding.recommended
    pin = finding.pin
    return {
        "file": relative(finding.file, root),
        "line": finding.line,
        "name": finding.name,
        "model": finding.model,
        "version": finding.version,
        "sku": finding.sku,
        "upgradeOption": finding.upgrade_option,
        "status": finding.status,
        "retirementDate": _date(finding) or None,
        "daysLeft": finding.days_left,
        "liveVersion": finding.live_version,
        "recommended": None
        if r is None
        else {"model": r.model, "version": r.version, "upgradeOption": r.upgrade_option},
        "detail": finding.detail,
        # beyond the documented keys: where the deployment is declared and how it was reached
        "catalogStatus": finding.catalog_status,
        "account": finding.account,
        "region": finding.region,
        "kind": pin.kind,
        "resource": {"file": relative(pin.file, root), "line": pin.line},
        "via": list(pin.context),
        "notes": list(finding.notes),
        "suppressed": finding.suppressed,
        "fingerprint": finding.fingerprint or None,
    }


def to_json(
    findings: Sequence[Finding], warnings: Sequence[ScanWarning], root: Path, **meta: Any
) -> dict[str, Any]:
    return {
        "findings": [finding_json(f, root) for f in findings],
        "warnings": [
            {"file": relative(w.file, root), "line": w.line, "message": w.message, "rule": w.rule or None}
            for w in warnings
        ],
        **meta,
    }


def _artifact(path: Path, root: Path) -> dict[str, Any]:
    """A file relative to the checkout (``%SRCROOT%``, which GitHub resolves), or an absolute ``file://`` URI."""
    found = inside(path, root)
    return {"uri": found, "uriBaseId": SRCROOT} if found is not None else {"uri": path.absolute().as_uri()}


def _location(path: Path, line: int | None, root: Path) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _artifact(path, root)}
    if line:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def _rule(rule_id: str, name: str, level: str, text: str, tags: list[str]) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": name,
        "shortDescription": {"text": text.split(": ", maxsplit=1)[0].rstrip(".") + "."},
        "fullDescription": {"text": text},
        "defaultConfiguration": {"level": level},
        "helpUri": INFORMATION_URI,
        "properties": {"tags": tags},
    }


def _warning_fingerprint(w: ScanWarning, root: Path) -> str:
    """A refusal's fingerprint: its rule, file and message (the line left out, as for pins)."""
    text = "\0".join((w.rule or "", relative(w.file, root), w.message))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32] + ":1"


def _message(f: Finding) -> str:
    name = f.name or "(its name is not known statically)"
    model = f.model or "a model not known statically"
    version = f"version {f.version}" if f.version else "no version (not known statically, or not pinned)"
    return f"Deployment {name} pins {model} {version}: {f.detail}"


def to_sarif(
    findings: Sequence[Finding],
    warnings: Sequence[ScanWarning],
    root: Path,
    *,
    version: str,
    category: str = "",
) -> dict[str, Any]:
    """SARIF 2.1.0: one rule per status and per kind of refusal; a result per finding that is not ok, on the
    pinned line, with a fingerprint GitHub keeps apart; a suppressed finding carries its reason. ``category``:
    what GitHub tells analyses apart by (``automationDetails.id``); several scans of one repository need
    different ones."""
    rules = [
        _rule(r.status, r.sarif_name, r.level, r.description, ["azure-openai", "model-lifecycle"])
        for r in RULES.values()
    ] + [_rule(w.rule_id, w.sarif_name, w.level, w.description, ["security"]) for w in WARNING_RULES.values()]
    rule_ids = [r["id"] for r in rules]
    prints = [f.fingerprint for f in findings]
    if not all(
        prints
    ):  # findings judged outside report.scan_and_judge (which reads the lines): paths and names only
        prints = fingerprints(findings, root, lambda _path, _line: None)
    results: list[dict[str, Any]] = []
    for f, fingerprint in zip(findings, prints, strict=True):
        if f.status == Status.OK:
            continue
        level = RULES[f.status].level
        result: dict[str, Any] = {
            "ruleId": f.status,
            "ruleIndex": rule_ids.index(f.status),
            "level": level,
            "message": {"text": _message(f)},
            "locations": [_location(f.file, f.line, root)],
            "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
            "properties": {
                "deployment": f.name,
                "model": f.model,
                "version": f.version,
                "sku": f.sku,
                "retirementDate": _date(f) or None,
                "daysLeft": f.days_left,
                "recommended": None
                if f.recommended is None
                else f"{f.recommended.model} {f.recommended.version}",
            },
        }
        if f.pin.file != f.file or f.pin.line != f.line:
            result["relatedLocations"] = [
                {"id": 1, **_location(f.pin.file, f.pin.line, root), "message": {"text": "the deployment"}}
            ]
        if f.suppressed is not None:
            result["suppressions"] = [{"kind": "inSource", "justification": f.suppressed}]
        results.append(result)
    notifications = []
    for w in warnings:
        if w.rule in WARNING_RULES:
            level = WARNING_RULES[w.rule].level
            results.append(
                {
                    "ruleId": w.rule,
                    "ruleIndex": rule_ids.index(w.rule),
                    "level": level,
                    "message": {"text": w.message},
                    "locations": [_location(w.file, w.line, root)],
                    "partialFingerprints": {FINGERPRINT_KEY: _warning_fingerprint(w, root)},
                }
            )
        else:
            notifications.append(
                {
                    "level": "warning",
                    "message": {"text": w.message},
                    "locations": [_location(w.file, w.line, root)],
                }
            )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "modelwatch",
                        "version": version,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"modelwatch-iac/{category}/" if category else "modelwatch-iac/"},
                "originalUriBaseIds": {SRCROOT: {"uri": root.resolve().as_uri() + "/"}},
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
                "results": results,
            }
        ],
    }

"""Findings as a table (people), JSON (scripts) and SARIF 2.1.0 (GitHub code scanning). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.iac.model import (
    DRIFT,
    NOT_OFFERED,
    OK,
    RETIRED,
    RETIRING,
    STATUSES,
    UNKNOWN,
    Finding,
    ScanWarning,
)

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements"

# one SARIF rule per status; ok findings are not results
RULES: dict[str, tuple[str, str, str]] = {
    RETIRED: (
        "ModelVersionRetired",
        "error",
        "The pinned model version is retired for this deployment type: "
        "calls fail (HTTP 410) and the next deployment of the template fails.",
    ),
    NOT_OFFERED: (
        "ModelVersionNotOffered",
        "error",
        "The pinned model version is not offered in the target "
        "region: deploying the template fails (DeploymentModelNotSupported).",
    ),
    DRIFT: (
        "DeploymentDrifted",
        "warning",
        "The live deployment runs another version than the template pins: "
        "the next deployment moves it back, or fails.",
    ),
    RETIRING: (
        "ModelVersionRetiring",
        "warning",
        "The pinned model version has a retirement date for this deployment type.",
    ),
    UNKNOWN: (
        "ModelPinUnresolved",
        "note",
        "The pinned model or version cannot be known from the code alone "
        "(a deployment-time value): it was not checked.",
    ),
}


def relative(path: Path, root: Path) -> str:
    """A path relative to the scan root, with forward slashes (SARIF and JSON); absolute when outside it."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _date(finding: Finding) -> str:
    return f"{finding.retirement_date:%Y-%m-%d}" if finding.retirement_date else ""


def _recommended(finding: Finding) -> str:
    r = finding.recommended
    if r is None:
        return ""
    if (r.model, r.version) == (finding.model, finding.version):
        return "keep"
    return f"{r.model} {r.version}" if r.model != finding.model else r.version


def table(findings: Sequence[Finding], warnings: Sequence[ScanWarning], root: Path) -> str:
    """The findings worst first, one row each, with the detail under the table."""
    if not findings and not warnings:
        return "No Azure OpenAI deployments found.\n"
    order = {s: i for i, s in enumerate(STATUSES)}
    ordered = sorted(
        findings, key=lambda f: (order.get(f.status, 99), f.days_left if f.days_left is not None else 10**6)
    )
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
    for f in ordered:
        rows.append(
            [
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
        )
    lines: list[str] = []
    if findings:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
        lines.append("")
        for f in ordered:
            lines.append(f"{relative(f.file, root)}:{f.line} {f.name or '?'}: {f.detail}")
            lines.extend(f"    {n}" for n in f.notes)
    for w in warnings:
        where = relative(w.file, root) + (f":{w.line}" if w.line else "")
        lines.append(f"warning: {where}: {w.message}")
    counts = {s: sum(f.status == s for f in findings) for s in STATUSES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    lines.append(f"\n{len(findings)} deployment(s): {summary or 'none'}; {len(warnings)} warning(s)")
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
    }


def to_json(
    findings: Sequence[Finding], warnings: Sequence[ScanWarning], root: Path, **meta: Any
) -> dict[str, Any]:
    return {
        "findings": [finding_json(f, root) for f in findings],
        "warnings": [
            {"file": relative(w.file, root), "line": w.line, "message": w.message} for w in warnings
        ],
        **meta,
    }


def to_sarif(
    findings: Sequence[Finding], warnings: Sequence[ScanWarning], root: Path, *, version: str
) -> dict[str, Any]:
    """SARIF 2.1.0: one rule per status, a result per finding that is not ok, on the pinned line."""
    rule_ids = list(RULES)
    rules = [
        {
            "id": status,
            "name": name,
            "shortDescription": {"text": text.split(":")[0].rstrip(".") + "."},
            "fullDescription": {"text": text},
            "defaultConfiguration": {"level": level},
            "helpUri": INFORMATION_URI,
            "properties": {"tags": ["azure-openai", "model-lifecycle"]},
        }
        for status, (name, level, text) in RULES.items()
    ]
    results = []
    for f in findings:
        if f.status == OK:
            continue
        _, level, _ = RULES[f.status]
        model = f"{f.model or '?'} {f.version or '?'}"
        results.append(
            {
                "ruleId": f.status,
                "ruleIndex": rule_ids.index(f.status),
                "level": level,
                "message": {"text": f"Deployment {f.name or '?'} pins {model}: {f.detail}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": relative(f.file, root)},
                            "region": {"startLine": f.line},
                        }
                    }
                ],
                "partialFingerprints": {"modelPin/v1": f"{relative(f.pin.file, root)}:{f.name}:{f.model}"},
                "properties": {
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
        )
    notifications = [
        {
            "level": "warning",
            "message": {"text": w.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": relative(w.file, root)},
                        **({"region": {"startLine": w.line}} if w.line else {}),
                    }
                }
            ],
        }
        for w in warnings
    ]
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
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
                "results": results,
            }
        ],
    }

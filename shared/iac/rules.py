"""The rules a pin is judged by: one entry each in ``RULES``, worst first, and the ``Finding`` judging gives. Pure.

An entry says everything about its status: the SARIF rule (name, level, description; ``ok`` is no SARIF result),
where ``--fail-on`` lists it and which findings trip it, and the checks that give a pin this status, each returning
the finding's detail or None. ``evaluate.judge`` walks the registry in order and the first check that applies
gives the status (today's checks exclude one another, so order matters only for a rule that refines a later one);
the table, JSON, SARIF and the command line read it too. Drift, judged against the live deployment rather than
the catalog, is laid over a catalog status by ``evaluate``.

Adding a rule is a ``Status`` member and one ``Rule`` entry here, plus its check if it needs new logic
(docs/architecture.md, "An IaC rule").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from shared.domain.catalog import ModelVersion
from shared.iac.pins import Pin, WarningKind, unknown_reason


class Status(StrEnum):
    """A finding's status, spelled as the table, JSON, SARIF ``ruleId``, baselines and ``--fail-on`` spell it."""

    RETIRED = "retired"
    NOT_OFFERED = "not-offered"
    DRIFT = "drift"
    RETIRING = "retiring"
    UNKNOWN = "unknown"
    OK = "ok"


@dataclass(frozen=True)
class Recommendation:
    model: str
    version: str
    upgrade_option: str | None  # None: leave the template's (absent means OnceCurrentVersionExpired)
    reason: str


@dataclass(frozen=True)
class Finding:
    """One pin judged against the catalog (and the live deployment) as of a date."""

    pin: Pin
    file: Path  # where to point a reader: the version literal when known, else the resource
    line: int
    status: Status  # drift when the live deployment differs, else the catalog status
    catalog_status: Status  # ok, retiring, retired, not-offered, unknown
    region: str | None
    account: str | None
    name: str | None
    model: str | None
    version: str | None
    sku: str
    upgrade_option: str | None
    retirement_date: datetime | None = None
    days_left: int | None = None
    live_version: str | None = None
    live_model: str | None = None
    recommended: Recommendation | None = None
    detail: str = ""
    notes: tuple[str, ...] = field(default=())
    suppressed: str | None = None  # the reason of a modelwatch:ignore comment (shared/iac/gate.py)
    fingerprint: str = ""  # stable across unrelated edits: SARIF partialFingerprints, baselines


@dataclass(frozen=True)
class Facts:
    """What the checks look at: one pin's values as far as they are known, and its catalog entry."""

    pin: Pin
    fmt: str  # the model format (OpenAI when the template names none)
    model: str | None
    version: str | None
    sku: str
    sku_known: bool  # the template names no SKU (the default) or one known statically
    region: str | None
    current: ModelVersion | None  # the catalog's entry for the pinned version, when looked up and listed
    region_known: bool  # the region has a catalog of its own: a version missing from it is not offered
    elsewhere: tuple[str, ...]  # the regions that do offer a version missing here
    source: str  # the catalog's description
    date: datetime | None  # the retirement date for this SKU
    days: int | None
    retired: bool  # the date has passed, or the catalog says Deprecated

    @property
    def looked_up(self) -> bool:
        """Whether the pin names a model, a version and a SKU, so the catalog could be asked about it."""
        return self.model is not None and self.version is not None and self.sku_known


Check = Callable[
    [Facts], str | None
]  # the finding's detail when the check gives its rule's status, else None
Trips = Callable[[Finding, int | None], bool]  # (finding, --within days) -> whether --fail-on counts it


@dataclass(frozen=True)
class Rule:
    status: Status
    sarif_name: str  # "" for a status that is no SARIF result
    level: str  # the SARIF level: error, warning, note
    description: str  # the SARIF full description; its first clause is the short one
    checks: tuple[Check, ...] = ()
    fail_on: int | None = None  # its place in --fail-on's list of choices; None: not accepted there
    trips: Trips | None = None  # which findings --fail-on STATUS counts (default: this catalog status)


# --- the checks ---------------------------------------------------------------------------------------------


def sku_unresolved(f: Facts) -> str | None:
    # dates differ by deployment type: a guessed SKU could call a retired deployment fine
    if f.model is None or f.version is None or f.sku_known:
        return None
    return unknown_reason(f.pin.sku, "the SKU") + f": {f.model} {f.version} cannot be judged without it"


def value_unresolved(f: Facts) -> str | None:
    if f.model is None:
        return unknown_reason(f.pin.model_name, "the model name")
    if f.pin.model_version is not None and f.version is None:
        return unknown_reason(f.pin.model_version, "the version")
    return None


def no_version(f: Facts) -> str | None:
    if f.model is None or f.version is not None or f.pin.model_version is not None:
        return None
    return "no version pinned: Azure deploys the model's default version when it creates the deployment"


def not_offered(f: Facts) -> str | None:
    if not f.looked_up or f.current is not None or not f.region_known:
        return None
    offered = f" (offered in {', '.join(f.elsewhere)})" if f.elsewhere else ""
    return f"{f.model} {f.version} is not offered in {f.region}{offered}"


def in_no_catalog(f: Facts) -> str | None:
    if not f.looked_up or f.current is not None or f.region_known:
        return None
    return f"{f.model} {f.version} is in no known region's catalog ({f.source})"


def retired(f: Facts) -> str | None:
    if not f.looked_up or f.current is None or not f.retired:
        return None
    return f"{f.model} {f.version} ({f.sku}) is retired" + (f" since {f.date:%Y-%m-%d}" if f.date else "")


def retiring(f: Facts) -> str | None:
    if not f.looked_up or f.current is None or f.retired or f.date is None:
        return None
    tentative = " (tentative)" if (f.current.deprecation_status or "").casefold() == "tentative" else ""
    return f"{f.model} {f.version} ({f.sku}) retires on {f.date:%Y-%m-%d}{tentative}, in {f.days} days"


def no_date(f: Facts) -> str | None:
    if not f.looked_up or f.current is None or f.retired or f.date is not None:
        return None
    return f"{f.model} {f.version} has no retirement date"


# --- what --fail-on counts ----------------------------------------------------------------------------------


def drifted(finding: Finding, _within: int | None) -> bool:
    return finding.status == Status.DRIFT


def retires_within(finding: Finding, within: int | None) -> bool:
    """``--fail-on retiring`` includes retired (it is past its date); ``--within`` bounds the days left."""
    if finding.catalog_status == Status.RETIRED:
        return True
    if finding.catalog_status != Status.RETIRING:
        return False
    return within is None or (finding.days_left is not None and finding.days_left <= within)


# --- the registry, worst first (the order of tables and SARIF rules) ------------------------------------------

RULES: tuple[Rule, ...] = (
    Rule(
        Status.RETIRED,
        "ModelVersionRetired",
        "error",
        "The pinned model version is retired for this deployment type: "
        "calls fail (HTTP 410) and the next deployment of the template fails.",
        checks=(retired,),
        fail_on=0,
    ),
    Rule(
        Status.NOT_OFFERED,
        "ModelVersionNotOffered",
        "error",
        "The pinned model version is not offered in the target "
        "region: deploying the template fails (DeploymentModelNotSupported).",
        checks=(not_offered,),
        fail_on=3,
    ),
    Rule(
        Status.DRIFT,
        "DeploymentDrifted",
        "warning",
        "The live deployment runs another version than the template pins: "
        "the next deployment moves it back, or fails.",
        fail_on=2,
        trips=drifted,
    ),
    Rule(
        Status.RETIRING,
        "ModelVersionRetiring",
        "warning",
        "The pinned model version has a retirement date for this deployment type.",
        checks=(retiring,),
        fail_on=1,
        trips=retires_within,
    ),
    Rule(
        Status.UNKNOWN,
        "ModelPinUnresolved",
        "note",
        "The pinned model or version cannot be known from the code alone "
        "(a deployment-time value): it was not checked.",
        checks=(sku_unresolved, value_unresolved, in_no_catalog),
        fail_on=4,  # refusals count too: what they stand for was not read (iac/cli.py)
    ),
    Rule(Status.OK, "", "", "", checks=(no_version, no_date)),
)
BY_STATUS: dict[Status, Rule] = {rule.status: rule for rule in RULES}
STATUSES: tuple[Status, ...] = tuple(rule.status for rule in RULES)
FAIL_ON: tuple[Status, ...] = tuple(  # in the order --fail-on lists its choices
    rule.status for rule in sorted((r for r in RULES if r.fail_on is not None), key=lambda r: r.fail_on or 0)
)


def verdict(facts: Facts) -> tuple[Status, str]:
    """The status one pin's catalog facts give, and its detail: the rule whose check applies."""
    for rule in RULES:
        for check in rule.checks:
            detail = check(facts)
            if detail is not None:
                return rule.status, detail
    raise AssertionError(f"no rule judges {facts.model} {facts.version}")  # the checks cover every case


def trips(finding: Finding, status: Status, within: int | None) -> bool:
    """Whether ``finding`` counts for ``--fail-on status``."""
    rule = BY_STATUS[status]
    if rule.trips is not None:
        return rule.trips(finding, within)
    return finding.catalog_status == status


# --- warnings that are findings in their own right ------------------------------------------------------------


@dataclass(frozen=True)
class WarningRule:
    """A kind of refusal: SARIF results, and ``--fail-on unknown`` counts them (what they stand for was not
    scanned). Which warning is which: ``ScanWarning.rule`` (shared/iac/pins.py)."""

    rule_id: WarningKind
    sarif_name: str
    level: str
    description: str


WARNING_RULES: dict[WarningKind, WarningRule] = {
    rule.rule_id: rule
    for rule in (
        WarningRule(
            WarningKind.OUTSIDE_ROOT,
            "ReferenceOutsideRoot",
            "error",
            "A file, module or load function leads outside the scanned folder: refused, not read "
            "(a symbolic link, ../ or an absolute path).",
        ),
        WarningRule(
            WarningKind.NOT_REGULAR,
            "NotARegularFile",
            "warning",
            "A device, FIFO or socket where a template was expected: not read.",
        ),
        WarningRule(
            WarningKind.TOO_LARGE,
            "TooLargeToEvaluate",
            "warning",
            "A file, value or expression beyond the scanner's limits (size, nesting): not evaluated.",
        ),
        WarningRule(
            WarningKind.SUPPRESSION_WITHOUT_REASON,
            "SuppressionWithoutReason",
            "warning",
            "A modelwatch:ignore comment gives no reason: the finding is not suppressed.",
        ),
    )
}

"""The demo's story on the console: per step, what changed in the catalog, what happened to deployments, the
canaries' verdicts and who was told, each said once (a redelivered or re-announced event has the same id)."""

from __future__ import annotations

from collections import Counter

from shared.cli.console import Console
from shared.domain.events import EventType, LifecycleEvent
from shared.domain.payloads import (
    AssessmentData,
    CanaryEvaluatedData,
    CatalogDigestData,
    DeploymentData,
    RolledBackData,
    UpgradeFailedData,
    VersionChangeData,
)
from shared.domain.routes import ChannelKind
from shared.domain.verdict import Verdict

# the console style of an event kind (its type without the prefix) or a canary verdict
STYLES = {
    "VersionRetired": "bold red",
    "RetirementApproaching": "yellow",
    "RetirementScheduled": "yellow",
    "LifecycleStatusChanged": "yellow",
    "CatalogAnomaly": "bold magenta",
    "VersionNotListed": "magenta",
    "VersionReleased": "green",
    "DefaultVersionChanged": "cyan",
    "DefaultVersionChangeScheduled": "cyan",
    "AtRisk": "bold red",
    "UpgradePlanned": "yellow",
    "Upgraded": "green",
    "RolledBack": "magenta",
    "UpgradeFailed": "bold red",
    Verdict.REGRESSION: "bold red",
    Verdict.PASS: "green",
    Verdict.ERROR: "yellow",
}


def tell(
    events: list[LifecycleEvent],
    sent: list[tuple[str, ChannelKind, str]],
    console: Console,
    shown: set[str],
) -> None:
    """One step's story: the catalog's changes, what happened to deployments, the canaries' verdicts and who was
    told (``sent``: the posts of this step); ``shown`` holds the ids of the events already told."""
    digests = [e for e in events if e.event_type == EventType.CATALOG_DIGEST]
    for digest in digests:
        for change in digest.payload_as(CatalogDigestData).changes:
            where = ", ".join(change.locations)
            kind = change.event_type.removeprefix("ModelLifecycle.")
            model = f"{change.model_name} {change.model_version}" if change.model_name else where
            console.line(
                "  catalog  ", (f"{kind:<30}", STYLES.get(kind, "")), f" {model}: {change.summary} [{where}]"
            )
    for e in events:
        # a redelivered or re-announced event has the same id: subscribers de-duplicate it, and so does the story
        # (across steps: a standing that has not changed is not told again)
        if e.event_type.startswith("ModelLifecycle.Deployment") and e.id not in shown:
            shown.add(e.id)
            d = e.payload_as(DeploymentData)
            kind = e.event_type.removeprefix("ModelLifecycle.Deployment")
            what = d.summary if isinstance(d, AssessmentData) else ""
            if isinstance(d, UpgradeFailedData):
                what = f"{d.model_name} {d.model_version} -> {d.target_model_name} {d.target_version} refused: {d.error}"
            if isinstance(d, VersionChangeData):
                what = f"{d.from_model} {d.from_version} -> {d.to_model} {d.to_version} by {d.applied_by}"
                if isinstance(d, RolledBackData) and d.side_by_side:
                    what += f" (side by side: {d.sibling_deployment_name})"
            console.line(
                "  deploy   ", (f"{kind:<14}", STYLES.get(kind, "")), f" {d.deployment_name}: {what}"
            )
    for e in events:
        if e.event_type == EventType.CANARY_EVALUATED and e.id not in shown:
            shown.add(e.id)
            c = e.payload_as(CanaryEvaluatedData)
            line = f" {c.deployment_name}: tested {c.current_passed}/{c.cases} -> {c.target_passed}/{c.cases} on "
            line += f"{c.target_model_name} {c.target_version}"
            if c.regressions:
                line += f", regressed: {', '.join(c.regressions)} ({c.first_failure})"
            if c.canary_created:
                line += f"; in {c.target_deployment}, created and deleted"
            elif c.target_deployment:  # one of the target version already in the account: side by side
                line += f"; against {c.target_deployment}"
            console.line("  canary   ", (f"{c.verdict:<14}", STYLES.get(c.verdict, "")), line)
            if c.protection:  # CANARY_PROTECT: what modelwatch did to the update policy because of it
                kind = "pinned" if c.verdict == Verdict.REGRESSION else "unpinned"
                console.line(
                    "  protect  ", (f"{kind:<14}", "bold magenta"), f" {c.deployment_name}: {c.protection}"
                )
    told = Counter(route for route, _, _ in sent)
    if told:
        console.line(
            ("  told     ", "dim"),
            ", ".join(f"{route} ({n // 2} message(s), Teams and Slack)" for route, n in sorted(told.items())),
        )

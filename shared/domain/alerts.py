"""What people are told: lifecycle events turned into messages (pure), with severity and the route that owns them.

One message per change: catalog news comes from ``CatalogDigest`` events (a change across twelve regions is one
message listing them); each deployment event is one message to the deployment's route (its
``modelwatch:route`` tag, else the default route). Every deployment message says what happens, when, and what to
do, with the rollback command where one applies. Rendering to Slack and Teams is in ``shared/presentation/render.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import IntEnum
from urllib.parse import quote, urljoin

from shared.domain.events import EventType, LifecycleEvent
from shared.domain.payloads import (
    AssessmentData,
    CatalogDigestData,
    DeploymentData,
    DigestChange,
    RolledBackData,
    VersionChangeData,
)

RETIREMENTS_URL = "https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements"
MAX_CHANGE_MESSAGES = (
    10  # a digest with more changes (a first install's baseline) becomes one summary message
)


class Severity(IntEnum):
    INFO = 0
    WARNING = 1
    CRITICAL = 2

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"{text!r} is not a severity (info, warning, critical)") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Message:
    """One message, before rendering. ``key`` tells apart the messages of one event (ledger: event, key, channel)."""

    key: str
    kind: str  # a stable name per kind of message (tests, previews, the rendering check)
    severity: Severity
    title: str  # the headline (Slack header: at most 150 characters)
    text: str  # one line: the notification and fallback text
    facts: tuple[tuple[str, str], ...] = ()
    happens: str = ""  # what will happen
    todo: str = ""  # what to do
    command: str = ""  # a command to run (rollback), shown as code
    items: tuple[str, ...] = ()  # a list (regions, changes): long ones are summarised with a count
    items_title: str = ""
    items_as_lines: bool = False  # one item per line (sentences), rather than a comma-separated list (names)
    route: str | None = None  # deployment messages: the route tag; None: the default route
    catalog_news: bool = False  # catalog news (a route can turn off the informational part)
    links: tuple[tuple[str, str], ...] = ()  # (title, url): the status page, a rollback's confirmation step


def _s(value: object) -> str:
    return "" if value is None else str(value)


_ZWSP = "\u200b"
_MARKUP = str.maketrans({c: c + _ZWSP for c in "[]*_~`|"})


def _t(value: object) -> str:
    """A tenant-controlled string (a deployment or account name, a tag, who changed it) made inert in Teams
    markdown and Slack mrkdwn: a zero-width space after each markup character keeps it visible but stops links
    ("[x](url)"), emphasis and code spans; Slack's <, > and & are escaped by the renderer, so no <!channel>."""
    return _s(value).translate(_MARKUP)


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else ""


def _days_text(days: int | None) -> str:
    if days is None:
        return ""
    if days <= 0:
        return "today"
    return "1 day" if days == 1 else f"{days} days"


def _when(date: datetime | None, days: int | None) -> str:
    day, left = _day(date), _days_text(days)
    return f"{day} ({left} left)" if day and left and left != "today" else day or left


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


APP_SETTINGS_FILE = "app-settings.json"
# how an operator gets the deployed app's settings, so the command works against the app's own state and scope
APP_SETTINGS_HOW = (
    f"az functionapp config appsettings list -g <resource group> -n <app> > {APP_SETTINGS_FILE}"
)


def rollback_command(deployment_id: str) -> str:
    """The command an operator runs from a workstation: against the deployed app's state (its STATE_STORE and
    table prefix) and write scope, read from the app's settings (--app-settings), never the local default."""
    return f"python -m shared rollback {deployment_id} --dry-run --app-settings {APP_SETTINGS_FILE}"


# ---- catalog news (from digests)

_CHANGE_TITLES = {
    EventType.VERSION_RELEASED: "New version",
    EventType.DEFAULT_VERSION_CHANGED: "New default version",
    EventType.DEFAULT_VERSION_CHANGE_SCHEDULED: "Default version change scheduled",
    EventType.RETIREMENT_SCHEDULED: "Retirement scheduled",
    EventType.RETIREMENT_APPROACHING: "Retirement approaching",
    EventType.VERSION_RETIRED: "Version retired",
    EventType.LIFECYCLE_STATUS_CHANGED: "Lifecycle status changed",
    EventType.CATALOG_ANOMALY: "Catalog anomaly",
}


def change_severity(change: DigestChange) -> Severity:
    kind = change.event_type
    if kind == EventType.RETIREMENT_APPROACHING:
        days = change.days_remaining
        return Severity.CRITICAL if days is not None and days <= 7 else Severity.WARNING
    if kind == EventType.RETIREMENT_SCHEDULED:
        return Severity.INFO if change.change == "cancelled" else Severity.WARNING
    if kind in (
        EventType.DEFAULT_VERSION_CHANGE_SCHEDULED,
        EventType.VERSION_RETIRED,
        EventType.CATALOG_ANOMALY,
    ):
        return Severity.WARNING
    return Severity.INFO


def _change_what(change: DigestChange) -> tuple[str, str]:
    """(what happens, what to do) for one catalog change."""
    kind = change.event_type
    model = f"{change.model_name} {change.model_version}"
    if kind == EventType.DEFAULT_VERSION_CHANGED:
        return (
            f"Deployments on OnceNewDefaultVersionAvailable are moved to {model} by Azure within two weeks.",
            "Test it now; pin deployments that must not move (NoAutoUpgrade, or tag modelwatch:policy=pin).",
        )
    if kind == EventType.DEFAULT_VERSION_CHANGE_SCHEDULED:
        target = f"{_s(change.target_model_name)} {_s(change.target_model_version)}"
        return (
            f"From {_day(change.scheduled_for)} Azure moves auto-update deployments of {model} to {target}.",
            f"Test {target} before then.",
        )
    if kind in (EventType.RETIREMENT_SCHEDULED, EventType.RETIREMENT_APPROACHING):
        if change.change == "cancelled":
            return "The retirement date was withdrawn.", "Nothing; deployments keep working."
        return (
            f"Deployments of {model} stop answering (HTTP 410) on {_day(change.retirement_date)} unless "
            "they are upgraded; NoAutoUpgrade and provisioned deployments are never upgraded by Azure.",
            "Check `python -m shared plan` for the deployments affected and move them to a newer version.",
        )
    if kind == EventType.VERSION_RETIRED:
        return (
            f"Calls to deployments still on {model} fail (HTTP 410).",
            "Upgrade any deployment still on it; `python -m shared plan` lists them.",
        )
    if kind == EventType.CATALOG_ANOMALY:
        return (
            "The catalog answered with many versions missing: no retirement was concluded, the snapshot is kept.",
            "Nothing unless it persists; then check ARM access of the watcher's identity.",
        )
    if kind == EventType.VERSION_RELEASED:
        return "", "Nothing required."
    return "", ""


def _change_message(index: int, change: DigestChange) -> Message:
    kind = change.event_type
    model = f"{change.model_name} {change.model_version}".strip() or "the catalog"
    regions = change.locations
    summary = change.summary
    title = f"{_CHANGE_TITLES.get(EventType(kind), kind) if kind in set(EventType) else kind}: {model}"
    happens, todo = _change_what(change)
    facts: list[tuple[str, str]] = [("Model", model), ("Change", summary)]
    if change.retirement_date:
        facts.append(("Retires", _when(change.retirement_date, change.days_remaining)))
    replacement = change.replacement
    if replacement is not None and replacement.target_model_name:
        target = f"{replacement.target_model_name} {_s(replacement.target_model_version)}"
        facts.append(("Replacement", target.strip()))
    facts.append(("Regions", str(len(regions))))
    where = f"{len(regions)} regions" if len(regions) != 1 else (regions[0] if regions else "")
    return Message(
        key=f"change-{index}",
        kind=f"catalog-{kind.removeprefix('ModelLifecycle.')}",
        severity=change_severity(change),
        title=title,
        text=f"{model}: {summary} ({where})" if where else f"{model}: {summary}",
        facts=tuple(facts),
        happens=happens,
        todo=todo,
        items=regions,
        items_title="Regions",
        catalog_news=True,
    )


def digest_messages(digest: LifecycleEvent) -> list[Message]:
    data = digest.payload_as(CatalogDigestData)
    changes = data.changes
    if len(changes) <= MAX_CHANGE_MESSAGES:
        return [_change_message(i, c) for i, c in enumerate(changes)]
    # a baseline or a big release day: one message listing every change, worst first
    ranked = sorted(changes, key=lambda c: -change_severity(c))
    lines = tuple(f"{c.model_name} {c.model_version}: {c.summary} ({_where(c.locations)})" for c in ranked)
    worst = max(change_severity(c) for c in changes)
    return [
        Message(
            key="changes",
            kind="catalog-summary",
            severity=worst,
            title=f"Model catalog: {len(changes)} changes",
            text=f"Model catalog: {len(changes)} changes in {len(data.locations)} region(s)",
            facts=(
                ("Changes", str(len(changes))),
                ("Regions", str(len(data.locations))),
            ),
            todo="Check `python -m shared plan` for what affects your deployments.",
            items=lines,
            items_title="Changes",
            items_as_lines=True,
            catalog_news=True,
        )
    ]


def _where(names: Sequence[str]) -> str:
    return ", ".join(names) if len(names) <= 3 else f"{len(names)} regions"


# ---- deployment messages


def _tone(status: str, days: int | None) -> tuple[Severity, str]:
    """Severity and headline prefix of a deployment at risk: the tone rises as the date comes near."""
    if status == "broken":
        return Severity.CRITICAL, "Broken"
    if days is not None and days <= 7:
        return Severity.CRITICAL, "Urgent"
    if days is not None and days <= 30:
        return Severity.WARNING, "Action needed"
    return Severity.WARNING, "Heads-up"


def _deployment_facts(d: DeploymentData) -> list[tuple[str, str]]:
    account = _t(d.account_id.rsplit("/", 1)[-1])
    policy = _s(d.version_upgrade_option)
    if d.is_provisioned:
        policy += " · provisioned: never auto-upgraded by Azure"
    return [
        ("Deployment", _t(d.deployment_name)),
        ("Account", f"{account} ({d.location})"),
        ("Model", f"{d.model_name} {d.model_version}"),
        ("SKU", _s(d.sku_name)),
        ("Policy", policy),
    ]


def deployment_message(event: LifecycleEvent, now: datetime | None = None) -> Message | None:
    d = event.payload_as(DeploymentData)
    kind = event.event_type
    name, model = _t(d.deployment_name), f"{d.model_name} {d.model_version}"
    route = d.route or None
    facts = _deployment_facts(d)
    if kind == EventType.DEPLOYMENT_AT_RISK and isinstance(d, AssessmentData):
        status, days = d.status, d.days_remaining
        severity, tone = _tone(status, days)
        when = _when(d.retirement_date, days)
        facts.append(("Retires" if status != "broken" else "Retired", when or "unknown"))
        provisioned = d.is_provisioned
        return Message(
            key="message",
            kind="deployment-broken" if status == "broken" else "deployment-at-risk",
            severity=severity,
            title=f"{tone}: {name} ({model}) {'has stopped working' if status == 'broken' else 'will stop working'}",
            text=f"{tone}: deployment {name} ({model}, {d.location}): {d.summary}",
            facts=tuple(facts),
            happens=_sentence(d.summary),
            todo=(
                "Create or move to a deployment of a supported version now; calls to this one fail."
                if status == "broken"
                else (
                    "Provisioned deployments are never upgraded by Azure: plan the move (capacity included) "
                    "before the date."
                    if provisioned
                    else "Upgrade it to a newer version before the date, or change its policy so Azure does."
                )
            ),
            route=route,
        )
    if kind == EventType.DEPLOYMENT_UPGRADE_PLANNED and isinstance(d, AssessmentData):
        # every message names the target's model and version: Azure's replacement can be another model
        target = f"{d.target_model_name or d.model_name} {_s(d.target_version)}".strip()
        by_azure = d.performed_by == "azure"
        when = _day(d.action_date)
        if by_azure:
            severity, title = (
                Severity.INFO,
                f"Azure will upgrade {name} to {target}" + (f" on {when}" if when else ""),
            )
            todo = (
                "Test your workload on the new version before then; tag it modelwatch:policy=pin or set "
                "NoAutoUpgrade to hold it."
            )
        elif d.mode == "enforce":
            severity, title = Severity.INFO, f"modelwatch is upgrading {name} to {target}"
            todo = "Nothing; a rollback stays possible while the old version exists."
        else:
            severity, title = Severity.WARNING, f"{name} needs an upgrade to {target}"
            todo = f"Upgrade it to {target} (POLICY_MODE=plan: modelwatch will not), or enable enforcement."
        facts.append(("Target", target))
        if d.retirement_date:
            facts.append(("Retires", _when(d.retirement_date, d.days_remaining)))
        return Message(
            key="message",
            kind="deployment-upgrade-expected" if by_azure else "deployment-upgrade-planned",
            severity=severity,
            title=title,
            text=f"{title} ({model}, {d.location})",
            facts=tuple(facts),
            happens=_sentence(d.summary),
            todo=todo,
            route=route,
        )
    if isinstance(d, VersionChangeData):
        rolled = isinstance(d, RolledBackData)
        from_model = d.from_model or d.model_name
        to_model = d.to_model or d.model_name
        old = f"{from_model} {_s(d.from_version)}"
        new = f"{to_model} {_s(d.to_version)}"
        until = _day(d.rollback_available_until)
        applied = d.applied_by
        by = {"azure": "Azure", "modelwatch": "modelwatch", "external": "Someone outside modelwatch"}.get(
            applied, applied
        )
        who = _t(d.changed_by)
        facts[2] = ("Model", f"{old} → {new}")
        if who:
            facts.append(("Asked by" if rolled else "Changed by", who))
        if isinstance(d, RolledBackData) and d.side_by_side:
            sibling = _t(d.sibling_deployment_name)
            facts.append(("New deployment", sibling))
            return Message(
                key="message",
                kind="deployment-rolled-back-side-by-side",
                severity=Severity.WARNING,
                title=f"{name} rolled back side by side: {sibling} runs {to_model} {_s(d.to_version)}",
                text=f"{name} stays on {old}; new deployment {sibling} runs {to_model} {_s(d.to_version)}",
                facts=tuple(facts),
                happens=f"{sibling} answers on {to_model} {_s(d.to_version)} (NoAutoUpgrade)"
                + (f" until {until}" if until else "")
                + f"; {name} is unchanged and nothing was deleted.",
                todo=f"Point the callers that need the previous model at {sibling}; delete it when done.",
                route=route,
            )
        if isinstance(d, RolledBackData):
            previous = d.previous_policy or "OnceCurrentVersionExpired (absent)"
            facts.append(("Previous policy", previous))
            return Message(
                key="message",
                kind="deployment-rolled-back",
                severity=Severity.WARNING,
                title=f"{name} rolled back to {new}",
                text=f"{name} rolled back from {old} to {new}; auto-upgrade is off (NoAutoUpgrade)",
                facts=tuple(facts),
                happens=f"It runs {new} with NoAutoUpgrade, so Azure will not move it forward again"
                + (f"; {old} stays deployable until {until}." if until else "."),
                todo=f"Fix what made you roll back, then upgrade and restore the policy ({previous}).",
                route=route,
            )
        facts.append(("Rollback until", until or "no retirement date known"))
        external = applied == "external"
        verb = "changed" if external else "upgraded"
        return Message(
            key="message",
            kind=f"deployment-upgraded-by-{applied or 'unknown'}",
            severity=Severity.WARNING if external else Severity.INFO,
            title=f"{by} {verb} {name} to {new}",
            text=f"{by} {verb} deployment {name} from {old} to {new}",
            facts=tuple(facts),
            happens=f"Calls now go to {new}."
            + (
                " Neither modelwatch nor Azure's documented upgrade explains this change." if external else ""
            ),
            todo=(
                f"If it misbehaves, roll back (possible until {until})"
                if until
                else "If it misbehaves, roll back"
            )
            + f", with the app's settings saved by {APP_SETTINGS_HOW}:",
            command=rollback_command(d.deployment_id),
            route=route,
        )
    return None


def messages_for(
    event: LifecycleEvent, now: datetime | None = None, *, status_page_url: str | None = None
) -> list[Message]:
    """The messages an event makes (none for event types people are not told about directly). With
    ``status_page_url`` (STATUS_PAGE_URL) each links to the status page, and an upgrade to its rollback step."""
    if event.event_type == EventType.CATALOG_DIGEST:
        messages = digest_messages(event)
    else:
        message = deployment_message(event, now)
        messages = [message] if message is not None else []
    if not status_page_url:
        return messages
    links: list[tuple[str, str]] = [("Open status page", status_page_url)]
    payload = event.payload()
    deployment_id = payload.deployment_id if isinstance(payload, DeploymentData) else ""
    if event.event_type == EventType.DEPLOYMENT_UPGRADED and deployment_id.startswith("/subscriptions/"):
        step = urljoin(status_page_url, f"rollback?deploymentId={quote(deployment_id, safe='')}")
        links.insert(0, ("Roll back…", step))
    return [replace(m, links=tuple(links)) for m in messages]


def summarise(items: Sequence[str], limit: int) -> tuple[list[str], int]:
    """The first ``limit`` items and how many more there are: lists are cut between items, never inside one."""
    shown = list(items[:limit])
    return shown, len(items) - len(shown)

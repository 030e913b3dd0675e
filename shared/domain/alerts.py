"""What people are told: lifecycle events turned into messages (pure), with severity and the route that owns them.

One message per change: catalog news comes from ``CatalogDigest`` events (a change across twelve regions is one
message listing them); each deployment event is one message to the deployment's route (its
``modelwatch:route`` tag, else the default route). Every deployment message says what happens, when, and what to
do, with the rollback command where one applies. Rendering to Slack and Teams is in ``shared/presentation/slack.py``
and ``teams.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import quote, urljoin

from shared.domain.changes import AppliedBy
from shared.domain.deployments import UpgradeOption
from shared.domain.events import EventType, LifecycleEvent
from shared.domain.impact import Impact, impact_of
from shared.domain.payloads import (
    CanaryEvaluatedData,
    CatalogDigestData,
    DeploymentData,
    DigestChange,
    NotListedReason,
    RetirementChange,
    RolledBackData,
    UpgradeFailedData,
    VersionChangeData,
)
from shared.domain.policy import Assessment
from shared.domain.routes import DEFAULT_ROUTE, NO_MENTIONS, Mentions
from shared.domain.severity import Severity
from shared.domain.verdict import Verdict

RETIREMENTS_URL = "https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements"


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
    count_items: bool = True  # show the list's length beside its title (not when items are outcome lines)
    # who is mentioned: set only by ``mentioned`` from the route's validated settings, never from any text
    mentions: Mentions = NO_MENTIONS


def _s(value: object) -> str:
    return "" if value is None else str(value)


_ZWSP = "\u200b"
_MARKUP = str.maketrans({c: c + _ZWSP for c in "[]*_~`|"})


def inert(value: object) -> str:
    """A tenant-controlled string (a deployment or account name, a tag, who changed it) made inert in Teams
    markdown and Slack mrkdwn: a zero-width space after each markup character keeps it visible but stops links
    ("[x](url)"), emphasis and code spans, and a bare "https://" link. The renderers make every text inert for
    their channel too (Slack's <, > and & escaped, so no <!channel>: shared/presentation/slack.py); this keeps the
    code spans of tenant text apart from the message's own."""
    return _s(value).translate(_MARKUP).replace("://", ":/" + _ZWSP + "/")


_t = inert


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
    EventType.VERSION_NOT_LISTED: "Version not listed",
}


def change_severity(change: DigestChange) -> Severity:
    kind = change.event_type
    if kind == EventType.RETIREMENT_APPROACHING:
        days = change.days_remaining
        return Severity.CRITICAL if days is not None and days <= 7 else Severity.WARNING
    if kind == EventType.RETIREMENT_SCHEDULED:
        return Severity.INFO if change.change == RetirementChange.CANCELLED else Severity.WARNING
    if kind == EventType.VERSION_NOT_LISTED:  # at most a warning: the dates, not the absence, decide
        return Severity.WARNING if change.reason == NotListedReason.GONE_BEFORE_RETIREMENT else Severity.INFO
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
        if change.change == RetirementChange.CANCELLED:
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
    if kind == EventType.VERSION_NOT_LISTED:
        return (
            f"{model} is missing from a subscription's catalog, which is not a retirement: the catalog is "
            "subscription-scoped (a Deprecated version is listed only to subscriptions that have deployed it). "
            "Deployments keep working until the dates Azure published; modelwatch writes nothing because of it.",
            "Nothing now; plan the move before the date. Azure's own notices are the email to subscription owners "
            "with active deployments and the Service Health advisories (Azure OpenAI Service).",
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


# route name -> the engine's decisions for that route's deployments a change concerns, per change of a digest
Concerned = Mapping[int, Mapping[str, Sequence[Assessment]]]


def _merged_into_release(changes: Sequence[DigestChange]) -> set[int]:
    """A version that arrives with its retirement date is one "released" message: the RetirementScheduled (new)
    of a version released in the same digest is told by the release (it carries the date)."""
    released = {
        (c.model_format, c.model_name, c.model_version)
        for c in changes
        if c.event_type == EventType.VERSION_RELEASED
    }
    return {
        i
        for i, c in enumerate(changes)
        if c.event_type == EventType.RETIREMENT_SCHEDULED
        and c.change == RetirementChange.NEW
        and (c.model_format, c.model_name, c.model_version) in released
    }


def _told_to(base: Message, route: str, impact: Impact) -> Message:
    """The change as one team hears it: with what it means for their deployments, each outcome on a line."""
    count = _count_text(impact.deployments)
    return replace(
        base,
        severity=max(base.severity, impact.severity),
        text=f"{base.text}: {count} of yours concerned",
        facts=(*base.facts, ("Your deployments", str(impact.deployments))),
        todo=impact.todo or base.todo,
        items=impact.lines,
        items_title="What it means for your deployments",
        items_as_lines=True,
        count_items=False,
        route=None if route == DEFAULT_ROUTE else route,
        catalog_news=False,  # about the team's own deployments: never filtered out as news
    )


def _count_text(n: int) -> str:
    return "1 deployment" if n == 1 else f"{n} deployments"


def digest_messages(
    digest: LifecycleEvent, concerned: Concerned | None = None, *, enforce: bool = False
) -> list[Message]:
    """One message per route per digest (a cycle's changes across every region), never one per deployment.

    The default route hears the news, every change, with what it means for its own (untagged) deployments; each
    other route hears the changes that concern its deployments, with what they mean for them. ``concerned``:
    per change, per route, the decisions to tell (the caller leaves out what a route was already told)."""
    data = digest.payload_as(CatalogDigestData)
    skip = _merged_into_release(data.changes)
    changes = [(i, c) for i, c in enumerate(data.changes) if i not in skip]
    concerned = concerned or {}
    routes = sorted({r for per_route in concerned.values() for r in per_route} - {DEFAULT_ROUTE})
    out = []
    for route in [DEFAULT_ROUTE, *routes]:
        told = [
            (i, c, impact_of((concerned.get(i) or {}).get(route, ()), enforce=enforce)) for i, c in changes
        ]
        if route != DEFAULT_ROUTE:
            told = [(i, c, imp) for i, c, imp in told if imp.told]
        if told:
            out.append(_route_message(route, told, data))
    return out


def _route_message(
    route: str, told: Sequence[tuple[int, DigestChange, Impact]], data: CatalogDigestData
) -> Message:
    """The changes of one digest as one route hears them."""
    impacts = [imp for _, _, imp in told if imp.told]
    if len(told) == 1:
        i, change, impact = told[0]
        news = _change_message(i, change)
        message = _told_to(news, route, impact) if impact.told else news
        return replace(message, key="digest")
    ranked = sorted(told, key=lambda t: (-max(change_severity(t[1]), t[2].severity), t[0]))
    lines: list[str] = []
    for _, c, imp in ranked:
        lines.append(f"{c.model_name} {c.model_version}: {c.summary} ({_where(c.locations)})")
        lines.extend(f"  → {line}" for line in imp.lines)
    severity = max(max(change_severity(c), imp.severity) for _, c, imp in told)
    worst = max(impacts, key=lambda imp: imp.severity, default=None)
    concerned = sum(imp.deployments for imp in impacts)
    if route == DEFAULT_ROUTE:
        title = f"Model catalog: {len(told)} changes"
        text = f"{title} in {len(data.locations)} region(s)"
    else:
        title = f"{len(told)} model changes for your deployments"
        text = f"{title}: {_count_text(concerned)} concerned"
    facts = [("Changes", str(len(told))), ("Regions", str(len(data.locations)))]
    if impacts:
        facts.append(("Your deployments", str(concerned)))
    return Message(
        key="digest",
        kind="catalog-summary" if route == DEFAULT_ROUTE else "catalog-changes-for-route",
        severity=severity,
        title=title,
        text=text,
        facts=tuple(facts),
        todo=worst.todo
        if worst is not None
        else "Check `python -m shared plan` for what affects your deployments.",
        items=tuple(lines),
        items_title="Changes, and what they mean for your deployments" if impacts else "Changes",
        items_as_lines=True,
        count_items=not impacts,
        route=None if route == DEFAULT_ROUTE else route,
        catalog_news=not impacts,  # about the team's own deployments: never filtered out as news
    )


def _where(names: Sequence[str]) -> str:
    return ", ".join(names) if len(names) <= 3 else f"{len(names)} regions"


# ---- deployment messages


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


_BY = {
    AppliedBy.AZURE: "Azure",
    AppliedBy.MODELWATCH: "modelwatch",
    AppliedBy.EXTERNAL: "Someone outside modelwatch",
}


def _move(d: VersionChangeData) -> tuple[str, str, str, str]:
    """A version change in words, one deployment's or a batch's: (old, new, who made it, its verb: "changed" when
    it is external, neither modelwatch's nor Azure's documented upgrade)."""
    from_model, to_model = d.from_model or d.model_name, d.to_model or d.model_name
    verb = "changed" if d.applied_by == AppliedBy.EXTERNAL else "upgraded"
    by = _BY.get(d.applied_by, d.applied_by)
    return f"{from_model} {_s(d.from_version)}", f"{to_model} {_s(d.to_version)}", by, verb


def _listed(d: DeploymentData) -> str:
    """A deployment as a batch lists it: name (account, region)."""
    return f"{_t(d.deployment_name)} ({_t(d.account_id.rsplit('/', 1)[-1])}, {d.location})"


def deployment_message(event: LifecycleEvent, now: datetime | None = None) -> Message | None:
    """The message of one deployment's version change (upgraded, rolled back); None for other events (a
    deployment's risk is told with the catalog change that causes it, once per team: ``digest_messages``)."""
    d = event.payload_as(DeploymentData)
    name = _t(d.deployment_name)
    route = d.route or None
    facts = _deployment_facts(d)
    if isinstance(d, UpgradeFailedData):
        return _failed_message([d])
    if isinstance(d, CanaryEvaluatedData):
        return canary_message(d)
    if isinstance(d, VersionChangeData):
        rolled = isinstance(d, RolledBackData)
        to_model = d.to_model or d.model_name
        old, new, by, verb = _move(d)
        applied, external = d.applied_by, d.applied_by == AppliedBy.EXTERNAL
        until = _day(d.rollback_available_until)
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


def canary_message(d: CanaryEvaluatedData) -> Message:
    """A canary's verdict for the owning team: the cases passed on each version, the regressions by name, the first
    failure reason (told at once: it answers one deployment's coming move)."""
    name = _t(d.deployment_name)
    old, new = f"{d.model_name} {d.model_version}", f"{d.target_model_name} {d.target_version}"
    tested = f"{d.current_passed}/{d.cases} → {d.target_passed}/{d.cases} on {new}"
    facts = [
        *_deployment_facts(d)[:3],
        ("Suite", _t(d.suite)),
        (
            "Tested on",
            _t(d.target_deployment)
            + (" (a temporary canary modelwatch created)" if d.canary_created else ""),
        ),
        ("Passed", f"{d.current_passed}/{d.cases} on {old}, {d.target_passed}/{d.cases} on {new}"),
    ]
    if d.first_failure:
        facts.append(("First failure", _t(d.first_failure)))
    if d.verdict == Verdict.REGRESSION:
        regressions = ", ".join(_t(r) for r in d.regressions)
        what = (
            f"{len(d.regressions)} regression(s): {regressions}"
            if d.regressions
            else "below the suite's threshold"
        )
        return Message(
            key="message",
            kind="canary-regression",
            severity=Severity.WARNING,
            title=f"{name} on {new}: {what}",
            text=f"{name}: tested {tested}; {what}",
            facts=tuple(facts),
            happens=f"{new} fails cases {old} passes. "
            + (
                _t(d.protection)
                if d.protection
                else "Azure moves this deployment there by its update policy unless it is pinned."
                if d.version_upgrade_option != UpgradeOption.NO_AUTO
                else "This deployment is pinned (NoAutoUpgrade): nothing moves it by itself."
            ),
            todo="Fix the prompts or the parsing for the new version"
            + (
                "; modelwatch pinned it for now (see above)"
                if d.protection
                else ", or pin the deployment (versionUpgradeOption NoAutoUpgrade) until it passes"
            )
            + "; a later canary run on a newer target is told too.",
            items=tuple(_t(r) for r in d.regressions),
            items_title="Regressions",
            route=d.route or None,
        )
    if d.verdict == Verdict.ERROR:
        return Message(
            key="message",
            kind="canary-error",
            severity=Severity.INFO,
            title=f"{name}: the canary on {new} could not run",
            text=f"{name}: the canary on {new} could not run: {_t(d.reason)}",
            facts=(*facts, ("Why", _t(d.reason))),
            happens="Nothing was tested: the coming version is neither passed nor failed.",
            todo="Fix what stopped it (quota or capacity for a canary in the region, the data-plane role, a "
            "deployment of the target side by side), then run `python -m shared canary run` again.",
            route=d.route or None,
        )
    return Message(
        key="message",
        kind="canary-passed",
        severity=Severity.INFO,
        title=f"{name} passes its suite on {new}",
        text=f"{name}: tested {tested}",
        facts=tuple(facts),
        happens=f"{new} passes what {old} passes." + (f" {_t(d.protection)}" if d.protection else ""),
        todo="Nothing to do.",
        route=d.route or None,
    )


# ---- held news: one message per route and group (see shared/domain/held.py)

# Azure moves many deployments in one sweep; one refusal (quota) fails many of modelwatch's writes alike
HELD_TYPES = frozenset({EventType.DEPLOYMENT_UPGRADED, EventType.DEPLOYMENT_UPGRADE_FAILED})


def hold_group(event: LifecycleEvent) -> str | None:
    """The group a deployment event waits in until its batch is told (one message per route and group), or
    None when it is told at once (a rollback: one operator's action, answered at once)."""
    if event.event_type not in HELD_TYPES:
        return None
    if event.event_type == EventType.DEPLOYMENT_UPGRADE_FAILED:
        f = event.payload_as(UpgradeFailedData)
        return f"failed|{f.model_name} {f.model_version}|{f.target_model_name} {f.target_version}"
    d = event.payload_as(VersionChangeData)
    from_model, to_model = d.from_model or d.model_name, d.to_model or d.model_name
    return f"upgraded|{d.applied_by}|{from_model} {d.from_version}|{to_model} {d.to_version}"


def batch_message(events: Sequence[LifecycleEvent]) -> Message | None:
    """One message for the held events of one route and group (one event: its own message)."""
    if len(events) <= 1:
        return deployment_message(events[0]) if events else None
    if events[0].event_type == EventType.DEPLOYMENT_UPGRADE_FAILED:  # a group holds one type (hold_group)
        return _failed_message(
            sorted((e.payload_as(UpgradeFailedData) for e in events), key=lambda d: d.deployment_name)
        )
    changes = sorted((e.payload_as(VersionChangeData) for e in events), key=lambda d: d.deployment_name)
    first = changes[0]
    old, new, by, verb = _move(first)
    applied, external = first.applied_by, first.applied_by == AppliedBy.EXTERNAL
    dates = [d.rollback_available_until for d in changes if d.rollback_available_until is not None]
    until = _day(min(dates)) if dates else ""
    regions = sorted({d.location for d in changes})
    title = f"{by} {verb} {len(changes)} deployments from {old} to {new}"
    return Message(
        key="batch",
        kind=f"deployments-upgraded-by-{applied or 'unknown'}",
        severity=Severity.WARNING if external else Severity.INFO,
        title=title,
        text=f"{title} ({_where(regions)})",
        facts=(
            ("From", old),
            ("To", new),
            ("Deployments", str(len(changes))),
            ("Regions", _where(regions)),
            ("Rollback until", until or "no retirement date known"),
        ),
        happens=f"Calls to them now go to {new}."
        + (" Neither modelwatch nor Azure's documented upgrade explains these changes." if external else ""),
        todo=(
            f"If one misbehaves, roll it back (possible until {until})"
            if until
            else "If one misbehaves, roll it back"
        )
        + f": the status page's Roll back button, or the command below with its id, with the "
        f"app's settings saved by {APP_SETTINGS_HOW}:",
        command=rollback_command("<deployment id>"),
        items=tuple(_listed(d) for d in changes),
        items_title="Deployments",
        route=first.route or None,
    )


def _gist(f: UpgradeFailedData) -> str:
    """ARM's words without the deployment they name: one refusal (quota) of many deployments reads once."""
    return f.error.replace(f.deployment_id, "<deployment>").replace(f.deployment_name, "<deployment>")


def _failed_message(failures: Sequence[UpgradeFailedData]) -> Message:
    """modelwatch's upgrades of one version to one target that ARM refused: one deployment, or a batch."""
    first = failures[0]
    old = f"{first.model_name} {first.model_version}"
    new = f"{first.target_model_name} {first.target_version}"
    dates = [f.retirement_date for f in failures if f.retirement_date is not None]
    stops = min(dates) if dates else None
    days = [f.days_remaining for f in failures if f.days_remaining is not None]
    soonest = min(days) if days else None
    one = len(failures) == 1
    subject = _t(first.deployment_name) if one else f"{len(failures)} deployments"
    title = f"modelwatch could not upgrade {subject} from {old} to {new}"
    errors = sorted({_t(_gist(f)) for f in failures})
    facts = _deployment_facts(first) if one else [("Deployments", str(len(failures)))]
    facts = [
        *facts,
        ("Target", new),
        ("Stops working", _when(stops, soonest) if stops else "no retirement date known"),
        ("ARM said", errors[0] if len(errors) == 1 else f"{len(errors)} different errors (listed below)"),
    ]
    regions = sorted({f.location for f in failures})
    return Message(
        key="message" if one else "batch",
        kind="deployment-upgrade-failed",
        # calls already fail (or will within the shortest notice Azure gives): nobody else will move it
        severity=Severity.CRITICAL if soonest is not None and soonest <= 14 else Severity.WARNING,
        title=title,
        text=f"{title} ({_where(regions)}): " + errors[0],
        facts=tuple(facts),
        happens=f"{'It still runs' if one else 'They still run'} {old}"
        + (f" and stop{'s' if one else ''} working on {_day(stops)}." if stops else ".")
        + f" modelwatch tries again at the next catalog event about {'it' if one else 'them'}; a success is told as"
        " an upgrade.",
        todo="Fix what ARM refused (quota or capacity for the target in the region, a lock, the deployment "
        f"changed by someone else), or move {'it' if one else 'them'} to {new} yourself.",
        items=()
        if one
        else tuple(_listed(f) + (f": {_t(_gist(f))}" if len(errors) > 1 else "") for f in failures),
        items_title="Deployments",
        route=first.route or None,
    )


def messages_for(
    event: LifecycleEvent,
    now: datetime | None = None,
    *,
    status_page_url: str | None = None,
    concerned: Concerned | None = None,
    enforce: bool = False,
) -> list[Message]:
    """The messages an event makes (none for event types people are not told about directly); for a digest,
    ``concerned`` gives each route's deployments per change (see ``digest_messages``)."""
    if event.event_type == EventType.CATALOG_DIGEST:
        messages = digest_messages(event, concerned, enforce=enforce)
    else:
        message = deployment_message(event, now)
        messages = [message] if message is not None else []
    return with_links(messages, status_page_url, event)


def with_links(
    messages: Sequence[Message], status_page_url: str | None, event: LifecycleEvent | None = None
) -> list[Message]:
    """With ``status_page_url`` (STATUS_PAGE_URL) each message links to the status page, and the message of one
    upgraded deployment to its rollback step."""
    if not status_page_url:
        return list(messages)
    links: list[tuple[str, str]] = [("Open status page", status_page_url)]
    payload = event.payload() if event is not None else None
    deployment_id = payload.deployment_id if isinstance(payload, DeploymentData) else ""
    if (
        event is not None
        and event.event_type == EventType.DEPLOYMENT_UPGRADED
        and deployment_id.startswith("/subscriptions/")
    ):
        step = urljoin(status_page_url, f"rollback?deploymentId={quote(deployment_id, safe='')}")
        links.insert(0, ("Roll back…", step))
    return [replace(m, links=tuple(links)) for m in messages]


def mentioned(message: Message, mentions: Mentions) -> Message:
    """The message as the route tells it: a critical one mentions the route's people (its ``mentions`` in
    ALERT_ROUTES); routine news (info, warning: digests, upgrades) never wakes anyone."""
    if message.severity < Severity.CRITICAL or not mentions:
        return replace(message, mentions=NO_MENTIONS)
    return replace(message, mentions=mentions)


def summarise(items: Sequence[str], limit: int) -> tuple[list[str], int]:
    """The first ``limit`` items and how many more there are: lists are cut between items, never inside one."""
    shown = list(items[:limit])
    return shown, len(items) - len(shown)

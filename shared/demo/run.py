"""The demo: real Azure OpenAI lifecycle history replayed through the whole pipeline, in-process, in seconds.

Each step of ``shared/data/timeline.json``: the simulated Azure moves to the date (and applies its own upgrades);
the timer runs (inventory refresh, then the catalog cycle); every published event is delivered, at least once, to
the subscriber functions' code (``apply_update_policy`` in enforce mode, ``notify_channels``), until nothing new
is published. Alerts are written to ``demo-output/alerts/`` exactly as they would be posted to Teams and Slack.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from shared import bootstrap
from shared.adapters.local import JsonLinesPublisher
from shared.cli.console import Console
from shared.config import Settings, StateStoreConfig, StoreKind, UpgradeGate, load_settings
from shared.demo.outputs import Collecting, file_notifiers
from shared.demo.simulated import FENCED, LEGACY_SUBSCRIPTION, SUBSCRIPTION, SimulatedAzure, SimulatedChatApi
from shared.demo.story import tell
from shared.demo.timeline import TIMELINE, Timeline
from shared.domain.canary import CanaryMode
from shared.domain.events import JsonValue, LifecycleEvent
from shared.domain.policy import PolicyMode
from shared.domain.routes import ChannelKind, Route
from shared.domain.secret import Secret
from shared.domain.timeutil import parse_instant
from shared.presentation.status_page import render_status_page
from shared.services.canary import CanaryPipeline
from shared.services.pipeline import Subscriber, deliver, deliver_one
from shared.services.results import RETRY

DATA = Path(__file__).parent.parent / "data"
DEMO_IAC = DATA / "demo-iac"  # the teams' Bicep and Terraform, as written in 2025
DEMO_EVALS = DATA / "demo-evals"  # the payments team's suite (as evals/ ships it)
ROUTES = ("payments", "search")


def demo_settings(output: Path) -> Settings:
    """Enforce mode over the simulated subscriptions, canaries on, state in ``output``; webhooks never called."""
    base = load_settings({})
    hook = "https://alerts.invalid/"  # never called: the file notifiers write the payloads instead
    return replace(
        base,
        watch_subscription_id=SUBSCRIPTION,
        watch_subscription_ids=(SUBSCRIPTION, LEGACY_SUBSCRIPTION),
        state_store=StateStoreConfig(StoreKind.SQLITE, Secret(str(output / "state.db"))),
        policy_mode=PolicyMode.ENFORCE,
        policy_enforce_all_accounts=True,  # the demo's simulated subscription: every account is the demo's
        policy_enforce_provisioned=True,  # shows the documented in-place migration of a provisioned deployment
        # the payments team's suite covers its invoice-* deployments (DEMO_EVALS): modelwatch's own upgrade of one
        # waits for a passing canary of its target (UPGRADE_GATE), and one Azure would move to a version whose
        # canary regressed is pinned until a later target passes (CANARY_PROTECT); canaries are created and deleted
        eval_suites=str(DEMO_EVALS),
        canary_mode=CanaryMode.CREATE,
        upgrade_gate=UpgradeGate.CANARY,
        canary_protect=True,
        teams_webhook_url=Secret(hook + "platform-teams"),
        slack_webhook_url=Secret(hook + "platform-slack"),
        alert_routes=tuple(
            Route(r, {k: Secret(f"{hook}{r}-{k}") for k in (ChannelKind.TEAMS, ChannelKind.SLACK)})
            for r in ROUTES
        ),
    )


def run_demo(
    output: Path, out: TextIO, timeline_path: Path = TIMELINE, *, prog: str = "python -m shared"
) -> int:
    """Replay the timeline into ``output``; ``prog`` is how the printed commands start (the installed
    ``modelwatch`` or ``python -m shared``)."""
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    timeline = Timeline.load(timeline_path)
    azure = SimulatedAzure(timeline)
    settings = replace(demo_settings(output), watch_locations=tuple(timeline.locations))
    topic = Collecting(JsonLinesPublisher(output / "events.jsonl"))
    notifiers, sent = file_notifiers(output / "alerts")
    services = bootstrap.build_services(
        settings, source=azure, publisher=topic, api=azure, notifiers=notifiers
    )
    canaries = _canary_pipeline(services, azure, settings, topic, output)
    console = Console(out)
    console.line(
        ("modelwatch demo", "bold"),
        f": Azure OpenAI lifecycle history, {timeline.span}, through the whole pipeline.",
    )
    console.line(
        f"{len(timeline.raw['deployments'])} deployments in {len(timeline.raw['accounts'])} accounts, POLICY_MODE=enforce "
        f"(provisioned included), state in {output / 'state.db'}, alerts in {output / 'alerts'}."
    )
    console.line(
        f"Canaries: the suites in {DEMO_EVALS.name}/ (CANARY_MODE={settings.canary_mode}), "
        f"UPGRADE_GATE={settings.upgrade_gate}, CANARY_PROTECT={str(settings.canary_protect).lower()}."
    )
    failed = False
    told: set[str] = set()  # deployment event ids already shown
    waiting: list[tuple[LifecycleEvent, Subscriber]] = []  # deliveries a subscriber asked to retry later
    for step in timeline.steps:
        at = parse_instant(step["at"])
        console.line()
        console.line((f"=== {at:%Y-%m-%d} · {step['title']} ===", "bold cyan"))
        if step.get("flaky"):
            azure.flaky.add(step["flaky"])
        if step.get("refuse"):
            azure.refuse(step["refuse"])
        if step.get("allow"):
            azure.allow(step["allow"])
        for move in azure.advance(at):
            console.line("  ", ("Azure upgraded", "green"), f" {move}")
        for change in azure.team:  # the teams' own changes: a side-by-side migration's new and old deployment
            console.line("  ", ("team", "magenta"), f" {change}")
        before = len(sent)
        report = services.run_timer(at)
        failed = failed or not report.ok
        # the catalog timer's canary chores, as the function app runs them after each cycle
        for done in canaries.upkeep(_accounts(services), at):
            console.line("  ", ("modelwatch", "magenta"), f" {done}")
        events, retry = _dispatch(services, topic, at)
        if step.get("rollback"):
            ask = step["rollback"] if isinstance(step["rollback"], dict) else {"deployment": step["rollback"]}
            target = next(d for d in services.stores.list_deployments() if d.name == ask["deployment"])
            result = services.rollback.rollback(
                target.resource_id, at, as_new=ask.get("asNew"), requested_by=ask.get("by", "payments-oncall")
            )
            side = f" --as-new {ask['asNew']}" if ask.get("asNew") else ""
            console.line("  ", ("operator", "magenta"), f": {prog} rollback -n {target.name}{side}")
            console.line(f"    {result.describe()}")
            more, again = _dispatch(services, topic, at)
            events, retry = events + more, retry + again
        more, waiting = _canaries_then_redeliveries(services, canaries, topic, at, waiting + retry)
        events += more
        # the alerts timer, once the held news has settled: one message per route and group
        services.flush_alerts(at + timedelta(seconds=settings.alert_batch_seconds))
        tell(events, sent[before:], console, told)
    status = services.status(parse_instant(timeline.steps[-1]["at"]))
    (output / "status.html").write_text(render_status_page(status), encoding="utf-8")
    (output / "status.json").write_text(json.dumps(status.to_json(), indent=1), encoding="utf-8")
    _scan_infrastructure_code(services, parse_instant(timeline.steps[-1]["at"]), output, console, prog)
    counts = Counter(e.event_type.removeprefix("ModelLifecycle.") for e in _all_events(output))
    # every demo route has Teams and Slack: one message each
    messages = sum(kind == ChannelKind.TEAMS for _, kind, _ in sent)
    console.line()
    console.line(
        (
            f"{sum(counts.values())} events published ({len(counts)} types), {messages} messages to the teams "
            f"({len(sent)} posts: Teams and Slack), {azure.puts} deployment writes by modelwatch.",
            "bold",
        )
    )
    console.line(
        f"Status page: {output / 'status.html'} · alert payloads: {output / 'alerts'} · events: {output / 'events.jsonl'}"
        f" · infrastructure-code findings: {output / 'iac.sarif'}"
    )
    state = f"--state sqlite:///{output / 'state.db'}"  # the demo's own state, not .modelwatch/state.db
    console.line()
    console.line(("Next, try the command line against the demo's state:", "bold"))
    for command in (
        f"plan {state}",
        f"deployments {state}",
        f"report -o json {state} | head",
        f"plan {state} --fail-on broken   # a CI gate: exits 1, a deployment is broken",
    ):
        console.line(f"  {prog} {command}")
    return 1 if failed else 0


def _canaries_then_redeliveries(
    services: bootstrap.Services,
    canaries: CanaryPipeline,
    topic: Collecting,
    at: datetime,
    waiting: list[tuple[LifecycleEvent, Subscriber]],
) -> tuple[list[LifecycleEvent], list[tuple[LifecycleEvent, Subscriber]]]:
    """The step's canaries, then Event Grid's redelivery of what a subscriber answered "retry later"; what was
    published, and what still waits (redelivered again at the next step, as Event Grid backs off for hours)."""
    # once per deployment and target, told to the team (the function app queues them from the policy subscriber;
    # the status report's assessments are the same ones). A pinned deployment is asked as its own policy would
    # have it: Azure's to move once a later target passes
    assessments = list(services.status(at).assessments)
    if canaries.protect is not None:
        assessments = [canaries.protect.unpinned(a, at) for a in assessments]
    for deployment, request in canaries.asks(assessments):
        canaries.run(deployment, request, at)
    events, again = _dispatch(services, topic, at)
    # an upgrade the gate made wait for its canary finds the verdict now: it goes ahead (a pass) or is held
    retry = [
        (event, subscriber)
        for event, subscriber in waiting + again
        if deliver_one(event, subscriber, at).outcome == RETRY
    ]
    more, again = _dispatch(services, topic, at)  # what the redelivered events published in turn
    return events + more, retry + again


def _canary_pipeline(
    services: bootstrap.Services, azure: SimulatedAzure, settings: Settings, topic: Collecting, output: Path
) -> CanaryPipeline:
    """The payments team's suite (DEMO_EVALS) on every coming version of the deployments it covers, in a
    temporary canary modelwatch creates and deletes (CANARY_MODE=create), answered by the simulated data plane;
    with CANARY_PROTECT (enforce mode), a regression pins a deployment Azure would move, a later pass unpins it."""
    from shared.adapters.sqlite.canary_results import SqliteCanaryResults
    from shared.adapters.suite_files import JsonSchemaChecker, load_suites
    from shared.services.canary import CanaryLimits, CanaryService
    from shared.services.protect import CanaryProtect

    chat = SimulatedChatApi(azure, FENCED)
    rules = bootstrap.policy_rules(settings)
    protect = (  # as bootstrap.build_canaries wires it: never in plan mode
        CanaryProtect(
            api=azure,
            deployments=services.stores,
            rollbacks=services.stores,
            state=services.state,
            scope=bootstrap.write_scope(settings),
            rules=rules,
            margin=timedelta(days=settings.canary_protect_margin_days),
        )
        if settings.canary_protect and rules.enforce
        else None
    )
    runner = CanaryService(
        azure,
        lambda endpoint: chat,
        bootstrap.write_scope(settings),
        JsonSchemaChecker(),
        CanaryLimits(),
        any_account=settings.policy_enforce_all_accounts,
    )
    return CanaryPipeline(
        runner,
        services.ledger,
        services.state,
        topic,
        load_suites(DEMO_EVALS),
        mode=CanaryMode.CREATE,
        # in the demo's state, where `canary list --state sqlite:///<output>/state.db` reads them
        results=SqliteCanaryResults(str(output / "state.db")),
        protect=protect,
    )


def _scan_infrastructure_code(
    services: bootstrap.Services, at: datetime, output: Path, console: Console, prog: str
) -> None:
    """`iac scan` over the teams' templates against the demo's own state: what the next `azd up` or `terraform
    apply` would do to what runs now, and what to pin instead. Over a copy in the output folder, so the `iac fix`
    it suggests edits that copy, never the package's own files (site-packages once installed)."""
    from shared.iac.formats import table, to_sarif
    from shared.iac.inputs import State
    from shared.iac.report import scan_and_judge

    state = State(services.state, services.stores.list_deployments(), "the demo's state")
    copy = output / "iac"
    shutil.copytree(DEMO_IAC, copy)
    report = scan_and_judge([copy], at=at, state=state)
    console.line()
    console.line(
        (
            f"=== {at:%Y-%m-%d} · The teams' infrastructure code against what runs now (iac scan) ===",
            "bold cyan",
        )
    )
    for line in table(report.findings, report.warnings, copy).splitlines():
        console.line(f"  {line}")
    sarif = to_sarif(report.findings, report.warnings, copy, version="demo")
    (output / "iac.sarif").write_text(json.dumps(sarif, indent=1), encoding="utf-8")
    console.line(f"  next: {prog} iac fix {copy} --dry-run --state sqlite:///{output / 'state.db'}")


def _all_events(output: Path) -> list[LifecycleEvent]:
    lines = (output / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [LifecycleEvent.from_json(line) for line in lines if line.strip()]


def _dispatch(
    services: bootstrap.Services, topic: Collecting, at: datetime
) -> tuple[list[LifecycleEvent], list[tuple[LifecycleEvent, Subscriber]]]:
    """Deliver everything published, as Event Grid would (including what the subscribers publish in turn); what
    was delivered, and the deliveries a subscriber answered "retry later" (Event Grid redelivers those)."""
    seen: list[LifecycleEvent] = []
    retry: list[tuple[LifecycleEvent, Subscriber]] = []
    subscribers = {s.name: s for s in services.subscribers()}
    while topic.queue:
        batch, topic.queue = topic.queue, []
        seen.extend(batch)
        by_id = {e.id: e for e in batch}
        wire: list[JsonValue] = [e.to_wire() for e in batch]
        for d in deliver(
            wire + wire[:1], list(subscribers.values()), at
        ):  # at least once: the first one twice
            if d.outcome != RETRY:
                continue
            pair = (by_id[d.event_id], subscribers[d.subscriber])
            if pair not in retry:  # the first event is delivered twice: one retry of it is enough
                retry.append(pair)
    return seen, retry


def _accounts(services: bootstrap.Services) -> list[str]:
    """The accounts the canary chores look in: every account of the inventory (POLICY_ENFORCE_ALL_ACCOUNTS)."""
    return sorted({d.account_id for d in services.stores.list_deployments()})

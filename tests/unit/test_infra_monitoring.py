"""Watcher health (infra/modules/monitoring.bicep), read structurally: what each alert watches, that it reaches the
action group, that its window follows the timer's schedule, and that the documentation explains every alert. Whether
Azure Monitor accepts these rules as written, and whether they fire, is verified only by deploying them (not possible
here)."""

from __future__ import annotations

import re

from tests.support.app_functions import functions
from tests.support.bicep import (
    INFRA,
    ROOT,
    bicep,
    declarations,
    items,
    node_text,
    parameters,
    parse,
    prop,
    resources,
)
from tests.support.bicep import string_value as s

ALERT_TYPES = ("Microsoft.Insights/scheduledQueryRules@", "Microsoft.Insights/metricAlerts@")


def alerts(root: object) -> dict[str, object]:
    return {name: body for prefix in ALERT_TYPES for name, _, body in resources(root, prefix)}  # type: ignore[arg-type]


def monitoring_problems(source: str) -> list[str]:
    root = parse(source)
    problems = []
    groups = resources(root, "Microsoft.Insights/actionGroups@")
    if len(groups) != 1:
        return [f"{len(groups)} action groups"]
    group_name, _, group = groups[0]
    # a receiver of each kind only when its parameter is given
    for receivers, param in (
        ("emailReceivers", "healthAlertEmail"),
        ("webhookReceivers", "healthAlertWebhookUrl"),
    ):
        if not node_text(prop(group, "properties", receivers)).startswith(f"empty({param})"):
            problems.append(f"{receivers} is not conditional on {param}")
    found = alerts(root)
    for name, body in found.items():
        wired = node_text(prop(body, "properties", "actions"))
        if f"{group_name}.id" not in wired:
            problems.append(f"{name} does not notify the action group")
        if node_text(prop(body, "properties", "enabled")) != "true":
            problems.append(f"{name} is disabled")
    # Bicep escapes a quote inside a string as \'
    queries = {
        n: s(prop(items(prop(b, "properties", "criteria", "allOf"))[0], "query")).replace("\\'", "'")
        for n, b in found.items()
    }
    metrics = {
        n: s(prop(items(prop(b, "properties", "criteria", "allOf"))[0], "metricName"))
        for n, b in found.items()
    }
    failures = [n for n, q in queries.items() if "Success == false" in q and "AppExceptions" in q]
    missed = [n for n, q in queries.items() if "catalog_timer" in q and "Success == true" in q]
    if not failures:
        problems.append("no alert on failed runs and exceptions")
    if not missed:
        problems.append("no alert on a missed catalog_timer run")
    else:
        body = found[missed[0]]
        criterion = items(prop(body, "properties", "criteria", "allOf"))[0]
        if (s(prop(criterion, "operator")), node_text(prop(criterion, "threshold"))) != ("LessThan", "1"):
            problems.append("the missed-run alert does not fire on zero successes")
        if s(prop(body, "properties", "windowSize")) != "PT${missedWindowMinutes}M":
            problems.append("the missed-run window is not missedWindowMinutes")
    # a log alert on a workspace created in the same deployment: its App* tables do not exist yet, and Azure Monitor
    # refuses the rule ("SEM0100 Failed to resolve table", Azure/bicep#11378) unless told not to validate the query
    for name, body in found.items():
        if queries[name] and node_text(prop(body, "properties", "skipQueryValidation")) != "true":
            problems.append(f"{name} is validated against tables a new workspace does not have")
    for query in queries.values():
        if query and "AppRoleName =~ '${functionAppName}'" not in query:
            problems.append(f"a query not limited to this app: {query}")
    if {m for m in metrics.values() if m} != {"DeadLetteredCount", "DroppedEventCount"}:
        problems.append(f"Event Grid metrics watched: {sorted(m for m in metrics.values() if m)}")
    return problems


def test_the_health_alerts_watch_failures_missed_runs_and_dead_letters() -> None:
    source = (INFRA / "modules" / "monitoring.bicep").read_text()
    assert monitoring_problems(source) == []
    assert "catalog_timer" in functions()  # the function the missed-run query names exists
    variables = {
        node_text(n.child(1)): node_text(n.children[-1])
        for n in parse(source).children
        if n.type == "variable_declaration"
    }
    assert variables["missedWindowMinutes"] == "2 * catalogPollPeriodMinutes"


def test_the_monitoring_check_sees_a_missing_alert_and_an_unconditional_receiver() -> None:
    source = (INFRA / "modules" / "monitoring.bicep").read_text()
    no_dead_letters = source.replace("metricName: 'DeadLetteredCount'", "metricName: 'PublishFailCount'")
    assert monitoring_problems(no_dead_letters) == [
        "Event Grid metrics watched: ['DroppedEventCount', 'PublishFailCount']"
    ]
    validated = source.replace("skipQueryValidation: true", "skipQueryValidation: false")
    assert monitoring_problems(validated) == [
        "failures is validated against tables a new workspace does not have",
        "missedRun is validated against tables a new workspace does not have",
    ]
    always = source.replace("emailReceivers: empty(healthAlertEmail)", "emailReceivers: true")
    assert monitoring_problems(always) == ["emailReceivers is not conditional on healthAlertEmail"]


def ncrontab_period_minutes(schedule: str) -> int | None:
    """The period of the simple schedules (every N minutes or hours, at a fixed second/minute), else None."""
    second, minute, hour, day, month, weekday = schedule.split()
    if (day, month, weekday) != ("*", "*", "*") or not second.isdigit():
        return None
    if hour == "*" and (m := re.fullmatch(r"\*/(\d+)", minute)):
        return int(m.group(1))
    if minute.isdigit() and hour == "*":
        return 60
    if minute.isdigit() and (h := re.fullmatch(r"\*/(\d+)", hour)):
        return 60 * int(h.group(1))
    return None


def test_the_default_period_matches_the_default_schedule() -> None:
    main = bicep("main.bicep")
    schedule = s(parameters(main)["catalogPollSchedule"].children[-1])
    period = int(node_text(parameters(main)["catalogPollPeriodMinutes"].children[-1]))
    assert ncrontab_period_minutes(schedule) == period == 60
    template = (INFRA / "main.parameters.json").read_text()
    assert (
        "${CATALOG_POLL_SCHEDULE=0 0 * * * *}" in template and "${CATALOG_POLL_PERIOD_MINUTES=60}" in template
    )
    assert ncrontab_period_minutes("0 */15 * * * *") == 15 and ncrontab_period_minutes("0 0 */6 * * *") == 360
    app = next(b for n, _, b in declarations(main, "module_declaration") if n == "app")
    assert node_text(prop(app, "params", "catalogPollPeriodMinutes")) == "catalogPollPeriodMinutes"


def test_operations_explains_every_alert() -> None:
    doc = (ROOT / "docs" / "operations.md").read_text()
    section = doc.split("## Watcher health alerts", 1)[1].split("\n## ", 1)[0]
    source = (INFRA / "modules" / "monitoring.bicep").read_text()
    names = re.findall(
        r"resource \w+ '(?:Microsoft\.Insights/(?:scheduledQueryRules|metricAlerts))@[^']+' = \{\n  name: '([a-z-]+)-\$",
        source,
    )
    assert len(names) == 4
    assert [n for n in names if f"`{n}`" not in section] == []
    for needed in (
        "HEALTH_ALERT_EMAIL",
        "HEALTH_ALERT_WEBHOOK_URL",
        "CATALOG_POLL_PERIOD_MINUTES",
        "DeadLetteredCount",
        "DroppedEventCount",
        "python -m shared deliver",
    ):
        assert needed in section, needed

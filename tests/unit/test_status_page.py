"""The status page as HTML: the watcher's health banner, identifiers that never break inside, one timeline label per
version and day, what to do about a broken deployment, days told in words once they are past. Pure: a StatusReport
in, a string out."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta
from html import unescape

from shared.domain.catalog import ModelVersion, Replacement, VersionKey
from shared.domain.cursor import Cursor
from shared.domain.deployments import Deployment
from shared.domain.policy import Assessment, Status, assess
from shared.domain.status import StatusReport, Upcoming, dated_changes
from shared.presentation.status_page import STYLE_HASH, render_status_page
from tests import builders

NOW = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
ACCOUNT = builders.account_id("contoso-search")


def deployment(
    name: str,
    model: str,
    version: str,
    *,
    sku: str = "GlobalStandard",
    policy: str = "NoAutoUpgrade",
    location: str = "swedencentral",
) -> Deployment:
    return builders.deployment(
        name,
        model,
        version,
        account=ACCOUNT,
        location=location,
        sku=sku,
        policy=policy,
        sku_capacity=10,
        provisioning_state="Succeeded",
    )


def version(
    model: str,
    version: str,
    *,
    retires: datetime | None = None,
    default: bool = False,
    to: tuple[str, str] | None = None,
) -> ModelVersion:
    replacement = Replacement(to[0], to[1]) if to else None
    return ModelVersion(
        "OpenAI",
        model,
        version,
        is_default=default,
        lifecycle_status="GenerallyAvailable",
        retirement_date=retires,
        replacement=replacement,
    )


CATALOG: dict[VersionKey, ModelVersion] = {
    v.key: v
    for v in (
        version(
            "gpt-4o", "2024-05-13", retires=NOW - timedelta(days=1, hours=2), to=("gpt-4o", "2024-11-20")
        ),
        version("gpt-4o", "2024-08-06", retires=NOW - timedelta(days=12), to=("gpt-5.1", "2025-11-13")),
        version("gpt-4o", "2024-11-20", default=True),
        version("gpt-5.1", "2025-11-13", default=True),
        version("gpt-35-turbo", "0301", retires=NOW - timedelta(days=599)),
    )
}


def report(
    assessments: tuple[Assessment, ...] = (),
    cursors: tuple[Cursor, ...] = (Cursor("eastus", "e", NOW - HOUR, cycles=9),),
    upcoming: tuple[Upcoming, ...] = (),
    at: datetime = NOW,
) -> StatusReport:
    return StatusReport(at, "plan", assessments, {}, upcoming, cursors)


def page_text(html: str) -> str:
    """What a reader sees: tags off, spaces collapsed, entities read."""
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split("</style>", 1)[-1]))
    return unescape(re.sub(r" ([.,:;])", r"\1", text))


# ---- the health banner


def test_a_healthy_watcher_says_so_briefly_with_its_last_cycle() -> None:
    html = render_status_page(report())
    assert '<section class="health ok">' in html and "act now" not in html
    assert "Catalog watcher healthy: last cycle 2026-10-05 11:00 UTC" in page_text(html)


def test_no_cycle_for_more_than_twice_the_period_is_an_act_now_banner_at_the_top() -> None:
    html = render_status_page(report(at=NOW + 2 * HOUR))  # last cycle 3 h ago, hourly
    banner = html.split('<section class="health bad">', 1)[1].split("</section>", 1)[0]
    assert html.index("health bad") < html.index('class="tiles"')  # above everything else
    text = page_text(banner)
    assert (
        "No catalog cycle has completed for 3 h (the last at 2026-10-05 11:00 UTC; overdue after 2 h" in text
    )
    assert "CATALOG_POLL_PERIOD_MINUTES" in text and "function app is running" in text


def test_a_watcher_that_never_ran_says_the_first_run_takes_the_baseline() -> None:
    html = render_status_page(report(cursors=(Cursor("eastus"),)))
    assert "No catalog cycle has completed yet." in page_text(html) and "health bad" in html


def test_failed_regions_and_held_anomalies_say_what_to_do() -> None:
    error = "ARM answered 403 <AuthorizationFailed> for models/read"
    cursors = (
        Cursor("eastus", "e", NOW - 5 * HOUR, last_error=error, cycles=9),
        Cursor("westeurope", "e", NOW - 5 * HOUR, last_error=error, cycles=9),
        Cursor("swedencentral", "e", NOW - HOUR, anomaly="d1g3st", cycles=9),
        Cursor("japaneast"),
    )
    html = render_status_page(report(cursors=cursors))
    text = page_text(html)
    assert "&lt;AuthorizationFailed&gt;" in html and "<AuthorizationFailed>" not in html
    # one failing credential fails every region alike: one line for both
    assert text.count("Last cycle failed in eastus, westeurope: ARM answered 403") == 1
    assert "a 401 or 403 names the role to grant" in text
    assert "Catalog anomaly held in swedencentral: too many versions vanished" in text
    assert "python -m shared check --dry-run --locations swedencentral" in text
    assert (
        "Never read: japaneast. Deployments there are not tracked until the region is in WATCH_LOCATIONS"
        in text
    )
    assert "held: too many versions vanished" in text  # the region table says what is held, not a digest


def test_a_region_behind_the_others_is_a_warning() -> None:
    cursors = (Cursor("eastus", "e", NOW - HOUR, cycles=9), Cursor("westus3", "e", NOW - 30 * HOUR, cycles=2))
    html = render_status_page(report(cursors=cursors))
    assert '<section class="health warn">' in html
    assert "Not read for more than 2 h: westus3, while other regions were." in page_text(html)


# ---- the deployments table


def assessed(*deployments: Deployment) -> tuple[Assessment, ...]:
    return tuple(assess(d, CATALOG, NOW) for d in deployments)


def test_identifiers_never_break_inside_and_the_table_scrolls_instead() -> None:
    rows = assessed(
        deployment("chat-eu-gpt4o", "gpt-4o", "2024-08-06", policy="OnceNewDefaultVersionAvailable")
    )
    html = render_status_page(report(rows))
    for identifier in (
        "chat-eu-gpt4o",
        "gpt-4o",
        "2024-08-06",
        "GlobalStandard",
        "contoso-search ·",
        "swedencentral",
    ):
        assert f'<span class="id">{identifier}</span>' in html, identifier
    # a policy may break at its word boundary only
    assert '<span class="id">OnceNewDefault</span><wbr><span class="id">VersionAvailable</span>' in html
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert ".id{white-space:nowrap}" in style and ".scroll{overflow-x:auto}" in style
    assert "anywhere" not in style and "break-all" not in style
    assert '<div class="scroll"><table class="deployments">' in html


def test_a_fine_tuned_model_id_breaks_only_before_its_suffix() -> None:
    d = deployment("support-ft", "gpt-4o-2024-08-06.ft-0e208cf33a6a466994aff31a08aba678", "1", sku="Standard")
    html = render_status_page(report(assessed(d)))
    assert (
        '<span class="id">gpt-4o-2024-08-06</span><wbr><span class="id ft">.ft-0e208cf33a6a466994aff31a08aba678'
        in html
    )


def test_the_page_keeps_its_content_security_policy() -> None:
    rows = assessed(deployment("chat-eu-gpt4o", "gpt-4o", "2024-08-06"))
    html = render_status_page(
        report(
            rows, upcoming=(Upcoming(NOW + 30 * 24 * HOUR, "retirement", "gpt-4o 2024-11-20", "eastus", 1),)
        )
    )
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() == STYLE_HASH
    assert html.count("<style>") == 1 and " style=" not in html and "<script" not in html


def test_broken_rows_say_what_to_do_now() -> None:
    rows = assessed(
        deployment("chat-eu-gpt4o", "gpt-4o", "2024-08-06"),  # Azure names gpt-5.1: another model
        deployment("chat-prod", "gpt-4o", "2024-05-13"),  # Azure names gpt-4o 2024-11-20: the same model
        deployment("legacy-batch", "gpt-35-turbo", "0301", location="eastus"),  # nothing named
    )
    assert all(a.status is Status.BROKEN for a in rows)
    text = page_text(render_status_page(report(rows)))
    assert (
        "Move to gpt-5.1 2025-11-13 now: create a deployment of it and send the traffic there; calls fail."
        in text
    )
    assert (
        "Move to gpt-4o 2024-11-20 now (set this deployment's version, or create a deployment of it); calls fail."
        in text
    )
    assert "Create or move to a deployment of a supported version now; calls fail." in text


def test_past_days_read_as_retired_days_ago_and_never_negative() -> None:
    rows = assessed(
        deployment("chat-eu-gpt4o", "gpt-4o", "2024-08-06"),  # retired 12 days ago
        deployment("chat-prod", "gpt-4o", "2024-05-13"),  # retired a day and two hours ago
        deployment("legacy-batch", "gpt-35-turbo", "0301"),
    )
    soon = Assessment(
        deployment("edge", "gpt-4o", "2024-11-20"),
        Status.AT_RISK,
        "stops working today",
        "x",
        retirement_date=NOW + HOUR,
        days_left=0,
    )
    html = render_status_page(report((*rows, soon)))
    days = re.findall(r"<td class='days'>(.*?)</td>", html)
    assert [page_text(d).strip() for d in days] == [
        "retired 12 days ago",
        "retired 1 day ago",
        "retired 599 days ago",
        "today",
    ]
    assert not re.search(r"<td class='days'>-", html)


# ---- the timeline


def test_one_timeline_label_per_version_and_day_with_its_regions_merged() -> None:
    day = datetime(2027, 3, 31, tzinfo=UTC)
    upcoming = (
        Upcoming(day, "retirement", "gpt-4o 2024-08-06", "eastus", 2),
        Upcoming(day, "retirement", "gpt-4o 2024-08-06", "swedencentral", 1),
        Upcoming(day + 2 * HOUR, "retirement", "gpt-4o 2024-08-06", "westus3", 1),  # the same day
        Upcoming(day + 7 * 24 * HOUR, "retirement", "gpt-4o 2024-08-06", "japaneast", 1),  # another day
        Upcoming(day, "default change", "gpt-4o 2024-08-06", "eastus", 2),  # another kind
    )
    merged = dated_changes(upcoming)
    assert [(c.when, c.kind, c.locations, c.deployments) for c in merged] == [
        (day, "default change", ("eastus",), 2),
        (day, "retirement", ("eastus", "swedencentral", "westus3"), 4),
        (day + 7 * 24 * HOUR, "retirement", ("japaneast",), 1),
    ]
    svg = render_status_page(report(upcoming=upcoming)).split("<svg", 1)[1].split("</svg>", 1)[0]
    labels = re.findall(r"<text [^>]*><title>[^<]*</title>([^<]*)</text>", svg)
    assert labels == [
        "gpt-4o 2024-08-06 · eastus · 2 dep. · 31 Mar",
        "gpt-4o 2024-08-06 · eastus, swedencentral, westus3 · 4 dep. · 31 Mar",
        "gpt-4o 2024-08-06 · japaneast · 1 dep. · 07 Apr",
    ]
    rows = {
        y for y in re.findall(r'<text x="[\d.]+" y="(\d+)" font-size="12" fill="#(?:c4314b|0f6cbd)"', svg)
    }
    assert len(rows) == 3  # labels this close to one another each get a row of their own


def test_a_label_with_many_regions_names_three_and_counts_the_rest() -> None:
    day = datetime(2027, 3, 31, tzinfo=UTC)
    regions = ("australiaeast", "eastus", "eastus2", "swedencentral", "westus3")
    upcoming = tuple(Upcoming(day, "retirement", "gpt-4o 2024-08-06", r, 1) for r in regions)
    svg = render_status_page(report(upcoming=upcoming)).split("<svg", 1)[1]
    assert "gpt-4o 2024-08-06 · australiaeast, eastus, eastus2 +2 more · 5 dep. · 31 Mar" in svg
    assert "australiaeast, eastus, eastus2, swedencentral, westus3; 5 deployment(s)</title>" in svg


# ---- coming up: every dated risk in the window


def test_coming_up_includes_a_fine_tuned_retirement_and_the_catalogs_dates() -> None:
    from dataclasses import replace

    from shared.domain.deployments import FineTune
    from shared.domain.policy import PolicyRules
    from shared.domain.status import upcoming_changes

    ft_date = NOW + timedelta(days=200)
    tuned = replace(
        deployment("support-ft", "gpt-4o-2024-08-06.ft-abc123", "1"),
        fine_tune=FineTune(True, "gpt-4o", "2024-08-06", ft_date, "GenerallyAvailable"),
    )
    soon = version("gpt-4o", "2024-11-20", retires=NOW + timedelta(days=90), to=("gpt-5.1", "2025-11-13"))
    far = replace(
        deployment("far-ft", "gpt-4o-2024-08-06.ft-far", "1"),
        fine_tune=FineTune(True, "gpt-4o", "2024-08-06", NOW + timedelta(days=400)),
    )
    catalog = {soon.key: soon}
    assessments = tuple(
        assess(d, catalog, NOW, PolicyRules())
        for d in (
            tuned,
            far,
            deployment("chat", "gpt-4o", "2024-11-20"),
            deployment("chat2", "gpt-4o", "2024-11-20"),
        )
    )
    upcoming = upcoming_changes(assessments, {"swedencentral": catalog}, NOW, timedelta(days=365))
    assert [(u.when, u.kind, u.model, u.deployments) for u in upcoming] == [
        (NOW + timedelta(days=90), "retirement", "gpt-4o 2024-11-20", 2),
        (ft_date, "retirement", "gpt-4o-2024-08-06.ft-abc123 1", 1),
    ]  # the one past the 12 months is left out
    text = page_text(render_status_page(report(assessments, upcoming=upcoming)))
    coming = text.split("Coming up", 1)[1]
    assert "gpt-4o-2024-08-06.ft-abc123 1" in coming and "Nothing dated" not in coming


def test_the_tested_line_is_the_latest_canary_on_the_version_a_deployment_runs_now() -> None:
    from shared.domain.status import latest_tested

    now_on = deployment("chat", "gpt-4o", "2024-08-06")
    other = deployment("other", "gpt-4o", "2024-08-06")
    mine = Assessment(now_on, Status.HEALTHY, "ok", "no-auto-ok")

    def doc(
        current: str, target: str, passed: int, verdict: str, *, at: str, dep: str = now_on.resource_id
    ) -> dict[str, object]:
        return {
            "deployment": dep.upper(),  # ARM ids are case-insensitive
            "suite": "invoices",
            "verdict": verdict,
            "reason": "quota: no capacity" if verdict == "error" else None,
            "current": {"model": "gpt-4o", "version": current, "passed": 5},
            "target": {"model": "gpt-4o", "version": target, "passed": passed},
            "cases": [{}] * 5,
            "regressions": ["total"] if passed < 5 else [],
            "at": at,
        }

    results = [
        doc("2024-08-06", "2024-11-20", 3, "regression", at="2026-10-01T00:00:00Z"),
        doc("2024-05-13", "2024-08-06", 5, "pass", at="2026-10-02T00:00:00Z"),  # a version it has left
        doc("2024-08-06", "2024-11-20", 5, "pass", at="2026-10-03T00:00:00Z", dep=other.resource_id),
    ]
    tested = latest_tested(results, [mine])
    assert list(tested) == [now_on.key]  # `other` is not in the report
    assert tested[now_on.key].line == "tested: 5/5 → 3/5 on gpt-4o 2024-11-20 (regressed: total)"
    errored = latest_tested(
        [*results, doc("2024-08-06", "2025-01-01", 0, "error", at="2026-10-04T00:00:00Z")], [mine]
    )
    assert errored[now_on.key].line == "canary on gpt-4o 2025-01-01 could not run: quota: no capacity"
    from dataclasses import replace

    page = render_status_page(replace(report((mine,)), tested=tested))
    assert "tested: 5/5 → 3/5 on gpt-4o 2024-11-20 (regressed: total)" in page_text(page)

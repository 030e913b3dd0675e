"""Messages: every kind renders within Slack's and Teams' limits, says what/when/what to do; routing and severity."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from shared.config import load_settings
from shared.domain.alerts import Message, batch_message, messages_for
from shared.domain.digest import build_digests
from shared.domain.events import EventType
from shared.domain.routes import DEFAULT_ROUTE, ChannelKind, Route
from shared.domain.secret import Secret
from shared.domain.severity import Severity
from shared.errors import SettingsError
from shared.presentation.alert_samples import (
    REGIONS,
    _catalog,
    _upgrades,
    sample_messages,
    samples,
    team_samples,
)
from shared.presentation.slack import slack_payload
from shared.presentation.teams import teams_payload
from shared.services.notify.sending import plan_posts
from tests.builders import account_id

SAMPLES = samples()
MESSAGES = sample_messages()


def only(name: str) -> Message:
    (message,) = MESSAGES[name]
    return message


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_every_kind_renders_within_limits(name: str) -> None:
    assert MESSAGES[name], name
    for message in MESSAGES[name]:
        slack = slack_payload(message)
        assert slack["text"] and len(str(slack["text"])) <= 3000
        blocks = slack["blocks"]
        assert isinstance(blocks, list) and 0 < len(blocks) <= 50
        for block in blocks:
            assert isinstance(block, dict)
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= 150  # type: ignore[index]
            if block["type"] == "section":
                if "text" in block:
                    assert len(block["text"]["text"]) <= 3000  # type: ignore[index]
                for f in block.get("fields", []):  # type: ignore[union-attr]
                    assert len(f["text"]) <= 2000
                assert len(block.get("fields", [])) <= 10  # type: ignore[arg-type]
        teams = teams_payload(message)
        assert len(json.dumps(teams).encode()) <= 28_000
        (attachment,) = teams["attachments"]  # type: ignore[misc]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert attachment["content"]["version"] == "1.4" and attachment["content"]["type"] == "AdaptiveCard"


def test_one_message_per_change_listing_its_regions() -> None:
    (message,) = messages_for(SAMPLES["catalog-released"])
    assert message.items == tuple(sorted(REGIONS))
    assert "12 regions" in message.text and message.title == "New version: gpt-4.1 2025-04-14"
    slack = json.dumps(slack_payload(message))
    assert "swedencentral" in slack and "westeurope" in slack


def test_a_huge_list_is_summarised_with_a_count_never_cut_inside_an_item() -> None:
    long = [
        _catalog(EventType.VERSION_RELEASED, "gpt-4.1", "2025-04-14", f"region{i:03d}-" + "x" * 150)
        for i in range(190)
    ]
    digests = build_digests(long)  # split to fit the outbox; each lists ~95 of the long region names
    assert len(digests) > 1
    (first,) = messages_for(digests[0])
    # a list longer than any one digest holds: every region of every digest
    message = replace(first, items=tuple(i for d in digests for i in messages_for(d)[0].items))
    assert len(message.items) == 190
    slack = slack_payload(message)
    sections = [b for b in slack["blocks"] if b["type"] == "section" and "text" in b]  # type: ignore[index,union-attr]
    text = sections[-1]["text"]["text"]  # type: ignore[index]
    assert len(text) <= 3000 and " … and " in text and "more" in text
    shown = text.split(":* ", 1)[1].split(" … and ")[0].split(", ")
    assert all(item.startswith("region") and item.endswith("x" * 150) for item in shown)  # whole items only
    teams = json.dumps(teams_payload(message), ensure_ascii=False)
    assert len(teams.encode()) <= 28_000 and " … and " in teams and "more" in teams


def test_big_digest_becomes_one_summary_message_worst_first() -> None:
    (message,) = messages_for(SAMPLES["catalog-summary"])
    assert message.kind == "catalog-summary" and message.title == "Model catalog: 14 changes"
    assert len(message.items) == 14


@pytest.mark.parametrize(
    ("name", "severity"),
    [
        ("team-default-changed", Severity.WARNING),  # 6 stop in 190 days
        ("team-retirement-approaching", Severity.CRITICAL),  # 3 stop in 7 days
        ("team-broken", Severity.CRITICAL),
        ("team-upgrade-planned", Severity.WARNING),  # plan mode: nobody moves it
    ],
)
def test_a_teams_message_is_as_loud_as_the_worst_that_happens_to_its_deployments(
    name: str, severity: Severity
) -> None:
    assert max(m.severity for m in MESSAGES[name]) == severity


def test_one_message_per_team_per_change_with_what_happens_to_each_deployment() -> None:
    """24 deployments of one version in two regions, the default moves: one message, three outcomes, named."""
    message = only("team-default-changed")
    assert message.route == "payments" and message.kind == "catalog-DefaultVersionChanged"
    assert "24 deployments of yours concerned" in message.text and "(2 regions)" in message.text
    assert message.items == (
        "Stop answering on 2026-09-30 (NoAutoUpgrade never upgrades): 6 — pinned-01, pinned-02, pinned-03, "
        "pinned-04, pinned-05, pinned-06",
        "Moved by Azure to gpt-4o 2024-11-20 within two weeks: 12 — chat-01, chat-02, chat-03, chat-04, chat-05, "
        "chat-06 and 6 more",
        "Upgraded by Azure to gpt-4o 2024-11-20 when their version expires, on 2026-09-30: 6 — batch-01, "
        "batch-02, batch-03, batch-04, batch-05, batch-06",
    )
    assert "Upgrade them before the date" in message.todo
    slack = json.dumps(slack_payload(message), ensure_ascii=False)
    assert "What it means for your deployments:*" in slack and "(3)" not in slack


def test_untagged_deployments_are_told_with_the_news_on_the_default_route() -> None:
    digest, concerned, _ = team_samples()["team-retirement-approaching"]
    messages = messages_for(digest, concerned=concerned)
    assert [m.route for m in messages] == [None, "payments"]  # no separate news message for the default route
    default = messages[0]
    assert default.items == (
        "Stop answering on 2026-03-31 (provisioned: never auto-upgraded): 1 — ptu-frontdoor",
    )
    assert not default.catalog_news  # about its own deployments: a route muting news still hears it


def test_a_route_whose_deployments_nothing_happens_to_hears_nothing() -> None:
    digest, concerned, _ = team_samples()["team-default-changed"]
    calm = {
        0: {"search": [a for a in concerned[0]["payments"] if a.deployment.policy == "NoAutoUpgrade"][:0]}
    }
    assert [m.route for m in messages_for(digest, concerned=calm)] == [None]  # only the news, to the default


def test_a_version_released_with_its_retirement_date_is_one_message() -> None:
    released = _catalog(EventType.VERSION_RELEASED, "gpt-5", "2026-01-01", "eastus")
    scheduled = _catalog(EventType.RETIREMENT_SCHEDULED, "gpt-5", "2026-01-01", "eastus", change="new")
    other = _catalog(EventType.RETIREMENT_SCHEDULED, "gpt-4o", "2024-08-06", "eastus", change="new")
    (digest,) = build_digests([released, scheduled, other])
    (message,) = messages_for(digest)  # one message per route per digest
    assert [line.split(":")[0] for line in message.items] == ["gpt-4o 2024-08-06", "gpt-5 2026-01-01"]
    assert "released" in message.items[1]  # gpt-5's date is told by its release; gpt-4o's change still told
    (alone,) = build_digests([released, scheduled])
    (one,) = messages_for(alone)
    assert one.kind == "catalog-VersionReleased"


def test_a_baseline_is_one_summary_per_route() -> None:
    digest = SAMPLES["catalog-summary"]
    _, concerned, _ = team_samples()["team-retirement-approaching"]
    payments = concerned[0]["payments"]
    per_change = {0: {"payments": payments[:3]}, 5: {"payments": payments[3:]}}
    messages = messages_for(digest, concerned=per_change)
    assert [(m.kind, m.route) for m in messages] == [
        ("catalog-summary", None),
        ("catalog-changes-for-route", "payments"),
    ]
    assert len(messages[0].items) == 14  # the news: every change
    routed = messages[1]
    assert routed.title == "2 model changes for your deployments" and "5 deployments concerned" in routed.text
    assert sum(line.startswith("  → ") for line in routed.items) == 2  # one outcome line under each change


def test_one_message_per_route_per_digest_however_many_changes() -> None:
    changes = [
        _catalog(
            EventType.DEFAULT_VERSION_CHANGED, "gpt-4o", "2024-11-20", "eastus", previous_default_version="x"
        ),
        _catalog(EventType.RETIREMENT_SCHEDULED, "gpt-4o", "2024-05-13", "eastus", change="later"),
        _catalog(EventType.VERSION_RELEASED, "gpt-4.1", "2025-04-14", "westeurope"),
    ]
    (digest,) = build_digests(changes)
    _, concerned, _ = team_samples()["team-default-changed"]
    messages = messages_for(digest, concerned={0: concerned[0]})
    assert [m.route for m in messages] == [None, "payments"]
    assert len(messages[0].items) == 3 and messages[0].catalog_news
    routed = messages[1]  # only the default change concerns payments: told as that change
    assert (
        not routed.catalog_news and routed.kind == "catalog-DefaultVersionChanged" and len(routed.items) == 3
    )


def test_deployment_message_names_everything_an_owner_needs() -> None:
    upgraded = only("deployment-upgraded-by-azure")
    facts = dict(upgraded.facts)
    assert facts["Deployment"] == "chat-prod" and facts["Account"] == "contoso-openai (eastus)"
    assert facts["Model"] == "gpt-4o 2024-05-13 → gpt-4o 2024-08-06"
    assert (
        upgraded.command.startswith("python -m shared rollback /subscriptions/")
        and "2026-03-31" in upgraded.todo
    )
    rolled = only("deployment-rolled-back")
    assert "NoAutoUpgrade" in rolled.happens and "OnceNewDefaultVersionAvailable" in rolled.todo


def test_held_upgrades_are_one_message_naming_each_deployment() -> None:
    batch = only("deployments-upgraded-by-azure")
    assert batch.title == "Azure upgraded 12 deployments from gpt-4o 2024-05-13 to gpt-4o 2024-08-06"
    assert len(batch.items) == 12 and batch.items[0] == "chat-01 (contoso-openai, eastus)"
    assert dict(batch.facts)["Rollback until"] == "2026-03-31" and batch.route == "payments"
    (one,) = _upgrades(1)
    assert batch_message([one]) == messages_for(one)[0]  # a batch of one reads as the single message


def routes(**named: Route) -> dict[str, Route]:
    return {
        DEFAULT_ROUTE: Route(
            DEFAULT_ROUTE,
            {
                ChannelKind.TEAMS: Secret("https://t.example/d"),
                ChannelKind.SLACK: Secret("https://s.example/d"),
            },
        ),
        **named,
    }


def test_routing_by_tag_default_fallback_and_catalog_to_default_only() -> None:
    payments = Route("payments", {ChannelKind.SLACK: Secret("https://s.example/p")}, Severity.INFO)
    posts = plan_posts([only("team-default-changed")], routes(payments=payments))
    assert [(p.channel.route, p.channel.kind) for p in posts] == [("payments", "slack")]
    orphan = replace(only("team-default-changed"), route="nobody")
    posts = plan_posts([orphan], routes(payments=payments))
    assert {p.channel.route for p in posts} == {DEFAULT_ROUTE}
    assert ("Route", "nobody (not configured: sent to the default route)") in posts[0].message.facts
    posts = plan_posts(messages_for(SAMPLES["catalog-released"]), routes(payments=payments))
    assert {p.channel.route for p in posts} == {DEFAULT_ROUTE} and len(posts) == 2


def test_severity_threshold_and_muted_catalog_news() -> None:
    quiet = {
        DEFAULT_ROUTE: Route(
            DEFAULT_ROUTE,
            {ChannelKind.SLACK: Secret("https://s.example/d")},
            Severity.WARNING,
            catalog_news=False,
        )
    }
    assert plan_posts([only("deployment-upgraded-by-azure")], quiet) == []  # info < warning
    assert len(plan_posts([only("team-broken")], quiet)) == 1
    news = {
        DEFAULT_ROUTE: Route(
            DEFAULT_ROUTE,
            {ChannelKind.SLACK: Secret("https://s.example/d")},
            Severity.INFO,
            catalog_news=False,
        )
    }
    assert plan_posts(messages_for(SAMPLES["catalog-released"]), news) == []  # informational news muted
    assert (
        len(plan_posts(messages_for(SAMPLES["catalog-retirement-approaching"]), news)) == 1
    )  # a warning is not


def test_alert_settings_resolve_setting_names_and_never_echo_urls() -> None:
    secret_url = "https://hooks.slack.com/services/T0/B0/SECRETTOKEN"
    s = load_settings(
        {
            "SLACK_WEBHOOK_URL": secret_url,
            "PAYMENTS_TEAMS": "https://x.environment.api.powerplatform.com/workflows/1?sig=SIGNATURE",
            "ALERT_ROUTES": json.dumps({"payments": {"teams": "PAYMENTS_TEAMS", "minSeverity": "warning"}}),
        }
    )
    payments = s.routes["payments"]
    assert (
        "SIGNATURE" in payments.channels[ChannelKind.TEAMS].reveal()
        and ChannelKind.SLACK not in payments.channels
    )
    assert payments.min_severity is Severity.WARNING and ChannelKind.SLACK in s.routes[DEFAULT_ROUTE].channels
    assert "SECRETTOKEN" not in repr(s) and "SIGNATURE" not in repr(s)
    with pytest.raises(SettingsError) as info:
        load_settings(
            {
                "SLACK_WEBHOOK_URL": "http://hooks.slack.com/services/T0/B0/SECRETTOKEN",
                "ALERT_ROUTES": json.dumps(
                    {
                        "a": {"slack": "MISSING_SETTING"},
                        "b": {"teams": "ftp://x?sig=SIGNATURE", "color": 1},
                        "default": {},
                    }
                ),
                "ALERT_MIN_SEVERITY": "loud",
            }
        )
    text = str(info.value)
    for expected in (
        "SLACK_WEBHOOK_URL",
        "MISSING_SETTING",
        "ALERT_ROUTES.b",
        "color",
        "'default' is reserved",
        "ALERT_MIN_SEVERITY",
    ):
        assert expected in text, expected
    assert "SECRETTOKEN" not in text and "SIGNATURE" not in text


STATUS_URL = "https://modelwatch.example.net/api/status"


def test_messages_link_to_the_status_page_and_an_upgrade_to_its_rollback_step() -> None:
    event = SAMPLES["deployment-upgraded-by-azure"]
    (message,) = messages_for(event, status_page_url=STATUS_URL)
    titles = [title for title, _ in message.links]
    assert titles == ["Roll back…", "Open status page"]
    rollback_url = dict(message.links)["Roll back…"]
    assert rollback_url.startswith(
        "https://modelwatch.example.net/api/rollback?deploymentId=%2Fsubscriptions%2F"
    )
    teams = teams_payload(message)["attachments"][0]["content"]["actions"]  # type: ignore[index, call-overload]
    assert [a["title"] for a in teams][:2] == titles  # type: ignore[index]
    slack = json.dumps(slack_payload(message))
    assert f"<{STATUS_URL}|Open status page>" in slack
    # without STATUS_PAGE_URL, no link; catalog news links to the page only
    (plain,) = messages_for(event)
    assert plain.links == ()
    news = messages_for(SAMPLES["catalog-released"], status_page_url=STATUS_URL)
    assert all(m.links == (("Open status page", STATUS_URL),) for m in news)


def test_tenant_strings_cannot_inject_links_mentions_or_code() -> None:
    event = SAMPLES["deployment-upgraded-by-azure"]
    data = dict(event.data)
    data.update(
        deploymentName="[click here](https://evil.example)",
        accountId=account_id("*bold*"),
        changedBy="<!channel> `rm -rf`",
    )
    (message,) = messages_for(replace(event, data=data))
    slack = json.dumps(slack_payload(message), ensure_ascii=False)
    teams = json.dumps(teams_payload(message), ensure_ascii=False)
    for rendered in (slack, teams):
        assert "[click here](https://evil.example)" not in rendered  # no markdown link survives
        assert "*bold*" not in rendered and "`rm -rf`" not in rendered
    assert "<!channel>" not in slack and "&lt;!channel&gt;" in slack  # Slack never sees a mention
    assert "click here" in teams and "evil.example" in teams  # still readable: only the markup is broken


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_teams_cards_never_show_literal_backticks(name: str) -> None:
    """Adaptive Cards have no code spans: `plan` would read as `plan`. Tenant text keeps its (inert) backticks."""
    for message in MESSAGES[name]:
        card = json.dumps(teams_payload(message)["attachments"][0]["content"], ensure_ascii=False)  # type: ignore[index]
        assert "`" not in card.replace("`\u200b", ""), name
        if "`" in message.todo:
            assert "`" in json.dumps(slack_payload(message))  # Slack renders code spans: kept there

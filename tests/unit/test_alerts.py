"""Messages: every kind renders within Slack's and Teams' limits, says what/when/what to do; routing and severity."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from shared.config import load_settings
from shared.domain.alerts import Message, Severity, messages_for
from shared.domain.digest import build_digests
from shared.domain.events import EventType
from shared.domain.routes import DEFAULT_ROUTE, Route
from shared.domain.secret import Secret
from shared.errors import SettingsError
from shared.presentation.alert_samples import REGIONS, _catalog, samples
from shared.presentation.render import slack_payload, teams_payload
from shared.services.notify import plan_posts

SAMPLES = samples()


def only(name: str) -> Message:
    (message,) = messages_for(SAMPLES[name])
    return message


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_kind_renders_within_limits(name: str) -> None:
    for message in messages_for(SAMPLES[name]):
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
    ("name", "severity", "prefix"),
    [
        ("deployment-at-risk-heads-up", Severity.WARNING, "Heads-up"),
        ("deployment-at-risk-30", Severity.WARNING, "Action needed"),
        ("deployment-at-risk-urgent", Severity.CRITICAL, "Urgent"),
        ("deployment-broken", Severity.CRITICAL, "Broken"),
    ],
)
def test_countdown_tone_rises_as_the_date_nears(name: str, severity: Severity, prefix: str) -> None:
    message = only(name)
    assert message.severity == severity and message.title.startswith(prefix)


def test_deployment_message_names_everything_an_owner_needs() -> None:
    message = only("deployment-at-risk-urgent")
    facts = dict(message.facts)
    assert facts["Deployment"] == "ptu-frontdoor" and facts["Account"] == "contoso-openai (eastus)"
    assert facts["Model"] == "gpt-4o 2024-05-13" and "never auto-upgraded" in facts["Policy"]
    assert facts["Retires"] == "2026-03-31 (7 days left)"
    assert message.happens and "Provisioned" in message.todo
    upgraded = only("deployment-upgraded-by-azure")
    assert (
        upgraded.command.startswith("python -m shared rollback /subscriptions/")
        and "2026-03-31" in upgraded.todo
    )
    rolled = only("deployment-rolled-back")
    assert "NoAutoUpgrade" in rolled.happens and "OnceNewDefaultVersionAvailable" in rolled.todo


def routes(**named: Route) -> dict[str, Route]:
    return {
        DEFAULT_ROUTE: Route(DEFAULT_ROUTE, Secret("https://t.example/d"), Secret("https://s.example/d")),
        **named,
    }


def test_routing_by_tag_default_fallback_and_catalog_to_default_only() -> None:
    payments = Route("payments", None, Secret("https://s.example/p"), "info")
    posts = plan_posts([only("deployment-upgrade-expected")], routes(payments=payments))
    assert [(p.channel.route, p.channel.kind) for p in posts] == [("payments", "slack")]
    orphan = replace(only("deployment-upgrade-expected"), route="nobody")
    posts = plan_posts([orphan], routes(payments=payments))
    assert {p.channel.route for p in posts} == {DEFAULT_ROUTE}
    assert ("Route", "nobody (not configured: sent to the default route)") in posts[0].message.facts
    posts = plan_posts(messages_for(SAMPLES["catalog-released"]), routes(payments=payments))
    assert {p.channel.route for p in posts} == {DEFAULT_ROUTE} and len(posts) == 2


def test_severity_threshold_and_muted_catalog_news() -> None:
    quiet = {
        DEFAULT_ROUTE: Route(
            DEFAULT_ROUTE, None, Secret("https://s.example/d"), "warning", catalog_news=False
        )
    }
    assert plan_posts([only("deployment-upgraded-by-azure")], quiet) == []  # info < warning
    assert len(plan_posts([only("deployment-broken")], quiet)) == 1
    news = {
        DEFAULT_ROUTE: Route(DEFAULT_ROUTE, None, Secret("https://s.example/d"), "info", catalog_news=False)
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
    assert payments.teams is not None and "SIGNATURE" in payments.teams.reveal()
    assert payments.min_severity == "warning" and s.routes[DEFAULT_ROUTE].slack is not None
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
    for expected in ("SLACK_WEBHOOK_URL", "MISSING_SETTING", "ALERT_ROUTES.b", "color", "'default' is reserved",
                     "ALERT_MIN_SEVERITY"):  # fmt: skip
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
        accountId="/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/*bold*",
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

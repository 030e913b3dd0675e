"""Mentions for critical news: the settings that name who is mentioned (checked once, each problem naming the
route and the value), the one rule (critical messages only), and what each channel receives: Slack ``<@U…>`` and
``<!subteam^S…>``, Teams ``<at>name</at>`` with its ``msteams.entities`` entry. Outside text never becomes one."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from shared.config import load_settings
from shared.domain.alerts import Message, mentioned, messages_for
from shared.domain.events import EventType, LifecycleEvent
from shared.domain.payloads import DeploymentData
from shared.domain.routes import DEFAULT_ROUTE, ChannelKind, Mentions, Route, TeamsMention
from shared.domain.secret import Secret
from shared.domain.severity import Severity
from shared.errors import SettingsError
from shared.presentation.alert_samples import sample_messages, samples
from shared.presentation.slack import slack_payload
from shared.presentation.teams import teams_payload
from shared.services.notify.sending import plan_posts

SLACK_URL = "https://hooks.slack.com/services/T0/B0/SECRETTOKEN"
TEAMS_URL = "https://x.environment.api.powerplatform.com/workflows/1?sig=SIGNATURE"
ADELE = TeamsMention("AdeleV@contoso.onmicrosoft.com", "Adele Vance")
ONCALL = TeamsMention("87d349ed-44d7-43e1-9a83-5f2406dee5bd", "Payments on-call")
MENTIONS = Mentions(("SAZ94GDB8", "U024BE7LH"), (ADELE, ONCALL))
SPEC = {
    "slack": ["SAZ94GDB8", "U024BE7LH"],
    "teams": [{"id": ADELE.id, "name": ADELE.name}, {"id": ONCALL.id, "name": ONCALL.name}],
}
MESSAGES = sample_messages()


def _card(payload: dict[str, Any]) -> dict[str, Any]:
    return payload["attachments"][0]["content"]  # type: ignore[no-any-return]


def _slack_read(payload: dict[str, Any]) -> str:
    """What Slack parses for mentions: the notification text and every mrkdwn text (a header's plain_text is shown
    as it is, never parsed)."""
    texts = [payload["text"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                texts.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(payload["blocks"])
    return "\n".join(texts)


def _ats(card: dict[str, Any]) -> list[str]:
    """Every live <at>…</at> in the card's texts (what Teams binds to an entity)."""
    return re.findall(r"<at>.*?</at>", json.dumps(card["body"], ensure_ascii=False))


# ---- settings


def test_routes_and_the_default_route_read_their_mentions() -> None:
    s = load_settings(
        {
            "SLACK_WEBHOOK_URL": SLACK_URL,
            "ALERT_ROUTES": json.dumps(
                {
                    "payments": {"slack": SLACK_URL, "teams": TEAMS_URL, "mentions": SPEC},
                    "default": {"mentions": {"teams": [{"id": ADELE.id, "name": " Adele Vance "}]}},
                }
            ),
        }
    )
    assert s.routes["payments"].mentions == MENTIONS
    default = s.routes[DEFAULT_ROUTE]
    assert (
        default.mentions == Mentions((), (ADELE,)) and ChannelKind.SLACK in default.channels
    )  # its webhook kept
    assert len(s.routes) == 2
    assert not load_settings({}).routes[DEFAULT_ROUTE].mentions  # none unless configured


@pytest.mark.parametrize(
    ("mentions", "named"),
    [
        ({"slack": ["@payments-oncall"]}, "ALERT_ROUTES.payments.mentions.slack[0]='@payments-oncall'"),
        ({"slack": ["C024BE7LR"]}, "ALERT_ROUTES.payments.mentions.slack[0]='C024BE7LR'"),  # a channel
        ({"slack": ["<!channel>"]}, "ALERT_ROUTES.payments.mentions.slack[0]='<!channel>'"),
        ({"slack": ["u024be7lh"]}, "ALERT_ROUTES.payments.mentions.slack[0]='u024be7lh'"),
        ({"slack": "SAZ94GDB8"}, "ALERT_ROUTES.payments.mentions.slack must be a list"),
        (
            {"teams": [{"id": "Adele Vance", "name": "Adele"}]},
            "ALERT_ROUTES.payments.mentions.teams[0] ('Adele Vance'",
        ),
        ({"teams": [{"id": ADELE.id}]}, "ALERT_ROUTES.payments.mentions.teams[0] must be"),
        ({"teams": [{"id": ADELE.id, "name": "<at>x</at>"}]}, "'<at>x</at>'): name must be"),
        ({"teams": [{"id": ADELE.id, "name": "two\nlines"}]}, "name must be 1-100 characters"),
        (
            {"teams": [{"id": ADELE.id, "name": "A"}, {"id": ONCALL.id, "name": "A"}]},
            "ALERT_ROUTES.payments.mentions.teams[1]: the name 'A' is already mentioned",
        ),
        ({"slack": ["U024BE7LH"] * 21}, "ALERT_ROUTES.payments.mentions.slack has 21 mentions; at most 20"),
        ({"email": ["a@b.c"]}, "ALERT_ROUTES.payments.mentions has unknown key(s) 'email'"),
        (["U024BE7LH"], "ALERT_ROUTES.payments.mentions must be an object"),
    ],
)
def test_a_bad_mention_is_named_with_its_route_and_value(mentions: object, named: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({"ALERT_ROUTES": json.dumps({"payments": {"slack": SLACK_URL, "mentions": mentions}})})
    assert named in str(info.value)
    assert "SECRETTOKEN" not in str(info.value)


def test_the_default_route_takes_only_mentions_and_they_are_checked_too() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({"ALERT_ROUTES": '{"default": {"mentions": {"slack": ["here"]}}}'})
    assert "ALERT_ROUTES.default.mentions.slack[0]='here' is not a Slack user id" in str(info.value)
    with pytest.raises(SettingsError) as info:
        load_settings({"ALERT_ROUTES": json.dumps({"default": {"slack": SLACK_URL, "mentions": {}}})})
    assert "'default' is reserved for the default route, which takes only mentions" in str(info.value)
    assert "SECRETTOKEN" not in str(info.value)


# ---- the rule: critical messages only


def _routes(mentions: Mentions) -> dict[str, Route]:
    slack, teams = Secret(SLACK_URL), Secret(TEAMS_URL)
    return {
        DEFAULT_ROUTE: Route(
            DEFAULT_ROUTE, {ChannelKind.TEAMS: teams, ChannelKind.SLACK: slack}, mentions=mentions
        ),
        "payments": Route(
            "payments", {ChannelKind.TEAMS: teams, ChannelKind.SLACK: slack}, mentions=mentions
        ),
    }


@pytest.mark.parametrize(
    ("kind", "severity"),
    [
        ("catalog-released", Severity.INFO),  # a routine digest
        ("catalog-summary", Severity.WARNING),
        ("deployment-rolled-back", Severity.WARNING),
        ("deployments-upgraded-by-azure", Severity.INFO),
        ("catalog-retirement-approaching", Severity.CRITICAL),
        ("team-broken", Severity.CRITICAL),
        ("deployments-upgrade-failed", Severity.CRITICAL),
    ],
)
def test_only_critical_messages_mention_anyone(kind: str, severity: Severity) -> None:
    (message, *_) = MESSAGES[kind]
    assert message.severity == severity
    posts = plan_posts([message], _routes(MENTIONS))
    assert len(posts) == 2
    for post in posts:
        slack = slack_payload(post.message)
        card = _card(teams_payload(post.message))
        if severity is Severity.CRITICAL:
            assert slack["text"].startswith("<!subteam^SAZ94GDB8> <@U024BE7LH> ")
            assert slack["blocks"][1]["text"]["text"] == "<!subteam^SAZ94GDB8> <@U024BE7LH>"
            assert _ats(card) == ["<at>Adele Vance</at>", "<at>Payments on-call</at>"]
            assert card["msteams"]["entities"] == [
                {
                    "type": "mention",
                    "text": "<at>Adele Vance</at>",
                    "mentioned": {"id": ADELE.id, "name": ADELE.name},
                },
                {
                    "type": "mention",
                    "text": "<at>Payments on-call</at>",
                    "mentioned": {"id": ONCALL.id, "name": ONCALL.name},
                },
            ]
        else:
            assert "<@" not in json.dumps(slack) and "subteam" not in json.dumps(slack)
            assert _ats(card) == [] and "entities" not in card["msteams"]


def test_a_route_without_mentions_mentions_nobody() -> None:
    (message,) = MESSAGES["team-broken"]
    for post in plan_posts([message], _routes(Mentions())):
        assert "<@" not in json.dumps(slack_payload(post.message))
        assert "entities" not in _card(teams_payload(post.message))["msteams"]


def test_a_message_told_again_below_critical_loses_its_mentions() -> None:
    (message,) = MESSAGES["team-broken"]
    loud = mentioned(message, MENTIONS)
    assert loud.mentions == MENTIONS
    assert not mentioned(replace(loud, severity=Severity.WARNING), MENTIONS).mentions


# ---- outside text never becomes a mention


def _hostile_failure(name: str) -> Message:
    event = samples()["deployment-upgrade-failed"]
    data = event.payload_as(DeploymentData)
    hostile = LifecycleEvent.create(
        EventType(event.event_type), event.id, event.event_time, replace(data, deployment_name=name)
    )
    (message,) = messages_for(hostile)
    assert message.severity is Severity.CRITICAL
    return message


HOSTILE_NAME = "chat <!channel> <@U0HOSTILE> <!subteam^SHOSTILE> <at>x</at> <at>Adele Vance</at>"


def test_a_hostile_deployment_name_is_inert_and_the_configured_mentions_live() -> None:
    (post, *_) = plan_posts([_hostile_failure(HOSTILE_NAME)], _routes(MENTIONS))
    slack = _slack_read(slack_payload(post.message))
    assert "&lt;!channel&gt;" in slack and "<!channel>" not in slack
    assert "<@U0HOSTILE>" not in slack and "<!subteam^SHOSTILE>" not in slack
    assert set(re.findall(r"<[@!][^>]*>", slack)) == {"<!subteam^SAZ94GDB8>", "<@U024BE7LH>"}
    card = _card(teams_payload(post.message))
    text = json.dumps(card["body"], ensure_ascii=False)
    assert "<\u200bat>x<\u200b/at>" in text  # shown, not bound
    # Adele once, from the route's settings: the name's "<at>Adele Vance</at>" is not bound to her entity
    assert _ats(card) == ["<at>Adele Vance</at>", "<at>Payments on-call</at>"]


def test_the_same_hostile_name_on_a_route_without_mentions_mentions_nobody() -> None:
    (post, *_) = plan_posts([_hostile_failure(HOSTILE_NAME)], _routes(Mentions()))
    assert re.findall(r"<[@!][^>]*>", _slack_read(slack_payload(post.message))) == []
    assert _ats(_card(teams_payload(post.message))) == []


def test_the_renderers_render_no_mention_that_the_settings_would_refuse() -> None:
    """A Message built elsewhere with junk in its mentions: nothing of it becomes a mention."""
    (message,) = MESSAGES["team-broken"]
    forged = replace(
        message,
        mentions=Mentions(
            ("!channel", "<!here>", "here"), (TeamsMention("x", "<at>y</at>"), TeamsMention(ADELE.id, "a>b"))
        ),
    )
    assert re.findall(r"<[@!][^>]*>", _slack_read(slack_payload(forged))) == []
    card = _card(teams_payload(forged))
    assert _ats(card) == [] and "entities" not in card["msteams"]

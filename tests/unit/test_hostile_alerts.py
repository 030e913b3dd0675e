"""Outside text stays text: every kind of message (the sample registry, shared/presentation/alert_samples.py) is
built again with hostile text in every string that comes from outside (catalog fields, deployment and account
names, ids, tags and route keys, ARM's error messages, who changed it), rendered for Slack and Teams, and checked:
no link or mention but the message's own (its configured mentions live), no emphasis, every Slack entity whole, and each platform's size limits
(https://learn.microsoft.com/connectors/teams, https://docs.slack.dev/reference/block-kit/blocks). The untainted samples pass the same checks (their placeholders included)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import fields, is_dataclass, replace
from enum import Enum
from typing import Any

import pytest

from shared.domain.alerts import RETIREMENTS_URL, Message
from shared.domain.events import EventType, LifecycleEvent
from shared.presentation.alert_samples import sample_messages
from shared.presentation.slack import slack_payload
from shared.presentation.teams import teams_payload

HOSTILE = (
    " <!channel> <!here|here> <@U024BE7LH> <#C024BE7LR> <https://evil.example|Roll back now> "
    "[Approve the emergency rollback here](https://evil.example/login) *now* _quick_ ~gone~ **bold** "
    "`code` https://evil.example/bare www.evil.example & &amp; &lt; <b> <at>x</at> <at>Adele Vance</at>"
)
# codes this app sets itself (an event's type, who applied a change, a rule's name): not outside text
OURS = {"event_type", "applied_by", "change", "reason", "actor", "trigger"}
STATUS_PAGE = "https://modelwatch.example/api/status"


def taint(value: Any, suffix: str = HOSTILE) -> Any:
    """``value`` with ``suffix`` after every outside string in it (events rebuilt, so the payload is valid)."""
    if isinstance(value, LifecycleEvent):
        payload = taint(value.payload(), suffix)
        return LifecycleEvent.create(EventType(value.event_type), value.id, value.event_time, payload)
    if isinstance(value, Enum) or value is None:
        return value
    if isinstance(value, str):
        return value + suffix
    if is_dataclass(value) and not isinstance(value, type):
        changed = {
            f.name: taint(getattr(value, f.name), suffix)
            for f in fields(value)
            if f.init and f.name not in OURS
        }
        return replace(value, **changed)
    if isinstance(value, tuple):
        return tuple(taint(v, suffix) for v in value)
    if isinstance(value, list):
        return [taint(v, suffix) for v in value]
    if isinstance(value, Mapping):  # route names as keys (ALERT_ROUTES keys are checked by the settings)
        return {k: taint(v, suffix) for k, v in value.items()}
    return value


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, text, the object holding it) for every "text"/"title"/"value" string of a payload."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, str) and k in ("text", "title", "value"):
                yield f"{path}.{k}", v, node
            else:
                yield from _strings(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, f"{path}[{i}]")


SLACK_LIVE = ("*now*", "_quick_", "~gone~", "://evil")  # emphasis, strike, a bare link
TEAMS_LIVE = ("[Approve", "](http", "*now*", "_quick_", "**bold**", "://evil")  # a markdown link, emphasis


def _live(text: str, patterns: tuple[str, ...]) -> list[str]:
    """What in ``text`` would still act in the channel (a link, emphasis, a bare URL)."""
    return [p for p in patterns if p in text]


def check_slack(message: Message, payload: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    ours = {url.replace("&", "&amp;") for _, url in message.links}
    # the message's configured mentions (a critical message of a route with mentions): a user group, a user
    ours |= {f"!subteam^{i}" if i.startswith("S") else f"@{i}" for i in message.mentions.slack}
    blocks = payload["blocks"]
    if len(blocks) > 50:
        problems.append(f"{len(blocks)} blocks")
    if len(payload["text"]) > 3000:
        problems.append("text over 3000")
    mrkdwn = [("text", payload["text"])]
    for i, block in enumerate(blocks):
        if block["type"] == "header" and len(block["text"]["text"]) > 150:
            problems.append("header over 150")
        for path, text, holder in _strings(block, f"blocks[{i}]"):
            if holder.get("type") == "mrkdwn":
                mrkdwn.append((path, text))
                if holder.get("verbatim") is not True:
                    problems.append(f"{path}: not verbatim (Slack would link bare URLs)")
        if len(block.get("fields", [])) > 10:
            problems.append("over 10 fields")
        for field in block.get("fields", []):
            if len(field["text"]) > 2000:
                problems.append("field over 2000")
        if "text" in block and block["type"] == "section" and len(block["text"]["text"]) > 3000:
            problems.append("section over 3000")
    for path, text in mrkdwn:
        if text.count("<") != text.count(">"):
            problems.append(f"{path}: an unterminated <")
        for entity in re.findall(r"<([^>]*)>", text):
            url = entity.split("|", 1)[0]
            if url not in ours:
                problems.append(f"{path}: a live <{entity}> from outside text")
        if broken := re.findall(r"&(?!amp;|lt;|gt;)[^\s]{0,5}", text):
            problems.append(f"{path}: a broken or raw entity {broken[:2]}")
        # in a code block and in our own <url|title> nothing is emphasised (verbatim: no bare URL is linked)
        prose = re.sub(r"```.*?```|<[^>]*>", "", text, flags=re.S)
        problems += [f"{path}: {p}" for p in _live(prose, SLACK_LIVE)]
    return problems


def check_teams(message: Message, payload: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    size = len(json.dumps(payload).encode("utf-8"))
    if size > 28 * 1024:
        problems.append(f"{size} bytes: over Teams' 28 KB")
    card = payload["attachments"][0]["content"]
    ours = {url for _, url in message.links} | {RETIREMENTS_URL}
    for action in card.get("actions", []):
        if action.get("url") not in ours:
            problems.append(f"an action to {action.get('url')!r}")
    own = sorted(f"<at>{m.name}</at>" for m in message.mentions.teams)
    entities = card.get("msteams", {}).get("entities", [])
    expected = [
        {"type": "mention", "text": f"<at>{m.name}</at>", "mentioned": {"id": m.id, "name": m.name}}
        for m in message.mentions.teams
    ]
    if entities != expected:
        problems.append(f"mention entities {entities} are not the configured {expected}")
    found: list[str] = []
    for path, text, holder in _strings(card["body"], "body"):
        if holder.get("type") != "TextRun":  # a TextRun is never read as markdown
            problems += [f"{path}: {p}" for p in _live(text, TEAMS_LIVE)]
            found += re.findall(r"<at>.*?</at>", text, flags=re.S)
    # each configured mention once (our own line); an <at> from outside text, even one naming a configured
    # person, would be bound to that person's entity
    if sorted(found) != own:
        problems.append(f"<at> mentions {found}, configured {own}")
    return problems


def _all(messages: Mapping[str, list[Message]]) -> list[tuple[str, Message]]:
    return [(kind, m) for kind, ms in messages.items() for m in ms]


PLAIN = sample_messages(STATUS_PAGE)
HOSTILE_SAMPLES = sample_messages(STATUS_PAGE, rewrite=taint)
# long outside text (a 20,000-character ARM error, names, tags): the whole message must still fit
HUGE = sample_messages(STATUS_PAGE, rewrite=lambda v: taint(v, (HOSTILE + "<&>" * 50) * 40))


def test_every_kind_of_message_is_fed_hostile_text() -> None:
    assert set(HOSTILE_SAMPLES) == set(PLAIN) and all(HOSTILE_SAMPLES.values())
    assert all(
        any(HOSTILE.strip()[:10] in m.text + str(m.facts) + str(m.items) for m in ms)
        for ms in HOSTILE_SAMPLES.values()
    )


@pytest.mark.parametrize("sample", ["plain", "hostile", "huge"])
def test_outside_text_renders_inert_whole_and_within_limits(sample: str) -> None:
    messages = {"plain": PLAIN, "hostile": HOSTILE_SAMPLES, "huge": HUGE}[sample]
    problems = []
    for kind, message in _all(messages):
        problems += [f"{kind} slack: {p}" for p in check_slack(message, slack_payload(message))]
        problems += [f"{kind} teams: {p}" for p in check_teams(message, teams_payload(message))]
    assert problems == []


def test_our_own_links_stay_live() -> None:
    """The checks above can fail: the status page link is the one live link, in both channels."""
    (message,) = HOSTILE_SAMPLES["deployment-upgraded-by-azure"]
    slack = json.dumps(slack_payload(message))
    assert f"<{STATUS_PAGE}|Open status page>" in slack
    teams = teams_payload(message)
    assert STATUS_PAGE in [a["url"] for a in teams["attachments"][0]["content"]["actions"]]  # type: ignore[index, call-overload]
    raw = replace(message, facts=(("x", "<!channel> [a](https://evil.example)"),))
    assert check_slack(
        raw,
        {
            "text": "",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": "<!channel>", "verbatim": True}}
            ],
        },
    )
    assert check_teams(
        raw,
        {
            "attachments": [
                {"content": {"body": [{"type": "TextBlock", "text": "[Approve](https://evil.example)"}]}}
            ]
        },
    )


def test_a_route_tag_nobody_configured_is_told_as_text() -> None:
    """The deployment's modelwatch:route tag names no configured route: the default route hears it, with the
    tag's value as a fact. The value is the tenant's: no link, no emphasis (notify.plan_posts)."""
    from shared.domain.routes import DEFAULT_ROUTE, ChannelKind, Route
    from shared.domain.secret import Secret
    from shared.services.notify.sending import plan_posts

    (message,) = PLAIN["deployment-upgraded-by-azure"]
    tagged = replace(message, route="[Approve the emergency rollback here](https://evil.example/login) *now*")
    default = Route(
        DEFAULT_ROUTE,
        {
            ChannelKind.TEAMS: Secret("https://teams.example/x"),
            ChannelKind.SLACK: Secret("https://hooks.slack.example/x"),
        },
    )
    posts = plan_posts([tagged], {DEFAULT_ROUTE: default})
    assert len(posts) == 2
    told = posts[0].message
    assert any(k == "Route" for k, _ in told.facts)
    assert check_slack(told, slack_payload(told)) == [] and check_teams(told, teams_payload(told)) == []
    assert "[Approve" not in dict(told.facts)["Route"]  # inert already in the message, for any channel

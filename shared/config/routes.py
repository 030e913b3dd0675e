"""The alert settings: webhooks (a URL, or the name of a setting holding one), severities, mentions, and
ALERT_ROUTES, each problem named without quoting a secret back."""

from __future__ import annotations

import json
import re

from shared.config.reader import Reader
from shared.domain.routes import (
    DEFAULT_ROUTE,
    MENTIONS_LIMIT,
    NO_MENTIONS,
    ChannelKind,
    Mentions,
    Route,
    TeamsMention,
    slack_id_problem,
    teams_mention_problem,
)
from shared.domain.secret import Secret
from shared.domain.severity import Severity
from shared.urls import endpoint_problem

_ROUTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ROUTE_KEYS = {*(kind.value for kind in ChannelKind), "minSeverity", "catalogNews", "mentions"}
MENTIONS_FORM = (
    '{"slack": ["S0123ABCD", "U024BE7LH"], "teams": [{"id": "<Entra object id or UPN>", "name": "<shown>"}]}'
)


def read_webhook(r: Reader, where: str, raw: str | None) -> Secret | None:
    """A webhook URL given directly or as the name of a setting holding it (Key Vault references resolve so).
    Problems name where the value came from, never the value: a webhook URL is a secret."""
    if raw is None or not raw.strip():
        return None
    value, source = raw.strip(), where
    if not value.startswith(("https://", "http://")):
        if not _SETTING_NAME.match(value):
            r.problems.append(f"{where} is neither an https:// URL nor the name of a setting holding one")
            return None
        resolved = r.get(value)
        if resolved is None:
            r.problems.append(f"{where} names the setting {value}, which is not set")
            return None
        value, source = resolved, f"{value} (named by {where})"
    if problem := endpoint_problem(value, source):
        r.problems.append(problem)
        return None
    return Secret(value)


def _shown(value: object) -> str:
    """A bad value quoted back in an error, unless it could be a secret (a URL, a signature, anything long)."""
    text = repr(value)
    if isinstance(value, str) and ("://" in value or "sig=" in value.lower() or len(value) > 40):
        return "(a value not shown: it may be a URL or a secret)"
    return text


def read_severity(r: Reader, where: str, raw: object, default: Severity) -> Severity:
    if raw is None:
        return default
    found = {s.label: s for s in Severity}.get(raw.strip().lower()) if isinstance(raw, str) else None
    if found is None:
        r.problems.append(f"{where}={_shown(raw)} must be info, warning or critical")
        return default
    return found


def _mentions(r: Reader, where: str, raw: object) -> Mentions:
    """A mention list ({"slack": [ids], "teams": [{"id", "name"}]}), each problem naming ``where`` and the value."""
    if raw is None:
        return NO_MENTIONS
    if not isinstance(raw, dict):
        r.problems.append(f"{where} must be an object: {MENTIONS_FORM}")
        return NO_MENTIONS
    unknown = sorted(set(raw) - {ChannelKind.SLACK, ChannelKind.TEAMS})
    if unknown:
        r.problems.append(
            f"{where} has unknown key(s) {', '.join(_shown(k) for k in unknown)}; known: slack, teams"
        )
    slack: list[str] = []
    teams: list[TeamsMention] = []
    for kind in (ChannelKind.SLACK, ChannelKind.TEAMS):
        items = raw.get(kind, [])
        if not isinstance(items, list):
            r.problems.append(f"{where}.{kind} must be a list: {MENTIONS_FORM}")
            continue
        if len(items) > MENTIONS_LIMIT:
            r.problems.append(f"{where}.{kind} has {len(items)} mentions; at most {MENTIONS_LIMIT}")
            continue
        for i, item in enumerate(items):
            at = f"{where}.{kind}[{i}]"
            if kind == ChannelKind.SLACK:
                problem = slack_id_problem(item) if isinstance(item, str) else "is not a string"
                if problem:
                    r.problems.append(f"{at}={_shown(item)} {problem}")
                elif item not in slack:
                    slack.append(item)
                continue
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("id"), str)
                or not isinstance(item.get("name"), str)
            ):
                r.problems.append(
                    f'{at} must be {{"id": "<Entra object id, UPN or tag id>", "name": "<shown>"}}'
                )
                continue
            mention = TeamsMention(item["id"].strip(), item["name"].strip())
            if problem := teams_mention_problem(mention.id, mention.name):
                r.problems.append(f"{at} ({_shown(mention.id)}, {_shown(mention.name)}): {problem}")
            elif any(m.name == mention.name for m in teams):
                # Teams binds an entity to the <at>name</at> text: two entities with one name are ambiguous
                r.problems.append(f"{at}: the name {mention.name!r} is already mentioned; names must differ")
            else:
                teams.append(mention)
    return Mentions(tuple(slack), tuple(teams))


def _default_entry(r: Reader, spec: object) -> list[Route]:
    """ALERT_ROUTES.default: the default route's mentions (its webhooks and threshold have settings of their own).
    Here, not in a setting of its own, so that it travels with ALERT_ROUTES (Key Vault, the azd hook)."""
    where = f"ALERT_ROUTES.{DEFAULT_ROUTE}"
    if not isinstance(spec, dict) or set(spec) != {"mentions"}:
        r.problems.append(
            f"{where}: 'default' is reserved for the default route, which takes only mentions here "
            '({"default": {"mentions": ...}}); its webhooks are TEAMS_WEBHOOK_URL and SLACK_WEBHOOK_URL, its '
            "threshold ALERT_MIN_SEVERITY"
        )
        return []
    return [Route(DEFAULT_ROUTE, mentions=_mentions(r, f"{where}.mentions", spec["mentions"]))]


def read_routes(r: Reader) -> tuple[Route, ...]:
    raw = r.get("ALERT_ROUTES")
    if raw is None:
        return ()
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        r.problems.append(f"ALERT_ROUTES is not JSON ({exc.msg} at {exc.pos})")  # no echo: it may hold URLs
        return ()
    if not isinstance(parsed, dict):
        r.problems.append('ALERT_ROUTES must be a JSON object: {"route": {"teams": ..., "slack": ...}}')
        return ()
    routes: list[Route] = []
    for name, spec in parsed.items():
        where = f"ALERT_ROUTES.{name}"
        if name == DEFAULT_ROUTE:
            routes.extend(_default_entry(r, spec))
            continue
        if not _ROUTE_NAME.match(name):
            # a URL pasted where a route name goes must not be quoted back: it is a secret
            shown = name if _ROUTE_NAME.match(name) else _shown(name)
            r.problems.append(
                f"ALERT_ROUTES has the route name {shown}: route names are letters, digits, '-', '_' or '.'; "
                "'default' is reserved"
            )
            continue
        if not isinstance(spec, dict):
            r.problems.append(f"{where} must be an object with {' and/or '.join(ChannelKind)}")
            continue
        unknown = sorted(set(spec) - _ROUTE_KEYS)
        if unknown:
            named = ", ".join(_shown(k) for k in unknown)
            r.problems.append(f"{where} has unknown key(s) {named}; known: {sorted(_ROUTE_KEYS)}")
        channels: dict[ChannelKind, Secret] = {}
        for kind in ChannelKind:
            raw = spec.get(kind)
            if (url := read_webhook(r, f"{where}.{kind}", raw if isinstance(raw, str) else None)) is not None:
                channels[kind] = url
        if not channels and not any(p.startswith(where) for p in r.problems):
            neither = " nor ".join(f"a {kind}" for kind in ChannelKind)
            r.problems.append(f"{where} has neither {neither} webhook")
        news = spec.get("catalogNews", True)
        if not isinstance(news, bool):
            r.problems.append(f"{where}.catalogNews must be true or false")
            news = True
        severity = read_severity(r, f"{where}.minSeverity", spec.get("minSeverity"), Severity.INFO)
        mentions = _mentions(r, f"{where}.mentions", spec.get("mentions"))
        routes.append(Route(name, channels, severity, news, mentions))
    return tuple(routes)

"""Alert routes: where a team's messages go, and how loud they must be to go there."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from shared.domain.secret import Secret
from shared.domain.severity import Severity


class ChannelKind(StrEnum):
    """Where a route can post. A new kind is a member here and its notifier (shared/adapters/notifiers/), which
    owns its wire rules; a route's address for it is an entry of ``Route.channels``."""

    TEAMS = "teams"  # a Teams Workflows webhook ("Post to a channel when a webhook request is received")
    SLACK = "slack"  # a Slack incoming webhook


@dataclass(frozen=True)
class Channel:
    """One alert destination: a route's webhook of one kind.

    ``url`` is a secret (it carries a signature or token): never logged, never in an error message; errors and
    logs name ``route`` and ``kind`` instead.
    """

    route: str
    kind: ChannelKind
    url: Secret = field(repr=False)

    def label(self) -> str:
        return f"{self.kind} of route {self.route}"


DEFAULT_ROUTE = "default"

# Slack's ids (docs.slack.dev, @slack/types): users "U…" (or "W…" on Enterprise Grid), user groups "S…"
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
SLACK_GROUP_ID = re.compile(r"S[A-Z0-9]{2,20}")
# what a Teams mention entity can name from a webhook (learn.microsoft.com cards-format, "user mention in incoming
# webhook"): an Entra object id or a UPN; a tag by its Graph teamworkTag id (base64)
_GUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_UPN = re.compile(r"[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_TAG_ID = re.compile(r"[A-Za-z0-9+/]{16,500}={0,2}")
TEAMS_NAME_LIMIT = 100
MENTIONS_LIMIT = 20  # per channel kind and route: a page of names is no longer a mention


def slack_id_problem(value: str) -> str | None:
    """Why ``value`` is not a Slack user or user-group id, or None."""
    if SLACK_USER_ID.fullmatch(value) or SLACK_GROUP_ID.fullmatch(value):
        return None
    return "is not a Slack user id (U… or W…) or user group id (S…), e.g. U024BE7LH or SAZ94GDB8"


def teams_mention_problem(mention_id: str, name: str) -> str | None:
    """Why (``mention_id``, ``name``) cannot be a Teams mention entity, or None."""
    if not (
        _GUID.fullmatch(mention_id)
        or (len(mention_id) <= 256 and _UPN.fullmatch(mention_id))
        or _TAG_ID.fullmatch(mention_id)
    ):
        return "id is not an Entra object id, a UPN (name@domain) or a Teams tag id"
    # the name is the <at>name</at> text Teams matches to its entity: no markup, one line
    if not name.strip() or len(name) > TEAMS_NAME_LIMIT or re.search(r"[<>\x00-\x1f\x7f]", name):
        return f"name must be 1-{TEAMS_NAME_LIMIT} characters, one line, without < or >"
    return None


@dataclass(frozen=True)
class TeamsMention:
    """A Teams user (Entra object id or UPN) or tag (its id), shown as ``<at>name</at>``."""

    id: str
    name: str


@dataclass(frozen=True)
class Mentions:
    """Who a route's critical messages mention. Built from validated settings (shared/config/) only, never from
    message text; the renderers check each id again, so nothing else can become a mention."""

    slack: tuple[str, ...] = ()  # user ids (U…, W…) and user group ids (S…)
    teams: tuple[TeamsMention, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.slack or self.teams)

    def __str__(self) -> str:
        parts = []
        if self.slack:
            parts.append("slack " + " ".join(self.slack))
        if self.teams:
            parts.append("teams " + ", ".join(f"{m.name} ({m.id})" for m in self.teams))
        return "; ".join(parts) or "(none)"


NO_MENTIONS = Mentions()


@dataclass(frozen=True)
class Route:
    """An alert route: where a team's messages go. URLs are secrets (they carry a signature or token)."""

    name: str
    # its address per channel kind (a webhook URL); never mutated, and left out of the hash (a dict has none)
    channels: Mapping[ChannelKind, Secret] = field(default_factory=dict, hash=False)
    min_severity: Severity = Severity.INFO
    catalog_news: bool = True  # informational catalog news (releases, default changes)
    mentions: Mentions = NO_MENTIONS  # who critical messages mention (never routine ones)

    def describe(self) -> str:
        """What the route is, for ``settings`` (never its URLs)."""
        mentions = f", mentions {self.mentions}" if self.mentions else ""
        if self.name == DEFAULT_ROUTE and not self.channels:
            return f"{self.name} (mentions {self.mentions})"  # ALERT_ROUTES' "default": its mentions only
        kinds = "+".join(c.kind for c in channels_of(self))
        news = "" if self.catalog_news else ", no catalog news"
        return f"{self.name} ({kinds}, min {self.min_severity.label}{news}{mentions})"


def channels_of(route: Route) -> tuple[Channel, ...]:
    """The route's configured destinations, one per channel kind, in ChannelKind's order."""
    return tuple(
        Channel(route.name, kind, route.channels[kind]) for kind in ChannelKind if kind in route.channels
    )

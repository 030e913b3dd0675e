"""Sending: where each message goes (each route's filters), and each post once per channel over the ledger.

The ledger is keyed by (event or batch, message, route, channel): a redelivered event posts nothing twice, and an
event half-delivered (Slack done, Teams down) retries only the channel that failed. A permanent webhook failure
(``invalid_payload``, ``channel_not_found``, other 4xx) is recorded with its reason and acknowledged; a transient
one that outlasted the sender's retries is returned to retry, after the other channels are done.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import NamedTuple

from shared.domain.alerts import Message, inert, mentioned
from shared.domain.routes import DEFAULT_ROUTE, Channel, Route, channels_of
from shared.domain.severity import Severity
from shared.errors import ModelWatchError
from shared.ports import Ledger, Notifier
from shared.services.idempotency import Once, process_once
from shared.services.notify.subscriber import SUBSCRIBER

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Post:
    message: Message
    channel: Channel


class Sent(NamedTuple):
    sent: int
    skipped: int  # already sent
    failed: list[str]  # for good: recorded and acknowledged
    retry: list[str]  # transient: the caller retries


def plan_posts(messages: list[Message], routes: Mapping[str, Route]) -> list[Post]:
    """Where each message goes, after each route's filters."""
    posts: list[Post] = []
    for original in messages:
        message = original
        route = routes.get(message.route or DEFAULT_ROUTE)
        if route is None:  # a tag naming a route nobody configured: the default route hears, and is told so
            route = routes[DEFAULT_ROUTE]
            facts = (
                *message.facts,
                # the tag's value is the tenant's text: inert, never a link or emphasis in the channel
                ("Route", f"{inert(message.route)} (not configured: sent to the default route)"),
            )
            message = replace(message, facts=facts)
        if message.catalog_news and route.name != DEFAULT_ROUTE:
            continue
        if message.severity < route.min_severity:
            continue
        if message.catalog_news and message.severity == Severity.INFO and not route.catalog_news:
            continue
        message = mentioned(message, route.mentions)  # critical only: the route's people, from its settings
        posts.extend(Post(message, channel) for channel in channels_of(route))
    return posts


@dataclass(frozen=True)
class Dispatcher:
    """Each post once per channel: the channel kind's notifier posts it, the ledger remembers it."""

    ledger: Ledger
    notifiers: Mapping[str, Notifier]
    claim_ttl: timedelta

    def send(self, key_prefix: str, posts: Sequence[Post], now: datetime) -> Sent:
        """Each post once per channel: (sent, already sent, failed for good, to retry)."""
        sent, skipped, failed, retry = 0, 0, [], []
        for post in posts:
            key = f"{key_prefix}/{post.message.key}/{post.channel.route}/{post.channel.kind}"
            notifier = self.notifiers.get(post.channel.kind)
            if notifier is None:
                failed.append(
                    f"{post.channel.label()}: no notifier for channel kind {post.channel.kind.value!r}"
                )
                continue
            try:
                done = process_once(
                    self.ledger,
                    SUBSCRIBER,
                    key,
                    partial(notifier.send, post.channel, post.message),
                    now=now,
                    ttl=self.claim_ttl,
                    outcome=lambda _: "sent",
                )
            except ModelWatchError as exc:  # transient: the other channels go on; the caller retries
                retry.append(f"{post.channel.label()}: {exc}")
                continue
            if done.status == Once.DUPLICATE:
                skipped += 1
            elif done.status == Once.BUSY:
                retry.append(f"{post.channel.label()}: another attempt is posting")
            elif done.status == Once.FAILED:
                # recorded and acknowledged: retrying a bad payload or a removed webhook cannot help
                failed.append(f"{post.channel.label()}: {done.error}")
                log.warning(
                    "%s: %s %s failed permanently: %s",
                    SUBSCRIBER,
                    post.message.kind,
                    post.channel.label(),
                    done.error,
                )
            else:
                sent += 1
                log.info("%s: %s sent to %s", SUBSCRIBER, post.message.kind, post.channel.label())
        return Sent(sent, skipped, failed, retry)

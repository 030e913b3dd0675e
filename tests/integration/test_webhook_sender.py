"""WebhookSender over real HTTP to the Slack and Teams stand-ins, by each notifier's rules: answers, retries, pacing,
secrets kept out."""

from __future__ import annotations

import logging
import socket

import pytest

from shared.adapters.notifiers.slack import SlackNotifier
from shared.adapters.notifiers.teams import TeamsNotifier
from shared.adapters.webhooks import WebhookSender
from shared.domain.routes import Channel
from shared.domain.secret import Secret
from shared.errors import WebhookError
from tests.builders import CARD
from tests.fakes.webhooks import FakeSlackWebhook, FakeTeamsWorkflow

MESSAGE = {"text": "hello", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}]}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def sender(clock: Clock, **options: float) -> WebhookSender:
    return WebhookSender(sleep=clock.sleep, monotonic=clock.monotonic, **options)  # type: ignore[arg-type]


def slack(hook: FakeSlackWebhook, route: str = "payments") -> Channel:
    return Channel(route, "slack", Secret(hook.url))


def teams(hook: FakeTeamsWorkflow) -> Channel:
    return Channel("payments", "teams", Secret(hook.url))


def test_success_on_both(
    clock: Clock, slack_webhook: FakeSlackWebhook, teams_webhook: FakeTeamsWorkflow
) -> None:
    s = sender(clock)
    s.send(slack(slack_webhook), MESSAGE, SlackNotifier)
    s.send(teams(teams_webhook), CARD, TeamsNotifier)
    assert slack_webhook.messages == [MESSAGE] and teams_webhook.messages == [CARD]
    assert s.sent == 2


def test_slack_200_that_is_not_ok_is_permanent(clock: Clock, slack_webhook: FakeSlackWebhook) -> None:
    slack_webhook.script = [(200, "no_text", {})]
    with pytest.raises(WebhookError) as info:
        sender(clock).send(slack(slack_webhook), MESSAGE, SlackNotifier)
    assert not info.value.is_transient and info.value.reason == "no_text"


def test_429_waits_retry_after(clock: Clock, slack_webhook: FakeSlackWebhook) -> None:
    slack_webhook.script = [(429, "rate_limited", {"Retry-After": "1"})]
    sender(clock).send(slack(slack_webhook), MESSAGE, SlackNotifier)
    assert len(slack_webhook.messages) == 1 and 1.0 in clock.sleeps


def test_500_burst_then_success_and_500_forever_is_transient(
    clock: Clock, teams_webhook: FakeTeamsWorkflow
) -> None:
    teams_webhook.script = [(500, "", {})] * 3
    sender(clock).send(teams(teams_webhook), CARD, TeamsNotifier)
    assert len(teams_webhook.messages) == 1 and len(teams_webhook.requests) == 4
    teams_webhook.script = [(500, "", {})] * 10
    with pytest.raises(WebhookError) as info:
        sender(clock, max_retries=2).send(teams(teams_webhook), CARD, TeamsNotifier)
    assert info.value.is_transient and len(teams_webhook.requests) == 4 + 3


@pytest.mark.parametrize(
    ("status", "body"), [(400, "invalid_payload"), (404, "channel_not_found"), (410, "channel_is_archived")]
)
def test_other_4xx_are_permanent_after_one_attempt(
    clock: Clock, slack_webhook: FakeSlackWebhook, status: int, body: str
) -> None:
    slack_webhook.script = [(status, body, {})]
    with pytest.raises(WebhookError) as info:
        sender(clock).send(slack(slack_webhook), MESSAGE, SlackNotifier)
    assert not info.value.is_transient and info.value.reason == body and len(slack_webhook.requests) == 1
    assert "payments" in str(info.value)  # the route is named, not the URL


def test_slack_posts_to_one_channel_are_spaced_a_second_apart(
    clock: Clock, slack_webhook: FakeSlackWebhook
) -> None:
    s = sender(clock)
    for _ in range(3):
        s.send(slack(slack_webhook), MESSAGE, SlackNotifier)
    assert sum(clock.sleeps) == pytest.approx(2.0)
    other = FakeSlackWebhook()
    try:
        before = sum(clock.sleeps)
        s.send(
            Channel("ops", "slack", Secret(other.url.replace("127.0.0.1", "localhost"))),
            MESSAGE,
            SlackNotifier,
        )
        assert sum(clock.sleeps) == before  # another channel: no wait
    finally:
        other.close()


def test_refused_connection_is_transient_and_bad_schemes_are_refused_before_any_request(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    secret = "TOKENTOKEN"
    with pytest.raises(WebhookError) as info:
        sender(clock, max_retries=1).send(
            Channel("ops", "slack", Secret(f"http://127.0.0.1:{port}/services/T/B/{secret}")),
            MESSAGE,
            SlackNotifier,
        )
    assert info.value.is_transient and secret not in str(info.value)
    with pytest.raises(WebhookError) as plain:
        sender(clock).send(
            Channel("ops", "teams", Secret(f"http://teams.example.com/x?sig={secret}")), CARD, TeamsNotifier
        )
    assert not plain.value.is_transient and secret not in str(plain.value)
    assert secret not in caplog.text


def test_no_log_line_carries_a_url(
    clock: Clock,
    slack_webhook: FakeSlackWebhook,
    teams_webhook: FakeTeamsWorkflow,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    slack_webhook.script = [(429, "rate_limited", {"Retry-After": "1"}), (500, "rollup_error", {})]
    teams_webhook.script = [(502, "", {})]
    s = sender(clock)
    s.send(slack(slack_webhook), MESSAGE, SlackNotifier)
    s.send(teams(teams_webhook), CARD, TeamsNotifier)
    for secret in ("slacktokenSECRET123", "teamssigSECRET456"):
        assert secret not in caplog.text
    assert "slack of route payments" in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com:99999/services/T/B/TOKENTOKEN",  # a port requests cannot use
        "https://hooks.slack.com:notaport/services/T/B/TOKENTOKEN",  # a port that is not a number
        "https://[::1/services/TOKENTOKEN",  # an unclosed IPv6 literal
    ],
)
def test_an_unusable_webhook_url_never_reaches_an_error_whole(
    clock: Clock, caplog: pytest.LogCaptureFixture, url: str
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(WebhookError) as info:
        sender(clock).send(Channel("ops", "slack", Secret(url)), MESSAGE, SlackNotifier)
    assert not info.value.is_transient
    assert "TOKEN" not in str(info.value) and "TOKEN" not in repr(info.value.reason)
    assert "TOKEN" not in caplog.text and "ops" in str(info.value)


def test_a_retry_after_that_would_pass_the_runs_deadline_is_not_slept(
    clock: Clock, slack_webhook: FakeSlackWebhook
) -> None:
    from shared.domain.waits import waits_until

    slack_webhook.script = [(429, "rate_limited", {"Retry-After": "30"})] * 2
    with waits_until(clock.now + 10, clock.monotonic), pytest.raises(WebhookError) as info:
        sender(clock).send(slack(slack_webhook), MESSAGE, SlackNotifier)
    assert info.value.is_transient and "deadline" in str(info.value)
    assert (
        clock.sleeps == [] and len(slack_webhook.requests) == 1
    )  # one attempt, no 30 s sleep past the deadline
    with waits_until(clock.now + 60, clock.monotonic):  # a wait that ends in time is slept
        sender(clock).send(slack(slack_webhook), MESSAGE, SlackNotifier)
    assert clock.sleeps == [30.0] and len(slack_webhook.messages) == 1

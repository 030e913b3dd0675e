"""ARM's bearer token never leaves ARM_ENDPOINT's origin, whatever URL a response hands the client: a nextLink, an
Azure-AsyncOperation or a Location. The ARM stand-in answers with each vector pointing at a second local server
("elsewhere"), which records every request it receives: for a refused vector it receives nothing, the client raises
ForeignLink, and the token appears nowhere. Vectors that only differ in spelling (scheme case, a leading zero in
the port) are normalised and stay on the stand-in. The same vectors as strings: tests/unit/test_urls.py."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from shared.adapters.arm import ArmClient, StaticTokenProvider
from shared.adapters.eventgrid import EventGridPublisher
from shared.adapters.notifiers.slack import SlackNotifier
from shared.adapters.webhooks import WebhookSender
from shared.domain.routes import Channel
from shared.domain.secret import Secret
from shared.errors import ArmError, PublishError, WebhookError
from tests.builders import SUBSCRIPTION as SUB
from tests.builders import account_id
from tests.fakes.arm_server import FakeArm, Fault
from tests.fakes.eventgrid_server import FakeEventGridTopic
from tests.fakes.recorder import Recorder
from tests.fakes.webhooks import FakeSlackWebhook

TOKEN = "tok-Secret-origin-1"
MODELS = f"/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/eastus/models"
DEPLOYMENT = f"{account_id('a', SUB)}/deployments/d"

# each builds a URL from (ARM's port, elsewhere's port); all of them must be refused
FOREIGN: list[tuple[str, Callable[[int, int], str]]] = [
    ("backslash before userinfo", lambda a, e: f"http://127.0.0.1:{e}\\@127.0.0.1:{a}/x"),
    ("two backslashes", lambda a, e: f"http://127.0.0.1:{e}\\\\@127.0.0.1:{a}/x"),
    ("backslash as the slashes", lambda a, e: f"http:\\\\127.0.0.1:{e}/x"),
    ("userinfo", lambda a, e: f"http://127.0.0.1:{a}@127.0.0.1:{e}/x"),
    ("encoded slash in userinfo", lambda a, e: f"http://127.0.0.1:{a}%2F@127.0.0.1:{e}/x"),
    ("encoded colon in the host", lambda a, e: f"http://127.0.0.1%3A{e}/x"),
    ("another port", lambda a, e: f"http://127.0.0.1:{e}/x"),
    ("scheme-relative", lambda a, e: f"//127.0.0.1:{e}/x"),
    ("another name for the host", lambda a, e: f"http://localhost:{e}/x"),
    ("a tab urlsplit drops", lambda a, e: f"http://127.0.0.1:{e}\t/x"),
    ("leading space", lambda a, e: f" http://127.0.0.1:{e}/x"),
    ("fullwidth digits (IDNA maps them to ASCII)", lambda a, e: f"http://１２７.0.0.1:{e}/x"),
    ("trailing dot", lambda a, e: f"http://127.0.0.1.:{e}/x"),
    ("port out of range", lambda a, e: f"http://127.0.0.1:{e + 65536}/x"),
    ("https to the same port", lambda a, e: f"https://127.0.0.1:{a}/x"),
]
SAME: list[tuple[str, Callable[[int, int], str]]] = [
    ("scheme and host case", lambda a, e: f"HTTP://127.0.0.1:{a}{MODELS}?api-version=2025-09-01"),
    ("leading zero in the port", lambda a, e: f"http://127.0.0.1:0{a}{MODELS}?api-version=2025-09-01"),
    ("a path", lambda a, e: f"{MODELS}?api-version=2025-09-01"),
]


def _client(arm: FakeArm) -> ArmClient:
    return ArmClient(arm.endpoint, "2025-09-01", StaticTokenProvider(Secret(TOKEN)), sleep=lambda _: None)


def _ports(arm: FakeArm, elsewhere: Recorder) -> tuple[int, int]:
    return int(arm.endpoint.rsplit(":", 1)[1]), elsewhere.port


def _page_linking_to(url: str) -> Fault:
    return Fault(
        200, {"Content-Type": "application/json"}, json.dumps({"value": [], "nextLink": url}), method="GET"
    )


CARRIERS = ["nextLink", "Azure-AsyncOperation", "Location"]


def _follow(arm: FakeArm, carrier: str, url: str) -> None:
    """Have the stand-in hand the client ``url`` in ``carrier``, and let the client follow it."""
    client = _client(arm)
    if carrier == "nextLink":
        arm.faults = [_page_linking_to(url)]
        client.list_all(MODELS)
        return
    status = 201 if carrier == "Azure-AsyncOperation" else 202
    body = "{}" if status == 201 else ""
    arm.faults = [Fault(status, {carrier: url}, body, method="PUT")]
    client.put_and_wait(DEPLOYMENT, {"properties": {}})


# a header cannot carry non-Latin-1 text: those vectors arrive in a nextLink (JSON) only
CASES = [
    pytest.param(carrier, vector, id=f"{name}-{carrier}")
    for name, vector in FOREIGN
    for carrier in CARRIERS
    if carrier == "nextLink" or vector(1, 2).isascii()
]


@pytest.mark.parametrize(("carrier", "vector"), CASES)
def test_a_link_to_another_origin_is_refused_and_the_token_stays_home(
    arm_server: FakeArm, elsewhere: Recorder, carrier: str, vector: Callable[[int, int], str]
) -> None:
    url = vector(*_ports(arm_server, elsewhere))
    with pytest.raises(ArmError) as info:
        _follow(arm_server, carrier, url)
    assert info.value.code == "ForeignLink" and not info.value.is_transient
    assert elsewhere.received == [] and elsewhere.credentials_seen == []
    assert TOKEN not in str(info.value) and url not in str(info.value)


@pytest.mark.parametrize(("name", "vector"), SAME, ids=[n for n, _ in SAME])
def test_a_link_spelled_differently_on_the_same_origin_is_followed(
    arm_server: FakeArm, elsewhere: Recorder, name: str, vector: Callable[[int, int], str]
) -> None:
    _follow(arm_server, "nextLink", vector(*_ports(arm_server, elsewhere)))
    assert [r.path for r in arm_server.requests] == [MODELS, MODELS]
    assert all(r.authorization == f"Bearer {TOKEN}" for r in arm_server.requests)
    assert elsewhere.received == []


@pytest.mark.parametrize(("name", "vector"), FOREIGN[:6], ids=[n for n, _ in FOREIGN[:6]])
def test_a_webhook_or_topic_url_read_two_ways_is_never_posted_to(
    eventgrid_server: FakeEventGridTopic,
    slack_webhook: FakeSlackWebhook,
    elsewhere: Recorder,
    name: str,
    vector: Callable[[int, int], str],
) -> None:
    """A webhook URL is its own credential, the topic's key goes with every publish: the sender and the publisher
    refuse the same vectors before any request (the settings refuse them first: tests/unit/test_urls.py)."""
    hook_port = int(slack_webhook.base.rsplit(":", 1)[1])
    with pytest.raises(WebhookError) as refused:
        WebhookSender(sleep=lambda _: None).send(
            Channel("payments", "slack", Secret(vector(hook_port, elsewhere.port))),
            {"text": "hi"},
            SlackNotifier,
        )
    assert not refused.value.is_transient
    topic_port = int(eventgrid_server.endpoint.split("/")[2].rsplit(":", 1)[1])
    with pytest.raises(PublishError):
        EventGridPublisher(vector(topic_port, elsewhere.port), Secret(eventgrid_server.key))
    assert elsewhere.received == [] and slack_webhook.requests == [] and eventgrid_server.requests == []

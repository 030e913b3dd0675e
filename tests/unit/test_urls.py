"""The one origin check (shared/urls.py), vector by vector: what it refuses, what it normalises, and that every
setting carrying a credential uses it (ARM_ENDPOINT, EVENTGRID_TOPIC_ENDPOINT, webhook URLs). The same vectors on
the wire, with a second server recording what it receives: tests/integration/test_origin.py."""

from __future__ import annotations

import pytest

from shared.config import load_settings
from shared.errors import SettingsError
from shared.urls import Origin, UnsafeUrlError, origin_of, same_origin

ARM = Origin("https", "management.azure.com", 443)

# (vector, why it is refused): each reached another host, or could be read as another host by some parser
REFUSED = [
    ("https://evil.example\\@management.azure.com/x", "backslash"),  # urlsplit: ARM; urllib3: evil.example
    ("https://management.azure.com\\@evil.example/x", "backslash"),
    ("https:\\\\evil.example/x", "backslash"),
    ("https://evil.example@management.azure.com/x", "user name or password"),
    ("https://management.azure.com@evil.example/x", "user name or password"),
    ("https://management.azure.com%2F@evil.example/x", "user name or password"),
    ("https://management.azure.com%2Fevil.example/x", "percent-encoded"),
    ("https://evil%2Eexample/x", "percent-encoded"),  # urllib3 decodes it to evil.example
    ("https://management.azure.com%40evil.example/x", "percent-encoded"),
    ("https://management.azure.com\t.evil.example/x", "whitespace"),  # urlsplit drops the tab
    ("https://management.azure.com\n/x", "whitespace"),
    (" https://evil.example/x", "whitespace"),
    ("https://management.azure.com\x00.evil.example/x", "control"),
    ("https://managemеnt.azure.com/x", "non-ASCII"),  # a Cyrillic е
    ("https://management.azure.com\u3002evil.example/x", "non-ASCII"),  # an ideographic full stop
    ("https://ｍanagement.azure.com/x", "non-ASCII"),  # fullwidth: IDNA would map it to ASCII
    ("https://management.azure.com./x", "dot"),
    ("https://management.azure.com:99999/x", "99999, outside 1-65535"),
    ("https://management.azure.com:0/x", "0, outside 1-65535"),
    ("https://management.azure.com:65536/x", "65536, outside 1-65535"),
    ("https://management.azure.com:44x3/x", "cannot be parsed"),
    ("//evil.example/x", "not an absolute"),
    ("javascript:alert(1)", "not an absolute"),
    ("ftp://management.azure.com/x", "https://"),
    ("https:///x", "no host"),
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_unsafe_urls_are_refused_and_never_quoted(url: str, why: str) -> None:
    with pytest.raises(UnsafeUrlError, match=why) as info:
        origin_of(url)
    assert "evil" not in str(info.value) and "management" not in str(info.value)
    assert not same_origin(url, ARM)


@pytest.mark.parametrize(
    "url",
    [
        "https://management.azure.com/x",
        "HTTPS://MANAGEMENT.AZURE.COM/x",
        "https://Management.Azure.Com:443/x",
        "https://management.azure.com:0443/x",
        "https://management.azure.com/x?next=a@b&$skipToken=%2F",  # '@' and '%' after the host are path data
        "https://management.azure.com/subscriptions/s/resourceGroups/grüppe/x",  # a resource group may be Unicode
    ],
)
def test_case_default_port_and_leading_zeros_are_normalised(url: str) -> None:
    assert origin_of(url) == ARM and same_origin(url, ARM)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://management.azure.com:8443/x", Origin("https", "management.azure.com", 8443)),
        ("http://management.azure.com/x", Origin("http", "management.azure.com", 80)),
        (
            "https://management.azure.com.evil.example/x",
            Origin("https", "management.azure.com.evil.example", 443),
        ),
        ("http://[::1]:8080/x", Origin("http", "::1", 8080)),
        ("https://xn--mnchen-3ya.example/x", Origin("https", "xn--mnchen-3ya.example", 443)),  # IDNA as ASCII
    ],
)
def test_another_port_scheme_or_host_is_another_origin(url: str, origin: Origin) -> None:
    assert origin_of(url) == origin and not same_origin(url, ARM)


SETTINGS_WITH_CREDENTIALS = [
    "ARM_ENDPOINT",
    "EVENTGRID_TOPIC_ENDPOINT",
    "TEAMS_WEBHOOK_URL",
    "SLACK_WEBHOOK_URL",
    "STATUS_PAGE_URL",
]


@pytest.mark.parametrize("setting", SETTINGS_WITH_CREDENTIALS)
@pytest.mark.parametrize(("url", "why"), [v for v in REFUSED if v[0].startswith("https://")])
def test_every_url_setting_refuses_the_vectors_naming_the_setting(setting: str, url: str, why: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({setting: url})
    assert f"{setting} " in str(info.value)
    assert url not in str(info.value) and "evil" not in str(info.value)  # a webhook URL is a secret


def test_a_webhook_in_alert_routes_is_checked_the_same_way() -> None:
    routes = '{"payments": {"slack": "https://hooks.slack.com\\\\@evil.example/services/T/B/x"}}'
    with pytest.raises(SettingsError, match=r"ALERT_ROUTES.payments.slack has a backslash"):
        load_settings({"ALERT_ROUTES": routes})


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_a_port_outside_1_to_65535_names_the_setting_and_the_port(port: str) -> None:
    with pytest.raises(SettingsError, match=rf"ARM_ENDPOINT has the port {port}, outside 1-65535"):
        load_settings({"ARM_ENDPOINT": f"http://127.0.0.1:{port}"})

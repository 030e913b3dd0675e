"""The function app as the Functions host runs it: the tenant's catalog over time (tests/functional/
test_subscriber_functions.py) and the HTTP site, status page and rollback, after three timer runs in which Azure
moved a deployment (tests/functional/test_http_functions.py, tests/e2e/test_rollback_button.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from shared import bootstrap
from shared.adapters.sqlite.deployments import SqliteDeploymentStore
from tests.builders import item
from tests.fakes.arm_server import FakeArm
from tests.fakes.eventgrid_server import FakeEventGridTopic
from tests.support.app_functions import functions

SUB = "00000000-0000-0000-0000-0000000000ee"
# The timer runs at the real "now": dates are relative to it.
TODAY = datetime.now(UTC).replace(microsecond=0)
FAR = "2030-01-01T00:00:00Z"


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


V1 = [
    item("gpt-4o", "2024-05-13", retires=FAR),
    item("gpt-4o", "2024-08-06", default=True, retires=FAR),
    item("gpt-4o", "2024-11-20", retires=FAR),
]
# 2024-05-13 retired 20 days ago (Standard), past the 14-day grace of Azure's rolling upgrade; the others stay
V2 = [
    item("gpt-4o", "2024-05-13", retires=iso(TODAY - timedelta(days=20))),
    item("gpt-4o", "2024-08-06", default=True, retires=FAR),
    item("gpt-4o", "2024-11-20", retires=FAR),
]
# 2024-11-20 is now the default
V3 = [
    item("gpt-4o", "2024-05-13", retires=FAR),
    item("gpt-4o", "2024-08-06", retires=FAR),
    item("gpt-4o", "2024-11-20", default=True, retires=FAR),
]


APP = "https://modelwatch-test.azurewebsites.net"


class Site:
    """The status page and the rollback function over SQLite state: one auto-update deployment Azure moved to the new
    default, after three timer runs."""

    def __init__(self, arm: FakeArm, state: Path) -> None:
        self.arm = arm
        self.state = state
        account = arm.add_account(SUB, "rg", "contoso", "eastus")
        self.auto = arm.add_deployment(
            account, "auto", "gpt-4o", "2024-08-06", policy="OnceNewDefaultVersionAvailable"
        )
        arm.set_catalog(SUB, "eastus", V1)
        timer = functions()["catalog_timer"].get_user_function()
        timer(TimerRequest(past_due=False))
        arm.set_catalog(SUB, "eastus", V3)  # 2024-11-20 becomes the default; Azure moves the deployment
        timer(TimerRequest(past_due=False))
        arm.deployments[self.auto.casefold()]["properties"]["model"]["version"] = "2024-11-20"
        timer(TimerRequest(past_due=False))

    def get(
        self,
        route: str,
        principal: str | None,
        params: dict[str, str] | None = None,
        url: str = APP,
        headers: dict[str, str] | None = None,
    ) -> func.HttpResponse:
        headers = {**(headers or {}), **({"X-MS-CLIENT-PRINCIPAL": principal} if principal else {})}
        name = "status" if route == "status" else "rollback_deployment"
        query = f"?{urlencode(params)}" if params else ""
        req = func.HttpRequest(
            "GET", f"{url}/api/{route}{query}", headers=headers, params=params or {}, body=b""
        )
        return functions()[name].get_user_function()(req)

    def post_form(
        self, fields: dict[str, str], principal: str | None, origin: str | None = APP
    ) -> func.HttpResponse:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if principal:
            headers["X-MS-CLIENT-PRINCIPAL"] = principal
        if origin:
            headers["Origin"] = origin
        req = func.HttpRequest(
            "POST", f"{APP}/api/rollback", headers=headers, body=urlencode(fields).encode()
        )
        return functions()["rollback_deployment"].get_user_function()(req)

    def post_json(self, body: bytes, headers: dict[str, str], url: str = APP) -> func.HttpResponse:
        req = func.HttpRequest("POST", f"{url}/api/rollback", headers=headers, body=body)
        return functions()["rollback_deployment"].get_user_function()(req)

    def records(self) -> list[Any]:
        return [
            r
            for r in SqliteDeploymentStore(str(self.state)).list_changes(self.auto)
            if r.applied_by == "rollback"
        ]


def serve_site(
    arm_server: FakeArm, eventgrid_server: FakeEventGridTopic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Site]:
    """The body of a ``site`` fixture: the function app's environment (Easy Auth, SQLite state under ``tmp_path``),
    fresh services before and after."""
    env = {
        "WATCH_SUBSCRIPTION_ID": SUB,
        "WATCH_LOCATIONS": "eastus",
        "ARM_ENDPOINT": arm_server.endpoint,
        "ARM_BEARER_TOKEN": "local-token",
        "ARM_MAX_RETRIES": "1",
        "EVENTGRID_TOPIC_ENDPOINT": eventgrid_server.endpoint,
        "EVENTGRID_TOPIC_KEY": eventgrid_server.key,
        "STATE_STORE": f"sqlite:///{tmp_path / 'state.db'}",
        "HTTP_AUTH": "entra",
        "WEBSITE_AUTH_ENABLED": "True",
        "WEBSITE_AUTH_SIGNING_KEY": "test-signing-key-not-a-secret",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    bootstrap.reset_function_services()
    yield Site(arm_server, tmp_path / "state.db")
    bootstrap.reset_function_services()

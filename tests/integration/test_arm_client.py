"""The ARM client over real HTTP against a local ARM stand-in: paging, retries, errors, token safety, LROs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from shared.adapters.arm import ArmCatalogSource, ArmClient, ArmDeploymentApi, StaticTokenProvider
from shared.domain.secret import Secret
from shared.errors import ArmError, CatalogFormatError
from tests.builders import SUBSCRIPTION as SUB
from tests.builders import account_id, item
from tests.fakes.arm_server import FakeArm, Fault

TOKEN = "tok-Secret-9f8e7d"


class Waits(list[float]):
    """A sleep that records what it was asked to wait and returns at once."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(arm: FakeArm, waits: Waits | None = None, **kw: object) -> ArmClient:
    return ArmClient(
        arm.endpoint,
        "2025-09-01",
        StaticTokenProvider(Secret(TOKEN)),
        sleep=waits if waits is not None else Waits(),
        **kw,
    )  # type: ignore[arg-type]


def test_pages_are_followed_and_every_item_returned_once(arm_server: FakeArm) -> None:
    arm_server.page_size = 3
    items = [item("gpt-4o", f"v{i:02}") for i in range(10)]
    arm_server.set_catalog(SUB, "eastus", items)
    got = ArmCatalogSource(client(arm_server), SUB).fetch_models("eastus")
    assert [g["model"]["version"] for g in got] == [f"v{i:02}" for i in range(10)]  # type: ignore[index, call-overload]
    assert len(arm_server.requests) == 4
    assert all(r.query["api-version"] == ["2025-09-01"] for r in arm_server.requests)
    assert all(r.authorization == f"Bearer {TOKEN}" for r in arm_server.requests)


def test_429_waits_retry_after_then_succeeds(arm_server: FakeArm) -> None:
    arm_server.set_catalog(SUB, "eastus", [item("gpt-4o", "1")])
    arm_server.faults = [
        Fault(
            429,
            {"Retry-After": "7"},
            '{"error":{"code":"TooManyRequests","message":"Retry after 7 seconds"}}',
        )
    ]
    waits = Waits()
    assert len(ArmCatalogSource(client(arm_server, waits), SUB).fetch_models("eastus")) == 1
    assert waits == [7.0]


def test_retry_after_is_capped(arm_server: FakeArm) -> None:
    arm_server.faults = [Fault(429, {"Retry-After": "3600"})]
    waits = Waits()
    client(arm_server, waits, max_retry_after=30.0).list_all(
        f"/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/eastus/models"
    )
    assert waits == [30.0]


def test_5xx_are_retried_with_capped_backoff(arm_server: FakeArm) -> None:
    arm_server.faults = [Fault(500), Fault(503)]
    waits = Waits()
    client(arm_server, waits, backoff_cap=2.0).list_all(
        f"/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/eastus/models"
    )
    assert len(waits) == 2 and all(0 <= w <= 2.0 for w in waits)


def test_exhausted_retries_are_transient_with_status(arm_server: FakeArm) -> None:
    arm_server.faults = [Fault(503) for _ in range(3)]
    with pytest.raises(ArmError) as info:
        client(arm_server, max_retries=2).list_all(
            f"/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/eastus/models"
        )
    assert info.value.is_transient and info.value.status == 503


def test_timeouts_are_retried(arm_server: FakeArm) -> None:
    arm_server.faults = [Fault(200, delay=1.0)]
    got = client(arm_server, timeout=0.3).list_all(
        f"/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/eastus/models"
    )
    assert got == []


def test_403_names_the_role_and_never_the_token(
    arm_server: FakeArm, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    arm_server.faults = [
        Fault(403, body='{"error":{"code":"AuthorizationFailed","message":"does not have authorization"}}')
    ]
    with pytest.raises(ArmError) as info:
        client(arm_server).list_all(
            f"/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/eastus/models"
        )
    text = str(info.value)
    assert not info.value.is_transient and info.value.code == "AuthorizationFailed"
    assert "Reader" in text and SUB in text
    assert TOKEN not in text and all(TOKEN not in r.getMessage() for r in caplog.records)


def test_other_4xx_surface_arm_code(arm_server: FakeArm) -> None:
    with pytest.raises(ArmError) as info:
        client(arm_server).get(account_id("none", SUB))
    assert info.value.status == 404 and info.value.code == "ResourceNotFound"


def test_next_link_to_another_host_is_refused() -> None:
    with FakeArm() as arm, FakeArm() as elsewhere:
        arm.faults = [
            Fault(200, body=f'{{"value":[],"nextLink":"{elsewhere.endpoint}/steal?api-version=1"}}')
        ]
        with pytest.raises(ArmError, match="outside ARM_ENDPOINT"):
            client(arm).list_all(
                f"/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/eastus/models"
            )
        assert elsewhere.requests == []


def test_truncated_body_is_transient_and_wrong_shape_is_a_format_error(arm_server: FakeArm) -> None:
    path = f"/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/eastus/models"
    arm_server.faults = [Fault(200, body='{"value": [{"kind"')]
    with pytest.raises(ArmError) as info:
        client(arm_server).list_all(path)
    assert info.value.is_transient
    arm_server.faults = [Fault(200, body='{"value": {"not": "a list"}}')]
    with pytest.raises(CatalogFormatError):
        client(arm_server).list_all(path)


def test_put_follows_the_async_operation_and_returns_the_final_resource(arm_server: FakeArm) -> None:
    account = arm_server.add_account(SUB, "rg", "acct", "eastus")
    rid = arm_server.add_deployment(account, "chat", "gpt-4o", "2024-05-13")
    api = ArmDeploymentApi(client(arm_server))
    body = api.get_deployment(rid)
    body["properties"]["model"]["version"] = "2024-08-06"  # type: ignore[index, call-overload]
    final = api.put_deployment(rid, body)
    assert final["properties"]["model"]["version"] == "2024-08-06"  # type: ignore[index, call-overload]
    assert final["properties"]["provisioningState"] == "Succeeded"  # type: ignore[index, call-overload]


def test_failed_operation_reports_arm_code_and_message(arm_server: FakeArm) -> None:
    account = arm_server.add_account(SUB, "rg", "acct", "eastus")
    rid = arm_server.add_deployment(account, "chat", "gpt-4o", "2024-05-13")
    arm_server.fail_next_put = ("QuotaExceeded", "Not enough quota for GlobalStandard")
    api = ArmDeploymentApi(client(arm_server))
    body = api.get_deployment(rid)
    with pytest.raises(ArmError) as info:
        api.put_deployment(rid, body)
    assert info.value.code == "QuotaExceeded" and "Not enough quota" in str(info.value)
    assert arm_server.version_of(rid) == "2024-05-13"


# The response body of Azure/azure-rest-api-specs stable/2026-03-01/examples/GetDeployment.json, plus the
# model-router `routing` property of the same api-version: fields an older api-version (or SDK model) drops.
GET_DEPLOYMENT_2026 = json.loads(
    (Path(__file__).parents[1] / "events" / "GetDeployment-2026-03-01.json").read_text()
)


def _seed_2026_deployment(arm: FakeArm) -> str:
    account = arm.add_account(SUB, "rg", "acct", "eastus")
    rid = f"{account}/deployments/deploymentName"
    body = json.loads(json.dumps(GET_DEPLOYMENT_2026))
    body["id"] = rid
    body["properties"]["routing"] = {
        "mode": "balanced",
        "models": [{"format": "OpenAI", "name": "ada", "version": "1"}],
    }
    arm.deployments[rid.casefold()] = body
    return rid


@pytest.mark.parametrize("mode", ["async", "location", "state"])
def test_put_follows_every_lro_shape_and_keeps_2026_fields(arm_server: FakeArm, mode: str) -> None:
    rid = _seed_2026_deployment(arm_server)
    arm_server.lro_mode, arm_server.lro_polls = mode, 2
    api = ArmDeploymentApi(client(arm_server), "2026-03-01")
    body = api.get_deployment(rid)
    body["properties"]["model"]["version"] = "2"  # type: ignore[index, call-overload]
    final = api.put_deployment(rid, body)
    props = final["properties"]
    assert isinstance(props, dict)
    assert props["provisioningState"] == "Succeeded" and props["model"] == {
        "name": "ada",
        "format": "OpenAI",
        "version": "2",
    }
    # the GET -> PUT round trip carried what only 2026-03-01 returns
    assert (props["serviceTier"], props["deploymentState"], props["routing"]["mode"]) == (
        "Default",
        "Running",
        "balanced",
    )  # type: ignore[index, call-overload]
    (put,) = arm_server.puts()
    assert put.body["properties"]["serviceTier"] == "Default" and put.query["api-version"] == ["2026-03-01"]
    polls = [r for r in arm_server.requests if r.method == "GET" and r is not arm_server.requests[0]]
    assert len(polls) >= 3  # two "still running" answers, then the end, then (async, location) the resource


def test_a_201_accepted_is_not_done(arm_server: FakeArm) -> None:
    rid = _seed_2026_deployment(arm_server)
    arm_server.lro_mode, arm_server.lro_polls = "state", 3
    api = ArmDeploymentApi(client(arm_server), "2026-03-01")
    body = api.get_deployment(rid)
    final = api.put_deployment(rid, body)
    assert final["properties"]["provisioningState"] == "Succeeded"  # type: ignore[index, call-overload]
    gets_after_put = [r for r in arm_server.requests[2:] if r.method == "GET"]
    assert len(gets_after_put) == 4  # three "Accepted" answers, then "Succeeded"


@pytest.mark.parametrize("mode", ["location", "state"])
def test_a_failed_operation_in_other_lro_shapes_is_reported(arm_server: FakeArm, mode: str) -> None:
    rid = _seed_2026_deployment(arm_server)
    arm_server.lro_mode = mode
    arm_server.fail_next_put = ("InsufficientQuota", "not enough quota")
    api = ArmDeploymentApi(client(arm_server), "2026-03-01")
    with pytest.raises(ArmError) as info:
        api.put_deployment(rid, api.get_deployment(rid))
    assert "InsufficientQuota" in str(info.value) or "failed" in str(info.value)


def test_polling_has_a_cap(arm_server: FakeArm) -> None:
    rid = _seed_2026_deployment(arm_server)
    arm_server.lro_polls = 50
    arm = client(arm_server)
    with pytest.raises(ArmError) as info:
        arm.put_and_wait(rid, ArmDeploymentApi(arm).get_deployment(rid), max_polls=5)
    assert info.value.is_transient and "still running after 5 polls" in str(info.value)


def test_polling_stops_after_its_time_cap_even_with_polls_left(arm_server: FakeArm) -> None:
    rid = _seed_2026_deployment(arm_server)
    arm_server.lro_polls, arm_server.lro_retry_after = 50, "30"  # ARM asks to wait 30 s between polls
    waits = Waits()  # the client's sleep: recorded, not slept
    arm = client(arm_server, waits)
    body = ArmDeploymentApi(arm).get_deployment(rid)
    with pytest.raises(ArmError) as info:
        arm.put_and_wait(rid, body, max_wait=100.0)
    assert info.value.is_transient and "100 s of waiting" in str(info.value)
    assert waits == [0.0, 30.0, 30.0, 30.0, 30.0]  # the PUT's own Retry-After, then polls until past 100 s


class Clock:
    """A monotonic clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def test_a_retry_after_that_would_pass_the_runs_deadline_raises_instead_of_sleeping(
    arm_server: FakeArm,
) -> None:
    from shared.domain.waits import waits_until

    models = f"/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/eastus/models"
    clock = Clock()
    arm = ArmClient(arm_server.endpoint, "2025-09-01", StaticTokenProvider(Secret(TOKEN)), sleep=clock.sleep)
    arm_server.faults = [Fault(429, {"Retry-After": "45"})]
    with waits_until(clock.now + 20, clock), pytest.raises(ArmError) as info:
        arm.list_all(models)
    assert info.value.is_transient and info.value.code == "DeadlineReached" and clock.sleeps == []
    assert len(arm_server.requests) == 1
    arm_server.faults = [Fault(429, {"Retry-After": "15"})]
    with waits_until(clock.now + 20, clock):  # within the deadline: waited, then done
        arm.list_all(models)
    assert clock.sleeps == [15.0]


def test_an_operation_poll_that_would_pass_the_runs_deadline_raises_instead_of_sleeping(
    arm_server: FakeArm,
) -> None:
    from shared.domain.waits import waits_until

    account = arm_server.add_account(SUB, "rg", "acct", "eastus")
    dep = arm_server.add_deployment(account, "chat", "gpt-4o", "2024-08-06")
    clock = Clock()
    arm = ArmClient(arm_server.endpoint, "2025-09-01", StaticTokenProvider(Secret(TOKEN)), sleep=clock.sleep)
    body = arm.get(dep)
    arm_server.faults = [
        Fault(
            201,
            {"Azure-AsyncOperation": f"{arm_server.endpoint}/operations/x", "Retry-After": "60"},
            "{}",
            method="PUT",
        )
    ]
    with waits_until(clock.now + 30, clock), pytest.raises(ArmError) as info:
        arm.put_and_wait(dep, body)
    assert info.value.is_transient and info.value.code == "DeadlineReached" and clock.sleeps == []

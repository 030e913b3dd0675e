"""The ARM client over real HTTP against a local ARM stand-in: paging, retries, errors, token safety, LROs."""

from __future__ import annotations

import logging

import pytest

from shared.adapters.arm import ArmCatalogSource, ArmClient, ArmDeploymentApi, StaticTokenProvider
from shared.config import Secret
from shared.errors import ArmError, CatalogFormatError
from tests.builders import item
from tests.fakes.arm_server import FakeArm, Fault

SUB = "00000000-0000-0000-0000-000000000001"
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
        client(arm_server).get(
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/none"
        )
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

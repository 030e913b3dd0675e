"""The inventory refresh against the local ARM stand-in: which accounts, paging, failures that keep what we knew."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.arm import ArmClient, ArmDeploymentApi, StaticTokenProvider
from shared.adapters.memory import InMemoryCatalogStateStore, InMemoryDeploymentStore
from shared.domain.policy import Status, assess
from shared.domain.secret import Secret
from shared.services.inventory import InventoryService
from tests.fakes.arm_server import FakeArm, Fault

SUB1 = "00000000-0000-0000-0000-0000000000f1"
SUB2 = "00000000-0000-0000-0000-0000000000f2"
NOW = datetime(2026, 5, 1, tzinfo=UTC)


def service(arm: FakeArm, stores: InMemoryDeploymentStore, **scope: list[str]) -> InventoryService:
    api = ArmDeploymentApi(
        ArmClient(
            arm.endpoint, "2025-09-01", StaticTokenProvider(Secret("t")), max_retries=1, sleep=lambda s: None
        )
    )
    return InventoryService(api, stores, stores, InMemoryCatalogStateStore(), **scope)  # type: ignore[arg-type]


def names(stores: InMemoryDeploymentStore) -> set[str]:
    return {d.name for d in stores.list_deployments()}


def test_subscriptions_list_openai_and_aiservices_accounts_only_across_pages(arm_server: FakeArm) -> None:
    arm_server.page_size = 2  # every list takes several pages (nextLink)
    a = arm_server.add_account(SUB1, "rg", "aoai", "East US")
    b = arm_server.add_account(SUB2, "rg", "foundry", "swedencentral", kind="AIServices")
    vision = arm_server.add_account(SUB1, "rg", "vision", "eastus", kind="ComputerVision")
    for i in range(5):
        arm_server.add_deployment(a, f"a{i}", "gpt-4o", "2024-08-06")
    arm_server.add_deployment(b, "b0", "gpt-4o", "2024-11-20", sku="GlobalProvisionedManaged")
    arm_server.add_deployment(vision, "v0", "gpt-4o", "2024-11-20")
    stores = InMemoryDeploymentStore()
    report = service(arm_server, stores, subscriptions=[SUB1, SUB2]).refresh(NOW)
    assert report.ok and report.accounts == 2 and report.deployments == 6
    assert names(stores) == {"a0", "a1", "a2", "a3", "a4", "b0"}
    by_name = {d.name: d for d in stores.list_deployments()}
    assert by_name["a0"].location == "eastus"  # ARM's display form normalised
    assert by_name["b0"].is_provisioned and by_name["b0"].last_seen == NOW


def test_watch_accounts_reads_only_those(arm_server: FakeArm) -> None:
    a = arm_server.add_account(SUB1, "rg", "one", "eastus")
    b = arm_server.add_account(SUB1, "rg", "two", "eastus")
    arm_server.add_deployment(a, "mine", "gpt-4o", "2024-08-06")
    arm_server.add_deployment(b, "theirs", "gpt-4o", "2024-08-06")
    stores = InMemoryDeploymentStore()
    report = service(arm_server, stores, accounts=[a]).refresh(NOW)
    assert report.ok and names(stores) == {"mine"}
    assert not any(r.path.endswith("/accounts") for r in arm_server.requests)  # no subscription-wide listing


def test_a_failed_listing_keeps_what_was_known_and_a_complete_one_removes_deleted(
    arm_server: FakeArm,
) -> None:
    a = arm_server.add_account(SUB1, "rg", "one", "eastus")
    b = arm_server.add_account(SUB1, "rg", "two", "westus")
    arm_server.add_deployment(a, "a0", "gpt-4o", "2024-08-06")
    gone = arm_server.add_deployment(b, "b0", "gpt-4o", "2024-08-06")
    stores = InMemoryDeploymentStore()
    inventory = service(arm_server, stores, subscriptions=[SUB1])
    inventory.refresh(NOW)
    del arm_server.deployments[gone.casefold()]
    arm_server.faults = [Fault(500, path_contains="/accounts/two/deployments") for _ in range(4)]
    report = inventory.refresh(NOW + timedelta(hours=1))
    assert not report.ok and "accounts/two" in report.problems[0]
    assert names(stores) == {"a0", "b0"}  # a failed listing is not a deletion
    arm_server.faults = []
    report = inventory.refresh(NOW + timedelta(hours=2))
    assert report.ok and report.removed == 1 and names(stores) == {"a0"}


def test_a_malformed_deployment_is_named_and_the_rest_stored(arm_server: FakeArm) -> None:
    a = arm_server.add_account(SUB1, "rg", "one", "eastus")
    arm_server.add_deployment(a, "good", "gpt-4o", "2024-08-06")
    bad = arm_server.add_deployment(a, "bad", "gpt-4o", "2024-08-06")
    del arm_server.deployments[bad.casefold()]["properties"]["model"]
    stores = InMemoryDeploymentStore()
    report = service(arm_server, stores, subscriptions=[SUB1]).refresh(NOW)
    assert names(stores) == {"good"}
    (problem,) = report.problems
    assert "bad" in problem and "properties.model" in problem


def test_an_unchanged_refresh_writes_nothing(arm_server: FakeArm) -> None:
    a = arm_server.add_account(SUB1, "rg", "one", "eastus")
    arm_server.add_deployment(a, "d", "gpt-4o", "2024-08-06", tags={"modelwatch:route": "search"})
    stores = InMemoryDeploymentStore()
    inventory = service(arm_server, stores, subscriptions=[SUB1])
    assert inventory.refresh(NOW).written == 1
    assert inventory.refresh(NOW + timedelta(hours=1)).written == 0
    arm_server.deployments[next(iter(arm_server.deployments))]["tags"]["modelwatch:route"] = "platform"
    assert inventory.refresh(NOW + timedelta(hours=2)).written == 1
    (d,) = stores.list_deployments()
    assert d.route == "platform"


def test_accounts_that_leave_the_scope_leave_the_inventory(arm_server: FakeArm) -> None:
    """docs/deploy.md's own path: plan over the whole subscription, then name the accounts enforcement may touch."""
    a = arm_server.add_account(SUB1, "rg", "one", "eastus")
    b = arm_server.add_account(SUB1, "rg", "two", "eastus")
    arm_server.add_deployment(a, "mine", "gpt-4o", "2024-08-06")
    arm_server.add_deployment(b, "theirs", "gpt-4o", "2024-08-06")
    stores = InMemoryDeploymentStore()
    service(arm_server, stores, subscriptions=[SUB1]).refresh(NOW)
    assert names(stores) == {"mine", "theirs"}
    report = service(arm_server, stores, accounts=[a.upper()]).refresh(NOW + timedelta(hours=1))
    assert names(stores) == {"mine"} and report.removed == 1
    # a subscription that is no longer watched: its deployments go too, even when its listing fails
    service(arm_server, stores, subscriptions=[SUB1]).refresh(NOW + timedelta(hours=2))
    arm_server.faults = [Fault(500, path_contains=SUB1)] * 10
    service(arm_server, stores, subscriptions=[SUB2]).refresh(NOW + timedelta(hours=3))
    assert names(stores) == set()


@pytest.mark.parametrize("status", [404, 403, 503])
def test_an_account_whose_model_list_fails_is_named_and_every_other_account_is_refreshed(
    arm_server: FakeArm, status: int
) -> None:
    broken = arm_server.add_account(SUB1, "rg", "broken", "eastus")
    fine = arm_server.add_account(SUB2, "rg", "fine", "eastus")
    ft = "gpt-4o-mini-2024-07-18.ft-0e208cf33a6a466994aff31a08aba678-support"  # a job suffix after the id
    arm_server.add_deployment(broken, "tuned", ft, "1")
    arm_server.add_deployment(broken, "plain", "gpt-4o", "2024-08-06")
    arm_server.add_deployment(fine, "tuned-ok", ft, "1")
    arm_server.account_models[fine.casefold()] = [
        {"format": "OpenAI", "name": ft, "version": "1", "deprecation": {"inference": "2027-10-01T00:00:00Z"}}
    ]
    arm_server.faults = [Fault(status, path_contains="/accounts/broken/models")] * 10  # retries included
    stores = InMemoryDeploymentStore()
    report = service(arm_server, stores, subscriptions=[SUB1, SUB2]).refresh(NOW)
    assert report.ok and report.deployments == 3
    (warning,) = report.warnings
    assert broken in warning and str(status) in warning
    by_name = {d.name: d for d in stores.list_deployments()}
    assessed = assess(by_name["tuned"], {}, NOW)
    assert assessed.status is Status.NOT_TRACKED and str(status) in assessed.summary
    ok = by_name["tuned-ok"].fine_tune
    assert ok is not None and ok.listed and ok.retirement_date == datetime(2027, 10, 1, tzinfo=UTC)


def test_fine_tuned_deployments_get_their_own_deprecation_from_the_accounts_model_list(
    arm_server: FakeArm,
) -> None:
    a = arm_server.add_account(SUB1, "rg", "tuned", "eastus")
    ft = "gpt-4.1-2025-04-14.ft-b044a9d3cf9c4228b5d393567f693b83"
    arm_server.add_deployment(a, "gpt-41-ft", ft, "1", sku="standard")
    arm_server.add_deployment(a, "plain", "gpt-4o", "2024-08-06")
    arm_server.account_models[a.casefold()] = [
        {  # Accounts - List Models: flat AccountModel items (2025-09-01 spec example shape)
            "baseModel": {"format": "OpenAI", "name": "gpt-4.1", "version": "2025-04-14"},
            "format": "OpenAI",
            "name": ft,
            "version": "1",
            "capabilities": {"fineTune": "false", "inference": "true"},
            "deprecation": {"inference": "2027-10-01T00:00:00Z", "deprecationStatus": "Planned"},
            "lifecycleStatus": "GenerallyAvailable",
        },
        {"format": "OpenAI", "name": "gpt-4o", "version": "2024-08-06", "isDefaultVersion": True},
    ]
    stores = InMemoryDeploymentStore()
    assert service(arm_server, stores, subscriptions=[SUB1]).refresh(NOW).ok
    by_name = {d.name: d for d in stores.list_deployments()}
    tuned = by_name["gpt-41-ft"].fine_tune
    assert tuned is not None and tuned.listed and tuned.base_model == "gpt-4.1"
    assert tuned.retirement_date == datetime(2027, 10, 1, tzinfo=UTC)
    assert by_name["plain"].fine_tune is None
    # the account's model list failing keeps what was known, said why: never a false "retired", never a failed
    # refresh (a warning naming the account)
    arm_server.faults = [Fault(500, path_contains="/accounts/tuned/models")] * 10
    report = service(arm_server, stores, subscriptions=[SUB1]).refresh(NOW + timedelta(hours=1))
    assert report.ok and report.problems == ()
    (warning,) = report.warnings
    assert a in warning and "fine-tuned deployments not tracked" in warning and "500" in warning
    tuned_again = {d.name: d for d in stores.list_deployments()}["gpt-41-ft"].fine_tune
    assert tuned_again is not None and tuned_again.why is not None
    assert tuned_again.retirement_date == tuned.retirement_date and tuned_again.listed
    # a fine-tuned model the list does not name is "not listed" (not tracked), never retired
    arm_server.faults = []
    arm_server.account_models[a.casefold()] = []
    service(arm_server, stores, subscriptions=[SUB1]).refresh(NOW + timedelta(hours=2))
    unlisted = {d.name: d for d in stores.list_deployments()}["gpt-41-ft"].fine_tune
    assert unlisted is not None and not unlisted.listed and unlisted.base_model == "gpt-4.1"


def test_a_throttled_listing_never_sleeps_past_the_runs_deadline(arm_server: FakeArm) -> None:
    """The timer's deadline reaches the ARM client on the inventory's worker threads: a 429 asking for more time
    than is left is reported (the next run lists it), not slept through."""
    from shared.services.budget import Deadline

    a = arm_server.add_account(SUB1, "rg", "one", "eastus")
    arm_server.add_deployment(a, "a0", "gpt-4o", "2024-08-06")
    slept: list[float] = []
    api = ArmDeploymentApi(
        ArmClient(arm_server.endpoint, "2025-09-01", StaticTokenProvider(Secret("t")), sleep=slept.append)
    )
    stores = InMemoryDeploymentStore()
    inventory = InventoryService(api, stores, stores, InMemoryCatalogStateStore(), accounts=[a])  # type: ignore[arg-type]
    arm_server.faults = [Fault(429, {"Retry-After": "50"}, path_contains="/deployments")]
    report = inventory.refresh(NOW, deadline=Deadline(30.0, clock=lambda: 0.0))
    assert slept == [] and not report.ok
    assert any("deadline" in p for p in report.problems), report.problems

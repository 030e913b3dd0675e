"""CANARY_PROTECT (#25, item 5) and the canary upkeep on the catalog timer's schedule, through the composition root
against the ARM and data-plane stand-ins: the policy subscriber asks, run_canary runs from the queue, and PUTs and
DELETEs are counted on the ARM stand-in.

chat-eu is auto-update (OnceNewDefaultVersionAvailable): when gpt-4o 2024-11-20 becomes the default, Azure will
move it. The payments suite finds two regressions there, so modelwatch (enforce mode, CANARY_PROTECT=true) pins it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from shared import bootstrap
from shared.adapters.memory import InMemoryAlertBuffer
from shared.config import load_settings
from shared.domain.policy import PolicyMode
from tests.fakes.arm_server import FakeArm
from tests.fakes.dataplane_server import FakeDataPlane
from tests.support.canary import CURRENT, NOW, TARGET, Pipe, World, answers, make_world, pipeline

TARGET2 = "2025-05-13"  # a later gpt-4o that does the payments team's job
RETIRES = datetime(2027, 9, 1, tzinfo=NOW.tzinfo)  # CURRENT's retirement: far, no reminder asks a canary
DEADLINE = RETIRES - timedelta(days=7)  # CANARY_PROTECT_MARGIN_DAYS' default
AUTO = "OnceNewDefaultVersionAvailable"


@pytest.fixture
def world(arm_server: FakeArm, data_plane: FakeDataPlane) -> World:
    return make_world(arm_server, data_plane)


def pipe(world: World, mode: str = "enforce", *, retires: bool = True, **env: str) -> Pipe:
    """The pipeline with CANARY_PROTECT on (unless ``env`` says otherwise), in enforce mode by default."""
    return pipeline(world, retires=retires, POLICY_MODE=mode, **{"CANARY_PROTECT": "true", **env})


def protected(world: World) -> tuple[Pipe, dict[str, Any]]:
    """chat-eu pinned after the regression on TARGET; (the pipe, chat-eu as ARM had it before)."""
    p = pipe(world)
    before = p.live()
    result = p.canary(p.new_default(TARGET, TARGET, at=NOW), NOW)
    assert result is not None and result.regressions == ("total", "currency")
    return p, before


def test_a_regression_pins_the_deployment_azure_would_move_with_one_put_of_the_same_body(
    world: World,
) -> None:
    p, before = protected(world)
    (put,) = p.policy_puts()
    expected = {k: v for k, v in before.items() if k != "etag"}
    expected["properties"]["versionUpgradeOption"] = "NoAutoUpgrade"
    assert {k: v for k, v in put.body.items() if k != "etag"} == expected  # only the policy changed
    assert put.if_match == before["etag"]
    assert world.arm.version_of(world.source) == CURRENT
    # recorded with the policy to put back, until the deadline
    record = p.services.stores.list_changes(world.source)[0]
    assert (record.applied_by, record.original_policy, record.available_until) == ("protect", AUTO, DEADLINE)
    # told: what, why, when Azure would have moved it, that it stops working at retirement
    told = p.told()
    assert told.verdict == "regression"
    for words in (
        "NoAutoUpgrade",
        f"it was {AUTO}",
        "total, currency",
        "stops working",
        "within two weeks of the default change",
        "2027-09-01",
        "2027-08-25",
    ):
        assert words in told.protection
    # a protection is no way back of rollbacks: the status page offers no rollback for it
    assert p.services.rollback.rollbacks.list_changes(world.source)[0].applied_by == "protect"


def test_a_redelivered_ask_pins_nothing_twice(world: World) -> None:
    p, _ = protected(world)
    assert p.services.run_canary(p.queue.messages[-1], NOW + timedelta(minutes=5)) is None
    assert len(p.policy_puts()) == 1
    # the run's result is stored once, where `canary list` and the status page read it
    assert [r["verdict"] for r in p.services.canaries.results.list_results(world.source)] == ["regression"]


def test_the_status_page_shows_the_latest_canary_of_each_deployment_on_its_version(world: World) -> None:
    from shared.presentation.status_page import render_status_page

    p, _ = protected(world)
    report = p.services.status(NOW + timedelta(hours=1))
    line = "tested: 5/5 → 3/5 on gpt-4o 2024-11-20 (regressed: total, currency)"
    (eu,) = [d for d in report.to_json()["deployments"] if d["name"] == "chat-eu"]
    assert eu["tested"]["line"] == line and eu["tested"]["verdict"] == "regression"
    others = [d["tested"] for d in report.to_json()["deployments"] if d["name"] != "chat-eu"]
    assert others and all(t is None for t in others)  # chat-eu-next was never tested
    page = render_status_page(report)
    assert '<div class="tested regression">tested: 5/5 → 3/5 on <span class="id">gpt-4o</span>' in page
    # a later pass on another target is the latest
    world.arm.add_deployment(world.account, "chat-eu-2025", "gpt-4o", TARGET2)
    world.plane.answer("gpt-4o", TARGET2, answers(fenced=False))
    later = NOW + timedelta(days=10)
    p.canary(p.new_default(TARGET2, TARGET, TARGET2, at=later), later)
    (eu,) = [d for d in p.services.status(later).to_json()["deployments"] if d["name"] == "chat-eu"]
    assert eu["tested"]["line"] == f"tested: 5/5 → 5/5 on gpt-4o {TARGET2}"


def test_the_status_page_shows_a_pin_while_it_holds(world: World) -> None:
    from shared.presentation.status_page import render_status_page

    p, _ = protected(world)
    report = p.services.status(NOW + timedelta(hours=1))
    (eu,) = [d for d in report.to_json()["deployments"] if d["name"] == "chat-eu"]
    line = (
        f"pinned to NoAutoUpgrade by CANARY_PROTECT since {NOW:%Y-%m-%d}: {AUTO} is put back when a later canary "
        f"passes (by {DEADLINE:%Y-%m-%d} at the latest)"
    )
    assert eu["pinned"]["line"] == line and eu["pinned"]["putBack"] == AUTO
    assert eu["pinned"]["lift"] == f"python -m shared canary unpin --deployment {world.source}"
    assert [d["pinned"] for d in report.to_json()["deployments"] if d["name"] != "chat-eu"] == [None]
    page = render_status_page(report)
    assert (
        f'<div class="tested pinned">pinned to NoAutoUpgrade by CANARY_PROTECT since <span class="id">{NOW:%Y-%m-%d}'
        in page
    )
    assert page.count("pinned to NoAutoUpgrade") == 1
    # in plan mode the page says modelwatch will not lift it, and how to
    plan = replace(report, mode=PolicyMode.PLAN)
    (eu,) = [d for d in plan.to_json()["deployments"] if d["name"] == "chat-eu"]
    assert eu["pinned"]["line"] == f"{line}; plan mode lifts nothing: {eu['pinned']['lift']}"
    # a later target that passes lifts it: the page no longer shows it
    world.arm.add_deployment(world.account, "chat-eu-2025", "gpt-4o", TARGET2)
    world.plane.answer("gpt-4o", TARGET2, answers(fenced=False))
    later = NOW + timedelta(days=10)
    p.canary(p.new_default(TARGET2, TARGET, TARGET2, at=later), later)
    after = p.services.status(later + timedelta(hours=1))
    assert all(d["pinned"] is None for d in after.to_json()["deployments"])
    assert "pinned to NoAutoUpgrade" not in render_status_page(after)


def test_plan_mode_pins_nothing(world: World) -> None:
    p = pipe(world, mode="plan")
    result = p.canary(p.new_default(TARGET, TARGET, at=NOW), NOW)
    assert result is not None and result.regressions == ("total", "currency")
    assert world.arm.puts() == [] and p.told().protection == ""
    assert world.arm.deployments[world.source.casefold()]["properties"]["versionUpgradeOption"] == AUTO


def test_a_policy_changed_meanwhile_is_not_overwritten(world: World) -> None:
    p = pipe(world)
    world.arm.touch(world.source, policy="OnceCurrentVersionExpired")  # the team, after the inventory read it
    result = p.canary(p.new_default(TARGET, TARGET, at=NOW), NOW)
    assert result is not None and result.verdict.value == "regression"  # the verdict stands
    assert p.policy_puts() == []
    assert "did not pin it" in p.told().protection


def test_a_pin_someone_else_set_meanwhile_is_theirs_never_put_back(world: World) -> None:
    p = pipe(world)
    world.arm.touch(world.source, policy="NoAutoUpgrade")  # the team pins it after the inventory read it
    result = p.canary(p.new_default(TARGET, TARGET, at=NOW), NOW)
    assert result is not None and result.verdict.value == "regression"
    assert p.policy_puts() == [] and "by someone else" in p.told().protection
    assert [c.applied_by for c in p.services.stores.list_changes(world.source)] == []
    assert p.services.canary_upkeep(DEADLINE + timedelta(hours=1)) == []  # nothing of ours to restore
    assert p.policy_puts() == []


def test_a_failed_pin_is_retried_by_the_redelivered_run_and_written_once(world: World) -> None:
    from shared.errors import ModelWatchError
    from tests.fakes.arm_server import Fault

    p = pipe(world, ARM_MAX_RETRIES="0")
    world.arm.faults.append(Fault(status=503, path_contains="/deployments/chat-eu", method="PUT"))
    event = p.new_default(TARGET, TARGET, at=NOW)
    p.services.policy.handle(event, NOW)
    (message,) = p.queue.messages
    with pytest.raises(ModelWatchError) as caught:
        p.services.run_canary(message, NOW)
    assert caught.value.is_transient  # the queue redelivers
    assert p.live()["properties"]["versionUpgradeOption"] == AUTO
    assert p.services.run_canary(message, NOW + timedelta(minutes=1)) is not None
    assert p.live()["properties"]["versionUpgradeOption"] == "NoAutoUpgrade"
    assert len(p.policy_puts()) == 2  # the refused one and the one that landed
    assert p.services.run_canary(message, NOW + timedelta(minutes=2)) is None
    assert len(p.policy_puts()) == 2


def test_a_later_target_that_passes_puts_the_recorded_policy_back(world: World) -> None:
    p, _ = protected(world)
    world.arm.add_deployment(world.account, "chat-eu-2025", "gpt-4o", TARGET2)
    world.plane.answer("gpt-4o", TARGET2, answers(fenced=False))
    later = NOW + timedelta(days=10)
    result = p.canary(p.new_default(TARGET2, TARGET, TARGET2, at=later), later)
    assert result is not None and result.verdict.value == "pass"
    _, back = p.policy_puts()
    assert back.body["properties"]["versionUpgradeOption"] == AUTO
    assert p.live()["properties"]["versionUpgradeOption"] == AUTO
    assert p.services.stores.list_changes(world.source)[0].applied_by == "unprotect"
    assert f"put versionUpgradeOption {AUTO} back" in p.told().protection
    # the deadline has nothing left to restore
    assert p.services.canary_upkeep(DEADLINE + timedelta(hours=1)) == []
    assert len(p.policy_puts()) == 2


def test_a_pin_with_no_retirement_known_is_still_lifted_by_a_later_pass(world: World) -> None:
    p = pipe(world, retires=False)
    result = p.canary(p.new_default(TARGET, TARGET, at=NOW), NOW)
    assert result is not None and result.verdict.value == "regression"
    assert len(p.policy_puts()) == 1
    assert p.services.stores.list_changes(world.source)[0].available_until is None
    # pinned and retiring nowhere, chat-eu is healthy to the engine: only its recorded policy says Azure would
    # move it to the new default, so the canary of that default is asked and its pass lifts the pin
    world.arm.add_deployment(world.account, "chat-eu-2025", "gpt-4o", TARGET2)
    world.plane.answer("gpt-4o", TARGET2, answers(fenced=False))
    later = NOW + timedelta(days=10)
    result = p.canary(p.new_default(TARGET2, TARGET, TARGET2, at=later), later)
    assert result is not None and result.verdict.value == "pass"
    assert p.live()["properties"]["versionUpgradeOption"] == AUTO and len(p.policy_puts()) == 2


def test_the_retirement_deadline_puts_the_policy_back_once(world: World) -> None:
    p, _ = protected(world)
    assert p.services.canary_upkeep(DEADLINE - timedelta(hours=1)) == []
    assert len(p.policy_puts()) == 1
    done = p.services.canary_upkeep(DEADLINE + timedelta(minutes=5))
    assert len(done) == 1 and "retires on 2027-09-01" in done[0]
    assert len(p.policy_puts()) == 2
    assert p.live()["properties"]["versionUpgradeOption"] == AUTO
    assert p.services.canary_upkeep(DEADLINE + timedelta(hours=1)) == []  # the next timer run: once
    assert len(p.policy_puts()) == 2


def test_a_regression_on_a_deployment_its_team_pinned_writes_nothing(world: World) -> None:
    world.arm.touch(world.source, policy="NoAutoUpgrade")  # Azure will not move it: nothing to keep it from
    p = pipe(world)
    result = p.canary(p.new_default(TARGET, TARGET, at=NOW), NOW)  # asked all the same: it has a retirement
    assert result is not None and result.verdict.value == "regression"
    assert world.arm.puts() == [] and p.told().protection == ""
    assert p.services.canary_upkeep(DEADLINE + timedelta(hours=1)) == []  # and nothing to restore


# ---- the sweeper: expired canaries a crashed run left, deleted on the catalog timer's schedule


def test_the_timer_sweeps_an_expired_canary_once_and_never_a_team_deployment(world: World) -> None:
    from tests.fakes.arm_server import Fault

    p = pipe(world, mode="plan", CANARY_MODE="create", CANARY_PROTECT="false")
    # a crash mid-run: the run's delete never lands (ARM answers 500 to each attempt)
    world.arm.faults += [Fault(status=500, path_contains="mw-canary", method="DELETE") for _ in range(6)]
    left = world.run("create", target=TARGET2, ARM_MAX_RETRIES="5")
    world.arm.faults.clear()
    assert left.canary is not None and (left.canary.created, left.canary.deleted) == (True, False)
    canary_id = world.account + "/deployments/chat-eu-mw-canary"
    team = world.arm.add_deployment(  # looks like ours by name, but carries no canary tag
        world.account,
        "team-mw-canary",
        "gpt-4o",
        CURRENT,
        tags={"modelwatch:expires": "2020-01-01T00:00:00Z"},
    )
    assert p.services.canary_upkeep(NOW + timedelta(minutes=30)) == []  # not expired yet
    assert p.services.canary_upkeep(NOW + timedelta(hours=3)) == [f"deleted expired canary {canary_id}"]
    assert p.services.canary_upkeep(NOW + timedelta(hours=4)) == []
    assert [d.path.rsplit("/", 1)[-1] for d in world.arm.deletes()].count("chat-eu-mw-canary") == 7  # 6 + 1
    assert team.casefold() in world.arm.deployments and world.source.casefold() in world.arm.deployments
    assert not any(d.path.endswith("team-mw-canary") for d in world.arm.deletes())


def test_the_sweeper_keeps_inside_the_write_scope(world: World) -> None:
    # an account named in WATCH_ACCOUNTS but in a region outside WATCH_LOCATIONS: not written, canary or not
    other = world.arm.add_account(world.account.split("/")[2], "rg", "other", "westus")
    world.arm.add_deployment(
        other,
        "x-mw-canary",
        "gpt-4o",
        TARGET,
        tags={"modelwatch:canary-of": other + "/deployments/x", "modelwatch:expires": "2020-01-01T00:00:00Z"},
    )
    p = pipe(world, mode="plan", CANARY_PROTECT="false", WATCH_ACCOUNTS=f"{world.account},{other}")
    assert p.services.canary_upkeep(NOW) == []
    assert world.arm.deletes() == []


# ---- a pin outlives enforce mode: POLICY_MODE=plan writes nothing, so `canary pins|list` show it and `unpin` lifts it


def state_of(p: Pipe, tmp_path: Any) -> str:
    """The app's state as the command line reads it: the inventory and its change history in a SQLite file."""
    from shared.config import StateStoreConfig
    from shared.domain.secret import Secret

    path = tmp_path / "state.db"
    stores = bootstrap.build_deployment_stores(StateStoreConfig("sqlite", Secret(str(path))))
    stores.save_deployments(p.services.stores.list_deployments())
    for change in reversed(p.services.stores.list_changes()):
        stores.add_change(change)
    return f"sqlite:///{path}"


def test_a_pin_in_plan_mode_is_listed_with_the_command_that_lifts_it(
    world: World, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import json

    from shared.cli.main import main

    p, _ = protected(world)
    # switched to plan mode over the same state: the timer's upkeep lifts nothing, even past the deadline
    settings = load_settings({**world.env, "WATCH_LOCATIONS": "eastus", "POLICY_MODE": "plan"})
    plan = bootstrap.build_services(
        settings,
        state=p.services.state,
        stores=p.services.stores,
        ledger=p.services.ledger,
        publisher=p.publisher,
        api=bootstrap.build_deployment_api(settings, bootstrap.build_arm_client(settings)),
        notifiers={},
        buffer=InMemoryAlertBuffer(),
        canary_queue=p.queue,
    )
    assert plan.canary_upkeep(DEADLINE + timedelta(days=1)) == [] and len(p.policy_puts()) == 1
    state = state_of(p, tmp_path)
    monkeypatch.chdir(tmp_path)
    for name, value in {**world.env, "POLICY_MODE": "plan", "CANARY_PROTECT": "false"}.items():
        monkeypatch.setenv(name, value)

    def cli(*argv: str) -> tuple[int, str]:
        out = io.StringIO()
        return main([*argv, "--state", state], out=out), out.getvalue()

    code, text = cli("canary", "list")
    lift = f"python -m shared canary unpin --deployment {world.source}"
    assert code == 0 and "pinned by CANARY_PROTECT (versionUpgradeOption NoAutoUpgrade): 1" in text
    assert f"chat-eu  since 2026-12-06  (was {AUTO}, lifted by 2027-08-25 in enforce mode)" in text
    assert f"lift: {lift}" in text and "POLICY_MODE=plan: modelwatch lifts no pin itself" in text
    code, text = cli("canary", "pins", "-o", "json")
    assert json.loads(text) == [
        {
            "deployment": world.source,
            "since": "2026-12-06T12:00:00Z",
            "putBack": AUTO,
            "liftedBy": "2027-08-25",
            "lift": lift,
        }
    ]
    # the operator's own act: lifted in plan mode, with If-Match, the end recorded
    code, text = cli("canary", "unpin", "--deployment", world.source)
    assert code == 0 and f"chat-eu: modelwatch put versionUpgradeOption {AUTO} back" in text
    (_, back) = p.policy_puts()
    assert back.body["properties"]["versionUpgradeOption"] == AUTO and back.if_match
    assert "no deployment is pinned by CANARY_PROTECT\n" in cli("canary", "pins")[1]
    code, _ = cli("canary", "unpin", "--deployment", world.source)
    assert code == 2  # not pinned any more: said, nothing written
    assert len(p.policy_puts()) == 2

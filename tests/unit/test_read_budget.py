"""ARM's read bucket as the ARM adapter spends it: per subscription, 250 at once, refilling 25 a second."""

from __future__ import annotations

from shared.adapters.arm import ReadBudget, _subscription_of


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_lets_250_reads_through_then_paces_at_25_a_second() -> None:
    clock = Clock()
    budget = ReadBudget(clock=clock)
    assert [budget.reserve("s1") for _ in range(250)] == [0.0] * 250
    assert budget.reserve("s1") == 1 / 25  # the 251st waits for the next token
    assert budget.reserve("s1") == 2 / 25  # and the next one after it: waiters are served in turn
    clock.now += 10  # 250 tokens refilled, less the two already promised
    assert budget.reserve("s1") == 0.0
    assert budget.waited == 3 / 25


def test_each_subscription_has_its_own_bucket() -> None:
    budget = ReadBudget(capacity=2, refill_per_second=1.0, clock=Clock())
    assert [budget.reserve("a"), budget.reserve("a"), budget.reserve("b"), budget.reserve("b")] == [0.0] * 4
    assert budget.reserve("a") == 1.0 and budget.reserve("b") == 1.0


def test_arm_s_remaining_count_lowers_ours_never_raises_it() -> None:
    clock = Clock()
    budget = ReadBudget(capacity=250, refill_per_second=25.0, clock=clock)
    budget.observe("s1", 1)  # another instance spent the rest of the bucket
    assert budget.reserve("s1") == 0.0
    assert budget.reserve("s1") == 1 / 25
    budget.observe("s1", 249)  # more than we have: ignored
    assert budget.reserve("s1") == 2 / 25


def test_the_subscription_of_a_request_path() -> None:
    assert _subscription_of("/subscriptions/ABC-1/providers/Microsoft.CognitiveServices/accounts") == "abc-1"
    assert (
        _subscription_of("/subscriptions/abc/resourceGroups/rg/providers/x/accounts/a/deployments") == "abc"
    )
    assert _subscription_of("/providers/Microsoft.CognitiveServices/operations") == ""  # the tenant's bucket

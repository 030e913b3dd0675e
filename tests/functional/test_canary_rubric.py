"""llm-rubric (#25): a judge deployment the suite names grades each answer, promptfoo's way, against the stand-in
data plane and ARM over loopback HTTP (the real openai client). The judge's calls count toward CANARY_MAX_TOKENS and
the concurrency bound; a judge that fails is an error verdict naming it, never a made-up pass or regression."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import bootstrap
from shared.adapters.suite_files import parse_suite_text
from shared.config import load_settings
from shared.domain.canary import CanaryResult
from shared.domain.evals import Suite
from shared.domain.verdict import Verdict
from shared.services.canary import CanaryRequest
from tests.fakes.arm_server import FakeArm
from tests.fakes.dataplane_server import FakeDataPlane

SUB = "00000000-0000-0000-0000-0000000000c2"
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
CURRENT, TARGET = "2024-08-06", "2024-11-20"
JUDGE_MODEL, JUDGE_VERSION = "gpt-4.1", "2025-04-14"
DP_TOKEN = "dp-token-2"
APOLOGY, COMPETITOR = "Apologises and gives a date", "Mentions a competitor"

SUITE = """\
description: support replies
deployments: ["contoso-support/reply-*"]
judge: {deployment: grader}
tests:
  - id: refund
    messages:
      - {role: user, content: "Customer 77 asks where the refund is."}
    assert:
      - {type: llm-rubric, value: "Apologises and gives a date"}
  - id: loyal
    messages:
      - {role: user, content: "Customer 78 asks which shop is cheaper."}
    assert:
      - {type: not-llm-rubric, value: "Mentions a competitor"}
"""


def grade(output: str, rubric: str) -> dict[str, Any]:
    """The stand-in judge: an apology with a date passes the first rubric; naming Fabrikam 'mentions a competitor'."""
    if rubric == APOLOGY:
        ok = "Sorry" in output and "May" in output
        return {"pass": ok, "score": 1.0 if ok else 0.0, "reason": "apology and date" if ok else "no apology"}
    ok = "Fabrikam" in output
    return {
        "pass": ok,
        "score": 1.0 if ok else 0.0,
        "reason": "names Fabrikam" if ok else "names no one else",
    }


def replies(curt: bool) -> Any:
    def answer(messages: list[dict[str, Any]]) -> str:
        prompt = str(messages[-1]["content"])
        if "77" in prompt:
            return "Refund pending." if curt else "Sorry for the wait: your refund arrives on 12 May."
        return "Fabrikam is cheaper." if curt else "We match any price."

    return answer


class Stand:
    def __init__(self, arm: FakeArm, plane: FakeDataPlane) -> None:
        self.arm, self.plane = arm, plane
        self.account = arm.add_account(SUB, "rg", "contoso-support", "eastus", endpoint=plane.endpoint)
        self.source = arm.add_deployment(self.account, "reply-eu", "gpt-4o", CURRENT)
        arm.add_deployment(self.account, "reply-eu-next", "gpt-4o", TARGET)
        arm.add_deployment(self.account, "grader", JUDGE_MODEL, JUDGE_VERSION)
        plane.token = DP_TOKEN
        plane.link(arm)
        plane.answer("gpt-4o", CURRENT, replies(curt=False))
        plane.answer("gpt-4o", TARGET, replies(curt=False))
        plane.judge(JUDGE_MODEL, JUDGE_VERSION, grade)

    def run(self, suite_text: str = SUITE, **env: str) -> CanaryResult:
        settings = load_settings(
            {
                "ARM_ENDPOINT": self.arm.endpoint,
                "ARM_BEARER_TOKEN": "arm-token-2",
                "DATA_PLANE_BEARER_TOKEN": DP_TOKEN,
                "WATCH_ACCOUNTS": self.account,
                **env,
            }
        )
        api = bootstrap.build_deployment_api(
            settings, bootstrap.build_arm_client(settings, sleep=lambda _s: None)
        )
        service = bootstrap.build_canary_service(settings, api=api, sleep=lambda _s: None)
        suite: Suite = parse_suite_text(suite_text, name="support.yaml", source="evals/support.yaml")
        result: CanaryResult = service.run(CanaryRequest(self.source, suite, "gpt-4o", TARGET), NOW)
        return result


@pytest.fixture
def stand(arm_server: FakeArm, data_plane: FakeDataPlane) -> Stand:
    return Stand(arm_server, data_plane)


def test_the_judge_passes_both_versions(stand: Stand) -> None:
    result = stand.run()
    assert (result.verdict, result.current.passed, result.target.passed) == (Verdict.PASS, 2, 2)
    judged = stand.plane.calls_to("grader")
    assert len(judged) == 4  # one rubric per case, on each version
    prompts = [c.body["messages"][-1]["content"] for c in judged]
    assert f"<Output>\nWe match any price.\n</Output>\n<Rubric>\n{COMPETITOR}\n</Rubric>" in prompts
    assert judged[0].body["messages"][0]["role"] == "system"  # promptfoo's grading prompt
    assert result.tokens == stand.plane.tokens_served  # the judge's tokens are the run's


def test_a_failed_rubric_is_a_regression_with_the_judges_reason(stand: Stand) -> None:
    stand.plane.answer("gpt-4o", TARGET, replies(curt=True))
    result = stand.run()
    assert result.verdict == Verdict.REGRESSION
    assert result.regressions == ("refund", "loyal")
    refund, loyal = result.cases
    assert refund.target.failures == ("llm-rubric: the judge failed it (score 0): no apology",)
    # not-llm-rubric fails when the judge passes the rubric
    assert loyal.target.failures == ("not-llm-rubric: the judge passed it (score 1): names Fabrikam",)


def test_a_threshold_asks_for_the_score_as_well(stand: Stand) -> None:
    stand.plane.judge(
        JUDGE_MODEL, JUDGE_VERSION, lambda _o, _r: {"pass": True, "score": 0.6, "reason": "meh"}
    )
    text = SUITE.replace(
        'value: "Apologises and gives a date"}', 'value: "Apologises and gives a date", threshold: 0.8}'
    )
    result = stand.run(text)
    refund = result.cases[0]
    assert refund.current.failures == ("llm-rubric: the judge failed it (score 0.6, threshold 0.8): meh",)


def test_a_malformed_judge_answer_is_an_error_naming_the_judge(stand: Stand) -> None:
    stand.plane.judge(JUDGE_MODEL, JUDGE_VERSION, lambda _o, _r: "Looks fine to me!")
    result = stand.run()
    assert result.verdict == Verdict.ERROR
    assert (result.reason or "").startswith("failed: the judge grader (llm-rubric of case ")
    assert "answered no grade" in (result.reason or "") and "Looks fine to me!" in (result.reason or "")


def test_a_judge_answer_without_pass_is_malformed(stand: Stand) -> None:
    stand.plane.judge(JUDGE_MODEL, JUDGE_VERSION, lambda _o, _r: {"score": "high"})
    result = stand.run()
    assert result.verdict == Verdict.ERROR and "its pass is not true or false" in (result.reason or "")


def test_a_missing_judge_deployment_is_an_error_naming_it(stand: Stand) -> None:
    result = stand.run(SUITE.replace("judge: {deployment: grader}", "judge: {deployment: gone}"))
    assert result.verdict == Verdict.ERROR
    assert (result.reason or "").startswith("failed: the judge gone (llm-rubric of case ")
    assert "no deployment gone" in (result.reason or "")


def test_an_unreachable_judge_is_an_unavailable_error_naming_it(stand: Stand) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    elsewhere = f"http://127.0.0.1:{port}"
    result = stand.run(
        SUITE.replace("{deployment: grader}", f"{{deployment: grader, endpoint: '{elsewhere}'}}")
    )
    assert result.verdict == Verdict.ERROR
    assert (result.reason or "").startswith(
        f"unavailable: the judge grader at {elsewhere} (llm-rubric of case "
    )
    assert stand.plane.calls_to("grader") == []


def test_the_judges_calls_count_toward_the_token_budget_and_the_concurrency_bound(stand: Stand) -> None:
    stand.plane.latency = 0.02
    stand.run(CANARY_CONCURRENCY="2")
    assert 1 <= stand.plane.max_in_flight <= 2
    stand.plane.calls.clear()
    # each answer costs about 12 tokens and each grading about 150: the budget runs out at a judge call
    result = stand.run(CANARY_MAX_TOKENS="100", CANARY_CONCURRENCY="1")
    assert result.verdict == Verdict.ERROR
    assert (result.reason or "").startswith("budget: stopped at CANARY_MAX_TOKENS=100")
    assert len(stand.plane.calls_to("grader")) == 1

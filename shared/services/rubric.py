"""Grade a case's ``llm-rubric`` assertions with the suite's judge deployment (``judge: {deployment: NAME}``).

The judge is called from the canary run's own worker, after the answer it grades, so its calls count toward the
run's concurrency bound (CANARY_CONCURRENCY: one chat call in flight per worker) and its tokens toward
CANARY_MAX_TOKENS (``budget``: checked before each call, charged after). A judge that cannot be asked or answers no grade is a DataPlaneError naming the judge:
the canary's verdict is ``error`` saying so, never a pass or a regression made up from a missing grade.
"""

from __future__ import annotations

from typing import Protocol

from shared.domain.evals import Case, Judge
from shared.domain.rubric import GradeError, judge_messages, parse_grade, rubric_finding
from shared.errors import DataPlaneError
from shared.ports import ChatApi


class Budget(Protocol):
    """A run's CANARY_MAX_TOKENS, shared by its workers."""

    def check(self) -> None:
        """Raise (the run's own exception) when the run has stopped or its tokens are spent."""
        ...

    def spend(self, tokens: int) -> None: ...


def grade_rubrics(
    case: Case, output: str, chat: ChatApi, judge: Judge, budget: Budget
) -> dict[int, tuple[bool, str]]:
    """Each llm-rubric of ``case`` graded on ``output``: (holds, finding) by its index in ``case.asserts``.
    Raises DataPlaneError naming the judge; ``budget.check`` raises to stop before a call."""
    graded: dict[int, tuple[bool, str]] = {}
    for i, a in enumerate(case.asserts):
        if not a.is_rubric:
            continue
        budget.check()  # before each call, as before a case's
        who = f"the judge {judge.name} (llm-rubric of case {case.id})"
        try:
            reply = chat.complete(judge.deployment, judge_messages(str(a.value), output), {})
        except DataPlaneError as exc:
            # auth, quota and unavailable keep their kind (quota and unavailable: the queue retries the run); a
            # judge deployment that is not there is the suite's mistake, not a missing target
            kind = exc.kind if exc.kind in ("auth", "quota", "unavailable") else "judge"
            detail = str(exc).split(": ", 1)[-1]
            raise DataPlaneError(f"{who}: {detail}", kind=kind, transient=exc.is_transient) from None
        budget.spend(reply.tokens)
        if reply.refusal:
            raise DataPlaneError(f"{who} gave no grade: {reply.refusal}", kind="judge")
        try:
            grade = parse_grade(reply.text)
        except GradeError as exc:
            raise DataPlaneError(
                f'{who} answered no grade (a {{"pass", "score", "reason"}} JSON object): {exc}', kind="judge"
            ) from None
        graded[i] = rubric_finding(grade, a.threshold)
    return graded

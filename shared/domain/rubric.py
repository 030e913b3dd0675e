"""``llm-rubric``: a judge deployment grades an output against a rubric, as promptfoo's grader does.

Pure: the judge's prompt (promptfoo's default rubric prompt: the judge answers a JSON object
``{"reason": str, "pass": bool, "score": number}``), reading its answer, and what the grade means for the assertion
(with ``threshold``, the score must reach it too). The call itself is ``shared/services/rubric.py``'s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from shared.domain.events import JsonValue
from shared.errors import PermanentError

RUBRIC_KIND = "llm-rubric"

# promptfoo's default grading prompt (its `DEFAULT_GRADING_PROMPT`), so a rubric written for promptfoo grades alike
JUDGE_SYSTEM = (
    "You are grading output according to a user-specified rubric. If the statement in the rubric is true, then the "
    "output passes the test. You respond with a JSON object with this structure: "
    "{reason: string, pass: boolean, score: number}\n\n"
    "Examples:\n\n"
    "<Output>Hello world</Output>\n<Rubric>Content contains a greeting</Rubric>\n"
    '{"reason": "the content contains the word \'Hello\'", "pass": true, "score": 1.0}\n\n'
    "<Output>Avast ye swabs, repel the invaders!</Output>\n<Rubric>Does not speak like a pirate</Rubric>\n"
    '{"reason": "\'avast ye\' is a common pirate term", "pass": false, "score": 0.0}'
)
REASON_LIMIT = 160  # characters of the judge's reason kept with a failure


class GradeError(PermanentError):
    """The judge's answer is not a grade: says what was wrong, with a few words of the answer."""


@dataclass(frozen=True)
class Grade:
    passed: bool
    score: float
    reason: str


def judge_messages(rubric: str, output: str) -> tuple[tuple[str, str], ...]:
    """The (role, content) pairs sent to the judge deployment."""
    return (
        ("system", JUDGE_SYSTEM),
        ("user", f"<Output>\n{output}\n</Output>\n<Rubric>\n{rubric}\n</Rubric>"),
    )


def first_json(text: str) -> JsonValue | None:
    """The first JSON object or array inside ``text`` (a fenced block, a sentence around it); None when none."""
    decoder = json.JSONDecoder()
    for i, char in enumerate(text):
        if char in "{[":
            try:
                value, _ = decoder.raw_decode(text, i)
            except ValueError:
                continue
            return value  # type: ignore[no-any-return]
    return None


def _short(text: str, limit: int = REASON_LIMIT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def parse_grade(answer: str) -> Grade:
    """The judge's grade from its answer: the first JSON object in it (promptfoo reads it so too), ``pass`` true or
    false, ``score`` a number from 0 to 1 (left out: 1 on a pass, 0 on a fail), ``reason`` text. Raises
    GradeError."""
    found = first_json(answer)
    if not isinstance(found, dict):
        raise GradeError(f"no JSON object in its answer ({_short(answer, 60)!r})")
    passed, score, reason = found.get("pass"), found.get("score"), found.get("reason", "")
    if not isinstance(passed, bool):
        raise GradeError(f"its pass is not true or false ({json.dumps(passed)[:40]})")
    if score is not None and (
        isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1
    ):
        raise GradeError(f"its score is not a number from 0 to 1 ({json.dumps(score)[:40]})")
    return Grade(
        passed=passed,
        score=float(score) if score is not None else (1.0 if passed else 0.0),
        reason=_short(reason if isinstance(reason, str) else json.dumps(reason)),
    )


def rubric_finding(grade: Grade, threshold: float | None) -> tuple[bool, str]:
    """(whether the rubric holds, what the judge found), read as the reason of a failure in either form. With a
    ``threshold`` the score must reach it as well as the judge passing it (promptfoo's rule)."""
    holds = grade.passed and (threshold is None or grade.score >= threshold)
    limit = f", threshold {threshold:g}" if threshold is not None else ""
    said = "passed" if holds else "failed"
    return (
        holds,
        f"llm-rubric: the judge {said} it (score {grade.score:g}{limit}): {grade.reason or 'no reason'}",
    )

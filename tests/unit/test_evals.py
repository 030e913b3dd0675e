"""Evaluation suites: parsing (a malformed suite is refused with its file and line) and every assertion type, each
in its not- form too."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.adapters.suite_blobs import split_container_url
from shared.adapters.suite_files import FolderSuites, JsonSchemaChecker, load_suites, parse_suite_text
from shared.domain.evals import CHECKS, Assertion, Case, SuiteError, failure, judge, suite_for
from shared.domain.rubric import Grade, GradeError, parse_grade, rubric_finding

SCHEMAS = JsonSchemaChecker()
ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
description: invoice extraction
deployments: ["contoso-payments/chat-*"]
defaults: {temperature: 0, max_tokens: 300}
repeat: 3
pass_at: 2
threshold: 0.8
tests:
  - id: total
    messages:
      - {role: system, content: "Answer with JSON only."}
      - {role: user, content: "Invoice 1182: 2 x 21.05 EUR."}
    assert:
      - {type: is-json, value: {type: object, required: [total]}}
      - {type: contains, value: "42.1"}
      - {type: latency, threshold: 800}
"""


RUBRIC = """\
judge: {deployment: grader}
tests:
  - id: thanks
    messages: [{role: user, content: hi}]
    assert:
      - {type: llm-rubric, value: Says thanks, threshold: 0.8}
      - {type: not-llm-rubric, value: Is rude}
"""


def parse(text: str) -> object:
    return parse_suite_text(text, name="invoices.yaml", source="evals/invoices.yaml", schemas=SCHEMAS)


def refusal(text: str) -> SuiteError:
    with pytest.raises(SuiteError) as caught:
        parse(text)
    return caught.value


def test_a_suite_parses_as_the_issue_writes_it() -> None:
    suite = parse_suite_text(GOOD, name="invoices.yaml", source="x", schemas=SCHEMAS)
    assert suite.description == "invoice extraction"
    assert suite.deployments == ("contoso-payments/chat-*",)
    assert dict(suite.defaults) == {"temperature": 0, "max_tokens": 300}
    assert (suite.repeat, suite.pass_at, suite.threshold, suite.allow_global) == (3, 2, 0.8, False)
    case = suite.tests[0]
    assert case.id == "total"
    assert case.messages[1] == ("user", "Invoice 1182: 2 x 21.05 EUR.")
    assert [a.type for a in case.asserts] == ["is-json", "contains", "latency"]
    assert case.asserts[2].value == 800.0
    assert suite.covers("Contoso-Payments", "chat-eu") and not suite.covers("contoso-search", "chat-eu")


def test_the_shipped_example_suite_loads() -> None:
    # the app's EVAL_SUITES folder ships none active (a sub-folder is not read): the example is the demo's
    assert load_suites(ROOT / "evals") == []
    suites = load_suites(ROOT / "evals" / "examples")
    assert [s.name for s in suites] == ["payments-invoices.yaml"]
    assert len(suites[0].tests) == 5


@pytest.mark.parametrize(
    ("broken", "line", "words"),
    [
        (GOOD.replace("type: contains,", "type: contains-ish,"), 14, "unknown assertion type 'contains-ish'"),
        (GOOD.replace("type: contains,", "type: not-nonsense,"), 14, "unknown assertion type 'not-nonsense'"),
        (GOOD.replace("type: contains,", "type: llm-rubric,"), 14, "llm-rubric needs a judge: add judge:"),
        (GOOD.replace("type: contains,", "type: similar,"), 14, "'similar' is not supported yet"),
        (GOOD.replace("role: user", "role: robot"), 11, "role 'robot'"),
        (GOOD.replace("repeat: 3", "repeat: 0"), 4, "repeat is a whole number"),
        (GOOD.replace("pass_at: 2", "pass_at: 4"), 5, "pass_at is a whole number from 1 to 3"),
        (GOOD.replace("threshold: 0.8", "threshold: 2"), 6, "threshold"),
        (GOOD.replace("max_tokens: 300", "max_tokenz: 300"), 3, "unknown option 'max_tokenz'"),
        (GOOD.replace("required: [total]", "required: 7"), 13, "JSON Schema of is-json is invalid"),
        (GOOD.replace('type: contains, value: "42.1"', 'type: regex, value: "(42"'), 14, "does not compile"),
        (GOOD.replace("threshold: 800", "threshold: -1"), 15, "milliseconds"),
        (GOOD.replace("  - id: total\n", "  - name: total\n"), 8, "unknown key 'name'"),
        (
            GOOD
            + "  - id: total\n    messages: [{role: user, content: hi}]\n    assert: [{type: equals, value: x}]\n",
            16,
            "case id 'total' is used twice",
        ),
        (GOOD.replace("description:", "descripton:"), 1, "unknown key 'descripton'"),
        (GOOD + "repeat: 2\n", 16, "the key 'repeat' appears twice"),
        (GOOD.replace("{temperature", "temperature"), 3, "not valid YAML"),
        ("description: x\ntests: []\n", 2, "tests is a non-empty list"),
        (
            RUBRIC.replace("judge: {deployment: grader}", "judge: {model: x}"),
            1,
            "judge is {deployment: NAME}",
        ),
        (RUBRIC.replace("grader}", "grader, api_key: k}"), 1, "unknown key 'api_key' in judge"),
        (
            RUBRIC.replace("grader}", "grader, endpoint: 'https://judge.example.com'}"),
            1,
            "not an Azure OpenAI",
        ),
        (RUBRIC.replace("threshold: 0.8", "threshold: 80"), 6, "the threshold of llm-rubric is a score"),
        (RUBRIC.replace("value: Says thanks, ", ""), 6, "llm-rubric needs a value: the rubric"),
    ],
)
def test_a_malformed_suite_is_refused_with_its_file_and_line(broken: str, line: int, words: str) -> None:
    error = refusal(broken)
    assert error.source == "evals/invoices.yaml"
    assert error.line == line, str(error)
    assert words in str(error)
    assert str(error).startswith(f"evals/invoices.yaml:{line}: ")


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    assert "a suite is a mapping" in str(refusal("- just\n- a list\n"))


def a(type_: str, value: object = None) -> Assertion:
    case = parse(
        "tests:\n  - id: c\n    messages: [{role: user, content: hi}]\n    assert:\n      - "
        + ("{type: " + type_ + (", value: " + value if isinstance(value, str) else "") + "}")
        + "\n"
    )
    return case.tests[0].asserts[0]  # type: ignore[attr-defined,no-any-return]


# (type, value as YAML, an output that passes, an output that fails)
CASES = [
    ("equals", "'42.1'", "42.1", "42.10"),
    ("equals", "{total: 42.1}", '{"total": 42.1}', '{"total": 42}'),
    ("contains", "'42.1'", "the total is 42.1 EUR", "the total is 42 EUR"),
    ("icontains", "'EUR'", "42.1 eur", "42.1 usd"),
    ("contains-any", "[paid, settled]", "it is settled", "it is open"),
    ("contains-all", "[paid, '1185']", "1185 is paid", "1185 is open"),
    ("icontains-any", "[PAID]", "Paid.", "open"),
    ("icontains-all", "[PAID, INVOICE]", "invoice paid", "invoice open"),
    ("regex", "'\\d{4}-\\d{2}-\\d{2}'", "due 2026-01-31", "due 31/01/2026"),
    ("starts-with", "'{'", '{"total": 42.1}', '```json\n{"total": 42.1}\n```'),
    ("is-json", None, '{"total": 42.1}', '```json\n{"total": 42.1}\n```'),
    ("is-json", "{type: object, required: [total]}", '{"total": 42.1}', '{"sum": 42.1}'),
    ("contains-json", None, 'Here: ```json\n{"total": 42.1}\n```', "no json here"),
    ("contains-json", "{required: [total]}", 'Here: {"total": 1}', 'Here: {"sum": 1}'),
]


@pytest.mark.parametrize(("type_", "value", "good", "bad"), CASES)
def test_every_assertion_type_and_its_not_form(type_: str, value: str | None, good: str, bad: str) -> None:
    positive, negative = a(type_, value), a(f"not-{type_}", value)
    assert failure(positive, good, 10.0, SCHEMAS) is None
    reason = failure(positive, bad, 10.0, SCHEMAS)
    assert reason is not None and reason.startswith(type_), reason
    assert failure(negative, bad, 10.0, SCHEMAS) is None
    held = failure(negative, good, 10.0, SCHEMAS)
    assert held is not None and held.startswith(f"not-{type_}"), held


def test_latency_and_not_latency() -> None:
    fast = parse(GOOD).tests[0].asserts[2]  # type: ignore[attr-defined]
    assert failure(fast, "x", 799.0, SCHEMAS) is None
    assert failure(fast, "x", 801.0, SCHEMAS) == "latency 801 ms (limit 800 ms)"
    slow = a("not-latency, threshold: 800")
    assert failure(slow, "x", 801.0, SCHEMAS) is None
    assert failure(slow, "x", 10.0, SCHEMAS) == "not-latency 10 ms (limit 800 ms)"


def test_a_schema_violation_names_the_field() -> None:
    check = a("is-json", "{type: object, properties: {total: {type: number}}}")
    assert "total" in (failure(check, '{"total": "42.1"}', 1.0, SCHEMAS) or "")


def test_judge_lists_every_failed_assertion_in_order() -> None:
    case: Case = parse(GOOD).tests[0]  # type: ignore[attr-defined]
    assert judge(case, '{"total": 42.1}', 100.0, SCHEMAS) == ()
    failures = judge(case, '```json\n{"total": 42}\n```', 900.0, SCHEMAS)
    assert [f.split(" ")[0].rstrip(":") for f in failures] == ["is-json", "contains", "latency"]


def test_a_deployment_opts_in_by_tag_or_is_covered_by_a_glob() -> None:
    invoices = parse_suite_text(GOOD, name="invoices.yaml", source="x", schemas=SCHEMAS)
    other = parse_suite_text(
        GOOD.replace("contoso-payments/chat-*", "contoso-search/*"),
        name="search.yaml",
        source="y",
        schemas=SCHEMAS,
    )
    suites = [invoices, other]
    assert suite_for(suites, "contoso-payments", "chat-eu", {}) is invoices
    assert suite_for(suites, "contoso-search", "rag", {}) is other
    assert suite_for(suites, "contoso-payments", "chat-eu", {"modelwatch:evals": "search.yaml"}) is other
    assert suite_for(suites, "elsewhere", "x", {"Modelwatch:Evals": "search"}) is other
    assert suite_for(suites, "elsewhere", "x", {}) is None


def test_the_demo_ships_the_same_example_suite_as_evals() -> None:
    """The same cases; the coverage is the demo's own: its invoice-* deployments, not chat-prod, whose story (Azure
    moves it, the team rolls it back) a CANARY_PROTECT pin would change."""

    def without_coverage(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("deployments:")]

    shipped = (ROOT / "evals" / "examples" / "payments-invoices.yaml").read_text()
    demo = (ROOT / "shared" / "data" / "demo-evals" / "payments-invoices.yaml").read_text()
    assert without_coverage(demo) == without_coverage(shipped)
    assert 'deployments: ["contoso-payments/invoice-*"]' in demo.splitlines()


def test_an_llm_rubric_names_its_judge_and_reads_the_grade_it_is_given() -> None:
    suite = parse_suite_text(RUBRIC, name="r.yaml", source="x", schemas=SCHEMAS)
    assert suite.judge is not None and (suite.judge.deployment, suite.judge.endpoint) == ("grader", None)
    case = suite.tests[0]
    thanks, rude = case.asserts
    assert (thanks.type, thanks.value, thanks.threshold, rude.type, rude.threshold) == (
        "llm-rubric",
        "Says thanks",
        0.8,
        "not-llm-rubric",
        None,
    )
    other = parse_suite_text(
        RUBRIC.replace("grader}", "grader, endpoint: 'https://judges.openai.azure.com/'}"),
        name="r.yaml",
        source="x",
        schemas=SCHEMAS,
    )
    assert other.judge is not None and other.judge.name == "grader at https://judges.openai.azure.com"
    graded = {
        0: rubric_finding(Grade(True, 0.9, "thanks"), 0.8),
        1: rubric_finding(Grade(True, 1, "rude"), None),
    }
    assert judge(case, "whatever", 1.0, SCHEMAS, graded) == (
        "not-llm-rubric: the judge passed it (score 1): rude",
    )
    graded[0] = rubric_finding(Grade(True, 0.7, "thanks, barely"), 0.8)
    assert judge(case, "x", 1.0, SCHEMAS, graded)[0] == (
        "llm-rubric: the judge failed it (score 0.7, threshold 0.8): thanks, barely"
    )


@pytest.mark.parametrize(
    ("answer", "grade"),
    [
        ('{"reason": "ok", "pass": true, "score": 1.0}', Grade(True, 1.0, "ok")),
        ('```json\n{"pass": false, "reason": "no"}\n```', Grade(False, 0.0, "no")),  # fenced, no score
        ('Sure. {"pass": true, "score": 0.5}', Grade(True, 0.5, "")),
    ],
)
def test_the_judges_answer_is_read_as_promptfoo_reads_it(answer: str, grade: Grade) -> None:
    assert parse_grade(answer) == grade


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ("it passes", "no JSON object"),
        ('{"score": 1}', "its pass is not true or false"),
        ('{"pass": "yes"}', "its pass is not true or false"),
        ('{"pass": true, "score": 7}', "its score is not a number from 0 to 1"),
    ],
)
def test_a_malformed_judge_answer_is_refused(answer: str, words: str) -> None:
    with pytest.raises(GradeError, match=words):
        parse_grade(answer)


def test_a_folder_with_a_bad_suite_still_gives_the_others(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD.replace("type: contains,", "type: contains-ish,"))
    (tmp_path / "c.yml").write_text(GOOD.replace("chat-*", "reply-*"))
    found = FolderSuites(tmp_path).read()
    assert [s.name for s in found.suites] == ["a.yaml", "c.yml"]
    assert [str(p) for p in found.problems] == [
        f"{tmp_path / 'b.yaml'}:14: case total: unknown assertion type 'contains-ish'; known: "
        + ", ".join(sorted(CHECKS))
        + " (each also as not-...)"
    ]


def test_a_container_url_splits_into_account_container_and_prefix() -> None:
    assert split_container_url("https://st.blob.core.windows.net/evals") == (
        "https://st.blob.core.windows.net",
        "evals",
        "",
    )
    assert split_container_url("https://st.blob.core.windows.net/evals/team-a/x/") == (
        "https://st.blob.core.windows.net",
        "evals",
        "team-a/x/",
    )
    with pytest.raises(SuiteError, match="names no container"):
        split_container_url("https://st.blob.core.windows.net/")

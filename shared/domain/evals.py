"""Evaluation suites: a team's own prompts and what a good answer looks like, judged the same way on every version.

The vocabulary is promptfoo's (``tests:`` with ``assert:`` types ``equals``, ``contains``, ``icontains``,
``contains-any``, ``contains-all``, ``regex``, ``starts-with``, ``is-json``, ``contains-json``, ``latency``,
``llm-rubric``, each with a ``not-`` form), so a team that knows promptfoo reads a suite at once; the runner is ours.
Pure: the YAML is read by ``shared/adapters/suite_files.py`` (a folder) or ``suite_blobs.py`` (a blob container),
which hand over plain data and the line of every value, so a malformed suite is refused naming its file and line.
JSON Schema checks come in through ``SchemaChecker`` (jsonschema is an adapter's business); an ``llm-rubric`` is
graded by the suite's judge deployment (``shared/services/rubric.py``) before ``judge`` reads the grade.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from shared.domain.canary import endpoint_problem
from shared.domain.events import JsonValue
from shared.domain.rubric import RUBRIC_KIND, first_json
from shared.errors import PermanentError

Path = tuple[str | int, ...]

ROLES = frozenset({"system", "developer", "user", "assistant"})
# chat completion options a suite may set in ``defaults`` (sent as they are)
OPTIONS = frozenset({"temperature", "max_tokens", "max_completion_tokens", "top_p", "seed", "stop"})
SUITE_KEYS = frozenset(
    {
        "description",
        "deployments",
        "defaults",
        "repeat",
        "pass_at",
        "threshold",
        "allow_global",
        "judge",
        "tests",
    }
)
JUDGE_KEYS = frozenset({"deployment", "endpoint"})
CASE_KEYS = frozenset({"id", "description", "messages", "assert"})
ASSERT_KEYS = frozenset({"type", "value", "threshold"})
NOT = "not-"
EXCERPT = 160  # characters of an output kept with a failure (CANARY_STORE_OUTPUTS keeps all of it)


class SuiteError(PermanentError):
    """A suite file that cannot be used: names the file and the line (1-based) of the problem."""

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        self.source = source
        self.line = line
        self.problem = problem
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {problem}")


class SchemaChecker(Protocol):
    """JSON Schema, as an adapter provides it (jsonschema)."""

    def schema_problem(self, schema: Mapping[str, JsonValue]) -> str | None:
        """Why ``schema`` is not a valid JSON Schema (None: it is)."""
        ...

    def violation(self, instance: JsonValue, schema: Mapping[str, JsonValue]) -> str | None:
        """The first way ``instance`` breaks ``schema``, short (None: it conforms)."""
        ...


@dataclass(frozen=True)
class Assertion:
    """One ``assert:`` entry: ``kind`` is the base type, ``negate`` its ``not-`` form."""

    kind: str
    negate: bool
    value: JsonValue
    line: int | None = None
    threshold: float | None = None  # llm-rubric: the score the judge must give as well as passing it

    @property
    def is_rubric(self) -> bool:
        return self.kind == RUBRIC_KIND

    @property
    def type(self) -> str:
        return f"{NOT if self.negate else ''}{self.kind}"


@dataclass(frozen=True)
class Case:
    id: str
    messages: tuple[tuple[str, str], ...]  # (role, content)
    asserts: tuple[Assertion, ...]
    line: int | None = None


@dataclass(frozen=True)
class Judge:
    """The deployment grading a suite's ``llm-rubric`` assertions: in the account under test, or at ``endpoint``
    (another Azure OpenAI account, reached with the same data-plane identity)."""

    deployment: str
    endpoint: str | None = None

    @property
    def name(self) -> str:
        return f"{self.deployment} at {self.endpoint}" if self.endpoint else self.deployment


@dataclass(frozen=True)
class Suite:
    """One suite file. ``name`` is the file name, what a deployment's ``modelwatch:evals`` tag names."""

    name: str
    source: str
    description: str
    deployments: tuple[str, ...]  # "account/deployment" globs
    defaults: Mapping[str, JsonValue] = field(hash=False)
    repeat: int
    pass_at: int  # runs of a case that must pass (of ``repeat``)
    threshold: float  # share of cases the target version must pass
    allow_global: bool  # a canary may be GlobalStandard (leaves the source's data boundary)
    tests: tuple[Case, ...]
    judge: Judge | None = None  # ``judge: {deployment: NAME}``: needed by llm-rubric

    def covers(self, account: str, deployment: str) -> bool:
        """Whether one of the suite's globs names this deployment (case-insensitive, as ARM names compare)."""
        name = f"{account}/{deployment}".casefold()
        return any(fnmatch.fnmatchcase(name, glob.casefold()) for glob in self.deployments)


@dataclass(frozen=True)
class SuiteSet:
    """What EVAL_SUITES holds: the suites that parse, by name, and why each other one does not (its file or blob
    and line). A malformed suite never hides the others; a deployment it might have covered is the caller's to
    treat with care (the gate holds it)."""

    suites: tuple[Suite, ...] = ()
    problems: tuple[SuiteError, ...] = ()


# ---- parsing


class _Where:
    def __init__(self, source: str, lines: Mapping[Path, int]) -> None:
        self.source = source
        self.lines = lines

    def line(self, path: Path) -> int | None:
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]

    def error(self, path: Path, problem: str) -> SuiteError:
        return SuiteError(self.source, self.line(path), problem)


def _dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "the file"


def parse_suite(
    data: object, *, name: str, source: str, lines: Mapping[Path, int], schemas: SchemaChecker
) -> Suite:
    """A suite from its parsed YAML. ``lines`` maps each value's path (keys and list indexes) to its line.
    Raises SuiteError naming the file, the line and the problem (an unknown assertion type by its name)."""
    w = _Where(source, lines)
    if not isinstance(data, dict):
        raise w.error((), "a suite is a mapping with tests: (and description, deployments, defaults, ...)")
    unknown = sorted(set(map(str, data)) - SUITE_KEYS)
    if unknown:
        raise w.error(
            (unknown[0],), f"unknown key {unknown[0]!r}; a suite has {', '.join(sorted(SUITE_KEYS))}"
        )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise w.error(("description",), "description must be text")
    globs = data.get("deployments", [])
    if isinstance(globs, str):
        globs = [globs]
    if not isinstance(globs, list) or not all(isinstance(g, str) and "/" in g for g in globs):
        raise w.error(("deployments",), 'deployments is a list of "account/deployment" globs')
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise w.error(("defaults",), "defaults is a mapping of chat options (temperature, max_tokens, ...)")
    for key in defaults:
        if key not in OPTIONS:
            raise w.error(
                ("defaults", key), f"unknown option {key!r} in defaults; known: {', '.join(sorted(OPTIONS))}"
            )
    repeat = _whole(w, data, "repeat", 1, low=1, high=20)
    pass_at = _whole(w, data, "pass_at", repeat, low=1, high=repeat)
    threshold = data.get("threshold", 1.0)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        raise w.error(("threshold",), "threshold is the share of cases that must pass, from 0 to 1")
    allow_global = data.get("allow_global", False)
    if not isinstance(allow_global, bool):
        raise w.error(("allow_global",), "allow_global is true or false")
    grader = _judge(w, data.get("judge"))
    tests = data.get("tests")
    if not isinstance(tests, list) or not tests:
        raise w.error(("tests",), "tests is a non-empty list of cases (id, messages, assert)")
    cases: list[Case] = []
    seen: set[str] = set()
    for i, raw in enumerate(tests):
        case = _case(w, ("tests", i), raw, schemas)
        if case.id in seen:
            raise w.error(("tests", i, "id"), f"case id {case.id!r} is used twice")
        seen.add(case.id)
        cases.append(case)
    rubric = next((a for c in cases for a in c.asserts if a.is_rubric), None)
    if rubric is not None and grader is None:
        raise SuiteError(
            source,
            rubric.line,
            "llm-rubric needs a judge: add judge: {deployment: NAME} at the top of the suite",
        )
    return Suite(
        name=name,
        source=source,
        description=description,
        deployments=tuple(globs),
        defaults=dict(defaults),
        repeat=repeat,
        pass_at=pass_at,
        threshold=float(threshold),
        allow_global=allow_global,
        tests=tuple(cases),
        judge=grader,
    )


def _judge(w: _Where, raw: object) -> Judge | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = {"deployment": raw}
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("deployment"), str)
        or not raw["deployment"].strip()
    ):
        raise w.error(("judge",), "judge is {deployment: NAME} (and endpoint: URL for another account)")
    unknown = sorted(set(map(str, raw)) - JUDGE_KEYS)
    if unknown:
        raise w.error(
            ("judge", unknown[0]), f"unknown key {unknown[0]!r} in judge; it has deployment, endpoint"
        )
    endpoint = raw.get("endpoint")
    if endpoint is not None:
        problem = endpoint_problem(endpoint) if isinstance(endpoint, str) else "the endpoint is not text"
        if problem:
            raise w.error(("judge", "endpoint"), f"judge: {problem}: the data-plane token is not sent there")
    return Judge(raw["deployment"].strip(), endpoint.rstrip("/") if isinstance(endpoint, str) else None)


def _whole(w: _Where, data: Mapping[str, object], key: str, default: int, *, low: int, high: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise w.error((key,), f"{key} is a whole number from {low} to {high}")
    return value


def _case(w: _Where, path: Path, raw: object, schemas: SchemaChecker) -> Case:
    if not isinstance(raw, dict):
        raise w.error(path, f"{_dotted(path)}: a case is a mapping with id, messages and assert")
    unknown = sorted(set(map(str, raw)) - CASE_KEYS)
    if unknown:
        raise w.error((*path, unknown[0]), f"{_dotted(path)}: unknown key {unknown[0]!r}")
    case_id = raw.get("id")
    if isinstance(case_id, int) and not isinstance(case_id, bool):
        case_id = str(case_id)
    if not isinstance(case_id, str) or not case_id.strip():
        raise w.error((*path, "id"), f"{_dotted(path)}: every case needs an id (text)")
    messages = raw.get("messages")
    if not isinstance(messages, list) or not messages:
        raise w.error(
            (*path, "messages"), f"case {case_id}: messages is a non-empty list of {{role, content}}"
        )
    turns: list[tuple[str, str]] = []
    for j, message in enumerate(messages):
        where = (*path, "messages", j)
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            raise w.error(where, f"case {case_id}: each message is {{role, content}}")
        role, content = message["role"], message["content"]
        if role not in ROLES:
            raise w.error(
                (*where, "role"), f"case {case_id}: role {role!r} is not one of {', '.join(sorted(ROLES))}"
            )
        if not isinstance(content, str):
            raise w.error((*where, "content"), f"case {case_id}: content must be text")
        turns.append((str(role), content))
    if turns[-1][0] == "assistant":
        raise w.error((*path, "messages"), f"case {case_id}: the last message must not be the assistant's")
    asserts = raw.get("assert")
    if not isinstance(asserts, list) or not asserts:
        raise w.error((*path, "assert"), f"case {case_id}: assert is a non-empty list of {{type, value}}")
    parsed = tuple(_assertion(w, (*path, "assert", k), case_id, a, schemas) for k, a in enumerate(asserts))
    return Case(case_id.strip(), tuple(turns), parsed, w.line(path))


def _assertion(w: _Where, path: Path, case_id: str, raw: object, schemas: SchemaChecker) -> Assertion:
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise w.error(path, f"case {case_id}: each assertion is {{type, value}}")
    unknown = sorted(set(map(str, raw)) - ASSERT_KEYS)
    if unknown:
        raise w.error((*path, unknown[0]), f"case {case_id}: unknown key {unknown[0]!r} in an assertion")
    type_ = str(raw["type"]).strip()
    negate = type_.startswith(NOT)
    kind = type_.removeprefix(NOT)
    at = (*path, "value")
    if kind in UNSUPPORTED:
        raise w.error(
            (*path, "type"),
            f"case {case_id}: assertion type {type_!r} is not supported yet ({UNSUPPORTED[kind]})",
        )
    if kind not in CHECKS:
        known = ", ".join(sorted(CHECKS))
        raise w.error(
            (*path, "type"),
            f"case {case_id}: unknown assertion type {type_!r}; known: {known} (each also as not-...)",
        )
    value: JsonValue = raw.get("value")
    if kind == RUBRIC_KIND:
        if not isinstance(value, str) or not value.strip():
            raise w.error(at, f"case {case_id}: {type_} needs a value: the rubric (text)")
        limit = raw.get("threshold")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int | float) or not 0 <= limit <= 1
        ):
            raise w.error(
                (*path, "threshold"), f"case {case_id}: the threshold of {type_} is a score from 0 to 1"
            )
        return Assertion(kind, negate, value, w.line(path), None if limit is None else float(limit))
    if kind in ("contains", "icontains", "starts-with", "regex"):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value:
            raise w.error(at, f"case {case_id}: {type_} needs a value (text)")
        if kind == "regex":
            try:
                re.compile(value)
            except re.error as exc:
                raise w.error(at, f"case {case_id}: regex {value!r} does not compile ({exc})") from None
    elif kind in ("contains-any", "contains-all", "icontains-any", "icontains-all"):
        if isinstance(value, str):  # promptfoo also takes a comma-separated string
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise w.error(at, f"case {case_id}: {type_} needs a list of texts")
    elif kind == "equals":
        if value is None:
            raise w.error(at, f"case {case_id}: equals needs a value")
    elif kind in ("is-json", "contains-json"):
        if value is not None:
            if not isinstance(value, dict):
                raise w.error(
                    at, f"case {case_id}: the value of {type_} is a JSON Schema (a mapping), or absent"
                )
            problem = schemas.schema_problem(value)
            if problem:
                raise w.error(at, f"case {case_id}: the JSON Schema of {type_} is invalid: {problem}")
    elif kind == "latency":
        limit = raw.get("threshold", value)
        if isinstance(limit, bool) or not isinstance(limit, int | float) or limit <= 0:
            raise w.error(
                (*path, "threshold"), f"case {case_id}: {type_} needs threshold: milliseconds (> 0)"
            )
        value = float(limit)
    return Assertion(kind, negate, value, w.line(path))


# ---- judging


def _excerpt(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _check(
    a: Assertion, output: str, latency_ms: float, schemas: SchemaChecker, graded: tuple[bool, str] | None
) -> tuple[bool, str]:
    """(whether the positive form holds, what was found): the finding reads as the reason a failure happened,
    whichever form failed ("contains '42.1': absent", "contains '42.1': present")."""
    value = a.value
    if a.is_rubric:
        assert graded is not None, "an llm-rubric is graded before it is judged"
        return graded
    if a.kind == "equals":
        expected = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        actual = output.strip() if isinstance(value, str) else _canonical(output)
        ok = actual == expected.strip()
        return ok, f"equals {_excerpt(str(expected))}: " + (
            "the output is exactly that" if ok else "the output differs"
        )
    if a.kind in ("contains", "icontains", "starts-with", "regex"):
        needle = str(value)
        if a.kind == "icontains":
            ok = needle.casefold() in output.casefold()
        elif a.kind == "contains":
            ok = needle in output
        elif a.kind == "starts-with":
            ok = output.lstrip().startswith(needle)
        else:
            ok = re.search(needle, output) is not None
        return ok, f"{a.kind} {_excerpt(needle)}: " + ("present" if ok else "absent")
    if a.kind in ("contains-any", "contains-all", "icontains-any", "icontains-all"):
        assert isinstance(value, list)
        fold = a.kind.startswith("i")
        hay = output.casefold() if fold else output
        found = [str(v) for v in value if (str(v).casefold() if fold else str(v)) in hay]
        missing = [str(v) for v in value if str(v) not in found]
        ok = bool(found) if a.kind.endswith("any") else not missing
        if ok and a.kind.endswith("any"):
            return True, f"{a.kind}: found {', '.join(map(_excerpt, found))}"
        if ok:
            return True, f"{a.kind}: found all"
        return False, f"{a.kind}: missing {', '.join(map(_excerpt, missing))}"
    if a.kind in ("is-json", "contains-json"):
        parsed: JsonValue
        if a.kind == "is-json":
            try:
                parsed = json.loads(output)
            except ValueError as exc:
                return False, f"is-json: not JSON ({str(exc).split(':')[0]})"
        else:
            found_json = first_json(output)
            if found_json is None:
                return False, "contains-json: no JSON object or array in the output"
            parsed = found_json
        if isinstance(value, dict):
            violation = schemas.violation(parsed, value)
            if violation:
                return False, f"{a.kind}: the JSON breaks its schema ({violation})"
            return True, f"{a.kind}: JSON matching the schema"
        return True, f"{a.kind}: valid JSON"
    if a.kind == "latency":
        assert isinstance(value, float)
        return latency_ms <= value, f"latency {latency_ms:.0f} ms (limit {value:.0f} ms)"
    raise AssertionError(f"unhandled assertion kind {a.kind}")  # parse_suite admits only CHECKS


def _canonical(text: str) -> str:
    try:
        return json.dumps(json.loads(text), sort_keys=True)
    except ValueError:
        return text.strip()


def failure(
    a: Assertion,
    output: str,
    latency_ms: float,
    schemas: SchemaChecker,
    graded: tuple[bool, str] | None = None,
) -> str | None:
    """Why ``output`` fails assertion ``a`` (None: it passes). Short, with at most a few words of the output.
    ``graded``: an llm-rubric's (holds, finding), from its judge (``domain/rubric.py`` ``rubric_finding``)."""
    holds, finding = _check(a, output, latency_ms, schemas, graded)
    if holds != a.negate:
        return None
    return f"not-{finding}" if a.negate else finding


def judge(
    case: Case,
    output: str,
    latency_ms: float,
    schemas: SchemaChecker,
    graded: Mapping[int, tuple[bool, str]] | None = None,
) -> tuple[str, ...]:
    """Every failed assertion of ``case`` on this output, in the suite's order (empty: the run passes).
    ``graded``: each llm-rubric's (holds, finding) by its index in ``case.asserts``."""
    found = graded or {}
    return tuple(
        f
        for i, a in enumerate(case.asserts)
        if (f := failure(a, output, latency_ms, schemas, found.get(i))) is not None
    )


def excerpt(output: str, limit: int = EXCERPT) -> str:
    """The short piece of a failing output kept without CANARY_STORE_OUTPUTS."""
    flat = " ".join(output.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


CHECKS = frozenset(
    {
        "equals",
        "contains",
        "icontains",
        "contains-any",
        "contains-all",
        "icontains-any",
        "icontains-all",
        "regex",
        "starts-with",
        "is-json",
        "contains-json",
        "latency",
        RUBRIC_KIND,
    }
)
# promptfoo names a team may reach for, known here but not judged yet: refused by name, with why
UNSUPPORTED = {
    "similar": "embedding similarity",
    "javascript": "code in a suite is not run",
    "python": "code in a suite is not run",
}


def suite_for(
    suites: Sequence[Suite], account: str, deployment: str, tags: Mapping[str, str]
) -> Suite | None:
    """The suite covering a deployment: the one its ``modelwatch:evals`` tag names, else the first whose globs
    name it (suites in file-name order)."""
    tagged = next((v for k, v in tags.items() if k.casefold() == TAG_EVALS), None)
    if tagged:
        wanted = tagged.strip().casefold()
        return next(
            (
                s
                for s in suites
                if s.name.casefold() == wanted or s.name.casefold().rsplit(".", 1)[0] == wanted
            ),
            None,
        )
    return next((s for s in suites if s.covers(account, deployment)), None)


TAG_EVALS = "modelwatch:evals"  # a deployment opts in to a suite by its file name

"""Fuzzing the parsers at modelwatch's trust boundaries (hypothesis, derandomized).

Three inputs come from outside: ARM ``Models - List`` pages (``parse_models`` and what wraps a page: the ARM
client's paging, the catalog file source), ARM deployments (``parse_deployment``) and Event Grid events
(``parse_body`` -> ``LifecycleEvent.from_wire`` -> the subscribers, directly and through the Functions trigger's
own decoder and ``event_wire``). Inputs are random JSON and *mutated real payloads* (the example page, the dated
catalogs of shared/data, events the diff really emits, docs/events.md, the alert samples): keys deleted, values
of the wrong type, unknown enum values, bad dates, huge strings, unicode, nested nonsense, forged events.

Properties: a parser returns a result or raises one of its documented clear errors (a ``ModelWatchError``
subclass with a message), never a raw KeyError/TypeError/AttributeError/ValueError; a bad catalog entry is
reported by name and loses nothing else; a forged or out-of-scope event writes nothing (no ARM GET or PUT, no
ledger entry, no alert, nothing published) and a valid event after a batch of garbage is handled normally.

The bugs these tests found (an OverflowError from dates at the edge of datetime's range, CloudEvents
deliveries, a location differing only in case) are fixed; tests/fuzz/test_fuzz_regressions.py pins each one.
"""

from __future__ import annotations

import copy
import json
import re
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import pytest
import requests
from azure.functions import CloudEvent, EventGridEvent
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.meta import Datum
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from shared.adapters.arm import ArmCatalogSource, ArmClient, StaticTokenProvider
from shared.adapters.catalog_file import FileCatalogSource
from shared.adapters.memory import CollectingPublisher, InMemoryCatalogStateStore, InMemoryDeploymentStore
from shared.config import DEFAULT_ROUTE, Route, Secret
from shared.domain.alert_samples import samples
from shared.domain.catalog import ParsedCatalog, VersionKey, default_versions, parse_models
from shared.domain.deployments import Deployment, DeploymentFormatError, parse_deployment
from shared.domain.diff import DiffRules, LocationSnapshot, diff_location, next_due
from shared.domain.digest import build_digests
from shared.domain.events import (
    CATALOG_EVENT_TYPES,
    EventType,
    JsonObject,
    JsonValue,
    LifecycleEvent,
    version_subject,
)
from shared.domain.policy import PolicyRules
from shared.domain.timeutil import SENTINEL_YEAR, parse_instant
from shared.entrypoints import event_wire
from shared.errors import (
    ArmError,
    CatalogFormatError,
    EventFormatError,
    ModelWatchError,
    PermanentError,
)
from shared.ports import Channel
from shared.services.notify import NOTIFY_EVENT_TYPES, NotifyService
from shared.services.notify import SUBSCRIBER as NOTIFY
from shared.services.pipeline import RETRY, UNROUTED, Delivery, Subscriber, deliver, deliver_one, parse_body
from shared.services.policy import (
    ACCEPTED,
    DUPLICATE,
    FAILED,
    IGNORED,
    REJECTED,
    PolicyService,
    Scope,
)
from shared.services.policy import SUBSCRIBER as POLICY
from tests.builders import item

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 4, 2, tzinfo=UTC)

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,  # CI reproducible: the same examples on every run
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------------------------------------------
# The "documented clear error" predicate

Allowed = tuple[type[ModelWatchError], ...]
CATALOG_ERRORS: Allowed = (CatalogFormatError,)
PAGE_ERRORS: Allowed = (CatalogFormatError, ArmError)  # ArmError: not JSON (transient), foreign nextLink
FILE_ERRORS: Allowed = (CatalogFormatError, PermanentError)  # PermanentError: the file has no such location
DEPLOYMENT_ERRORS: Allowed = (DeploymentFormatError,)
EVENT_ERRORS: Allowed = (EventFormatError,)


def is_documented(exc: BaseException, allowed: Allowed) -> bool:
    """One of the parser's documented error types (all ModelWatchError), with a message: a clear error."""
    return isinstance(exc, ModelWatchError) and isinstance(exc, allowed) and bool(str(exc).strip())


def attempt(call: Callable[[], T], allowed: Allowed) -> T | ModelWatchError:
    """The call's result, or the documented error it raised. Anything else fails the property."""
    try:
        return call()
    except ModelWatchError as exc:
        if is_documented(exc, allowed):
            return exc
        raise AssertionError(f"undocumented {type(exc).__name__} leaked: {exc!r}") from exc
    except Exception as exc:
        raise AssertionError(f"undocumented {type(exc).__name__} leaked: {exc!r}") from exc


# ---------------------------------------------------------------------------------------------------------------
# JSON trees: paths, edits

JsonPath = tuple[str | int, ...]


def _children(value: JsonValue) -> Iterator[tuple[str | int, JsonValue]]:
    if isinstance(value, dict):
        yield from value.items()
    elif isinstance(value, list):
        yield from enumerate(value)


def node_paths(value: JsonValue, prefix: JsonPath = ()) -> list[JsonPath]:
    """Every node below the root, parents before children."""
    out: list[JsonPath] = []
    for key, child in _children(value):
        path = (*prefix, key)
        out.append(path)
        out.extend(node_paths(child, path))
    return out


def object_paths(value: JsonValue, prefix: JsonPath = ()) -> list[JsonPath]:
    """Every JSON object in the tree, the root included."""
    out: list[JsonPath] = [prefix] if isinstance(value, dict) else []
    for key, child in _children(value):
        out.extend(object_paths(child, (*prefix, key)))
    return out


def node_at(root: JsonValue, path: JsonPath) -> JsonValue:
    node = root
    for key in path:
        node = _step(node, key)
    return node


def _step(node: JsonValue, key: str | int) -> JsonValue:
    if isinstance(node, dict) and isinstance(key, str):
        return node[key]
    if isinstance(node, list) and isinstance(key, int):
        return node[key]
    raise AssertionError(f"no child {key!r}")


def set_at(root: JsonValue, path: JsonPath, value: JsonValue) -> JsonValue:
    """``root`` with the node at ``path`` set (in place; the root itself when ``path`` is empty)."""
    if not path:
        return value
    parent, key = node_at(root, path[:-1]), path[-1]
    if isinstance(parent, dict) and isinstance(key, str):
        parent[key] = value
        return root
    if isinstance(parent, list) and isinstance(key, int):
        parent[key] = value
    return root


def delete_at(root: JsonValue, path: JsonPath) -> JsonValue:
    parent, key = node_at(root, path[:-1]), path[-1]
    if isinstance(parent, dict) and isinstance(key, str):
        del parent[key]
        return root
    if isinstance(parent, list) and isinstance(key, int):
        del parent[key]
    return root


def related(a: JsonPath, b: JsonPath) -> bool:
    """One path is a prefix of the other: an edit at one can change the value read at the other."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def as_object(value: JsonValue) -> JsonObject:
    assert isinstance(value, dict)
    return value


# ---------------------------------------------------------------------------------------------------------------
# Strategies: random JSON, garbage by field, mutations

KNOWN_KEYS = [
    "value", "nextLink", "kind", "skuName", "model", "format", "name", "version", "skus", "deprecation",
    "inference", "fineTune", "deprecationStatus", "lifecycleStatus", "isDefaultVersion", "replacementConfig",
    "targetModelName", "targetModelVersion", "autoUpgradeStartDate", "upgradeOnExpiryLeadTimeDays",
    "deprecationDate", "systemData", "createdAt", "usageName", "capabilities", "id", "type", "properties", "sku",
    "capacity", "tags", "versionUpgradeOption", "provisioningState", "eventType", "subject", "eventTime", "data",
    "dataVersion", "topic", "location", "modelFormat", "modelName", "modelVersion", "deploymentId",
    "deploymentName", "changes", "locations", "asOf", "specVersion",
]  # fmt: skip
SPECIAL_STRINGS = [
    "", " ", "\t\n", "\x00", "null", "None", "true", "false", "0", "-1", "NaN", "é", "Ｅａｓｔ", "\u202egpt-4o",
    "🙂" * 50, "ǅ", "ß", "İ", "/", "../../etc", "a/b/c", "OpenAI", "openai", "gpt-4o", "2024-05-13",
]  # fmt: skip
BAD_DATES = [
    "2025-13-40", "", " ", "yesterday", "2025-02-30T00:00:00Z", "2025-01-01T25:00:00Z",
    "2025-01-01T00:00:00+25:00", "99999-01-01T00:00:00Z", "+10000-01-01", "0000-00-00", "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z", "9999-12-31T23:59:59.9999999Z", "2099-12-31T00:00:00Z", "2098-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z", "0001-01-01", "2025-06-30", "2025-06-30T00:00:00", "2025-06-30T00:00:00.123456789012Z",
    " 2025-06-30T00:00:00Z ", "2025-06-30t00:00:00z", "2025-W27-1", "20250630", "2025-06-30T00:00:00-00:00",
    "2025-06-30T00:00:00Z\n", "NaN", "null", "\x002025-06-30", "٢٠٢٥-٠٦-٣٠", "2025-06-30T00:00:00ZZ",
    "2025-06-30T00:00:00+0530", "2025-06-30T24:00:00Z", "1e9", "06/30/2025 00:00:00",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-08:00",  # BUG-1, fixed
]  # fmt: skip


def fresh(value: JsonValue) -> JsonValue:
    """A private copy: a drawn value shared with the strategy must never be edited in place (flaky data)."""
    return copy.deepcopy(value)


def pick(values: Sequence[JsonValue]) -> st.SearchStrategy[JsonValue]:
    return st.sampled_from(values)


keys = st.sampled_from(KNOWN_KEYS) | st.text(max_size=12)
# huge strings are built, not listed, so that a failing example stays readable
huge = st.sampled_from([("9", 5000), ("x", 200_000), ("é", 50_000)]).map(lambda pair: pair[0] * pair[1])
texts = st.text(max_size=24) | st.sampled_from(SPECIAL_STRINGS) | huge
scalars: st.SearchStrategy[JsonValue] = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts)
json_values = cast(
    "st.SearchStrategy[JsonValue]",
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
        max_leaves=24,
    ),
)
wrong_types: st.SearchStrategy[JsonValue] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _nested(depth: int) -> JsonValue:
    value: JsonValue = {"a": None}
    for i in range(depth):
        value = [value] if i % 2 else {"n": value}
    return value


nonsense: st.SearchStrategy[JsonValue] = st.sampled_from([_nested(3), _nested(60), [[[]]], {"": {"": {}}}])
offsets = st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)))
iso_dates: st.SearchStrategy[JsonValue] = st.builds(
    lambda d: d.isoformat(), st.datetimes(timezones=st.none() | st.just(UTC) | offsets)
)
dates: st.SearchStrategy[JsonValue] = st.one_of(st.sampled_from(BAD_DATES), iso_dates, st.text(max_size=30))
ints_ish: st.SearchStrategy[JsonValue] = (
    pick(["7", " 7 ", "seven", "٧", "1_000", -1, 0, 2**64, 1.5, True, "", "0x10"]) | st.integers() | huge
)
locations: st.SearchStrategy[JsonValue] = st.sampled_from(
    ["westus", "EASTUS", "East US", "eastus ", "", "swedencentral", "../eastus", "eastus/models"]
)

GARBAGE_BY_FIELD: dict[str, st.SearchStrategy[JsonValue]] = {
    "lifecycleStatus": st.sampled_from(
        [
            "Retired",
            "deprecated",
            "DEPRECATED",
            "Sunset",
            "GenerallyAvailable ",
            "",
            "Preview\x00",
            "Deprecating",
        ]
    ),
    "deprecationStatus": st.sampled_from(["Planned", "Tentative", "planned", "Cancelled", "", "Unknown"]),
    "name": st.sampled_from(
        ["provisioned", "PROVISIONEDMANAGED", "GlobalStandard", "standard", " Standard ", ""]
    )
    | texts,
    "skuName": st.sampled_from(["S0", "s0", "", "F0"]),
    "kind": st.sampled_from(["OpenAI", "AIServices", "openai", "", "Meta"]),
    "format": st.sampled_from(["OpenAI", "openai", "OPENAI", " OpenAI ", "Meta", "", "Microsoft"]),
    "version": st.sampled_from(["2024-05-13", "0613", "1", " 1 ", "", "latest", "2024-05-13 "]),
    "versionUpgradeOption": st.sampled_from(
        [
            "OnceNewDefaultVersionAvailable ",
            "oncecurrentversionexpired",
            "Never",
            "",
            "Always",
            "noautoupgrade",
        ]
    ),
    "provisioningState": st.sampled_from(["Succeeded", "Failed", "Disabled", "Creating", "", "Unknown"]),
    "isDefaultVersion": st.sampled_from(["true", "TRUE", "False", "yes", 1, 0, "1"]),
    "upgradeOnExpiryLeadTimeDays": ints_ish,
    "capacity": ints_ish,
    "inference": dates,
    "fineTune": dates,
    "deprecationDate": dates,
    "autoUpgradeStartDate": dates,
    "createdAt": dates,
    "eventTime": dates,
    "location": locations,
    "eventType": st.sampled_from(
        ["modellifecycle.versionretired", "ModelLifecycle.Unknown", "Microsoft.Storage.BlobCreated", ""]
    ),
    "dataVersion": st.sampled_from(["2.0", "", "1", 1, 1.0, None]),
}


def garbage_for(key: str | int) -> st.SearchStrategy[JsonValue]:
    general = st.one_of(wrong_types, json_values, nonsense, texts)
    specific = GARBAGE_BY_FIELD.get(key) if isinstance(key, str) else None
    return st.one_of(specific, general) if specific is not None else general


@st.composite
def mutations(draw: st.DrawFn, base: JsonValue, max_ops: int = 3) -> tuple[JsonValue, list[JsonPath]]:
    """``base`` after 1..max_ops edits, and where: delete a key, replace a value (often a known field with
    garbage made for it: bad dates, unknown enum values...), insert an unknown key."""
    value = copy.deepcopy(base)
    touched: list[JsonPath] = []
    for _ in range(draw(st.integers(1, max_ops))):
        paths = node_paths(value)
        path: JsonPath
        fields = [p for p in paths if isinstance(p[-1], str) and p[-1] in GARBAGE_BY_FIELD]
        op = draw(st.sampled_from(["delete", "replace", "field", "field", "insert"]))
        if op == "field" and fields:
            path = draw(st.sampled_from(fields))
            value = set_at(value, path, fresh(draw(GARBAGE_BY_FIELD[str(path[-1])])))
        elif op == "insert" or not paths:
            objects = object_paths(value)
            if not objects:
                continue
            where = draw(st.sampled_from(objects))
            key = draw(keys)
            path = (*where, key)
            value = set_at(value, path, fresh(draw(garbage_for(key))))
        else:
            path = draw(st.sampled_from(paths))
            if op == "delete":
                value = delete_at(value, path)
            else:
                value = set_at(value, path, fresh(draw(garbage_for(path[-1]))))
        touched.append(path)
    return value, touched


def mutated(base: JsonValue, max_ops: int = 3) -> st.SearchStrategy[JsonValue]:
    return mutations(base, max_ops).map(lambda pair: pair[0])


# ---------------------------------------------------------------------------------------------------------------
# 1. The catalog: parse_models, and what wraps one ARM page

EXAMPLE_PAGE: list[JsonValue] = json.loads(
    (ROOT / "tests" / "events" / "models_list_example.json").read_text(encoding="utf-8")
)["value"]
CATALOG_FILES = sorted((ROOT / "shared" / "data").glob("catalog-*.json"))
CATALOG_DOCS: list[JsonValue] = [json.loads(p.read_text(encoding="utf-8")) for p in CATALOG_FILES]


def _real_pages() -> list[list[JsonValue]]:
    pages = [EXAMPLE_PAGE]
    for doc in CATALOG_DOCS:
        for response in as_object(as_object(doc)["locations"]).values():
            values = as_object(response)["value"]
            assert isinstance(values, list)
            pages.append(values)
    return pages


REAL_PAGES = _real_pages()
BASELINES = [parse_models(page, formats=None) for page in REAL_PAGES]


def entry_label(entry: JsonValue, index: int) -> tuple[str, VersionKey | None]:
    """How a rejected entry must be named: its version key when recognisable, else its position."""
    model = entry.get("model") if isinstance(entry, dict) else None
    if isinstance(model, dict):
        parts = [model.get("format"), model.get("name"), model.get("version")]
        if all(isinstance(p, str) and p.strip() for p in parts):
            key = VersionKey(*(str(p).strip() for p in parts))
            return str(key), key
    return f"entry #{index}", None


def check_catalog(parsed: ParsedCatalog, n_items: int) -> None:
    """Invariants of any ParsedCatalog, whatever went in."""
    assert isinstance(parsed, ParsedCatalog)
    keys = [v.key for v in parsed.versions]
    assert keys == sorted(set(keys)), "versions are unique and sorted"
    assert len(parsed.versions) + len(parsed.problems) <= n_items
    assert not parsed.unreadable & set(keys), "a version read under one listing is never 'unreadable'"
    for problem in parsed.problems:
        assert problem.startswith("skipped ") and ": " in problem
    for v in parsed.versions:
        for part in v.key:
            assert isinstance(part, str) and part and part == part.strip()
        instants = [v.retirement_date, v.fine_tune_retirement_date, v.created_at]
        instants += [d for _, d in v.sku_retirement_dates]
        if v.replacement is not None:
            instants.append(v.replacement.auto_upgrade_start)
            assert v.replacement.upgrade_on_expiry_lead_days is None or isinstance(
                v.replacement.upgrade_on_expiry_lead_days, int
            )
        for when in instants:
            if when is not None:
                assert when.utcoffset() == timedelta(0) and when.year < SENTINEL_YEAR
        assert all(isinstance(s, str) and s == s.strip() and s for s in v.skus)
        # the derived views every consumer uses
        v.retirement_windows()
        _ = v.effective_retirement_date, v.is_status_retired
        for sku in v.skus:
            v.retirement_for_sku(sku)
    default_versions(parsed.versions)


def check_one_bad_entry(
    original: JsonValue, page: Sequence[JsonValue], index: int, baseline: ParsedCatalog, result: ParsedCatalog
) -> None:
    """``original`` (entry ``index``) became ``page[index]``: named when rejected; nothing else is lost."""
    entry = page[index]
    original_label, original_key = entry_label(original, index)
    label, key = entry_label(entry, index)
    alone = parse_models([entry], formats=None)
    rejected = bool(alone.problems)
    # everything the mutated entry cannot influence is exactly as before
    spared = set(baseline.by_key()) - {original_key, key}
    now = result.by_key()
    for k in spared:
        assert now.get(k) == baseline.by_key()[k], f"{k} changed although only {original_label} was mutated"
    if rejected:
        assert len(result.problems) == len(baseline.problems) + 1
        assert any(p.startswith(f"skipped {label}: ") for p in result.problems), (label, result.problems)
        if key is not None:
            assert (key in result.unreadable) != (key in now), "a named bad entry is protected from 'removal'"
    else:
        assert result.problems == baseline.problems
        assert key is not None and key in now


@pytest.mark.reliability(
    fault="fuzz: random JSON as a Models - List page (100 examples)",
    held="only documented errors; every result consistent (unique versions, UTC dates)",
)
@FUZZ
@given(st.lists(json_values, max_size=8), st.sampled_from([None, frozenset({"openai"})]))
def test_parse_models_on_random_json(items: list[JsonValue], formats: frozenset[str] | None) -> None:
    parsed = attempt(lambda: parse_models(items, formats=formats), CATALOG_ERRORS)
    if isinstance(parsed, ParsedCatalog):
        check_catalog(parsed, len(items))


@st.composite
def one_mutated_entry(draw: st.DrawFn) -> tuple[int, list[JsonValue], int]:
    which = draw(st.integers(0, len(REAL_PAGES) - 1))
    page = copy.deepcopy(REAL_PAGES[which])
    index = draw(st.integers(0, len(page) - 1))
    page[index] = draw(mutated(page[index]))
    return which, page, index


@pytest.mark.reliability(
    fault="fuzz: one entry of a real catalog page mutated (wrong types, unknown enums, bad and out-of-range dates, 200k strings, deep nesting; 250)",
    held="the bad entry named once, never counted as removed; every other version unchanged",
)
@settings(FUZZ, max_examples=250)
@given(one_mutated_entry())
def test_a_mutated_real_entry_is_named_and_loses_nothing_else(case: tuple[int, list[JsonValue], int]) -> None:
    which, page, index = case
    result = attempt(lambda: parse_models(page, formats=None), CATALOG_ERRORS)
    assert isinstance(result, ParsedCatalog), "parse_models reports bad entries, it never raises"
    check_catalog(result, len(page))
    check_one_bad_entry(REAL_PAGES[which][index], page, index, BASELINES[which], result)


@st.composite
def many_mutated_entries(draw: st.DrawFn) -> list[JsonValue]:
    page = copy.deepcopy(draw(st.sampled_from(REAL_PAGES)))
    for index in draw(st.lists(st.integers(0, len(page) - 1), max_size=4, unique=True)):
        page[index] = draw(mutated(page[index]))
    for _ in range(draw(st.integers(0, 3))):  # garbage items anywhere in the page
        page.insert(draw(st.integers(0, len(page))), fresh(draw(json_values | nonsense)))
    return page


@pytest.mark.reliability(
    fault="fuzz: several mutated entries and garbage items in one page (120)",
    held="every bad entry named; every readable one kept",
)
@settings(FUZZ, max_examples=120)
@given(many_mutated_entries(), st.sampled_from([None, frozenset({"openai"})]))
def test_every_bad_entry_of_a_page_is_named(page: list[JsonValue], formats: frozenset[str] | None) -> None:
    result = attempt(lambda: parse_models(page, formats=formats), CATALOG_ERRORS)
    assert isinstance(result, ParsedCatalog)
    check_catalog(result, len(page))
    bad = [entry_label(e, i)[0] for i, e in enumerate(page) if parse_models([e], formats=None).problems]
    assert len(result.problems) == len(bad)
    for label in bad:
        assert any(p.startswith(f"skipped {label}: ") for p in result.problems), (label, result.problems)
    # good entries survive: every readable entry's key is in the result (when its format is kept)
    for e in page:
        alone = parse_models([e], formats=formats)
        for v in alone.versions:
            assert v.key in result.by_key()


@pytest.mark.reliability(
    fault="fuzz: two mutated catalogs diffed (80)",
    held="the diff and its events never crash; every event parses back",
)
@settings(FUZZ, max_examples=80)
@given(many_mutated_entries(), many_mutated_entries(), st.integers(0, 400))
def test_mutated_catalogs_flow_through_the_diff(
    before: list[JsonValue], after: list[JsonValue], days: int
) -> None:
    """What parse_models accepts, the diff (its only consumer) handles: baseline, then a second cycle."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    first = diff_location(None, parse_models(before), start, location="eastus")
    second = diff_location(first.snapshot, parse_models(after), start + timedelta(days=days))
    for event in (*first.events, *second.events):
        assert LifecycleEvent.from_json(event.to_json()) == event  # what is published parses back, unchanged
    next_due(second.snapshot, DiffRules(), start + timedelta(days=days))


def _response(body: bytes, url: str, status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.url = url
    response.encoding = "utf-8"
    return response


class PagedArm(ArmClient):
    """The real ArmClient (paging, JSON checks, nextLink origin rule) over canned page bodies, no network."""

    def __init__(self, pages: Mapping[str, bytes]) -> None:
        super().__init__(
            "https://management.azure.com",
            "2025-09-01",
            StaticTokenProvider(Secret("t")),
            sleep=lambda s: None,
        )
        self.pages = dict(pages)

    def request(
        self, method: str, path_or_url: str, *, json: Any = None, api_version: str | None = None
    ) -> requests.Response:
        url, _ = self._url(path_or_url, api_version)  # refuses a foreign host as the real request does
        body = self.pages.get(urlsplit(url).path)
        if body is None:
            raise ArmError(f"ARM GET {urlsplit(url).path} answered 404", status=404)
        return _response(body, url)


def loads_or_none(content: bytes) -> object:
    try:
        return json.loads(content)
    except ValueError:
        return None


MODELS_PATH = "/subscriptions/s/providers/Microsoft.CognitiveServices/locations/eastus/models"
NEXT_LINKS: list[JsonValue] = [
    "https://management.azure.com/page2",
    "/page2",
    "https://evil.example/steal-the-token",
    "",
    5,
    ["x"],
    {"href": "/page2"},
    None,
]


@st.composite
def arm_page_bodies(draw: st.DrawFn) -> dict[str, bytes]:
    def body(values: list[JsonValue], link: JsonValue | None, absent: bool) -> bytes:
        doc: JsonValue = {"value": values} if absent else {"value": values, "nextLink": link}
        kind = draw(st.sampled_from(["page", "page", "page", "mutated", "random", "bytes"]))
        if kind == "mutated":
            doc = draw(mutated(doc, max_ops=2))
        elif kind == "random":
            doc = draw(json_values)
        if kind == "bytes":
            return draw(
                st.binary(max_size=40) | st.sampled_from([b"", b"{", b"<html>busy</html>", b"\xff\xfe"])
            )
        return json.dumps(doc).encode("utf-8")

    first = copy.deepcopy(draw(st.sampled_from(REAL_PAGES)))
    link = draw(st.sampled_from(NEXT_LINKS))
    return {
        MODELS_PATH: body(first, link, draw(st.booleans())),
        "/page2": body(copy.deepcopy(EXAMPLE_PAGE[:2]), None, True),
    }


@pytest.mark.reliability(
    fault="fuzz: ARM pages through the real client: mutated, random, invalid JSON bytes, odd nextLinks (120)",
    held="only CatalogFormatError/ArmError; a foreign nextLink refused",
)
@settings(FUZZ, max_examples=120)
@given(arm_page_bodies())
def test_an_arm_page_is_read_or_refused_clearly(pages: dict[str, bytes]) -> None:
    source = ArmCatalogSource(PagedArm(pages), "s")
    items = attempt(lambda: source.fetch_models("eastus"), PAGE_ERRORS)
    first = loads_or_none(pages[MODELS_PATH])
    if isinstance(first, dict) and isinstance(first.get("value"), list):
        link = first.get("nextLink")
        if link is None or link == "":  # one well-formed page: exactly its items
            assert not isinstance(items, ModelWatchError)
            assert json.dumps(items) == json.dumps(first["value"])
        elif isinstance(link, str) and link.startswith("https://evil."):  # the token never leaves ARM
            assert isinstance(items, ArmError) and items.code == "ForeignLink"
    if isinstance(items, ModelWatchError):
        return
    assert isinstance(items, list)
    parsed = attempt(lambda: parse_models(items), CATALOG_ERRORS)
    assert isinstance(parsed, ParsedCatalog)
    check_catalog(parsed, len(items))


@st.composite
def catalog_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "random", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=40) | st.sampled_from([b"", b"[]", b"{}", b"\xef\xbb\xbf{}"]))
    doc = draw(json_values) if kind == "random" else draw(mutated(draw(st.sampled_from(CATALOG_DOCS)), 4))
    return json.dumps(doc).encode("utf-8")


@pytest.mark.reliability(
    fault="fuzz: catalog files: mutated, random, raw bytes (60)",
    held="only CatalogFormatError/PermanentError",
)
@settings(FUZZ, max_examples=60)
@given(catalog_files(), st.sampled_from(["eastus", "swedencentral", "EastUS", "westus"]))
def test_a_catalog_file_is_read_or_refused_clearly(content: bytes, location: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.json"
        path.write_bytes(content)
        source = FileCatalogSource(str(path))
        loaded = attempt(lambda: (source.as_of, source.locations), FILE_ERRORS)
        if isinstance(loaded, ModelWatchError):
            return
        items = attempt(lambda: source.fetch_models(location), FILE_ERRORS)
    if isinstance(items, ModelWatchError):
        return
    parsed = attempt(lambda: parse_models(items), CATALOG_ERRORS)
    assert isinstance(parsed, ParsedCatalog)
    check_catalog(parsed, len(items))


# ---------------------------------------------------------------------------------------------------------------
# 3. Deployments: parse_deployment

SUB = "00000000-0000-0000-0000-00000000f022"
OTHER_SUB = "00000000-0000-0000-0000-00000000bad0"


def account_id(sub: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/{name}"


EAST, WEST, FOREIGN = (
    account_id(SUB, "contoso-east"),
    account_id(SUB, "contoso-west"),
    account_id(OTHER_SUB, "x"),
)


def raw_deployment(
    account: str,
    name: str,
    version: str,
    *,
    sku: str = "Standard",
    policy: str | None = "OnceCurrentVersionExpired",
    tags: dict[str, JsonValue] | None = None,
) -> JsonObject:
    """A deployment as ARM returns it (azure-facts.md §2.2)."""
    props: JsonObject = {
        "model": {"format": "OpenAI", "name": "gpt-4o", "version": version},
        "provisioningState": "Succeeded",
        "raiPolicyName": "Microsoft.DefaultV2",
        "rateLimits": [{"key": "request", "renewalPeriod": 10, "count": 80}],
        "futureField": {"kept": True},
    }
    if policy is not None:
        props["versionUpgradeOption"] = policy
    return {
        "id": f"{account}/deployments/{name}",
        "name": name,
        "type": "Microsoft.CognitiveServices/accounts/deployments",
        "sku": {"name": sku, "capacity": 10},
        "tags": tags or {},
        "properties": props,
        "etag": '"0x1"',
        "systemData": {"createdAt": "2024-06-01T00:00:00Z", "createdBy": "someone"},
    }


CHAT = raw_deployment(EAST, "chat", "2024-05-13", tags={"modelwatch:route": "payments"})
PINNED = raw_deployment(
    EAST, "legacy", "2024-05-13", policy="NoAutoUpgrade", tags={"modelwatch:policy": "pin"}
)
PTU = raw_deployment(EAST, "ptu", "2024-05-13", sku="ProvisionedManaged", policy=None)
WEST_CHAT = raw_deployment(WEST, "chat", "2024-05-13")  # in the inventory, in a location not watched
FOREIGN_CHAT = raw_deployment(FOREIGN, "chat", "2024-05-13")  # in ARM, in no watched account
REAL_DEPLOYMENTS = [CHAT, PINNED, PTU, WEST_CHAT]

# where parse_deployment reads each field: an edit elsewhere must leave the field as it was
FIELD_SOURCES: dict[str, list[JsonPath]] = {
    "resource_id": [("id",)],
    "name": [("name",), ("id",)],
    "model_format": [("properties", "model", "format")],
    "model_name": [("properties", "model", "name")],
    "model_version": [("properties", "model", "version")],
    "sku_name": [("sku", "name")],
    "sku_capacity": [("sku", "capacity")],
    "upgrade_option": [("properties", "versionUpgradeOption")],
    "provisioning_state": [("properties", "provisioningState")],
    "tags": [("tags",)],
}
REQUIRED = [path for name in ("resource_id", "model_format", "model_name", "model_version", "upgrade_option")
            for path in FIELD_SOURCES[name]]  # fmt: skip


def check_deployment(d: Deployment, raw: JsonValue) -> None:
    assert isinstance(raw, dict) and d.resource_id == raw["id"]
    for text in (d.resource_id, d.model_format, d.model_name, d.model_version):
        assert isinstance(text, str) and text.strip()
    assert d.account_id == EAST and d.location == "eastus"
    assert isinstance(d.sku_name, str) and d.sku_name
    assert d.sku_capacity is None or (
        isinstance(d.sku_capacity, int) and not isinstance(d.sku_capacity, bool)
    )
    assert d.upgrade_option is None or isinstance(d.upgrade_option, str)
    assert d.provisioning_state is None or isinstance(d.provisioning_state, str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in d.tags.items())
    _ = d.key, d.version_key, d.policy, d.is_provisioned, d.policy_tag, d.route, hash(d)


def parse_east(raw: JsonValue) -> Deployment | ModelWatchError:
    return attempt(
        lambda: parse_deployment(raw, account_id=EAST, location="eastus", seen_at=NOW), DEPLOYMENT_ERRORS
    )


@pytest.mark.reliability(fault="fuzz: random JSON as a deployment (100)", held="only DeploymentFormatError")
@FUZZ
@given(json_values | st.dictionaries(keys, json_values, max_size=8))
def test_parse_deployment_on_random_json(raw: JsonValue) -> None:
    d = parse_east(raw)
    if isinstance(d, Deployment):
        check_deployment(d, raw)


@pytest.mark.reliability(
    fault="fuzz: a real deployment mutated (250)",
    held="rejected only when a required field was edited; no other field changes",
)
@settings(FUZZ, max_examples=250)
@given(st.sampled_from(REAL_DEPLOYMENTS).flatmap(lambda base: st.tuples(st.just(base), mutations(base))))
def test_a_mutated_real_deployment_is_parsed_or_named(
    case: tuple[JsonObject, tuple[JsonValue, list[JsonPath]]],
) -> None:
    base, (raw, touched) = case
    check_mutated_deployment(base, raw, touched, parse_east(raw))


def check_mutated_deployment(
    base: JsonObject, raw: JsonValue, touched: Sequence[JsonPath], after: Deployment | ModelWatchError
) -> None:
    """Only an edit of a field parse_deployment requires may cost the deployment; an edit changes only the
    fields read where it was made."""
    if isinstance(after, ModelWatchError):
        assert any(related(t, r) for t in touched for r in REQUIRED), f"rejected for {touched}: {after}"
        return
    check_deployment(after, raw)
    before = parse_deployment(base, account_id=EAST, location="eastus", seen_at=NOW)
    for name, sources in FIELD_SOURCES.items():
        if not any(related(t, s) for t in touched for s in sources):
            assert getattr(after, name) == getattr(before, name), f"{name} changed by an edit at {touched}"


# ---------------------------------------------------------------------------------------------------------------
# 2. Events: parse_body -> LifecycleEvent.from_wire -> the subscribers

V0 = [
    item("gpt-4o", "2024-05-13", default=True, retires="2026-03-31T00:00:00Z"),
    item("gpt-4o", "2024-08-06"),
]
V1 = [
    item("gpt-4o", "2024-05-13", retires="2026-03-31T00:00:00Z"),
    item("gpt-4o", "2024-08-06", default=True, retires="2026-10-01T00:00:00Z"),
    item("gpt-4o", "2024-11-20", retires="2027-03-01T00:00:00Z", status="Preview"),
]
WATCHED = frozenset({"eastus"})
TARGET = "2024-08-06"


def _history(location: str) -> tuple[LocationSnapshot, list[LifecycleEvent]]:
    """Real events: the diff over three cycles (a default change, a release, a retirement)."""
    snapshot: LocationSnapshot | None = None
    events: list[LifecycleEvent] = []
    for when, catalog in [(NOW - timedelta(days=60), V0), (NOW - timedelta(days=30), V1), (NOW, V1)]:
        result = diff_location(snapshot, parse_models(catalog), when, location=location)
        snapshot, events = result.snapshot, events + list(result.events)
    assert snapshot is not None
    return snapshot, events


HISTORY = {loc: _history(loc) for loc in ("eastus", "westus")}
CATALOG_SEEDS: list[JsonObject] = [e.to_wire() for e in HISTORY["eastus"][1]]
WEST_SEEDS: list[JsonObject] = [e.to_wire() for e in HISTORY["westus"][1]]
RETIRED: JsonObject = next(w for w in CATALOG_SEEDS if w["eventType"] == EventType.VERSION_RETIRED)
SAMPLES = samples()
DIGEST_SEEDS: list[JsonObject] = [
    *(e.to_wire() for e in SAMPLES.values() if e.event_type == EventType.CATALOG_DIGEST),
    *(e.to_wire() for e in build_digests(HISTORY["eastus"][1])),
]
DEPLOYMENT_SEEDS: list[JsonObject] = [
    e.to_wire() for e in SAMPLES.values() if e.event_type != EventType.CATALOG_DIGEST
]
DOC_SEEDS: list[JsonObject] = [
    as_object(json.loads(block))
    for block in re.findall(
        r"```json\n(.*?)\n```", (ROOT / "docs" / "events.md").read_text(encoding="utf-8"), re.S
    )
]
ALL_SEEDS = CATALOG_SEEDS + WEST_SEEDS + DIGEST_SEEDS + DEPLOYMENT_SEEDS + DOC_SEEDS
KNOWN_TYPES = frozenset(t.value for t in EventType)
DEPLOYMENT_TYPES = frozenset(t.value for t in NOTIFY_EVENT_TYPES if t != EventType.CATALOG_DIGEST)
QUIET = frozenset({REJECTED, IGNORED, UNROUTED})
OUTCOMES = frozenset({ACCEPTED, DUPLICATE, IGNORED, REJECTED, FAILED, RETRY, UNROUTED})


class RecordingDeploymentApi:
    """DeploymentApi in memory: serves the raw deployments and records every GET and PUT."""

    def __init__(self, deployments: Sequence[JsonObject]) -> None:
        self._lock = threading.Lock()
        self.deployments = {str(d["id"]).casefold(): copy.deepcopy(d) for d in deployments}
        self.gets: list[str] = []
        self.puts: list[tuple[str, JsonObject]] = []

    def list_accounts(self, subscription_id: str) -> list[JsonValue]:
        return []

    def get_account(self, account_id: str) -> JsonObject:
        raise ArmError(f"account {account_id} not found", status=404)

    def list_deployments(self, account_id: str) -> list[JsonValue]:
        prefix = account_id.casefold() + "/deployments/"
        return [copy.deepcopy(d) for k, d in self.deployments.items() if k.startswith(prefix)]

    def list_account_models(self, account_id: str) -> list[JsonValue]:
        return []

    def find_deployment(self, deployment_id: str) -> JsonObject | None:
        with self._lock:
            found = self.deployments.get(deployment_id.casefold())
            return copy.deepcopy(found) if found is not None else None

    def get_deployment(self, deployment_id: str) -> JsonObject:
        with self._lock:
            self.gets.append(deployment_id)
            if deployment_id.casefold() not in self.deployments:
                raise ArmError(f"deployment {deployment_id} not found", status=404)
            return copy.deepcopy(self.deployments[deployment_id.casefold()])

    def put_deployment(self, deployment_id: str, body: JsonObject) -> JsonObject:
        with self._lock:
            self.puts.append((deployment_id, copy.deepcopy(body)))
            self.deployments[deployment_id.casefold()] = copy.deepcopy(body)
            return copy.deepcopy(body)


class RecordingSender:
    """MessageSender that keeps what it is given; the payload must be JSON requests can send (no NaN)."""

    def __init__(self) -> None:
        self.posts: list[tuple[Channel, Mapping[str, JsonValue]]] = []

    def send(self, channel: Channel, payload: Mapping[str, JsonValue]) -> None:
        json.dumps(payload, allow_nan=False)
        self.posts.append((channel, payload))


ROUTES = {
    DEFAULT_ROUTE: Route(DEFAULT_ROUTE, Secret("https://teams.invalid/a"), Secret("https://slack.invalid/b")),
    "payments": Route("payments", None, Secret("https://slack.invalid/c"), "warning"),
}


class World:
    """The two subscribers over in-memory stores, as Services.subscribers() wires them, enforce mode."""

    def __init__(self) -> None:
        self.api = RecordingDeploymentApi([*REAL_DEPLOYMENTS, FOREIGN_CHAT])
        self.state = InMemoryCatalogStateStore()
        for loc, (snapshot, _) in HISTORY.items():
            self.state.save_records(loc, snapshot.records)
        self.stores = InMemoryDeploymentStore()
        self.stores.save_deployments(
            [
                parse_deployment(raw, account_id=acc, location=loc, seen_at=NOW)
                for raw, acc, loc in [(CHAT, EAST, "eastus"), (PINNED, EAST, "eastus"), (PTU, EAST, "eastus"),
                                      (WEST_CHAT, WEST, "westus")]
            ]
        )  # fmt: skip
        self.publisher = CollectingPublisher()
        self.policy = PolicyService(
            inventory=self.stores, ledger=self.stores, rollbacks=self.stores, state=self.state, api=self.api,
            publisher=self.publisher, rules=PolicyRules(enforce=True), scope=Scope(WATCHED, subscriptions=frozenset({SUB.lower()})),
            reminder_days=(90, 60, 30, 14, 7, 1),
        )  # fmt: skip
        self.notify_ledger = InMemoryDeploymentStore()
        self.sender = RecordingSender()
        self.notify = NotifyService(
            ledger=self.notify_ledger, sender=self.sender, routes=ROUTES, scope=Scope(WATCHED)
        )
        self.subscribers = [
            Subscriber(POLICY, frozenset(CATALOG_EVENT_TYPES), self.policy.handle),
            Subscriber(NOTIFY, NOTIFY_EVENT_TYPES, self.notify.handle),
        ]

    def deliver(self, body: JsonValue) -> list[Delivery]:
        raw = attempt(lambda: parse_body(body), EVENT_ERRORS)
        if isinstance(raw, ModelWatchError):
            return []
        return deliver(raw, self.subscribers, NOW)

    def deliver_directly(self, wire: JsonValue) -> list[Delivery]:
        """Past the type routing, as a misconfigured subscription would: each subscriber validates on its own."""
        event = attempt(lambda: LifecycleEvent.from_wire(wire), EVENT_ERRORS)
        if isinstance(event, ModelWatchError):
            return []
        return [deliver_one(event, s, NOW) for s in self.subscribers]


def with_version(raw: JsonObject, version: str) -> JsonObject:
    body = copy.deepcopy(raw)
    model = as_object(as_object(body["properties"])["model"])
    model["version"] = version
    return body


def check_nothing_written(world: World, deliveries: Sequence[Delivery], ids: Sequence[JsonValue]) -> None:
    """A forged or out-of-scope event changes nothing anywhere."""
    assert all(d.outcome in QUIET for d in deliveries), [
        (d.subscriber, d.outcome, d.detail) for d in deliveries
    ]
    assert world.api.puts == [] and world.api.gets == [], "no ARM call at all"
    for ident in ids:
        if isinstance(ident, str):
            assert world.stores.get(POLICY, ident) is None, "nothing in the ledger"
    assert world.sender.posts == [], "no alert"
    assert world.publisher.published == [] and world.state.list_pending() == [], "nothing published"
    assert world.stores.list_rollbacks() == []


def check_only_legitimate_writes(world: World, deliveries: Sequence[Delivery]) -> None:
    """Whatever arrives, a write only ever moves the watched, upgradable deployment to the catalog's target."""
    assert all(d.outcome in OUTCOMES for d in deliveries)
    inventory_east = {str(d["id"]).casefold() for d in (CHAT, PINNED, PTU)}
    assert all(rid.casefold() in inventory_east for rid in world.api.gets), world.api.gets
    for rid, body in world.api.puts:
        assert rid.casefold() == str(CHAT["id"]).casefold() and body == with_version(CHAT, TARGET), rid
    assert len(world.api.puts) <= 1, "an upgrade happens once"
    for d in deliveries:
        if (
            d.subscriber == POLICY
            and d.outcome in QUIET
            and not any(
                e.event_id == d.event_id and e.subscriber == POLICY and e.outcome not in QUIET
                for e in deliveries
            )
        ):
            assert world.stores.get(POLICY, d.event_id) is None


def unparseable(value: JsonValue) -> bool:
    """Not an instant the event parser accepts (and not one of BUG-1's overflowing ones)."""
    if not isinstance(value, str):
        return True
    try:
        parse_instant(value)
    except OverflowError:
        return False
    except ValueError:
        return True
    return False


def _other_location(draw: st.DrawFn) -> str:
    loc = draw(
        st.sampled_from(["westus", "WestUS2", "swedencentral", "east us", "eastus2", "eastus/x"])
        | st.text(min_size=1, max_size=12)
    )
    assume(loc.casefold() not in WATCHED)
    return loc


@st.composite
def forged_events(draw: st.DrawFn) -> JsonValue:
    """A real event made invalid or out of scope: every subscriber must reject or ignore it."""
    seed = copy.deepcopy(draw(st.sampled_from(CATALOG_SEEDS + DIGEST_SEEDS + DEPLOYMENT_SEEDS)))
    kind = str(seed["eventType"])
    data = as_object(seed["data"])
    located = kind != EventType.CATALOG_DIGEST
    subject_checked = kind in DEPLOYMENT_TYPES or (
        kind in CATALOG_EVENT_TYPES and kind != EventType.CATALOG_ANOMALY
    )
    ops = [
        "unknown_type",
        "data_not_object",
        "bad_id",
        "bad_time",
        "bad_data_version",
        "missing",
        "not_object",
    ]
    ops += ["out_of_scope", "bad_location"] if located else ["bad_changes"]
    ops += ["subject_mismatch", "bad_model_fields"] if subject_checked else []
    op = draw(st.sampled_from(ops))
    if op == "unknown_type":
        seed["eventType"] = draw(
            (st.sampled_from(["ModelLifecycle.Unknown", "modellifecycle.versionretired", "Microsoft.Storage.BlobCreated"])
             | st.text(max_size=20)).filter(lambda t: t not in KNOWN_TYPES)
        )  # fmt: skip
    elif op == "data_not_object":
        seed["data"] = draw(
            st.one_of(st.none(), st.booleans(), st.integers(), texts, st.lists(json_values, max_size=3))
        )
    elif op == "bad_id":
        if draw(st.booleans()):
            del seed["id"]
        else:
            seed["id"] = draw(pick(["", None, 7, ["id"], {"id": "x"}]))
    elif op == "bad_time":
        bad = draw((st.sampled_from(BAD_DATES) | wrong_types | st.text(max_size=20)).filter(unparseable))
        if bad is None and draw(st.booleans()):
            del seed["eventTime"]
        else:
            seed["eventTime"] = bad
    elif op == "bad_data_version":
        seed["dataVersion"] = draw(pick([None, 1, 1.0, True, ["1.0"], {"v": "1.0"}]))
    elif op == "missing":
        del seed[draw(st.sampled_from(["id", "subject", "eventType", "eventTime", "data"]))]
    elif op == "not_object":
        wrapped: JsonValue = [seed]
        return draw(pick([None, 0, 1.5, True, wrapped]) | texts)
    elif op == "out_of_scope":
        loc = _other_location(draw)
        data["location"] = loc
        if kind in CATALOG_EVENT_TYPES:
            seed["subject"] = version_subject(
                loc, str(data["modelFormat"]), str(data["modelName"]), str(data["modelVersion"])
            )
    elif op == "bad_location":
        if draw(st.booleans()):
            del data["location"]
        else:
            data["location"] = draw(pick(["", None, 1, ["eastus"], {"name": "eastus"}]))
    elif op == "bad_changes":
        data["changes"] = draw(
            st.one_of(st.none(), texts, st.integers(), st.dictionaries(keys, scalars, max_size=2))
        )
    elif op == "subject_mismatch":
        subject = draw(
            st.sampled_from(
                [str(CHAT["id"]), str(FOREIGN_CHAT["id"]), "/locations/eastus/catalog",
                 version_subject("eastus", "OpenAI", "gpt-4o", "9"), version_subject("westus", "OpenAI", "gpt-4o", TARGET)]
            )
            | texts
        )  # fmt: skip
        expected = (
            str(data.get("deploymentId", "")).casefold()
            if kind in DEPLOYMENT_TYPES
            else version_subject(
                str(data.get("location")), str(data.get("modelFormat")), str(data.get("modelName")),
                str(data.get("modelVersion")),
            )
        )  # fmt: skip
        assume(subject.casefold() != expected.casefold() if kind in DEPLOYMENT_TYPES else subject != expected)
        seed["subject"] = subject
    elif op == "bad_model_fields":
        names = ["deploymentName", "modelName", "modelVersion", "deploymentId"]
        if kind in CATALOG_EVENT_TYPES:
            names = ["modelFormat", "modelName", "modelVersion"]
        name = draw(st.sampled_from(names))
        if draw(st.booleans()):
            data.pop(name, None)
        else:
            bad_values: list[JsonValue] = [None, 1, ["gpt-4o"], {"v": 1}]
            if kind in CATALOG_EVENT_TYPES or name == "deploymentId":
                bad_values.append("")
            data[name] = draw(st.sampled_from(bad_values))
    return seed


def check_round_trip(raw: JsonValue) -> None:
    """What the event parser accepts survives the publisher's serialisation unchanged."""
    event = attempt(lambda: LifecycleEvent.from_wire(raw), EVENT_ERRORS)
    if isinstance(event, LifecycleEvent):
        again = LifecycleEvent.from_json(event.to_json())
        assert (again.id, again.event_type, again.subject, again.data_version) == (
            event.id, event.event_type, event.subject, event.data_version
        )  # fmt: skip
        assert json.dumps(dict(again.data), sort_keys=True) == json.dumps(dict(event.data), sort_keys=True)


def _ids(events: Sequence[JsonValue]) -> list[JsonValue]:
    return [e.get("id") for e in events if isinstance(e, dict)]


@pytest.mark.reliability(
    fault="fuzz: forged events (12 kinds: unknown type, unwatched location or account, subject/data mismatch, bad id/time/data; 200)",
    held="rejected or ignored; no ARM call, no ledger entry, no alert, nothing published",
)
@settings(FUZZ, max_examples=200)
@given(forged_events())
def test_a_forged_or_out_of_scope_event_writes_nothing(event: JsonValue) -> None:
    world = World()
    deliveries = world.deliver([event])
    deliveries += world.deliver_directly(event)
    check_nothing_written(world, deliveries, _ids([event]))


any_events: st.SearchStrategy[JsonValue] = st.one_of(
    json_values,
    st.dictionaries(keys, json_values, max_size=7),
    st.sampled_from(ALL_SEEDS).map(fresh),
    st.sampled_from(ALL_SEEDS).flatmap(mutated),
    forged_events(),
)


@pytest.mark.reliability(
    fault="fuzz: any event body, random, mutated, forged or valid (100)",
    held="no crash; a write only ever the one the valid event calls for, at most once",
)
@settings(FUZZ, max_examples=100)
@given(st.lists(any_events, max_size=6) | any_events)
def test_any_event_body_is_delivered_without_crashing(body: JsonValue) -> None:
    world = World()
    deliveries = world.deliver(body)
    for raw in body if isinstance(body, list) else [body]:
        deliveries += world.deliver_directly(raw)
        check_round_trip(raw)
    check_only_legitimate_writes(world, deliveries)


@pytest.mark.reliability(
    fault="fuzz: up to 12 garbage events, then a real one (60)",
    held="garbage writes nothing; the real event upgrades once; its redelivery is a duplicate",
)
@settings(FUZZ, max_examples=60)
@given(
    st.lists(
        st.one_of(forged_events(), json_values, st.dictionaries(keys, json_values, max_size=7)), max_size=12
    )
)
def test_a_valid_event_after_garbage_is_handled_normally(garbage: list[JsonValue]) -> None:
    world = World()
    deliveries = world.deliver(garbage)
    check_nothing_written(world, deliveries, _ids(garbage))
    # then the real retirement: processed, the watched deployment upgraded once, a redelivery a duplicate
    (policy,) = world.deliver([RETIRED])
    assert policy.outcome == ACCEPTED, policy.detail
    assert world.api.puts == [(str(CHAT["id"]), with_version(CHAT, TARGET))]
    (again,) = world.deliver([RETIRED])
    assert again.outcome == DUPLICATE and len(world.api.puts) == 1
    # and the notify subscriber still posts a real digest
    notified = world.deliver([DIGEST_SEEDS[0]])
    assert [d.outcome for d in notified] == [ACCEPTED] and world.sender.posts


def _decode(wire: JsonValue) -> EventGridEvent | CloudEvent | None:
    """The Functions trigger's own decoder; None when it refuses the body (the host fails before our code). A body
    with a top-level "specversion" decodes to a CloudEvent, which event_wire maps too (BUG-2, fixed)."""
    try:
        decoded: EventGridEvent | CloudEvent = EventGridEventInConverter.decode(
            Datum(json.dumps(wire), "json"), trigger_metadata=None
        )
    except Exception:  # the library's own refusals are not under test
        return None
    return decoded


@pytest.mark.reliability(
    fault="fuzz: bodies through the Functions worker's own Event Grid decoder (incl. CloudEvents; 100)",
    held="delivered or rejected clearly",
)
@settings(FUZZ, max_examples=100)
@given(
    st.one_of(
        st.sampled_from(ALL_SEEDS).flatmap(mutated), forged_events(), st.dictionaries(keys, json_values)
    )
)
def test_the_trigger_path_delivers_or_rejects(wire: JsonValue) -> None:
    """As the Functions host delivers: its decoder, then event_wire, then one subscriber (handle_event's path)."""
    assume(isinstance(wire, dict))
    decoded = _decode(wire)
    assume(decoded is not None)
    assert decoded is not None
    world = World()
    rebuilt = attempt(lambda: event_wire(decoded), ())
    assert isinstance(rebuilt, dict)
    deliveries = [d for s in world.subscribers for d in deliver([rebuilt], [s], NOW)]
    check_only_legitimate_writes(world, deliveries)


# ---------------------------------------------------------------------------------------------------------------
# The properties can fail: each check, fed a wrong result, says so


def test_the_documented_error_predicate_rejects_raw_builtins() -> None:
    for raw in (KeyError("model"), TypeError("x"), AttributeError("x"), ValueError("x"), OverflowError("x")):
        assert not is_documented(raw, CATALOG_ERRORS + DEPLOYMENT_ERRORS + EVENT_ERRORS + PAGE_ERRORS)
    assert is_documented(CatalogFormatError("bad page"), CATALOG_ERRORS)
    assert not is_documented(CatalogFormatError(""), CATALOG_ERRORS), "a clear error has a message"
    assert not is_documented(EventFormatError("bad event"), CATALOG_ERRORS), "only the parser's own errors"
    with pytest.raises(AssertionError, match="undocumented KeyError"):
        attempt(lambda: as_object({})["model"], CATALOG_ERRORS)
    assert isinstance(attempt(lambda: parse_deployment({}, account_id=EAST, location="x"), DEPLOYMENT_ERRORS),
                      DeploymentFormatError)  # fmt: skip


def test_the_catalog_checks_catch_a_lost_entry_and_an_unnamed_one() -> None:
    page = copy.deepcopy(REAL_PAGES[0])
    page[0] = {"model": "garbage"}
    honest = parse_models(page, formats=None)
    check_one_bad_entry(REAL_PAGES[0][0], page, 0, BASELINES[0], honest)
    lossy = ParsedCatalog(honest.versions[1:], honest.problems, honest.unreadable)
    with pytest.raises(AssertionError, match="changed although only"):
        check_one_bad_entry(REAL_PAGES[0][0], page, 0, BASELINES[0], lossy)
    silent = ParsedCatalog(honest.versions, (), honest.unreadable)
    with pytest.raises(AssertionError):
        check_one_bad_entry(REAL_PAGES[0][0], page, 0, BASELINES[0], silent)
    unsorted = ParsedCatalog(tuple(reversed(honest.versions)), honest.problems)
    with pytest.raises(AssertionError, match="unique and sorted"):
        check_catalog(unsorted, len(page))


def test_the_deployment_checks_catch_a_needless_rejection_and_a_stray_change() -> None:
    chat = parse_deployment(CHAT, account_id=EAST, location="eastus", seen_at=NOW)
    check_mutated_deployment(CHAT, CHAT, [("etag",)], chat)
    with pytest.raises(AssertionError, match="rejected for"):
        check_mutated_deployment(CHAT, CHAT, [("etag",)], DeploymentFormatError("deployment chat: no etag"))
    moved = replace(chat, model_version="2024-08-06")
    with pytest.raises(AssertionError, match="model_version changed"):
        check_mutated_deployment(CHAT, CHAT, [("tags", "team")], moved)


def test_the_event_checks_catch_a_write_and_a_processed_forgery() -> None:
    world = World()
    deliveries = world.deliver([RETIRED])  # a valid event: it writes, so "nothing written" must fail
    with pytest.raises(AssertionError):
        check_nothing_written(world, deliveries, [RETIRED["id"]])
    check_only_legitimate_writes(world, deliveries)
    world.api.put_deployment(str(WEST_CHAT["id"]), with_version(WEST_CHAT, TARGET))  # a write out of scope
    with pytest.raises(AssertionError):
        check_only_legitimate_writes(world, deliveries)

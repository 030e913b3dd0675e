"""What every fuzz test shares: the hypothesis settings, the "documented clear error" predicate, JSON trees and
the strategies that make random JSON and mutate real payloads."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar, cast

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from shared.domain.deployments import DeploymentFormatError
from shared.domain.events import JsonObject, JsonValue
from shared.errors import ArmError, CatalogFormatError, EventFormatError, ModelWatchError, PermanentError

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 4, 20, tzinfo=UTC)  # past the 14-day grace of Azure's upgrade (retired 2026-03-31)

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
    "value",
    "nextLink",
    "kind",
    "skuName",
    "model",
    "format",
    "name",
    "version",
    "skus",
    "deprecation",
    "inference",
    "fineTune",
    "deprecationStatus",
    "lifecycleStatus",
    "isDefaultVersion",
    "replacementConfig",
    "targetModelName",
    "targetModelVersion",
    "autoUpgradeStartDate",
    "upgradeOnExpiryLeadTimeDays",
    "deprecationDate",
    "systemData",
    "createdAt",
    "usageName",
    "capabilities",
    "id",
    "type",
    "properties",
    "sku",
    "capacity",
    "tags",
    "versionUpgradeOption",
    "provisioningState",
    "eventType",
    "subject",
    "eventTime",
    "data",
    "dataVersion",
    "topic",
    "location",
    "modelFormat",
    "modelName",
    "modelVersion",
    "deploymentId",
    "deploymentName",
    "changes",
    "locations",
    "asOf",
    "specVersion",
]
SPECIAL_STRINGS = [
    "",
    " ",
    "\t\n",
    "\x00",
    "null",
    "None",
    "true",
    "false",
    "0",
    "-1",
    "NaN",
    "é",
    "Ｅａｓｔ",
    "\u202egpt-4o",
    "🙂" * 50,
    "ǅ",
    "ß",
    "İ",
    "/",
    "../../etc",
    "a/b/c",
    "OpenAI",
    "openai",
    "gpt-4o",
    "2024-05-13",
]
BAD_DATES = [
    "2025-13-40",
    "",
    " ",
    "yesterday",
    "2025-02-30T00:00:00Z",
    "2025-01-01T25:00:00Z",
    "2025-01-01T00:00:00+25:00",
    "99999-01-01T00:00:00Z",
    "+10000-01-01",
    "0000-00-00",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59.9999999Z",
    "2099-12-31T00:00:00Z",
    "2098-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "0001-01-01",
    "2025-06-30",
    "2025-06-30T00:00:00",
    "2025-06-30T00:00:00.123456789012Z",
    " 2025-06-30T00:00:00Z ",
    "2025-06-30t00:00:00z",
    "2025-W27-1",
    "20250630",
    "2025-06-30T00:00:00-00:00",
    "2025-06-30T00:00:00Z\n",
    "NaN",
    "null",
    "\x002025-06-30",
    "٢٠٢٥-٠٦-٣٠",
    "2025-06-30T00:00:00ZZ",
    "2025-06-30T00:00:00+0530",
    "2025-06-30T24:00:00Z",
    "1e9",
    "06/30/2025 00:00:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-08:00",  # BUG-1, fixed
]


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

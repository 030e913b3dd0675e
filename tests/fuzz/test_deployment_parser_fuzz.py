"""Fuzzing ``parse_deployment`` (ARM deployments): random JSON and mutated real deployments."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.deployments import Deployment
from shared.domain.events import JsonObject, JsonValue
from tests.fuzz.support.deployments import (
    REAL_DEPLOYMENTS,
    check_deployment,
    check_mutated_deployment,
    parse_east,
)
from tests.fuzz.support.strategies import FUZZ, JsonPath, json_values, keys, mutations


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

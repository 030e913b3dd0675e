"""The output formats as az has them (shared/cli/output.py): tsv, the automatic table, yaml, --query."""

from __future__ import annotations

import pytest
import yaml

from shared.cli.output import OutputError, auto_table, query, render, tsv

DOC = [
    {"name": "chat", "ok": True, "days": 3, "tags": ["a", "b"], "sku": {"name": "S0"}, "note": None},
    {"name": "ptu", "ok": False, "days": 40, "tags": [], "sku": {"name": "P"}, "note": "x"},
]


def test_tsv_is_azs_one_line_per_item_no_header() -> None:
    assert tsv(DOC) == "chat\ttrue\t3\t2\t\t\nptu\tfalse\t40\t0\t\tx\n"
    assert tsv("one") == "one\n" and tsv([["a", 1], ["b", 2]]) == "a\t1\nb\t2\n"


def test_the_automatic_table_shows_scalar_fields_with_capitalised_headers() -> None:
    lines = auto_table(DOC).splitlines()
    assert lines[0].split() == ["Name", "Ok", "Days", "Note"]  # lists and objects left out, as az does
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].split() == ["chat", "true", "3"] and lines[3].split() == ["ptu", "false", "40", "x"]
    assert auto_table(["a", "b"]).splitlines()[0] == "Result"


def test_yaml_and_json_carry_the_same_document() -> None:
    assert yaml.safe_load(render(DOC, "yaml")) == DOC
    assert render(DOC, "json").startswith('[\n  {\n    "name": "chat",')
    assert render({"a": 1}, "none") == ""


def test_query_is_jmespath_and_a_bad_one_is_named() -> None:
    assert query(DOC, "[?ok].name") == ["chat"]
    assert query(DOC, None) is DOC
    with pytest.raises(OutputError, match="invalid JMESPath"):
        query(DOC, "[?ok")

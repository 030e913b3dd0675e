"""The rule registry (shared/iac/rules.py): one status per pin, whatever the template leaves unknown."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from shared.domain.catalog import ModelVersion
from shared.iac.pins import Lit, Pin, Unknown
from shared.iac.rules import FAIL_ON, RULES, STATUSES, Facts, Status, verdict

DATE = datetime(2026, 3, 31, tzinfo=UTC)


def facts(combination: tuple[bool, ...]) -> Facts:
    """A pin with each of these known or not: model, version, pinned, sku, in the catalog, region, retired, dated."""
    model, version, pinned, sku, current, region, retired, dated = combination
    pin = Pin(
        kind="bicep",
        file=Path("main.bicep"),
        line=1,
        name=Lit("chat"),
        account=Lit("oai"),
        location=Lit("eastus"),
        model_format=None,
        model_name=Lit("gpt-4o") if model else Unknown("p.model"),
        model_version=(Lit("2024-05-13") if version else Unknown("p.version")) if pinned else None,
        sku=None if sku else Unknown("p.sku"),
        upgrade_option=None,
    )
    entry = cast(ModelVersion, SimpleNamespace(deprecation_status=None)) if current else None
    return Facts(
        pin=pin,
        fmt="OpenAI",
        model="gpt-4o" if model else None,
        version="2024-05-13" if version and pinned else None,
        sku="Standard",
        sku_known=sku,
        region="eastus",
        current=entry,
        region_known=region,
        elsewhere=(),
        source="test",
        date=DATE if dated and current else None,
        days=75 if dated and current else None,
        retired=retired and current,
    )


def test_exactly_one_check_applies_to_every_pin() -> None:
    for combination in itertools.product((False, True), repeat=8):
        case = facts(combination)
        applying = [(r.status, c.__name__) for r in RULES for c in r.checks if c(case) is not None]
        assert len(applying) == 1, (combination, applying)
        assert verdict(case)[0] == applying[0][0]


def test_the_registry_gives_the_orders_the_outputs_use() -> None:
    assert [str(s) for s in STATUSES] == ["retired", "not-offered", "drift", "retiring", "unknown", "ok"]
    assert [str(s) for s in FAIL_ON] == ["retired", "retiring", "drift", "not-offered", "unknown"]
    assert {rule.status for rule in RULES} == set(Status)
    sarif: dict[str, Any] = {r.status: r.sarif_name for r in RULES if r.sarif_name}
    assert Status.OK not in sarif and len(sarif) == len(RULES) - 1

"""The catalog diff over partner and other formats (#21 item 6): every format kept, retirement news for all, releases
and default changes for the formats CATALOG_NEWS_FORMATS names; a format new to a snapshot is a baseline; the vanish
guard counts per format."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.catalog import ParsedCatalog, parse_models
from shared.domain.diff import DiffResult, DiffRules, LocationSnapshot, diff_location
from tests.builders import item
from tests.support.diff import BASE, LOC, T0, dates, moments, names, run, settled, statuses, types, versions

EVERY = frozenset({"openai", "meta", "mistral ai"})  # what CATALOG_MODEL_FORMATS=* keeps of these items
OPENAI_NEWS = DiffRules()  # CATALOG_NEWS_FORMATS unset: OpenAI
ALL_NEWS = DiffRules(news_formats=None)  # CATALOG_NEWS_FORMATS=*


def every_format(*items: dict[str, Any]) -> ParsedCatalog:
    return parse_models(list(items), formats=EVERY)


def diff_all(
    prev: LocationSnapshot | None, *items: dict[str, Any], rules: DiffRules, now: datetime = T0
) -> DiffResult:
    return diff_location(prev, every_format(*items), now, rules, location=LOC)


def told(result: DiffResult) -> list[tuple[str, str, str]]:
    return sorted(
        (e.event_type.removeprefix("ModelLifecycle."), e.data["modelFormat"], e.data["modelName"])  # type: ignore[index]
        for e in result.events
    )


LLAMA = item("Llama-3.2-90B-Vision-Instruct", "2", fmt="Meta", kind="AIServices", default=True)
LLAMA_DATED = item(  # Learn's schedule (https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements): 2026-06-13
    "Llama-3.2-90B-Vision-Instruct",
    "2",
    fmt="Meta",
    kind="AIServices",
    default=True,
    retires="2026-06-13T00:00:00Z",
)
MISTRAL_SOON = item(
    "Mistral-Large-2411", "2", fmt="Mistral AI", kind="AIServices", retires="2025-02-01T00:00:00Z"
)
GPT_NEW = item("gpt-4o", "2024-11-20")


@pytest.mark.parametrize("rules", [OPENAI_NEWS, ALL_NEWS], ids=["news-openai", "news-all"])
def test_the_first_cycle_keeping_a_format_is_a_baseline_for_it(rules: DiffRules) -> None:
    """An installation that kept OpenAI only, upgraded: the partner entries are not released, their dates told."""
    before = settled(*BASE)  # kept by CATALOG_MODEL_FORMATS=OpenAI: no Meta or Mistral record
    result = diff_all(before, *BASE, GPT_NEW, LLAMA, MISTRAL_SOON, rules=rules)
    assert told(result) == [
        (
            "RetirementApproaching",
            "Mistral AI",
            "Mistral-Large-2411",
        ),  # 23 days out: actionable, as on a baseline
        ("RetirementScheduled", "Mistral AI", "Mistral-Large-2411"),
        ("VersionReleased", "OpenAI", "gpt-4o"),  # the OpenAI part is no baseline: its news as ever
    ]
    by_format = {e.data["modelFormat"]: e.data["baseline"] for e in result.events}  # type: ignore[index]
    assert by_format == {"Mistral AI": True, "OpenAI": False}
    assert {k.format for k in result.snapshot.records} == {"OpenAI", "Meta", "Mistral AI"}
    # a re-run emits nothing, whatever the order of the entries
    again = diff_all(result.snapshot, MISTRAL_SOON, LLAMA, GPT_NEW, *reversed(BASE), rules=rules)
    assert again.events == () and again.changed_records(result.snapshot) == {}
    shuffled = diff_all(before, MISTRAL_SOON, *reversed(BASE), LLAMA, GPT_NEW, rules=rules)
    assert [e.to_wire() for e in shuffled.events] == [e.to_wire() for e in result.events]


@pytest.mark.parametrize(
    ("rules", "before", "after", "expected"),
    [
        # a retirement date set on a partner version: told whatever CATALOG_NEWS_FORMATS says
        (
            OPENAI_NEWS,
            [LLAMA],
            [LLAMA_DATED],
            [("RetirementScheduled", "Meta", "Llama-3.2-90B-Vision-Instruct")],
        ),
        (
            ALL_NEWS,
            [LLAMA],
            [LLAMA_DATED],
            [("RetirementScheduled", "Meta", "Llama-3.2-90B-Vision-Instruct")],
        ),
        # a partner release: not news under the default, news with *
        (OPENAI_NEWS, [LLAMA], [LLAMA, item("Llama-4-Scout", "1", fmt="Meta")], []),
        (
            ALL_NEWS,
            [LLAMA],
            [LLAMA, item("Llama-4-Scout", "1", fmt="Meta")],
            [("VersionReleased", "Meta", "Llama-4-Scout")],
        ),
        (
            DiffRules(news_formats=frozenset({"openai", "meta"})),  # CATALOG_NEWS_FORMATS=OpenAI,Meta
            [LLAMA],
            [LLAMA, item("Llama-4-Scout", "1", fmt="Meta"), item("Mistral-Small", "1", fmt="Mistral AI")],
            [("VersionReleased", "Meta", "Llama-4-Scout")],  # Mistral AI: not in CATALOG_NEWS_FORMATS
        ),
        # a partner default moving: news with * only
        (
            OPENAI_NEWS,
            [LLAMA, item("Llama-3.2-90B-Vision-Instruct", "3", fmt="Meta", default=False)],
            [
                item("Llama-3.2-90B-Vision-Instruct", "2", fmt="Meta", default=False),
                item("Llama-3.2-90B-Vision-Instruct", "3", fmt="Meta", default=True),
            ],
            [],
        ),
        (
            ALL_NEWS,
            [LLAMA, item("Llama-3.2-90B-Vision-Instruct", "3", fmt="Meta", default=False)],
            [
                item("Llama-3.2-90B-Vision-Instruct", "2", fmt="Meta", default=False),
                item("Llama-3.2-90B-Vision-Instruct", "3", fmt="Meta", default=True),
            ],
            [("DefaultVersionChanged", "Meta", "Llama-3.2-90B-Vision-Instruct")],
        ),
        # a status change: closed to new customers is a retirement stage, told for every format; GA is news
        (
            OPENAI_NEWS,
            [LLAMA],
            [item("Llama-3.2-90B-Vision-Instruct", "2", fmt="Meta", default=True, status="Deprecating")],
            [("LifecycleStatusChanged", "Meta", "Llama-3.2-90B-Vision-Instruct")],
        ),
        (
            OPENAI_NEWS,
            [item("Llama-3.2-90B-Vision-Instruct", "2", fmt="Meta", default=True, status="Preview")],
            [LLAMA],
            [],
        ),
        # OpenAI's news is told under every setting
        (OPENAI_NEWS, [LLAMA, *BASE], [LLAMA, *BASE, GPT_NEW], [("VersionReleased", "OpenAI", "gpt-4o")]),
    ],
)
def test_partner_news_is_told_by_kind(
    rules: DiffRules,
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
    expected: list[tuple[str, str, str]],
) -> None:
    prev = diff_all(None, *before, rules=rules).snapshot
    result = diff_all(prev, *after, rules=rules)
    assert told(result) == expected
    assert diff_all(result.snapshot, *after, rules=rules).events == ()  # what was not told is not owed later


def test_a_partner_retirement_is_told_through_its_reminders_to_retired() -> None:
    prev = diff_all(None, LLAMA, rules=OPENAI_NEWS).snapshot
    seen: list[str] = []
    for day in ("2026-01-01", "2026-03-15", "2026-06-06", "2026-06-13"):
        result = diff_all(
            prev, LLAMA_DATED, rules=OPENAI_NEWS, now=datetime.fromisoformat(day).replace(tzinfo=UTC)
        )
        seen += [f"{day}:{t}" for t in types(result)]
        prev = result.snapshot
    assert seen == [
        "2026-01-01:RetirementScheduled",
        "2026-03-15:RetirementApproaching",  # 90 days
        "2026-06-06:RetirementApproaching",  # 7 days (60, 30 and 14 settled by it)
        "2026-06-13:VersionRetired",
    ]


def test_records_of_formats_no_longer_kept_are_left_out_of_the_diff() -> None:
    from shared.domain.diff import within_formats

    snap = diff_all(None, *BASE, LLAMA, MISTRAL_SOON, rules=ALL_NEWS).snapshot
    kept = within_formats(snap.records, frozenset({"openai"}))
    assert {k.format for k in kept} == {"OpenAI"}
    assert within_formats(snap.records, None) == dict(snap.records)
    # narrowed to OpenAI: the partner entries are no longer parsed, and nothing is concluded about them
    narrowed = run(LocationSnapshot(LOC, kept), *BASE)
    assert narrowed.events == () and not narrowed.is_anomaly


fmts = st.sampled_from(["OpenAI", "Meta", "Mistral AI"])


@st.composite
def mixed_catalogs(draw: st.DrawFn) -> list[dict[str, Any]]:
    entries = {}
    for _ in range(draw(st.integers(0, 8))):
        fmt, name, version = draw(fmts), draw(names), draw(versions)
        entries[(fmt, name, version)] = item(
            name,
            version,
            fmt=fmt,
            status=draw(statuses),
            default=draw(st.sampled_from([None, True, False])),
            retires=draw(dates),
        )
    return list(entries.values())


@settings(max_examples=150, deadline=None)
@given(
    mixed_catalogs(),
    mixed_catalogs(),
    moments,
    st.sampled_from([OPENAI_NEWS, ALL_NEWS]),
    st.randoms(use_true_random=False),
)
def test_formats_new_to_a_snapshot_are_baselines_idempotent_and_order_free(
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
    now: datetime,
    rules: DiffRules,
    rnd: random.Random,
) -> None:
    first = diff_all(None, *before, rules=rules, now=now)
    second = diff_all(first.snapshot, *after, rules=rules, now=now)
    known = {k.format for k in first.snapshot.records}
    for e in second.events:
        fmt = e.data.get("modelFormat")  # type: ignore[union-attr]
        if fmt is not None and fmt not in known:
            assert e.event_type != "ModelLifecycle.VersionReleased" and e.data["baseline"] is True  # type: ignore[index]
        if e.event_type in ("ModelLifecycle.VersionReleased", "ModelLifecycle.DefaultVersionChanged"):
            assert rules.news_formats is None or e.data["modelFormat"] == "OpenAI"  # type: ignore[index]
    shuffled = list(after)
    rnd.shuffle(shuffled)
    again = diff_all(first.snapshot, *shuffled, rules=rules, now=now)
    assert [e.to_wire() for e in again.events] == [e.to_wire() for e in second.events]
    third = diff_all(second.snapshot, *after, rules=rules, now=now)
    fourth = diff_all(third.snapshot, *after, rules=rules, now=now)
    assert fourth.events == () and fourth.changed_records(third.snapshot) == {}


@pytest.mark.parametrize(
    ("gone", "held"),
    [
        (3, True),  # 3 of OpenAI's 5 at once: a broken listing, however many partner entries there are
        (1, False),  # one version leaving is what a real removal looks like
    ],
)
def test_the_vanish_guard_counts_per_format(gone: int, held: bool) -> None:
    from shared.domain.diff import to_confirm

    openai = [item("gpt-4o", f"2024-0{i}-01", retires="2027-01-01T00:00:00Z") for i in range(1, 6)]
    partners = [item(f"Llama-{i}", "1", fmt="Meta", kind="AIServices") for i in range(30)]
    snap = diff_all(None, *openai, *partners, rules=OPENAI_NEWS).snapshot
    result = diff_all(snap, *openai[gone:], *partners, rules=OPENAI_NEWS)
    assert result.is_anomaly is held
    assert types(result) == (["CatalogAnomaly"] if held else [])
    again = diff_all(result.snapshot, *openai[gone:], *partners, rules=OPENAI_NEWS)
    assert (to_confirm(result.snapshot, every_format(*openai[gone:], *partners), T0) == ()) is held
    assert not [e for e in again.events if e.event_type.endswith("VersionRetired")]

"""One contract for every CanaryResults store: in memory (the reference), SQLite, and Table Storage on Azurite.

Where the backends differ, the test says so: Table Storage holds at most 1 MiB per entity, so a result whose whole
outputs (CANARY_STORE_OUTPUTS) do not fit is stored without them, saying so; memory and SQLite keep it whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.backends import Port
from shared.adapters.memory import InMemoryCanaryResults
from shared.adapters.sqlite.canary_results import SqliteCanaryResults
from shared.adapters.tables.canary_results import DROPPED, TableCanaryResults
from shared.bootstrap import build_canary_results
from shared.config import StateStoreConfig, StoreKind
from shared.domain.canary import CanaryResult, CaseOnVersion, CaseResult, Side
from shared.domain.secret import Secret
from shared.domain.verdict import Verdict
from shared.ports import CanaryResults
from tests.builders import account_id
from tests.support.store_backends import BACKENDS, store_factories

T0 = datetime(2026, 12, 6, 12, 0, 0, 250_000, tzinfo=UTC)
ACCOUNT = account_id("contoso-payments", "00000000-0000-0000-0000-0000000000c1")
EU, US = f"{ACCOUNT}/deployments/chat-eu", f"{ACCOUNT}/deployments/chat-us"

Factory = Callable[[], CanaryResults]


@pytest.fixture(params=BACKENDS)
def make_results(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Factory]:
    yield from store_factories(
        request,
        tmp_path_factory,
        port=Port.CANARY,
        memory=InMemoryCanaryResults,
    )


def result(
    deployment: str = EU,
    *,
    at: datetime = T0,
    version: str = "2024-11-20",
    verdict: Verdict = Verdict.REGRESSION,
    output: str | None = None,
) -> CanaryResult:
    ok = CaseOnVersion(True, (), 120, 1)
    bad = CaseOnVersion(
        False, ("is-json: not JSON",), 130, 1, excerpt="```json", outputs=(output,) if output else ()
    )
    return CanaryResult(
        deployment,
        "invoice extraction",
        verdict,
        Side("gpt-4o", "2024-08-06", "chat-eu", 2, 0),
        Side("gpt-4o", version, "chat-eu-next", 1, 1),
        cases=(CaseResult("total", ok, bad), CaseResult("due", ok, ok)),
        tokens=420,
        at=at,
        regressions=("total",) if verdict is Verdict.REGRESSION else (),
    )


def test_empty_store_lists_nothing(make_results: Factory) -> None:
    assert make_results().list_results() == []
    assert make_results().list_results(EU) == []


def test_a_saved_result_reads_back_as_its_json_document(make_results: Factory) -> None:
    r = result()
    make_results().save(r)
    assert make_results().list_results() == [r.to_json()]  # another instance: another worker, the CLI


def test_the_same_run_saved_twice_is_one_result(make_results: Factory) -> None:
    store = make_results()
    store.save(result())
    store.save(result())
    assert len(store.list_results()) == 1


def test_runs_within_one_second_are_two_results(make_results: Factory) -> None:
    store = make_results()
    store.save(result(at=T0))
    store.save(result(at=T0 + timedelta(microseconds=1)))
    docs = store.list_results()
    assert len(docs) == 2 and docs[0]["at"] == docs[1]["at"]  # the document keeps seconds


def test_oldest_first_and_by_deployment_ignoring_arm_case(make_results: Factory) -> None:
    store = make_results()
    store.save(result(EU, at=T0 + timedelta(hours=2), version="2025-05-13", verdict=Verdict.PASS))
    store.save(result(US, at=T0 + timedelta(hours=1)))
    store.save(result(EU, at=T0))
    assert [(d["deployment"], d["at"]) for d in store.list_results()] == [
        (EU, "2026-12-06T12:00:00Z"),
        (US, "2026-12-06T13:00:00Z"),
        (EU, "2026-12-06T14:00:00Z"),
    ]
    mine = store.list_results(EU.upper().replace("CHAT-EU", "Chat-Eu"))
    assert [d["verdict"] for d in mine] == ["regression", "pass"]
    assert [d["deployment"] for d in store.list_results(US)] == [US]


def test_unicode_is_kept(make_results: Factory) -> None:
    store = make_results()
    r = result(output="Straße 𝄞 “quoted” 合計")
    store.save(r)
    assert store.list_results() == [r.to_json()]


def test_a_large_result_is_kept_whole_or_without_its_outputs(
    make_results: Factory, request: pytest.FixtureRequest
) -> None:
    store = make_results()
    huge = result(output="x" * 600_000)  # CANARY_STORE_OUTPUTS with a long answer
    store.save(huge)
    (doc,) = store.list_results()
    if isinstance(store, TableCanaryResults):  # 1 MiB per entity: stored without outputs, saying so
        assert doc["truncated"] == DROPPED
        assert "outputs" not in doc["cases"][0]["target"]  # type: ignore[index,operator]
        assert doc["regressions"] == ["total"] and doc["verdict"] == "regression"
    else:
        assert doc == huge.to_json()
    moderate = result(EU, at=T0 + timedelta(seconds=1), output="y" * 60_000)  # over one property's 32K units
    store.save(moderate)
    assert store.list_results()[-1] == moderate.to_json()


def test_bootstrap_opens_the_sqlite_store_beside_the_state(tmp_path_factory: pytest.TempPathFactory) -> None:
    path = str(tmp_path_factory.mktemp("state") / "state.db")
    config = StateStoreConfig(StoreKind.SQLITE, Secret(path))
    build_canary_results(config).save(result())
    assert [d["verdict"] for d in SqliteCanaryResults(path).list_results()] == ["regression"]

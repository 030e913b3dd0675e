"""Partner and other formats through the watch cycle (#21 item 6), over the ARM stand-in serving the 2025-09-01
spec's real Models - List example (five OpenAI entries and Meta's Llama-3.2-90B-Vision-Instruct 2 with the
2099-12-31 "no date" sentinel, https://learn.microsoft.com/rest/api/aiservices/accountmanagement/models/list): the watcher is built from settings as the app builds it.

- Every format is kept by default; an installation that kept OpenAI only, upgraded, gets no burst of news: the
  partner entries are a baseline (and the changed formats make the cycle re-diff rather than skip).
- A retirement date Azure sets on the partner version is published (Learn's schedule: 2026-06-13, §2.3b), and the
  Meta deployment is judged by it: at risk, then broken, never an upgrade or a write.
- Partner releases are published only under CATALOG_NEWS_FORMATS; an explicit CATALOG_MODEL_FORMATS=OpenAI keeps
  the old behaviour (no partner entry kept, nothing of it published, its deployments "not watched").
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared import bootstrap
from shared.adapters.memory import CollectingPublisher, InMemoryCatalogStateStore
from shared.config import load_settings
from shared.domain.deployments import parse_deployment
from shared.domain.policy import Status, assess
from shared.services.policy import catalog_view
from shared.services.watch import BASELINE, OK, CatalogWatcher
from tests.builders import account_id, item
from tests.fakes.arm_server import FakeArm

SUB = "00000000-0000-0000-0000-0000000000aa"
EXAMPLE = json.loads(
    (Path(__file__).parents[1] / "events" / "ListLocationModels-2025-09-01.json").read_text()
)["value"]
LLAMA = "Llama-3.2-90B-Vision-Instruct"
T0 = datetime(2026, 1, 5, tzinfo=UTC)
DIGEST = "ModelLifecycle.CatalogDigest"


def catalog(meta_retires: str | None = None, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = copy.deepcopy(EXAMPLE)
    if meta_retires is not None:
        (meta,) = [i for i in items if i["model"]["format"] == "Meta"]
        meta["model"]["deprecation"]["inference"] = meta_retires
    return [*items, *extra]


def llama(version: str) -> dict[str, Any]:
    """Another Meta entry shaped like the example's."""
    (meta,) = [i for i in EXAMPLE if i["model"]["format"] == "Meta"]
    entry: dict[str, Any] = copy.deepcopy(meta)
    entry["model"]["version"] = version
    return entry


def watcher(
    arm: FakeArm, store: InMemoryCatalogStateStore, publisher: CollectingPublisher, **env: str
) -> CatalogWatcher:
    settings = load_settings(
        {
            "WATCH_SUBSCRIPTION_ID": SUB,
            "WATCH_LOCATIONS": "eastus",
            "ARM_ENDPOINT": arm.endpoint,
            "ARM_BEARER_TOKEN": "local-token",
            "ARM_MAX_RETRIES": "0",
            **env,
        }
    )
    return bootstrap.build_watcher(settings, store=store, publisher=publisher)


def published(publisher: CollectingPublisher, since: int = 0) -> list[tuple[str, str, str]]:
    """(type, format, model) of what went out after ``since`` events, digests left out."""
    return sorted(
        (e.event_type.removeprefix("ModelLifecycle."), str(e.data["modelFormat"]), str(e.data["modelName"]))  # type: ignore[index]
        for e in publisher.published[since:]
        if e.event_type != DIGEST
    )


def meta_deployment() -> Any:
    account = account_id("foundry", SUB)
    raw: Any = {
        "id": f"{account}/deployments/llama-tagger",
        "sku": {"name": "GlobalStandard", "capacity": 1},
        "properties": {
            "model": {"format": "Meta", "name": LLAMA, "version": "2"},
            "versionUpgradeOption": "OnceNewDefaultVersionAvailable",
        },
    }
    return parse_deployment(raw, account_id=account, location="eastus")


@pytest.mark.parametrize("upgraded", [{}, {"CATALOG_NEWS_FORMATS": "*"}], ids=["defaults", "news-all"])
def test_an_upgraded_installation_keeps_every_format_without_a_burst_then_tells_a_partner_date(
    arm_server: FakeArm, upgraded: dict[str, str]
) -> None:
    arm_server.set_catalog(SUB, "eastus", catalog())
    store, publisher = InMemoryCatalogStateStore(), CollectingPublisher()
    old = watcher(arm_server, store, publisher, CATALOG_MODEL_FORMATS="OpenAI")
    assert old.run(["eastus"], T0).locations[0].status == BASELINE
    assert old.run(["eastus"], T0 + timedelta(hours=1)).locations[0].versions == 5  # unchanged: skipped
    assert {k.format for k in store.load_records("eastus")} == {"OpenAI"}
    before = len(publisher.published)

    # upgraded, CATALOG_MODEL_FORMATS left unset: every format kept; the same catalog bytes, but the formats
    # changed, so the cycle re-diffs rather than skips; even where partner releases are news, none is published
    new = watcher(arm_server, store, publisher, **upgraded)
    report = new.run(["eastus"], T0 + timedelta(hours=2))
    (outcome,) = report.locations
    assert (outcome.status, outcome.versions, outcome.records_written) == (OK, 6, 1)
    assert (
        published(publisher, before) == []
    )  # the Meta entry is a baseline: no "released", and it has no date
    assert new.run(["eastus"], T0 + timedelta(hours=3)).published == ()

    # the deployment of it is judged by its entry (no date: the 2099 sentinel), not "not watched"
    rules = bootstrap.policy_rules(load_settings({}))
    d = meta_deployment()
    healthy = assess(d, catalog_view(store, "eastus"), T0 + timedelta(hours=3), rules)
    assert (healthy.status, healthy.reason) == (Status.HEALTHY, "other-format-ok")

    # Azure sets Learn's date on it: published under the default news setting (retirement news, any format)
    arm_server.set_catalog(SUB, "eastus", catalog("2026-06-13T00:00:00Z"))
    before = len(publisher.published)
    new.run(["eastus"], T0 + timedelta(hours=4))
    assert published(publisher, before) == [("RetirementScheduled", "Meta", LLAMA)]
    before = len(publisher.published)
    new.run(["eastus"], datetime(2026, 3, 16, tzinfo=UTC))  # 89 days before
    assert published(publisher, before) == [("RetirementApproaching", "Meta", LLAMA)]
    at_risk = assess(d, catalog_view(store, "eastus"), datetime(2026, 3, 16, tzinfo=UTC), rules)
    assert (at_risk.status, at_risk.write, at_risk.actor) == (Status.AT_RISK, False, "none")
    assert "stops working on 2026-06-13" in at_risk.summary
    before = len(publisher.published)
    new.run(["eastus"], datetime(2026, 6, 13, 1, tzinfo=UTC))
    assert published(publisher, before) == [("VersionRetired", "Meta", LLAMA)]
    broken = assess(d, catalog_view(store, "eastus"), datetime(2026, 6, 14, tzinfo=UTC), rules)
    assert (broken.status, broken.write, broken.target_version) == (Status.BROKEN, False, None)


def test_partner_releases_are_published_only_where_news_of_the_format_is_asked_for(
    arm_server: FakeArm,
) -> None:
    counts: dict[str, list[tuple[str, str, str]]] = {}
    for name, env in {
        "default": {},
        "news *": {"CATALOG_NEWS_FORMATS": "*"},
        "explicit *": {"CATALOG_MODEL_FORMATS": "*"},  # set before CATALOG_NEWS_FORMATS existed: every news
        "explicit OpenAI": {"CATALOG_MODEL_FORMATS": "OpenAI"},
    }.items():
        arm_server.set_catalog(SUB, "eastus", catalog())
        store, publisher = InMemoryCatalogStateStore(), CollectingPublisher()
        w = watcher(arm_server, store, publisher, **env)
        w.run(["eastus"], T0)
        arm_server.set_catalog(SUB, "eastus", catalog("2026-06-13T00:00:00Z", llama("3")))
        before = len(publisher.published)
        w.run(["eastus"], T0 + timedelta(hours=1))
        counts[name] = published(publisher, before)
        if name == "explicit OpenAI":
            assert {k.format for k in store.load_records("eastus")} == {"OpenAI"}
            rules = bootstrap.policy_rules(load_settings(env))
            outside = assess(meta_deployment(), catalog_view(store, "eastus"), T0, rules)
            assert outside.status == Status.NOT_WATCHED
    told = [("RetirementScheduled", "Meta", LLAMA)]
    released = [("VersionReleased", "Meta", LLAMA)]
    assert counts == {
        "default": told,
        "news *": sorted(told + released),
        "explicit *": sorted(told + released),
        "explicit OpenAI": [],  # as its README row promised: OpenAI only
    }


def test_a_format_taken_out_of_the_setting_is_not_a_vanished_one(arm_server: FakeArm) -> None:
    """Every format kept, then CATALOG_MODEL_FORMATS=OpenAI: the Meta records are not versions that left the
    catalog (two of seven at once would hold the snapshot as an anomaly for good, or be retired)."""
    arm_server.set_catalog(SUB, "eastus", catalog("2026-06-13T00:00:00Z", llama("3")))
    store, publisher = InMemoryCatalogStateStore(), CollectingPublisher()
    watcher(arm_server, store, publisher).run(["eastus"], T0)
    assert {k.format for k in store.load_records("eastus")} == {"OpenAI", "Meta"}
    narrowed = watcher(arm_server, store, publisher, CATALOG_MODEL_FORMATS="OpenAI")
    before = len(publisher.published)
    for hours in (1, 2, 3):
        (outcome,) = narrowed.run(["eastus"], T0 + timedelta(hours=hours)).locations
        assert (outcome.status, outcome.versions) == (OK, 5)
    assert published(publisher, before) == []
    # the OpenAI news still flows
    news = item("gpt-4o", "2024-11-20")
    arm_server.set_catalog(SUB, "eastus", catalog("2026-06-13T00:00:00Z", llama("3"), news))
    narrowed.run(["eastus"], T0 + timedelta(hours=4))
    assert published(publisher, before) == [("VersionReleased", "OpenAI", "gpt-4o")]

"""Write docs/events.md from the real diff, so every example payload is what the code emits.

Usage: python scripts/gen_event_docs.py [--check]   (--check exits 1 when the file is out of date)
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.domain.catalog import parse_models
from shared.domain.diff import diff_location
from shared.domain.events import EventType, LifecycleEvent

OUT = Path(__file__).resolve().parents[1] / "docs" / "events.md"

ABOUT: dict[EventType, str] = {
    EventType.VERSION_RELEASED: "A version appears in a location's catalog (not on the first, baseline cycle). "
    "`reappeared: true` when a version we had announced as removed is listed again.",
    EventType.DEFAULT_VERSION_CHANGED: "The version flagged `isDefaultVersion` for a model changed. "
    "`OnceNewDefaultVersionAvailable` deployments are moved by Azure within two weeks.",
    EventType.DEFAULT_VERSION_CHANGE_SCHEDULED: "A version's `replacementConfig.autoUpgradeStartDate` appeared or "
    "moved (or its target changed): Azure will start moving auto-update deployments of this version to the "
    "target on `scheduledFor`.",
    EventType.RETIREMENT_SCHEDULED: "A version's inference retirement date appeared, moved, was withdrawn, or its "
    "per-SKU dates or Planned/Tentative status changed. `change` is `new`, `earlier`, `later`, `changed` or "
    "`cancelled`; the previous values are in the data.",
    EventType.RETIREMENT_APPROACHING: "A retirement date came within one of `RETIREMENT_REMINDER_DAYS`. Once per "
    "threshold and date; only the tightest threshold crossed is announced. `affectedSkus` is null for the "
    "model-level date (every SKU without its own date) or lists the SKUs whose own date this is.",
    EventType.VERSION_RETIRED: "The version stopped answering: `reason` is `lifecycleStatus` (the API says "
    "`Deprecated`, i.e. retired, HTTP 410), `retirementDatePassed`, or `removedFromCatalog` (missing for "
    "`CATALOG_REMOVAL_CONFIRMATIONS` cycles). `fullyRetired: false` when only some SKUs' date passed.",
    EventType.LIFECYCLE_STATUS_CHANGED: "`lifecycleStatus` changed (for example GenerallyAvailable -> Deprecating). "
    "Unknown statuses are passed through as strings.",
    EventType.CATALOG_ANOMALY: "More than `CATALOG_VANISH_GUARD` of a location's known, unretired versions "
    "vanished in one cycle. The snapshot is kept and no retirement is announced until the catalog looks sane "
    "again; announced once per distinct vanished set. Subject: `/locations/{location}/catalog`.",
    EventType.DEPLOYMENT_UPGRADE_PLANNED: "A deployment will be moved to a newer version: by Azure (`performedBy: "
    "azure`, by `actionDate`) or by modelwatch (`performedBy: modelwatch`; in plan mode nothing is written). Published "
    "by `apply_update_policy`. Subject: the deployment resource id.",
    EventType.DEPLOYMENT_UPGRADED: "A deployment's version changed: `appliedBy` is `modelwatch` (enforcement) or "
    "`azure` (noticed by the inventory refresh: Azure emits no event of its own). `rollbackAvailableUntil` is the "
    "from-version's retirement date for this deployment's SKU and region.",
    EventType.DEPLOYMENT_AT_RISK: "A deployment will stop working (`status: atRisk`, with `retirementDate` and "
    "`daysRemaining`) or already has (`status: broken`), with no automatic way forward: NoAutoUpgrade, provisioned "
    "(never auto-upgraded), no newer default, or a target that is unusable (`summary` says why). Re-published at "
    "each `RETIREMENT_REMINDER_DAYS` threshold (`reminder`), so countdowns reach the owners.",
    EventType.DEPLOYMENT_ROLLED_BACK: "An operator rolled a deployment back to its previous version; its "
    "`versionUpgradeOption` was set to `NoAutoUpgrade` (otherwise Azure moves it forward again) and "
    "`previousPolicy` keeps what it was.",
    EventType.CATALOG_DIGEST: "The catalog events of a drain, grouped by change across regions: one entry per "
    "change (`summary`, `locations`, `eventIds`, and the change's dates). Published after the events it covers "
    "(`coveredEventIds`); the alert subscriber posts catalog news from digests only, so a version released in "
    "twelve regions is one message. Subject `/catalog/digest`; at most 200 events per digest.",
}


def _item(name: str, version: str, **model: Any) -> dict[str, Any]:
    return {
        "kind": "OpenAI",
        "skuName": "S0",
        "model": {"format": "OpenAI", "name": name, "version": version, **model},
    }


def _examples() -> dict[str, LifecycleEvent]:
    d = lambda s: f"{s}T00:00:00Z"  # noqa: E731
    before = [
        _item(
            "gpt-4o",
            "2024-05-13",
            isDefaultVersion=True,
            lifecycleStatus="GenerallyAvailable",
            deprecation={"inference": d("2025-05-20"), "deprecationStatus": "Tentative"},
        ),
        _item("gpt-4o", "2024-08-06", isDefaultVersion=False, lifecycleStatus="GenerallyAvailable"),
        _item(
            "gpt-35-turbo", "0301", lifecycleStatus="Deprecating", deprecation={"inference": d("2025-02-13")}
        ),
        _item(
            "gpt-4",
            "0613",
            lifecycleStatus="GenerallyAvailable",
            deprecation={"inference": d("2025-06-06")},
            skus=[{"name": "Standard"}, {"name": "ProvisionedManaged"}],
        ),
    ] + [_item("dall-e-3", f"3.{i}") for i in range(5)]
    after = [
        _item(
            "gpt-4o",
            "2024-05-13",
            isDefaultVersion=False,
            lifecycleStatus="GenerallyAvailable",
            deprecation={"inference": d("2025-06-30"), "deprecationStatus": "Tentative"},
            replacementConfig={
                "targetModelName": "gpt-4o",
                "targetModelVersion": "2024-08-06",
                "autoUpgradeStartDate": d("2025-03-17"),
                "upgradeOnExpiryLeadTimeDays": 7,
            },
        ),
        _item("gpt-4o", "2024-08-06", isDefaultVersion=True, lifecycleStatus="GenerallyAvailable"),
        _item(
            "gpt-4o",
            "2024-11-20",
            lifecycleStatus="GenerallyAvailable",
            deprecation={"inference": d("2025-11-20")},
        ),
        _item(
            "gpt-35-turbo", "0301", lifecycleStatus="Deprecated", deprecation={"inference": d("2025-02-13")}
        ),
        _item(
            "gpt-4",
            "0613",
            lifecycleStatus="GenerallyAvailable",
            deprecation={"inference": d("2025-06-06")},
            skus=[{"name": "Standard"}, {"name": "ProvisionedManaged"}],
        ),
    ] + [_item("dall-e-3", f"3.{i}") for i in range(5)]
    t0, t1 = datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 3, 12, tzinfo=UTC)
    first = diff_location(None, parse_models(before), t0, location="eastus")
    second = diff_location(first.snapshot, parse_models(after), t1)
    examples = {e.event_type: e for e in second.events}
    anomaly = diff_location(second.snapshot, parse_models(after[:4]), t1)
    examples.update({e.event_type: e for e in anomaly.events})
    examples.update(_deployment_examples(second.snapshot.records, t1))
    from shared.domain.digest import build_digests

    west = diff_location(None, parse_models(before), t0, location="westeurope")
    west_events = diff_location(west.snapshot, parse_models(after), t1).events
    released = [e for e in (*second.events, *west_events) if e.event_type == EventType.VERSION_RELEASED]
    (digest,) = build_digests(released)
    examples[EventType.CATALOG_DIGEST] = digest
    return examples


def _deployment_examples(records: Any, now: datetime) -> dict[str, LifecycleEvent]:
    from shared.domain.changes import VersionChange
    from shared.domain.deployment_events import assessment_event, upgraded_event
    from shared.domain.deployments import Deployment
    from shared.domain.policy import assess

    catalog = {k: r.version for k, r in records.items()}
    base = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ai/providers/Microsoft.CognitiveServices/accounts/contoso-openai/deployments/"
    account = base.split("/deployments/", maxsplit=1)[0]

    def dep(name: str, version: str, sku: str, policy: str | None) -> Deployment:
        return Deployment(
            base + name,
            account,
            name,
            "eastus",
            "OpenAI",
            name.split("_", maxsplit=1)[0],
            version,
            sku,
            50,
            policy,
            "Succeeded",
            {"modelwatch:route": "payments"},
        )

    out: dict[str, LifecycleEvent] = {}
    for d in (
        dep("gpt-4o_chat", "2024-05-13", "Standard", "OnceNewDefaultVersionAvailable"),
        dep("gpt-4_ptu", "0613", "ProvisionedManaged", None),
    ):
        event = assessment_event(
            assess(d, catalog, now),
            now=now,
            trigger="6f9619ff-8b86-d011-b42d-00c04fc964ff",
            enforce=False,
            thresholds=(90, 60, 30, 14, 7, 1),
        )
        if event is not None:
            out[event.event_type] = event
    chat = dep("gpt-4o_chat", "2024-05-13", "Standard", "OnceNewDefaultVersionAvailable")
    upgrade = VersionChange(
        chat.resource_id,
        "2024-05-13",
        "2024-08-06",
        now,
        "azure",
        datetime(2025, 6, 30, tzinfo=UTC),
        "OnceNewDefaultVersionAvailable",
        "inventory",
    )
    back = VersionChange(
        chat.resource_id,
        "2024-08-06",
        "2024-05-13",
        now,
        "rollback",
        None,
        "OnceNewDefaultVersionAvailable",
        "operator",
    )
    for record in (upgrade, back):
        event = upgraded_event(chat, record, now=now)
        out[event.event_type] = event
    return out


def render() -> str:
    examples = _examples()
    lines = [
        "# Lifecycle events",
        "",
        "<!-- generated by scripts/gen_event_docs.py from the real diff; do not edit by hand -->",
        "",
        "The catalog timer publishes these events to an Event Grid custom topic in the **Event Grid schema**,",
        "`dataVersion` `1.0`. Subscribe with `includedEventTypes` filters; filter further with",
        "`subjectBeginsWith` (e.g. `/locations/eastus/models/OpenAI/gpt-4o/`) or advanced filters on `data.*`.",
        "",
        "## Envelope",
        "",
        "- `id`: deterministic: uuid5 of the change (type, location, model, version and what changed). The same",
        "  change always has the same id, whichever run or retry detects it; subscribers de-duplicate on it.",
        "- `subject`: `/locations/{location}/models/{format}/{name}/versions/{version}`.",
        "- `eventTime`: the instant of the cycle that detected the change (the `--at` instant in the CLI).",
        "- Delivery is at least once and unordered (Event Grid): compare dates and versions, never assume order.",
        "",
        "## Data common to every version event",
        "",
        "| field | meaning |",
        "|---|---|",
        "| `location`, `modelFormat`, `modelName`, `modelVersion` | which version, where |",
        "| `lifecycleStatus` | the API's status, as a string (open enum; `Deprecated` means retired) |",
        "| `isDefaultVersion` | the catalog's default flag (absent in the API means false) |",
        "| `retirementDate` | inference retirement (`deprecation.inference`, else the earliest SKU date); null: none |",
        "| `skuRetirementDates` | per-SKU `deprecationDate` (Standard vs provisioned/global types can differ) |",
        "| `deprecationStatus` | `Planned` (firm) or `Tentative` |",
        "| `fineTuneRetirementDate` | fine-tuning retirement, when listed |",
        "| `replacement` | `replacementConfig`: target model and version, `autoUpgradeStartDate`, `upgradeOnExpiryLeadTimeDays` |",
        "| `baseline` | true on a location's first cycle, which announces only what is actionable |",
        "",
        "Dates are ISO-8601 UTC with a `Z`. Far-future sentinels (year 2099 and later) are reported as null.",
        "",
    ]
    for event_type in EventType:
        lines += [f"## `{event_type.value}`", "", ABOUT[event_type], ""]
        example = examples.get(event_type.value)
        if example is not None:
            lines += ["```json", json.dumps(example.to_wire(), indent=2), "```", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date: run python scripts/gen_event_docs.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

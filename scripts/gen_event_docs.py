"""Write what derives from the event registry (shared/domain/events.py REGISTRY): docs/events.md, with every
example payload produced by the real diff, and infra/event-types.json, the Event Grid subscriptions' filters.

Usage: python scripts/gen_event_docs.py [--check]   (--check exits 1 when a file is out of date)
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
from shared.domain.events import REGISTRY, Consumer, EventType, LifecycleEvent, consumed_by

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "events.md"
FILTERS = ROOT / "infra" / "event-types.json"


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
    # gpt-4o 2024-05-13 leaves this subscription's list; the subscription running it still lists it
    from shared.domain.catalog import VersionKey
    from shared.domain.diff import Confirmation

    gone = VersionKey("OpenAI", "gpt-4o", "2024-05-13")
    holder = "00000000-0000-0000-0000-000000000002"
    seen = Confirmation(
        listed=second.snapshot.records[gone].version,
        listed_for=(holder,),
        not_listed_for=("00000000-0000-0000-0000-000000000001",),
    )
    state = second.snapshot
    for hours in (1, 2):
        state_result = diff_location(
            state,
            parse_models([i for i in after if i["model"]["version"] != "2024-05-13"]),
            t1.replace(hour=hours),
            confirmations={gone: seen},
        )
        state = state_result.snapshot
        examples.update({e.event_type: e for e in state_result.events})
    from shared.domain.digest import build_digests

    west = diff_location(None, parse_models(before), t0, location="westeurope")
    west_events = diff_location(west.snapshot, parse_models(after), t1).events
    released = [e for e in (*second.events, *west_events) if e.event_type == EventType.VERSION_RELEASED]
    (digest,) = build_digests(released)
    examples[EventType.CATALOG_DIGEST] = digest
    return examples


def _deployment_examples(records: Any, now: datetime) -> dict[str, LifecycleEvent]:
    from shared.domain.changes import VersionChange
    from shared.domain.deployment_events import assessment_event, upgrade_failed_event, upgraded_event
    from shared.domain.deployments import Deployment
    from shared.domain.policy import PolicyRules, assess
    from shared.presentation.alert_samples import canary_sample

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
    # POLICY_ACCELERATE_DEFAULT with enforcement: modelwatch writes the new default now, and ARM refuses
    enforced = assess(chat, catalog, now, PolicyRules(enforce=True, accelerate_default=True))
    assert enforced.write, enforced  # the example needs a write modelwatch would make
    failed = upgrade_failed_event(
        enforced,
        f"ARM PUT {chat.resource_id} answered 409 InsufficientQuota: This operation require 50 new capacity in "
        "quota Tokens Per Minute (thousands) - gpt-4o - Standard, which is bigger than the current available "
        "capacity 20.",
        now=now,
        trigger="6f9619ff-8b86-d011-b42d-00c04fc964ff",
        thresholds=(90, 60, 30, 14, 7, 1),
    )
    out[failed.event_type] = failed
    # the payments team's suite on the default to come, in a canary modelwatch created: the newer version wraps
    # its JSON in a markdown fence, so is-json fails on two cases (the sample the previews and card check use too)
    out[EventType.CANARY_EVALUATED] = canary_sample(
        chat, now, target_version="2024-08-06", excerpt='```json {"total": 42.1} ```'
    )
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
        "| `baseline` | true on a location's first cycle, and on the first cycle that keeps a format the snapshot "
        "held no record of (for that format's versions): such a cycle announces only what is actionable |",
        "",
        "Dates are ISO-8601 UTC with a `Z`. Far-future sentinels (year 2099 and later) are reported as null.",
        "",
    ]
    for event_type in EventType:
        spec = REGISTRY[event_type]
        takers = (
            ", ".join(f"`{c.value}`" for c in sorted(spec.consumers))
            or "no function of this app (for others)"
        )
        lines += [f"## `{event_type.value}`", "", spec.about, "", f"Taken by: {takers}.", ""]
        example = examples.get(event_type.value)
        if example is not None:
            lines += ["```json", json.dumps(example.to_wire(), indent=2), "```", ""]
    return "\n".join(lines)


def filters() -> str:
    """infra/event-types.json: each subscriber function's includedEventTypes (read by infra/subscriptions.bicep)."""
    body = {c.value: sorted(t.value for t in consumed_by(c)) for c in Consumer}
    return json.dumps(body, indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    outputs = {OUT: render(), FILTERS: filters()}
    if args.check:
        stale = [
            p for p, text in outputs.items() if (p.read_text(encoding="utf-8") if p.exists() else "") != text
        ]
        for path in stale:
            print(f"{path} is out of date: run python scripts/gen_event_docs.py", file=sys.stderr)
        return 1 if stale else 0
    for path, text in outputs.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

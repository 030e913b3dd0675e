"""The demo's delivery loop and UPGRADE_GATE=canary: an upgrade the gate made wait for a canary that had not run yet
is redelivered after the step's canaries, as Event Grid would redeliver it, and finds the verdict then."""

from __future__ import annotations

import io
import json
from pathlib import Path

from shared.demo.run import TIMELINE, run_demo


def step(out: str, day: str) -> str:
    """What the step dated ``day`` told, without its title."""
    return out.split(f"=== {day}")[1].split("\n=== ", maxsplit=1)[0].split("\n", 1)[1]


def test_an_upgrade_waiting_for_its_canary_is_redelivered_after_the_canary_and_held(tmp_path: Path) -> None:
    # a provisioned deployment the payments team adds ten days before its version's date (2025-09-15, as known on
    # 2025-09-05): modelwatch's migration is due at once, before any canary of its target has run
    raw = json.loads(TIMELINE.read_text(encoding="utf-8"))
    raw["deployments"].append(
        {
            "account": "contoso-payments",
            "name": "invoice-late",
            "model": "gpt-4o",
            "version": "2024-05-13",
            "sku": "ProvisionedManaged",
            "route": "payments",
            "from": "2025-09-05",
        }
    )
    timeline = tmp_path / "timeline.json"
    timeline.write_text(json.dumps(raw), encoding="utf-8")
    out = io.StringIO()
    assert run_demo(tmp_path / "demo", out, timeline) == 0
    text = out.getvalue()
    day = step(text, "2025-09-05")
    # the canary ran in the step (side by side, against ptu-chat on the target version), and the delivery the gate
    # answered "wait" was redelivered after it: held, and told, the same day
    assert (
        "canary   regression     invoice-late: tested 5/5 -> 3/5 on gpt-4o 2024-08-06, regressed: total, currency"
        in day
    )
    assert (
        "UpgradeFailed  invoice-late: gpt-4o 2024-05-13 -> gpt-4o 2024-08-06 refused: held by UPGRADE_GATE=canary: "
        "the canary of gpt-4o 2024-08-06 did not pass (regression: 5/5 -> 3/5)" in day
    )
    # and a later target that passes goes through, as for invoice-ptu
    assert "invoice-late: gpt-4o 2024-05-13 -> gpt-5.1 2025-11-13 by modelwatch" in step(text, "2026-09-20")

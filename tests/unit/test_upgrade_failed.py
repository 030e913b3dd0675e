"""DeploymentUpgradeFailed: one event per failure (not per wording of ARM's), how loud, and where it shows."""

from __future__ import annotations

from dataclasses import replace

from shared.domain.alerts import deployment_message
from shared.domain.deployment_events import upgrade_failed_event
from shared.domain.payloads import UpgradeFailedData
from shared.domain.policy import Assessment, Status
from shared.domain.severity import Severity
from shared.domain.status import recent_changes
from shared.presentation.alert_samples import NOW, deployment

THRESHOLDS = (90, 60, 30, 14, 7, 1)


def planned(days_left: int) -> Assessment:
    d = deployment("chat", policy="OnceNewDefaultVersionAvailable")
    return Assessment(
        d,
        Status.UPGRADE_PLANNED,
        "upgrading",
        "accelerate-default",
        target_version="2024-11-20",
        action_date=NOW,
        retirement_date=NOW.replace(year=2027),
        days_left=days_left,
        write=True,
        actor="modelwatch",
        target_model="gpt-4o",
    )


def test_the_same_failure_in_other_words_is_one_event_a_new_threshold_another() -> None:
    first = upgrade_failed_event(
        planned(40), "409 InsufficientQuota: 20 left", now=NOW, trigger="a", thresholds=THRESHOLDS
    )
    again = upgrade_failed_event(
        planned(35), "409 InsufficientQuota: 10 left", now=NOW, trigger="b", thresholds=THRESHOLDS
    )
    closer = upgrade_failed_event(
        planned(12), "409 InsufficientQuota: 10 left", now=NOW, trigger="c", thresholds=THRESHOLDS
    )
    assert first.id == again.id  # within 60 days both: told once
    assert closer.id != first.id  # within 14: told again
    other_target = replace(planned(40), target_version="2025-04-14")
    assert upgrade_failed_event(other_target, "x", now=NOW, trigger="a", thresholds=THRESHOLDS).id != first.id


def test_a_failure_is_a_warning_until_the_version_is_within_two_weeks_of_retiring() -> None:
    far = deployment_message(
        upgrade_failed_event(planned(40), "409 Conflict", now=NOW, trigger="a", thresholds=THRESHOLDS)
    )
    near = deployment_message(
        upgrade_failed_event(planned(14), "409 Conflict", now=NOW, trigger="a", thresholds=THRESHOLDS)
    )
    assert far is not None and near is not None
    assert (far.severity, near.severity) == (Severity.WARNING, Severity.CRITICAL)
    assert far.title == "modelwatch could not upgrade chat from gpt-4o 2024-05-13 to gpt-4o 2024-11-20"
    assert dict(far.facts)["ARM said"] == "409 Conflict"


def test_arm_words_are_cut_and_made_inert() -> None:
    event = upgrade_failed_event(
        planned(40), "[x](https://evil.invalid) " + "y" * 2000, now=NOW, trigger="a", thresholds=THRESHOLDS
    )
    data = event.payload_as(UpgradeFailedData)
    assert len(data.error) == 500 and data.error.endswith("…")
    message = deployment_message(event)
    assert message is not None and "[x](" not in dict(message.facts)["ARM said"]


def test_the_status_pages_recent_events_say_what_was_refused() -> None:
    event = upgrade_failed_event(
        planned(40), "409 InsufficientQuota", now=NOW, trigger="a", thresholds=THRESHOLDS
    )
    (line,), more = recent_changes([event])
    assert more == 0 and (line.kind, line.subject) == ("DeploymentUpgradeFailed", "chat")
    assert (
        line.what
        == "gpt-4o 2024-05-13: modelwatch's upgrade to gpt-4o 2024-11-20 refused: 409 InsufficientQuota"
    )

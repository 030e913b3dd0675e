"""Version changes: every change of a deployment's model or version (modelwatch's, Azure's, anyone's, or a
rollback) is recorded with what "previous" was and until when it can come back: the ways back of rollbacks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.domain.ids import arm_key, event_id


class AppliedBy(StrEnum):
    """Who made a version change (the wire and storage value is the string)."""

    AZURE = "azure"  # Azure's documented upgrade explains it
    MODELWATCH = "modelwatch"  # an enforced upgrade
    ROLLBACK = "rollback"  # a rollback, in place or side by side
    EXTERNAL = "external"  # neither: a person, a pipeline, a template
    # CANARY_PROTECT: not a version change but a policy one (from and to version are the same): modelwatch set
    # NoAutoUpgrade after a regression (original_policy: the policy to put back; available_until: by when), and
    # the later record that put it back. Neither is a way back of rollbacks nor an upgrade.
    PROTECT = "protect"
    UNPROTECT = "unprotect"


APPLIED_BY_AZURE = AppliedBy.AZURE
APPLIED_BY_MODELWATCH = AppliedBy.MODELWATCH
APPLIED_BY_ROLLBACK = AppliedBy.ROLLBACK
APPLIED_BY_EXTERNAL = AppliedBy.EXTERNAL
POLICY_ONLY = frozenset({AppliedBy.PROTECT, AppliedBy.UNPROTECT})  # records that moved no version


@dataclass(frozen=True)
class VersionChange:
    """A version change of one deployment and the way back."""

    deployment_id: str
    from_version: str
    to_version: str
    changed_at: datetime
    applied_by: AppliedBy
    available_until: (
        datetime | None
    )  # the from-version's retirement date for this deployment's SKU and region
    original_policy: str | None = None  # versionUpgradeOption before the change, to restore after a rollback
    # What caused it: the triggering event id (modelwatch), "inventory" (Azure, seen by a refresh), or the
    # rollback request id. Part of the id, so a retried attempt records the same change once.
    reference: str = ""
    # model names on each side (None in records from before they were kept): Azure's replacement of a
    # retiring version can be another model (gpt-4o -> gpt-4.1), and ARM cannot change a deployment's name back
    from_model: str | None = None
    to_model: str | None = None
    # who: ARM's systemData.lastModifiedBy for changes seen by a refresh; the caller for a rollback
    changed_by: str | None = None
    # a side-by-side rollback leaves this deployment alone and creates a sibling on the previous model: its id
    sibling_id: str | None = None

    @property
    def id(self) -> str:
        """Deterministic: recording the same change twice is one record."""
        parts = [
            "rollback",
            arm_key(self.deployment_id),
            self.from_version,
            self.to_version,
            self.applied_by,
            self.reference,
        ]
        if self.sibling_id:  # a side-by-side rollback is another change than an in-place one
            parts.append(arm_key(self.sibling_id))
        return event_id(*parts)

    def can_roll_back(self, now: datetime) -> bool:
        return self.available_until is None or now < self.available_until


def pins_in_force(changes: Iterable[VersionChange]) -> list[VersionChange]:
    """The CANARY_PROTECT pins in force, given the records newest first: per deployment, its newest protect or
    unprotect record decides, and only a protect is a pin."""
    seen: set[str] = set()
    pins: list[VersionChange] = []
    for r in changes:
        key = arm_key(r.deployment_id)
        if r.applied_by not in POLICY_ONLY or key in seen:
            continue
        seen.add(key)
        if r.applied_by == AppliedBy.PROTECT:
            pins.append(r)
    return pins

"""What this installation may touch. Checked at the moment of every write, against the settings in force then.

modelwatch holds write access to production deployments: a write outside the scope is the one failure it must
never have. The inventory can lag the settings (a deployment listed while its account was watched), so no
write trusts how a deployment got into the inventory: policy upgrades, rollbacks and side-by-side rollbacks all
ask ``write_refusal`` first, and an empty scope refuses everything (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.deployments import Deployment
from shared.domain.ids import arm_key, subscription_of


@dataclass(frozen=True)
class Scope:
    """WATCH_LOCATIONS, WATCH_ACCOUNTS and WATCH_SUBSCRIPTION_IDS, normalised."""

    locations: frozenset[str] = frozenset()  # lower-case ARM location names; empty: any location
    accounts: frozenset[str] = frozenset()  # arm_key of account ids; empty: any account of ``subscriptions``
    subscriptions: frozenset[str] = frozenset()  # lower-case subscription ids

    @classmethod
    def of(
        cls, *, locations: tuple[str, ...], accounts: tuple[str, ...], subscriptions: tuple[str, ...]
    ) -> Scope:
        return cls(
            frozenset(loc.lower() for loc in locations),
            frozenset(arm_key(a) for a in accounts),
            frozenset(s.lower() for s in subscriptions),
        )

    def covers_location(self, location: str) -> bool:
        return not self.locations or location.lower() in self.locations

    def watches_account(self, account_id: str) -> bool:
        """Whether deployments of this account belong in the inventory at all."""
        if self.accounts:
            return arm_key(account_id) in self.accounts
        return bool(self.subscriptions) and subscription_of(account_id) in self.subscriptions

    def unwatched_reason(self, d: Deployment) -> str | None:
        """Why ``d`` is outside what is watched (None: inside)."""
        if self.accounts and arm_key(d.account_id) not in self.accounts:
            return f"account {d.account_id.rsplit('/', 1)[-1]} is not in WATCH_ACCOUNTS"
        if not self.accounts:
            if not self.subscriptions:
                return "neither WATCH_ACCOUNTS nor WATCH_SUBSCRIPTION_IDS is set: nothing is in scope"
            if subscription_of(d.account_id) not in self.subscriptions:
                return f"subscription {subscription_of(d.account_id)} is not in WATCH_SUBSCRIPTION_IDS"
        if not self.covers_location(d.location):
            return f"location {d.location} is not in WATCH_LOCATIONS"
        return None

    def write_refusal(self, d: Deployment) -> str | None:
        """Why modelwatch must not write to ``d`` now (None: it may)."""
        reason = self.unwatched_reason(d)
        if reason is None and d.policy_tag == "ignore":
            reason = "it is tagged modelwatch:policy=ignore"
        return reason

"""One part of an inventory refresh, as a queue message carries it (the timer's fan-out, README "Settings")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.domain.timeutil import parse_instant
from shared.errors import MessageFormatError

MESSAGE_VERSION = 1


@dataclass(frozen=True)
class RefreshPart:
    """The accounts of one subscription, or a group of named accounts, to refresh as of ``at``.

    ``at`` is the timer's instant, not the moment the message is read: a redelivered message refreshes with the
    same instant, so it saves the same rows and announces the same changes with the same ids.
    """

    at: datetime
    subscription: str | None = None
    accounts: tuple[str, ...] = ()

    def to_json(self) -> str:
        # full precision: the refresh's instant goes into last_seen, which must read back equal
        body: dict[str, object] = {"v": MESSAGE_VERSION, "at": self.at.astimezone(UTC).isoformat()}
        if self.subscription is not None:
            body["subscription"] = self.subscription
        else:
            body["accounts"] = list(self.accounts)
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> RefreshPart:
        """Raises MessageFormatError naming what is wrong (never echoing more than a short prefix)."""
        try:
            body = json.loads(text)
        except ValueError:
            raise MessageFormatError(f"inventory message is not JSON: {text[:80]!r}") from None
        if not isinstance(body, dict) or body.get("v") != MESSAGE_VERSION:
            raise MessageFormatError(f"inventory message is not a version {MESSAGE_VERSION} refresh part")
        try:
            at = parse_instant(str(body.get("at")))
        except ValueError as exc:
            raise MessageFormatError(f"inventory message: 'at' is not an instant: {exc}") from exc
        subscription, accounts = body.get("subscription"), body.get("accounts")
        if isinstance(subscription, str) and subscription and accounts is None:
            return cls(at, subscription=subscription)
        if (
            subscription is None
            and isinstance(accounts, list)
            and accounts
            and all(isinstance(a, str) and a for a in accounts)
        ):
            return cls(at, accounts=tuple(accounts))
        raise MessageFormatError("inventory message names neither one subscription nor a list of accounts")

"""One Event Grid delivery's work handed to the delivery queue (issue #26): the event as delivered, the subscriber
that must handle it and the instant it was delivered at."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.domain.events import JsonValue
from shared.domain.timeutil import parse_instant
from shared.errors import MessageFormatError

MESSAGE_VERSION = 1
# A queue message is at most 64 KiB and travels base64-encoded (4 bytes for 3): the text must stay under 48 KiB.
# A digest is at most 24,000 characters (shared/domain/digest.py), so only an odd event stays in its delivery.
MAX_MESSAGE_BYTES = 48 * 1024


@dataclass(frozen=True)
class HandedOff:
    """The work of delivering ``event`` (Event Grid schema) to ``subscriber``, judged as of ``at``: the instant
    Event Grid delivered it, so a redelivered message decides what the first attempt would have."""

    subscriber: str
    event: dict[str, JsonValue]
    at: datetime

    def to_json(self) -> str:
        body = {
            "v": MESSAGE_VERSION,
            "subscriber": self.subscriber,
            "at": self.at.astimezone(UTC).isoformat(),
        }
        return json.dumps({**body, "event": self.event}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> HandedOff:
        """Raises MessageFormatError naming what is wrong (never echoing more than a short prefix)."""
        try:
            body = json.loads(text)
        except ValueError:
            raise MessageFormatError(f"delivery message is not JSON: {text[:80]!r}") from None
        if not isinstance(body, dict) or body.get("v") != MESSAGE_VERSION:
            raise MessageFormatError(
                f"delivery message is not a version {MESSAGE_VERSION} handed-off delivery"
            )
        subscriber, event = body.get("subscriber"), body.get("event")
        if not isinstance(subscriber, str) or not subscriber or not isinstance(event, dict):
            raise MessageFormatError("delivery message names no subscriber or carries no event object")
        try:
            at = parse_instant(str(body.get("at")))
        except ValueError as exc:
            raise MessageFormatError(f"delivery message: 'at' is not an instant: {exc}") from exc
        return cls(subscriber, event, at)

"""A notifier that records instead of posting (tests/functional/test_alert_batches.py, test_upgrade_failures.py);
the HTTP stand-ins for Teams and Slack are in tests/fakes/webhooks.py."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from shared.domain.alerts import Message
from shared.domain.routes import Channel


@dataclass
class Recorder:
    """A Notifier per channel kind that keeps what it posts; ``fail`` scripts what the next sends do."""

    sent: list[tuple[str, str, Message]] = field(default_factory=list)
    fail: list[BaseException | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, channel: Channel, message: Message) -> None:
        with self.lock:
            outcome = self.fail.pop(0) if self.fail else None
            if outcome is not None:
                raise outcome
            self.sent.append((channel.route, channel.kind, message))

"""Where the demo's outputs go instead of Azure and the chat platforms: each alert payload to a file, exactly as it
would have been posted, and the published events to ``events.jsonl`` and to the in-process delivery."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shared.adapters.local import JsonLinesPublisher
from shared.domain.alerts import Message
from shared.domain.events import LifecycleEvent
from shared.domain.routes import Channel, ChannelKind
from shared.ports import Notifier


class FileNotifier:
    """A Notifier per channel kind that writes the payload it would have posted:
    alerts/<route>/<channel>/NNN-<headline>.json. The same rendering as the webhook notifiers."""

    def __init__(self, root: Path, kind: ChannelKind, sent: list[tuple[str, ChannelKind, str]]) -> None:
        from shared.adapters.notifiers import RENDERERS

        self.root = root
        self.kind = kind
        self.render = RENDERERS[kind]
        self.sent = sent  # (route, kind, headline), shared by the kinds

    def send(self, channel: Channel, message: Message) -> None:
        folder = self.root / channel.route / channel.kind
        folder.mkdir(parents=True, exist_ok=True)
        n = len(list(folder.glob("*.json"))) + 1
        slug = re.sub(r"[^a-z0-9]+", "-", message.title.lower()).strip("-")[:60]
        payload = self.render(message)
        (folder / f"{n:03d}-{slug}.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        self.sent.append((channel.route, channel.kind, message.title))


def file_notifiers(root: Path) -> tuple[dict[str, Notifier], list[tuple[str, ChannelKind, str]]]:
    """A FileNotifier per channel kind, and the list of what they sent (route, kind, headline), in order."""
    from shared.adapters.notifiers import NOTIFIERS

    sent: list[tuple[str, ChannelKind, str]] = []
    return {kind: FileNotifier(root, kind, sent) for kind in NOTIFIERS}, sent


@dataclass
class Collecting:
    """An Event Grid topic in-process: keeps what was published, for delivery, and appends it to a file."""

    file: JsonLinesPublisher
    queue: list[LifecycleEvent] = field(default_factory=list)

    def publish(self, events: Sequence[LifecycleEvent]) -> None:
        self.file.publish(events)
        self.queue.extend(events)

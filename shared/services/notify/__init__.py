"""Alert the owning team: one message per team per change, whatever the number of its deployments.

- Catalog news comes from ``CatalogDigest`` events (a change across every region where it happened): each route
  whose deployments something happens to gets one message for the change, with what it means for them ("Azure
  moves 12 of yours…; 6 stop on …"), and the default route the news itself (with its own untagged deployments):
  ``news.py``. The per-deployment events stay on Event Grid for machines; no message is made of them.
- News of deployments that arrives one event per deployment (Azure upgraded 12 deployments) is held in the alert
  buffer by route and group and told as one message per route and group by ``flush`` (the alerts timer), once the
  group has settled for ``batch_window``: ``held.py``. A rollback is told at once.
- Each route filters by its minimum severity, and can mute informational catalog news; each message goes once to
  each of the route's channels over the ledger: ``sending.py``. A transient failure fails the invocation after the
  other channels are done, so Event Grid redelivers (or the next flush retries the batch).
- Webhook URLs never reach a log line or an error: routes and channel kinds are named instead.
- Each channel kind is a Notifier (shared/adapters/notifiers/) that renders and posts the channel-neutral Message:
  this service knows no wire format.

``service.py`` ties them together (``NotifyService``); its name and what the subscriber takes are this package's
public face, imported from here by the composition root and the entry points.
"""

from __future__ import annotations

from shared.services.notify.held import FlushReport
from shared.services.notify.service import NotifyService
from shared.services.notify.subscriber import NOTIFY_EVENT_TYPES, SUBSCRIBER

__all__ = ["NOTIFY_EVENT_TYPES", "SUBSCRIBER", "FlushReport", "NotifyService"]

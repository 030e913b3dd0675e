"""RefreshQueue on Azure Queue Storage (azure-storage-queue): the parts of a large inventory refresh, one message
each, in STATE_STORE's storage account and with its credential (refresh_inventory's trigger reads them); the canary
asks and the Event Grid deliveries' work handed off (deliver_queued's trigger reads them) with the same machinery.

Wire facts: the Functions host's queue extension (5.x, extension bundle 4) decodes message text as base64 unless
host.json says ``messageEncoding: none``; azure-storage-queue 12 sends text as it is unless given an encode policy.
So messages are base64-encoded here, and host.json keeps the default. A message is at most 64 KiB; a part is a
subscription id or a group of account ids (under 10 KiB), a handed-off delivery under 48 KiB before base64
(shared/domain/handoff.py). azure-storage-queue is imported lazily (cold start).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Self, cast
from urllib.parse import urlsplit, urlunsplit

from shared.adapters.storage.errors import redact, storage_errors
from shared.domain.canary import CanaryAsk
from shared.domain.handoff import HandedOff
from shared.domain.refresh import RefreshPart
from shared.errors import PermanentError

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient

log = logging.getLogger(__name__)

# A part not refreshed within a day is superseded: the timer enqueues every part again each run.
MESSAGE_TTL = timedelta(days=1)


def queue_endpoint_of(table_endpoint: str) -> str:
    """``https://<account>.queue.<suffix>`` from ``https://<account>.table.<suffix>`` (one account, one identity)."""
    parts = urlsplit(table_endpoint)
    labels = (parts.hostname or "").split(".")
    if len(labels) < 3 or labels[1] != "table":
        raise PermanentError(
            f"cannot tell the queue endpoint of the table endpoint {redact(table_endpoint)!r}: expected "
            "https://<account>.table.<suffix>; use a connection string for STATE_STORE, or raise "
            "INVENTORY_FANOUT_THRESHOLD to keep the inventory refresh in the timer"
        )
    host = ".".join([labels[0], "queue", *labels[2:]])
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, "", "", ""))


class StorageRefreshQueue:
    """RefreshQueue on one storage queue, created on first use. Thread-safe. Raises TransientError (network,
    throttling, 5xx) or PermanentError (4xx: a missing role, a bad name); ``sent`` counts messages sent."""

    def __init__(self, client: QueueClient) -> None:
        self._client = client
        self._created = False
        self._lock = threading.Lock()
        self.sent = 0

    @classmethod
    def from_connection_string(cls, conn: str, queue_name: str, **client_options: Any) -> Self:
        from azure.storage.queue import QueueClient, TextBase64EncodePolicy

        try:
            client = QueueClient.from_connection_string(
                conn, queue_name, message_encode_policy=TextBase64EncodePolicy(), **client_options
            )
        except ValueError:
            # the SDK's parse errors can quote the input, and the input holds the account key
            raise PermanentError("the storage connection string is malformed") from None
        return cls(client)

    @classmethod
    def from_endpoint(
        cls, table_endpoint: str, credential: object, queue_name: str, **client_options: Any
    ) -> Self:
        """The queue in the account of a table endpoint URL, with the same (token) credential."""
        from azure.storage.queue import QueueClient, TextBase64EncodePolicy

        client = QueueClient(
            queue_endpoint_of(table_endpoint),
            queue_name,
            credential=cast(Any, credential),
            message_encode_policy=TextBase64EncodePolicy(),
            **client_options,
        )
        return cls(client)

    def close(self) -> None:
        self._client.close()

    def _translate(self, action: str) -> contextlib.AbstractContextManager[None]:
        return storage_errors("Queue Storage", action)

    def _ensure_queue(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        with self._lock:
            if self._created:
                return
            # that it exists is the usual case: infra/ creates it, or an earlier run did
            with (
                self._translate(f"creating queue {self._client.queue_name}"),
                contextlib.suppress(ResourceExistsError),
            ):
                self._client.create_queue()
            self._created = True

    def enqueue(self, parts: Sequence[RefreshPart]) -> None:
        self._send([p.to_json() for p in parts], "inventory part")

    def _send(self, texts: Sequence[str], what: str) -> None:
        if not texts:
            return
        self._ensure_queue()
        for text in texts:
            with self._translate(f"sending to queue {self._client.queue_name}"):
                self._client.send_message(text, time_to_live=int(MESSAGE_TTL.total_seconds()))
            with self._lock:
                self.sent += 1
        log.info("queued %d %s(s) on %s", len(texts), what, self._client.queue_name)


class StorageCanaryQueue:
    """CanaryQueue on a storage queue (CANARY_QUEUE_NAME) with the same machinery: one canary ask per message."""

    def __init__(self, queue: StorageRefreshQueue) -> None:
        self.queue = queue

    def enqueue(self, asks: Sequence[CanaryAsk]) -> None:
        self.queue._send([a.to_json() for a in asks], "canary ask")


# A hand-off that cannot be made at once falls back to doing the work in the delivery: no retry (the storage
# SDK's first backoff alone is 15 s) and a short connect, so the delivery is still answered well inside 30 s.
HANDOFF_CLIENT_OPTIONS: dict[str, int] = {"retry_total": 0, "connection_timeout": 5, "read_timeout": 10}


class StorageDeliveryQueue:
    """DeliveryQueue on a storage queue (DELIVERY_QUEUE_NAME) with the same machinery: one handed-off delivery per
    message."""

    def __init__(self, queue: StorageRefreshQueue) -> None:
        self.queue = queue

    @classmethod
    def from_connection_string(cls, conn: str, queue_name: str, **client_options: Any) -> Self:
        return cls(StorageRefreshQueue.from_connection_string(conn, queue_name, **client_options))

    @classmethod
    def from_endpoint(
        cls, table_endpoint: str, credential: object, queue_name: str, **client_options: Any
    ) -> Self:
        return cls(
            StorageRefreshQueue.from_endpoint(table_endpoint, credential, queue_name, **client_options)
        )

    @property
    def sent(self) -> int:
        return self.queue.sent

    def close(self) -> None:
        self.queue.close()

    def enqueue(self, work: HandedOff) -> None:
        self.queue._send([work.to_json()], "handed-off delivery")


def names_a_queue(connection_string: str) -> bool:
    """Whether a storage connection string tells where its queue service is: an explicit QueueEndpoint, the
    development storage shortcut, or no explicit endpoint at all (the account name's public endpoints)."""
    keys = {part.split("=", 1)[0].strip().casefold() for part in connection_string.split(";") if "=" in part}
    if "queueendpoint" in keys or "usedevelopmentstorage" in keys:
        return True
    return "tableendpoint" not in keys

"""A local Event Grid custom topic: accepts publishes in the Event Grid schema as a real topic does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.serving import Restorable, serving_thread

REQUIRED = ("id", "subject", "eventType", "eventTime", "data", "dataVersion")
MAX_BODY = 1_048_576


class FakeEventGridTopic(Restorable):
    """POST /api/events?api-version=2018-01-01 with aeg-sas-key; records what it accepts; can fail on demand."""

    def __init__(self, key: str = "topic-key-for-tests") -> None:
        self.key = key
        self.requests: list[dict[str, Any]] = []  # accepted requests: headers, query, events
        self.events: list[dict[str, Any]] = []
        self.attempts = 0
        self.failures: list[int] = []  # statuses returned (in order) before normal handling
        self.outage = False
        self._lock = threading.Lock()
        topic = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                topic._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = serving_thread(self._server)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/events"

    def __enter__(self) -> FakeEventGridTopic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _reply(self, h: BaseHTTPRequestHandler, status: int, body: object = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length)
        with self._lock:
            self.attempts += 1
            scripted = self.failures.pop(0) if self.failures else (503 if self.outage else None)
        if scripted is not None:
            return self._reply(
                h, scripted, {"error": {"code": "Scripted", "message": f"scripted {scripted}"}}
            )
        url = urlsplit(h.path)
        query = parse_qs(url.query)
        if url.path != "/api/events" or query.get("api-version") != ["2018-01-01"]:
            return self._reply(h, 404, {"error": {"code": "NotFound", "message": "no such topic path"}})
        if h.headers.get("aeg-sas-key") != self.key:
            return self._reply(
                h,
                401,
                {
                    "error": {
                        "code": "Unauthorized",
                        "message": "The request authorization key is not authorized",
                    }
                },
            )
        if length > MAX_BODY:
            return self._reply(h, 413, {"error": {"code": "RequestEntityTooLarge", "message": "over 1 MB"}})
        try:
            events = json.loads(raw)
        except ValueError:
            return self._reply(h, 400, {"error": {"code": "BadRequest", "message": "not JSON"}})
        if not isinstance(events, list) or len(events) > 5000:
            return self._reply(
                h,
                400,
                {"error": {"code": "BadRequest", "message": "expected an array of at most 5000 events"}},
            )
        for e in events:
            if not isinstance(e, dict) or any(k not in e for k in REQUIRED):
                return self._reply(
                    h, 400, {"error": {"code": "BadRequest", "message": "event missing a required field"}}
                )
        with self._lock:
            self.requests.append(
                {"headers": dict(h.headers), "query": query, "events": events, "bytes": length}
            )
            self.events.extend(events)
        return self._reply(h, 200)


@pytest.fixture
def eventgrid_server() -> Iterator[FakeEventGridTopic]:
    with FakeEventGridTopic() as topic:
        yield topic

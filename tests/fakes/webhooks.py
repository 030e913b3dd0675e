"""Local stand-ins for a Slack incoming webhook and a Teams Workflows webhook, speaking their wire formats.

Slack: POST /services/T…/B…/<token>, 200 with body ``ok``; ``invalid_payload`` (400) for a body without text or
blocks; ``no_service`` (404) on another path. Teams: POST /workflows/<id>/triggers/manual/paths/invoke?…&sig=…,
202 with an empty body; 400 when the body is not a message wrapping an Adaptive Card. ``script`` holds answers
(status, body, headers) consumed by the next requests before normal handling.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.fakes.serving import Restorable, serving_thread

SLACK_PATH = "/services/T0000TEST/B0000TEST/slacktokenSECRET123"
TEAMS_PATH = "/powerautomate/automations/direct/workflows/0123abcd/triggers/manual/paths/invoke"
TEAMS_QUERY = "api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=teamssigSECRET456"
CARD = "application/vnd.microsoft.card.adaptive"


class _FakeWebhook(Restorable):
    kind = ""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self.requests: list[tuple[str, bytes]] = []
        self.user_agents: list[str | None] = []  # each request's User-Agent, in order
        self.script: list[tuple[int, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.user_agents.append(self.headers.get("User-Agent"))
                status, text, headers = hook._answer(self.path, body)
                data = text.encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket.listen(128)
        self._thread = serving_thread(self._server)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str, body: bytes) -> tuple[int, str, dict[str, str]]:
        with self._lock:
            self.requests.append((path, body))
            if self.script:
                return self.script.pop(0)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        status, text = self._validate(path, payload)
        if status < 300:
            with self._lock:
                self.messages.append(payload)
                self.arrivals.append(time.monotonic())
        return status, text, {}

    def _validate(self, path: str, payload: Any) -> tuple[int, str]:
        raise NotImplementedError


class FakeSlackWebhook(_FakeWebhook):
    kind = "slack"

    @property
    def url(self) -> str:
        return self.base + SLACK_PATH

    def _validate(self, path: str, payload: Any) -> tuple[int, str]:
        if urlsplit(path).path != SLACK_PATH:
            return 404, "no_service"
        if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
            return 400, "invalid_payload"
        blocks = payload.get("blocks", [])
        if not isinstance(blocks, list) or len(blocks) > 50:
            return 400, "invalid_blocks"
        return 200, "ok"


class FakeTeamsWorkflow(_FakeWebhook):
    kind = "teams"

    @property
    def url(self) -> str:
        return f"{self.base}{TEAMS_PATH}?{TEAMS_QUERY}"

    def _validate(self, path: str, payload: Any) -> tuple[int, str]:
        parts = urlsplit(path)
        if parts.path != TEAMS_PATH or "sig=teamssigSECRET456" not in parts.query:
            return 401, ""
        ok = (
            isinstance(payload, dict)
            and payload.get("type") == "message"
            and isinstance(payload.get("attachments"), list)
            and payload["attachments"]
            and payload["attachments"][0].get("contentType") == CARD
            and isinstance(payload["attachments"][0].get("content"), dict)
        )
        return (202, "") if ok else (400, "")


@pytest.fixture
def slack_webhook() -> Iterator[FakeSlackWebhook]:
    hook = FakeSlackWebhook()
    yield hook
    hook.close()


@pytest.fixture
def teams_webhook() -> Iterator[FakeTeamsWorkflow]:
    hook = FakeTeamsWorkflow()
    yield hook
    hook.close()

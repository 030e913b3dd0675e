"""Somewhere else: a loopback server that records every request it receives (method, path, headers) and answers
200 with an empty ARM page. A token that leaves its origin shows up here (tests/integration/test_origin.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.fakes.serving import serving_thread


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names


class Recorder:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with recorder._lock:
                    recorder.received.append(
                        Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                    )
                body = json.dumps({"value": [], "status": "Succeeded"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = serving_thread(self._server)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def credentials_seen(self) -> list[str]:
        """The credential-bearing headers it was sent (it must never be sent any)."""
        with self._lock:
            return [
                f"{r.method} {r.path}: {name}"
                for r in self.received
                for name in ("authorization", "aeg-sas-key")
                if name in r.headers
            ]

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def elsewhere() -> Iterator[Recorder]:
    with Recorder() as recorder:
        yield recorder

"""A local Azure OpenAI data-plane stand-in speaking the chat completions wire format (https://learn.microsoft.com/azure/ai-foundry/openai/reference).

Both shapes: ``POST /openai/deployments/{name}/chat/completions?api-version=...`` and ``POST /openai/v1/chat/completions``
with ``"model": <deployment>``. Answers are scripted per (model, version): the deployment name is resolved to its model
and version through ``deployments`` or, when linked, the ARM stand-in's deployments (so a canary PUT there is servable
here at once). Faults: 429 with ``Retry-After``/``retry-after-ms``, a content-filter refusal (400, ``error.code``
``content_filter``) for prompts containing a marked text, any scripted status (a redirect elsewhere, a 401). A judge
deployment (``llm-rubric``) grades with a rule of (output, rubric) read from promptfoo's grading prompt. Every
request is recorded with its Authorization header.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.serving import serving_thread

if TYPE_CHECKING:
    from tests.fakes.arm_server import FakeArm

Answer = Callable[[list[dict[str, Any]]], str]


@dataclass
class DataFault:
    """A scripted answer for the next ``count`` requests to ``deployment`` (empty: any)."""

    status: int = 429
    headers: dict[str, str] | None = None
    body: dict[str, Any] | None = None
    deployment: str = ""
    count: int = 1


@dataclass
class Call:
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    deployment: str
    body: Any


class FakeDataPlane:
    def __init__(self, token: str | None = None) -> None:
        self.token = token  # None: any bearer token is accepted
        self.deployments: dict[str, tuple[str, str]] = {}  # name -> (model, version)
        self.arm: FakeArm | None = None
        self.answers: dict[tuple[str, str], Answer] = {}
        self.filtered: list[str] = []  # prompts containing one of these are refused by the content filter
        self.faults: list[DataFault] = []
        self.calls: list[Call] = []
        self.latency = 0.0
        self.tokens_served = 0  # usage.total_tokens of every answer
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        plane = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                plane._handle(self)

            def do_GET(self) -> None:
                plane._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket.listen(128)
        self._thread = serving_thread(self._server)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> FakeDataPlane:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- set-up
    def answer(self, model: str, version: str, answer: Answer | str) -> None:
        self.answers[(model, version)] = answer if callable(answer) else (lambda _m, text=answer: text)

    def judge(self, model: str, version: str, grade: Callable[[str, str], dict[str, Any] | str]) -> None:
        """Make (model, version) a judge: ``grade(output, rubric)`` is its answer, a dict sent as JSON (promptfoo's
        ``{"pass", "score", "reason"}``) or a text sent as it is (a malformed answer)."""

        def answer(messages: list[dict[str, Any]]) -> str:
            text = str(messages[-1].get("content", ""))
            output = text.partition("<Output>\n")[2].partition("\n</Output>")[0]
            rubric = text.partition("<Rubric>\n")[2].partition("\n</Rubric>")[0]
            got = grade(output, rubric)
            return got if isinstance(got, str) else json.dumps(got)

        self.answer(model, version, answer)

    def link(self, arm: FakeArm) -> None:
        """Resolve deployment names through the ARM stand-in's deployments (by name, any account)."""
        self.arm = arm

    def throttle(
        self,
        deployment: str = "",
        *,
        retry_after: str | None = "1",
        retry_after_ms: str | None = None,
        count: int = 1,
    ) -> None:
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        if retry_after_ms is not None:
            headers["retry-after-ms"] = retry_after_ms
        body = {
            "error": {
                "code": "429",
                "message": "Requests to the ChatCompletions_Create Operation have exceeded the token rate limit.",
            }
        }
        self.faults.append(DataFault(429, headers, body, deployment, count))

    def calls_to(self, deployment: str) -> list[Call]:
        return [c for c in self.calls if c.deployment == deployment]

    # ---- serving
    def _model_of(self, name: str) -> tuple[str, str] | None:
        if name in self.deployments:
            return self.deployments[name]
        if self.arm is not None:
            for d in list(self.arm.deployments.values()):
                if d.get("name") == name and d["properties"].get("provisioningState") == "Succeeded":
                    model = d["properties"]["model"]
                    return str(model["name"]), str(model["version"])
        return None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        left = False

        def leave() -> None:
            nonlocal left
            if not left:
                left = True
                with self._lock:
                    self.in_flight -= 1

        send_response = h.send_response

        def answered(code: int, message: str | None = None) -> None:
            # The client may send its next request as soon as it reads this answer, before this thread would
            # otherwise count down: counted as in flight until then, a bound of 2 was seen as 3 on a busy machine.
            leave()
            send_response(code, message)

        h.send_response = answered  # type: ignore[method-assign]
        try:
            self._answer(h)
        finally:
            leave()

    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        query = parse_qs(url.query)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        parts = url.path.strip("/").split("/")
        if (
            h.command == "POST"
            and len(parts) == 5
            and parts[:2] == ["openai", "deployments"]
            and parts[3:] == ["chat", "completions"]
        ):
            deployment = parts[2]
            if "api-version" not in query:
                return _send(h, 404, {"error": {"code": "404", "message": "Resource not found"}})
        elif h.command == "POST" and parts == ["openai", "v1", "chat", "completions"]:
            deployment = str(body.get("model") or "")
        else:
            deployment = ""
        auth = h.headers.get("Authorization")
        with self._lock:
            self.calls.append(Call(url.path, query, auth, deployment, body))
            fault = next((f for f in self.faults if f.deployment in ("", deployment)), None)
            if fault is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
        if self.latency:
            time.sleep(self.latency)
        if fault is not None:
            return _send(h, fault.status, fault.body, fault.headers or {})
        if not deployment:
            return _send(h, 404, {"error": {"code": "404", "message": "Resource not found"}})
        if not (auth or "").startswith("Bearer ") or (
            self.token is not None and auth != f"Bearer {self.token}"
        ):
            return _send(
                h,
                401,
                {
                    "error": {
                        "code": "PermissionDenied",
                        "message": "Access denied due to invalid subscription key or wrong API endpoint.",
                    }
                },
            )
        model = self._model_of(deployment)
        if model is None:
            return _send(
                h,
                404,
                {
                    "error": {
                        "code": "DeploymentNotFound",
                        "message": "The API deployment for this resource does not exist.",
                    }
                },
            )
        messages = body.get("messages") or []
        prompt = " ".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        if any(marker in prompt for marker in self.filtered):
            return _send(h, 400, FILTERED)
        answer = self.answers.get(model, lambda _m: "ok")
        text = answer(messages)
        prompt_tokens, completion_tokens = len(prompt.split()) + 1, len(text.split()) + 1
        with self._lock:
            self.tokens_served += prompt_tokens + completion_tokens
        return _send(h, 200, _completion(len(self.calls), model, text, prompt_tokens, completion_tokens))


# the content filter's refusal of a prompt (azure-facts §7)
FILTERED = {
    "error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {"hate": {"filtered": True, "severity": "high"}},
        },
    }
}


def _completion(n: int, model: tuple[str, str], text: str, prompt_tokens: int, completion_tokens: int) -> Any:
    return {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion",
        "created": 1765000000,
        "model": f"{model[0]}-{model[1]}",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "content_filter_results": {},
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
    }


def _send(
    h: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None
) -> None:
    data = b"" if payload is None else json.dumps(payload).encode()
    try:
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


@pytest.fixture
def data_plane() -> Iterator[FakeDataPlane]:
    with FakeDataPlane() as plane:
        yield plane

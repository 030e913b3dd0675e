"""A local ARM stand-in speaking ARM's wire format: model catalog, accounts, deployments with LROs, faults."""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.serving import Restorable, serving_thread

PROVIDER = "/providers/Microsoft.CognitiveServices"


@dataclass
class Fault:
    """A scripted answer, consumed by the next matching request before normal handling."""

    status: int = 500
    headers: dict[str, str] | None = None
    body: str = '{"error":{"code":"InternalServerError","message":"scripted"}}'
    delay: float = 0.0
    path_contains: str = ""
    method: str = ""  # empty: any method


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    body: Any
    user_agent: str | None = None
    if_match: str | None = None


class FakeArm(Restorable):
    """In-memory ARM. Catalogs per (subscription, location); accounts and deployments by resource id."""

    def __init__(self, page_size: int = 1000) -> None:
        self.page_size = page_size
        self.latency = 0.0
        self.catalogs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}  # id (casefolded) -> account resource
        self.deployments: dict[str, dict[str, Any]] = {}  # id (casefolded) -> deployment resource
        self.faults: list[Fault] = []
        self.requests: list[Seen] = []
        # concurrency seen: requests being handled at once, and the most at any moment
        self.in_flight = 0
        self.max_in_flight = 0
        # a request whose path a gate's pattern finds waits at its barrier until that many are waiting together
        # (cyclic): a client that never has that many in flight at once breaks it, and broken_gates says so
        self.gates: list[tuple[re.Pattern[str], threading.Barrier]] = []
        self.broken_gates = 0
        self.operations: dict[str, dict[str, Any]] = {}
        self.lro_polls = 1  # polls answering InProgress before the operation ends
        # how a PUT's long-running operation is reported (https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations): an Azure-AsyncOperation status URL,
        # a Location URL (202 with an empty body while running), or neither (the resource's provisioningState)
        self.lro_mode = "async"
        self.lro_retry_after = "0"  # the Retry-After an operation's answers carry
        self.fail_next_put: tuple[str, str] | None = None  # (code, message) for the next LRO
        self.honour_if_match = True  # False: ignore If-Match, as ARM may (its behaviour is not documented)
        # called with a deployment id when a GET of it is answered: a test's "someone writes right now"
        self.after_get: Callable[[str], None] | None = None
        # deployments whose PUTs are refused at once, 409 with ARM's error body: id (casefolded) -> (code, message)
        self.refusals: dict[str, tuple[str, str]] = {}
        self.account_models: dict[
            str, list[dict[str, Any]]
        ] = {}  # account id (casefolded) -> AccountModel items
        self._lock = threading.Lock()
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., tuple[int, dict[str, str], Any]]]] = [
            (
                "GET",
                re.compile(r"^/subscriptions/([^/]+)" + PROVIDER + r"/locations/([^/]+)/models$", re.I),
                self._models,
            ),
            ("GET", re.compile(r"^/subscriptions/([^/]+)" + PROVIDER + r"/accounts$", re.I), self._accounts),
            (
                "GET",
                re.compile(r"^(/subscriptions/.+" + PROVIDER + r"/accounts/[^/]+)/deployments$", re.I),
                self._list_deployments,
            ),
            (
                "GET",
                re.compile(r"^(/subscriptions/.+" + PROVIDER + r"/accounts/[^/]+/deployments/[^/]+)$", re.I),
                self._get_deployment,
            ),
            (
                "PUT",
                re.compile(r"^(/subscriptions/.+" + PROVIDER + r"/accounts/[^/]+/deployments/[^/]+)$", re.I),
                self._put_deployment,
            ),
            (
                "DELETE",
                re.compile(r"^(/subscriptions/.+" + PROVIDER + r"/accounts/[^/]+/deployments/[^/]+)$", re.I),
                self._delete_deployment,
            ),
            (
                "GET",
                re.compile(r"^(/subscriptions/.+" + PROVIDER + r"/accounts/[^/]+)/models$", re.I),
                self._account_models,
            ),
            (
                "GET",
                re.compile(r"^(/subscriptions/.+" + PROVIDER + r"/accounts/[^/]+)$", re.I),
                self._get_account,
            ),
            ("GET", re.compile(r"^/operations/([^/]+)$"), self._operation),
            ("GET", re.compile(r"^/locations/([^/]+)$"), self._location),
        ]
        arm = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                arm._handle(self, "GET")

            def do_PUT(self) -> None:
                arm._handle(self, "PUT")

            def do_DELETE(self) -> None:
                arm._handle(self, "DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # socketserver listens with a backlog of 5: 8 concurrent clients overflow it and the kernel drops their
        # connection attempts, which the client retries only after ~1 s (SYN retransmit). Widen it.
        self._server.socket.listen(128)
        self._thread = serving_thread(self._server)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeArm:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- set-up helpers
    def set_catalog(self, subscription: str, location: str, items: list[dict[str, Any]]) -> None:
        with self._lock:
            self.catalogs[(subscription.casefold(), location.casefold())] = copy.deepcopy(items)

    def add_account(
        self,
        subscription: str,
        group: str,
        name: str,
        location: str,
        *,
        kind: str = "OpenAI",
        endpoint: str | None = None,
    ) -> str:
        rid = f"/subscriptions/{subscription}/resourceGroups/{group}{PROVIDER}/accounts/{name}"
        self.accounts[rid.casefold()] = {
            "id": rid,
            "name": name,
            "kind": kind,
            "location": location,
            # the data-plane endpoint (a canary's chat completions go there): the real one, or a local stand-in's
            "properties": {"endpoint": endpoint or f"https://{name}.openai.azure.com/"},
        }
        return rid

    def add_deployment(
        self,
        account_id: str,
        name: str,
        model: str,
        version: str,
        *,
        sku: str = "Standard",
        policy: str | None = None,
        tags: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        rid = f"{account_id}/deployments/{name}"
        props: dict[str, Any] = {
            "model": {"format": "OpenAI", "name": model, "version": version},
            "provisioningState": "Succeeded",
            "raiPolicyName": "Microsoft.DefaultV2",
            "rateLimits": [{"key": "request", "renewalPeriod": 10, "count": 80}],
        }
        if policy is not None:
            props["versionUpgradeOption"] = policy
        props.update(extra or {})
        self.deployments[rid.casefold()] = {
            "id": rid,
            "name": name,
            "type": "Microsoft.CognitiveServices/accounts/deployments",
            "sku": {"name": sku, "capacity": 10},
            "tags": tags or {},
            "properties": props,
            "etag": f'"{uuid.uuid4()}"',
        }
        return rid

    def touch(
        self, deployment_id: str, *, tags: dict[str, str] | None = None, policy: str | None = None
    ) -> None:
        """Someone else's write: new tags or versionUpgradeOption, and so a new ETag."""
        d = self.deployments[deployment_id.casefold()]
        if tags is not None:
            d["tags"] = dict(tags)
        if policy is not None:
            d["properties"]["versionUpgradeOption"] = policy
        d["etag"] = f'"{uuid.uuid4()}"'

    def version_of(self, deployment_id: str) -> str:
        return str(self.deployments[deployment_id.casefold()]["properties"]["model"]["version"])

    def puts(self) -> list[Seen]:
        return [r for r in self.requests if r.method == "PUT"]

    def deletes(self) -> list[Seen]:
        return [r for r in self.requests if r.method == "DELETE"]

    # ---- handlers
    def _page(
        self, items: list[Any], query: dict[str, list[str]], path: str
    ) -> tuple[int, dict[str, str], Any]:
        start = int(query.get("$skipToken", ["0"])[0])
        page = items[start : start + self.page_size]
        body: dict[str, Any] = {"value": page}
        if start + self.page_size < len(items):
            api = query["api-version"][0]
            body["nextLink"] = f"{self.endpoint}{path}?api-version={api}&$skipToken={start + self.page_size}"
        return 200, {}, body

    def _models(
        self, q: dict[str, list[str]], path: str, sub: str, loc: str
    ) -> tuple[int, dict[str, str], Any]:
        return self._page(self.catalogs.get((sub.casefold(), loc.casefold()), []), q, path)

    def _accounts(self, q: dict[str, list[str]], path: str, sub: str) -> tuple[int, dict[str, str], Any]:
        items = [
            a
            for a in self.accounts.values()
            if a["id"].casefold().startswith(f"/subscriptions/{sub.casefold()}/")
        ]
        return self._page(items, q, path)

    def _get_account(self, q: dict[str, list[str]], path: str, rid: str) -> tuple[int, dict[str, str], Any]:
        account = self.accounts.get(rid.casefold())
        return (200, {}, account) if account else _not_found(rid)

    def _list_deployments(
        self, q: dict[str, list[str]], path: str, account: str
    ) -> tuple[int, dict[str, str], Any]:
        prefix = account.casefold() + "/deployments/"
        return self._page([_public(d) for k, d in self.deployments.items() if k.startswith(prefix)], q, path)

    def _get_deployment(
        self, q: dict[str, list[str]], path: str, rid: str
    ) -> tuple[int, dict[str, str], Any]:
        d = self.deployments.get(rid.casefold())
        if d is not None and "_op" in d:  # lro_mode "state": the resource reports its own progress
            op = d["_op"]
            state = self.operations[op]
            if state["polls"] > 0:
                state["polls"] -= 1
                return 200, {}, _public(d)
            if state["failure"]:
                failed = _public(d)
                failed["properties"]["provisioningState"] = "Failed"
                self.deployments[rid.casefold()] = failed
                return 200, {}, failed
            d = self._finish(op)
        if d is None:
            return _not_found(rid)
        answer = _public(d)
        if self.after_get is not None:
            self.after_get(rid)  # after the answer was taken: the writer the client races with
        return 200, {"ETag": str(d.get("etag", ""))}, answer

    def _if_match(self, if_match: str | None, rid: str) -> tuple[int, dict[str, str], Any]:
        """ARM's conditional write, as the stand-in plays it (whether ARM enforces If-Match on deployments is
        not documented: docs/security.md): a tag that is not the resource's current ETag answers 412."""
        current = self.deployments.get(rid.casefold())
        if not self.honour_if_match or if_match is None or (if_match == "*" and current is not None):
            return 0, {}, None
        if current is None or if_match != current.get("etag"):
            return (
                412,
                {},
                {
                    "error": {
                        "code": "PreconditionFailed",
                        "message": "The condition specified using HTTP conditional header(s) is not met.",
                    }
                },
            )
        return 0, {}, None

    def _account_models(
        self, q: dict[str, list[str]], path: str, account: str
    ) -> tuple[int, dict[str, str], Any]:
        if account.casefold() not in self.accounts:
            return _not_found(account)
        return self._page(self.account_models.get(account.casefold(), []), q, path)

    def _put_deployment(
        self, q: dict[str, list[str]], path: str, rid: str, body: Any = None
    ) -> tuple[int, dict[str, str], Any]:
        refused = self.refusals.get(rid.casefold())
        if refused is not None:  # quota, capacity: ARM refuses before accepting anything
            return 409, {}, {"error": {"code": refused[0], "message": refused[1]}}
        current = self.deployments.get(rid.casefold())
        new_model = (body or {}).get("properties", {}).get("model", {})
        if current is not None:
            provisioned = "provisioned" in str(current.get("sku", {}).get("name", "")).casefold()
            if new_model.get("name") != current["properties"]["model"]["name"] and not provisioned:
                # ARM: a Standard deployment's model name is fixed; provisioned ones migrate in place
                return (
                    400,
                    {},
                    {
                        "error": {
                            "code": "CannotChangeDeploymentModel",
                            "message": "The model of a deployment cannot be changed.",
                        }
                    },
                )
        op = str(uuid.uuid4())
        failure, self.fail_next_put = self.fail_next_put, None
        self.operations[op] = {"rid": rid, "body": body, "polls": self.lro_polls, "failure": failure}
        accepted = copy.deepcopy(body if current is None else current)
        accepted.setdefault("properties", {})["provisioningState"] = "Accepted"
        accepted.setdefault("id", rid)
        if self.lro_mode == "location":
            return (
                202,
                {"Location": f"{self.endpoint}/locations/{op}?api-version=2026-03-01", "Retry-After": "0"},
                None,
            )
        if self.lro_mode == "state":
            # neither header: 201 with Accepted; the resource itself reports progress
            self.deployments[rid.casefold()] = {**accepted, "_op": op}
            return 201, {}, _public(accepted)
        return (
            201,
            {
                "Azure-AsyncOperation": f"{self.endpoint}/operations/{op}?api-version=2025-09-01",
                "Retry-After": "0",
            },
            accepted,
        )

    def _delete_deployment(
        self, q: dict[str, list[str]], path: str, rid: str
    ) -> tuple[int, dict[str, str], Any]:
        """ARM deletes asynchronously: 202 with a Location that answers 202 until gone (lro_polls), or 204 when
        there was nothing to delete (https://learn.microsoft.com/rest/api/aiservices/accountmanagement/deployments/delete)."""
        if self.deployments.pop(rid.casefold(), None) is None:
            return 204, {}, None
        op = str(uuid.uuid4())
        self.operations[op] = {
            "rid": rid,
            "body": None,
            "polls": self.lro_polls,
            "failure": None,
            "delete": True,
        }
        return (
            202,
            {"Location": f"{self.endpoint}/locations/{op}?api-version=2026-03-01", "Retry-After": "0"},
            None,
        )

    def _finish(self, op: str) -> dict[str, Any] | None:
        """Land the operation's body as the resource; None when it failed."""
        state = self.operations[op]
        if state["failure"]:
            return None
        stored: dict[str, Any] = copy.deepcopy(state["body"])
        stored.setdefault("id", state["rid"])
        stored.setdefault("name", state["rid"].rsplit("/", 1)[-1])
        stored["type"] = "Microsoft.CognitiveServices/accounts/deployments"
        stored["properties"]["provisioningState"] = "Succeeded"
        stored["etag"] = f'"{uuid.uuid4()}"'
        self.deployments[state["rid"].casefold()] = stored
        return stored

    def _operation(self, q: dict[str, list[str]], path: str, op: str) -> tuple[int, dict[str, str], Any]:
        state = self.operations.get(op)
        if state is None:
            return _not_found(op)
        if state["polls"] > 0:
            state["polls"] -= 1
            return 200, {"Retry-After": self.lro_retry_after}, {"id": op, "name": op, "status": "InProgress"}
        if state["failure"]:
            code, message = state["failure"]
            return (
                200,
                {},
                {"id": op, "name": op, "status": "Failed", "error": {"code": code, "message": message}},
            )
        self._finish(op)
        return 200, {}, {"id": op, "name": op, "status": "Succeeded"}

    def _location(self, q: dict[str, list[str]], path: str, op: str) -> tuple[int, dict[str, str], Any]:
        state = self.operations.get(op)
        if state is None:
            return _not_found(op)
        if state["polls"] > 0:
            state["polls"] -= 1
            return (
                202,
                {"Location": f"{self.endpoint}/locations/{op}?api-version=2026-03-01", "Retry-After": "0"},
                None,
            )
        if state["failure"]:
            code, message = state["failure"]
            return 400, {}, {"error": {"code": code, "message": message}}
        if state.get("delete"):
            return 204, {}, None
        return 200, {}, self._finish(op)

    def gate(self, path_pattern: str, parties: int, timeout: float = 20.0) -> None:
        """Hold requests whose path ``path_pattern`` finds until ``parties`` of them are in flight together. The
        timeout only ends a wait that can never complete (a client with fewer in flight): then broken_gates."""
        self.gates.append((re.compile(path_pattern), threading.Barrier(parties, timeout=timeout)))

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            path = urlsplit(h.path).path
            barrier = next((b for pattern, b in self.gates if pattern.search(path)), None)
            if barrier is not None:
                try:
                    barrier.wait()
                except threading.BrokenBarrierError:
                    with self._lock:
                        self.broken_gates += 1
            self._answer(h, method)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer(self, h: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(h.path)
        query = parse_qs(url.query)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        with self._lock:
            self.requests.append(
                Seen(
                    method,
                    url.path,
                    query,
                    h.headers.get("Authorization"),
                    body,
                    h.headers.get("User-Agent"),
                    h.headers.get("If-Match"),
                )
            )
            fault = next(
                (f for f in self.faults if f.path_contains in url.path and f.method in ("", method)), None
            )
            if fault is not None:
                self.faults.remove(fault)
        if self.latency:
            time.sleep(self.latency)
        if fault is not None:
            time.sleep(fault.delay)
            return _send(h, fault.status, fault.headers or {}, fault.body.encode())
        if "api-version" not in query:
            return _send_json(
                h,
                400,
                {},
                {
                    "error": {
                        "code": "MissingApiVersionParameter",
                        "message": "The api-version query parameter is required.",
                    }
                },
            )
        if not (h.headers.get("Authorization") or "").startswith("Bearer "):
            return _send_json(
                h, 401, {}, {"error": {"code": "AuthenticationFailed", "message": "Authentication failed."}}
            )
        for verb, pattern, handler in self._routes:
            match = pattern.match(url.path)
            if verb == method and match:
                args = [query, url.path, *match.groups()]
                if method == "PUT":
                    status, headers, payload = self._if_match(h.headers.get("If-Match"), match.group(1))
                    if not status:
                        status, headers, payload = handler(*args, body)
                else:
                    status, headers, payload = handler(*args)
                return _send_json(h, status, headers, payload)
        return _send_json(h, 404, {}, {"error": {"code": "InvalidResourceType", "message": "no route"}})


def _public(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in resource.items() if not k.startswith("_")}


def _not_found(what: str) -> tuple[int, dict[str, str], Any]:
    return 404, {}, {"error": {"code": "ResourceNotFound", "message": f"{what} was not found"}}


def _send_json(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], payload: Any) -> None:
    if payload is None:  # a 202 from a Location poll, or a PUT accepted: an empty body
        return _send(h, status, headers, b"")
    _send(h, status, {"Content-Type": "application/json", **headers}, json.dumps(payload).encode())


def _send(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    try:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client timed out and left


@pytest.fixture
def arm_server() -> Iterator[FakeArm]:
    with FakeArm() as arm:
        yield arm

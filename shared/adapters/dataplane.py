"""The Azure OpenAI data plane through the ``openai`` package: the ChatApi of a canary run (CLI and queue only: the
functions' cold start never imports openai; bootstrap imports this module lazily).

Two wire shapes (https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle): the v1 API (``{endpoint}/openai/v1/chat/completions``, the deployment in
``"model"``, no api-version) with ``OpenAI(base_url=...)``, or the dated one
(``{endpoint}/openai/deployments/{name}/chat/completions?api-version=...``) with ``AzureOpenAI``. The token goes
only to the account endpoint's origin: the endpoint is checked before anything is sent
(``shared.domain.canary.endpoint_problem``), redirects are never followed, and a request hook refuses any URL on
another scheme, host or port. The SDK's own retries are off: a 429 waits its ``retry-after-ms``/``Retry-After``
(capped) here, with an injectable ``sleep``, so tests never sleep for real.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from shared.domain.canary import ChatReply, endpoint_problem
from shared.domain.events import JsonValue
from shared.domain.waits import seconds_left
from shared.errors import DataPlaneError

log = logging.getLogger(__name__)

DATA_PLANE_SCOPE = "https://cognitiveservices.azure.com/.default"
V1 = "v1"
_PORTS = {"https": 443, "http": 80}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or _PORTS.get(parts.scheme)


def _wait_of(headers: Mapping[str, str], default: float) -> float:
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) / divisor)
        except ValueError:
            continue
    return default


class OpenAIChatApi:
    """ChatApi over one account endpoint. Thread-safe (the openai client is; one per account)."""

    def __init__(
        self,
        endpoint: str,
        token: Callable[[], str],
        *,
        api_version: str = V1,
        timeout: float = 60.0,
        max_retries: int = 4,
        max_retry_after: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        from shared.urls import UnsafeUrlError, origin_of

        problem = endpoint_problem(endpoint)
        try:
            origin_of(endpoint)  # as requests' parser reads it: refused when two parsers could disagree
        except UnsafeUrlError as exc:
            problem = problem or f"the account endpoint {exc}"
        if problem:
            raise DataPlaneError(f"{problem}: the data-plane token is not sent there", kind="origin")
        self.endpoint = endpoint.rstrip("/")
        self.api_version = api_version
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.clock = clock
        self.requests_sent = 0
        self.throttled = 0
        origin = _origin(self.endpoint)

        import httpx2
        import openai

        def same_origin(request: httpx2.Request) -> None:
            if _origin(str(request.url)) != origin:
                raise DataPlaneError(
                    "a data-plane request would leave the account endpoint's origin; refused", kind="origin"
                )

        http = httpx2.Client(
            follow_redirects=False, timeout=timeout, event_hooks={"request": [same_origin], "response": []}
        )
        self._client: Any
        if api_version == V1:
            self._client = openai.OpenAI(
                base_url=f"{self.endpoint}/openai/v1/", api_key=token, max_retries=0, http_client=http
            )
        else:
            self._client = openai.AzureOpenAI(
                azure_endpoint=self.endpoint,
                api_version=api_version,
                azure_ad_token_provider=token,
                max_retries=0,
                http_client=http,
            )
        self._openai = openai

    def complete(
        self, deployment: str, messages: Sequence[tuple[str, str]], options: Mapping[str, JsonValue]
    ) -> ChatReply:
        openai = self._openai
        body = [{"role": role, "content": content} for role, content in messages]
        for attempt in range(self.max_retries + 1):
            started = self.clock()
            try:
                self.requests_sent += 1
                response = self._client.chat.completions.create(model=deployment, messages=body, **options)
            except DataPlaneError:
                raise
            except openai.RateLimitError as exc:
                self.throttled += 1
                wait = min(self.max_retry_after, _wait_of(exc.response.headers, 1.0))
                if attempt == self.max_retries:
                    raise DataPlaneError(
                        f"quota: deployment {deployment} still answered 429 after {attempt + 1} attempt(s)",
                        kind="quota",
                        status=429,
                        transient=True,
                    ) from None
                left = seconds_left()
                if left is not None and wait > left:  # the run's deadline (shared/domain/waits.py)
                    raise DataPlaneError(
                        f"quota: deployment {deployment} answered 429; waiting {wait:.1f} s would pass the run's "
                        "deadline",
                        kind="quota",
                        status=429,
                        transient=True,
                    ) from None
                log.info("data plane %s: 429; retry %d in %.2fs", deployment, attempt + 1, wait)
                self.sleep(wait)
                continue
            except openai.APIStatusError as exc:
                refusal = _content_filter(exc)
                if refusal:
                    return ChatReply("", (self.clock() - started) * 1000, 0, refusal=refusal)
                raise _status_error(deployment, exc) from None
            except openai.APIConnectionError as exc:
                if isinstance(exc.__cause__, DataPlaneError):
                    raise exc.__cause__ from None
                raise DataPlaneError(
                    f"unavailable: the data plane of deployment {deployment} did not answer ({type(exc).__name__})",
                    kind="unavailable",
                    transient=True,
                ) from None
            latency = (self.clock() - started) * 1000
            choice = response.choices[0] if response.choices else None
            text = (choice.message.content or "") if choice is not None else ""
            tokens = response.usage.total_tokens if response.usage is not None else 0
            if choice is not None and choice.finish_reason == "content_filter":
                return ChatReply(text, latency, tokens, refusal="content filter: the completion was filtered")
            return ChatReply(text, latency, tokens)
        raise AssertionError("unreachable")


def _content_filter(exc: Any) -> str | None:
    """A prompt the content filter refused: 400 with ``error.code`` ``content_filter`` (https://learn.microsoft.com/azure/ai-foundry/openai/concepts/content-filter)."""
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body.get("error", body), dict) else {}
    code = str(getattr(exc, "code", None) or error.get("code") or "")
    if exc.status_code == 400 and code == "content_filter":
        return "content filter: the prompt was refused"
    return None


def _status_error(deployment: str, exc: Any) -> DataPlaneError:
    status = int(exc.status_code)
    code = str(getattr(exc, "code", None) or "")
    if status in (401, 403):
        return DataPlaneError(
            f"auth: the data plane answered {status} for deployment {deployment}: the identity needs the "
            "'Cognitive Services OpenAI User' role on the account (or DATA_PLANE_BEARER_TOKEN for a stand-in)",
            kind="auth",
            status=status,
            code=code,
        )
    if status == 404:
        return DataPlaneError(
            f"not found: the data plane has no deployment {deployment} (404 {code})".rstrip(),
            kind="not-found",
            status=status,
            code=code,
        )
    if status >= 500:
        return DataPlaneError(
            f"unavailable: the data plane answered {status} for deployment {deployment}",
            kind="unavailable",
            status=status,
            code=code,
            transient=True,
        )
    return DataPlaneError(
        f"failed: the data plane answered {status} {code} for deployment {deployment}".rstrip(),
        kind="bad-request",
        status=status,
        code=code,
    )

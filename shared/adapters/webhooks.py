"""The HTTP poster behind the webhook notifiers (shared/adapters/notifiers/): what every channel kind shares.

- Each post follows its channel kind's rules (its notifier, ``WebhookRules``): the minimum interval between two
  posts to one webhook, and which answers mean the message was taken (with the reason of one that was not).
- 429 waits ``Retry-After`` (capped); 5xx, timeouts and refused connections back off exponentially with jitter;
  other 4xx are permanent.
- The URL is a secret: it never appears in a message, a log line or a repr. ``requests`` puts URLs in its
  exception texts, so only exception class names are reported.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shared.domain.events import JsonValue
from shared.domain.routes import Channel
from shared.domain.version import USER_AGENT
from shared.domain.waits import seconds_left
from shared.errors import WebhookError
from shared.urls import endpoint_problem, origin_of

if TYPE_CHECKING:
    from shared.adapters.notifiers.base import WebhookRules

log = logging.getLogger(__name__)
# urllib3 logs every request line (path and query: a webhook's token or signature) at DEBUG. Never below INFO.
_URLLIB3 = logging.getLogger("urllib3.connectionpool")

_TRANSIENT = frozenset({408, 425, 429, 500, 502, 503, 504})


class WebhookSender:
    """Posts JSON to webhooks with retries and per-channel pacing (one state for every channel). Thread-safe."""

    def __init__(
        self,
        *,
        max_retries: int = 4,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        max_retry_after: float = 60.0,
        base_backoff: float = 0.5,
        session: Any = None,
    ) -> None:
        self.max_retries = max_retries
        self.timeout = timeout
        self.sleep = sleep
        self.monotonic = monotonic
        self.max_retry_after = max_retry_after
        self.base_backoff = base_backoff
        self._session = session
        if _URLLIB3.getEffectiveLevel() < logging.INFO:
            _URLLIB3.setLevel(logging.INFO)
        self._lock = threading.Lock()
        self._last_post: dict[str, float] = {}
        self.posts = 0  # attempts
        self.sent = 0  # successes

    def _http(self) -> Any:
        with self._lock:
            if self._session is None:
                import requests

                self._session = requests.Session()
                self._session.headers["User-Agent"] = USER_AGENT
            return self._session

    def _pace(self, channel: Channel, interval: float) -> None:
        """Keep the channel's minimum interval between posts (reserve the slot under the lock, sleep outside)."""
        url = channel.url.reveal()
        with self._lock:
            now = self.monotonic()
            slot = max(now, self._last_post.get(url, float("-inf")) + interval)
            self._last_post[url] = slot
        if slot > now:
            self._sleep(slot - now, channel.label(), "for the channel's pacing")

    def _sleep(self, seconds: float, where: str, why: str) -> None:
        """Sleep, unless that would pass the run's deadline (shared/domain/waits.py): then a transient error (the
        delivery is retried later) rather than a run the host kills mid-wait."""
        left = seconds_left()
        if left is not None and seconds > left:
            raise WebhookError(
                f"{where}: waiting {seconds:.1f} s {why} would pass the run's deadline ({left:.1f} s left); "
                "retried later",
                reason="deadline",
                transient=True,
            )
        self.sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        return min(30.0, self.base_backoff * 2.0**attempt) * random.uniform(0.5, 1.0)

    def _retry_after(self, headers: Mapping[str, str], attempt: int) -> float:
        raw = headers.get("Retry-After")
        if raw is None:
            return self._backoff(attempt)
        try:
            seconds = float(str(raw))
        except ValueError:
            return self._backoff(attempt)
        return min(self.max_retry_after, max(0.0, seconds))

    def send(self, channel: Channel, payload: Mapping[str, JsonValue], rules: WebhookRules) -> None:
        import requests

        where = channel.label()
        url = channel.url.reveal()
        if problem := endpoint_problem(url, f"the {where} webhook"):
            raise WebhookError(problem)  # names the route and kind; endpoint_problem never echoes the URL
        host = origin_of(url).host
        session = self._http()
        last = ""
        for attempt in range(self.max_retries + 1):
            self._pace(channel, rules.min_interval)
            with self._lock:
                self.posts += 1
            try:
                response = session.post(url, json=dict(payload), timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"no response ({type(exc).__name__})"
                wait = self._backoff(attempt)
            except (requests.RequestException, ValueError) as exc:
                # an URL requests cannot use (InvalidURL, a bad port...): its message quotes the URL, a secret
                raise WebhookError(
                    f"{where}: the webhook URL cannot be used ({type(exc).__name__}); not retried",
                    reason=type(exc).__name__,
                ) from None
            else:
                status, body = response.status_code, (response.text or "").strip()
                reason = rules.answered(where, status, body)
                if reason is None:
                    return self._done(where)
                if status not in _TRANSIENT:
                    raise WebhookError(
                        f"{where}: {reason} (HTTP {status}; not retried)", status=status, reason=reason
                    )
                last = f"HTTP {status} {reason if reason != f'HTTP {status}' else ''}".strip()
                wait = (
                    self._retry_after(response.headers, attempt)
                    if status in (429, 503)
                    else self._backoff(attempt)
                )
            if attempt < self.max_retries:
                log.info("%s: %s from %s; retrying in %.1f s", where, last, host, wait)
                self._sleep(wait, where, f"after {last}")
        raise WebhookError(
            f"{where}: {last} after {self.max_retries + 1} attempt(s); Event Grid will redeliver",
            reason=last,
            transient=True,
        )

    def _done(self, where: str) -> None:
        with self._lock:
            self.sent += 1
        log.debug("%s: posted", where)

"""ARM over HTTP with requests: bearer tokens, retries that honour Retry-After, nextLink paging, LROs.

Raw JSON on purpose: a deployment GET -> PUT must carry back fields this code (or an SDK) does not know.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests

from shared.domain.events import JsonValue
from shared.domain.secret import Secret
from shared.domain.version import USER_AGENT
from shared.domain.waits import seconds_left
from shared.errors import ArmError, CatalogFormatError
from shared.urls import origin_of, same_origin

log = logging.getLogger(__name__)

ARM_SCOPE = "https://management.azure.com/.default"
RETRY_STATUSES = frozenset({500, 502, 503, 504})
TERMINAL = frozenset({"succeeded", "failed", "canceled", "cancelled"})
# a deployment's provisioningState also ends in Disabled (a NoAutoUpgrade deployment past its retirement)
TERMINAL_STATES = TERMINAL | {"disabled"}


class TokenProvider(Protocol):
    def token(self) -> str:
        """A bearer token for ARM."""
        ...


class StaticTokenProvider:
    """ARM_BEARER_TOKEN: for local emulators; no credential is built."""

    def __init__(self, secret: Secret) -> None:
        self._secret = secret

    def token(self) -> str:
        return self._secret.reveal()


class AzureIdentityTokenProvider:
    """DefaultAzureCredential (managed identity in Azure), imported on first use, token cached until near expiry."""

    def __init__(self, scope: str = ARM_SCOPE, credential: Any = None) -> None:
        self.scope = scope
        self._credential = credential
        self._token: Any = None
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._token.expires_on - 300 < time.time():
                try:
                    if self._credential is None:
                        from azure.identity import DefaultAzureCredential

                        self._credential = DefaultAzureCredential()
                    self._token = self._credential.get_token(self.scope)
                except Exception as exc:  # azure.identity raises several types; all mean "no usable identity"
                    raise ArmError(
                        f"no Azure credential could get an ARM token ({type(exc).__name__}): in Azure give the app a "
                        "managed identity; locally sign in with `az login`, or set ARM_BEARER_TOKEN for an emulator",
                        code="CredentialUnavailable",
                    ) from exc
            return str(self._token.token)


# ARM's read bucket per subscription and principal (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling, the token-bucket model since 2024): 250 reads at
# once, refilling 25 a second. Exceeding it is a 429 whose Retry-After stalls every read of the subscription.
ARM_READ_BUCKET = 250
ARM_READ_REFILL_PER_SECOND = 25.0
REMAINING_READS = "x-ms-ratelimit-remaining-subscription-reads"


class ReadBudget:
    """ARM's read bucket of each subscription, as this process spends it: a GET takes a token, waiting for the
    refill when there is none, instead of meeting a 429. Per process: other instances of the app (queue fan-out,
    scale-out) spend the same bucket, so ARM's own count in ``x-ms-ratelimit-remaining-subscription-reads`` lowers
    ours when it is lower; a 429 with Retry-After stays the backstop. Thread-safe: a waiter reserves its token
    first, so waiters are served in order and none starves."""

    def __init__(
        self,
        capacity: int = ARM_READ_BUCKET,
        refill_per_second: float = ARM_READ_REFILL_PER_SECOND,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.refill_per_second = refill_per_second
        self.clock = clock
        self.waited = 0.0  # seconds reads were held back, for tests and benchmarks
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # subscription -> (tokens, as of)

    def _level(self, subscription: str, now: float) -> float:
        tokens, at = self._buckets.get(subscription, (float(self.capacity), now))
        return min(float(self.capacity), tokens + (now - at) * self.refill_per_second)

    def reserve(self, subscription: str) -> float:
        """Take a token of ``subscription``'s bucket; the seconds to wait before sending (0 when one was there)."""
        with self._lock:
            now = self.clock()
            tokens = self._level(subscription, now) - 1
            self._buckets[subscription] = (tokens, now)
        wait = 0.0 if tokens >= 0 else -tokens / self.refill_per_second
        self.waited += wait
        return wait

    def observe(self, subscription: str, remaining: int) -> None:
        """ARM said how many reads are left in the bucket: trust it when it is lower than our count."""
        with self._lock:
            now = self.clock()
            if remaining < self._level(subscription, now):
                self._buckets[subscription] = (float(remaining), now)


def _subscription_of(path: str) -> str:
    """The subscription a request's path names ("" for tenant-level paths: the tenant has a bucket of its own)."""
    parts = path.split("/")
    return parts[2].lower() if len(parts) > 2 and parts[1].lower() == "subscriptions" else ""


def _retry_after(value: str | None, default: float) -> float:
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, (when - datetime.now(UTC)).total_seconds()) if when else default


def _arm_error(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
        error = body.get("error", {}) if isinstance(body, dict) else {}
        return str(error.get("code") or ""), str(error.get("message") or "")
    except ValueError:
        return "", response.text[:200]


class ArmClient:
    """One ARM endpoint. Thread-safe: a requests Session per thread (locations are fetched concurrently)."""

    def __init__(
        self,
        endpoint: str,
        api_version: str,
        tokens: TokenProvider,
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        max_retry_after: float = 60.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        read_budget: ReadBudget | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.api_version = api_version
        self.tokens = tokens
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.sleep = sleep
        self.read_budget = (
            read_budget  # None: reads are not paced here (a stand-in, a benchmark measuring ARM)
        )
        self.requests_sent = 0
        self._local = threading.local()
        self._origin = origin_of(self.endpoint)  # settings checked it; a bad endpoint fails here, not later

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            # requests reads the proxy and CA-bundle variables (and ~/.netrc) on every request, scanning the whole
            # environment each time: every request here goes to ARM_ENDPOINT's origin, so read them once. (A
            # ~/.netrc entry is dropped on purpose: it would replace the bearer token.)
            environment = session.merge_environment_settings(self.endpoint, {}, None, None, None)
            session.proxies.update(environment["proxies"])
            session.verify = environment["verify"]
            session.trust_env = False
            self._local.session = session
        return session

    def _url(self, path_or_url: str, api_version: str | None) -> tuple[str, dict[str, str]]:
        """An absolute URL on ARM_ENDPOINT's origin. A nextLink or operation URL comes from a response: it is
        resolved against the endpoint and must keep exactly its origin as requests reads it (shared/urls.py), or
        the bearer token would follow it elsewhere (":8765/...", ".evil.example/...", "evil\\@host" included)."""
        if path_or_url.startswith("/") and not path_or_url.startswith("//"):
            url, params = f"{self.endpoint}{path_or_url}", {"api-version": api_version or self.api_version}
        else:
            url, params = urljoin(self.endpoint + "/", path_or_url), {}
        if not same_origin(url, self._origin):
            raise ArmError(
                "a nextLink/operation URL points outside ARM_ENDPOINT; refused", code="ForeignLink"
            )
        return url, params

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        json: Any = None,
        api_version: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send with retries: 429 waits Retry-After; 5xx and network errors back off (capped, jittered).
        Redirects are never followed: the bearer token goes to ARM_ENDPOINT's origin only."""
        url, params = self._url(path_or_url, api_version)
        path = urlsplit(url).path
        label = f"{method} {path}"
        subscription = _subscription_of(path)
        last = "no response"
        status = 0
        for attempt in range(self.max_retries + 1):
            wait: float | None = None
            held = self.read_budget.reserve(subscription) if method == "GET" and self.read_budget else 0.0
            if held:
                self._sleep(held, label, "for ARM's read bucket")  # rather than a 429
            try:
                self.requests_sent += 1
                response = self._session().request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers={**(headers or {}), "Authorization": f"Bearer {self.tokens.token()}"},
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                last, status = type(exc).__name__, 0
            else:
                status = response.status_code
                remaining = response.headers.get(REMAINING_READS)
                if self.read_budget is not None and remaining is not None and remaining.isdigit():
                    self.read_budget.observe(subscription, int(remaining))
                if status == 429:
                    wait = min(self.max_retry_after, _retry_after(response.headers.get("Retry-After"), 1.0))
                    last = "429 throttled"
                elif status in RETRY_STATUSES:
                    last = f"{status}"
                    if response.headers.get("Retry-After"):
                        wait = min(
                            self.max_retry_after, _retry_after(response.headers.get("Retry-After"), 1.0)
                        )
                elif status >= 400 or 300 <= status < 400:
                    raise self._permanent(label, response)
                else:
                    return response
            if attempt == self.max_retries:
                break
            if wait is None:
                wait = random.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))
            log.warning("ARM %s: %s; retry %d/%d in %.1fs", label, last, attempt + 1, self.max_retries, wait)
            self._sleep(wait, label, f"after {last}")
        raise ArmError(
            f"ARM {label} failed after {self.max_retries + 1} attempt(s): {last}",
            status=status,
            transient=True,
        )

    def _sleep(self, seconds: float, label: str, why: str) -> None:
        """Sleep, unless that would pass the run's deadline (shared/domain/waits.py): then a transient error, so
        the run ends in time and the next one retries."""
        left = seconds_left()
        if left is not None and seconds > left:
            raise ArmError(
                f"ARM {label}: waiting {seconds:.1f} s {why} would pass the run's deadline ({left:.1f} s left); "
                "the next run retries",
                code="DeadlineReached",
                transient=True,
            )
        self.sleep(seconds)

    def _permanent(self, label: str, response: requests.Response) -> ArmError:
        code, message = _arm_error(response)
        status = response.status_code
        text = f"ARM {label} answered {status} {code}: {message}".rstrip(": ")
        if status in (401, 403):
            parts = urlsplit(response.url).path.split("/")
            sub = parts[2] if len(parts) > 2 and parts[1].lower() == "subscriptions" else "?"
            text += (
                ". The identity running modelwatch (in Azure the Function App's managed identity; locally your "
                f"`az login` or ARM_BEARER_TOKEN) needs, on subscription {sub}, the 'modelwatch catalog reader' "
                "role infra/ creates (or Reader) for the catalog, accounts and deployments, and on the watched "
                "accounts 'modelwatch deployment writer' (or Cognitive Services Contributor) to upgrade or roll back"
            )
        return ArmError(text, status=status, code=code)

    def get(self, path_or_url: str, *, api_version: str | None = None) -> dict[str, JsonValue]:
        response = self.request("GET", path_or_url, api_version=api_version)
        return self._json_object(response, path_or_url)

    def _json_object(self, response: requests.Response, where: str) -> dict[str, JsonValue]:
        try:
            body = response.json()
        except ValueError:
            raise ArmError(
                f"ARM {urlsplit(where).path}: the response is not JSON (truncated?)", transient=True
            ) from None
        if not isinstance(body, dict):
            raise CatalogFormatError(f"ARM {urlsplit(where).path}: expected a JSON object")
        return body

    def list_all(self, path: str, *, api_version: str | None = None) -> list[JsonValue]:
        """GET a pageable list, following nextLink until it is absent; every item of every page."""
        items: list[JsonValue] = []
        link: str | None = path
        while link:
            page = self.get(link, api_version=api_version)
            values, next_link = page.get("value"), page.get("nextLink")
            if not isinstance(values, list) or not (next_link is None or isinstance(next_link, str)):
                raise CatalogFormatError(f"ARM {urlsplit(link).path}: expected {{value: [...], nextLink?}}")
            items.extend(values)
            link = next_link
        return items

    def put_and_wait(
        self,
        path: str,
        body: dict[str, JsonValue],
        *,
        api_version: str | None = None,
        max_polls: int = 120,
        max_wait: float = 240.0,
        if_match: str | None = None,
    ) -> dict[str, JsonValue]:
        """PUT, then follow the long-running operation to a terminal state; the final resource.

        ARM's three shapes (https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations): an ``Azure-AsyncOperation`` URL answering
        ``{"status": ...}``; else a ``Location`` URL answering 202 (empty body) while running and 200/204 when
        done; else poll the resource itself until ``provisioningState`` is terminal. A 201 carrying
        ``Accepted`` is not done. Hand-written rather than azure-mgmt-core's ARMPolling: this client is
        requests-based so the GET -> PUT round trip keeps raw JSON, and ARMPolling needs an azure-core pipeline.

        Polling stops after ``max_polls`` or ``max_wait`` seconds of waiting (a provisioned migration runs 20-30
        minutes): a transient error then, so the event is retried, and the retry finds the deployment already
        at its target and writes nothing.
        """
        where = path.split("?", maxsplit=1)[0]
        # If-Match: the ETag of the GET the body was made from; a 412 means someone wrote in between
        # (docs/security.md: whether ARM enforces it for deployments is not documented; the caller re-reads anyway)
        headers = {"If-Match": if_match} if if_match else None
        response = self.request("PUT", path, json=body, api_version=api_version, headers=headers)
        result = self._json_object(response, path) if response.content else {}
        async_url = response.headers.get("Azure-AsyncOperation")
        location = response.headers.get("Location")
        waited = 0.0  # local: PUTs run on several threads at once
        for _ in range(max_polls):
            if waited > max_wait:
                break
            if async_url:
                waited += self._wait(response, where)
                response = self.request("GET", async_url)
                status_body = self._json_object(response, async_url)
                state = str(status_body.get("status") or "").casefold()
                if state not in TERMINAL:
                    continue
                if state != "succeeded":
                    raise self._operation_failed(where, state, status_body.get("error"))
                return self._final(path, api_version)
            if location:
                waited += self._wait(response, where)
                response = self.request("GET", location)
                if response.status_code == 202:
                    continue
                return self._final(path, api_version)
            current = _provisioning_state(result)
            if current is None or current in TERMINAL_STATES:
                if current in ("failed", "canceled", "cancelled"):
                    raise self._operation_failed(where, current, _props(result).get("error"))
                return result
            waited += self._wait(response, where)
            response = self.request("GET", path, api_version=api_version)
            result = self._json_object(response, path)
        raise ArmError(
            f"ARM PUT {where}: operation still running after {max_polls} polls or {max_wait:.0f} s of waiting; "
            "the next attempt finds it done or still running, and writes nothing again",
            transient=True,
        )

    def delete_and_wait(self, path: str, *, api_version: str | None = None, max_polls: int = 120) -> None:
        """DELETE, then follow the operation (https://learn.microsoft.com/rest/api/aiservices/accountmanagement/deployments/delete: 200/202 async, 204 when absent); a 404 is done too."""
        try:
            response = self.request("DELETE", path, api_version=api_version)
        except ArmError as exc:
            if exc.status == 404:
                return
            raise
        async_url = response.headers.get("Azure-AsyncOperation")
        location = response.headers.get("Location")
        if response.status_code == 204 or not (async_url or location):
            return
        where = path.split("?", maxsplit=1)[0]
        for _ in range(max_polls):
            self._wait(response, where, "DELETE")
            if async_url:
                response = self.request("GET", async_url)
                status_body = self._json_object(response, async_url)
                state = str(status_body.get("status") or "").casefold()
                if state not in TERMINAL:
                    continue
                if state != "succeeded":
                    raise self._operation_failed(where, state, status_body.get("error"))
                return
            assert location is not None
            response = self.request("GET", location)
            if response.status_code != 202:
                return
        raise ArmError(f"ARM DELETE {where}: operation still running after {max_polls} polls", transient=True)

    def _wait(self, response: requests.Response, where: str, verb: str = "PUT") -> float:
        wait = min(self.max_retry_after, _retry_after(response.headers.get("Retry-After"), 1.0))
        self._sleep(wait, f"{verb} {where}", "before polling the operation")
        return wait

    def _final(self, path: str, api_version: str | None) -> dict[str, JsonValue]:
        final = self.get(path, api_version=api_version)
        state = _provisioning_state(final)
        if state in ("failed", "canceled", "cancelled"):
            raise self._operation_failed(path.split("?", maxsplit=1)[0], state, _props(final).get("error"))
        return final

    @staticmethod
    def _operation_failed(where: str, state: str, error: JsonValue) -> ArmError:
        code = str(error.get("code") or "") if isinstance(error, dict) else ""
        message = str(error.get("message") or "") if isinstance(error, dict) else ""
        return ArmError(f"ARM PUT {where}: operation {state}: {code}: {message}".rstrip(": "), code=code)


def _props(resource: dict[str, JsonValue]) -> dict[str, JsonValue]:
    props = resource.get("properties")
    return props if isinstance(props, dict) else {}


def _provisioning_state(resource: dict[str, JsonValue]) -> str | None:
    state = _props(resource).get("provisioningState")
    return state.casefold() if isinstance(state, str) and state else None


class ArmCatalogSource:
    """CatalogSource: Models - List per location."""

    def __init__(self, client: ArmClient, subscription_id: str) -> None:
        self.client = client
        self.subscription_id = subscription_id

    def fetch_models(self, location: str) -> list[JsonValue]:
        return self.fetch_models_for(self.subscription_id, location)

    def fetch_models_for(self, subscription_id: str, location: str) -> list[JsonValue]:
        """SubscriptionCatalogs: the same list as another subscription sees it, on the same client (its reads
        count in that subscription's ReadBudget, like every other read of it)."""
        return self.client.list_all(
            f"/subscriptions/{subscription_id}/providers/Microsoft.CognitiveServices/locations/{location}/models"
        )


class ArmDeploymentApi:
    """DeploymentApi over ARM. Accounts and deployments are read and written with ARM_DEPLOYMENT_API_VERSION
    (the newest stable one), apart from the catalog's: a GET -> PUT keeps only the fields its api-version knows."""

    def __init__(self, client: ArmClient, api_version: str | None = None) -> None:
        self.client = client
        self.api_version = api_version or client.api_version

    def list_accounts(self, subscription_id: str) -> list[JsonValue]:
        return self.client.list_all(
            f"/subscriptions/{subscription_id}/providers/Microsoft.CognitiveServices/accounts",
            api_version=self.api_version,
        )

    def get_account(self, account_id: str) -> dict[str, JsonValue]:
        return self.client.get(account_id, api_version=self.api_version)

    def list_account_models(self, account_id: str) -> list[JsonValue]:
        """Accounts - List Models: what this account can deploy, its fine-tuned models included."""
        return self.client.list_all(f"{account_id}/models", api_version=self.api_version)

    def list_deployments(self, account_id: str) -> list[JsonValue]:
        return self.client.list_all(f"{account_id}/deployments", api_version=self.api_version)

    def get_deployment(self, deployment_id: str) -> dict[str, JsonValue]:
        return self.client.get(deployment_id, api_version=self.api_version)

    def find_deployment(self, deployment_id: str) -> dict[str, JsonValue] | None:
        try:
            return self.get_deployment(deployment_id)
        except ArmError as exc:
            if exc.status == 404:
                return None
            raise

    def put_deployment(
        self, deployment_id: str, body: dict[str, JsonValue], *, if_match: str | None = None
    ) -> dict[str, JsonValue]:
        return self.client.put_and_wait(deployment_id, body, api_version=self.api_version, if_match=if_match)

    def delete_deployment(self, deployment_id: str) -> None:
        self.client.delete_and_wait(deployment_id, api_version=self.api_version)

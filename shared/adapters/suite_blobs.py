"""Evaluation suites in a blob container: EVAL_SUITES=https://<account>.blob.core.windows.net/<container>[/<prefix>].

The SuiteSource a team updates without redeploying the app: the ``*.yaml``/``*.yml`` blobs directly under the prefix
(as a folder's files: a deeper "sub-folder" is not read), read with the app's managed identity (the role `Storage
Blob Data Reader` on that container, granted by infra when ``evalSuitesContainer`` is set). A malformed blob is a
problem naming the blob and the line, beside the suites that parse. A read is kept ``max_age`` seconds, so a changed
suite is seen within minutes and a busy policy subscriber does not list the container at every event.
azure-storage-blob is imported here only, when suites are first read: never at a function's cold start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from shared.adapters.suite_files import SUFFIXES, parse_suite_text
from shared.domain.evals import Suite, SuiteError, SuiteSet
from shared.errors import ModelWatchError, PermanentError, TransientError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

log = logging.getLogger(__name__)

MAX_AGE = 300.0  # seconds a read of the container is kept
ROLE = "Storage Blob Data Reader"


def split_container_url(url: str) -> tuple[str, str, str]:
    """(account URL, container, prefix ending in "/" or empty) of a container URL. Raises SuiteError."""
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if not parts.scheme or not parts.netloc or not segments:
        raise SuiteError(
            url, None, "EVAL_SUITES names no container: https://<account>.blob.core.windows.net/<c>"
        )
    prefix = "/".join(segments[1:])
    return f"{parts.scheme}://{parts.netloc}", segments[0], f"{prefix}/" if prefix else ""


class BlobSuites:
    """SuiteSource over one container and a name prefix. ``connect`` makes the ``azure.storage.blob``
    ContainerClient, on first use: wiring the app's services imports no storage SDK and builds no credential."""

    def __init__(
        self,
        connect: Callable[[], Any],
        prefix: str = "",
        *,
        max_age: float = MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connect = connect
        self._client: Any = None
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.max_age = max_age
        self.clock = clock
        self._kept: tuple[float, SuiteSet] | None = None
        self._lock = threading.Lock()  # one listing at a time; the others wait and take its result

    @classmethod
    def from_url(cls, url: str, credential: Callable[[], TokenCredential], **options: Any) -> BlobSuites:
        """The container of EVAL_SUITES, with the app's identity (a token for Azure Storage only)."""
        account_url, container, prefix = split_container_url(url)

        def connect() -> Any:
            from azure.storage.blob import ContainerClient

            return ContainerClient(account_url, container, credential=credential())

        return cls(connect, prefix, **options)

    @classmethod
    def from_connection_string(
        cls, connection_string: str, container: str, prefix: str = "", **options: Any
    ) -> BlobSuites:
        """A container named by a connection string (Azurite's development account in tests)."""

        def connect() -> Any:
            from azure.storage.blob import ContainerClient

            return ContainerClient.from_connection_string(connection_string, container)

        return cls(connect, prefix, **options)

    @property
    def _container(self) -> Any:
        if self._client is None:
            self._client = self._connect()
        return self._client

    @property
    def where(self) -> str:
        """The container URL and prefix, as errors name them (no query string: no SAS ever shows)."""
        return f"{str(self._container.url).split('?', 1)[0].rstrip('/')}/{self.prefix}"

    def read(self) -> SuiteSet:
        with self._lock:
            now = self.clock()
            if self._kept is not None and now - self._kept[0] < self.max_age:
                return self._kept[1]
            found = self._read()
            self._kept = (now, found)
            return found

    def _read(self) -> SuiteSet:
        with self._errors("listing"):
            names = sorted(
                str(b.name)
                for b in self._container.list_blobs(name_starts_with=self.prefix or None)
                if "/" not in str(b.name)[len(self.prefix) :] and str(b.name).lower().endswith(SUFFIXES)
            )
        suites: list[Suite] = []
        problems: list[SuiteError] = []
        for name in names:
            source = f"{self.where}{name[len(self.prefix) :]}"
            try:
                with self._errors(f"reading {name}"):
                    data: bytes = self._container.download_blob(name).readall()
                text = data.decode("utf-8")
                suites.append(parse_suite_text(text, name=name.rsplit("/", 1)[-1], source=source))
            except UnicodeDecodeError:
                problems.append(SuiteError(source, None, "cannot be read (not UTF-8 text)"))
            except SuiteError as exc:
                problems.append(exc)
            except _BlobGoneError:
                log.info("EVAL_SUITES: %s was deleted while the container was read", source)
        for problem in problems:
            log.warning("EVAL_SUITES: %s (the other suites are used)", problem)
        return SuiteSet(tuple(suites), tuple(problems))

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """azure-core's errors as ours: a missing container a SuiteError naming it, a refusal the role to grant,
        a throttled or failed service a TransientError (the caller's trigger retries). No secret in a message."""
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
            ServiceResponseError,
        )

        try:
            yield
        except ResourceNotFoundError as exc:
            code = str(getattr(exc, "error_code", "") or "")
            if action.startswith("reading") and code != "ContainerNotFound":
                raise _BlobGoneError from None
            raise SuiteError(
                self.where, None, "the container does not exist (EVAL_SUITES names a blob container to read)"
            ) from None
        except ClientAuthenticationError as exc:
            raise PermanentError(
                f"EVAL_SUITES {self.where}: {action} refused ({exc.status_code or 'no token'}): the app's identity "
                f"needs the role '{ROLE}' on the container"
            ) from None
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise TransientError(
                f"EVAL_SUITES {self.where}: {action} got no response ({type(exc).__name__})"
            ) from None
        except HttpResponseError as exc:
            status = exc.status_code
            code = str(getattr(exc, "error_code", "") or "")
            message = f"EVAL_SUITES {self.where}: {action} failed: HTTP {status} {code}".rstrip()
            if status in (401, 403):
                raise PermanentError(
                    f"{message}: the app's identity needs the role '{ROLE}' on the container"
                ) from None
            if status is None or status == 429 or status >= 500:
                raise TransientError(message) from None
            raise PermanentError(message) from None


class _BlobGoneError(ModelWatchError):
    """A blob listed a moment ago and deleted since: not a suite any more."""

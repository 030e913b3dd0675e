"""Errors of the Azure Storage services (Table, Queue) at the boundary: azure-core's exceptions turned into
TransientError / PermanentError, with no secret in any message. azure-core is imported when an error is
translated (cold start)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from shared.errors import PermanentError, TransientError

# Throttling (429, 503 ServerBusy), timeouts (408, 500 OperationTimeout) and gateway failures: retry later.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# SAS signatures travel in URLs, and URLs appear in transport errors: never let one reach a message.
_SECRET = re.compile(r"(sig|accountkey|sharedaccesssignature)=[^&;\s'\"]*", re.IGNORECASE)
_MESSAGE_LIMIT = 300


def redact(text: str) -> str:
    """``text`` without SAS signatures or account keys, cut to a message's length."""
    return _SECRET.sub(r"\1=REDACTED", text)[:_MESSAGE_LIMIT]


@contextmanager
def storage_errors(service: str, action: str) -> Iterator[None]:
    """Turn azure-core errors of a Storage service (Table, Queue) into TransientError / PermanentError; messages
    carry no secret."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    try:
        yield
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise TransientError(
            f"{service}: {action} failed: no response ({type(exc).__name__}: {redact(str(exc))})"
        ) from exc
    except HttpResponseError as exc:
        status = exc.status_code
        code = getattr(exc, "error_code", None) or ""
        code = getattr(code, "value", code)  # the SDKs' error codes are str enums: show the wire value
        message = f"{service}: {action} failed: HTTP {status} {code}".rstrip()
        # no status: the exchange broke mid-way (an undecodable response), which a retry can fix
        if status is None or status in TRANSIENT_STATUSES:
            raise TransientError(message) from exc
        raise PermanentError(message) from exc


def status_of(exc: Exception) -> int | None:
    """The HTTP status of an azure-core error (None when it has none)."""
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None

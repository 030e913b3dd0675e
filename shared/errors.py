"""Error hierarchy. Every error says whether retrying can help.

Adapters translate SDK and HTTP failures at the boundary (``raise ... from exc``):
- ``TransientError``: retrying later may succeed (throttling, 5xx, timeouts). Entry points re-raise so the
  platform retries (Event Grid redelivers; the next timer tick runs again).
- ``PermanentError``: retrying cannot help (bad input, 4xx, misconfiguration). Record it, log a warning,
  acknowledge.
Messages never contain secrets (keys, tokens, webhook URLs).
"""

from __future__ import annotations


class ModelWatchError(Exception):
    """Base of every error this package raises on purpose."""

    is_transient: bool = False


class TransientError(ModelWatchError):
    """Retrying later may succeed."""

    is_transient = True


class PermanentError(ModelWatchError):
    """Retrying cannot succeed without a change of input or configuration."""


class SettingsError(PermanentError):
    """One or more settings are missing or invalid; ``problems`` lists every one."""

    def __init__(self, problems: list[str], *, hint: str = "") -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        suffix = f"\n{hint}" if hint else ""
        super().__init__(f"{len(self.problems)} setting problem(s):\n{lines}{suffix}")


class CatalogFormatError(PermanentError):
    """A model catalog payload (or one entry of it) does not have the documented shape."""


class EventFormatError(PermanentError):
    """An incoming event does not have the documented schema."""


class ConcurrencyError(ModelWatchError):
    """Someone else changed a guarded record first (ETag mismatch); the loser stops cleanly."""


class ArmError(ModelWatchError):
    """An ARM call failed. ``status`` is the HTTP status (0 when no response), ``code`` ARM's error code."""

    def __init__(self, message: str, *, status: int = 0, code: str = "", transient: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.is_transient = transient


class PublishError(ModelWatchError):
    """Events could not be published; they stay pending and the next cycle publishes them.

    ``published_ids`` lists events of earlier batches that did go out before the failure, so the caller can
    drop exactly those from the outbox. ``transient`` says whether retrying may help (5xx, 429, network)
    or not (401/403 wrong key or role, 400 bad payload): events stay pending either way.
    """

    def __init__(self, message: str, *, published_ids: tuple[str, ...] = (), transient: bool = True) -> None:
        super().__init__(message)
        self.published_ids = published_ids
        self.is_transient = transient


class CycleIncompleteError(TransientError):
    """A watch cycle finished its other work but some location or publish failed (the run must be visible)."""


class WebhookError(ModelWatchError):
    """A Teams or Slack post failed. Names the route and channel kind, never the URL (a secret).

    ``reason`` is the service's answer (Slack's body string such as ``invalid_payload``, or ``HTTP 404``).
    """

    def __init__(self, message: str, *, status: int = 0, reason: str = "", transient: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.is_transient = transient


class ChangedMeanwhileError(PermanentError):
    """The deployment changed between the decision and the write: a tag or versionUpgradeOption the live GET
    shows (a new ``modelwatch:policy=ignore|pin`` wins), or ARM answered 412 to the PUT's If-Match. Nothing was
    written; it is recorded and told, never retried blindly: the next refresh and catalog event re-plan it."""


class OutOfScopeError(PermanentError):
    """A write was asked for a deployment outside WATCH_ACCOUNTS / WATCH_SUBSCRIPTION_IDS / WATCH_LOCATIONS (or
    tagged ignore): refused before anything is sent to ARM, recorded, never retried."""


class MessageFormatError(PermanentError):
    """A queue message does not have the documented shape (raised at the trigger: the platform retries it, then
    moves it to the poison queue, where it can be read)."""


class DataPlaneError(ModelWatchError):
    """An Azure OpenAI data-plane call failed (a canary run). ``kind`` says which way: ``auth`` (401/403),
    ``quota`` (429 after the retries), ``not-found`` (no such deployment), ``origin`` (the token would leave the
    account's endpoint), ``unavailable`` (5xx, network), ``bad-request``. Never carries the token."""

    def __init__(
        self, message: str, *, kind: str, status: int = 0, code: str = "", transient: bool = False
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.code = code
        self.is_transient = transient

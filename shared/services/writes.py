"""The one way the services write a deployment: a PUT conditional on the ETag of the GET it was judged on."""

from __future__ import annotations

from collections.abc import Callable

from shared.domain.events import JsonValue
from shared.errors import ArmError, ModelWatchError
from shared.ports import DeploymentApi


def put_if_match(
    api: DeploymentApi,
    resource_id: str,
    body: dict[str, JsonValue],
    etag: JsonValue,
    changed: Callable[[], ModelWatchError],
) -> None:
    """PUT with If-Match on the GET's ETag. ARM's 412 means the deployment changed since that GET: ``changed()`` is
    raised (each caller says what was not written and what comes next), never a blind retry."""
    try:
        api.put_deployment(resource_id, body, if_match=etag if isinstance(etag, str) else None)
    except ArmError as exc:
        if exc.status == 412:
            raise changed() from exc
        raise

"""What the Functions triggers call: translate, call one service, return its report.

Import-light on purpose: function_app imports this at host start, so everything heavy (SDKs, requests,
thread pools) is imported on first invocation, not at indexing (cold start).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from shared.services.inventory import InventoryReport
    from shared.services.notify import FlushReport
    from shared.services.pipeline import Delivery, Subscriber, TimerReport

log = logging.getLogger("modelwatch")


class EventGridEventLike(Protocol):
    """What the Event Grid trigger hands over (azure.functions.EventGridEvent), without importing it."""

    @property
    def id(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def event_type(self) -> str: ...
    @property
    def event_time(self) -> datetime | None: ...
    @property
    def data_version(self) -> str: ...
    def get_json(self) -> Any: ...


class CloudEventLike(Protocol):
    """What the trigger hands over when the subscription delivers CloudEvents 1.0 (azure.functions.CloudEvent)."""

    @property
    def id(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def specversion(self) -> str: ...
    @property
    def time(self) -> datetime | None: ...
    @property
    def subject(self) -> str | None: ...
    def get_json(self) -> Any: ...


def run_timer(now: datetime | None = None) -> TimerReport:
    """The timer's job: refresh the inventory, then one watch cycle over the configured locations."""
    from shared.bootstrap import function_services

    services = function_services()
    return services.run_timer(now or services.clock())


def flush_alerts(now: datetime | None = None) -> FlushReport:
    """The alerts timer's job: held deployment news told as one message per route and group."""
    from shared.bootstrap import function_services
    from shared.services.budget import Deadline, bounded

    services = function_services()
    # under functionTimeout, like the timer: a Retry-After already begun never outlives the run
    with bounded(Deadline.after(services.settings.timer_budget_seconds)):
        return services.flush_alerts(now or services.clock())


def refresh_inventory(message: str) -> InventoryReport | None:
    """One queued part of an inventory refresh. Raises (the platform redelivers, then poisons) for a message that
    is not a part and for a part a retry may complete; a permanent problem is logged and acknowledged."""
    from shared.bootstrap import function_services

    return function_services().refresh_part(message)


def run_canary(message: str, now: datetime | None = None) -> str:
    """One queued canary ask: run once per deployment and target, CanaryEvaluated published; what happened.
    Raises (the platform redelivers, then poisons) for a malformed message and for what a retry may complete
    (quota, throttling); a verdict, error included, is acknowledged."""
    from shared.bootstrap import function_services
    from shared.services.budget import Deadline, bounded

    services = function_services()
    with bounded(
        Deadline.after(services.settings.timer_budget_seconds)
    ):  # under functionTimeout, like the timer
        result = services.run_canary(message, now or services.clock())
    if result is None:
        return "nothing to run (run before, not covered, or canaries off)"
    return f"{result.verdict.value}: {result.current.passed}/{len(result.cases)} -> {result.target.passed}/{len(result.cases)}"


def canary_upkeep(now: datetime | None = None) -> list[str]:
    """The catalog timer's canary chores, after its watch cycle: expired canaries a crashed run left deleted, and
    CANARY_PROTECT protections lifted before their version's retirement. What was done (empty: nothing)."""
    from shared.bootstrap import function_services
    from shared.services.budget import Deadline, bounded

    services = function_services()
    with bounded(Deadline.after(services.settings.timer_budget_seconds)):
        return services.canary_upkeep(now or services.clock())


def event_wire(event: EventGridEventLike | CloudEventLike) -> dict[str, Any]:
    """Back to the Event Grid schema the publisher sent (the trigger parsed it), for the one event parser.

    A subscription set to deliver CloudEvents 1.0 hands over a CloudEvent instead (type, source, time): mapped
    to the same fields, so the delivery schema is the operator's choice."""
    if not hasattr(event, "event_type") and hasattr(event, "specversion"):
        cloud = event
        wire = {
            "id": cloud.id,
            "topic": cloud.source,
            "subject": cloud.subject,
            "eventType": cloud.type,
            "data": cloud.get_json(),
            "dataVersion": "1.0",
        }
        when = cloud.time
    else:
        grid = cast("EventGridEventLike", event)
        wire = {
            "id": grid.id,
            "topic": grid.topic,
            "subject": grid.subject,
            "eventType": grid.event_type,
            "data": grid.get_json(),
            "dataVersion": grid.data_version,
        }
        when = grid.event_time
    # the trigger turns a missing or unparseable eventTime into None: leave it out, the parser names it
    if when is not None:
        wire["eventTime"] = when.astimezone(UTC).isoformat()
    return wire


def handle_event(
    subscriber: str, event: EventGridEventLike | CloudEventLike, now: datetime | None = None
) -> Delivery:
    """Deliver one Event Grid event to one subscriber, or hand its work to the delivery queue when the app has one
    (answered in well under Event Grid's 30 s, whatever the work). Re-raises a transient error: Event Grid
    redelivers."""
    from shared.bootstrap import function_services

    services = function_services()
    (chosen,) = [s for s in services.subscribers() if s.name == subscriber]
    wire, at = event_wire(event), now or services.clock()
    if services.handoff is not None:
        # Event Grid waits 30 s for the answer: the work goes to deliver_queued, the answer comes now
        from shared.errors import ModelWatchError
        from shared.services.pipeline import hand_off

        try:
            handed = hand_off(wire, chosen, services.handoff, at)
        except (
            ModelWatchError
        ) as exc:  # the queue is down or refused: the work is done here, as before the queue
            log.warning(
                "%s: the delivery queue failed (%s): handling the event in its delivery", subscriber, exc
            )
            handed = None
        if handed is not None:
            log.info("%s: event %s (%s): %s", subscriber, handed.event_id, handed.event_type, handed.detail)
            return handed
    return _deliver(chosen, wire, at, f"{subscriber}: event")


def _deliver(chosen: Subscriber, wire: dict[str, Any], at: datetime, label: str) -> Delivery:
    """Deliver one event to one subscriber now; raise a transient failure (the platform redelivers)."""
    from shared.bootstrap import function_services
    from shared.services.budget import Deadline, bounded
    from shared.services.pipeline import deliver
    from shared.services.results import RETRY

    services = function_services()
    # a trigger receives what its subscription routes to it: deliver it to that subscriber alone; its waits (an
    # upgrade's polls, a webhook's Retry-After) end within the budget, under functionTimeout: then the platform
    # redelivers
    with bounded(Deadline.after(services.settings.timer_budget_seconds)):
        deliveries = deliver([wire], [chosen], at)
    delivery = deliveries[0]
    log.info(
        "%s %s (%s): %s %s",
        label,
        delivery.event_id,
        delivery.event_type,
        delivery.outcome,
        delivery.detail,
    )
    if delivery.outcome == RETRY and delivery.error is not None:
        raise delivery.error
    return delivery


def deliver_queued(message: str) -> Delivery:
    """One delivery's work an Event Grid trigger handed off (shared/domain/handoff.py), done as the trigger would
    have done it, as of the instant of the delivery: exactly once over the subscriber's ledger, so a redelivered
    event queued twice tells nothing twice. Raises MessageFormatError for a message that is not such work (the
    platform retries, then poisons it) and a transient failure (the platform redelivers)."""
    from shared.bootstrap import function_services
    from shared.domain.handoff import HandedOff
    from shared.errors import MessageFormatError

    work = HandedOff.from_json(message)
    chosen = [s for s in function_services().subscribers() if s.name == work.subscriber]
    if not chosen:
        raise MessageFormatError(
            f"delivery message names no subscriber of this app: {work.subscriber[:80]!r}"
        )
    return _deliver(chosen[0], work.event, work.at, f"deliver_queued: {work.subscriber}: event")


MAX_ROLLBACK_BODY = 16_384  # a rollback request is a few hundred bytes


def rollback_request(
    body: bytes, now: datetime | None = None, *, requested_by: str = "unknown caller"
) -> tuple[int, dict[str, Any]]:
    """The rollback HTTP function: JSON in, (status, JSON) out.

    Body: ``{"deploymentId": "...", "toVersion": "..." (optional), "dryRun": false, "asNew": "NAME" (optional:
    side by side), "force": false}``. 200 done (or already done, or dry run), 400 bad request, 404 deployment
    not in the inventory, 409 refused (with ``reason``: retired, not a previous version, out of scope, needs
    force, other model name, quota, changed meanwhile, ``app-cannot-write`` with the CLI ``command`` when the app's
    identity has no write role: plan-mode installations), 502 ARM refused the write, 503 retry later.
    """
    from shared.bootstrap import function_services
    from shared.errors import ArmError, ModelWatchError
    from shared.services.rollback import RollbackRefusedError, UnknownDeploymentError

    if len(body) > MAX_ROLLBACK_BODY:
        return 400, {"error": f"the body is over {MAX_ROLLBACK_BODY} bytes"}
    try:
        request = json.loads(body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        return 400, {"error": "the body is not JSON (or is nested too deeply)"}
    if not isinstance(request, dict):
        return 400, {"error": "the body must be a JSON object"}
    deployment_id = request.get("deploymentId")
    to_version = request.get("toVersion")
    dry_run = request.get("dryRun", False)
    as_new = request.get("asNew")
    force = request.get("force", False)
    if not isinstance(deployment_id, str) or not deployment_id.startswith("/subscriptions/"):
        return 400, {"error": "deploymentId must be a deployment resource id (/subscriptions/...)"}
    if to_version is not None and (not isinstance(to_version, str) or not to_version.strip()):
        return 400, {"error": "toVersion must be a version string"}
    if not isinstance(dry_run, bool):
        return 400, {"error": "dryRun must be true or false"}
    if not isinstance(force, bool):
        return 400, {"error": "force must be true or false"}
    if as_new is not None and (not isinstance(as_new, str) or not as_new.strip()):
        return 400, {"error": "asNew must be the new deployment's name"}
    services = function_services()
    try:
        result = services.rollback.rollback(
            deployment_id,
            now or services.clock(),
            to_version=to_version,
            dry_run=dry_run,
            as_new=as_new,
            force=force,
            requested_by=requested_by,
        )
    except UnknownDeploymentError as exc:
        return 404, {"error": str(exc), "reason": exc.reason}
    except RollbackRefusedError as exc:
        return 409, {"error": str(exc), "reason": exc.reason}
    except ArmError as exc:
        if exc.status == 403:
            # plan-mode installations give the app's identity no writer role (infra/): an operator's rollback
            # then runs from a workstation, under the operator's own identity, not through the app
            from shared.domain.alerts import rollback_command

            command = rollback_command(deployment_id)
            return 409, {
                "error": "this app's identity may not write deployments here (ARM answered 403): a plan-mode "
                "installation grants it no 'modelwatch deployment writer' role (infra/ grants it with policyMode "
                "enforce only). Roll back with your own identity instead: "
                f"{command} (check the plan, then run it again without --dry-run)",
                "reason": "app-cannot-write",
                "command": command,
            }
        status = 503 if exc.is_transient else 502
        return status, {"error": str(exc), "armCode": exc.code}
    except ModelWatchError as exc:
        return (503 if exc.is_transient else 500), {"error": str(exc)}
    record = result.record
    return 200, {
        "outcome": "dryRun" if result.dry_run else ("rolledBack" if result.written else "alreadyDone"),
        "message": result.describe(),
        "deploymentId": result.plan.deployment.resource_id,
        "fromVersion": record.from_version if record else result.plan.deployment.model_version,
        "toModel": result.plan.model,
        "toVersion": result.plan.target_version,
        "siblingDeploymentId": result.plan.sibling_id,
        "requestedBy": record.changed_by if record else requested_by,
        "versionUpgradeOption": "NoAutoUpgrade",
        "previousPolicy": record.original_policy if record else result.plan.deployment.upgrade_option,
        "rollbackId": record.id if record else None,
    }

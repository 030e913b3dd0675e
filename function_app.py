"""Azure Functions entry points (Python v2 programming model). Triggers only translate and call one service."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.runtime.entrypoints import (
    canary_upkeep,
    deliver_queued,
    flush_alerts,
    handle_event,
    refresh_inventory,
    run_canary,
    run_timer,
)
from shared.runtime.web import WebRequest, WebResponse, announce_local_token, rollback_http, status_http

app = func.FunctionApp()
log = logging.getLogger("modelwatch")
# HTTP_AUTH=loopback (func start): this run's local token, printed once (the HTTP functions require it)
announce_local_token()


# The schedule is an app setting (6-field NCRONTAB, UTC): CATALOG_POLL_SCHEDULE, e.g. "0 0 * * * *" hourly.
# run_on_startup stays off: it would fire on every scale-out and restart. The timer is a singleton per app.
@app.function_name(name="catalog_timer")
@app.timer_trigger(
    arg_name="timer", schedule="%CATALOG_POLL_SCHEDULE%", run_on_startup=False, use_monitor=True
)
def catalog_timer(timer: func.TimerRequest) -> None:
    """Refresh the deployment inventory, read the model catalog, diff it, publish lifecycle events."""
    if timer.past_due:
        log.warning("catalog_timer is running late (past due)")
    report = run_timer()
    log.info("%s", report.summary())
    # hourly is far finer than canaries' expiry or a protection's margin of days: no timer of their own
    for done in canary_upkeep():
        log.info("canary upkeep: %s", done)
    report.raise_if_incomplete()  # a failed location, listing or publish fails the run: visible, never swallowed


# One part of an inventory refresh the timer queued (above INVENTORY_FANOUT_THRESHOLD subscriptions or accounts):
# a subscription, or a group of accounts, as of the timer's instant. The queue is in AzureWebJobsStorage's account
# (STATE_STORE's too); messages are base64 (host.json's default). A raised error makes the platform redeliver; after
# host.json's maxDequeueCount the message moves to <queue>-poison (docs/operations.md).
@app.function_name(name="refresh_inventory")
@app.queue_trigger(arg_name="message", queue_name="%INVENTORY_QUEUE_NAME%", connection="AzureWebJobsStorage")
def refresh_inventory_part(message: func.QueueMessage) -> None:
    """Refresh the deployments of one subscription or group of accounts."""
    report = refresh_inventory(message.get_body().decode("utf-8"))
    log.info(
        "refresh_inventory: message %s (dequeue %s): %s",
        message.id,
        message.dequeue_count,
        report.summary() if report is not None else "no inventory configured",
    )


# One canary ask apply_update_policy queued (#25: a deployment a suite covers will move): the suite on the current
# and the target version, once per deployment and target, then CanaryEvaluated. From a queue, not in the Event Grid
# delivery: a suite takes longer than its 30 s. A raised error redelivers; after maxDequeueCount, <queue>-poison.
@app.function_name(name="run_canary")
@app.queue_trigger(arg_name="message", queue_name="%CANARY_QUEUE_NAME%", connection="AzureWebJobsStorage")
def run_canary_ask(message: func.QueueMessage) -> None:
    """Run one queued canary."""
    outcome = run_canary(message.get_body().decode("utf-8"))
    log.info("run_canary: message %s (dequeue %s): %s", message.id, message.dequeue_count, outcome)


# Subscribed to the topic's ModelLifecycle catalog event types (includedEventTypes). A raised error makes Event
# Grid redeliver (transient failures only); a rejected or permanently failed event is logged and acknowledged.
@app.function_name(name="apply_update_policy")
@app.event_grid_trigger(arg_name="event")
def apply_update_policy(event: func.EventGridEvent) -> None:
    """Apply each affected deployment's update policy: plan, or upgrade when enforcement is on."""
    handle_event("apply_update_policy", event)


# Subscribed to CatalogDigest, DeploymentUpgraded and DeploymentRolledBack (infra/event-types.json): tells each
# owning team a change once, in its Teams/Slack channels; upgrades are held for alerts_timer's one message per team.
@app.function_name(name="notify_channels")
@app.event_grid_trigger(arg_name="event")
def notify_channels(event: func.EventGridEvent) -> None:
    """Tell the owning team, once per change and channel."""
    handle_event("notify_channels", event)


# The work of an Event Grid delivery that apply_update_policy or notify_channels handed off (a STATE_STORE on Table
# Storage): Event Grid waits 30 s for their answer, and telling a change about thousands of deployments takes longer.
# Exactly once per event and subscriber over the ledger; a raised error makes the platform redeliver, and after
# host.json's maxDequeueCount the message moves to <queue>-poison.
@app.function_name(name="deliver_queued")
@app.queue_trigger(arg_name="message", queue_name="%DELIVERY_QUEUE_NAME%", connection="AzureWebJobsStorage")
def deliver_queued_work(message: func.QueueMessage) -> None:
    """Do the work of one handed-off delivery."""
    delivery = deliver_queued(message.get_body().decode("utf-8"))
    log.info(
        "deliver_queued: message %s (dequeue %s): %s", message.id, message.dequeue_count, delivery.outcome
    )


# Every minute: held deployment news (Azure upgraded 12 of a team's deployments) whose group has settled for
# ALERT_BATCH_SECONDS is told as one message per route and group. Singleton like every timer; overlapping runs
# meet on the batch's ledger claim.
@app.function_name(name="alerts_timer")
@app.timer_trigger(arg_name="timer", schedule="0 */1 * * * *", run_on_startup=False, use_monitor=False)
def alerts_timer(timer: func.TimerRequest) -> None:
    """Send the settled batches of held deployment news."""
    report = flush_alerts()
    log.info("%s", report.summary())
    if report.failed:
        raise RuntimeError(report.summary())  # a webhook outage shows as a failed run; the next run retries


# The HTTP functions are anonymous to the Functions host on purpose: App Service Authentication (Microsoft Entra
# ID) signs callers in, and shared/runtime/web.py checks their app role (ModelWatch.Reader / ModelWatch.Operator)
# from X-MS-CLIENT-PRINCIPAL, refusing everything when Easy Auth is off. A function key alone would be one shared
# secret.
@app.function_name(name="rollback_deployment")
@app.route(route="rollback", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
def rollback_deployment(req: func.HttpRequest) -> func.HttpResponse:
    """GET ?deploymentId=: the confirmation page. POST JSON or the confirmation form: roll back."""
    return _respond(rollback_http(WebRequest.of(req)))


@app.function_name(name="status")
@app.route(route="status", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def status(req: func.HttpRequest) -> func.HttpResponse:
    """The status page: what is at risk and when (HTML; ?format=json for the data)."""
    return _respond(status_http(WebRequest.of(req)))


def _respond(response: WebResponse) -> func.HttpResponse:
    return func.HttpResponse(
        response.body, status_code=response.status, mimetype=response.mimetype, headers=response.headers
    )

"""Azure Functions entry points (Python v2 programming model). Triggers only translate and call one service."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.entrypoints import run_catalog_cycle

app = func.FunctionApp()
log = logging.getLogger("modelwatch")


# The schedule is an app setting (6-field NCRONTAB, UTC): CATALOG_POLL_SCHEDULE, e.g. "0 0 * * * *" hourly.
# run_on_startup stays off: it would fire on every scale-out and restart. The timer is a singleton per app.
@app.function_name(name="catalog_timer")
@app.timer_trigger(
    arg_name="timer", schedule="%CATALOG_POLL_SCHEDULE%", run_on_startup=False, use_monitor=True
)
def catalog_timer(timer: func.TimerRequest) -> None:
    """Read the model catalog, diff it against the last snapshot, publish lifecycle events."""
    if timer.past_due:
        log.warning("catalog_timer is running late (past due)")
    report = run_catalog_cycle()
    log.info("%s", report.summary())
    report.raise_if_incomplete()  # a failed location or publish fails the run: visible, never swallowed

"""The function app as the Functions host indexes it: names, triggers, bindings; and import stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.app_functions import functions

ROOT = Path(__file__).resolve().parents[2]


def _functions() -> dict[str, dict[str, object]]:
    return {name: f.get_bindings_dict() for name, f in functions().items()}


def test_catalog_timer_is_indexed_with_the_setting_driven_schedule() -> None:
    functions = _functions()
    assert "catalog_timer" in functions
    (binding,) = functions["catalog_timer"]["bindings"]  # type: ignore[misc]
    assert binding["type"] == "timerTrigger"
    assert binding["name"] == "timer"
    assert binding["schedule"] == "%CATALOG_POLL_SCHEDULE%"
    assert binding["runOnStartup"] is False
    assert binding["useMonitor"] is True


def test_refresh_inventory_reads_the_setting_named_queue_and_poisons_after_five_tries() -> None:
    (binding,) = _functions()["refresh_inventory"]["bindings"]  # type: ignore[misc]
    assert binding["type"] == "queueTrigger" and binding["name"] == "message"
    assert binding["queueName"] == "%INVENTORY_QUEUE_NAME%"
    assert binding["connection"] == "AzureWebJobsStorage"  # the account STATE_STORE defaults to
    queues = json.loads((ROOT / "host.json").read_text())["extensions"]["queues"]
    assert queues["maxDequeueCount"] == 5  # then the host moves the message to <queue>-poison
    assert queues["messageEncoding"] == "base64"  # what StorageRefreshQueue sends


def test_run_canary_reads_the_setting_named_queue() -> None:
    (binding,) = _functions()["run_canary"]["bindings"]  # type: ignore[misc]
    assert binding["type"] == "queueTrigger" and binding["name"] == "message"
    assert binding["queueName"] == "%CANARY_QUEUE_NAME%"
    assert binding["connection"] == "AzureWebJobsStorage"


def test_deliver_queued_reads_the_setting_named_queue() -> None:
    (binding,) = _functions()["deliver_queued"]["bindings"]  # type: ignore[misc]
    assert binding["type"] == "queueTrigger" and binding["name"] == "message"
    assert binding["queueName"] == "%DELIVERY_QUEUE_NAME%"
    assert binding["connection"] == "AzureWebJobsStorage"  # STATE_STORE's account, where the triggers send


def test_importing_the_app_does_not_import_heavy_sdks() -> None:
    code = (
        "import sys, function_app; "
        "heavy = [m for m in ('azure.eventgrid', 'azure.data.tables', 'azure.storage.queue', 'azure.identity', "
        "'requests', 'openai', 'httpx2', 'yaml', 'jsonschema', "  # canaries (#25): CLI and first use only
        "'concurrent.futures.thread', 'sqlite3') if m in sys.modules]; print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_function_app_reads_no_environment_directly() -> None:
    source = (ROOT / "function_app.py").read_text()
    assert "os.environ" not in source and "getenv" not in source

"""The function app as the Functions host indexes it: names, triggers, bindings; and import stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.app_functions import functions

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


def test_importing_the_app_does_not_import_heavy_sdks() -> None:
    code = (
        "import sys, function_app; "
        "heavy = [m for m in ('azure.eventgrid', 'azure.data.tables', 'azure.identity', 'requests', "
        "'concurrent.futures.thread', 'sqlite3') if m in sys.modules]; print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_function_app_reads_no_environment_directly() -> None:
    source = (ROOT / "function_app.py").read_text()
    assert "os.environ" not in source and "getenv" not in source

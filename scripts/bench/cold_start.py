"""Section 3: cold start, the import time of the function app against azure.functions's."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys

from scripts.bench.common import ROOT


def import_time(module: str, runs: int) -> float:
    """Median cumulative import time of a module in a fresh interpreter, in ms."""
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        last = [line for line in out.splitlines() if re.search(rf"\|\s*{re.escape(module)}$", line)][-1]
        samples.append(int(last.split("|")[1]) / 1000)
    return statistics.median(samples)


def cold_start_section() -> str:
    """The import time of the function app against that of azure.functions alone (medians of 7)."""
    functions_ms = import_time("azure.functions", 7)
    app_ms = import_time("function_app", 7)
    ratio = app_ms / functions_ms
    return f"""## 3. Cold start

| import | median of 7 (ms) |
|---|---|
| `import azure.functions` | {functions_ms:.0f} |
| `import function_app` | {app_ms:.0f} |

**Ratio {ratio:.2f}x** (target <= 1.3x): the SDKs (Event Grid, Tables, identity), requests and the thread pool
are imported on first invocation, not when the host indexes the functions.
"""

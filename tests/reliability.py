"""The reliability table: what each fault or bad-input test tried, and what held, written from the test run.

A test declares ``@pytest.mark.reliability(fault=..., held=...)``. ``pytest --reliability-report FILE`` writes
docs/reliability.md from the run: one row per test with its outcome, so the table can only claim what passed.
``make reliability`` runs it over tests/e2e and tests/fuzz.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Row:
    fault: str
    held: str
    outcome: str
    seconds: float


_rows: dict[str, Row] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--reliability-report", metavar="FILE", help="write the reliability table to FILE")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reliability(fault, held): a row of docs/reliability.md")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    marker = item.get_closest_marker("reliability")
    if marker is None or (report.when != "call" and report.passed):
        return
    fault = str(marker.kwargs["fault"])
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "{" in fault:
        fault = fault.format(**callspec.params)
    previous = _rows.get(item.nodeid)
    verdict = "held" if report.passed else ("skipped" if report.skipped else "FAILED")
    if previous is not None and previous.outcome != "held":
        verdict = previous.outcome  # a failed setup stays failed
    _rows[item.nodeid] = Row(fault, str(marker.kwargs["held"]), verdict, report.duration)


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = session.config.getoption("--reliability-report")
    if not target or not _rows:
        return
    lines = [
        "# Reliability: faults and bad input tried, and what held",
        "",
        "Written by the test run (`make reliability`: `pytest tests/e2e tests/fuzz --reliability-report "
        "docs/reliability.md`); a row says *held* only if its test passed in that run. The end-to-end replays "
        "run the function app's entry points against Table Storage on Azurite and the ARM, Event Grid and "
        "webhook stand-ins over HTTP (tests/support/replay.py).",
        "",
        f"Run on {time.strftime('%Y-%m-%d')} ({platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}): {sum(r.outcome == 'held' for r in _rows.values())} of {len(_rows)} held.",
        "",
        "| Fault or bad input | What held | Result | Seconds |",
        "|---|---|---|---|",
    ]
    for row in _rows.values():
        lines.append(f"| {row.fault} | {row.held} | {row.outcome} | {row.seconds:.1f} |")
    Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")

"""What the sections share: the stand-in's subscription and catalogs, one timed catalog cycle, Azurite,
and the document's header and layout."""

from __future__ import annotations

import platform
import re
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from shared.adapters.arm import ArmCatalogSource, ArmClient, ReadBudget, StaticTokenProvider
from shared.adapters.memory import CollectingPublisher
from shared.domain.scope import Scope
from shared.domain.secret import Secret
from shared.ports import CatalogStateStore
from shared.services.watch import CatalogWatcher
from tests.builders import item
from tests.fakes import azurite
from tests.fakes.arm_server import FakeArm

ROOT = Path(__file__).resolve().parents[2]

SUB = "00000000-0000-0000-0000-0000000000be"
BENCH_SCOPE = Scope(subscriptions=frozenset({SUB}))  # every account of the one subscription
NOW = datetime(2025, 3, 12, tzinfo=UTC)


def catalog(versions: int) -> list[dict[str, object]]:
    return [
        item(
            f"model-{i // 10}",
            f"2025-01-{i % 10 + 10:02}",
            default=i % 10 == 0,
            retires=f"2026-{i % 12 + 1:02}-01T00:00:00Z",
            skus={"Standard": None, "GlobalStandard": None},
        )
        for i in range(versions)
    ]


def cycle(
    arm: FakeArm,
    locations: list[str],
    store: CatalogStateStore,
    concurrency: int,
    now: datetime,
    *,
    read_budget: ReadBudget | None = None,
) -> tuple[float, int, object]:
    """One catalog cycle of ``locations`` through a new ARM client (pacing its reads with ``read_budget``, as the
    app's does, when given): (wall time, events published, the cycle's report)."""
    client = ArmClient(
        arm.endpoint, "2025-09-01", StaticTokenProvider(Secret("bench")), read_budget=read_budget
    )
    publisher = CollectingPublisher()
    watcher = CatalogWatcher(ArmCatalogSource(client, SUB), store, publisher, max_concurrency=concurrency)
    started = time.perf_counter()
    report = watcher.run(locations, now)
    return time.perf_counter() - started, len(publisher.published), report


def start_azurite() -> tuple[subprocess.Popen[bytes], str]:
    port = azurite._free_port()
    process = subprocess.Popen(
        [
            str(azurite.AZURITE_TABLE),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--loose",
            "--silent",
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(port),
        ],
        cwd=tempfile.mkdtemp(prefix="azurite-bench-"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not azurite._accepts(port):
        if time.monotonic() > deadline:
            raise SystemExit("Azurite did not start: run `npm ci`")
        time.sleep(0.1)
    return process, azurite.connection_string(port)


def replace_section(document: str, number: int, section: str) -> str:
    """The document with its section ``## <number>.`` (up to the next ``## `` heading) replaced, else appended."""
    start = re.search(rf"^## {number}\. ", document, re.MULTILINE)
    if start is None:
        return document.rstrip("\n") + "\n\n" + section
    end = re.search(r"^## ", document[start.end() :], re.MULTILINE)
    rest = document[start.end() + end.start() :] if end else ""
    return document[: start.start()] + section + ("\n" + rest if rest else "")


def header() -> str:
    """The top of docs/performance.md: when, where and how it was measured."""
    return f"""# Performance

Measured by `make bench` (`python scripts/benchmark.py`) on {datetime.now(UTC):%Y-%m-%d}, {platform.machine()},
{platform.python_implementation()} {platform.python_version()}, 2 cores. Figures are from one run; rerun to compare.
Nothing here is asserted by a test: targets are checked by reading this page.
"""


def document(sections: list[str]) -> str:
    """docs/performance.md: the header, then each section (``## N. ...``, ending with a newline), a blank line
    between them."""
    return "\n".join([header(), *sections])

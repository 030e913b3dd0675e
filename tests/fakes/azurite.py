"""Pytest plugin: real Azurite Table and Queue services for the session, and a per-test table prefix.

The Queue service starts only when a test asks for it (``azurite_storage_connection_string``).

Azurite missing is a failure, never a skip: a skipped integration test must not pass as green.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_TABLE = REPO_ROOT / "node_modules" / ".bin" / "azurite-table"
AZURITE_QUEUE = REPO_ROOT / "node_modules" / ".bin" / "azurite-queue"

# The well-known development account of the storage emulators (azure-facts §5.6): public, not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

START_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"TableEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};"
    )


def queue_endpoint(port: int) -> str:
    return f"http://127.0.0.1:{port}/{DEV_ACCOUNT}"


def _serve(binary: Path, service: str) -> Iterator[int]:
    """Start one Azurite service (``service``: table or queue) in memory on a free loopback port; yield the port."""
    if not binary.exists():
        pytest.fail("Azurite is not installed: run `npm ci` (make test does)")
    port = _free_port()
    command = [
        str(binary),
        "--inMemoryPersistence",
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--loose",
        "--silent",
        f"--{service}Host",
        "127.0.0.1",
        f"--{service}Port",
        str(port),
    ]
    with (
        tempfile.TemporaryDirectory(prefix="azurite-") as workdir,
        tempfile.TemporaryFile() as stderr,
    ):
        # cwd: Azurite writes its workspace files (debug log, extent folders) next to where it runs
        process = subprocess.Popen(
            command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _accepts(port):
                exited = process.poll() is not None
                if exited or time.monotonic() > deadline:
                    state = (
                        f"exited with status {process.returncode}"
                        if exited
                        else f"did not listen within {START_TIMEOUT:.0f} s"
                    )
                    _stop(process)
                    stderr.seek(0)
                    detail = stderr.read().decode(errors="replace").strip() or "(nothing on stderr)"
                    pytest.fail(f"Azurite {service} {state} on port {port}:\n{detail}")
                time.sleep(0.1)
            yield port
        finally:
            _stop(process)


@pytest.fixture(scope="session")
def azurite_table_port() -> Iterator[int]:
    yield from _serve(AZURITE_TABLE, "table")


@pytest.fixture(scope="session")
def azurite_connection_string(azurite_table_port: int) -> str:
    """The Table service's connection string (azurite-table in memory on a free loopback port)."""
    return connection_string(azurite_table_port)


@pytest.fixture(scope="session")
def azurite_queue_port() -> Iterator[int]:
    yield from _serve(AZURITE_QUEUE, "queue")


@pytest.fixture(scope="session")
def azurite_storage_connection_string(azurite_table_port: int, azurite_queue_port: int) -> str:
    """One storage account with tables and queues, as STATE_STORE and AzureWebJobsStorage name it in Azure."""
    return connection_string(azurite_table_port) + f"QueueEndpoint={queue_endpoint(azurite_queue_port)};"


@pytest.fixture
def table_prefix() -> str:
    """A unique table-name prefix, so tests sharing the session's Azurite cannot see each other's tables."""
    return "T" + uuid.uuid4().hex[:12]

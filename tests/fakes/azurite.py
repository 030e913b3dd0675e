"""Pytest plugin: real Azurite Table, Queue and Blob services for the session, and a per-test table prefix.

The Queue service starts only when a test asks for it (``azurite_storage_connection_string``), the Blob service
likewise (``azurite_blob_connection_string``: EVAL_SUITES as a blob container).

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
from typing import Any

import pytest

from tests.lanes import require_marker

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_TABLE = REPO_ROOT / "node_modules" / ".bin" / "azurite-table"
AZURITE_QUEUE = REPO_ROOT / "node_modules" / ".bin" / "azurite-queue"
AZURITE_BLOB = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"

# The well-known development account of the storage emulators (https://learn.microsoft.com/azure/storage/common/storage-use-azurite#well-known-storage-account-and-key): public, not a secret.
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


Tables = dict[
    str, list[dict[str, Any]]
]  # table name less its prefix -> its entities, typed as the SDK reads them
BATCH = 100  # operations in one entity group transaction (one partition), Table Storage's limit


def read_tables(connection: str, prefix: str) -> Tables:
    """Every entity of every table whose name starts with ``prefix`` (a run's tables), by the rest of its name."""
    from azure.data.tables import TableServiceClient

    with TableServiceClient.from_connection_string(connection) as service:
        return {
            table.name[len(prefix) :]: [dict(e) for e in service.get_table_client(table.name).list_entities()]
            for table in service.list_tables()
            if table.name.startswith(prefix)
        }


def write_tables(connection: str, prefix: str, tables: Tables) -> None:
    """Create the tables ``read_tables`` read under another prefix, holding the same entities (their Int64,
    DateTime, Guid and Binary properties keep their types; ETags and timestamps are new)."""
    from azure.data.tables import TableServiceClient

    with TableServiceClient.from_connection_string(connection) as service:
        for suffix, entities in tables.items():
            table = service.create_table(prefix + suffix)
            partitions: dict[str, list[dict[str, Any]]] = {}
            for entity in entities:
                partitions.setdefault(str(entity["PartitionKey"]), []).append(entity)
            for rows in partitions.values():
                for start in range(0, len(rows), BATCH):
                    table.submit_transaction([("create", row) for row in rows[start : start + BATCH]])


def queue_endpoint(port: int) -> str:
    return f"http://127.0.0.1:{port}/{DEV_ACCOUNT}"


def _serve(binary: Path, service: str) -> Iterator[int]:
    """Start one Azurite service (``service``: table, queue or blob) in memory on a free loopback port; yield the port."""
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
def azurite_service(azurite_table_port: int) -> str:
    """The session's Table service (azurite-table in memory on a free loopback port): its connection string. Tests
    use ``azurite_connection_string``; session-wide fixtures that need Azurite use this one."""
    return connection_string(azurite_table_port)


@pytest.fixture
def azurite_connection_string(request: pytest.FixtureRequest) -> str:
    """The session's Azurite, for a test marked ``azurite``: unmarked, the test fails (tests/lanes.py), before
    Azurite is started for it."""
    require_marker(request.node, "azurite", "azurite_connection_string")
    connection: str = request.getfixturevalue("azurite_service")
    return connection


@pytest.fixture(scope="session")
def azurite_queue_port() -> Iterator[int]:
    yield from _serve(AZURITE_QUEUE, "queue")


@pytest.fixture
def azurite_storage_connection_string(request: pytest.FixtureRequest) -> str:
    """One storage account with tables and queues, as STATE_STORE and AzureWebJobsStorage name it in Azure (the
    Queue service starts with the first test that asks for it)."""
    require_marker(request.node, "azurite", "azurite_storage_connection_string")
    table: str = request.getfixturevalue("azurite_service")
    queue_port: int = request.getfixturevalue("azurite_queue_port")
    return table + f"QueueEndpoint={queue_endpoint(queue_port)};"


@pytest.fixture
def table_prefix() -> str:
    """A unique table-name prefix, so tests sharing the session's Azurite cannot see each other's tables."""
    return "T" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="session")
def azurite_blob_port() -> Iterator[int]:
    yield from _serve(AZURITE_BLOB, "blob")


@pytest.fixture
def azurite_blob_connection_string(request: pytest.FixtureRequest) -> str:
    """The session's Blob service (the development account, as the queue's): started with the first test that
    asks for it."""
    require_marker(request.node, "azurite", "azurite_blob_connection_string")
    port: int = request.getfixturevalue("azurite_blob_port")
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};"
    )

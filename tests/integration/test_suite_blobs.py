"""EVAL_SUITES as a blob container (#25), on Azurite's Blob service with the development account: the suites
directly under the prefix are read, a malformed one is named with its blob and line and hides no other, a missing
container is a clear error, and a read is kept a while."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from shared.adapters.suite_blobs import BlobSuites
from shared.domain.evals import SuiteError

pytestmark = pytest.mark.azurite

GOOD = """\
description: invoice extraction
deployments: ["contoso-payments/chat-*"]
tests:
  - id: total
    messages:
      - {role: user, content: "Invoice 1182: 2 x 21.05 EUR."}
    assert:
      - {type: contains, value: "42.1"}
"""


@pytest.fixture
def container(azurite_blob_connection_string: str) -> Iterator[Any]:
    from azure.storage.blob import ContainerClient

    client = ContainerClient.from_connection_string(
        azurite_blob_connection_string, f"evals-{uuid.uuid4().hex[:8]}"
    )
    client.create_container()
    try:
        yield client
    finally:
        client.delete_container()


def put(container: Any, name: str, text: str) -> None:
    container.upload_blob(name, text.encode(), overwrite=True)


def test_the_suites_under_the_prefix_are_read_and_a_bad_one_hides_no_other(
    container: Any, azurite_blob_connection_string: str
) -> None:
    put(container, "team-a/invoices.yaml", GOOD)
    put(container, "team-a/broken.yaml", GOOD.replace("type: contains,", "type: contains-ish,"))
    put(container, "team-a/replies.yml", GOOD.replace("chat-*", "reply-*"))
    put(container, "team-a/old/invoices.yaml", GOOD)  # a "sub-folder": not read, as in a folder
    put(container, "team-a/README.md", "# not a suite")
    put(container, "team-b/other.yaml", GOOD)  # outside the prefix
    container.upload_blob("team-a/latin1.yaml", "description: caf\xe9\n".encode("latin-1"), overwrite=True)
    source = BlobSuites.from_connection_string(
        azurite_blob_connection_string, container.container_name, "team-a"
    )
    found = source.read()
    assert [s.name for s in found.suites] == ["invoices.yaml", "replies.yml"]
    where = f"{container.url}/team-a/"
    assert found.suites[0].source == f"{where}invoices.yaml"
    assert [str(p) for p in found.problems] == [
        f"{where}broken.yaml:8: case total: unknown assertion type 'contains-ish'; known: "
        + str(found.problems[0]).split("known: ", 1)[1],
        f"{where}latin1.yaml: cannot be read (not UTF-8 text)",
    ]
    assert found.problems[0].line == 8


def test_a_read_is_kept_for_max_age(container: Any, azurite_blob_connection_string: str) -> None:
    put(container, "a.yaml", GOOD)
    clock = [0.0]
    source = BlobSuites.from_connection_string(
        azurite_blob_connection_string, container.container_name, max_age=60, clock=lambda: clock[0]
    )
    assert [s.name for s in source.read().suites] == ["a.yaml"]
    put(container, "b.yaml", GOOD)
    assert [s.name for s in source.read().suites] == ["a.yaml"]  # kept
    clock[0] = 61
    assert [s.name for s in source.read().suites] == ["a.yaml", "b.yaml"]


def test_a_missing_container_is_a_clear_error(azurite_blob_connection_string: str) -> None:
    source = BlobSuites.from_connection_string(azurite_blob_connection_string, "no-such-container", "x")
    with pytest.raises(SuiteError, match="the container does not exist") as caught:
        source.read()
    assert caught.value.source.endswith("/no-such-container/x/")

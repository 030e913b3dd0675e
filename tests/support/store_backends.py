"""One store contract, every backend: memory (the reference), then the backends of shared/adapters/backends.py
``BACKENDS``, one per set of adapters (the endpoint opens the connection string's Table Storage adapters with a
token instead of a key: one run covers both). How a test gets a STATE_STORE value of each kind is in ``RESOURCES``;
a backend without one fails every contract suite, saying so."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

import pytest

from shared.adapters import backends
from shared.adapters.backends import Options, Port
from shared.config import StoreKind

MEMORY = "memory"


class _Closable(Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True)
class Resource:
    """Where a contract test keeps the state of a backend: STATE_STORE's value and the options to open it."""

    provide: Callable[[pytest.FixtureRequest, pytest.TempPathFactory], tuple[str, Options]]
    marks: tuple[Any, ...] = ()


def _sqlite_file(request: pytest.FixtureRequest, tmp: pytest.TempPathFactory) -> tuple[str, Options]:
    return str(tmp.mktemp("sqlite") / "nested" / "state.db"), Options()


def _azurite(request: pytest.FixtureRequest, tmp: pytest.TempPathFactory) -> tuple[str, Options]:
    prefix: str = request.getfixturevalue("table_prefix")
    return request.getfixturevalue("azurite_connection_string"), Options(table_prefix=prefix)


RESOURCES: dict[StoreKind, Resource] = {
    StoreKind.SQLITE: Resource(_sqlite_file),
    StoreKind.CONNECTION_STRING: Resource(_azurite, marks=(pytest.mark.azurite,)),
}


def tested_kinds() -> list[StoreKind]:
    """The first kind of each set of adapters in BACKENDS."""
    seen: set[object] = set()
    kinds = []
    for kind, backend in backends.BACKENDS.items():
        if backend.adapters not in seen:
            seen.add(backend.adapters)
            kinds.append(kind)
    return kinds


BACKENDS = [
    MEMORY,
    *(pytest.param(k, marks=RESOURCES[k].marks if k in RESOURCES else ()) for k in tested_kinds()),
]

S = TypeVar("S")


def store_factories(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    *,
    port: Port,
    memory: Callable[[], S],
) -> Iterator[Callable[[], S]]:
    """Yields a factory of store instances of ``port`` over one shared backing state (several instances: several
    workers or processes), then closes what it opened. ``request.param`` names the backend."""
    kind = request.param
    if kind == MEMORY:
        shared = memory()
        yield lambda: shared
        return
    resource = RESOURCES.get(kind)
    if resource is None:
        pytest.fail(
            f"tests/support/store_backends.py RESOURCES: say how a contract test gets a STATE_STORE of kind {kind}"
        )
    value, options = resource.provide(request, tmp_path_factory)
    opened: list[S] = []

    def make() -> S:
        opened.append(cast(S, backends.open_store(kind, value, port, options)))
        return opened[-1]

    yield make
    for store in opened:
        cast(_Closable, store).close()  # the SQLite and Table adapters hold a connection

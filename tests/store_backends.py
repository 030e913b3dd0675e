"""One store contract, three backends: memory, SQLite, and Table Storage on Azurite (the contract tests' fixtures)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar, cast

import pytest

BACKENDS = ["memory", "sqlite", pytest.param("table", marks=pytest.mark.azurite)]


class _Closable(Protocol):
    def close(self) -> None: ...


S = TypeVar("S")


def store_factories(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    *,
    memory: Callable[[], S],
    sqlite: Callable[[str], S],
    table: Callable[[str, str], S],
) -> Iterator[Callable[[], S]]:
    """Yields a factory of store instances over one shared backing state (several instances: several workers or
    processes), then closes what it opened. ``request.param`` names the backend."""
    kind: str = request.param
    if kind == "memory":
        shared = memory()
        yield lambda: shared
        return
    opened: list[S] = []
    if kind == "sqlite":
        path = str(tmp_path_factory.mktemp("sqlite") / "nested" / "state.db")

        def make() -> S:
            opened.append(sqlite(path))
            return opened[-1]

    else:
        conn: str = request.getfixturevalue("azurite_connection_string")
        prefix: str = request.getfixturevalue("table_prefix")

        def make() -> S:
            opened.append(table(conn, prefix))
            return opened[-1]

    yield make
    for store in opened:
        cast(_Closable, store).close()  # the SQLite and Table adapters hold a connection

"""How the local stand-ins serve HTTP: on a daemon thread that notices a shutdown within 20 ms; and their recorded
state, which a forked replay copies (tests/support/replay.py).

``socketserver``'s ``serve_forever`` checks for a shutdown request between ``select`` calls of ``poll_interval``
(0.5 s by default), so every ``shutdown()`` waited up to half a second: about 0.5 s of real sleeping per stand-in
in every test that starts one, and 4 s per end-to-end replay (eight stand-ins).
"""

from __future__ import annotations

import copy
import threading
from socketserver import BaseServer
from typing import Any, ClassVar

POLL_INTERVAL = 0.02


def serving_thread(server: BaseServer) -> threading.Thread:
    """The thread that serves ``server`` until its ``shutdown()`` (not started)."""
    return threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL}, daemon=True)


class Restorable:
    """A stand-in whose state (every attribute but its server, thread, lock and routes) can be taken as data and
    put into another instance: what it served, recorded and holds, and what it is scripted to do next."""

    _MACHINERY: ClassVar[frozenset[str]] = frozenset({"_server", "_thread", "_lock", "_routes"})
    _lock: threading.Lock

    def state(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy({k: v for k, v in vars(self).items() if k not in self._MACHINERY})

    def restore(self, state: dict[str, Any]) -> None:
        with self._lock:
            vars(self).update(copy.deepcopy(state))

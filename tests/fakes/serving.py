"""How the local stand-ins serve HTTP: on a daemon thread that notices a shutdown within 20 ms.

``socketserver``'s ``serve_forever`` checks for a shutdown request between ``select`` calls of ``poll_interval``
(0.5 s by default), so every ``shutdown()`` waited up to half a second: about 0.5 s of real sleeping per stand-in
in every test that starts one, and 4 s per end-to-end replay (eight stand-ins).
"""

from __future__ import annotations

import threading
from socketserver import BaseServer

POLL_INTERVAL = 0.02


def serving_thread(server: BaseServer) -> threading.Thread:
    """The thread that serves ``server`` until its ``shutdown()`` (not started)."""
    return threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL}, daemon=True)

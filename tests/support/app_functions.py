"""The function app's functions, indexed once: azure-functions refuses a second get_functions() call."""

from __future__ import annotations

import functools
from typing import Any

from function_app import app


@functools.cache
def functions() -> dict[str, Any]:
    return {f.get_function_name(): f for f in app.get_functions()}

"""httpx, imported without its command-line client.

``httpx/__init__`` imports ``httpx._main`` (the ``httpx`` command's code) on every import; when
``click``, ``rich`` and ``pygments`` are installed (nltk, uvicorn and many tools install them) that
loads all three: about 40 ms of CPU and 5 MB of memory that no library call uses. httpx's own
``__init__`` falls back to a stub when ``_main`` cannot be imported, so this module imports httpx
with ``_main`` unavailable and then puts back a ``httpx.main`` that loads the real command on first
call. Nothing else about httpx changes; the ``httpx`` command runs in its own process, unaffected.
If httpx is imported already (by the application or another library) it is used as it is.
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType
from typing import Any

__all__ = ["load"]

_lock = threading.Lock()


def _main(*args: Any, **kwargs: Any) -> Any:
    """``httpx.main``: the httpx command, loaded when first called."""
    from httpx._main import main

    return main(*args, **kwargs)


def load() -> ModuleType:
    """The ``httpx`` module, imported without its command-line client if not imported yet."""
    if "httpx" not in sys.modules:
        with _lock:
            if "httpx" not in sys.modules:
                _import()
    import httpx  # waits for another thread's import to finish, like any import

    return httpx


def _import() -> None:
    blocked = "httpx._main" not in sys.modules
    if blocked:
        sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx
    finally:
        if blocked and sys.modules.get("httpx._main", 0) is None:
            del sys.modules["httpx._main"]
    if blocked:
        httpx.main = _main  # type: ignore[assignment]

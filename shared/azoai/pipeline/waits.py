"""Who hears that a call waits, and why: the quota pacer holding a request under the deployment's
TPM/RPM, or a 429's ``retry-after``. The embeddings engine listens for its batches and passes
the reason to its progress callback, so a progress bar says "waiting 12 s for quota" instead of
freezing (the reason used to reach only the logs).

The listener lives in a context variable: the engine sets it around each batch (a batch runs in
a copy of the caller's context, on a worker thread or a task), and the pacer and the retry
policy, deep inside the same call, tell it about their waits. Nothing is told when nobody
listens, and waits shorter than :data:`NOTICE` (the pacer's rechecks) are not announced.
"""

from __future__ import annotations

import inspect
import math
import threading
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

__all__ = [
    "NOTICE",
    "ProgressStatus",
    "WaitListener",
    "WaitNotice",
    "alistening",
    "announce",
    "listening",
    "wait_listener",
]

#: ``listener(seconds, reason)``: the call waits ``seconds`` more (``0``: the wait is over);
#: ``reason`` is ``"quota"`` (the pacer) or ``"rate limit"`` (Azure answered 429).
WaitListener = Callable[[float, str], None]

wait_listener: ContextVar[WaitListener | None] = ContextVar("azoai_wait_listener", default=None)

#: Waits shorter than this (seconds) are not announced.
NOTICE = 1.0
#: While a wait lasts, the time left is announced again this often (seconds).
EVERY = 1.0

_T = TypeVar("_T")
_B = TypeVar("_B")


class WaitNotice:
    """Announces one sender's wait to the context's listener: when it starts, every
    :data:`EVERY` seconds while it lasts, and its end."""

    __slots__ = ("_listener", "_telling", "_told_at")

    def __init__(self) -> None:
        self._listener = wait_listener.get()
        self._told_at = -math.inf
        self._telling = False

    def waiting(self, seconds: float, reason: str = "quota") -> None:
        if self._listener is None or seconds < NOTICE:
            return
        now = time.monotonic()
        if now - self._told_at >= EVERY:
            self._told_at, self._telling = now, True
            self._listener(seconds, reason)

    def done(self) -> None:
        if self._telling and self._listener is not None:
            self._telling = False
            self._listener(0.0, "")


def announce(seconds: float, reason: str) -> None:
    """A one-off wait (a retry's sleep) told to the context's listener, if any."""
    listener = wait_listener.get()
    if listener is not None and seconds >= NOTICE:
        listener(seconds, reason)


def listening(listener: WaitListener | None) -> Callable[[Callable[[_B], _T]], Callable[[_B], _T]]:
    """Decorates a function so that ``listener`` hears the waits of the calls it makes."""

    def decorate(fn: Callable[[_B], _T]) -> Callable[[_B], _T]:
        if listener is None:
            return fn

        def run(arg: _B) -> _T:
            token = wait_listener.set(listener)
            try:
                return fn(arg)
            finally:
                wait_listener.reset(token)

        return run

    return decorate


def alistening(
    listener: WaitListener | None,
) -> Callable[[Callable[[_B], Awaitable[_T]]], Callable[[_B], Awaitable[_T]]]:
    """:func:`listening` for a coroutine function."""

    def decorate(fn: Callable[[_B], Awaitable[_T]]) -> Callable[[_B], Awaitable[_T]]:
        if listener is None:
            return fn

        async def run(arg: _B) -> _T:
            token = wait_listener.set(listener)
            try:
                return await fn(arg)
            finally:
                wait_listener.reset(token)

        return run

    return decorate


class ProgressStatus:
    """A progress callback and why its call waits. ``progress(done, total)`` is called after
    each batch; a callback that takes a third argument, ``progress(done, total, status)``, also
    hears why the call waits (``"waiting 12 s for quota"``, or a 429's wait) as soon as a wait
    starts, again each second while it lasts, and ``None`` once it is over. ``counts`` gives
    ``(done, total)`` at any moment."""

    __slots__ = ("_counts", "_lock", "_until", "listener", "progress", "status")

    def __init__(
        self, progress: Callable[..., Any] | None, counts: Callable[[], tuple[int, int]]
    ) -> None:
        self.progress = progress
        self._counts = counts
        self._lock = threading.Lock()
        self.status: str | None = None
        self._until = 0.0  # when the announced wait ends (a 429's sleep announces no end)
        #: what to pass to :func:`listening` (``None``: nobody hears the waits)
        self.listener: WaitListener | None = (
            self._heard if progress is not None and _takes_status(progress) else None
        )

    def _heard(self, seconds: float, reason: str) -> None:
        assert self.progress is not None
        if seconds <= 0:
            status = None
        elif reason == "quota":
            status = f"waiting {math.ceil(seconds)} s for quota"
        else:
            status = f"waiting {math.ceil(seconds)} s: Azure answered 429 ({reason})"
        with self._lock:
            self.status, self._until = status, time.monotonic() + max(0.0, seconds)
            done, total = self._counts()
            self.progress(done, total, status)

    def report(self, done: int, total: int) -> None:
        """A batch is done (a wait another batch is in keeps its status)."""
        if self.progress is None:
            return
        if self.listener is None:
            self.progress(done, total)
            return
        with self._lock:
            if self.status is not None and time.monotonic() >= self._until:
                self.status = None  # the wait is over
            self.progress(done, total, self.status)


def _takes_status(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: call it as documented
        return False
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3

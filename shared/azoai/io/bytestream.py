"""A streamed binary body (synthesised speech) read chunk by chunk under the stream's deadlines:
each read gets until the earlier of the overall deadline (``stream_timeout``) and the idle one
(``stream_idle_timeout`` after the last chunk); ``Content-Encoding`` is undone in bounded pieces
(:class:`~azoai.io.bodies.BodyDecoder`). A body that stops early raises
:class:`~azoai.io.exchange.Cut`, as an SSE stream does; the caller types the error.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from azoai.io.bodies import BodyDecoder, Undecodable, prebuilt
from azoai.io.exchange import Cut, Opened, flavour
from azoai.io.http import reset_deadline, set_deadline

if TYPE_CHECKING:
    from azoai.config.settings import Settings

__all__ = ["abyte_chunks", "byte_chunks"]


class _Clock:
    __slots__ = ("end", "idle", "idle_at", "total")

    def __init__(self, settings: Settings, opened: Opened) -> None:
        t = settings.timeout
        self.idle, self.total, self.end = t.stream_idle, t.stream, opened.end
        self.idle_at = time.monotonic() + self.idle

    def next(self) -> float:
        at = min(self.idle_at, self.end)
        if time.monotonic() >= at:
            raise self.timed_out()
        return at

    def moved(self) -> None:
        self.idle_at = time.monotonic() + self.idle

    def timed_out(self) -> Cut:
        if self.end <= self.idle_at:
            return Cut("total", f"the stream took longer than stream_timeout ({self.total:g} s)")
        return Cut("idle", f"no bytes for {self.idle:g} s (stream_idle timeout)")


def _decoder(opened: Opened) -> BodyDecoder:
    encoding = None if prebuilt(opened.resp) else opened.resp.headers.get("content-encoding")
    try:
        return BodyDecoder(encoding)
    except Undecodable as exc:
        raise Cut("corrupt", f"the body could not be decoded ({exc})") from None


def byte_chunks(settings: Settings, opened: Opened) -> Iterator[bytes]:
    """The decoded bytes of a streamed 2xx body, as they arrive."""
    kind = flavour(type(opened.resp))  # httpx, or httpx2 for a user's httpx2 client
    if prebuilt(opened.resp):  # an in-process transport: the body is in hand
        if opened.resp.content:
            yield opened.resp.content
        return
    clock, decoder = _Clock(settings, opened), _decoder(opened)
    raw = opened.resp.iter_raw()
    while True:
        token = set_deadline(clock.next())
        try:
            chunk = next(raw, None)
        except kind.timeouts:
            raise clock.timed_out() from None
        except kind.drops as exc:
            raise Cut("dropped", f"the connection dropped ({type(exc).__name__})") from None
        finally:
            reset_deadline(token)
        try:
            if chunk is None:
                tail = decoder.flush()
                if tail:
                    yield tail
                return
            clock.moved()
            yield from decoder.feed(chunk)
        except Undecodable as exc:
            raise Cut("corrupt", f"the body could not be decoded ({exc})") from None


async def abyte_chunks(settings: Settings, opened: Opened) -> AsyncIterator[bytes]:
    kind = flavour(type(opened.resp))
    if prebuilt(opened.resp):
        if opened.resp.content:
            yield opened.resp.content
        return
    clock, decoder = _Clock(settings, opened), _decoder(opened)
    raw = opened.resp.aiter_raw()
    while True:
        token = set_deadline(clock.next())
        try:
            chunk = await anext(raw, None)
        except kind.timeouts:
            raise clock.timed_out() from None
        except kind.drops as exc:
            raise Cut("dropped", f"the connection dropped ({type(exc).__name__})") from None
        finally:
            reset_deadline(token)
        try:
            if chunk is None:
                tail = decoder.flush()
                if tail:
                    yield tail
                return
            clock.moved()
            for piece in decoder.feed(chunk):
                yield piece
        except Undecodable as exc:
            raise Cut("corrupt", f"the body could not be decoded ({exc})") from None

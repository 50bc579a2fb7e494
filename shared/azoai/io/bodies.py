"""Response bodies, decoded by azoai itself (gzip, deflate) in bounded pieces: a compressed bomb
is stopped at the size limit (``max_response_bytes``) instead of being inflated whole, and a body
that does not decode is :class:`Undecodable` (the caller turns it into a retryable
:class:`~azoai.errors.CorruptResponseError`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from azoai.wire.sse import TooLarge

if TYPE_CHECKING:
    import httpx

__all__ = ["BodyDecoder", "Undecodable", "aread_body", "prebuilt", "read_body"]

#: Decoded bytes produced per step when inflating, so a bomb is caught within this of the limit.
_PIECE = 256 * 1024


class Undecodable(Exception):
    """A body that does not decode: corrupt compressed data, or an encoding not asked for."""


class BodyDecoder:
    """Undoes ``Content-Encoding`` (identity, gzip, deflate) in pieces of at most ``_PIECE``
    decoded bytes, so the caller can stop at its limit however well the body compresses.
    Raises :class:`Undecodable`."""

    __slots__ = ("_raw_deflate", "_z", "identity")

    def __init__(self, content_encoding: str | None) -> None:
        codings = [
            c.strip().lower() for c in (content_encoding or "").split(",") if c.strip().lower()
        ]
        codings = [c for c in codings if c != "identity"]
        self.identity = not codings
        self._raw_deflate = False
        if not codings:
            self._z: Any = None
        elif codings == ["gzip"] or codings == ["x-gzip"]:
            self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif codings == ["deflate"]:
            self._z = zlib.decompressobj()
            self._raw_deflate = True  # may be raw deflate instead of zlib: decided on first bytes
        else:
            raise Undecodable(f"Content-Encoding {content_encoding!r}, which azoai did not ask for")

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            yield from self._feed(data)
        except zlib.error as exc:
            raise Undecodable(f"corrupt compressed data: {exc}") from None

    def _feed(self, data: bytes) -> Iterator[bytes]:
        z = self._z
        if z is None:
            if data:
                yield data
            return
        if self._raw_deflate:
            self._raw_deflate = False
            try:
                probe = z.copy()
                probe.decompress(data[:2])
            except zlib.error:  # servers send raw deflate under "deflate" as often as zlib
                z = self._z = zlib.decompressobj(-zlib.MAX_WBITS)
        while True:
            if z.eof:
                return  # bytes after the end of the compressed stream are ignored
            out = z.decompress(data, _PIECE)
            data = z.unconsumed_tail
            if out:
                yield out
            if not data and len(out) < _PIECE:
                return

    def flush(self) -> bytes:
        if self._z is None or self._z.eof:
            return b""
        try:
            return self._z.flush(_PIECE)  # type: ignore[no-any-return]
        except zlib.error as exc:
            raise Undecodable(f"corrupt compressed data: {exc}") from None


class _Collector:
    __slots__ = ("limit", "parts", "size")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.size > self.limit:
            self.parts = []
            raise TooLarge(self.limit)
        self.parts.append(piece)


def prebuilt(resp: httpx.Response) -> bool:
    """Whether httpx built the response with its body in hand (``httpx.MockTransport`` and
    other in-process transports): it is read and decoded already, there are no raw bytes."""
    return resp.is_stream_consumed


def read_body(resp: httpx.Response, limit: int) -> bytes:
    """The decoded body, or :class:`TooLarge` past ``limit`` decoded bytes (nothing more than
    ``limit`` plus one piece is ever held). A body that does not decode raises
    :class:`Undecodable`."""
    if prebuilt(resp):
        if len(resp.content) > limit:
            raise TooLarge(limit)
        return resp.content
    encoding = resp.headers.get("content-encoding")
    if not encoding:  # nearly every answer: no decoder, no pieces
        parts: list[bytes] = []
        size = 0
        for raw in resp.iter_raw():
            size += len(raw)
            if size > limit:
                raise TooLarge(limit)
            parts.append(raw)
        return parts[0] if len(parts) == 1 else b"".join(parts)
    decoder = BodyDecoder(encoding)
    out = _Collector(limit)
    for raw in resp.iter_raw():
        for piece in decoder.feed(raw):
            out.add(piece)
    tail = decoder.flush()
    if tail:
        out.add(tail)
    return out.parts[0] if len(out.parts) == 1 else b"".join(out.parts)


async def aread_body(resp: httpx.Response, limit: int) -> bytes:
    if prebuilt(resp):
        if len(resp.content) > limit:
            raise TooLarge(limit)
        return resp.content
    encoding = resp.headers.get("content-encoding")
    if not encoding:
        parts: list[bytes] = []
        size = 0
        async for raw in resp.aiter_raw():
            size += len(raw)
            if size > limit:
                raise TooLarge(limit)
            parts.append(raw)
        return parts[0] if len(parts) == 1 else b"".join(parts)
    decoder = BodyDecoder(encoding)
    out = _Collector(limit)
    async for raw in resp.aiter_raw():
        for piece in decoder.feed(raw):
            out.add(piece)
    tail = decoder.flush()
    if tail:
        out.add(tail)
    return out.parts[0] if len(out.parts) == 1 else b"".join(out.parts)

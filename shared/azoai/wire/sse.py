"""Server-sent events framing, pure (no I/O): decoded stream bytes to lines
(:class:`LineSplitter`, bounded per line and per event), lines to each event's ``data``
(:class:`SSEDecoder`, :func:`iter_sse`, :func:`aiter_sse`). The transport feeds it the bytes it
reads; the dialects parse the ``data`` payloads. Both classes run once per streamed chunk, so
they keep to slots and plain bytes/str operations.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator

__all__ = ["LineSplitter", "SSEDecoder", "TooLarge", "aiter_sse", "iter_sse"]


class TooLarge(Exception):
    """A body or stream line went past its limit (the client turns it into a typed error).
    Defined here, beside the line splitter, and raised by the transport's body reader too."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"more than {limit} bytes")


class LineSplitter:
    """Splits decoded stream bytes into lines (``\\n``, ``\\r\\n`` or ``\\r``, as SSE allows),
    raising :class:`TooLarge` when one line, or one event's lines together, exceed ``limit``."""

    __slots__ = ("cr", "event", "limit", "pending", "size")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pending: list[bytes] = []
        self.size = 0  # bytes in pending
        self.event = 0  # bytes in the lines of the event being read
        self.cr = False  # the last line ended with "\r": a "\n" opening the next data is its end

    def feed(self, data: bytes) -> list[bytes]:
        if self.cr:
            self.cr = False
            if data[:1] == b"\n":
                data = data[1:]
        last = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if last < 0:
            self.size += len(data)
            if self.size > self.limit or self.event + self.size > self.limit:
                raise TooLarge(self.limit)
            if data:
                self.pending.append(data)
            return []
        head, tail = data[: last + 1], data[last + 1 :]
        if self.pending:
            self.pending.append(head)
            head = b"".join(self.pending)
        self.cr = head[-1:] == b"\r"
        lines = head.splitlines()
        self.pending = [tail] if tail else []
        self.size = len(tail)
        event = self.event
        for line in lines:
            if line:
                event += len(line)
                if event > self.limit:
                    raise TooLarge(self.limit)
            else:
                event = 0
        self.event = event
        if self.size > self.limit:
            raise TooLarge(self.limit)
        return lines

    def flush(self) -> list[bytes]:
        if not self.pending:
            return []
        line = b"".join(self.pending)
        self.pending = []
        return [line]


class SSEDecoder:
    """Incremental SSE decoder: yields the ``data`` of each event (multi-line data joined)."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data: list[str] = []

    def feed(self, line: str) -> str | None:
        if not line:
            if self.data:
                out = "\n".join(self.data)
                self.data = []
                return out
            return None
        if line[0] == ":":
            return None
        if line.startswith("data:"):
            value = line[5:]
            self.data.append(value[1:] if value.startswith(" ") else value)
        # "event:", "id:", "retry:" and unknown fields carry nothing the dialects need
        return None

    def flush(self) -> str | None:
        if self.data:
            out = "\n".join(self.data)
            self.data = []
            return out
        return None


def iter_sse(lines: Iterable[str]) -> Iterator[str]:
    """The ``data`` payloads of an SSE stream, in order."""
    sse = SSEDecoder()
    for line in lines:
        out = sse.feed(line.rstrip("\r"))
        if out is not None:
            yield out
    tail = sse.flush()
    if tail is not None:
        yield tail


async def aiter_sse(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """:func:`iter_sse` over an async stream of lines."""
    sse = SSEDecoder()
    async for line in lines:
        out = sse.feed(line.rstrip("\r"))
        if out is not None:
            yield out
    tail = sse.flush()
    if tail is not None:
        yield tail

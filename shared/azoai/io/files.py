"""File transfers and resource-level requests (the Files and Batches APIs), one attempt each.

:class:`FileTransport` is the :class:`~azoai.io.transport.Transport` of the Batch API. It sends
one :class:`FileRequest` once over the client's :class:`~azoai.io.http.Connection` (the same
socket pool, request slots, credential headers and host check as every call, see
:class:`~azoai.io.exchange.HttpTransport`) and reports an :data:`~azoai.io.transport.Outcome`:

* a small JSON request (``GET``/``POST``/``DELETE``): its body, read within ``max_response_bytes``;
* an upload: ``multipart/form-data`` streamed from a file on disk in pieces (``Content-Length``
  known up front, so nothing is buffered whole), the form fields first;
* a download: the body streamed to a file on disk in pieces, decoded (gzip, deflate) as it
  arrives, so a file of any size costs a few hundred kilobytes of memory.

A transfer is bounded like a stream: ``stream_timeout`` for the whole attempt and
``stream_idle_timeout`` for each read or write. Retrying is the request loop's business: a
failed download is started again from the beginning (the partial file is truncated).
"""

from __future__ import annotations

import builtins
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azoai.io import _httpx
from azoai.io.bodies import BodyDecoder, Undecodable
from azoai.io.exchange import (
    HttpRequest,
    HttpTransport,
    Reply,
    _abody_or_empty,
    _body_or_empty,
    _NoSlot,
)
from azoai.io.http import async_slots, reset_deadline, set_deadline, sync_slots
from azoai.io.transport import Ok, Outcome, Status
from azoai.wire.sse import TooLarge

if TYPE_CHECKING:
    import httpx

    from azoai.config.settings import Settings
    from azoai.io.http import Connection

__all__ = ["Downloaded", "FileRequest", "FileTransport", "Upload"]

#: Bytes read from disk (and sent) per piece of an upload.
_PIECE = 256 * 1024


@dataclass(frozen=True, slots=True)
class Upload:
    """A file on disk sent as the ``file`` part of a multipart form, after ``fields``."""

    path: str
    filename: str
    fields: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/jsonl"


@dataclass(frozen=True, slots=True)
class FileRequest:
    """One request. ``body`` is a JSON body; ``upload`` a multipart upload; ``download_to`` a
    path the 2xx body is written to. ``label`` names what the request is for, in messages."""

    method: str
    url: str
    label: str
    body: bytes | None = None
    upload: Upload | None = None
    download_to: str | None = None


@dataclass(slots=True)
class Downloaded:
    """A body written to ``path``: ``size`` decoded bytes."""

    path: str
    size: int


def _form_head(upload: Upload, boundary: str) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in upload.fields
    ]
    safe = upload.filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{safe}"\r\n'
        f"Content-Type: {upload.content_type}\r\n\r\n"
    )
    return "".join(parts).encode("utf-8")


def _pieces(path: str, head: bytes, tail: bytes) -> Iterator[bytes]:
    yield head
    with open(path, "rb") as fh:
        while piece := fh.read(_PIECE):
            yield piece
    yield tail


async def _apieces(path: str, head: bytes, tail: bytes) -> AsyncIterator[bytes]:
    import asyncio

    yield head
    fh = await asyncio.to_thread(open, path, "rb")
    try:
        while piece := await asyncio.to_thread(fh.read, _PIECE):
            yield piece
    finally:
        fh.close()
    yield tail


class FileTransport:
    """Sends :class:`FileRequest` s over a connection (see the module docstring)."""

    def __init__(self, settings: Settings, connection: Connection) -> None:
        self.settings = settings
        self.connection = connection
        self.http = HttpTransport(settings, connection)  # headers, host check, failure typing

    # -- building --------------------------------------------------------------------------------

    def _timeout(self) -> Any:
        import httpx

        t = self.settings.timeout
        idle = t.stream_idle
        return httpx.Timeout(connect=t.connect, read=idle, write=idle, pool=idle)

    def _build(self, http: Any, req: FileRequest, auth: dict[str, str], content: Any) -> Any:
        headers = self.http.headers(auth, None)
        if req.upload is not None:
            boundary, size = content[1], content[4]
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
            headers["Content-Length"] = str(size)
            content = content[0]
        elif req.body is None:
            headers.pop("Content-Type", None)
        if req.download_to is not None:
            headers["Accept"] = "*/*"
        return http.build_request(
            req.method, req.url, content=content, headers=headers, timeout=self._timeout()
        )

    def _form(self, upload: Upload) -> tuple[bytes, bytes, str, int]:
        boundary = f"azoai-{uuid.uuid4().hex}"
        head = _form_head(upload, boundary)
        tail = f"\r\n--{boundary}--\r\n".encode()
        return head, tail, boundary, len(head) + os.path.getsize(upload.path) + len(tail)

    def _failure(self, req: FileRequest, exc: Exception, budget: float) -> Outcome:
        return self.http._failure(HttpRequest(req.url, b"", True, req.label), exc, budget)

    # -- one attempt -----------------------------------------------------------------------------

    def send(self, req: FileRequest) -> Outcome:
        _httpx.load()
        import httpx

        conn = self.connection
        http = conn.sync_client()
        slots = sync_slots(http)
        self.http.check_host(req.url)
        budget = self.settings.timeout.stream
        end = time.monotonic() + budget
        try:
            auth = conn.auth.headers()
            if req.upload is not None:
                head, tail, boundary, size = self._form(req.upload)
                content: Any = (_pieces(req.upload.path, head, tail), boundary, head, tail, size)
            else:
                content = req.body
            if not slots.acquire(timeout=min(budget, self.settings.timeout.stream_idle)):
                return self._failure(req, _NoSlot(), budget)
            token = set_deadline(end)
            try:
                resp = http.send(
                    self._build(http, req, auth, content), stream=True, follow_redirects=False
                )
                try:
                    status, headers = resp.status_code, resp.headers
                    if status < 300 and req.download_to is not None:
                        size = self._save(resp, req.download_to, end)
                        return Ok(Downloaded(req.download_to, size), headers)
                    body = _body_or_empty(resp, self.settings.limits.response_bytes, status)
                finally:
                    resp.close()
            finally:
                reset_deadline(token)
                slots.release()
        except (httpx.TransportError, httpx.DecodingError, Undecodable, OSError) as exc:
            return self._failure(req, _transport_error(exc), budget)
        except TooLarge as exc:
            return self.http._too_large(HttpRequest(req.url, b"", False, req.label), exc.limit)
        return _outcome(status, headers, body, auth)

    async def asend(self, req: FileRequest) -> Outcome:
        import asyncio

        _httpx.load()
        import httpx

        conn = self.connection
        http = conn.async_client()
        slots = async_slots(http)
        self.http.check_host(req.url)
        budget = self.settings.timeout.stream
        end = time.monotonic() + budget
        try:
            auth = await conn.auth.aheaders()
            if req.upload is not None:
                head, tail, boundary, size = self._form(req.upload)
                content: Any = (_apieces(req.upload.path, head, tail), boundary, head, tail, size)
            else:
                content = req.body
            try:
                async with asyncio.timeout(min(budget, self.settings.timeout.stream_idle)):
                    await slots.acquire()
            except builtins.TimeoutError:
                return self._failure(req, _NoSlot(), budget)
            token = set_deadline(end)
            try:
                resp = await http.send(
                    self._build(http, req, auth, content), stream=True, follow_redirects=False
                )
                try:
                    status, headers = resp.status_code, resp.headers
                    if status < 300 and req.download_to is not None:
                        size = await self._asave(resp, req.download_to, end)
                        return Ok(Downloaded(req.download_to, size), headers)
                    body = await _abody_or_empty(resp, self.settings.limits.response_bytes, status)
                finally:
                    await resp.aclose()
            finally:
                reset_deadline(token)
                slots.release()
        except (httpx.TransportError, httpx.DecodingError, Undecodable, OSError) as exc:
            return self._failure(req, _transport_error(exc), budget)
        except TooLarge as exc:
            return self.http._too_large(HttpRequest(req.url, b"", False, req.label), exc.limit)
        return _outcome(status, headers, body, auth)

    # -- downloads -------------------------------------------------------------------------------

    def _read_until(self, end: float) -> float:
        """The deadline of the next read: the idle timeout, within the transfer's deadline."""
        now = time.monotonic()
        if now >= end:
            raise _transfer_timeout()
        return min(end, now + self.settings.timeout.stream_idle)

    def _save(self, resp: httpx.Response, path: str, end: float) -> int:
        decoder = BodyDecoder(resp.headers.get("content-encoding"))
        size = 0
        raw = resp.iter_raw()
        with open(path, "wb") as out:
            while True:
                token = set_deadline(self._read_until(end))
                try:
                    chunk = next(raw, None)
                finally:
                    reset_deadline(token)
                if chunk is None:
                    break
                for piece in decoder.feed(chunk):
                    out.write(piece)
                    size += len(piece)
            tail = decoder.flush()
            out.write(tail)
        return size + len(tail)

    async def _asave(self, resp: httpx.Response, path: str, end: float) -> int:
        import asyncio

        decoder = BodyDecoder(resp.headers.get("content-encoding"))
        size = 0
        raw = resp.aiter_raw()
        out = await asyncio.to_thread(open, path, "wb")
        try:
            while True:
                token = set_deadline(self._read_until(end))
                try:
                    chunk = await anext(raw, None)
                finally:
                    reset_deadline(token)
                if chunk is None:
                    break
                pieces = list(decoder.feed(chunk))
                if pieces:
                    await asyncio.to_thread(out.writelines, pieces)
                    size += sum(len(p) for p in pieces)
            tail = decoder.flush()
            out.write(tail)
        finally:
            out.close()
        return size + len(tail)


def _transfer_timeout() -> Exception:
    _httpx.load()
    import httpx

    return httpx.ReadTimeout("the transfer took longer than stream_timeout")


def _transport_error(exc: Exception) -> Exception:
    """A local disk error is a connection-level failure for typing purposes (it is retried
    once or twice like one, then reported with its message)."""
    if isinstance(exc, OSError) and not isinstance(exc, builtins.TimeoutError):
        _httpx.load()
        import httpx

        return httpx.TransportError(f"{type(exc).__name__}: {exc}")
    return exc


def _outcome(status: int, headers: Any, body: bytes, auth: dict[str, str]) -> Outcome:
    if status < 300:
        return Ok(Reply(status, headers, body), headers)
    return Status(status, body, headers, auth)

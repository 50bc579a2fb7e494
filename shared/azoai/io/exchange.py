"""One HTTP exchange: the HTTP implementation of :class:`~azoai.io.transport.Transport`.

:class:`HttpTransport` sends one request once under its deadline (connect to last byte, see
:func:`azoai.io.http.set_deadline`), holding one of the pool's request slots, and reports an
:data:`~azoai.io.transport.Outcome`: a 2xx body read within ``max_response_bytes`` (a
:class:`Reply`), a 2xx stream with its body unread (an :class:`Opened`), an error status, or a
typed transport failure. It writes the request's headers, credential included, and checks the
host before any credential is attached. :func:`events` / :func:`aevents` read a stream's SSE
``data`` payloads under the stream's deadlines. Retrying is the request loop's business.
"""

from __future__ import annotations

import builtins
import sys
import time
import uuid
from collections.abc import AsyncGenerator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azoai.config.secrets import header_problem
from azoai.errors import (
    APIConnectionError,
    AzoaiError,
    ConfigError,
    CorruptResponseError,
    ResponseTooLargeError,
    TimeoutError,
)
from azoai.io import _httpx
from azoai.io.bodies import BodyDecoder, Undecodable, aread_body, prebuilt, read_body
from azoai.io.http import (
    MAX_CONNECTIONS,
    USER_AGENT,
    Connection,
    async_slots,
    reset_deadline,
    set_deadline,
    sync_slots,
)
from azoai.io.transport import Failed, Ok, Outcome, Status
from azoai.wire.sse import LineSplitter, SSEDecoder, TooLarge

if TYPE_CHECKING:
    import httpx

    from azoai.config.settings import Settings

__all__ = ["Cut", "HttpRequest", "HttpTransport", "Opened", "Reply", "aevents", "events"]

#: An error body longer than this is cut (its JSON then does not parse: a generic error results).
_ERROR_BODY_LIMIT = 1024 * 1024
#: What azoai decodes itself, in bounded pieces (see :class:`azoai.io.bodies.BodyDecoder`).
_ACCEPT_ENCODING = "gzip, deflate"


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A request to Azure (a JSON POST unless ``method``/``content_type`` say otherwise; a GET or
    DELETE sends no body): ``timeout`` is the call's per-attempt override (``None``: settings);
    ``accept`` replaces ``application/json`` for a binary or text answer (audio, subtitles)."""

    url: str
    body: bytes
    stream: bool
    deployment: str
    timeout: float | None = None
    extra_headers: Mapping[str, str] | None = None
    method: str = "POST"
    content_type: str = "application/json"
    accept: str | None = None


@dataclass(slots=True)
class Reply:
    """A non-streamed answer, its body read within the attempt's deadline and size limit."""

    status_code: int
    headers: httpx.Headers
    content: bytes


class Opened:
    """A streamed answer: 2xx headers arrived, the body unread, a request slot held until
    :meth:`close`."""

    __slots__ = ("_release", "end", "resp")

    def __init__(self, resp: httpx.Response, release: Any, end: float) -> None:
        self.resp = resp
        self._release = release
        self.end = end  # the stream's overall deadline (monotonic)

    def close(self) -> None:
        try:
            self.resp.close()
        finally:
            self._give_back()

    async def aclose(self) -> None:
        try:
            await self.resp.aclose()
        finally:
            self._give_back()

    def _give_back(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


class _NoSlot(Exception):
    """No request slot came free within the attempt's deadline."""


@dataclass(frozen=True, slots=True)
class _Flavour:
    """The httpx-like package a client, response or exception class comes from: httpx, or
    httpx2 (the openai 3 generation) for a user's ``http_client``. Its ``Timeout`` is the one
    type such a client accepts (httpx2 refuses httpx's with a TypeError), and its exceptions
    are the ones it raises, besides httpx's (the deadline backends raise those)."""

    module: Any
    attempt: tuple[type[Exception], ...]  # what an attempt turns into a typed failure
    timeouts: tuple[type[Exception], ...]  # a streamed body's read timed out
    drops: tuple[type[Exception], ...]  # a streamed body's connection failed


_FLAVOURS: dict[type, _Flavour] = {}  # per class: a handful of entries


def flavour(cls: type) -> _Flavour:
    """The :class:`_Flavour` of a client, response or exception class (its MRO's first package
    that has httpx's ``Timeout`` and ``TransportError``; httpx otherwise)."""
    found = _FLAVOURS.get(cls)
    if found is None:
        import httpx

        module: Any = httpx
        for c in cls.__mro__:
            package = sys.modules.get(c.__module__.partition(".")[0])
            if isinstance(getattr(package, "Timeout", None), type) and isinstance(
                getattr(package, "TransportError", None), type
            ):
                module = package
                break
        found = _FLAVOURS[cls] = _Flavour(
            module,
            (
                *{httpx.TransportError, httpx.DecodingError},
                *{module.TransportError, module.DecodingError},
                Undecodable,
                _NoSlot,
            ),
            tuple({httpx.TimeoutException, module.TimeoutException}),
            tuple({httpx.TransportError, module.TransportError}),
        )
    return found


def _body_or_empty(resp: httpx.Response, limit: int, status: int) -> bytes:
    """A 2xx body in full (raising past ``limit`` or on a body that does not decode); an error
    body as far as it reads (up to ``_ERROR_BODY_LIMIT``), ``b""`` when it does not."""
    if status < 300:
        return read_body(resp, limit)
    try:
        return read_body(resp, _ERROR_BODY_LIMIT)
    except (flavour(type(resp)).module.HTTPError, Undecodable, TooLarge):
        return b""


async def _abody_or_empty(resp: httpx.Response, limit: int, status: int) -> bytes:
    if status < 300:
        return await aread_body(resp, limit)
    try:
        return await aread_body(resp, _ERROR_BODY_LIMIT)
    except (flavour(type(resp)).module.HTTPError, Undecodable, TooLarge):
        return b""


def check_extra_headers(extra: Mapping[str, str] | None) -> None:
    """Per-call headers never carry credentials or values that would break the request."""
    for k in extra or ():
        if k.lower() in ("api-key", "authorization"):
            raise ConfigError("extra_headers must not carry credentials", setting="extra_headers")
        problem = header_problem(str(extra[k]))  # type: ignore[index]
        if problem is not None:  # described without the value: it may be a key
            raise ConfigError(f"extra_headers[{k!r}] {problem}", setting=f"extra_headers[{k!r}]")


class HttpTransport:
    """Sends :class:`HttpRequest` s over one :class:`~azoai.io.http.Connection`."""

    def __init__(self, settings: Settings, connection: Connection) -> None:
        self.settings = settings
        self.connection = connection
        # the Timeout per (package, read timeout), built once: httpx's, or httpx2's for a
        # user's httpx2 client
        self._timeouts: dict[tuple[str, float], Any] = {}
        self._checked_urls: set[str] = set()  # URLs already checked against the allowed hosts
        # Headers are per request: clients that differ only in them share one connection.
        self._base_headers: dict[str, str] = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Accept-Encoding": _ACCEPT_ENCODING,
            "Content-Type": "application/json",
            **dict(settings.default_headers),
        }

    # -- building --------------------------------------------------------------------------------

    def headers(self, auth: dict[str, str], extra: Mapping[str, str] | None) -> dict[str, str]:
        h = dict(self._base_headers)
        h["x-ms-client-request-id"] = str(uuid.uuid4())
        if extra:
            check_extra_headers(extra)
            h.update(extra)
        h.update(auth)
        return h

    def budget(self, req: HttpRequest) -> float:
        """Seconds one attempt may take, connect to last byte: ``timeout`` (or the call's), or
        ``stream_timeout`` for a stream (whose events are also bounded by ``stream_idle``)."""
        t = self.settings.timeout
        return t.stream if req.stream else (req.timeout or t.read)

    def _slot_wait(self, req: HttpRequest, budget: float) -> float:
        """How long an attempt waits for a free request slot: within its deadline, and for a
        stream no longer than it would wait for an event."""
        return min(budget, self.settings.timeout.stream_idle) if req.stream else budget

    def _timeout(self, http: Any, req: HttpRequest) -> Any:
        """The per-operation caps, as the client's own package's ``Timeout`` (never a foreign
        one: httpx2 refuses httpx's); the attempt's deadline cuts each operation further."""
        read = self.settings.timeout.stream_idle if req.stream else self.budget(req)
        mod = flavour(type(http)).module
        timeout = self._timeouts.get((mod.__name__, read))
        if timeout is None:
            t = self.settings.timeout
            timeout = self._timeouts[mod.__name__, read] = mod.Timeout(
                connect=t.connect, read=read, write=read, pool=read
            )
        return timeout

    def check_host(self, url: str) -> None:
        if url in self._checked_urls:
            return
        from azoai.io.auth import check_host

        check_host(url, self.connection.allowed_hosts)
        if len(self._checked_urls) < 256:
            self._checked_urls.add(url)

    def _build(self, http: Any, req: HttpRequest, auth: dict[str, str]) -> Any:
        headers = self.headers(auth, req.extra_headers)
        if req.content_type != "application/json":
            headers["Content-Type"] = req.content_type  # multipart/form-data; boundary=...
        if req.accept is not None:
            headers["Accept"] = req.accept
        bodiless = req.method in ("GET", "DELETE")
        if bodiless:
            del headers["Content-Type"]
        return http.build_request(
            req.method,
            req.url,
            content=None if bodiless else req.body,
            headers=headers,
            timeout=self._timeout(http, req),
        )

    # -- failures --------------------------------------------------------------------------------

    def _failure(self, req: HttpRequest, exc: Exception, budget: float) -> Failed:
        """The typed, retryable error for a failed attempt: no slot, a timeout (``budget`` is
        the attempt's deadline), a dropped connection or a body that did not decode."""
        mod = flavour(type(exc)).module  # httpx, or httpx2 for a user's httpx2 client
        dep = req.deployment
        err: AzoaiError
        if isinstance(exc, _NoSlot):
            err = TimeoutError(
                f"no connection came free within the attempt's {budget:g} s: "
                f"{MAX_CONNECTIONS} requests are in flight on this connection pool "
                f"[deployment '{dep}']",
                deployment=dep,
                fix="raise timeout, or send fewer requests at once",
            )
        elif isinstance(exc, mod.TimeoutException):
            t = self.settings.timeout
            limit = (
                f"timeout={budget:g} s for the whole attempt, connect to last byte; "
                f"connect_timeout={t.connect:g} s"
            )
            err = TimeoutError(
                f"timed out talking to Azure ({type(exc).__name__}; {limit}) [deployment '{dep}']",
                deployment=dep,
                fix="raise timeout (a retry gets a fresh deadline), or check the network",
            )
        elif isinstance(exc, Undecodable | mod.DecodingError):
            err = CorruptResponseError(
                f"Azure's response body could not be decoded ({exc}) [deployment '{dep}']",
                deployment=dep,
            )
        else:
            err = APIConnectionError(
                f"connection to Azure failed: {type(exc).__name__}: {exc}", deployment=dep
            )
        return Failed(err)

    @staticmethod
    def _too_large(req: HttpRequest, limit: int) -> Failed:
        dep = req.deployment
        return Failed(
            ResponseTooLargeError(
                f"the response from deployment '{dep}' is larger than max_response_bytes "
                f"({limit:,} bytes, counted decompressed)",
                setting="max_response_bytes",
                limit=limit,
                deployment=dep,
                fix="raise max_response_bytes ([limits] response_bytes), or ask for less per "
                "call (a smaller embeddings batch)",
            ),
            final=True,
        )

    # -- one attempt -----------------------------------------------------------------------------

    def send(self, req: HttpRequest) -> Outcome:
        _httpx.load()
        conn = self.connection
        http = conn.sync_client()
        slots = sync_slots(http)
        self.check_host(req.url)
        budget = self.budget(req)
        end = time.monotonic() + budget
        try:
            auth = conn.auth.headers()
            if not slots.acquire(timeout=self._slot_wait(req, budget)):
                raise _NoSlot
            opened: Opened | None = None
            token = set_deadline(end)
            try:
                resp = http.send(self._build(http, req, auth), stream=True, follow_redirects=False)
                try:
                    status, headers = resp.status_code, resp.headers
                    if req.stream and status < 300:
                        opened = Opened(resp, slots.release, end)
                        content = b""
                    else:
                        content = _body_or_empty(resp, self.settings.limits.response_bytes, status)
                finally:
                    if opened is None:
                        resp.close()
            finally:
                reset_deadline(token)
                if opened is None:
                    slots.release()
        except flavour(type(http)).attempt as exc:
            return self._failure(req, exc, budget)
        except TooLarge as exc:
            return self._too_large(req, exc.limit)
        return self._outcome(status, headers, content, opened, auth)

    async def asend(self, req: HttpRequest) -> Outcome:
        import asyncio

        _httpx.load()
        conn = self.connection
        http = conn.async_client()
        slots = async_slots(http)
        self.check_host(req.url)
        budget = self.budget(req)
        end = time.monotonic() + budget
        try:
            auth = await conn.auth.aheaders()
            if slots.locked():  # wait in line, within the attempt's deadline
                try:
                    async with asyncio.timeout(self._slot_wait(req, budget)):
                        await slots.acquire()
                except builtins.TimeoutError:
                    raise _NoSlot from None
            else:
                await slots.acquire()
            opened: Opened | None = None
            token = set_deadline(end)
            try:
                resp = await http.send(
                    self._build(http, req, auth), stream=True, follow_redirects=False
                )
                try:
                    status, headers = resp.status_code, resp.headers
                    if req.stream and status < 300:
                        opened = Opened(resp, slots.release, end)
                        content = b""
                    else:
                        content = await _abody_or_empty(
                            resp, self.settings.limits.response_bytes, status
                        )
                finally:
                    if opened is None:
                        await resp.aclose()
            finally:
                reset_deadline(token)
                if opened is None:
                    slots.release()
        except flavour(type(http)).attempt as exc:
            return self._failure(req, exc, budget)
        except TooLarge as exc:
            return self._too_large(req, exc.limit)
        return self._outcome(status, headers, content, opened, auth)

    @staticmethod
    def _outcome(
        status: int,
        headers: httpx.Headers,
        content: bytes,
        opened: Opened | None,
        auth: dict[str, str],
    ) -> Outcome:
        if status < 300:
            return Ok(opened if opened is not None else Reply(status, headers, content), headers)
        return Status(status, content, headers, auth)


# --- reading a stream ---------------------------------------------------------------------------


class Cut(Exception):
    """Why a stream body stopped early: ``kind`` is ``idle``, ``total`` (deadlines), ``dropped``,
    ``corrupt`` or ``too_large``; the caller raises the typed error."""

    _FIXES: Mapping[str, str] = {
        "idle": "raise stream_idle_timeout",
        "total": "raise stream_timeout",
        "too_large": "raise max_event_bytes ([limits] event_bytes)",
    }

    def __init__(self, kind: str, why: str) -> None:
        self.kind = kind
        self.why = why
        super().__init__(why)

    def fix(self) -> str | None:
        return self._FIXES.get(self.kind)

    def retryable(self, deployment: str) -> AzoaiError:
        """The error for a stream cut before anything reached the caller, which is retried and
        failed over like the same failure of a non-streamed call."""
        message = (
            f"the stream from deployment '{deployment}' stopped before its first chunk: {self.why}"
        )
        if self.kind in ("idle", "total"):
            return TimeoutError(message, deployment=deployment, fix=self.fix())
        if self.kind == "corrupt":
            return CorruptResponseError(message, deployment=deployment)
        return APIConnectionError(message, deployment=deployment)


class _EventReader:
    """Turns a streamed body's raw chunks into SSE ``data`` payloads, bounded: content decoding in
    pieces, one line or event at most ``max_event_bytes``, and the read deadlines (the earlier of
    the overall ``stream_timeout`` and ``stream_idle_timeout`` after the last event line; SSE
    comments such as keep-alives do not move the idle deadline). A failure met in the middle of
    a chunk is raised on the next call, after the payloads before it."""

    __slots__ = ("decoder", "end", "failure", "idle", "idle_at", "lines", "sse", "total")

    def __init__(self, settings: Settings, opened: Opened) -> None:
        t = settings.timeout
        self.idle = t.stream_idle
        self.total = t.stream
        self.end = opened.end
        self.idle_at = time.monotonic() + self.idle
        self.lines = LineSplitter(settings.limits.event_bytes)
        self.sse = SSEDecoder()
        self.failure: Cut | None = None
        self.decoder: BodyDecoder | None = None
        try:
            # a prebuilt body (httpx.MockTransport) comes decoded already
            encoding = (
                None if prebuilt(opened.resp) else opened.resp.headers.get("content-encoding")
            )
            self.decoder = BodyDecoder(encoding)
        except Undecodable as exc:
            self.failure = Cut("corrupt", f"the body could not be decoded ({exc})")

    def next_deadline(self) -> float:
        """The deadline for the next read; raises when it has passed (or a failure is pending),
        which also bounds streams read through a user's own httpx client."""
        if self.failure is not None:
            raise self.failure
        at = self.idle_at if self.idle_at < self.end else self.end
        if time.monotonic() >= at:
            raise self.timed_out()
        return at

    def timed_out(self) -> Cut:
        if self.end <= self.idle_at:
            return Cut("total", f"the stream took longer than stream_timeout ({self.total:g} s)")
        return Cut(
            "idle",
            f"no event for {self.idle:g} s (stream_idle timeout; keep-alive comments do not count)",
        )

    def feed(self, chunk: bytes) -> list[str]:
        out: list[str] = []
        decoder = self.decoder
        assert decoder is not None
        try:
            if decoder.identity:  # the usual case: no generator in between
                self._take((self.lines.feed(chunk),), out)
            else:
                self._take((self.lines.feed(p) for p in decoder.feed(chunk)), out)
        except (Undecodable, TooLarge) as exc:
            self.failure = self._failure(exc)
        return out

    def finish(self) -> list[str]:
        """What is left at the end of the body; a failure met here stays in ``failure``."""
        out: list[str] = []
        assert self.decoder is not None
        try:
            tail = self.decoder.flush()
            self._take(iter([self.lines.feed(tail) if tail else [], self.lines.flush()]), out)
        except (Undecodable, TooLarge) as exc:
            self.failure = self._failure(exc)
            return out
        last = self.sse.flush()
        if last is not None:
            out.append(last)
        return out

    @staticmethod
    def _failure(exc: Exception) -> Cut:
        if isinstance(exc, TooLarge):
            return Cut(
                "too_large", f"an event is larger than max_event_bytes ({exc.limit:,} bytes)"
            )
        return Cut("corrupt", f"the body could not be decoded ({exc})")

    def _take(self, batches: Iterable[list[bytes]], out: list[str]) -> None:
        sse = self.sse
        event_line = False
        try:
            for lines in batches:
                for line in lines:
                    if line and line[0] != 58:  # not a ":" comment (a keep-alive)
                        event_line = True
                    data = sse.feed(line.decode("utf-8", "replace"))
                    if data is not None:
                        out.append(data)
        finally:
            if event_line:
                self.idle_at = time.monotonic() + self.idle


async def _aiter_one(content: bytes) -> AsyncGenerator[bytes, None]:
    yield content


def events(settings: Settings, opened: Opened) -> Iterator[str]:
    """The SSE ``data`` payloads of a streamed body, read under the stream's deadlines: each
    read gets until the earlier of the overall deadline (``stream_timeout``) and the idle one
    (``stream_idle_timeout`` after the last event line; keep-alive comments do not count).
    Raises :class:`Cut` when the body stops early."""
    kind = flavour(type(opened.resp))
    reader = _EventReader(settings, opened)
    raw = iter([opened.resp.content]) if prebuilt(opened.resp) else opened.resp.iter_raw()
    while True:
        at = reader.next_deadline()
        token = set_deadline(at)
        try:
            chunk = next(raw, None)
        except kind.timeouts:
            raise reader.timed_out() from None
        except kind.drops as exc:
            raise Cut("dropped", f"the connection dropped ({type(exc).__name__})") from None
        finally:
            reset_deadline(token)
        if chunk is None:
            yield from reader.finish()
            if reader.failure is not None:
                raise reader.failure
            return
        yield from reader.feed(chunk)


async def aevents(settings: Settings, opened: Opened) -> AsyncGenerator[str, None]:
    kind = flavour(type(opened.resp))
    reader = _EventReader(settings, opened)
    raw = _aiter_one(opened.resp.content) if prebuilt(opened.resp) else opened.resp.aiter_raw()
    while True:
        at = reader.next_deadline()
        token = set_deadline(at)
        try:
            chunk = await anext(raw, None)
        except kind.timeouts:
            raise reader.timed_out() from None
        except kind.drops as exc:
            raise Cut("dropped", f"the connection dropped ({type(exc).__name__})") from None
        finally:
            reset_deadline(token)
        if chunk is None:
            for data in reader.finish():
                yield data
            if reader.failure is not None:
                raise reader.failure
            return
        for data in reader.feed(chunk):
            yield data

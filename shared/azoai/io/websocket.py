"""The Responses API over a WebSocket: the opt-in ``transport="websocket"``.

Azure serves ``wss://{host}/openai/v1/responses``: one socket carries one response at a time;
the client sends ``response.create`` messages with the body of an HTTP create (without
``stream`` and ``background``) and gets the usual stream events back, and the server keeps the
connection's latest response in memory, so a continuation (``previous_response_id``) skips
reloading the conversation. Agent loops with many model-tool round trips are where it pays.

Using it: ``Client(api="responses", transport="websocket", ...)`` (the adapters:
``transport="websocket"`` with the Responses API). ``chat``, ``stream``, ``achat`` and
``astream`` keep their signatures and yield the same :class:`~azoai.wire.StreamDelta` objects and
:class:`~azoai.wire.ChatResult` as over HTTP (the events go through the same Responses dialect).
Only the Responses API, which Azure serves on the v1 route, can use it: anything else is a
:class:`~azoai.errors.ConfigError` naming the fix. It needs openai>=3, whose
``client.responses.connect()`` opens the socket, and the ``websockets`` package
(``pip install "azoai[websocket]"``); openai is imported only when a socket is first needed.

The sockets
-----------
* **Handshake.** The SDK client is built with ``base_url={endpoint}/openai/v1`` (so ``http://``
  loopback endpoints get ``ws://`` and ``https://`` endpoints ``wss://``) and sends only what we
  give it: the credential (an API key as the ``api-key`` header, or ``Authorization: Bearer`` with
  the key if ``key_auth="bearer"``, or in the URL query only with ``key_auth="query"``; Entra as
  ``Authorization: Bearer`` from the core's token cache, fresh for each new socket), the
  ``default_headers`` and the User-Agent. The SDK's own headers (``OpenAI-Organization``, ...)
  are omitted and ``OpenAI-Beta`` is never sent to Azure. ``api-version`` goes in the query when
  it is ``preview``.
* **Identity.** A socket belongs to the fingerprint of its handshake (a SHA-256 of the headers
  and query, never the secret itself). When the credential changes (a rotated key, a refreshed
  token), the next call opens a new socket and the old one is closed once idle.
* **One response in flight per socket.** A call without ``previous_response_id`` that finds every
  socket busy **opens another socket** (it never falls back to HTTP silently: the caller asked for
  the WebSocket). A continuation whose previous response is on a socket that is still busy raises
  :class:`WebSocketBusyError`: the connection-local cache that makes it fast is in use.
* **Lifetime.** With ``close_on_finish`` (the default) a call's socket closes when its response
  finished. With ``close_on_finish=False``, or inside :meth:`~azoai.client.Client.websocket_session`
  (a long-lived session for multi-turn use), sockets stay open between calls (at most
  ``max_idle`` idle ones) until the client or session is closed. An abandoned or cancelled stream
  closes its socket (the server would still be sending), so nothing leaks and the next call gets
  a clean socket.
* **Ends and failures.** ``response.completed``, ``response.incomplete``, ``response.failed`` and
  ``error`` end a response. ``websocket_connection_limit_reached`` (Azure closes sockets after 60
  minutes; sockets older than ``max_age`` are retired first) and a socket that dropped while idle
  are replaced by a fresh socket and the request is sent again, transparently. A socket that drops
  mid-stream raises :class:`~azoai.errors.StreamInterruptedError`, as over HTTP; ``chat`` (which
  shows nothing before the end) retries it under the retry policy. Other ``error`` events become
  the same typed errors as HTTP error responses (429 retried under the retry policy, and so on).

"Full input" and ``previous_response_not_found``
-------------------------------------------------
Azure forgets a response when the socket that held it closes (and with ``store=false`` it keeps
no other copy), so a continuation can fail with ``previous_response_not_found``. The transport
then resends the request once, unchained, with the **full input**, and logs a warning. What that
full input is:

* When the caller sends the whole conversation (what the adapters do by default, and what
  ``use_previous_response_id`` does not do), the request itself is the full input. The transport
  chains by itself (``chain=True``): if the request's items extend the socket's latest response
  (its input plus its output, compared on content: text, tool call names, ids and parsed
  arguments; reasoning items are ignored), only the new items are sent, with that response's id.
  The retry simply sends the request as given.
* When the caller chains explicitly (``previous_response_id`` with only the new messages), the
  transport rebuilds the full input from what it sent and received: it keeps the conversation of
  the last responses it produced (input items plus output items, per response id). The retry
  sends that conversation plus the new items (reasoning items without encrypted content are left
  out: they cannot be resolved without the store). A response id it did not produce (another
  process, an HTTP call) cannot be rebuilt: the error is raised with the fix (send the full
  conversation, or use ``store=true``).

This module opens the sockets (the openai SDK's ``responses.connect()`` and the handshake) and
sends one attempt at a time (:meth:`WebSocketTransport.send`, the
:class:`~azoai.io.transport.Transport` interface); the pools are in :mod:`azoai.io.ws_pool`,
the sockets' state, framing and credential masking in :mod:`azoai.io.ws_state`. Retries, waits, the learn-and-replan step, sessions and the calls
themselves belong to the request loop, in :mod:`azoai.pipeline.websocket`.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import hashlib
import importlib
import inspect
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from azoai.error_reading import error_from_response, kept_headers
from azoai.errors import AzoaiError, ConfigError
from azoai.io.auth import check_host
from azoai.io.http import USER_AGENT
from azoai.io.transport import Again, Failed, Ok, Outcome, Status
from azoai.io.ws_pool import CLOSE_TIMEOUT, Sockets
from azoai.io.ws_state import (
    Interrupted,
    Plan,
    Pool,
    Turn,
    WebSocketBusyError,
    _arecv,
    _connection_error,
    _Handshake,
    _handshake_secrets,
    _io_errors,
    _recv,
    _RedactingLogger,
    _Refused,
    _Socket,
    _why,
    log,
)
from azoai.wire import responses
from azoai.wire.chain import NOT_FOUND, with_unchain_fix
from azoai.wire.common import dumps, loads

if TYPE_CHECKING:
    from azoai.config.settings import Settings
    from azoai.io.http import Connection

__all__ = ["Interrupted", "Plan", "Pool", "Turn", "WebSocketBusyError", "WebSocketTransport"]

SUCCESS = frozenset({"response.completed", "response.incomplete"})
_MAX_ROTATIONS = 3  # connection-limit reconnects for one call
# openai is not a dependency of the core: the websocket extra brings it (openai>=3, websockets).
_FIX_UPGRADE = 'pip install "azoai[websocket]" (openai>=3 with websockets), or use transport="http"'
_OUTCOMES = (Ok, Status, Failed, Again)


class Host(Protocol):
    """What the transport needs from its owner (a :class:`~azoai.client.Client`): the settings
    and the pooled connection, whose credential each handshake carries."""

    @property
    def settings(self) -> Settings: ...

    @property
    def connection(self) -> Connection: ...


class _HasExtraHeaders(Protocol):
    @property
    def extra_headers(self) -> Mapping[str, str] | None: ...


# --- the SDK ----------------------------------------------------------------------------------


def _check_query_key_logging() -> None:
    """openai 2.x logs the WebSocket URL, query string and all, at DEBUG from its own logger
    (``Connecting to ...?api-key=...``); azoai cannot redact another library's records without
    patching its logging, so a key in the query needs an SDK that does not log it."""
    try:
        import openai
    except ImportError:
        raise ConfigError(
            "transport='websocket' needs the openai package", setting="transport", fix=_FIX_UPGRADE
        ) from None

    major = str(getattr(openai, "__version__", "0")).split(".", 1)[0]
    if not major.isdigit() or int(major) < 3:
        raise ConfigError(
            f"websocket key_auth='query' needs openai>=3: openai {openai.__version__} logs the "
            "connection URL, key included, at DEBUG",
            setting="websocket.key_auth",
            fix="use key_auth='header' (the default) or 'bearer', or pip install 'openai>=3'",
        )


def _openai() -> Any:
    """The openai module, checked for WebSocket support (openai>=3 with websockets)."""
    try:
        openai = importlib.import_module("openai")
        resources = importlib.import_module("openai.resources.responses")
    except ImportError:
        raise ConfigError(
            "transport='websocket' needs the openai package", setting="transport", fix=_FIX_UPGRADE
        ) from None
    if not callable(getattr(resources.Responses, "connect", None)):
        version = getattr(openai, "__version__", "?")
        raise ConfigError(
            f"transport='websocket' needs openai>=3 (client.responses.connect()); openai {version} "
            "is installed",
            setting="transport",
            fix=_FIX_UPGRADE,
        )
    try:
        importlib.import_module("websockets")
    except ImportError:
        raise ConfigError(
            "transport='websocket' needs the websockets package",
            setting="transport",
            fix=_FIX_UPGRADE,
        ) from None
    return openai


@functools.cache
def _sync_legacy() -> bool:
    """Whether websockets' sync ``connect`` takes ``legacy=`` (17+ warns without it when the
    connection is not used as a context manager, which is how the SDK holds it)."""
    from websockets.sync.client import connect

    return "legacy" in inspect.signature(connect).parameters


# --- the transport ------------------------------------------------------------------------------


class WebSocketTransport(Sockets):
    """The Responses API over WebSockets for one :class:`~azoai.client.Client`: its sockets and
    one attempt at a time (a :class:`~azoai.io.transport.Transport` of :class:`Turn`)."""

    def __init__(self, host: Host) -> None:
        settings = host.settings
        if settings.api != "responses" or settings.route != "v1":
            raise ConfigError(
                "the WebSocket transport works only with the Responses API on the v1 route; set "
                "api='responses' (use_responses_api=True in the adapters), or use transport='http'",
                setting="transport",
            )
        super().__init__(settings.websocket)
        self.host = host
        self._sdk_sync: Any = None
        self._sdk_async: Any = None
        #: Sockets opened so far (for tests and ``azoai doctor``-style diagnostics).
        self.sockets_opened = 0

    def __repr__(self) -> str:
        return f"WebSocketTransport({self.host.settings.endpoint.base!r}, opened={self.sockets_opened})"

    @property
    def url(self) -> str:
        return f"{self.host.settings.endpoint.openai_base}/v1/responses"

    def turn(
        self,
        plan: Plan,
        *,
        extra_headers: Mapping[str, str] | None,
        pool: Pool | None,
        timeout: float,
        replayable: bool,
    ) -> Turn:
        """A new call's state; ``replayable`` when nothing is shown before the end (chat)."""
        if self._closed:
            raise AzoaiError("this WebSocket transport is closed", fix="use a new client")
        return Turn(plan, extra_headers, pool or self._pool, timeout, replayable)

    # -- handshake -------------------------------------------------------------------------------

    def _handshake(self, auth: dict[str, str], options: _HasExtraHeaders) -> _Handshake:
        s = self.host.settings
        headers: dict[str, str] = {"User-Agent": USER_AGENT, **dict(s.default_headers)}
        for name, value in (options.extra_headers or {}).items():
            if name.lower() in ("api-key", "authorization"):
                raise ConfigError(
                    "extra_headers must not carry credentials", setting="extra_headers"
                )
            headers[name] = value
        query: dict[str, str] = {}
        q = s.api_version.query_value
        if q:
            query["api-version"] = q
        key = auth.get("api-key")
        if key is not None:
            mode = self.options.key_auth
            if mode == "header":
                headers["api-key"] = key
            elif mode == "bearer":
                headers["Authorization"] = f"Bearer {key}"
            else:
                _check_query_key_logging()
                query["api-key"] = key
        else:
            headers.update(auth)
        digest = hashlib.sha256()
        for name, value in sorted((k.lower(), v) for k, v in headers.items()):
            digest.update(f"h\0{name}\0{value}\0".encode())
        for name, value in sorted(query.items()):
            digest.update(f"q\0{name}\0{value}\0".encode())
        return _Handshake(headers, query, digest.hexdigest()[:32])

    def _sdk(self, is_async: bool) -> Any:
        with self._lock:
            existing = self._sdk_async if is_async else self._sdk_sync
            if existing is not None:
                return existing
        openai = _openai()
        cls = openai.AsyncOpenAI if is_async else openai.OpenAI
        # The placeholder key is never sent: every handshake sets Authorization or omits it.
        sdk = cls(
            api_key="azoai-websocket",
            base_url=f"{self.host.settings.endpoint.openai_base}/v1",
            max_retries=0,
        )
        with self._lock:
            if is_async:
                if self._sdk_async is None:
                    self._sdk_async = sdk
                return self._sdk_async
            if self._sdk_sync is None:
                self._sdk_sync = sdk
            return self._sdk_sync

    def _connect_args(self, sdk: Any, hs: _Handshake) -> dict[str, Any]:
        openai = importlib.import_module("openai")
        omit = openai.Omit()
        mine = {k.lower() for k in hs.headers}
        headers: dict[str, Any] = {
            k: omit
            for k in [*sdk.auth_headers, *sdk.default_headers, "OpenAI-Beta"]
            if k.lower() not in mine
        }
        headers.update(hs.headers)
        t = self.host.settings.timeout
        options: dict[str, Any] = {
            "open_timeout": t.connect,
            "close_timeout": CLOSE_TIMEOUT,
            "max_size": None,
            # websockets logs the handshake, credentials included, to "websockets.client" unless
            # given a logger: ours masks them (see _RedactingLogger).
            "logger": _RedactingLogger(_handshake_secrets(hs.headers, hs.query)),
        }
        if not isinstance(sdk, importlib.import_module("openai").AsyncOpenAI) and _sync_legacy():
            options["legacy"] = True  # websockets>=17: the SDK holds the connection itself
        return {
            "extra_query": dict(hs.query),
            "extra_headers": headers,
            "websocket_connection_options": options,
        }

    def _opened(self, sock: _Socket) -> None:
        ws = getattr(sock.conn, "_connection", None)
        response = getattr(ws, "response", None)
        raw = getattr(response, "headers", None)
        sock.headers = kept_headers(dict(raw.raw_items())) if raw is not None else {}
        with self._lock:
            self.sockets_opened += 1

    @staticmethod
    def _refused(exc: BaseException) -> _Refused | None:
        from websockets.exceptions import InvalidStatus

        if isinstance(exc, InvalidStatus):
            r = exc.response
            return _Refused(
                r.status_code,
                bytes(r.body or b""),
                {k.lower(): v for k, v in r.headers.raw_items()},
            )
        return None

    def _connect(self, sock: _Socket, hs: _Handshake) -> None:
        self._check_host()
        sdk = self._sdk(False)
        try:
            sock.conn = sdk.responses.connect(**self._connect_args(sdk, hs)).enter()
        except _io_errors() as exc:
            refused = self._refused(exc)
            if refused is not None:
                raise refused from None
            raise
        self._opened(sock)

    async def _aconnect(self, sock: _Socket, hs: _Handshake) -> None:
        self._check_host()
        sdk = self._sdk(True)
        try:
            sock.conn = await sdk.responses.connect(**self._connect_args(sdk, hs)).enter()
        except _io_errors() as exc:
            refused = self._refused(exc)
            if refused is not None:
                raise refused from None
            raise
        self._opened(sock)

    def _check_host(self) -> None:
        """The credential goes only to the configured endpoint (as over HTTP)."""
        check_host(self.host.settings.endpoint.base, self.host.connection.allowed_hosts)

    def _error(self, turn: Turn, status: int, content: bytes) -> AzoaiError:
        """The typed error for an ``error`` event Azure sent instead of a response."""
        s = self.host.settings
        return error_from_response(
            status,
            content,
            {},
            deployment=turn.plan.deployment,
            route=s.route,
            api_version=s.api_version.value,
        )

    def _on_error(
        self, turn: Turn, sock: _Socket, event: Mapping[str, Any], started: bool
    ) -> Outcome:
        """An ``error`` event, as the attempt's outcome: :class:`Again` to reconnect (the
        connection limit) or to resend the full input (``previous_response_not_found``), else
        the :class:`Status` it carries, for the retry policy."""
        raw = event.get("error")
        err_obj: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        code = err_obj.get("code")
        status = event.get("status")
        status = status if isinstance(status, int) and status >= 400 else 400
        content = dumps({"error": dict(err_obj)})
        turn.healthy = True  # the socket answered: it can be kept
        if turn.sent_previous is not None and turn.sent_previous == sock.last_id:
            sock.forget()  # Azure evicts the response a failed turn continued
        if code == "websocket_connection_limit_reached" and not started:
            turn.rotations += 1
            if turn.rotations <= _MAX_ROTATIONS:
                log.info("azoai: the WebSocket reached its connection limit; reconnecting")
                self._drop(turn)
                return Again("the WebSocket reached its connection limit")
        if code == NOT_FOUND and not started:
            sock.forget()
            if not turn.fresh and turn.full is not None:
                log.warning(
                    "azoai: Azure no longer has response %r (previous_response_not_found); "
                    "resending the full conversation (%d items) without previous_response_id",
                    turn.sent_previous,
                    len(turn.full),
                )
                turn.fresh = True
                return Again("previous_response_not_found: resending the full input")
            return Failed(with_unchain_fix(self._error(turn, status, content)), final=True)
        return Status(status, content, {}, turn.auth)

    def _step(self, turn: Turn, sock: _Socket, raw: bytes, started: bool) -> Any:
        """One received frame: an :data:`Outcome` for an ``error`` event, else the event (the
        socket goes back to its pool when it is the terminal one). Raises a failed response's
        typed error."""
        event = loads(raw)
        kind = event.get("type") if isinstance(event, Mapping) else None
        if kind == "error":
            return self._on_error(turn, sock, event, started)
        if kind == "response.failed":
            sock.forget()
            turn.healthy = True
            responses.parse_event(event)  # raises the typed error, except for a filtered
            turn.done = True  # completion: the stream state raises that one, with its text
        if kind == "response.created":
            created = event.get("response")
            rid = created.get("id") if isinstance(created, Mapping) else None
            sock.inflight_id = rid if isinstance(rid, str) else None
        if kind in SUCCESS:
            self._record(turn, sock, event.get("response"))
            turn.done = True
        return event

    def _done(self, turn: Turn) -> _Socket | None:
        """After the terminal event: release the socket; the socket to close, if any."""
        sock, turn.sock = turn.sock, None
        turn.healthy = False
        if sock is not None and self._release(turn.pool, sock, healthy=True):
            return sock
        return None

    # -- one attempt -------------------------------------------------------------------------------

    def send(self, turn: Turn) -> Outcome:
        """One attempt: a connected socket (the turn's own, or one from the pool, or a new one),
        the ``response.create``, then its events up to the terminal one (``replayable``) or the
        first one (a stream: :meth:`events` yields the rest). :class:`Ok` carries that event."""
        turn.healthy = False
        failed = self._ready(turn)
        if failed is not None:
            return failed
        sock = turn.sock
        assert sock is not None
        text = self._message(turn, sock)
        reused = sock.reused
        try:
            sock.conn.send_raw(text)
            raw = _recv(sock, turn.timeout)
        except _io_errors() as exc:
            self._drop(turn)
            if reused and not isinstance(exc, builtins.TimeoutError):
                return Again("a reused WebSocket had closed while idle")
            return Failed(_connection_error(exc, turn.plan.deployment))
        started = False
        while True:
            step = self._step(turn, sock, raw, started)
            if isinstance(step, _OUTCOMES):
                return step
            if turn.done:
                closing = self._done(turn)
                if closing is not None:
                    self._close(closing)
                return Ok(step, sock.headers)
            if not turn.replayable:
                return Ok(step, sock.headers)
            started = True
            try:
                raw = _recv(sock, turn.timeout)
            except _io_errors() as exc:
                self._drop(turn)
                return Failed(_connection_error(exc, turn.plan.deployment))

    async def asend(self, turn: Turn) -> Outcome:
        turn.healthy = False
        failed = await self._aready(turn)
        if failed is not None:
            return failed
        sock = turn.sock
        assert sock is not None
        text = self._message(turn, sock)
        reused = sock.reused
        try:
            await sock.conn.send_raw(text)
            raw = await _arecv(sock, turn.timeout)
        except _io_errors() as exc:
            await self._adrop(turn)
            if reused and not isinstance(exc, builtins.TimeoutError):
                return Again("a reused WebSocket had closed while idle")
            return Failed(_connection_error(exc, turn.plan.deployment))
        started = False
        while True:
            step = self._step(turn, sock, raw, started)
            if isinstance(step, _OUTCOMES):
                return step
            if turn.done:
                closing = self._done(turn)
                if closing is not None:
                    await self._aclose_socket(closing)
                return Ok(step, sock.headers)
            if not turn.replayable:
                return Ok(step, sock.headers)
            started = True
            try:
                raw = await _arecv(sock, turn.timeout)
            except _io_errors() as exc:
                await self._adrop(turn)
                return Failed(_connection_error(exc, turn.plan.deployment))

    def events(self, turn: Turn) -> Generator[Any, None, None]:
        """A stream's events after the first (:meth:`send` returned it) up to the terminal one.
        Nothing here is retried: a dropped socket raises :class:`Interrupted`, an ``error`` event
        its typed error."""
        while not turn.done and turn.sock is not None:
            sock = turn.sock
            try:
                raw = _recv(sock, turn.timeout)
            except _io_errors() as exc:
                self._drop(turn)
                raise Interrupted(_why(exc, turn.timeout)) from None
            step = self._step(turn, sock, raw, started=True)
            if isinstance(step, Status):
                raise self._error(turn, step.status, step.content)
            if turn.done:
                closing = self._done(turn)
                if closing is not None:
                    self._close(closing)
            yield step

    async def aevents(self, turn: Turn) -> AsyncGenerator[Any, None]:
        while not turn.done and turn.sock is not None:
            sock = turn.sock
            try:
                raw = await _arecv(sock, turn.timeout)
            except _io_errors() as exc:
                await self._adrop(turn)
                raise Interrupted(_why(exc, turn.timeout)) from None
            step = self._step(turn, sock, raw, started=True)
            if isinstance(step, Status):
                raise self._error(turn, step.status, step.content)
            if turn.done:
                closing = self._done(turn)
                if closing is not None:
                    await self._aclose_socket(closing)
            yield step

    def finish(self, turn: Turn) -> None:
        """The call ended (or was abandoned): give back the socket it still holds, closed unless
        it is known to be fine (a consumer that stopped early leaves the server sending)."""
        sock, turn.sock = turn.sock, None
        if sock is not None and self._release(turn.pool, sock, turn.healthy):
            self._close(sock)

    async def afinish(self, turn: Turn) -> None:
        sock, turn.sock = turn.sock, None
        if sock is not None and self._release(turn.pool, sock, turn.healthy):
            await self._aclose_socket(sock)

    def _ready(self, turn: Turn) -> Outcome | None:
        """Put a connected socket for the current credential on ``turn``; the failed
        handshake's outcome, if it failed."""
        auth = self.host.connection.auth.headers()
        hs = self._handshake(auth, turn)
        turn.auth = auth
        if turn.sock is not None:
            if turn.sock.fingerprint == hs.fingerprint and turn.sock.conn is not None:
                return None
            self._drop(turn)  # a new credential (after a 401): a new socket
        sock, stale = self._checkout(turn, hs.fingerprint, None)
        turn.sock = sock
        for s in stale:
            self._close(s)
        if sock.conn is not None:
            return None
        try:
            self._connect(sock, hs)
            return None
        except _Refused as exc:
            self._drop(turn)
            return Status(exc.status, exc.body, exc.headers, auth)
        except _io_errors() as exc:
            self._drop(turn)
            return Failed(_connection_error(exc, turn.plan.deployment))

    async def _aready(self, turn: Turn) -> Outcome | None:
        auth = await self.host.connection.auth.aheaders()
        hs = self._handshake(auth, turn)
        turn.auth = auth
        if turn.sock is not None:
            if turn.sock.fingerprint == hs.fingerprint and turn.sock.conn is not None:
                return None
            await self._adrop(turn)
        sock, stale = self._checkout(turn, hs.fingerprint, asyncio.get_running_loop())
        turn.sock = sock
        for s in stale:
            await self._aclose_socket(s)
        if sock.conn is not None:
            return None
        try:
            await self._aconnect(sock, hs)
            return None
        except _Refused as exc:
            await self._adrop(turn)
            return Status(exc.status, exc.body, exc.headers, auth)
        except _io_errors() as exc:
            await self._adrop(turn)
            return Failed(_connection_error(exc, turn.plan.deployment))

    def close(self) -> None:
        """Close every idle socket now and every busy one when its response ends. Idempotent."""
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools), []
            sdk, self._sdk_sync = self._sdk_sync, None
            # The async SDK client only ever opened sockets (closed with their pools); its HTTP
            # client never connected, so there is nothing to await from sync code.
            self._sdk_async = None
        for pool in pools:
            self.close_pool(pool)
        if sdk is not None:
            sdk.close()

    async def aclose(self) -> None:
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools), []
            sdk, self._sdk_sync = self._sdk_sync, None
            asdk, self._sdk_async = self._sdk_async, None
        for pool in pools:
            await self.aclose_pool(pool)
        if sdk is not None:
            sdk.close()
        if asdk is not None:
            await asdk.close()

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
"""

from __future__ import annotations

import asyncio
import builtins
import contextvars
import functools
import hashlib
import importlib
import inspect
import logging
import re
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from azoai.errors import (
    APIConnectionError,
    AzoaiError,
    ConfigError,
    InvalidResponseError,
    TimeoutError,
    UnsupportedParameterError,
    kept_headers,
)
from azoai.io.http import USER_AGENT
from azoai.io.transport import Status
from azoai.pipeline.policy import Attempts, Call, CallOptions
from azoai.pipeline.streaming import StreamState as _StreamState
from azoai.wire import responses
from azoai.wire.common import dumps, loads
from azoai.wire.types import ChatRequest, ChatResult, StreamDelta

if TYPE_CHECKING:
    from azoai.client import Client
    from azoai.config.settings import WebSocketOptions

__all__ = ["WebSocketBusyError", "WebSocketSession", "WebSocketTransport", "transport_for"]

log = logging.getLogger("azoai.websocket")
#: What the websockets library logs about our sockets (the handshake at DEBUG: request line,
#: every header), through :class:`_RedactingLogger`, never ``websockets.client``.
wire_log = logging.getLogger("azoai.websocket.wire")

_SUCCESS = frozenset({"response.completed", "response.incomplete"})
_HISTORY = 32  # conversations kept for previous_response_not_found retries
_CLOSE_TIMEOUT = 2.0
_MAX_ROTATIONS = 3  # connection-limit reconnects for one call
# openai is not a dependency of the core: the websocket extra brings it (openai>=3, websockets).
_FIX_UPGRADE = 'pip install "azoai[websocket]" (openai>=3 with websockets), or use transport="http"'


class WebSocketBusyError(AzoaiError):
    """A continuation (``previous_response_id``) was sent while the socket holding that response
    is still busy: one response in flight per socket."""


class _Interrupted(Exception):
    """The socket failed mid-stream; the stream consumer turns this into StreamInterruptedError."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class _Refused(Exception):
    """The handshake was answered with an HTTP status instead of the upgrade."""

    def __init__(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = headers


# --- logging without credentials ----------------------------------------------------------------

_MASK = "**********"
#: Header and query names whose values are credentials (api-key, Authorization, APIM keys, ...).
_CREDENTIAL_NAME = re.compile(r"key|token|secret|auth|signature|sig$|cookie|password", re.I)
_HANDSHAKE_LINE = re.compile(r"^([<>] )([!#$%&'*+.^_`|~0-9A-Za-z-]+)(:[ \t]*)(.*)$", re.M)
_QUERY_PAIR = re.compile(r"([?&])([^=&#\s]+)=([^&#\s]*)")


def _handshake_secrets(headers: Mapping[str, str], query: Mapping[str, str]) -> tuple[str, ...]:
    """The credential values one handshake carries, as sent and as URL-encoded, longest first."""
    from urllib.parse import quote, quote_plus

    found: set[str] = set()
    for name, value in [*headers.items(), *query.items()]:
        if not _CREDENTIAL_NAME.search(name) or not value:
            continue
        for v in (value, value.partition(" ")[2]):  # "Bearer <token>": the token alone too
            if len(v) >= 4:
                found.update((v, quote(v, safe=""), quote_plus(v)))
    return tuple(sorted(found, key=len, reverse=True))


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, _MASK)
    text = _HANDSHAKE_LINE.sub(
        lambda m: (
            m.group(1) + m.group(2) + m.group(3) + _MASK
            if _CREDENTIAL_NAME.search(m.group(2))
            else m.group(0)
        ),
        text,
    )
    return _QUERY_PAIR.sub(
        lambda m: (
            f"{m.group(1)}{m.group(2)}={_MASK}"
            if _CREDENTIAL_NAME.search(m.group(2))
            else m.group(0)
        ),
        text,
    )


class _RedactingLogger(logging.LoggerAdapter[logging.Logger]):
    """The logger handed to each WebSocket connection (websockets' ``logger=`` option), so the
    library's records come out under ``azoai.io.websocket.wire`` with every credential masked
    before the record exists: the handshake's key and bearer headers, a key in the query string,
    and any exception text. Nothing of the host's logging is patched or filtered."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__(wire_log, {})
        self._secrets = tuple(secrets)

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = " ".join([str(msg), *map(str, args)])
        exc_info = kwargs.pop("exc_info", None)
        if exc_info:
            if isinstance(exc_info, BaseException):
                exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
            elif not isinstance(exc_info, tuple):
                exc_info = sys.exc_info()
            if exc_info[0] is not None:
                text += "\n" + "".join(traceback.format_exception(*exc_info)).rstrip()
        kwargs["stacklevel"] = int(kwargs.get("stacklevel", 1)) + 1  # the caller in websockets
        self.logger.log(level, "%s", _redact(text, self._secrets), **kwargs)


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


def _io_errors() -> tuple[type[BaseException], ...]:
    """What a socket's handshake, send or receive raises when the connection fails or times out
    (a refused handshake is :class:`websockets.exceptions.InvalidStatus`, among these)."""
    from websockets.exceptions import WebSocketException

    return (WebSocketException, OSError, EOFError, builtins.TimeoutError)


@functools.cache
def _sync_legacy() -> bool:
    """Whether websockets' sync ``connect`` takes ``legacy=`` (17+ warns without it when the
    connection is not used as a context manager, which is how the SDK holds it)."""
    from websockets.sync.client import connect

    return "legacy" in inspect.signature(connect).parameters


def _connection_error(exc: BaseException, deployment: str) -> AzoaiError:
    if isinstance(exc, builtins.TimeoutError):
        return TimeoutError(
            f"timed out talking to Azure over the WebSocket [deployment '{deployment}']",
            deployment=deployment,
        )
    return APIConnectionError(
        f"WebSocket connection to Azure failed: {type(exc).__name__}: {exc}", deployment=deployment
    )


# --- conversation keys (what "extends the previous response" compares) -----------------------


def _key(item: Mapping[str, Any]) -> Any:
    """A comparable form of one input item, or ``None`` for items that do not count (reasoning,
    empty assistant messages). Text parts are joined and tool arguments parsed, so the same
    conversation matches however an adapter re-serialised it."""
    kind = item.get("type", "message")
    if kind in ("reasoning", "item_reference"):
        return None
    if kind == "message":
        content = item.get("content")
        texts: list[str] = []
        others: list[tuple[str, str]] = []
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for part in content:
                if not isinstance(part, Mapping):
                    continue
                ptype = part.get("type")
                if ptype in ("input_text", "output_text", "text"):
                    texts.append(str(part.get("text") or ""))
                elif ptype == "refusal":
                    others.append(("refusal", str(part.get("refusal") or "")))
                else:
                    others.append((str(ptype), dumps(part).decode()))
        text = "".join(texts)
        if item.get("role") == "assistant" and not text and not others:
            return None
        return ("message", item.get("role"), text, tuple(others))
    if kind == "function_call":
        raw = item.get("arguments")
        try:
            args: Any = loads(raw) if isinstance(raw, str) and raw else raw
        except InvalidResponseError:
            args = raw
        return ("function_call", item.get("call_id"), item.get("name"), args)
    if kind == "function_call_output":
        return ("function_call_output", item.get("call_id"), item.get("output"))
    return (str(kind), dumps(item).decode())


def _keys(items: Sequence[Mapping[str, Any]]) -> tuple[list[Any], list[int]]:
    keys: list[Any] = []
    positions: list[int] = []
    for i, item in enumerate(items):
        k = _key(item)
        if k is not None:
            keys.append(k)
            positions.append(i)
    return keys, positions


def _replayable(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items that can be sent without the store: reasoning needs its encrypted content."""
    return [
        i for i in items if i.get("type") != "reasoning" or i.get("encrypted_content") is not None
    ]


# --- sockets and pools ------------------------------------------------------------------------


class _Socket:
    """One WebSocket: the SDK connection, whose credential it carries, and what Azure's
    connection-local cache holds (the latest response and the conversation through it)."""

    __slots__ = (
        "conn",
        "fingerprint",
        "headers",
        "inflight_id",
        "last_id",
        "last_keys",
        "last_model",
        "loop",
        "opened",
        "reused",
        "used",
    )

    def __init__(self, fingerprint: str, loop: asyncio.AbstractEventLoop | None) -> None:
        self.conn: Any = None
        self.fingerprint = fingerprint
        self.loop = loop
        self.opened = self.used = time.monotonic()
        self.headers: dict[str, str] = {}
        self.reused = False
        self.inflight_id: str | None = None
        self.last_id: str | None = None
        self.last_model: str | None = None
        self.last_keys: list[Any] | None = None

    def forget(self) -> None:
        self.last_id = self.last_model = None
        self.last_keys = None


class _Pool:
    """Sockets of the client (``keep_open`` unless ``close_on_finish``) or of one session."""

    __slots__ = ("busy", "closed", "idle", "keep_open")

    def __init__(self, keep_open: bool) -> None:
        self.keep_open = keep_open
        self.idle: list[_Socket] = []
        self.busy: list[_Socket] = []
        self.closed = False


@dataclass(slots=True)
class _Handshake:
    headers: dict[str, str]
    query: dict[str, str]
    fingerprint: str


@dataclass(slots=True)
class _Plan:
    """One request, built once: the body as the caller meant it and the keys of its items."""

    call: Call
    body: dict[str, Any]
    items: list[dict[str, Any]]
    keys: list[Any]
    positions: list[int]
    previous: str | None

    def extends(self, sock: _Socket) -> int | None:
        """Where the new items start when this request continues ``sock``'s latest response
        (its conversation is a proper prefix of ours), else ``None``."""
        known = sock.last_keys
        if sock.last_id is None or known is None or sock.last_model != self.call.deployment:
            return None
        n = len(known)
        if n == 0 or n >= len(self.keys) or self.keys[:n] != known:
            return None
        return self.positions[n - 1] + 1


class _Turn:
    """Per-call state shared by the send/receive loops and their decisions."""

    __slots__ = (
        "attempts",
        "auth",
        "delay",
        "fresh",
        "full",
        "model",
        "options",
        "plan",
        "pool",
        "replayable",
        "request",
        "rotations",
        "sent_previous",
        "sock_headers",
        "timeout",
    )

    def __init__(
        self,
        plan: _Plan,
        request: ChatRequest,
        model: str | None,
        options: CallOptions,
        pool: _Pool,
        attempts: Attempts,
        timeout: float,
        replayable: bool,
    ) -> None:
        self.plan = plan
        self.request = request
        self.model = model
        self.options = options
        self.pool = pool
        self.attempts = attempts
        self.timeout = timeout
        self.replayable = replayable  # chat: nothing was shown yet, a resend is invisible
        self.fresh = False  # after previous_response_not_found: full input, unchained
        self.rotations = 0
        self.delay = 0.0  # seconds to wait before resending, after a retryable error event
        self.auth: dict[str, str] = {}
        self.full: list[dict[str, Any]] | None = None
        self.sent_previous: str | None = None
        self.sock_headers: dict[str, str] = {}


# --- the active sessions ------------------------------------------------------------------------

_ACTIVE: contextvars.ContextVar[tuple[WebSocketSession, ...]] = contextvars.ContextVar(
    "azoai_websocket_sessions", default=()
)


def transport_for(client: Client) -> WebSocketTransport | None:
    """The transport for ``client``'s next call: its own with ``transport="websocket"``, the one
    of a session active in this context, or ``None`` (HTTP)."""
    ws = client._ws
    for session in reversed(_ACTIVE.get()):
        if session.client is client and not session.closed:
            return session.transport
    if client.settings.transport != "websocket":
        return None
    if ws is None:
        with client._conn_lock:
            if client._ws is None:
                client._ws = WebSocketTransport(client)
            ws = client._ws
    return ws


class WebSocketTransport:
    """The Responses API over WebSockets for one :class:`~azoai.client.Client`."""

    def __init__(self, client: Client) -> None:
        settings = client.settings
        if settings.api != "responses" or settings.route != "v1":
            raise ConfigError(
                "the WebSocket transport works only with the Responses API on the v1 route; set "
                "api='responses' (use_responses_api=True in the adapters), or use transport='http'",
                setting="transport",
            )
        self.client = client
        self.options: WebSocketOptions = settings.websocket
        self._lock = threading.Lock()
        self._pool = _Pool(keep_open=not self.options.close_on_finish)
        self._pools: list[_Pool] = [self._pool]
        self._history: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._fingerprint: str | None = None
        self._sdk_sync: Any = None
        self._sdk_async: Any = None
        self._closed = False
        #: Sockets opened so far (for tests and ``azoai doctor``-style diagnostics).
        self.sockets_opened = 0

    def __repr__(self) -> str:
        return f"WebSocketTransport({self.client.settings.endpoint.base!r}, opened={self.sockets_opened})"

    # -- public calls ------------------------------------------------------------------------------

    def chat(
        self,
        request: ChatRequest,
        *,
        model: str | None = None,
        options: CallOptions | None = None,
        pool: _Pool | None = None,
    ) -> ChatResult:
        turn = self._turn(request, model, options, pool, replayable=True)
        final: Any = None
        for event in self._run(turn):
            if event.get("type") in _SUCCESS:
                final = event.get("response")
        return self._result(turn, final)

    async def achat(
        self,
        request: ChatRequest,
        *,
        model: str | None = None,
        options: CallOptions | None = None,
        pool: _Pool | None = None,
    ) -> ChatResult:
        turn = await self._aturn(request, model, options, pool, replayable=True)
        final: Any = None
        events = self._arun(turn)
        try:
            async for event in events:
                if event.get("type") in _SUCCESS:
                    final = event.get("response")
        finally:
            await events.aclose()
        return self._result(turn, final)

    def stream(
        self,
        request: ChatRequest,
        *,
        model: str | None = None,
        options: CallOptions | None = None,
        pool: _Pool | None = None,
    ) -> Generator[StreamDelta, None, None]:
        turn = self._turn(request, model, options, pool, replayable=False)
        state: _StreamState | None = None
        events = self._run(turn)
        try:
            for event in events:
                if state is None:
                    state = _StreamState(turn.plan.call, turn.options, turn.sock_headers)
                delta = state.feed_event(event)
                if delta is not None:
                    yield delta
                if state.done:
                    break
        except (_Interrupted, InvalidResponseError) as exc:
            raise self._interrupted(turn, state, exc) from None
        finally:
            events.close()
        if state is None:
            raise self._interrupted(turn, None, _Interrupted("no event arrived"))
        state.check_complete()

    async def astream(
        self,
        request: ChatRequest,
        *,
        model: str | None = None,
        options: CallOptions | None = None,
        pool: _Pool | None = None,
    ) -> AsyncGenerator[StreamDelta, None]:
        turn = await self._aturn(request, model, options, pool, replayable=False)
        state: _StreamState | None = None
        events = self._arun(turn)
        try:
            async for event in events:
                if state is None:
                    state = _StreamState(turn.plan.call, turn.options, turn.sock_headers)
                delta = state.feed_event(event)
                if delta is not None:
                    yield delta
                if state.done:
                    break
        except (_Interrupted, InvalidResponseError) as exc:
            raise self._interrupted(turn, state, exc) from None
        finally:
            await events.aclose()
        if state is None:
            raise self._interrupted(turn, None, _Interrupted("no event arrived"))
        state.check_complete()

    @staticmethod
    def _interrupted(turn: _Turn, state: _StreamState | None, exc: Exception) -> AzoaiError:
        why = exc.why if isinstance(exc, _Interrupted) else f"a malformed event arrived ({exc})"
        if state is None:
            state = _StreamState(turn.plan.call, turn.options, {})
        return state.interrupted(why)

    def _result(self, turn: _Turn, final: Any) -> ChatResult:
        if final is None:
            raise InvalidResponseError("the WebSocket response ended without a response object")
        result = responses.parse_response(
            final, deployment=turn.plan.call.deployment, headers=turn.sock_headers
        )
        return self.client._finish(result, turn.options, turn.plan.call)

    # -- building a call ---------------------------------------------------------------------------

    def _plan(self, request: ChatRequest, model: str | None) -> _Plan:
        client = self.client
        s = client.settings
        res = client.resolve(model)
        info = client._model_for(res)
        body, notes = responses.build_body(
            request,
            deployment=res.deployment,
            model=info,
            version=s.api_version,
            stream=False,
            strict=s.strict,
            check_version=s.check_api_version,
        )
        for http_only in ("stream", "background", "stream_options"):
            body.pop(http_only, None)  # an HTTP create's options, not a socket's
        items = body.get("input")
        if not isinstance(items, list):
            items = []
        keys, positions = _keys(items)
        previous = body.get("previous_response_id")
        call = Call(res.deployment, "responses", self._url(), b"", info, True, notes)
        return _Plan(call, body, items, keys, positions, previous if previous else None)

    def _url(self) -> str:
        return f"{self.client.settings.endpoint.openai_base}/v1/responses"

    def _make_turn(
        self,
        plan: _Plan,
        request: ChatRequest,
        model: str | None,
        options: CallOptions | None,
        pool: _Pool | None,
        replayable: bool,
    ) -> _Turn:
        opts = options or CallOptions()
        t = self.client.settings.timeout
        timeout = (opts.timeout or t.read) if replayable else t.stream_idle
        attempts = self.client._attempts(plan.call, opts)
        return _Turn(
            plan,
            request,
            model,
            opts,
            pool or self._pool_in_context(),
            attempts,
            timeout,
            replayable,
        )

    def _turn(
        self,
        request: ChatRequest,
        model: str | None,
        options: CallOptions | None,
        pool: _Pool | None,
        *,
        replayable: bool,
    ) -> _Turn:
        self._check_open()
        plan = self._plan(request, model)
        return self._make_turn(plan, request, model, options, pool, replayable)

    async def _aturn(
        self,
        request: ChatRequest,
        model: str | None,
        options: CallOptions | None,
        pool: _Pool | None,
        *,
        replayable: bool,
    ) -> _Turn:
        self._check_open()
        if self.client.settings.discovery is not None and self.client._discovery_stale():
            await asyncio.to_thread(self.client.known_deployments)  # blocking HTTP
        plan = self._plan(request, model)
        return self._make_turn(plan, request, model, options, pool, replayable)

    def _check_open(self) -> None:
        if self._closed:
            raise AzoaiError("this WebSocket transport is closed", fix="use a new client")

    def _pool_in_context(self) -> _Pool:
        for session in reversed(_ACTIVE.get()):
            if session.transport is self and not session.closed:
                return session._pool
        return self._pool

    # -- handshake -------------------------------------------------------------------------------

    def _handshake(self, auth: dict[str, str], options: CallOptions) -> _Handshake:
        s = self.client.settings
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
            base_url=f"{self.client.settings.endpoint.openai_base}/v1",
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
        t = self.client.settings.timeout
        options: dict[str, Any] = {
            "open_timeout": t.connect,
            "close_timeout": _CLOSE_TIMEOUT,
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
        self.client._check_host(self.client.settings.endpoint.base)
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
        self.client._check_host(self.client.settings.endpoint.base)
        sdk = self._sdk(True)
        try:
            sock.conn = await sdk.responses.connect(**self._connect_args(sdk, hs)).enter()
        except _io_errors() as exc:
            refused = self._refused(exc)
            if refused is not None:
                raise refused from None
            raise
        self._opened(sock)

    # -- the pool --------------------------------------------------------------------------------

    def _checkout(
        self, turn: _Turn, fingerprint: str, loop: asyncio.AbstractEventLoop | None
    ) -> tuple[_Socket, list[_Socket]]:
        """A socket for ``turn`` (busy from now on) and the stale idle sockets to close."""
        plan, pool = turn.plan, turn.pool
        now = time.monotonic()
        stale: list[_Socket] = []
        with self._lock:
            if pool.closed or self._closed:
                raise AzoaiError("this WebSocket session is closed", fix="open a new session")
            self._fingerprint = fingerprint
            previous = None if turn.fresh else plan.previous
            if previous is not None:
                for s in pool.busy:
                    if previous in (s.last_id, s.inflight_id):
                        raise WebSocketBusyError(
                            f"cannot continue response {previous!r} now: the WebSocket holding it "
                            "is still busy with a response (one response in flight per socket)",
                            fix="wait for the active stream to finish before sending "
                            "previous_response_id, or send the full conversation without it",
                            deployment=plan.call.deployment,
                        )
            usable: list[_Socket] = []
            for s in pool.idle:
                if s.loop is not loop:
                    if s.loop is not None and s.loop.is_closed():
                        stale.append(s)  # its loop is gone: nothing left to do but drop it
                    else:
                        usable.append(s)
                elif s.fingerprint != fingerprint or now - s.opened >= self.options.max_age:
                    stale.append(s)
                else:
                    usable.append(s)
            pool.idle = usable
            mine = [s for s in usable if s.loop is loop]
            choice: _Socket | None = None
            if previous is not None:
                choice = next((s for s in mine if s.last_id == previous), None)
            elif not turn.fresh and self.options.chain:
                choice = next((s for s in mine if plan.extends(s) is not None), None)
            if choice is None and mine:
                # a socket whose cached response nobody is continuing, least recently used first
                choice = min(mine, key=lambda s: (s.last_id is not None, s.used))
            if choice is not None:
                pool.idle.remove(choice)
                choice.reused = True
            else:
                choice = _Socket(fingerprint, loop)
            pool.busy.append(choice)
        return choice, stale

    def _release(self, pool: _Pool, sock: _Socket, healthy: bool) -> bool:
        """Return ``sock`` to its pool; ``True`` when the caller must close it."""
        with self._lock:
            if sock in pool.busy:
                pool.busy.remove(sock)
            sock.inflight_id = None
            sock.used = time.monotonic()
            keep = (
                healthy
                and sock.conn is not None
                and pool.keep_open
                and not pool.closed
                and not self._closed
                and sock.fingerprint == self._fingerprint
                and sock.used - sock.opened < self.options.max_age
                and sum(1 for s in pool.idle if s.loop is sock.loop) < self.options.max_idle
            )
            if keep:
                pool.idle.append(sock)
        if not keep:
            sock.forget()
        return not keep

    def _record(self, turn: _Turn, sock: _Socket, response: Any) -> None:
        """A response finished on ``sock``: it is now the socket's (and Azure's) latest."""
        rid = response.get("id") if isinstance(response, Mapping) else None
        if not isinstance(rid, str):
            sock.forget()
            return
        sock.last_id = rid
        sock.last_model = turn.plan.call.deployment
        sock.last_keys = None
        if turn.full is None:
            return
        try:
            message = responses.parse_response(response).message
        except AzoaiError:
            return
        conversation = [*turn.full, *responses._items([message])[1]]
        sock.last_keys = _keys(conversation)[0]
        with self._lock:
            self._history[rid] = conversation
            self._history.move_to_end(rid)
            while len(self._history) > _HISTORY:
                self._history.popitem(last=False)

    def _message(self, turn: _Turn, sock: _Socket) -> str:
        """The ``response.create`` to send on ``sock``: chained when it extends the socket's latest
        response, the full input after ``previous_response_not_found``."""
        plan = turn.plan
        body = dict(plan.body)
        if plan.previous is not None:
            with self._lock:
                known = self._history.get(plan.previous)
            turn.full = None if known is None else [*known, *plan.items]
            if turn.fresh and turn.full is not None:
                body["input"] = _replayable(turn.full)
                body.pop("previous_response_id", None)
        else:
            turn.full = plan.items
            cut = None if turn.fresh or not self.options.chain else plan.extends(sock)
            if cut is not None:
                body["input"] = plan.items[cut:]
                body["previous_response_id"] = sock.last_id
        previous = body.get("previous_response_id")
        turn.sent_previous = previous if isinstance(previous, str) else None
        turn.sock_headers = sock.headers
        return dumps({"type": "response.create", **body}).decode("utf-8")

    def _on_error(self, turn: _Turn, sock: _Socket, event: Mapping[str, Any], started: bool) -> str:
        """An ``error`` event: ``"reconnect"``, ``"resend"``, ``"replan"`` or ``"wait"`` (then
        resend after ``turn.delay`` seconds), or raises the typed error."""
        raw = event.get("error")
        err_obj: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        code = err_obj.get("code")
        status = event.get("status")
        status = status if isinstance(status, int) and status >= 400 else 400
        if turn.sent_previous is not None and turn.sent_previous == sock.last_id:
            sock.forget()  # Azure evicts the response a failed turn continued
        if code == "websocket_connection_limit_reached" and not started:
            turn.rotations += 1
            if turn.rotations <= _MAX_ROTATIONS:
                log.info("azoai: the WebSocket reached its connection limit; reconnecting")
                return "reconnect"
        if code == "previous_response_not_found" and not started:
            sock.forget()
            if not turn.fresh and turn.full is not None:
                log.warning(
                    "azoai: Azure no longer has response %r (previous_response_not_found); "
                    "resending the full conversation (%d items) without previous_response_id",
                    turn.sent_previous,
                    len(turn.full),
                )
                turn.fresh = True
                return "resend"
            err = turn.attempts.status_error(
                Status(status, dumps({"error": dict(err_obj)}), {}, {})
            )
            assert err is not None
            err.fix = (
                "Azure keeps a response only on the socket that created it unless it was stored: "
                "send the full conversation without previous_response_id, or use store=True"
            )
            raise err
        err = turn.attempts.status_error(
            Status(status, dumps({"error": dict(err_obj)}), {}, turn.auth)
        )
        if err is None:
            return "reconnect"  # a 401 a fresh token may fix: new credential, new socket
        if started and not turn.replayable:
            raise err
        if isinstance(err, UnsupportedParameterError) and self.client._learn(turn.plan.call, err):
            return "replan"
        turn.delay = turn.attempts.next_delay(err)  # raises when the call must give up
        return "wait"

    # -- the loops -------------------------------------------------------------------------------

    def _ready(self, turn: _Turn) -> _Socket:
        """A connected socket for ``turn`` (opening one under the retry policy if needed)."""
        while True:
            auth = self.client.connection.auth.headers()
            turn.auth = auth
            hs = self._handshake(auth, turn.options)
            sock, stale = self._checkout(turn, hs.fingerprint, None)
            for s in stale:
                self._close(s)
            if sock.conn is not None:
                return sock
            try:
                self._connect(sock, hs)
                return sock
            except _Refused as exc:
                self._discard(turn.pool, sock)
                err = turn.attempts.status_error(Status(exc.status, exc.body, exc.headers, auth))
                if err is None:
                    continue
                time.sleep(turn.attempts.next_delay(err))
            except _io_errors() as exc:
                self._discard(turn.pool, sock)
                time.sleep(
                    turn.attempts.next_delay(_connection_error(exc, turn.plan.call.deployment))
                )

    async def _aready(self, turn: _Turn) -> _Socket:
        loop = asyncio.get_running_loop()
        while True:
            auth = await self.client.connection.auth.aheaders()
            turn.auth = auth
            hs = self._handshake(auth, turn.options)
            sock, stale = self._checkout(turn, hs.fingerprint, loop)
            for s in stale:
                await self._aclose_socket(s)
            if sock.conn is not None:
                return sock
            try:
                await self._aconnect(sock, hs)
                return sock
            except _Refused as exc:
                await self._adiscard(turn.pool, sock)
                err = turn.attempts.status_error(Status(exc.status, exc.body, exc.headers, auth))
                if err is None:
                    continue
                await asyncio.sleep(turn.attempts.next_delay(err))
            except _io_errors() as exc:
                await self._adiscard(turn.pool, sock)
                await asyncio.sleep(
                    turn.attempts.next_delay(_connection_error(exc, turn.plan.call.deployment))
                )

    def _run(self, turn: _Turn) -> Generator[dict[str, Any], None, None]:
        """Send the request and yield its events up to the terminal one, handling reconnects,
        retries and the chain. The socket is released before the terminal event is yielded; a
        consumer that stops early (or an error) closes it."""
        sock: _Socket | None = None
        healthy = False
        try:
            while True:
                if sock is None:
                    sock = self._ready(turn)
                text = self._message(turn, sock)
                reused = sock.reused
                try:
                    sock.conn.send_raw(text)
                    raw = _recv(sock, turn.timeout)
                except _io_errors() as exc:
                    self._discard(turn.pool, sock)
                    sock = None
                    if reused and not isinstance(exc, builtins.TimeoutError):
                        continue  # it died while idle: a fresh socket, at once
                    time.sleep(
                        turn.attempts.next_delay(_connection_error(exc, turn.plan.call.deployment))
                    )
                    continue
                started = False
                while True:
                    event = loads(raw)
                    kind = event.get("type") if isinstance(event, Mapping) else None
                    if kind == "error":
                        healthy = True
                        action = self._on_error(turn, sock, event, started)
                        healthy = False
                        if action == "reconnect":
                            self._discard(turn.pool, sock)
                            sock = None
                        elif action == "replan":
                            turn.plan = self._plan(turn.request, turn.model)
                            turn.attempts.call = turn.plan.call
                        elif action == "wait":
                            time.sleep(turn.delay)
                        break
                    if kind == "response.failed":
                        sock.forget()
                        healthy = True
                        responses.parse_event(event)  # raises the typed error
                    if kind == "response.created":
                        created = event.get("response")
                        rid = created.get("id") if isinstance(created, Mapping) else None
                        sock.inflight_id = rid if isinstance(rid, str) else None
                    if kind in _SUCCESS:
                        self._record(turn, sock, event.get("response"))
                        done, sock = sock, None
                        if self._release(turn.pool, done, healthy=True):
                            self._close(done)
                        yield event
                        return
                    yield event
                    started = True
                    try:
                        raw = _recv(sock, turn.timeout)
                    except _io_errors() as exc:
                        self._discard(turn.pool, sock)
                        sock = None
                        if not turn.replayable:
                            raise _Interrupted(_why(exc, turn.timeout)) from None
                        time.sleep(
                            turn.attempts.next_delay(
                                _connection_error(exc, turn.plan.call.deployment)
                            )
                        )
                        break
        finally:
            if sock is not None and self._release(turn.pool, sock, healthy):
                self._close(sock)

    async def _arun(self, turn: _Turn) -> AsyncGenerator[dict[str, Any], None]:
        sock: _Socket | None = None
        healthy = False
        try:
            while True:
                if sock is None:
                    sock = await self._aready(turn)
                text = self._message(turn, sock)
                reused = sock.reused
                try:
                    await sock.conn.send_raw(text)
                    raw = await _arecv(sock, turn.timeout)
                except _io_errors() as exc:
                    await self._adiscard(turn.pool, sock)
                    sock = None
                    if reused and not isinstance(exc, builtins.TimeoutError):
                        continue
                    await asyncio.sleep(
                        turn.attempts.next_delay(_connection_error(exc, turn.plan.call.deployment))
                    )
                    continue
                started = False
                while True:
                    event = loads(raw)
                    kind = event.get("type") if isinstance(event, Mapping) else None
                    if kind == "error":
                        healthy = True
                        action = self._on_error(turn, sock, event, started)
                        healthy = False
                        if action == "reconnect":
                            await self._adiscard(turn.pool, sock)
                            sock = None
                        elif action == "replan":
                            turn.plan = self._plan(turn.request, turn.model)
                            turn.attempts.call = turn.plan.call
                        elif action == "wait":
                            await asyncio.sleep(turn.delay)
                        break
                    if kind == "response.failed":
                        sock.forget()
                        healthy = True
                        responses.parse_event(event)
                    if kind == "response.created":
                        created = event.get("response")
                        rid = created.get("id") if isinstance(created, Mapping) else None
                        sock.inflight_id = rid if isinstance(rid, str) else None
                    if kind in _SUCCESS:
                        self._record(turn, sock, event.get("response"))
                        done, sock = sock, None
                        if self._release(turn.pool, done, healthy=True):
                            await self._aclose_socket(done)
                        yield event
                        return
                    yield event
                    started = True
                    try:
                        raw = await _arecv(sock, turn.timeout)
                    except _io_errors() as exc:
                        await self._adiscard(turn.pool, sock)
                        sock = None
                        if not turn.replayable:
                            raise _Interrupted(_why(exc, turn.timeout)) from None
                        await asyncio.sleep(
                            turn.attempts.next_delay(
                                _connection_error(exc, turn.plan.call.deployment)
                            )
                        )
                        break
        finally:
            if sock is not None and self._release(turn.pool, sock, healthy):
                await self._aclose_socket(sock)

    # -- closing ---------------------------------------------------------------------------------

    def _discard(self, pool: _Pool, sock: _Socket) -> None:
        self._release(pool, sock, healthy=False)
        self._close(sock)

    async def _adiscard(self, pool: _Pool, sock: _Socket) -> None:
        self._release(pool, sock, healthy=False)
        await self._aclose_socket(sock)

    def _close(self, sock: _Socket) -> None:
        """Close ``sock`` from sync code, whatever loop it belongs to."""
        conn, sock.conn = sock.conn, None
        if conn is None:
            return
        loop = sock.loop
        try:
            if loop is None:
                conn.close()
                return
            if loop.is_closed():
                return
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                loop.create_task(_quiet_aclose(conn))
            elif loop.is_running():
                asyncio.run_coroutine_threadsafe(_quiet_aclose(conn), loop).result(
                    _CLOSE_TIMEOUT + 1
                )
            else:
                loop.run_until_complete(_quiet_aclose(conn))
        except Exception as exc:  # closing is best effort: the socket is gone either way
            log.debug("azoai: closing a WebSocket failed: %r", exc)

    async def _aclose_socket(self, sock: _Socket) -> None:
        if sock.loop is not None and sock.loop is asyncio.get_running_loop():
            conn, sock.conn = sock.conn, None
            if conn is not None:
                await _quiet_aclose(conn)
        else:
            self._close(sock)

    def _close_pool(self, pool: _Pool) -> None:
        with self._lock:
            pool.closed = True
            idle, pool.idle = pool.idle, []
            if pool in self._pools and pool is not self._pool:
                self._pools.remove(pool)
        for s in idle:
            self._close(s)

    async def _aclose_pool(self, pool: _Pool) -> None:
        with self._lock:
            pool.closed = True
            idle, pool.idle = pool.idle, []
            if pool in self._pools and pool is not self._pool:
                self._pools.remove(pool)
        for s in idle:
            await self._aclose_socket(s)

    def _new_pool(self) -> _Pool:
        pool = _Pool(keep_open=True)
        with self._lock:
            self._pools.append(pool)
        return pool

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
            self._close_pool(pool)
        if sdk is not None:
            sdk.close()

    async def aclose(self) -> None:
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools), []
            sdk, self._sdk_sync = self._sdk_sync, None
            asdk, self._sdk_async = self._sdk_async, None
        for pool in pools:
            await self._aclose_pool(pool)
        if sdk is not None:
            sdk.close()
        if asdk is not None:
            await asdk.close()


async def _quiet_aclose(conn: Any) -> None:
    try:
        await conn.close()
    except Exception as exc:
        log.debug("azoai: closing a WebSocket failed: %r", exc)


def _recv(sock: _Socket, timeout: float) -> bytes:
    ws = getattr(sock.conn, "_connection", None)
    if ws is not None:
        data = ws.recv(timeout=timeout, decode=False)
        return data if isinstance(data, bytes) else bytes(data)
    raw: bytes = sock.conn.recv_bytes()
    return raw


async def _arecv(sock: _Socket, idle: float) -> bytes:
    raw: bytes = await asyncio.wait_for(sock.conn.recv_bytes(), idle)
    return raw


def _why(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, builtins.TimeoutError):
        return f"no data for {timeout:.0f} s (stream_idle timeout)"
    return f"the WebSocket dropped ({type(exc).__name__})"


# --- sessions -----------------------------------------------------------------------------------


class WebSocketSession:
    """A long-lived WebSocket session for multi-turn use (``client.websocket_session()``).

    Its sockets stay open between calls, whatever ``close_on_finish`` says, so each turn of an
    agent loop continues the previous response from Azure's connection-local cache. Call
    :meth:`chat` / :meth:`stream` (and the async twins) on it, or activate it with ``with`` /
    ``async with``: inside, the client's own calls (and so an adapter's) go through the session.
    Closing it closes its sockets; a session works with ``transport="http"`` clients too, as long
    as they use the Responses API.
    """

    def __init__(self, client: Client) -> None:
        ws = client._ws
        if ws is None:
            if client.settings.api != "responses":
                raise ConfigError(
                    "a WebSocket session needs the Responses API; set api='responses' "
                    "(use_responses_api=True in the adapters)",
                    setting="api",
                )
            with client._conn_lock:
                if client._ws is None:
                    client._ws = WebSocketTransport(client)
                ws = client._ws
        self.client = client
        self.transport = ws
        self._pool = ws._new_pool()
        self._tokens: list[contextvars.Token[tuple[WebSocketSession, ...]]] = []
        self.closed = False

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self._pool.idle)} idle socket(s)"
        return f"WebSocketSession({state})"

    @property
    def last_response_id(self) -> str | None:
        """The id of the latest response on this session's idle sockets."""
        with self.transport._lock:
            idle = sorted(self._pool.idle, key=lambda s: s.used)
        return idle[-1].last_id if idle else None

    def chat(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> ChatResult:
        return self.transport.chat(request, model=model, options=options, pool=self._pool)

    async def achat(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> ChatResult:
        return await self.transport.achat(request, model=model, options=options, pool=self._pool)

    def stream(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> Generator[StreamDelta, None, None]:
        return self.transport.stream(request, model=model, options=options, pool=self._pool)

    def astream(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> AsyncGenerator[StreamDelta, None]:
        return self.transport.astream(request, model=model, options=options, pool=self._pool)

    def close(self) -> None:
        """Close the session's sockets (idempotent)."""
        self.closed = True
        self.transport._close_pool(self._pool)

    async def aclose(self) -> None:
        self.closed = True
        await self.transport._aclose_pool(self._pool)

    def _activate(self) -> None:
        self._tokens.append(_ACTIVE.set((*_ACTIVE.get(), self)))

    def _deactivate(self) -> None:
        if not self._tokens:
            return
        token = self._tokens.pop()
        try:
            _ACTIVE.reset(token)
        except ValueError:  # exited in another context than entered: drop just this session
            _ACTIVE.set(tuple(s for s in _ACTIVE.get() if s is not self))

    def __enter__(self) -> WebSocketSession:
        self._activate()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._deactivate()
        self.close()

    async def __aenter__(self) -> WebSocketSession:
        self._activate()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._deactivate()
        await self.aclose()

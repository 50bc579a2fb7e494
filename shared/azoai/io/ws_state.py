"""The Responses WebSocket's state and framing: sockets, pools, one call's turn, the conversation
keys that decide chaining, receiving frames, and the logger that masks credentials.

:mod:`azoai.io.websocket` opens the sockets (the SDK and the handshake) and sends one attempt at
a time over them; see its docstring for how the transport behaves.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import re
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from azoai.errors import (
    APIConnectionError,
    AzoaiError,
    InvalidResponseError,
    TimeoutError,
)
from azoai.wire.common import dumps, loads

__all__ = ["Interrupted", "Plan", "Pool", "Turn", "WebSocketBusyError"]

log = logging.getLogger("azoai.websocket")
#: What the websockets library logs about our sockets (the handshake at DEBUG: request line,
#: every header), through :class:`_RedactingLogger`, never ``websockets.client``.
wire_log = logging.getLogger("azoai.websocket.wire")


class WebSocketBusyError(AzoaiError):
    """A continuation (``previous_response_id``) was sent while the socket holding that response
    is still busy: one response in flight per socket."""


class Interrupted(Exception):
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


def _io_errors() -> tuple[type[BaseException], ...]:
    """What a socket's handshake, send or receive raises when the connection fails or times out
    (a refused handshake is :class:`websockets.exceptions.InvalidStatus`, among these)."""
    from websockets.exceptions import WebSocketException

    return (WebSocketException, OSError, EOFError, builtins.TimeoutError)


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


class Pool:
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
class Plan:
    """One request, built once: the body as the caller meant it and the keys of its items."""

    deployment: str
    body: dict[str, Any]
    items: list[dict[str, Any]]
    keys: list[Any]
    positions: list[int]
    previous: str | None

    @classmethod
    def of(cls, body: dict[str, Any], deployment: str) -> Plan:
        """The plan for a Responses create ``body`` (an HTTP body: its HTTP-only options go)."""
        for http_only in ("stream", "background", "stream_options"):
            body.pop(http_only, None)  # an HTTP create's options, not a socket's
        items = body.get("input")
        if not isinstance(items, list):
            items = []
        keys, positions = _keys(items)
        previous = body.get("previous_response_id")
        return cls(deployment, body, items, keys, positions, previous if previous else None)

    def extends(self, sock: _Socket) -> int | None:
        """Where the new items start when this request continues ``sock``'s latest response
        (its conversation is a proper prefix of ours), else ``None``."""
        known = sock.last_keys
        if sock.last_id is None or known is None or sock.last_model != self.deployment:
            return None
        n = len(known)
        if n == 0 or n >= len(self.keys) or self.keys[:n] != known:
            return None
        return self.positions[n - 1] + 1


class Turn:
    """One call's state across its attempts: the request, the socket it holds between attempts
    (so a resend after an error event uses the same socket), and what the chain needs."""

    __slots__ = (
        "auth",
        "done",
        "extra_headers",
        "fresh",
        "full",
        "healthy",
        "plan",
        "pool",
        "replayable",
        "rotations",
        "sent_previous",
        "sock",
        "sock_headers",
        "timeout",
    )

    def __init__(
        self,
        plan: Plan,
        extra_headers: Mapping[str, str] | None,
        pool: Pool,
        timeout: float,
        replayable: bool,
    ) -> None:
        self.plan = plan
        self.extra_headers = extra_headers
        self.pool = pool
        self.timeout = timeout
        self.replayable = replayable  # chat: nothing was shown yet, a resend is invisible
        self.fresh = False  # after previous_response_not_found: full input, unchained
        self.rotations = 0
        self.auth: dict[str, str] = {}
        self.full: list[dict[str, Any]] | None = None
        self.sent_previous: str | None = None
        self.sock_headers: dict[str, str] = {}
        self.sock: _Socket | None = None
        self.healthy = False  # the held socket is fine to keep if the call ends now
        self.done = False  # the terminal event arrived and the socket went back to its pool


# --- frames -------------------------------------------------------------------------------------


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

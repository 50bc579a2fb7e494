"""The policies every call obeys, and the value checks they share: :class:`RetryPolicy`,
:class:`Timeouts`, :class:`Limits`, :class:`WebSocketOptions`, booleans and seconds as any source
(argument, config file, environment) may spell them. Each check raises
:class:`~azoai.errors.ConfigError` naming the setting.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from azoai.errors import ConfigError

__all__ = [
    "MAX_SECONDS",
    "MIB",
    "KeyAuth",
    "Limits",
    "RetryPolicy",
    "Timeouts",
    "Transport",
    "WebSocketOptions",
    "number_table",
    "parse_bool",
    "parse_seconds",
]

_TRUE = frozenset({"true", "1", "yes", "on", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "off", "n", "f", ""})


def parse_bool(value: object, *, setting: str) -> bool:
    """``true/1/yes/on`` are true; ``false/0/no/off`` and the empty string are false; anything
    else is a :class:`ConfigError` (never silently true)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in _TRUE:
            return True
        if v in _FALSE:
            return False
    raise ConfigError(
        f"{setting} must be a boolean (true/false, 1/0, yes/no, on/off), got {value!r}",
        setting=setting,
    )


#: The longest wait any setting may ask for (about 115 days): larger values overflow the
#: platform's timers (``socket.settimeout(1e10)`` raises ``OverflowError``).
MAX_SECONDS = 10_000_000.0


def parse_seconds(value: Any, setting: str, *, zero_ok: bool = False) -> float:
    """A finite number of seconds, > 0 (>= 0 with ``zero_ok``) and at most ``MAX_SECONDS``; a
    ``nan`` would compare false against every bound and disable what it configures."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{setting} must be a number of seconds, got {value!r}", setting=setting)
    low_ok = value >= 0 if zero_ok else value > 0
    if not math.isfinite(value) or not low_ok or value > MAX_SECONDS:
        low = ">= 0" if zero_ok else "> 0"
        raise ConfigError(
            f"{setting} must be {low} seconds (a finite number, at most {MAX_SECONDS:,.0f}), "
            f"got {value!r}",
            setting=setting,
        )
    return float(value)


def number_table(values: Mapping[str, Any], section: str) -> dict[str, Any]:
    """A ``[retry]``/``[timeout]``/``[limits]`` table: every value a finite number (not a bool)."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ConfigError(
                f"{section}.{k} must be a number, got {v!r}", setting=f"{section}.{k}"
            )
        if not math.isfinite(v):  # TOML has nan and inf
            raise ConfigError(
                f"{section}.{k} must be a finite number, got {v!r}", setting=f"{section}.{k}"
            )
        out[k] = v
    return out


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The core's one retry layer (the SDK's own retries are off).

    Retries connection errors and 408/429/500/502/503/504 with exponential backoff and jitter,
    honouring ``retry-after-ms`` / ``x-ms-retry-after-ms`` / ``retry-after``. A server wait longer
    than ``max_retry_after`` (quota exhaustion says 86400 s) fails at once with ``retry_after`` set.
    """

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 20.0
    jitter: float = 0.2
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or self.max_retries < 0
        ):
            raise ConfigError(
                f"max_retries must be an integer >= 0, got {self.max_retries!r}",
                setting="max_retries",
            )
        for name in ("initial_delay", "max_delay", "max_retry_after"):
            parse_seconds(getattr(self, name), f"retry.{name}", zero_ok=True)
        if (
            isinstance(self.jitter, bool)
            or not isinstance(self.jitter, int | float)
            or not 0 <= self.jitter <= 1
        ):
            raise ConfigError(
                f"retry.jitter must be a number between 0 and 1, got {self.jitter!r}",
                setting="retry.jitter",
            )


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds, each a deadline for one attempt (a retry gets a fresh one).

    ``read`` (the ``timeout`` argument) bounds a whole non-streamed attempt, from connecting to
    the last byte of the body, however slowly the bytes come; ``connect`` the connection and TLS
    handshake within it. A stream is bounded by ``stream`` (``stream_timeout``) from connecting
    to its last event, and by ``stream_idle`` (``stream_idle_timeout``) between two events
    (SSE keep-alive comments do not count as events)."""

    connect: float = 10.0
    read: float = 120.0
    stream_idle: float = 60.0
    stream: float = 3600.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "stream_idle", "stream"):
            parse_seconds(getattr(self, name), f"timeout.{name}")


MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Bytes. ``response_bytes`` (``max_response_bytes``) bounds a non-streamed response body,
    counted after decompression; ``event_bytes`` (``max_event_bytes``) one stream event (its
    lines together). The defaults hold the largest answers Azure gives: 2048 embeddings of 3072
    dimensions are about 34 MB as base64 (what azoai asks for) and 2048 x 1536 about 75 MB as
    JSON floats (older api-versions); a Responses ``response.completed`` event repeats the whole
    response."""

    response_bytes: int = 128 * MIB
    event_bytes: int = 16 * MIB

    def __post_init__(self) -> None:
        for name, arg in (
            ("response_bytes", "max_response_bytes"),
            ("event_bytes", "max_event_bytes"),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1024:
                raise ConfigError(
                    f"{arg} (limits.{name}) must be a whole number of bytes >= 1024, got {value!r}",
                    setting=arg,
                )


Transport = Literal["http", "websocket"]
KeyAuth = Literal["header", "bearer", "query"]


@dataclass(frozen=True, slots=True)
class WebSocketOptions:
    """How the Responses API's WebSocket transport (``transport="websocket"``) behaves; see
    :mod:`azoai.io.websocket`.

    ``close_on_finish`` closes a call's socket when its response finished (the default); with
    ``False`` sockets stay open for the next call, so continuations hit the connection-local
    cache (or use :meth:`azoai.client.Client.websocket_session`). ``key_auth`` says where an API
    key goes on the handshake: the ``api-key`` header (default), ``Authorization: Bearer``
    (Microsoft's sample) or, only if a proxy needs it, the URL query (keys in URLs end up in
    logs). ``chain`` sends only the new input items with ``previous_response_id`` when a request
    extends the socket's latest response. ``max_age`` (seconds) retires sockets before Azure's
    60-minute limit; ``max_idle`` caps the idle sockets kept open per pool.
    """

    close_on_finish: bool = True
    key_auth: KeyAuth = "header"
    chain: bool = True
    max_age: float = 3300.0
    max_idle: int = 4

    def __post_init__(self) -> None:
        if self.key_auth not in ("header", "bearer", "query"):
            raise ConfigError(
                f"websocket key_auth {self.key_auth!r} is not valid; use 'header' (the api-key "
                "header), 'bearer' (Authorization: Bearer <key>) or 'query'",
                setting="websocket.key_auth",
            )
        parse_seconds(self.max_age, "websocket.max_age")
        if isinstance(self.max_idle, bool) or not isinstance(self.max_idle, int):
            raise ConfigError("websocket max_idle must be an integer", setting="websocket.max_idle")
        if self.max_idle < 0:
            raise ConfigError("websocket max_idle must be >= 0", setting="websocket.max_idle")

    @classmethod
    def coerce(cls, raw: Any) -> WebSocketOptions:
        """From ``None``, an instance, or a mapping (arguments or a ``[websocket]`` table)."""
        if raw is None:
            return cls()
        if isinstance(raw, WebSocketOptions):
            return raw
        if not isinstance(raw, Mapping):
            raise ConfigError(
                "websocket must be a table of WebSocket options "
                "(close_on_finish, key_auth, chain, max_age, max_idle)",
                setting="websocket",
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(
                f"unknown websocket option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                setting=f"websocket.{unknown[0]}",
            )
        values = dict(raw)
        for flag in ("close_on_finish", "chain"):
            if flag in values:
                values[flag] = parse_bool(values[flag], setting=f"websocket.{flag}")
        return cls(**values)

"""The client façade the adapters hold: ``chat``, ``stream``, ``embed`` (and async twins), ``close``.

Everything Azure-specific happens here or below: resolving the deployment, choosing the route
and api-version, shaping parameters for the model family, attaching credentials, retrying,
mapping errors, and turning wire JSON into the neutral types of :mod:`azoai.wire`.

Transport: requests are built from the neutral model and sent with httpx (the HTTP stack the
``openai`` SDK itself is built on); responses and stream chunks are parsed straight into neutral
types. This keeps the per-call and per-chunk cost near a hand-written POST and keeps the SDK's
import cost out of the first call (see the performance notes in the README).
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import math
import random
import re
import sys
import threading
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from azoai.config.catalog import ModelInfo, lookup_model
from azoai.config.deployments import (
    DeploymentDiscovery,
    DeploymentRecord,
    Resolution,
    resolve_deployment,
)
from azoai.config.secrets import header_problem
from azoai.config.settings import Settings
from azoai.config.versions import DEFAULT_DATED_VERSION, REASONING_UNSUPPORTED
from azoai.errors import (
    APIConnectionError,
    AzoaiError,
    ConfigError,
    ContentFilterError,
    CorruptResponseError,
    InvalidResponseError,
    ResponseTooLargeError,
    StreamInterruptedError,
    TimeoutError,
    UnsupportedParameterError,
    error_from_response,
    kept_headers,
)
from azoai.io import _httpx
from azoai.io.http import (
    MAX_CONNECTIONS,
    USER_AGENT,
    BodyDecoder,
    Connection,
    LineSplitter,
    SSEDecoder,
    TooLarge,
    Undecodable,
    acquire,
    aread_body,
    arelease,
    async_slots,
    prebuilt,
    read_body,
    release,
    reset_deadline,
    set_deadline,
    sync_slots,
)
from azoai.pipeline.pacing import Pacer
from azoai.pipeline.routing import Router
from azoai.wire import chat_completions, responses
from azoai.wire.common import dumps, loads
from azoai.wire.types import ChatRequest, ChatResult, EmbeddingResult, StreamDelta

if TYPE_CHECKING:
    import httpx

    from azoai.embeddings import ProgressCallback
    from azoai.io.websocket import WebSocketSession, WebSocketTransport

__all__ = ["CallOptions", "Client"]

log = logging.getLogger("azoai.client")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class CallOptions:
    """Per-call overrides. ``return_filtered=True`` returns a completion the content filter cut
    (``finish_reason == "content_filter"``) instead of raising :class:`ContentFilterError`."""

    max_retries: int | None = None
    timeout: float | None = None
    return_filtered: bool = False
    extra_headers: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.max_retries is not None and (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or self.max_retries < 0
        ):
            raise ConfigError(
                f"CallOptions max_retries must be an integer >= 0, got {self.max_retries!r}",
                setting="max_retries",
            )
        if self.timeout is not None:
            from azoai.config.settings import MAX_SECONDS

            t = self.timeout
            if (
                isinstance(t, bool)
                or not isinstance(t, int | float)
                or not math.isfinite(t)
                or not 0 < t <= MAX_SECONDS
            ):
                raise ConfigError(
                    f"CallOptions timeout must be a finite number of seconds > 0, got {t!r}",
                    setting="timeout",
                )


_DEFAULT_OPTIONS = CallOptions()
#: An error body longer than this is cut (its JSON then does not parse: a generic error results).
_ERROR_BODY_LIMIT = 1024 * 1024
#: What azoai decodes itself, in bounded pieces (see :class:`azoai.io.http.BodyDecoder`).
_ACCEPT_ENCODING = "gzip, deflate"


@dataclass(slots=True)
class _Reply:
    """A non-streamed answer, its body read within the attempt's deadline and size limit."""

    status_code: int
    headers: httpx.Headers
    content: bytes


class _Open:
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


async def _aiter_one(content: bytes) -> AsyncGenerator[bytes, None]:
    yield content


class _NoSlot(Exception):
    """No request slot came free within the attempt's deadline."""


def _body_or_empty(resp: httpx.Response, limit: int, status: int) -> bytes:
    """A 2xx body in full (raising past ``limit`` or on a body that does not decode); an error
    body as far as it reads (up to ``_ERROR_BODY_LIMIT``), ``b""`` when it does not."""
    import httpx

    if status < 300:
        return read_body(resp, limit)
    try:
        return read_body(resp, _ERROR_BODY_LIMIT)
    except (httpx.HTTPError, Undecodable, TooLarge):
        return b""


async def _abody_or_empty(resp: httpx.Response, limit: int, status: int) -> bytes:
    import httpx

    if status < 300:
        return await aread_body(resp, limit)
    try:
        return await aread_body(resp, _ERROR_BODY_LIMIT)
    except (httpx.HTTPError, Undecodable, TooLarge):
        return b""


class _Cut(Exception):
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

    def retryable(self, call: _Call) -> AzoaiError:
        """The error for a stream cut before anything reached the caller, which is retried and
        failed over like the same failure of a non-streamed call."""
        dep = call.deployment
        message = f"the stream from deployment '{dep}' stopped before its first chunk: {self.why}"
        if self.kind in ("idle", "total"):
            return TimeoutError(message, deployment=dep, fix=self.fix())
        if self.kind == "corrupt":
            return CorruptResponseError(message, deployment=dep)
        return APIConnectionError(message, deployment=dep)


class _EventReader:
    """Turns a streamed body's raw chunks into SSE ``data`` payloads, bounded: content decoding in
    pieces, one line or event at most ``max_event_bytes``, and the read deadlines (the earlier of
    the overall ``stream_timeout`` and ``stream_idle_timeout`` after the last event line; SSE
    comments such as keep-alives do not move the idle deadline). A failure met in the middle of
    a chunk is raised on the next call, after the payloads before it."""

    __slots__ = ("decoder", "end", "failure", "idle", "idle_at", "lines", "sse", "total")

    def __init__(self, settings: Settings, opened: _Open) -> None:
        t = settings.timeout
        self.idle = t.stream_idle
        self.total = t.stream
        self.end = opened.end
        self.idle_at = time.monotonic() + self.idle
        self.lines = LineSplitter(settings.limits.event_bytes)
        self.sse = SSEDecoder()
        self.failure: _Cut | None = None
        self.decoder: BodyDecoder | None = None
        try:
            # a prebuilt body (httpx.MockTransport) comes decoded already
            encoding = (
                None if prebuilt(opened.resp) else opened.resp.headers.get("content-encoding")
            )
            self.decoder = BodyDecoder(encoding)
        except Undecodable as exc:
            self.failure = _Cut("corrupt", f"the body could not be decoded ({exc})")

    def next_deadline(self) -> float:
        """The deadline for the next read; raises when it has passed (or a failure is pending),
        which also bounds streams read through a user's own httpx client."""
        if self.failure is not None:
            raise self.failure
        at = self.idle_at if self.idle_at < self.end else self.end
        if time.monotonic() >= at:
            raise self.timed_out()
        return at

    def timed_out(self) -> _Cut:
        if self.end <= self.idle_at:
            return _Cut("total", f"the stream took longer than stream_timeout ({self.total:g} s)")
        return _Cut(
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
    def _failure(exc: Exception) -> _Cut:
        if isinstance(exc, TooLarge):
            return _Cut(
                "too_large", f"an event is larger than max_event_bytes ({exc.limit:,} bytes)"
            )
        return _Cut("corrupt", f"the body could not be decoded ({exc})")

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


@dataclass(slots=True)
class _Call:
    deployment: str
    api: str
    url: str
    body: bytes
    model: ModelInfo
    stream: bool
    notes: list[str]
    pacer: Pacer | None = None  # quota pacing (embeddings ingestion)
    estimate: int = 0  # the request's offline token estimate, for the pacer
    rate_limit_retries: int = 0  # 429 retries allowed on top of max_retries
    model_version: str | None = None  # known from configuration or discovery


class _Attempts:
    """The retry policy for one call, shared by the sync and async send loops.

    Retries connection errors, timeouts and 408/429/500/502/503/504 with exponential backoff and
    jitter, honouring Azure's retry-after headers; gives up at once when Azure asks for longer than
    ``max_retry_after``; refreshes credentials once after a 401."""

    __slots__ = ("attempt", "call", "client", "max_retries", "refreshed", "sent_at", "throttled")

    def __init__(self, client: Client, call: _Call, options: CallOptions) -> None:
        self.client = client
        self.call = call
        self.max_retries = (
            client.settings.retry.max_retries
            if options.max_retries is None
            else options.max_retries
        )
        self.attempt = 0
        self.throttled = 0
        self.refreshed = False
        self.sent_at: float | None = None  # the pacer's ticket

    def ok(self, headers: Mapping[str, str]) -> None:
        if self.call.pacer is not None:
            # the caller reads the usage and calibrates the pacer, which ends a probe
            self.call.pacer.observe(headers, self.sent_at, settle=False)

    def transport_error(self, exc: Exception, budget: float | None = None) -> AzoaiError:
        """The typed, retryable error for a failed attempt: a timeout (``budget`` is the
        attempt's deadline in seconds), a dropped connection or a body that did not decode."""
        import httpx

        if self.call.pacer is not None:
            self.call.pacer.observe({}, self.sent_at)  # no answer: end the probe, learn nothing
        dep = self.call.deployment
        if isinstance(exc, _NoSlot):
            return TimeoutError(
                f"no connection came free within the attempt's {budget:g} s: "
                f"{MAX_CONNECTIONS} requests are in flight on this connection pool "
                f"[deployment '{dep}']",
                deployment=dep,
                fix="raise timeout, or send fewer requests at once",
            )
        if isinstance(exc, httpx.TimeoutException):
            t = self.client.settings.timeout
            limit = (
                f"timeout={budget:g} s for the whole attempt, connect to last byte; "
                f"connect_timeout={t.connect:g} s"
                if budget is not None
                else "timeout"
            )
            return TimeoutError(
                f"timed out talking to Azure ({type(exc).__name__}; {limit}) [deployment '{dep}']",
                deployment=dep,
                fix="raise timeout (a retry gets a fresh deadline), or check the network",
            )
        if isinstance(exc, Undecodable | httpx.DecodingError):
            return CorruptResponseError(
                f"Azure's response body could not be decoded ({exc}) [deployment '{dep}']",
                deployment=dep,
            )
        return APIConnectionError(
            f"connection to Azure failed: {type(exc).__name__}: {exc}", deployment=dep
        )

    def too_large(self, limit: int) -> ResponseTooLargeError:
        if self.call.pacer is not None:
            self.call.pacer.observe({}, self.sent_at)
        dep = self.call.deployment
        return ResponseTooLargeError(
            f"the response from deployment '{dep}' is larger than max_response_bytes "
            f"({limit:,} bytes, counted decompressed)",
            setting="max_response_bytes",
            limit=limit,
            deployment=dep,
            fix="raise max_response_bytes ([limits] response_bytes), or ask for less per call "
            "(a smaller embeddings batch)",
        )

    def status_error(
        self, status: int, content: bytes, headers: Mapping[str, str], auth: dict[str, str]
    ) -> AzoaiError | None:
        """The typed error for a non-2xx answer, or ``None`` to resend at once (after a 401 that
        a fresh token may fix)."""
        err = self.client._error(self.call, status, content, headers)
        if self.call.pacer is not None:
            self.call.pacer.observe(headers, self.sent_at)
            retry_after = getattr(err, "retry_after", None)
            if (
                status == 429
                and retry_after is not None
                and retry_after <= self.client.settings.retry.max_retry_after
            ):
                self.call.pacer.blocked(retry_after)
        if (
            status == 401
            and not self.refreshed
            and self.client.connection.auth.on_unauthorized(auth)
        ):
            self.refreshed = True
            return None
        return err

    def next_delay(self, err: AzoaiError) -> float:
        """Seconds to wait before the next attempt; raises ``err`` when the call must give up."""
        retryable = (
            isinstance(err, APIConnectionError | TimeoutError) or err.status_code in RETRY_STATUSES
        )
        if not retryable:
            raise err
        if err.status_code == 429 and self.throttled < self.call.rate_limit_retries:
            self.throttled += 1  # quota waits during ingestion do not use up the error budget
        elif self.attempt >= self.max_retries:
            raise err
        else:
            self.attempt += 1
        policy = self.client.settings.retry
        retry_after = getattr(err, "retry_after", None)
        if retry_after is not None:
            if retry_after > policy.max_retry_after:
                raise err
            delay = float(retry_after)
        else:
            base: float = min(
                policy.max_delay, policy.initial_delay * (2 ** (self.attempt + self.throttled - 1))
            )
            delay = base * (1 + policy.jitter * (2 * random.random() - 1))
        log.info(
            "azoai: %s; retrying in %.2f s (attempt %d)",
            type(err).__name__,
            delay,
            self.attempt + self.throttled,
        )
        return delay


class Client:
    """Azure OpenAI, the Azure way. Build from :class:`~azoai.config.settings.Settings` or from the same
    keyword arguments :meth:`Settings.build` takes::

        client = Client(endpoint="https://myres.openai.azure.com", api_key="...", deployment="chat")
        result = client.chat(ChatRequest(messages=[Message("user", "Hi")]))

    Clients built from equal settings share one pooled connection and token cache.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        **settings_kwargs: Any,
    ) -> None:
        if settings is None:
            settings = Settings.build(**settings_kwargs)
        elif settings_kwargs:
            raise TypeError("pass either settings or settings keyword arguments, not both")
        self.settings = settings
        self._http_client = http_client
        self._http_async_client = http_async_client
        self._conn: Connection | None = None
        self._conn_lock = threading.Lock()
        self._discovery: DeploymentDiscovery | None = None
        self._learned: dict[str, ModelInfo] = {}
        self._routers: dict[str, Router] = {}
        self._timeouts: dict[float, Any] = {}  # httpx.Timeout per read timeout, built once
        self._checked_urls: set[str] = set()  # URLs already checked against the allowed hosts
        self._said_embeddings_route = False
        self._ws: WebSocketTransport | None = None  # transport="websocket" (azoai.io.websocket)
        # Headers are per request: clients that differ only in them share one connection.
        self._base_headers: dict[str, str] = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Accept-Encoding": _ACCEPT_ENCODING,
            "Content-Type": "application/json",
            **dict(settings.default_headers),
        }

    def __repr__(self) -> str:
        return f"Client({self.settings!r})"

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def connection(self) -> Connection:
        conn = self._conn
        if conn is None:
            with self._conn_lock:
                if self._conn is None:
                    self._conn = acquire(
                        self.settings, self._http_client, self._http_async_client, holder=self
                    )
                conn = self._conn
        return conn

    def close(self) -> None:
        """Release this client's share of the pooled connection now (the last client of an
        endpoint closes its sockets). Idempotent; never opens one. A client that is dropped
        without ``close()`` is released when it is collected."""
        with self._conn_lock:
            conn, self._conn = self._conn, None
            routers, self._routers = list(self._routers.values()), {}
            ws, self._ws = self._ws, None
        for r in routers:
            r.close()
        if ws is not None:
            ws.close()
        if conn is not None:
            release(conn, self)

    async def aclose(self) -> None:
        with self._conn_lock:
            conn, self._conn = self._conn, None
            routers, self._routers = list(self._routers.values()), {}
            ws, self._ws = self._ws, None
        for r in routers:
            await r.aclose()
        if ws is not None:
            await ws.aclose()
        if conn is not None:
            await arelease(conn, self)

    def _router(self, model: str | None) -> Router | None:
        """The router when ``model`` (or the default deployment) names a configured route."""
        routes = self.settings.routes
        if not routes:
            return None
        name = model if model is not None else self.settings.deployment
        if name is None:
            return None
        name = name.removeprefix("azure-openai/")
        spec = routes.get(name)
        if spec is None:
            return None
        with self._conn_lock:
            router = self._routers.get(name)
            if router is None:
                router = self._routers[name] = Router(self, name, spec)
        return router

    def _websocket(self) -> WebSocketTransport | None:
        """The Responses WebSocket transport when ``transport="websocket"`` or a
        :meth:`websocket_session` is active here; ``None`` sends over HTTP."""
        if self.settings.transport != "websocket" and "azoai.io.websocket" not in sys.modules:
            return None  # no session can be active: keep HTTP calls free of the import
        from azoai.io.websocket import transport_for

        return transport_for(self)

    def websocket_session(self) -> WebSocketSession:
        """A long-lived Responses WebSocket session for multi-turn use: its sockets stay open
        (whatever ``close_on_finish`` says) until it is closed, and while it is active (``with``
        / ``async with``) this client's calls go through it. See :mod:`azoai.io.websocket`."""
        from azoai.io.websocket import WebSocketSession

        return WebSocketSession(self)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- deployments -----------------------------------------------------------------------------

    def known_deployments(self) -> tuple[DeploymentRecord, ...]:
        """The static list, or the discovered deployments when discovery is configured."""
        if self.settings.discovery is None:
            return self.settings.deployments
        if self._discovery is None:
            self._discovery = self._make_discovery()
        return self._discovery.deployments()

    def _make_discovery(self) -> DeploymentDiscovery:
        from azoai.io.auth import TokenCache, build_credential, credential_fetchers

        d = self.settings.discovery
        assert d is not None
        auth = self.settings.auth
        cred = d.credential
        if cred is None and auth.mode == "credential":
            cred = auth.credential
        holder: list[Any] = [cred]

        def fetch() -> Any:
            if holder[0] is None:
                mode = (
                    auth.mode
                    if auth.mode
                    in (
                        "managed_identity",
                        "default_credential",
                        "workload_identity",
                        "client_secret",
                        "azure_cli",
                    )
                    else "default_credential"
                )
                holder[0] = build_credential(
                    mode,
                    client_id=auth.client_id,
                    tenant_id=auth.tenant_id,
                    client_secret=auth.client_secret,
                )
            sync_fetch, _ = credential_fetchers(holder[0], d.scope)
            if sync_fetch is None:
                raise AzoaiError("discovery needs a sync credential")
            return sync_fetch()

        cache = TokenCache(fetch, None, source="discovery credential")
        return DeploymentDiscovery(
            d,
            get_token=lambda: cache.get().token.get_secret_value(),
            fallback=self.settings.deployments,
        )

    def resolve(self, model: str | None = None) -> Resolution:
        """Which deployment a call naming ``model`` (a deployment, a mapped model name, an
        ``azure-openai/<d>`` id, or ``None`` for the default) goes to, and why."""
        s = self.settings
        needs_known = model is not None and model not in s.deployment_map
        known = (
            self.known_deployments() if needs_known or s.discovery is not None else s.deployments
        )
        return resolve_deployment(
            model, default=s.deployment, deployment_map=s.deployment_map, known=known
        )

    def model_info(self, deployment: str | None = None) -> ModelInfo:
        """What is known about the model behind ``deployment`` (default: the default deployment):
        a static or discovered record's model, the ``model=`` setting for the default deployment,
        a family learned from Azure's answers, or conservative defaults."""
        res = self.resolve(deployment)
        return self._model_for(res)

    def _model_for(self, res: Resolution) -> ModelInfo:
        if res.record is not None and res.record.model:
            return res.record.info
        if res.deployment in self._learned:
            return self._learned[res.deployment]
        if self.settings.model and res.deployment == self.settings.deployment:
            return lookup_model(self.settings.model)
        # deployment_map keys are model names: {"gpt-4o": "prod-4o"} says prod-4o runs gpt-4o.
        for name, target in self.settings.deployment_map.items():
            if target == res.deployment and lookup_model(name).known:
                return lookup_model(name)
        return lookup_model(None)

    def supports_json_schema(self, model: str | None = None) -> bool:
        """Whether structured output can use ``response_format`` json_schema for this deployment:
        the api-version has it and the model is known to support it (otherwise adapters fall
        back to tool calling)."""
        from azoai.config.versions import Feature, supports

        info = self.model_info(model)
        return supports(self.settings.api_version, Feature.JSON_SCHEMA) and info.json_schema

    def count_tokens(
        self,
        texts: str | Sequence[str],
        *,
        model: str | None = None,
        per_message: int | None = None,
    ) -> int:
        """Tokens in ``texts`` for the deployment's model, counted offline (exact with a locally
        cached tiktoken encoding, else a high estimate). With ``per_message``, each text is
        counted as a chat message with that overhead plus the reply primer."""
        from azoai.wire.tokens import counter_for

        counter = counter_for(self.model_info(model).encoding)
        items = [texts] if isinstance(texts, str) else list(texts)
        total = sum(counter.count(t) for t in items)
        if per_message is not None:
            total += per_message * len(items) + 3
        return total

    # -- building calls --------------------------------------------------------------------------

    def _url(self, op: str, deployment: str) -> str:
        s = self.settings
        if s.endpoint.kind == "compatible":  # a non-Azure OpenAI-compatible API
            return f"{s.endpoint.base}/{op}"
        base = s.endpoint.openai_base
        if op == "embeddings" and s.route == "v1" and s.auth.is_entra:
            # Azure: "The Azure OpenAI embeddings API doesn't currently support Microsoft Entra
            # ID with the v1 API" (the deployment route does), so Entra callers embed there.
            if not self._said_embeddings_route:
                self._said_embeddings_route = True
                log.info(
                    "embeddings use the deployment route (api-version %s): Azure's v1 "
                    "embeddings do not accept Entra ID tokens",
                    DEFAULT_DATED_VERSION,
                )
            return (
                f"{base}/deployments/{quote(deployment, safe='')}/{op}"
                f"?api-version={DEFAULT_DATED_VERSION}"
            )
        if s.route == "v1" or op == "responses":
            q = s.api_version.query_value
            return f"{base}/v1/{op}" + (f"?api-version={q}" if q else "")
        return f"{base}/deployments/{quote(deployment, safe='')}/{op}?api-version={s.api_version.value}"

    def _prepare(self, request: ChatRequest, model: str | None, stream: bool) -> _Call:
        s = self.settings
        res = self.resolve(model)
        info = self._model_for(res)
        if s.api == "responses":
            body, notes = responses.build_body(
                request,
                deployment=res.deployment,
                model=info,
                version=s.api_version,
                stream=stream,
                strict=s.strict,
                check_version=s.check_api_version,
            )
            url = self._url("responses", res.deployment)
        else:
            body, notes = chat_completions.build_body(
                request,
                deployment=res.deployment,
                route=s.route,
                model=info,
                version=s.api_version,
                stream=stream,
                strict=s.strict,
                check_version=s.check_api_version,
            )
            url = self._url("chat/completions", res.deployment)
        return _Call(
            res.deployment,
            s.api,
            url,
            dumps(body),
            info,
            stream,
            notes,
            model_version=self._configured_version(res),
        )

    def _configured_version(self, res: Resolution) -> str | None:
        if res.record is not None and res.record.model_version:
            return res.record.model_version
        if res.deployment == self.settings.deployment:
            return self.settings.model_version
        return None

    def _learn(self, call: _Call, err: UnsupportedParameterError) -> bool:
        """An unknown model rejected a sampling parameter: treat the deployment as a reasoning
        model from now on (one extra call, once per deployment)."""
        if call.model.known or call.model.reasoning:
            return False
        if (err.param or "") not in (*REASONING_UNSUPPORTED, "max_tokens"):
            return False
        log.warning(
            "azoai: deployment %r rejected %r; treating it as a reasoning model from now on "
            "(set model=<its real model> to skip this extra call)",
            call.deployment,
            err.param,
        )
        self._learned[call.deployment] = replace(
            call.model,
            name=f"deployment {call.deployment!r}",
            reasoning=True,
            parallel_tool_calls=False,
        )
        return True

    # -- sending ---------------------------------------------------------------------------------

    def _headers(self, auth_headers: dict[str, str], options: CallOptions) -> dict[str, str]:
        h = dict(self._base_headers)
        h["x-ms-client-request-id"] = str(uuid.uuid4())
        if options.extra_headers:
            for k in options.extra_headers:
                if k.lower() in ("api-key", "authorization"):
                    raise ConfigError(
                        "extra_headers must not carry credentials", setting="extra_headers"
                    )
                problem = header_problem(str(options.extra_headers[k]))
                if problem is not None:  # described without the value: it may be a key
                    raise ConfigError(
                        f"extra_headers[{k!r}] {problem}", setting=f"extra_headers[{k!r}]"
                    )
            h.update(options.extra_headers)
        h.update(auth_headers)
        return h

    def _timeout(self, call: _Call, options: CallOptions) -> Any:
        """httpx's per-operation caps; the attempt's deadline (:func:`azoai.io.http.deadline`)
        cuts each operation further to the time left."""
        read = self.settings.timeout.stream_idle if call.stream else self._budget(call, options)
        timeout = self._timeouts.get(read)
        if timeout is None:
            _httpx.load()
            import httpx

            t = self.settings.timeout
            timeout = self._timeouts[read] = httpx.Timeout(
                connect=t.connect, read=read, write=read, pool=read
            )
        return timeout

    def _check_host(self, url: str) -> None:
        if url in self._checked_urls:
            return
        from azoai.io.auth import check_host

        check_host(url, self.connection.allowed_hosts)
        if len(self._checked_urls) < 256:
            self._checked_urls.add(url)

    def _error(
        self, call: _Call, status: int, content: bytes, headers: Mapping[str, str]
    ) -> AzoaiError:
        if 300 <= status < 400:
            return AzoaiError(
                f"Azure answered {status} with a redirect to {_without_query(headers.get('location'))!r}; azoai does not follow "
                "redirects because the credential would travel with them",
                status_code=status,
                fix="set endpoint to the URL the redirect points to, if you trust it",
                deployment=call.deployment,
            )
        return error_from_response(
            status,
            content,
            headers,
            deployment=call.deployment,
            route=self.settings.route,
            api_version=self.settings.api_version.value,
        )

    def _request(self, http: Any, call: _Call, auth: dict[str, str], options: CallOptions) -> Any:
        return http.build_request(
            "POST",
            call.url,
            content=call.body,
            headers=self._headers(auth, options),
            timeout=self._timeout(call, options),
        )

    def _budget(self, call: _Call, options: CallOptions) -> float:
        """Seconds one attempt may take, connect to last byte: ``timeout`` (or the call's), or
        ``stream_timeout`` for a stream (whose events are also bounded by ``stream_idle``)."""
        t = self.settings.timeout
        return t.stream if call.stream else (options.timeout or t.read)

    def _slot_wait(self, call: _Call, budget: float) -> float:
        """How long an attempt waits for a free request slot: within its deadline, and for a
        stream no longer than it would wait for an event."""
        return min(budget, self.settings.timeout.stream_idle) if call.stream else budget

    def _send(self, call: _Call, options: CallOptions, state: _Attempts | None = None) -> Any:
        """Send with the core's retry policy. A non-streamed call returns a :class:`_Reply` (the
        2xx body read within the attempt's deadline and size limit); a stream an :class:`_Open`
        (2xx headers arrived, the body unread). ``state`` carries retries across resends."""
        _httpx.load()
        import httpx

        conn = self.connection
        http = conn.sync_client()
        slots = sync_slots(http)
        self._check_host(call.url)
        state = state or _Attempts(self, call, options)
        limit = self.settings.limits.response_bytes
        while True:
            if call.pacer is not None:
                state.sent_at = call.pacer.acquire(call.estimate)
            budget = self._budget(call, options)
            end = time.monotonic() + budget
            try:
                auth = conn.auth.headers()
                if not slots.acquire(timeout=self._slot_wait(call, budget)):
                    raise _NoSlot
                opened: _Open | None = None
                token = set_deadline(end)
                try:
                    resp = http.send(
                        self._request(http, call, auth, options),
                        stream=True,
                        follow_redirects=False,
                    )
                    try:
                        if call.stream and resp.status_code < 300:
                            opened = _Open(resp, slots.release, end)
                            status, headers, content = resp.status_code, resp.headers, b""
                        else:
                            status, headers = resp.status_code, resp.headers
                            content = _body_or_empty(resp, limit, status)
                    finally:
                        if opened is None:
                            resp.close()
                finally:
                    reset_deadline(token)
                    if opened is None:
                        slots.release()
            except (httpx.TransportError, httpx.DecodingError, Undecodable, _NoSlot) as exc:
                err = state.transport_error(exc, budget)
            except TooLarge as exc:
                raise state.too_large(exc.limit) from None
            except BaseException:
                if call.pacer is not None:  # cancelled (or a credential failed): no answer
                    call.pacer.release(state.sent_at)
                raise
            else:
                if status < 300:
                    state.ok(headers)
                    return opened if opened is not None else _Reply(status, headers, content)
                maybe = state.status_error(status, content, headers, auth)
                if maybe is None:
                    continue
                err = maybe
            time.sleep(state.next_delay(err))

    async def _asend(
        self, call: _Call, options: CallOptions, state: _Attempts | None = None
    ) -> Any:
        import asyncio

        _httpx.load()
        import httpx

        conn = self.connection
        http = conn.async_client()
        slots = async_slots(http)
        self._check_host(call.url)
        state = state or _Attempts(self, call, options)
        limit = self.settings.limits.response_bytes
        while True:
            if call.pacer is not None:
                state.sent_at = await call.pacer.aacquire(call.estimate)
            budget = self._budget(call, options)
            end = time.monotonic() + budget
            try:
                auth = await conn.auth.aheaders()
                if slots.locked():  # wait in line, within the attempt's deadline
                    try:
                        async with asyncio.timeout(self._slot_wait(call, budget)):
                            await slots.acquire()
                    except builtins.TimeoutError:
                        raise _NoSlot from None
                else:
                    await slots.acquire()
                opened: _Open | None = None
                token = set_deadline(end)
                try:
                    resp = await http.send(
                        self._request(http, call, auth, options),
                        stream=True,
                        follow_redirects=False,
                    )
                    try:
                        if call.stream and resp.status_code < 300:
                            opened = _Open(resp, slots.release, end)
                            status, headers, content = resp.status_code, resp.headers, b""
                        else:
                            status, headers = resp.status_code, resp.headers
                            content = await _abody_or_empty(resp, limit, status)
                    finally:
                        if opened is None:
                            await resp.aclose()
                finally:
                    reset_deadline(token)
                    if opened is None:
                        slots.release()
            except (httpx.TransportError, httpx.DecodingError, Undecodable, _NoSlot) as exc:
                err = state.transport_error(exc, budget)
            except TooLarge as exc:
                raise state.too_large(exc.limit) from None
            except BaseException:
                if call.pacer is not None:  # cancelled (or a credential failed): no answer
                    call.pacer.release(state.sent_at)
                raise
            else:
                if status < 300:
                    state.ok(headers)
                    return opened if opened is not None else _Reply(status, headers, content)
                maybe = state.status_error(status, content, headers, auth)
                if maybe is None:
                    continue
                err = maybe
            await asyncio.sleep(state.next_delay(err))

    # -- chat ------------------------------------------------------------------------------------

    def _parse(self, call: _Call, content: bytes, headers: Mapping[str, str]) -> ChatResult:
        if call.api == "responses":
            return responses.parse_response(
                loads(content), deployment=call.deployment, headers=kept_headers(headers)
            )
        return chat_completions.parse_response(
            loads(content), deployment=call.deployment, headers=kept_headers(headers)
        )

    def _finish(
        self, result: ChatResult, options: CallOptions, call: _Call | None = None
    ) -> ChatResult:
        result.model_version = model_version_of(call.model_version if call else None, result.model)
        if result.finish_reason == "content_filter" and not options.return_filtered:
            raise _completion_filtered(
                result.content_filter, result.text, result, result.deployment
            )
        return result

    def chat(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> ChatResult:
        """One completion. ``model`` picks another deployment (or a route) for this call."""
        router = self._router(model)
        if router is not None:
            return router.chat(request, options)
        ws = self._websocket()
        if ws is not None:
            return ws.chat(request, model=model, options=options)
        opts = options or _DEFAULT_OPTIONS
        call = self._prepare(request, model, stream=False)
        try:
            resp = self._send(call, opts)
        except UnsupportedParameterError as err:
            if not self._learn(call, err):
                raise
            call = self._prepare(request, model, stream=False)
            resp = self._send(call, opts)
        return self._finish(self._parse(call, resp.content, resp.headers), opts, call)

    async def achat(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> ChatResult:
        router = self._router(model)
        if router is not None:
            return await router.achat(request, options)
        ws = self._websocket()
        if ws is not None:
            return await ws.achat(request, model=model, options=options)
        opts = options or _DEFAULT_OPTIONS
        call = await self._aprepare(request, model, stream=False)
        try:
            resp = await self._asend(call, opts)
        except UnsupportedParameterError as err:
            if not self._learn(call, err):
                raise
            call = await self._aprepare(request, model, stream=False)
            resp = await self._asend(call, opts)
        return self._finish(self._parse(call, resp.content, resp.headers), opts, call)

    async def _aprepare(self, request: ChatRequest, model: str | None, stream: bool) -> _Call:
        import asyncio

        if self.settings.discovery is not None and self._discovery_stale():
            # Listing deployments is blocking HTTP; keep it off the event loop.
            await asyncio.to_thread(self.known_deployments)
        return self._prepare(request, model, stream)

    def _discovery_stale(self) -> bool:
        d = self._discovery
        return d is None or d._cached is None or (time.monotonic() - d._cached_at) >= d.settings.ttl

    # -- streaming -------------------------------------------------------------------------------

    def stream(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> Iterator[StreamDelta]:
        """Stream a completion as :class:`StreamDelta` objects. The first delta carries the Azure
        response headers; the last carries the finish reason (and usage). Until the first delta
        arrives, a failure is retried (and a route fails over) like any request; after it, a
        stream that ends before the model finished raises :class:`StreamInterruptedError` with
        the text so far."""
        router = self._router(model)
        if router is not None:
            yield from router.stream(request, options)
            return
        ws = self._websocket()
        if ws is not None:
            yield from ws.stream(request, model=model, options=options)
            return
        opts = options or _DEFAULT_OPTIONS
        call = self._prepare(request, model, stream=True)
        attempts = _Attempts(self, call, opts)
        while True:
            try:
                opened = self._send(call, opts, attempts)
            except UnsupportedParameterError as err:
                if not self._learn(call, err):
                    raise
                call = self._prepare(request, model, stream=True)
                attempts = _Attempts(self, call, opts)
                opened = self._send(call, opts, attempts)
            state = _StreamState(call, opts, kept_headers(opened.resp.headers))
            try:
                for data in self._events(opened):
                    delta = state.feed(data)
                    if delta is not None:
                        yield delta
                    if state.done:
                        break
            except _Cut as cut:
                if not state.first or cut.kind == "too_large":
                    raise state.interrupted(cut.why, fix=cut.fix()) from None
                failure = cut.retryable(call)
            else:
                state.check_complete()
                return
            finally:
                opened.close()
            time.sleep(attempts.next_delay(failure))  # nothing reached the caller yet: resend

    async def astream(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> AsyncIterator[StreamDelta]:
        import asyncio

        router = self._router(model)
        if router is not None:
            async for routed in router.astream(request, options):
                yield routed
            return
        ws = self._websocket()
        if ws is not None:
            # aclosing: a consumer that stops early closes the socket now, not at collection
            async with contextlib.aclosing(ws.astream(request, model=model, options=options)) as s:
                async for ws_delta in s:
                    yield ws_delta
            return
        opts = options or _DEFAULT_OPTIONS
        call = await self._aprepare(request, model, stream=True)
        attempts = _Attempts(self, call, opts)
        while True:
            try:
                opened = await self._asend(call, opts, attempts)
            except UnsupportedParameterError as err:
                if not self._learn(call, err):
                    raise
                call = await self._aprepare(request, model, stream=True)
                attempts = _Attempts(self, call, opts)
                opened = await self._asend(call, opts, attempts)
            state = _StreamState(call, opts, kept_headers(opened.resp.headers))
            try:
                async with contextlib.aclosing(self._aevents(opened)) as events:
                    async for data in events:
                        delta = state.feed(data)
                        if delta is not None:
                            yield delta
                        if state.done:
                            break
            except _Cut as cut:
                if not state.first or cut.kind == "too_large":
                    raise state.interrupted(cut.why, fix=cut.fix()) from None
                failure = cut.retryable(call)
            else:
                state.check_complete()
                return
            finally:
                await opened.aclose()
            await asyncio.sleep(attempts.next_delay(failure))

    def _events(self, opened: _Open) -> Iterator[str]:
        """The SSE ``data`` payloads of a streamed body, read under the stream's deadlines: each
        read gets until the earlier of the overall deadline (``stream_timeout``) and the idle
        one (``stream_idle_timeout`` after the last event line; keep-alive comments do not
        count). Raises :class:`_Cut` when the body stops early."""
        import httpx

        reader = _EventReader(self.settings, opened)
        raw = iter([opened.resp.content]) if prebuilt(opened.resp) else opened.resp.iter_raw()
        while True:
            at = reader.next_deadline()
            token = set_deadline(at)
            try:
                chunk = next(raw, None)
            except httpx.TimeoutException:
                raise reader.timed_out() from None
            except httpx.TransportError as exc:
                raise _Cut("dropped", f"the connection dropped ({type(exc).__name__})") from None
            finally:
                reset_deadline(token)
            if chunk is None:
                yield from reader.finish()
                if reader.failure is not None:
                    raise reader.failure
                return
            yield from reader.feed(chunk)

    async def _aevents(self, opened: _Open) -> AsyncGenerator[str, None]:
        import httpx

        reader = _EventReader(self.settings, opened)
        raw = _aiter_one(opened.resp.content) if prebuilt(opened.resp) else opened.resp.aiter_raw()
        while True:
            at = reader.next_deadline()
            token = set_deadline(at)
            try:
                chunk = await anext(raw, None)
            except httpx.TimeoutException:
                raise reader.timed_out() from None
            except httpx.TransportError as exc:
                raise _Cut("dropped", f"the connection dropped ({type(exc).__name__})") from None
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

    # -- embeddings ------------------------------------------------------------------------------

    def embed(
        self,
        texts: Sequence[str],
        *,
        model: str | None = None,
        dimensions: int | None = None,
        options: CallOptions | None = None,
        progress: ProgressCallback | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **engine_options: Any,
    ) -> EmbeddingResult:
        """Embed ``texts`` (vectors in input order); ``extra_body`` is merged into each request.
        See :class:`azoai.embeddings.EmbeddingEngine` for batching, long-input splitting, empty
        strings and partial failures."""
        from azoai.embeddings import EmbeddingEngine

        return EmbeddingEngine(self, **engine_options).embed(
            texts,
            model=model,
            dimensions=dimensions,
            options=options,
            progress=progress,
            extra_body=extra_body,
        )

    async def aembed(
        self,
        texts: Sequence[str],
        *,
        model: str | None = None,
        dimensions: int | None = None,
        options: CallOptions | None = None,
        progress: ProgressCallback | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **engine_options: Any,
    ) -> EmbeddingResult:
        from azoai.embeddings import EmbeddingEngine

        return await EmbeddingEngine(self, **engine_options).aembed(
            texts,
            model=model,
            dimensions=dimensions,
            options=options,
            progress=progress,
            extra_body=extra_body,
        )


def _without_query(url: str | None) -> str:
    """A redirect target fit for a message: scheme, host and path only (a gateway may carry a
    key-bearing query string over, and userinfo may hold a password)."""
    if not url:
        return "?"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unparsable URL)"
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else parts.path


_DATED_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2})$")


def model_version_of(configured: str | None, reported: str | None) -> str | None:
    """The model version: configured or discovered first, else the date Azure puts at the end of
    the model name it reports (``gpt-4o-2024-11-20`` -> ``2024-11-20``)."""
    if configured:
        return configured
    m = _DATED_SUFFIX.search(reported or "")
    return m.group(1) if m else None


def _completion_filtered(
    filters: Sequence[Any], text: str, result: ChatResult | None, deployment: str | None
) -> ContentFilterError:
    completion = [f for f in filters if f.side == "completion"]
    cats = sorted({c for f in completion for c in f.filtered_categories})
    return ContentFilterError(
        "Azure's content filter stopped the completion" + (f" ({', '.join(cats)})" if cats else ""),
        side="completion",
        results=list(filters),
        partial_text=text,
        partial_result=result,
        deployment=deployment,
        fix="rephrase the request, or pass return_filtered=True to receive the partial output",
    )


class _StreamState:
    """Per-stream bookkeeping shared by the sync and async loops: parse, track completion,
    raise on content filtering, and say what was lost when a stream is cut."""

    __slots__ = (
        "call",
        "done",
        "filters",
        "finished",
        "first",
        "headers",
        "options",
        "parse",
        "text",
        "versioned",
    )

    def __init__(self, call: _Call, options: CallOptions, headers: dict[str, str]) -> None:
        self.call = call
        self.options = options
        self.headers = headers
        self.parse = (
            responses.parse_event if call.api == "responses" else chat_completions.parse_chunk
        )
        self.text: list[str] = []
        self.filters: list[Any] = []
        self.finished: str | None = None
        self.done = False
        self.first = True
        self.versioned = False

    def feed(self, data: str) -> StreamDelta | None:
        if data == "[DONE]":
            self.done = True
            return None
        try:
            event = loads(data)
        except InvalidResponseError as exc:
            raise self.interrupted(f"a malformed chunk arrived ({exc.message})") from None
        return self.feed_event(event)

    def feed_event(self, event: Any) -> StreamDelta | None:
        """One decoded event (the WebSocket transport's frames arrive decoded)."""
        try:
            delta = self.parse(event)
        except InvalidResponseError as exc:
            raise self.interrupted(f"a malformed chunk arrived ({exc.message})") from None
        if delta is None:
            return None
        if self.first:
            delta.headers = self.headers
            self.first = False
        if delta.model and not self.versioned:
            delta.model_version = model_version_of(self.call.model_version, delta.model)
            self.versioned = True
        if delta.text:
            self.text.append(delta.text)
        if delta.content_filter:
            self.filters.extend(delta.content_filter)
        if delta.finish_reason:
            self.finished = delta.finish_reason
            if self.call.api == "responses":
                self.done = True  # a terminal event; chat streams end at [DONE]
            if delta.finish_reason == "content_filter" and not self.options.return_filtered:
                raise _completion_filtered(
                    self.filters, "".join(self.text), None, self.call.deployment
                )
        return delta

    def interrupted(self, why: str, fix: str | None = None) -> StreamInterruptedError:
        text = "".join(self.text)
        return StreamInterruptedError(
            f"the stream from deployment '{self.call.deployment}' ended before the model finished: {why}; "
            f"{len(text)} characters arrived",
            partial_text=text,
            deployment=self.call.deployment,
            fix=fix,
        )

    def check_complete(self) -> None:
        if self.finished is None:
            raise self.interrupted("no finish reason and no end-of-stream marker")

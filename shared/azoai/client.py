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

import contextlib
import logging
import random
import re
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from azoai import _httpx
from azoai.catalog import ModelInfo, lookup_model
from azoai.deployments import DeploymentDiscovery, DeploymentRecord, Resolution, resolve_deployment
from azoai.errors import (
    APIConnectionError,
    AzoaiError,
    ContentFilterError,
    InvalidResponseError,
    StreamInterruptedError,
    TimeoutError,
    UnsupportedParameterError,
    error_from_response,
    kept_headers,
)
from azoai.pacing import Pacer
from azoai.routing import Router
from azoai.settings import Settings
from azoai.transport import Connection, acquire, aiter_sse, arelease, iter_sse, release
from azoai.versions import DEFAULT_DATED_VERSION, REASONING_UNSUPPORTED
from azoai.wire import chat_completions, responses
from azoai.wire.common import dumps, loads
from azoai.wire.types import ChatRequest, ChatResult, EmbeddingResult, StreamDelta

if TYPE_CHECKING:
    import httpx

    from azoai.embeddings import ProgressCallback
    from azoai.websocket import WebSocketSession, WebSocketTransport

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


_DEFAULT_OPTIONS = CallOptions()


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

    def transport_error(self, exc: Exception) -> AzoaiError:
        import httpx

        if self.call.pacer is not None:
            self.call.pacer.observe({}, self.sent_at)  # no answer: end the probe, learn nothing
        dep = self.call.deployment
        if isinstance(exc, httpx.TimeoutException):
            return TimeoutError(
                f"timed out talking to Azure ({type(exc).__name__}) [deployment '{dep}']",
                deployment=dep,
            )
        return APIConnectionError(
            f"connection to Azure failed: {type(exc).__name__}: {exc}", deployment=dep
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
    """Azure OpenAI, the Azure way. Build from :class:`~azoai.settings.Settings` or from the same
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
        self._ws: WebSocketTransport | None = None  # transport="websocket" (azoai.websocket)

    def __repr__(self) -> str:
        return f"Client({self.settings!r})"

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def connection(self) -> Connection:
        conn = self._conn
        if conn is None:
            with self._conn_lock:
                if self._conn is None:
                    self._conn = acquire(self.settings, self._http_client, self._http_async_client)
                conn = self._conn
        return conn

    def close(self) -> None:
        """Release this client's share of the pooled connection. Idempotent; never opens one."""
        with self._conn_lock:
            conn, self._conn = self._conn, None
            routers, self._routers = list(self._routers.values()), {}
            ws, self._ws = self._ws, None
        for r in routers:
            r.close()
        if ws is not None:
            ws.close()
        if conn is not None:
            release(conn)

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
            await arelease(conn)

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
        if self.settings.transport != "websocket" and "azoai.websocket" not in sys.modules:
            return None  # no session can be active: keep HTTP calls free of the import
        from azoai.websocket import transport_for

        return transport_for(self)

    def websocket_session(self) -> WebSocketSession:
        """A long-lived Responses WebSocket session for multi-turn use: its sockets stay open
        (whatever ``close_on_finish`` says) until it is closed, and while it is active (``with``
        / ``async with``) this client's calls go through it. See :mod:`azoai.websocket`."""
        from azoai.websocket import WebSocketSession

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
        from azoai.auth import TokenCache, build_credential, credential_fetchers

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
        from azoai.versions import Feature, supports

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
        from azoai.tokens import counter_for

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
        h = dict(self.connection.headers)
        h["x-ms-client-request-id"] = str(uuid.uuid4())
        if options.extra_headers:
            for k in options.extra_headers:
                if k.lower() in ("api-key", "authorization"):
                    from azoai.errors import ConfigError

                    raise ConfigError(
                        "extra_headers must not carry credentials", setting="extra_headers"
                    )
            h.update(options.extra_headers)
        h.update(auth_headers)
        return h

    def _timeout(self, call: _Call, options: CallOptions) -> Any:
        read = (
            self.settings.timeout.stream_idle
            if call.stream
            else (options.timeout or self.settings.timeout.read)
        )
        timeout = self._timeouts.get(read)
        if timeout is None:
            _httpx.load()
            import httpx

            t = self.settings.timeout
            timeout = self._timeouts[read] = httpx.Timeout(
                connect=t.connect, read=read, write=t.read, pool=t.read
            )
        return timeout

    def _check_host(self, url: str) -> None:
        if url in self._checked_urls:
            return
        from azoai.auth import check_host

        check_host(url, self.connection.allowed_hosts)
        if len(self._checked_urls) < 256:
            self._checked_urls.add(url)

    def _error(
        self, call: _Call, status: int, content: bytes, headers: Mapping[str, str]
    ) -> AzoaiError:
        if 300 <= status < 400:
            return AzoaiError(
                f"Azure answered {status} with a redirect to {headers.get('location', '?')!r}; azoai does not follow "
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

    def _send(self, call: _Call, options: CallOptions) -> httpx.Response:
        """Send with the core's retry policy; returns a 2xx response (streamed if ``call.stream``)."""
        _httpx.load()
        import httpx

        conn = self.connection
        http = conn.sync_client()
        self._check_host(call.url)
        state = _Attempts(self, call, options)
        while True:
            if call.pacer is not None:
                state.sent_at = call.pacer.acquire(call.estimate)
            try:
                auth = conn.auth.headers()
                resp = http.send(
                    self._request(http, call, auth, options),
                    stream=call.stream,
                    follow_redirects=False,
                )
            except httpx.TransportError as exc:
                err = state.transport_error(exc)
            except BaseException:
                if call.pacer is not None:  # cancelled (or a credential failed): no answer
                    call.pacer.release(state.sent_at)
                raise
            else:
                if resp.status_code < 300:
                    state.ok(resp.headers)
                    return resp
                try:
                    content = resp.read()
                except httpx.HTTPError:
                    content = b""
                finally:
                    resp.close()
                maybe = state.status_error(resp.status_code, content, resp.headers, auth)
                if maybe is None:
                    continue
                err = maybe
            time.sleep(state.next_delay(err))

    async def _asend(self, call: _Call, options: CallOptions) -> httpx.Response:
        import asyncio

        _httpx.load()
        import httpx

        conn = self.connection
        http = conn.async_client()
        self._check_host(call.url)
        state = _Attempts(self, call, options)
        while True:
            if call.pacer is not None:
                state.sent_at = await call.pacer.aacquire(call.estimate)
            try:
                auth = await conn.auth.aheaders()
                resp = await http.send(
                    self._request(http, call, auth, options),
                    stream=call.stream,
                    follow_redirects=False,
                )
            except httpx.TransportError as exc:
                err = state.transport_error(exc)
            except BaseException:
                if call.pacer is not None:  # cancelled (or a credential failed): no answer
                    call.pacer.release(state.sent_at)
                raise
            else:
                if resp.status_code < 300:
                    state.ok(resp.headers)
                    return resp
                try:
                    content = await resp.aread()
                except httpx.HTTPError:
                    content = b""
                finally:
                    await resp.aclose()
                maybe = state.status_error(resp.status_code, content, resp.headers, auth)
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
        response headers; the last carries the finish reason (and usage). A stream that ends
        before the model finished raises :class:`StreamInterruptedError` with the text so far."""
        _httpx.load()
        import httpx

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
        try:
            resp = self._send(call, opts)
        except UnsupportedParameterError as err:
            if not self._learn(call, err):
                raise
            call = self._prepare(request, model, stream=True)
            resp = self._send(call, opts)
        state = _StreamState(call, opts, kept_headers(resp.headers))
        try:
            for data in iter_sse(resp.iter_lines()):
                delta = state.feed(data)
                if delta is not None:
                    yield delta
                if state.done:
                    break
        except httpx.TimeoutException:
            raise state.interrupted(
                f"no data for {self.settings.timeout.stream_idle:.0f} s (stream_idle timeout)"
            ) from None
        except httpx.TransportError as exc:
            raise state.interrupted(f"the connection dropped ({type(exc).__name__})") from None
        finally:
            resp.close()
        state.check_complete()

    async def astream(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> AsyncIterator[StreamDelta]:
        _httpx.load()
        import httpx

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
        try:
            resp = await self._asend(call, opts)
        except UnsupportedParameterError as err:
            if not self._learn(call, err):
                raise
            call = await self._aprepare(request, model, stream=True)
            resp = await self._asend(call, opts)
        state = _StreamState(call, opts, kept_headers(resp.headers))
        try:
            async for data in aiter_sse(resp.aiter_lines()):
                delta = state.feed(data)
                if delta is not None:
                    yield delta
                if state.done:
                    break
        except httpx.TimeoutException:
            raise state.interrupted(
                f"no data for {self.settings.timeout.stream_idle:.0f} s (stream_idle timeout)"
            ) from None
        except httpx.TransportError as exc:
            raise state.interrupted(f"the connection dropped ({type(exc).__name__})") from None
        finally:
            await resp.aclose()
        state.check_complete()

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

    def interrupted(self, why: str) -> StreamInterruptedError:
        text = "".join(self.text)
        return StreamInterruptedError(
            f"the stream from deployment '{self.call.deployment}' ended before the model finished: {why}; "
            f"{len(text)} characters arrived",
            partial_text=text,
            deployment=self.call.deployment,
        )

    def check_complete(self) -> None:
        if self.finished is None:
            raise self.interrupted("no finish reason and no end-of-stream marker")

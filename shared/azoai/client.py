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
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from azoai.config.catalog import ModelInfo, lookup_model
from azoai.config.deployments import (
    DeploymentDiscovery,
    DeploymentRecord,
    Resolution,
    resolve_deployment,
)
from azoai.config.endpoints import operation_url
from azoai.config.settings import Settings
from azoai.config.versions import (
    DEFAULT_DATED_VERSION,
    parse_api_version,
)
from azoai.error_reading import kept_headers
from azoai.errors import AzoaiError, ConfigError, UnsupportedParameterError
from azoai.io.exchange import Cut, HttpRequest, HttpTransport, Reply
from azoai.io.http import Connection, acquire, arelease, release
from azoai.pipeline import api_choice
from azoai.pipeline.chaining import Chains
from azoai.pipeline.loop import arun, run
from azoai.pipeline.policy import (
    DEFAULT_OPTIONS,
    Attempts,
    Call,
    CallOptions,
    attempts_for,
)
from azoai.pipeline.streaming import (
    AStarted,
    Started,
    astart_stream,
    completion_filtered,
    folded,
    model_version_of,
    start_stream,
)
from azoai.pipeline.telemetry import (
    for_settings,
    traced_achat,
    traced_aembed,
    traced_astream,
    traced_chat,
    traced_embed,
    traced_stream,
)
from azoai.wire import chat_completions, responses
from azoai.wire.common import dumps, loads
from azoai.wire.stream import StreamAccumulator
from azoai.wire.types import ChatRequest, ChatResult, EmbeddingResult, StreamDelta

if TYPE_CHECKING:
    import httpx

    from azoai.embeddings import ProgressCallback
    from azoai.io.websocket import WebSocketTransport
    from azoai.pipeline.routing import Router
    from azoai.pipeline.websocket import WebSocketCalls, WebSocketSession

__all__ = ["CallOptions", "Client"]

log = logging.getLogger("azoai.client")

#: Resends of one call after what Azure's refusals taught (an unknown deployment may teach two
#: things in a row: a reasoning model, then the tools rule) or an unchained conversation.
_RESENDS = 2


class Client:
    """Azure OpenAI, the Azure way. Build from :class:`~azoai.config.settings.Settings` or from the same
    keyword arguments :meth:`Settings.build` takes::

        client = Client(endpoint="https://myres.openai.azure.com", api_key="...", deployment="chat")
        result = client.chat(ChatRequest(messages=[Message("user", "Hi")]))

    Clients built from equal settings share one pooled connection and token cache.
    """

    # Audio, images, legacy completions and fine-tuning are services built on a client
    # (``Audio(client)``, ``Images(client)``, ...; azoai.service): they sit above it, so the client
    # knows nothing of them and chat-only programs never load them.

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
        # deployment -> what Azure's answers taught about its model (a reasoning model, the
        # tools rule, a first api-version): wins over the configured or discovered model
        self._learned: dict[str, ModelInfo] = {}
        self._said_routed: set[tuple[str, str]] = set()
        self._routers: dict[str, Router] = {}
        self._http: HttpTransport | None = None
        self._said_embeddings_route = False
        self._ws: WebSocketTransport | None = None  # transport="websocket" (azoai.io.websocket)
        self._chains = Chains()  # a chain Azure lost is resent in full (azoai.pipeline.chaining)
        self._telemetry = for_settings(settings)  # None: calls untouched (pipeline.telemetry)

    def __repr__(self) -> str:
        return f"Client({self.settings!r})"

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def connection(self) -> Connection:
        conn = self._conn
        if conn is None:
            self.settings.check()  # an error deferred from construction (drop-in settings)
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
            self._http = None
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
            self._http = None
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
                # loaded with the first route: chat-only programs never import routing or pacing
                from azoai.pipeline.routing import Router

                router = self._routers[name] = Router(self, name, spec, self._target)
        return router

    def _target(self, settings: Settings) -> Client:
        """The client for one route target's own settings (endpoint, credential, deployment)."""
        target = Client(
            settings, http_client=self._http_client, http_async_client=self._http_async_client
        )
        target._chains = self._chains  # a chain begun on one target can be resent on another
        return target

    def _websocket(self) -> WebSocketCalls | None:
        """Calls over the Responses WebSocket when ``transport="websocket"`` or a
        :meth:`websocket_session` is active here; ``None`` sends over HTTP."""
        if self.settings.transport != "websocket" and "azoai.pipeline.websocket" not in sys.modules:
            return None  # no session can be active: keep HTTP calls free of the import
        from azoai.pipeline.websocket import transport_for

        return transport_for(self)

    def websocket_session(self) -> WebSocketSession:
        """A long-lived Responses WebSocket session for multi-turn use: its sockets stay open
        (whatever ``close_on_finish`` says) until it is closed, and while it is active (``with``
        / ``async with``) this client's calls go through it. See :mod:`azoai.io.websocket`."""
        from azoai.pipeline.websocket import WebSocketSession

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
        from azoai.pipeline.discovery import discovery_for

        return discovery_for(self.settings)

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
        learned = self._learned.get(res.deployment)
        if learned is not None:
            return learned
        if res.record is not None and res.record.model:
            return res.record.info
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
        if (
            op == "embeddings"
            and s.route == "v1"
            and s.auth.is_entra
            and s.endpoint.kind != "compatible"
        ):
            # Azure: "The Azure OpenAI embeddings API doesn't currently support Microsoft Entra
            # ID with the v1 API" (the deployment route does), so Entra callers embed there.
            if not self._said_embeddings_route:
                self._said_embeddings_route = True
                log.info(
                    "embeddings use the deployment route (api-version %s): Azure's v1 "
                    "embeddings do not accept Entra ID tokens",
                    DEFAULT_DATED_VERSION,
                )
            dated = parse_api_version(DEFAULT_DATED_VERSION)
            return operation_url(s.endpoint, op, deployment, route="deployments", version=dated)
        return operation_url(s.endpoint, op, deployment, route=s.route, version=s.api_version)

    def _prepare(self, request: ChatRequest, model: str | None, stream: bool) -> Call:
        self.settings.check()  # an error deferred from construction (drop-in settings)
        try:
            return self._call_for(request, model, stream)
        except ConfigError as err:
            self.settings.named(err)  # the caller's argument names (strict_params=...)
            raise

    def _call_for(self, request: ChatRequest, model: str | None, stream: bool) -> Call:
        s = self.settings
        res = self.resolve(model)
        info = self._model_for(res)
        api = api_choice.api_for(s, request, info, res.deployment)
        if api == "responses":
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
            if s.api != "responses":
                api_choice.note_routed(self._said_routed, res.deployment, request, info, notes)
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
        return Call(
            res.deployment,
            api,
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

    def _learn(self, call: Call, err: UnsupportedParameterError) -> bool:
        """An unknown model rejected a sampling parameter: treat the deployment as a reasoning
        model from now on (one extra call, once per deployment)."""
        return api_choice.learn_reasoning(self.settings, self._learned, call, err)

    def _resend(self, call: Call, request: ChatRequest, err: AzoaiError, left: int) -> ChatRequest:
        """The request to prepare and send again after ``err``: the conversation unchained (a
        lost ``previous_response_id``), or the same one once Azure's refusal taught something
        (a reasoning model, :func:`api_choice.recover`), which may instead raise the typed error
        naming the fix; raises ``err`` when there is nothing to retry or no resend ``left``."""
        if left:
            if (retry := self._chains.unchained(request, err)) is not None:
                return retry
            if (isinstance(err, UnsupportedParameterError) and self._learn(call, err)) or (
                api_choice.recover(self.settings, self._learned, call, request, err)
            ):
                return request
        raise err

    # -- sending -------------------------------------------------------------------------------

    @property
    def _transport(self) -> HttpTransport:
        http = self._http
        if http is None:
            conn = self.connection
            with self._conn_lock:
                if self._http is None or self._http.connection is not conn:
                    self._http = HttpTransport(self.settings, conn)
                http = self._http
        return http

    def _check_host(self, url: str) -> None:
        self._transport.check_host(url)

    def _attempts(self, call: Call, options: CallOptions) -> Attempts:
        return attempts_for(self.settings, call, options, self.connection.auth.on_unauthorized)

    @staticmethod
    def _request(call: Call, options: CallOptions) -> HttpRequest:
        return HttpRequest(
            call.url,
            call.body,
            call.stream,
            call.deployment,
            options.timeout,
            options.extra_headers,
        )

    def _send(self, call: Call, options: CallOptions) -> Reply:
        """One non-streamed call through the request loop: the 2xx body, read within the
        attempt's deadline and size limit."""
        http, req = self._transport, self._request(call, options)
        return run(self._attempts(call, options), lambda: http.send(req))  # type: ignore[no-any-return]

    async def _asend(self, call: Call, options: CallOptions) -> Reply:
        http, req = self._transport, self._request(call, options)
        return await arun(self._attempts(call, options), lambda: http.asend(req))  # type: ignore[no-any-return]

    # -- chat ------------------------------------------------------------------------------------

    def _parse(self, call: Call, content: bytes, headers: Mapping[str, str]) -> ChatResult:
        if call.api == "responses":
            return responses.parse_response(
                loads(content), deployment=call.deployment, headers=kept_headers(headers)
            )
        return chat_completions.parse_response(
            loads(content), deployment=call.deployment, headers=kept_headers(headers)
        )

    def _finish(
        self, result: ChatResult, options: CallOptions, call: Call | None = None
    ) -> ChatResult:
        result.model_version = model_version_of(call.model_version if call else None, result.model)
        if result.finish_reason == "content_filter" and not options.return_filtered:
            raise completion_filtered(result.content_filter, result.text, result, result.deployment)
        return result

    @traced_chat
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
        opts = options or DEFAULT_OPTIONS
        call = self._prepare(request, model, stream=False)
        for left in range(_RESENDS, -1, -1):
            try:
                resp = self._send(call, opts)
                break
            except AzoaiError as err:
                request = self._resend(call, request, err, left)
                call = self._prepare(request, model, stream=False)
        result = self._finish(self._parse(call, resp.content, resp.headers), opts, call)
        return self._chains.record(request, result)

    @traced_achat
    async def achat(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> ChatResult:
        router = self._router(model)
        if router is not None:
            return await router.achat(request, options)
        ws = self._websocket()
        if ws is not None:
            return await ws.achat(request, model=model, options=options)
        opts = options or DEFAULT_OPTIONS
        call = await self._aprepare(request, model, stream=False)
        for left in range(_RESENDS, -1, -1):
            try:
                resp = await self._asend(call, opts)
                break
            except AzoaiError as err:
                request = self._resend(call, request, err, left)
                call = await self._aprepare(request, model, stream=False)
        result = self._finish(self._parse(call, resp.content, resp.headers), opts, call)
        return self._chains.record(request, result)

    async def _aprepare(self, request: ChatRequest, model: str | None, stream: bool) -> Call:
        import asyncio

        if self.settings.discovery is not None and self._discovery_stale():
            # Listing deployments is blocking HTTP; keep it off the event loop.
            await asyncio.to_thread(self.known_deployments)
        return self._prepare(request, model, stream)

    def _discovery_stale(self) -> bool:
        d = self._discovery
        return d is None or d._cached is None or (time.monotonic() - d._cached_at) >= d.settings.ttl

    # -- streaming -------------------------------------------------------------------------------

    @traced_stream
    def stream(
        self,
        request: ChatRequest,
        *,
        model: str | None = None,
        options: CallOptions | None = None,
        into: StreamAccumulator | None = None,
    ) -> Iterator[StreamDelta]:
        """Stream a completion as :class:`StreamDelta` objects. The first delta carries the Azure
        response headers and the deployment (and, on a route, the target); the last carries the
        finish reason (and usage). Until the first delta arrives, a failure is retried (and a
        route fails over) like any request; after it, a stream that ends before the model
        finished raises :class:`StreamInterruptedError` with the text so far.

        ``into``: a :class:`~azoai.wire.StreamAccumulator` every delta is folded into before it
        is yielded (the core's own bookkeeping uses it, so each delta is folded once); read what
        the stream adds up to from it."""
        router = self._router(model)
        if router is not None:
            yield from folded(router.stream(request, options), into)
            return
        ws = self._websocket()
        if ws is not None:
            yield from folded(ws.stream(request, model=model, options=options), into)
            return
        opts = options or DEFAULT_OPTIONS
        call = self._prepare(request, model, stream=True)
        for left in range(_RESENDS, -1, -1):
            try:
                started = self._start_stream(call, opts, into)
                break
            except AzoaiError as err:
                request = self._resend(call, request, err, left)
                call = self._prepare(request, model, stream=True)
        opened, state, feed, first = started
        try:
            if first is not None:
                yield first
            if not state.done:
                for data in feed:
                    delta = state.feed(data)
                    if delta is not None:
                        yield delta
                    if state.done:
                        break
        except Cut as cut:
            raise state.interrupted(cut.why, fix=cut.fix()) from None
        finally:
            opened.close()
        state.check_complete()
        if call.api == "responses":
            self._chains.record(request, state.acc.result())

    def _start_stream(
        self, call: Call, options: CallOptions, into: StreamAccumulator | None = None
    ) -> Started:
        return start_stream(
            self._transport,
            self._request(call, options),
            self._attempts(call, options),
            call,
            options,
            into,
        )

    @traced_astream
    async def astream(
        self,
        request: ChatRequest,
        *,
        model: str | None = None,
        options: CallOptions | None = None,
        into: StreamAccumulator | None = None,
    ) -> AsyncIterator[StreamDelta]:
        """The async :meth:`stream`."""
        router = self._router(model)
        if router is not None:
            async for routed in router.astream(request, options):
                if into is not None:
                    into.add(routed)
                yield routed
            return
        ws = self._websocket()
        if ws is not None:
            # aclosing: a consumer that stops early closes the socket now, not at collection
            async with contextlib.aclosing(ws.astream(request, model=model, options=options)) as s:
                async for ws_delta in s:
                    if into is not None:
                        into.add(ws_delta)
                    yield ws_delta
            return
        opts = options or DEFAULT_OPTIONS
        call = await self._aprepare(request, model, stream=True)
        for left in range(_RESENDS, -1, -1):
            try:
                started = await self._astart_stream(call, opts, into)
                break
            except AzoaiError as err:
                request = self._resend(call, request, err, left)
                call = await self._aprepare(request, model, stream=True)
        opened, state, feed, first = started
        try:
            if first is not None:
                yield first
            if not state.done:
                async for data in feed:
                    delta = state.feed(data)
                    if delta is not None:
                        yield delta
                    if state.done:
                        break
        except Cut as cut:
            raise state.interrupted(cut.why, fix=cut.fix()) from None
        finally:
            await feed.aclose()
            await opened.aclose()
        state.check_complete()
        if call.api == "responses":
            self._chains.record(request, state.acc.result())

    async def _astart_stream(
        self, call: Call, options: CallOptions, into: StreamAccumulator | None = None
    ) -> AStarted:
        return await astart_stream(
            self._transport,
            self._request(call, options),
            self._attempts(call, options),
            call,
            options,
            into,
        )

    # -- embeddings ------------------------------------------------------------------------------

    @traced_embed
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

        self.settings.check()  # an error deferred from construction (drop-in settings)
        try:
            return EmbeddingEngine(self, **engine_options).embed(
                texts,
                model=model,
                dimensions=dimensions,
                options=options,
                progress=progress,
                extra_body=extra_body,
            )
        except ConfigError as err:
            self.settings.named(err)  # the caller's argument names
            raise

    @traced_aembed
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

        self.settings.check()  # an error deferred from construction (drop-in settings)
        try:
            return await EmbeddingEngine(self, **engine_options).aembed(
                texts,
                model=model,
                dimensions=dimensions,
                options=options,
                progress=progress,
                extra_body=extra_body,
            )
        except ConfigError as err:
            self.settings.named(err)  # the caller's argument names
            raise

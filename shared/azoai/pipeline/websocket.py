"""Calls over the Responses WebSocket, through the one request loop.

:class:`~azoai.io.websocket.WebSocketTransport` sends one attempt at a time and reports its
outcome; here each call is driven by :func:`~azoai.pipeline.loop.run` / ``arun`` under the
client's retry policy, with the WebSocket's own step added: a deployment of an unknown model
that rejects a sampling parameter is learned as a reasoning model and the request rebuilt
(as over HTTP). A stream is retried only until its first event; after it, a dropped socket
raises :class:`~azoai.errors.StreamInterruptedError`. This module also holds the sessions
(:meth:`~azoai.client.Client.websocket_session`) and which transport a client's call takes.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncGenerator, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from azoai.errors import AzoaiError, ConfigError, InvalidResponseError, UnsupportedParameterError
from azoai.io.transport import Outcome, Status
from azoai.io.websocket import Interrupted, Plan, Pool, WebSocketTransport
from azoai.pipeline.loop import arun, run
from azoai.pipeline.policy import Attempts, Call, CallOptions, attempts_for
from azoai.pipeline.streaming import StreamState
from azoai.wire import responses
from azoai.wire.types import ChatRequest, ChatResult, StreamDelta

if TYPE_CHECKING:
    import threading

    from azoai.config.catalog import ModelInfo
    from azoai.config.deployments import DeploymentRecord, Resolution
    from azoai.config.settings import Settings
    from azoai.io.http import Connection

__all__ = ["WebSocketCalls", "WebSocketHost", "WebSocketSession", "transport_for"]


class WebSocketHost(Protocol):
    """What WebSocket calls need from the client (:class:`~azoai.client.Client`)."""

    settings: Settings
    _conn_lock: threading.Lock
    _ws: WebSocketTransport | None

    @property
    def connection(self) -> Connection: ...

    def resolve(self, model: str | None = None) -> Resolution: ...

    def known_deployments(self) -> tuple[DeploymentRecord, ...]: ...

    def _discovery_stale(self) -> bool: ...

    def _model_for(self, res: Resolution) -> ModelInfo: ...

    def _learn(self, call: Call, err: UnsupportedParameterError) -> bool: ...

    def _finish(
        self, result: ChatResult, options: CallOptions, call: Call | None = None
    ) -> ChatResult: ...


# --- the active sessions ------------------------------------------------------------------------

_ACTIVE: contextvars.ContextVar[tuple[WebSocketSession, ...]] = contextvars.ContextVar(
    "azoai_websocket_sessions", default=()
)


def _transport(client: WebSocketHost) -> WebSocketTransport:
    """The client's WebSocket transport, made on first use."""
    ws = client._ws
    if ws is None:
        with client._conn_lock:
            if client._ws is None:
                client._ws = WebSocketTransport(client)
            ws = client._ws
    return ws


def transport_for(client: WebSocketHost) -> WebSocketCalls | None:
    """The calls for ``client``'s next request: through a session active in this context, or
    the client's own transport with ``transport="websocket"``, or ``None`` (HTTP)."""
    for session in reversed(_ACTIVE.get()):
        if session.client is client and not session.closed:
            return session.calls
    if client.settings.transport != "websocket":
        return None
    return WebSocketCalls(client, _transport(client), None)


def _pool_in_context(transport: WebSocketTransport) -> Pool:
    for session in reversed(_ACTIVE.get()):
        if session.transport is transport and not session.closed:
            return session.pool
    return transport.pool


# --- one call -------------------------------------------------------------------------------------


class _Job:
    """One call: the request, its prepared :class:`Call`, the transport's :class:`Turn`, and the
    policy the request loop asks. The policy is :class:`Attempts` plus one step: an unknown
    model's deployment that rejects a sampling parameter is learned and the request rebuilt."""

    __slots__ = ("attempts", "call", "client", "model", "options", "request", "transport", "turn")

    def __init__(
        self,
        client: WebSocketHost,
        transport: WebSocketTransport,
        request: ChatRequest,
        model: str | None,
        options: CallOptions,
        pool: Pool | None,
        replayable: bool,
    ) -> None:
        self.client = client
        self.transport = transport
        self.request = request
        self.model = model
        self.options = options
        self.call, plan = self._plan()
        t = client.settings.timeout
        self.turn = transport.turn(
            plan,
            extra_headers=options.extra_headers,
            pool=pool or _pool_in_context(transport),
            timeout=(options.timeout or t.read) if replayable else t.stream_idle,
            replayable=replayable,
        )
        self.attempts: Attempts = attempts_for(
            client.settings, self.call, options, client.connection.auth.on_unauthorized
        )

    def _plan(self) -> tuple[Call, Plan]:
        client = self.client
        s = client.settings
        res = client.resolve(self.model)
        info = client._model_for(res)
        body, notes = responses.build_body(
            self.request,
            deployment=res.deployment,
            model=info,
            version=s.api_version,
            stream=False,
            strict=s.strict,
            check_version=s.check_api_version,
        )
        call = Call(res.deployment, "responses", self.transport.url, b"", info, True, notes)
        return call, Plan.of(body, res.deployment)

    # -- the request loop's policy ---------------------------------------------------------------

    def start(self) -> float | None:
        return self.attempts.start()

    async def astart(self) -> float | None:
        return await self.attempts.astart()

    def abandon(self) -> None:
        self.attempts.abandon()

    def decide(self, outcome: Outcome) -> float | None:
        if not isinstance(outcome, Status):
            return self.attempts.decide(outcome)
        err = self.attempts.status_error(outcome)
        if err is None:
            return 0.0  # a 401 a fresh token may fix: new credential, new socket
        if isinstance(err, UnsupportedParameterError) and self.client._learn(self.call, err):
            self.call, self.turn.plan = self._plan()
            self.attempts.call = self.call
            return 0.0
        return self.attempts.next_delay(err)  # raises when the call must give up

    async def adecide(self, outcome: Outcome) -> float | None:
        return self.decide(outcome)  # no quota pacer on chat calls: nothing to await

    # -- results ---------------------------------------------------------------------------------

    def result(self, final: Any) -> ChatResult:
        response = final.get("response") if isinstance(final, dict) else None
        if response is None:
            raise InvalidResponseError("the WebSocket response ended without a response object")
        result = responses.parse_response(
            response, deployment=self.call.deployment, headers=self.turn.sock_headers
        )
        return self.client._finish(result, self.options, self.call)

    def interrupted(self, state: StreamState | None, exc: Exception) -> AzoaiError:
        why = exc.why if isinstance(exc, Interrupted) else f"a malformed event arrived ({exc})"
        if state is None:
            state = StreamState(self.call, self.options, {})
        return state.interrupted(why)


class WebSocketCalls:
    """``chat``, ``stream`` and their async twins over one transport and pool (``None``: the
    transport's own, or that of a session active in this context)."""

    __slots__ = ("client", "pool", "transport")

    def __init__(
        self, client: WebSocketHost, transport: WebSocketTransport, pool: Pool | None
    ) -> None:
        self.client = client
        self.transport = transport
        self.pool = pool

    def _job(
        self, request: ChatRequest, model: str | None, options: CallOptions | None, replay: bool
    ) -> _Job:
        opts = options or CallOptions()
        return _Job(self.client, self.transport, request, model, opts, self.pool, replay)

    async def _ajob(
        self, request: ChatRequest, model: str | None, options: CallOptions | None, replay: bool
    ) -> _Job:
        client = self.client
        if client.settings.discovery is not None and client._discovery_stale():
            await asyncio.to_thread(client.known_deployments)  # blocking HTTP
        return self._job(request, model, options, replay)

    def chat(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> ChatResult:
        job = self._job(request, model, options, True)
        try:
            final = run(job, lambda: self.transport.send(job.turn))
        finally:
            self.transport.finish(job.turn)
        return job.result(final)

    async def achat(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> ChatResult:
        job = await self._ajob(request, model, options, True)
        try:
            final = await arun(job, lambda: self.transport.asend(job.turn))
        finally:
            await self.transport.afinish(job.turn)
        return job.result(final)

    def stream(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> Generator[StreamDelta, None, None]:
        job = self._job(request, model, options, False)
        transport, turn = self.transport, job.turn
        state: StreamState | None = None
        events = transport.events(turn)
        try:
            event = run(job, lambda: transport.send(turn))  # retried until the first event
            while True:
                if state is None:
                    state = StreamState(job.call, job.options, turn.sock_headers)
                delta = state.feed_event(event)
                if delta is not None:
                    yield delta
                if state.done:
                    break
                event = next(events, None)
                if event is None:
                    break
        except (Interrupted, InvalidResponseError) as exc:
            raise job.interrupted(state, exc) from None
        finally:
            events.close()
            transport.finish(turn)
        assert state is not None
        state.check_complete()

    async def astream(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> AsyncGenerator[StreamDelta, None]:
        job = await self._ajob(request, model, options, False)
        transport, turn = self.transport, job.turn
        state: StreamState | None = None
        events = transport.aevents(turn)
        try:
            event = await arun(job, lambda: transport.asend(turn))
            while True:
                if state is None:
                    state = StreamState(job.call, job.options, turn.sock_headers)
                delta = state.feed_event(event)
                if delta is not None:
                    yield delta
                if state.done:
                    break
                event = await anext(events, None)
                if event is None:
                    break
        except (Interrupted, InvalidResponseError) as exc:
            raise job.interrupted(state, exc) from None
        finally:
            await events.aclose()
            await transport.afinish(turn)
        assert state is not None
        state.check_complete()


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

    def __init__(self, client: WebSocketHost) -> None:
        if client._ws is None and client.settings.api != "responses":
            raise ConfigError(
                "a WebSocket session needs the Responses API; set api='responses' "
                "(use_responses_api=True in the adapters)",
                setting="api",
            )
        self.client = client
        self.transport = _transport(client)
        self.pool = self.transport.new_pool()
        self.calls = WebSocketCalls(client, self.transport, self.pool)
        self._tokens: list[contextvars.Token[tuple[WebSocketSession, ...]]] = []
        self.closed = False

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self.pool.idle)} idle socket(s)"
        return f"WebSocketSession({state})"

    @property
    def last_response_id(self) -> str | None:
        """The id of the latest response on this session's idle sockets."""
        return self.transport.last_response_id(self.pool)

    def chat(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> ChatResult:
        return self.calls.chat(request, model=model, options=options)

    async def achat(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> ChatResult:
        return await self.calls.achat(request, model=model, options=options)

    def stream(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> Generator[StreamDelta, None, None]:
        return self.calls.stream(request, model=model, options=options)

    def astream(
        self, request: ChatRequest, *, model: str | None = None, options: CallOptions | None = None
    ) -> AsyncGenerator[StreamDelta, None]:
        return self.calls.astream(request, model=model, options=options)

    def close(self) -> None:
        """Close the session's sockets (idempotent)."""
        self.closed = True
        self.transport.close_pool(self.pool)

    async def aclose(self) -> None:
        self.closed = True
        await self.transport.aclose_pool(self.pool)

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

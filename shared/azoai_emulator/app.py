"""The starlette application: turns HTTP into :class:`~azoai_emulator.protocol.Call` objects,
logs each request (secrets redacted), and sends results, including server-sent event streams
that can be cut mid-way by closing the TCP connection. The Responses WebSocket
(``/openai/v1/responses``) is adapted here to :class:`~azoai_emulator.api_responses_ws.SocketIO`.
The HTTPS listener's application (the Entra token service) is built here too, with another
handler and no WebSocket.

This is the only module that imports starlette.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from azoai_emulator.api_responses_ws import ResponsesSocket, authenticate_handshake
from azoai_emulator.dispatch import handle
from azoai_emulator.pipeline import request_id_headers
from azoai_emulator.protocol import (
    ApiError,
    Call,
    HttpResult,
    RequestRecord,
    StreamResult,
    redact_headers,
    redact_query,
)
from azoai_emulator.state import EmulatorState, StopServing

__all__ = ["build_app"]

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


async def _close_connection(scope: Scope, receive: Receive, state: EmulatorState) -> None:
    """Close the request's TCP connection (flushing what was sent), then wait for the server to
    notice, so the ASGI cycle ends without an error."""
    dropper = state.drop_connection
    if dropper is None or not dropper(scope):
        raise ConnectionAbortedError("azoai emulator: connection closed by a fault")
    while (await receive())["type"] != "http.disconnect":
        pass


class _Dropped(Response):
    def __init__(self, state: EmulatorState) -> None:
        super().__init__(status_code=200)
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _close_connection(scope, receive, self._state)


class _EventStream(Response):
    """``text/event-stream`` with a delay before each event and an optional cut."""

    def __init__(self, result: StreamResult, state: EmulatorState) -> None:
        # Not Response.__init__: it would declare a Content-Length; a stream is chunked.
        self.status_code = result.status
        self.background = None
        headers = {
            **result.headers,
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache",
        }
        self.raw_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]
        self._result = result
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        result = self._result
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        cut = result.cut_after
        if cut is not None:
            cut = min(cut, len(result.events) - 1)  # a cut stream never reaches [DONE]
        for index, event in enumerate(result.events):
            if index == cut:
                await _close_connection(scope, receive, self._state)
                return
            try:
                if result.delay > 0:
                    await self._state.wait(result.delay)
            except StopServing:
                await _close_connection(scope, receive, self._state)
                return
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


Handler = Callable[[Call, EmulatorState], Awaitable[HttpResult | StreamResult]]


def build_app(
    state: EmulatorState, *, handler: Handler = handle, websocket: bool = True
) -> Starlette:
    """The emulator as an ASGI application serving ``state``: Azure OpenAI by default, or
    another ``handler`` (the Entra token service) without the Responses WebSocket."""

    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        query = dict(request.query_params)
        record = RequestRecord(
            method=request.method,
            path=request.url.path,
            query=query,
            headers=redact_headers(headers),
            body=_parse(raw),
            time=time.time(),
        )
        state.log(record)
        call = Call(
            method=request.method,
            path=request.url.path,
            query=query,
            headers=headers,
            raw_body=raw,
            base_url=str(request.base_url).rstrip("/"),
            record=record,
        )
        result = await handler(call, state)
        if isinstance(result, StreamResult):
            record.status = result.status
            return _EventStream(result, state)
        if result.drop:
            return _Dropped(state)
        record.status = result.status
        return _json_response(result)

    async def websocket_endpoint(websocket: WebSocket) -> None:
        headers = {k.lower(): v for k, v in websocket.headers.items()}
        query = dict(websocket.query_params)
        record = RequestRecord(
            method="GET",
            path=websocket.url.path,
            query=redact_query(query),
            headers=redact_headers(headers),
            body=None,
            time=time.time(),
        )
        state.log(record)
        base = f"http://{websocket.url.netloc}"
        call = Call("GET", websocket.url.path, query, headers, b"", base, record)
        ids = request_id_headers(call, state.region)
        try:
            if state.request_latency > 0:
                await state.wait(state.request_latency)
            authenticate_handshake(call, state)
        except ApiError as exc:
            record.status = exc.status
            result = exc.result()
            result.headers = {**ids, **result.headers}
            await websocket.send_denial_response(_json_response(result))
            return
        except StopServing:
            await websocket.close(1012)
            return
        record.status = 101
        await websocket.accept(
            headers=[(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in ids.items()]
        )
        key = id(websocket)
        state.websocket_opened(key, websocket.scope)
        try:
            await ResponsesSocket(state, call).serve(_StarletteSocket(websocket, state))
        finally:
            state.websocket_closed(key)
            if (
                websocket.client_state == WebSocketState.CONNECTED
                and websocket.application_state == WebSocketState.CONNECTED
            ):
                try:
                    await websocket.close()
                except (RuntimeError, OSError, WebSocketDisconnect):
                    pass

    http_route = Route("/{path:path}", endpoint, methods=_METHODS)
    if not websocket:
        return Starlette(routes=[http_route])
    return Starlette(
        routes=[WebSocketRoute("/openai/v1/responses", websocket_endpoint), http_route]
    )


class _StarletteSocket:
    """:class:`~azoai_emulator.api_responses_ws.SocketIO` over a starlette WebSocket."""

    def __init__(self, websocket: WebSocket, state: EmulatorState) -> None:
        self._ws = websocket
        self._state = state

    async def receive(self) -> str | None:
        try:
            message = await self._ws.receive()
        except (WebSocketDisconnect, RuntimeError):
            return None
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is None:
            data = message.get("bytes") or b""
            text = data.decode("utf-8", "replace")
        return str(text)

    async def send(self, payload: bytes) -> None:
        await self._ws.send_text(payload.decode("utf-8"))

    async def close(self, code: int, reason: str) -> None:
        await self._ws.close(code=code, reason=reason)

    async def drop(self) -> None:
        dropper = self._state.drop_connection
        if dropper is not None:
            dropper(self._ws.scope)


def _json_response(result: HttpResult) -> Response:
    if isinstance(result.body, bytes | str):  # audio or text: its content-type is in the headers
        raw = result.body.encode("utf-8") if isinstance(result.body, str) else result.body
        return Response(raw, status_code=result.status, headers=result.headers)
    body = json.dumps(result.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(
        body, status_code=result.status, headers=result.headers, media_type="application/json"
    )

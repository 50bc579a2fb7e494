"""The Responses API over a WebSocket: ``wss://{host}/openai/v1/responses`` (facts §11).

* The handshake is authenticated once: an ``api-key`` header, ``Authorization: Bearer`` with an
  Entra token or the key (as on the v1 route), or an ``api-key`` query parameter (which some
  clients use; the request log redacts it). A failed check answers Azure's 401 instead of the
  upgrade. ``api-version`` may be ``v1`` or ``preview``, as on the v1 route.
* Each client message is ``{"type": "response.create", ...}`` carrying the body of
  ``POST /responses`` without ``stream`` and ``background`` (either is rejected as an unknown
  argument); ``"generate": false`` is a warm-up that returns a response id and no output. The
  answer is the HTTP stream's events, one JSON text frame each, ending with a terminal event
  (``response.completed`` / ``response.incomplete``), or one ``error`` event
  (``{"type": "error", "status": 400, "error": {...}}``) with Azure's error object.
* One response in flight per connection: a ``response.create`` sent before the previous one's
  terminal event gets an ``error`` event with code ``response_in_progress`` (Azure's code for
  this is not documented; this is the emulator's) and is not processed.
* A connection-local cache holds the latest response: ``previous_response_id`` finds it even
  with ``store: false``; older responses come from the store only if they were stored
  (``previous_response_not_found`` otherwise). A failed continuation evicts the cached response
  it named.
* A connection older than ``ws_max_age`` seconds (Azure: 60 minutes) answers its next
  ``response.create`` with ``websocket_connection_limit_reached`` and is closed.
* Faults apply per message as for HTTP: latency and per-token pacing, status and rate-limit
  faults as ``error`` events, ``cut_stream`` and ``close_connection`` drop the TCP connection.

Each ``response.create`` is logged as a :class:`RequestRecord` with method ``"WS"`` and the
handshake's (redacted) headers; the handshake itself is logged as a ``GET`` with status 101.
This module knows no ASGI framework: ``app.py`` adapts starlette to :class:`SocketIO`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from azoai_emulator.api_responses import ConnectionCache, handle_responses
from azoai_emulator.identity import authenticate_data_plane
from azoai_emulator.pipeline import DropConnection, check_v1_version
from azoai_emulator.protocol import (
    ApiError,
    Call,
    HttpResult,
    RequestRecord,
    StreamResult,
    redact_headers,
    redact_query,
    ws_frame,
)
from azoai_emulator.state import EmulatorState, StopServing

__all__ = ["ResponsesSocket", "SocketIO", "authenticate_handshake", "error_event"]

log = logging.getLogger("azoai_emulator")


class SocketIO(Protocol):
    """What the framework adapter provides for one accepted WebSocket."""

    async def receive(self) -> str | None:
        """The next text message, or ``None`` once the client disconnected."""
        ...

    async def send(self, payload: bytes) -> None:
        """Send one text frame (``payload`` is UTF-8 JSON)."""
        ...

    async def close(self, code: int, reason: str) -> None:
        """Close cleanly (a close frame)."""
        ...

    async def drop(self) -> None:
        """Close the TCP connection without a close frame."""
        ...


def authenticate_handshake(call: Call, state: EmulatorState) -> None:
    """The upgrade request's checks: api-version as on the v1 route, then the credential."""
    check_v1_version(call)
    if "api-key" not in call.headers and call.query.get("api-key"):
        call = replace(call, headers={**call.headers, "api-key": call.query["api-key"]})
    authenticate_data_plane(call, api_key=state.api_key, issuer=state.issuer, v1=True)


def error_event(
    status: int, code: str, message: str, *, param: str | None = None
) -> dict[str, Any]:
    return {
        "type": "error",
        "status": status,
        "error": {
            "type": "invalid_request_error",
            "code": code,
            "message": message,
            "param": param,
        },
    }


def _limit_text(seconds: float) -> str:
    if seconds % 60 == 0:
        return f"{int(seconds // 60)} minutes"
    return f"{seconds:g} seconds"


class ResponsesSocket:
    """One accepted WebSocket: its handshake, its connection-local cache and its age."""

    def __init__(self, state: EmulatorState, handshake: Call) -> None:
        self.state = state
        self.handshake = handshake
        self.cache = ConnectionCache()
        self.opened = state.clock()
        self.busy = False

    async def serve(self, io: SocketIO) -> None:
        """Answer messages until the client disconnects or the connection is closed."""
        gone = asyncio.Event()
        queue: asyncio.Queue[str] = asyncio.Queue()

        async def reader() -> None:
            while True:
                text = await io.receive()
                if text is None:
                    gone.set()
                    return
                if self.busy:
                    await io.send(
                        ws_frame(
                            error_event(
                                400,
                                "response_in_progress",
                                "A response is already in progress on this connection; wait for "
                                "its terminal event before sending another response.create.",
                            )
                        )
                    )
                    continue
                self.busy = True
                await queue.put(text)

        reading = asyncio.create_task(reader())
        try:
            while not gone.is_set():
                getting = asyncio.create_task(queue.get())
                waiting = asyncio.create_task(gone.wait())
                done, _ = await asyncio.wait(
                    {getting, waiting}, return_when=asyncio.FIRST_COMPLETED
                )
                waiting.cancel()
                if getting not in done:
                    getting.cancel()
                    return
                working = asyncio.create_task(self.handle(getting.result(), io))
                done, _ = await asyncio.wait(
                    {working, reading}, return_when=asyncio.FIRST_COMPLETED
                )
                if working not in done:  # the client went away mid-response
                    working.cancel()
                    await asyncio.gather(working, return_exceptions=True)
                    return
                self.busy = False
                if not working.result():
                    return
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    async def handle(self, text: str, io: SocketIO) -> bool:
        """One client message; returns whether the connection stays open."""
        try:
            message = json.loads(text)
        except ValueError:
            await io.send(ws_frame(error_event(400, "invalid_json", "The message is not JSON.")))
            return True
        if not isinstance(message, Mapping) or message.get("type") != "response.create":
            kind = message.get("type") if isinstance(message, Mapping) else None
            await io.send(
                ws_frame(
                    error_event(
                        400,
                        "invalid_value",
                        f"Invalid event type {kind!r}: send 'response.create'.",
                        param="type",
                    )
                )
            )
            return True
        body = {k: v for k, v in message.items() if k != "type"}
        hs = self.handshake
        record = RequestRecord(
            method="WS",
            path=hs.path,
            query=redact_query(hs.query),
            headers=redact_headers(hs.headers),
            body=body,
            time=time.time(),
        )
        self.state.log(record)
        limit = self.state.ws_max_age
        if self.state.clock() - self.opened >= limit:
            record.status = 400
            await io.send(
                ws_frame(
                    error_event(
                        400,
                        "websocket_connection_limit_reached",
                        f"Responses websocket connection limit reached ({_limit_text(limit)}). "
                        "Create a new websocket connection to continue.",
                    )
                )
            )
            await io.close(1000, "connection limit reached")
            return False
        call = Call(
            method="POST",
            path=hs.path,
            query=hs.query,
            headers=hs.headers,
            raw_body=json.dumps(body).encode("utf-8"),
            base_url=hs.base_url,
            record=record,
        )
        previous = body.get("previous_response_id")
        try:
            result: HttpResult | StreamResult = await handle_responses(
                call, self.state, route="v1", connection=self.cache
            )
        except ApiError as exc:
            if isinstance(previous, str):
                self.cache.evict(previous)  # a failed turn evicts the response it continued
            record.status = exc.status
            error = exc.body.get("error", exc.body) if isinstance(exc.body, Mapping) else exc.body
            await io.send(ws_frame({"type": "error", "status": exc.status, "error": error}))
            return True
        except (DropConnection, StopServing):
            await io.drop()
            return False
        except Exception as exc:  # an emulator bug: say what broke, keep serving
            log.exception("azoai emulator: error handling a WebSocket response.create")
            record.status = 500
            await io.send(
                ws_frame(
                    {
                        "type": "error",
                        "status": 500,
                        "error": {
                            "type": "server_error",
                            "code": "server_error",
                            "message": f"Emulator error: {type(exc).__name__}: {exc}",
                        },
                    }
                )
            )
            return True
        assert isinstance(result, StreamResult)
        record.status = result.status
        cut = result.cut_after
        if cut is not None:
            cut = min(cut, len(result.events) - 1)  # a cut stream never reaches its terminal event
        for index, frame in enumerate(result.events):
            if index == cut:
                await io.drop()
                return False
            try:
                if result.delay > 0:
                    await self.state.wait(result.delay)
            except StopServing:
                await io.drop()
                return False
            await io.send(frame)
        return True

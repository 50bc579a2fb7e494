"""The Responses WebSocket's socket pools: which socket a call gets (the chain, the busy rule,
the credential's fingerprint, ``max_age`` and ``max_idle``), what Azure's connection-local cache
holds after each response, the ``response.create`` to send, and closing sockets from sync or
async code. :class:`~azoai.io.websocket.WebSocketTransport` opens the sockets and sends on them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from azoai.errors import AzoaiError
from azoai.io.ws_state import (
    Pool,
    Turn,
    WebSocketBusyError,
    _keys,
    _quiet_aclose,
    _Socket,
    log,
)
from azoai.wire import responses
from azoai.wire.chain import Conversations, replayable
from azoai.wire.common import dumps

if TYPE_CHECKING:
    from azoai.config.settings import WebSocketOptions

__all__ = ["Sockets"]

CLOSE_TIMEOUT = 2.0


class Sockets:
    """The pools of one transport: its own (``keep_open`` unless ``close_on_finish``) and one
    per session, behind one lock."""

    def __init__(self, options: WebSocketOptions) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._pool = Pool(keep_open=not options.close_on_finish)
        self._pools: list[Pool] = [self._pool]
        # conversations by response id, for previous_response_not_found (azoai.wire.chain)
        self._history: Conversations[list[dict[str, Any]]] = Conversations()
        self._fingerprint: str | None = None
        self._closed = False

    @property
    def pool(self) -> Pool:
        """The transport's own pool (a session has its own, from :meth:`new_pool`)."""
        return self._pool

    # -- the pool --------------------------------------------------------------------------------

    def _checkout(
        self, turn: Turn, fingerprint: str, loop: asyncio.AbstractEventLoop | None
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
                            deployment=plan.deployment,
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

    def _release(self, pool: Pool, sock: _Socket, healthy: bool) -> bool:
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

    def _record(self, turn: Turn, sock: _Socket, response: Any) -> None:
        """A response finished on ``sock``: it is now the socket's (and Azure's) latest."""
        rid = response.get("id") if isinstance(response, Mapping) else None
        if not isinstance(rid, str):
            sock.forget()
            return
        sock.last_id = rid
        sock.last_model = turn.plan.deployment
        sock.last_keys = None
        if turn.full is None:
            return
        try:
            message = responses.parse_response(response).message
        except AzoaiError:
            return
        conversation = [*turn.full, *responses._items([message])[1]]
        sock.last_keys = _keys(conversation)[0]
        self._history.put(rid, conversation)

    def _message(self, turn: Turn, sock: _Socket) -> str:
        """The ``response.create`` to send on ``sock``: chained when it extends the socket's latest
        response, the full input after ``previous_response_not_found``."""
        plan = turn.plan
        body = dict(plan.body)
        if plan.previous is not None:
            known = self._history.get(plan.previous)
            turn.full = None if known is None else [*known, *plan.items]
            if turn.fresh and turn.full is not None:
                body["input"] = replayable(turn.full)
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

    # -- closing ---------------------------------------------------------------------------------

    def _drop(self, turn: Turn) -> None:
        """Close the turn's socket: it failed, or must not be reused."""
        sock, turn.sock = turn.sock, None
        if sock is not None:
            self._release(turn.pool, sock, healthy=False)
            self._close(sock)

    async def _adrop(self, turn: Turn) -> None:
        sock, turn.sock = turn.sock, None
        if sock is not None:
            self._release(turn.pool, sock, healthy=False)
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
                    CLOSE_TIMEOUT + 1
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

    def close_pool(self, pool: Pool) -> None:
        with self._lock:
            pool.closed = True
            idle, pool.idle = pool.idle, []
            if pool in self._pools and pool is not self._pool:
                self._pools.remove(pool)
        for s in idle:
            self._close(s)

    async def aclose_pool(self, pool: Pool) -> None:
        with self._lock:
            pool.closed = True
            idle, pool.idle = pool.idle, []
            if pool in self._pools and pool is not self._pool:
                self._pools.remove(pool)
        for s in idle:
            await self._aclose_socket(s)

    def new_pool(self) -> Pool:
        """A pool whose sockets stay open between calls (a session's)."""
        pool = Pool(keep_open=True)
        with self._lock:
            self._pools.append(pool)
        return pool

    def last_response_id(self, pool: Pool) -> str | None:
        """The id of the latest response on ``pool``'s idle sockets."""
        with self._lock:
            idle = sorted(pool.idle, key=lambda s: s.used)
        return idle[-1].last_id if idle else None

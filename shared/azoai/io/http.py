"""HTTP transport: pooled httpx clients, credential state, deadlines, bounded bodies (SSE framing
is :mod:`azoai.wire.sse`, re-exported here).

Two layers, each shared as far as what it holds allows:

* **Socket pools** (one per origin: scheme, host and port). The httpx clients live here (a sync
  one, and an async one per event loop, so ``asyncio.run`` called twice never reuses a client
  bound to a closed loop). Timeouts and headers are per request in httpx, so every client of an
  origin, whatever its headers, timeouts or credential, shares one pool of sockets.
* **Connections** (one per endpoint, credential and user-supplied HTTP clients): the token cache
  (the quota pacers hang off it, see :func:`azoai.pipeline.pacing.pacer_for`). Every :class:`~azoai.client.Client` built from equal settings (each
  adapter instance, each ``bind_tools`` copy) shares one.

Nothing here keeps a client alive: connections are held weakly, so a dropped client (a LangChain
model built per request and never closed) frees its credential state when it is collected, and
its origin's sockets go back to the shared pool. ``Client.close()`` releases at once; the last
release of an origin closes its sockets. Pools left without an owner stay open for reuse, at
most ``_IDLE_POOLS`` of them (the oldest is closed first), so fds stay bounded.

Every request runs under a deadline (:func:`deadline`): each socket operation (connect, TLS, write,
read) is given at most the time left, so a server trickling a body byte by byte cannot stretch a
call past its timeout. In-flight requests per pool are bounded (``MAX_CONNECTIONS``) in front of
httpx, so thousands of concurrent calls on a cold pool wait in a queue instead of spinning in
httpcore's pool scheduler. Bodies are decoded here (gzip, deflate) in bounded pieces, so a
compressed bomb is stopped at the size limit rather than inflated whole.

Redirects are never followed (a credential must not travel to another host), every request's host
is checked against the configured endpoint before credentials are attached, and a loopback
endpoint is always reached directly, never through an ``HTTP_PROXY`` (plain http carries its key
in clear).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from azoai import __version__
from azoai.io import _httpx
from azoai.io.auth import Auth, BearerKeyAuth, build_auth

# SSE framing is pure and lives in the wire layer; re-exported for the client.
from azoai.wire.sse import LineSplitter, SSEDecoder, TooLarge, aiter_sse, iter_sse

if TYPE_CHECKING:
    import asyncio

    import httpx

    from azoai.config.settings import AuthSettings, Settings

__all__ = [
    "MAX_CONNECTIONS",
    "Connection",
    "LineSplitter",
    "SSEDecoder",
    "TooLarge",
    "acquire",
    "aiter_sse",
    "deadline",
    "iter_sse",
    "release",
]

USER_AGENT = f"azoai/{__version__}"
#: Connections per socket pool, and so requests in flight per pool (and per event loop).
MAX_CONNECTIONS = 100
MAX_KEEPALIVE = 20
#: Socket pools kept open with no client using them, for the next client of that origin.
_IDLE_POOLS = 8
_T = TypeVar("_T")


# --- deadlines ----------------------------------------------------------------------------------

#: The monotonic time by which the current socket operation must end (``None``: no deadline).
_deadline: ContextVar[float | None] = ContextVar("azoai_deadline", default=None)


@contextlib.contextmanager
def deadline(at: float | None) -> Iterator[None]:
    """Run socket operations in this block with at most ``at - time.monotonic()`` seconds each.
    Never spans a ``yield`` to a consumer: a generator sets it around each read."""
    token = _deadline.set(at)
    try:
        yield
    finally:
        _deadline.reset(token)


def set_deadline(at: float | None) -> Any:
    """:func:`deadline` without a context manager (hot paths); pass the result to
    :func:`reset_deadline`."""
    return _deadline.set(at)


def reset_deadline(token: Any) -> None:
    _deadline.reset(token)


def _clamp(timeout: float | None, exc: Callable[[str], Exception]) -> float | None:
    at = _deadline.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise exc("the deadline passed")
    return left if timeout is None or left < timeout else timeout


@functools.cache
def _backends() -> tuple[type[Any], type[Any]]:
    """httpcore network backends that clamp every socket operation's timeout to the deadline of
    the request in progress. Defined on first use: httpx (and httpcore) load lazily."""
    _httpx.load()
    import httpcore

    class Stream(httpcore.NetworkStream):
        __slots__ = ("_inner",)

        def __init__(self, inner: httpcore.NetworkStream) -> None:
            self._inner = inner

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

        def close(self) -> None:
            self._inner.close()

        def start_tls(
            self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
        ) -> httpcore.NetworkStream:
            t = _clamp(timeout, httpcore.ConnectTimeout)
            return Stream(self._inner.start_tls(ssl_context, server_hostname, t))

        def get_extra_info(self, info: str) -> Any:
            return self._inner.get_extra_info(info)

    class Backend(httpcore.NetworkBackend):
        def __init__(self, inner: httpcore.NetworkBackend) -> None:
            self._inner = inner

        def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Iterable[Any] | None = None,
        ) -> httpcore.NetworkStream:
            t = _clamp(timeout, httpcore.ConnectTimeout)
            return Stream(self._inner.connect_tcp(host, port, t, local_address, socket_options))

        def connect_unix_socket(
            self,
            path: str,
            timeout: float | None = None,
            socket_options: Iterable[Any] | None = None,
        ) -> httpcore.NetworkStream:
            t = _clamp(timeout, httpcore.ConnectTimeout)
            return Stream(self._inner.connect_unix_socket(path, t, socket_options))

        def sleep(self, seconds: float) -> None:
            self._inner.sleep(seconds)

    class AsyncStream(httpcore.AsyncNetworkStream):
        __slots__ = ("_inner",)

        def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
            self._inner = inner

        async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
            return await self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

        async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
            await self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

        async def aclose(self) -> None:
            await self._inner.aclose()

        async def start_tls(
            self,
            ssl_context: Any,
            server_hostname: str | None = None,
            timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        ) -> httpcore.AsyncNetworkStream:
            t = _clamp(timeout, httpcore.ConnectTimeout)
            return AsyncStream(await self._inner.start_tls(ssl_context, server_hostname, t))

        def get_extra_info(self, info: str) -> Any:
            return self._inner.get_extra_info(info)

    class AsyncBackend(httpcore.AsyncNetworkBackend):
        def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
            self._inner = inner

        async def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
            local_address: str | None = None,
            socket_options: Iterable[Any] | None = None,
        ) -> httpcore.AsyncNetworkStream:
            t = _clamp(timeout, httpcore.ConnectTimeout)
            inner = await self._inner.connect_tcp(host, port, t, local_address, socket_options)
            return AsyncStream(inner)

        async def connect_unix_socket(
            self,
            path: str,
            timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
            socket_options: Iterable[Any] | None = None,
        ) -> httpcore.AsyncNetworkStream:
            t = _clamp(timeout, httpcore.ConnectTimeout)
            return AsyncStream(await self._inner.connect_unix_socket(path, t, socket_options))

        async def sleep(self, seconds: float) -> None:
            await self._inner.sleep(seconds)

    return Backend, AsyncBackend


def _install_deadlines(client: Any) -> None:
    """Put the deadline-clamping backend under every httpcore pool of one of our httpx clients
    (the direct transport and any proxy transports from the environment). httpx has no public
    hook for it; if its layout ever differs, the between-reads checks in the client still bound
    each call, one read timeout less precisely."""
    sync_backend, async_backend = _backends()
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    for t in transports:
        pool = getattr(t, "_pool", None)
        inner = getattr(pool, "_network_backend", None)
        if inner is None or isinstance(inner, sync_backend | async_backend):
            continue
        import httpcore

        wrap = sync_backend if isinstance(inner, httpcore.NetworkBackend) else async_backend
        pool._network_backend = wrap(inner)  # type: ignore[union-attr]


# --- limits on requests in flight ---------------------------------------------------------------

_slots_lock = threading.Lock()
_sync_slots: weakref.WeakKeyDictionary[Any, threading.BoundedSemaphore] = (
    weakref.WeakKeyDictionary()
)
_async_slots: weakref.WeakKeyDictionary[Any, weakref.WeakKeyDictionary[Any, Any]] = (
    weakref.WeakKeyDictionary()
)


def sync_slots(http: Any) -> threading.BoundedSemaphore:
    """Requests in flight on one sync httpx client, ours or the user's (``MAX_CONNECTIONS``)."""
    slots = _sync_slots.get(http)
    if slots is None:
        with _slots_lock:
            slots = _sync_slots.get(http)
            if slots is None:
                slots = _sync_slots[http] = threading.BoundedSemaphore(MAX_CONNECTIONS)
    return slots


def async_slots(http: Any) -> asyncio.Semaphore:
    """Requests in flight on one async httpx client in the running event loop. A queue here is
    FIFO and costs nothing per waiter; httpcore's pool re-scans every waiting request whenever a
    connection changes state, which with thousands waiting on a cold pool pins a core."""
    import asyncio

    loop = asyncio.get_running_loop()
    per_loop = _async_slots.get(http)
    if per_loop is None:
        with _slots_lock:
            per_loop = _async_slots.setdefault(http, weakref.WeakKeyDictionary())
    slots = per_loop.get(loop)
    if slots is None:
        _forget_closed_loops(per_loop)
        slots = per_loop.setdefault(loop, asyncio.Semaphore(MAX_CONNECTIONS))
    return slots  # type: ignore[no-any-return]


def _forget_closed_loops(per_loop: weakref.WeakKeyDictionary[Any, Any]) -> None:
    """Drop what was kept for event loops that have closed (each ``asyncio.run`` makes one).
    The values refer to their loop, so the weak keys alone would never let go; dropping a
    closed loop's httpx client lets the collector close its sockets."""
    for loop in [lp for lp in list(per_loop.keys()) if lp.is_closed()]:
        per_loop.pop(loop, None)


# --- socket pools -------------------------------------------------------------------------------


class _Sockets:
    """The httpx clients for one origin: one sync, one async per event loop."""

    def __init__(self, origin: tuple[str, str, int | None], key: tuple[Any, ...]) -> None:
        from azoai.config.endpoints import is_loopback_host

        self.origin = origin
        self.key = key
        self.users: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._sync: httpx.Client | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        host = origin[1]
        # A loopback endpoint is reached directly: with HTTP_PROXY set, httpx would otherwise
        # hand a plain-http request, api-key header and all, to the proxy in clear.
        bracketed = f"[{host}]" if ":" in host else host
        self._mounts: dict[str, None] = (
            {f"all://{bracketed}": None} if is_loopback_host(host) else {}
        )

    def _make(self, cls: type[_T]) -> _T:
        _httpx.load()
        import httpx

        tls: dict[str, Any] = {} if self.origin[0] == "https" else {"verify": _no_tls_context()}
        client = _tls_checked(
            lambda: cls(  # type: ignore[call-arg]
                timeout=httpx.Timeout(10.0),  # every request passes its own
                follow_redirects=False,
                **tls,
                limits=httpx.Limits(
                    max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE
                ),
                mounts=self._mounts,
            )
        )
        _install_deadlines(client)
        return client

    def sync_client(self) -> httpx.Client:
        client = self._sync
        if client is None:
            with self._lock:
                if self._sync is None:
                    self._sync = self._make(_http_classes()[0])
                client = self._sync
        return client

    def async_client(self) -> httpx.AsyncClient:
        import asyncio

        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            _forget_closed_loops(self._async)
            client = self._async[loop] = self._make(_http_classes()[1])
        return client

    def close(self) -> None:
        """Close the clients (idempotent; never creates one). Async clients are closed on their
        own loop: awaited when it is this thread's running loop's task, scheduled on a loop
        running elsewhere, run to completion on an idle loop; a closed loop's sockets went with
        it."""
        import sys

        with self._lock:
            sync, self._sync = self._sync, None
            asyncs = list(self._async.items())
            self._async = weakref.WeakKeyDictionary()
        if sync is not None:
            sync.close()
        if not asyncs:
            return
        asyncio = sys.modules["asyncio"]  # loaded: an async client exists
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for loop, client in asyncs:
            if loop.is_closed():
                continue
            if loop.is_running():
                if loop is running:
                    _keep(loop.create_task(client.aclose()))
                else:
                    _close_on(loop, client)
            elif running is None:
                loop.run_until_complete(client.aclose())

    async def aclose(self) -> None:
        import asyncio

        with self._lock:
            sync, self._sync = self._sync, None
            asyncs = list(self._async.items())
            self._async = weakref.WeakKeyDictionary()
        if sync is not None:
            sync.close()
        running = asyncio.get_running_loop()
        for loop, client in asyncs:
            if loop is running:
                await client.aclose()
            elif loop.is_running():
                _close_on(loop, client)


_closing: set[Any] = set()  # the loop holds tasks weakly: these must not vanish half done


def _keep(task: Any) -> None:
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def _close_on(loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> None:
    """Close an async client on its loop, running in another thread."""

    def start() -> None:
        _keep(loop.create_task(client.aclose()))

    loop.call_soon_threadsafe(start)


# --- connections --------------------------------------------------------------------------------


def _auth_fingerprint(auth: AuthSettings) -> tuple[Any, ...]:
    """Identifies a credential without holding its secret: a hash for keys and tokens, the object
    identity for providers and credentials (the connection keeps them alive, so an id is never
    reused while its entry exists)."""

    def digest(secret: Any) -> str | None:
        if secret is None:
            return None
        return hashlib.sha256(secret.get_secret_value().encode()).hexdigest()[:16]

    return (
        auth.mode,
        auth.scope,
        digest(auth.api_key),
        digest(auth.token),
        id(auth.token_provider) if auth.token_provider else None,
        id(auth.async_token_provider) if auth.async_token_provider else None,
        id(auth.credential) if auth.credential is not None else None,
        auth.client_id,
        auth.tenant_id,
        digest(auth.client_secret),
    )


def _origin(base: str) -> tuple[str, str, int | None]:
    parts = urlsplit(base)
    return (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port)


#: What httpx reads from the environment when it creates a client (CA files, proxies): a pool
#: made before one of these changed is not reused after.
_HTTPX_ENV = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)


def _pool_key(base: str) -> tuple[Any, ...]:
    import os

    return (_origin(base), tuple(os.environ.get(n) for n in _HTTPX_ENV))


class Connection:
    """Credential state (token cache) for one endpoint + credential, and the
    HTTP clients its requests use: the user's, or its origin's shared socket pool."""

    def __init__(
        self,
        key: tuple[Any, ...],
        settings: Settings,
        sockets: _Sockets,
        http_client: Any = None,
        http_async_client: Any = None,
    ) -> None:
        self.key = key
        self.settings = settings
        self.auth: Auth = (
            BearerKeyAuth(settings.auth.api_key)
            if settings.endpoint.kind == "compatible" and settings.auth.api_key is not None
            else build_auth(settings.auth)
        )
        host, port = sockets.origin[1], sockets.origin[2]
        self.allowed_hosts = frozenset({host, f"{host}:{port}" if port else host})
        self.sockets = sockets
        self.holders: weakref.WeakSet[Any] = weakref.WeakSet()  # the clients using it
        self._user_sync = http_client
        self._user_async = http_async_client

    def sync_client(self) -> httpx.Client:
        if self._user_sync is not None:
            return self._user_sync  # type: ignore[no-any-return]
        return self.sockets.sync_client()

    def async_client(self) -> httpx.AsyncClient:
        if self._user_async is not None:
            return self._user_async  # type: ignore[no-any-return]
        return self.sockets.async_client()


@functools.cache
def _http_classes() -> tuple[type[httpx.Client], type[httpx.AsyncClient]]:
    """httpx's clients with lazy cookies. httpx hands every response to ``http.cookiejar``
    through compatibility objects (a ``urllib`` request, an ``email`` message of all headers),
    which costs about a tenth of a chat call's client CPU; Azure sets no cookies. These clients
    skip that unless a response carries ``Set-Cookie`` (a gateway in front of Azure may), so
    cookies still work as they do in httpx. Defined on first use: httpx loads lazily."""
    _httpx.load()
    import httpx

    class LazyCookies(httpx.Cookies):
        def extract_cookies(self, response: httpx.Response) -> None:
            if "set-cookie" in response.headers:
                super().extract_cookies(response)

    class LazyCookieJar:
        """Mixin: the client's ``cookies`` are :class:`LazyCookies`."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._azoai_cookies = LazyCookies(kwargs.get("cookies"))

        @property
        def cookies(self) -> httpx.Cookies:
            return self._azoai_cookies

        @cookies.setter
        def cookies(self, cookies: Any) -> None:
            self._azoai_cookies = LazyCookies(cookies)

    class Client(LazyCookieJar, httpx.Client):
        pass

    class AsyncClient(LazyCookieJar, httpx.AsyncClient):
        pass

    return Client, AsyncClient


def _no_tls_context() -> Any:
    """The TLS context of a plain-http pool (a loopback endpoint such as the emulator).

    Such a pool never speaks TLS: redirects are not followed and every request's origin is checked
    against the pool's. httpx would still load the system's CA bundle for it (about 20 ms, the
    largest part of a first call to a local endpoint), so it gets a context with verification on
    and no CA at all: if TLS were ever attempted on it, the handshake would fail, never pass."""
    import ssl

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _tls_checked(make: Callable[[], _T]) -> _T:
    """Create an HTTP client; a broken TLS environment (a missing SSL_CERT_FILE, say) becomes a
    ConfigError instead of an OSError from deep inside ssl. Verification itself is always on."""
    import ssl

    try:
        return make()
    except (OSError, ssl.SSLError) as exc:
        from azoai.errors import ConfigError

        raise ConfigError(
            f"cannot set up TLS for the HTTP client: {exc}",
            setting="SSL_CERT_FILE",
            fix="check SSL_CERT_FILE / SSL_CERT_DIR point to existing CA files, or unset them",
        ) from None


# Connections are held weakly: a client holds its connection, nothing else does. Socket pools
# are held here (they own sockets, which must be closed, not collected).
_lock = threading.RLock()
_connections: weakref.WeakValueDictionary[tuple[Any, ...], Connection] = (
    weakref.WeakValueDictionary()
)
_pools: dict[tuple[Any, ...], _Sockets] = {}


def _key(settings: Settings, http_client: Any, http_async_client: Any) -> tuple[Any, ...]:
    return (
        settings.endpoint.base,
        settings.endpoint.kind,
        _auth_fingerprint(settings.auth),
        id(http_client) if http_client is not None else None,
        id(http_async_client) if http_async_client is not None else None,
    )


def acquire(
    settings: Settings, http_client: Any = None, http_async_client: Any = None, holder: Any = None
) -> Connection:
    """The shared connection for these settings (created on first use), registering ``holder``
    (a :class:`~azoai.client.Client`) as one of its users until :func:`release` or until the
    holder is collected."""
    key = _key(settings, http_client, http_async_client)
    idle: list[_Sockets] = []
    with _lock:
        conn = _connections.get(key)
        if conn is None:
            pool_key = _pool_key(settings.endpoint.base)
            sockets = _pools.pop(pool_key, None)
            if sockets is None:
                sockets = _Sockets(pool_key[0], pool_key)
                idle = _idle_beyond_limit()
            _pools[pool_key] = sockets  # the most recently used goes last
            conn = Connection(key, settings, sockets, http_client, http_async_client)
            sockets.users.add(conn)
            _connections[key] = conn
        if holder is not None:
            conn.holders.add(holder)
    for sockets in idle:
        sockets.close()
    return conn


def _idle_beyond_limit() -> list[_Sockets]:
    """Unused pools past ``_IDLE_POOLS``, oldest first, taken out of the registry."""
    unused = [k for k, s in _pools.items() if not s.users]
    return [_pools.pop(k) for k in unused[: max(0, len(unused) - _IDLE_POOLS)]]


def _detach(conn: Connection, holder: Any) -> _Sockets | None:
    """Drop ``holder``; when no client uses the connection any more, forget it, and return its
    socket pool if no other connection uses that (the caller closes it)."""
    with _lock:
        if holder is not None:
            conn.holders.discard(holder)
        if len(conn.holders):
            return None
        if _connections.get(conn.key) is conn:
            del _connections[conn.key]
        sockets = conn.sockets
        sockets.users.discard(conn)
        if len(sockets.users) or _pools.get(sockets.key) is not sockets:
            return None
        del _pools[sockets.key]
        return sockets


def release(conn: Connection, holder: Any = None) -> bool:
    """Release ``holder``'s use; the last user of an origin closes its sockets. Returns whether
    the connection was released for good."""
    sockets = _detach(conn, holder)
    if sockets is not None:
        sockets.close()
    return not len(conn.holders)


async def arelease(conn: Connection, holder: Any = None) -> bool:
    sockets = _detach(conn, holder)
    if sockets is not None:
        await sockets.aclose()
    return not len(conn.holders)

"""HTTP transport: pooled httpx clients per settings, credential headers, SSE decoding.

One :class:`Connection` exists per distinct endpoint, credential, timeouts, headers and
user-supplied HTTP clients; every :class:`~azoai.client.Client` built from equal settings (each
adapter instance, each ``bind_tools`` copy) shares it, and with it the token cache and the
connection pool. Async HTTP clients are kept per event loop, so ``asyncio.run`` called twice, or
a test suite with a loop per test, never reuses a client bound to a closed loop.

Redirects are never followed (a credential must not travel to another host), and every request's
host is checked against the configured endpoint before credentials are attached.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from azoai import __version__, _httpx
from azoai.auth import Auth, BearerKeyAuth, build_auth
from azoai.pacing import Pacer

if TYPE_CHECKING:
    import asyncio

    import httpx

    from azoai.settings import AuthSettings, Settings

__all__ = ["Connection", "acquire", "aiter_sse", "iter_sse", "release"]

USER_AGENT = f"azoai/{__version__}"
_T = TypeVar("_T")


def _auth_fingerprint(auth: AuthSettings) -> tuple[Any, ...]:
    """Identifies a credential without holding its secret: a hash for keys and tokens, the object
    identity for providers and credentials."""

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


class Connection:
    """Shared HTTP clients and credential state for one endpoint + credential."""

    def __init__(
        self, settings: Settings, http_client: Any = None, http_async_client: Any = None
    ) -> None:
        self.settings = settings
        self.auth: Auth = (
            BearerKeyAuth(settings.auth.api_key)
            if settings.endpoint.kind == "compatible" and settings.auth.api_key is not None
            else build_auth(settings.auth)
        )
        ep = urlsplit(settings.endpoint.base)
        host = (ep.hostname or "").lower()
        self.allowed_hosts = frozenset({host, f"{host}:{ep.port}" if ep.port else host})
        self._user_sync = http_client
        self._user_async = http_async_client
        self._sync: httpx.Client | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        self._pacers: dict[str, Pacer] = {}
        self.refs = 0
        self.headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Content-Type": "application/json",
            **dict(settings.default_headers),
        }

    def pacer(self, deployment: str) -> Pacer:
        """The quota pacer for one deployment, shared by every client on this connection."""
        with self._lock:
            p = self._pacers.get(deployment)
            if p is None:
                p = self._pacers[deployment] = Pacer()
            return p

    def _timeout(self) -> httpx.Timeout:
        _httpx.load()
        import httpx

        t = self.settings.timeout
        return httpx.Timeout(connect=t.connect, read=t.read, write=t.read, pool=t.read)

    def sync_client(self) -> httpx.Client:
        if self._user_sync is not None:
            return self._user_sync  # type: ignore[no-any-return]
        with self._lock:
            if self._sync is None:
                _httpx.load()
                import httpx

                sync_cls, _ = _http_classes()
                self._sync = _tls_checked(
                    lambda: sync_cls(
                        timeout=self._timeout(),
                        follow_redirects=False,
                        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                    )
                )
            return self._sync

    def async_client(self) -> httpx.AsyncClient:
        import asyncio

        if self._user_async is not None:
            return self._user_async  # type: ignore[no-any-return]
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            _httpx.load()
            import httpx

            _, async_cls = _http_classes()
            client = _tls_checked(
                lambda: async_cls(
                    timeout=self._timeout(),
                    follow_redirects=False,
                    limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                )
            )
            self._async[loop] = client
        return client

    def close(self) -> None:
        """Close the clients this connection created (never the user's); idempotent, and never
        creates a client."""
        with self._lock:
            sync, self._sync = self._sync, None
            asyncs = list(self._async.items())
            self._async = weakref.WeakKeyDictionary()
        if sync is not None:
            sync.close()
        for loop, client in asyncs:
            if loop.is_closed():
                continue
            import asyncio  # loaded already: an async client exists

            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                loop.create_task(client.aclose())
            elif not loop.is_running():
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


_pool: dict[tuple[Any, ...], Connection] = {}
_pool_lock = threading.Lock()


def _key(settings: Settings, http_client: Any, http_async_client: Any) -> tuple[Any, ...]:
    return (
        settings.endpoint.base,
        _auth_fingerprint(settings.auth),
        settings.timeout,
        tuple(sorted(settings.default_headers.items())),
        id(http_client) if http_client is not None else None,
        id(http_async_client) if http_async_client is not None else None,
    )


def acquire(
    settings: Settings, http_client: Any = None, http_async_client: Any = None
) -> Connection:
    """The shared connection for these settings (created on first use)."""
    key = _key(settings, http_client, http_async_client)
    with _pool_lock:
        conn = _pool.get(key)
        if conn is None:
            conn = Connection(settings, http_client, http_async_client)
            _pool[key] = conn
        conn.refs += 1
        return conn


def release(conn: Connection) -> bool:
    """Drop one reference; the last one closes the connection's own clients. Returns whether the
    connection was closed."""
    with _pool_lock:
        conn.refs -= 1
        if conn.refs > 0:
            return False
        for k, v in list(_pool.items()):
            if v is conn:
                del _pool[k]
    conn.close()
    return True


async def arelease(conn: Connection) -> bool:
    with _pool_lock:
        conn.refs -= 1
        if conn.refs > 0:
            return False
        for k, v in list(_pool.items()):
            if v is conn:
                del _pool[k]
    await conn.aclose()
    return True


# --- server-sent events -------------------------------------------------------------------------


class _SSE:
    """Incremental SSE decoder: yields the ``data`` of each event (multi-line data joined)."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data: list[str] = []

    def feed(self, line: str) -> str | None:
        if not line:
            if self.data:
                out = "\n".join(self.data)
                self.data = []
                return out
            return None
        if line[0] == ":":
            return None
        if line.startswith("data:"):
            value = line[5:]
            self.data.append(value[1:] if value.startswith(" ") else value)
        # "event:", "id:", "retry:" and unknown fields carry nothing the dialects need
        return None

    def flush(self) -> str | None:
        if self.data:
            out = "\n".join(self.data)
            self.data = []
            return out
        return None


def iter_sse(lines: Iterable[str]) -> Iterator[str]:
    """The ``data`` payloads of an SSE stream, in order."""
    sse = _SSE()
    for line in lines:
        out = sse.feed(line.rstrip("\r"))
        if out is not None:
            yield out
    tail = sse.flush()
    if tail is not None:
        yield tail


async def aiter_sse(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    sse = _SSE()
    async for line in lines:
        out = sse.feed(line.rstrip("\r"))
        if out is not None:
            yield out
    tail = sse.flush()
    if tail is not None:
        yield tail

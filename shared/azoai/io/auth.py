"""Authentication: one token source for every mode, sync and async, with a shared token cache.

* API key -> ``api-key: <key>``; Entra -> ``Authorization: Bearer <token>``; never both.
* Tokens are cached and refreshed ahead of expiry (``refresh_skew``, 5 minutes by default, or
  half the token's lifetime for short-lived tokens, or the credential's own ``refresh_on``).
* One refresh at a time: concurrent callers, threads and asyncio tasks alike, share a single
  in-flight request to the credential. A failure is not cached; the next call tries again.
* A sync credential is never called on the event loop (it runs in a worker thread); an async
  credential is never handed to sync code (a clear error says what to pass instead).
* A credential that returns nothing raises :class:`~azoai.errors.AuthenticationError`; no request
  is ever sent with ``Bearer None``.
"""

from __future__ import annotations

import base64
import concurrent.futures
import inspect
import json
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from pydantic import SecretStr

from azoai.config.secrets import credential as checked_credential
from azoai.config.secrets import header_problem
from azoai.errors import AuthenticationError, AzoaiError, ConfigError

__all__ = [
    "AccessToken",
    "ApiKeyAuth",
    "Auth",
    "BearerAuth",
    "BearerKeyAuth",
    "NoAuth",
    "TokenCache",
    "build_auth",
    "build_credential",
    "check_host",
    "jwt_expiry",
]

log = logging.getLogger("azoai.auth")

#: Tokens are refreshed this long before they expire (capped at half the token's lifetime).
DEFAULT_REFRESH_SKEW = 300.0
#: Lifetime assumed for a provider token whose expiry cannot be read.
FALLBACK_LIFETIME = 300.0
_WAIT_TIMEOUT = 300.0


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: SecretStr
    expires_on: float
    refresh_on: float | None = None

    def __repr__(self) -> str:
        return f"AccessToken(token=SecretStr('**********'), expires_on={self.expires_on:.0f})"


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without verification (the server verifies). ``None`` when
    the token is not a JWT or has no ``exp``."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def _as_access_token(raw: Any, source: str) -> AccessToken:
    """Normalise what a credential or provider returned: surrounding whitespace stripped;
    empty tokens and tokens a header cannot carry refused (never echoing the token)."""
    refresh_on: float | None = None
    expires_on: float | None = None
    value: Any
    if isinstance(raw, AccessToken):
        value = raw.token.get_secret_value()
        expires_on, refresh_on = raw.expires_on, raw.refresh_on
    elif isinstance(raw, str | SecretStr):
        value = raw.get_secret_value() if isinstance(raw, SecretStr) else raw
    elif raw is not None and hasattr(raw, "token"):  # azure.core AccessToken / AccessTokenInfo
        value = raw.token
        expires_on = float(getattr(raw, "expires_on", 0) or 0) or (time.time() + FALLBACK_LIFETIME)
        r = getattr(raw, "refresh_on", None)
        refresh_on = float(r) if r else None
    else:
        value = None
    if not isinstance(value, str) or not value.strip():
        raise AuthenticationError(
            f"{source} returned no token",
            fix="check the credential's configuration; azoai never sends a request with an empty bearer token",
        )
    # Normalised as it enters, like a configured key: a token read from a file ends in a
    # newline. A character a header cannot carry would otherwise fail inside httpx with the
    # token in the message, and be retried as a network error.
    token = value.strip()
    problem = header_problem(token)
    if problem is not None:
        raise AuthenticationError(
            f"the token returned by the {source} {problem}",
            fix="check what the token provider or credential returns: an access token is "
            "base64url text (a JWT)",
        )
    if isinstance(raw, AccessToken) and token == value:
        return raw
    if expires_on is None:
        expires_on = jwt_expiry(token)
        if expires_on is None:
            expires_on = time.time() + FALLBACK_LIFETIME
    return AccessToken(SecretStr(token), expires_on, refresh_on)


class _LeaderGone(Exception):
    """The caller that was fetching a token was cancelled; a waiter should try again."""


class TokenCache:
    """A cached token with single-flight refresh shared by threads and asyncio tasks.

    ``fetch`` is the sync way to get a token, ``afetch`` the async one; either may be ``None``.
    Async callers without ``afetch`` run ``fetch`` in a worker thread. Sync callers without
    ``fetch`` get a :class:`ConfigError` (an async credential cannot serve sync code).
    """

    def __init__(
        self,
        fetch: Callable[[], Any] | None,
        afetch: Callable[[], Awaitable[Any]] | None,
        *,
        source: str,
        refresh_skew: float = DEFAULT_REFRESH_SKEW,
        refreshable: bool = True,
    ) -> None:
        if fetch is None and afetch is None:
            raise ConfigError("a token cache needs a sync or an async way to get tokens")
        self._fetch = fetch
        self._afetch = afetch
        self.source = source
        self.refresh_skew = refresh_skew
        self.refreshable = refreshable
        self._lock = threading.Lock()
        self._token: AccessToken | None = None
        self._acquired_at = 0.0
        self._inflight: concurrent.futures.Future[AccessToken] | None = None
        #: How many times the credential was asked for a token (for tests, metrics and doctor).
        self.fetch_count = 0

    def __repr__(self) -> str:
        return f"TokenCache(source={self.source!r}, fetches={self.fetch_count})"

    # -- policy ----------------------------------------------------------------------------------

    def _refresh_at(self, tok: AccessToken) -> float:
        if tok.refresh_on:
            return tok.refresh_on
        lifetime = max(0.0, tok.expires_on - self._acquired_at)
        return tok.expires_on - min(self.refresh_skew, lifetime / 2)

    def _fresh(self, tok: AccessToken | None, now: float) -> bool:
        return tok is not None and now < self._refresh_at(tok)

    @staticmethod
    def _usable(tok: AccessToken | None, now: float) -> bool:
        # Still valid for a moment: others may keep using it while one caller refreshes.
        return tok is not None and now < tok.expires_on - 2.0

    def _claim(
        self,
    ) -> tuple[AccessToken | None, concurrent.futures.Future[AccessToken] | None, bool]:
        """Under the lock: (token to use now, future to wait on, whether we lead the refresh)."""
        with self._lock:
            now = time.time()
            tok = self._token
            if self._fresh(tok, now):
                return tok, None, False
            if not self.refreshable:
                if self._usable(tok, now):
                    return tok, None, False
                if tok is not None:
                    raise AuthenticationError(
                        f"the {self.source} has expired",
                        fix="pass azure_ad_token_provider or a credential so azoai can refresh tokens",
                    )
            if self._inflight is not None:
                if self._usable(tok, now):
                    return tok, None, False
                return None, self._inflight, False
            self._inflight = concurrent.futures.Future()
            return (tok if self._usable(tok, now) else None), self._inflight, True

    def _settle(
        self,
        fut: concurrent.futures.Future[AccessToken],
        tok: AccessToken | None,
        exc: BaseException | None,
    ) -> None:
        with self._lock:
            if tok is not None:
                self._token = tok
                self._acquired_at = time.time()
            if self._inflight is fut:
                self._inflight = None
        if exc is not None:
            fut.set_exception(exc)
        else:
            assert tok is not None
            fut.set_result(tok)

    def _checked(self, raw: Any) -> AccessToken:
        tok = _as_access_token(raw, self.source)
        if tok.expires_on <= time.time():
            what = (
                "has expired"
                if not self.refreshable
                else "returned a token that has already expired"
            )
            raise AuthenticationError(
                f"the {self.source} {what}",
                fix="pass azure_ad_token_provider or a credential so azoai can refresh tokens"
                if not self.refreshable
                else "check the credential's clock and configuration",
            )
        return tok

    def _wrap_failure(self, exc: Exception) -> Exception:
        if isinstance(exc, AzoaiError):
            return exc
        err = AuthenticationError(
            f"could not get an Entra ID token from the {self.source}: {type(exc).__name__}: {exc}",
            fix="run `azoai doctor` to check the credential, scope and tenant",
        )
        err.__cause__ = exc
        return err

    # -- sync ------------------------------------------------------------------------------------

    def get(self) -> AccessToken:
        while True:
            current, fut, leader = self._claim()
            if fut is None:
                assert current is not None
                return current
            if not leader:
                try:
                    return fut.result(timeout=_WAIT_TIMEOUT)
                except _LeaderGone:
                    continue
                except concurrent.futures.TimeoutError:
                    raise AuthenticationError(
                        f"timed out waiting for a token from the {self.source}"
                    ) from None
            if self._fetch is None:
                self._settle(fut, None, _LeaderGone())
                raise ConfigError(
                    f"the {self.source} is async-only and cannot serve a sync call",
                    setting="credential",
                    fix="pass a sync credential (azure.identity, not azure.identity.aio) or a sync "
                    "azure_ad_token_provider, or use the async methods (ainvoke, achat, ...)",
                )
            try:
                tok = self._checked(self._fetch())
            except Exception as exc:
                self.fetch_count += 1
                failure = self._wrap_failure(exc)
                self._settle(fut, None, failure)
                if current is not None:
                    log.warning(
                        "azoai: token refresh failed (%s); using the current token until it expires",
                        failure,
                    )
                    return current
                raise failure from (None if failure is exc else exc)
            except BaseException:
                self._settle(fut, None, _LeaderGone())
                raise
            self.fetch_count += 1
            self._settle(fut, tok, None)
            return tok

    # -- async -----------------------------------------------------------------------------------

    async def aget(self) -> AccessToken:
        import asyncio

        while True:
            current, fut, leader = self._claim()
            if fut is None:
                assert current is not None
                return current
            if not leader:
                try:
                    return await asyncio.wait_for(asyncio.wrap_future(fut), _WAIT_TIMEOUT)
                except _LeaderGone:
                    continue
                except TimeoutError:
                    raise AuthenticationError(
                        f"timed out waiting for a token from the {self.source}"
                    ) from None
            try:
                if self._afetch is not None:
                    raw = await self._afetch()
                else:
                    assert self._fetch is not None
                    raw = await asyncio.to_thread(self._fetch)
                tok = self._checked(raw)
            except asyncio.CancelledError:
                self._settle(fut, None, _LeaderGone())
                raise
            except Exception as exc:
                self.fetch_count += 1
                failure = self._wrap_failure(exc)
                self._settle(fut, None, failure)
                if current is not None:
                    log.warning(
                        "azoai: token refresh failed (%s); using the current token until it expires",
                        failure,
                    )
                    return current
                raise failure from (None if failure is exc else exc)
            self.fetch_count += 1
            self._settle(fut, tok, None)
            return tok

    def invalidate(self, token: str | None = None) -> bool:
        """Forget the cached token (after a 401). With ``token``, only if it is still the cached
        one, so concurrent 401s cause one refresh. Returns whether a refresh can help."""
        with self._lock:
            if self._token is not None and (
                token is None or self._token.token.get_secret_value() == token
            ):
                self._token = None
        return self.refreshable


# --- the header providers -----------------------------------------------------------------------


class Auth(Protocol):
    """What the client asks for each request's credential header."""

    mode: str

    def headers(self) -> dict[str, str]: ...

    async def aheaders(self) -> dict[str, str]: ...

    def on_unauthorized(self, sent: dict[str, str]) -> bool:
        """Called after a 401; returns True when one retry with fresh credentials makes sense."""
        ...


class NoAuth:
    mode = "none"

    def headers(self) -> dict[str, str]:
        return {}

    async def aheaders(self) -> dict[str, str]:
        return {}

    def on_unauthorized(self, sent: dict[str, str]) -> bool:
        return False


class ApiKeyAuth:
    mode = "api_key"

    def __init__(self, key: SecretStr) -> None:
        # Settings check keys where they enter; this also covers an AuthSettings built by hand.
        self._key = checked_credential(key, setting="api_key")

    def __repr__(self) -> str:
        return "ApiKeyAuth(key=SecretStr('**********'))"

    def headers(self) -> dict[str, str]:
        return {"api-key": self._key.get_secret_value()}

    async def aheaders(self) -> dict[str, str]:
        return self.headers()

    def on_unauthorized(self, sent: dict[str, str]) -> bool:
        return False


class BearerKeyAuth(ApiKeyAuth):
    """An API key as ``Authorization: Bearer``: what OpenAI-compatible APIs expect."""

    def __repr__(self) -> str:
        return "BearerKeyAuth(key=SecretStr('**********'))"

    def headers(self) -> dict[str, str]:
        return {"Authorization": "Bearer " + self._key.get_secret_value()}


class BearerAuth:
    """``Authorization: Bearer`` from a :class:`TokenCache`."""

    def __init__(self, cache: TokenCache, mode: str) -> None:
        self.cache = cache
        self.mode = mode

    def __repr__(self) -> str:
        return f"BearerAuth(mode={self.mode!r}, source={self.cache.source!r})"

    def headers(self) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.cache.get().token.get_secret_value()}

    async def aheaders(self) -> dict[str, str]:
        tok = await self.cache.aget()
        return {"Authorization": "Bearer " + tok.token.get_secret_value()}

    def on_unauthorized(self, sent: dict[str, str]) -> bool:
        value = sent.get("Authorization") or sent.get("authorization") or ""
        return self.cache.invalidate(value.removeprefix("Bearer ") or None)


# --- building from settings ---------------------------------------------------------------------


def _identity() -> Any:
    try:
        import azure.identity as identity
    except ImportError:
        raise ConfigError(
            "this auth mode needs azure-identity; install it with: pip install 'azoai[identity]'",
            setting="auth_mode",
        ) from None
    return identity


def _private_authority_host(identity: Any = None) -> str | None:
    """The host named by ``AZURE_AUTHORITY_HOST`` when it is not one of Microsoft's Entra
    authorities (azure-identity's ``AzureAuthorityHosts``, MSAL's well-known hosts, or a regional
    host under one of them), else ``None``.

    For such a host (a private or emulated authority) MSAL's instance discovery, which asks
    ``login.microsoftonline.com`` whether the authority is known, cannot succeed, so the
    credentials are built with ``disable_instance_discovery=True``. azure-identity itself reads
    the variable, so this does too (``os.environ``, not the settings' ``env``)."""
    raw = os.environ.get("AZURE_AUTHORITY_HOST", "").strip()
    if not raw:
        return None
    host = (urlsplit(raw if "://" in raw else f"https://{raw}").hostname or "").lower()
    if not host:
        return None
    known: set[str] = set()
    hosts = getattr(identity, "AzureAuthorityHosts", None)
    for name in ("AZURE_PUBLIC_CLOUD", "AZURE_GOVERNMENT", "AZURE_CHINA"):
        value = getattr(hosts, name, None)
        if isinstance(value, str):
            known.add(value.lower())
    try:
        from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS
    except ImportError:  # pragma: no cover - msal comes with azure-identity
        WELL_KNOWN_AUTHORITY_HOSTS = frozenset()
    known.update(h.lower() for h in WELL_KNOWN_AUTHORITY_HOSTS)
    known.update(
        {
            "login.microsoftonline.com",
            "login.microsoftonline.us",
            "login.chinacloudapi.cn",
            "login.partner.microsoftonline.cn",
        }
    )
    if host in known or host.partition(".")[2] in known:
        return None
    return host


def build_credential(
    mode: str,
    *,
    client_id: str | None = None,
    tenant_id: str | None = None,
    client_secret: SecretStr | None = None,
) -> Any:
    """Build the azure-identity credential for a named mode (imported only when used).

    Service principals and workload identity against an authority that is not Microsoft's
    (``AZURE_AUTHORITY_HOST``; see :func:`_private_authority_host`) skip MSAL's instance
    discovery; Microsoft's own authorities are left to azure-identity's defaults."""
    identity = _identity()
    if mode == "managed_identity":
        return (
            identity.ManagedIdentityCredential(client_id=client_id)
            if client_id
            else identity.ManagedIdentityCredential()
        )
    if mode == "default_credential":
        kw: dict[str, Any] = {"exclude_interactive_browser_credential": True}
        if client_id:
            kw["managed_identity_client_id"] = client_id
        return identity.DefaultAzureCredential(**kw)
    if mode in ("workload_identity", "client_secret"):
        extra: dict[str, Any] = {}
        private = _private_authority_host(identity)
        if private is not None:
            log.debug(
                "azoai: AZURE_AUTHORITY_HOST %s is not a Microsoft authority; "
                "building the %s credential with disable_instance_discovery=True",
                private,
                mode,
            )
            extra["disable_instance_discovery"] = True
        if mode == "workload_identity":
            return identity.WorkloadIdentityCredential(
                client_id=client_id, tenant_id=tenant_id, **extra
            )
        assert tenant_id and client_id and client_secret is not None
        return identity.ClientSecretCredential(
            tenant_id, client_id, client_secret.get_secret_value(), **extra
        )
    if mode == "azure_cli":
        return identity.AzureCliCredential()
    raise ConfigError(f"auth_mode {mode!r} does not build a credential", setting="auth_mode")


def credential_fetchers(
    credential: Any, scope: str
) -> tuple[Callable[[], Any] | None, Callable[[], Awaitable[Any]] | None]:
    """Sync and async token getters for an azure-identity style credential object."""
    get_info = getattr(credential, "get_token_info", None)
    get = credential.get_token
    is_async = inspect.iscoroutinefunction(get) or (
        get_info is not None and inspect.iscoroutinefunction(get_info)
    )
    if is_async:
        if get_info is not None:
            return None, lambda: get_info(scope)
        return None, lambda: get(scope)
    if get_info is not None:
        return (lambda: get_info(scope)), None
    return (lambda: get(scope)), None


def build_auth(auth: Any) -> Auth:
    """The header provider for :class:`~azoai.config.settings.AuthSettings`. Credentials from the
    environment flags are created lazily, on the first token request."""
    mode = auth.mode
    if mode == "none":
        return NoAuth()
    if mode == "api_key":
        return ApiKeyAuth(auth.api_key)
    if mode == "token":
        static: SecretStr = auth.token
        return BearerAuth(
            TokenCache(
                lambda: static.get_secret_value(),
                None,
                source="static azure_ad_token",
                refreshable=False,
            ),
            mode,
        )
    if mode == "token_provider":
        sync_p, async_p = auth.token_provider, auth.async_token_provider
        return BearerAuth(TokenCache(sync_p, async_p, source="azure_ad_token_provider"), mode)
    if mode == "credential":
        fetch, afetch = credential_fetchers(auth.credential, auth.scope)
        return BearerAuth(
            TokenCache(fetch, afetch, source=f"credential {type(auth.credential).__name__}"), mode
        )

    lock = threading.Lock()
    built: list[Any] = []

    def lazy_fetch() -> Any:
        with lock:
            if not built:
                built.append(
                    build_credential(
                        mode,
                        client_id=auth.client_id,
                        tenant_id=auth.tenant_id,
                        client_secret=auth.client_secret,
                    )
                )
        sync_fetch, _ = credential_fetchers(built[0], auth.scope)
        assert sync_fetch is not None
        return sync_fetch()

    return BearerAuth(TokenCache(lazy_fetch, None, source=f"{mode} credential"), mode)


def check_host(url: str, allowed: frozenset[str]) -> None:
    """Refuse to attach credentials to a request whose host is not one the settings allow.

    ``allowed`` holds ``host`` or ``host:port`` entries (lower-case)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    hostport = f"{host}:{parts.port}" if parts.port else host
    if host in allowed or hostport in allowed:
        return
    raise AuthenticationError(
        f"refusing to send credentials to {host!r}: it is not the configured endpoint",
        fix="credentials go only to the configured Azure endpoint (and the ARM host for discovery); "
        "check endpoint, redirects and nextLink URLs",
    )

"""Auth: headers per mode, the token cache (refresh ahead of expiry, single flight across threads
and tasks, failures not cached), sync/async credential rules, and host checks."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from azure.core.credentials import AccessToken as AzureAccessToken
from pydantic import SecretStr

from azoai.config.settings import Settings
from azoai.errors import AuthenticationError, ConfigError
from azoai.io.auth import (
    AccessToken,
    ApiKeyAuth,
    BearerAuth,
    TokenCache,
    build_auth,
    check_host,
    jwt_expiry,
)

EP = "https://myres.openai.azure.com"


def jwt(exp: float, **claims: Any) -> str:
    def seg(obj: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{seg({'alg': 'none'})}.{seg({'exp': int(exp), **claims})}.sig"


class CountingCredential:
    """A sync TokenCredential that counts calls and can be slowed down or made to fail."""

    def __init__(
        self, lifetime: float = 3600, delay: float = 0.0, fail: int = 0, token: str | None = "tok"
    ) -> None:
        self.calls = 0
        self.lifetime = lifetime
        self.delay = delay
        self.fail = fail
        self.token = token
        self.scopes: list[tuple[str, ...]] = []
        self.threads: list[int] = []
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kw: Any) -> AzureAccessToken:
        with self._lock:
            self.calls += 1
            n = self.calls
        self.scopes.append(scopes)
        self.threads.append(threading.get_ident())
        if self.delay:
            time.sleep(self.delay)
        if n <= self.fail:
            raise RuntimeError("credential unavailable")
        return AzureAccessToken(
            f"{self.token}-{n}" if self.token else self.token, int(time.time() + self.lifetime)
        )  # type: ignore[arg-type]


class AsyncCountingCredential:
    def __init__(self, lifetime: float = 3600, delay: float = 0.0) -> None:
        self.calls = 0
        self.lifetime = lifetime
        self.delay = delay

    async def get_token(self, *scopes: str, **kw: Any) -> AzureAccessToken:
        self.calls += 1
        n = self.calls
        await asyncio.sleep(self.delay)
        return AzureAccessToken(f"atok-{n}", int(time.time() + self.lifetime))


def settings(**kw: Any) -> Settings:
    return Settings.build(env={}, config_file="", endpoint=EP, **kw)


# --- headers per mode ---------------------------------------------------------------------------


def test_api_key_goes_in_the_api_key_header_only() -> None:
    auth = build_auth(settings(api_key="k1").auth)
    assert isinstance(auth, ApiKeyAuth)
    assert auth.headers() == {"api-key": "k1"}
    assert "k1" not in repr(auth)
    assert auth.on_unauthorized({"api-key": "k1"}) is False


async def test_api_key_async() -> None:
    assert await build_auth(settings(api_key="k1").auth).aheaders() == {"api-key": "k1"}


def test_credential_gets_bearer_with_the_default_scope_and_no_api_key() -> None:
    cred = CountingCredential()
    auth = build_auth(settings(credential=cred).auth)
    headers = auth.headers()
    assert headers == {"Authorization": "Bearer tok-1"}
    assert cred.scopes == [("https://cognitiveservices.azure.com/.default",)]


def test_custom_scope() -> None:
    cred = CountingCredential()
    build_auth(settings(credential=cred, scope="https://ai.azure.com/.default").auth).headers()
    assert cred.scopes == [("https://ai.azure.com/.default",)]


def test_static_token() -> None:
    auth = build_auth(settings(azure_ad_token="static-tok").auth)
    assert auth.headers() == {"Authorization": "Bearer static-tok"}
    assert auth.on_unauthorized({"Authorization": "Bearer static-tok"}) is False


def test_expired_static_jwt_raises_a_typed_error_naming_the_fix() -> None:
    auth = build_auth(settings(azure_ad_token=jwt(time.time() - 10)).auth)
    with pytest.raises(AuthenticationError, match="has expired") as exc:
        auth.headers()
    assert "azure_ad_token_provider" in str(exc.value)


def test_token_provider_is_cached_by_jwt_expiry() -> None:
    calls = []

    def provider() -> str:
        calls.append(1)
        return jwt(time.time() + 3600)

    auth = build_auth(settings(token_provider=provider).auth)
    for _ in range(5):
        auth.headers()
    assert len(calls) == 1


async def test_async_token_provider() -> None:
    calls = []

    async def provider() -> str:
        calls.append(1)
        return jwt(time.time() + 3600)

    auth = build_auth(settings(token_provider=provider).auth)
    h = await asyncio.gather(*(auth.aheaders() for _ in range(10)))
    assert len(calls) == 1 and len({x["Authorization"] for x in h}) == 1
    auth.headers()  # a cached token serves sync code too
    fresh = build_auth(settings(token_provider=provider).auth)
    with pytest.raises(ConfigError, match="async-only"):
        fresh.headers()


@pytest.mark.parametrize("bad", [None, "", "   "])
def test_a_credential_returning_nothing_raises_and_never_sends_bearer_none(bad: str | None) -> None:
    auth = build_auth(settings(token_provider=lambda: bad).auth)
    with pytest.raises(AuthenticationError, match="returned no token"):
        auth.headers()


def test_credential_returning_empty_access_token() -> None:
    auth = build_auth(settings(credential=CountingCredential(token=None)).auth)
    with pytest.raises(AuthenticationError, match="returned no token"):
        auth.headers()


# --- the cache ----------------------------------------------------------------------------------


def test_refresh_ahead_of_expiry_at_least_five_minutes() -> None:
    cred = CountingCredential(lifetime=3600)
    cache = TokenCache(lambda: cred.get_token("s"), None, source="test")
    first = cache.get()
    assert cache.get() is first and cred.calls == 1
    # 4 minutes before expiry the token must be refreshed (skew is 5 minutes)
    cache._token = AccessToken(first.token, time.time() + 240)
    cache._acquired_at = time.time() - 3360
    second = cache.get()
    assert cred.calls == 2 and second.token.get_secret_value() == "tok-2"


def test_short_lived_tokens_refresh_at_half_life() -> None:
    cache = TokenCache(lambda: "x", None, source="test")
    tok = AccessToken(SecretStr("t"), expires_on=1000.0)
    cache._acquired_at = 990.0
    assert cache._refresh_at(tok) == 995.0
    assert cache._refresh_at(AccessToken(SecretStr("t"), 5000.0, refresh_on=4000.0)) == 4000.0


def test_single_flight_across_threads() -> None:
    cred = CountingCredential(delay=0.2)
    auth = build_auth(settings(credential=cred).auth)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: auth.headers()["Authorization"], range(32)))
    assert cred.calls == 1
    assert set(results) == {"Bearer tok-1"}


async def test_single_flight_across_tasks_and_sync_credential_runs_off_the_loop() -> None:
    cred = CountingCredential(delay=0.1)
    auth = build_auth(settings(credential=cred).auth)
    loop_thread = threading.get_ident()
    results = await asyncio.gather(*(auth.aheaders() for _ in range(50)))
    assert cred.calls == 1
    assert {r["Authorization"] for r in results} == {"Bearer tok-1"}
    assert cred.threads and all(t != loop_thread for t in cred.threads)


async def test_single_flight_shared_by_threads_and_tasks_together() -> None:
    cred = CountingCredential(delay=0.3)
    auth = build_auth(settings(credential=cred).auth)
    with ThreadPoolExecutor(4) as pool:
        futs = [pool.submit(auth.headers) for _ in range(8)]
        await asyncio.sleep(0.05)
        task_results = await asyncio.gather(*(auth.aheaders() for _ in range(8)))
        thread_results = [f.result() for f in futs]
    assert cred.calls == 1
    assert {r["Authorization"] for r in task_results + thread_results} == {"Bearer tok-1"}


async def test_async_credential_single_flight_and_refused_in_sync_code() -> None:
    cred = AsyncCountingCredential(delay=0.05)
    auth = build_auth(settings(credential=cred).auth)
    results = await asyncio.gather(*(auth.aheaders() for _ in range(20)))
    assert cred.calls == 1 and {r["Authorization"] for r in results} == {"Bearer atok-1"}
    fresh = build_auth(settings(credential=AsyncCountingCredential()).auth)
    with pytest.raises(ConfigError, match="async-only") as exc:
        fresh.headers()
    assert "azure.identity.aio" in str(exc.value)


def test_failures_are_not_cached() -> None:
    cred = CountingCredential(fail=1)
    auth = build_auth(settings(credential=cred).auth)
    with pytest.raises(AuthenticationError, match="could not get an Entra ID token") as exc:
        auth.headers()
    assert isinstance(exc.value.__cause__, RuntimeError)
    assert auth.headers() == {"Authorization": "Bearer tok-2"}
    assert cred.calls == 2


def test_concurrent_waiters_share_the_failure_then_recover() -> None:
    cred = CountingCredential(delay=0.2, fail=1)
    auth = build_auth(settings(credential=cred).auth)
    errors = []

    def call() -> None:
        try:
            auth.headers()
        except AuthenticationError as e:
            errors.append(e)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cred.calls == 1 and len(errors) == 6
    assert auth.headers() == {"Authorization": "Bearer tok-2"}


def test_refresh_failure_keeps_using_a_still_valid_token(caplog: pytest.LogCaptureFixture) -> None:
    cred = CountingCredential()
    cache = TokenCache(lambda: cred.get_token("s"), None, source="test")
    tok = cache.get()
    cache._token = AccessToken(tok.token, time.time() + 100)  # inside the refresh window
    cache._acquired_at = time.time() - 3500
    cred.fail = 99
    assert cache.get().token.get_secret_value() == "tok-1"
    assert "token refresh failed" in caplog.text


async def test_cancelled_leader_does_not_strand_waiters() -> None:
    started = asyncio.Event()
    calls = 0

    async def slow() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            started.set()
            await asyncio.sleep(10)
        return jwt(time.time() + 3600)

    cache = TokenCache(None, slow, source="test")
    leader = asyncio.create_task(cache.aget())
    await started.wait()
    waiter = asyncio.create_task(cache.aget())
    await asyncio.sleep(0.01)
    leader.cancel()
    tok = await asyncio.wait_for(waiter, 2)
    assert tok.token.get_secret_value().count(".") == 2 and calls == 2


def test_on_unauthorized_invalidates_once_for_concurrent_401s() -> None:
    cred = CountingCredential()
    auth = build_auth(settings(credential=cred).auth)
    assert isinstance(auth, BearerAuth)
    sent = auth.headers()
    assert auth.on_unauthorized(sent) is True
    new = auth.headers()
    assert new != sent and cred.calls == 2
    # a second 401 carrying the old token must not throw away the new one
    auth.on_unauthorized(sent)
    assert auth.headers() == new and cred.calls == 2


def test_token_repr_hides_the_secret() -> None:
    tok = AccessToken(SecretStr("very-secret"), 1.0)
    assert "very-secret" not in repr(tok)


def test_jwt_expiry() -> None:
    assert jwt_expiry(jwt(12345)) == 12345
    assert jwt_expiry("opaque-token") is None
    assert jwt_expiry("a.!!!.c") is None
    assert jwt_expiry("a." + base64.urlsafe_b64encode(b'{"exp":"x"}').decode() + ".c") is None


# --- managed identity through azure-identity, against a local App Service token endpoint ----------


class _MSIHandler(BaseHTTPRequestHandler):
    calls = 0

    def do_GET(self) -> None:
        type(self).calls += 1
        assert self.headers["X-IDENTITY-HEADER"] == "test-secret"
        body = json.dumps(
            {
                "access_token": jwt(time.time() + 3600),
                "expires_on": str(int(time.time() + 3600)),
                "expires_in": "3600",
                "resource": "https://cognitiveservices.azure.com",
                "token_type": "Bearer",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def msi_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_MSIHandler]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MSIHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(
        "IDENTITY_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}/msi/token"
    )
    monkeypatch.setenv("IDENTITY_HEADER", "test-secret")
    _MSIHandler.calls = 0
    yield _MSIHandler
    server.shutdown()
    server.server_close()
    thread.join()


def test_managed_identity_mode_builds_the_credential_lazily(
    msi_endpoint: type[_MSIHandler],
) -> None:
    s = Settings.build(
        env={"AZURE_OPENAI_ENDPOINT": EP, "AZURE_USE_MANAGED_IDENTITY": "true"}, config_file=""
    )
    auth = build_auth(s.auth)
    assert msi_endpoint.calls == 0  # nothing happens before the first request
    for _ in range(3):
        assert auth.headers()["Authorization"].startswith("Bearer ")
    assert msi_endpoint.calls == 1


# --- host checks --------------------------------------------------------------------------------


def test_check_host() -> None:
    allowed = frozenset({"myres.openai.azure.com", "127.0.0.1:8000"})
    check_host("https://myres.openai.azure.com/openai/v1/chat/completions", allowed)
    check_host("http://127.0.0.1:8000/x", allowed)
    for url in (
        "https://evil.com/openai",
        "http://127.0.0.1:9000/x",
        "https://myres.openai.azure.com.evil.com/",
    ):
        with pytest.raises(AuthenticationError, match="refusing to send credentials"):
            check_host(url, allowed)


# --- instance discovery for private authorities -------------------------------------------------


class _RecordingCredential:
    """Stands in for an azure-identity credential class; records how it was built."""

    built: ClassVar[list[tuple[str, tuple[Any, ...], dict[str, Any]]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.built.append((type(self).__name__, args, kwargs))


class _RecordingClientSecret(_RecordingCredential):
    pass


class _RecordingWorkload(_RecordingCredential):
    pass


@pytest.mark.parametrize(
    ("authority", "disabled"),
    [
        (None, False),
        ("login.microsoftonline.com", False),
        ("https://login.microsoftonline.com/", False),
        ("https://login.microsoftonline.us", False),
        ("login.chinacloudapi.cn", False),
        ("https://login.partner.microsoftonline.cn", False),
        ("https://login.sovcloud-identity.fr", False),  # MSAL's well-known hosts
        ("https://westus2.login.microsoft.com", False),  # a regional Microsoft host
        ("https://127.0.0.1:8443", True),
        ("https://login.example.test", True),
        ("login.microsoftonline.com.evil.test", True),
    ],
)
def test_private_authority_hosts_build_credentials_without_instance_discovery(
    monkeypatch: pytest.MonkeyPatch, authority: str | None, disabled: bool
) -> None:
    import types

    import azure.identity

    import azoai.io.auth as auth_module

    fake = types.SimpleNamespace(
        AzureAuthorityHosts=azure.identity.AzureAuthorityHosts,
        ClientSecretCredential=_RecordingClientSecret,
        WorkloadIdentityCredential=_RecordingWorkload,
    )
    monkeypatch.setattr(auth_module, "_identity", lambda: fake)
    if authority is None:
        monkeypatch.delenv("AZURE_AUTHORITY_HOST", raising=False)
    else:
        monkeypatch.setenv("AZURE_AUTHORITY_HOST", authority)
    _RecordingCredential.built = []
    auth_module.build_credential(
        "client_secret", client_id="cid", tenant_id="tid", client_secret=SecretStr("s3cret")
    )
    auth_module.build_credential("workload_identity", client_id="cid", tenant_id="tid")
    (sp_name, sp_args, sp_kw), (wi_name, _, wi_kw) = _RecordingCredential.built
    assert (sp_name, sp_args) == ("_RecordingClientSecret", ("tid", "cid", "s3cret"))
    assert wi_name == "_RecordingWorkload"
    assert {k: v for k, v in wi_kw.items() if k != "disable_instance_discovery"} == {
        "client_id": "cid",
        "tenant_id": "tid",
    }
    expected = {"disable_instance_discovery": True} if disabled else {}
    assert sp_kw == expected
    assert {k: v for k, v in wi_kw.items() if k == "disable_instance_discovery"} == expected


def test_real_client_secret_credential_gets_instance_discovery_off_only_for_private_hosts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from azoai.io.auth import build_credential

    def built() -> Any:
        return build_credential(
            "client_secret", client_id="cid", tenant_id="tid", client_secret=SecretStr("s3cret")
        )

    monkeypatch.setenv("AZURE_AUTHORITY_HOST", "https://127.0.0.1:8443")
    private = built()
    assert private._instance_discovery is False  # what azure-identity hands MSAL
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us")
    assert built()._instance_discovery is None  # azure-identity's default: MSAL decides

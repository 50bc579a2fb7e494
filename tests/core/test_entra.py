"""Service principals (auth_mode="client_secret") and workload identity
(auth_mode="workload_identity") end to end: the real azure-identity credentials (MSAL's OIDC
discovery for ClientSecretCredential, the client-assertion exchange for
WorkloadIdentityCredential) get tokens from the emulator's Entra token service over HTTPS, and
the client makes Azure OpenAI calls with them. Configuration comes from the environment, as on
a real host."""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from azoai.client import Client
from azoai.config.settings import Settings
from azoai.errors import AuthenticationError
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator, RequestRecord

pytest.importorskip("azure.identity")

SCOPE = "https://cognitiveservices.azure.com/.default"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


@pytest.fixture(scope="module")
def short_emu() -> Iterator[Emulator]:
    """Entra tokens that live two seconds, to watch refreshes happen."""
    with Emulator(token_lifetime=2.0) as e:
        yield e


def _entra_env(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    for name in list(os.environ):
        if name.startswith(("AZURE_", "AZOAI_", "OPENAI_", "IDENTITY_", "MSI_")) or name in (
            "REQUESTS_CA_BUNDLE",
            "SSL_CERT_FILE",
            "CURL_CA_BUNDLE",
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AZURE_TENANT_ID", emu.tenant_id)
    monkeypatch.setenv("AZURE_CLIENT_ID", str(emu.entra_client_id))
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", emu.authority_host)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle)
    emu.reset()


@pytest.fixture
def service_principal(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    _entra_env(monkeypatch, emu)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", str(emu.entra_client_secret))
    return emu


@pytest.fixture
def workload(emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Emulator:
    _entra_env(monkeypatch, emu)
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(emu.issue_federated_token())
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    return emu


def _client(emu: Emulator, mode: str) -> Client:
    return Client(
        Settings.build(endpoint=emu.endpoint, deployment="chat", auth_mode=mode, config_file="")
    )


def _ask(text: str) -> ChatRequest:
    return ChatRequest(messages=[Message(role="user", content=text)])


def _token_calls(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.path.endswith("/oauth2/v2.0/token")]


def _inference(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.path.startswith("/openai/")]


def test_service_principal_gets_tokens_from_the_emulator(service_principal: Emulator) -> None:
    emu = service_principal
    with _client(emu, "client_secret") as client:
        assert client.settings.auth.mode == "client_secret"
        assert emu.entra_client_secret not in repr(client.settings)
        result = client.chat(_ask("Say hello"))
        assert result.text == "hello"
    (call,) = _token_calls(emu)
    assert call.method == "POST"
    assert call.path == f"/{emu.tenant_id}/oauth2/v2.0/token"
    assert call.status == 200
    assert call.body["grant_type"] == "client_credentials"
    assert call.body["client_id"] == emu.entra_client_id
    assert call.body["scope"] == SCOPE
    assert call.body["client_secret"] == "***"  # the log never holds the secret
    # MSAL found the token endpoint through OIDC discovery on the emulator, not online
    assert any(r.path.endswith("/v2.0/.well-known/openid-configuration") for r in emu.requests)
    (chat,) = _inference(emu)
    assert chat.status == 200
    assert chat.headers["authorization"] == "***"
    assert "api-key" not in chat.headers


def test_workload_identity_exchanges_the_federated_token(workload: Emulator) -> None:
    emu = workload
    with _client(emu, "workload_identity") as client:
        assert client.settings.auth.mode == "workload_identity"
        assert client.chat(_ask("Say hello")).text == "hello"
        streamed = "".join(d.text or "" for d in client.stream(_ask("Say streamed")))
        assert streamed == "streamed"
    (call,) = _token_calls(emu)
    assert call.status == 200
    assert call.body["client_assertion_type"] == JWT_BEARER
    assert call.body["client_assertion"] == "***"
    assert call.body["client_id"] == emu.entra_client_id
    assert "client_secret" not in call.body
    assert [r.status for r in _inference(emu)] == [200, 200]


@pytest.mark.parametrize("mode", ["client_secret", "workload_identity"])
async def test_one_token_serves_many_requests_from_threads_and_tasks(
    mode: str, emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _entra_env(monkeypatch, emu)
    if mode == "client_secret":
        monkeypatch.setenv("AZURE_CLIENT_SECRET", str(emu.entra_client_secret))
    else:
        token_file = tmp_path / "token"
        token_file.write_text(emu.issue_federated_token())
        monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    client = _client(emu, mode)
    try:
        with ThreadPoolExecutor(4) as pool:
            texts = list(pool.map(lambda i: client.chat(_ask(f"Say t{i}")).text, range(8)))
        assert texts == [f"t{i}" for i in range(8)]
        results = await asyncio.gather(*(client.achat(_ask(f"Say a{i}")) for i in range(8)))
        assert [r.text for r in results] == [f"a{i}" for i in range(8)]
    finally:
        await client.aclose()
    assert len(_token_calls(emu)) == 1
    assert len(_inference(emu)) == 16
    assert all(r.status == 200 for r in emu.requests)


def test_a_wrong_secret_is_a_typed_authentication_error(
    service_principal: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = service_principal
    wrong = "not-the-secret-value"
    monkeypatch.setenv("AZURE_CLIENT_SECRET", wrong)
    with _client(emu, "client_secret") as client, pytest.raises(AuthenticationError) as caught:
        client.chat(_ask("Say hello"))
    err = caught.value
    assert "AADSTS7000215" in str(err)
    assert "Invalid client secret" in str(err)
    assert err.fix and "doctor" in err.fix
    assert wrong not in str(err) and wrong not in repr(err)
    assert [c.status for c in _token_calls(emu)] == [401]
    assert _inference(emu) == []  # nothing went to Azure OpenAI without a token


def test_workload_identity_with_a_token_from_elsewhere_is_refused(
    workload: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    emu = workload
    stray = tmp_path / "stray-token"
    stray.write_text(emu.issue_token())  # an access token is not a federated token
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(stray))
    with (
        _client(emu, "workload_identity") as client,
        pytest.raises(AuthenticationError, match="AADSTS700211"),
    ):
        client.chat(_ask("Say hello"))
    assert _inference(emu) == []


class _TenMinutesLater:
    """``time`` for azure-identity's workload-identity module: it re-reads the token file at
    most every 600 seconds, so a rotation is picked up at the first refresh after that."""

    @staticmethod
    def time() -> float:
        return time.time() + 601


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def test_workload_identity_reads_the_rotated_token_file_on_refresh(
    short_emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    emu = short_emu
    _entra_env(monkeypatch, emu)
    token_file = tmp_path / "token"
    # The first federated token expires with the first access token; the emulator, like Entra,
    # refuses an expired assertion (AADSTS700024), so a later exchange succeeds only if
    # azure-identity sent the rotated file's token.
    token_file.write_text(emu.issue_federated_token(lifetime=2.0, subject="sa:first"))
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    with _client(emu, "workload_identity") as client:
        assert client.chat(_ask("Say one")).text == "one"
        issued = time.time()
        token_file.write_text(emu.issue_federated_token(subject="sa:rotated"))  # kubelet rotates
        _sleep_until(int(issued) + 2.05)  # both the access token and the first assertion expired
        wi = importlib.import_module("azure.identity._credentials.workload_identity")
        monkeypatch.setattr(wi, "time", _TenMinutesLater)
        assert client.chat(_ask("Say two")).text == "two"
    calls = _token_calls(emu)
    assert [c.status for c in calls] == [200, 200]
    assert all(c.body["client_assertion_type"] == JWT_BEARER for c in calls)
    assert [r.status for r in _inference(emu)] == [200, 200]


def test_service_principal_refreshes_an_expiring_token(
    short_emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = short_emu
    _entra_env(monkeypatch, emu)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", str(emu.entra_client_secret))
    with _client(emu, "client_secret") as client:
        assert client.chat(_ask("Say one")).text == "one"
        assert client.chat(_ask("Say again")).text == "again"
        assert len(_token_calls(emu)) == 1
        _sleep_until(int(time.time()) + 2.05)
        assert client.chat(_ask("Say two")).text == "two"
    assert [c.status for c in _token_calls(emu)] == [200, 200]
    assert [r.status for r in _inference(emu)] == [200, 200, 200]  # never a 401

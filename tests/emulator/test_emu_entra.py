"""The Entra token service: TLS with the emulator's throwaway CA, OIDC discovery, the client
credentials grant with a secret or a federated assertion, Entra's error bodies, and the
tokens' use on the inference and ARM routes."""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from emu_helpers import CHAT, FakeClock

from azoai_emulator import Emulator, EmulatorDeployment

COGNITIVE = "https://cognitiveservices.azure.com/.default"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def tls_context(emu: Emulator) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=emu.ca_bundle)


@pytest.fixture
def entra(emu: Emulator) -> Iterator[httpx.Client]:
    """A client for the token service that trusts only the emulator's CA."""
    with httpx.Client(base_url=emu.authority_host, verify=tls_context(emu), timeout=10) as c:
        yield c


def token_form(emu: Emulator, **fields: str | None) -> dict[str, str]:
    form: dict[str, str | None] = {
        "grant_type": "client_credentials",
        "client_id": emu.entra_client_id,
        "client_secret": emu.entra_client_secret,
        "scope": COGNITIVE,
        **fields,
    }
    return {k: v for k, v in form.items() if v is not None}


def assertion_form(emu: Emulator, assertion: str, **fields: str | None) -> dict[str, str | None]:
    return {
        "client_secret": None,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        **fields,
    }


def token_path(emu: Emulator, tenant: str | None = None) -> str:
    return f"/{tenant or emu.tenant_id}/oauth2/v2.0/token"


# --- TLS -----------------------------------------------------------------------------------------


def test_served_over_https_with_a_certificate_from_the_emulator_ca(emu: Emulator) -> None:
    assert emu.authority_host == f"https://127.0.0.1:{emu.authority_host.rsplit(':', 1)[1]}"
    assert emu.authority_host.rsplit(":", 1)[1] != str(emu.port)
    host, port = "127.0.0.1", int(emu.authority_host.rsplit(":", 1)[1])
    for name in ("127.0.0.1", "localhost"):  # the certificate names both
        with (
            socket.create_connection((host, port), timeout=5) as raw,
            tls_context(emu).wrap_socket(raw, server_hostname=name) as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            cert = tls.getpeercert()
        assert ("IP Address", "127.0.0.1") in cert["subjectAltName"]
        assert ("DNS", "localhost") in cert["subjectAltName"]
    # Nobody else trusts it: the default trust store refuses the certificate.
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{emu.authority_host}/{emu.tenant_id}/v2.0/.well-known/openid-configuration")
    # And the Azure OpenAI listener stays plain HTTP.
    assert emu.endpoint.startswith("http://")


def test_the_ca_bundle_is_a_pem_file_that_lives_while_the_emulator_runs() -> None:
    with Emulator(deployments=[EmulatorDeployment("chat", model="gpt-4o")]) as emu:
        first = emu.ca_bundle
        with open(first, encoding="ascii") as f:
            assert f.read().startswith("-----BEGIN CERTIFICATE-----")
    assert not os.path.exists(first)
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.ca_bundle
    with pytest.raises(RuntimeError, match="not been started"):
        _ = Emulator().authority_host


def test_stop_is_fast_with_an_idle_tls_keep_alive_connection() -> None:
    before = {t.name for t in threading.enumerate()}
    emu = Emulator(deployments=[EmulatorDeployment("chat", model="gpt-4o")]).start()
    with httpx.Client(verify=tls_context(emu)) as client:
        url = f"{emu.authority_host}/{emu.tenant_id}/v2.0/.well-known/openid-configuration"
        assert client.get(url).status_code == 200
        t0 = time.perf_counter()
        emu.stop()
        assert time.perf_counter() - t0 < 1.0
    assert {t.name for t in threading.enumerate()} <= before
    port = int(url.split(":")[2].split("/")[0])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


# --- discovery -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tenant", ["72f988bf-0000-4000-8000-00000000e000", "contoso.onmicrosoft.com"]
)
def test_oidc_discovery_for_any_tenant(emu: Emulator, entra: httpx.Client, tenant: str) -> None:
    r = entra.get(f"/{tenant}/v2.0/.well-known/openid-configuration")
    assert r.status_code == 200
    doc = r.json()
    base = f"{emu.authority_host}/{tenant}"
    assert doc["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"] == f"{base}/oauth2/v2.0/authorize"
    assert doc["issuer"] == f"{base}/v2.0"
    assert entra.get(doc["jwks_uri"].removeprefix(emu.authority_host)).json() == {"keys": []}


def test_unknown_paths_and_bad_tenants(emu: Emulator, entra: httpx.Client) -> None:
    assert entra.get("/nowhere").status_code == 404
    assert entra.post(CHAT, json={"messages": []}).status_code == 404  # not Azure OpenAI
    bad = entra.get("/te%20nant/v2.0/.well-known/openid-configuration")
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_tenant"
    assert entra.get(token_path(emu)).status_code == 405


# --- the client credentials grant ----------------------------------------------------------------


def test_client_secret_grant_issues_a_token_the_data_plane_accepts(
    emu: Emulator, entra: httpx.Client
) -> None:
    before = emu.tokens_issued
    r = entra.post(token_path(emu, "contoso.onmicrosoft.com"), data=token_form(emu))
    assert r.status_code == 200
    assert r.headers["cache-control"].startswith("no-store")
    body = r.json()
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == 3600
    c = claims(body["access_token"])
    assert c["aud"] == "https://cognitiveservices.azure.com"
    assert c["appid"] == emu.entra_client_id
    assert c["tid"] == "contoso.onmicrosoft.com"
    assert c["exp"] - c["iat"] == 3600
    assert emu.tokens_issued == before + 1
    chat = httpx.post(
        f"{emu.endpoint}{CHAT}",
        headers={"authorization": f"Bearer {body['access_token']}"},
        json={"messages": [{"role": "user", "content": "Say entra"}]},
    )
    assert chat.status_code == 200
    assert chat.json()["choices"][0]["message"]["content"] == "entra"


def test_the_scope_sets_the_audience(emu: Emulator, entra: httpx.Client) -> None:
    foundry = entra.post(
        token_path(emu), data=token_form(emu, scope="https://ai.azure.com/.default")
    ).json()["access_token"]
    assert claims(foundry)["aud"] == "https://ai.azure.com"
    arm = entra.post(
        token_path(emu), data=token_form(emu, scope="https://management.azure.com/.default")
    ).json()["access_token"]
    assert claims(arm)["aud"] == "https://management.azure.com"
    headers = {"authorization": f"Bearer {arm}"}
    listing = (
        f"{emu.arm_endpoint}/subscriptions/{emu.subscription_id}/resourceGroups/"
        f"{emu.resource_group}/providers/Microsoft.CognitiveServices/accounts/{emu.account}/"
        "deployments?api-version=2024-10-01"
    )
    assert httpx.get(listing, headers=headers).status_code == 200
    # an ARM token is no good for inference
    wrong = httpx.post(f"{emu.endpoint}{CHAT}", headers=headers, json={"messages": []})
    assert wrong.status_code == 401


def test_the_request_log_redacts_secrets(emu: Emulator, entra: httpx.Client) -> None:
    assertion = emu.issue_federated_token()
    entra.post(token_path(emu), data=token_form(emu))
    entra.post(token_path(emu), data=token_form(emu, **assertion_form(emu, assertion)))
    secret_call, assertion_call = emu.requests[-2:]
    assert secret_call.body == {
        "grant_type": "client_credentials",
        "client_id": emu.entra_client_id,
        "client_secret": "***",
        "scope": COGNITIVE,
    }
    assert assertion_call.body["client_assertion"] == "***"
    assert assertion_call.body["client_assertion_type"] == JWT_BEARER
    assert [secret_call.status, assertion_call.status] == [200, 200]
    log = repr(emu.requests)
    assert str(emu.entra_client_secret) not in log and assertion not in log


@pytest.mark.parametrize(
    ("fields", "status", "error", "code"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        ({"client_secret": None}, 401, "invalid_client", 7000218),
        ({"client_id": "11111111-2222-3333-4444-555555555555"}, 400, "unauthorized_client", 700016),
        ({"client_id": None}, 400, "invalid_request", 900144),
        ({"grant_type": None}, 400, "invalid_request", 900144),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"scope": None}, 400, "invalid_request", 900144),
        ({"scope": "https://cognitiveservices.azure.com"}, 400, "invalid_scope", 1002012),
        ({"scope": f"{COGNITIVE} https://ai.azure.com/.default"}, 400, "invalid_scope", 1002012),
        ({"scope": "https://graph.example.test/.default"}, 400, "invalid_resource", 500011),
    ],
)
def test_errors_in_entra_shape(
    emu: Emulator,
    entra: httpx.Client,
    fields: dict[str, str | None],
    status: int,
    error: str,
    code: int,
) -> None:
    before = emu.tokens_issued
    r = entra.post(
        token_path(emu), data=token_form(emu, **fields), headers={"client-request-id": "corr-1"}
    )
    assert r.status_code == status
    body = r.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert "Correlation ID: corr-1" in body["error_description"]
    assert body["correlation_id"] == "corr-1"
    assert body["trace_id"] and body["timestamp"].endswith("Z")
    assert body["error_uri"] == f"{emu.authority_host}/error?code={code}"
    assert "access_token" not in body
    assert emu.tokens_issued == before


def test_wrong_secret_message_is_entras(emu: Emulator, entra: httpx.Client) -> None:
    body = entra.post(token_path(emu), data=token_form(emu, client_secret="nope")).json()
    assert body["error_description"].startswith(
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
        "request is the client secret value, not the client secret ID"
    )
    assert "nope" not in json.dumps(body)


# --- federated assertions (workload identity) ------------------------------------------------------


def test_a_federated_token_is_exchanged_for_an_access_token(
    emu: Emulator, entra: httpx.Client
) -> None:
    assertion = emu.issue_federated_token(subject="system:serviceaccount:prod:api")
    c = claims(assertion)
    assert c["aud"] == ["api://AzureADTokenExchange"]
    assert c["sub"] == "system:serviceaccount:prod:api"
    assert c["exp"] - c["iat"] == 3600
    r = entra.post(token_path(emu), data=token_form(emu, **assertion_form(emu, assertion)))
    assert r.status_code == 200
    assert claims(r.json()["access_token"])["appid"] == emu.entra_client_id
    # the assertion is not an access token
    denied = httpx.post(
        f"{emu.endpoint}{CHAT}",
        headers={"authorization": f"Bearer {assertion}"},
        json={"messages": [{"role": "user", "content": "hi"}]},
    )
    assert denied.status_code == 401


def _tampered(token: str) -> str:
    head, payload, sig = token.split(".")
    c = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    c["sub"] = "system:serviceaccount:kube-system:admin"
    forged = base64.urlsafe_b64encode(json.dumps(c).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{sig}"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda emu: emu.issue_token(), 700211),  # an access token: not the federation issuer
        (lambda emu: _tampered(emu.issue_federated_token()), 50013),  # forged claims
        (lambda emu: "not-a-jwt", 50027),
        (lambda emu: "", 50027),
    ],
)
def test_bad_assertions(emu: Emulator, entra: httpx.Client, make: Any, code: int) -> None:
    r = entra.post(token_path(emu), data=token_form(emu, **assertion_form(emu, make(emu))))
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert r.json()["error_codes"] == [code]


def test_assertion_type_must_be_jwt_bearer(emu: Emulator, entra: httpx.Client) -> None:
    fields = assertion_form(emu, emu.issue_federated_token(), client_assertion_type="saml")
    r = entra.post(token_path(emu), data=token_form(emu, **fields))
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_federated_tokens_are_bound_to_their_app_and_their_lifetime() -> None:
    clock = FakeClock(start=time.time())
    apps = {"app-a": "secret-a", "app-b": None}
    with Emulator(
        deployments=[EmulatorDeployment("chat", model="gpt-4o")], entra_clients=apps, clock=clock
    ) as emu:
        assert (emu.entra_client_id, emu.entra_client_secret) == ("app-a", "secret-a")
        with httpx.Client(base_url=emu.authority_host, verify=tls_context(emu)) as entra:

            def exchange(client_id: str, assertion: str) -> httpx.Response:
                form = token_form(emu, client_id=client_id, **assertion_form(emu, assertion))
                return entra.post(token_path(emu), data=form)

            for_b = emu.issue_federated_token("app-b", subject="sa:b", lifetime=60)
            assert exchange("app-b", for_b).status_code == 200
            # another app's federated identity credential does not match this subject
            wrong_app = exchange("app-a", for_b).json()
            assert wrong_app["error_codes"] == [700213]
            assert "'sa:b'" in wrong_app["error_description"]
            # an app without a secret refuses every secret
            secret = token_form(emu, client_id="app-b", client_secret="anything")
            assert entra.post(token_path(emu), data=secret).json()["error_codes"] == [7000215]
            # the access token lives token_lifetime, on the emulator's clock
            assert exchange("app-b", for_b).json()["expires_in"] == 3600
            clock.advance(60)
            expired = exchange("app-b", for_b).json()
            assert expired["error_codes"] == [700024]
            assert "not within its valid time range" in expired["error_description"]
        with pytest.raises(ValueError, match="unknown Entra client 'app-c'"):
            emu.issue_federated_token("app-c")


def test_entra_clients_are_validated() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        Emulator(entra_clients={"": "secret"})
    with pytest.raises(ValueError, match="secret must be a non-empty string or None"):
        Emulator(entra_clients={"app": ""})
    no_apps = Emulator(entra_clients={})
    assert no_apps.entra_client_id is None
    with pytest.raises(ValueError, match="no Entra app registrations"):
        no_apps.issue_federated_token()


# --- through azure-identity ----------------------------------------------------------------------


@pytest.fixture
def entra_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    for name in list(os.environ):
        if name.startswith(("AZURE_", "IDENTITY_", "MSI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", emu.authority_host)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle)
    return emu


def test_azure_identity_client_secret_credential(entra_env: Emulator) -> None:
    identity = pytest.importorskip("azure.identity")
    emu = entra_env
    credential = identity.ClientSecretCredential(
        emu.tenant_id,
        str(emu.entra_client_id),
        str(emu.entra_client_secret),
        disable_instance_discovery=True,  # MSAL would ask login.microsoftonline.com otherwise
    )
    with credential:
        token = credential.get_token(COGNITIVE)
        assert 3500 < token.expires_on - time.time() <= 3600
        assert credential.get_token(COGNITIVE).token == token.token  # MSAL's cache
    assert claims(token.token)["aud"] == "https://cognitiveservices.azure.com"
    assert [r.path.rsplit("/", 1)[1] for r in emu.requests] == ["openid-configuration", "token"]


def test_azure_identity_workload_identity_credential(entra_env: Emulator, tmp_path: Any) -> None:
    identity = pytest.importorskip("azure.identity")
    emu = entra_env
    token_file = tmp_path / "token"
    token_file.write_text(emu.issue_federated_token())
    credential = identity.WorkloadIdentityCredential(
        tenant_id=emu.tenant_id, client_id=emu.entra_client_id, token_file_path=str(token_file)
    )
    with credential:
        token = credential.get_token("https://ai.azure.com/.default")
    assert claims(token.token)["aud"] == "https://ai.azure.com"
    (call,) = emu.requests
    assert call.body["client_assertion_type"] == JWT_BEARER

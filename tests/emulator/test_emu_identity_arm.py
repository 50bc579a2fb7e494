"""Managed identity through azure-identity (App Service and IMDS), and the ARM deployment list."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from emu_helpers import FakeClock
from openai import AzureOpenAI

from azoai.config.deployments import DeploymentDiscovery, DiscoverySettings
from azoai.io.auth import jwt_expiry
from azoai.pipeline.discovery import arm_get
from azoai_emulator import Emulator, EmulatorDeployment, Fault

identity = pytest.importorskip("azure.identity")

COGNITIVE = "https://cognitiveservices.azure.com/.default"
MANAGEMENT = "https://management.azure.com/.default"
MI_VARIABLES = (
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_USERNAME",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in MI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def app_service(emu: Emulator, clean_env: pytest.MonkeyPatch) -> Emulator:
    clean_env.setenv("IDENTITY_ENDPOINT", emu.identity_endpoint)
    clean_env.setenv("IDENTITY_HEADER", emu.identity_header)
    return emu


def test_app_service_protocol(app_service: Emulator) -> None:
    before = app_service.tokens_issued
    credential = identity.ManagedIdentityCredential()
    token = credential.get_token(COGNITIVE)
    assert token.token.count(".") == 2
    assert token.expires_on == jwt_expiry(token.token)
    assert 3500 < token.expires_on - time.time() <= 3600
    assert app_service.tokens_issued == before + 1
    request = app_service.requests[-1]
    assert request.path == "/msi/token"
    assert request.query == {
        "api-version": "2019-08-01",
        "resource": "https://cognitiveservices.azure.com",
    }
    assert request.headers["x-identity-header"] == "***"
    client = AzureOpenAI(
        azure_endpoint=app_service.endpoint,
        azure_ad_token_provider=identity.get_bearer_token_provider(credential, COGNITIVE),
        api_version="2024-10-21",
        max_retries=0,
    )
    assert client.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "Say 'mi'"}]
    ).choices
    assert app_service.requests[-1].headers["authorization"] == "***"


def test_default_credential_uses_managed_identity(app_service: Emulator) -> None:
    credential = identity.DefaultAzureCredential(exclude_interactive_browser_credential=True)
    token = credential.get_token(COGNITIVE)
    r = httpx.post(
        f"{app_service.v1_base_url}chat/completions",
        headers={"authorization": f"Bearer {token.token}"},
        json={"model": "chat", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 200


def test_imds_protocol(emu: Emulator, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emu.imds_endpoint)
    before = emu.tokens_issued
    token = identity.ManagedIdentityCredential(client_id="my-client").get_token(COGNITIVE)
    assert emu.tokens_issued == before + 1
    request = emu.requests[-1]
    assert request.path == "/metadata/identity/oauth2/token"
    assert request.query["api-version"] == "2018-02-01"
    assert request.query["client_id"] == "my-client"
    assert request.headers["metadata"] == "true"
    r = httpx.post(
        f"{emu.endpoint}/openai/deployments/chat/chat/completions?api-version=2024-10-21",
        headers={"authorization": f"Bearer {token.token}"},
        json={"messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 200


def test_token_endpoint_errors(emu: Emulator) -> None:
    wrong = httpx.get(
        f"{emu.identity_endpoint}?api-version=2019-08-01&resource=https://x",
        headers={"x-identity-header": "wrong"},
    )
    assert wrong.status_code == 401
    no_resource = httpx.get(
        f"{emu.identity_endpoint}?api-version=2019-08-01",
        headers={"x-identity-header": emu.identity_header},
    )
    assert no_resource.status_code == 400
    imds = (
        f"{emu.endpoint}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://x"
    )
    assert httpx.get(imds).json() == {
        "error": "invalid_request",
        "error_description": "Required metadata header not specified",
    }
    body = httpx.get(imds, headers={"Metadata": "true"}).json()
    assert set(body) >= {"access_token", "expires_on", "expires_in", "resource", "token_type"}
    assert body["expires_in"] == "3600"
    assert int(body["expires_on"]) == jwt_expiry(body["access_token"])


def test_token_lifetime_and_expiry_with_a_fake_clock(clean_env: pytest.MonkeyPatch) -> None:
    clock = FakeClock(start=time.time())
    with Emulator(
        deployments=[EmulatorDeployment("chat", model="gpt-4o")], token_lifetime=120, clock=clock
    ) as emu:
        body = httpx.get(
            f"{emu.identity_endpoint}?api-version=2019-08-01&resource=https://cognitiveservices.azure.com",
            headers={"x-identity-header": emu.identity_header},
        ).json()
        assert body["expires_in"] == "120"
        url = f"{emu.endpoint}/openai/v1/chat/completions"
        payload = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
        headers = {"authorization": f"Bearer {body['access_token']}"}
        assert httpx.post(url, headers=headers, json=payload).status_code == 200
        clock.advance(121)
        assert httpx.post(url, headers=headers, json=payload).status_code == 401


# --- ARM -----------------------------------------------------------------------------------------


@pytest.fixture
def resource() -> Iterator[Emulator]:
    deployments = [
        EmulatorDeployment("chat", model="gpt-4o", tpm=50_000),
        EmulatorDeployment("mini", model="gpt-4o-mini"),
        EmulatorDeployment("building", model="gpt-4.1", state="Creating"),
        EmulatorDeployment("broken", model="o3-mini", state="Failed"),
        EmulatorDeployment("embed", model="text-embedding-3-small", sku="Standard"),
    ]
    with Emulator(deployments=deployments, arm_page_size=2) as emu:
        yield emu


def arm_url(emu: Emulator, version: str = "2024-10-01") -> str:
    return (
        f"{emu.arm_endpoint}/subscriptions/{emu.subscription_id}/resourceGroups/{emu.resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{emu.account}/deployments?api-version={version}"
    )


def test_core_discovery_follows_next_link(resource: Emulator) -> None:
    resource.inject("mini", Fault.paused())
    settings = DiscoverySettings(
        subscription_id=resource.subscription_id,
        resource_group=resource.resource_group,
        account=resource.account,
        arm_host=resource.arm_endpoint,
    )
    discovery = DeploymentDiscovery(
        settings,
        get_token=lambda: resource.issue_token(audience=MANAGEMENT),
        http_get=arm_get(settings),
    )
    records = discovery.deployments()
    assert discovery.last_error is None
    assert discovery.list_calls == 3  # five deployments, two per page
    assert [r.name for r in records] == ["chat", "embed"]
    states = {r.name: r.state for r in discovery.all_records}
    assert states == {
        "chat": "Succeeded",
        "mini": "Paused",
        "building": "Creating",
        "broken": "Failed",
        "embed": "Succeeded",
    }
    chat = next(r for r in records if r.name == "chat")
    assert (chat.model, chat.model_version, chat.capacity, chat.sku) == (
        "gpt-4o",
        "2024-11-20",
        50,
        "GlobalStandard",
    )
    assert chat.kind == "chat"
    assert next(r for r in records if r.name == "embed").kind == "embedding"


def test_arm_pages_and_item_shape(resource: Emulator) -> None:
    headers = {
        "authorization": f"Bearer {resource.issue_token(audience='https://management.azure.com/')}"
    }
    first = httpx.get(arm_url(resource), headers=headers).json()
    assert [d["name"] for d in first["value"]] == ["chat", "mini"]
    assert first["nextLink"].startswith(resource.arm_endpoint)
    item = first["value"][0]
    assert item["id"].endswith(
        "/providers/Microsoft.CognitiveServices/accounts/azoai-emulator/deployments/chat"
    )
    assert item["type"] == "Microsoft.CognitiveServices/accounts/deployments"
    assert item["properties"]["model"] == {
        "format": "OpenAI",
        "name": "gpt-4o",
        "version": "2024-11-20",
    }
    assert item["properties"]["capabilities"]["chatCompletion"] == "true"
    assert item["properties"]["rateLimits"][0] == {
        "key": "request",
        "renewalPeriod": 60,
        "count": 300,
    }
    last = httpx.get(
        httpx.get(first["nextLink"], headers=headers).json()["nextLink"], headers=headers
    ).json()
    assert [d["name"] for d in last["value"]] == ["embed"]
    assert "nextLink" not in last


def test_arm_errors(resource: Emulator) -> None:
    data_plane = {"authorization": f"Bearer {resource.issue_token()}"}
    management = {"authorization": f"Bearer {resource.issue_token(audience=MANAGEMENT)}"}
    missing = httpx.get(arm_url(resource))
    assert missing.json()["error"]["code"] == "AuthenticationFailed"
    wrong_audience = httpx.get(arm_url(resource), headers=data_plane)
    assert wrong_audience.status_code == 401
    assert wrong_audience.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"
    expired = httpx.get(
        arm_url(resource),
        headers={"authorization": f"Bearer {resource.issue_token(-10, audience=MANAGEMENT)}"},
    )
    assert expired.json()["error"]["code"] == "ExpiredAuthenticationToken"
    no_version = httpx.get(arm_url(resource).split("?")[0], headers=management)
    assert no_version.json()["error"]["code"] == "MissingApiVersionParameter"
    other = arm_url(resource).replace(f"/accounts/{resource.account}/", "/accounts/someone-else/")
    assert httpx.get(other, headers=management).json()["error"]["code"] == "ResourceNotFound"
    api_key_only = httpx.get(arm_url(resource), headers={"api-key": resource.api_key})
    assert api_key_only.status_code == 401


def test_managed_identity_token_for_arm(resource: Emulator, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("IDENTITY_ENDPOINT", resource.identity_endpoint)
    clean_env.setenv("IDENTITY_HEADER", resource.identity_header)
    token = identity.ManagedIdentityCredential().get_token(MANAGEMENT).token
    assert (
        httpx.get(arm_url(resource), headers={"authorization": f"Bearer {token}"}).status_code
        == 200
    )

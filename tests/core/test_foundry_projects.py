"""Azure AI Foundry project endpoints (issue 16): ``https://<account>.services.ai.azure.com/api/
projects/<project>`` serves the OpenAI-compatible v1 API below its path and takes Entra tokens for
``https://ai.azure.com`` only (microsoft/agent-framework#7201). The endpoint is accepted with or
without ``/openai/v1``, URLs are built under the project path, the scope is chosen for it (an
explicit scope still wins), through the Client and both adapters against the emulator, with an
API key and with Entra tokens from the emulator's token service."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from azoai.client import Client
from azoai.config.endpoints import FOUNDRY_SCOPE, parse_endpoint
from azoai.config.settings import Settings
from azoai.errors import AuthenticationError, ConfigError, NotFoundError
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator, RequestRecord

CLASSIC_SCOPE = "https://cognitiveservices.azure.com/.default"
ACCOUNT = "https://acct.services.ai.azure.com"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(projects=["proj", "_project"]) as e:
        yield e


@pytest.fixture(autouse=True)
def _clean(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AZURE_", "AZOAI_", "OPENAI_", "IDENTITY_", "MSI_", "LC_")) or name in (
            "REQUESTS_CA_BUNDLE",
            "SSL_CERT_FILE",
            "CURL_CA_BUNDLE",
        ):
            monkeypatch.delenv(name)
    emu.reset()


@pytest.fixture
def entra(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """A service principal whose tokens come from the emulator's Entra token service."""
    pytest.importorskip("azure.identity")
    monkeypatch.setenv("AZURE_TENANT_ID", emu.tenant_id)
    monkeypatch.setenv("AZURE_CLIENT_ID", str(emu.entra_client_id))
    monkeypatch.setenv("AZURE_CLIENT_SECRET", str(emu.entra_client_secret))
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", emu.authority_host)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle)
    return emu


def _ask(text: str) -> ChatRequest:
    return ChatRequest(messages=[Message("user", text)])


def _token_scopes(emu: Emulator) -> list[str]:
    return [r.body["scope"] for r in emu.requests if r.path.endswith("/oauth2/v2.0/token")]


def _inference(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if "/openai/" in r.path]


# --- the endpoint -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        f"{ACCOUNT}/api/projects/my-proj",
        f"{ACCOUNT}/api/projects/my-proj/",
        f"{ACCOUNT}/api/projects/my-proj/openai/v1",
        f"{ACCOUNT}/api/projects/my-proj/openai/v1/",
        f"{ACCOUNT}/api/projects/my-proj/openai",
        "acct.services.ai.azure.com/API/Projects/my-proj",
    ],
)
def test_project_endpoints_are_accepted_with_or_without_openai_v1(raw: str) -> None:
    ep = parse_endpoint(raw)
    assert ep.base == f"{ACCOUNT}/api/projects/my-proj"
    assert (ep.kind, ep.project, ep.account_base) == ("foundry", "my-proj", ACCOUNT)
    assert ep.openai_base == f"{ACCOUNT}/api/projects/my-proj/openai"
    assert ep.default_scope == FOUNDRY_SCOPE == "https://ai.azure.com/.default"
    assert ep.resource_name == "acct"
    # before: "has an unexpected path", with or without custom_endpoint
    assert parse_endpoint(raw, custom_endpoint=True) == ep


def test_the_default_project_and_other_hosts() -> None:
    assert parse_endpoint(f"{ACCOUNT}/api/projects/_project").project == "_project"
    assert parse_endpoint(ACCOUNT).project is None
    assert parse_endpoint(ACCOUNT).default_scope == CLASSIC_SCOPE
    gateway = parse_endpoint("https://gw.example.com/api/projects/p", custom_endpoint=True)
    assert (gateway.kind, gateway.project, gateway.default_scope) == ("custom", "p", FOUNDRY_SCOPE)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("https://res.openai.azure.com/api/projects/p", "projects are served on https://<account>"),
        (f"{ACCOUNT}/api/projects/", "invalid Foundry project path"),
        (f"{ACCOUNT}/api/projects/p/agents", "invalid Foundry project path"),
        (f"{ACCOUNT}/api/projects/a%20b", "invalid Foundry project path"),
        (f"{ACCOUNT}/api/projects/p/openai/v1/responses", "contains an API path"),
        (f"{ACCOUNT}/other", "unexpected path"),
    ],
)
def test_malformed_project_endpoints_are_refused(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_endpoint(raw)
    assert caught.value.setting == "endpoint"


def test_project_endpoints_take_the_v1_api_only(emu: Emulator) -> None:
    def build(**kw: Any) -> Settings:
        return Settings.build(
            endpoint=f"{ACCOUNT}/api/projects/p", api_key="k", config_file="", **kw
        )

    with pytest.raises(ConfigError) as caught:
        build(api_version="2024-10-21", env={})
    assert caught.value.setting == "api_version"
    assert "serves the v1 API only" in str(caught.value)
    assert "https://<account>.services.ai.azure.com" in str(caught.value)
    with pytest.raises(ConfigError, match="route='deployments' is not possible") as caught:
        build(route="deployments", env={})
    assert caught.value.setting == "route"
    with pytest.raises(ConfigError, match="Foundry project"):
        build(api="responses", api_version="2025-04-01-preview", env={})
    # a dated version left in the environment for other models does not break it
    s = build(env={"OPENAI_API_VERSION": "2024-10-21"})
    assert (s.route, s.api_version.value) == ("v1", "v1")
    assert build(api_version="preview", env={}).api_version.value == "preview"
    with pytest.raises(ConfigError, match="not available on a Foundry project endpoint") as caught:
        build(api="responses", transport="websocket", env={})
    assert caught.value.setting == "transport"
    assert "give the account endpoint https://acct.services.ai.azure.com" in str(caught.value)


# --- through the Client, API key ----------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/openai/v1"])
async def test_the_client_calls_under_the_project_path_with_a_key(
    emu: Emulator, suffix: str
) -> None:
    endpoint = emu.project_endpoint("proj") + suffix
    chat = Client(endpoint=endpoint, api_key=emu.api_key, deployment="chat", env={}, config_file="")
    responses = Client(
        endpoint=endpoint,
        api_key=emu.api_key,
        deployment="chat",
        api="responses",
        env={},
        config_file="",
    )
    try:
        assert chat.settings.auth.scope == FOUNDRY_SCOPE
        assert chat.settings.source_of("scope") == "default for Foundry project 'proj'"
        assert chat.chat(_ask("Say hello")).text == "hello"
        assert "".join(d.text or "" for d in chat.stream(_ask("Say streamed"))) == "streamed"
        assert (await responses.achat(_ask("Say async"))).text == "async"
        assert "".join([d.text or "" async for d in responses.astream(_ask("Say more"))]) == "more"
        assert len(chat.embed(["one"], model="embed").vectors) == 1
    finally:
        await chat.aclose()
        await responses.aclose()
    assert [(r.path, r.status) for r in _inference(emu)] == [
        ("/api/projects/proj/openai/v1/chat/completions", 200),
        ("/api/projects/proj/openai/v1/chat/completions", 200),
        ("/api/projects/proj/openai/v1/responses", 200),
        ("/api/projects/proj/openai/v1/responses", 200),
        ("/api/projects/proj/openai/v1/embeddings", 200),
    ]
    assert all(r.query == {} for r in _inference(emu))


def test_an_unknown_project_is_a_404(emu: Emulator) -> None:
    with (
        Client(
            endpoint=emu.project_endpoint("nope"),
            api_key=emu.api_key,
            deployment="chat",
            env={},
            config_file="",
        ) as client,
        pytest.raises(NotFoundError),
    ):
        client.chat(_ask("Say hello"))
    assert [(r.path, r.status) for r in _inference(emu)] == [
        ("/api/projects/nope/openai/v1/chat/completions", 404)
    ]


# --- through the Client, Entra ------------------------------------------------------------------


def test_entra_tokens_for_a_project_are_asked_for_the_ai_azure_com_scope(entra: Emulator) -> None:
    emu = entra
    with Client(
        endpoint=emu.project_endpoint("proj"),
        auth_mode="client_secret",
        deployment="chat",
        config_file="",
    ) as client:
        assert client.chat(_ask("Say hello")).text == "hello"
        assert len(client.embed(["one"], model="embed").vectors) == 1
    assert _token_scopes(emu) == [FOUNDRY_SCOPE]
    calls = _inference(emu)
    assert [(r.url, r.status) for r in calls] == [
        ("/api/projects/proj/openai/v1/chat/completions", 200),
        # Azure's v1 embeddings take no Entra tokens: the account's deployment route does
        ("/openai/deployments/embed/embeddings?api-version=2024-10-21", 200),
    ]
    assert all(r.headers["authorization"] == "***" and "api-key" not in r.headers for r in calls)


def test_an_explicit_scope_wins_and_the_project_names_the_audience_it_wants(
    entra: Emulator,
) -> None:
    emu = entra
    with (
        Client(
            endpoint=emu.project_endpoint("proj"),
            auth_mode="client_secret",
            scope=CLASSIC_SCOPE,
            deployment="chat",
            config_file="",
        ) as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        assert client.settings.source_of("scope") == "argument"
        client.chat(_ask("Say hello"))
    assert "audience is incorrect (https://ai.azure.com)" in str(caught.value)
    assert set(_token_scopes(emu)) == {CLASSIC_SCOPE}
    assert {r.status for r in _inference(emu)} == {401}  # (the client retries a 401 once)


# --- through the adapters -----------------------------------------------------------------------


def test_langchain_with_a_project_endpoint(entra: Emulator) -> None:
    pytest.importorskip("langchain_core")
    from langchain_azoai import AzureChatOpenAI

    emu = entra
    keyed = AzureChatOpenAI(
        azure_endpoint=emu.project_endpoint("proj") + "/openai/v1",
        api_key=emu.api_key,
        azure_deployment="chat",
    )
    assert keyed.invoke("Say key").content == "key"
    assert "".join(str(c.content) for c in keyed.stream("Say streamed")) == "streamed"
    keyless = AzureChatOpenAI(
        azure_endpoint=emu.project_endpoint("proj"),
        auth_mode="client_secret",
        azure_deployment="chat",
        use_responses_api=True,
    )
    assert keyless.invoke("Say entra").text == "entra"
    assert _token_scopes(emu) == [FOUNDRY_SCOPE]
    assert [(r.path, r.status) for r in _inference(emu)] == [
        ("/api/projects/proj/openai/v1/chat/completions", 200),
        ("/api/projects/proj/openai/v1/chat/completions", 200),
        ("/api/projects/proj/openai/v1/responses", 200),
    ]


async def test_llamaindex_with_a_project_endpoint(entra: Emulator) -> None:
    pytest.importorskip("llama_index.core")
    from llama_index.core.llms import ChatMessage

    from llamaindex_azoai import AzureOpenAI

    emu = entra
    keyed = AzureOpenAI(
        engine="chat",
        azure_endpoint=emu.project_endpoint("proj"),
        api_key=emu.api_key,
        config_file="",
    )
    assert keyed.complete("Say key").text == "key"
    streamed = await keyed.astream_chat([ChatMessage(role="user", content="Say streamed")])
    assert [c.delta async for c in streamed][-1] is not None
    keyless = AzureOpenAI(
        engine="chat",
        azure_endpoint=emu.project_endpoint("proj") + "/openai/v1",
        auth_mode="client_secret",
        use_responses_api=True,
        config_file="",
    )
    answer = await keyless.achat([ChatMessage(role="user", content="Say entra")])
    assert answer.message.content == "entra"
    assert _token_scopes(emu) == [FOUNDRY_SCOPE]
    assert [(r.path, r.status) for r in _inference(emu)] == [
        ("/api/projects/proj/openai/v1/chat/completions", 200),
        ("/api/projects/proj/openai/v1/chat/completions", 200),
        ("/api/projects/proj/openai/v1/responses", 200),
    ]

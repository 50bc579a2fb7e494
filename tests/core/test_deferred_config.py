"""The core's construction rules for the drop-in adapters (issue 17): settings built in drop-in
mode construct whatever langchain-openai and llama-index construct (any https host, any
api_version string, the openai SDK's ``base_url`` form) and raise what those packages meet only
at the first call there, typed and before anything is sent; the core's own Client stays strict at
construction. Error texts take the caller's argument names. ``OPENAI_API_KEY`` is never an Azure
key and the error says so; a ``Bearer``-prefixed static token is sent once; ``deployment_map``
with a default deployment resolves as Amplifier documents it.

Driven through :class:`azoai.client.Client` against the emulator over loopback (a gateway host
through a user httpx client whose transport forwards to the emulator's socket)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from azoai.client import Client
from azoai.config.auth_settings import secret_header
from azoai.config.settings import Settings
from azoai.errors import ConfigError
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator, EmulatorDeployment

_HI = ChatRequest(messages=[Message("user", "Say 'hello'")])
_NONE: dict[str, Any] = {"env": {}, "config_file": ""}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(
        [
            EmulatorDeployment("chat", model="gpt-4o"),
            EmulatorDeployment("mini", model="gpt-4o-mini"),
        ]
    ) as e:
        yield e


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("AZURE_OPENAI", "OPENAI_", "AZOAI")):
            monkeypatch.delenv(name, raising=False)
    yield
    emu.reset()


class Forward(httpx.BaseTransport):
    """A user's transport that takes every request, whatever host its URL names, to the
    emulator's loopback socket, recording the URL and headers as azoai sent them."""

    def __init__(self, emu: Emulator, strip: str = "") -> None:
        self.target = httpx.URL(emu.endpoint)
        self.strip = strip  # a gateway's path prefix, which the emulator does not serve
        self.inner = httpx.HTTPTransport()
        self.seen: list[tuple[str, dict[str, str]]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((str(request.url), dict(request.headers)))
        url = request.url.copy_with(
            scheme="http",
            host=self.target.host,
            port=self.target.port,
            raw_path=request.url.raw_path.removeprefix(self.strip.encode()),
        )
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"host"]
        forwarded = httpx.Request(
            request.method,
            url,
            headers=headers,
            content=request.read(),
            extensions=request.extensions,
        )
        return self.inner.handle_request(forwarded)

    def close(self) -> None:
        self.inner.close()


def _dropin(**kw: Any) -> Settings:
    return Settings.build(dropin=True, **{**_NONE, **kw})


# --- the core Client: strict at construction --------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "text"),
    [
        ({"endpoint": "foo"}, "custom_endpoint=True"),
        ({"endpoint": "https://gw.azure-api.net"}, "custom_endpoint=True"),
        (
            {"endpoint": "http://gw.example.com", "custom_endpoint": True},
            "http:// on a non-loopback",
        ),
        ({"api_version": "yyyy-mm-dd"}, "not a valid api-version"),
        ({"api_version": "2023-05-15", "api": "responses"}, "has no Responses API"),
    ],
)
def test_the_core_client_refuses_at_construction(kw: dict[str, Any], text: str) -> None:
    args = {"endpoint": "https://myres.openai.azure.com", "api_key": "k", **_NONE, **kw}
    with pytest.raises(ConfigError, match=text):
        Client(**args)


# --- drop-in settings: construct, and refuse at the first call ---------------------------------


@pytest.mark.parametrize(
    ("kw", "setting", "text"),
    [
        ({"endpoint": "foo"}, "endpoint", "'foo' is not a URL"),
        ({"endpoint": "my-base-url"}, "endpoint", "is not a URL"),
        ({"endpoint": "http://gw.example.com"}, "endpoint", "http:// on a non-loopback host"),
        (
            {"api_version": "yyyy-mm-dd"},
            "api_version",
            r"'yyyy-mm-dd' \(from argument\) is not a valid",
        ),
        (
            {"api_version": "2023-05-15", "api": "responses"},
            "api_version",
            "has no Responses API",
        ),
    ],
)
def test_dropin_settings_raise_at_the_first_call_before_sending(
    emu: Emulator, kw: dict[str, Any], setting: str, text: str
) -> None:
    forward = Forward(emu)
    settings = _dropin(
        **{"endpoint": emu.endpoint, "api_key": emu.api_key, "deployment": "chat", **kw}
    )
    assert [d.setting for d in settings.deferred] == [setting]
    assert "refused at the first call" in settings.sources[setting]
    client = Client(settings, http_client=httpx.Client(transport=forward))
    for call in (
        lambda: client.chat(_HI),
        lambda: list(client.stream(_HI)),
        lambda: client.embed(["x"]),
    ):
        with pytest.raises(ConfigError, match=text) as caught:
            call()
        assert caught.value.setting == setting
    assert forward.seen == [] and emu.requests == []


async def test_async_calls_raise_the_deferred_error_too(emu: Emulator) -> None:
    client = Client(_dropin(endpoint=emu.endpoint, api_key=emu.api_key, api_version="foo"))
    with pytest.raises(ConfigError, match="'foo'"):
        await client.achat(_HI, model="chat")
    assert emu.requests == []


def test_gateway_hosts_get_azures_url_shapes(emu: Emulator) -> None:
    """Auto: *.azure-api.net (APIM) and any other https host are custom endpoints."""
    for host, why in (("gw.azure-api.net", "API Management"), ("ai.contoso.com", "not an Azure")):
        forward = Forward(emu, strip="/team-a")
        settings = _dropin(
            endpoint=f"https://{host}/team-a", api_key=emu.api_key, api_version="2024-10-21"
        )
        assert settings.endpoint.kind == "custom" and why in settings.sources["custom_endpoint"]
        client = Client(settings, http_client=httpx.Client(transport=forward))
        assert client.chat(_HI, model="chat").message.text
        url, headers = forward.seen[-1]
        assert url == (
            f"https://{host}/team-a/openai/deployments/chat/chat/completions?api-version=2024-10-21"
        )
        assert headers["api-key"] == emu.api_key


def test_custom_endpoint_false_is_strict_at_construction() -> None:
    with pytest.raises(ConfigError, match="set custom_endpoint=True") as caught:
        _dropin(endpoint="https://gw.azure-api.net", api_key="k", custom_endpoint=False)
    assert caught.value.setting == "custom_endpoint"


def test_the_openai_sdk_base_url_names_the_deployment(emu: Emulator) -> None:
    settings = _dropin(base_url=f"{emu.endpoint}/openai/deployments/mini/", api_key=emu.api_key)
    assert settings.endpoint.base == emu.endpoint
    assert settings.deployment == "mini" and settings.sources["deployment"] == "argument base_url"
    assert Client(settings).chat(_HI).message.text
    assert emu.requests[-1].deployment == "mini"
    with pytest.raises(ConfigError, match="names deployment 'mini' but deployment is 'chat'"):
        _dropin(base_url=f"{emu.endpoint}/openai/deployments/mini", deployment="chat", api_key="k")
    with pytest.raises(ConfigError, match="both name the endpoint"):
        _dropin(base_url=emu.endpoint, endpoint=emu.endpoint, api_key="k")


def test_error_texts_use_the_callers_argument_names(emu: Emulator) -> None:
    names = {
        "endpoint": "azure_endpoint",
        "api='chat'": "use_responses_api=False",
        "strict": "strict_params",
    }
    settings = _dropin(endpoint="foo", api_key="k", names=names)
    with pytest.raises(ConfigError, match="azure_endpoint 'foo' is not a URL") as caught:
        Client(settings).chat(_HI, model="chat")
    assert caught.value.setting == "azure_endpoint"
    old = _dropin(
        endpoint=emu.endpoint, api_key="k", api="responses", api_version="2024-10-21", names=names
    )
    with pytest.raises(ConfigError, match="use_responses_api=False") as caught:
        Client(old).chat(_HI, model="chat")
    assert "api='chat'" not in str(caught.value)
    # a call's own refusal too: strict mode names the caller's strict argument
    reasoner = Client(
        _dropin(
            endpoint=emu.endpoint,
            api_key=emu.api_key,
            deployment="chat",
            model="o4-mini",
            strict=True,
            names=names,
        )
    )
    with pytest.raises(ConfigError, match="strict_params=False") as caught:
        reasoner.chat(ChatRequest(messages=_HI.messages, temperature=0.5))
    assert "strict=False" not in str(caught.value) and emu.requests == []


# --- credentials ---------------------------------------------------------------------------------


def test_openai_api_key_alone_is_refused_and_the_error_says_so(emu: Emulator) -> None:
    env = {"OPENAI_API_KEY": "sk-openai-SECRET-1"}
    with pytest.raises(ConfigError) as caught:
        Client(endpoint=emu.endpoint, env=env, config_file="")
    text = str(caught.value)
    assert "OPENAI_API_KEY is set but not read" in text and "AZURE_OPENAI_API_KEY" in text
    assert "api_key=" in text and "sk-openai-SECRET-1" not in text
    assert caught.value.setting == "api_key"
    # without OPENAI_API_KEY the message does not mention it
    with pytest.raises(ConfigError) as plain:
        Client(endpoint=emu.endpoint, env={}, config_file="")
    assert "OPENAI_API_KEY" not in str(plain.value).replace("AZURE_OPENAI_API_KEY", "")


def test_dropin_defers_missing_credentials_where_the_originals_construct(emu: Emulator) -> None:
    # langchain-openai constructs with OPENAI_API_KEY set (it falls back to it)
    settings = Settings.build(
        endpoint=emu.endpoint,
        deployment="chat",
        env={"OPENAI_API_KEY": "sk-x"},
        config_file="",
        dropin=True,
    )
    assert settings.auth.mode == "none"
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is set but not read"):
        Client(settings).chat(_HI)
    # ... and without any key it refuses at construction, as langchain-openai does
    with pytest.raises(ConfigError, match="no credentials"):
        _dropin(endpoint=emu.endpoint)
    # llama-index checks the key only when it calls
    lazy = _dropin(endpoint=emu.endpoint, deployment="chat", defer_credentials=True)
    with pytest.raises(ConfigError, match="no credentials") as caught:
        Client(lazy).chat(_HI)
    assert caught.value.setting == "api_key" and emu.requests == []


@pytest.mark.parametrize("prefix", ["Bearer ", "bearer  "])
def test_a_bearer_prefixed_token_is_sent_once(emu: Emulator, prefix: str) -> None:
    token = emu.issue_token()
    client = Client(
        endpoint=emu.endpoint, azure_ad_token=prefix + token, deployment="chat", **_NONE
    )
    assert client.settings.auth.token == SecretStr(token)
    assert client.chat(_HI).message.text
    assert emu.requests[-1].status == 200
    env = Settings.build(
        endpoint=emu.endpoint, env={"AZURE_OPENAI_AD_TOKEN": prefix + token}, config_file=""
    )
    assert env.auth.token == SecretStr(token)
    with pytest.raises(ConfigError, match="only the word 'Bearer'"):
        Client(endpoint=emu.endpoint, azure_ad_token="Bearer  ", **_NONE)


def test_found_holds_what_the_file_or_environment_gave(tmp_path: Any) -> None:
    env = {
        "AZURE_OPENAI_ENDPOINT": "https://endpoint.com/",
        "AZURE_OPENAI_API_KEY": "api_key",
        "AZURE_OPENAI_AD_TOKEN": "token",
        "OPENAI_API_VERSION": "yyyy-mm-dd",
        "AZURE_OPENAI_DEPLOYMENT": "chat",
    }
    s = Settings.build(env=env, config_file="", dropin=True)
    assert dict(s.found) == {
        "endpoint": "https://endpoint.com/",
        "api_version": "yyyy-mm-dd",
        "deployment": "chat",
        "api_key": SecretStr("api_key"),
        "azure_ad_token": SecretStr("token"),
    }
    assert s.auth.mode == "token"  # Entra wins over the key at one level, as before
    # arguments are not "found"; a dated version a Responses client ignores is not either
    s = Settings.build(
        endpoint="https://x.openai.azure.com",
        api_key="k",
        api="responses",
        env={"OPENAI_API_VERSION": "2024-10-21"},
        config_file="",
        dropin=True,
    )
    assert dict(s.found) == {} and s.api_version.value == "v1"
    # a URL is shown without what could hold a secret
    s = Settings.build(
        env={
            "AZURE_OPENAI_ENDPOINT": "https://u:pw@gw.example.com/x?k=1",
            "AZURE_OPENAI_API_KEY": "k",
        },
        config_file="",
        dropin=True,
    )
    assert s.found["endpoint"] == "https://gw.example.com/x"
    assert "pw" not in repr(s.deferred) and "k=1" not in repr(s.deferred)


# --- deployments ----------------------------------------------------------------------------------


def test_deployment_map_then_the_default_then_pass_through(emu: Emulator) -> None:
    mapped = Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        deployment="chat",
        deployment_map={"gpt-4o-mini": "mini"},
        **_NONE,
    )
    mapped.chat(_HI, model="gpt-4o-mini")
    mapped.chat(_HI, model="gpt-4.1")  # unmapped: the default deployment (Amplifier's order)
    assert [r.deployment for r in emu.requests] == ["mini", "chat"]
    assert "is not in deployment_map" in mapped.resolve("gpt-4.1").rule
    # without a map, a per-call name is a deployment name
    plain = Client(endpoint=emu.endpoint, api_key=emu.api_key, deployment="chat", **_NONE)
    plain.chat(_HI, model="mini")
    assert emu.requests[-1].deployment == "mini"
    # the constructor's "model stands for the deployment" goes through the map, as a call does
    assert mapped.settings.deployment_for("gpt-4o-mini") == "mini"
    assert mapped.settings.deployment_for("other") == "other"


def test_secret_header_names() -> None:
    for name in (
        "Ocp-Apim-Subscription-Key",
        "api-key",
        "X-Api-Key",
        "Authorization",
        "Cookie",
        "x-ms-token",
        "x-client-secret",
        "Proxy-Authorization",
    ):
        assert secret_header(name), name
    for name in ("x-team", "User-Agent", "x-ms-useragent", "traceparent"):
        assert not secret_header(name), name

"""The LangChain classes construct with what langchain-openai's construct with (issue 17, the
constructor and configuration rows of langchain-openai's own Azure tests): placeholder, gateway
and custom hosts (``custom_endpoint``, default auto), the ``base_url=".../openai/deployments/<d>"``
form, any ``api_version`` string (checked at the first call, typed, before sending); fields show
what the environment gave; credential-bearing ``default_headers`` are secrets; ``scope=`` and a
call's ``max_retries=``/``timeout=`` are arguments, never body parameters; a ``Bearer`` token is
sent once; ``model=`` resolves through ``deployment_map`` in the constructor as per call.

Against the emulator over loopback; a gateway host goes through a user httpx client whose
transport forwards to the emulator's socket."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import httpx
import pytest
from langchain_core.load import dumpd, dumps, load
from langchain_core.runnables import ConfigurableField
from pydantic import SecretStr

from azoai.errors import ConfigError, RateLimitError
from azoai_emulator import Emulator, Fault
from langchain_azoai import AzureChatOpenAI, AzureOpenAIEmbeddings

SECRET = "apim-SUB-KEY-5be1f0"


class Forward(httpx.BaseTransport):
    """A user's transport taking every request, whatever host its URL names, to the emulator's
    loopback socket; records the URL and headers as azoai sent them."""

    def __init__(self, emu: Emulator) -> None:
        self.target = httpx.URL(emu.endpoint)
        self.inner = httpx.HTTPTransport()
        self.seen: list[tuple[str, dict[str, str]]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((str(request.url), dict(request.headers)))
        url = request.url.copy_with(scheme="http", host=self.target.host, port=self.target.port)
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"host"]
        return self.inner.handle_request(
            httpx.Request(
                request.method,
                url,
                headers=headers,
                content=request.read(),
                extensions=request.extensions,
            )
        )


def _bodies(emu: Emulator) -> list[dict[str, Any]]:
    return [r.body for r in emu.requests if isinstance(r.body, dict)]


# --- hosts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["my-base-url", "foo", "endpoint", "your_endpoint"])
def test_a_placeholder_endpoint_constructs_and_the_first_call_names_azure_endpoint(
    endpoint: str,
) -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=endpoint,
        api_key=SecretStr("test"),
        azure_deployment="35-turbo-dev",
        api_version="2023-05-15",
        model="gpt-35-turbo",
    )
    assert (llm.azure_endpoint, llm.deployment_name) == (endpoint, "35-turbo-dev")
    assert llm.openai_api_version == "2023-05-15"
    with pytest.raises(ConfigError, match=f"azure_endpoint '{endpoint}' is not a URL") as caught:
        llm.invoke("hi")
    assert caught.value.setting == "azure_endpoint"
    assert "custom_endpoint" not in str(caught.value)
    emb = AzureOpenAIEmbeddings(azure_endpoint=endpoint, api_key="k", api_version="version")
    with pytest.raises(ConfigError, match="azure_endpoint"):
        emb.embed_query("x")


@pytest.mark.parametrize("host", ["gw.azure-api.net", "test.azure.com", "ai.contoso.com"])
def test_gateway_and_custom_hosts_work_as_in_langchain_openai(emu: Emulator, host: str) -> None:
    forward = Forward(emu)
    llm = AzureChatOpenAI(
        azure_endpoint=f"https://{host}",
        api_key=emu.api_key,
        azure_deployment="chat",
        api_version="2024-10-21",
        http_client=httpx.Client(transport=forward),
    )
    assert llm.invoke("Say 'hi'").text
    url, headers = forward.seen[-1]
    assert url == f"https://{host}/openai/deployments/chat/chat/completions?api-version=2024-10-21"
    assert headers["api-key"] == emu.api_key
    assert llm.settings.sources["custom_endpoint"].startswith("auto")
    emb = AzureOpenAIEmbeddings(
        azure_endpoint=f"https://{host}",
        api_key=emu.api_key,
        azure_deployment="embed",
        http_client=httpx.Client(transport=Forward(emu)),
    )
    assert len(emb.embed_query("x")) > 0


def test_custom_endpoint_false_keeps_to_azure_hosts(emu: Emulator) -> None:
    with pytest.raises(ConfigError, match="set custom_endpoint=True") as caught:
        AzureChatOpenAI(
            azure_endpoint="https://gw.azure-api.net", api_key="k", custom_endpoint=False
        )
    assert caught.value.setting == "custom_endpoint"
    with pytest.raises(ConfigError, match="custom_endpoint=True"):
        AzureOpenAIEmbeddings(
            azure_endpoint="https://gw.example.com", api_key="k", custom_endpoint=False
        )
    # loopback and Azure hosts stay fine
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        custom_endpoint=False,
    )
    assert llm.invoke("Say 'hi'").text


def test_plain_http_to_a_remote_host_is_refused_at_the_first_call(emu: Emulator) -> None:
    forward = Forward(emu)
    llm = AzureChatOpenAI(
        azure_endpoint="http://gw.example.com",
        api_key=emu.api_key,
        azure_deployment="chat",
        http_client=httpx.Client(transport=forward),
    )
    with pytest.raises(ConfigError, match="http:// on a non-loopback host"):
        llm.invoke("hi")
    with pytest.raises(ConfigError, match="http:// on a non-loopback host"):
        list(llm.stream("hi"))
    assert forward.seen == [] and emu.requests == []


def test_the_base_url_form_names_the_deployment(emu: Emulator) -> None:
    for given in (
        {"base_url": f"{emu.endpoint}/openai/deployments/chat-mini"},
        {"openai_api_base": f"{emu.endpoint}/openai/deployments/chat-mini/"},
    ):
        llm = AzureChatOpenAI(api_key=emu.api_key, api_version="2024-10-21", **given)
        assert llm.settings.deployment == "chat-mini"
        assert llm.invoke("Say 'hi'").text
        assert emu.requests[-1].path == "/openai/deployments/chat-mini/chat/completions"
    with pytest.raises(
        ConfigError, match="base_url names deployment 'chat-mini' but azure_deployment"
    ):
        AzureChatOpenAI(
            base_url=f"{emu.endpoint}/openai/deployments/chat-mini",
            azure_deployment="chat",
            api_key="k",
        )
    with pytest.raises(ConfigError, match="both name the endpoint"):
        AzureChatOpenAI(base_url=emu.endpoint, azure_endpoint=emu.endpoint, api_key="k")


# --- api_version -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["version", "foo", "yyyy-mm-dd"])
def test_any_api_version_string_constructs_and_the_first_call_refuses(
    emu: Emulator, version: str
) -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        api_version=version,
    )
    assert llm.openai_api_version == version
    with pytest.raises(ConfigError, match=f"api_version '{version}'") as caught:
        llm.invoke("hi")
    assert caught.value.setting == "api_version"
    assert emu.requests == []


def test_responses_on_an_old_version_constructs_and_refuses_at_the_first_call(
    emu: Emulator,
) -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        model="gpt-5.5",
        api_version="2023-05-15",
        use_responses_api=True,
    )
    assert llm.profile  # constructed, as langchain-openai's is
    with pytest.raises(ConfigError, match="2025-03-01-preview") as caught:
        llm.invoke("hi")
    assert "use_responses_api=False" in str(caught.value)
    assert emu.requests == []


# --- fields from the environment ---------------------------------------------------------------


def test_fields_show_what_the_environment_gave(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AZURE_OPENAI_API_KEY": "api_key",
        "AZURE_OPENAI_ENDPOINT": "https://endpoint.com",
        "AZURE_OPENAI_AD_TOKEN": "token",
        "OPENAI_ORG_ID": "org_id",
        "OPENAI_API_VERSION": "yyyy-mm-dd",
        "OPENAI_API_TYPE": "type",
    }.items():
        monkeypatch.setenv(name, value)
    for cls in (AzureChatOpenAI, AzureOpenAIEmbeddings):
        model = cls()
        assert isinstance(model.openai_api_key, SecretStr)
        assert isinstance(model.azure_ad_token, SecretStr)
        assert model.openai_api_key.get_secret_value() == "api_key"
        assert model.azure_ad_token.get_secret_value() == "token"
        assert model.azure_endpoint == "https://endpoint.com"
        assert model.openai_api_version == "yyyy-mm-dd"
        assert (model.openai_organization, model.openai_api_type) == ("org_id", "type")
        assert "openai_api_key=SecretStr('**********')" in repr(model)


def test_fields_from_the_environment_stay_the_environments(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emu.endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", emu.api_key)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "chat")
    llm = AzureChatOpenAI(temperature=0)
    assert (llm.azure_endpoint, llm.openai_api_version, llm.deployment_name) == (
        emu.endpoint,
        "2024-10-21",
        "chat",
    )
    assert llm.settings.sources["api_version"] == "env OPENAI_API_VERSION"
    # LangChain's configurable_fields rebuilds the model from its fields on every configured
    # call: the filled values are not taken for arguments, the client is shared
    configured = llm.configurable_fields(temperature=ConfigurableField(id="t"))
    assert configured.invoke("Say 'one'", config={"configurable": {"t": 0.5}}).text
    assert emu.requests[-1].url.endswith("api-version=2024-10-21")
    view = configured._prepare({"configurable": {"t": 0.5}})[0]  # type: ignore[attr-defined]
    assert view.client is llm.client
    # a Responses model ignores a dated version its API lacks; the field shows none
    responses = AzureChatOpenAI(use_responses_api=True)
    assert responses.openai_api_version is None
    copied = responses.model_copy(update={"azure_deployment": "chat-mini"})
    assert copied.invoke("Say 'two'").text
    assert emu.requests[-1].path == "/openai/v1/responses"
    assert copied.settings.sources["api_key"] == "env AZURE_OPENAI_API_KEY"


# --- credentials -------------------------------------------------------------------------------


def test_openai_api_key_alone_is_refused_by_design_and_the_error_says_so(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-SECRET-42")
    llm = AzureChatOpenAI(azure_endpoint=emu.endpoint, azure_deployment="chat")  # as there
    with pytest.raises(ConfigError) as caught:
        llm.invoke("hi")
    text = str(caught.value)
    assert "OPENAI_API_KEY is set but not read" in text
    assert "api_key=" in text and "AZURE_OPENAI_API_KEY" in text
    assert "sk-openai-SECRET-42" not in text and emu.requests == []
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="no credentials"):  # langchain-openai raises here too
        AzureChatOpenAI(azure_endpoint=emu.endpoint, azure_deployment="chat")


def test_a_bearer_prefixed_token_is_sent_once(emu: Emulator) -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        azure_ad_token=f"Bearer {emu.issue_token()}",
        azure_deployment="chat",
    )
    assert llm.invoke("Say 'hi'").text
    assert emu.requests[-1].status == 200


def test_scope_is_an_argument(emu: Emulator) -> None:
    asked: list[tuple[str, ...]] = []

    class Cred:
        def get_token(self, *scopes: str, **kw: Any) -> Any:
            from azure.core.credentials import AccessToken

            asked.append(scopes)
            return AccessToken(emu.issue_token(), int(time.time()) + 3600)

    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        credential=Cred(),
        azure_deployment="chat",
        scope="https://cognitiveservices.azure.com/custom/.default",
    )
    assert llm.model_kwargs == {}
    assert llm.invoke("Say 'hi'").text
    assert asked == [("https://cognitiveservices.azure.com/custom/.default",)]
    assert "scope" not in _bodies(emu)[-1]
    emb = AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint,
        credential=Cred(),
        azure_deployment="embed",
        scope="api://x/.default",
    )
    assert emb.settings.auth.scope == "api://x/.default" and emb.model_kwargs == {}


def test_max_retries_and_timeout_per_call_are_call_options(
    emu: Emulator, llm: AzureChatOpenAI
) -> None:
    emu.inject("chat", Fault.rate_limit(retry_after_ms=1, count=1))
    with pytest.raises(RateLimitError):
        llm.invoke("Say 'hi'", max_retries=0)
    assert len(emu.requests) == 1 and "max_retries" not in _bodies(emu)[0]
    emu.inject("chat", Fault.rate_limit(retry_after_ms=1, count=1))
    assert llm.invoke("Say 'hi'", max_retries=1, timeout=30).text  # retried once, then answered
    assert [r.status for r in emu.requests[1:]] == [429, 200]
    assert all("timeout" not in b and "max_retries" not in b for b in _bodies(emu))
    assert list(llm.stream("Say 'hi'", max_retries=0, timeout=30))


# --- secrets in default_headers ----------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:The function `load` is in beta")
def test_credential_headers_are_secrets(
    emu: Emulator, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    forward = Forward(emu)
    headers = {"Ocp-Apim-Subscription-Key": SECRET, "x-team": "search"}
    llm = AzureChatOpenAI(
        azure_endpoint="https://gw.azure-api.net",
        api_key=emu.api_key,
        azure_deployment="chat",
        default_headers=headers,
        http_client=httpx.Client(transport=forward),
    )
    emb = AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="embed",
        default_headers=headers,
    )
    with caplog.at_level(logging.DEBUG):
        assert llm.invoke("Say 'hi'").text
        assert emb.embed_query("x")
    assert forward.seen[-1][1]["ocp-apim-subscription-key"] == SECRET  # sent as given
    assert llm.default_headers == headers  # the attribute is the user's
    shown = [
        repr(llm),
        str(llm),
        repr(emb),
        json.dumps(dumpd(llm)),
        dumps(llm),
        json.dumps(llm.model_dump(), default=str),
        llm.model_dump_json(),
        emb.model_dump_json(),
        caplog.text,
    ]
    for text in shown:
        assert SECRET not in text
    kwargs = dumpd(llm)["kwargs"]
    assert kwargs["default_headers"] == {"lc": 1, "type": "secret", "id": ["AZOAI_DEFAULT_HEADERS"]}
    # load() gets them back from secrets_map or the environment variable (JSON), as api_key
    # comes back from AZURE_OPENAI_API_KEY; without either, there are none
    restore: dict[str, Any] = {
        "allowed_objects": [AzureChatOpenAI],
        "valid_namespaces": ["langchain_azoai"],
    }
    key = {"AZURE_OPENAI_API_KEY": emu.api_key}
    back = load(dumpd(llm), secrets_map={**key, "AZOAI_DEFAULT_HEADERS": headers}, **restore)
    assert back.default_headers == headers
    monkeypatch.setenv("AZOAI_DEFAULT_HEADERS", json.dumps(headers))
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", emu.api_key)
    assert load(dumpd(llm), secrets_from_env=True, **restore).default_headers == headers
    monkeypatch.delenv("AZOAI_DEFAULT_HEADERS")
    assert load(dumpd(llm), secrets_map=key, **restore).default_headers is None
    # headers without a credential are plain
    plain = AzureChatOpenAI(
        azure_endpoint=emu.endpoint, api_key="k", default_headers={"x-team": "a"}
    )
    assert dumpd(plain)["kwargs"]["default_headers"] == {"x-team": "a"}


# --- deployments ---------------------------------------------------------------------------------


def test_model_resolves_through_deployment_map_in_the_constructor_as_per_call(
    emu: Emulator,
) -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        model="gpt-4o-mini",
        deployment_map={"gpt-4o-mini": "chat-mini"},
    )
    assert llm.settings.deployment == "chat-mini"
    llm.invoke("Say 'one'")
    llm.invoke("Say 'two'", model="gpt-4o-mini")
    assert [r.deployment for r in emu.requests] == ["chat-mini", "chat-mini"]
    # an unmapped model name per call goes to the default deployment (Amplifier's order)
    llm.invoke("Say 'three'", model="gpt-4.1")
    assert emu.requests[-1].deployment == "chat-mini"


def test_strict_mode_is_named_as_this_class_sets_it(emu: Emulator, tmp_path: Any) -> None:
    """AzureChatOpenAI has no strict argument (azoai.toml sets it): the fix says so."""
    cfg = tmp_path / "azoai.toml"
    cfg.write_text("strict = true\n")
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="reasoner",
        model="o4-mini",
        temperature=0.5,
        config_file=str(cfg),
    )
    with pytest.raises(ConfigError, match=r"strict = false in azoai\.toml") as caught:
        llm.invoke("hi")
    assert "strict=False" not in str(caught.value) and emu.requests == []

"""Constructor arguments: langchain-openai's names and aliases reach the core's settings; the
core's own options are added; errors surface with the core's messages, at construction where
langchain-openai raises there, else at the first call."""

from __future__ import annotations

import warnings
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from azoai import ConfigError
from azoai.config.settings import Settings
from langchain_azoai import AzureChatOpenAI, AzureOpenAIEmbeddings

ENDPOINT = "https://test.openai.azure.com"
BASE = {"azure_endpoint": ENDPOINT, "api_key": "sk-test-key"}


def chat(**kw: Any) -> AzureChatOpenAI:
    return AzureChatOpenAI(**{**BASE, **kw})


@pytest.mark.parametrize(
    ("kwargs", "attr", "expected"),
    [
        ({"azure_deployment": "d1"}, "deployment_name", "d1"),
        ({"deployment_name": "d1"}, "deployment_name", "d1"),
        ({"api_version": "2024-10-21"}, "openai_api_version", "2024-10-21"),
        ({"openai_api_version": "2024-10-21"}, "openai_api_version", "2024-10-21"),
        ({"model": "gpt-4o"}, "model_name", "gpt-4o"),
        ({"model_name": "gpt-4o"}, "model_name", "gpt-4o"),
        ({"max_tokens": 7}, "max_tokens", 7),
        ({"max_completion_tokens": 7}, "max_tokens", 7),
        ({"timeout": 12.5}, "request_timeout", 12.5),
        ({"request_timeout": 12.5}, "request_timeout", 12.5),
        ({"stop": ["x"]}, "stop", ["x"]),
        ({"stop_sequences": ["x"]}, "stop", ["x"]),
    ],
)
def test_langchain_openai_names_and_aliases(
    kwargs: dict[str, Any], attr: str, expected: Any
) -> None:
    assert getattr(chat(**kwargs), attr) == expected


def test_arguments_reach_the_core_settings() -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=ENDPOINT,
        openai_api_key="sk-secret",
        azure_deployment="prod-4o",
        openai_api_version="2024-10-21",
        model="gpt-4o",
        model_version="2024-08-06",
        max_retries=5,
        timeout=(3.0, 30.0),
        default_headers={"x-team": "search"},
    )
    s = llm.settings
    assert isinstance(s, Settings)
    assert s.endpoint.base == ENDPOINT
    assert s.deployment == "prod-4o"
    assert s.model == "gpt-4o"
    assert s.model_version == "2024-08-06"
    assert s.api_version.value == "2024-10-21"
    assert s.route == "deployments"
    assert s.auth.mode == "api_key"
    assert s.auth.api_key is not None and s.auth.api_key.get_secret_value() == "sk-secret"
    assert s.retry.max_retries == 5
    assert (s.timeout.connect, s.timeout.read) == (3.0, 30.0)
    assert dict(s.default_headers) == {"x-team": "search"}
    assert s.sources["api_key"] == "argument"


def test_httpx_timeout_maps_to_connect_and_read() -> None:
    s = chat(timeout=httpx.Timeout(40.0, connect=4.0)).settings
    assert (s.timeout.connect, s.timeout.read) == (4.0, 40.0)


def test_environment_is_read_by_the_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", ENDPOINT)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "env-deployment")
    llm = AzureChatOpenAI()
    s = llm.settings
    assert s.endpoint.base == ENDPOINT
    assert s.deployment == "env-deployment"
    assert s.api_version.value == "2024-10-21"
    assert s.sources["api_key"] == "env AZURE_OPENAI_API_KEY"
    assert s.sources["api_version"] == "env OPENAI_API_VERSION"
    # Fields left unset show what the environment gave, as langchain-openai's do; where each
    # value came from is on .settings.
    assert llm.openai_api_key == SecretStr("sk-env")
    assert (llm.azure_endpoint, llm.openai_api_version) == (ENDPOINT, "2024-10-21")
    assert llm.deployment_name == "env-deployment"


def test_arguments_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "env-deployment")
    assert chat(azure_deployment="arg-deployment").settings.deployment == "arg-deployment"


def test_model_doubles_as_deployment_when_none_is_configured() -> None:
    llm = chat(model="gpt-4o-mini")
    assert llm.settings.deployment == "gpt-4o-mini"
    assert llm.settings.model == "gpt-4o-mini"


def test_config_errors_surface_at_construction_with_the_core_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    # where langchain-openai raises at construction (no endpoint, no credentials), so does this,
    # naming this class's arguments
    with pytest.raises(ConfigError, match="no endpoint: pass azure_endpoint=") as no_endpoint:
        AzureChatOpenAI(api_key="k", azure_deployment="d")
    assert no_endpoint.value.setting == "azure_endpoint"
    with pytest.raises(ConfigError, match="no credentials"):
        AzureChatOpenAI(azure_endpoint=ENDPOINT, azure_deployment="d")
    with pytest.raises(ConfigError):
        AzureOpenAIEmbeddings(api_key="k", azure_deployment="e")
    # an api_version that is not one constructs, as there, and fails at the first call
    llm = chat(api_version="not-a-version", azure_deployment="d")
    with pytest.raises(ConfigError, match="api_version 'not-a-version'") as bad:
        llm.invoke("hi")
    assert bad.value.setting == "api_version"


def test_unknown_arguments_move_to_model_kwargs_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="frobnicate"):
        llm = chat(azure_deployment="d", frobnicate=3)
    assert llm.model_kwargs == {"frobnicate": 3}
    request, _ = llm._request([], None, {})
    assert request.extra_body == {"frobnicate": 3}


def test_model_kwargs_and_extra_body_become_the_request_extra_body() -> None:
    llm = chat(azure_deployment="d", model_kwargs={"service_tier": "auto"}, extra_body={"a": 1})
    request, _ = llm._request([], None, {"extra_body": {"b": 2}})
    assert request.extra_body == {"service_tier": "auto", "a": 1, "b": 2}


def test_responses_api_selection() -> None:
    assert chat(azure_deployment="d").settings.api == "chat"
    assert chat(azure_deployment="d", use_responses_api=True).settings.api == "responses"
    # As in langchain-openai: a reasoning dict or response chaining selects Responses ...
    assert chat(azure_deployment="d", reasoning={"effort": "low"}).settings.api == "responses"
    assert chat(azure_deployment="d", use_previous_response_id=True).settings.api == "responses"
    # ... unless told otherwise.
    llm = chat(azure_deployment="d", reasoning={"effort": "low"}, use_responses_api=False)
    assert llm.settings.api == "chat"


def test_reasoning_dict_maps_to_effort_and_summary() -> None:
    llm = chat(azure_deployment="d", reasoning={"effort": "high", "summary": "auto"})
    request, _ = llm._request([], None, {})
    assert (request.reasoning_effort, request.reasoning_summary) == ("high", "auto")
    request, _ = llm._request([], None, {"reasoning": {"effort": "low"}})
    assert (request.reasoning_effort, request.reasoning_summary) == ("low", None)
    with pytest.raises(ValueError, match="unknown key"):
        chat(azure_deployment="d", reasoning={"effrot": "high"})


def test_reasoning_effort_alone_stays_on_chat_completions() -> None:
    llm = chat(azure_deployment="d", reasoning_effort="low")
    assert llm.settings.api == "chat"
    request, _ = llm._request([], None, {})
    assert request.reasoning_effort == "low"


def test_per_call_arguments_override_the_instance() -> None:
    llm = chat(azure_deployment="d", temperature=0.2, max_tokens=50, stop=["a"])
    request, model = llm._request(
        [], None, {"temperature": 0.9, "max_tokens": 5, "model": "other", "seed": 7}
    )
    assert (request.temperature, request.max_tokens, request.seed) == (0.9, 5, 7)
    assert request.stop == ["a"]
    assert model == "other"
    request, _ = llm._request([], ["zz"], {})
    assert request.stop == ["zz"]
    assert request.stream_usage is True
    request, _ = chat(azure_deployment="d", stream_usage=False)._request([], None, {})
    assert request.stream_usage is False


def test_prebuilt_settings_are_used_as_given() -> None:
    s = Settings.build(endpoint=ENDPOINT, api_key="k", deployment="from-settings", env={})
    llm = AzureChatOpenAI(settings=s)
    assert llm.settings is s
    with pytest.raises(ValueError, match="either settings= or connection arguments"):
        AzureChatOpenAI(settings=s, azure_deployment="other")


def test_n_below_one_or_with_streaming_is_refused() -> None:
    with pytest.raises(ValueError, match="n must be at least 1"):
        chat(azure_deployment="d", n=0)
    with pytest.raises(ValueError, match="n must be 1 when streaming"):
        chat(azure_deployment="d", n=2, streaming=True)


def test_ls_params() -> None:
    llm = chat(azure_deployment="prod-4o", temperature=0.1, max_tokens=9, stop="end")
    params = llm._get_ls_params()
    assert params["ls_provider"] == "azure"
    assert params["ls_model_name"] == "prod-4o"  # the deployment when no model is named
    assert params["ls_model_type"] == "chat"
    assert (params["ls_temperature"], params["ls_max_tokens"], params["ls_stop"]) == (
        0.1,
        9,
        ["end"],
    )
    assert llm._get_ls_params(model="chat-mini")["ls_model_name"] == "chat-mini"
    named = chat(azure_deployment="prod-4o", model="gpt-4o", model_version="2024-08-06")
    assert named._get_ls_params()["ls_model_name"] == "gpt-4o-2024-08-06"


def test_token_counting_works_with_only_a_deployment() -> None:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    llm = chat(azure_deployment="my-deployment")  # no model name: the core estimates
    assert llm.get_num_tokens("hello world, how are you") > 0
    messages = [
        SystemMessage("You are terse."),
        HumanMessage("What is the capital of France?"),
        AIMessage("", tool_calls=[{"name": "lookup", "args": {"q": "France"}, "id": "c1"}]),
    ]
    plain = llm.get_num_tokens_from_messages(messages)
    assert plain > llm.get_num_tokens("What is the capital of France?")

    def lookup(q: str) -> str:
        """Look something up."""
        return q

    assert llm.get_num_tokens_from_messages(messages, tools=[lookup]) > plain
    exact = chat(azure_deployment="my-deployment", model="gpt-4o")
    assert exact.get_num_tokens("hello world") > 0


def test_secrets_are_secret_str_and_never_in_repr() -> None:
    llm = chat(azure_deployment="d", azure_ad_token="eyJ-token")
    assert isinstance(llm.openai_api_key, SecretStr)
    assert isinstance(llm.azure_ad_token, SecretStr)
    text = repr(llm) + str(llm) + repr(llm.settings) + repr(llm.client)
    assert "sk-test-key" not in text
    assert "eyJ-token" not in text


def test_proxy_builds_http_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = chat(azure_deployment="d", openai_proxy="http://proxy.example:3128")
    client = llm.client
    assert isinstance(client._http_client, httpx.Client)
    assert isinstance(client._http_async_client, httpx.AsyncClient)
    given = httpx.Client()
    assert chat(azure_deployment="d", http_client=given).client._http_client is given


def test_compat_only_arguments_are_accepted_without_effect() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        llm = chat(azure_deployment="d", openai_api_type="azure", validate_base_url=False)
    assert llm.model_kwargs == {}


def test_bound_views_share_one_client() -> None:
    llm = chat(azure_deployment="d", model="gpt-4o")
    from pydantic import BaseModel

    class Answer(BaseModel):
        text: str

    tools = llm.bind_tools([Answer])
    structured = llm.with_structured_output(Answer)
    assert tools.bound is llm  # type: ignore[attr-defined]
    assert structured.first.bound is llm  # type: ignore[attr-defined]
    assert llm.client is llm.client


def test_embeddings_arguments() -> None:
    emb = AzureOpenAIEmbeddings(
        azure_endpoint=ENDPOINT,
        api_key="k",
        deployment="emb",
        api_version="2024-10-21",
        dimensions=256,
        chunk_size=16,
    )
    assert emb.settings.deployment == "emb"
    assert emb.settings.api_version.value == "2024-10-21"
    opts = emb._engine_options(None)
    assert (opts["dimensions"], opts["batch_size"], opts["max_input_tokens"]) == (256, 16, 8191)
    assert opts["empty"] == "error" and opts["split_long_inputs"] is True
    alias = AzureOpenAIEmbeddings(azure_endpoint=ENDPOINT, api_key="k", azure_deployment="emb")
    assert alias.deployment == "emb"
    by_model = AzureOpenAIEmbeddings(
        azure_endpoint=ENDPOINT, api_key="k", model="text-embedding-3-large"
    )
    assert by_model.settings.deployment == "text-embedding-3-large"
    with pytest.raises(ValueError, match="chunk_size"):
        AzureOpenAIEmbeddings(azure_endpoint=ENDPOINT, api_key="k", chunk_size=5000)
    with pytest.warns(UserWarning, match="user"):
        extra = AzureOpenAIEmbeddings(azure_endpoint=ENDPOINT, api_key="k", user="u-1")
    assert extra._engine_options(None)["extra_body"] == {"user": "u-1"}


def test_more_langchain_openai_arguments() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        llm = chat(
            azure_deployment="d",
            organization="org",
            disabled_params={"parallel_tool_calls": None},
            tiktoken_model_name="gpt-4o",
            stream_chunk_timeout=7.0,
        )
    assert llm.model_kwargs == {}
    assert llm.settings.timeout.stream_idle == 7.0
    with pytest.raises(ValueError, match="default_query: not supported"):
        chat(azure_deployment="d", default_query={"a": "b"})


def test_settings_are_built_on_first_use_when_init_was_skipped() -> None:
    assert AzureChatOpenAI.model_validate({**BASE, "azure_deployment": "d"}).settings is not None
    llm = AzureChatOpenAI.model_construct(
        azure_endpoint=ENDPOINT, openai_api_key=SecretStr("k"), deployment_name="d"
    )
    assert llm.settings is None  # model_construct runs neither validation nor __init__ ...
    assert llm.client.settings.deployment == "d"  # ... so the settings are built on first use
    emb = AzureOpenAIEmbeddings.model_construct(
        azure_endpoint=ENDPOINT, openai_api_key=SecretStr("k"), deployment="e"
    )
    assert emb.client.settings.deployment == "e"


def test_logit_bias_takes_token_ids() -> None:
    request, _ = chat(azure_deployment="d", logit_bias={50256: -100})._request([], None, {})
    assert request.logit_bias == {"50256": -100}

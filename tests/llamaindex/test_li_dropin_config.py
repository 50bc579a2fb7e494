"""The LlamaIndex classes construct with what llama-index's Azure classes construct with (issue
17): ``api_base`` as the openai SDK's base URL (a gateway, or ``.../openai/deployments/<d>``),
any https host, any ``api_version`` string, no key yet (llama-index checks it when it calls);
the first call refuses what does not work, typed and before sending, naming this class's
arguments (``azure_endpoint``, ``api_base``, ``strict_params``). Credential-bearing
``default_headers`` are secrets (repr, ``to_dict``/``to_json``, logs, pickles); a ``Bearer``
token is sent once.

Against the emulator over loopback; a gateway host goes through a user httpx client whose
transport forwards to the emulator's socket."""

from __future__ import annotations

import json
import logging
import pickle

import httpx
import pytest
from li_helpers import ISOLATED
from llama_index.core.llms import ChatMessage

from azoai.errors import ConfigError
from azoai_emulator import Emulator
from llamaindex_azoai import AzureOpenAI, AzureOpenAIEmbedding

SECRET = "apim-SUB-KEY-9a04c2"
HI = [ChatMessage(role="user", content="Say 'hi'")]


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


def test_api_base_naming_a_deployment_works(emu: Emulator) -> None:
    llm = AzureOpenAI(
        api_base=f"{emu.endpoint}/openai/deployments/chat-mini",
        api_key=emu.api_key,
        api_version="2024-10-21",
        **ISOLATED,
    )
    assert llm.settings.deployment == "chat-mini"
    assert llm.chat(HI).message.content
    assert emu.requests[-1].path == "/openai/deployments/chat-mini/chat/completions"
    with pytest.raises(ConfigError, match="api_base names deployment 'chat-mini' but engine"):
        AzureOpenAI(
            engine="chat",
            api_base=f"{emu.endpoint}/openai/deployments/chat-mini",
            api_key="k",
            **ISOLATED,
        )


@pytest.mark.parametrize("given", ["azure_endpoint", "api_base"])
def test_gateway_hosts_work_without_a_flag(emu: Emulator, given: str) -> None:
    forward = Forward(emu)
    llm = AzureOpenAI(
        engine="chat",
        api_key=emu.api_key,
        api_version="2024-10-21",
        http_client=httpx.Client(transport=forward),
        **{given: "https://gw.azure-api.net"},
        **ISOLATED,
    )
    assert llm.chat(HI).message.content
    url, headers = forward.seen[-1]
    assert url == (
        "https://gw.azure-api.net/openai/deployments/chat/chat/completions?api-version=2024-10-21"
    )
    assert headers["api-key"] == emu.api_key
    with pytest.raises(ConfigError, match="set custom_endpoint=True"):
        AzureOpenAI(
            engine="chat",
            api_key="k",
            custom_endpoint=False,
            **{given: "https://gw.azure-api.net"},
            **ISOLATED,
        )


def test_what_fails_only_when_called_there_fails_at_the_first_call(emu: Emulator) -> None:
    cases = [
        ({"azure_endpoint": "foo"}, "azure_endpoint 'foo' is not a URL", "azure_endpoint"),
        ({"api_base": "http://gw.example.com"}, "api_base uses http://", "api_base"),
        ({"api_version": "yyyy-mm-dd"}, "api_version 'yyyy-mm-dd'", "api_version"),
        ({"api_key": None}, "no credentials", "api_key"),
    ]
    for kw, text, setting in cases:
        args = {"engine": "chat", "azure_endpoint": emu.endpoint, "api_key": emu.api_key, **kw}
        if "api_base" in kw:
            del args["azure_endpoint"]
        llm = AzureOpenAI(**args, **ISOLATED)
        with pytest.raises(ConfigError, match=text) as caught:
            llm.chat(HI)
        assert caught.value.setting == setting
        emb_args = {k: v for k, v in args.items() if k != "engine"}
        emb = AzureOpenAIEmbedding(deployment_name="embed", **emb_args, **ISOLATED)
        with pytest.raises(ConfigError, match=text):
            emb.get_text_embedding("x")
    assert emu.requests == []


def test_openai_api_key_alone_is_refused_by_design_and_the_error_says_so(emu: Emulator) -> None:
    llm = AzureOpenAI(
        engine="chat",
        azure_endpoint=emu.endpoint,
        env={"OPENAI_API_KEY": "sk-openai-SECRET-7"},
        config_file="",
    )
    with pytest.raises(ConfigError) as caught:
        llm.complete("hi")
    text = str(caught.value)
    assert "OPENAI_API_KEY is set but not read" in text and "AZURE_OPENAI_API_KEY" in text
    assert "sk-openai-SECRET-7" not in text and emu.requests == []


def test_strict_mode_is_named_strict_params(emu: Emulator) -> None:
    llm = AzureOpenAI(
        engine="reasoner",
        model="o3-mini",
        temperature=0.5,
        strict_params=True,
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        **ISOLATED,
    )
    with pytest.raises(ConfigError, match="strict_params=False") as caught:
        llm.chat(HI)
    assert "strict=False" not in str(caught.value) and emu.requests == []


def test_a_bearer_prefixed_token_is_sent_once(emu: Emulator) -> None:
    llm = AzureOpenAI(
        engine="chat",
        azure_endpoint=emu.endpoint,
        azure_ad_token=f"Bearer {emu.issue_token()}",
        **ISOLATED,
    )
    assert llm.chat(HI).message.content
    assert emu.requests[-1].status == 200


def test_credential_headers_are_secrets(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    forward = Forward(emu)
    headers = {"Ocp-Apim-Subscription-Key": SECRET, "x-team": "search"}
    llm = AzureOpenAI(
        engine="chat",
        azure_endpoint="https://gw.azure-api.net",
        api_key=emu.api_key,
        default_headers=headers,
        http_client=httpx.Client(transport=forward),
        **ISOLATED,
    )
    emb = AzureOpenAIEmbedding(
        deployment_name="embed",
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        default_headers=headers,
        **ISOLATED,
    )
    with caplog.at_level(logging.DEBUG):
        assert llm.chat(HI).message.content
        assert emb.get_text_embedding("x")
    assert forward.seen[-1][1]["ocp-apim-subscription-key"] == SECRET  # sent as given
    assert llm.default_headers == headers
    for model in (llm, emb):
        assert model.to_dict()["default_headers"] == {"x-team": "search"}
        for text in (
            repr(model),
            str(model),
            json.dumps(model.to_dict(), default=str),
            model.to_json(),
            caplog.text,
        ):
            assert SECRET not in text
        data = pickle.dumps(model)
        assert SECRET.encode() not in data
        assert pickle.loads(data).default_headers == headers  # this process tree reads it back
    copy = pickle.loads(pickle.dumps(emb))
    assert copy.get_text_embedding("x")
    assert emu.requests[-1].headers["ocp-apim-subscription-key"] == "***"  # sent (redacted log)

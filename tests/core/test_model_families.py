"""Model families by rule (issue 16): the gpt-5.N line and its variants, model-router, gpt-oss and
common Foundry models are known by rule, not by exact name, so a new deployment costs no wasted
400 and both adapters report the right context window; a model on an api-version older than
its first is an ApiVersionError before anything is sent.

Driven through the public API (Client and both adapters) against the emulator."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest

from azoai.client import Client
from azoai.config.catalog import lookup_model
from azoai.errors import ApiVersionError
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator, EmulatorDeployment
from azoai_emulator.models import model_spec

# deployment -> its model; deployments are named freely, as on Azure.
_MODELS = {
    "agent54": "gpt-5.4",
    "agent55": "gpt-5.5",
    "luna": "gpt-5.6-luna",
    "coder": "gpt-5.3-codex",
    "chat52": "gpt-5.2-chat",
    "router": "model-router",
    "oss": "gpt-oss-120b",
    "reasoner": "o3-mini",
}
_HI = [Message("user", "hi")]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator([EmulatorDeployment(n, model=m) for n, m in _MODELS.items()]) as e:
        yield e


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AZURE_OPENAI", "OPENAI_", "AZOAI")):
            monkeypatch.delenv(name, raising=False)


def _client(emu: Emulator, deployment: str, **kw: Any) -> Client:
    return Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        deployment=deployment,
        model=_MODELS[deployment],
        env={},
        config_file="",
        **kw,
    )


# --- the rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "family", "reasoning", "window", "output"),
    [
        # Azure models table @00bb554: gpt-5.4 / gpt-5.5 1,050,000 / 128,000; -mini/-nano 400,000.
        ("gpt-5.4", "gpt-5.4", True, 1_050_000, 128_000),
        ("gpt-5.4-2026-03-05", "gpt-5.4", True, 1_050_000, 128_000),
        ("gpt-5.5", "gpt-5.5", True, 1_050_000, 128_000),
        ("gpt-5.4-mini", "gpt-5.4", True, 400_000, 128_000),
        ("gpt-5.4-nano", "gpt-5.4", True, 400_000, 128_000),
        ("gpt-5.4-pro", "gpt-5.4-pro", True, 1_050_000, 128_000),
        ("gpt-5.3-codex", "gpt-5.3-codex", True, 400_000, 128_000),
        ("gpt-5.2-codex", "gpt-5.2-codex", True, 400_000, 128_000),
        # A later minor version and a variant name not documented yet follow the rule.
        ("gpt-5.6-luna", "gpt-5.6", True, 400_000, 128_000),
        ("gpt-5.7", "gpt-5.7", True, 400_000, 128_000),
        # -chat from 5.2 on: not reasoning models (gpt-5.1-chat is Azure's documented exception).
        ("gpt-5.2-chat", "gpt-5.2-chat", False, 128_000, 16_384),
        ("gpt-5.3-chat-2026-03-03", "gpt-5.3-chat", False, 128_000, 16_384),
        ("gpt-5.1-chat", "gpt-5.1-chat", True, 128_000, 16_384),
        ("model-router", "model-router", False, 128_000, 16_384),
        ("gpt-oss-120b", "gpt-oss", True, 131_072, 131_072),
        ("gpt-oss-20b", "gpt-oss", True, 131_072, 131_072),
        ("DeepSeek-R1-0528", "deepseek-r1", False, 128_000, 32_768),
        ("MAI-DS-R1", "deepseek-r1", False, 128_000, 32_768),
        ("Llama-3.3-70B-Instruct", "llama", False, 128_000, 4_096),
        ("Meta-Llama-3.1-405B-Instruct", "llama", False, 128_000, 4_096),
        ("Mistral-Large-2411", "mistral", False, 32_768, 4_096),
        ("Phi-4", "phi", False, 16_384, 4_096),
    ],
)
def test_families_by_rule(
    name: str, family: str, reasoning: bool, window: int, output: int
) -> None:
    info = lookup_model(name)
    assert info.known and info.name == name
    assert (info.family, info.reasoning, info.context_window, info.max_output) == (
        family,
        reasoning,
        window,
        output,
    )
    # The emulator's own table, written separately, reads the name the same way.
    spec = model_spec(name)
    assert spec.known
    assert (spec.reasoning, spec.context_window, spec.max_output) == (reasoning, window, output)


def test_the_rule_leaves_documented_exceptions_and_boundaries_alone() -> None:
    assert lookup_model("gpt-5.1-codex-max").reasoning_efforts == ("low", "medium", "high", "xhigh")
    assert lookup_model("gpt-5.3-codex").reasoning_efforts == ("low", "medium", "high", "xhigh")
    assert "minimal" not in lookup_model("gpt-5.4").reasoning_efforts
    assert not lookup_model("gpt-5x").known
    assert not lookup_model("gpt-5.").known
    assert lookup_model("model-router").router and not lookup_model("gpt-4o").router


# --- no wasted 400 for the names users reported as unknown ----------------------------------------


@pytest.mark.parametrize("deployment", ["agent54", "agent55", "luna", "oss"])
def test_a_new_reasoning_deployment_costs_one_request(
    emu: Emulator, deployment: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Before the rule these names were unknown: temperature went out, Azure answered 400, the
    # client learned and retried with a warning telling the user to set model= (which they had).
    c = _client(emu, deployment)
    emu.clear_requests()
    result = c.chat(ChatRequest(messages=_HI, temperature=0.2, max_tokens=4000))
    assert result.text
    [sent] = emu.requests
    assert "temperature" not in sent.body and sent.body["max_completion_tokens"] == 4000
    assert "set model=" not in caplog.text


def test_a_new_reasoning_deployment_costs_one_request_async(emu: Emulator) -> None:
    c = _client(emu, "agent54")
    emu.clear_requests()
    result = asyncio.run(c.achat(ChatRequest(messages=_HI, temperature=0.2)))
    assert result.text
    [sent] = emu.requests
    assert "temperature" not in sent.body


def test_gpt53_codex_on_responses_takes_xhigh(emu: Emulator) -> None:
    c = _client(emu, "coder", api="responses")
    emu.clear_requests()
    assert c.chat(ChatRequest(messages=_HI, reasoning_effort="xhigh")).text
    [sent] = emu.requests
    assert sent.body["reasoning"]["effort"] == "xhigh"


def test_gpt52_chat_keeps_temperature(emu: Emulator) -> None:
    c = _client(emu, "chat52")
    emu.clear_requests()
    assert c.chat(ChatRequest(messages=_HI, temperature=0.2)).text
    [sent] = emu.requests
    assert sent.body["temperature"] == 0.2


# --- model-router: the answer names the model that answered --------------------------------------


def test_model_router_reports_the_answering_model(emu: Emulator) -> None:
    c = _client(emu, "router")
    emu.clear_requests()
    result = c.chat(ChatRequest(messages=_HI, temperature=0.2, reasoning_effort="low"))
    [sent] = emu.requests
    # Capability-conservative: the caller's temperature goes out, reasoning_effort (which the
    # router does not take) does not.
    assert sent.body["temperature"] == 0.2 and "reasoning_effort" not in sent.body
    assert result.model == "gpt-4.1-mini-2025-04-14"


def test_model_router_through_langchain_sync_and_async(emu: Emulator) -> None:
    from langchain_azoai import AzureChatOpenAI

    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="router",
        model="model-router",
    )
    assert llm.invoke("hi").response_metadata["model_name"].startswith("gpt-4.1-mini")
    msg = asyncio.run(llm.ainvoke("hi"))
    assert msg.response_metadata["model_name"].startswith("gpt-4.1-mini")
    assert llm.profile is not None and llm.profile["max_input_tokens"] == 128_000


# --- the adapters' context window comes from the catalogue ---------------------------------------


@pytest.mark.parametrize(
    ("deployment", "window"),
    [("agent54", 1_050_000), ("coder", 400_000), ("router", 128_000), ("oss", 131_072)],
)
def test_llamaindex_metadata_and_langchain_profile(
    emu: Emulator, deployment: str, window: int
) -> None:
    from langchain_azoai import AzureChatOpenAI
    from llamaindex_azoai import AzureOpenAI

    li = AzureOpenAI(
        engine=deployment,
        model=_MODELS[deployment],
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        env={},
        config_file="",
    )
    assert li.metadata.context_window == window
    lc = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment=deployment,
        model=_MODELS[deployment],
    )
    assert lc.profile is not None and lc.profile["max_input_tokens"] == window
    # A deployment named after its model is read the same way without model=.
    assert lookup_model(deployment).known is (deployment in _MODELS.values())


def test_langchain_profile_is_none_for_an_unknown_model(emu: Emulator) -> None:
    from langchain_azoai import AzureChatOpenAI

    lc = AzureChatOpenAI(azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="x")
    assert lc.profile is None


# --- a model needs a newer api-version: refused before sending -----------------------------------


@pytest.mark.parametrize(
    ("deployment", "version", "first"),
    [
        ("reasoner", "2024-10-21", "2024-12-01-preview"),
        ("reasoner", "2024-09-01-preview", "2024-12-01-preview"),
        ("agent54", "2024-10-21", "2025-04-01-preview"),
        ("agent54", "2025-03-01-preview", "2025-04-01-preview"),
    ],
)
def test_a_model_on_an_older_api_version_is_refused_before_sending(
    emu: Emulator, deployment: str, version: str, first: str
) -> None:
    c = _client(emu, deployment, api_version=version)
    emu.clear_requests()
    with pytest.raises(ApiVersionError) as exc:
        c.chat(ChatRequest(messages=_HI))
    with pytest.raises(ApiVersionError):
        asyncio.run(c.achat(ChatRequest(messages=_HI)))
    assert emu.requests == []
    err = exc.value
    assert err.setting == "api_version" and err.api_version == version
    assert first in str(err) and _MODELS[deployment] in str(err)


def test_the_first_version_and_check_api_version_false_reach_azure(emu: Emulator) -> None:
    emu.clear_requests()
    assert (
        _client(emu, "reasoner", api_version="2024-12-01-preview")
        .chat(ChatRequest(messages=_HI))
        .text
    )
    assert len(emu.requests) == 1
    # With the check off the request goes out and Azure's own answer comes back, placeholder and all.
    c = _client(emu, "reasoner", api_version="2024-10-21", check_api_version=False)
    with pytest.raises(Exception, match="enabled only for api versions 2024-12-01-preview"):
        c.chat(ChatRequest(messages=_HI))
    assert len(emu.requests) == 2


def test_the_adapters_raise_it_before_sending(emu: Emulator) -> None:
    from langchain_azoai import AzureChatOpenAI
    from llamaindex_azoai import AzureOpenAI

    emu.clear_requests()
    lc = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="reasoner",
        model="o3-mini",
        api_version="2024-10-21",
    )
    with pytest.raises(ApiVersionError, match="2024-12-01-preview"):
        lc.invoke("hi")
    with pytest.raises(ApiVersionError, match="2024-12-01-preview"):
        asyncio.run(lc.ainvoke("hi"))
    li = AzureOpenAI(
        engine="agent54",
        model="gpt-5.4",
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        api_version="2024-10-21",
        env={},
        config_file="",
    )
    with pytest.raises(ApiVersionError, match="2025-04-01-preview"):
        li.complete("hi")
    assert emu.requests == []

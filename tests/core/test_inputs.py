"""Inputs a request cannot carry are typed errors naming where they are, before anything is sent
(issue 14): a lone surrogate in a text (UTF-8 cannot encode it), ``nan``/``inf`` in a parameter
(JSON has no such numbers: ``NaN`` on the wire is invalid JSON), a value of a type JSON lacks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from azoai.client import Client
from azoai.errors import ConfigError
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator, EmulatorDeployment

LONE = "\ud800"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(
        [
            EmulatorDeployment("chat", model="gpt-4o"),
            EmulatorDeployment("embed", model="text-embedding-3-small"),
        ]
    ) as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(emu: Emulator) -> None:
    emu.reset()


def client(emu: Emulator, **kw: Any) -> Client:
    return Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        deployment="chat",
        env={},
        config_file="",
        **kw,
    )


# --- chat -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_a_lone_surrogate_in_a_message_names_the_message(emu: Emulator, api: str) -> None:
    c = client(emu, api=api)
    request = ChatRequest(
        messages=[Message("user", "fine"), Message("assistant", "ok"), Message("user", f"x{LONE}")]
    )
    with pytest.raises(ConfigError) as exc:
        c.chat(request)
    text = str(exc.value)
    assert "[2]" in text and "U+D800" in text and "lone surrogate" in text
    with pytest.raises(ConfigError):
        asyncio.run(c.achat(request))
    with pytest.raises(ConfigError):
        list(c.stream(request))
    assert emu.requests == []
    c.close()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("parameter", ["temperature", "top_p", "presence_penalty"])
def test_a_non_finite_parameter_is_refused_by_name(
    emu: Emulator, parameter: str, value: float
) -> None:
    """``temperature=nan`` went out as ``"temperature":NaN``, which is not JSON."""
    c = client(emu)
    request = ChatRequest(messages=[Message("user", "hi")], **{parameter: value})
    with pytest.raises(ConfigError) as exc:
        c.chat(request)
    assert exc.value.setting == parameter and parameter in str(exc.value)
    assert emu.requests == []
    c.close()


def test_a_non_finite_number_deep_in_extra_body_or_a_tool_schema_is_named(emu: Emulator) -> None:
    c = client(emu)
    with pytest.raises(ConfigError) as exc:
        c.chat(
            ChatRequest(
                messages=[Message("user", "hi")],
                extra_body={"custom": {"weights": [1.0, float("nan")]}},
            )
        )
    assert exc.value.setting == "custom" and "custom.weights[1]" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        c.chat(ChatRequest(messages=[Message("user", "hi")], extra_body={"tags": {"a", "b"}}))
    assert "tags" in str(exc.value) and "set" in str(exc.value)
    assert emu.requests == []
    c.close()


def test_langchain_chat_refuses_a_lone_surrogate_and_nan(emu: Emulator) -> None:
    from langchain_azoai import AzureChatOpenAI

    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="chat", config_file=""
    )
    with pytest.raises(ConfigError, match="lone surrogate"):
        llm.invoke(f"hello {LONE}")
    with pytest.raises(ConfigError) as exc:
        llm.bind(temperature=float("nan")).invoke("hello")
    assert exc.value.setting == "temperature"
    assert emu.requests == []
    llm.close()


# --- embeddings -----------------------------------------------------------------------------------


def test_embeddings_name_every_input_with_a_lone_surrogate(emu: Emulator) -> None:
    c = client(emu)
    texts = ["one", f"two {LONE}", "three", "\udfff four"]
    with pytest.raises(ConfigError) as exc:
        c.embed(texts, model="embed")
    assert exc.value.setting == "texts" and "index 1, 3" in str(exc.value)
    with pytest.raises(ConfigError, match="index 1, 3"):
        asyncio.run(c.aembed(texts, model="embed"))
    assert emu.requests == []
    # the rest embed fine once the bad characters are replaced
    fixed = [t.encode("utf-8", "replace").decode("utf-8") for t in texts]
    assert len(c.embed(fixed, model="embed").vectors) == 4
    c.close()


def test_embeddings_refuse_nan_in_extra_body(emu: Emulator) -> None:
    c = client(emu)
    with pytest.raises(ConfigError) as exc:
        c.embed(["one"], model="embed", extra_body={"weight": float("nan")})
    assert exc.value.setting == "weight"
    assert emu.requests == []
    c.close()


def test_adapter_embeddings_name_the_input_with_a_lone_surrogate(emu: Emulator) -> None:
    from langchain_azoai import AzureOpenAIEmbeddings
    from llamaindex_azoai import AzureOpenAIEmbedding

    texts = ["one", "two", f"three {LONE}"]
    lc = AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="embed", config_file=""
    )
    with pytest.raises(ConfigError, match="index 2"):
        lc.embed_documents(texts)
    with pytest.raises(ConfigError, match="index 0"):
        lc.embed_query(texts[2])
    li = AzureOpenAIEmbedding(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="embed", config_file=""
    )
    with pytest.raises(ConfigError, match="index 2"):
        li.get_text_embedding_batch(texts)
    assert emu.requests == []
    lc.close()


def test_counting_tokens_of_a_text_with_a_lone_surrogate_does_not_raise(emu: Emulator) -> None:
    c = client(emu)
    assert c.count_tokens(f"abc{LONE}") > 0
    c.close()

"""LangChain: the completion ``AzureOpenAI`` (a ``BaseLLM``, langchain-openai's constructor) and
``AzureImageGenerationTool`` (a ``BaseTool`` with ``content_and_artifact``), against the
emulator over loopback, including a LangChain agent that calls the image tool."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import ToolMessage
from PIL import Image

from azoai import errors as E
from azoai_emulator import Emulator, EmulatorDeployment
from langchain_azoai import AzureChatOpenAI, AzureImageGenerationTool, AzureOpenAI

DEPLOYMENTS = (
    EmulatorDeployment("instruct", model="gpt-35-turbo-instruct"),
    EmulatorDeployment("img", model="gpt-image-1"),
    EmulatorDeployment("dall-e-3", model="dall-e-3"),
    EmulatorDeployment("chat", model="gpt-4o"),
)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(deployments=DEPLOYMENTS) as e:
        yield e


@pytest.fixture
def llm(emu: Emulator) -> AzureOpenAI:
    return AzureOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="instruct",
        model="gpt-35-turbo-instruct",
        max_tokens=20,
    )


@pytest.fixture
def tool(emu: Emulator) -> AzureImageGenerationTool:
    return AzureImageGenerationTool(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="img",
        model="gpt-image-1",
    )


def picture(block: dict[str, Any]) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(block["base64"])))
    image.load()
    return image


# --- the completion LLM -------------------------------------------------------------------------


def test_invoke_sends_langchain_openais_defaults(emu: Emulator, llm: AzureOpenAI) -> None:
    assert llm.invoke("Say 'hello there'") == "hello there"
    sent = emu.requests[-1]
    assert sent.url == "/openai/deployments/instruct/completions?api-version=2024-10-21"
    assert sent.body == {
        "prompt": ["Say 'hello there'"],
        "temperature": 0.7,
        "top_p": 1,
        "frequency_penalty": 0,
        "presence_penalty": 0,
        "n": 1,
        "max_tokens": 20,
    }


def test_generate_n_per_prompt_in_batches(emu: Emulator, llm: AzureOpenAI) -> None:
    batched = llm.model_copy(update={"batch_size": 2})
    result = batched.generate(["Say 'a'", "Say 'b'", "Say 'c'"], n=2, stop=["\n"])
    assert [[g.text for g in gens] for gens in result.generations] == [
        ["a", "a"],
        ["b", "b"],
        ["c", "c"],
    ]
    assert result.generations[0][0].generation_info == {"finish_reason": "stop", "logprobs": None}
    assert result.llm_output is not None
    assert result.llm_output["token_usage"]["completion_tokens"] == 6
    assert [r.body["prompt"] for r in emu.requests] == [["Say 'a'", "Say 'b'"], ["Say 'c'"]]
    assert all(r.body["stop"] == ["\n"] for r in emu.requests)


def test_model_kwargs_and_logprobs(emu: Emulator, emu_llm: AzureOpenAI) -> None:
    result = emu_llm.generate(["Say 'x y'"])
    info = result.generations[0][0].generation_info
    assert info is not None and info["logprobs"]["tokens"] == ["x", " y"]
    assert emu.requests[-1].body["echo"] is False and emu.requests[-1].body["logprobs"] == 1


@pytest.fixture
def emu_llm(llm: AzureOpenAI) -> AzureOpenAI:
    return llm.model_copy(update={"logprobs": 1, "model_kwargs": {"echo": False}})


def test_stream_and_callbacks(llm: AzureOpenAI) -> None:
    class Tokens(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            self.tokens.append(token)

    seen = Tokens()
    pieces = list(llm.stream("Say 'one two three'", config={"callbacks": [seen]}))
    assert "".join(pieces) == "one two three" and len(pieces) > 2
    assert "".join(seen.tokens) == "one two three"
    streaming = llm.model_copy(update={"streaming": True})
    assert streaming.invoke("Say 'four five'") == "four five"


async def test_async(llm: AzureOpenAI) -> None:
    assert await llm.ainvoke("Say 'async'") == "async"
    assert "".join([p async for p in llm.astream("Say 'a b'")]) == "a b"
    result = await llm.agenerate(["Say 'c'", "Say 'd'"])
    assert [g[0].text for g in result.generations] == ["c", "d"]


def test_a_chat_deployment_is_refused_before_sending(emu: Emulator) -> None:
    chat = AzureOpenAI(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="chat", model="gpt-4o"
    )
    with pytest.raises(E.ConfigError, match="chat model"):
        chat.invoke("hi")
    with pytest.raises(ValueError, match="n must be 1 when streaming"):
        AzureOpenAI(azure_endpoint=emu.endpoint, api_key="k", streaming=True, n=2)
    assert emu.requests == []


def test_langsmith_params_and_token_counting(llm: AzureOpenAI) -> None:
    params = llm._get_ls_params(stop=["x"])
    assert params["ls_provider"] == "azure" and params["ls_model_type"] == "llm"
    assert params["ls_model_name"] == "gpt-35-turbo-instruct" and params["ls_stop"] == ["x"]
    assert llm.get_num_tokens("hello world") > 0


# --- the image tool -----------------------------------------------------------------------------


def test_the_tool_returns_text_and_the_image_as_an_artifact(
    emu: Emulator, tool: AzureImageGenerationTool
) -> None:
    call = {"type": "tool_call", "id": "call_1", "name": tool.name, "args": {"prompt": "a fox"}}
    message = tool.invoke({**call, "args": {"prompt": "a red fox", "size": "1536x1024"}})
    assert isinstance(message, ToolMessage) and message.tool_call_id == "call_1"
    assert message.content == "Generated 1 image (1536x1024 PNG) for the prompt 'a red fox'."
    [block] = message.artifact
    assert block["type"] == "image" and block["mime_type"] == "image/png"
    assert picture(block).size == (1536, 1024)
    assert block["extras"] == {"width": 1536, "height": 1024}
    assert emu.requests[-1].body["model"] == "img"
    # called with plain arguments, a content_and_artifact tool answers its text
    assert "1024x1024" in tool.invoke({"prompt": "a fox"})


def test_a_shared_client_draws_on_the_tools_own_deployment(emu: Emulator) -> None:
    from azoai.client import Client

    shared = Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        deployment="chat",  # the application's chat default
        deployments=[{"name": "img", "model": "gpt-image-1"}],
        env={},
        config_file="",
    )
    with shared:
        tool = AzureImageGenerationTool(azure_deployment="img", client=shared)
        call = {
            "type": "tool_call",
            "id": "call_1",
            "name": tool.name,
            "args": {"prompt": "a heron"},
        }
        message = tool.invoke(call)
        assert picture(message.artifact[0]).size == (1024, 1024)
        assert emu.requests[-1].path.endswith("/images/generations")
        assert emu.requests[-1].body["model"] == "img"


async def test_the_tool_async_and_dalle_revised_prompt(emu: Emulator) -> None:
    dalle = AzureImageGenerationTool(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="dall-e-3", style="vivid"
    )
    message = await dalle.ainvoke(
        {"type": "tool_call", "id": "c", "name": dalle.name, "args": {"prompt": "a cat"}}
    )
    assert "The image model drew:" in message.content
    assert picture(message.artifact[0]).size == (1024, 1024)
    assert message.artifact[0]["extras"]["revised_prompt"]
    assert emu.requests[-1].body["response_format"] == "b64_json"  # bytes, not a 24-hour URL


def test_a_size_the_model_does_not_take_is_refused_before_sending(
    emu: Emulator, tool: AzureImageGenerationTool
) -> None:
    with pytest.raises(E.ConfigError, match="1792x1024") as caught:
        tool.invoke({"prompt": "a fox", "size": "1792x1024"})
    assert caught.value.setting == "size"
    assert emu.requests == []


def test_a_langchain_agent_calls_the_image_tool(
    emu: Emulator, tool: AzureImageGenerationTool
) -> None:
    from langchain.agents import create_agent

    chat = AzureChatOpenAI(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="chat", model="gpt-4o"
    )
    agent = create_agent(chat, [tool])
    state = agent.invoke(
        {"messages": [{"role": "user", "content": "Generate an image of 'a lighthouse at dawn'"}]}
    )
    [called] = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert called.name == "generate_image"
    assert picture(called.artifact[0]).size == (1024, 1024)
    assert "a lighthouse at dawn" in state["messages"][-1].content
    drawn = [r for r in emu.requests if r.path.endswith("/images/generations")]
    assert [r.body["prompt"] for r in drawn] == ["a lighthouse at dawn"]

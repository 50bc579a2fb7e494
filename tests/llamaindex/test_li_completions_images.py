"""LlamaIndex: ``AzureOpenAICompletion`` (a completion LLM, ``is_chat_model=False``) and
``AzureImageToolSpec`` (a ``BaseToolSpec``), against the emulator over loopback, including a
``FunctionAgent`` that calls the image tool."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence

import pytest
from li_helpers import ISOLATED
from llama_index.core.base.llms.types import ChatMessage, ImageBlock, TextBlock
from PIL import Image

from azoai import errors as E
from azoai_emulator import Emulator, EmulatorDeployment
from llamaindex_azoai import AzureImageToolSpec, AzureOpenAI, AzureOpenAICompletion

DEPLOYMENTS = (
    EmulatorDeployment("instruct", model="gpt-35-turbo-instruct"),
    EmulatorDeployment("img", model="gpt-image-1"),
    EmulatorDeployment("chat", model="gpt-4o"),
)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(deployments=DEPLOYMENTS) as e:
        yield e


@pytest.fixture
def llm(emu: Emulator) -> AzureOpenAICompletion:
    return AzureOpenAICompletion(
        engine="instruct",
        model="gpt-35-turbo-instruct",
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        **ISOLATED,
    )


@pytest.fixture
def spec(emu: Emulator) -> AzureImageToolSpec:
    return AzureImageToolSpec(
        engine="img",
        model="gpt-image-1",
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        **ISOLATED,
    )


def picture(block: ImageBlock) -> Image.Image:
    image = Image.open(io.BytesIO(block.resolve_image().read()))
    image.load()
    return image


# --- the completion LLM -------------------------------------------------------------------------


def test_metadata_says_completion_model(llm: AzureOpenAICompletion) -> None:
    meta = llm.metadata
    assert meta.is_chat_model is False and meta.is_function_calling_model is False
    assert (meta.context_window, meta.model_name) == (4097, "gpt-35-turbo-instruct")


def test_complete_asks_for_the_rest_of_the_window(
    emu: Emulator, llm: AzureOpenAICompletion
) -> None:
    response = llm.complete("Say 'hello there'", logprobs=1, echo=False)
    assert response.text == "hello there"
    assert response.additional_kwargs["completion_tokens"] == 2
    assert response.logprobs is not None and [t[0].token for t in response.logprobs] == [
        "hello",
        " there",
    ]
    sent = emu.requests[-1]
    assert sent.url == "/openai/deployments/instruct/completions?api-version=2024-10-21"
    assert 4000 < sent.body["max_tokens"] < 4097  # not Azure's default of 16
    assert sent.body["temperature"] == 0.1 and sent.body["echo"] is False


def test_stream_complete(llm: AzureOpenAICompletion) -> None:
    pieces = list(llm.stream_complete("Say 'one two three'"))
    assert [p.delta for p in pieces][:3] == ["one", " two", " three"]
    assert pieces[-1].text == "one two three"
    assert pieces[-1].additional_kwargs == {"finish_reason": "stop"}


async def test_async_complete_and_stream(llm: AzureOpenAICompletion) -> None:
    assert (await llm.acomplete("Say 'async'")).text == "async"
    gen = await llm.astream_complete("Say 'a b'")
    assert [p.text async for p in gen][-1] == "a b"


def test_chat_goes_through_the_completion_prompt(emu: Emulator, emu_endpoint: str) -> None:
    def last_user_line(messages: Sequence[ChatMessage]) -> str:
        return str(messages[-1].content)

    llm = AzureOpenAICompletion(
        engine="instruct",
        azure_endpoint=emu_endpoint,
        api_key=emu.api_key,
        messages_to_prompt=last_user_line,
        max_tokens=10,
        **ISOLATED,
    )
    reply = llm.chat(
        [
            ChatMessage(role="system", content="Be brief."),
            ChatMessage(role="user", content="Say 'hi'"),
        ]
    )
    assert reply.message.content == "hi"
    assert emu.requests[-1].body["prompt"] == "Say 'hi'"
    default = AzureOpenAICompletion(
        engine="instruct",
        model="gpt-35-turbo-instruct",
        azure_endpoint=emu_endpoint,
        api_key=emu.api_key,
        **ISOLATED,
    )
    default.chat([ChatMessage(role="user", content="hello")])
    assert emu.requests[-1].body["prompt"] == "user: hello\nassistant: "


async def test_async_chat_stream(llm: AzureOpenAICompletion) -> None:
    gen = await llm.astream_chat([ChatMessage(role="user", content="hi")])
    assert [r async for r in gen][-1].message.content


@pytest.fixture
def emu_endpoint(emu: Emulator) -> str:
    return emu.endpoint


def test_a_chat_deployment_is_refused_before_sending(emu: Emulator) -> None:
    llm = AzureOpenAICompletion(
        engine="chat", model="gpt-4o", azure_endpoint=emu.endpoint, api_key=emu.api_key, **ISOLATED
    )
    with pytest.raises(E.ConfigError, match="chat model"):
        llm.complete("hi", max_tokens=5)
    assert emu.requests == []


# --- the image tool spec ------------------------------------------------------------------------


def test_the_spec_gives_a_tool_with_text_and_image_blocks(
    emu: Emulator, spec: AzureImageToolSpec
) -> None:
    [tool] = spec.to_tool_list()
    assert tool.metadata.name == "generate_image"
    assert "prompt" in tool.metadata.get_parameters_dict()["required"]
    output = tool.call(prompt="a red fox", size="1536x1024")
    text, image = output.blocks
    assert isinstance(text, TextBlock) and "1536x1024 PNG" in text.text
    assert isinstance(image, ImageBlock) and image.image_mimetype == "image/png"
    assert picture(image).size == (1536, 1024)
    assert output.content == text.text
    assert emu.requests[-1].body == {"prompt": "a red fox", "model": "img", "size": "1536x1024"}


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
        spec = AzureImageToolSpec(engine="img", client=shared)
        [tool] = spec.to_tool_list()
        output = tool.call(prompt="a grey heron")
        assert picture(output.blocks[1]).size == (1024, 1024)  # type: ignore[arg-type]
        assert emu.requests[-1].path.endswith("/images/generations")
        assert emu.requests[-1].body["model"] == "img"
        spec.close()  # a client passed in stays open: the application's next call works
        tool.call(prompt="a white heron")
        assert emu.requests[-1].body["prompt"] == "a white heron"


async def test_the_async_tool(spec: AzureImageToolSpec) -> None:
    [tool] = spec.to_tool_list()
    output = await tool.acall(prompt="a fox")
    assert picture(output.blocks[1]).size == (1024, 1024)  # type: ignore[arg-type]


def test_a_bad_size_is_refused_before_sending(emu: Emulator, spec: AzureImageToolSpec) -> None:
    with pytest.raises(E.ConfigError, match="1792x1024") as caught:
        spec.generate_image("a fox", size="1792x1024")
    assert caught.value.setting == "size"
    assert emu.requests == []


async def test_a_function_agent_calls_the_image_tool(
    emu: Emulator, spec: AzureImageToolSpec
) -> None:
    from llama_index.core.agent.workflow import FunctionAgent

    chat = AzureOpenAI(
        engine="chat", model="gpt-4o", azure_endpoint=emu.endpoint, api_key=emu.api_key, **ISOLATED
    )
    agent = FunctionAgent(tools=spec.to_tool_list(), llm=chat)
    result = await agent.run("Generate an image of 'a lighthouse at dawn'")
    [call] = result.tool_calls
    assert call.tool_name == "generate_image"
    image = call.tool_output.blocks[1]
    assert isinstance(image, ImageBlock) and picture(image).size == (1024, 1024)
    assert "a lighthouse at dawn" in str(result)
    drawn = [r for r in emu.requests if r.path.endswith("/images/generations")]
    assert [r.body["prompt"] for r in drawn] == ["a lighthouse at dawn"]

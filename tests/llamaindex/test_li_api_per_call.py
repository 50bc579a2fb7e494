"""llamaindex_azoai.AzureOpenAI on Chat Completions with calls only the Responses API serves
(issue 16): function tools with reasoning on gpt-5.5 and later, and ``DocumentBlock`` PDFs. The
LLM sends them to the Responses API transparently, so a ``FunctionAgent`` (streamed or not) and
``chat_with_tools`` work as on any model; ``auto_responses=False`` raises the typed error instead.

Against the emulator, which refuses those calls on Chat Completions as Azure does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from li_helpers import ISOLATED
from llama_index.core.agent.workflow import AgentStream, FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    DocumentBlock,
    MessageRole,
    TextBlock,
)
from llama_index.core.tools import FunctionTool

from azoai import ResponsesRequiredError
from azoai_emulator import Emulator, EmulatorDeployment
from llamaindex_azoai import AzureOpenAI

PDF = b"%PDF-1.4 quarterly report"
calls: list[str] = []


def get_weather(city: str) -> str:
    """The weather in a city."""
    calls.append(city)
    return f"It is sunny and 21 degrees in {city}."


WEATHER = FunctionTool.from_defaults(get_weather)


@pytest.fixture(autouse=True)
def _no_calls() -> None:
    calls.clear()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    deployments = [
        EmulatorDeployment("agent", model="gpt-5.5"),
        EmulatorDeployment("luna", model="gpt-5.6-luna"),
        EmulatorDeployment("chat", model="gpt-4o"),
    ]
    with Emulator(deployments) as e:
        yield e


def _llm(emu: Emulator, engine: str = "agent", **kw: Any) -> AzureOpenAI:
    return AzureOpenAI(
        engine=engine, azure_endpoint=emu.endpoint, api_key=emu.api_key, **ISOLATED, **kw
    )


def _paths(emu: Emulator) -> list[str]:
    return [r.path for r in emu.requests]


@pytest.mark.parametrize("streaming", [False, True])
async def test_a_function_agent_on_gpt55_runs_through_the_responses_api(
    emu: Emulator, streaming: bool
) -> None:
    llm = _llm(emu, model="gpt-5.5")
    emu.clear_requests()
    agent = FunctionAgent(tools=[WEATHER], llm=llm, streaming=streaming)
    handler = agent.run("What is the weather in Oslo?")
    deltas, results = [], []
    async for event in handler.stream_events():
        if isinstance(event, AgentStream):
            deltas.append(event.delta)
        elif isinstance(event, ToolCallResult):
            results.append(event.tool_output.content)
    answer = str(await handler)
    assert calls == ["Oslo"]
    assert results == ["It is sunny and 21 degrees in Oslo."]
    assert answer == "It is sunny and 21 degrees in Oslo."
    if streaming:
        assert "".join(deltas) == answer
    assert _paths(emu) == ["/openai/v1/responses"] * 2


def test_chat_with_tools_learns_an_unknown_deployment(emu: Emulator) -> None:
    llm = _llm(emu, "luna")  # no model=: learned from Azure's first answer
    emu.clear_requests()
    response = llm.chat_with_tools([WEATHER], user_msg="What is the weather in Rome?")
    assert isinstance(response, ChatResponse)
    [call] = llm.get_tool_calls_from_response(response)
    assert (call.tool_name, call.tool_kwargs) == ("get_weather", {"city": "Rome"})
    # LlamaIndex's default temperature teaches a reasoning model first, then the tools 400
    # (which names the model) the tools rule: two refusals, no error for the caller
    assert [(r.path, r.status) for r in emu.requests] == [
        ("/openai/v1/chat/completions", 400),
        ("/openai/v1/chat/completions", 400),
        ("/openai/v1/responses", 200),
    ]
    streamed = list(llm.stream_chat_with_tools([WEATHER], user_msg="What is the weather in Lima?"))
    [call] = llm.get_tool_calls_from_response(streamed[-1])
    assert call.tool_kwargs == {"city": "Lima"}
    assert _paths(emu)[-1] == "/openai/v1/responses" and len(emu.requests) == 4
    assert llm.metadata.context_window == 400_000  # learned: gpt-5.6's window, not 8192


async def test_async_tool_calls_and_a_plain_turn(emu: Emulator) -> None:
    llm = _llm(emu, model="gpt-5.5", reasoning_effort="high")
    emu.clear_requests()
    response = await llm.achat_with_tools([WEATHER], user_msg="What is the weather in Rome?")
    assert llm.get_tool_calls_from_response(response)[0].tool_kwargs == {"city": "Rome"}
    gen = await llm.astream_chat_with_tools([WEATHER], user_msg="What is the weather in Lima?")
    last = [r async for r in gen][-1]
    assert llm.get_tool_calls_from_response(last)[0].tool_kwargs == {"city": "Lima"}
    plain = await llm.achat([ChatMessage(role=MessageRole.USER, content="Say hi")])
    assert plain.message.content
    assert _paths(emu) == ["/openai/v1/responses"] * 2 + ["/openai/v1/chat/completions"]
    assert emu.requests[0].body["reasoning"] == {"effort": "high"}


def _pdf_message() -> ChatMessage:
    return ChatMessage(
        role=MessageRole.USER,
        blocks=[
            TextBlock(text="Summarize the attached report."),
            DocumentBlock(data=PDF, title="q.pdf", document_mimetype="application/pdf"),
        ],
    )


async def test_a_document_block_is_read_through_responses(emu: Emulator) -> None:
    llm = _llm(emu, "chat", model="gpt-4o")
    emu.clear_requests()
    reply = llm.chat([_pdf_message()])
    assert reply.message.content
    streamed = [r async for r in await llm.astream_chat([_pdf_message()])]
    assert streamed[-1].message.content == reply.message.content
    assert _paths(emu) == ["/openai/v1/responses"] * 2
    part = emu.requests[0].body["input"][0]["content"][1]
    assert part["type"] == "input_file" and part["filename"] == "q.pdf"


async def test_auto_responses_off_raises_the_typed_error(emu: Emulator) -> None:
    llm = _llm(emu, model="gpt-5.5", auto_responses=False)
    assert llm.settings.auto_responses is False
    emu.clear_requests()
    with pytest.raises(ResponsesRequiredError) as info:
        llm.chat_with_tools([WEATHER], user_msg="What is the weather in Rome?")
    assert info.value.setting == "auto_responses"
    assert "use_responses_api=True" in str(info.value)
    with pytest.raises(ResponsesRequiredError):
        gen = await llm.astream_chat_with_tools([WEATHER], user_msg="What is the weather in Lima?")
        [r async for r in gen]
    assert _paths(emu) == ["/openai/v1/chat/completions"] * 2
    # a document is refused before anything is sent
    with pytest.raises(ResponsesRequiredError, match="file"):
        _llm(emu, "chat", model="gpt-4o", auto_responses=False).chat([_pdf_message()])
    assert len(emu.requests) == 2
    # use_responses_api=True is the fix the error names
    fixed = _llm(emu, model="gpt-5.5", auto_responses=False, use_responses_api=True)
    assert fixed.chat_with_tools([WEATHER], user_msg="What is the weather in Rome?")

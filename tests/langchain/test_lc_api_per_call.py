"""AzureChatOpenAI on Chat Completions with calls only the Responses API serves (issue 16):
function tools with reasoning on gpt-5.5 and later, and PDF file blocks. The model sends them to
the Responses API transparently, so an agent loop sees the same ``AIMessage`` / ``ToolMessage``
flow, sync, async and streamed; ``auto_responses=False`` raises the typed error instead.

Against the emulator, which refuses those calls on Chat Completions as Azure does."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    ToolMessage,
    message_chunk_to_message,
)
from langchain_core.tools import tool

from azoai import ResponsesRequiredError
from azoai_emulator import Emulator, EmulatorDeployment
from langchain_azoai import AzureChatOpenAI

PDF_B64 = base64.b64encode(b"%PDF-1.4 quarterly report").decode()


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"It is sunny and 21 degrees in {city}."


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    deployments = [
        EmulatorDeployment("agent", model="gpt-5.5"),
        EmulatorDeployment("chat", model="gpt-4o"),
    ]
    with Emulator(deployments) as e:
        yield e


def _llm(emu: Emulator, deployment: str = "agent", **kw: Any) -> AzureChatOpenAI:
    return AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment=deployment,
        config_file="",
        **kw,
    )


def _paths(emu: Emulator) -> list[str]:
    return [r.path for r in emu.requests]


ASK = [HumanMessage("What is the weather in Lisbon?")]


def _answer_with_tool(messages: list[Any], reply: AIMessage) -> list[Any]:
    [call] = reply.tool_calls
    assert call["name"] == "get_weather" and call["args"] == {"city": "Lisbon"}
    return [
        *messages,
        reply,
        ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"]),
    ]


def test_an_agent_loop_on_gpt55_runs_through_the_responses_api(emu: Emulator) -> None:
    llm = _llm(emu, model="gpt-5.5").bind_tools([get_weather])
    emu.clear_requests()
    first = llm.invoke(ASK)
    assert isinstance(first, AIMessage) and first.content == ""
    messages = _answer_with_tool(ASK, first)
    final = llm.invoke(messages)
    assert isinstance(final, AIMessage) and not final.tool_calls
    assert "21 degrees in Lisbon" in final.text
    assert final.response_metadata["finish_reason"] == "stop"
    # no wasted 400: the catalogue knows gpt-5.5 refuses tools with reasoning on chat
    assert _paths(emu) == ["/openai/v1/responses"] * 2
    # the model's reasoning travels back with the tool call, as the Responses API wants it
    kinds = [item["type"] for item in emu.requests[1].body["input"]]
    assert kinds == ["message", "reasoning", "function_call", "function_call_output"]


async def test_the_loop_async_and_a_plain_turn_stays_on_chat(emu: Emulator) -> None:
    llm = _llm(emu, model="gpt-5.5")
    emu.clear_requests()
    first = await llm.bind_tools([get_weather]).ainvoke(ASK)
    final = await llm.bind_tools([get_weather]).ainvoke(_answer_with_tool(ASK, first))
    assert "21 degrees" in final.text
    plain = await llm.ainvoke([HumanMessage("Say hi")])
    assert isinstance(plain, AIMessage) and plain.text
    assert _paths(emu) == [
        "/openai/v1/responses",
        "/openai/v1/responses",
        "/openai/v1/chat/completions",
    ]


def _aggregate(chunks: list[Any]) -> AIMessageChunk:
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    total: AIMessageChunk = chunks[0]
    for c in chunks[1:]:
        total = total + c
    return total


def test_streamed_tool_calls_arrive_as_chunks(emu: Emulator) -> None:
    llm = _llm(emu).bind_tools([get_weather])  # no model=: learned from the first 400
    emu.clear_requests()
    chunks = list(llm.stream(ASK))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    merged = _aggregate(chunks)
    assert merged.tool_calls[0]["args"] == {"city": "Lisbon"}
    assert [(r.path, r.status) for r in emu.requests] == [
        ("/openai/v1/chat/completions", 400),
        ("/openai/v1/responses", 200),
    ]
    reply = message_chunk_to_message(merged)
    assert isinstance(reply, AIMessage)
    final = _aggregate(list(llm.stream(_answer_with_tool(ASK, reply))))
    assert "21 degrees" in final.text
    assert _paths(emu)[-1] == "/openai/v1/responses" and len(emu.requests) == 3


async def test_astream_with_an_explicit_effort(emu: Emulator) -> None:
    llm = _llm(emu, model="gpt-5.5", reasoning_effort="high").bind_tools([get_weather])
    emu.clear_requests()
    chunks = [c async for c in llm.astream(ASK)]
    assert _aggregate(chunks).tool_calls[0]["name"] == "get_weather"
    assert _paths(emu) == ["/openai/v1/responses"]
    assert emu.requests[0].body["reasoning"]["effort"] == "high"


def _pdf_message() -> HumanMessage:
    return HumanMessage(
        content=[
            {"type": "text", "text": "Summarize the attached report."},
            {
                "type": "file",
                "base64": PDF_B64,
                "mime_type": "application/pdf",
                "filename": "q.pdf",
            },
        ]
    )


async def test_a_pdf_block_on_a_chat_model_is_read_through_responses(emu: Emulator) -> None:
    llm = _llm(emu, "chat", model="gpt-4o")
    emu.clear_requests()
    reply = llm.invoke([_pdf_message()])
    assert isinstance(reply, AIMessage) and reply.text
    streamed = _aggregate([c async for c in llm.astream([_pdf_message()])])
    assert streamed.text == reply.text
    assert _paths(emu) == ["/openai/v1/responses"] * 2
    part = emu.requests[0].body["input"][0]["content"][1]
    assert part["type"] == "input_file" and part["filename"] == "q.pdf"


async def test_auto_responses_off_raises_the_typed_error(emu: Emulator) -> None:
    llm = _llm(emu, model="gpt-5.5", auto_responses=False)
    emu.clear_requests()
    with pytest.raises(ResponsesRequiredError) as info:
        llm.bind_tools([get_weather]).invoke(ASK)
    assert info.value.setting == "auto_responses" and "use_responses_api=True" in str(info.value)
    with pytest.raises(ResponsesRequiredError):
        [c async for c in llm.bind_tools([get_weather]).astream(ASK)]
    assert _paths(emu) == ["/openai/v1/chat/completions"] * 2
    # a file is refused before anything is sent
    with pytest.raises(ResponsesRequiredError, match="file"):
        await _llm(emu, "chat", model="gpt-4o", auto_responses=False).ainvoke([_pdf_message()])
    assert len(emu.requests) == 2
    # use_responses_api=True is the fix the error names
    fixed = _llm(emu, model="gpt-5.5", auto_responses=False, use_responses_api=True)
    assert fixed.bind_tools([get_weather]).invoke(ASK).tool_calls

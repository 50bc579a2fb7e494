"""``transport="websocket"`` on the LangChain chat model: invoke, stream and their async twins go
over the emulator's Responses WebSocket, and an agent loop inside ``websocket_session()`` chains
its turns on one socket (issue 8)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.load import dumpd
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from azoai_emulator import Emulator
from azoai_emulator.protocol import RequestRecord
from langchain_azoai import AzureChatOpenAI


def model(emu: Emulator, **kw: Any) -> AzureChatOpenAI:
    kw.setdefault("use_responses_api", True)
    kw.setdefault("transport", "websocket")
    return AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        model="gpt-4o",
        **kw,
    )


@pytest.fixture
def ws_llm(emu: Emulator) -> Iterator[AzureChatOpenAI]:
    llm = model(emu)
    yield llm
    llm.close()
    assert settle(emu) == 0


def settle(emu: Emulator, open_sockets: int = 0) -> int:
    deadline = time.monotonic() + 5
    while emu.websockets_open != open_sockets and time.monotonic() < deadline:
        time.sleep(0.005)
    return emu.websockets_open


def handshakes(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.method == "GET" and r.path == "/openai/v1/responses"]


def creates(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.method == "WS"]


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"It is sunny and 24 degrees in {city}."


def test_invoke_and_stream_go_over_the_socket(emu: Emulator, ws_llm: AzureChatOpenAI) -> None:
    reply = ws_llm.invoke("Say 'over the socket'")
    assert reply.text == "over the socket"
    assert reply.response_metadata["headers"]["x-ms-region"] == emu.region
    assert reply.usage_metadata is not None
    chunks = list(ws_llm.stream("Say 'one two three'"))
    assert "".join(c.text for c in chunks) == "one two three"
    assert [r.method for r in emu.requests] == ["GET", "WS", "GET", "WS"]


async def test_ainvoke_and_astream(emu: Emulator, ws_llm: AzureChatOpenAI) -> None:
    assert (await ws_llm.ainvoke("Say async")).text == "async"
    chunks = [c async for c in ws_llm.astream("Say 'a b c'")]
    assert "".join(c.text for c in chunks) == "a b c"
    assert len(creates(emu)) == 2
    await ws_llm.aclose()


def test_the_websocket_needs_the_responses_api(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="use_responses_api=True"):
        model(emu, use_responses_api=None)


def test_websocket_options_reach_the_core(emu: Emulator) -> None:
    llm = model(emu, websocket={"close_on_finish": False, "key_auth": "bearer"})
    assert llm.settings.transport == "websocket"
    assert llm.settings.websocket.close_on_finish is False
    llm.invoke("Say one")
    llm.invoke("Say two")
    assert len(handshakes(emu)) == 1
    assert handshakes(emu)[0].headers["authorization"] == "***"
    llm.close()
    assert settle(emu) == 0


def test_serialization_keeps_the_transport_and_no_secret(emu: Emulator) -> None:
    llm = model(emu)
    dumped = dumpd(llm)
    assert dumped["kwargs"]["transport"] == "websocket"
    assert emu.api_key not in str(dumped)


def test_an_agent_loop_in_a_session_chains_its_turns_on_one_socket(emu: Emulator) -> None:
    http_llm = model(emu, transport="http")
    expected = create_agent(http_llm, tools=[get_weather]).invoke(
        {"messages": [HumanMessage("What is the weather in Paris?")]}
    )["messages"][-1]
    http_llm.close()
    emu.reset()

    llm = model(emu)
    agent = create_agent(llm, tools=[get_weather], system_prompt="Use tools to answer.")
    with llm.websocket_session():
        state = agent.invoke({"messages": [HumanMessage("What is the weather in Paris?")]})
        assert settle(emu, 1) == 1
    messages = state["messages"]
    assert isinstance(messages[-1], AIMessage)
    assert messages[-1].text == expected.text
    assert any(isinstance(m, ToolMessage) for m in messages)
    assert len(handshakes(emu)) == 1
    first, second = creates(emu)
    assert "previous_response_id" not in first.body
    assert second.body["previous_response_id"]
    assert [i["type"] for i in second.body["input"]] == ["function_call_output"]
    llm.close()
    assert settle(emu) == 0


async def test_an_async_agent_loop_in_a_session(emu: Emulator) -> None:
    llm = model(emu)
    agent = create_agent(llm, tools=[get_weather])
    async with llm.websocket_session():
        state = await agent.ainvoke({"messages": [HumanMessage("What is the weather in Oslo?")]})
    assert "Oslo" in state["messages"][-1].text
    assert len(handshakes(emu)) == 1
    assert creates(emu)[-1].body["previous_response_id"]
    await llm.aclose()
    assert settle(emu) == 0

"""What code written for llama-index's OpenAI classes reads keeps working (issue 17):
``message.additional_kwargs["tool_calls"]`` beside the ``ToolCallBlock``s (``.id``,
``.function.name``, ``.function.arguments``), and ``ChatResponse.raw`` read as the SDK's objects
(``raw.usage.total_tokens``, ``raw.choices[0].message.content``) and still as the body dict."""

from __future__ import annotations

import json
import pickle

from li_helpers import chat_bodies
from llama_index.core.base.llms.types import ChatMessage, ToolCallBlock
from llama_index.core.tools import FunctionTool

from azoai_emulator import Emulator
from llamaindex_azoai import AzureOpenAI


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"It is sunny in {city}."


WEATHER = FunctionTool.from_defaults(get_weather)


def test_tool_calls_are_in_additional_kwargs_beside_the_blocks(llm: AzureOpenAI) -> None:
    response = llm.chat_with_tools([WEATHER], user_msg="What is the weather in Paris?")
    blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    calls = response.message.additional_kwargs["tool_calls"]
    assert len(calls) == len(blocks) == 1
    call, block = calls[0], blocks[0]
    assert call.id == block.tool_call_id and call.type == "function"
    assert call.function.name == "get_weather" == block.tool_name
    assert json.loads(call.function.arguments) == block.tool_kwargs == {"city": "Paris"}
    assert call["function"]["name"] == "get_weather"  # and as the dict llama-index also accepts
    selection = llm.get_tool_calls_from_response(response)
    assert [(s.tool_id, s.tool_name) for s in selection] == [(call.id, "get_weather")]


def test_a_turn_with_tool_calls_goes_back_once(llm: AzureOpenAI, emu: Emulator) -> None:
    response = llm.chat_with_tools([WEATHER], user_msg="What is the weather in Paris?")
    call = response.message.additional_kwargs["tool_calls"][0]
    history = [
        ChatMessage(role="user", content="What is the weather in Paris?"),
        response.message,
        ChatMessage(
            role="tool",
            content="It is sunny in Paris.",
            additional_kwargs={"tool_call_id": call.id},
        ),
    ]
    final = llm.chat_with_tools([WEATHER], chat_history=history)
    assert final.message.content
    sent = chat_bodies(emu)[-1]["messages"][1]
    assert sent["role"] == "assistant" and [c["id"] for c in sent["tool_calls"]] == [call.id]
    # a stored history (chat stores keep messages as JSON) still reads back
    again = ChatMessage.model_validate_json(response.message.model_dump_json())
    assert again.additional_kwargs["tool_calls"][0]["function"]["name"] == "get_weather"
    assert pickle.loads(pickle.dumps(response.message)).additional_kwargs["tool_calls"] == [call]


def test_streamed_tool_calls_are_in_additional_kwargs(llm: AzureOpenAI) -> None:
    chunks = list(llm.stream_chat_with_tools([WEATHER], user_msg="What is the weather in Paris?"))
    with_calls = [c for c in chunks if c.message.additional_kwargs.get("tool_calls")]
    assert with_calls, "no chunk carried tool_calls"
    partial = with_calls[0].message.additional_kwargs["tool_calls"][0]
    assert partial.index == 0 and partial.function.name in ("", "get_weather")
    last = chunks[-1].message.additional_kwargs["tool_calls"][0]
    assert last.function.name == "get_weather"
    assert json.loads(last.function.arguments) == {"city": "Paris"}


def test_raw_reads_as_the_sdk_objects_and_as_the_body(llm: AzureOpenAI) -> None:
    response = llm.chat([ChatMessage(role="user", content="Say hello big world")])
    raw = response.raw
    assert raw.usage.total_tokens == response.additional_kwargs["total_tokens"] > 0
    assert raw.choices[0].message.content == response.message.content == "hello big world"
    assert raw.choices[0].finish_reason == "stop" and raw.choices[0].message.role == "assistant"
    assert raw.model == "gpt-4o-2024-11-20" and raw.id
    assert raw["usage"]["total_tokens"] == raw.usage.total_tokens  # the body dict, as before
    assert isinstance(raw, dict) and json.loads(json.dumps(raw)) == raw
    assert raw.model_dump() == json.loads(json.dumps(raw)) and type(raw.model_dump()) is dict
    assert raw.choices[0].message.tool_calls is None  # absent, as the SDK's optional fields read


def test_streamed_raw_reads_as_the_sdk_chunks(llm: AzureOpenAI) -> None:
    chunks = list(llm.stream_chat([ChatMessage(role="user", content="Say hello big world")]))
    # Azure's content-filter chunks carry no delta, as the SDK's chunks then read
    deltas = [c.raw.choices[0].delta for c in chunks if c.raw.choices]
    assert "".join(d.content or "" for d in deltas if d is not None) == "hello big world"
    usage = [c.raw.usage for c in chunks if c.raw.usage is not None]
    assert usage and usage[-1].total_tokens == chunks[-1].additional_kwargs["total_tokens"]
    assert {c.raw.model for c in chunks if c.raw.id} == {"gpt-4o-2024-11-20"}


async def test_async_raw_and_tool_calls(llm: AzureOpenAI) -> None:
    response = await llm.achat_with_tools([WEATHER], user_msg="What is the weather in Lima?")
    assert response.raw.choices[0].message.tool_calls[0].function.name == "get_weather"
    assert response.message.additional_kwargs["tool_calls"][0].function.name == "get_weather"

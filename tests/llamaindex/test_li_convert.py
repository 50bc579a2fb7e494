"""The conversion module: LlamaIndex messages, blocks and tools <-> azoai's neutral types."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    ChatResponse,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel, Field

from azoai.content_filter import CategoryResult, ContentFilterResults
from azoai.wire import (
    AudioPart,
    ChatResult,
    FilePart,
    ImagePart,
    Message,
    ReasoningItem,
    ResponseFormat,
    StreamDelta,
    TextPart,
    ToolCall,
    ToolCallChunk,
    ToolSpec,
    Usage,
)
from llamaindex_azoai import InvalidToolArgumentsError
from llamaindex_azoai._convert import (
    StreamFolder,
    content_filter_data,
    from_result,
    response_format_for,
    response_kwargs,
    strict_json_schema,
    to_logprobs,
    to_response_format,
    to_tool_choice,
    to_tool_spec,
    to_wire_message,
    tool_selections,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


# --- messages out -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "wire"),
    [
        (MessageRole.SYSTEM, "system"),
        (MessageRole.DEVELOPER, "developer"),
        (MessageRole.USER, "user"),
        (MessageRole.ASSISTANT, "assistant"),
        (MessageRole.CHATBOT, "assistant"),
        (MessageRole.MODEL, "assistant"),
    ],
)
def test_roles(role: MessageRole, wire: str) -> None:
    msg = to_wire_message(ChatMessage(role=role, content="hi"))
    assert (msg.role, msg.content) == (wire, "hi")


def test_text_blocks_become_one_string() -> None:
    msg = to_wire_message(
        ChatMessage(role="user", blocks=[TextBlock(text="a"), TextBlock(text="b")])
    )
    assert msg.content == "ab"


def test_image_by_url_and_by_bytes() -> None:
    msg = to_wire_message(
        ChatMessage(
            role="user",
            blocks=[
                TextBlock(text="what is this?"),
                ImageBlock(url="https://example.com/cat.png", detail="low"),
                ImageBlock(image=PNG, image_mimetype="image/png"),
            ],
        )
    )
    assert isinstance(msg.content, list)
    text, by_url, by_bytes = msg.content
    assert text == TextPart("what is this?")
    assert isinstance(by_url, ImagePart) and by_url.url == "https://example.com/cat.png"
    assert by_url.detail == "low"
    assert isinstance(by_bytes, ImagePart)
    assert by_bytes.data == PNG
    assert by_bytes.as_url().startswith("data:image/png;base64,")


def test_audio_and_document_blocks() -> None:
    msg = to_wire_message(
        ChatMessage(
            role="user",
            blocks=[
                AudioBlock(audio=b"RIFF\x00\x01wav", format="wav"),
                DocumentBlock(data=b"%PDF-1.4 fake", title="report.pdf"),
            ],
        )
    )
    assert isinstance(msg.content, list)
    audio, doc = msg.content
    assert isinstance(audio, AudioPart) and audio.data == b"RIFF\x00\x01wav"
    assert isinstance(doc, FilePart) and doc.data == b"%PDF-1.4 fake"
    assert doc.filename == "report.pdf"


def test_unsupported_blocks_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="VideoBlock"):
        to_wire_message(ChatMessage(role="user", blocks=[VideoBlock(url="https://v.example/x")]))


def test_assistant_tool_calls_and_tool_results() -> None:
    assistant = to_wire_message(
        ChatMessage(
            role="assistant",
            blocks=[
                ToolCallBlock(tool_call_id="c1", tool_name="add", tool_kwargs={"a": 1}),
                ToolCallBlock(tool_call_id="c2", tool_name="mul", tool_kwargs='{"b": 2}'),
            ],
        )
    )
    assert assistant.content is None
    assert [(c.id, c.name, c.arguments) for c in assistant.tool_calls] == [
        ("c1", "add", {"a": 1}),
        ("c2", "mul", {"b": 2}),
    ]
    tool = to_wire_message(
        ChatMessage(role="tool", content="3", additional_kwargs={"tool_call_id": "c1"})
    )
    assert (tool.role, tool.content, tool.tool_call_id) == ("tool", "3", "c1")


def test_tool_message_without_call_id_is_an_error() -> None:
    with pytest.raises(ValueError, match="tool_call_id"):
        to_wire_message(ChatMessage(role="tool", content="3"))


def test_legacy_tool_calls_in_additional_kwargs_still_work() -> None:
    msg = to_wire_message(
        ChatMessage(
            role="assistant",
            content="",
            additional_kwargs={
                "tool_calls": [
                    {"id": "c9", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ]
            },
        )
    )
    assert [(c.id, c.name, c.arguments) for c in msg.tool_calls] == [("c9", "f", {})]


def test_thinking_with_an_id_round_trips_as_a_reasoning_item() -> None:
    msg = to_wire_message(
        ChatMessage(
            role="assistant",
            blocks=[
                ThinkingBlock(content="pondered", additional_information={"id": "rs_1"}),
                ThinkingBlock(content="display only"),
                TextBlock(text="answer"),
            ],
        )
    )
    assert msg.reasoning == [ReasoningItem(id="rs_1", summary=["pondered"])]
    assert msg.content == "answer"


# --- results in ---------------------------------------------------------------------------------


def _result(**kw: Any) -> ChatResult:
    message = kw.pop("message", Message("assistant", "hello"))
    return ChatResult(message=message, finish_reason=kw.pop("finish_reason", "stop"), **kw)


def test_from_result_text_thinking_and_tool_calls() -> None:
    result = _result(
        message=Message(
            "assistant",
            "",
            tool_calls=[
                ToolCall("c1", "add", {"a": 1}, '{"a": 1}'),
                ToolCall("c2", "bad", None, "{oops", "arguments are not valid JSON"),
            ],
            reasoning=[ReasoningItem("rs_1", ["thought"], "enc")],
        ),
        usage=Usage(10, 5, 15, reasoning_tokens=4),
        api="responses",
        response_id="resp_1",
    )
    msg = from_result(result)
    thinking, call1, call2 = msg.blocks
    assert isinstance(thinking, ThinkingBlock)
    assert thinking.content == "thought"
    assert thinking.num_tokens == 4
    assert thinking.additional_information == {"id": "rs_1", "encrypted_content": "enc"}
    assert isinstance(call1, ToolCallBlock) and call1.tool_kwargs == {"a": 1}
    assert isinstance(call2, ToolCallBlock) and call2.tool_kwargs == "{oops"
    assert msg.additional_kwargs["tool_call_errors"] == {"c2": "arguments are not valid JSON"}
    assert msg.additional_kwargs["response_id"] == "resp_1"


def test_response_kwargs_carry_usage_filter_model_and_version() -> None:
    verdict = ContentFilterResults(
        "completion", (CategoryResult("violence", filtered=False, severity="safe"),)
    )
    kw = response_kwargs(
        _result(
            usage=Usage(100, 20, 120, cached_input_tokens=64, reasoning_tokens=8),
            model="gpt-4o-2024-11-20",
            deployment="chat",
            content_filter=[verdict, verdict],
            headers={"x-ms-region": "East US"},
            model_version="2024-11-20",
        )
    )
    assert (kw["prompt_tokens"], kw["completion_tokens"], kw["total_tokens"]) == (100, 20, 120)
    assert kw["usage"]["cached_input_tokens"] == 64
    assert kw["usage"]["reasoning_tokens"] == 8
    assert kw["model"] == "gpt-4o-2024-11-20"
    assert kw["model_version"] == "2024-11-20"
    assert kw["deployment"] == "chat"
    assert kw["content_filter"] == [
        {
            "side": "completion",
            "index": 0,
            "filtered": False,
            "filtered_categories": [],
            "categories": {"violence": {"filtered": False, "severity": "safe"}},
        }
    ]
    assert kw["headers"] == {"x-ms-region": "East US"}


def test_content_filter_data_keeps_distinct_verdicts() -> None:
    safe = ContentFilterResults("prompt", (CategoryResult("hate", False, "safe"),))
    hit = ContentFilterResults("completion", (CategoryResult("hate", True, "high"),))
    data = content_filter_data([safe, hit, hit])
    assert [(d["side"], d["filtered"], d["filtered_categories"]) for d in data] == [
        ("prompt", False, []),
        ("completion", True, ["hate"]),
    ]


def test_stream_folder_is_cumulative_and_final_after_the_finish_reason() -> None:
    folder = StreamFolder(deployment="chat", api="chat")
    steps = [
        StreamDelta(reasoning_text="hmm "),
        StreamDelta(text="Hel"),
        StreamDelta(text="lo", tool_calls=[ToolCallChunk(0, "c1", "get", '{"ci')]),
        StreamDelta(tool_calls=[ToolCallChunk(0, arguments='ty": "Oslo"}')]),
        StreamDelta(finish_reason="tool_calls", model="gpt-4o-2024-11-20"),
        StreamDelta(usage=Usage(7, 3, 10), raw={"usage": {"completion_tokens": 3}}),
    ]
    out = [folder.add(d) for d in steps]
    assert [r.delta for r in out] == ["", "Hel", "lo", "", "", ""]
    assert out[0].additional_kwargs["thinking_delta"] == "hmm "
    partial = out[2]
    assert partial.additional_kwargs["tool_calls_partial"] is True
    [early] = tool_selections(partial, error_on_no_tool_call=False)
    assert (early.tool_name, early.tool_kwargs) == ("get", {})  # '{"ci' holds no key yet
    [later] = tool_selections(out[3], error_on_no_tool_call=False)
    assert later.tool_kwargs == {"city": "Oslo"}
    final = out[-1]
    assert final.message.content == "Hello"
    [selection] = tool_selections(final, error_on_no_tool_call=True)
    assert (selection.tool_name, selection.tool_kwargs) == ("get", {"city": "Oslo"})
    assert final.additional_kwargs["prompt_tokens"] == 7
    assert final.additional_kwargs["model"] == "gpt-4o-2024-11-20"
    assert final.raw == {"usage": {"completion_tokens": 3}}  # the decoded chunk itself


def test_logprobs_per_token_with_alternatives() -> None:
    entry = {
        "token": "hi",
        "logprob": -0.1,
        "bytes": [104, 105],
        "top_logprobs": [
            {"token": "hi", "logprob": -0.1, "bytes": [104, 105]},
            {"token": "hey", "logprob": -2.5, "bytes": None},
        ],
    }
    [alts] = to_logprobs([entry]) or []
    assert [(a.token, a.logprob, a.bytes) for a in alts] == [
        ("hi", -0.1, [104, 105]),
        ("hey", -2.5, []),
    ]
    [[only]] = to_logprobs([{"token": "x", "logprob": -1.0}]) or []
    assert (only.token, only.logprob) == ("x", -1.0)
    assert to_logprobs(None) is None
    chunk = StreamFolder(deployment="d", api="chat").add(StreamDelta(text="hi", logprobs=[entry]))
    assert chunk.logprobs is not None and chunk.logprobs[0][1].token == "hey"


# --- tools --------------------------------------------------------------------------------------


def add(a: int, b: int = 0) -> int:
    """Add two numbers."""
    return a + b


def test_function_tool_to_spec() -> None:
    spec = to_tool_spec(FunctionTool.from_defaults(add))
    assert spec.name == "add"
    assert "Add two numbers" in spec.description
    assert spec.parameters["required"] == ["a"]
    assert spec.strict is None


def test_strict_tool_schema_is_closed_and_requires_everything() -> None:
    spec = to_tool_spec(FunctionTool.from_defaults(add), strict=True)
    assert spec.strict is True
    assert spec.parameters["additionalProperties"] is False
    assert spec.parameters["required"] == ["a", "b"]


def test_openai_style_tool_dict_and_toolspec_pass() -> None:
    spec = to_tool_spec(
        {"type": "function", "function": {"name": "f", "description": "d", "parameters": {}}}
    )
    assert (spec.name, spec.description) == ("f", "d")
    same = ToolSpec("g")
    assert to_tool_spec(same) is same


@pytest.mark.parametrize(
    ("choice", "required", "expected"),
    [
        (None, False, "auto"),
        (None, True, "required"),
        ("none", True, "none"),
        ("add", False, "add"),
        ({"type": "function", "function": {"name": "add"}}, False, "add"),
    ],
)
def test_tool_choice(choice: Any, required: bool, expected: str) -> None:
    assert to_tool_choice(choice, required) == expected


def test_invalid_arguments_raise_naming_the_tool_never_empty_dict() -> None:
    response = ChatResponse(
        message=from_result(
            _result(
                message=Message(
                    "assistant",
                    None,
                    tool_calls=[ToolCall("c1", "book_flight", None, '{"to": "Oslo"', "bad JSON")],
                )
            )
        )
    )
    with pytest.raises(InvalidToolArgumentsError, match="book_flight") as err:
        tool_selections(response, error_on_no_tool_call=True)
    assert err.value.raw_arguments == '{"to": "Oslo"'
    assert err.value.tool_call_id == "c1"


def test_no_tool_call() -> None:
    response = ChatResponse(message=ChatMessage(role="assistant", content="no tools"))
    assert tool_selections(response, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError, match="at least one tool call"):
        tool_selections(response, error_on_no_tool_call=True)


# --- structured output --------------------------------------------------------------------------


class Address(BaseModel):
    city: str
    zip: str | None = None


class Person(BaseModel):
    """A person."""

    name: str
    age: int = Field(description="years")
    home: Address
    tags: list[str] = []


def test_response_format_for_a_pydantic_class_is_strict() -> None:
    fmt = response_format_for(Person)
    assert (fmt.type, fmt.name, fmt.strict, fmt.description) == (
        "json_schema",
        "Person",
        True,
        "A person.",
    )
    schema = fmt.schema
    assert schema is not None
    assert schema["required"] == ["name", "age", "home", "tags"]
    assert schema["additionalProperties"] is False
    address = schema["$defs"]["Address"]
    assert address["required"] == ["city", "zip"]
    assert "default" not in address["properties"]["zip"]
    json.dumps(schema)


class Loose(BaseModel):
    extra: dict[str, int]


def test_open_objects_are_sent_non_strict() -> None:
    assert strict_json_schema(Loose.model_json_schema()) is None
    fmt = response_format_for(Loose)
    assert fmt.strict is None
    assert fmt.schema == Loose.model_json_schema()


def test_to_response_format_accepts_openai_dicts() -> None:
    assert to_response_format({"type": "json_object"}) == ResponseFormat("json_object")
    fmt = to_response_format(
        {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    )
    assert fmt is not None and (fmt.name, fmt.schema) == ("x", {"type": "object"})
    with pytest.raises(ValueError, match="response_format"):
        to_response_format({"type": "yaml"})

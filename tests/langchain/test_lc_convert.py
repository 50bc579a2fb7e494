"""The conversion module: LangChain messages/tools <-> neutral types, results -> messages, and
the content-block translator. Pure functions, no network."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from azoai.content_filter import CategoryResult, ContentFilterResults
from azoai.wire import (
    AudioPart,
    ChatResult,
    FilePart,
    ImagePart,
    Message,
    ReasoningItem,
    StreamDelta,
    TextPart,
    ToolCall,
    ToolCallChunk,
    Usage,
)
from langchain_azoai import _convert

PNG_B64 = base64.b64encode(b"\x89PNG fake").decode()
PDF_B64 = base64.b64encode(b"%PDF-1.4 fake").decode()


# --- messages ----------------------------------------------------------------------------------


def test_roles_names_and_plain_text() -> None:
    out = _convert.to_wire_messages(
        [
            SystemMessage("be brief"),
            HumanMessage("hi", name="ann"),
            AIMessage("hello"),
            ChatMessage(role="developer", content="dev note"),
            ChatMessage(role="human", content="again"),
        ]
    )
    assert [(m.role, m.content, m.name) for m in out] == [
        ("system", "be brief", None),
        ("user", "hi", "ann"),
        ("assistant", "hello", None),
        ("developer", "dev note", None),
        ("user", "again", None),
    ]


def test_text_blocks_collapse_to_a_string() -> None:
    [m] = _convert.to_wire_messages(
        [HumanMessage(["a ", {"type": "text", "text": "b"}, {"type": "text", "text": " c"}])]
    )
    assert m.content == "a b c"


def test_images_by_url_and_base64_in_every_block_shape() -> None:
    [m] = _convert.to_wire_messages(
        [
            HumanMessage(
                [
                    {"type": "text", "text": "look"},
                    {"type": "image", "url": "https://example.org/a.png"},
                    {"type": "image", "base64": PNG_B64, "mime_type": "image/png"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.org/b.png", "detail": "low"},
                    },
                    {
                        "type": "image",
                        "source_type": "base64",
                        "data": PNG_B64,
                        "mime_type": "image/jpeg",
                    },
                ]
            )
        ]
    )
    assert isinstance(m.content, list)
    text, url, b64, oai, v0 = m.content
    assert text == TextPart("look")
    assert url == ImagePart(url="https://example.org/a.png")
    assert b64 == ImagePart(url=f"data:image/png;base64,{PNG_B64}")
    assert oai == ImagePart(url="https://example.org/b.png", detail="low")
    assert v0 == ImagePart(url=f"data:image/jpeg;base64,{PNG_B64}")


def test_pdf_audio_and_file_id() -> None:
    [m] = _convert.to_wire_messages(
        [
            HumanMessage(
                [
                    {
                        "type": "file",
                        "base64": PDF_B64,
                        "mime_type": "application/pdf",
                        "filename": "r.pdf",
                    },
                    {
                        "type": "file",
                        "file": {
                            "filename": "s.pdf",
                            "file_data": f"data:application/pdf;base64,{PDF_B64}",
                        },
                    },
                    {"type": "file", "file_id": "file-123"},
                    {
                        "type": "audio",
                        "base64": base64.b64encode(b"RIFF").decode(),
                        "mime_type": "audio/wav",
                    },
                    {
                        "type": "input_audio",
                        "input_audio": {"data": base64.b64encode(b"ID3").decode(), "format": "mp3"},
                    },
                ]
            )
        ]
    )
    assert isinstance(m.content, list)
    pdf1, pdf2, by_id, wav, mp3 = m.content
    assert pdf1 == FilePart(data=b"%PDF-1.4 fake", mime_type="application/pdf", filename="r.pdf")
    assert pdf2 == FilePart(data=b"%PDF-1.4 fake", mime_type="application/pdf", filename="s.pdf")
    assert by_id == FilePart(file_id="file-123")
    assert wav == AudioPart(data=b"RIFF", format="wav")
    assert mp3 == AudioPart(data=b"ID3", format="mp3")


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"type": "image"}, "url or base64"),
        ({"type": "file", "url": "https://example.org/x.pdf"}, "file URLs are not sent"),
        ({"type": "audio", "base64": "AAAA", "mime_type": "audio/ogg"}, "not supported"),
        ({"type": "file", "base64": "%%%", "mime_type": "application/pdf"}, "not valid base64"),
        ({"type": "hologram", "x": 1}, "not supported"),
    ],
)
def test_unsupported_or_broken_blocks_are_errors(block: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _convert.to_wire_messages([HumanMessage([block])])


def test_media_in_a_system_message_is_an_error() -> None:
    with pytest.raises(ValueError, match="not allowed"):
        _convert.to_wire_messages([SystemMessage([{"type": "image", "url": "https://e.org/a"}])])


def test_function_message_and_unknown_roles_are_errors() -> None:
    with pytest.raises(ValueError, match="FunctionMessage"):
        _convert.to_wire_messages([FunctionMessage(name="f", content="x")])
    with pytest.raises(ValueError, match="role 'robot'"):
        _convert.to_wire_messages([ChatMessage(role="robot", content="x")])


def test_assistant_tool_calls_and_tool_results() -> None:
    ai = AIMessage(
        "",
        tool_calls=[{"name": "add", "args": {"a": 1, "b": "二"}, "id": "c1"}],
        invalid_tool_calls=[
            {
                "name": "add",
                "args": '{"a": 1,',
                "id": "c2",
                "error": "bad json",
                "type": "invalid_tool_call",
            }
        ],
    )
    wire_ai, wire_tool = _convert.to_wire_messages(
        [ai, ToolMessage("3", tool_call_id="c1", status="error")]
    )
    valid, invalid = wire_ai.tool_calls
    assert valid == ToolCall(
        id="c1", name="add", arguments={"a": 1, "b": "二"}, raw_arguments='{"a": 1, "b": "二"}'
    )
    # A call whose arguments did not parse goes back as the model wrote it.
    assert (invalid.id, invalid.arguments, invalid.raw_arguments) == ("c2", None, '{"a": 1,')
    assert (wire_tool.role, wire_tool.tool_call_id, wire_tool.content) == ("tool", "c1", "3")


def test_assistant_list_content_keeps_text_and_drops_foreign_blocks() -> None:
    ai = AIMessage(
        [
            {"type": "text", "text": "some text"},
            {"type": "tool_use", "id": "abc", "name": "f", "input": {"a": 1}},
        ],
        tool_calls=[{"name": "f", "args": {"a": 1}, "id": "abc"}],
    )
    [m] = _convert.to_wire_messages([ai])
    assert m.content == "some text"
    assert [c.id for c in m.tool_calls] == ["abc"]


def test_reasoning_items_round_trip_in_both_output_versions() -> None:
    result = ChatResult(
        message=Message(
            role="assistant",
            content="42",
            reasoning=[
                ReasoningItem(
                    id="rs_1", summary=["thought a", "thought b"], encrypted_content="enc"
                )
            ],
        ),
        finish_reason="stop",
        api="responses",
    )
    v0 = _convert.result_to_message(result)
    assert v0.additional_kwargs["reasoning_content"] == "thought a\n\nthought b"
    blocks = _convert.translate_content(v0)
    assert blocks[0] == {
        "type": "reasoning",
        "id": "rs_1",
        "reasoning": "thought a\n\nthought b",
        "extras": {"encrypted_content": "enc"},
    }
    assert blocks[1] == {"type": "text", "text": "42"}
    [back] = _convert.to_wire_messages([v0])
    assert back.reasoning == [
        ReasoningItem(id="rs_1", summary=["thought a", "thought b"], encrypted_content="enc")
    ]
    # v1: the same message with standard blocks as content.
    v1 = AIMessage(content=blocks, response_metadata={"output_version": "v1"})
    [back1] = _convert.to_wire_messages([v1])
    assert back1.content == "42"
    assert back1.reasoning == [
        ReasoningItem(id="rs_1", summary=["thought a\n\nthought b"], encrypted_content="enc")
    ]


# --- tools and formats -------------------------------------------------------------------------


class Weather(BaseModel):
    """Get the weather."""

    city: str = Field(description="the city")


class WeatherDict(TypedDict):
    """Get the weather."""

    city: str


def weather_fn(city: str) -> str:
    """Get the weather."""
    return city


@tool
def weather_tool(city: str) -> str:
    """Get the weather."""
    return city


@pytest.mark.parametrize("source", [Weather, WeatherDict, weather_fn, weather_tool])
def test_every_tool_kind_formats_to_one_function_spec(source: Any) -> None:
    formatted = _convert.format_tool(source, strict=True)
    [spec] = _convert.to_tool_specs([formatted])
    assert spec.description == "Get the weather."
    assert spec.parameters["properties"]["city"]["type"] == "string"
    assert spec.parameters["additionalProperties"] is False  # strict schemas are closed
    assert spec.strict is True


def test_dict_tools_pass_through_and_built_in_tools_are_kept_apart() -> None:
    raw = {
        "type": "function",
        "function": {"name": "f", "parameters": {"type": "object", "properties": {}}},
    }
    assert _convert.to_tool_specs([_convert.format_tool(raw)])[0].name == "f"
    # a built-in tool is bound as given and travels apart (tests/langchain/test_lc_builtin_tools.py)
    web = _convert.format_tool({"type": "web_search_preview"})
    assert web == {"type": "web_search_preview"}
    assert _convert.to_tool_specs([web]) == [] and _convert.to_builtin_tools([web]) == [web]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, None),
        (False, None),
        ("auto", "auto"),
        ("none", "none"),
        ("any", "required"),
        ("required", "required"),
        (True, "required"),
        ("f", "f"),
        ({"type": "function", "function": {"name": "f"}}, "f"),
        ({"type": "function", "name": "f"}, "f"),
    ],
)
def test_tool_choice(choice: Any, expected: str | None) -> None:
    assert _convert.normalize_tool_choice(choice, ["f", "g"]) == expected


def test_tool_choice_naming_no_bound_tool_is_an_error() -> None:
    with pytest.raises(ValueError, match="names no bound tool"):
        _convert.normalize_tool_choice("h", ["f", "g"])


def test_response_formats() -> None:
    assert _convert.to_response_format(None) is None
    assert _convert.to_response_format({"type": "json_object"}).type == "json_object"  # type: ignore[union-attr]
    fmt = _convert.to_response_format(_convert.json_schema_format(Weather, strict=True))
    assert fmt is not None and fmt.type == "json_schema"
    assert (fmt.name, fmt.strict) == ("Weather", True)
    assert fmt.schema is not None and fmt.schema["required"] == ["city"]
    direct = _convert.to_response_format(WeatherDict)
    assert direct is not None and direct.name == "WeatherDict" and direct.strict is None


# --- results -----------------------------------------------------------------------------------


def _filters() -> list[ContentFilterResults]:
    return [
        ContentFilterResults(
            side="prompt", categories=(CategoryResult("hate", False, severity="safe"),)
        ),
        ContentFilterResults(
            side="completion", categories=(CategoryResult("violence", False, severity="safe"),)
        ),
    ]


def test_result_to_message() -> None:
    result = ChatResult(
        message=Message(
            role="assistant",
            content="",
            tool_calls=[
                ToolCall(id="c1", name="f", arguments={"x": 1}, raw_arguments='{"x": 1}'),
                ToolCall(
                    id="c2", name="g", arguments=None, raw_arguments="{oops", error="not JSON"
                ),
            ],
        ),
        finish_reason="tool_calls",
        usage=Usage(
            input_tokens=10,
            output_tokens=5,
            total_tokens=15,
            cached_input_tokens=4,
            reasoning_tokens=2,
        ),
        model="gpt-4o-2024-11-20",
        deployment="chat",
        response_id="chatcmpl-1",
        system_fingerprint="fp_1",
        content_filter=_filters(),
        headers={"x-ms-region": "East US"},
    )
    msg = _convert.result_to_message(result)
    assert msg.id == "chatcmpl-1"
    assert msg.tool_calls == [{"name": "f", "args": {"x": 1}, "id": "c1", "type": "tool_call"}]
    assert msg.invalid_tool_calls == [
        {"name": "g", "args": "{oops", "id": "c2", "error": "not JSON", "type": "invalid_tool_call"}
    ]
    assert msg.usage_metadata == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
        "input_token_details": {"cache_read": 4},
        "output_token_details": {"reasoning": 2},
    }
    meta = msg.response_metadata
    assert meta["model_provider"] == "azure"
    assert meta["model_name"] == "gpt-4o-2024-11-20"
    assert (meta["finish_reason"], meta["id"], meta["system_fingerprint"]) == (
        "tool_calls",
        "chatcmpl-1",
        "fp_1",
    )
    assert meta["deployment"] == "chat"
    assert meta["prompt_filter_results"] == [
        {
            "prompt_index": 0,
            "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}},
        }
    ]
    assert meta["content_filter_results"] == {"violence": {"filtered": False, "severity": "safe"}}
    assert meta["headers"] == {"x-ms-region": "East US"}
    kinds = [b["type"] for b in msg.content_blocks]
    assert kinds == ["tool_call", "invalid_tool_call"]


def test_refusal_is_kept() -> None:
    result = ChatResult(
        message=Message(role="assistant", content="", refusal="I can't."), finish_reason="stop"
    )
    assert _convert.result_to_message(result).additional_kwargs["refusal"] == "I can't."


@pytest.mark.parametrize(
    ("reported", "deployment", "version", "expected"),
    [
        ("gpt-4o-2024-11-20", "chat", None, "gpt-4o-2024-11-20"),
        (None, "chat", None, "chat"),
        ("gpt-4o", "chat", "2024-08-06", "gpt-4o-2024-08-06"),
        ("gpt-4o-2024-08-06", "chat", "2024-08-06", "gpt-4o-2024-08-06"),
    ],
)
def test_model_name_is_never_empty(
    reported: str | None, deployment: str, version: str | None, expected: str
) -> None:
    assert _convert.display_model_name(reported, deployment, version) == expected


def test_stream_state_puts_usage_and_metadata_on_one_last_chunk() -> None:
    state = _convert.StreamState(deployment="chat")
    deltas = [
        StreamDelta(content_filter=[_filters()[0]], headers={"apim-request-id": "r1"}),
        StreamDelta(text="Hel", response_id="id1", model="gpt-4o-2024-11-20"),
        StreamDelta(text="lo", response_id="id1"),
        StreamDelta(tool_calls=[ToolCallChunk(index=0, id="c1", name="f", arguments='{"a"')]),
        StreamDelta(tool_calls=[ToolCallChunk(index=0, arguments=": 1}")]),
        StreamDelta(reasoning_text="hmm"),
        StreamDelta(finish_reason="tool_calls"),
        StreamDelta(content_filter=[_filters()[1]]),
        StreamDelta(usage=Usage(input_tokens=3, output_tokens=4, total_tokens=7)),
    ]
    chunks = [c for c in (state.chunk(d) for d in deltas) if c is not None]
    assert [c.content for c in chunks] == ["Hel", "lo", "", "", ""]
    assert all(c.usage_metadata is None and c.chunk_position is None for c in chunks)
    last = state.last()
    assert last.chunk_position == "last"
    assert last.usage_metadata is not None and last.usage_metadata["total_tokens"] == 7
    full = chunks[0] + chunks[1:] + last
    assert isinstance(full, AIMessageChunk)
    assert full.text == "Hello"
    assert full.tool_calls == [{"name": "f", "args": {"a": 1}, "id": "c1", "type": "tool_call"}]
    assert full.additional_kwargs["reasoning_content"] == "hmm"
    assert full.usage_metadata is not None and full.usage_metadata["input_tokens"] == 3
    meta = full.response_metadata
    assert (meta["model_name"], meta["finish_reason"], meta["id"]) == (
        "gpt-4o-2024-11-20",
        "tool_calls",
        "id1",
    )
    assert meta["headers"] == {"apim-request-id": "r1"}
    assert "content_filter_results" in meta and "prompt_filter_results" in meta
    assert [b["type"] for b in full.content_blocks] == ["reasoning", "text", "tool_call"]


def test_chunk_blocks_carry_stable_indexes() -> None:
    text = AIMessageChunk(content="a", response_metadata={"model_provider": "azure"})
    call = AIMessageChunk(
        content="",
        tool_call_chunks=[
            {"name": "f", "args": "{", "id": "c1", "index": 1, "type": "tool_call_chunk"}
        ],
        response_metadata={"model_provider": "azure"},
    )
    thought = AIMessageChunk(
        content="",
        additional_kwargs={"reasoning_content": "x"},
        response_metadata={"model_provider": "azure"},
    )
    assert text.content_blocks == [{"type": "text", "text": "a", "index": "lc_txt_0"}]
    assert call.content_blocks == [
        {"type": "tool_call_chunk", "id": "c1", "name": "f", "args": "{", "index": "lc_tc_1"}
    ]
    assert thought.content_blocks == [{"type": "reasoning", "reasoning": "x", "index": "lc_rs_0"}]


def test_json_tool_arguments_keep_unicode() -> None:
    [m] = _convert.to_wire_messages(
        [AIMessage("", tool_calls=[{"name": "f", "args": {"n": "你好"}, "id": "c"}])]
    )
    assert "你好" in m.tool_calls[0].raw_arguments
    assert json.loads(m.tool_calls[0].raw_arguments) == {"n": "你好"}


def test_stream_logprobs_and_target_add_up() -> None:
    state = _convert.StreamState(deployment="chat")
    first = state.chunk(
        StreamDelta(text="a", target="chat-eu", logprobs=[{"token": "a", "logprob": -0.1}])
    )
    second = state.chunk(StreamDelta(text="b", logprobs=[{"token": "b", "logprob": -0.2}]))
    assert first is not None and second is not None
    full = first + second + state.last()
    assert [e["token"] for e in full.response_metadata["logprobs"]["content"]] == ["a", "b"]
    assert full.response_metadata["target"] == "chat-eu"


def test_reasoning_streamed_as_deltas_is_not_repeated_by_the_finished_item() -> None:
    state = _convert.StreamState(deployment="r")
    chunks = [
        state.chunk(StreamDelta(reasoning_text="Think")),
        state.chunk(StreamDelta(reasoning_text="ing.")),
        state.chunk(StreamDelta(reasoning_items=[ReasoningItem(id="rs_9", summary=["Thinking."])])),
        state.chunk(StreamDelta(text="Done")),
    ]
    parts = [c for c in chunks if c is not None]
    full = parts[0] + parts[1:] + state.last()
    assert full.additional_kwargs["reasoning_content"] == "Thinking."
    assert full.content_blocks[0] == {"type": "reasoning", "id": "rs_9", "reasoning": "Thinking."}
    # v1 per-chunk blocks merge by index into one reasoning block with the text once
    from langchain_core.language_models._utils import _update_message_content_to_blocks

    v1 = [_update_message_content_to_blocks(c, "v1") for c in parts]
    merged = v1[0] + v1[1:]
    reasoning = [b for b in merged.content if isinstance(b, dict) and b["type"] == "reasoning"]
    assert len(reasoning) == 1
    assert (reasoning[0]["reasoning"], reasoning[0]["id"]) == ("Thinking.", "rs_9")

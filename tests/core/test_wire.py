"""The dialects as pure translation: neutral request -> body, Azure JSON -> neutral types,
including the stream quirks of facts §5."""

from __future__ import annotations

import json

import pytest

from azoai.config.catalog import lookup_model
from azoai.config.versions import parse_api_version
from azoai.errors import ApiVersionError, ConfigError, InvalidResponseError, RateLimitError
from azoai.wire import (
    ChatRequest,
    FilePart,
    ImagePart,
    Message,
    ReasoningItem,
    ResponseFormat,
    StreamAccumulator,
    TextPart,
    ToolCall,
    ToolSpec,
    parse_tool_arguments,
)
from azoai.wire import chat_completions as cc
from azoai.wire import responses as rs

V1 = parse_api_version("v1")
GPT4O = lookup_model("gpt-4o")
O3 = lookup_model("o3-mini")
WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def test_chat_body_on_v1_carries_the_deployment_as_model() -> None:
    req = ChatRequest(
        messages=[Message("system", "Be brief."), Message("user", "Hi")],
        temperature=0,
        max_tokens=10,
    )
    body, notes = cc.build_body(req, deployment="prod-4o", route="v1", model=GPT4O, version=V1)
    assert body == {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "model": "prod-4o",
        "temperature": 0,
        "max_completion_tokens": 10,
    }
    assert notes == []


def test_chat_body_on_the_deployments_route_has_no_model_and_old_versions_use_max_tokens() -> None:
    req = ChatRequest(messages=[Message("user", "Hi")], max_tokens=5)
    body, _ = cc.build_body(
        req,
        deployment="d",
        route="deployments",
        model=GPT4O,
        version=parse_api_version("2024-06-01"),
    )
    assert "model" not in body and body["max_tokens"] == 5


def test_reasoning_body_uses_developer_role_and_drops_sampling() -> None:
    req = ChatRequest(
        messages=[Message("system", "Rules"), Message("user", "Q")],
        temperature=0.7,
        max_tokens=100,
        reasoning_effort="high",
    )
    body, notes = cc.build_body(req, deployment="r", route="v1", model=O3, version=V1)
    assert body["messages"][0]["role"] == "developer"
    assert (
        "temperature" not in body
        and body["max_completion_tokens"] == 100
        and body["reasoning_effort"] == "high"
    )
    assert any("temperature dropped" in n for n in notes)


def test_tools_tool_choice_and_strict() -> None:
    req = ChatRequest(
        messages=[Message("user", "weather?")],
        tools=[WEATHER, ToolSpec("noop", strict=True)],
        tool_choice="get_weather",
        parallel_tool_calls=False,
    )
    body, _ = cc.build_body(req, deployment="d", route="v1", model=GPT4O, version=V1)
    assert body["tools"][0] == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": WEATHER.parameters,
            "description": "Weather for a city",
        },
    }
    assert body["tools"][1]["function"]["strict"] is True
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["parallel_tool_calls"] is False
    for choice, wire in (
        ("any", "required"),
        (True, "required"),
        ("auto", "auto"),
        ("none", "none"),
    ):
        b, _ = cc.build_body(
            ChatRequest(messages=[Message("user", "x")], tools=[WEATHER], tool_choice=choice),
            deployment="d",
            route="v1",
            model=GPT4O,
            version=V1,
        )
        assert b["tool_choice"] == wire
    with pytest.raises(ConfigError, match="names no bound tool"):
        cc.build_body(
            ChatRequest(messages=[Message("user", "x")], tools=[WEATHER], tool_choice="other"),
            deployment="d",
            route="v1",
            model=GPT4O,
            version=V1,
        )


def test_multimodal_and_tool_history() -> None:
    msgs = [
        Message(
            "user",
            [
                TextPart("What is this?"),
                ImagePart(url="https://x/img.png", detail="low"),
                ImagePart(data=b"\x89PNG", mime_type="image/png"),
                FilePart(data=b"%PDF", filename="a.pdf"),
            ],
        ),
        Message(
            "assistant",
            None,
            tool_calls=[ToolCall("call_1", "get_weather", {"city": "Paris"}, '{"city": "Paris"}')],
        ),
        Message("tool", "18C", tool_call_id="call_1"),
    ]
    body, _ = cc.build_body(
        ChatRequest(messages=msgs), deployment="d", route="v1", model=GPT4O, version=V1
    )
    parts = body["messages"][0]["content"]
    assert parts[1] == {
        "type": "image_url",
        "image_url": {"url": "https://x/img.png", "detail": "low"},
    }
    assert parts[2]["image_url"]["url"].startswith("data:image/png;base64,")
    assert parts[3]["file"]["file_data"].startswith("data:application/pdf;base64,")
    assert body["messages"][1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    assert body["messages"][2] == {"role": "tool", "tool_call_id": "call_1", "content": "18C"}
    with pytest.raises(ApiVersionError, match="image inputs"):
        cc.build_body(
            ChatRequest(messages=msgs[:1]),
            deployment="d",
            route="deployments",
            model=GPT4O,
            version=parse_api_version("2023-05-15"),
        )


def test_json_schema_response_format_and_stream_options() -> None:
    req = ChatRequest(
        messages=[Message("user", "x")],
        response_format=ResponseFormat(
            "json_schema", {"type": "object"}, name="Person", strict=True
        ),
    )
    body, _ = cc.build_body(req, deployment="d", route="v1", model=GPT4O, version=V1, stream=True)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Person", "schema": {"type": "object"}, "strict": True},
    }
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_extra_body_is_merged_last() -> None:
    body, _ = cc.build_body(
        ChatRequest(messages=[Message("user", "x")], extra_body={"data_sources": [1]}),
        deployment="d",
        route="v1",
        model=GPT4O,
        version=V1,
    )
    assert body["data_sources"] == [1]


AZURE_RESPONSE = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-2024-08-06",
    "system_fingerprint": "fp_1",
    "prompt_filter_results": [
        {
            "prompt_index": 0,
            "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}},
        }
    ],
    "choices": [
        {
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Par'},
                    },
                ],
            },
            "content_filter_results": {"violence": {"filtered": False, "severity": "safe"}},
        }
    ],
    "usage": {
        "prompt_tokens": 20,
        "completion_tokens": 5,
        "total_tokens": 25,
        "prompt_tokens_details": {"cached_tokens": 8},
        "completion_tokens_details": {"reasoning_tokens": 3},
    },
}


def test_parse_response() -> None:
    r = cc.parse_response(AZURE_RESPONSE, deployment="prod-4o", headers={"x-ms-region": "East US"})
    assert (
        r.model == "gpt-4o-2024-08-06"
        and r.deployment == "prod-4o"
        and r.response_id == "chatcmpl-1"
    )
    assert r.finish_reason == "tool_calls" and r.text == ""
    good, bad = r.tool_calls
    assert good.valid and good.arguments == {"city": "Paris"}
    assert (
        not bad.valid
        and bad.arguments is None
        and bad.raw_arguments == '{"city": "Par'
        and "not valid JSON" in (bad.error or "")
    )
    assert r.usage is not None and (r.usage.cached_input_tokens, r.usage.reasoning_tokens) == (8, 3)
    assert [f.side for f in r.content_filter] == ["prompt", "completion"]
    assert r.headers == {"x-ms-region": "East US"} and r.raw is AZURE_RESPONSE


@pytest.mark.parametrize("body", [None, [], {}, {"choices": []}, {"choices": ["x"]}])
def test_malformed_responses_are_typed_errors(body: object) -> None:
    with pytest.raises(InvalidResponseError):
        cc.parse_response(body)


@pytest.mark.parametrize(
    ("raw", "args", "error"),
    [
        ('{"a": 1}', {"a": 1}, None),
        ("", {}, None),
        (None, {}, None),
        ({"a": 1}, {"a": 1}, None),
        ("[1, 2]", None, "must be a JSON object"),
        ("{bad", None, "not valid JSON"),
        ("null", None, "must be a JSON object"),
    ],
)
def test_tool_argument_parsing_never_silently_empty(
    raw: object, args: object, error: str | None
) -> None:
    a, _, e = parse_tool_arguments(raw)
    assert a == args
    assert (e is None) if error is None else (error in (e or ""))


# Azure's stream (facts §5.2): prompt-annotation chunk, content, tool-call fragments,
# annotation-only chunk, finish, usage chunk.
STREAM = [
    {
        "id": "",
        "object": "",
        "created": 0,
        "model": "",
        "prompt_filter_results": [
            {
                "prompt_index": 0,
                "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}},
            }
        ],
        "choices": [],
        "usage": None,
    },
    {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {"index": 0, "finish_reason": None, "delta": {"role": "assistant", "content": ""}}
        ],
    },
    {
        "id": "c1",
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": None, "delta": {"content": "Hel"}}],
    },
    {
        "id": "c1",
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": None, "delta": {"content": "lo"}}],
    },
    {
        "id": "c1",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": ""},
                        }
                    ]
                },
            }
        ],
    },
    {
        "id": "c1",
        "choices": [
            {
                "index": 0,
                "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"x":'}}]},
            }
        ],
    },
    {
        "id": "c1",
        "choices": [
            {"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": " 1}"}}]}}
        ],
    },
    {
        "id": "",
        "object": "",
        "created": 0,
        "model": "",
        "choices": [
            {
                "index": 0,
                "finish_reason": None,
                "content_filter_results": {"violence": {"filtered": False, "severity": "safe"}},
                "content_filter_offsets": {"check_offset": 0, "start_offset": 0, "end_offset": 5},
            }
        ],
    },
    {"id": "c1", "choices": [{"index": 0, "finish_reason": "tool_calls", "delta": {}}]},
    {
        "id": "c1",
        "choices": [],
        "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
    },
]


def test_stream_quirks_fold_into_one_result() -> None:
    acc = StreamAccumulator(deployment="d")
    deltas = [d for d in (cc.parse_chunk(c) for c in STREAM) if d is not None]
    assert len(deltas) == len(STREAM) - 1  # the role-only chunk carries nothing
    for d in deltas:
        acc.add(d)
    r = acc.result()
    assert (
        r.text == "Hello"
        and r.finish_reason == "tool_calls"
        and r.model == "gpt-4o-2024-08-06"
        and r.response_id == "c1"
    )
    assert r.tool_calls[0].arguments == {"x": 1} and r.tool_calls[0].id == "call_1"
    assert r.usage is not None and r.usage.total_tokens == 13
    assert [f.side for f in r.content_filter] == ["prompt", "completion"]
    assert r.content_filter[1].offsets == {"check_offset": 0, "start_offset": 0, "end_offset": 5}


def test_prompt_annotations_spelling_and_choice_without_delta() -> None:
    d = cc.parse_chunk(
        {
            "id": "",
            "prompt_annotations": [{"prompt_index": 0, "content_filter_results": {}}],
            "choices": [],
        }
    )
    assert d is not None and d.content_filter[0].side == "prompt"
    assert cc.parse_chunk({"choices": [{"index": 0}]}) is None
    with pytest.raises(InvalidResponseError):
        cc.parse_chunk("garbage")


# --- Responses ----------------------------------------------------------------------------------


def test_responses_body() -> None:
    msgs = [
        Message("system", "Be brief."),
        Message("user", [TextPart("Hi"), ImagePart(url="https://x/i.png")]),
        Message(
            "assistant",
            "Calling",
            tool_calls=[ToolCall("call_1", "get_weather", {"city": "Paris"}, "")],
            reasoning=[ReasoningItem("rs_1", ["thought"], "enc")],
        ),
        Message("tool", "18C", tool_call_id="call_1"),
    ]
    req = ChatRequest(
        messages=msgs,
        tools=[WEATHER],
        tool_choice="any",
        max_tokens=50,
        temperature=0.3,
        reasoning_effort="low",
        reasoning_summary="auto",
        store=False,
        previous_response_id="resp_0",
        response_format=ResponseFormat("json_schema", {"type": "object"}, name="Out", strict=True),
    )
    body, notes = rs.build_body(req, deployment="r", model=O3, version=V1, stream=True)
    assert body["model"] == "r" and body["instructions"] == "Be brief."
    assert body["input"][0] == {
        "type": "message",
        "role": "user",
        "content": [
            {"type": "input_text", "text": "Hi"},
            {"type": "input_image", "image_url": "https://x/i.png", "detail": "auto"},
        ],
    }
    assert body["input"][1] == {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": "thought"}],
        "encrypted_content": "enc",
    }
    assert body["input"][2]["content"] == [{"type": "output_text", "text": "Calling"}]
    assert body["input"][3] == {
        "type": "function_call",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }
    assert body["input"][4] == {
        "type": "function_call_output",
        "call_id": "call_1",
        "output": "18C",
    }
    assert body["tools"][0]["name"] == "get_weather" and body["tool_choice"] == "required"
    assert body["max_output_tokens"] == 50 and "temperature" not in body
    assert body["reasoning"] == {"effort": "low", "summary": "auto"}
    assert body["text"] == {
        "format": {
            "type": "json_schema",
            "name": "Out",
            "schema": {"type": "object"},
            "strict": True,
        }
    }
    assert (
        body["store"] is False
        and body["previous_response_id"] == "resp_0"
        and body["stream"] is True
    )
    assert notes


RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "status": "completed",
    "model": "o3-mini",
    "output": [
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "thinking"}],
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": "It is "},
                {"type": "output_text", "text": "sunny."},
            ],
        },
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_9",
            "name": "get_weather",
            "arguments": '{"city":"Oslo"}',
        },
    ],
    "usage": {
        "input_tokens": 10,
        "output_tokens": 7,
        "total_tokens": 17,
        "input_tokens_details": {"cached_tokens": 2},
        "output_tokens_details": {"reasoning_tokens": 4},
    },
}


def test_parse_responses_result() -> None:
    r = rs.parse_response(RESPONSE, deployment="r")
    assert (
        r.text == "It is sunny." and r.finish_reason == "tool_calls" and r.response_id == "resp_1"
    )
    assert r.tool_calls[0].id == "call_9" and r.tool_calls[0].arguments == {"city": "Oslo"}
    assert r.message.reasoning[0].summary == ["thinking"]
    assert r.usage is not None and (r.usage.cached_input_tokens, r.usage.reasoning_tokens) == (2, 4)
    incomplete = dict(
        RESPONSE, status="incomplete", incomplete_details={"reason": "max_output_tokens"}, output=[]
    )
    assert rs.parse_response(incomplete).finish_reason == "length"


def test_responses_stream_events() -> None:
    events = [
        {"type": "response.created", "response": {"id": "resp_1", "model": "o3-mini"}},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"type": "reasoning", "id": "rs_1"},
        },
        {"type": "response.reasoning_summary_text.delta", "delta": "hmm"},
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [{"type": "summary_text", "text": "hmm"}],
            },
        },
        {"type": "response.output_text.delta", "output_index": 1, "delta": "Hi"},
        {
            "type": "response.output_item.added",
            "output_index": 2,
            "item": {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": ""},
        },
        {"type": "response.function_call_arguments.delta", "output_index": 2, "delta": '{"a"'},
        {"type": "response.function_call_arguments.delta", "output_index": 2, "delta": ": 2}"},
        {
            "type": "response.completed",
            "response": {
                "id": "resp_1",
                "status": "completed",
                "output": [{"type": "function_call"}],
                "usage": {"input_tokens": 3, "output_tokens": 2},
            },
        },
    ]
    acc = StreamAccumulator(api="responses")
    for e in events:
        d = rs.parse_event(e)
        if d is not None:
            acc.add(d)
    r = acc.result()
    assert r.text == "Hi" and r.finish_reason == "tool_calls" and r.response_id == "resp_1"
    assert r.tool_calls[0].arguments == {"a": 2} and r.message.reasoning[0].id == "rs_1"
    assert r.usage is not None and r.usage.total_tokens == 5


def test_responses_failures_are_typed() -> None:
    with pytest.raises(RateLimitError):
        rs.parse_event(
            {
                "type": "response.failed",
                "response": {"error": {"code": "rate_limit_exceeded", "message": "slow down"}},
            }
        )
    with pytest.raises(Exception, match="previous_response_not_found"):
        rs.parse_event(
            {
                "type": "error",
                "status": 400,
                "error": {"code": "previous_response_not_found", "message": "nope"},
            }
        )
    with pytest.raises(InvalidResponseError):
        rs.parse_response({"output": "x"})


def test_bodies_are_json_serialisable() -> None:
    req = ChatRequest(messages=[Message("user", "héllo")])
    body, _ = cc.build_body(req, deployment="d", route="v1", model=GPT4O, version=V1)
    assert json.loads(json.dumps(body))["messages"][0]["content"] == "héllo"


def test_logprobs_are_neutral_data() -> None:
    lp = {"content": [{"token": "Hi", "logprob": -0.1, "top_logprobs": []}]}
    body = dict(
        AZURE_RESPONSE,
        choices=[
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "Hi"},
                "logprobs": lp,
            }
        ],
    )
    assert cc.parse_response(body).logprobs == lp["content"]
    d = cc.parse_chunk(
        {"id": "c", "choices": [{"index": 0, "delta": {"content": "Hi"}, "logprobs": lp}]}
    )
    assert d is not None and d.logprobs == lp["content"]
    acc = StreamAccumulator()
    acc.add(d)
    acc.add(d)
    assert acc.result().logprobs == lp["content"] * 2


def test_a_responses_answer_incomplete_for_the_content_filter_is_read_as_filtered() -> None:
    # the spec's shape (2025-04-01-preview: incomplete_details.reason "content_filter"), beside
    # the response.failed form the emulator plays (tests/core/test_filters_usage_schema.py)
    body = {
        "id": "resp_1",
        "object": "response",
        "status": "incomplete",
        "incomplete_details": {"reason": "content_filter"},
        "model": "gpt-4o",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "incomplete",
                "content": [{"type": "output_text", "text": "a b", "annotations": []}],
            }
        ],
        "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
    }
    result = rs.parse_response(body, deployment="d", headers={})
    assert result.finish_reason == "content_filter"
    assert result.text == "a b"

"""The Responses API: items, tools, reasoning, stored state, structured output and streaming."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest
from emu_helpers import sse_payloads
from emu_spec import validate
from openai import AzureOpenAI, OpenAI

from azoai_emulator import Emulator

RESPONSES = "/openai/v1/responses"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def create(http: httpx.Client, **body: Any) -> dict[str, Any]:
    r = http.post(RESPONSES, json=body)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def test_text_response_with_the_sdk(v1: OpenAI) -> None:
    r = v1.responses.create(model="chat", input="What is 6 * 7?")
    assert r.output_text == "42"
    assert r.status == "completed"
    assert r.model == "gpt-4o-2024-11-20"
    assert r.usage is not None
    assert r.usage.output_tokens == 1
    assert r.usage.total_tokens == r.usage.input_tokens + 1
    assert [item.type for item in r.output] == ["message"]


def test_bodies_validate_against_the_preview_spec(http: httpx.Client) -> None:
    for body in (
        {"model": "chat", "input": "hello"},
        {"model": "reasoner", "input": "hello", "reasoning": {"effort": "high", "summary": "auto"}},
        {"model": "chat", "input": "weather in Oslo", "tools": [WEATHER]},
        {"model": "chat", "input": "Say 'a b c d'", "max_output_tokens": 2},
    ):
        validate(create(http, **body), "response")


def test_instructions_and_input_items(http: httpx.Client) -> None:
    r = create(
        http,
        model="chat",
        instructions="Use this context. Mount Everest is 8849 metres high. K2 is in Pakistan.",
        input=[
            {
                "role": "user",
                "content": [{"type": "input_text", "text": "How high is Mount Everest?"}],
            },
        ],
    )
    assert r["output"][0]["content"][0]["text"] == "Mount Everest is 8849 metres high."
    assert r["instructions"].startswith("Use this context")


def test_function_call_round_trip_with_previous_response_id(v1: OpenAI) -> None:
    first = v1.responses.create(
        model="chat", input="What's the weather in Lisbon?", tools=[WEATHER]
    )  # type: ignore[list-item]
    [call] = [item for item in first.output if item.type == "function_call"]
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Lisbon"}
    assert call.id.startswith("fc_")
    second = v1.responses.create(
        model="chat",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 25 C"}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert second.output_text == "sunny, 25 C"
    assert second.previous_response_id == first.id


def test_stateless_function_call_items(http: httpx.Client) -> None:
    r = create(
        http,
        model="chat",
        input=[
            {"role": "user", "content": "weather in Lima?"},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": '{"city":"Lima"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "foggy"},
        ],
        tools=[WEATHER],
    )
    assert r["output"][0]["content"][0]["text"] == "foggy"
    orphan = http.post(
        RESPONSES,
        json={
            "model": "chat",
            "input": [{"type": "function_call_output", "call_id": "nope", "output": "x"}],
        },
    )
    assert (
        orphan.json()["error"]["message"]
        == "No tool call found for function call output with call_id nope."
    )


def test_store_false_is_not_remembered(http: httpx.Client) -> None:
    r = create(http, model="chat", input="hi", store=False)
    follow = http.post(
        RESPONSES, json={"model": "chat", "input": "again", "previous_response_id": r["id"]}
    )
    assert follow.status_code == 400
    assert follow.json()["error"] == {
        "message": f"Previous response with id '{r['id']}' not found.",
        "type": "invalid_request_error",
        "param": "previous_response_id",
        "code": "previous_response_not_found",
    }
    assert http.get(f"{RESPONSES}/{r['id']}").status_code == 404


def test_conversation_state_carries_over(http: httpx.Client) -> None:
    first = create(http, model="chat", input="My name is Linus.")
    second = create(http, model="chat", input="What is my name?", previous_response_id=first["id"])
    assert "Linus" in second["output"][0]["content"][0]["text"]


def test_get_delete_and_input_items(http: httpx.Client) -> None:
    r = create(http, model="chat", input="hello")
    assert http.get(f"{RESPONSES}/{r['id']}").json() == r
    items = http.get(f"{RESPONSES}/{r['id']}/input_items").json()
    assert items["object"] == "list"
    assert items["data"][0]["content"][0]["text"] == "hello"
    assert http.delete(f"{RESPONSES}/{r['id']}").json() == {
        "id": r["id"],
        "object": "response",
        "deleted": True,
    }
    assert http.get(f"{RESPONSES}/{r['id']}").status_code == 404


def test_reasoning_items_and_rules(http: httpx.Client) -> None:
    r = create(http, model="reasoner", input="hi", reasoning={"effort": "low", "summary": "auto"})
    reasoning, message = r["output"]
    assert reasoning["type"] == "reasoning"
    assert reasoning["summary"][0]["type"] == "summary_text"
    assert message["type"] == "message"
    assert r["usage"]["output_tokens_details"]["reasoning_tokens"] == 64
    assert r["reasoning"]["effort"] == "low"
    rejected = http.post(RESPONSES, json={"model": "reasoner", "input": "hi", "temperature": 0.1})
    assert (
        rejected.json()["error"]["message"]
        == "Unsupported parameter: 'temperature' is not supported with this model."
    )
    chat_effort = http.post(
        RESPONSES, json={"model": "chat", "input": "hi", "reasoning": {"effort": "low"}}
    )
    assert chat_effort.json()["error"]["param"] == "reasoning.effort"


def test_json_schema_text_format(v1: OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    r = v1.responses.create(
        model="chat",
        input="Paris has 2102650 people",
        text={"format": {"type": "json_schema", "name": "city", "schema": schema, "strict": True}},
    )
    value = json.loads(r.output_text)
    jsonschema.validate(value, schema)
    assert value == {"city": "Paris", "population": 2102650}


def test_output_limit_makes_it_incomplete(http: httpx.Client) -> None:
    r = create(http, model="chat", input="Say 'one two three four'", max_output_tokens=2)
    assert r["status"] == "incomplete"
    assert r["incomplete_details"] == {"reason": "max_output_tokens"}
    assert r["output"][0]["content"][0]["text"] == "one two"


def test_stream_event_sequence_for_text(http: httpx.Client) -> None:
    r = http.post(
        RESPONSES, json={"model": "reasoner", "input": "Say 'so it goes'", "stream": True}
    )
    events = sse_payloads(r.text)
    names = [line[len("event: ") :] for line in r.text.splitlines() if line.startswith("event: ")]
    assert names == [e["type"] for e in events]
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert (
        "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
        == "so it goes"
    )
    assert events[0]["response"]["status"] == "in_progress"
    assert events[-1]["response"]["status"] == "completed"
    assert "[DONE]" not in r.text
    for event in events:
        validate(event, "responseStreamEvent")


def test_stream_event_sequence_for_a_function_call(v1: OpenAI) -> None:
    events = list(
        v1.responses.create(model="chat", input="weather in Quito", tools=[WEATHER], stream=True)
    )  # type: ignore[list-item]
    kinds = [e.type for e in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert "response.function_call_arguments.delta" in kinds
    assert kinds[-3:] == [
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")  # type: ignore[union-attr]
    assert json.loads(deltas) == {"city": "Quito"}


def test_dated_responses_route(emu: Emulator) -> None:
    azure = AzureOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        api_version="2025-04-01-preview",
        max_retries=0,
    )
    r = azure.responses.create(model="chat", input="Say 'dated'")
    assert r.output_text == "dated"
    assert azure.responses.retrieve(r.id).id == r.id
    assert emu.requests[0].path == "/openai/responses"
    assert emu.requests[0].deployment == "chat"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "chat"}, "Missing required parameter: 'input'."),
        (
            {"model": "chat", "input": "x", "tools": [{"type": "local_shell"}]},
            "Invalid value: 'local_shell'.",
        ),
        (
            {"model": "chat", "input": "x", "tool_choice": {"type": "function", "name": "nope"}},
            "Tool choice 'nope' not found",
        ),
        (
            {"model": "chat", "input": [{"role": "robot", "content": "x"}]},
            "Invalid value: 'robot'.",
        ),
        (
            {"model": "chat", "input": "x", "frobnicate": True},
            "Unrecognized request argument supplied: frobnicate",
        ),
    ],
)
def test_request_validation(http: httpx.Client, body: dict[str, Any], message: str) -> None:
    r = http.post(RESPONSES, json=body)
    assert r.status_code == 400
    assert message in r.json()["error"]["message"]

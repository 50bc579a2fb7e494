"""Chat Completions: content, tools, structured output, limits, reasoning rules, api-version
rules, vision, scripted replies, and conformance with the OpenAPI specs."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest
from emu_helpers import CHAT, V1_CHAT, sse_payloads
from emu_spec import PREVIEW, STABLE, validate
from openai import AzureOpenAI, OpenAI

from azoai_emulator import Emulator

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search_docs",
        "description": "Search the documentation",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    },
}
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0},
        "skills": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "age", "skills"],
    "additionalProperties": False,
}
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def dated(deployment: str, version: str = "2024-10-21") -> str:
    return f"/openai/deployments/{deployment}/chat/completions?api-version={version}"


def error_of(r: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = r.json()["error"]
    return body


# --- shapes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "spec"), [("2024-10-21", STABLE), ("2025-04-01-preview", PREVIEW)]
)
def test_bodies_validate_against_the_spec(http: httpx.Client, version: str, spec: str) -> None:
    plain = http.post(dated("chat", version), json={"messages": user("hello")}).json()
    tools = http.post(
        dated("chat", version), json={"messages": user("weather in Paris"), "tools": [WEATHER]}
    ).json()
    for body in (plain, tools):
        validate(body, "createChatCompletionResponse", spec=spec)


def test_v1_bodies_validate_against_the_preview_spec(http: httpx.Client) -> None:
    body = http.post(V1_CHAT, json={"model": "reasoner", "messages": user("hello")}).json()
    validate(body, "createChatCompletionResponse", spec=PREVIEW)


def test_annotations_and_usage(azure: AzureOpenAI) -> None:
    r = azure.chat.completions.create(model="chat", messages=user("Say 'a b c'"))
    raw = r.model_dump()
    assert raw["prompt_filter_results"][0]["content_filter_results"]["jailbreak"] == {
        "filtered": False,
        "detected": False,
    }
    verdict = raw["choices"][0]["content_filter_results"]
    assert verdict["violence"] == {"filtered": False, "severity": "safe"}
    assert verdict["protected_material_text"] == {"filtered": False, "detected": False}
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None
    assert r.usage.completion_tokens == 3
    assert r.usage.total_tokens == r.usage.prompt_tokens + 3
    assert r.usage.prompt_tokens_details is not None
    assert r.usage.prompt_tokens_details.cached_tokens == 0
    assert r.usage.completion_tokens_details is not None
    assert r.usage.completion_tokens_details.reasoning_tokens == 0


def test_rag_answer_through_the_sdk(v1: OpenAI) -> None:
    system = "Answer with the context. The Eiffel Tower is 330 metres tall. The Louvre is the world's most-visited museum."
    r = v1.chat.completions.create(
        model="chat",
        messages=[
            {"role": "system", "content": system},
            {"role": "user", "content": "How tall is the Eiffel Tower?"},
        ],
    )
    assert r.choices[0].message.content == "The Eiffel Tower is 330 metres tall."


def test_llamaindex_rag_prompt_quotes_the_context_text(v1: OpenAI) -> None:
    prompt = (
        "Context information is below.\n---------------------\n"
        "file_path: /data/capital_city_of_france.txt\n\n"
        "The Eiffel Tower opened in 1889. Paris is the capital of France.\n"
        "---------------------\n"
        "Given the context information and not prior knowledge, answer the query.\n"
        "Query: What is the capital city of France?\nAnswer: "
    )
    r = v1.chat.completions.create(model="chat", messages=user(prompt))  # type: ignore[arg-type]
    assert r.choices[0].message.content == "Paris is the capital of France."
    labelled = "Context: Paris is the capital of France. Berlin is in Germany.\n\nWhat is the capital of France?"
    r = v1.chat.completions.create(model="chat", messages=user(labelled))  # type: ignore[arg-type]
    assert r.choices[0].message.content == "Paris is the capital of France."


# --- tools ---------------------------------------------------------------------------------------


def test_tool_call_and_answer_after_the_result(azure: AzureOpenAI) -> None:
    messages: list[Any] = user("What's the weather in Paris?")
    first = azure.chat.completions.create(model="chat", messages=messages, tools=[WEATHER, SEARCH])  # type: ignore[list-item]
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    [call] = choice.message.tool_calls
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "22 C"},
    ]
    second = azure.chat.completions.create(model="chat", messages=messages, tools=[WEATHER, SEARCH])  # type: ignore[list-item]
    assert second.choices[0].message.content == "22 C"
    assert second.choices[0].finish_reason == "stop"


def test_parallel_tool_calls(http: httpx.Client) -> None:
    body = {"messages": user("weather in Paris and in Tokyo?"), "tools": [WEATHER]}
    calls = http.post(CHAT, json=body).json()["choices"][0]["message"]["tool_calls"]
    assert [json.loads(c["function"]["arguments"])["city"] for c in calls] == ["Paris", "Tokyo"]
    single = http.post(CHAT, json={**body, "parallel_tool_calls": False}).json()
    assert len(single["choices"][0]["message"]["tool_calls"]) == 1


def test_a_capitalised_request_word_is_not_an_extra_call(http: httpx.Client) -> None:
    body = {"messages": user("Weather in Lisbon and in Madrid?"), "tools": [WEATHER]}
    calls = http.post(CHAT, json=body).json()["choices"][0]["message"]["tool_calls"]
    assert [json.loads(c["function"]["arguments"])["city"] for c in calls] == ["Lisbon", "Madrid"]


def test_unicode_names_in_tool_arguments(azure: AzureOpenAI) -> None:
    """langchain-tests' test_unicode_tool_call_integration (request LC-2)."""
    customer = {
        "type": "function",
        "function": {
            "name": "unicode_customer",
            "description": "Tool for creating a customer with Unicode name.",
            "parameters": {
                "type": "object",
                "properties": {
                    "customer_name": {"type": "string"},
                    "description": {"type": "string"},
                },
                "required": ["customer_name", "description"],
            },
        },
    }
    for text, name in [
        (
            "Create a customer named '你好啊集团' (Hello Group) - a Chinese technology company",
            "你好啊集团",
        ),
        (
            "Create a customer named 'こんにちは株式会社' (Hello Corporation) - a Japanese company",
            "こんにちは株式会社",
        ),
    ]:
        r = azure.chat.completions.create(
            model="chat",
            messages=user(text),
            tools=[customer],
            tool_choice="required",  # type: ignore[arg-type,list-item]
        )
        [call] = r.choices[0].message.tool_calls or []
        assert call.function.name == "unicode_customer"  # type: ignore[union-attr]
        assert name in call.function.arguments  # type: ignore[union-attr]
        assert json.loads(call.function.arguments)["customer_name"] == name  # type: ignore[union-attr]


def test_tool_choice_modes(http: httpx.Client) -> None:
    base = {"messages": user("weather in Paris"), "tools": [WEATHER, SEARCH]}
    none = http.post(CHAT, json={**base, "tool_choice": "none"}).json()["choices"][0]
    assert none["finish_reason"] == "stop"
    assert "tool_calls" not in none["message"]
    required = http.post(
        CHAT,
        json={"messages": user("tell me a story"), "tools": [SEARCH], "tool_choice": "required"},
    )
    assert (
        required.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"]
        == "search_docs"
    )
    named = http.post(
        CHAT,
        json={**base, "tool_choice": {"type": "function", "function": {"name": "search_docs"}}},
    )
    call = named.json()["choices"][0]["message"]["tool_calls"][0]["function"]
    assert call["name"] == "search_docs"
    assert json.loads(call["arguments"]) == {"query": "weather in Paris"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"messages": user("x"), "tool_choice": "auto"},
            "'tool_choice' is only allowed when 'tools' are specified.",
        ),
        (
            {"messages": user("x"), "parallel_tool_calls": True},
            "'parallel_tool_calls' is only allowed when 'tools' are specified.",
        ),
        ({"messages": user("x"), "tools": []}, "Invalid 'tools': empty array."),
        ({"messages": user("x"), "tools": [WEATHER] * 129}, "array too long"),
        (
            {
                "messages": user("x"),
                "tools": [{"type": "function", "function": {"name": "bad name"}}],
            },
            "does not match pattern",
        ),
        (
            {
                "messages": user("x"),
                "tools": [WEATHER],
                "tool_choice": {"type": "function", "function": {"name": "nope"}},
            },
            "no function named 'nope'",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {"role": "tool", "tool_call_id": "c1", "content": "y"},
                ]
            },
            "messages with role 'tool' must be a response to a preceeding message with 'tool_calls'",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "f", "arguments": "{}"},
                            }
                        ],
                    },
                    {"role": "user", "content": "y"},
                ]
            },
            "The following tool_call_ids did not have response messages: c1",
        ),
        ({"messages": []}, "Invalid 'messages': empty array."),
        ({"messages": [{"role": "robot", "content": "x"}]}, "Invalid value: 'robot'."),
        ({"messages": [{"role": "user", "content": None}]}, "expected a string, got null"),
        (
            {"messages": user("x"), "stop": ["a", "b", "c", "d", "e"]},
            "Invalid 'stop': array too long.",
        ),
        ({"messages": user("x"), "temperature": 3}, "Expected a value <= 2, but got 3 instead."),
        (
            {"messages": user("x"), "stream_options": {"include_usage": True}},
            "only allowed when 'stream' is enabled",
        ),
        (
            {"messages": user("x"), "max_tokens": 100_000},
            "max_tokens is too large: 100000. This model supports at most 16384",
        ),
        (
            {"messages": user("x"), "frobnicate": 1},
            "Unrecognized request argument supplied: frobnicate",
        ),
        (
            {"messages": user("x"), "data_sources": []},
            "Unrecognized request argument supplied: data_sources",
        ),
    ],
)
def test_request_validation(http: httpx.Client, body: dict[str, Any], message: str) -> None:
    r = http.post(CHAT, json=body)
    assert r.status_code == 400, r.text
    assert message in error_of(r)["message"]
    assert error_of(r)["type"] == "invalid_request_error"


def test_context_length(http: httpx.Client) -> None:
    r = http.post(dated("chat-mini"), json={"messages": user("word " * 127_990), "max_tokens": 100})
    error = error_of(r)
    assert error["code"] == "context_length_exceeded"
    assert error["message"].startswith(
        "This model's maximum context length is 128000 tokens. However, you requested"
    )


# --- structured output ---------------------------------------------------------------------------


def test_json_schema_reply_validates(azure: AzureOpenAI) -> None:
    r = azure.chat.completions.create(
        model="chat",
        messages=user("Describe Grace, aged 85, who knows COBOL"),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": PERSON, "strict": True},
        },
    )
    value = json.loads(r.choices[0].message.content or "")
    jsonschema.validate(value, PERSON)
    assert (value["name"], value["age"]) == ("Grace", 85)


def test_strict_schema_rules(http: httpx.Client) -> None:
    loose = {**PERSON, "additionalProperties": True}
    r = http.post(
        CHAT,
        json={
            "messages": user("x"),
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "p", "schema": loose, "strict": True},
            },
        },
    )
    assert error_of(r)["message"] == (
        "Invalid schema for response_format 'p': In context=(), 'additionalProperties' is required to be supplied "
        "and to be false."
    )
    partial = {**PERSON, "required": ["name"]}
    r = http.post(
        CHAT,
        json={
            "messages": user("x"),
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "p", "schema": partial, "strict": True},
            },
        },
    )
    assert "Missing 'age'" in error_of(r)["message"]


def test_json_object_needs_the_word_json(http: httpx.Client) -> None:
    fmt = {"response_format": {"type": "json_object"}}
    r = http.post(CHAT, json={"messages": user("Give me data"), **fmt})
    assert "must contain the word 'json'" in error_of(r)["message"]
    ok = http.post(CHAT, json={"messages": user("Give me data as JSON"), **fmt}).json()
    assert isinstance(json.loads(ok["choices"][0]["message"]["content"]), dict)


def test_json_mode_uses_the_keys_the_prompt_names(http: httpx.Client) -> None:
    """langchain-tests' test_json_mode (request LC-1), plain and streamed."""
    prompt = (
        "Tell me a joke about cats. Return the result as a JSON with 'setup' and 'punchline' keys. "
        "Return nothing other than JSON."
    )
    body = {"messages": user(prompt), "response_format": {"type": "json_object"}}
    content = http.post(CHAT, json=body).json()["choices"][0]["message"]["content"]
    assert set(json.loads(content)) == {"setup", "punchline"}
    streamed = http.post(CHAT, json={**body, "stream": True})
    pieces = [
        c["choices"][0].get("delta", {}).get("content") or ""
        for c in sse_payloads(streamed.text)
        if isinstance(c, dict) and c.get("choices")
    ]
    assert json.loads("".join(pieces)) == json.loads(content)


# --- limits --------------------------------------------------------------------------------------


def test_stop_max_tokens_n_and_logprobs(http: httpx.Client) -> None:
    stopped = http.post(
        CHAT, json={"messages": user("Say 'alpha beta gamma'"), "stop": [" gamma"]}
    ).json()
    assert stopped["choices"][0]["message"]["content"] == "alpha beta"
    assert stopped["choices"][0]["finish_reason"] == "stop"
    cut = http.post(
        CHAT, json={"messages": user("Say 'one two three four'"), "max_tokens": 2}
    ).json()
    assert cut["choices"][0]["message"]["content"] == "one two"
    assert cut["choices"][0]["finish_reason"] == "length"
    assert cut["usage"]["completion_tokens"] == 2
    many = http.post(CHAT, json={"messages": user("hello"), "n": 3}).json()
    assert [c["index"] for c in many["choices"]] == [0, 1, 2]
    probs = http.post(
        CHAT, json={"messages": user("Say 'x y'"), "logprobs": True, "top_logprobs": 1}
    ).json()
    tokens = probs["choices"][0]["logprobs"]["content"]
    assert [t["token"] for t in tokens] == ["x", " y"]
    assert tokens[0]["top_logprobs"][0]["token"] == "x"


def test_logprobs_streamed_match_the_answer_and_offer_alternatives(http: httpx.Client) -> None:
    ask = {"messages": user("Say 'alpha beta gamma'"), "logprobs": True, "top_logprobs": 3}
    body = http.post(CHAT, json=ask).json()
    whole = body["choices"][0]
    entries = whole["logprobs"]["content"]
    assert "".join(e["token"] for e in entries) == whole["message"]["content"]
    for e in entries:
        alts = e["top_logprobs"]
        assert len(alts) == 3 and alts[0] == {k: e[k] for k in ("token", "logprob", "bytes")}
        assert len({a["token"] for a in alts}) == 3
        assert 0 >= alts[0]["logprob"] > alts[1]["logprob"] > alts[2]["logprob"]
        assert bytes(e["bytes"]).decode() == e["token"]
    streamed = sse_payloads(http.post(CHAT, json={**ask, "stream": True}).text)
    chunks = [c for c in streamed if isinstance(c, dict) and c["choices"]]
    with_text = [c["choices"][0] for c in chunks if c["choices"][0].get("delta", {}).get("content")]
    assert [c["logprobs"]["content"] for c in with_text] == [[e] for e in entries]
    for spec in (STABLE, PREVIEW):
        validate(body, "createChatCompletionResponse", spec=spec)
        for c in chunks:
            if c["object"]:  # not one of Azure's annotation-only chunks (their own test)
                validate(c, "createChatCompletionStreamResponse", spec=spec)
    plain = sse_payloads(http.post(CHAT, json={"messages": user("Say 'x'"), "stream": True}).text)
    assert all(
        c["choices"][0].get("logprobs") is None
        for c in plain
        if isinstance(c, dict) and c["choices"]
    )


def test_prompt_caching(http: httpx.Client) -> None:
    long_prompt = " ".join(f"word{i}" for i in range(1500))
    first = http.post(CHAT, json={"messages": user(long_prompt)}).json()
    again = http.post(CHAT, json={"messages": user(long_prompt + " and more")}).json()
    assert first["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
    cached = again["usage"]["prompt_tokens_details"]["cached_tokens"]
    assert cached >= 1024
    assert cached % 128 == 0
    assert cached <= first["usage"]["prompt_tokens"]


# --- model families and api-versions ---------------------------------------------------------------


def test_reasoning_deployment_usage_and_effort(azure_preview: AzureOpenAI, v1: OpenAI) -> None:
    r = azure_preview.chat.completions.create(
        model="reasoner", messages=user("Say 'ok'"), reasoning_effort="low"
    )
    assert r.choices[0].message.content == "ok"
    assert r.usage is not None
    assert r.usage.completion_tokens_details is not None
    assert r.usage.completion_tokens_details.reasoning_tokens == 64
    assert r.usage.completion_tokens == 65
    high = v1.chat.completions.create(
        model="gpt-5-mini", messages=user("hi"), reasoning_effort="minimal"
    )
    assert high.usage is not None
    assert high.usage.completion_tokens_details is not None
    assert high.usage.completion_tokens_details.reasoning_tokens == 0


def test_reasoning_can_use_the_whole_budget(http: httpx.Client) -> None:
    r = http.post(
        V1_CHAT, json={"model": "reasoner", "messages": user("hello"), "max_completion_tokens": 100}
    ).json()
    assert r["choices"][0]["message"]["content"] == ""
    assert r["choices"][0]["finish_reason"] == "length"
    assert r["usage"]["completion_tokens_details"]["reasoning_tokens"] == 100


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "temperature",
            0.5,
            "Unsupported parameter: 'temperature' is not supported with this model.",
        ),
        ("top_p", 1, "Unsupported parameter: 'top_p' is not supported with this model."),
        (
            "presence_penalty",
            0,
            "Unsupported parameter: 'presence_penalty' is not supported with this model.",
        ),
        ("logprobs", True, "Unsupported parameter: 'logprobs' is not supported with this model."),
        (
            "max_tokens",
            10,
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        ),
    ],
)
def test_reasoning_rejects_sampling_parameters(
    http: httpx.Client, name: str, value: Any, message: str
) -> None:
    r = http.post(V1_CHAT, json={"model": "reasoner", "messages": user("x"), name: value})
    assert error_of(r) == {
        "message": message,
        "type": "invalid_request_error",
        "param": name,
        "code": "unsupported_parameter",
    }


def test_reasoning_values_and_roles(http: httpx.Client) -> None:
    effort = http.post(
        V1_CHAT, json={"model": "reasoner", "messages": user("x"), "reasoning_effort": "minimal"}
    )
    assert error_of(effort)["message"] == (
        "Unsupported value: 'reasoning_effort' does not support 'minimal' with this model. Supported values are: "
        "'low', 'medium', and 'high'."
    )
    chat_effort = http.post(
        V1_CHAT, json={"model": "chat", "messages": user("x"), "reasoning_effort": "low"}
    )
    assert error_of(chat_effort)["param"] == "reasoning_effort"
    system = http.post(
        V1_CHAT, json={"model": "o1-mini", "messages": [{"role": "system", "content": "be brief"}]}
    )
    assert error_of(system)["code"] == "unsupported_value"
    developer = http.post(
        V1_CHAT, json={"model": "reasoner", "messages": [{"role": "developer", "content": "hi"}]}
    )
    assert developer.status_code == 200
    parallel = http.post(
        V1_CHAT,
        json={
            "model": "reasoner",
            "messages": user("x"),
            "tools": [WEATHER],
            "parallel_tool_calls": True,
        },
    )
    assert error_of(parallel)["param"] == "parallel_tool_calls"


def test_reasoning_model_needs_a_recent_api_version(http: httpx.Client) -> None:
    r = http.post(dated("reasoner"), json={"messages": user("x")})
    assert r.json() == {
        "error": {
            "code": "BadRequest",
            "message": "Model {modelName} is enabled only for api versions 2024-12-01-preview and later",
        }
    }
    assert (
        http.post(dated("reasoner", "2024-12-01-preview"), json={"messages": user("x")}).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("version", "extra", "message"),
    [
        (
            "2023-05-15",
            {"tools": [WEATHER], "tool_choice": "auto"},
            "Unrecognized request arguments supplied: tool_choice, tools",
        ),
        (
            "2024-06-01",
            {"max_completion_tokens": 5},
            "Unrecognized request argument supplied: max_completion_tokens",
        ),
        (
            "2024-06-01",
            {"stream": True, "stream_options": {"include_usage": True}},
            "Unrecognized request argument supplied: stream_options",
        ),
        ("2024-10-21", {"store": True}, "Unrecognized request argument supplied: store"),
        (
            "2024-10-21",
            {"messages": [{"role": "developer", "content": "x"}]},
            "Invalid value: 'developer'.",
        ),
        (
            "2024-06-01",
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "p", "schema": PERSON},
                }
            },
            "response_format value as json_schema is enabled only for api versions 2024-08-01-preview and later",
        ),
        (
            "2023-05-15",
            {"messages": [{"role": "user", "content": [IMAGE]}]},
            "image_url is only supported by certain models",
        ),
    ],
)
def test_features_missing_from_the_api_version(
    http: httpx.Client, version: str, extra: dict[str, Any], message: str
) -> None:
    r = http.post(dated("chat", version), json={"messages": user("x"), **extra})
    assert r.status_code == 400
    assert message in error_of(r)["message"]


def test_the_same_features_work_on_newer_versions(http: httpx.Client) -> None:
    assert (
        http.post(
            dated("chat", "2024-10-21"), json={"messages": user("x"), "max_completion_tokens": 5}
        ).status_code
        == 200
    )
    assert (
        http.post(
            dated("chat", "2025-04-01-preview"), json={"messages": user("x"), "store": True}
        ).status_code
        == 200
    )


def test_vision(http: httpx.Client) -> None:
    content = [{"type": "text", "text": "What is in this image?"}, IMAGE]
    ok = http.post(CHAT, json={"messages": [{"role": "user", "content": content}]}).json()
    assert ok["usage"]["prompt_tokens"] > 85
    no_vision = http.post(
        V1_CHAT, json={"model": "reasoner", "messages": [{"role": "user", "content": content}]}
    )
    assert (
        error_of(no_vision)["message"]
        == "Invalid content type. image_url is only supported by certain models."
    )
    system_image = http.post(CHAT, json={"messages": [{"role": "system", "content": [IMAGE]}]})
    assert "only allowed for messages with role 'user'" in error_of(system_image)["message"]


def test_legacy_functions(http: httpx.Client) -> None:
    r = http.post(
        CHAT, json={"messages": user("weather in Oslo"), "functions": [WEATHER["function"]]}
    ).json()
    choice = r["choices"][0]
    assert choice["finish_reason"] == "function_call"
    assert choice["message"]["function_call"]["name"] == "get_weather"


def test_legacy_completions(http: httpx.Client) -> None:
    path = "/openai/deployments/instruct/completions?api-version=2024-10-21"
    r = http.post(path, json={"prompt": "Say 'hi there'"}).json()
    assert r["object"] == "text_completion"
    assert r["choices"][0]["text"] == "hi there"
    long = http.post(path, json={"prompt": "Say '" + "word " * 40 + "'"}).json()
    assert long["choices"][0]["finish_reason"] == "length"
    assert long["usage"]["completion_tokens"] == 16
    validate(r, "createCompletionResponse", spec=STABLE)


def test_blocklist_filters_the_prompt(http: httpx.Client) -> None:
    r = http.post(dated("guarded"), json={"messages": user("tell me the FORBIDDEN thing")})
    assert r.status_code == 400
    inner = error_of(r)["innererror"]
    assert inner["content_filter_result"]["custom_blocklists"] == [
        {"filtered": True, "id": "guarded-blocklist"}
    ]


# --- scripted replies ----------------------------------------------------------------------------


def test_scripted_replies_come_first_in_order(emu: Emulator, azure: AzureOpenAI) -> None:
    emu.script(
        "chat",
        [
            "exact reply",
            {
                "tool_calls": [
                    {"name": "get_weather", "arguments": {"city": "Lima"}, "id": "call_fixed"}
                ]
            },
        ],
    )
    first = azure.chat.completions.create(model="chat", messages=user("anything"))
    assert first.choices[0].message.content == "exact reply"
    second = azure.chat.completions.create(model="chat", messages=user("anything"), tools=[WEATHER])  # type: ignore[list-item]
    [call] = second.choices[0].message.tool_calls or []
    assert (call.id, call.function.name, call.function.arguments) == (
        "call_fixed",
        "get_weather",
        '{"city": "Lima"}',
    )  # type: ignore[union-attr]
    third = azure.chat.completions.create(model="chat", messages=user("Say 'rules again'"))
    assert third.choices[0].message.content == "rules again"


def test_scripts_are_per_deployment_and_validated(emu: Emulator, http: httpx.Client) -> None:
    emu.script("chat-mini", [{"content": "mini only", "finish_reason": "length"}])
    assert (
        http.post(CHAT, json={"messages": user("Say 'rules'")}).json()["choices"][0]["message"][
            "content"
        ]
        == "rules"
    )
    mini = http.post(dated("chat-mini"), json={"messages": user("x")}).json()["choices"][0]
    assert (mini["message"]["content"], mini["finish_reason"]) == ("mini only", "length")
    with pytest.raises(KeyError, match="ghost"):
        emu.script("ghost", ["x"])
    with pytest.raises(ValueError, match="unknown key"):
        emu.script("chat", [{"text": "x"}])
    with pytest.raises(ValueError, match="needs content or tool_calls"):
        emu.script("chat", [{}])

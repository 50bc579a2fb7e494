"""The emulator refuses tool calls as Azure does (issue 16):

* a function whose ``parameters`` is not a valid JSON Schema: OpenAI's validation error, code
  ``invalid_function_parameters`` ("Invalid schema for function 'f': [] is not of type 'object',
  'boolean'.", FoundationAgents/OpenManus#1162), on both APIs, instead of calling the tool with
  ``{}``;
* function tools with reasoning on Chat Completions for gpt-5.2 and later, with the body users
  quote (openai/openai-openapi#541, danny-avila/LibreChat#14231, BerriAI/litellm#34569): an
  explicit effort from gpt-5.2, the default effort too from gpt-5.5, 'none' always accepted;
* file parts on Chat Completions ("Invalid Value: 'file'. This model does not support file
  content types.").

Plain HTTP against the emulator; the last test holds the product's routing rule beside the
emulator's refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from azoai.config.catalog import lookup_model
from azoai.pipeline.api_choice import tools_refused
from azoai_emulator import Emulator, EmulatorDeployment

_MODELS = {
    "chat": "gpt-4o",
    "g51": "gpt-5.1",
    "g52": "gpt-5.2",
    "g54": "gpt-5.4",
    "g54mini": "gpt-5.4-mini",
    "g55": "gpt-5.5",
    "luna": "gpt-5.6-luna",
    "g57": "gpt-5.7",
    "chat53": "gpt-5.3-chat",
    "o3": "o3",
}
FUNCTION = {"name": "get_weather", "description": "The weather in a city"}
GOOD = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
ASK = [{"role": "user", "content": "What is the weather in Lisbon?"}]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator([EmulatorDeployment(n, model=m) for n, m in _MODELS.items()]) as e:
        yield e


def _post(emu: Emulator, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{emu.endpoint}{path}", json=body, headers={"api-key": emu.api_key}, timeout=30
    )


def _chat(emu: Emulator, deployment: str, **extra: Any) -> httpx.Response:
    return _post(
        emu, "/openai/v1/chat/completions", {"model": deployment, "messages": ASK, **extra}
    )


def _chat_tool(parameters: Any) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {**FUNCTION, "parameters": parameters}}]


# --- invalid tool schemas ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "problem"),
    [
        ({"type": "objekt"}, "'objekt' is not valid under any of the given schemas"),
        (
            {"type": "object", "properties": {"city": {"type": "strng"}}},
            "'strng' is not valid under any of the given schemas",
        ),
        ({"type": "object", "required": "city"}, "'city' is not of type 'array'"),
        ({"type": "object", "properties": []}, "[] is not of type 'object'"),
    ],
)
def test_an_invalid_schema_is_refused_on_chat_completions(
    emu: Emulator, parameters: Any, problem: str
) -> None:
    r = _chat(emu, "chat", tools=_chat_tool(parameters))
    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "message": f"Invalid schema for function 'get_weather': {problem}.",
            "type": "invalid_request_error",
            "param": "tools[0].function.parameters",
            "code": "invalid_function_parameters",
        }
    }


def test_an_invalid_schema_is_refused_on_the_responses_api(emu: Emulator) -> None:
    tool = {"type": "function", **FUNCTION, "parameters": {"type": "objekt"}}
    r = _post(emu, "/openai/v1/responses", {"model": "chat", "input": "hi", "tools": [tool]})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "invalid_function_parameters"
    assert error["param"] == "tools[0].parameters"
    assert error["message"] == (
        "Invalid schema for function 'get_weather': 'objekt' is not valid under any of the "
        "given schemas."
    )


def test_a_valid_schema_is_called_with_arguments(emu: Emulator) -> None:
    r = _chat(emu, "chat", tools=_chat_tool(GOOD))
    assert r.status_code == 200
    [call] = r.json()["choices"][0]["message"]["tool_calls"]
    assert call["function"]["arguments"] == '{"city": "Lisbon"}'
    # an empty object schema (a tool without arguments) is valid too
    assert _chat(emu, "chat", tools=_chat_tool({})).status_code == 200


# --- function tools with reasoning on Chat Completions ----------------------------------------------


def _refusal(model: str, advice: str) -> dict[str, Any]:
    return {
        "error": {
            "message": f"Function tools with reasoning_effort are not supported for {model} in "
            f"/v1/chat/completions. {advice}",
            "type": "invalid_request_error",
            "param": "reasoning_effort",
            "code": None,
        }
    }


_USE_RESPONSES = "Please use /v1/responses instead."
_OR_NONE = "To use function tools, use /v1/responses or set reasoning_effort to 'none'."


def _reported(emu: Emulator, deployment: str) -> str:
    r = _chat(emu, deployment)
    assert r.status_code == 200
    return str(r.json()["model"])


@pytest.mark.parametrize(
    ("deployment", "effort", "advice"),
    [
        ("g54", "medium", _USE_RESPONSES),
        ("g52", "low", _USE_RESPONSES),
        ("g55", None, _USE_RESPONSES),  # the model's default effort
        ("g55", "high", _USE_RESPONSES),
        ("luna", None, _OR_NONE),
        ("g57", "xhigh", _OR_NONE),
    ],
)
def test_gpt5_tool_turns_with_reasoning_are_refused_as_users_quote(
    emu: Emulator, deployment: str, effort: str | None, advice: str
) -> None:
    extra = {"reasoning_effort": effort} if effort else {}
    r = _chat(emu, deployment, tools=_chat_tool(GOOD), **extra)
    assert r.status_code == 400
    # the model with its version, as Azure names it ("gpt-5.5-2026-04-24")
    assert r.json() == _refusal(_reported(emu, deployment), advice)


@pytest.mark.parametrize(
    ("deployment", "effort"),
    [
        ("g54", None),  # gpt-5.4's default is 'none'
        ("g54mini", None),
        ("g55", "none"),
        ("luna", "none"),
        ("g51", "high"),
        ("o3", "high"),
        ("chat53", None),  # not a reasoning model
    ],
)
def test_other_tool_turns_are_served(emu: Emulator, deployment: str, effort: str | None) -> None:
    extra = {"reasoning_effort": effort} if effort else {}
    r = _chat(emu, deployment, tools=_chat_tool(GOOD), **extra)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["tool_calls"]


def test_the_responses_api_serves_tools_with_reasoning(emu: Emulator) -> None:
    tool = {"type": "function", **FUNCTION, "parameters": GOOD}
    body = {"model": "luna", "input": ASK, "tools": [tool], "reasoning": {"effort": "high"}}
    r = _post(emu, "/openai/v1/responses", body)
    assert r.status_code == 200
    assert [i["type"] for i in r.json()["output"]] == ["reasoning", "function_call"]


#: Every deployment with no effort and with each effort its model takes (of none, low, high).
_ROUTING_CASES = [
    (deployment, effort)
    for deployment, model in sorted(_MODELS.items())
    for effort in (None, "none", "low", "high")
    if effort is None or effort in lookup_model(model).reasoning_efforts
]


@pytest.mark.parametrize(("deployment", "effort"), _ROUTING_CASES)
def test_the_product_routes_exactly_the_turns_the_emulator_refuses(
    emu: Emulator, deployment: str, effort: str | None
) -> None:
    info = lookup_model(_MODELS[deployment])
    extra = {"reasoning_effort": effort} if effort else {}
    r = _chat(emu, deployment, tools=_chat_tool(GOOD), **extra)
    refused = r.status_code == 400 and "Function tools with reasoning_effort" in r.text
    assert tools_refused(info.tools_need_responses, effort) == refused, r.text


# --- file parts on Chat Completions ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/openai/v1/chat/completions", "/openai/deployments/chat/chat/completions"]
)
def test_a_file_part_is_refused_on_chat_completions(emu: Emulator, path: str) -> None:
    content = [
        {"type": "text", "text": "Summarize"},
        {
            "type": "file",
            "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERg=="},
        },
    ]
    query = "" if "/v1/" in path else "?api-version=2025-04-01-preview"
    r = _post(
        emu, path + query, {"model": "chat", "messages": [{"role": "user", "content": content}]}
    )
    assert r.status_code == 400
    assert r.json()["error"] == {
        "message": "Invalid Value: 'file'. This model does not support file content types.",
        "type": "invalid_request_error",
        "param": "messages[0].content[1].type",
        "code": "invalid_value",
    }

"""The API per call (issue 16): Azure refuses function tools with reasoning on Chat Completions
for gpt-5.2 and later ("Function tools with reasoning_effort are not supported for gpt-5.5 in
/v1/chat/completions. Please use /v1/responses instead."), so a Chat Completions client sends such
a turn to the Responses API and returns the same neutral result. Known families by the catalogue's
rule, unknown deployments learned from the first such 400; ``auto_responses=False`` turns it off
and the 400 becomes a typed error naming the setting.

Driven through :class:`azoai.client.Client` against the emulator (which plays the 400 as users
quote it), and a scripted server for answers the emulator cannot give (a model name no catalogue
knows, a gateway without the Responses API)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
from scripted_http import Out, Received, Scripted

from azoai import ApiVersionError, BadRequestError, ResponsesRequiredError
from azoai.client import Client
from azoai.wire import ChatRequest, Message, ToolSpec
from azoai.wire.stream import StreamAccumulator
from azoai_emulator import Emulator, EmulatorDeployment

WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ASK = [Message("user", "What is the weather in Lisbon?")]
_MODELS = {"agent55": "gpt-5.5", "agent54": "gpt-5.4", "luna": "gpt-5.6-luna", "chat": "gpt-4o"}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator([EmulatorDeployment(n, model=m) for n, m in _MODELS.items()]) as e:
        yield e


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AZURE_OPENAI", "OPENAI_", "AZOAI")):
            monkeypatch.delenv(name, raising=False)


def _client(endpoint: str, key: str, deployment: str, **kw: Any) -> Client:
    return Client(
        endpoint=endpoint, api_key=key, deployment=deployment, env={}, config_file="", **kw
    )


def _calls(emu: Emulator) -> list[tuple[str, int | None]]:
    return [(r.path, r.status) for r in emu.requests]


def _tools_turn(effort: str | None = None) -> ChatRequest:
    return ChatRequest(messages=ASK, tools=[WEATHER], reasoning_effort=effort)


# --- known families: routed before anything is sent -----------------------------------------------


def test_a_gpt55_tool_turn_goes_to_responses_and_returns_the_tool_call(emu: Emulator) -> None:
    c = _client(emu.endpoint, emu.api_key, "agent55", model="gpt-5.5")
    emu.clear_requests()
    result = c.chat(_tools_turn())
    [call] = result.tool_calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "Lisbon"})
    assert result.finish_reason == "tool_calls" and result.deployment == "agent55"
    # no wasted 400: the default effort is refused on gpt-5.5, so the turn went to Responses
    assert _calls(emu) == [("/openai/v1/responses", 200)]
    sent = emu.requests[0].body
    assert sent["model"] == "agent55" and sent["tools"][0]["name"] == "get_weather"

    # the tool's answer goes back the same way and the model answers in text
    follow = ChatRequest(
        messages=[
            *ASK,
            result.message,
            Message("tool", "Sunny, 21 degrees.", tool_call_id=call.id),
        ],
        tools=[WEATHER],
    )
    answer = c.chat(follow)
    assert answer.finish_reason == "stop" and "21 degrees" in answer.text
    assert _calls(emu)[-1] == ("/openai/v1/responses", 200)


def test_turns_without_tools_or_with_effort_none_stay_on_chat(emu: Emulator) -> None:
    c = _client(emu.endpoint, emu.api_key, "agent55", model="gpt-5.5")
    emu.clear_requests()
    assert c.chat(ChatRequest(messages=ASK)).api == "chat"
    assert c.chat(_tools_turn("none")).tool_calls
    assert _calls(emu) == [("/openai/v1/chat/completions", 200)] * 2


def test_gpt54_routes_an_explicit_effort_only_on_the_dated_route(emu: Emulator) -> None:
    # gpt-5.4's default effort is 'none': a tool turn without an effort stays on Chat Completions;
    # with one it goes to the dated /openai/responses of the configured api-version.
    c = _client(
        emu.endpoint, emu.api_key, "agent54", model="gpt-5.4", api_version="2025-04-01-preview"
    )
    emu.clear_requests()
    assert c.chat(_tools_turn()).tool_calls
    assert c.chat(_tools_turn("high")).tool_calls
    assert _calls(emu) == [
        ("/openai/deployments/agent54/chat/completions", 200),
        ("/openai/responses", 200),
    ]
    assert emu.requests[1].query == {"api-version": "2025-04-01-preview"}
    assert emu.requests[1].body["reasoning"] == {"effort": "high"}


def test_async_and_streamed_tool_turns_are_routed(emu: Emulator) -> None:
    c = _client(emu.endpoint, emu.api_key, "luna", model="gpt-5.6-luna")
    emu.clear_requests()
    result = asyncio.run(c.achat(_tools_turn("low")))
    assert result.tool_calls[0].arguments == {"city": "Lisbon"}

    acc = StreamAccumulator(deployment="luna")
    deltas = list(c.stream(_tools_turn(), into=acc))
    assert deltas[0].deployment == "luna" and deltas[-1].finish_reason == "tool_calls"
    [streamed] = acc.tool_calls()
    assert (streamed.name, streamed.arguments) == ("get_weather", {"city": "Lisbon"})

    async def astream() -> StreamAccumulator:
        into = StreamAccumulator(deployment="luna")
        async for _ in c.astream(_tools_turn("medium"), into=into):
            pass
        return into

    assert asyncio.run(astream()).tool_calls()[0].name == "get_weather"
    assert [path for path, _ in _calls(emu)] == ["/openai/v1/responses"] * 3
    assert all(r.body.get("stream") is True for r in emu.requests[1:])


# --- unknown deployments: learned from the first 400 -----------------------------------------------


def test_an_unknown_deployment_learns_from_the_first_400(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    c = _client(emu.endpoint, emu.api_key, "agent55")  # no model: the family is unknown
    emu.clear_requests()
    with caplog.at_level(logging.WARNING, logger="azoai.client"):
        result = c.chat(_tools_turn())
    assert result.tool_calls[0].name == "get_weather"  # no error reached the caller
    assert _calls(emu) == [("/openai/v1/chat/completions", 400), ("/openai/v1/responses", 200)]
    # Azure named the model in its answer: the warning names it as the real fix
    assert "set model='gpt-5.5'" in caplog.text and "discovery" in caplog.text
    assert c.model_info().family == "gpt-5.5"
    # learned: the next tool turn, streamed this time, goes straight to Responses
    deltas = list(c.stream(_tools_turn()))
    assert deltas[-1].finish_reason == "tool_calls"
    assert _calls(emu)[-1] == ("/openai/v1/responses", 200) and len(emu.requests) == 3


def test_an_unknown_deployment_learns_on_the_async_stream(emu: Emulator) -> None:
    c = _client(emu.endpoint, emu.api_key, "luna")
    emu.clear_requests()

    async def run() -> list[Any]:
        return [d async for d in c.astream(_tools_turn())]

    deltas = asyncio.run(run())
    assert deltas[-1].finish_reason == "tool_calls"
    assert _calls(emu) == [("/openai/v1/chat/completions", 400), ("/openai/v1/responses", 200)]


def test_a_per_call_deployment_hint_names_the_deployments_list(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    # model= would describe the default deployment, not this one: the hint says where it goes
    c = _client(emu.endpoint, emu.api_key, "chat", model="gpt-4o")
    with caplog.at_level(logging.WARNING, logger="azoai.client"):
        asyncio.run(c.achat(_tools_turn(), model="agent55"))
    assert "deployments=[{'name': 'agent55', 'model': 'gpt-5.5'}]" in caplog.text
    assert "set model=" not in caplog.text


# --- auto_responses=False ----------------------------------------------------------------------------


def test_auto_responses_off_turns_the_400_into_a_typed_error(emu: Emulator) -> None:
    c = _client(emu.endpoint, emu.api_key, "agent55", model="gpt-5.5", auto_responses=False)
    emu.clear_requests()
    with pytest.raises(ResponsesRequiredError) as info:
        c.chat(_tools_turn())
    err = info.value
    assert isinstance(err, BadRequestError) and err.status_code == 400
    assert (err.reason, err.setting, err.deployment) == ("tools", "auto_responses", "agent55")
    assert "use_responses_api=True" in str(err) and "auto_responses" in str(err)
    assert "Please use /v1/responses" in str(err)  # Azure's words are kept
    assert _calls(emu) == [("/openai/v1/chat/completions", 400)]

    with pytest.raises(ResponsesRequiredError):
        list(c.stream(_tools_turn()))

    async def astream() -> None:
        async for _ in c.astream(_tools_turn("high")):
            pass

    with pytest.raises(ResponsesRequiredError):
        asyncio.run(astream())
    assert all(path.endswith("/chat/completions") for path, _ in _calls(emu))


def test_auto_responses_is_a_setting_of_the_config_file(emu: Emulator, tmp_path: Any) -> None:
    cfg = tmp_path / "azoai.toml"
    cfg.write_text("auto_responses = false\n")
    c = Client(
        endpoint=emu.endpoint, api_key=emu.api_key, deployment="agent55", env={}, config_file=cfg
    )
    assert c.settings.auto_responses is False
    assert c.settings.source_of("auto_responses").startswith("file")
    assert _client(emu.endpoint, emu.api_key, "agent55").settings.auto_responses is True


# --- answers the emulator cannot give -----------------------------------------------------------------


def _refusing_server(model: str, responses_status: int = 200) -> Scripted:
    """Chat Completions refuses tools with reasoning for ``model``; /responses answers with a
    tool call (or ``responses_status``)."""
    refusal = {
        "error": {
            "message": f"Function tools with reasoning_effort are not supported for {model} in "
            "/v1/chat/completions. To use function tools, use /v1/responses or set "
            "reasoning_effort to 'none'.",
            "type": "invalid_request_error",
            "param": "reasoning_effort",
            "code": None,
        }
    }
    answer = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": model,
        "output": [
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": '{"city": "Lisbon"}',
                "status": "completed",
            }
        ],
        "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8},
    }

    def reply(req: Received, out: Out) -> None:
        if req.path.endswith("/chat/completions"):
            out.json(json.dumps(refusal).encode(), status=400)
        elif responses_status != 200:
            out.json(b'{"error": {"code": "404", "message": "Resource not found"}}', status=404)
        else:
            out.json(json.dumps(answer).encode())

    return Scripted(reply)


def test_a_model_no_catalogue_knows_is_learned_with_an_honest_hint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with _refusing_server("gpt-9-nova-2027-01-01") as server:
        c = _client(server.endpoint, "k" * 32, "nova", model="gpt-9-nova")
        with caplog.at_level(logging.WARNING, logger="azoai.client"):
            result = c.chat(_tools_turn())
        assert result.tool_calls[0].arguments == {"city": "Lisbon"}
        assert [r.path for r in server.requests] == [
            "/openai/v1/chat/completions",
            "/openai/v1/responses",
        ]
        # model= is already set: telling the user to set it would be wrong
        assert "set model=" not in caplog.text
        assert "'gpt-9-nova' is not in azoai's catalogue" in caplog.text
        assert c.model_info().tools_need_responses == "unless_none"
        c.chat(_tools_turn("low"))
        assert [r.path for r in server.requests][-1] == "/openai/v1/responses"
        assert len(server.requests) == 3


def test_a_gateway_without_the_responses_api_is_a_typed_error_naming_the_fix() -> None:
    with _refusing_server("gpt-5.6-terra", responses_status=404) as server:
        c = _client(server.endpoint, "k" * 32, "terra", model="gpt-5.6-terra")
        with pytest.raises(ResponsesRequiredError) as info:
            c.chat(_tools_turn())
    err = info.value
    assert err.reason == "tools" and err.status_code == 404
    assert "route='v1'" in str(err) and "2025-03-01-preview" in str(err)
    assert "reasoning_effort='none'" in str(err)


# --- the api-version minimum Azure states ---------------------------------------------------------------


def test_azures_api_version_minimum_becomes_an_api_version_error() -> None:
    with Emulator([EmulatorDeployment("think", model="o3-mini")]) as emu:
        c = _client(emu.endpoint, emu.api_key, "think", api_version="2024-10-21")  # model unknown
        with pytest.raises(ApiVersionError) as info:
            c.chat(ChatRequest(messages=ASK))
        err = info.value
        assert err.api_version == "2024-10-21" and err.status_code == 400
        assert "2024-12-01-preview" in str(err.fix) and err.setting == "api_version"
        assert [r.status for r in emu.requests] == [400]
        # learned: the next call is refused before anything is sent
        with pytest.raises(ApiVersionError, match="2024-12-01-preview"):
            asyncio.run(c.achat(ChatRequest(messages=ASK)))
        assert len(emu.requests) == 1

"""LlamaIndex's Responses API on a dated api-version (issues 16 and 17):
``AzureOpenAI(engine=..., api_version="2025-04-01-preview", use_responses_api=True)`` (azoai's
replacement for ``AzureOpenAIResponses``) calls Azure's ``/openai/responses?api-version=<date>``
on chat, complete, stream, async and tool calls; an older dated version is refused at the
first call (before sending) naming the first one; a dated ``OPENAI_API_VERSION`` in the environment never
breaks a Responses model."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.llms import ChatMessage
from llama_index.core.tools import FunctionTool

from azoai.errors import ConfigError
from azoai_emulator import Emulator, RequestRecord
from llamaindex_azoai import AzureOpenAI

DATED = "2025-04-01-preview"


def _llm(emu: Emulator, **kw: Any) -> AzureOpenAI:
    kw.setdefault("env", {})
    return AzureOpenAI(
        engine="chat",
        model="gpt-4o",
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        use_responses_api=True,
        config_file="",
        **kw,
    )


def _calls(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.path.startswith("/openai/")]


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"Sunny in {city}"


async def test_the_dated_responses_route_on_every_path(emu: Emulator) -> None:
    llm = _llm(emu, api_version=DATED)
    assert (llm.settings.api, llm.settings.route) == ("responses", "deployments")
    said = llm.chat([ChatMessage(role="user", content="Say 'dated responses'")])
    assert said.message.content == "dated responses"
    assert llm.complete("Say completed").text == "completed"
    streamed = [
        r.delta for r in llm.stream_chat([ChatMessage(role="user", content="Say streamed")])
    ]
    assert "".join(d or "" for d in streamed) == "streamed"
    assert (await llm.achat([ChatMessage(role="user", content="Say async")])).message.content == (
        "async"
    )
    agen = await llm.astream_complete("Say astreamed")
    assert "".join([r.delta or "" async for r in agen]) == "astreamed"
    tool = FunctionTool.from_defaults(fn=get_weather)
    picked = llm.chat_with_tools(
        [tool], user_msg="What is the weather in Kyiv?", tool_required=True
    )
    calls = llm.get_tool_calls_from_response(picked, error_on_no_tool_call=True)
    assert [(c.tool_name, c.tool_kwargs) for c in calls] == [("get_weather", {"city": "Kyiv"})]
    requests = _calls(emu)
    assert [r.url for r in requests] == [f"/openai/responses?api-version={DATED}"] * 6
    assert all(r.body["model"] == "chat" and r.status == 200 for r in requests)


def test_older_dated_versions_are_refused_and_no_version_keeps_v1(emu: Emulator) -> None:
    # constructs, as llama-index's class does; the first call refuses, before sending
    old = _llm(emu, api_version="2025-02-01-preview")
    with pytest.raises(ConfigError, match="2025-03-01-preview") as caught:
        old.complete("Say old")
    assert caught.value.setting == "api_version"
    assert "route='v1'" in str(caught.value)
    assert _llm(emu).complete("Say v1").text == "v1"
    assert _llm(emu, api_version="2025-03-01-preview").complete("Say first").text == "first"
    assert [r.url for r in _calls(emu)] == [
        "/openai/v1/responses",
        "/openai/responses?api-version=2025-03-01-preview",
    ]


@pytest.mark.parametrize(
    ("env_version", "url"),
    [
        ("2024-10-21", "/openai/v1/responses"),  # too old: not used, v1 instead
        (DATED, f"/openai/responses?api-version={DATED}"),
    ],
)
def test_openai_api_version_in_the_environment(emu: Emulator, env_version: str, url: str) -> None:
    env = {"OPENAI_API_VERSION": env_version}
    assert _llm(emu, env=env).complete("Say env").text == "env"
    assert [r.url for r in _calls(emu)] == [url]
    emu.clear_requests()
    chat = AzureOpenAI(
        engine="chat", azure_endpoint=emu.endpoint, api_key=emu.api_key, env=env, config_file=""
    )
    assert chat.complete("Say chat").text == "chat"
    assert [r.url for r in _calls(emu)] == [
        f"/openai/deployments/chat/chat/completions?api-version={env_version}"
    ]

"""LangChain's constructor forms for the Responses API on a dated api-version (issues 16 and 17):
``AzureChatOpenAI(azure_deployment=..., api_version="2025-04-01-preview", use_responses_api=True)``
and the same selected by ``output_version="responses/v1"``, as langchain-openai users write them,
call Azure's ``/openai/responses?api-version=<date>`` (invoke, stream, async, tools); an older
dated version constructs (as with langchain-openai) and its first call is a ValueError naming the
first one, before anything is sent; ``OPENAI_API_VERSION`` left in the environment for chat
models never breaks a Responses model."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk
from pydantic import BaseModel, Field

from azoai.errors import ConfigError
from azoai_emulator import Emulator, RequestRecord
from langchain_azoai import AzureChatOpenAI

DATED = "2025-04-01-preview"


class GetWeather(BaseModel):
    """Get the current weather for a city."""

    city: str = Field(description="The city")


def _model(emu: Emulator, **kw: Any) -> AzureChatOpenAI:
    return AzureChatOpenAI(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="chat", **kw
    )


def _calls(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.path.startswith("/openai/")]


def _joined(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    return full


@pytest.mark.parametrize(
    "selects",
    [
        pytest.param({"use_responses_api": True}, id="use_responses_api"),
        pytest.param({"output_version": "responses/v1"}, id="output_version"),
    ],
)
async def test_the_dated_responses_route_on_every_path(
    emu: Emulator, selects: dict[str, Any]
) -> None:
    llm = _model(emu, api_version=DATED, **selects)
    assert (llm.settings.api, llm.settings.route) == ("responses", "deployments")
    msg = llm.invoke("Say 'dated responses'")
    assert msg.text == "dated responses"
    assert msg.id is not None and msg.id.startswith("resp_")
    assert msg.usage_metadata is not None
    assert _joined(list(llm.stream("Say streamed"))).text == "streamed"
    assert (await llm.ainvoke("Say async")).text == "async"
    assert _joined([c async for c in llm.astream("Say astreamed")]).text == "astreamed"
    call = llm.bind_tools([GetWeather], tool_choice="any").invoke("What is the weather in Kyiv?")
    assert [(tc["name"], tc["args"]) for tc in call.tool_calls] == [
        ("GetWeather", {"city": "Kyiv"})
    ]
    calls = _calls(emu)
    assert [r.url for r in calls] == [f"/openai/responses?api-version={DATED}"] * 5
    assert all(r.body["model"] == "chat" and r.status == 200 for r in calls)


def test_the_first_dated_responses_version_works_and_older_ones_are_refused(
    emu: Emulator,
) -> None:
    assert (
        _model(emu, api_version="2025-03-01-preview", use_responses_api=True)
        .invoke("Say first")
        .text
        == "first"
    )
    assert [r.url for r in _calls(emu)] == ["/openai/responses?api-version=2025-03-01-preview"]
    old = _model(emu, api_version="2024-10-21", use_responses_api=True)
    with pytest.raises(ValueError, match="2025-03-01-preview") as caught:
        old.invoke("Say old")
    assert isinstance(caught.value, ConfigError)
    assert caught.value.setting == "api_version"
    assert "route='v1'" in str(caught.value)
    # named as this class takes it: use_responses_api=False, not the core's api='chat'
    assert "use_responses_api=False" in str(caught.value) and "api='chat'" not in str(caught.value)


def test_without_a_version_the_responses_api_stays_on_v1(emu: Emulator) -> None:
    assert _model(emu, use_responses_api=True).invoke("Say v1").text == "v1"
    assert [r.url for r in _calls(emu)] == ["/openai/v1/responses"]


@pytest.mark.parametrize(
    ("env_version", "url"),
    [
        ("2024-10-21", "/openai/v1/responses"),  # too old: not used, v1 instead
        (DATED, f"/openai/responses?api-version={DATED}"),  # as langchain-openai sends it
    ],
)
def test_openai_api_version_in_the_environment(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, env_version: str, url: str
) -> None:
    monkeypatch.setenv("OPENAI_API_VERSION", env_version)
    llm = _model(emu, use_responses_api=True)
    assert llm.invoke("Say env").text == "env"
    assert [r.url for r in _calls(emu)] == [url]
    # a chat model in the same process keeps using the variable
    emu.clear_requests()
    assert _model(emu).invoke("Say chat").text == "chat"
    assert [r.url for r in _calls(emu)] == [
        f"/openai/deployments/chat/chat/completions?api-version={env_version}"
    ]

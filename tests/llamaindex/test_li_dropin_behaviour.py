"""AzureOpenAI (LlamaIndex) where llama-index's own tests found it behaving differently (issue
17): the temperature a reasoning model runs at, a JSON-Schema dict as a tool, and errors that
name an unknown parameter. Driven through the public class against the emulator."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from li_helpers import ISOLATED, chat_bodies
from llama_index.core.llms import ChatMessage

from azoai import UnsupportedParameterError
from azoai_emulator import Emulator
from llamaindex_azoai import AzureOpenAI

HI = [ChatMessage(role="user", content="Say 'hi'")]


def make(emu: Emulator, **kwargs: Any) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=emu.endpoint, api_key=emu.api_key, **ISOLATED, **kwargs)


def test_a_reasoning_model_shows_temperature_one_and_sends_none(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    llm = make(emu, engine="reasoner", model="o3-mini")
    assert llm.temperature == 1.0
    with caplog.at_level(logging.WARNING):
        llm.chat(HI)
    assert "temperature" not in chat_bodies(emu)[-1]
    assert not [r for r in caplog.records if "temperature" in r.getMessage()]
    # a deployment named after its model, no model=
    assert make(emu, engine="o3-mini").temperature == 1.0
    # an explicit temperature is kept; other models keep llama-index's default
    assert make(emu, engine="reasoner", model="o3-mini", temperature=0.5).temperature == 0.5
    assert make(emu, engine="chat", model="gpt-4o").temperature == 0.1


def test_a_json_schema_dict_is_a_function_tool(emu: Emulator) -> None:
    schema = {
        "title": "Weather",
        "description": "Look up the weather in a city.",
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    }
    llm = make(emu, engine="chat", model="gpt-4o")
    response = llm.chat(
        [ChatMessage(role="user", content="What is the weather in Paris?")],
        tools=[schema],
        tool_choice="Weather",
    )
    fn = chat_bodies(emu)[-1]["tools"][0]["function"]
    assert fn["name"] == "Weather" and fn["description"] == "Look up the weather in a city."
    assert fn["parameters"]["required"] == ["city"] and "title" not in fn["parameters"]
    calls = llm.get_tool_calls_from_response(response, error_on_no_tool_call=True)
    assert calls[0].tool_name == "Weather"


def test_a_misspelled_parameter_in_additional_kwargs_is_named(emu: Emulator) -> None:
    llm = make(emu, engine="chat", model="gpt-4o", additional_kwargs={"temprature": 0.3})
    with pytest.raises(UnsupportedParameterError) as info:
        llm.chat(HI)
    assert info.value.param == "temprature" and "did you mean 'temperature'?" in str(info.value)
    assert "route='v1'" not in str(info.value) and "too old" not in str(info.value)

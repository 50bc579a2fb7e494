"""AzureChatOpenAI where langchain-openai's own tests found it behaving differently (issue 17):
JSON-Schema dicts as tools, json_schema as the default structured-output method (with the
original's warning when a model lacks it), model profiles, ``n`` generations per prompt,
``response_format=<pydantic class>`` per call, the temperature reasoning models run at, and
errors that name an unknown parameter.

Driven through the public class against the emulator over loopback."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import warnings
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from langchain_core.messages import AIMessageChunk, HumanMessage
from pydantic import BaseModel
from typing_extensions import TypedDict

from azoai import ConfigError, UnsupportedParameterError
from azoai_emulator import Emulator
from langchain_azoai import AzureChatOpenAI

JOKE_SCHEMA: dict[str, Any] = {
    "title": "Joke",
    "description": "A joke to tell the user.",
    "type": "object",
    "properties": {
        "setup": {"type": "string", "description": "question to set up a joke"},
        "punchline": {"type": "string", "description": "answer to resolve the joke"},
    },
    "required": ["setup", "punchline"],
}


class Person(BaseModel):
    name: str
    age: int


class PersonDict(TypedDict):
    name: str
    age: int


def make(emu: Emulator, **kwargs: Any) -> AzureChatOpenAI:
    args: dict[str, Any] = {"azure_deployment": "chat", "config_file": "", **kwargs}
    return AzureChatOpenAI(azure_endpoint=emu.endpoint, api_key=emu.api_key, **args)


def last_body(emu: Emulator) -> dict[str, Any]:
    body = [r for r in emu.requests if r.path.endswith(("/chat/completions", "/responses"))][
        -1
    ].body
    assert isinstance(body, dict)
    return body


# --- a JSON Schema dict is a function tool, not a built-in tool ----------------------------------


def test_a_json_schema_dict_binds_as_a_function_tool(emu: Emulator) -> None:
    llm = make(emu, model="gpt-4o")
    msg = llm.bind_tools([JOKE_SCHEMA], tool_choice="Joke").invoke("Tell me a joke about cats")
    fn = last_body(emu)["tools"][0]["function"]
    assert fn["name"] == "Joke" and fn["description"] == "A joke to tell the user."
    assert set(fn["parameters"]["properties"]) == {"setup", "punchline"}
    assert "title" not in fn["parameters"]
    assert msg.tool_calls[0]["name"] == "Joke"


def test_structured_output_with_a_json_schema_dict(emu: Emulator) -> None:
    llm = make(emu, model="gpt-4o")
    for method in ("function_calling", "json_schema"):
        joke = llm.with_structured_output(JOKE_SCHEMA, method=method).invoke(  # type: ignore[arg-type]
            "Tell me a joke about cats"
        )
        assert isinstance(joke, dict) and set(joke) == {"setup", "punchline"}


def test_an_unknown_tool_type_is_still_refused_by_name(emu: Emulator) -> None:
    llm = make(emu, model="gpt-4o", use_responses_api=True)
    with pytest.raises(ConfigError, match="'frobnicate' is not a built-in tool"):
        llm.bind_tools([{"type": "frobnicate"}]).invoke("hi")


# --- json_schema is the default structured-output method -----------------------------------------


def test_json_schema_is_the_default_without_a_model_name(emu: Emulator) -> None:
    llm = make(emu)  # the deployment's model is not named
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        person = llm.with_structured_output(Person).invoke("Eve is 28 years old.")
    assert person == Person(name="Eve", age=28)
    body = last_body(emu)
    assert body["response_format"]["type"] == "json_schema" and "tools" not in body


def test_a_model_without_structured_outputs_falls_back_with_a_warning(emu: Emulator) -> None:
    llm = make(emu, model="gpt-35-turbo", api_version="2024-10-21")
    with pytest.warns(UserWarning, match="Cannot use method='json_schema' with model gpt-35"):
        structured = llm.with_structured_output(PersonDict)
    assert structured.invoke("Ann is 40 years old.") == {"name": "Ann", "age": 40}
    body = last_body(emu)
    assert body["tools"][0]["function"]["name"] == "PersonDict" and "response_format" not in body
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # asking for function calling: nothing to warn about
        llm.with_structured_output(PersonDict, method="function_calling")


def test_an_api_version_without_json_schema_falls_back_by_default(emu: Emulator) -> None:
    llm = make(emu, model="gpt-4o", api_version="2024-06-01")
    with pytest.warns(UserWarning, match="api_version '2024-06-01'"):
        structured = llm.with_structured_output(Person)
    assert structured.invoke("Bo is 9 years old.") == Person(name="Bo", age=9)
    assert "tools" in last_body(emu)


# --- model profiles ------------------------------------------------------------------------------


def test_profile_from_the_model_name(emu: Emulator) -> None:
    profile = make(emu, model="gpt-5.5", azure_deployment="prod-chat").profile
    assert profile is not None
    assert profile["name"] == "GPT-5.5" and profile["max_input_tokens"] == 1_050_000
    assert profile["max_output_tokens"] == 128_000
    assert profile["reasoning_output"] and profile["structured_output"]
    assert profile["tool_calling"] and profile["tool_choice"] and profile["tool_call_streaming"]
    assert profile["image_inputs"] and profile["image_url_inputs"] and profile["pdf_inputs"]
    assert not profile["image_tool_message"] and not profile["audio_outputs"]
    assert profile["reasoning_effort_levels"] == ["none", "low", "medium", "high", "xhigh"]
    assert profile["reasoning_effort_default"] == "medium"
    assert "mid_conversation_tools" not in profile


def test_profile_resolution_order(emu: Emulator) -> None:
    # the model name wins over a deployment named after another model
    assert make(emu, model="gpt-4o", azure_deployment="gpt-5.5").profile["name"] == "GPT-4o"  # type: ignore[index]
    # no model name: a deployment named after a model
    by_deployment = make(emu, azure_deployment="gpt-4o-mini").profile
    assert by_deployment is not None and by_deployment["name"] == "GPT-4o Mini"
    # an unknown model name: the deployment name still counts
    assert make(emu, model="my-model", azure_deployment="o3").profile["name"] == "o3"  # type: ignore[index]
    # nothing known
    assert make(emu, azure_deployment="prod-chat").profile is None
    # a profile given is kept as given
    assert make(emu, model="gpt-4o", profile={"tool_calling": False}).profile == {
        "tool_calling": False
    }


def test_profile_from_a_static_deployment_list(emu: Emulator) -> None:
    llm = make(emu, azure_deployment="prod", deployments=[{"name": "prod", "model": "gpt-4.1"}])
    assert llm.profile is not None and llm.profile["name"] == "GPT-4.1"
    assert llm.profile["max_input_tokens"] == 1_047_576


class _ArmCredential:
    """An azure-identity-like credential for the emulator's management endpoint."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token = self.emu.issue_token(audience="https://management.azure.com")
        return AccessToken(token, int(time.time()) + 3600)


def test_profile_from_discovery(emu: Emulator) -> None:
    llm = make(
        emu,
        azure_deployment="chat",
        discovery={
            "subscription_id": emu.subscription_id,
            "resource_group": emu.resource_group,
            "account": emu.account,
            "arm_host": emu.arm_endpoint,
            "credential": _ArmCredential(emu),
        },
    )
    assert llm.profile is not None and llm.profile["name"] == "GPT-4o"


# --- n generations per prompt --------------------------------------------------------------------


def test_generate_returns_n_generations_per_prompt(emu: Emulator) -> None:
    llm = make(emu, model="gpt-4o", n=2, max_tokens=10)
    hello = [HumanMessage("Say 'hello'")]
    result = llm.generate([hello, hello])
    assert [len(g) for g in result.generations] == [2, 2]
    assert all(g.text and g.text == g.message.content for gs in result.generations for g in gs)
    assert last_body(emu)["n"] == 2
    # per call too
    assert len(make(emu, model="gpt-4o").generate([hello], n=3).generations[0]) == 3


def test_agenerate_returns_n_generations(emu: Emulator) -> None:
    llm = make(emu, model="gpt-4o", n=3)
    result = asyncio.run(llm.agenerate([[HumanMessage("Say 'hi'")]]))
    assert len(result.generations[0]) == 3


def test_a_stream_is_one_generation(emu: Emulator) -> None:
    llm = make(emu, model="gpt-4o", n=2)
    text = "".join(c.text for c in llm.stream("Say 'hello'"))
    assert text and "n" not in last_body(emu)
    with pytest.raises(ValueError, match="n must be 1 when streaming"):
        make(emu, n=2, streaming=True)


# --- response_format=<pydantic class> per call ---------------------------------------------------


def test_parsed_on_invoke(emu: Emulator) -> None:
    msg = make(emu, model="gpt-4o").invoke("Gil is 33 years old.", response_format=Person)
    assert msg.additional_kwargs["parsed"] == Person(name="Gil", age=33)
    assert last_body(emu)["response_format"]["json_schema"]["name"] == "Person"


def test_parsed_on_stream_and_astream(emu: Emulator) -> None:
    llm = make(emu, model="gpt-4o")

    def total(chunks: list[AIMessageChunk]) -> AIMessageChunk:
        full = chunks[0]
        for c in chunks[1:]:
            full = full + c
        return full

    chunks = list(llm.stream("Hal is 50 years old.", response_format=Person))
    assert len(chunks) > 1 and total(chunks).additional_kwargs["parsed"] == Person(
        name="Hal", age=50
    )

    async def collect() -> list[AIMessageChunk]:
        return [c async for c in llm.astream("Ida is 7 years old.", response_format=Person)]

    assert total(asyncio.run(collect())).additional_kwargs["parsed"] == Person(name="Ida", age=7)


def test_no_parsed_for_a_dict_format_or_an_answer_that_is_not_one(emu: Emulator) -> None:
    llm = make(emu, model="gpt-4o")
    msg = llm.invoke("Jo is 3 years old.", response_format=PersonDict)
    assert "parsed" not in msg.additional_kwargs
    emu.script("chat", ["not json"])
    assert llm.invoke("Jo", response_format=Person).additional_kwargs["parsed"] is None


# --- reasoning models: the temperature shown is the one used -------------------------------------


def test_a_reasoning_model_shows_temperature_one_and_sends_none(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    llm = make(emu, azure_deployment="reasoner", model="o4-mini")
    assert llm.temperature == 1.0 and llm.profile["temperature"] is False  # type: ignore[index]
    with caplog.at_level(logging.WARNING):
        llm.invoke("Say 'hi'")
    assert "temperature" not in last_body(emu)
    assert not [r for r in caplog.records if "temperature" in r.getMessage()]
    assert (
        make(emu, azure_deployment="reasoner", model="o4-mini", temperature=0.5).temperature == 0.5
    )
    assert make(emu, model="gpt-4o").temperature is None


# --- unknown parameters are named --------------------------------------------------------------


def test_a_misspelled_parameter_is_named(emu: Emulator) -> None:
    with pytest.warns(UserWarning, match="temprature"):  # LangChain's own note: model_kwargs
        llm = make(emu, model="gpt-4o", temprature=0.2)
    with pytest.raises(UnsupportedParameterError) as info:
        llm.invoke("hi")
    assert info.value.param == "temprature" and "did you mean 'temperature'?" in str(info.value)
    assert "route='v1'" not in str(info.value)  # the call is on v1 already
    with pytest.raises(UnsupportedParameterError, match="check the spelling of 'top_k'"):
        make(emu, model="gpt-4o").invoke("hi", top_k=3)

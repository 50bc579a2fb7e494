"""AzureChatOpenAI end to end against the emulator over loopback: invoke/stream/batch/events,
callbacks, usage, metadata, tools, structured output, both APIs, multimodal input, errors."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from azoai import ContentFilterError, StreamInterruptedError
from azoai_emulator import Emulator, Fault, RequestRecord
from langchain_azoai import AzureChatOpenAI

PNG_B64 = base64.b64encode(b"\x89PNG\r\n\x1a\n fake image").decode()


class TokenRecorder(BaseCallbackHandler):
    """Records every on_llm_new_token call."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.chunks: list[Any] = []

    def on_llm_new_token(
        self,
        token: str,
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        run_id: UUID,
        **kwargs: Any,
    ) -> None:
        self.tokens.append(token)
        self.chunks.append(chunk)


def chat_requests(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.path.endswith(("/chat/completions", "/responses"))]


def last_body(emu: Emulator) -> dict[str, Any]:
    body = chat_requests(emu)[-1].body
    assert isinstance(body, dict)
    return body


def aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    return full


# --- invoke, batch ---------------------------------------------------------------------------


def test_invoke_returns_text_usage_and_azure_metadata(llm: AzureChatOpenAI, emu: Emulator) -> None:
    msg = llm.invoke("Say 'hello from azure'")
    assert msg.text == "hello from azure"
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["input_tokens"] > 0 and msg.usage_metadata["output_tokens"] > 0
    assert msg.usage_metadata["input_token_details"] == {"cache_read": 0}
    meta = msg.response_metadata
    assert meta["model_name"] == "gpt-4o-2024-11-20"  # the real model Azure reports
    assert meta["deployment"] == "chat"
    assert meta["finish_reason"] == "stop"
    assert meta["id"] == msg.id and msg.id is not None and msg.id.startswith("chatcmpl-")
    assert meta["system_fingerprint"]
    assert meta["headers"]["x-ms-region"] == emu.region
    assert "apim-request-id" in meta["headers"]
    assert meta["content_filter_results"]["violence"] == {"filtered": False, "severity": "safe"}
    assert meta["prompt_filter_results"][0]["content_filter_results"]["hate"]["filtered"] is False
    assert last_body(emu)["messages"] == [{"role": "user", "content": "Say 'hello from azure'"}]


async def test_ainvoke_batch_and_abatch(llm: AzureChatOpenAI, emu: Emulator) -> None:
    assert (await llm.ainvoke("Say 'one'")).text == "one"
    assert [m.text for m in llm.batch(["Say 'two'", "Say 'three'"])] == ["two", "three"]
    assert [m.text for m in await llm.abatch(["Say 'four'", "Say 'five'"])] == ["four", "five"]
    assert len(chat_requests(emu)) == 5


def test_generate_combines_usage_across_prompts(llm: AzureChatOpenAI) -> None:
    result = llm.generate([[HumanMessage("Say 'a'")], [HumanMessage("Say 'b c'")]])
    usages = [g[0].message.usage_metadata for g in result.generations]  # type: ignore[attr-defined]
    assert result.llm_output is not None
    assert result.llm_output["token_usage"]["total_tokens"] == sum(
        u["total_tokens"] for u in usages
    )
    assert result.llm_output["model_name"] == "gpt-4o-2024-11-20"


def test_system_and_history_are_sent_in_order(llm: AzureChatOpenAI, emu: Emulator) -> None:
    from langchain_core.messages import SystemMessage

    llm.invoke(
        [
            SystemMessage("You are terse."),
            HumanMessage("My name is Ada.", name="ada"),
            AIMessage("Hello Ada."),
            HumanMessage("What is my name?"),
        ]
    )
    assert [(m["role"], m.get("name")) for m in last_body(emu)["messages"]] == [
        ("system", None),
        ("user", "ada"),
        ("assistant", None),
        ("user", None),
    ]


def test_model_override_per_call_selects_another_deployment(
    llm: AzureChatOpenAI, emu: Emulator
) -> None:
    msg = llm.invoke("Say 'hi'", model="chat-mini")
    assert msg.response_metadata["deployment"] == "chat-mini"
    assert msg.response_metadata["model_name"].startswith("gpt-4o-mini")
    assert chat_requests(emu)[-1].deployment == "chat-mini"
    chunks = list(llm.stream("Say 'hi'", model="chat-mini"))
    assert aggregate(chunks).response_metadata["model_name"].startswith("gpt-4o-mini")
    assert chat_requests(emu)[-1].deployment == "chat-mini"
    assert llm.invoke("Say 'hi'").response_metadata["deployment"] == "chat"


def test_reasoning_model_rules_are_the_cores(emu: Emulator) -> None:
    """temperature on an o-series deployment: the core drops it, the call succeeds."""
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="reasoner",
        model="o4-mini",
        temperature=0.3,
        max_tokens=500,
    )
    msg = llm.invoke("What is 6 * 7?")
    assert "42" in msg.text
    body = last_body(emu)
    assert "temperature" not in body
    assert body["max_completion_tokens"] == 500
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["output_token_details"]["reasoning"] > 0


def test_logprobs_in_response_metadata(emu: Emulator) -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        logprobs=True,
        top_logprobs=1,
    )
    msg = llm.invoke("Say 'hi there'")
    tokens = [entry["token"] for entry in msg.response_metadata["logprobs"]["content"]]
    assert "".join(tokens) == "hi there"
    assert (last_body(emu)["logprobs"], last_body(emu)["top_logprobs"]) == (True, 1)


def test_streamed_logprobs_add_up_to_the_invoked_ones(emu: Emulator) -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        logprobs=True,
        top_logprobs=2,
    )
    whole = llm.invoke("Say 'hi there friend'").response_metadata["logprobs"]["content"]
    chunks = list(llm.stream("Say 'hi there friend'"))
    with_text = [c for c in chunks if c.content]
    assert all(len(c.response_metadata["logprobs"]["content"]) == 1 for c in with_text)
    full = chunks[0]
    for c in chunks[1:]:
        full += c
    assert full.content == "hi there friend"
    assert full.response_metadata["logprobs"]["content"] == whole
    assert all(len(e["top_logprobs"]) == 2 for e in whole)


def test_headers_can_be_left_out(emu: Emulator) -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        include_response_headers=False,
    )
    assert "headers" not in llm.invoke("Say 'x'").response_metadata
    assert "headers" not in aggregate(list(llm.stream("Say 'x'"))).response_metadata


def test_routes_name_the_target_that_served(emu: Emulator) -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="pool",
        routes={"pool": {"strategy": "failover", "targets": ["chat", "chat-mini"]}},
    )
    emu.inject("chat", Fault.status(503))
    msg = llm.invoke("Say 'routed'")
    assert msg.text == "routed"
    assert msg.response_metadata["target"] == "chat-mini"
    assert msg.response_metadata["deployment"] == "chat-mini"
    full = aggregate(list(llm.stream("Say 'routed again'")))
    assert full.text == "routed again" and "target" in full.response_metadata


def test_route_keys_are_named_never_given_inline(emu: Emulator) -> None:
    from azoai.errors import ConfigError

    inline = {"pool": {"targets": [{"deployment": "chat", "api_key": "secret-key-123"}]}}
    with pytest.raises(ConfigError, match="api_key_env") as caught:
        AzureChatOpenAI(
            azure_endpoint=emu.endpoint,
            api_key=emu.api_key,
            azure_deployment="pool",
            routes=inline,
        )
    assert "secret-key-123" not in str(caught.value)


# --- streaming -------------------------------------------------------------------------------


def test_stream_tokens_callbacks_usage_once_and_last_chunk(llm: AzureChatOpenAI) -> None:
    recorder = TokenRecorder()
    chunks = list(llm.stream("Say 'the quick brown fox'", config={"callbacks": [recorder]}))
    texts = [c.text for c in chunks if c.text]
    assert len(texts) >= 3  # several text deltas
    assert "".join(texts) == "the quick brown fox"
    # one on_llm_new_token per chunk, the text deltas among them in order
    assert [t for t in recorder.tokens if t] == texts
    assert len(recorder.tokens) == len(chunks)
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    assert [c.chunk_position for c in chunks].count("last") == 1
    last = chunks[-1]
    assert last.chunk_position == "last"
    assert last.usage_metadata is not None and last.response_metadata["finish_reason"] == "stop"
    full = aggregate(chunks)
    assert full.text == "the quick brown fox"
    assert full.response_metadata["model_name"] == "gpt-4o-2024-11-20"
    assert full.usage_metadata == last.usage_metadata


def test_invoke_with_streaming_true_streams_and_calls_back_per_delta(emu: Emulator) -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="chat", streaming=True
    )
    recorder = TokenRecorder()
    msg = llm.invoke("Say 'alpha beta gamma'", config={"callbacks": [recorder]})
    assert msg.text == "alpha beta gamma"
    assert "".join(recorder.tokens) == "alpha beta gamma"
    assert len([t for t in recorder.tokens if t]) >= 3
    assert last_body(emu)["stream"] is True
    assert last_body(emu)["stream_options"] == {"include_usage": True}
    assert msg.usage_metadata is not None


def test_stream_events_v3_calls_back_once_per_delta(llm: AzureChatOpenAI) -> None:
    """stream_events(version="v3") hands the run manager to _stream: still one callback per delta."""
    recorder = TokenRecorder()
    stream = llm.stream_events(
        "Say 'one two three'", version="v3", config={"callbacks": [recorder]}
    )
    events = list(stream)
    assert events
    assert stream.output.text == "one two three"
    assert stream.output.response_metadata["output_version"] == "v1"
    assert "".join(recorder.tokens) == "one two three"
    assert len([t for t in recorder.tokens if t]) == 3


async def test_astream_and_astream_events(llm: AzureChatOpenAI) -> None:
    recorder = TokenRecorder()
    chunks = [
        c async for c in llm.astream("Say 'red green blue'", config={"callbacks": [recorder]})
    ]
    assert aggregate(chunks).text == "red green blue"
    assert [t for t in recorder.tokens if t] == [c.text for c in chunks if c.text]
    assert chunks[-1].chunk_position == "last"

    kinds: list[str] = []
    streamed: list[str] = []
    end: Any = None
    async for event in llm.astream_events("Say 'cyan magenta'", version="v2"):
        kinds.append(event["event"])
        if event["event"] == "on_chat_model_stream":
            streamed.append(event["data"]["chunk"].text)
        if event["event"] == "on_chat_model_end":
            end = event["data"]["output"]
    assert kinds[0] == "on_chat_model_start" and kinds[-1] == "on_chat_model_end"
    assert "".join(streamed) == "cyan magenta"
    assert end.usage_metadata is not None and end.text == "cyan magenta"


def test_stream_usage_off(emu: Emulator) -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        stream_usage=False,
    )
    chunks = list(llm.stream("Say 'quiet'"))
    assert "stream_options" not in last_body(emu)
    assert all(c.usage_metadata is None for c in chunks)
    assert chunks[-1].chunk_position == "last"


# --- tools -----------------------------------------------------------------------------------


class GetWeather(BaseModel):
    """Get the current weather for a city."""

    city: str = Field(description="The city")


class GetTime(TypedDict):
    """Get the local time in a city."""

    city: str


def get_population(city: str) -> int:
    """Get the population of a city."""
    return 1


@tool
def get_mayor(city: str) -> str:
    """Get the mayor of a city."""
    return "someone"


RAW_TOOL = {
    "type": "function",
    "function": {
        "name": "get_area",
        "description": "Get the area of a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def test_bind_tools_accepts_every_kind_and_sends_them(llm: AzureChatOpenAI, emu: Emulator) -> None:
    bound = llm.bind_tools(
        [GetWeather, GetTime, get_population, get_mayor, RAW_TOOL],
        tool_choice="GetWeather",
        parallel_tool_calls=False,
        strict=True,
    )
    msg = bound.invoke("What is the weather in Paris?")
    assert msg.tool_calls == [
        {
            "name": "GetWeather",
            "args": {"city": "Paris"},
            "id": msg.tool_calls[0]["id"],
            "type": "tool_call",
        }
    ]
    body = last_body(emu)
    assert [t["function"]["name"] for t in body["tools"]] == [
        "GetWeather",
        "GetTime",
        "get_population",
        "get_mayor",
        "get_area",
    ]
    # strict applies to the schemas LangChain converts; a ready OpenAI-format dict is sent as given
    assert [t["function"].get("strict") for t in body["tools"]] == [True, True, True, True, None]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "GetWeather"}}
    assert body["parallel_tool_calls"] is False


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("any", "required"),
        ("required", "required"),
        (True, "required"),
        ("auto", "auto"),
        ("none", "none"),
    ],
)
def test_tool_choice_values(llm: AzureChatOpenAI, emu: Emulator, choice: Any, wire: str) -> None:
    llm.bind_tools([GetWeather], tool_choice=choice).invoke("What is the weather in Oslo?")
    assert last_body(emu)["tool_choice"] == wire


def test_tool_call_chunks_aggregate_into_tool_calls(llm: AzureChatOpenAI) -> None:
    chunks = list(
        llm.bind_tools([GetWeather], tool_choice="any").stream("What is the weather in Rome?")
    )
    assert any(c.tool_call_chunks for c in chunks)
    assert all(ch.get("index") == 0 for c in chunks for ch in c.tool_call_chunks)
    full = aggregate(chunks)
    assert [(tc["name"], tc["args"]) for tc in full.tool_calls] == [
        ("GetWeather", {"city": "Rome"})
    ]
    assert full.response_metadata["finish_reason"] == "tool_calls"


def test_invalid_tool_call_json_is_surfaced(llm: AzureChatOpenAI, emu: Emulator) -> None:
    truncated = {"tool_calls": [{"name": "GetWeather", "arguments": '{"city": "Par'}]}
    malformed = {"tool_calls": [{"name": "GetWeather", "arguments": '{"city": Paris}'}]}
    emu.script("chat", [truncated, malformed, malformed])
    bound = llm.bind_tools([GetWeather])
    for raw in ('{"city": "Par', '{"city": Paris}'):
        msg = bound.invoke("What is the weather in Paris?")
        assert msg.tool_calls == []
        [invalid] = msg.invalid_tool_calls
        assert (invalid["name"], invalid["args"]) == ("GetWeather", raw)
        assert invalid["error"] and "JSON" in invalid["error"]
    # Streamed, LangChain itself joins the fragments and parses them (leniently: it completes
    # truncated JSON); JSON that cannot be completed ends in invalid_tool_calls.
    full = aggregate(list(bound.stream("What is the weather in Paris?")))
    assert full.tool_calls == []
    assert [i["args"] for i in full.invalid_tool_calls] == ['{"city": Paris}']


def test_manual_tool_loop(llm: AzureChatOpenAI, emu: Emulator) -> None:
    @tool
    def lookup_capital(country: str) -> str:
        """Look up the capital city of a country."""
        return "The capital of France is Paris."

    bound = llm.bind_tools([lookup_capital])
    question = HumanMessage("What is the capital of France? Use the lookup_capital tool.")
    call = bound.invoke([question])
    assert [tc["name"] for tc in call.tool_calls] == ["lookup_capital"]
    result = lookup_capital.invoke(call.tool_calls[0])
    assert isinstance(result, ToolMessage)
    answer = bound.invoke([question, call, result])
    assert "Paris" in answer.text
    sent = last_body(emu)["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call.tool_calls[0]["id"]
    assert sent[2] == {
        "role": "tool",
        "tool_call_id": call.tool_calls[0]["id"],
        "content": result.content,
    }


# --- structured output -----------------------------------------------------------------------


class Person(BaseModel):
    """A person."""

    name: str = Field(description="The person's name")
    age: int = Field(description="Age in years")


def test_structured_output_json_schema_is_the_default_when_supported(
    llm: AzureChatOpenAI, emu: Emulator
) -> None:
    person = llm.with_structured_output(Person).invoke("Alice is 31 years old. Extract the person.")
    assert isinstance(person, Person)
    assert (person.name, person.age) == ("Alice", 31)
    fmt = last_body(emu)["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Person"


def test_structured_output_function_calling_and_strict(llm: AzureChatOpenAI, emu: Emulator) -> None:
    structured = llm.with_structured_output(Person, method="function_calling", strict=True)
    person = structured.invoke("Bob is 45 years old. Extract the person.")
    assert isinstance(person, Person) and person.age == 45
    body = last_body(emu)
    assert body["tool_choice"] == {"type": "function", "function": {"name": "Person"}}
    assert body["tools"][0]["function"]["strict"] is True
    assert body["parallel_tool_calls"] is False


def test_structured_output_json_mode_and_include_raw(llm: AzureChatOpenAI, emu: Emulator) -> None:
    structured = llm.with_structured_output(None, method="json_mode", include_raw=True)
    out = structured.invoke(
        'Carol is 52 years old. Give her as a JSON object like {"name": "...", "age": 0}.'
    )
    assert isinstance(out, dict)
    assert isinstance(out["raw"], AIMessage)
    assert out["parsing_error"] is None
    assert out["parsed"] == {"name": "Carol", "age": 52}
    assert last_body(emu)["response_format"] == {"type": "json_object"}


def test_structured_output_include_raw_keeps_parse_errors(
    llm: AzureChatOpenAI, emu: Emulator
) -> None:
    emu.script("chat", ["not json at all"])
    out = llm.with_structured_output(Person, include_raw=True).invoke("Extract: Dan, 20")
    assert isinstance(out, dict)
    assert out["parsed"] is None
    assert out["parsing_error"] is not None
    assert out["raw"].text == "not json at all"


def test_structured_output_defaults_to_json_schema_for_an_unknown_model(emu: Emulator) -> None:
    # as langchain-openai does: only a model known to lack it falls back (with a warning)
    unknown = AzureChatOpenAI(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="chat"
    )
    person = unknown.with_structured_output(Person).invoke("Eve is 28 years old.")
    assert isinstance(person, Person)
    assert "tools" not in last_body(emu) and "response_format" in last_body(emu)


def test_structured_output_streams_parsed_objects(llm: AzureChatOpenAI) -> None:
    parts = list(llm.with_structured_output(Person).stream("Frank is 60 years old."))
    assert parts and isinstance(parts[-1], Person) and parts[-1].age == 60


# --- output_version="v1" ---------------------------------------------------------------------


def test_v1_content_blocks_on_chat_completions(emu: Emulator) -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        output_version="v1",
    )
    msg = llm.bind_tools([GetWeather]).invoke("What is the weather in Lima? Use the tool.")
    assert msg.response_metadata["output_version"] == "v1"
    assert [b["type"] for b in msg.content] == ["tool_call"]  # type: ignore[index]
    full = aggregate(list(llm.stream("Say 'v one'")))
    assert full.content == [{"type": "text", "text": "v one", "index": "lc_txt_0"}]


# --- the Responses API -----------------------------------------------------------------------


def test_responses_api_text_tools_and_stream(responses_llm: AzureChatOpenAI, emu: Emulator) -> None:
    msg = responses_llm.invoke("Say 'via responses'")
    assert msg.text == "via responses"
    assert chat_requests(emu)[-1].path.endswith("/responses")
    assert msg.id is not None and msg.id.startswith("resp_")
    assert msg.usage_metadata is not None
    call = responses_llm.bind_tools([GetWeather], tool_choice="any").invoke(
        "What is the weather in Kyiv?"
    )
    assert [(tc["name"], tc["args"]) for tc in call.tool_calls] == [
        ("GetWeather", {"city": "Kyiv"})
    ]
    chunks = list(
        responses_llm.bind_tools([GetWeather], tool_choice="any").stream(
            "What is the weather in Kyiv?"
        )
    )
    full = aggregate(chunks)
    assert [(tc["name"], tc["args"]) for tc in full.tool_calls] == [
        ("GetWeather", {"city": "Kyiv"})
    ]
    assert sum(1 for c in chunks if c.usage_metadata) == 1


def test_responses_reasoning_summaries_are_reasoning_blocks(emu: Emulator) -> None:
    kw: dict[str, Any] = {
        "azure_endpoint": emu.endpoint,
        "api_key": emu.api_key,
        "azure_deployment": "reasoner",
        "model": "o4-mini",
        "reasoning": {"effort": "low", "summary": "auto"},
    }
    llm = AzureChatOpenAI(**kw)
    msg = llm.invoke("What is 12 * 12?")
    assert last_body(emu)["reasoning"] == {"effort": "low", "summary": "auto"}
    reasoning, text = msg.content_blocks
    assert reasoning["type"] == "reasoning" and reasoning["reasoning"]  # type: ignore[typeddict-item]
    assert str(reasoning.get("id", "")).startswith("rs_")
    assert text == {"type": "text", "text": "144"}
    assert (
        msg.usage_metadata is not None
        and msg.usage_metadata["output_token_details"]["reasoning"] > 0
    )
    # streamed, v0 and v1
    full = aggregate(list(llm.stream("What is 12 * 12?")))
    assert [b["type"] for b in full.content_blocks] == ["reasoning", "text"]
    v1 = AzureChatOpenAI(**kw, output_version="v1")
    blocks = v1.invoke("What is 12 * 12?").content
    assert [b["type"] for b in blocks] == ["reasoning", "text"]  # type: ignore[index]
    streamed = aggregate(list(v1.stream("What is 12 * 12?")))
    assert [b["type"] for b in streamed.content] == ["reasoning", "text"]  # type: ignore[index]
    # the reasoning item goes back with the next turn
    llm.invoke([HumanMessage("What is 12 * 12?"), msg, HumanMessage("And 13 * 13?")])
    sent = last_body(emu)["input"]
    assert any(item.get("type") == "reasoning" and item["id"] == reasoning["id"] for item in sent)  # type: ignore[typeddict-item]


def test_responses_chaining_by_previous_response_id(emu: Emulator) -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        use_previous_response_id=True,
        store=True,
    )
    first = llm.invoke("My favourite colour is teal. Remember it.")
    second = llm.invoke(
        [
            HumanMessage("My favourite colour is teal. Remember it."),
            first,
            HumanMessage("What is my favourite colour?"),
        ]
    )
    body = last_body(emu)
    assert body["previous_response_id"] == first.id
    assert body["store"] is True
    assert len(body["input"]) == 1  # only what came after the chained response
    assert "teal" in second.text
    # explicit per-call chaining works without the flag too
    plain = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        use_responses_api=True,
        store=False,
    )
    plain.invoke("What is my favourite colour?", previous_response_id=first.id)
    assert last_body(emu)["previous_response_id"] == first.id
    assert last_body(emu)["store"] is False


# --- multimodal ------------------------------------------------------------------------------


def test_images_by_url_and_base64(llm: AzureChatOpenAI, emu: Emulator) -> None:
    llm.invoke(
        [
            HumanMessage(
                [
                    {"type": "text", "text": "Describe these images."},
                    {"type": "image", "url": "https://example.org/cat.png"},
                    {"type": "image", "base64": PNG_B64, "mime_type": "image/png"},
                ]
            )
        ]
    )
    parts = last_body(emu)["messages"][0]["content"]
    assert parts[1] == {"type": "image_url", "image_url": {"url": "https://example.org/cat.png"}}
    assert parts[2] == {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{PNG_B64}"},
    }


def test_pdf_on_the_responses_api(responses_llm: AzureChatOpenAI, emu: Emulator) -> None:
    pdf = base64.b64encode(b"%PDF-1.4 minimal").decode()
    responses_llm.invoke(
        [
            HumanMessage(
                [
                    {"type": "text", "text": "Summarize this document."},
                    {
                        "type": "file",
                        "base64": pdf,
                        "mime_type": "application/pdf",
                        "filename": "r.pdf",
                    },
                ]
            )
        ]
    )
    content = last_body(emu)["input"][0]["content"]
    assert content[1] == {
        "type": "input_file",
        "file_data": f"data:application/pdf;base64,{pdf}",
        "filename": "r.pdf",
    }


# --- errors ----------------------------------------------------------------------------------


def test_content_filter_raises_typed_errors(llm: AzureChatOpenAI, emu: Emulator) -> None:
    emu.inject("chat", Fault.content_filter("completion", "violence"))
    with pytest.raises(ContentFilterError) as completion:
        llm.invoke("Tell me a story about a knight.")
    assert completion.value.side == "completion"
    emu.inject("chat", Fault.content_filter("completion", "violence"))
    with pytest.raises(ContentFilterError):
        list(llm.stream("Tell me a story about a knight."))
    emu.inject("chat", Fault.content_filter("prompt", "hate"))
    with pytest.raises(ContentFilterError) as prompt:
        llm.invoke("Tell me a story.")
    assert prompt.value.side == "prompt"


def test_return_filtered_keeps_the_partial_completion(emu: Emulator) -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        return_filtered=True,
    )
    emu.inject("chat", Fault.content_filter("completion", "violence"))
    msg = llm.invoke("Tell me a story about a knight.")
    assert msg.response_metadata["finish_reason"] == "content_filter"
    assert msg.response_metadata["content_filter_results"]["violence"]["filtered"] is True
    emu.inject("chat", Fault.content_filter("completion", "violence"))
    full = aggregate(list(llm.stream("Tell me a story about a knight.")))
    assert full.response_metadata["finish_reason"] == "content_filter"
    assert full.response_metadata["content_filter_results"]["violence"]["filtered"] is True


def test_cut_stream_raises_with_the_partial_text(llm: AzureChatOpenAI, emu: Emulator) -> None:
    emu.inject("chat", Fault.cut_stream(after_chunks=3))
    received: list[BaseMessage] = []
    with pytest.raises(StreamInterruptedError) as err:
        for chunk in llm.stream("Say 'one two three four five six seven eight'"):
            received.append(chunk)
    assert err.value.partial_text == "".join(c.text for c in received)

"""``AzureOpenAI`` against the emulator over loopback: chat, streaming, completion, callbacks and
instrumentation, tools, structured output, the Responses API, images, content filtering."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from li_helpers import ISOLATED, bodies, chat_bodies
from llama_index.core.base.llms.types import (
    ChatMessage,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.callbacks import CallbackManager, CBEventType, TokenCountingHandler
from llama_index.core.callbacks.base_handler import BaseCallbackHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatInProgressEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionInProgressEvent,
    LLMCompletionStartEvent,
)
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from azoai.errors import ContentFilterError, DeploymentNotFoundError
from azoai_emulator import Emulator, Fault
from llamaindex_azoai import AzureOpenAI, InvalidToolArgumentsError

USER = [ChatMessage(role="user", content="Say hello big world")]


def make(emu: Emulator, **kw: Any) -> AzureOpenAI:
    args: dict[str, Any] = {
        "engine": "chat",
        "model": "gpt-4o",
        "azure_endpoint": emu.endpoint,
        "api_key": emu.api_key,
        **ISOLATED,
    }
    args.update(kw)
    return AzureOpenAI(**args)


# --- chat and completion --------------------------------------------------------------------------


def _check_metadata(kw: dict[str, Any]) -> None:
    assert kw["prompt_tokens"] > 0
    assert kw["completion_tokens"] > 0
    assert kw["total_tokens"] == kw["prompt_tokens"] + kw["completion_tokens"]
    assert set(kw["usage"]) >= {"cached_input_tokens", "reasoning_tokens"}
    assert kw["model"] == "gpt-4o-2024-11-20"
    assert kw["deployment"] == "chat"
    sides = {entry["side"] for entry in kw["content_filter"]}
    assert sides == {"prompt", "completion"}
    assert all(entry["filtered"] is False for entry in kw["content_filter"])
    assert "x-ms-region" in kw["headers"]


def test_chat(llm: AzureOpenAI, emu: Emulator) -> None:
    response = llm.chat(USER)
    assert response.message.role == "assistant"
    assert response.message.content == "hello big world"
    _check_metadata(response.additional_kwargs)
    assert isinstance(response.raw, dict)
    assert response.raw["choices"][0]["message"]["content"] == "hello big world"
    [body] = chat_bodies(emu)
    assert body["temperature"] == 0.1
    assert body["model"] == "chat"


async def test_achat(llm: AzureOpenAI) -> None:
    response = await llm.achat(USER)
    assert response.message.content == "hello big world"
    _check_metadata(response.additional_kwargs)


def test_stream_chat_deltas_and_usage_on_by_default(llm: AzureOpenAI, emu: Emulator) -> None:
    chunks = list(llm.stream_chat(USER))
    assert "".join(c.delta or "" for c in chunks) == "hello big world"
    assert [c.message.content for c in chunks if c.delta] == [
        "hello",
        "hello big",
        "hello big world",
    ]
    last = chunks[-1]
    assert last.message.content == "hello big world"
    _check_metadata(last.additional_kwargs)
    [body] = chat_bodies(emu)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_astream_chat(llm: AzureOpenAI) -> None:
    chunks = [c async for c in await llm.astream_chat(USER)]
    assert "".join(c.delta or "" for c in chunks) == "hello big world"
    _check_metadata(chunks[-1].additional_kwargs)


def test_complete_and_stream_complete(llm: AzureOpenAI, emu: Emulator) -> None:
    done = llm.complete("Say abc")
    assert done.text == "abc"
    assert done.additional_kwargs["completion_tokens"] == 1
    parts = list(llm.stream_complete("Say one two three"))
    assert "".join(p.delta or "" for p in parts) == "one two three"
    assert parts[-1].text == "one two three"
    assert parts[-1].additional_kwargs["total_tokens"] > 0
    assert chat_bodies(emu)[0]["messages"] == [{"role": "user", "content": "Say abc"}]


async def test_acomplete_and_astream_complete(llm: AzureOpenAI) -> None:
    assert (await llm.acomplete("Say abc")).text == "abc"
    parts = [p async for p in await llm.astream_complete("Say one two")]
    assert parts[-1].text == "one two"


def test_system_prompt_and_multi_turn(llm: AzureOpenAI, emu: Emulator) -> None:
    messages = [
        ChatMessage(role="system", content="You are terse."),
        ChatMessage(role="user", content="My name is Ada."),
        ChatMessage(role="assistant", content="Nice to meet you, Ada."),
        ChatMessage(role="user", content="What is my name?"),
    ]
    assert "Ada" in (llm.chat(messages).message.content or "")
    [body] = chat_bodies(emu)
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]


def test_additional_kwargs_map_to_request_fields_and_extra_body(emu: Emulator) -> None:
    llm = make(
        emu,
        additional_kwargs={
            "seed": 7,
            "top_p": 0.5,
            "stop": "END",
            "max_completion_tokens": 50,
            "stream_options": {"include_usage": False},
            "service_tier": "default",
        },
    )
    chunks = list(llm.stream_chat(USER))
    assert "usage" not in chunks[-1].additional_kwargs  # the user turned stream usage off
    [body] = chat_bodies(emu)
    assert (body["seed"], body["top_p"], body["stop"]) == (7, 0.5, ["END"])
    assert (
        body.get("max_completion_tokens", body.get("max_tokens")) == 50
    )  # the core picks the name
    assert body["service_tier"] == "default"
    assert "stream_options" not in body


def test_call_kwargs_win_over_additional_kwargs(emu: Emulator) -> None:
    llm = make(emu, additional_kwargs={"seed": 1}, temperature=0.9)
    llm.chat(USER, seed=2, temperature=0.0)
    [body] = chat_bodies(emu)
    assert (body["seed"], body["temperature"]) == (2, 0.0)


def test_logprobs(emu: Emulator) -> None:
    llm = make(emu, logprobs=True, top_logprobs=2)
    response = llm.chat(USER)
    assert response.logprobs is not None
    assert [alts[0].token for alts in response.logprobs] == ["hello", " big", " world"]
    assert all(alts and alts[0].logprob <= 0 and alts[0].bytes for alts in response.logprobs)
    [body] = chat_bodies(emu)
    assert (body["logprobs"], body["top_logprobs"]) == (True, 2)


def test_streamed_logprobs_match_the_whole_answer(emu: Emulator) -> None:
    llm = make(emu, logprobs=True, top_logprobs=2)
    whole = llm.chat(USER).logprobs
    assert whole is not None
    streamed = [alts for r in llm.stream_chat(USER) for alts in (r.logprobs or [])]
    assert [[(a.token, a.logprob) for a in alts] for alts in streamed] == [
        [(a.token, a.logprob) for a in alts] for alts in whole
    ]
    assert all(len(alts) == 2 for alts in streamed)


def test_per_call_model_picks_another_deployment(llm: AzureOpenAI, emu: Emulator) -> None:
    response = llm.chat(USER, model="chat-mini")
    assert response.additional_kwargs["deployment"] == "chat-mini"
    assert response.additional_kwargs["model"].startswith("gpt-4o-mini")
    assert chat_bodies(emu)[0]["model"] == "chat-mini"


def test_reuse_client_false_closes_its_client_after_each_call(emu: Emulator) -> None:
    llm = make(emu, reuse_client=False)
    assert llm.chat(USER).message.content == "hello big world"
    assert "".join(c.delta or "" for c in llm.stream_chat(USER)) == "hello big world"
    # metadata may keep a client for lookups, but calls never leave a connection open on it
    assert llm._client is None or llm._client._conn is None


def test_errors_propagate_typed(emu: Emulator) -> None:
    with pytest.raises(DeploymentNotFoundError):
        make(emu, engine="no-such-deployment").chat(USER)


def test_retries_are_the_cores(llm: AzureOpenAI, emu: Emulator) -> None:
    emu.inject("chat", Fault.status(503, count=1))
    assert llm.chat(USER).message.content == "hello big world"
    assert [r.status for r in emu.requests if r.path.endswith("/chat/completions")] == [503, 200]


def test_content_filter_raises_typed_or_returns_the_partial_output(emu: Emulator) -> None:
    llm = make(emu)
    emu.inject("chat", Fault.content_filter("completion", "hate"))
    with pytest.raises(ContentFilterError) as err:
        llm.chat(USER)
    assert err.value.side == "completion"
    emu.inject("chat", Fault.content_filter("completion", "hate"))
    response = make(emu, return_filtered=True).chat(USER)
    kw = response.additional_kwargs
    assert kw["finish_reason"] == "content_filter"
    assert any(e["filtered"] and "hate" in e["filtered_categories"] for e in kw["content_filter"])


def test_image_block_is_sent_as_an_image(llm: AzureOpenAI, emu: Emulator) -> None:
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    )
    message = ChatMessage(
        role="user",
        blocks=[TextBlock(text="Describe the image."), ImageBlock(image=png)],
    )
    assert llm.chat([message]).message.content
    [body] = chat_bodies(emu)
    parts = body["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "Describe the image."}
    assert parts[1]["type"] == "image_url"
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")


# --- callbacks and instrumentation ----------------------------------------------------------------


class Collector(BaseEventHandler):
    events: list[BaseEvent]

    @classmethod
    def class_name(cls) -> str:
        return "Collector"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)


class Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        super().__init__([], [])
        self.starts: list[dict[str, Any]] = []
        self.ends: list[dict[str, Any]] = []

    def on_event_start(
        self,
        event_type: CBEventType,
        payload: dict[str, Any] | None = None,
        event_id: str = "",
        parent_id: str = "",
        **kwargs: Any,
    ) -> str:
        if event_type == CBEventType.LLM:
            self.starts.append(payload or {})
        return event_id

    def on_event_end(
        self,
        event_type: CBEventType,
        payload: dict[str, Any] | None = None,
        event_id: str = "",
        **kwargs: Any,
    ) -> None:
        if event_type == CBEventType.LLM:
            self.ends.append(payload or {})

    def start_trace(self, trace_id: str | None = None) -> None:
        pass

    def end_trace(
        self, trace_id: str | None = None, trace_map: dict[str, list[str]] | None = None
    ) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[Collector]:
    handler = Collector(events=[])
    root = get_dispatcher()
    root.add_event_handler(handler)
    try:
        yield handler
    finally:
        root.event_handlers.remove(handler)


def _of(events: list[BaseEvent], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def test_stream_chat_events_one_in_progress_per_delta(emu: Emulator, collector: Collector) -> None:
    recorder = Recorder()
    llm = make(emu, callback_manager=CallbackManager([recorder]))
    chunks = list(llm.stream_chat(USER))
    events = collector.events
    assert len(_of(events, LLMChatStartEvent)) == 1
    progress = _of(events, LLMChatInProgressEvent)
    assert [e.response.delta for e in progress] == [c.delta for c in chunks]
    assert [e.response.delta for e in progress if e.response.delta] == ["hello", " big", " world"]
    [end] = _of(events, LLMChatEndEvent)
    assert end.response.message.content == "hello big world"
    assert len(recorder.starts) == len(recorder.ends) == 1
    assert recorder.ends[0]["response"].message.content == "hello big world"
    start = _of(events, LLMChatStartEvent)[0]
    assert emu.api_key not in str(start.model_dict)


async def test_astream_and_achat_events(emu: Emulator, collector: Collector) -> None:
    llm = make(emu)
    await llm.achat(USER)
    chunks = [c async for c in await llm.astream_chat(USER)]
    events = collector.events
    assert len(_of(events, LLMChatStartEvent)) == 2
    assert len(_of(events, LLMChatEndEvent)) == 2
    assert len(_of(events, LLMChatInProgressEvent)) == len(chunks)


def test_completion_events(emu: Emulator, collector: Collector) -> None:
    llm = make(emu)
    llm.complete("Say abc")
    parts = list(llm.stream_complete("Say one two"))
    events = collector.events
    assert len(_of(events, LLMCompletionStartEvent)) == 2
    assert len(_of(events, LLMCompletionEndEvent)) == 2
    assert len(_of(events, LLMCompletionInProgressEvent)) == len(parts)
    assert _of(events, LLMChatStartEvent) == []  # completion is not reported twice


@pytest.mark.parametrize("stream", [False, True])
def test_token_counting_handler_reads_the_real_usage(emu: Emulator, stream: bool) -> None:
    counter = TokenCountingHandler()
    llm = make(emu, callback_manager=CallbackManager([counter]))
    if stream:
        kw = list(llm.stream_chat(USER))[-1].additional_kwargs
    else:
        kw = llm.chat(USER).additional_kwargs
    [event] = counter.llm_token_counts
    estimate = counter._token_counter.estimate_tokens_in_messages(USER)
    assert estimate != kw["prompt_tokens"]  # so the count below can only come from the usage
    assert event.prompt_token_count == kw["prompt_tokens"]
    assert event.completion_token_count == kw["completion_tokens"]


# --- tools ----------------------------------------------------------------------------------------

weather_calls: list[str] = []


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    weather_calls.append(city)
    return f"It is sunny in {city}."


WEATHER = FunctionTool.from_defaults(get_weather)
TWO_CITIES = "What is the weather in Paris and London?"


def test_parallel_tool_calls_sends_what_the_caller_chose(llm: AzureOpenAI, emu: Emulator) -> None:
    both = llm.chat_with_tools([WEATHER], user_msg=TWO_CITIES, allow_parallel_tool_calls=True)
    calls = llm.get_tool_calls_from_response(both)
    assert [(c.tool_name, c.tool_kwargs) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "London"}),
    ]
    one = llm.chat_with_tools([WEATHER], user_msg=TWO_CITIES, allow_parallel_tool_calls=False)
    assert len(llm.get_tool_calls_from_response(one)) == 1
    first, second = chat_bodies(emu)
    assert (first["parallel_tool_calls"], second["parallel_tool_calls"]) == (True, False)
    assert first["tool_choice"] == "auto"
    assert first["tools"][0]["function"]["name"] == "get_weather"


def test_single_call_kept_with_a_warning_when_the_model_ignores_it(
    llm: AzureOpenAI, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu.script(
        "chat",
        [
            {
                "tool_calls": [
                    {"name": "get_weather", "arguments": {"city": "Rome"}},
                    {"name": "get_weather", "arguments": {"city": "Oslo"}},
                ]
            }
        ],
    )
    with caplog.at_level(logging.WARNING, logger="llamaindex_azoai"):
        response = llm.chat_with_tools([WEATHER], user_msg="weather in Rome and Oslo?")
    assert [c.tool_kwargs for c in llm.get_tool_calls_from_response(response)] == [{"city": "Rome"}]
    assert "2 tool calls" in caplog.text


def test_tool_required_and_named_tool_choice(llm: AzureOpenAI, emu: Emulator) -> None:
    llm.chat_with_tools([WEATHER], user_msg="Hello there", tool_required=True)
    llm.chat_with_tools([WEATHER], user_msg="Hello there", tool_choice="get_weather")
    required, named = chat_bodies(emu)
    assert required["tool_choice"] == "required"
    assert named["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


def test_strict_tools(emu: Emulator) -> None:
    llm = make(emu, strict=True)
    response = llm.chat_with_tools([WEATHER], user_msg="What is the weather in Paris?")
    assert llm.get_tool_calls_from_response(response)[0].tool_kwargs == {"city": "Paris"}
    fn = chat_bodies(emu)[0]["tools"][0]["function"]
    assert fn["strict"] is True
    assert fn["parameters"]["additionalProperties"] is False


def test_invalid_tool_arguments_raise_naming_the_tool(llm: AzureOpenAI, emu: Emulator) -> None:
    emu.script("chat", [{"tool_calls": [{"name": "get_weather", "arguments": '{"city": "Par'}]}])
    response = llm.chat_with_tools([WEATHER], user_msg="What is the weather in Paris?")
    with pytest.raises(InvalidToolArgumentsError, match="get_weather") as err:
        llm.get_tool_calls_from_response(response)
    assert err.value.raw_arguments == '{"city": "Par'
    emu.script("chat", [{"tool_calls": [{"name": "get_weather", "arguments": "[1, 2]"}]}])
    with pytest.raises(InvalidToolArgumentsError, match="get_weather"):
        llm.predict_and_call([WEATHER], user_msg="What is the weather in Paris?")


def test_predict_and_call_runs_the_tool(llm: AzureOpenAI) -> None:
    weather_calls.clear()
    result = llm.predict_and_call([WEATHER], user_msg="What is the weather in Madrid?")
    assert weather_calls == ["Madrid"]
    assert result.response == "It is sunny in Madrid."


def test_stream_chat_with_tools_every_chunk_is_readable(llm: AzureOpenAI) -> None:
    seen = []
    for chunk in llm.stream_chat_with_tools(
        [WEATHER], user_msg=TWO_CITIES, allow_parallel_tool_calls=True
    ):
        seen.append(llm.get_tool_calls_from_response(chunk, error_on_no_tool_call=False))
    assert [(c.tool_name, c.tool_kwargs) for c in seen[-1]] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "London"}),
    ]
    blocks = chunk.message.blocks
    assert all(isinstance(b, ToolCallBlock) for b in blocks)


async def test_astream_chat_with_tools(llm: AzureOpenAI) -> None:
    stream = await llm.astream_chat_with_tools([WEATHER], user_msg="Weather in Lima?")
    chunks = [c async for c in stream]
    [call] = llm.get_tool_calls_from_response(chunks[-1])
    assert call.tool_kwargs == {"city": "Lima"}
    response = await llm.achat_with_tools([WEATHER], user_msg="Weather in Lima?")
    assert llm.get_tool_calls_from_response(response)[0].tool_kwargs == {"city": "Lima"}


def test_tool_round_trip_sends_calls_and_results_back(llm: AzureOpenAI, emu: Emulator) -> None:
    history = [ChatMessage(role="user", content="What is the weather in Paris?")]
    response = llm.chat_with_tools([WEATHER], chat_history=history)
    [call] = llm.get_tool_calls_from_response(response)
    history = [
        *history,
        response.message,
        ChatMessage(
            role="tool",
            content=get_weather(**call.tool_kwargs),
            additional_kwargs={"tool_call_id": call.tool_id},
        ),
    ]
    final = llm.chat_with_tools([WEATHER], chat_history=history)
    assert final.message.content == "It is sunny in Paris."
    body = chat_bodies(emu)[-1]
    assert body["messages"][1]["tool_calls"][0]["id"] == call.tool_id
    assert body["messages"][2] == {
        "role": "tool",
        "tool_call_id": call.tool_id,
        "content": "It is sunny in Paris.",
    }


# --- structured output ----------------------------------------------------------------------------


class City(BaseModel):
    """A city and its country."""

    name: str
    country: str
    population: int


PROMPT = PromptTemplate("Give me facts about {city}.")


def test_structured_predict_uses_json_schema(llm: AzureOpenAI, emu: Emulator) -> None:
    city = llm.structured_predict(City, PROMPT, city="Lisbon")
    assert isinstance(city, City)
    [body] = chat_bodies(emu)
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "City"
    assert fmt["json_schema"]["strict"] is True
    assert "tools" not in body


def test_structured_predict_falls_back_to_tools_on_old_api_versions(emu: Emulator) -> None:
    llm = make(emu, api_version="2024-06-01")
    city = llm.structured_predict(City, PROMPT, city="Lisbon")
    assert isinstance(city, City)
    [body] = chat_bodies(emu)
    assert "response_format" not in body
    assert body["tool_choice"] == "required"
    assert body["tools"][0]["function"]["name"] == "City"


async def test_astructured_predict(llm: AzureOpenAI) -> None:
    assert isinstance(await llm.astructured_predict(City, PROMPT, city="Oslo"), City)


def test_stream_structured_predict(llm: AzureOpenAI) -> None:
    partials = list(llm.stream_structured_predict(City, PROMPT, city="Lisbon"))
    assert len(partials) > 1
    final = partials[-1]
    assert City.model_validate(final.model_dump()) == City.model_validate(final.model_dump())
    assert isinstance(final.name, str) and isinstance(final.population, int)


async def test_astream_structured_predict(llm: AzureOpenAI) -> None:
    partials = [p async for p in await llm.astream_structured_predict(City, PROMPT, city="Oslo")]
    assert isinstance(partials[-1].population, int)


# --- Responses API --------------------------------------------------------------------------------


def test_responses_api_reasoning_becomes_thinking_blocks(emu: Emulator) -> None:
    llm = make(
        emu,
        engine="reasoner",
        model="o3-mini",
        use_responses_api=True,
        reasoning_options={"effort": "low", "summary": "auto"},
    )
    response = llm.chat(USER)
    thinking = [b for b in response.message.blocks if isinstance(b, ThinkingBlock)]
    assert len(thinking) == 1
    assert thinking[0].content
    assert thinking[0].additional_information["id"].startswith("rs")
    assert thinking[0].num_tokens == response.additional_kwargs["usage"]["reasoning_tokens"] > 0
    assert response.message.content == "hello big world"
    [body] = bodies(emu, "/responses")
    assert body["reasoning"] == {"effort": "low", "summary": "auto"}
    assert "temperature" not in body  # a reasoning model: the core drops it


def test_responses_api_streaming(emu: Emulator) -> None:
    llm = make(emu, use_responses_api=True)
    chunks = list(llm.stream_chat(USER))
    assert "".join(c.delta or "" for c in chunks) == "hello big world"
    assert chunks[-1].additional_kwargs["total_tokens"] > 0
    assert chunks[-1].additional_kwargs["response_id"].startswith("resp")


def test_track_previous_responses_chains_and_sends_only_the_new_turn(emu: Emulator) -> None:
    llm = make(emu, use_responses_api=True, track_previous_responses=True, instructions="Be brief.")
    first = llm.chat([ChatMessage(role="user", content="My name is Ada.")])
    first_id = first.additional_kwargs["response_id"]
    assert llm.previous_response_id == first_id
    history = [
        ChatMessage(role="user", content="My name is Ada."),
        first.message,
        ChatMessage(role="user", content="What is my name?"),
    ]
    second = llm.chat(history)
    assert "Ada" in (second.message.content or "")
    one, two = bodies(emu, "/responses")
    assert one["store"] is True
    assert "previous_response_id" not in one
    assert two["previous_response_id"] == first_id
    assert two["instructions"] == "Be brief."
    assert [item["role"] for item in two["input"]] == ["user"]
    assert llm.previous_response_id == second.additional_kwargs["response_id"]
    llm.reset_previous_response()
    assert llm.previous_response_id is None


# --- routing --------------------------------------------------------------------------------------


def test_routes_fail_over_and_name_the_target_that_served(emu: Emulator) -> None:
    llm = make(
        emu,
        engine="pool",
        routes={"pool": {"strategy": "failover", "targets": ["chat", "chat-mini"]}},
    )
    emu.inject("chat", Fault.status(503))
    response = llm.chat([ChatMessage(role="user", content="Say 'routed'")])
    assert response.message.content == "routed"
    assert response.additional_kwargs["target"] == "chat-mini"
    assert response.additional_kwargs["deployment"] == "chat-mini"
    last = list(llm.stream_chat([ChatMessage(role="user", content="Say 'again'")]))[-1]
    assert last.message.content == "again" and last.additional_kwargs["target"] == "chat-mini"
    assert [q.deployment for q in emu.requests] == ["chat", "chat-mini", "chat-mini"]
    assert llm.to_dict()["routes"] == {
        "pool": {"strategy": "failover", "targets": ["chat", "chat-mini"]}
    }


def test_route_keys_are_named_never_given_inline(emu: Emulator) -> None:
    from azoai.errors import ConfigError

    inline = {"pool": {"targets": [{"deployment": "chat", "api_key": "secret-key-123"}]}}
    with pytest.raises(ConfigError, match="api_key_env") as caught:
        make(emu, engine="pool", routes=inline)
    assert "secret-key-123" not in str(caught.value)

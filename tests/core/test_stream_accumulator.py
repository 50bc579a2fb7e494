"""The one stream accumulator (azoai.wire.stream) and the content-filter presentation both
adapters use (azoai.wire.filters)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from azoai.client import Client
from azoai.content_filter import ContentFilterResults
from azoai.wire import (
    ChatRequest,
    Message,
    StreamAccumulator,
    StreamDelta,
    ToolCallChunk,
    ToolSpec,
    Usage,
    filter_records,
    openai_filter_fields,
)
from azoai_emulator import Emulator, Fault

SAFE = {"hate": {"filtered": False, "severity": "safe"}}
HIT = {"hate": {"filtered": True, "severity": "high"}}


def _verdict(side: Any, raw: dict[str, Any], index: int = 0) -> ContentFilterResults:
    return ContentFilterResults(side, index=index, raw=raw)


def test_fold_rules_and_the_plain_flag() -> None:
    acc = StreamAccumulator(deployment="fallback", model_version="cfg")
    first = StreamDelta(
        text="He",
        response_id="r1",
        model="gpt-4o-2024-08-06",
        headers={"x-ms-region": "East US"},
        target="east",
        deployment="chat-east",
        content_filter=[_verdict("prompt", SAFE)],
    )
    assert acc.add(first) is True  # text and metadata only
    assert acc.add(StreamDelta(text="llo", response_id="r2", model="other", target="west"))
    assert not acc.add(StreamDelta(tool_calls=[ToolCallChunk(0, id="c1", name="f")]))
    assert not acc.add(StreamDelta(tool_calls=[ToolCallChunk(0, arguments='{"a"')]))
    assert acc.partial_tool_calls() == [("c1", "f", '{"a"')]
    assert not acc.add(StreamDelta(tool_calls=[ToolCallChunk(0, arguments=": 1}")]))
    assert not acc.add(StreamDelta(reasoning_text="thinking"))
    assert not acc.add(StreamDelta(logprobs=[{"token": "x", "logprob": -0.5}]))
    acc.add(StreamDelta(finish_reason="tool_calls", system_fingerprint="fp"))
    acc.add(StreamDelta(usage=Usage(1, 2, 3)))
    r = acc.result()
    # first wins: ids, model, target; the delta's deployment beats the fallback
    assert (r.response_id, r.model, r.target, r.deployment) == (
        "r1",
        "gpt-4o-2024-08-06",
        "east",
        "chat-east",
    )
    assert r.text == "Hello" and r.finish_reason == "tool_calls" and r.system_fingerprint == "fp"
    assert r.usage == Usage(1, 2, 3) and r.headers == {"x-ms-region": "East US"}
    assert r.tool_calls[0].arguments == {"a": 1} and r.tool_calls[0].id == "c1"
    assert r.message.reasoning[0].summary == ["thinking"] and r.logprobs == [
        {"token": "x", "logprob": -0.5}
    ]
    assert r.model_version == "cfg"  # no delta named one
    # the result is a snapshot: folding more does not change it
    acc.add(StreamDelta(text="!"))
    assert r.text == "Hello" and acc.text == "Hello!"


def test_a_call_whose_arguments_are_not_an_object_keeps_its_text() -> None:
    acc = StreamAccumulator()
    acc.add(StreamDelta(tool_calls=[ToolCallChunk(1, name="g", arguments="[1]")]))
    (call,) = acc.tool_calls()
    assert call.id == "call_1" and call.arguments is None and call.raw_arguments == "[1]"
    assert call.error is not None and "JSON object" in call.error


def test_filter_presentation_drops_repeats_and_keeps_the_last_verdict() -> None:
    verdicts = [
        _verdict("prompt", SAFE),
        _verdict("completion", SAFE),
        _verdict("completion", SAFE),
        _verdict("completion", HIT),
        _verdict("completion", SAFE),
    ]
    fields = openai_filter_fields(verdicts)
    assert fields == {
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": SAFE}],
        "content_filter_results": SAFE,  # the last segment's verdict, as received
    }
    records = filter_records(verdicts)
    assert [(r["side"], r["filtered"]) for r in records] == [
        ("prompt", False),
        ("completion", False),
        ("completion", True),
    ]
    assert records[2]["filtered_categories"] == ["hate"]
    assert openai_filter_fields([]) == {} and filter_records([]) == []


# --- against the emulator: a folded stream is the non-streamed result -----------------------------


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


TOOL = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("tools", [False, True], ids=["text", "tools"])
def test_a_folded_stream_presents_like_the_call(emu: Emulator, api: str, tools: bool) -> None:
    emu.reset()
    client = Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        deployment="chat",
        api=api,
        env={},
        config_file="",
    )
    user = "What is the weather in Paris?" if tools else "Say hello"
    request = ChatRequest(messages=[Message("user", user)], tools=[TOOL] if tools else ())
    with client:
        called = client.chat(request)
        acc = StreamAccumulator(deployment="chat", api=api)
        for delta in client.stream(request):
            acc.add(delta)
    folded = acc.result()
    # there is something to compare (the Responses API carries no filter annotations)
    assert called.headers and (api == "responses" or called.content_filter)
    assert folded.text == called.text and folded.finish_reason == called.finish_reason
    assert [(c.name, c.arguments) for c in folded.tool_calls] == [
        (c.name, c.arguments) for c in called.tool_calls
    ]
    assert folded.usage == called.usage and folded.model == called.model
    assert folded.headers.keys() == called.headers.keys()
    assert openai_filter_fields(folded.content_filter) == openai_filter_fields(
        called.content_filter
    )
    assert filter_records(folded.content_filter) == filter_records(called.content_filter)


# --- the core folds into the caller's accumulator, once, and names the deployment ---------------


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_the_core_folds_each_delta_once_into_the_callers_accumulator(
    emu: Emulator, api: str
) -> None:
    emu.reset()
    client = Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        deployment="chat",
        api=api,
        env={},
        config_file="",
    )
    request = ChatRequest(messages=[Message("user", "Say hello")])
    with client:
        called = client.chat(request)
        acc = StreamAccumulator(api=api)  # no deployment given: the first delta names it
        deltas = list(client.stream(request, into=acc))
    assert deltas[0].deployment == "chat" and deltas[0].headers
    assert all(d.deployment is None for d in deltas[1:])
    # folded exactly once: the text is not doubled, the verdicts not repeated
    assert acc.text == "".join(d.text for d in deltas) == called.text
    assert len(acc.content_filter) == sum(len(d.content_filter) for d in deltas)
    result = acc.result()
    assert result.deployment == "chat" and result.finish_reason == called.finish_reason
    assert result.headers.keys() == called.headers.keys()


def test_a_routed_async_stream_folds_the_target_into_the_callers_accumulator() -> None:
    import asyncio

    with Emulator() as east, Emulator() as west:
        client = Client(
            endpoint=east.endpoint,
            api_key=east.api_key,
            deployment="chat",
            routes={
                "chat": {
                    "strategy": "failover",
                    "targets": [
                        {"deployment": "chat", "name": "east"},
                        {
                            "deployment": "chat",
                            "endpoint": west.endpoint,
                            "api_key_env": "WEST_KEY",
                            "name": "west",
                        },
                    ],
                }
            },
            env={"WEST_KEY": west.api_key},
            config_file="",
        )
        east.inject("*", Fault.status(503, count=None))  # east is down: fail over to west
        request = ChatRequest(messages=[Message("user", "Say hello")])
        acc = StreamAccumulator()

        async def go() -> list[StreamDelta]:
            async with client:
                return [d async for d in client.astream(request, into=acc)]

        deltas = asyncio.run(go())
    assert acc.text == "".join(d.text for d in deltas) and acc.text
    assert acc.target == "west" and acc.deployment == "chat"
    assert acc.finished

"""Streamed Chat Completions exactly as Azure sends them, and streams cut mid-way."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import openai
import pytest
from emu_helpers import CHAT, V1_CHAT, sse_payloads
from emu_spec import PREVIEW, STABLE, validate
from openai import AzureOpenAI

from azoai_emulator import Emulator, EmulatorDeployment, Fault

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def stream(http: httpx.Client, path: str = CHAT, **body: Any) -> list[Any]:
    r = http.post(path, json={"stream": True, **body})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert "content-length" not in r.headers
    return sse_payloads(r.text)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_content_stream_sequence(http: httpx.Client) -> None:
    payloads = stream(
        http, messages=user("Say 'Colors are nice.'"), stream_options={"include_usage": True}
    )
    first, role, *rest = payloads
    assert first["choices"] == []
    assert (first["id"], first["object"], first["model"], first["created"]) == ("", "", "", 0)
    assert first["prompt_filter_results"][0]["prompt_index"] == 0
    assert role["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert rest[-1] == "[DONE]"
    usage_chunk = rest[-2]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] == 4
    annotation = rest[-3]
    assert annotation["id"] == ""
    assert "delta" not in annotation["choices"][0]
    assert annotation["choices"][0]["content_filter_offsets"] == {
        "check_offset": 16,
        "start_offset": 0,
        "end_offset": 16,
    }
    assert annotation["choices"][0]["content_filter_results"]["hate"] == {
        "filtered": False,
        "severity": "safe",
    }
    finish = rest[-4]
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert finish["choices"][0]["delta"] == {}
    content = rest[:-4]
    assert [c["choices"][0]["delta"]["content"] for c in content] == [
        "Colors",
        " are",
        " nice",
        ".",
    ]
    assert all(c["usage"] is None for c in content)
    ids = {c["id"] for c in [role, *content, finish, usage_chunk]}
    assert len(ids) == 1
    assert ids.pop().startswith("chatcmpl-")


@pytest.mark.parametrize(
    ("version", "spec"), [("2024-10-21", STABLE), ("2025-04-01-preview", PREVIEW)]
)
def test_model_chunks_validate_against_the_spec(
    http: httpx.Client, version: str, spec: str
) -> None:
    path = f"/openai/deployments/chat/chat/completions?api-version={version}"
    for body in (
        {"messages": user("hello there")},
        {"messages": user("weather in Rome"), "tools": [WEATHER]},
    ):
        payloads = stream(http, path, **body)
        prompt_chunk = payloads[0]
        validate(prompt_chunk["prompt_filter_results"], "promptFilterResults", spec=spec)
        for chunk in payloads[1:-1]:
            if chunk["id"]:
                validate(chunk, "createChatCompletionStreamResponse", spec=spec)
            else:  # annotation-only chunks: Azure's empty object/id are outside the spec's enum
                validate(
                    chunk["choices"][0]["content_filter_results"],
                    "contentFilterChoiceResults",
                    spec=spec,
                )


def test_tool_call_deltas_are_split_across_chunks(http: httpx.Client) -> None:
    payloads = stream(http, messages=user("weather in Paris and Berlin"), tools=[WEATHER])
    deltas = [
        p["choices"][0]["delta"] for p in payloads[2:-1] if p["id"] and p["choices"][0].get("delta")
    ]
    calls: dict[int, dict[str, str]] = {}
    heads = 0
    for delta in deltas:
        for part in delta["tool_calls"]:
            entry = calls.setdefault(part["index"], {"name": "", "arguments": "", "id": ""})
            if "id" in part:
                heads += 1
                entry["id"] = part["id"]
                entry["name"] = part["function"]["name"]
                assert part["function"]["arguments"] == ""
            entry["arguments"] += part["function"]["arguments"]
    assert heads == 2
    assert len(deltas) > 4  # arguments arrive in several pieces
    assert [json.loads(c["arguments"]) for c in calls.values()] == [
        {"city": "Paris"},
        {"city": "Berlin"},
    ]
    assert payloads[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_sdk_reads_the_stream(azure: AzureOpenAI) -> None:
    chunks = list(
        azure.chat.completions.create(
            model="chat",
            messages=user("Say 'streamed fine'"),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(
        c.choices[0].delta.content or "" for c in chunks if c.choices and c.choices[0].delta
    )
    assert text == "streamed fine"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens > 0


def test_token_latency_spaces_the_chunks() -> None:
    slow = EmulatorDeployment("slow", model="gpt-4o", token_latency=0.02)
    with (
        Emulator(deployments=[slow]) as emu,
        httpx.stream(
            "POST",
            f"{emu.endpoint}/openai/v1/chat/completions",
            headers={"api-key": emu.api_key},
            json={"model": "slow", "messages": user("Say 'a b c d e f'"), "stream": True},
        ) as r,
    ):
        started = time.perf_counter()
        arrivals = [
            time.perf_counter() - started for line in r.iter_lines() if line.startswith("data:")
        ]
    # prompt chunk, role, six words, finish, annotation, [DONE]
    assert len(arrivals) == 11
    assert arrivals[-1] >= 0.02 * 10


def test_cut_stream_drops_the_connection_without_done(emu: Emulator) -> None:
    emu.inject("chat", Fault.cut_stream(after_chunks=3))
    received: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"),
        httpx.stream(
            "POST",
            f"{emu.endpoint}{CHAT}",
            headers={"api-key": emu.api_key},
            json={"messages": user("Say 'one two three four five'"), "stream": True},
        ) as r,
    ):
        received.extend(line for line in r.iter_lines() if line.startswith("data:"))
    assert len(received) == 3
    assert all("[DONE]" not in line for line in received)
    assert emu.requests[-1].status == 200
    # the fault was used up: the next stream completes
    assert (
        sse_payloads(
            httpx.post(
                f"{emu.endpoint}{CHAT}",
                headers={"api-key": emu.api_key},
                json={"messages": user("hi"), "stream": True},
            ).text
        )[-1]
        == "[DONE]"
    )


def test_cut_stream_through_the_header_and_the_sdk(emu: Emulator, azure: AzureOpenAI) -> None:
    with pytest.raises((httpx.RemoteProtocolError, openai.APIError)):
        for _ in azure.chat.completions.create(
            model="chat",
            messages=user("Say 'one two three'"),
            stream=True,
            extra_headers={"x-azoai-emulator-fault": "cut_stream=2"},
        ):
            pass


def test_a_cut_never_reaches_done_even_past_the_end(emu: Emulator) -> None:
    emu.inject("chat", Fault.cut_stream(after_chunks=1000))
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream(
            "POST",
            f"{emu.endpoint}{CHAT}",
            headers={"api-key": emu.api_key},
            json={"messages": user("hi"), "stream": True},
        ) as r,
    ):
        lines = [line for line in r.iter_lines() if line.startswith("data:")]
        assert "[DONE]" not in lines[-1]


def test_completion_filtered_mid_stream(emu: Emulator, http: httpx.Client) -> None:
    emu.inject(
        "chat", Fault.content_filter("completion", "protected_material_text", after_chunks=2)
    )
    payloads = stream(http, messages=user("Say 'one two three four'"))
    assert payloads[-1] == "[DONE]"
    filtered = payloads[-2]
    assert (filtered["id"], filtered["object"]) == ("", "")
    choice = filtered["choices"][0]
    assert choice["finish_reason"] == "content_filter"
    assert choice["content_filter_results"]["protected_material_text"] == {
        "filtered": True,
        "detected": True,
    }
    text = "".join(p["choices"][0]["delta"].get("content") or "" for p in payloads[1:-2])
    assert text == "one two"


def test_completions_stream(http: httpx.Client) -> None:
    payloads = stream(
        http, "/openai/deployments/instruct/completions?api-version=2024-10-21", prompt="Say 'a b'"
    )
    assert payloads[0]["choices"] == []
    text = "".join(p["choices"][0]["text"] for p in payloads[1:-1])
    assert text == "a b"
    assert payloads[-2]["choices"][0]["finish_reason"] == "stop"


def test_v1_stream(http: httpx.Client) -> None:
    payloads = stream(http, V1_CHAT, model="chat-mini", messages=user("hello"))
    assert payloads[1]["model"] == "gpt-4o-mini-2024-07-18"
    assert payloads[-1] == "[DONE]"

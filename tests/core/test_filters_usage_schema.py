"""Issue 16: the Responses API's content filter (``response.failed``, the newer ``ContentFiltered``
body), strict schemas without ``default`` values, and prompt-cache writes in usage, through the
public API (Client, both adapters) against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, Field

from azoai import error_reading
from azoai import errors as E
from azoai.client import CallOptions, Client
from azoai.wire import ChatRequest, Message, ResponseFormat, ToolSpec
from azoai_emulator import Emulator, Fault

ASK = ChatRequest(
    messages=[
        Message(
            "user",
            "Context: The quick brown fox jumps over the lazy dog near the river bank.\n\n"
            "What does the fox do?",
        )
    ]
)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(emu: Emulator) -> None:
    emu.reset()


def client(emu: Emulator, **kw: Any) -> Client:
    kw.setdefault("api", "responses")
    return Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        deployment="chat",
        model="gpt-4o",
        env={},
        config_file="",
        **kw,
    )


# --- content filter on the Responses API ----------------------------------------------------------


def test_responses_stream_filter_is_a_content_filter_error_with_the_partial_text(
    emu: Emulator,
) -> None:
    emu.inject("chat", Fault.content_filter("completion", "violence", after_chunks=2))
    got: list[str] = []
    with pytest.raises(E.ContentFilterError) as exc:
        for d in client(emu).stream(ASK):
            got.append(d.text)
    err = exc.value
    assert err.side == "completion" and "violence" in err.filtered_categories
    assert err.partial_text and err.partial_text == "".join(got)
    assert err.deployment == "chat"


def test_responses_async_stream_filter(emu: Emulator) -> None:
    emu.inject("chat", Fault.content_filter("completion", "hate", after_chunks=2))

    async def run() -> tuple[list[str], E.ContentFilterError]:
        got: list[str] = []
        try:
            async for d in client(emu).astream(ASK):
                got.append(d.text)
        except E.ContentFilterError as exc:
            return got, exc
        raise AssertionError("no ContentFilterError")

    got, err = asyncio.run(run())
    assert err.side == "completion" and err.filtered_categories == ["hate"]
    assert err.partial_text == "".join(got) and err.partial_text


def test_responses_non_streamed_filter_keeps_the_partial_output(emu: Emulator) -> None:
    emu.inject("chat", Fault.content_filter("completion", "sexual", after_chunks=2, count=2))
    with pytest.raises(E.ContentFilterError) as exc:
        client(emu).chat(ASK)
    assert exc.value.side == "completion" and "sexual" in exc.value.filtered_categories
    assert exc.value.partial_text and exc.value.partial_result is not None
    kept = client(emu).chat(ASK, options=CallOptions(return_filtered=True))
    assert kept.finish_reason == "content_filter" and kept.text == exc.value.partial_text
    assert any(f.side == "completion" and f.filtered for f in kept.content_filter)


def test_responses_prompt_filter_reads_the_newer_content_filters_body(emu: Emulator) -> None:
    emu.inject("chat", Fault.content_filter("prompt", "jailbreak"))
    with pytest.raises(E.ContentFilterError) as exc:
        client(emu).chat(ASK)
    err = exc.value
    assert err.side == "prompt" and err.filtered_categories == ["jailbreak"]
    body = err.body["error"]
    assert body["innererror"] == {"code": "ContentFiltered"} and body["content_filters"]
    assert err.results[0].categories  # every category, not just the filtered one


def test_error_from_response_reads_content_filters_and_the_inner_code() -> None:
    body = {
        "error": {
            "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
            "content management policy.",
            "type": "invalid_request_error",
            "param": "prompt",
            "code": "content_filter",
            "content_filters": [
                {
                    "blocked": True,
                    "source_type": "prompt",
                    "content_filter_results": {
                        "hate": {"filtered": False, "severity": "safe"},
                        "jailbreak": {"detected": True, "filtered": True},
                    },
                    "content_filter_offsets": {"start_offset": 0, "end_offset": 56},
                }
            ],
        }
    }
    err = error_reading.error_from_response(400, body)
    assert isinstance(err, E.ContentFilterError) and err.filtered_categories == ["jailbreak"]
    only_inner = error_reading.error_from_response(
        400, {"error": {"code": "x", "message": "m", "innererror": {"code": "ContentFiltered"}}}
    )
    assert isinstance(only_inner, E.ContentFilterError) and only_inner.side == "prompt"


# --- strict schemas drop default values -----------------------------------------------------------


class Search(BaseModel):
    """Search the catalogue."""

    query: str
    limit: int = Field(default=10)
    default: str = "all"  # a property named "default" stays


def _no_defaults(node: Any, path: str = "") -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "default" and not path.endswith("properties"):
                raise AssertionError(f"default left at {path}")
            _no_defaults(v, k)
    elif isinstance(node, list):
        for v in node:
            _no_defaults(v, path)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_strict_tool_and_format_bodies_carry_no_defaults(emu: Emulator, api: str) -> None:
    schema = {**Search.model_json_schema(), "additionalProperties": False}
    schema["required"] = ["query", "limit", "default"]
    tool = ToolSpec("search", "Search", schema, strict=True)
    c = client(emu, api=api)
    c.chat(ChatRequest(messages=[Message("user", "Find 'cats'")], tools=[tool]))
    c.chat(
        ChatRequest(
            messages=[Message("user", "Find 'cats'")],
            response_format=ResponseFormat(
                type="json_schema", name="s", schema=schema, strict=True
            ),
        )
    )
    for req in emu.requests:
        _no_defaults(req.body)
        props = req.body.get("tools", [{}])[0]
        sent = props.get("parameters") or props.get("function", {}).get("parameters")
        if sent:
            assert set(sent["properties"]) == {"query", "limit", "default"}


def test_langchain_strict_tools_are_sent_without_defaults(emu: Emulator) -> None:
    from langchain_azoai import AzureChatOpenAI

    for use_responses in (False, True):
        llm = AzureChatOpenAI(
            azure_endpoint=emu.endpoint,
            api_key=emu.api_key,
            azure_deployment="chat",
            model="gpt-4o",
            use_responses_api=use_responses,
        )
        llm.bind_tools([Search], strict=True).invoke("Find 'cats'")
        llm.with_structured_output(Search, strict=True, method="json_schema").invoke("Find 'cats'")
    assert len(emu.requests) == 4
    for req in emu.requests:
        _no_defaults(req.body)


# --- prompt-cache writes in usage -----------------------------------------------------------------

LONG = ChatRequest(
    messages=[
        Message("user", "Context: " + " ".join(f"word{i}" for i in range(1500)) + "\n\nSum up.")
    ]
)


def test_usage_reports_cache_writes_then_reads(emu: Emulator) -> None:
    c = client(emu)
    first = c.chat(LONG)
    assert first.usage is not None and first.usage.cache_write_tokens >= 1024
    assert first.usage.cached_input_tokens == 0
    second = c.chat(LONG)
    assert second.usage is not None and second.usage.cached_input_tokens >= 1024
    assert second.usage.cache_write_tokens == 0
    streamed = [d.usage for d in c.stream(LONG) if d.usage is not None]
    assert streamed and streamed[-1].cache_write_tokens == 0


def test_adapters_show_cache_writes(emu: Emulator) -> None:
    from langchain_azoai import AzureChatOpenAI
    from llamaindex_azoai import AzureOpenAI

    lc = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        model="gpt-4o",
        use_responses_api=True,
    )
    # a text no other test sent: the emulator's prompt cache outlives a reset
    text = "Context: " + " ".join(f"adapter{i}" for i in range(1500)) + "\n\nSum up."
    msg = lc.invoke(text)
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["input_token_details"].get("cache_creation", 0) >= 1024

    async def again() -> Any:
        return await lc.ainvoke(text)

    cached = asyncio.run(again())
    assert cached.usage_metadata["input_token_details"]["cache_read"] >= 1024
    assert "cache_creation" not in cached.usage_metadata["input_token_details"]

    emu.reset()
    li = AzureOpenAI(
        engine="chat",
        model="gpt-4o",
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        use_responses_api=True,
    )
    out = li.complete(text.replace("adapter", "index"))
    assert out.additional_kwargs["usage"]["cache_write_tokens"] >= 1024

"""OpenTelemetry spans through the LlamaIndex adapter (issue 20): chat, stream_chat and embeddings,
sync and async, each one azoai CLIENT span in the current OpenTelemetry context (a user's span or
one a LlamaIndex span handler made current), a failed call an error span, LlamaIndex's own
instrumentation events and callbacks unchanged, and ``telemetry=False`` turning it off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from li_helpers import ISOLATED
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatInProgressEvent,
    LLMChatStartEvent,
)
from otel_capture import Capture, capture, every_value

from azoai.errors import ContentFilterError
from azoai_emulator import Emulator, Fault
from llamaindex_azoai import AzureOpenAI, AzureOpenAIEmbedding

PROMPT = "Context: Lisbon is the capital of Portugal.\n\nWhat is the capital of Portugal?"
USER = [ChatMessage(role="user", content=PROMPT)]


@pytest.fixture
def otel() -> Iterator[Capture]:
    with capture() as c:
        yield c


class Collector(BaseEventHandler):
    events: list[BaseEvent]

    @classmethod
    def class_name(cls) -> str:
        return "TelemetryCollector"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)


@pytest.fixture
def collector() -> Iterator[Collector]:
    handler = Collector(events=[])
    root = get_dispatcher()
    root.add_event_handler(handler)
    try:
        yield handler
    finally:
        root.event_handlers.remove(handler)


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


def embedder(emu: Emulator, **kw: Any) -> AzureOpenAIEmbedding:
    return AzureOpenAIEmbedding(
        model="text-embedding-3-small",
        deployment_name="embed",
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        **ISOLATED,
        **kw,
    )


def check(span: Any, emu: Emulator, name: str = "chat chat") -> dict[str, Any]:
    assert span.name == name
    assert all(emu.api_key not in v and PROMPT not in v for v in every_value(span))
    return dict(span.attributes)


def _kinds(events: list[BaseEvent]) -> list[str]:
    wanted = (LLMChatStartEvent, LLMChatInProgressEvent, LLMChatEndEvent)
    return [type(e).__name__ for e in events if isinstance(e, wanted)]


def test_chat_is_a_child_of_the_current_span_and_events_still_fire(
    emu: Emulator, otel: Capture, collector: Collector
) -> None:
    with otel.tracer.start_as_current_span("my query") as parent:
        response = make(emu).chat(USER)
    (span,) = otel.azoai_spans()
    a = check(span, emu)
    assert span.parent.span_id == parent.get_span_context().span_id
    assert a["gen_ai.response.model"] == response.raw["model"]
    assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.request.stream"] is False
    assert _kinds(collector.events) == ["LLMChatStartEvent", "LLMChatEndEvent"]
    assert otel.metrics()["gen_ai.client.operation.duration"][0].count == 1


def test_stream_chat_span_ends_with_the_stream(
    emu: Emulator, otel: Capture, collector: Collector
) -> None:
    chunks = list(make(emu).stream_chat(USER))
    (span,) = otel.azoai_spans()
    a = check(span, emu)
    assert a["gen_ai.request.stream"] is True and "gen_ai.response.time_to_first_chunk" in a
    assert a["gen_ai.usage.output_tokens"] > 0
    kinds = _kinds(collector.events)
    assert kinds[0] == "LLMChatStartEvent" and kinds[-1] == "LLMChatEndEvent"
    assert kinds.count("LLMChatInProgressEvent") == len(chunks)
    m = otel.metrics()
    assert m["gen_ai.client.operation.time_per_output_chunk"][0].count >= 1


def test_an_abandoned_stream_chat_ends_its_span(emu: Emulator, otel: Capture) -> None:
    stream = make(emu).stream_chat(USER)
    next(stream)
    stream.close()
    (span,) = otel.azoai_spans()
    assert span.attributes["azoai.stream.abandoned"] is True


def test_a_failed_call_is_an_error_span(emu: Emulator, otel: Capture) -> None:
    from opentelemetry.trace import StatusCode

    emu.inject("chat", Fault.content_filter("prompt", "violence"))
    with pytest.raises(ContentFilterError):
        make(emu).chat(USER)
    (span,) = otel.azoai_spans()
    a = check(span, emu)
    assert span.status.status_code == StatusCode.ERROR
    assert a["error.type"] == "azoai.errors.ContentFilterError"
    assert a["http.response.status_code"] == 400


def test_a_retried_call_counts_its_retries(emu: Emulator, otel: Capture) -> None:
    emu.inject("chat", Fault.rate_limit(retry_after_ms=20))
    make(emu).chat(USER)
    (span,) = otel.azoai_spans()
    assert span.attributes["azoai.retry.count"] == 1
    assert span.attributes["azoai.quota.wait"] == pytest.approx(0.02)


def test_a_failover_is_one_span_naming_the_target_that_served(emu: Emulator, otel: Capture) -> None:
    llm = make(
        emu,
        engine="pool",
        routes={"pool": {"strategy": "failover", "targets": ["chat", "chat-mini"]}},
    )
    emu.inject("chat", Fault.status(503, count=None))
    llm.chat(USER)
    (span,) = otel.azoai_spans()  # the failed target is an event, not a span
    a = check(span, emu, "chat chat-mini")
    assert a["azoai.routing.name"] == "pool" and a["azoai.routing.target"] == "chat-mini"
    assert a["azoai.routing.failovers"] == 1 and "error.type" not in a
    assert [e.name for e in span.events] == ["azoai.failover"]


async def test_async_chat_and_stream(emu: Emulator, otel: Capture) -> None:
    llm = make(emu)
    with otel.tracer.start_as_current_span("async query") as parent:
        await llm.achat(USER)
        stream = await llm.astream_chat(USER)
        chunks = [c async for c in stream]
    spans = otel.azoai_spans()
    assert [s.attributes["gen_ai.request.stream"] for s in spans] == [False, True]
    assert all(s.parent.span_id == parent.get_span_context().span_id for s in spans)
    assert len(chunks) > 1 and all(check(s, emu) for s in spans)


async def test_embeddings_sync_and_async(emu: Emulator, otel: Capture) -> None:
    emb = embedder(emu)
    vectors = emb.get_text_embedding_batch(["one", "two", "three"])
    await emb.aget_query_embedding("four")
    first, second = otel.azoai_spans()
    a = check(first, emu, "embeddings embed")
    assert a["gen_ai.embeddings.dimension.count"] == len(vectors[0])
    assert a["azoai.embeddings.inputs"] == 3
    assert check(second, emu, "embeddings embed")["azoai.embeddings.inputs"] == 1


def test_telemetry_false_turns_it_off(emu: Emulator, otel: Capture) -> None:
    llm = make(emu, telemetry=False)
    assert llm.settings.telemetry is False
    llm.chat(USER)
    list(llm.stream_chat(USER))
    embedder(emu, telemetry=False).get_text_embedding("x")
    assert otel.azoai_spans() == [] and otel.metrics() == {}

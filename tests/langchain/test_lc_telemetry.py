"""OpenTelemetry spans through the LangChain adapter (issue 20): invoke, stream and embeddings, sync
and async, each one azoai CLIENT span under the user's current span, a failed call an error span,
LangChain's own callbacks unchanged, and ``telemetry=False`` turning it off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage
from otel_capture import Capture, capture, every_value

from azoai import errors as E
from azoai_emulator import Emulator, Fault
from langchain_azoai import AzureChatOpenAI, AzureOpenAIEmbeddings

PROMPT = "Context: Lisbon is the capital of Portugal.\n\nWhat is the capital of Portugal?"


@pytest.fixture
def otel() -> Iterator[Capture]:
    with capture() as c:
        yield c


class Calls(BaseCallbackHandler):
    """What LangChain's callbacks saw."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.seen.append("start")

    def on_llm_new_token(self, token: str, *, run_id: UUID, **kwargs: Any) -> None:
        self.seen.append("token")

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.seen.append("end")

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.seen.append("error")


def model(emu: Emulator, **kw: Any) -> AzureChatOpenAI:
    kw.setdefault("azure_deployment", "chat")
    return AzureChatOpenAI(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, model="gpt-4o", config_file="", **kw
    )


def check(span: Any, emu: Emulator, name: str = "chat chat") -> dict[str, Any]:
    assert span.name == name
    values = every_value(span)
    assert all(emu.api_key not in v and PROMPT not in v for v in values)
    return dict(span.attributes)


def test_invoke_is_a_child_of_the_users_span_and_callbacks_still_fire(
    emu: Emulator, otel: Capture
) -> None:
    calls = Calls()
    with otel.tracer.start_as_current_span("my chain") as parent:
        message = model(emu).invoke([HumanMessage(PROMPT)], config={"callbacks": [calls]})
    (span,) = otel.azoai_spans()
    a = check(span, emu)
    assert span.parent.span_id == parent.get_span_context().span_id
    assert a["gen_ai.provider.name"] == "azure.ai.openai"
    assert a["gen_ai.response.model"] == message.response_metadata["model_name"]
    assert a["gen_ai.usage.output_tokens"] == message.usage_metadata["output_tokens"]
    assert calls.seen == ["start", "end"]
    usage = otel.metrics()["gen_ai.client.token.usage"]
    assert {p.attributes["gen_ai.token.type"] for p in usage} == {"input", "output"}


def test_stream_span_ends_with_the_stream(emu: Emulator, otel: Capture) -> None:
    calls = Calls()
    chunks = list(model(emu).stream([HumanMessage(PROMPT)], config={"callbacks": [calls]}))
    (span,) = otel.azoai_spans()
    a = check(span, emu)
    assert a["gen_ai.request.stream"] is True and "gen_ai.response.time_to_first_chunk" in a
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert calls.seen[0] == "start" and calls.seen[-1] == "end"
    assert calls.seen.count("token") == len(chunks)
    m = otel.metrics()
    assert m["gen_ai.client.operation.time_to_first_chunk"][0].count == 1


def test_an_abandoned_langchain_stream_ends_its_span(emu: Emulator, otel: Capture) -> None:
    stream = model(emu).stream([HumanMessage(PROMPT)])
    next(stream)
    stream.close()
    (span,) = otel.azoai_spans()
    assert span.attributes["azoai.stream.abandoned"] is True


def test_a_failed_call_is_an_error_span(emu: Emulator, otel: Capture) -> None:
    from opentelemetry.trace import StatusCode

    emu.inject("chat", Fault.content_filter("prompt", "hate"))
    calls = Calls()
    with pytest.raises(E.ContentFilterError):
        model(emu, max_retries=0).invoke([HumanMessage(PROMPT)], config={"callbacks": [calls]})
    (span,) = otel.azoai_spans()
    a = check(span, emu)
    assert span.status.status_code == StatusCode.ERROR
    assert a["error.type"] == "azoai.errors.ContentFilterError"
    assert a["azoai.content_filter.filtered"] == ("prompt:hate",)
    assert calls.seen == ["start", "error"]


def test_a_retried_call_counts_its_retries(emu: Emulator, otel: Capture) -> None:
    emu.inject("chat", Fault.status(500, retry_after_ms=10))
    model(emu).invoke([HumanMessage(PROMPT)])
    (span,) = otel.azoai_spans()
    assert span.attributes["azoai.retry.count"] == 1
    assert [e.name for e in span.events] == ["azoai.retry"]


def test_a_failover_is_one_span_naming_the_target_that_served(emu: Emulator, otel: Capture) -> None:
    llm = model(
        emu,
        azure_deployment="pool",
        routes={"pool": {"strategy": "failover", "targets": ["chat", "chat-mini"]}},
    )
    emu.inject("chat", Fault.status(503, count=None))
    llm.invoke([HumanMessage(PROMPT)])
    (span,) = otel.azoai_spans()  # the failed target is an event, not a span
    a = check(span, emu, "chat chat-mini")
    assert a["azoai.routing.name"] == "pool" and a["azoai.routing.target"] == "chat-mini"
    assert a["azoai.routing.failovers"] == 1 and "error.type" not in a
    assert [e.name for e in span.events] == ["azoai.failover"]


async def test_async_invoke_and_stream(emu: Emulator, otel: Capture) -> None:
    llm = model(emu)
    with otel.tracer.start_as_current_span("async chain") as parent:
        await llm.ainvoke([HumanMessage(PROMPT)])
        chunks = [c async for c in llm.astream([HumanMessage(PROMPT)])]
    spans = otel.azoai_spans()
    assert [s.attributes["gen_ai.request.stream"] for s in spans] == [False, True]
    assert all(s.parent.span_id == parent.get_span_context().span_id for s in spans)
    assert len(chunks) > 1 and all(check(s, emu) for s in spans)


def test_embeddings_sync_and_async(emu: Emulator, otel: Capture) -> None:
    import asyncio

    emb = AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="embed", config_file=""
    )
    vectors = emb.embed_documents(["one", "two", "three"])
    asyncio.run(emb.aembed_query("four"))
    first, second = otel.azoai_spans()
    a = check(first, emu, "embeddings embed")
    assert a["gen_ai.operation.name"] == "embeddings"
    assert a["gen_ai.embeddings.dimension.count"] == len(vectors[0])
    assert a["azoai.embeddings.inputs"] == 3 and a["gen_ai.usage.input_tokens"] > 0
    assert check(second, emu, "embeddings embed")["azoai.embeddings.inputs"] == 1


def test_telemetry_false_turns_it_off(emu: Emulator, otel: Capture) -> None:
    llm = model(emu, telemetry=False)
    assert llm.settings.telemetry is False
    llm.invoke([HumanMessage(PROMPT)])
    list(llm.stream([HumanMessage(PROMPT)]))
    emb = AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="embed",
        config_file="",
        telemetry=False,
    )
    emb.embed_query("x")
    assert otel.azoai_spans() == [] and otel.metrics() == {}

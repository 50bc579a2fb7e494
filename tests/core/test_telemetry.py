"""OpenTelemetry GenAI spans and metrics (issue 20): the client against the emulator, read from the
SDK's in-memory exporter and metric reader installed as the global providers (tests/otel_capture):
one CLIENT span per call with the conventions' attributes and Azure's, errors, retries, quota
waits, failover, streams completed, abandoned and cut, embeddings from worker threads, content
only on opt-in, and nothing at all (not even an import) when it is off or not installed."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from otel_capture import Capture, capture, every_value

from azoai import errors as E
from azoai.client import CallOptions, Client
from azoai.config.settings import RetryPolicy, Settings
from azoai.pipeline.telemetry import AZOAI_ATTRIBUTES, DURATION_BUCKETS, TOKEN_BUCKETS
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator, EmulatorDeployment, Fault

KEY = "sk-azoai-telemetry-key-0123456789"
PROMPT = "Context: Lisbon is the capital of Portugal.\n\nWhat is the capital of Portugal?"
HI = ChatRequest(messages=[Message("system", "Be brief."), Message("user", PROMPT)])
FAST = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05, max_retry_after=2.0)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(api_key=KEY) as e:
        yield e


@pytest.fixture(scope="module")
def west() -> Iterator[Emulator]:
    with Emulator(
        [EmulatorDeployment("gpt4o", model="gpt-4o")], region="West US", api_key="west-key-987"
    ) as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(emu: Emulator) -> None:
    emu.reset()


@pytest.fixture
def otel() -> Iterator[Capture]:
    with capture() as c:
        yield c


def client(emu: Emulator, **kw: object) -> Client:
    kw.setdefault("env", {})
    kw.setdefault("deployment", "chat")
    return Client(endpoint=emu.endpoint, api_key=KEY, retry=FAST, config_file="", **kw)


def one_span(otel: Capture) -> object:
    spans = otel.azoai_spans()
    assert len(spans) == 1, [s.name for s in spans]
    span = spans[0]
    assert all(KEY not in v and PROMPT not in v for v in every_value(span))
    return span


def points(otel: Capture) -> dict[str, list[object]]:
    return otel.metrics()


def test_a_chat_call_is_one_client_span_with_the_conventions_attributes(
    emu: Emulator, otel: Capture
) -> None:
    from opentelemetry.trace import SpanKind, StatusCode

    result = client(emu).chat(HI)
    span = one_span(otel)
    a = dict(span.attributes)
    assert span.name == "chat chat" and span.kind == SpanKind.CLIENT
    assert span.status.status_code == StatusCode.UNSET
    host, port = emu.endpoint.split("//")[1].split(":")
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "azure.ai.openai"
    assert a["gen_ai.request.model"] == "chat"  # the deployment
    assert a["gen_ai.response.model"] == result.model and result.model.startswith("gpt-4o")
    assert a["gen_ai.response.id"] == result.response_id
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["gen_ai.usage.input_tokens"] == result.usage.input_tokens > 0
    assert a["gen_ai.usage.output_tokens"] == result.usage.output_tokens > 0
    assert (a["server.address"], a["server.port"]) == (host, int(port.rstrip("/")))
    assert a["gen_ai.request.stream"] is False
    assert a["openai.api.type"] == "chat_completions"
    assert a["azoai.api_version"] == "v1" and a["azoai.route"] == "v1"
    assert a["azoai.region"] == "East US"
    assert a["azure.service.request.id"] == result.headers["apim-request-id"]
    assert "azoai.retry.count" not in a and "error.type" not in a
    assert "gen_ai.input.messages" not in a and "gen_ai.output.messages" not in a

    m = points(otel)
    (duration,) = m["gen_ai.client.operation.duration"]
    assert duration.count == 1 and 0 < duration.sum < 30
    assert list(duration.explicit_bounds) == list(DURATION_BUCKETS)
    assert dict(duration.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "azure.ai.openai",
        "gen_ai.request.model": "chat",
        "gen_ai.response.model": result.model,
        "server.address": host,
        "server.port": int(port.rstrip("/")),
    }
    tokens = {p.attributes["gen_ai.token.type"]: p for p in m["gen_ai.client.token.usage"]}
    assert tokens["input"].sum == result.usage.input_tokens
    assert tokens["output"].sum == result.usage.output_tokens
    assert list(tokens["input"].explicit_bounds) == [float(b) for b in TOKEN_BUCKETS]
    assert "gen_ai.client.operation.time_to_first_chunk" not in m  # streams only


def test_the_span_is_a_child_of_the_current_context(emu: Emulator, otel: Capture) -> None:
    with otel.tracer.start_as_current_span("my request") as parent:
        client(emu).chat(HI)
    span = one_span(otel)
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.context.trace_id == parent.get_span_context().trace_id


def test_a_responses_call_is_a_chat_operation_on_the_responses_api(
    emu: Emulator, otel: Capture
) -> None:
    result = client(emu, api="responses").chat(HI)
    a = dict(one_span(otel).attributes)
    assert a["gen_ai.operation.name"] == "chat" and a["openai.api.type"] == "responses"
    assert a["gen_ai.response.id"] == result.response_id


def test_a_stream_span_ends_with_the_stream_and_has_time_to_first_chunk(
    emu: Emulator, otel: Capture
) -> None:
    stream = client(emu).stream(HI)
    first = next(stream)
    assert first is not None and otel.azoai_spans() == []  # still open while the stream is read
    deltas = [first, *stream]
    span = one_span(otel)
    a = dict(span.attributes)
    assert span.name == "chat chat" and a["gen_ai.request.stream"] is True
    assert 0 < a["gen_ai.response.time_to_first_chunk"] < 30
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["gen_ai.usage.output_tokens"] > 0 and "azoai.stream.abandoned" not in a
    m = points(otel)
    (ttfc,) = m["gen_ai.client.operation.time_to_first_chunk"]
    assert ttfc.count == 1 and ttfc.sum == pytest.approx(a["gen_ai.response.time_to_first_chunk"])
    (per_chunk,) = m["gen_ai.client.operation.time_per_output_chunk"]
    assert per_chunk.count == len(deltas) - 1
    assert len(m["gen_ai.client.token.usage"]) == 2


def test_an_abandoned_stream_ends_its_span_when_closed_or_dropped(
    emu: Emulator, otel: Capture
) -> None:
    from opentelemetry.trace import StatusCode

    c = client(emu)
    stream = c.stream(HI)
    next(stream)
    next(stream)
    stream.close()
    span = one_span(otel)
    assert span.attributes["azoai.stream.abandoned"] is True
    assert span.status.status_code == StatusCode.UNSET
    assert "gen_ai.response.time_to_first_chunk" in span.attributes

    otel.exporter.clear()
    dropped = c.stream(HI)
    next(dropped)
    del dropped
    gc.collect()
    assert one_span(otel).attributes["azoai.stream.abandoned"] is True


def test_a_cut_stream_is_an_error_span(emu: Emulator, otel: Capture) -> None:
    from opentelemetry.trace import StatusCode

    emu.inject("chat", Fault.cut_stream(after_chunks=3))
    with pytest.raises(E.StreamInterruptedError):
        list(client(emu).stream(HI))
    span = one_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "azoai.errors.StreamInterruptedError"
    (duration,) = points(otel)["gen_ai.client.operation.duration"]
    assert duration.attributes["error.type"] == "azoai.errors.StreamInterruptedError"


def test_a_filtered_prompt_is_an_error_with_azures_verdict(emu: Emulator, otel: Capture) -> None:
    from opentelemetry.trace import StatusCode

    emu.inject("chat", Fault.content_filter("prompt", "violence"))
    with pytest.raises(E.ContentFilterError) as exc:
        client(emu).chat(HI)
    span = one_span(otel)
    a = dict(span.attributes)
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == exc.value.message
    assert a["error.type"] == "azoai.errors.ContentFilterError"
    assert a["http.response.status_code"] == 400
    assert a["azoai.error.code"] == "content_filter"
    assert a["azoai.content_filter.filtered"] == ("prompt:violence",)
    assert a["azure.service.request.id"] == exc.value.request_id
    m = points(otel)
    (duration,) = m["gen_ai.client.operation.duration"]
    assert duration.attributes["error.type"] == "azoai.errors.ContentFilterError"
    assert "gen_ai.client.token.usage" not in m


def test_a_filtered_completion_names_its_categories(emu: Emulator, otel: Capture) -> None:
    emu.inject("chat", Fault.content_filter("completion", "hate"))
    with pytest.raises(E.ContentFilterError) as exc:
        client(emu).chat(HI)
    a = dict(one_span(otel).attributes)
    assert a["azoai.content_filter.filtered"] == ("completion:hate",)
    # Azure answered (and billed): the cut completion's model and usage are on the span
    assert a["gen_ai.response.model"] == exc.value.partial_result.model
    assert a["gen_ai.response.finish_reasons"] == ("content_filter",)
    assert a["gen_ai.usage.output_tokens"] == exc.value.partial_result.usage.output_tokens

    otel.exporter.clear()
    emu.inject("chat", Fault.content_filter("completion", "violence"))
    returned = client(emu).chat(HI, options=CallOptions(return_filtered=True))
    span = one_span(otel)
    assert returned.finish_reason == "content_filter" and "error.type" not in span.attributes
    assert span.attributes["azoai.content_filter.filtered"] == ("completion:violence",)


def test_retries_and_a_429_wait_are_counted(emu: Emulator, otel: Capture) -> None:
    emu.inject("chat", Fault.rate_limit(retry_after_ms=60))
    client(emu).chat(HI)
    span = one_span(otel)
    a = dict(span.attributes)
    assert a["azoai.retry.count"] == 1
    assert a["azoai.retry.wait"] == pytest.approx(0.06)
    assert a["azoai.quota.wait"] == pytest.approx(0.06)
    (event,) = span.events
    assert event.name == "azoai.retry"
    assert event.attributes["http.response.status_code"] == 429
    assert event.attributes["error.type"] == "429"

    otel.exporter.clear()
    emu.inject("chat", Fault.status(503, count=2))
    client(emu).chat(HI)
    a = dict(one_span(otel).attributes)
    assert a["azoai.retry.count"] == 2 and "azoai.quota.wait" not in a


def test_a_failover_is_one_span_naming_the_target_that_served(
    emu: Emulator, west: Emulator, otel: Capture
) -> None:
    west.reset()
    emu.inject("chat", Fault.status(503, count=None))
    c = client(
        emu,
        deployment="pool",
        routes={
            "pool": {
                "targets": [
                    {"deployment": "chat", "name": "east"},
                    {
                        "deployment": "gpt4o",
                        "endpoint": west.endpoint,
                        "api_key_env": "WEST_KEY",
                        "name": "west",
                    },
                ]
            }
        },
        env={"WEST_KEY": west.api_key},
    )
    result = c.chat(HI)
    assert result.target == "west"
    span = one_span(otel)  # the targets' clients join the call's span: no nested spans
    a = dict(span.attributes)
    assert span.name == "chat gpt4o"
    assert a["gen_ai.request.model"] == "gpt4o"
    assert a["azoai.routing.name"] == "pool" and a["azoai.routing.target"] == "west"
    assert a["azoai.routing.failovers"] == 1
    assert a["server.port"] == int(west.endpoint.rstrip("/").rsplit(":", 1)[1])
    assert a["azoai.region"] == "West US"
    assert "west-key-987" not in every_value(span)
    (event,) = span.events
    assert event.name == "azoai.failover" and event.attributes["azoai.routing.target"] == "east"
    (duration,) = points(otel)["gen_ai.client.operation.duration"]
    assert duration.count == 1 and duration.attributes["gen_ai.request.model"] == "gpt4o"


def test_embeddings_in_worker_threads_are_one_span(emu: Emulator, otel: Capture) -> None:
    c = client(emu)
    c.embed(["warm"], model="embed")  # the pacer's probe: later batches all go out concurrently
    otel.exporter.clear()
    emu.inject("embed", Fault.status(503))
    texts = [f"text number {i}" for i in range(5)]
    result = c.embed(texts, model="embed", batch_size=2, concurrency=3)
    span = one_span(otel)
    a = dict(span.attributes)
    assert span.name == "embeddings embed"
    assert a["gen_ai.operation.name"] == "embeddings"
    assert a["gen_ai.request.model"] == "embed"
    assert a["gen_ai.response.model"] == result.model
    assert a["gen_ai.usage.input_tokens"] == result.usage.input_tokens > 0
    assert a["gen_ai.embeddings.dimension.count"] == len(result.vectors[0])
    assert a["azoai.embeddings.inputs"] == 5 and a["azoai.embeddings.requests"] == 3
    assert a["azoai.retry.count"] == 1  # noted from a worker thread, in the caller's context
    assert "gen_ai.usage.output_tokens" not in a
    tokens = points(otel)["gen_ai.client.token.usage"]
    assert [p.attributes["gen_ai.token.type"] for p in tokens] == ["input"]


def test_the_quota_pacers_wait_is_counted(emu: Emulator, otel: Capture) -> None:
    from azoai.pipeline.pacing import pacer_for

    c = client(emu)
    c.embed(["first"], model="embed")  # the pacer's probe: the limits are known after it
    otel.exporter.clear()
    pacer_for(c.connection, "embed").blocked(0.15)  # as a 429 from another call would
    c.embed(["second"], model="embed")
    a = dict(one_span(otel).attributes)
    assert 0.1 < a["azoai.quota.wait"] < 5 and "azoai.retry.count" not in a


def test_content_only_when_opted_in(emu: Emulator, otel: Capture) -> None:
    client(emu).chat(HI)
    assert all(PROMPT not in v for v in every_value(one_span(otel)))

    otel.exporter.clear()
    env = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}
    result = client(emu, env=env).chat(HI)
    a = dict(otel.azoai_spans()[0].attributes)
    assert json.loads(a["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": PROMPT}]},
    ]
    assert json.loads(a["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": result.text}],
            "finish_reason": "stop",
        }
    ]
    assert all(KEY not in str(v) for v in a.values())


@pytest.mark.parametrize(
    ("value", "content"),
    [("true", True), ("SPAN_ONLY", True), ("span_and_event", True), ("EVENT_ONLY", False),
     ("NO_CONTENT", False), ("false", False), ("", False)],
)  # fmt: skip
def test_the_capture_variables_values(value: str, content: bool) -> None:
    env = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": value}
    s = Settings.build(endpoint="https://r.openai.azure.com", api_key="k", env=env)
    assert s.telemetry_content is content


def test_an_unknown_capture_value_warns_and_captures_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "everything"}
    s = Settings.build(endpoint="https://r.openai.azure.com", api_key="k", env=env)
    assert s.telemetry_content is False
    assert "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT" in caplog.text


def test_the_setting_turns_it_off(emu: Emulator, otel: Capture, tmp_path: Path) -> None:
    client(emu, telemetry=False).chat(HI)
    list(client(emu, env={"AZOAI_TELEMETRY": "0"}).stream(HI))
    client(emu, env={"AZOAI_TELEMETRY": "off"}).embed(["a"], model="embed")
    assert otel.azoai_spans() == [] and points(otel) == {}
    s = Settings.build(endpoint="https://r.openai.azure.com", api_key="k", env={})
    assert s.telemetry is True and s.telemetry_content is False
    s = Settings.build(
        endpoint="https://r.openai.azure.com", api_key="k", env={"AZOAI_TELEMETRY": "0"}
    )
    assert s.telemetry is False and s.sources["telemetry"] == "env AZOAI_TELEMETRY"
    with pytest.raises(E.ConfigError) as exc:
        Settings.build(
            endpoint="https://r.openai.azure.com", api_key="k", env={"AZOAI_TELEMETRY": "maybe"}
        )
    assert exc.value.setting == "telemetry"
    cfg = tmp_path / "azoai.toml"
    cfg.write_text('endpoint = "https://r.openai.azure.com"\ntelemetry = false\n')
    assert Settings.build(api_key="k", env={}, config_file=cfg).telemetry is False


async def test_async_chat_stream_and_embeddings(emu: Emulator, otel: Capture) -> None:
    c = client(emu)
    with otel.tracer.start_as_current_span("async parent") as parent:
        await c.achat(HI)
        got = [d async for d in c.astream(HI)]
        await c.aembed(["one", "two"], model="embed")
        stream = c.astream(HI)
        await anext(stream)
        await stream.aclose()
    names = [s.name for s in otel.azoai_spans()]
    assert names == ["chat chat", "chat chat", "embeddings embed", "chat chat"]
    chat, streamed, embedded, abandoned = otel.azoai_spans()
    assert all(s.parent.span_id == parent.get_span_context().span_id for s in otel.azoai_spans())
    assert streamed.attributes["gen_ai.request.stream"] is True and len(got) > 1
    assert "gen_ai.response.time_to_first_chunk" in streamed.attributes
    assert embedded.attributes["gen_ai.usage.input_tokens"] > 0
    assert abandoned.attributes["azoai.stream.abandoned"] is True
    assert chat.attributes["gen_ai.usage.output_tokens"] > 0


async def test_async_errors_and_cancellation(emu: Emulator, otel: Capture) -> None:
    from opentelemetry.trace import StatusCode

    c = client(emu)
    emu.inject("chat", Fault.content_filter("prompt"))
    with pytest.raises(E.ContentFilterError):
        await c.achat(HI)
    emu.inject("chat", Fault.latency(5.0))
    task = asyncio.ensure_future(c.achat(HI))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    filtered, cancelled = otel.azoai_spans()
    assert filtered.status.status_code == StatusCode.ERROR
    assert cancelled.attributes["error.type"] == "asyncio.exceptions.CancelledError"
    emu.clear_faults()


def test_every_azoai_attribute_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Observability (OpenTelemetry)", 1)[1].split("\n## ", 1)[0]
    for name in AZOAI_ATTRIBUTES:
        assert f"`{name}`" in section, name


# --- nothing imported when off or absent; nothing done without a provider (child interpreters) --

_CALLS = (
    "import json, sys\n"
    "from azoai import Client\n"
    "from azoai.wire import ChatRequest, Message\n"
    "c = Client(endpoint=sys.argv[1], api_key=sys.argv[2], deployment='chat', config_file='',"
    " env=ENV)\n"
    "r = ChatRequest(messages=[Message('user', 'Say hi')])\n"
    "text = c.chat(r).text + ''.join(d.text for d in c.stream(r))\n"
    "n = len(c.embed(['a'], model='embed').vectors)\n"
)


def _child(code: str, emu: Emulator) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", code, emu.endpoint, KEY], capture_output=True, text=True, timeout=90
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_off_or_absent_imports_nothing_of_opentelemetry(emu: Emulator) -> None:
    report = (
        "print(json.dumps({'text': text, 'n': n,"
        " 'loaded': sorted(m for m in sys.modules if m.startswith('opentelemetry')"
        " and sys.modules[m] is not None)}))\n"
    )
    off = _child("ENV = {'AZOAI_TELEMETRY': '0'}\n" + _CALLS + report, emu)
    assert off == {"text": "hihi", "n": 1, "loaded": []}
    absent = _child(
        "import sys\nsys.modules['opentelemetry'] = None\nENV = {}\n" + _CALLS + report, emu
    )
    assert absent == {"text": "hihi", "n": 1, "loaded": []}


def test_installed_but_never_configured_imports_nothing(emu: Emulator) -> None:
    """opentelemetry-api installed (it is, in the test venv) but nobody set a provider: a call
    looks in sys.modules and imports nothing; a provider named in the environment (which the
    API loads on first use) is looked for."""
    import os

    report = (
        "print(json.dumps({'text': text, 'n': n,"
        " 'loaded': sorted(m for m in sys.modules if m.startswith('opentelemetry')"
        " and sys.modules[m] is not None)}))\n"
    )
    code = "ENV = {}\n" + _CALLS + report
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_PYTHON_")}
    run = [sys.executable, "-c", code, emu.endpoint, KEY]
    quiet = subprocess.run(run, capture_output=True, text=True, timeout=90, env=env)
    assert quiet.returncode == 0, quiet.stderr
    # at most the namespace package, which find_spec("opentelemetry.trace") imports (no code)
    assert json.loads(quiet.stdout.strip().splitlines()[-1])["loaded"] in ([], ["opentelemetry"])
    env["OTEL_PYTHON_TRACER_PROVIDER"] = "sdk_tracer_provider"
    named = subprocess.run(run, capture_output=True, text=True, timeout=90, env=env)
    assert named.returncode == 0, named.stderr
    loaded = json.loads(named.stdout.strip().splitlines()[-1])["loaded"]
    assert "opentelemetry.trace" in loaded and "opentelemetry.sdk.trace" in loaded


def test_without_a_provider_calls_run_untouched_until_one_is_configured(emu: Emulator) -> None:
    code = (
        "ENV = {}\n" + _CALLS + "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from opentelemetry.sdk.trace.export import SimpleSpanProcessor\n"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter\n"
        "exporter = InMemorySpanExporter()\n"
        "provider = TracerProvider()\n"
        "provider.add_span_processor(SimpleSpanProcessor(exporter))\n"
        "trace.set_tracer_provider(provider)\n"
        "after = c.chat(r).text\n"
        "print(json.dumps({'text': text, 'after': after,"
        " 'spans': [s.name for s in exporter.get_finished_spans()]}))\n"
    )
    assert _child(code, emu) == {"text": "hihi", "after": "hi", "spans": ["chat chat"]}

"""OpenTelemetry GenAI spans and metrics for the services beyond chat and embeddings (issue 20):
legacy completions (``text_completion``), images, speech and transcriptions (``generate_content``
with ``gen_ai.output.type`` and ``azoai.operation``), sync and async, whole and streamed, against
the emulator; read from the SDK's in-memory exporter and metric reader (tests/otel_capture)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from otel_capture import Capture, capture, every_value

from azoai import errors as E
from azoai.audio import Audio
from azoai.client import Client
from azoai.completions import Completions
from azoai.config.settings import RetryPolicy
from azoai.images import Images
from azoai_emulator import Emulator, EmulatorDeployment, Fault

KEY = "sk-azoai-services-telemetry-key-42"
FAST = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05, max_retry_after=2.0)
PROMPT = "Write one sentence about the lighthouse keeper of Cabo da Roca."
SPOKEN = "The lighthouse keeper counts the waves."
DEPLOYMENTS = (
    EmulatorDeployment("instruct", model="gpt-35-turbo-instruct"),
    EmulatorDeployment("img", model="gpt-image-1"),
    EmulatorDeployment("guarded", model="gpt-image-1", blocklist=("forbidden",)),
    EmulatorDeployment("tts", model="tts"),
    EmulatorDeployment("whisper", model="whisper"),
    EmulatorDeployment("transcribe", model="gpt-4o-transcribe"),
)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(deployments=DEPLOYMENTS, api_key=KEY) as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(emu: Emulator) -> None:
    emu.reset()


@pytest.fixture
def otel() -> Iterator[Capture]:
    with capture() as c:
        yield c


@pytest.fixture
def client(emu: Emulator) -> Iterator[Client]:
    c = Client(
        endpoint=emu.endpoint,
        api_key=KEY,
        retry=FAST,
        env={},
        config_file="",
        deployments=[{"name": d.name, "model": d.model} for d in DEPLOYMENTS],
    )
    yield c
    c.close()


@pytest.fixture(scope="module")
def spoken(emu: Emulator) -> bytes:
    with Audio(endpoint=emu.endpoint, api_key=KEY, env={}, config_file="", telemetry=False) as a:
        return a.speech(SPOKEN, deployment="tts", response_format="wav").audio


def one_span(otel: Capture, *texts: str) -> Any:
    spans = otel.azoai_spans()
    assert len(spans) == 1, [s.name for s in spans]
    span = spans[0]
    for value in every_value(span):
        assert KEY not in value
        assert all(t not in value for t in texts), value
    return span


def tokens(otel: Capture) -> dict[str, Any]:
    return {
        p.attributes["gen_ai.token.type"]: p
        for p in otel.metrics().get("gen_ai.client.token.usage", [])
    }


# --- legacy completions ---------------------------------------------------------------------------


def test_a_completion_is_a_text_completion_span(client: Client, otel: Capture) -> None:
    result = Completions(client).complete(PROMPT, model="instruct", max_tokens=20)
    span = one_span(otel, PROMPT)
    a = dict(span.attributes)
    assert span.name == "text_completion instruct"
    assert a["gen_ai.operation.name"] == "text_completion"
    assert a["gen_ai.provider.name"] == "azure.ai.openai"
    assert a["gen_ai.request.model"] == "instruct"
    assert a["gen_ai.request.stream"] is False
    assert a["azoai.operation"] == "completions"
    assert a["gen_ai.response.model"] == result.model
    assert a["gen_ai.response.id"] == result.id
    assert a["gen_ai.response.finish_reasons"] == tuple(c.finish_reason for c in result.choices)
    assert a["gen_ai.usage.input_tokens"] == result.usage.input_tokens > 0
    assert a["gen_ai.usage.output_tokens"] == result.usage.output_tokens > 0
    assert "openai.api.type" not in a  # chat's two APIs only
    used = tokens(otel)
    assert used["input"].sum == result.usage.input_tokens
    assert used["output"].sum == result.usage.output_tokens
    assert used["output"].attributes["gen_ai.operation.name"] == "text_completion"


def test_a_streamed_completion_ends_with_the_stream(client: Client, otel: Capture) -> None:
    pieces = list(
        Completions(client).stream(
            PROMPT,
            model="instruct",
            max_tokens=20,
            extra_body={"stream_options": {"include_usage": True}},
        )
    )
    assert pieces
    span = one_span(otel, PROMPT)
    a = dict(span.attributes)
    assert a["gen_ai.request.stream"] is True
    assert a["gen_ai.response.time_to_first_chunk"] > 0
    assert a["gen_ai.response.finish_reasons"] == ("length",) or a[
        "gen_ai.response.finish_reasons"
    ] == ("stop",)
    assert a["gen_ai.response.id"] == next(p.id for p in pieces if p.id)
    usage = next(p.usage for p in pieces if p.usage is not None)
    assert a["gen_ai.usage.output_tokens"] == usage.output_tokens > 0
    m = otel.metrics()
    assert m["gen_ai.client.operation.time_to_first_chunk"][0].count == 1
    assert "azoai.stream.abandoned" not in a


def test_a_completion_stream_closed_early_is_abandoned(client: Client, otel: Capture) -> None:
    stream = Completions(client).stream(PROMPT, model="instruct", max_tokens=200)
    next(iter(stream))
    stream.close()  # type: ignore[attr-defined]
    a = dict(one_span(otel).attributes)
    assert a["azoai.stream.abandoned"] is True and "error.type" not in a


def test_a_failed_completion_is_an_error_span(client: Client, emu: Emulator, otel: Capture) -> None:
    from opentelemetry.trace import StatusCode

    emu.inject("instruct", Fault.status(503, count=5))
    with pytest.raises(E.ServiceUnavailableError):
        Completions(client).complete(PROMPT, model="instruct")
    span = one_span(otel)
    a = dict(span.attributes)
    assert span.status.status_code == StatusCode.ERROR
    assert a["error.type"] == "azoai.errors.ServiceUnavailableError"
    assert a["azoai.retry.count"] == 2
    (duration,) = otel.metrics()["gen_ai.client.operation.duration"]
    assert duration.attributes["error.type"] == "azoai.errors.ServiceUnavailableError"


# --- images ---------------------------------------------------------------------------------------


def test_an_image_is_a_generate_content_span(client: Client, otel: Capture) -> None:
    result = Images(client).generate("a red lighthouse", model="img", size="1024x1024")
    span = one_span(otel, "a red lighthouse")
    a = dict(span.attributes)
    assert span.name == "generate_content img"
    assert a["gen_ai.operation.name"] == "generate_content"
    assert a["gen_ai.output.type"] == "image"
    assert a["azoai.operation"] == "images.generations"
    assert a["gen_ai.request.model"] == "img"
    assert "gen_ai.request.stream" not in a
    m = otel.metrics()
    assert m["gen_ai.client.operation.duration"][0].count == 1
    assert result.usage.total_tokens > 0  # gpt-image-1 reports tokens
    assert a["gen_ai.usage.input_tokens"] == result.usage.input_tokens
    assert a["gen_ai.usage.output_tokens"] == result.usage.output_tokens
    used = {p.attributes["gen_ai.token.type"]: p for p in m["gen_ai.client.token.usage"]}
    assert used["output"].sum == result.usage.output_tokens


def test_a_blocked_image_prompt_is_an_error_with_the_verdict(client: Client, otel: Capture) -> None:
    from opentelemetry.trace import StatusCode

    with pytest.raises(E.ContentFilterError):
        Images(client).generate("a forbidden lighthouse", model="guarded")
    span = one_span(otel, "forbidden lighthouse")
    a = dict(span.attributes)
    assert span.status.status_code == StatusCode.ERROR
    assert a["error.type"] == "azoai.errors.ContentFilterError"
    assert a["http.response.status_code"] == 400


async def test_async_image(client: Client, otel: Capture) -> None:
    await Images(client).agenerate("a blue lighthouse", model="img", size="1024x1024")
    a = dict(one_span(otel, "a blue lighthouse").attributes)
    assert a["gen_ai.output.type"] == "image" and a["gen_ai.request.model"] == "img"


# --- audio ----------------------------------------------------------------------------------------


def test_speech_is_a_generate_content_span(client: Client, otel: Capture) -> None:
    speech = Audio(client).speech(SPOKEN, deployment="tts", response_format="wav")
    span = one_span(otel, SPOKEN)
    a = dict(span.attributes)
    assert span.name == "generate_content tts"
    assert a["gen_ai.output.type"] == "speech" and a["azoai.operation"] == "audio.speech"
    assert a["azure.service.request.id"] == speech.headers["x-request-id"]
    assert "gen_ai.client.token.usage" not in otel.metrics()  # tts reports no tokens


def test_streamed_speech_ends_its_span_with_the_stream(client: Client, otel: Capture) -> None:
    with Audio(client).stream_speech(SPOKEN, deployment="tts", response_format="wav") as stream:
        assert otel.azoai_spans() == []  # still open while the audio arrives
        audio = stream.read()
    assert audio.startswith(b"RIFF")
    a = dict(one_span(otel, SPOKEN).attributes)
    assert a["gen_ai.request.stream"] is True
    assert a["gen_ai.response.time_to_first_chunk"] > 0
    assert "azoai.stream.abandoned" not in a and "error.type" not in a


def test_streamed_speech_closed_early_is_abandoned(client: Client, otel: Capture) -> None:
    stream = Audio(client).stream_speech(SPOKEN * 20, deployment="tts", response_format="wav")
    next(iter(stream))
    stream.close()
    stream.close()  # ends the span once
    a = dict(one_span(otel).attributes)
    assert a["azoai.stream.abandoned"] is True


def test_transcriptions_count_tokens_when_the_model_does(
    client: Client, otel: Capture, spoken: bytes
) -> None:
    audio = Audio(client)
    tokened = audio.transcribe(spoken, deployment="transcribe", filename="a.wav")
    a = dict(one_span(otel, tokened.text).attributes)
    assert a["gen_ai.operation.name"] == "generate_content"
    assert a["gen_ai.output.type"] == "text" and a["azoai.operation"] == "audio.transcriptions"
    assert tokened.usage is not None and tokened.usage.get("type") == "tokens"
    assert a["gen_ai.usage.input_tokens"] == tokened.usage["input_tokens"]
    assert tokens(otel)["output"].sum == tokened.usage["output_tokens"]
    otel.exporter.clear()

    seconds = audio.translate(spoken, deployment="whisper", filename="a.wav")
    a = dict(one_span(otel).attributes)
    assert a["azoai.operation"] == "audio.translations"
    assert seconds.usage is None or seconds.usage.get("type") != "tokens"
    assert "gen_ai.usage.input_tokens" not in a  # whisper counts seconds, not tokens
    assert "gen_ai.client.token.usage" not in otel.metrics()


async def test_async_audio(client: Client, otel: Capture, spoken: bytes) -> None:
    audio = Audio(client)
    await audio.aspeech(SPOKEN, deployment="tts", response_format="wav")
    stream = await audio.astream_speech(SPOKEN, deployment="tts", response_format="wav")
    assert (await stream.read()).startswith(b"RIFF")
    await audio.atranscribe(spoken, deployment="transcribe", filename="a.wav")
    names = [dict(s.attributes)["azoai.operation"] for s in otel.azoai_spans()]
    assert names == ["audio.speech", "audio.speech", "audio.transcriptions"]


async def test_async_completion_and_stream(client: Client, otel: Capture) -> None:
    c = Completions(client)
    await c.acomplete(PROMPT, model="instruct", max_tokens=10)
    async for _ in c.astream(PROMPT, model="instruct", max_tokens=10):
        pass
    await asyncio.sleep(0)
    spans = otel.azoai_spans()
    assert [dict(s.attributes)["gen_ai.request.stream"] for s in spans] == [False, True]
    assert all(s.name == "text_completion instruct" for s in spans)


def test_services_off_with_the_setting(emu: Emulator, otel: Capture) -> None:
    with Images(
        endpoint=emu.endpoint,
        api_key=KEY,
        env={},
        config_file="",
        telemetry=False,
        deployments=[{"name": "img", "model": "gpt-image-1"}],
    ) as images:
        images.generate("a green lighthouse", model="img", size="1024x1024")
    assert otel.azoai_spans() == []

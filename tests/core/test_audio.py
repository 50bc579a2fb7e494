"""Audio through the core (issue 19): text to speech (formats, voices, speed, instructions,
streamed chunks), speech to text (json, text, verbose_json with segment and word timestamps,
srt, vtt, a language hint, the models' formats) and translation, on both routes, against the
emulator over a loopback socket, whose transcription hears the words its own speech says. Bad
input (a 30 MB file, a format the model does not give, an option on the wrong api-version) is a
typed error before anything is sent; the CLI's ``transcribe`` and ``speak``."""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from azoai import Audio, Client
from azoai.cli import main
from azoai.errors import (
    ApiVersionError,
    BadRequestError,
    ConfigError,
    InputTooLargeError,
    ServiceUnavailableError,
    StreamInterruptedError,
)
from azoai_emulator import Emulator, EmulatorDeployment, Fault

DEPLOYMENTS = (
    EmulatorDeployment("tts", model="tts"),
    EmulatorDeployment("tts-hd", model="tts-hd"),
    EmulatorDeployment("mini-tts", model="gpt-4o-mini-tts"),
    EmulatorDeployment("whisper", model="whisper"),
    EmulatorDeployment("gpt-4o-transcribe", model="gpt-4o-transcribe"),
    EmulatorDeployment("stt", model="gpt-4o-mini-transcribe"),
    EmulatorDeployment("chat", model="gpt-4o"),
    # names that do not say the model: known from deployments=, or not at all
    EmulatorDeployment("meeting-notes", model="gpt-4o-transcribe"),
    EmulatorDeployment("opaque", model="gpt-4o-transcribe"),
)
SPOKEN = "The lighthouse keeper counts the waves. Every night the light turns twice."


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(DEPLOYMENTS) as e:
        yield e


@pytest.fixture(autouse=True)
def _clean(emu: Emulator) -> None:
    emu.reset()


def client(emu: Emulator, **kw: object) -> Client:
    return Client(endpoint=emu.endpoint, api_key=emu.api_key, env={}, config_file="", **kw)


@pytest.fixture
def audio(emu: Emulator) -> Iterator[Audio]:
    c = client(emu)
    yield Audio(c)
    c.close()


@pytest.fixture(scope="module")
def spoken_wav(emu: Emulator) -> bytes:
    with Audio(endpoint=emu.endpoint, api_key=emu.api_key, env={}, config_file="") as a:
        return a.speech(SPOKEN, deployment="tts", response_format="wav").audio


# --- text to speech -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type", "magic"),
    [
        ("mp3", "audio/mpeg", b"ID3"),
        ("opus", "audio/opus", b"OggS"),
        ("aac", "audio/aac", b"\xff\xf1"),
        ("flac", "audio/flac", b"fLaC"),
        ("wav", "audio/wav", b"RIFF"),
        ("pcm", "audio/pcm", b""),
    ],
)
def test_speech_is_the_audio_in_the_asked_format(
    audio: Audio, emu: Emulator, fmt: str, content_type: str, magic: bytes
) -> None:
    speech = audio.speech("Hello there.", deployment="tts", response_format=fmt)  # type: ignore[arg-type]
    assert speech.content_type == content_type and speech.response_format == fmt
    assert speech.audio.startswith(magic) and len(speech.audio) > 1000
    assert speech.deployment == "tts" and "x-request-id" in speech.headers
    [req] = emu.requests
    assert req.url == "/openai/v1/audio/speech?api-version=preview"
    assert req.body == {
        "input": "Hello there.",
        "voice": "alloy",
        "response_format": fmt,
        "model": "tts",
    }
    assert req.headers["accept"].startswith(content_type)


def test_wav_speech_is_a_playable_pcm_file(audio: Audio) -> None:
    speech = audio.speech("Hello.", deployment="tts-hd", response_format="wav", voice="nova")
    riff, size, wave = struct.unpack("<4sI4s", speech.audio[:12])
    assert (riff, wave, size) == (b"RIFF", b"WAVE", len(speech.audio) - 8)
    channels, rate, _, _, bits = struct.unpack("<HIIHH", speech.audio[22:36])
    assert (channels, rate, bits) == (1, 24_000, 16)


def test_streamed_speech_arrives_in_chunks_with_its_headers(audio: Audio) -> None:
    text = "A longer passage, so the audio spans many reads. " * 12
    whole = audio.speech(text, deployment="tts", response_format="wav").audio
    with audio.stream_speech(text, deployment="tts", response_format="wav") as stream:
        assert stream.content_type == "audio/wav" and stream.deployment == "tts"
        chunks = list(stream)
    assert len(chunks) > 1 and b"".join(chunks) == whole  # deterministic audio, every byte
    assert stream.received == len(whole)


def test_speed_and_instructions_follow_the_models_rules(audio: Audio, emu: Emulator) -> None:
    slow = audio.speech(SPOKEN, deployment="tts", response_format="wav", speed=0.5)
    fast = audio.speech(SPOKEN, deployment="tts", response_format="wav", speed=2.0)
    assert len(slow.audio) > 3 * len(fast.audio)
    audio.speech("Calm.", deployment="mini-tts", instructions="Speak softly.", voice="coral")
    assert emu.requests[-1].body["instructions"] == "Speak softly."
    emu.clear_requests()
    with pytest.raises(ConfigError, match="takes no instructions") as err:
        audio.speech("Calm.", deployment="tts", instructions="Speak softly.")
    assert err.value.setting == "instructions"
    with pytest.raises(ConfigError, match=r"speed must be a number from 0\.25 to 4\.0"):
        audio.speech("Fast.", deployment="tts", speed=5)
    with pytest.raises(ConfigError, match="at most 4,096"):
        audio.speech("x" * 4097, deployment="tts")
    assert emu.requests == []


def test_an_unknown_voice_is_azures_typed_400(audio: Audio) -> None:
    with pytest.raises(BadRequestError, match="Invalid value: 'robot'"):
        audio.speech("Hello.", deployment="tts", voice="robot")


def test_speech_to_a_transcription_model_is_refused_before_sending(
    audio: Audio, emu: Emulator
) -> None:
    with pytest.raises(ConfigError, match="speech-to-text model"):
        audio.speech("Hello.", deployment="whisper")
    with pytest.raises(ConfigError, match="text-to-speech model"):
        audio.transcribe(b"RIFF0000WAVEdata", deployment="tts")
    with client(emu, deployments=[{"name": "chat", "model": "gpt-4o"}]) as c:
        with pytest.raises(ConfigError, match="runs gpt-4o, a chat model"):
            Audio(c).speech("Hello.", deployment="chat")
        with pytest.raises(ConfigError, match="not an audio model"):
            Audio(c).transcribe(b"RIFF0000WAVEdata", deployment="chat")
    assert emu.requests == []


# --- speech to text -------------------------------------------------------------------------------


def test_transcription_of_the_emulators_speech_is_its_text(audio: Audio, spoken_wav: bytes) -> None:
    result = audio.transcribe(spoken_wav, deployment="whisper")
    assert (
        result.text == SPOKEN and result.response_format == "json" and result.task == "transcribe"
    )


def test_verbose_json_has_language_duration_segments_and_words(
    audio: Audio, emu: Emulator, spoken_wav: bytes
) -> None:
    result = audio.transcribe(
        spoken_wav,
        deployment="whisper",
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="en",
        prompt="Lighthouse, keeper.",
        temperature=0.2,
    )
    assert result.language == "english" and result.duration is not None and result.duration > 0
    assert [s.text for s in result.segments] == [
        "The lighthouse keeper counts the waves.",
        "Every night the light turns twice.",
    ]
    assert result.segments[0].end <= result.segments[1].start < result.segments[1].end
    assert [w.word for w in result.words][:3] == ["The", "lighthouse", "keeper"]
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and result.words[-1].end <= result.duration
    form = emu.requests[-1].body
    assert form["timestamp_granularities[]"] == "segment"  # both sent (the log keeps the last)
    assert form["language"] == "en" and form["file"][0]["filename"] == "audio.wav"
    assert (form["prompt"], form["temperature"]) == ("Lighthouse, keeper.", "0.2")


@pytest.mark.parametrize(("fmt", "head"), [("srt", "1\n00:00:00,"), ("vtt", "WEBVTT\n\n00:00:00.")])
def test_subtitles_are_returned_and_parsed(
    audio: Audio, spoken_wav: bytes, fmt: str, head: str
) -> None:
    result = audio.transcribe(spoken_wav, deployment="whisper", response_format=fmt)  # type: ignore[arg-type]
    assert result.subtitles is not None and result.subtitles.startswith(head)
    assert " --> " in result.subtitles and result.text == SPOKEN
    assert len(result.segments) == 2 and result.segments[1].start > 0


def test_text_format_is_plain_text(audio: Audio, spoken_wav: bytes, emu: Emulator) -> None:
    result = audio.transcribe(spoken_wav, deployment="gpt-4o-transcribe", response_format="text")
    assert result.text == SPOKEN and result.raw.endswith("\n") and result.segments == []


def test_gpt_4o_transcribe_answers_json_or_text_only(
    audio: Audio, emu: Emulator, spoken_wav: bytes
) -> None:
    for fmt in ("verbose_json", "srt", "vtt"):
        with pytest.raises(ConfigError, match="answers in json or text only") as err:
            audio.transcribe(spoken_wav, deployment="gpt-4o-transcribe", response_format=fmt)  # type: ignore[arg-type]
        assert err.value.setting == "response_format"
    with pytest.raises(ConfigError, match=r"gives no timestamps|verbose_json"):
        audio.transcribe(spoken_wav, deployment="stt", timestamp_granularities=["word"])
    with pytest.raises(ConfigError, match="does not translate"):
        audio.translate(spoken_wav, deployment="gpt-4o-transcribe")
    assert emu.requests == []
    result = audio.transcribe(spoken_wav, deployment="gpt-4o-transcribe")
    assert result.text == SPOKEN and result.usage is not None and result.usage["type"] == "tokens"


def test_auto_format_is_the_richest_the_model_gives(emu: Emulator, spoken_wav: bytes) -> None:
    with client(emu, deployments=[{"name": "meeting-notes", "model": "gpt-4o-transcribe"}]) as c:
        assert (
            Audio(c).transcribe(spoken_wav, deployment="whisper", response_format="auto").segments
        )
        known = Audio(c).transcribe(spoken_wav, deployment="meeting-notes", response_format="auto")
        assert known.response_format == "json" and known.text == SPOKEN
        assert len(emu.requests) == 2
    with client(emu) as c:  # a model nothing names: verbose_json, then json on Azure's 400
        guessed = Audio(c).transcribe(spoken_wav, deployment="opaque", response_format="auto")
    assert guessed.response_format == "json" and guessed.text == SPOKEN
    assert [r.status for r in emu.requests[-2:]] == [400, 200]


def test_translation_is_english_text(audio: Audio, emu: Emulator, spoken_wav: bytes) -> None:
    result = audio.translate(spoken_wav, deployment="whisper", response_format="verbose_json")
    assert result.task == "translate" and result.language == "english" and result.text == SPOKEN
    assert emu.requests[-1].path == "/openai/v1/audio/translations"


def test_other_audio_gets_the_emulators_fixed_transcript(audio: Audio, tmp_path: Path) -> None:
    rate, n = 16_000, 16_000
    samples = [round(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(n)]
    pcm = struct.pack(f"<{n}h", *samples)
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + len(pcm))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", len(pcm))
    )
    path = tmp_path / "tone.wav"
    path.write_bytes(header + pcm)
    result = audio.transcribe(path, deployment="whisper", response_format="verbose_json")
    assert result.text == "The quick brown fox jumps over the lazy dog." and result.duration == 1.0


def test_a_30_mb_file_is_refused_before_anything_is_sent(
    audio: Audio, emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "long.wav"
    with path.open("wb") as fh:
        fh.truncate(30 * 1024 * 1024)  # sparse: 30 MB on paper
    with pytest.raises(InputTooLargeError, match="25 MB") as err:
        audio.transcribe(path, deployment="whisper")
    assert err.value.size == 30 * 1024 * 1024 and err.value.limit == 26_214_400
    with pytest.raises(InputTooLargeError):
        audio.translate(b"\0" * (30 * 1024 * 1024), deployment="whisper", filename="a.mp3")
    with path.open("rb") as fh, pytest.raises(InputTooLargeError):
        audio.transcribe(fh, deployment="whisper")
    assert emu.requests == []


def test_a_file_azure_cannot_name_is_refused(audio: Audio, emu: Emulator) -> None:
    with pytest.raises(ConfigError, match="cannot be told") as err:
        audio.transcribe(b"just some bytes", deployment="whisper")
    assert err.value.setting == "filename"
    with pytest.raises(ConfigError, match="no audio extension"):
        audio.transcribe(b"just some bytes", deployment="whisper", filename="notes.txt")
    assert emu.requests == []


def test_a_transient_503_is_retried_by_the_same_loop(
    audio: Audio, emu: Emulator, spoken_wav: bytes
) -> None:
    emu.inject("whisper", Fault.status(503, count=1))
    assert audio.transcribe(spoken_wav, deployment="whisper").text == SPOKEN
    assert [r.status for r in emu.requests] == [503, 200]
    emu.inject("whisper", Fault.status(503, count=None))
    with pytest.raises(ServiceUnavailableError):
        audio.transcribe(spoken_wav, deployment="whisper", options=_no_retries())
    emu.clear_faults()


def _no_retries() -> object:
    from azoai import CallOptions

    return CallOptions(max_retries=0)


# --- the dated route ------------------------------------------------------------------------------


def test_dated_route_paths_and_version_gates(emu: Emulator, spoken_wav: bytes) -> None:
    with client(emu, api_version="2024-10-21") as c:
        result = Audio(c).transcribe(spoken_wav, deployment="whisper", response_format="srt")
        assert result.segments
        assert emu.requests[-1].url == (
            "/openai/deployments/whisper/audio/transcriptions?api-version=2024-10-21"
        )
        assert "model" not in emu.requests[-1].body  # the deployment is in the path
        emu.clear_requests()
        with pytest.raises(ApiVersionError, match="text to speech") as err:
            Audio(c).speech("Hello.", deployment="tts")
        assert "2024-02-15-preview" in str(err.value)
        with pytest.raises(ApiVersionError, match="timestamp_granularities"):
            Audio(c).transcribe(
                spoken_wav,
                deployment="whisper",
                response_format="verbose_json",
                timestamp_granularities=["word"],
            )
        assert emu.requests == []
    with client(emu, api_version="2025-04-01-preview") as c:
        speech = Audio(c).speech("Hello.", deployment="tts", response_format="flac")
        assert speech.audio.startswith(b"fLaC")
        assert emu.requests[-1].url == (
            "/openai/deployments/tts/audio/speech?api-version=2025-04-01-preview"
        )


# --- async ------------------------------------------------------------------------------------------


async def test_async_speech_stream_and_transcription(emu: Emulator) -> None:
    async with Audio(endpoint=emu.endpoint, api_key=emu.api_key, env={}, config_file="") as a:
        speech = await a.aspeech(SPOKEN, deployment="tts", response_format="wav")
        stream = await a.astream_speech(SPOKEN, deployment="tts", response_format="wav")
        async with stream:
            streamed = b"".join([chunk async for chunk in stream])
        assert streamed == speech.audio
        results = await asyncio.gather(
            a.atranscribe(speech.audio, deployment="whisper", response_format="vtt"),
            a.atranslate(speech.audio, deployment="whisper"),
        )
    assert [r.text for r in results] == [SPOKEN, SPOKEN]
    assert results[0].subtitles is not None and results[0].subtitles.startswith("WEBVTT")


# --- the command line -------------------------------------------------------------------------------


def test_cli_speaks_then_transcribes(
    emu: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", emu.api_key)
    out = tmp_path / "hello.wav"
    assert (
        main(
            ["speak", SPOKEN, "--out", str(out), "--endpoint", emu.endpoint, "--deployment", "tts"]
        )
        == 0
    )
    assert out.read_bytes().startswith(b"RIFF") and "audio/wav" in capsys.readouterr().out
    args = ["transcribe", str(out), "--endpoint", emu.endpoint, "--deployment", "whisper"]
    assert main(args) == 0
    assert capsys.readouterr().out.strip() == SPOKEN
    assert main([*args, "--format", "srt"]) == 0
    assert capsys.readouterr().out.startswith("1\n00:00:00,")
    assert main(["speak", "Hi", "--out", str(tmp_path / "x.ogg"), "--endpoint", emu.endpoint]) == 2
    assert "--format" in capsys.readouterr().err


def test_a_speech_stream_cut_midway_is_a_typed_error_with_what_arrived() -> None:
    from scripted_http import Out, Received, Scripted

    def answer(req: Received, out: Out) -> None:
        out.head(200, {"content-type": "audio/mpeg"}, length=100_000)
        out.send(b"ID3" + b"\0" * 997)
        out.sock.close()  # the connection drops after 1,000 of 100,000 bytes

    with (
        Scripted(answer) as server,
        Client(endpoint=server.endpoint, api_key="k", env={}, config_file="") as c,
    ):
        stream = Audio(c).stream_speech("Hello.", deployment="tts")
        got = bytearray()
        with pytest.raises(StreamInterruptedError, match="after 1,000 bytes") as err:
            for chunk in stream:
                got += chunk
        assert bytes(got).startswith(b"ID3") and stream.received == 1000
        assert err.value.deployment == "tts"

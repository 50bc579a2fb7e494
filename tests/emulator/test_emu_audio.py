"""The emulator's audio routes, driven by the openai SDK (an independent client) and raw HTTP:
speech in every format with its media type, transcription of its own speech in every response
format with Azure's shapes, the models' rules, the api-version gates, the 25 MiB limit answered
as Azure answers it, and the codec that carries the text."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai import AzureOpenAI, OpenAI

from azoai_emulator import Emulator, EmulatorDeployment
from azoai_emulator.speech import FOREIGN_TRANSCRIPT, hear, speak

DEPLOYMENTS = (
    EmulatorDeployment("tts", model="tts"),
    EmulatorDeployment("mini-tts", model="gpt-4o-mini-tts"),
    EmulatorDeployment("whisper", model="whisper"),
    EmulatorDeployment("transcribe", model="gpt-4o-transcribe"),
    EmulatorDeployment("chat", model="gpt-4o"),
)
TEXT = "Bees dance to share the way. The hive listens."


@pytest.fixture(scope="module")
def audio_emu() -> Iterator[Emulator]:
    with Emulator(DEPLOYMENTS) as e:
        yield e


@pytest.fixture(autouse=True)
def _clean(audio_emu: Emulator) -> None:
    audio_emu.reset()


@pytest.fixture
def v1(audio_emu: Emulator) -> OpenAI:
    return OpenAI(base_url=audio_emu.v1_base_url, api_key=audio_emu.api_key, max_retries=0)


@pytest.fixture
def dated(audio_emu: Emulator) -> AzureOpenAI:
    return AzureOpenAI(
        azure_endpoint=audio_emu.endpoint,
        api_key=audio_emu.api_key,
        api_version="2025-04-01-preview",
        max_retries=0,
    )


@pytest.mark.parametrize(
    ("fmt", "media"),
    [
        ("mp3", "audio/mpeg"),
        ("opus", "audio/opus"),
        ("aac", "audio/aac"),
        ("flac", "audio/flac"),
        ("wav", "audio/wav"),
        ("pcm", "audio/pcm"),
    ],
)
def test_speech_formats_and_media_types(dated: AzureOpenAI, fmt: str, media: str) -> None:
    answer = dated.audio.speech.create(model="tts", voice="echo", input=TEXT, response_format=fmt)  # type: ignore[arg-type]
    assert answer.response.headers["content-type"] == media
    assert hear(answer.content).text == TEXT  # the emulator hears what it said
    assert answer.response.headers["x-ms-deployment-name"] == "tts"


def test_speech_is_deterministic_and_speed_changes_its_length() -> None:
    once = speak(TEXT, response_format="wav")
    assert once == speak(TEXT, response_format="wav")
    assert (
        len(speak(TEXT, response_format="wav", speed=0.5))
        > len(once)
        > len(speak(TEXT, response_format="wav", speed=2.0))
    )
    tricky = "Grüße, 東京! ✓"
    assert hear(speak(tricky, response_format="flac", speed=4.0)).text == tricky


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK's translations.create
def test_transcription_formats_of_its_own_speech(v1: OpenAI) -> None:
    wav = v1.audio.speech.create(
        model="tts", voice="alloy", input=TEXT, response_format="wav"
    ).content
    plain = v1.audio.transcriptions.create(model="whisper", file=("a.wav", wav))
    assert plain.text == TEXT
    verbose = v1.audio.transcriptions.create(
        model="whisper",
        file=("a.wav", wav),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="de",
    )
    assert verbose.language == "german" and verbose.duration > 0
    assert [s.text.strip() for s in verbose.segments or []] == [
        "Bees dance to share the way.",
        "The hive listens.",
    ]
    words = verbose.words or []
    assert [w.word for w in words] == [
        "Bees",
        "dance",
        "to",
        "share",
        "the",
        "way",
        "The",
        "hive",
        "listens",
    ]
    assert all(a.end <= b.start for a, b in itertools.pairwise(words))
    srt = v1.audio.transcriptions.create(
        model="whisper", file=("a.wav", wav), response_format="srt"
    )
    assert srt.startswith("1\n00:00:00,") and "\n\n2\n" in srt  # type: ignore[attr-defined]
    vtt = v1.audio.transcriptions.create(
        model="whisper", file=("a.wav", wav), response_format="vtt"
    )
    assert vtt.startswith("WEBVTT\n\n00:00:00.")  # type: ignore[attr-defined]
    text = v1.audio.transcriptions.create(
        model="whisper", file=("a.wav", wav), response_format="text"
    )
    assert text == TEXT + "\n"  # type: ignore[comparison-overlap]
    translated = v1.audio.translations.create(
        model="whisper", file=("a.mp3", speak(TEXT, response_format="mp3"))
    )
    assert translated.text == TEXT


def test_segments_only_by_default_and_words_only_when_asked(audio_emu: Emulator) -> None:
    wav = speak(TEXT, response_format="wav")
    body = _transcribe(audio_emu, wav, {"response_format": "verbose_json"}).json()
    assert "segments" in body and "words" not in body and body["task"] == "transcribe"
    seg = body["segments"][0]
    assert set(seg) >= {
        "id",
        "seek",
        "start",
        "end",
        "text",
        "tokens",
        "avg_logprob",
        "no_speech_prob",
    }
    body = _transcribe(
        audio_emu, wav, {"response_format": "verbose_json", "timestamp_granularities[]": "word"}
    ).json()
    assert "words" in body and "segments" not in body


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_gpt_4o_transcribe_refuses_verbose_json_as_azure_does(v1: OpenAI) -> None:
    wav = speak(TEXT, response_format="wav")
    with pytest.raises(openai.BadRequestError) as err:
        v1.audio.transcriptions.create(
            model="transcribe", file=("a.wav", wav), response_format="verbose_json"
        )
    assert err.value.body == {
        "message": "response_format 'verbose_json' is not compatible with model "
        "'gpt-4o-transcribe'. Use 'json' or 'text' instead.",
        "type": "invalid_request_error",
        "param": "response_format",
        "code": "unsupported_value",
    }
    ok = v1.audio.transcriptions.create(model="transcribe", file=("a.wav", wav))
    assert ok.text == TEXT and ok.usage is not None
    with pytest.raises(openai.BadRequestError, match="audioTranslation operation does not work"):
        v1.audio.translations.create(model="transcribe", file=("a.wav", wav))


def test_operations_on_the_wrong_model(v1: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="audioTranscription operation does not work"):
        v1.audio.transcriptions.create(
            model="chat", file=("a.wav", speak("x", response_format="wav"))
        )
    with pytest.raises(openai.BadRequestError, match="audioSpeech operation does not work"):
        v1.audio.speech.create(model="whisper", voice="alloy", input="hello")
    with pytest.raises(openai.BadRequestError, match="Supported values are"):
        v1.audio.speech.create(model="tts", voice="coral", input="hello")  # a gpt-4o-mini-tts voice
    assert v1.audio.speech.create(
        model="mini-tts", voice="coral", input="hello", instructions="warmly"
    ).content
    with pytest.raises(openai.BadRequestError, match="instructions"):
        v1.audio.speech.create(model="tts", voice="alloy", input="hello", instructions="warmly")
    with pytest.raises(openai.BadRequestError, match="string too long"):
        v1.audio.speech.create(model="tts", voice="alloy", input="x" * 4097)
    with pytest.raises(openai.BadRequestError, match="Invalid file format"):
        v1.audio.transcriptions.create(model="whisper", file=("notes.txt", b"hello"))
    with pytest.raises(openai.BadRequestError, match="too short"):
        v1.audio.transcriptions.create(model="whisper", file=("a.wav", b""))


def test_version_gates_on_the_dated_route(audio_emu: Emulator) -> None:
    ga = AzureOpenAI(
        azure_endpoint=audio_emu.endpoint,
        api_key=audio_emu.api_key,
        api_version="2024-10-21",
        max_retries=0,
    )
    with pytest.raises(openai.NotFoundError):  # 2024-10-21 has no audio/speech (facts §1.3)
        ga.audio.speech.create(model="tts", voice="alloy", input="hello")
    wav = speak(TEXT, response_format="wav")
    assert ga.audio.transcriptions.create(model="whisper", file=("a.wav", wav)).text == TEXT
    with pytest.raises(
        openai.BadRequestError,
        match="Unrecognized request argument supplied: timestamp_granularities",
    ):
        ga.audio.transcriptions.create(
            model="whisper",
            file=("a.wav", wav),
            response_format="verbose_json",
            timestamp_granularities=["word"],
        )
    old = AzureOpenAI(
        azure_endpoint=audio_emu.endpoint,
        api_key=audio_emu.api_key,
        api_version="2023-07-01-preview",
        max_retries=0,
    )
    with pytest.raises(openai.NotFoundError):  # before whisper came (2023-09-01-preview)
        old.audio.transcriptions.create(model="whisper", file=("a.wav", wav))


def _transcribe(emu: Emulator, audio: bytes, fields: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{emu.endpoint}/openai/deployments/whisper/audio/transcriptions",
        params={"api-version": "2025-04-01-preview"},
        headers={"api-key": emu.api_key},
        data=fields,
        files={"file": ("a.wav", audio, "audio/wav")},
        timeout=30,
    )


def test_over_25_mib_is_azures_413(audio_emu: Emulator) -> None:
    big = speak("x", response_format="wav") + b"\0" * 26_214_400
    resp = _transcribe(audio_emu, big, {})
    assert resp.status_code == 413
    error = resp.json()["error"]
    m = re.fullmatch(
        r"Maximum content size limit \(26214400\) exceeded \((\d+) bytes read\)", error["message"]
    )
    assert m is not None and int(m.group(1)) > 26_214_400
    assert error == {
        "message": error["message"],
        "type": "server_error",
        "param": None,
        "code": None,
    }


def test_other_audio_and_a_multipart_that_is_not_one(audio_emu: Emulator) -> None:
    heard = hear(b"\xff\xfb" + b"\x00" * 32_000)
    assert heard.text == FOREIGN_TRANSCRIPT and not heard.own and heard.duration == 2.0
    resp = httpx.post(
        f"{audio_emu.endpoint}/openai/v1/audio/transcriptions",
        headers={"api-key": audio_emu.api_key, "content-type": "application/json"},
        content=json.dumps({"model": "whisper"}),
        timeout=10,
    )
    assert resp.status_code == 400 and "multipart/form-data" in resp.json()["error"]["message"]

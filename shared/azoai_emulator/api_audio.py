"""Audio, on both routes: text to speech (``audio/speech``, JSON in, audio bytes out) and speech
to text / translation (``audio/transcriptions``, ``audio/translations``: a multipart upload in,
JSON or text out), with Azure's shapes and limits.

Sources: ``spec`` = the vendored ``inference-preview-2025-04-01-preview.json``
(``createSpeechRequest``: input of at most 4096 characters, voices alloy/echo/fable/onyx/nova/
shimmer, formats mp3/opus/aac/flac/wav/pcm, speed 0.25 to 4.0; ``createTranscriptionRequest``,
``audioResponseFormat`` json/text/srt/verbose_json/vtt, ``audioVerboseResponse`` and
``audioSegment``; text formats answered as ``text/plain``); the 413 Azure answers past 25 MiB,
"Maximum content size limit (26214400) exceeded (26384384 bytes read)" (an Azure whisper
deployment, retkowsky/Azure-AIGEN-demos#3; the same body on OpenAI, chidiwilliams/buzz#381,
with type ``server_error``); the newer transcription models' 400, "response_format
'verbose_json' is not compatible with model 'gpt-4o-transcribe'. Use 'json' or 'text' instead."
(``invalid_request_error``, param ``response_format``, code ``unsupported_value``,
openai/openai-dotnet#401); the file types the spec's ``file`` field names.

Models (the emulator's own table, :data:`AUDIO_MODELS`): whisper (all formats, timestamps,
translation), gpt-4o-transcribe and gpt-4o-mini-transcribe (json and text), tts and tts-hd, and
gpt-4o-mini-tts (``instructions``; OpenAI's larger voice list). Speech is
:mod:`azoai_emulator.speech`'s: a transcription of it returns the words it was asked to say.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from azoai_emulator import azure_errors
from azoai_emulator.api_versions import Feature
from azoai_emulator.config import EmulatorDeployment
from azoai_emulator.multipart import parse_form
from azoai_emulator.pipeline import Target, admit, prepare, reject_unknown, success_headers
from azoai_emulator.protocol import ApiError, Call, HttpResult
from azoai_emulator.rules import check_version_gated
from azoai_emulator.speech import CONTENT_TYPES, Heard, hear, speak
from azoai_emulator.state import EmulatorState

__all__ = [
    "AUDIO_MODELS",
    "MAX_CONTENT_BYTES",
    "AudioModelSpec",
    "audio_routes",
    "audio_spec",
    "handle_speech",
    "handle_transcription",
]

#: Azure's request-size limit on the audio endpoints (its 413 names the number).
MAX_CONTENT_BYTES = 26_214_400
MAX_INPUT_CHARS = 4096
_SPEC_VOICES = ("alloy", "echo", "fable", "onyx", "nova", "shimmer")
# OpenAI's speech reference for gpt-4o-mini-tts, which Azure serves.
_MINI_TTS_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
)
_TEXT_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
#: The spec's file types: "flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav, or webm" (plus oga).
_FILE_TYPES = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
_LANGUAGES = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "ja": "japanese",
    "zh": "chinese",
}
SPEECH_PARAMS = frozenset(
    {"model", "input", "voice", "response_format", "speed", "instructions", "stream_format"}
)
TRANSCRIPTION_PARAMS = frozenset(
    {
        "model",
        "file",
        "prompt",
        "response_format",
        "temperature",
        "language",
        "timestamp_granularities[]",
        "timestamp_granularities",
        "include[]",
        "chunking_strategy",
        "stream",
    }
)


@dataclass(frozen=True, slots=True)
class AudioModelSpec:
    family: str
    kind: str  # "speech" or "transcription"
    formats: tuple[str, ...]
    voices: tuple[str, ...] = ()
    instructions: bool = False
    timestamps: bool = False
    translation: bool = False
    usage: bool = False  # json answers carry token usage (the gpt-4o transcribe models)


_SPEECH_FORMATS = tuple(CONTENT_TYPES)
AUDIO_MODELS: dict[str, AudioModelSpec] = {
    "whisper": AudioModelSpec(
        "whisper", "transcription", _TEXT_FORMATS, timestamps=True, translation=True
    ),
    "gpt-4o-transcribe": AudioModelSpec(
        "gpt-4o-transcribe", "transcription", ("json", "text"), usage=True
    ),
    "gpt-4o-mini-transcribe": AudioModelSpec(
        "gpt-4o-mini-transcribe", "transcription", ("json", "text"), usage=True
    ),
    "tts": AudioModelSpec("tts", "speech", _SPEECH_FORMATS, _SPEC_VOICES),
    "tts-hd": AudioModelSpec("tts-hd", "speech", _SPEECH_FORMATS, _SPEC_VOICES),
    "tts-1": AudioModelSpec("tts", "speech", _SPEECH_FORMATS, _SPEC_VOICES),
    "tts-1-hd": AudioModelSpec("tts-hd", "speech", _SPEECH_FORMATS, _SPEC_VOICES),
    "gpt-4o-mini-tts": AudioModelSpec(
        "gpt-4o-mini-tts", "speech", _SPEECH_FORMATS, _MINI_TTS_VOICES, instructions=True
    ),
}
_KEYS = sorted(AUDIO_MODELS, key=len, reverse=True)


def audio_spec(model: str) -> AudioModelSpec | None:
    """The audio model behind a deployment's model name, or ``None`` (not an audio model)."""
    n = model.strip().lower()
    for key in _KEYS:
        if n == key or (n.startswith(key) and n[len(key)] in "-_:."):
            return AUDIO_MODELS[key]
    return None


def _serves(kind: str, *, translation: bool = False) -> Any:
    def check(d: EmulatorDeployment) -> bool:
        spec = audio_spec(d.model)
        return spec is not None and spec.kind == kind and (spec.translation or not translation)

    return check


def _too_large(call: Call) -> None:
    size = len(call.raw_body)
    if size > MAX_CONTENT_BYTES:
        raise ApiError(
            413,
            {
                "error": {
                    "message": f"Maximum content size limit ({MAX_CONTENT_BYTES}) exceeded "
                    f"({size} bytes read)",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            },
        )


# --- text to speech -------------------------------------------------------------------------------


async def handle_speech(
    call: Call, state: EmulatorState, *, route: str, deployment: str | None
) -> HttpResult:
    target = await prepare(
        call,
        state,
        operation="speech",
        route=route,
        path_deployment=deployment,
        serves=_serves("speech"),
    )
    body = target.body
    reject_unknown(body, SPEECH_PARAMS)
    spec = audio_spec(target.deployment.model)
    assert spec is not None  # prepare() checked it serves speech
    text = body.get("input")
    if text is None:
        raise azure_errors.missing_parameter("input")
    if not isinstance(text, str):
        raise azure_errors.invalid_request(
            "Invalid type for 'input': expected a string.", param="input"
        )
    if len(text) > MAX_INPUT_CHARS:
        raise azure_errors.invalid_request(
            f"Invalid 'input': string too long. Expected a string with maximum length "
            f"{MAX_INPUT_CHARS}, but got a string with length {len(text)} instead.",
            param="input",
            code="string_above_max_length",
        )
    voice = body.get("voice")
    if voice is None:
        raise azure_errors.missing_parameter("voice")
    if voice not in spec.voices:
        raise azure_errors.invalid_request(
            f"Invalid value: '{voice}'. Supported values are: "
            + ", ".join(f"'{v}'" for v in spec.voices)
            + ".",
            param="voice",
            code="invalid_value",
        )
    fmt = body.get("response_format") or "mp3"
    if fmt not in spec.formats:
        raise azure_errors.invalid_request(
            f"Invalid value: '{fmt}'. Supported values are: "
            + ", ".join(f"'{f}'" for f in spec.formats)
            + ".",
            param="response_format",
            code="invalid_value",
        )
    speed = body.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not 0.25 <= speed <= 4.0:
        raise azure_errors.invalid_request(
            f"Invalid 'speed': expected a number from 0.25 to 4.0, but got {speed!r} instead.",
            param="speed",
            code="invalid_value",
        )
    if "instructions" in body and not spec.instructions:
        raise azure_errors.unsupported_parameter("instructions")
    decision = admit(state, target, max(1, len(text) // 4))
    audio = speak(
        text, response_format=fmt, speed=float(speed), voice_index=spec.voices.index(voice)
    )
    headers = {**success_headers(target, decision), "content-type": CONTENT_TYPES[fmt]}
    return HttpResult(200, audio, headers)


# --- speech to text -------------------------------------------------------------------------------


def _stamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _timeline(
    heard: Heard,
) -> tuple[list[tuple[float, float, str]], list[tuple[float, float, str]]]:
    """Sentences and words with when they were spoken. Own speech: from the bytes' positions;
    other audio: spread evenly over its duration."""
    text = heard.text
    if heard.own:
        starts = [0.0] * (len(text) + 1)
        offset = 0
        for i, ch in enumerate(text):
            starts[i] = heard.header_seconds + offset * heard.byte_seconds
            offset += len(ch.encode("utf-8"))
        starts[len(text)] = heard.header_seconds + offset * heard.byte_seconds
    else:
        per = heard.duration / max(1, len(text))
        starts = [i * per for i in range(len(text) + 1)]
    words = [(starts[m.start()], starts[m.end()], m.group()) for m in re.finditer(r"\S+", text)]
    sentences = [
        (starts[m.start()], starts[m.end()], m.group().strip())
        for m in re.finditer(r"[^.!?]+(?:[.!?]+|$)", text)
        if m.group().strip()
    ]
    return sentences, words


def _language(hint: str | None) -> str:
    if hint is None:
        return "english"
    return _LANGUAGES.get(hint.lower(), hint.lower())


async def handle_transcription(
    call: Call, state: EmulatorState, *, route: str, deployment: str | None, translate: bool
) -> HttpResult:
    _too_large(call)
    parsed = parse_form(call)
    call.record.body = parsed.summary()
    form: dict[str, Any] = dict(parsed.fields)
    uploads = parsed.uploads("file")
    if uploads:
        form["file"] = uploads[-1].filename
    grains = [
        v for k, v in parsed.fields if k in ("timestamp_granularities[]", "timestamp_granularities")
    ]
    operation = "translations" if translate else "transcriptions"
    target = await prepare(
        call,
        state,
        operation=operation,
        route=route,
        path_deployment=deployment,
        form=form,
        serves=_serves("transcription", translation=translate),
    )
    allowed = TRANSCRIPTION_PARAMS - (
        {"language", "timestamp_granularities[]", "timestamp_granularities"} if translate else set()
    )
    reject_unknown(form, allowed)
    check_version_gated(
        target,
        {"timestamp_granularities[]": 1} if grains else {},
        {"timestamp_granularities[]": Feature.AUDIO_TIMESTAMPS},
    )
    spec = audio_spec(target.deployment.model)
    assert spec is not None
    if not uploads:
        raise azure_errors.missing_parameter("file")
    upload = uploads[-1]
    ext = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    if ext not in _FILE_TYPES:
        raise azure_errors.invalid_request(
            f"Invalid file format. Supported formats: {list(_FILE_TYPES)}",
            param="file",
            code="invalid_value",
        )
    fmt = form.get("response_format") or "json"
    if fmt not in _TEXT_FORMATS:
        raise azure_errors.invalid_request(
            f"Invalid value: '{fmt}'. Supported values are: "
            + ", ".join(f"'{f}'" for f in _TEXT_FORMATS)
            + ".",
            param="response_format",
            code="invalid_value",
        )
    if fmt not in spec.formats:
        raise azure_errors.invalid_request(
            f"response_format '{fmt}' is not compatible with model '{target.deployment.model}'. "
            f"Use {' or '.join(repr(f) for f in spec.formats)} instead.",
            param="response_format",
            code="unsupported_value",
        )
    bad = [g for g in grains if g not in ("word", "segment")]
    if bad:
        raise azure_errors.invalid_request(
            f"Invalid value: '{bad[0]}'. Supported values are: 'word' and 'segment'.",
            param="timestamp_granularities",
            code="invalid_value",
        )
    if grains and (fmt != "verbose_json" or not spec.timestamps):
        raise azure_errors.invalid_request(
            "timestamp_granularities is only supported with response_format 'verbose_json'"
            + ("" if spec.timestamps else f" on whisper models, not '{target.deployment.model}'"),
            param="timestamp_granularities",
            code="unsupported_value",
        )
    temperature = form.get("temperature")
    if temperature is not None:
        try:
            value = float(temperature)
        except ValueError:
            value = -1.0
        if not 0 <= value <= 1:
            raise azure_errors.invalid_request(
                f"Invalid 'temperature': expected a number from 0 to 1, got '{temperature}'.",
                param="temperature",
                code="invalid_value",
            )
    heard = hear(upload.content)
    if not upload.content or heard.duration < 0.1:
        raise azure_errors.invalid_request(
            "Audio file is too short. Minimum audio length is 0.1 seconds.",
            param="file",
            code="audio_too_short",
        )
    decision = admit(state, target, max(1, round(heard.duration * 10)))
    headers = success_headers(target, decision)
    return _answer(target, spec, heard, fmt, grains, form.get("language"), translate, headers)


def _answer(
    target: Target,
    spec: AudioModelSpec,
    heard: Heard,
    fmt: str,
    grains: list[str],
    language: str | None,
    translate: bool,
    headers: Mapping[str, str],
) -> HttpResult:
    text = heard.text
    sentences, words = _timeline(heard)
    if fmt == "text":
        return HttpResult(
            200, text + "\n", {**headers, "content-type": "text/plain; charset=utf-8"}
        )
    if fmt in ("srt", "vtt"):
        sep = "," if fmt == "srt" else "."
        cues = [
            (f"{i + 1}\n" if fmt == "srt" else "")
            + f"{_stamp(start, sep)} --> {_stamp(end, sep)}\n{sentence}\n"
            for i, (start, end, sentence) in enumerate(sentences)
        ]
        document = ("WEBVTT\n\n" if fmt == "vtt" else "") + "\n".join(cues)
        return HttpResult(200, document, {**headers, "content-type": "text/plain; charset=utf-8"})
    body: dict[str, Any] = {"text": text}
    if fmt == "verbose_json":
        body = {
            "task": "translate" if translate else "transcribe",
            "language": "english" if translate else _language(language),
            "duration": round(heard.duration, 3),
            "text": text,
        }
        if not grains or "segment" in grains:
            body["segments"] = [
                {
                    "id": i,
                    "seek": 0,
                    "start": round(start, 3),
                    "end": round(end, 3),
                    "text": " " + sentence,
                    "tokens": [50364 + i],
                    "temperature": 0.0,
                    "avg_logprob": -0.2,
                    "compression_ratio": 1.2,
                    "no_speech_prob": 0.01,
                }
                for i, (start, end, sentence) in enumerate(sentences)
            ]
        if "word" in grains:
            body["words"] = [
                {"word": word.strip(".,!?;:"), "start": round(start, 3), "end": round(end, 3)}
                for start, end, word in words
            ]
    elif spec.usage:
        output = max(1, len(text) // 4)
        audio_tokens = max(1, round(heard.duration * 10))
        body["usage"] = {
            "type": "tokens",
            "input_tokens": audio_tokens,
            "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
            "output_tokens": output,
            "total_tokens": audio_tokens + output,
        }
    return HttpResult(200, body, dict(headers))


# --- routes ---------------------------------------------------------------------------------------

Handler = Callable[[Call, EmulatorState, re.Match[str]], Awaitable[HttpResult]]


def _speech_route(route: str) -> Handler:
    async def handler(call: Call, state: EmulatorState, m: re.Match[str]) -> HttpResult:
        deployment = m.group(1) if route == "deployments" else None
        return await handle_speech(call, state, route=route, deployment=deployment)

    return handler


def _upload_route(route: str, *, translate: bool) -> Handler:
    async def handler(call: Call, state: EmulatorState, m: re.Match[str]) -> HttpResult:
        deployment = m.group(1) if route == "deployments" else None
        return await handle_transcription(
            call, state, route=route, deployment=deployment, translate=translate
        )

    return handler


def audio_routes() -> list[tuple[frozenset[str], re.Pattern[str], Handler]]:
    """The audio paths for :mod:`.dispatch`, on both routes."""
    post = frozenset({"POST"})
    return [
        (
            post,
            re.compile(r"/openai/deployments/([^/]+)/audio/speech"),
            _speech_route("deployments"),
        ),
        (
            post,
            re.compile(r"/openai/deployments/([^/]+)/audio/transcriptions"),
            _upload_route("deployments", translate=False),
        ),
        (
            post,
            re.compile(r"/openai/deployments/([^/]+)/audio/translations"),
            _upload_route("deployments", translate=True),
        ),
        (post, re.compile(r"/openai/v1/audio/speech"), _speech_route("v1")),
        (
            post,
            re.compile(r"/openai/v1/audio/transcriptions"),
            _upload_route("v1", translate=False),
        ),
        (post, re.compile(r"/openai/v1/audio/translations"), _upload_route("v1", translate=True)),
    ]

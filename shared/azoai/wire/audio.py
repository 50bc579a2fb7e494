"""The audio dialect: text to speech (``audio/speech``, a JSON body answered with the audio's
bytes), speech to text and translation (``audio/transcriptions``, ``audio/translations``: a
``multipart/form-data`` upload answered with JSON or text), checked against the model's rules
(:mod:`azoai.config.audio_models`) and parsed into :class:`Transcription` / :class:`Speech`.
Pure: no I/O.

The spec declares the speech body as ``multipart/form-data``; Azure's REST examples and every SDK
send it as JSON (``{"input": ..., "voice": ..., "response_format": ...}``), which is what azoai
sends. Subtitle answers (``srt``, ``vtt``) are parsed into segments too, so every format gives
text with timestamps where Azure sent them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from azoai.config.audio_models import (
    MAX_SPEECH_CHARS,
    SPEECH_CONTENT_TYPES,
    SPEECH_SPEED,
    TRANSCRIPTION_FORMATS,
    AudioModel,
)
from azoai.errors import ConfigError, InvalidResponseError
from azoai.wire.common import loads

__all__ = [
    "AUDIO_EXTENSIONS",
    "Segment",
    "Speech",
    "Transcription",
    "Word",
    "audio_filename",
    "check_speech_model",
    "check_transcription_model",
    "parse_subtitles",
    "parse_transcription",
    "speech_body",
    "transcription_fields",
]

#: File types the transcription endpoints take (the spec's ``file`` description): Azure decides
#: the format by the filename's extension.
AUDIO_EXTENSIONS = ("flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "oga", "wav", "webm")

#: Leading bytes of the common audio containers, for naming an upload given as bare bytes.
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"RIFF", 0, "wav"),
    (b"fLaC", 0, "flac"),
    (b"OggS", 0, "ogg"),
    (b"ID3", 0, "mp3"),
    (b"\x1a\x45\xdf\xa3", 0, "webm"),
    (b"ftyp", 4, "m4a"),
)


@dataclass(slots=True)
class Speech:
    """Synthesised speech: the audio's bytes in ``response_format`` (``mp3``, ``wav``...), the
    media type Azure served them as, the deployment, and Azure's response headers."""

    audio: bytes
    response_format: str
    content_type: str
    deployment: str
    headers: dict[str, str] = field(default_factory=dict)

    def save(self, path: Any) -> None:
        """Write the audio to ``path`` (a ``str`` or ``os.PathLike``)."""
        with open(path, "wb") as fh:
            fh.write(self.audio)


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of speech with its start and end in seconds (``verbose_json`` segments, or a
    subtitle cue)."""

    id: int
    start: float
    end: float
    text: str
    avg_logprob: float | None = None
    no_speech_prob: float | None = None


@dataclass(frozen=True, slots=True)
class Word:
    word: str
    start: float
    end: float


@dataclass(slots=True)
class Transcription:
    """What speech to text (``task="transcribe"``) or translation (``task="translate"``) gave.

    ``text`` is the transcript as plain text whatever the format; ``segments`` and ``words``
    carry the timestamps Azure sent (``verbose_json``; ``srt``/``vtt`` give segments);
    ``language`` and ``duration`` come with ``verbose_json``; ``subtitles`` is the ``srt`` or
    ``vtt`` document as Azure sent it; ``raw`` the body (JSON object or text)."""

    text: str
    response_format: str
    task: str
    deployment: str
    language: str | None = None
    duration: float | None = None
    segments: list[Segment] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    subtitles: str | None = None
    usage: dict[str, Any] | None = None
    raw: Any = None
    headers: dict[str, str] = field(default_factory=dict)


# --- requests -----------------------------------------------------------------------------------


def check_speech_model(model: AudioModel | None, deployment: str, label: str) -> None:
    """A speech call to a deployment known to run a transcription model is refused here."""
    if model is not None and model.kind != "speech":
        raise ConfigError(
            f"deployment {deployment!r} runs {model.name}{label}, a speech-to-text model; "
            "text to speech needs a tts, tts-hd or gpt-4o-mini-tts deployment",
            setting="deployment",
            fix="name a text-to-speech deployment (deployment=...)",
        )


def check_transcription_model(
    model: AudioModel | None, deployment: str, label: str, *, translate: bool
) -> None:
    if model is None:
        return
    what = "translation" if translate else "speech to text"
    if model.kind != "transcription":
        raise ConfigError(
            f"deployment {deployment!r} runs {model.name}{label}, a text-to-speech model; "
            f"{what} needs a whisper"
            + ("" if translate else ", gpt-4o-transcribe or gpt-4o-mini-transcribe")
            + " deployment",
            setting="deployment",
            fix="name a speech-to-text deployment (deployment=...)",
        )
    if translate and not model.translation:
        raise ConfigError(
            f"deployment {deployment!r} runs {model.name}{label}, which does not translate audio "
            "(Azure serves audio/translations with whisper only)",
            setting="deployment",
            fix="translate with a whisper deployment, or transcribe with this one",
        )


def speech_body(
    text: str,
    *,
    model: AudioModel | None,
    deployment: str,
    label: str,
    voice: str,
    response_format: str,
    speed: float | None,
    instructions: str | None,
    model_field: bool,
) -> dict[str, Any]:
    """The JSON body of a speech request, after the rules (spec limits, the model's options);
    ``model_field``: the v1 route, which names the deployment in the body."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("the text to speak is empty", setting="input")
    if len(text) > MAX_SPEECH_CHARS:
        raise ConfigError(
            f"the text to speak has {len(text):,} characters; Azure takes at most "
            f"{MAX_SPEECH_CHARS:,} per request",
            setting="input",
            fix="split the text and synthesise each part",
        )
    if not isinstance(voice, str) or not voice:
        raise ConfigError("voice must be a voice name such as 'alloy'", setting="voice")
    if response_format not in SPEECH_CONTENT_TYPES:
        raise ConfigError(
            f"response_format {response_format!r} is not a speech format; use one of "
            f"{', '.join(SPEECH_CONTENT_TYPES)}",
            setting="response_format",
        )
    body: dict[str, Any] = {"input": text, "voice": voice, "response_format": response_format}
    if model_field:
        body["model"] = deployment
    if speed is not None:
        low, high = SPEECH_SPEED
        if (
            isinstance(speed, bool)
            or not isinstance(speed, int | float)
            or not math.isfinite(speed)
            or not low <= speed <= high
        ):
            raise ConfigError(
                f"speed must be a number from {low} to {high}, got {speed!r}", setting="speed"
            )
        body["speed"] = speed
    if instructions is not None:
        if model is not None and not model.instructions:
            raise ConfigError(
                f"deployment {deployment!r} runs {model.name}{label}, which takes no "
                "instructions (gpt-4o-mini-tts does)",
                setting="instructions",
                fix="remove instructions, or speak with a gpt-4o-mini-tts deployment",
            )
        body["instructions"] = instructions
    return body


def transcription_fields(
    *,
    model: AudioModel | None,
    deployment: str,
    label: str,
    response_format: str,
    language: str | None,
    prompt: str | None,
    temperature: float | None,
    timestamp_granularities: Sequence[str] | None,
    model_field: bool,
    translate: bool,
) -> list[tuple[str, str]]:
    """The form fields (besides the file) of a transcription or translation, after the rules."""
    if response_format not in TRANSCRIPTION_FORMATS:
        raise ConfigError(
            f"response_format {response_format!r} is not a transcription format; use one of "
            f"{', '.join(TRANSCRIPTION_FORMATS)}",
            setting="response_format",
        )
    if model is not None and response_format not in model.formats:
        raise ConfigError(
            f"deployment {deployment!r} runs {model.name}{label}, which answers in "
            f"{' or '.join(model.formats)} only, not {response_format!r} (Azure: "
            f"\"response_format '{response_format}' is not compatible with model\")",
            setting="response_format",
            fix=f"use response_format='{model.formats[0]}'"
            + (
                ", or a whisper deployment for timestamps and subtitles"
                if not model.timestamps
                else ""
            ),
        )
    fields: list[tuple[str, str]] = []
    if model_field:
        fields.append(("model", deployment))
    fields.append(("response_format", response_format))
    if language is not None:
        if translate:
            raise ConfigError(
                "translation always answers in English and takes no language",
                setting="language",
                fix="remove language (or transcribe, which keeps the spoken language)",
            )
        if not isinstance(language, str) or not re.fullmatch(r"[A-Za-z]{2,3}", language):
            raise ConfigError(
                f"language must be an ISO-639-1 code such as 'en' or 'de', got {language!r}",
                setting="language",
            )
        fields.append(("language", language.lower()))
    if prompt is not None:
        fields.append(("prompt", str(prompt)))
    if temperature is not None:
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, int | float)
            or not 0 <= temperature <= 1
        ):
            raise ConfigError(
                f"temperature must be a number from 0 to 1, got {temperature!r}",
                setting="temperature",
            )
        fields.append(("temperature", repr(float(temperature))))
    if timestamp_granularities:
        grains = (
            [timestamp_granularities]
            if isinstance(timestamp_granularities, str)
            else list(timestamp_granularities)
        )
        bad = [g for g in grains if g not in ("word", "segment")]
        if bad:
            raise ConfigError(
                f"timestamp_granularities takes 'word' and 'segment', got {bad!r}",
                setting="timestamp_granularities",
            )
        if response_format != "verbose_json":
            raise ConfigError(
                "timestamp_granularities needs response_format='verbose_json' (spec: "
                '"response_format must be set verbose_json to use timestamp granularities")',
                setting="timestamp_granularities",
                fix="set response_format='verbose_json'",
            )
        if translate:
            raise ConfigError(
                "translations take no timestamp_granularities (their segments come with "
                "verbose_json)",
                setting="timestamp_granularities",
            )
        if model is not None and not model.timestamps:
            raise ConfigError(
                f"deployment {deployment!r} runs {model.name}{label}, which gives no timestamps",
                setting="timestamp_granularities",
                fix="transcribe with a whisper deployment for word and segment timestamps",
            )
        fields.extend(("timestamp_granularities[]", g) for g in dict.fromkeys(grains))
    return fields


def audio_filename(name: str | None, content: bytes) -> str:
    """The filename the upload carries: Azure reads the audio's format from its extension, so a
    name without a known one is refused, and bare bytes are named by their leading bytes."""
    if name:
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        ext = base.rsplit(".", 1)[-1].lower() if "." in base else ""
        if ext in AUDIO_EXTENSIONS:
            return base
        raise ConfigError(
            f"audio file {base!r} has no audio extension Azure recognises ({', '.join(AUDIO_EXTENSIONS)}); "
            "Azure decides the format by the file name",
            setting="filename",
            fix="pass filename='speech.wav' (the real format) with the audio",
        )
    for magic, offset, ext in _MAGIC:
        if content[offset : offset + len(magic)] == magic:
            return f"audio.{ext}"
    if content[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio.mp3"  # an MPEG audio frame header without an ID3 tag
    raise ConfigError(
        "the audio's format cannot be told from its bytes, and no filename says it",
        setting="filename",
        fix="pass filename='speech.mp3' (with the real extension) with the audio",
    )


# --- answers --------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _segments(raw: Any) -> list[Segment]:
    out: list[Segment] = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(item, Mapping):
            continue
        start, end = _number(item.get("start")), _number(item.get("end"))
        if start is None or end is None:
            continue
        ident = item.get("id")
        out.append(
            Segment(
                id=ident if isinstance(ident, int) and not isinstance(ident, bool) else i,
                start=start,
                end=end,
                text=str(item.get("text") or "").strip(),
                avg_logprob=_number(item.get("avg_logprob")),
                no_speech_prob=_number(item.get("no_speech_prob")),
            )
        )
    return out


def _words(raw: Any) -> list[Word]:
    out: list[Word] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        start, end = _number(item.get("start")), _number(item.get("end"))
        if start is None or end is None or not isinstance(item.get("word"), str):
            continue
        out.append(Word(item["word"], start, end))
    return out


_CUE_TIME = re.compile(
    r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})\s*-->\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
)


def _seconds(h: str | None, m: str, s: str, frac: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(frac.ljust(3, "0")) / 1000


def parse_subtitles(document: str) -> list[Segment]:
    """The cues of an SRT or WebVTT document as segments (timestamps in seconds, text joined
    across the cue's lines); headers, notes and cue settings are skipped."""
    segments: list[Segment] = []
    blocks = re.split(r"\r?\n\s*\r?\n", document.replace("\ufeff", "").strip())
    for block in blocks:
        lines = [ln for ln in block.splitlines() if ln.strip()]
        for k, line in enumerate(lines):
            m = _CUE_TIME.search(line)
            if m is None:
                continue
            g = m.groups()
            text = " ".join(ln.strip() for ln in lines[k + 1 :])
            segments.append(
                Segment(
                    id=len(segments),
                    start=_seconds(g[0], g[1], g[2], g[3]),
                    end=_seconds(g[4], g[5], g[6], g[7]),
                    text=re.sub(r"<[^>]+>", "", text).strip(),
                )
            )
            break
    return segments


def parse_transcription(
    content: bytes,
    *,
    response_format: str,
    task: str,
    deployment: str,
    headers: Mapping[str, str] | None = None,
) -> Transcription:
    """A transcription or translation answer in ``response_format``: JSON for ``json`` and
    ``verbose_json``, text for the others. A body of the wrong kind is an
    :class:`InvalidResponseError` (a proxy's page, a truncated body)."""
    kept = dict(headers or {})
    if response_format in ("json", "verbose_json"):
        try:
            body = loads(content)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise InvalidResponseError(
                f"the {task} answer from deployment {deployment!r} is not a JSON object with "
                "'text'",
                deployment=deployment,
            )
        usage = body.get("usage")
        return Transcription(
            text=body["text"].strip(),
            response_format=response_format,
            task=str(body.get("task") or task),
            deployment=deployment,
            language=body.get("language") if isinstance(body.get("language"), str) else None,
            duration=_number(body.get("duration")),
            segments=_segments(body.get("segments")),
            words=_words(body.get("words")),
            usage=usage if isinstance(usage, dict) else None,
            raw=body,
            headers=kept,
        )
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidResponseError(
            f"the {task} answer from deployment {deployment!r} is not UTF-8 text",
            deployment=deployment,
        ) from None
    if response_format == "text":
        return Transcription(
            text=text.strip(),
            response_format=response_format,
            task=task,
            deployment=deployment,
            raw=text,
            headers=kept,
        )
    segments = parse_subtitles(text)
    if text.strip() and not segments:
        raise InvalidResponseError(
            f"the {task} answer from deployment {deployment!r} is not a {response_format} "
            "document (no cue with a timestamp)",
            deployment=deployment,
        )
    return Transcription(
        text=" ".join(s.text for s in segments if s.text),
        response_format=response_format,
        task=task,
        deployment=deployment,
        segments=segments,
        subtitles=text,
        raw=text,
        headers=kept,
    )

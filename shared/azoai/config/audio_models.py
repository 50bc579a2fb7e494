"""What azoai knows about audio models: which operation each serves (text to speech, or speech
to text and translation), the formats it answers in, the options it takes. Keyed by the *real*
model name (``whisper``, ``tts-hd``, ``gpt-4o-transcribe``), never by deployment name.

Sources:

* ``spec`` = the vendored ``inference-preview-2025-04-01-preview.json``: ``createSpeechRequest``
  (``input`` of at most 4096 characters, ``voice`` alloy/echo/fable/onyx/nova/shimmer,
  ``response_format`` mp3/opus/aac/flac/wav/pcm, ``speed`` 0.25 to 4.0) and
  ``createTranscriptionRequest`` / ``audioResponseFormat`` (json, text, srt, verbose_json, vtt;
  ``timestamp_granularities[]`` word and segment, "``response_format`` must be set
  ``verbose_json``").
* ``models`` = ``MicrosoftDocs/azure-ai-docs`` ``articles/foundry/openai/includes/
  models-azure-direct-openai.md``, the audio table: whisper (speech to text and translation),
  tts and tts-hd, gpt-4o-mini-tts, gpt-4o-transcribe and gpt-4o-mini-transcribe.
* The service's own 400 for the newer transcription models: "response_format 'verbose_json' is
  not compatible with model 'gpt-4o-transcribe'. Use 'json' or 'text' instead." (quoted in
  openai/openai-dotnet#401 and vercel/ai#8214); ``instructions`` "does not work with tts-1 or
  tts-1-hd" (OpenAI's speech reference, which Azure serves for these models).

A model not in the table gets ``None`` from :func:`lookup_audio_model`: only the checks every
audio call shares apply, so a newer model is never refused by an old table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

__all__ = [
    "MAX_AUDIO_BYTES",
    "MAX_SPEECH_CHARS",
    "SPEECH_CONTENT_TYPES",
    "SPEECH_SPEED",
    "TRANSCRIPTION_FORMATS",
    "VOICES",
    "AudioModel",
    "lookup_audio_model",
]

#: The largest request body Azure's audio endpoints read: the 413 it answers past it says
#: "Maximum content size limit (26214400) exceeded (26384384 bytes read)"
#: (retkowsky/Azure-AIGEN-demos#3, an Azure whisper deployment): 25 MiB.
MAX_AUDIO_BYTES = 26_214_400
#: ``input`` "The maximum length is 4096 characters" (spec).
MAX_SPEECH_CHARS = 4096
#: ``speed`` "from 0.25 to 4.0" (spec).
SPEECH_SPEED = (0.25, 4.0)
#: Speech formats and the media type each is served as (the body of a 200 is the audio itself).
SPEECH_CONTENT_TYPES: dict[str, str] = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
#: The voices the spec lists for speech; newer models take more (not refused: see the module).
VOICES = ("alloy", "echo", "fable", "onyx", "nova", "shimmer")
#: ``audioResponseFormat`` (spec): json and verbose_json answer JSON, the others text.
TRANSCRIPTION_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")


@dataclass(frozen=True, slots=True)
class AudioModel:
    """One audio model family. ``kind``: ``speech`` (text to speech) or ``transcription``
    (speech to text). ``formats``: the response formats it answers in. ``timestamps``: takes
    ``timestamp_granularities`` (with ``verbose_json``); ``translation``: serves
    ``audio/translations``; ``instructions``: a speech model that takes ``instructions``."""

    name: str
    family: str
    kind: Literal["speech", "transcription"]
    formats: tuple[str, ...]
    timestamps: bool = False
    translation: bool = False
    instructions: bool = False


_WHISPER = AudioModel(
    "whisper",
    "whisper",
    "transcription",
    TRANSCRIPTION_FORMATS,
    timestamps=True,
    translation=True,
)
_GPT4O_TRANSCRIBE = AudioModel(
    "gpt-4o-transcribe", "gpt-4o-transcribe", "transcription", ("json", "text")
)
_TTS = AudioModel("tts", "tts", "speech", tuple(SPEECH_CONTENT_TYPES))

# Longest matching prefix wins ("tts-hd" before "tts", "gpt-4o-mini-tts" is its own family).
_TABLE: dict[str, AudioModel] = {
    "whisper": _WHISPER,
    "gpt-4o-transcribe": _GPT4O_TRANSCRIBE,
    "gpt-4o-mini-transcribe": AudioModel(
        "gpt-4o-mini-transcribe", "gpt-4o-transcribe", "transcription", ("json", "text")
    ),
    "tts": _TTS,
    "tts-hd": AudioModel("tts-hd", "tts", "speech", tuple(SPEECH_CONTENT_TYPES)),
    # OpenAI's names for the same two, which deployments copied from OpenAI code carry.
    "tts-1": AudioModel("tts-1", "tts", "speech", tuple(SPEECH_CONTENT_TYPES)),
    "tts-1-hd": AudioModel("tts-1-hd", "tts", "speech", tuple(SPEECH_CONTENT_TYPES)),
    "gpt-4o-mini-tts": AudioModel(
        "gpt-4o-mini-tts",
        "gpt-4o-mini-tts",
        "speech",
        tuple(SPEECH_CONTENT_TYPES),
        instructions=True,
    ),
}
_PREFIXES = sorted(_TABLE, key=len, reverse=True)


@lru_cache(maxsize=64)
def lookup_audio_model(name: str | None) -> AudioModel | None:
    """The rules for the audio model ``name`` (a dated or suffixed name finds its family:
    ``whisper-001``, ``gpt-4o-mini-tts-2025-03-20``), or ``None`` for a name the table does not
    know (no family rule applies). Never raises."""
    if not name:
        return None
    n = name.strip().lower()
    for key in _PREFIXES:
        if n == key or (n.startswith(key) and n[len(key)] in "-_:@. "):
            return _TABLE[key]
    return None

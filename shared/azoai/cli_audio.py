"""``azoai transcribe FILE`` and ``azoai speak TEXT --out FILE``: speech to text and text to
speech with a configured resource (or the emulator, with ``--endpoint`` pointing at it)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

__all__ = ["add_parsers", "run_speak", "run_transcribe"]

_SPEECH_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")


def add_parsers(sub: Any) -> None:
    """Register ``transcribe`` and ``speak`` on ``azoai``'s subparsers."""
    from azoai.cli_args import _add_settings_args

    t = sub.add_parser(
        "transcribe",
        help="transcribe (or translate) an audio file",
        description="Sends an audio file (at most 25 MB: flac, mp3, mp4, mpeg, mpga, m4a, ogg, "
        "wav, webm) to a speech-to-text deployment (whisper, gpt-4o-transcribe) and prints the "
        "transcript, or the subtitles with --format srt/vtt. --deployment names the deployment.",
    )
    t.add_argument("file", help="the audio file")
    t.add_argument(
        "--format",
        dest="response_format",
        default="text",
        choices=["text", "json", "verbose_json", "srt", "vtt"],
        help="what to print: the text (default), subtitles (srt, vtt), or verbose_json "
        "(segments with timestamps)",
    )
    t.add_argument("--language", help="the spoken language, ISO-639-1 (en, de, ...)")
    t.add_argument("--prompt", help="a style or vocabulary hint")
    t.add_argument(
        "--timestamps",
        choices=["segment", "word", "both"],
        help="segment and/or word timestamps (verbose_json, whisper)",
    )
    t.add_argument("--translate", action="store_true", help="translate into English (whisper)")
    t.add_argument("--out", metavar="FILE", help="write the result to FILE instead of printing")
    _add_settings_args(t)

    s = sub.add_parser(
        "speak",
        help="synthesise speech from a text into an audio file",
        description="Sends a text (at most 4096 characters) to a text-to-speech deployment (tts, "
        "tts-hd, gpt-4o-mini-tts) and writes the audio to --out as it arrives; the format "
        "follows the file's extension unless --format says otherwise.",
    )
    s.add_argument("text", help="what to say")
    s.add_argument("--out", required=True, metavar="FILE", help="where to write the audio")
    s.add_argument("--voice", default="alloy", help="alloy, echo, fable, onyx, nova, shimmer, ...")
    s.add_argument("--format", dest="response_format", choices=_SPEECH_FORMATS)
    s.add_argument("--speed", type=float, help="0.25 to 4.0")
    s.add_argument("--instructions", help="how to speak (gpt-4o-mini-tts)")
    _add_settings_args(s)


def _fail(command: str, err: Exception) -> int:
    from azoai.cli_args import flags
    from azoai.errors import ConfigError

    print(f"azoai {command}: {flags(str(err))}", file=sys.stderr)
    return 2 if isinstance(err, ConfigError) else 1


def run_transcribe(args: argparse.Namespace) -> int:
    from azoai.audio import Audio
    from azoai.cli_args import _settings_kwargs
    from azoai.errors import AzoaiError

    grains: dict[str, list[Any]] = {
        "segment": ["segment"],
        "word": ["word"],
        "both": ["word", "segment"],
    }
    fmt = args.response_format
    try:
        with Audio(**_settings_kwargs(args)) as audio:
            if args.translate:
                result = audio.translate(args.file, response_format=fmt, prompt=args.prompt)
            else:
                result = audio.transcribe(
                    args.file,
                    response_format=fmt,
                    language=args.language,
                    prompt=args.prompt,
                    timestamp_granularities=grains.get(args.timestamps or ""),
                )
    except (AzoaiError, OSError) as err:
        return _fail("transcribe", err)
    if args.json or fmt in ("json", "verbose_json"):
        report = {
            "deployment": result.deployment,
            "text": result.text,
            "language": result.language,
            "duration": result.duration,
            "segments": [asdict(s) for s in result.segments],
            "words": [asdict(w) for w in result.words],
        }
        output = json.dumps(report, indent=2, ensure_ascii=False)
    else:
        output = result.subtitles if result.subtitles is not None else result.text
    if args.out:
        Path(args.out).write_text(output.rstrip("\n") + "\n", encoding="utf-8")
        print(f"wrote {args.out} ({len(result.text)} characters of transcript)")
    else:
        print(output.rstrip("\n"))
    return 0


def run_speak(args: argparse.Namespace) -> int:
    from azoai.audio import Audio
    from azoai.cli_args import _settings_kwargs
    from azoai.errors import AzoaiError

    out = Path(args.out)
    fmt: Any = args.response_format or out.suffix.lstrip(".").lower()
    if fmt not in _SPEECH_FORMATS:
        print(
            f"azoai speak: cannot tell the audio format from {out.name!r}; pass --format "
            f"({', '.join(_SPEECH_FORMATS)})",
            file=sys.stderr,
        )
        return 2
    written = 0
    try:
        with Audio(**_settings_kwargs(args)) as audio:
            stream = audio.stream_speech(
                args.text,
                voice=args.voice,
                response_format=fmt,
                speed=args.speed,
                instructions=args.instructions,
            )
            with stream, out.open("wb") as fh:
                for chunk in stream:
                    fh.write(chunk)
                    written += len(chunk)
    except (AzoaiError, OSError) as err:
        return _fail("speak", err)
    if args.json:
        print(
            json.dumps(
                {
                    "path": str(out),
                    "bytes": written,
                    "format": fmt,
                    "content_type": stream.content_type,
                }
            )
        )
    else:
        print(f"wrote {out} ({fmt}, {stream.content_type}, {written:,} bytes)")
    return 0

"""The emulator's speech: deterministic audio that carries its text, and the decoder that reads
it back, so a transcription of the emulator's own speech returns the words it was asked to say.

The text is spoken as tones: every UTF-8 byte becomes two symbols (its high and low nibble),
each symbol a pure tone of ``BASE + nibble`` whole cycles per symbol (a frequency the decoder
finds by correlating each symbol with the 16 candidates). A header at a fixed symbol length
comes first: a four-symbol signature, the payload's symbol length (``speed`` changes it: at
``speed=2`` each symbol is half as long) and its byte count. Audio is 16-bit mono at 24 kHz, as
Azure's ``pcm`` format is; ``wav`` wraps it in a RIFF header. The compressed formats (mp3, opus,
aac, flac) cannot be encoded without a codec: their bodies start with the format's own signature
(``ID3``, ``OggS``, an ADTS sync word, ``fLaC``), followed by the emulator's marker and the same
samples, which only the emulator decodes.

Audio the emulator did not make (no signature, a real recording) transcribes to
:data:`FOREIGN_TRANSCRIPT`, with a duration estimated from its header or size.
"""

from __future__ import annotations

import math
import operator
import struct
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "CONTENT_TYPES",
    "FOREIGN_TRANSCRIPT",
    "SAMPLE_RATE",
    "Heard",
    "hear",
    "speak",
]

SAMPLE_RATE = 24_000
#: Samples per symbol at ``speed=1`` (10 ms), and for the header whatever the speed.
SYMBOL = 240
#: Whole cycles per symbol of nibble 0; nibble ``k`` has ``BASE + k``.
BASE = 4
_SIGNATURE = (0xA, 0x5, 0xC, 0x3)
_MARKER = b"AZOAI-EMULATOR-PCM\x00"
#: What audio the emulator did not make transcribes to.
FOREIGN_TRANSCRIPT = "The quick brown fox jumps over the lazy dog."
#: The media type of each speech format, as served.
CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
_CONTAINER_MAGIC = {
    "mp3": b"ID3\x04\x00\x00",
    "opus": b"OggS\x00\x02",
    "aac": b"\xff\xf1\x50\x80",
    "flac": b"fLaC",
}
#: Bitrate assumed for a foreign compressed file's duration (bytes -> seconds).
_FOREIGN_BYTES_PER_SECOND = 16_000


@lru_cache(maxsize=64)
def _tables(n: int) -> tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]:
    """Cosine and sine of each nibble's frequency over one symbol of ``n`` samples."""
    out = []
    for k in range(16):
        w = 2 * math.pi * (BASE + k) / n
        out.append(
            (
                tuple(math.cos(w * i) for i in range(n)),
                tuple(math.sin(w * i) for i in range(n)),
            )
        )
    return tuple(out)


def _tone(nibble: int, n: int, amplitude: float) -> list[int]:
    cos_table, _ = _tables(n)[nibble]
    scale = amplitude * 32767
    return [round(scale * c) for c in cos_table]


def _nibble(samples: list[int], start: int, n: int) -> int:
    seg = samples[start : start + n]
    best, best_power = 0, -1.0
    for k, (cos_table, sin_table) in enumerate(_tables(n)):
        re = sum(map(operator.mul, seg, cos_table))
        im = sum(map(operator.mul, seg, sin_table))
        power = re * re + im * im
        if power > best_power:
            best, best_power = k, power
    return best


def _symbol_length(speed: float) -> int:
    """Samples per payload symbol at ``speed`` (a multiple of 12, 60 to 960)."""
    n = round(SYMBOL / speed / 12) * 12
    return max(60, min(960, n))


@dataclass(frozen=True, slots=True)
class Spoken:
    """Speech as samples, with when each payload byte starts (seconds) and its length."""

    samples: list[int]
    header_seconds: float
    byte_seconds: float


def _encode(text: str, speed: float, amplitude: float) -> Spoken:
    payload = text.encode("utf-8")
    n = _symbol_length(speed)
    nibbles: list[int] = list(_SIGNATURE)
    nibbles += [(n // 12) >> 4, (n // 12) & 0xF]
    size = len(payload)
    nibbles += [(size >> 12) & 0xF, (size >> 8) & 0xF, (size >> 4) & 0xF, size & 0xF]
    samples: list[int] = []
    for nib in nibbles:
        samples += _tone(nib, SYMBOL, amplitude)
    header = len(samples)
    for byte in payload:
        samples += _tone(byte >> 4, n, amplitude)
        samples += _tone(byte & 0xF, n, amplitude)
    return Spoken(samples, header / SAMPLE_RATE, 2 * n / SAMPLE_RATE)


def _wav(pcm: bytes) -> bytes:
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(pcm))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16)
        + b"data"
        + struct.pack("<I", len(pcm))
        + pcm
    )


def speak(text: str, *, response_format: str, speed: float = 1.0, voice_index: int = 0) -> bytes:
    """``text`` as audio in ``response_format`` (see the module docstring)."""
    spoken = _encode(text, speed, 0.25 + 0.01 * (voice_index % 16))
    pcm = struct.pack(f"<{len(spoken.samples)}h", *spoken.samples)
    if response_format == "pcm":
        return pcm
    if response_format == "wav":
        return _wav(pcm)
    return _CONTAINER_MAGIC[response_format] + _MARKER + pcm


@dataclass(frozen=True, slots=True)
class Heard:
    """What a transcription hears: the text, the audio's length, and when each byte of the
    text's UTF-8 was spoken (``None``: audio the emulator did not make)."""

    text: str
    duration: float
    own: bool
    header_seconds: float = 0.0
    byte_seconds: float = 0.0


def _wav_pcm(data: bytes) -> tuple[bytes, int, int, int] | None:
    """The data chunk and (rate, channels, bits) of a RIFF/WAVE file, or ``None``."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if cid == b"fmt " and len(body) >= 16:
            _, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            fmt = (rate, channels, bits)
        elif cid == b"data" and fmt is not None:
            return body, *fmt
        pos += 8 + size + (size & 1)
    return None


def _decode(pcm: bytes) -> Heard | None:
    count = len(pcm) // 2
    samples = list(struct.unpack(f"<{count}h", pcm[: count * 2]))
    if count < 10 * SYMBOL:
        return None
    head = [_nibble(samples, i * SYMBOL, SYMBOL) for i in range(10)]
    if tuple(head[:4]) != _SIGNATURE:
        return None
    n = ((head[4] << 4) | head[5]) * 12
    size = (head[6] << 12) | (head[7] << 8) | (head[8] << 4) | head[9]
    start = 10 * SYMBOL
    if n < 60 or start + size * 2 * n > count:
        return None
    payload = bytearray()
    for i in range(size):
        at = start + 2 * i * n
        payload.append((_nibble(samples, at, n) << 4) | _nibble(samples, at + n, n))
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return Heard(text, count / SAMPLE_RATE, True, start / SAMPLE_RATE, 2 * n / SAMPLE_RATE)


def hear(audio: bytes) -> Heard:
    """What the emulator's transcription hears in ``audio`` (see the module docstring)."""
    wav = _wav_pcm(audio)
    if wav is not None:
        pcm, rate, channels, bits = wav
        if (rate, channels, bits) == (SAMPLE_RATE, 1, 16):
            own = _decode(pcm)
            if own is not None:
                return own
        seconds = len(pcm) / max(1, rate * channels * max(1, bits // 8))
        return Heard(FOREIGN_TRANSCRIPT, round(seconds, 3), False)
    marker = audio.find(_MARKER, 0, 64)
    own = _decode(audio[marker + len(_MARKER) :] if marker >= 0 else audio)  # else: raw pcm
    if own is not None:
        return own
    return Heard(FOREIGN_TRANSCRIPT, round(len(audio) / _FOREIGN_BYTES_PER_SECOND, 3), False)

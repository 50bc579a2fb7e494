"""Deterministic images for the emulator, written with zlib and struct (no Pillow), and the little
it reads back from uploads.

* :func:`png` draws horizontal bands whose colours come from a seed (the prompt and the image's
  index), at any size, RGB or, with a transparent background, RGBA with transparent top and
  bottom bands. Identical rows are written once and repeated, so a 1536x1024 image costs a few
  milliseconds and compresses to a few kilobytes.
* :func:`jpeg` writes a baseline greyscale JPEG of one grey level from the seed: every 8x8 block
  after the first repeats the first, so the entropy-coded data is two short Huffman codes per
  block (the tables hold only the codes used). Any JPEG decoder reads it.
* :func:`dimensions` reads a PNG's or JPEG's size and whether a PNG has an alpha channel.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

__all__ = ["ImageFacts", "dimensions", "jpeg", "png"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BANDS = 8


def _seed_bytes(seed: str, n: int) -> bytes:
    return hashlib.blake2b(seed.encode("utf-8"), digest_size=max(16, n)).digest()[:n]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, seed: str, *, transparent: bool = False) -> bytes:
    """A ``width`` x ``height`` PNG of coloured bands; ``transparent``: RGBA whose first and last
    bands are fully transparent."""
    colours = _seed_bytes(seed, 3 * _BANDS)
    channels = 4 if transparent else 3
    rows: list[bytes] = []
    band_height = max(1, height // _BANDS)
    for band in range(_BANDS):
        r, g, b = colours[3 * band : 3 * band + 3]
        pixel = (
            bytes((r, g, b, 0 if band in (0, _BANDS - 1) else 255))
            if transparent
            else bytes((r, g, b))
        )
        rows.append(b"\x00" + pixel * width)  # filter byte 0, then the pixels
    raw = bytearray()
    for y in range(height):
        raw += rows[min(y // band_height, _BANDS - 1)]
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if channels == 4 else 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(raw), 6))
        + _chunk(b"IEND", b"")
    )


class _Bits:
    """An entropy-coded segment: bits packed most significant first, 0xFF bytes stuffed."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.count = 0

    def put(self, value: int, length: int) -> None:
        for i in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.count += 1
            if self.count == 8:
                self._byte()

    def _byte(self) -> None:
        self.out.append(self.acc)
        if self.acc == 0xFF:
            self.out.append(0)
        self.acc = 0
        self.count = 0

    def finish(self) -> bytes:
        while self.count:
            self.put(1, 1)  # pad with 1 bits
        return bytes(self.out)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg(width: int, height: int, seed: str) -> bytes:
    """A baseline greyscale JPEG of one grey level derived from ``seed``."""
    grey = 64 + _seed_bytes(seed, 1)[0] // 2  # 64..191
    # Quantisation 1 everywhere: the first block's DC coefficient is 8 * (grey - 128); every
    # later block differs from it by 0 and has no AC coefficients (an end-of-block code).
    dc = 8 * (grey - 128)
    category = abs(dc).bit_length()
    # DC table: category 0 -> "00", the first block's category -> "01" (two 2-bit codes);
    # AC table: end-of-block (0x00) -> "0" (one 1-bit code).
    dc_symbols = [0] if category == 0 else [0, category]
    dc_counts = bytes([0, len(dc_symbols)] + [0] * 14)
    ac_counts = bytes([1] + [0] * 15)
    bits = _Bits()
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    for block in range(blocks):
        if block == 0 and category:
            bits.put(0b01, 2)
            bits.put(dc if dc > 0 else dc - 1 + (1 << category), category)
        else:
            bits.put(0b00, 2)
        bits.put(0, 1)  # end of block
    jfif = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"".join(
        (
            b"\xff\xd8",
            _segment(0xE0, jfif),
            _segment(0xDB, b"\x00" + b"\x01" * 64),
            _segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"),
            _segment(0xC4, b"\x00" + dc_counts + bytes(dc_symbols)),
            _segment(0xC4, b"\x10" + ac_counts + b"\x00"),
            _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
            bits.finish(),
            b"\xff\xd9",
        )
    )


@dataclass(frozen=True, slots=True)
class ImageFacts:
    format: str  # "png" | "jpeg" | "webp" | "gif"
    width: int | None = None
    height: int | None = None
    has_alpha: bool = False


def dimensions(data: bytes) -> ImageFacts | None:
    """What an uploaded image is, or ``None`` when its bytes are no PNG, JPEG, WEBP or GIF."""
    if data.startswith(PNG_SIGNATURE):
        width = height = None
        alpha = False
        pos = len(PNG_SIGNATURE)
        while pos + 8 <= len(data):
            length, kind = struct.unpack(">I4s", data[pos : pos + 8])
            body = data[pos + 8 : pos + 8 + length]
            if kind == b"IHDR" and len(body) >= 10:
                width, height = struct.unpack(">II", body[:8])
                alpha = body[9] in (4, 6)
            elif kind == b"tRNS":
                alpha = True
            elif kind in (b"IDAT", b"IEND"):
                break
            pos += 12 + length
        return ImageFacts("png", width, height, alpha)
    if data.startswith(b"\xff\xd8\xff"):
        pos = 2
        while pos + 9 <= len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                pos += 2
                continue
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[pos + 5 : pos + 9])
                return ImageFacts("jpeg", w, h)
            pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        return ImageFacts("jpeg")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ImageFacts("webp")
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ImageFacts("gif")
    return None

"""One emulator for the standard suites, started on first use (the suites read connection
parameters from class properties at test time) and stopped by ``conftest.py`` at session end.

Also the offline stand-ins for the files langchain-tests downloads (see ``offline_downloads``)."""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Callable
from typing import Any

import httpx

from azoai_emulator import Emulator, EmulatorDeployment

#: "gpt-4o-mini" is the second deployment the model-override tests switch to. It is named after
#: its model, as Azure deployments often are, because the standard override tests check that the
#: override value appears in ``response_metadata["model_name"]`` (the real model Azure reports).
DEPLOYMENTS = (
    EmulatorDeployment("chat", model="gpt-4o"),
    EmulatorDeployment("gpt-4o-mini", model="gpt-4o-mini"),
    EmulatorDeployment("reasoner", model="o4-mini"),
    EmulatorDeployment("embed", model="text-embedding-3-small"),
)

_lock = threading.Lock()
_emulator: Emulator | None = None


def emulator() -> Emulator:
    global _emulator
    with _lock:
        if _emulator is None:
            _emulator = Emulator(deployments=DEPLOYMENTS).start()
        return _emulator


def stop() -> None:
    global _emulator
    with _lock:
        if _emulator is not None:
            _emulator.stop()
            _emulator = None


def png(width: int = 8, height: int = 8) -> bytes:
    """A valid RGB PNG (a small gradient)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 30 % 256, y * 30 % 256, 128)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pdf(text: str = "Dummy PDF file") -> bytes:
    """A valid one-page PDF showing ``text``."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out


def offline_get(files: dict[str, tuple[bytes, str]]) -> Callable[..., httpx.Response]:
    """A stand-in for ``httpx.get`` that serves ``files`` (url -> (bytes, content type)) and
    refuses every other URL: the suites' test files, without the internet."""

    def get(url: Any, *args: Any, **kwargs: Any) -> httpx.Response:
        key = str(url)
        if key not in files:
            raise RuntimeError(f"tests run offline; no local copy of {key}")
        data, content_type = files[key]
        return httpx.Response(
            200,
            content=data,
            headers={"content-type": content_type},
            request=httpx.Request("GET", key),
        )

    return get

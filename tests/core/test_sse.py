"""SSE framing (azoai.wire.sse): pure, in the wire layer, the same objects the transport uses."""

from __future__ import annotations

import subprocess
import sys

import pytest

from azoai.wire.sse import LineSplitter, SSEDecoder, TooLarge


def test_sse_framing_imports_without_any_http_library() -> None:
    # httpx and websockets blocked: the wire layer must not need them.
    code = (
        "import sys\n"
        "for m in ('httpx', 'httpcore', 'websockets', 'openai'): sys.modules[m] = None\n"
        "from azoai.wire.sse import LineSplitter, SSEDecoder, iter_sse\n"
        "print(list(iter_sse(['data: a', '', 'data: b'])))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['a', 'b']"


def test_the_transport_uses_the_wire_layers_framing() -> None:
    import azoai.io.http as http

    assert http.LineSplitter is LineSplitter
    assert http.SSEDecoder is SSEDecoder
    assert http.TooLarge is TooLarge


def _events(chunks: list[bytes], limit: int = 1024) -> list[str]:
    lines, sse, out = LineSplitter(limit), SSEDecoder(), []
    for chunk in chunks:
        for line in lines.feed(chunk):
            data = sse.feed(line.decode())
            if data is not None:
                out.append(data)
    for line in lines.flush():
        data = sse.feed(line.decode())
        if data is not None:
            out.append(data)
    tail = sse.flush()
    if tail is not None:
        out.append(tail)
    return out


def test_events_split_anywhere_decode_the_same() -> None:
    raw = b': keep-alive\r\ndata: {"a":1}\r\n\r\nevent: x\ndata: line1\ndata:line2\n\rdata: [DONE]\r\n\r\n'
    whole = _events([raw])
    assert whole == ['{"a":1}', "line1\nline2", "[DONE]"]
    for cut in range(1, len(raw)):
        assert _events([raw[:cut], raw[cut:]]) == whole, cut
    assert _events([raw[i : i + 1] for i in range(len(raw))]) == whole


def test_an_event_over_the_limit_is_refused_however_it_is_split() -> None:
    big = b"data: " + b"x" * 600 + b"\ndata: " + b"y" * 600 + b"\n\n"
    with pytest.raises(TooLarge) as info:
        _events([big], limit=1024)
    assert info.value.limit == 1024
    with pytest.raises(TooLarge):
        _events([big[i : i + 7] for i in range(0, len(big), 7)], limit=1024)
    # two events of 600 bytes each are fine: the limit is per event
    assert len(_events([b"data: " + b"x" * 600 + b"\n\n" + b"data: " + b"y" * 600 + b"\n\n"])) == 2

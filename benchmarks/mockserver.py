"""A fast mock of Azure OpenAI for CPU benchmarks, run in its own process.

``python -m benchmarks.mockserver [--port 0] [--chunk-gap SECONDS]`` prints ``PORT <n>`` once it
listens on 127.0.0.1 and serves until stdin closes (or it is killed).

It answers with canned, Azure-shaped bodies and does as little work as possible, so that its CPU
(on the other core) barely disturbs the client being measured:

* ``POST .../chat/completions`` on both routes (``/openai/deployments/{d}/...`` and
  ``/openai/v1/...`` with the deployment in the body's ``model``):

  - a body with ``tools``: a completion with 3 parallel tool calls;
  - ``"stream": true``: Azure's SSE stream: the empty-choices first chunk carrying
    ``prompt_filter_results``, a role chunk, N content chunks (default 100), the finish chunk, the usage chunk (when
    ``stream_options.include_usage``), then ``data: [DONE]``; each event is one HTTP chunk.
    N comes from the deployment name's suffix: ``-s<N>`` sends the events in one burst (the
    client's parsing cost alone), ``-p<N>`` writes them ``--chunk-gap`` seconds apart (default
    0.0002) so that, as with a real model, the client reads the chunks one at a time;
  - otherwise: a completion of about 60 words with Azure's content-filter annotations.

* ``POST .../embeddings``: one vector of 1536 dimensions per input, ``base64`` or ``float`` as
  asked (the same canned vector for every input).

Every answer carries the response headers Azure sends (region, request ids, rate-limit
remaining). The server is a plain thread-per-connection HTTP/1.1 server with keep-alive: no
framework, nothing between the socket and the canned bytes.
"""

from __future__ import annotations

import argparse
import array
import base64
import json
import math
import re
import socket
import sys
import threading
import time
from typing import Any

__all__ = ["CHAT_TEXT", "EMBEDDING_DIMENSIONS", "MockServer", "main"]

EMBEDDING_DIMENSIONS = 1536
DEFAULT_STREAM_CHUNKS = 100
MODEL = "gpt-4o-2024-08-06"
FINGERPRINT = "fp_b705f0c291"

CHAT_TEXT = (
    "Azure OpenAI serves the same models as OpenAI behind deployments that you name yourself. "
    "Each deployment has its own quota in tokens and requests per minute, and the service "
    "answers with rate-limit headers so that a client can pace itself instead of retrying "
    "blindly when it runs out."
)

_SAFE = {"filtered": False, "severity": "safe"}
_FILTERS = {
    "hate": _SAFE,
    "self_harm": _SAFE,
    "sexual": _SAFE,
    "violence": _SAFE,
}
_PROMPT_FILTERS = [
    {
        "prompt_index": 0,
        "content_filter_results": {
            **_FILTERS,
            "jailbreak": {"filtered": False, "detected": False},
        },
    }
]
_COMPLETION_FILTERS = {
    **_FILTERS,
    "protected_material_code": {"filtered": False, "detected": False},
    "protected_material_text": {"filtered": False, "detected": False},
}

_USAGE = {
    "completion_tokens": 62,
    "prompt_tokens": 31,
    "total_tokens": 93,
    "completion_tokens_details": {
        "accepted_prediction_tokens": 0,
        "audio_tokens": 0,
        "reasoning_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
    "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": 0},
}

_TOOL_CALLS = [
    {
        "id": "call_weather_paris",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris", "unit": "celsius"}'},
    },
    {
        "id": "call_time_paris",
        "type": "function",
        "function": {"name": "get_time", "arguments": '{"city": "Paris", "timezone": "CET"}'},
    },
    {
        "id": "call_search_hotels",
        "type": "function",
        "function": {
            "name": "search_hotels",
            "arguments": '{"city": "Paris", "max_price": 250, "amenities": ["wifi", "breakfast"]}',
        },
    },
]


def _completion(message: dict[str, Any], finish: str) -> bytes:
    body = {
        "choices": [
            {
                "content_filter_results": _COMPLETION_FILTERS if finish == "stop" else {},
                "finish_reason": finish,
                "index": 0,
                "logprobs": None,
                "message": message,
            }
        ],
        "created": 1732000000,
        "id": "chatcmpl-AUr5mmGvhmtvcMoKKyJ1Ge1Hlh7Rb",
        "model": MODEL,
        "object": "chat.completion",
        "prompt_filter_results": _PROMPT_FILTERS,
        "system_fingerprint": FINGERPRINT,
        "usage": _USAGE,
    }
    return json.dumps(body).encode()


CHAT_BODY = _completion(
    {"annotations": [], "content": CHAT_TEXT, "refusal": None, "role": "assistant"}, "stop"
)
TOOLS_BODY = _completion(
    {
        "annotations": [],
        "content": None,
        "refusal": None,
        "role": "assistant",
        "tool_calls": _TOOL_CALLS,
    },
    "tool_calls",
)

_WORDS = CHAT_TEXT.split(" ")


def _sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _chunk(delta: dict[str, Any], finish: str | None, filters: bool = True) -> dict[str, Any]:
    choice: dict[str, Any] = {
        "delta": delta,
        "finish_reason": finish,
        "index": 0,
        "logprobs": None,
    }
    if filters:
        choice["content_filter_results"] = {} if finish else _FILTERS
    return {
        "choices": [choice],
        "created": 1732000000,
        "id": "chatcmpl-AUr5mmGvhmtvcMoKKyJ1Ge1Hlh7Rb",
        "model": MODEL,
        "object": "chat.completion.chunk",
        "system_fingerprint": FINGERPRINT,
    }


def stream_events(n: int, usage: bool) -> list[bytes]:
    """The SSE frames of a stream with ``n`` content chunks, in Azure's shape."""
    events = [
        _sse(
            {
                "choices": [],
                "created": 0,
                "id": "",
                "model": "",
                "object": "",
                "prompt_filter_results": _PROMPT_FILTERS,
            }
        ),
        _sse(_chunk({"content": "", "refusal": None, "role": "assistant"}, None, filters=False)),
    ]
    for i in range(n):
        events.append(_sse(_chunk({"content": " " + _WORDS[i % len(_WORDS)]}, None)))
    events.append(_sse(_chunk({}, "stop")))
    if usage:
        events.append(
            _sse(
                {
                    "choices": [],
                    "created": 1732000000,
                    "id": "chatcmpl-AUr5mmGvhmtvcMoKKyJ1Ge1Hlh7Rb",
                    "model": MODEL,
                    "object": "chat.completion.chunk",
                    "system_fingerprint": FINGERPRINT,
                    "usage": _USAGE,
                }
            )
        )
    events.append(b"data: [DONE]\n\n")
    return events


def _vector() -> list[float]:
    raw = [math.sin(i * 0.37) for i in range(EMBEDDING_DIMENSIONS)]
    norm = math.sqrt(sum(x * x for x in raw))
    return [x / norm for x in raw]


_VECTOR = _vector()
_VECTOR_B64 = json.dumps(base64.b64encode(array.array("f", _VECTOR).tobytes()).decode()).encode()
_VECTOR_FLOAT = json.dumps([float(array.array("f", [x])[0]) for x in _VECTOR]).encode()


def embeddings_body(n: int, fmt: str, tokens: int) -> bytes:
    vec = _VECTOR_B64 if fmt == "base64" else _VECTOR_FLOAT
    items = [b'{"object":"embedding","index":%d,"embedding":%s}' % (i, vec) for i in range(n)]
    return (
        b'{"object":"list","data":['
        + b",".join(items)
        + b'],"model":"text-embedding-3-small","usage":{"prompt_tokens":%d,"total_tokens":%d}}'
        % (tokens, tokens)
    )


_HEADERS = (
    b"apim-request-id: 1f3b8a52-6c7d-4e2a-9b1c-0d5e6f7a8b9c\r\n"
    b"azureml-model-session: d021-20241120130301\r\n"
    b"x-content-type-options: nosniff\r\n"
    b"x-ms-client-request-id: Not-Set\r\n"
    b"x-ms-rai-invoked: true\r\n"
    b"x-ms-region: East US\r\n"
    b"x-ratelimit-limit-requests: 100000\r\n"
    b"x-ratelimit-limit-tokens: 10000000\r\n"
    b"x-ratelimit-remaining-requests: 99999\r\n"
    b"x-ratelimit-remaining-tokens: 9999000\r\n"
    b"x-request-id: 6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d\r\n"
    b"strict-transport-security: max-age=31536000; includeSubDomains; preload\r\n"
    b"date: Thu, 21 Nov 2024 12:00:00 GMT\r\n"
)

_DEPLOYMENT_IN_PATH = re.compile(rb"/openai/deployments/([^/]+)/")
_STREAM_SIZE = re.compile(r"-([sp])(\d+)$")


class MockServer:
    """Thread-per-connection HTTP/1.1 server with canned Azure answers."""

    def __init__(self, port: int = 0, chunk_gap: float = 0.0002) -> None:
        self.chunk_gap = chunk_gap
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(512)
        self.port: int = self.sock.getsockname()[1]
        self._streams: dict[tuple[int, bool], list[bytes]] = {}
        self._lock = threading.Lock()

    def serve_forever(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _events(self, n: int, usage: bool) -> list[bytes]:
        key = (n, usage)
        events = self._streams.get(key)
        if events is None:
            with self._lock:
                events = self._streams.setdefault(key, stream_events(n, usage))
        return events

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                method, path, _ = lines[0].split(b" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buf) < length:
                    data = conn.recv(max(65536, length - len(buf)))
                    if not data:
                        return
                    buf += data
                body, buf = buf[:length], buf[length:]
                self._answer(conn, method, path, body)
        except (ConnectionError, OSError):
            return
        finally:
            conn.close()

    def _answer(self, conn: socket.socket, method: bytes, path: bytes, raw: bytes) -> None:
        if method != b"POST":
            self._send(conn, 404, b'{"error":{"code":"404","message":"Resource not found"}}')
            return
        body = json.loads(raw) if raw else {}
        m = _DEPLOYMENT_IN_PATH.search(path)
        deployment = m.group(1).decode() if m else str(body.get("model", ""))
        if b"/embeddings" in path:
            inputs = body.get("input", [])
            if not isinstance(inputs, list) or (inputs and isinstance(inputs[0], int)):
                inputs = [inputs]  # one string, or one text as token ids
            n = len(inputs)
            tokens = sum(len(t.split()) if isinstance(t, str) else len(t) for t in inputs)
            self._send(
                conn, 200, embeddings_body(n, body.get("encoding_format") or "float", tokens)
            )
        elif b"/chat/completions" in path:
            if body.get("stream"):
                size = _STREAM_SIZE.search(deployment)
                n = int(size.group(2)) if size else DEFAULT_STREAM_CHUNKS
                gap = self.chunk_gap if size and size.group(1) == "p" else 0.0
                usage = bool((body.get("stream_options") or {}).get("include_usage"))
                self._stream(conn, self._events(n, usage), gap)
            elif body.get("tools"):
                self._send(conn, 200, TOOLS_BODY)
            else:
                self._send(conn, 200, CHAT_BODY)
        else:
            self._send(conn, 404, b'{"error":{"code":"404","message":"Resource not found"}}')

    @staticmethod
    def _send(conn: socket.socket, status: int, payload: bytes) -> None:
        reason = b"OK" if status == 200 else b"Not Found"
        conn.sendall(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s"
            % (status, reason, len(payload), _HEADERS, payload)
        )

    @staticmethod
    def _stream(conn: socket.socket, events: list[bytes], gap: float) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
            b"transfer-encoding: chunked\r\n%s\r\n" % _HEADERS
        )
        for event in events:
            if gap:
                time.sleep(gap)
            conn.sendall(b"%x\r\n%s\r\n" % (len(event), event))
        conn.sendall(b"0\r\n\r\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mockserver")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunk-gap", type=float, default=0.0002)
    args = parser.parse_args(argv)
    server = MockServer(args.port, args.chunk_gap)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PORT {server.port}", flush=True)
    try:
        sys.stdin.read()  # serve until the parent closes our stdin (or exits)
    except KeyboardInterrupt:
        pass
    server.sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

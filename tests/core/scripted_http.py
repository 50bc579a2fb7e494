"""A tiny HTTP/1.1 server on 127.0.0.1 whose answers are scripted byte by byte, for what the
emulator will not do: trickle a body, send garbage under ``Content-Encoding: gzip``, a gzip bomb,
SSE keep-alive comments, an endless line; and a fake proxy that records what reaches it.

    def answer(req: Received, out: Out) -> None:
        out.head(200, {"content-type": "application/json"}, length=len(BODY))
        out.send(BODY)

    with Scripted(answer) as server:
        Client(endpoint=server.endpoint, ...)
        server.requests  # what arrived

Each connection is served on its own daemon thread; a client that goes away ends its answer at
the next write. Nothing sleeps longer than the answer asks.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CHAT_BODY",
    "Out",
    "Received",
    "Scripted",
    "chat_body",
    "chunk_event",
    "embeddings_body",
    "gzipped",
]


@dataclass
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    raw: bytes = field(repr=False, default=b"")

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Out:
    """Writes an answer; every write raises ``OSError`` once the client is gone."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def head(self, status: int, headers: dict[str, str], *, length: int | None = None) -> None:
        lines = [f"HTTP/1.1 {status} X"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if length is not None:
            lines.append(f"content-length: {length}")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode())

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def trickle(self, data: bytes, every: float, size: int = 1) -> None:
        for i in range(0, len(data), size):
            self.send(data[i : i + size])
            time.sleep(every)

    def json(
        self, body: bytes, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self.head(status, {"content-type": "application/json", **(headers or {})}, length=len(body))
        self.send(body)


Answer = Callable[[Received, Out], None]


class Scripted:
    """Serves each request with ``answer`` (after the answer returns, the connection is kept for
    the next request unless the answer closed it or sent no ``content-length``)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[Received] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Scripted:
        t = threading.Thread(target=self._accept, name="scripted-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self._sock.close()
        with self._lock:
            for c in self._conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
        for t in self._threads:
            t.join(timeout=5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        try:
            while not self._stop.is_set():
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0"))
                while len(buf) < length:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                body, buf = buf[:length], buf[length:]
                req = Received(method, target, headers, body, head + b"\r\n\r\n" + body)
                with self._lock:
                    self.requests.append(req)
                self.answer(req, Out(conn))
        except OSError:
            return
        finally:
            conn.close()


# --- bodies -------------------------------------------------------------------------------------


def chat_body(text: str = "hello") -> bytes:
    return json.dumps(
        {
            "id": "c1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o-2024-11-20",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": text},
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    ).encode()


CHAT_BODY = chat_body()


def chunk_event(text: str | None = None, finish: str | None = None) -> bytes:
    delta: dict[str, Any] = {"content": text} if text is not None else {}
    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-2024-11-20",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def embeddings_body(n: int, dims: int = 4) -> bytes:
    return json.dumps(
        {
            "object": "list",
            "model": "text-embedding-3-small",
            "data": [
                {"object": "embedding", "index": i, "embedding": [0.5] * dims} for i in range(n)
            ],
            "usage": {"prompt_tokens": n, "total_tokens": n},
        }
    ).encode()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data)

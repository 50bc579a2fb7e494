"""Timeouts are deadlines (issue 14, finding 9): ``timeout`` bounds a whole attempt from connect
to last byte however slowly the bytes come; a stream has an overall deadline (``stream_timeout``)
and an idle one (``stream_idle_timeout``) that SSE keep-alive comments do not reset. Each
attempt gets its own deadline. Scripted servers on 127.0.0.1 do the trickling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scripted_http import CHAT_BODY, Out, Received, Scripted, chunk_event

from azoai import errors as E
from azoai.client import CallOptions, Client
from azoai.config.settings import RetryPolicy, Settings, Timeouts
from azoai.wire import ChatRequest, Message, StreamDelta

HI = ChatRequest(messages=[Message("user", "hi")])
FAST = RetryPolicy(max_retries=0, initial_delay=0.01, max_delay=0.02)


def make(server: Scripted, **kw: Any) -> Client:
    kw.setdefault("retry", FAST)
    return Client(
        endpoint=server.endpoint, api_key="k", deployment="d", env={}, config_file="", **kw
    )


def collect(c: Client, mode: str) -> list[StreamDelta]:
    if mode == "sync":
        return list(c.stream(HI))

    async def run() -> list[StreamDelta]:
        return [d async for d in c.astream(HI)]

    return asyncio.run(run())


def call(c: Client, mode: str, **kw: Any) -> Any:
    return c.chat(HI, **kw) if mode == "sync" else asyncio.run(c.achat(HI, **kw))


def timed(fn: Callable[[], Any]) -> tuple[BaseException | None, float]:
    t = time.monotonic()
    try:
        fn()
    except BaseException as exc:
        return exc, time.monotonic() - t
    return None, time.monotonic() - t


def trickle(req: Received, out: Out) -> None:
    """Headers at once, then the body a byte every 50 ms: 30 s for the whole body."""
    out.head(200, {"content-type": "application/json"}, length=len(CHAT_BODY))
    out.trickle(CHAT_BODY, 0.05)


MODES = ["sync", "async"]


@pytest.mark.parametrize("mode", MODES)
def test_a_trickled_body_cannot_outlast_timeout(mode: str) -> None:
    with Scripted(trickle) as server:
        err, took = timed(lambda: call(make(server, timeout=1), mode))
    assert isinstance(err, E.TimeoutError), err
    assert "timeout=1 s for the whole attempt" in str(err)
    assert took < 2.5, f"a call with timeout=1 ran {took:.1f} s"  # was 30 s: a per-read timeout


@pytest.mark.parametrize("mode", MODES)
def test_each_attempt_gets_its_own_deadline(mode: str) -> None:
    retry = RetryPolicy(max_retries=1, initial_delay=0.01, max_delay=0.02)
    with Scripted(trickle) as server:
        err, took = timed(lambda: call(make(server, timeout=0.6, retry=retry), mode))
        assert len(server.requests) == 2
    assert isinstance(err, E.TimeoutError)
    assert 1.1 < took < 3.0


@pytest.mark.parametrize("mode", MODES)
def test_a_per_call_timeout_is_a_deadline_too(mode: str) -> None:
    with Scripted(trickle) as server:
        c = make(server, timeout=60)
        err, took = timed(lambda: call(c, mode, options=CallOptions(timeout=0.8)))
    assert isinstance(err, E.TimeoutError) and took < 2.5


def slow_headers(req: Received, out: Out) -> None:
    time.sleep(0.6)  # the answer starts late, then comes at once
    out.json(CHAT_BODY)


def test_a_slow_answer_within_the_deadline_arrives() -> None:
    with Scripted(slow_headers) as server:
        assert make(server, timeout=3).chat(HI).text == "hello"


# --- streams ------------------------------------------------------------------------------------


def keepalives_after_a_chunk(req: Received, out: Out) -> None:
    """One chunk of text, then only SSE comments every 0.1 s (for up to 20 s)."""
    out.head(200, {"content-type": "text/event-stream"})
    out.send(chunk_event("Hel"))
    for _ in range(200):
        out.send(b": keep-alive\n\n")
        time.sleep(0.1)


@pytest.mark.parametrize("mode", MODES)
def test_keepalive_comments_do_not_reset_the_idle_timeout(mode: str) -> None:
    with Scripted(keepalives_after_a_chunk) as server:
        err, took = timed(lambda: collect(make(server, stream_idle_timeout=0.5), mode))
    assert isinstance(err, E.StreamInterruptedError), err
    assert err.partial_text == "Hel"
    assert "stream_idle" in str(err) and "keep-alive comments do not count" in str(err)
    assert err.fix == "raise stream_idle_timeout"
    assert took < 2.0, f"comments kept the stream open {took:.1f} s"


def endless_text(req: Received, out: Out) -> None:
    """A chunk every 0.1 s, never finishing (for up to 20 s)."""
    out.head(200, {"content-type": "text/event-stream"})
    for _ in range(200):
        out.send(chunk_event("x"))
        time.sleep(0.1)


@pytest.mark.parametrize("mode", MODES)
def test_stream_timeout_bounds_a_whole_stream(mode: str) -> None:
    with Scripted(endless_text) as server:
        c = make(server, stream_idle_timeout=0.5, stream_timeout=1.0)
        err, took = timed(lambda: collect(c, mode))
    assert isinstance(err, E.StreamInterruptedError), err
    assert "stream_timeout (1 s)" in str(err) and err.fix == "raise stream_timeout"
    assert err.partial_text.startswith("xxx")  # the text so far
    assert took < 2.5


class SilentThenGood:
    """The first stream sends headers and then nothing; the next one answers."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, req: Received, out: Out) -> None:
        self.calls += 1
        out.head(200, {"content-type": "text/event-stream"})
        if self.calls == 1:
            out.sock.recv(1)  # nothing more until the client gives up and closes
            return
        out.send(chunk_event("Hello"))
        out.send(chunk_event(None, "stop"))
        out.send(b"data: [DONE]\n\n")
        out.sock.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_silent_before_its_first_chunk_is_retried(mode: str) -> None:
    retry = RetryPolicy(max_retries=1, initial_delay=0.01, max_delay=0.02)
    with Scripted(SilentThenGood()) as server:
        deltas = collect(make(server, stream_idle_timeout=0.4, retry=retry), mode)
        assert len(server.requests) == 2
    assert "".join(d.text for d in deltas) == "Hello"


# --- settings -----------------------------------------------------------------------------------


def test_stream_timeout_setting_from_arguments_file_and_default(tmp_path: Path) -> None:
    base: dict[str, Any] = {"endpoint": "https://r.openai.azure.com", "api_key": "k", "env": {}}
    assert Settings.build(config_file="", **base).timeout.stream == 3600
    assert Settings.build(config_file="", stream_timeout=90, **base).timeout.stream == 90
    cfg = tmp_path / "azoai.toml"
    cfg.write_text("[timeout]\nstream = 120\nstream_idle = 30\n")
    s = Settings.build(config_file=str(cfg), **base)
    assert s.timeout == Timeouts(stream=120, stream_idle=30)


def test_llamaindex_passes_stream_timeout_through() -> None:
    from llamaindex_azoai import AzureOpenAI

    llm = AzureOpenAI(
        engine="d",
        azure_endpoint="https://r.openai.azure.com",
        api_key="k",
        stream_timeout=45,
        max_response_bytes=2**20,
    )
    assert llm.settings.timeout.stream == 45
    assert llm.settings.limits.response_bytes == 2**20

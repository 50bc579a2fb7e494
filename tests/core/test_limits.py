"""Bounds on what a response may cost (issue 14, findings 7, 10 and 11): a corrupt compressed
body is a typed, retryable error (retries and route failover apply); a body or a stream line is
bounded in decoded bytes (a gzip bomb stops at the limit); non-finite or negative numbers in any
setting are ConfigErrors naming it."""

from __future__ import annotations

import asyncio
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scripted_http import (
    CHAT_BODY,
    Out,
    Received,
    Scripted,
    chunk_event,
    embeddings_body,
    gzipped,
)

from azoai import errors as E
from azoai.client import CallOptions, Client
from azoai.config.settings import Limits, RetryPolicy, Settings, Timeouts
from azoai.wire import ChatRequest, Message

HI = ChatRequest(messages=[Message("user", "hi")])
RETRY = RetryPolicy(max_retries=1, initial_delay=0.01, max_delay=0.02)
GARBAGE = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03not gzip at all, just garbage bytes"
MODES = ["sync", "async"]
OPS = ["chat", "stream", "embed"]


def make(server: Scripted, **kw: Any) -> Client:
    kw.setdefault("retry", RETRY)
    kw.setdefault("deployment", "d")
    return Client(endpoint=server.endpoint, api_key="k", env={}, config_file="", **kw)


def run(c: Client, op: str, mode: str, **kw: Any) -> str:
    """One call of ``op``; returns its text (or, for embeddings, the number of vectors)."""
    if op == "chat":
        r = c.chat(HI, **kw) if mode == "sync" else asyncio.run(c.achat(HI, **kw))
        return r.text
    if op == "stream":
        if mode == "sync":
            return "".join(d.text for d in c.stream(HI, **kw))

        async def collect() -> str:
            return "".join([d.text async for d in c.astream(HI, **kw)])

        return asyncio.run(collect())
    texts = ["a", "b"]
    e = c.embed(texts, **kw) if mode == "sync" else asyncio.run(c.aembed(texts, **kw))
    return str(len(e.vectors))


def good(req: Received, out: Out) -> None:
    """A correct answer for whatever was asked, gzip-compressed."""
    if req.path.endswith("/embeddings"):
        body = gzipped(embeddings_body(len(req.json["input"])))
    elif req.json.get("stream"):
        events = chunk_event("hello") + chunk_event(None, "stop") + b"data: [DONE]\n\n"
        out.head(200, {"content-type": "text/event-stream", "content-encoding": "gzip"})
        out.send(gzipped(events))
        out.sock.close()
        return
    else:
        body = gzipped(CHAT_BODY)
    out.head(
        200, {"content-type": "application/json", "content-encoding": "gzip"}, length=len(body)
    )
    out.send(body)


def corrupt(req: Received, out: Out) -> None:
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    out.head(200, headers, length=len(GARBAGE))
    out.send(GARBAGE)


class CorruptThenGood:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, req: Received, out: Out) -> None:
        self.calls += 1
        (corrupt if self.calls == 1 else good)(req, out)


# --- finding 7: corrupt bodies ------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op", OPS)
def test_a_corrupt_compressed_body_is_a_typed_retryable_error(op: str, mode: str) -> None:
    with Scripted(corrupt) as server:
        with pytest.raises(E.CorruptResponseError) as exc:
            run(make(server), op, mode)
        assert len(server.requests) == 2  # retried like a dropped connection
    err = exc.value
    assert err.retryable and isinstance(err, E.APIConnectionError)
    assert "could not be decoded" in str(err)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op", OPS)
def test_a_corrupt_body_then_a_good_one_succeeds(op: str, mode: str) -> None:
    with Scripted(CorruptThenGood()) as server:
        assert run(make(server), op, mode) in ("hello", "2")
        assert len(server.requests) == 2


@pytest.mark.parametrize("op", ["chat", "stream"])
def test_a_corrupt_body_fails_over_to_the_next_route_target(op: str) -> None:
    def answer(req: Received, out: Out) -> None:
        (corrupt if req.json["model"] == "bad" else good)(req, out)

    routes = {"pool": {"strategy": "failover", "targets": ["bad", "good"]}}
    with Scripted(answer) as server:
        c = make(server, routes=routes, deployment="pool")
        if op == "chat":
            assert c.chat(HI).target == "good"
        else:
            deltas = list(c.stream(HI))
            assert deltas[0].target == "good" and "".join(d.text for d in deltas) == "hello"
        assert [r.json["model"] for r in server.requests] == ["bad", "good"]


def test_gzip_and_deflate_bodies_decode() -> None:
    seen: list[int] = []

    def deflated(req: Received, out: Out) -> None:
        wbits = zlib.MAX_WBITS if len(seen) % 2 else -zlib.MAX_WBITS  # zlib-wrapped, or raw
        seen.append(wbits)
        z = zlib.compressobj(wbits=wbits)
        body = z.compress(CHAT_BODY) + z.flush()
        out.head(
            200,
            {"content-type": "application/json", "content-encoding": "deflate"},
            length=len(body),
        )
        out.send(body)

    with Scripted(good) as server:
        assert make(server).chat(HI).text == "hello"
        assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"
    with Scripted(deflated) as server:
        assert make(server).chat(HI).text == "hello"  # raw deflate
        assert make(server).chat(HI).text == "hello"  # zlib


# --- finding 10: size bounds --------------------------------------------------------------------


def _bomb(decoded_mib: int) -> bytes:
    z = zlib.compressobj(9, wbits=zlib.MAX_WBITS | 16)
    zeros = b"\0" * 2**20
    return b"".join(z.compress(zeros) for _ in range(decoded_mib)) + z.flush()


BOMB = _bomb(300)  # about 0.3 MiB of gzip, 300 MiB decoded


def peak_mib(fn: Callable[[], Any]) -> tuple[BaseException | None, float]:
    tracemalloc.start()
    try:
        fn()
        err = None
    except BaseException as exc:
        err = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return err, peak


@pytest.mark.parametrize("mode", MODES)
def test_a_gzip_bomb_stops_at_max_response_bytes(mode: str) -> None:
    def bomb(req: Received, out: Out) -> None:
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        out.head(200, headers, length=len(BOMB))
        out.send(BOMB)

    assert len(BOMB) < 2**19
    with Scripted(bomb) as server:
        err, peak = peak_mib(lambda: run(make(server), "chat", mode))  # the default limit
        assert len(server.requests) == 1  # not retried: it would be as large again
    assert isinstance(err, E.ResponseTooLargeError), err
    assert err.setting == "max_response_bytes" and err.limit == Limits().response_bytes
    assert "max_response_bytes" in str(err)
    assert peak < 160, f"{peak:.0f} MiB held for a {len(BOMB) / 2**20:.2f} MiB body"


def test_max_response_bytes_counts_decoded_bytes_and_can_be_set() -> None:
    with Scripted(good) as server:
        c = make(server, max_response_bytes=1024)
        with pytest.raises(E.ResponseTooLargeError, match="max_response_bytes"):
            c.embed(["x"] * 40)  # 40 vectors: about 3 KB decoded, far less gzipped
        assert make(server).embed(["x"] * 40).vectors


@pytest.mark.parametrize("mode", MODES)
def test_one_endless_stream_line_stops_at_max_event_bytes(mode: str) -> None:
    def endless_line(req: Received, out: Out) -> None:
        out.head(200, {"content-type": "text/event-stream"})
        out.send(chunk_event("Hel"))
        out.send(b'data: {"x": "')
        block = b"y" * 2**20
        for _ in range(64):  # 64 MiB, no newline
            out.send(block)

    with Scripted(endless_line) as server:
        err, peak = peak_mib(lambda: run(make(server), "stream", mode))
    assert isinstance(err, E.StreamInterruptedError), err
    assert err.partial_text == "Hel"
    assert "max_event_bytes" in str(err) and err.fix and "max_event_bytes" in err.fix
    assert peak < 48, f"{peak:.0f} MiB held for one line"


def test_max_event_bytes_can_be_set(tmp_path: Path) -> None:
    def big_event(req: Received, out: Out) -> None:
        out.head(200, {"content-type": "text/event-stream"})
        out.send(chunk_event("a" * 5000) + chunk_event(None, "stop") + b"data: [DONE]\n\n")
        out.sock.close()

    with Scripted(big_event) as server:
        with pytest.raises(E.StreamInterruptedError, match="max_event_bytes"):
            list(make(server, max_event_bytes=4096).stream(HI))
        cfg = tmp_path / "azoai.toml"
        cfg.write_text("[limits]\nevent_bytes = 8192\n")
        c = Client(
            endpoint=server.endpoint, api_key="k", deployment="d", env={}, config_file=str(cfg)
        )
        assert c.settings.limits == Limits(event_bytes=8192)
        assert "".join(d.text for d in c.stream(HI)) == "a" * 5000


# --- finding 11: numbers in settings ------------------------------------------------------------

NAN, INF = float("nan"), float("inf")
EP: dict[str, Any] = {"endpoint": "https://r.openai.azure.com", "api_key": "k", "env": {}}


@pytest.mark.parametrize("value", [NAN, INF, -INF, -1, 0])
@pytest.mark.parametrize(
    ("argument", "setting"),
    [
        ("timeout", "timeout"),
        ("connect_timeout", "connect_timeout"),
        ("stream_idle_timeout", "stream_idle_timeout"),
        ("stream_timeout", "stream_timeout"),
    ],
)
def test_timeouts_must_be_finite_and_positive(argument: str, setting: str, value: float) -> None:
    with pytest.raises(E.ConfigError) as exc:
        Settings.build(config_file="", **{argument: value}, **EP)
    assert exc.value.setting == setting


@pytest.mark.parametrize("value", [NAN, INF, -1.0])
@pytest.mark.parametrize("field", ["initial_delay", "max_delay", "max_retry_after", "jitter"])
def test_retry_numbers_must_be_finite(field: str, value: float) -> None:
    with pytest.raises(E.ConfigError) as exc:
        RetryPolicy(**{field: value})
    assert exc.value.setting == f"retry.{field}"


@pytest.mark.parametrize(
    ("toml", "setting"),
    [
        ("[timeout]\nread = nan\n", "timeout.read"),
        ("[timeout]\nstream_idle = inf\n", "timeout.stream_idle"),
        ("[timeout]\nconnect = -1\n", "timeout.connect"),
        ("[retry]\ninitial_delay = inf\n", "retry.initial_delay"),
        ("[retry]\nmax_retry_after = nan\n", "retry.max_retry_after"),
        ("[retry]\nmax_retries = 2.5\n", "max_retries"),
        ("[limits]\nresponse_bytes = inf\n", "limits.response_bytes"),
        ("[limits]\nevent_bytes = 10\n", "max_event_bytes"),
        ("[routes.pool]\ntargets = ['a']\ncooldown = nan\n", "routes.pool.cooldown"),
        ("[routes.pool]\ntargets = ['a']\ncooldown = inf\n", "routes.pool.cooldown"),
        (
            "[routes.pool]\ntargets = [{deployment = 'a', weight = nan}]\n",
            "routes.pool.targets[0].weight",
        ),
        (
            "[routes.pool]\ntargets = [{deployment = 'a', weight = inf}]\n",
            "routes.pool.targets[0].weight",
        ),
        ("[websocket]\nmax_age = nan\n", "websocket.max_age"),
    ],
)
def test_config_file_numbers_must_be_finite(tmp_path: Path, toml: str, setting: str) -> None:
    cfg = tmp_path / "azoai.toml"
    cfg.write_text(toml)
    with pytest.raises(E.ConfigError) as exc:
        Settings.build(config_file=str(cfg), **EP)
    assert exc.value.setting == setting


@pytest.mark.parametrize(
    "kw",
    [
        {"max_response_bytes": -1},
        {"max_response_bytes": 1.5},
        {"max_event_bytes": True},
        {"websocket": {"max_age": INF}},
        {"routes": {"p": {"targets": ["a"], "cooldown": -1}}},
    ],
)
def test_argument_numbers_must_be_valid(kw: dict[str, Any]) -> None:
    with pytest.raises(E.ConfigError):
        Settings.build(config_file="", **kw, **EP)


@pytest.mark.parametrize("field", ["connect", "read", "stream_idle", "stream"])
def test_timeouts_objects_are_checked_too(field: str) -> None:
    with pytest.raises(E.ConfigError) as exc:
        Timeouts(**{field: NAN})
    assert exc.value.setting == f"timeout.{field}"


@pytest.mark.parametrize(
    "kw", [{"timeout": NAN}, {"timeout": -1}, {"timeout": INF}, {"max_retries": -1}]
)
def test_call_options_numbers_must_be_valid(kw: dict[str, Any]) -> None:
    with pytest.raises(E.ConfigError):
        CallOptions(**kw)


def test_huge_finite_timeouts_are_refused_before_they_overflow_a_timer() -> None:
    with pytest.raises(E.ConfigError, match="at most"):
        Settings.build(config_file="", timeout=1e12, **EP)


def test_langchain_classes_pass_the_limits_and_stream_timeout_through() -> None:
    from langchain_azoai import AzureChatOpenAI, AzureOpenAIEmbeddings

    with Scripted(good) as server:
        common = {"azure_endpoint": server.endpoint, "api_key": "k", "api_version": "2024-10-21"}
        llm = AzureChatOpenAI(
            azure_deployment="d",
            stream_timeout=45,
            max_response_bytes=2**20,
            max_event_bytes=4096,
            **common,
        )
        assert llm.settings.timeout.stream == 45
        assert llm.settings.limits.response_bytes == 2**20
        assert llm.settings.limits.event_bytes == 4096
        emb = AzureOpenAIEmbeddings(azure_deployment="e", max_response_bytes=1024, **common)
        with pytest.raises(E.ResponseTooLargeError, match="max_response_bytes"):
            emb.embed_documents(["x"] * 40)
        roomy = AzureOpenAIEmbeddings(azure_deployment="e", **common)
        assert len(roomy.embed_documents(["x"] * 40)) == 40

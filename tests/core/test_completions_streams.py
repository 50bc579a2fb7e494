"""Legacy completions streams on their failure paths, sync and async, through ``Completions``
against the emulator (or a scripted server) over loopback: a cut before the first piece is
retried, a cut after it raises StreamInterruptedError with the text so far, an event past
``max_event_bytes`` and a stream with no end are interrupted without a retry, and the response
is closed on every path (the user's HTTP client counts what it opened and what was closed)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from azoai import errors as E
from azoai.completions import Completions
from azoai.config.settings import RetryPolicy
from azoai_emulator import Emulator, EmulatorDeployment, Fault
from tests.core.scripted_http import Out, Received, Scripted

FAST_RETRY = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05, max_retry_after=5.0)
ASK = "Say 'one two three'"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(
        deployments=(EmulatorDeployment("instruct", model="gpt-35-turbo-instruct"),)
    ) as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(emu: Emulator) -> None:
    emu.reset()


def completions(endpoint: str, api_key: str, **kw: Any) -> Completions:
    kw.setdefault("retry", FAST_RETRY)
    return Completions(
        endpoint=endpoint,
        api_key=api_key,
        deployment="instruct",
        model="gpt-35-turbo-instruct",
        env={},
        config_file="",
        **kw,
    )


class Tally:
    """How many responses the HTTP client opened, and how many of them were closed."""

    def __init__(self) -> None:
        self.opened = 0
        self.closed = 0

    @property
    def open(self) -> int:
        return self.opened - self.closed


class _Counted(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, inner: Any, tally: Tally) -> None:
        self.inner, self.tally, self.done = inner, tally, False
        tally.opened += 1

    def __iter__(self) -> Iterator[bytes]:
        yield from self.inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self.inner:
            yield part

    def _count(self) -> None:
        if not self.done:
            self.done = True
            self.tally.closed += 1

    def close(self) -> None:
        self._count()
        self.inner.close()

    async def aclose(self) -> None:
        self._count()
        await self.inner.aclose()


def _counted(resp: httpx.Response, tally: Tally) -> httpx.Response:
    return httpx.Response(
        resp.status_code,
        headers=resp.headers,
        stream=_Counted(resp.stream, tally),
        extensions=resp.extensions,
    )


class CountingTransport(httpx.HTTPTransport):
    def __init__(self, tally: Tally) -> None:
        super().__init__()
        self.tally = tally

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return _counted(super().handle_request(request), self.tally)


class ACountingTransport(httpx.AsyncHTTPTransport):
    def __init__(self, tally: Tally) -> None:
        super().__init__()
        self.tally = tally

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return _counted(await super().handle_async_request(request), self.tally)


def test_every_path_of_a_stream_closes_its_response(emu: Emulator) -> None:
    tally = Tally()
    with (
        httpx.Client(transport=CountingTransport(tally)) as http,
        completions(emu.endpoint, emu.api_key, http_client=http) as svc,
    ):
        assert "".join(d.text for d in svc.stream(ASK)) == "one two three"
        assert (tally.opened, tally.open) == (1, 0)

        emu.inject("instruct", Fault.cut_stream(after_chunks=1))  # only the annotations
        assert "".join(d.text for d in svc.stream(ASK)) == "one two three"
        assert (tally.opened, tally.open, len(emu.requests)) == (3, 0, 3)  # retried once

        emu.inject("instruct", Fault.cut_stream(after_chunks=2))  # the annotations, one piece
        with pytest.raises(E.StreamInterruptedError) as cut:
            list(svc.stream(ASK))
        assert cut.value.partial_text == "one" and cut.value.deployment == "instruct"
        assert (tally.opened, tally.open, len(emu.requests)) == (4, 0, 4)  # not retried

        stream = svc.stream(ASK)
        assert next(stream).text == "one"
        stream.close()  # a consumer that stops early
        assert (tally.opened, tally.open) == (5, 0)

        emu.inject("instruct", Fault.content_filter("completion", "hate", after_chunks=1))
        with pytest.raises(E.ContentFilterError):
            list(svc.stream(ASK))
        assert (tally.opened, tally.open) == (6, 0)


def test_every_path_of_an_async_stream_closes_its_response(emu: Emulator) -> None:
    tally = Tally()

    async def go() -> None:
        async with (
            httpx.AsyncClient(transport=ACountingTransport(tally)) as http,
            completions(emu.endpoint, emu.api_key, http_async_client=http) as svc,
        ):
            assert "".join([d.text async for d in svc.astream(ASK)]) == "one two three"
            assert (tally.opened, tally.open) == (1, 0)

            emu.inject("instruct", Fault.cut_stream(after_chunks=1))
            assert "".join([d.text async for d in svc.astream(ASK)]) == "one two three"
            assert (tally.opened, tally.open, len(emu.requests)) == (3, 0, 3)

            emu.inject("instruct", Fault.cut_stream(after_chunks=2))
            with pytest.raises(E.StreamInterruptedError) as cut:
                [d async for d in svc.astream(ASK)]
            assert cut.value.partial_text == "one" and cut.value.deployment == "instruct"
            assert (tally.opened, tally.open, len(emu.requests)) == (4, 0, 4)

            stream = svc.astream(ASK)
            assert (await anext(stream)).text == "one"
            await stream.aclose()  # type: ignore[attr-defined]
            assert (tally.opened, tally.open) == (5, 0)

            emu.inject("instruct", Fault.content_filter("completion", "hate", after_chunks=1))
            with pytest.raises(E.ContentFilterError):
                [d async for d in svc.astream(ASK)]
            assert (tally.opened, tally.open) == (6, 0)

    asyncio.run(go())


def _chunk(text: str) -> bytes:
    body = {"id": "c", "model": "gpt-35-turbo-instruct", "choices": [{"index": 0, "text": text}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def _answer(*events: bytes) -> Any:
    def answer(req: Received, out: Out) -> None:
        out.head(200, {"content-type": "text/event-stream", "connection": "close"})
        out.send(b"".join(events))
        out.sock.close()  # the end of the body

    return answer


def _both(svc: Completions) -> list[E.StreamInterruptedError]:
    """What the sync and the async stream raise."""
    caught = []
    with pytest.raises(E.StreamInterruptedError) as sync:
        list(svc.stream("hi"))
    caught.append(sync.value)

    async def go() -> None:
        with pytest.raises(E.StreamInterruptedError) as exc:
            [d async for d in svc.astream("hi")]
        caught.append(exc.value)
        await svc.aclose()

    asyncio.run(go())
    return caught


def test_an_event_past_max_event_bytes_before_the_first_piece_is_not_retried() -> None:
    with Scripted(_answer(_chunk("x" * 2048))) as server:
        svc = completions(server.endpoint, "k" * 32, max_event_bytes=1024)
        for exc in _both(svc):
            assert "max_event_bytes" in (exc.fix or "")
            assert exc.partial_text == ""
        svc.close()
        assert len(server.requests) == 2  # one per stream: no retry


def test_a_stream_with_neither_finish_reason_nor_done_is_interrupted() -> None:
    with Scripted(_answer(_chunk("po"), _chunk("ng"))) as server:
        svc = completions(server.endpoint, "k" * 32)
        for exc in _both(svc):
            assert "no finish reason and no end-of-stream marker" in str(exc)
            assert exc.partial_text == "pong"
        svc.close()
        assert len(server.requests) == 2

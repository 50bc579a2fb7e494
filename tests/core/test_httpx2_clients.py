"""A user's HTTP client of the httpx2 generation (openai 3 is built on it) works like an httpx one
(issue 17): azoai hands it its own package's ``Timeout`` (httpx2 refuses httpx's with a
TypeError), and its failures become azoai's typed errors, retried like any other."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from azoai import errors as E
from azoai.client import Client
from azoai.config.settings import RetryPolicy
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator, Fault

httpx2 = pytest.importorskip("httpx2", reason="httpx2 is in the test extra")

ASK = ChatRequest(
    messages=[Message("user", "Context: The sky is blue.\n\nWhat colour is the sky?")]
)
MARKER = "x-users-own-client"
FAST_RETRY = RetryPolicy(max_retries=1, initial_delay=0.01, max_delay=0.02)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(emu: Emulator) -> None:
    emu.reset()


def client(emu: Emulator, **kw: Any) -> Client:
    kw.setdefault("retry", FAST_RETRY)
    return Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        deployment="chat",
        env={},
        config_file="",
        **kw,
    )


class TeamClient(httpx2.Client):
    """A user's subclass, defined outside httpx2: still an httpx2 client."""


def test_an_httpx2_client_carries_chat_and_streams(emu: Emulator) -> None:
    with TeamClient(headers={MARKER: "sync"}) as http:
        c = client(emu, http_client=http)
        assert "blue" in c.chat(ASK).text
        assert "blue" in "".join(d.text or "" for d in c.stream(ASK))
        c.close()
    assert [q.headers.get(MARKER) for q in emu.requests] == ["sync", "sync"]


def test_an_httpx2_async_client_carries_chat_and_streams(emu: Emulator) -> None:
    async def go() -> tuple[str, str]:
        async with httpx2.AsyncClient(headers={MARKER: "async"}) as http:
            c = client(emu, http_async_client=http)
            text = (await c.achat(ASK)).text
            streamed = "".join([d.text or "" async for d in c.astream(ASK)])
            await c.aclose()
            return text, streamed

    text, streamed = asyncio.run(go())
    assert "blue" in text and "blue" in streamed
    assert [q.headers.get(MARKER) for q in emu.requests] == ["async", "async"]


def test_an_httpx2_client_gets_the_timeout_and_a_typed_timeout_error(emu: Emulator) -> None:
    emu.inject("chat", Fault.latency(1.0))
    with httpx2.Client() as http:
        c = client(emu, http_client=http, timeout=0.2, retry=RetryPolicy(max_retries=0))
        with pytest.raises(E.TimeoutError, match=r"timeout=0\.2 s"):
            c.chat(ASK)
        c.close()


def test_an_httpx2_clients_dropped_connection_is_retried(emu: Emulator) -> None:
    emu.inject("chat", Fault.close_connection())
    with httpx2.Client() as http:
        c = client(emu, http_client=http)
        assert "blue" in c.chat(ASK).text
        c.close()
    assert len(emu.requests) == 2


def test_an_httpx2_stream_cut_midway_is_a_stream_interrupted_error(emu: Emulator) -> None:
    emu.inject("chat", Fault.cut_stream(after_chunks=3))
    with httpx2.Client() as http:
        c = client(emu, http_client=http)
        with pytest.raises(E.StreamInterruptedError):
            for _ in c.stream(ASK):
                pass
        c.close()


def test_both_adapters_take_httpx2_clients(emu: Emulator) -> None:
    from llama_index.core.llms import ChatMessage

    from langchain_azoai import AzureChatOpenAI
    from llamaindex_azoai import AzureOpenAI

    with httpx2.Client(headers={MARKER: "lc"}) as lc_http:
        lc = AzureChatOpenAI(
            azure_endpoint=emu.endpoint,
            api_key=emu.api_key,
            azure_deployment="chat",
            model="gpt-4o",
            api_version="2024-10-21",
            http_client=lc_http,
        )
        assert "blue" in str(
            lc.invoke("Context: The sky is blue.\n\nWhat colour is the sky?").content
        )
    with httpx2.Client(headers={MARKER: "li"}) as li_http:
        li = AzureOpenAI(
            engine="chat",
            model="gpt-4o",
            azure_endpoint=emu.endpoint,
            api_key=emu.api_key,
            api_version="2024-10-21",
            http_client=li_http,
        )
        chunks = list(
            li.stream_chat(
                [
                    ChatMessage(
                        role="user", content="Context: The sky is blue.\n\nWhat colour is the sky?"
                    )
                ]
            )
        )
        assert "blue" in str(chunks[-1].message.content)
    assert [q.headers.get(MARKER) for q in emu.requests] == ["lc", "li"]

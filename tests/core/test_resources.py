"""What a client holds and when it lets go (issue 14, finding 1), and where its requests go
(finding 14: a proxy never sees a loopback endpoint's key).

Clients that differ only in headers, timeouts or token providers share one socket pool per
origin; a client dropped without ``close()`` (a LangChain model built per request) frees its
credential state when collected and its sockets go back to the pool; ``close()`` releases at once.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator
from typing import Any

import pytest
from scripted_http import CHAT_BODY, Out, Received, Scripted

from azoai import errors as E
from azoai.client import Client
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator

HI = ChatRequest(messages=[Message("user", "Context: Tea is a drink.\n\nWhat is tea?")])


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


def make(emu: Emulator, **kw: Any) -> Client:
    kw.setdefault("api_key", emu.api_key)
    return Client(endpoint=emu.endpoint, deployment="chat", env={}, config_file="", **kw)


def variant(emu: Emulator, i: int) -> Client:
    """A client unlike the others: its own header, timeout or token provider."""
    kind = i % 3
    if kind == 0:
        return make(emu, default_headers={"x-request": f"r-{i}"})
    if kind == 1:
        return make(emu, timeout=30 + i / 1000, stream_idle_timeout=20 + i / 1000)
    return make(emu, api_key=None, token_provider=lambda: emu.issue_token())


def test_clients_built_and_dropped_per_request_hold_fds_and_memory_flat(emu: Emulator) -> None:
    for i in range(150):  # warm up: imports, caches, the pool's sockets
        assert variant(emu, i).chat(HI).text
    gc.collect()
    fds_before, rss_before = fds(), rss_mib()
    for i in range(150, 1650):
        assert variant(emu, i).chat(HI).text  # built, used once, dropped without close()
        if i % 150 == 0:
            emu.clear_requests()  # the emulator's own log is not the client's memory
            # checked as it goes: a leak fails here long before it can exhaust the machine
            assert fds() <= fds_before + 25, f"fds grew from {fds_before} to {fds()} at {i}"
    gc.collect()
    assert fds() <= fds_before + 25
    assert rss_mib() - rss_before < 40, f"RSS grew {rss_mib() - rss_before:.0f} MiB"


def test_async_clients_dropped_in_many_event_loops_leave_nothing_open(emu: Emulator) -> None:
    async def one(i: int) -> str:
        return (await variant(emu, i).achat(HI)).text

    for i in range(20):
        asyncio.run(one(i))
    gc.collect()
    before = fds()
    for i in range(20, 170):
        assert asyncio.run(one(i))
    gc.collect()
    assert fds() <= before + 25


def test_langchain_models_built_per_request_are_freed(emu: Emulator) -> None:
    from langchain_azoai import AzureChatOpenAI

    def model(i: int) -> Any:
        return AzureChatOpenAI(
            azure_endpoint=emu.endpoint,
            api_key=emu.api_key,
            azure_deployment="chat",
            default_headers={"x-request": f"r-{i}"},
            timeout=30 + i / 1000,
        )

    for i in range(30):
        assert model(i).invoke("Context: Tea is a drink.\n\nWhat is tea?").content
    gc.collect()
    before = fds()
    for i in range(30, 330):
        assert model(i).invoke("Context: Tea is a drink.\n\nWhat is tea?").content
    gc.collect()
    assert fds() <= before + 25


def test_sharing_is_by_endpoint_and_credential_and_close_releases_sockets(emu: Emulator) -> None:
    a = make(emu)
    b = make(emu, default_headers={"x-team": "search"}, timeout=7)
    assert a.connection is b.connection  # headers and timeouts are per request
    other = make(emu, api_key=None, token_provider=emu.issue_token)
    assert other.connection is not a.connection  # its own token cache
    assert other.connection.sync_client() is a.connection.sync_client()  # one socket pool
    assert b.chat(HI).text and b.chat(HI).text
    assert emu.requests[-1].headers["x-team"] == "search"
    gc.collect()
    before = fds()
    for c in (a, b):
        c.chat(HI)
    other.chat(HI)
    a.close()
    a.close()  # idempotent
    assert b.chat(HI).text  # b still has the connection
    b.close()
    other.close()  # the origin's last client: its sockets close
    gc.collect()
    assert fds() <= before
    with make(emu) as c:  # a context manager closes too
        assert c.chat(HI).text


async def test_aclose_releases_the_async_clients(emu: Emulator) -> None:
    async with make(emu, default_headers={"x-a": "1"}) as c:
        assert (await c.achat(HI)).text
    assert c._conn is None


# --- proxies --------------------------------------------------------------------------------------


def _answer(req: Received, out: Out) -> None:
    out.json(CHAT_BODY)


def _proxy_answer(req: Received, out: Out) -> None:
    out.json(b'{"error": "the proxy answered"}', status=502)


@pytest.mark.parametrize("var", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_loopback_endpoint_never_goes_through_a_proxy(
    monkeypatch: pytest.MonkeyPatch, var: str
) -> None:
    """With HTTP_PROXY set, httpx would send a plain-http loopback request, api-key header and
    all, to the proxy in clear. A fake proxy records what reaches it: nothing may."""
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with Scripted(_answer) as azure, Scripted(_proxy_answer) as proxy:
        monkeypatch.setenv(var, proxy.endpoint)
        c = Client(
            endpoint=azure.endpoint, api_key="sk-secret-1", deployment="d", env={}, config_file=""
        )
        assert c.chat(HI).text == "hello"
        assert asyncio.run(c.achat(HI)).text == "hello"
        assert proxy.requests == []
        assert len(azure.requests) == 2
        assert all(r.headers["api-key"] == "sk-secret-1" for r in azure.requests)
        c.close()


def test_a_proxy_still_carries_other_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment's proxy stays in force for Azure itself (an https CONNECT tunnel, the key
    inside TLS): only loopback is exempt. The fake proxy refuses the tunnel; the point is that
    the request went to it."""
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with Scripted(_proxy_answer) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.endpoint)
        c = Client(
            endpoint="https://myres.openai.azure.com",
            api_key="sk-secret-2",
            deployment="d",
            env={},
            config_file="",
            max_retries=0,
        )
        with pytest.raises(E.APIConnectionError):
            c.chat(HI)
        assert [r.method for r in proxy.requests] == ["CONNECT"]
        assert "sk-secret-2" not in proxy.requests[0].raw.decode("latin-1")
        c.close()

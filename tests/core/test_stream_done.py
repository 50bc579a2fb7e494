"""A chat stream that ends with ``[DONE]`` after its content but sends no finish reason (gateways
and test servers do this) completes, through the Client and both adapters (issue 17); one that
ends with neither raises StreamInterruptedError saying what was missing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from azoai import errors as E
from azoai.client import Client
from azoai.config.settings import RetryPolicy
from azoai.wire import ChatRequest, Message
from tests.core.scripted_http import Out, Received, Scripted, chunk_event

KEY = "k" * 32
ASK = ChatRequest(messages=[Message("user", "ping")])


def _sse(*, done: bool) -> Callable[[Received, Out], None]:
    """Two content chunks, no finish reason, then ``[DONE]`` (or nothing); the connection closes
    at the end of the body."""

    def answer(req: Received, out: Out) -> None:
        out.head(200, {"content-type": "text/event-stream", "connection": "close"})
        out.send(chunk_event("po") + chunk_event("ng"))
        if done:
            out.send(b"data: [DONE]\n\n")
        out.sock.close()  # the end of the body

    return answer


def _client(endpoint: str) -> Client:
    return Client(
        endpoint=endpoint,
        api_key=KEY,
        deployment="chat",
        model="gpt-4o",
        env={},
        config_file="",
        retry=RetryPolicy(max_retries=0),
    )


def test_done_without_a_finish_reason_completes_the_client_stream() -> None:
    with Scripted(_sse(done=True)) as server:
        c = _client(server.endpoint)
        deltas = list(c.stream(ASK))
        assert "".join(d.text or "" for d in deltas) == "pong"

        async def go() -> str:
            text = "".join([d.text or "" async for d in c.astream(ASK)])
            await c.aclose()
            return text

        assert asyncio.run(go()) == "pong"


def test_done_without_a_finish_reason_completes_both_adapters() -> None:
    from llama_index.core.llms import ChatMessage

    from langchain_azoai import AzureChatOpenAI
    from llamaindex_azoai import AzureOpenAI

    with Scripted(_sse(done=True)) as server:
        lc = AzureChatOpenAI(
            azure_endpoint=server.endpoint,
            api_key=KEY,
            azure_deployment="chat",
            model="gpt-4o",
            api_version="2024-10-21",
            max_retries=0,
        )
        assert "".join(str(c.content) for c in lc.stream("ping")) == "pong"
        li = AzureOpenAI(
            engine="chat",
            model="gpt-4o",
            azure_endpoint=server.endpoint,
            api_key=KEY,
            api_version="2024-10-21",
            max_retries=0,
        )
        chunks = list(li.stream_chat([ChatMessage(role="user", content="ping")]))
        assert chunks[-1].message.content == "pong"


@pytest.mark.parametrize("api", ["chat", "langchain", "llamaindex"])
def test_neither_done_nor_a_finish_reason_is_interrupted_and_says_so(api: str) -> None:
    from llama_index.core.llms import ChatMessage

    from langchain_azoai import AzureChatOpenAI
    from llamaindex_azoai import AzureOpenAI

    with Scripted(_sse(done=False)) as server, pytest.raises(E.StreamInterruptedError) as exc:
        if api == "chat":
            list(_client(server.endpoint).stream(ASK))
        elif api == "langchain":
            lc = AzureChatOpenAI(
                azure_endpoint=server.endpoint,
                api_key=KEY,
                azure_deployment="chat",
                model="gpt-4o",
                api_version="2024-10-21",
                max_retries=0,
            )
            list(lc.stream("ping"))
        else:
            li = AzureOpenAI(
                engine="chat",
                model="gpt-4o",
                azure_endpoint=server.endpoint,
                api_key=KEY,
                api_version="2024-10-21",
                max_retries=0,
            )
            list(li.stream_chat([ChatMessage(role="user", content="ping")]))
    assert "neither a finish reason nor the [DONE] end-of-stream marker arrived" in str(exc.value)
    assert exc.value.partial_text == "pong"

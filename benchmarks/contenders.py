"""The contenders: one class per client, each doing the same operations against the mock server.

Operations (a contender implements those it can):

* ``chat()``: one chat completion (system + user message) and its text;
* ``tools()``: one completion offering 3 tools whose answer has 3 tool calls, arguments parsed;
* ``stream(n)``: one streamed completion with ``n`` content chunks, every chunk's text read;
* ``embed(texts)``: vectors (lists of floats) for a batch of texts;
* ``achat()``, ``astream(n)``: the async twins (coroutines).

Each uses its library as its documentation shows and with its defaults; objects that a user
builds once (clients, models, bound tools, tool specs) are built once, in ``__init__``, and what
a user builds per call (messages, requests) is built per call. Libraries are imported in
``__init__`` so that a process only loads what it measures.
"""

from __future__ import annotations

import array
import base64
import json
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["CONTENDERS", "Target", "make"]

API_KEY = "bench-key"
API_VERSION = "2024-10-21"  # the anchors need a dated version; azoai uses its default (v1)
CHAT_MODEL = "gpt-4o"
EMBED_MODEL = "text-embedding-3-small"
CHAT_DEPLOYMENT = "bench-chat"
EMBED_DEPLOYMENT = "bench-embed"

SYSTEM = "You are a concise assistant for questions about cloud quotas."
USER = "In two sentences: what does a tokens-per-minute quota mean for my application?"
TOOLS_USER = "What is the weather and local time in Paris, and find me a hotel there under 250."


#: ``"s"``: streams arrive in one burst; ``"p"``: paced, one chunk per read (see the mock server).
STREAM_MODE = "s"
_STREAM_NAME = re.compile(r"^bench-[sp](\d+)$")


def stream_deployment(n: int) -> str:
    """The mock server streams ``n`` content chunks for this deployment name."""
    return f"bench-{STREAM_MODE}{n}"


def _stream_size(deployment: str) -> int:
    m = _STREAM_NAME.match(deployment)
    return int(m.group(1)) if m else 1


TOOL_SPECS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Local time in a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name"},
                    "timezone": {"type": "string", "description": "IANA or short zone name"},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search_hotels",
            "description": "Hotels in a city under a nightly price.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name"},
                    "max_price": {"type": "integer", "description": "Highest price per night"},
                    "amenities": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["city", "max_price"],
            },
        },
    },
]


@dataclass(frozen=True)
class Target:
    """Where the mock server (or emulator) listens."""

    base: str  # http://127.0.0.1:PORT
    api_key: str = API_KEY

    def deployment_url(self, deployment: str, op: str) -> str:
        return f"{self.base}/openai/deployments/{deployment}/{op}?api-version={API_VERSION}"


def _check_tool_calls(calls: Sequence[Any]) -> None:
    if len(calls) != 3:
        raise AssertionError(f"expected 3 tool calls, got {len(calls)}")


class Contender:
    name: ClassVar[str]
    #: The framework whose do-nothing model is this contender's framework floor, if any.
    framework: ClassVar[str | None] = None

    def __init__(self, target: Target) -> None:
        self.t = target

    def close(self) -> None:
        pass


# -- the floor: hand-rolled httpx -------------------------------------------------------------


class Floor(Contender):
    """httpx POST + ``json.loads``; streams with ``iter_lines`` + ``json.loads`` per chunk;
    embeddings decoded from base64 into lists of floats. What anyone could write in 20 lines."""

    name = "httpx (floor)"

    def __init__(self, target: Target) -> None:
        import httpx

        self.httpx = httpx
        self.t = target
        self.http = httpx.Client(timeout=60)
        self.ahttp: Any = None
        self.headers = {"api-key": target.api_key, "content-type": "application/json"}
        self.tools_json = TOOL_SPECS

    def _messages(self, user: str = USER) -> list[dict[str, Any]]:
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]

    def chat(self) -> str:
        body = json.dumps({"messages": self._messages()}).encode()
        r = self.http.post(
            self.t.deployment_url(CHAT_DEPLOYMENT, "chat/completions"),
            content=body,
            headers=self.headers,
        )
        r.raise_for_status()
        data = json.loads(r.content)
        return str(data["choices"][0]["message"]["content"])

    def tools(self) -> list[dict[str, Any]]:
        body = json.dumps({"messages": self._messages(TOOLS_USER), "tools": self.tools_json})
        r = self.http.post(
            self.t.deployment_url(CHAT_DEPLOYMENT, "chat/completions"),
            content=body.encode(),
            headers=self.headers,
        )
        r.raise_for_status()
        msg = json.loads(r.content)["choices"][0]["message"]
        calls = [
            {
                "id": c["id"],
                "name": c["function"]["name"],
                "args": json.loads(c["function"]["arguments"]),
            }
            for c in msg["tool_calls"]
        ]
        _check_tool_calls(calls)
        return calls

    @staticmethod
    def _feed(line: str, parts: list[str]) -> bool:
        if not line.startswith("data: "):
            return False
        payload = line[6:]
        if payload == "[DONE]":
            return True
        chunk = json.loads(payload)
        choices = chunk["choices"]
        if choices:
            text = choices[0]["delta"].get("content")
            if text:
                parts.append(text)
        return False

    def _stream_body(self) -> bytes:
        return json.dumps(
            {
                "messages": self._messages(),
                "stream": True,
                "stream_options": {"include_usage": True},
            }
        ).encode()

    def stream(self, n: int) -> str:
        parts: list[str] = []
        with self.http.stream(
            "POST",
            self.t.deployment_url(stream_deployment(n), "chat/completions"),
            content=self._stream_body(),
            headers=self.headers,
        ) as r:
            r.raise_for_status()
            for line in r.iter_lines():
                if self._feed(line, parts):
                    break
        return "".join(parts)

    def embed(self, texts: list[str]) -> list[list[float]]:
        body = json.dumps({"input": texts, "encoding_format": "base64"}).encode()
        r = self.http.post(
            self.t.deployment_url(EMBED_DEPLOYMENT, "embeddings"),
            content=body,
            headers=self.headers,
        )
        r.raise_for_status()
        out: list[list[float]] = []
        for item in sorted(json.loads(r.content)["data"], key=lambda d: d["index"]):
            vec = array.array("f")
            vec.frombytes(base64.b64decode(item["embedding"]))
            out.append(vec.tolist())
        return out

    def _async(self) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        if self.ahttp is None or self.ahttp[0] is not loop:  # one client per event loop
            self.ahttp = (loop, self.httpx.AsyncClient(timeout=60))
        return self.ahttp[1]

    async def achat(self) -> str:
        body = json.dumps({"messages": self._messages()}).encode()
        r = await self._async().post(
            self.t.deployment_url(CHAT_DEPLOYMENT, "chat/completions"),
            content=body,
            headers=self.headers,
        )
        r.raise_for_status()
        return str(json.loads(r.content)["choices"][0]["message"]["content"])

    async def astream(self, n: int) -> str:
        parts: list[str] = []
        async with self._async().stream(
            "POST",
            self.t.deployment_url(stream_deployment(n), "chat/completions"),
            content=self._stream_body(),
            headers=self.headers,
        ) as r:
            r.raise_for_status()
            async for line in r.aiter_lines():
                if self._feed(line, parts):
                    break
        return "".join(parts)

    def close(self) -> None:
        self.http.close()


# -- the plain openai SDK -----------------------------------------------------------------------


class OpenAISDK(Contender):
    name = "openai SDK"

    def __init__(self, target: Target) -> None:
        from openai import AsyncAzureOpenAI, AzureOpenAI

        kw: dict[str, Any] = {
            "azure_endpoint": target.base,
            "api_key": target.api_key,
            "api_version": API_VERSION,
        }
        self.client = AzureOpenAI(**kw)
        self.aclient = AsyncAzureOpenAI(**kw)

    @staticmethod
    def _messages(user: str = USER) -> list[Any]:
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]

    def chat(self) -> str:
        r = self.client.chat.completions.create(model=CHAT_DEPLOYMENT, messages=self._messages())
        return r.choices[0].message.content or ""

    def tools(self) -> list[Any]:
        r = self.client.chat.completions.create(
            model=CHAT_DEPLOYMENT,
            messages=self._messages(TOOLS_USER),
            tools=TOOL_SPECS,  # type: ignore[arg-type]
        )
        calls = [
            (c.id, c.function.name, json.loads(c.function.arguments))  # type: ignore[union-attr]
            for c in r.choices[0].message.tool_calls or []
        ]
        _check_tool_calls(calls)
        return calls

    def stream(self, n: int) -> str:
        parts: list[str] = []
        for chunk in self.client.chat.completions.create(
            model=stream_deployment(n),
            messages=self._messages(),
            stream=True,
            stream_options={"include_usage": True},
        ):
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        return "".join(parts)

    def embed(self, texts: list[str]) -> list[list[float]]:
        r = self.client.embeddings.create(model=EMBED_DEPLOYMENT, input=texts)
        return [d.embedding for d in r.data]

    async def achat(self) -> str:
        r = await self.aclient.chat.completions.create(
            model=CHAT_DEPLOYMENT, messages=self._messages()
        )
        return r.choices[0].message.content or ""

    async def astream(self, n: int) -> str:
        parts: list[str] = []
        stream = await self.aclient.chat.completions.create(
            model=stream_deployment(n),
            messages=self._messages(),
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        return "".join(parts)

    def close(self) -> None:
        self.client.close()


# -- azoai core ---------------------------------------------------------------------------------


class AzoaiCore(Contender):
    name = "azoai core"

    def __init__(self, target: Target) -> None:
        from azoai import Client
        from azoai.wire import ChatRequest, Message, ToolSpec

        self.ChatRequest = ChatRequest
        self.Message = Message
        self.client = Client(
            endpoint=target.base,
            api_key=target.api_key,
            deployment=CHAT_DEPLOYMENT,
            model=CHAT_MODEL,
        )
        self.tool_specs = [
            ToolSpec(
                name=t["function"]["name"],
                description=t["function"]["description"],
                parameters=t["function"]["parameters"],
            )
            for t in TOOL_SPECS
        ]

    def _request(self, user: str = USER, tools: Sequence[Any] = ()) -> Any:
        M = self.Message
        return self.ChatRequest(messages=[M("system", SYSTEM), M("user", user)], tools=tools)

    def chat(self) -> str:
        return str(self.client.chat(self._request()).text)

    def tools(self) -> list[Any]:
        calls = self.client.chat(self._request(TOOLS_USER, self.tool_specs)).tool_calls
        _check_tool_calls(calls)
        return list(calls)

    def stream(self, n: int) -> str:
        parts: list[str] = []
        for delta in self.client.stream(self._request(), model=stream_deployment(n)):
            if delta.text:
                parts.append(delta.text)
        return "".join(parts)

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.client.embed(texts, model=EMBED_DEPLOYMENT).vectors

    async def achat(self) -> str:
        return str((await self.client.achat(self._request())).text)

    async def astream(self, n: int) -> str:
        parts: list[str] = []
        async for delta in self.client.astream(self._request(), model=stream_deployment(n)):
            if delta.text:
                parts.append(delta.text)
        return "".join(parts)

    def close(self) -> None:
        self.client.close()


# -- LangChain ----------------------------------------------------------------------------------


class _LangChain(Contender):
    """Shared by langchain-openai and langchain_azoai: the same calls on either class."""

    framework: ClassVar[str | None] = "LangChain"
    chat_cls: Any
    embed_cls: Any

    def _build(self, deployment: str) -> Any:
        raise NotImplementedError

    def _build_embed(self) -> Any:
        raise NotImplementedError

    def __init__(self, target: Target) -> None:
        from langchain_core.messages import HumanMessage, SystemMessage

        self.t = target
        self.Human = HumanMessage
        self.System = SystemMessage
        self.llm = self._build(CHAT_DEPLOYMENT)
        self.with_tools = self.llm.bind_tools(TOOL_SPECS)
        self._streams: dict[int, Any] = {}
        self._emb: Any = None

    def _messages(self, user: str = USER) -> list[Any]:
        return [self.System(SYSTEM), self.Human(user)]

    def _stream_llm(self, n: int) -> Any:
        llm = self._streams.get(n)
        if llm is None:
            llm = self._streams[n] = self._build(stream_deployment(n))
        return llm

    def chat(self) -> str:
        return str(self.llm.invoke(self._messages()).content)

    def tools(self) -> list[Any]:
        calls = self.with_tools.invoke(self._messages(TOOLS_USER)).tool_calls
        _check_tool_calls(calls)
        return list(calls)

    def stream(self, n: int) -> str:
        parts: list[str] = []
        for chunk in self._stream_llm(n).stream(self._messages()):
            if chunk.content:
                parts.append(chunk.content)
        return "".join(parts)

    def embed(self, texts: list[str]) -> list[list[float]]:
        if self._emb is None:
            self._emb = self._build_embed()
        return list(self._emb.embed_documents(texts))

    async def achat(self) -> str:
        return str((await self.llm.ainvoke(self._messages())).content)

    async def astream(self, n: int) -> str:
        parts: list[str] = []
        async for chunk in self._stream_llm(n).astream(self._messages()):
            if chunk.content:
                parts.append(chunk.content)
        return "".join(parts)


class LangChainOpenAI(_LangChain):
    name = "langchain-openai"

    def _build(self, deployment: str) -> Any:
        from langchain_openai import AzureChatOpenAI

        return AzureChatOpenAI(
            azure_endpoint=self.t.base,
            api_key=self.t.api_key,  # type: ignore[arg-type]
            azure_deployment=deployment,
            model=CHAT_MODEL,
            api_version=API_VERSION,
        )

    def _build_embed(self) -> Any:
        from langchain_openai import AzureOpenAIEmbeddings

        return AzureOpenAIEmbeddings(
            azure_endpoint=self.t.base,
            api_key=self.t.api_key,  # type: ignore[arg-type]
            azure_deployment=EMBED_DEPLOYMENT,
            model=EMBED_MODEL,
            api_version=API_VERSION,
        )


class LangChainAzoai(_LangChain):
    name = "langchain_azoai"

    def _build(self, deployment: str) -> Any:
        from langchain_azoai import AzureChatOpenAI

        return AzureChatOpenAI(
            azure_endpoint=self.t.base,
            api_key=self.t.api_key,
            azure_deployment=deployment,
            model=CHAT_MODEL,
        )

    def _build_embed(self) -> Any:
        from langchain_azoai import AzureOpenAIEmbeddings

        return AzureOpenAIEmbeddings(
            azure_endpoint=self.t.base,
            api_key=self.t.api_key,
            azure_deployment=EMBED_DEPLOYMENT,
            model=EMBED_MODEL,
        )


class LangChainNull(_LangChain):
    """LangChain's own cost: a do-nothing chat model (no I/O, canned answer, ``n`` chunks)."""

    name = "LangChain do-nothing model"
    framework = None

    def _build(self, deployment: str) -> Any:
        return _null_langchain_model(deployment)

    def __init__(self, target: Target) -> None:
        from langchain_core.messages import HumanMessage, SystemMessage

        self.t = target
        self.Human = HumanMessage
        self.System = SystemMessage
        self.llm = self._build(CHAT_DEPLOYMENT)
        self._streams = {}
        self._emb = None

    tools = None  # type: ignore[assignment]

    def _build_embed(self) -> Any:
        return _null_langchain_embeddings()


def _canned_vectors(n: int = 2048, dims: int = 1536) -> list[list[float]]:
    """The vectors a do-nothing embedding model returns (no decoding: the framework's cost
    alone)."""
    return [[(i % 97) / 97.0] * dims for i in range(n)]


def _null_langchain_embeddings() -> Any:
    from langchain_core.embeddings import Embeddings

    canned = _canned_vectors()

    class NullEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return canned[: len(texts)]

        def embed_query(self, text: str) -> list[float]:
            return canned[0]

    return NullEmbeddings()


def _null_langchain_model(deployment: str) -> Any:
    from langchain_core.callbacks import CallbackManagerForLLMRun
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

    from benchmarks.mockserver import CHAT_TEXT

    n = _stream_size(deployment)
    words = CHAT_TEXT.split(" ")

    class NullChatModel(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "null"

        def _generate(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: CallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> ChatResult:
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content=CHAT_TEXT))])

        def _stream(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: CallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> Iterator[ChatGenerationChunk]:
            for i in range(n):
                word = " " + words[i % len(words)]
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=word))
                if run_manager is not None:
                    run_manager.on_llm_new_token(word, chunk=chunk)
                yield chunk

        async def _astream(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: Any = None,
            **kwargs: Any,
        ) -> AsyncIterator[ChatGenerationChunk]:
            for i in range(n):
                word = " " + words[i % len(words)]
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=word))
                if run_manager is not None:
                    await run_manager.on_llm_new_token(word, chunk=chunk)
                yield chunk

    return NullChatModel()


# -- LlamaIndex ---------------------------------------------------------------------------------


class _LlamaIndex(Contender):
    framework: ClassVar[str | None] = "LlamaIndex"

    def _build(self, deployment: str) -> Any:
        raise NotImplementedError

    def _build_embed(self) -> Any:
        raise NotImplementedError

    def __init__(self, target: Target) -> None:
        from llama_index.core.llms import ChatMessage
        from llama_index.core.tools import FunctionTool

        self.t = target
        self.ChatMessage = ChatMessage
        self.llm = self._build(CHAT_DEPLOYMENT)
        self.tool_objs = [FunctionTool.from_defaults(fn=f) for f in _llama_tool_functions()]
        self._streams: dict[int, Any] = {}
        self._emb: Any = None

    def _messages(self, user: str = USER) -> list[Any]:
        M = self.ChatMessage
        return [M(role="system", content=SYSTEM), M(role="user", content=user)]

    def _stream_llm(self, n: int) -> Any:
        llm = self._streams.get(n)
        if llm is None:
            llm = self._streams[n] = self._build(stream_deployment(n))
        return llm

    def chat(self) -> str:
        return str(self.llm.chat(self._messages()).message.content)

    def tools(self) -> list[Any]:
        resp = self.llm.chat_with_tools(
            self.tool_objs, chat_history=self._messages(TOOLS_USER), allow_parallel_tool_calls=True
        )
        calls = self.llm.get_tool_calls_from_response(resp, error_on_no_tool_call=False)
        _check_tool_calls(calls)
        return list(calls)

    def stream(self, n: int) -> str:
        parts: list[str] = []
        for r in self._stream_llm(n).stream_chat(self._messages()):
            if r.delta:
                parts.append(r.delta)
        return "".join(parts)

    def embed(self, texts: list[str]) -> list[list[float]]:
        if self._emb is None:
            self._emb = self._build_embed()
        return list(self._emb.get_text_embedding_batch(texts))

    async def achat(self) -> str:
        return str((await self.llm.achat(self._messages())).message.content)

    async def astream(self, n: int) -> str:
        parts: list[str] = []
        async for r in await self._stream_llm(n).astream_chat(self._messages()):
            if r.delta:
                parts.append(r.delta)
        return "".join(parts)


def _llama_tool_functions() -> list[Any]:
    def get_weather(city: str, unit: str = "celsius") -> str:
        """Current weather in a city."""
        return f"sunny in {city}"

    def get_time(city: str, timezone: str = "UTC") -> str:
        """Local time in a city."""
        return f"noon in {city}"

    def search_hotels(city: str, max_price: int, amenities: list[str] | None = None) -> str:
        """Hotels in a city under a nightly price."""
        return f"hotels in {city}"

    return [get_weather, get_time, search_hotels]


class LlamaIndexAzure(_LlamaIndex):
    name = "llama-index azure"

    def _build(self, deployment: str) -> Any:
        from llama_index.llms.azure_openai import AzureOpenAI

        return AzureOpenAI(
            engine=deployment,
            model=CHAT_MODEL,
            azure_endpoint=self.t.base,
            api_key=self.t.api_key,
            api_version=API_VERSION,
        )

    def _build_embed(self) -> Any:
        from llama_index.embeddings.azure_openai import AzureOpenAIEmbedding

        return AzureOpenAIEmbedding(
            deployment_name=EMBED_DEPLOYMENT,
            model=EMBED_MODEL,
            azure_endpoint=self.t.base,
            api_key=self.t.api_key,
            api_version=API_VERSION,
        )


class LlamaIndexAzoai(_LlamaIndex):
    name = "llamaindex_azoai"

    def _build(self, deployment: str) -> Any:
        from llamaindex_azoai import AzureOpenAI

        return AzureOpenAI(
            engine=deployment, model=CHAT_MODEL, azure_endpoint=self.t.base, api_key=self.t.api_key
        )

    def _build_embed(self) -> Any:
        from llamaindex_azoai import AzureOpenAIEmbedding

        return AzureOpenAIEmbedding(
            deployment_name=EMBED_DEPLOYMENT,
            model=EMBED_MODEL,
            azure_endpoint=self.t.base,
            api_key=self.t.api_key,
        )


class LlamaIndexNull(_LlamaIndex):
    """LlamaIndex's own cost: a do-nothing LLM (no I/O, canned answer, ``n`` chunks)."""

    name = "LlamaIndex do-nothing model"
    framework = None

    def __init__(self, target: Target) -> None:
        from llama_index.core.llms import ChatMessage

        self.t = target
        self.ChatMessage = ChatMessage
        self.llm = self._build(CHAT_DEPLOYMENT)
        self._streams = {}
        self._emb = None

    def _build(self, deployment: str) -> Any:
        return _null_llama_llm(deployment)

    tools = None  # type: ignore[assignment]

    def _build_embed(self) -> Any:
        return _null_llama_embedding()


def _null_llama_embedding() -> Any:
    """A do-nothing LlamaIndex embedding with azoai's batching (2048 texts per call): what
    LlamaIndex itself costs per text (its loop, callbacks and instrumentation events, which
    validate every vector)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding

    canned = _canned_vectors()

    class NullEmbedding(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return canned[0]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return canned[0]

        def _get_text_embedding(self, text: str) -> list[float]:
            return canned[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return canned[: len(texts)]

    return NullEmbedding(model_name="null", embed_batch_size=2048)


def _null_llama_llm(deployment: str) -> Any:
    from llama_index.core.base.llms.types import (
        ChatMessage,
        ChatResponse,
        CompletionResponse,
        LLMMetadata,
    )
    from llama_index.core.llms import LLM
    from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback

    from benchmarks.mockserver import CHAT_TEXT

    n = _stream_size(deployment)
    words = CHAT_TEXT.split(" ")

    def _chunks() -> Iterator[ChatResponse]:
        text = ""
        for i in range(n):
            word = " " + words[i % len(words)]
            text += word
            yield ChatResponse(message=ChatMessage(role="assistant", content=text), delta=word)

    class NullLLM(LLM):
        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(model_name="null", is_chat_model=True)

        @llm_chat_callback()
        def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
            return ChatResponse(message=ChatMessage(role="assistant", content=CHAT_TEXT))

        @llm_chat_callback()
        def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Any:
            return _chunks()

        @llm_chat_callback()
        async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
            return ChatResponse(message=ChatMessage(role="assistant", content=CHAT_TEXT))

        @llm_chat_callback()
        async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Any:
            async def gen() -> AsyncIterator[ChatResponse]:
                for r in _chunks():
                    yield r

            return gen()

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
            return CompletionResponse(text=CHAT_TEXT)

        @llm_completion_callback()
        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
            raise NotImplementedError

        @llm_completion_callback()
        async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
            return CompletionResponse(text=CHAT_TEXT)

        @llm_completion_callback()
        async def astream_complete(
            self, prompt: str, formatted: bool = False, **kwargs: Any
        ) -> Any:
            raise NotImplementedError

    return NullLLM()


CONTENDERS: dict[str, type[Contender]] = {
    c.name: c
    for c in (
        Floor,
        OpenAISDK,
        LangChainOpenAI,
        LlamaIndexAzure,
        AzoaiCore,
        LangChainAzoai,
        LlamaIndexAzoai,
        LangChainNull,
        LlamaIndexNull,
    )
}


def make(name: str, target: Target) -> Contender:
    return CONTENDERS[name](target)

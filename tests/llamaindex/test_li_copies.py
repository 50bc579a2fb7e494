"""Copies of the LlamaIndex classes (issue 14, finding 12): ``copy.copy``, ``copy.deepcopy`` and
``model_copy`` (shallow and deep, with ``update``), against the emulator over loopback.

A copy answers calls, is independent of its original (fields, response chains, closing,
dropping), keeps its secrets secret (pickles of a copy stay sealed), and shares what the
original holds rather than owns (credentials, token providers, HTTP clients, the callback
manager) instead of failing to duplicate it."""

from __future__ import annotations

import asyncio
import copy
import gc
import os
import pickle
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from azure.core.credentials import AccessToken
from li_helpers import ISOLATED, bodies, chat_bodies
from llama_index.core.base.llms.types import ChatMessage
from pydantic import BaseModel, SecretStr

from azoai_emulator import Emulator, Fault, RequestRecord
from llamaindex_azoai import AzureOpenAI, AzureOpenAIEmbedding

USER = [ChatMessage(role="user", content="Say hello")]


class Credential:
    """Like an azure-identity credential: ``get_token``, and a lock, which no copy can duplicate
    (as the real ones hold)."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        with self.lock:
            return AccessToken(self.emu.issue_token(), int(time.time()) + 3600)


class TokenProvider:
    """A token provider object holding a lock: shared by copies, never duplicated."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.lock = threading.Lock()

    def __call__(self) -> str:
        with self.lock:
            return self.emu.issue_token()


def _key(emu: Emulator) -> dict[str, Any]:
    return {"api_key": emu.api_key}


def _token_provider(emu: Emulator) -> dict[str, Any]:
    return {"use_azure_ad": True, "azure_ad_token_provider": TokenProvider(emu)}


def _credential(emu: Emulator) -> dict[str, Any]:
    return {"credential": Credential(emu)}


def _http_clients(emu: Emulator) -> dict[str, Any]:
    return {
        "api_key": emu.api_key,
        "http_client": httpx.Client(),
        "async_http_client": httpx.AsyncClient(),
    }


def _routes(emu: Emulator) -> dict[str, Any]:
    return {
        "api_key": emu.api_key,
        "engine": "pool",
        "routes": {"pool": {"strategy": "failover", "targets": ["chat", "chat-mini"]}},
    }


BUILDS: dict[str, Callable[[Emulator], dict[str, Any]]] = {
    "key": _key,
    "token provider": _token_provider,
    "credential": _credential,
    "http clients": _http_clients,
    "route": _routes,
}

COPIERS: dict[str, Callable[[Any], Any]] = {
    "copy.copy": copy.copy,
    "copy.deepcopy": copy.deepcopy,
    "model_copy()": lambda m: m.model_copy(),
    "model_copy(deep=True)": lambda m: m.model_copy(deep=True),
}


def _own_pool() -> dict[str, Any]:
    """A header no other model has, so each test's models have a pooled connection of their
    own: models another test left open cannot keep it alive and hide a copy closing it."""
    return {"default_headers": {"x-case": uuid.uuid4().hex}}


def chat_model(emu: Emulator, build: str = "key", **kwargs: Any) -> AzureOpenAI:
    args: dict[str, Any] = {"engine": "chat", "model": "gpt-4o", **_own_pool()}
    args.update(BUILDS[build](emu))
    args.update(kwargs)
    return AzureOpenAI(azure_endpoint=emu.endpoint, **ISOLATED, **args)


def embedding_model(emu: Emulator, build: str = "key", **kwargs: Any) -> AzureOpenAIEmbedding:
    args: dict[str, Any] = {"model": "text-embedding-3-small", "deployment_name": "embed"}
    args.update(_own_pool())
    args.update(BUILDS[build](emu))
    args.update(kwargs)
    return AzureOpenAIEmbedding(azure_endpoint=emu.endpoint, **ISOLATED, **args)


def say(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=f"Say '{text}'")]


def last_chat(emu: Emulator) -> RequestRecord:
    return [r for r in emu.requests if r.path.endswith("/chat/completions")][-1]


def last_embedding(emu: Emulator) -> RequestRecord:
    return [r for r in emu.requests if r.path.endswith("/embeddings")][-1]


def closing_keeps_sockets(emu: Emulator, model: Any) -> bool:
    """Whether ``model.close()`` leaves every socket to the emulator open. The garbage collector
    is held off meanwhile: models other tests dropped may close their sockets when collected."""
    gc.collect()
    gc.disable()
    try:
        before = client_sockets(emu.port)
        model.close()
        return client_sockets(emu.port) == before
    finally:
        gc.enable()


def client_sockets(port: int) -> int:
    """This process's TCP sockets connected to ``port`` (the client side of the emulator's
    connections; the server's own sockets are not counted)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.readlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if int(cols[2].rsplit(":", 1)[1], 16) == port and cols[9] in inodes:
                count += 1
    return count


def _check_secrets(emu: Emulator, model: Any, build: str) -> Any:
    if build in ("key", "http clients", "route"):
        assert isinstance(model.api_key, SecretStr)
        assert model.api_key.get_secret_value() == emu.api_key
    texts = [repr(model), str(model), model.to_json(), repr(model.to_dict())]
    assert all(emu.api_key not in t for t in texts)
    data = pickle.dumps(model)  # a pickle of a copy is sealed like the original's
    assert emu.api_key.encode() not in data
    return pickle.loads(data)


# --- the LLM -------------------------------------------------------------------------------------


@pytest.mark.parametrize("copier", COPIERS)
@pytest.mark.parametrize("build", BUILDS)
def test_llm_copy_answers_and_is_independent(emu: Emulator, build: str, copier: str) -> None:
    llm = chat_model(emu, build)
    assert llm.chat(say("before")).message.content == "before"  # the client exists already
    twin = COPIERS[copier](llm)
    assert twin is not llm and type(twin) is AzureOpenAI

    twin.temperature = 0.9  # a field changed on the copy is the copy's alone
    assert llm.temperature == 0.1
    assert twin.chat(say("from the copy")).message.content == "from the copy"
    assert chat_bodies(emu)[-1]["temperature"] == 0.9
    assert llm.chat(say("from the original")).message.content == "from the original"
    assert chat_bodies(emu)[-1]["temperature"] == 0.1
    if build == "route":
        assert last_chat(emu).deployment == "chat"

    # what the model holds is shared, not duplicated; secrets stay secret, pickles sealed
    for name in ("azure_ad_token_provider", "credential", "callback_manager"):
        assert getattr(twin, name) is getattr(llm, name)
    assert twin.settings.auth.mode == llm.settings.auth.mode
    back = _check_secrets(emu, twin, build)
    assert back.chat(say("unpickled")).message.content == "unpickled"
    back.close()

    # closing either leaves the other usable, even in the middle of a call
    emu.inject("chat", Fault.latency(0, per_token=0.03, count=1))  # the stream stays open
    stream = llm.stream_chat(say("one two three four five six"))
    next(stream)
    twin.close()
    assert [r.message.content for r in stream][-1] == "one two three four five six"
    other = COPIERS[copier](llm)
    llm.close()
    assert other.chat(say("after the original closed")).message.content == (
        "after the original closed"
    )
    assert llm.chat(say("reopened")).message.content == "reopened"
    del other, twin
    gc.collect()
    assert llm.complete("Say 'after the copies were dropped'").text == (
        "after the copies were dropped"
    )
    llm.close()


@pytest.mark.parametrize("copier", ["copy.deepcopy", "model_copy(deep=True)"])
def test_llm_deep_copy_owns_its_lists_and_dicts(emu: Emulator, copier: str) -> None:
    llm = chat_model(emu, additional_kwargs={"user": "u-1"}, default_headers={"x-team": "a"})
    twin = COPIERS[copier](llm)
    twin.additional_kwargs["user"] = "u-2"
    twin.default_headers["x-team"] = "b"
    assert llm.additional_kwargs == {"user": "u-1"} and llm.default_headers == {"x-team": "a"}
    assert twin.chat(say("copy")).message.content == "copy"
    assert chat_bodies(emu)[-1]["user"] == "u-2"
    assert llm.chat(say("original")).message.content == "original"
    assert chat_bodies(emu)[-1]["user"] == "u-1" and last_chat(emu).headers["x-team"] == "a"


def test_llm_copies_continue_their_own_response_chain(emu: Emulator) -> None:
    llm = chat_model(emu, use_responses_api=True, track_previous_responses=True)
    first = llm.chat(say("first"))
    assert first.message.content == "first" and llm.previous_response_id
    start = llm.previous_response_id
    twin = copy.deepcopy(llm)
    assert twin.previous_response_id == start  # the copy continues from the same turn
    twin_turn = twin.chat([*say("first"), first.message, *say("copy turn")])
    assert twin_turn.message.content == "copy turn"
    assert bodies(emu, "/responses")[-1]["previous_response_id"] == start
    assert twin.previous_response_id != start and llm.previous_response_id == start
    own_turn = llm.chat([*say("first"), first.message, *say("original turn")])
    assert own_turn.message.content == "original turn"
    assert bodies(emu, "/responses")[-1]["previous_response_id"] == start


async def test_llm_copies_work_async(emu: Emulator) -> None:
    llm = chat_model(emu, "http clients")
    assert (await llm.achat(say("original"))).message.content == "original"
    twins = [copy.deepcopy(llm), llm.model_copy()]
    answers = await asyncio.gather(*(t.achat(say(f"twin {i}")) for i, t in enumerate(twins)))
    assert [a.message.content for a in answers] == ["twin 0", "twin 1"]
    for t in twins:
        await t.aclose()
    assert (await llm.achat(say("still here"))).message.content == "still here"
    await llm.aclose()


def test_llm_model_copy_update_of_a_connection_field_takes_effect(emu: Emulator) -> None:
    llm = chat_model(emu)
    mini = llm.model_copy(update={"engine": "chat-mini", "model": "gpt-4o-mini"})
    assert mini.chat(say("mini")).message.content == "mini"
    assert last_chat(emu).deployment == "chat-mini"
    tagged = llm.model_copy(update={"default_headers": {"x-copy": "1"}}, deep=True)
    assert tagged.chat(say("tagged")).message.content == "tagged"
    assert last_chat(emu).headers["x-copy"] == "1"
    assert llm.chat(say("original")).message.content == "original"
    assert last_chat(emu).deployment == "chat" and "x-copy" not in last_chat(emu).headers
    assert (llm.settings.deployment, mini.settings.deployment) == ("chat", "chat-mini")


def test_model_copy_update_of_a_key_is_a_secret_and_is_used(emu: Emulator) -> None:
    stale = chat_model(emu, api_key="an-old-key-0000")
    fixed = stale.model_copy(update={"api_key": emu.api_key}, deep=True)
    assert isinstance(fixed.api_key, SecretStr)
    assert emu.api_key not in repr(fixed) and emu.api_key not in fixed.to_json()
    assert fixed.chat(say("new key")).message.content == "new key"
    assert emu.api_key.encode() not in pickle.dumps(fixed)


def test_copies_of_a_structured_llm(emu: Emulator) -> None:
    class City(BaseModel):
        """A city and its country."""

        name: str
        country: str
        population: int

    llm = chat_model(emu, "credential")
    structured = copy.deepcopy(llm.as_structured_llm(City))
    city = structured.chat([ChatMessage(role="user", content="Give me facts about Lisbon.")]).raw
    assert isinstance(city, City) and city.name == "Lisbon"
    assert chat_bodies(emu)[-1]["response_format"]["type"] == "json_schema"
    assert llm.chat(say("plain")).message.content == "plain"
    assert "response_format" not in chat_bodies(emu)[-1]


def test_llm_copies_release_their_connections(emu: Emulator) -> None:
    llm = chat_model(emu)
    assert llm.chat(say("warm")).message.content == "warm"
    baseline = client_sockets(emu.port)
    assert baseline >= 1
    for i in range(15):  # copies with settings of their own, closed
        twin = llm.model_copy(update={"default_headers": {"x-copy": str(i)}})
        assert twin.chat(say(f"copy {i}")).message.content == f"copy {i}"
        twin.close()
    for i in range(15):  # copies sharing the original's connection, dropped
        assert copy.deepcopy(llm).chat(say(f"dropped {i}")).message.content == f"dropped {i}"
    gc.collect()
    assert client_sockets(emu.port) <= baseline
    assert llm.chat(say("still one connection")).message.content == "still one connection"
    llm.close()


# --- embeddings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("copier", COPIERS)
@pytest.mark.parametrize("build", ["key", "token provider", "credential", "http clients"])
def test_embedding_copy_answers_and_is_independent(emu: Emulator, build: str, copier: str) -> None:
    emb = embedding_model(emu, build, dimensions=64)
    reference = emb.get_text_embedding("a lighthouse")
    twin = COPIERS[copier](emb)
    assert twin.get_text_embedding_batch(["a lighthouse", "a harbour"])[0] == reference
    twin.dimensions = 32
    assert emb.dimensions == 64
    assert len(twin.get_query_embedding("a lighthouse")) == 32
    assert emb.get_text_embedding("a lighthouse") == reference
    for name in ("azure_ad_token_provider", "credential", "callback_manager"):
        assert getattr(twin, name) is getattr(emb, name)
    back = _check_secrets(emu, twin, build)
    assert len(back.get_text_embedding("unpickled")) == 32
    back.close()

    assert closing_keeps_sockets(emu, twin)  # the original's pooled connection stays open
    assert emb.get_text_embedding("a lighthouse") == reference
    other = COPIERS[copier](emb)
    emb.close()
    assert len(other.get_text_embedding("after the original closed")) == 64
    del other, twin
    gc.collect()
    assert emb.get_text_embedding("a lighthouse") == reference
    emb.close()


async def test_embedding_copies_work_async(emu: Emulator) -> None:
    emb = embedding_model(emu, "http clients")
    reference = await emb.aget_text_embedding("a lighthouse")
    twins = [copy.deepcopy(emb), emb.model_copy()]
    got = await asyncio.gather(*(t.aget_text_embedding("a lighthouse") for t in twins))
    assert got == [reference, reference]
    for t in twins:
        await t.aclose()
    assert await emb.aget_text_embedding("a lighthouse") == reference
    await emb.aclose()


def test_embedding_model_copy_update_and_deep_dicts(emu: Emulator) -> None:
    emb = embedding_model(emu, additional_kwargs={"user": "u-1"})
    twin = copy.deepcopy(emb)
    twin.additional_kwargs["user"] = "u-2"
    assert emb.additional_kwargs == {"user": "u-1"}
    ada = emb.model_copy(
        update={"azure_deployment": "embed-ada", "model": "text-embedding-ada-002"}
    )
    assert len(ada.get_text_embedding("x")) == 1536
    assert last_embedding(emu).deployment == "embed-ada"
    assert len(twin.get_text_embedding("x")) == 1536
    assert last_embedding(emu).body["user"] == "u-2"
    assert len(emb.get_text_embedding("x")) == 1536
    assert last_embedding(emu).deployment == "embed" and last_embedding(emu).body["user"] == "u-1"

"""Copies of the LangChain classes (issue 14, finding 12): ``copy.copy``, ``copy.deepcopy``,
``model_copy`` (shallow and deep, with ``update``), and LangChain's ``configurable_fields`` /
``configurable_alternatives``, against the emulator over loopback.

A copy answers calls, is independent of its original (fields, closing, dropping), keeps its
secrets secret, and shares what the original holds rather than owns (credentials, token
providers, HTTP clients) instead of failing to duplicate it."""

from __future__ import annotations

import asyncio
import copy
import gc
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from azure.core.credentials import AccessToken
from langchain_core.load import dumpd, dumps
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import ConfigurableField
from pydantic import BaseModel, Field, SecretStr

from azoai_emulator import Emulator, Fault, RequestRecord
from langchain_azoai import AzureChatOpenAI, AzureOpenAIEmbeddings

ARM_AUDIENCE = "https://management.azure.com"


class Credential:
    """Like an azure-identity credential: ``get_token``, and a lock, which no copy can duplicate
    (as the real ones hold); counts the tokens it hands out."""

    def __init__(self, emu: Emulator, audience: str | None = None) -> None:
        self.emu = emu
        self.audience = audience
        self.lock = threading.Lock()
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        with self.lock:
            self.calls += 1
        token = (
            self.emu.issue_token(audience=self.audience)
            if self.audience
            else self.emu.issue_token()
        )
        return AccessToken(token, int(time.time()) + 3600)


class TokenProvider:
    """A token provider object (azure-identity's get_bearer_token_provider returns a closure
    over a credential): shared by copies, never duplicated."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.lock = threading.Lock()

    def __call__(self) -> str:
        with self.lock:
            return self.emu.issue_token()


def _key(emu: Emulator) -> dict[str, Any]:
    return {"api_key": emu.api_key}


def _token_provider(emu: Emulator) -> dict[str, Any]:
    return {"azure_ad_token_provider": TokenProvider(emu)}


def _credential(emu: Emulator) -> dict[str, Any]:
    return {"credential": Credential(emu)}


def _http_clients(emu: Emulator) -> dict[str, Any]:
    return {
        "api_key": emu.api_key,
        "http_client": httpx.Client(),
        "http_async_client": httpx.AsyncClient(),
    }


def _routes(emu: Emulator) -> dict[str, Any]:
    return {
        "api_key": emu.api_key,
        "azure_deployment": "pool",
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

HELD = (
    "credential",
    "azure_ad_token_provider",
    "azure_ad_async_token_provider",
    "http_client",
    "http_async_client",
)


def _own_pool() -> dict[str, Any]:
    """A header no other model has, so each test's models have a pooled connection of their
    own: models another test left open cannot keep it alive and hide a copy closing it."""
    return {"default_headers": {"x-case": uuid.uuid4().hex}}


def chat_model(emu: Emulator, build: str = "key", **kwargs: Any) -> AzureChatOpenAI:
    args: dict[str, Any] = {
        "azure_deployment": "chat",
        "model": "gpt-4o",
        **_own_pool(),
        **BUILDS[build](emu),
    }
    return AzureChatOpenAI(azure_endpoint=emu.endpoint, config_file="", **{**args, **kwargs})


def chat_requests(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.path.endswith("/chat/completions")]


def last_chat(emu: Emulator) -> RequestRecord:
    return chat_requests(emu)[-1]


def last_body(emu: Emulator) -> dict[str, Any]:
    body = last_chat(emu).body
    assert isinstance(body, dict)
    return body


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


# --- copies --------------------------------------------------------------------------------------


@pytest.mark.parametrize("copier", COPIERS)
@pytest.mark.parametrize("build", BUILDS)
def test_chat_copy_answers_and_is_independent(emu: Emulator, build: str, copier: str) -> None:
    llm = chat_model(emu, build, temperature=0.5)
    assert llm.invoke("Say 'before'").text == "before"  # the original's client exists already
    twin = COPIERS[copier](llm)
    assert twin is not llm and type(twin) is AzureChatOpenAI

    twin.temperature = 0.1  # a field changed on the copy is the copy's alone
    assert llm.temperature == 0.5
    answer = twin.invoke("Say 'from the copy'")
    assert answer.text == "from the copy"
    assert last_body(emu)["temperature"] == 0.1
    assert llm.invoke("Say 'from the original'").text == "from the original"
    assert last_body(emu)["temperature"] == 0.5
    if build == "route":
        assert answer.response_metadata["target"] == "chat"

    # what the model holds is shared, not duplicated; secrets stay SecretStr and out of sight
    for name in HELD:
        assert getattr(twin, name) is getattr(llm, name)
    assert twin.settings.auth.mode == llm.settings.auth.mode
    if build != "token provider" and build != "credential":
        assert isinstance(twin.openai_api_key, SecretStr)
        assert twin.openai_api_key.get_secret_value() == emu.api_key
        for text in (repr(twin), str(twin), dumps(twin), repr(twin.settings)):
            assert emu.api_key not in text

    # closing either leaves the other usable, even in the middle of a call
    emu.inject("chat", Fault.latency(0, per_token=0.03, count=1))  # the stream stays open
    stream = llm.stream("Say 'one two three four five six'")
    first = next(stream)
    twin.close()
    assert first.text + "".join(c.text for c in stream) == "one two three four five six"
    assert llm.invoke("Say 'after the copy closed'").text == "after the copy closed"
    other = COPIERS[copier](llm)
    llm.close()
    assert other.invoke("Say 'after the original closed'").text == "after the original closed"
    assert llm.invoke("Say 'reopened'").text == "reopened"
    # and dropping a copy leaves the original usable
    del other, twin
    gc.collect()
    assert llm.invoke("Say 'after the copies were dropped'").text == "after the copies were dropped"
    if build == "http clients":
        assert not llm.http_client.is_closed  # the user's client is never closed for them
    llm.close()


@pytest.mark.parametrize("copier", ["copy.deepcopy", "model_copy(deep=True)"])
def test_chat_deep_copy_owns_its_lists_and_dicts(emu: Emulator, copier: str) -> None:
    llm = chat_model(
        emu, default_headers={"x-team": "a"}, model_kwargs={"user": "u-1"}, stop=["STOP"]
    )
    twin = COPIERS[copier](llm)
    twin.default_headers["x-team"] = "b"
    twin.model_kwargs["user"] = "u-2"
    twin.stop.append("END")
    assert llm.default_headers == {"x-team": "a"}
    assert llm.model_kwargs == {"user": "u-1"}
    assert llm.stop == ["STOP"]
    assert llm.invoke("Say 'original'").text == "original"
    assert last_body(emu)["user"] == "u-1" and last_body(emu)["stop"] == ["STOP"]
    assert last_chat(emu).headers["x-team"] == "a"


async def test_chat_copies_work_async(emu: Emulator) -> None:
    llm = chat_model(emu, "http clients")
    assert (await llm.ainvoke("Say 'original'")).text == "original"
    twins = [copy.deepcopy(llm), llm.model_copy()]
    answers = await asyncio.gather(*(t.ainvoke(f"Say 'twin {i}'") for i, t in enumerate(twins)))
    assert [a.text for a in answers] == ["twin 0", "twin 1"]
    for t in twins:
        await t.aclose()
    assert (await llm.ainvoke("Say 'still here'")).text == "still here"
    await llm.aclose()
    await llm.http_async_client.aclose()
    llm.http_client.close()


def test_model_copy_update_of_a_connection_field_takes_effect(emu: Emulator) -> None:
    llm = chat_model(emu)
    # the constructor's names (aliases) work as well as the field names
    mini = llm.model_copy(update={"azure_deployment": "chat-mini", "model": "gpt-4o-mini"})
    assert mini.invoke("Say 'mini'").text == "mini"
    assert last_chat(emu).deployment == "chat-mini"
    tagged = llm.model_copy(update={"default_headers": {"x-copy": "1"}}, deep=True)
    assert tagged.invoke("Say 'tagged'").text == "tagged"
    assert last_chat(emu).headers["x-copy"] == "1"
    assert llm.invoke("Say 'original'").text == "original"
    assert last_chat(emu).deployment == "chat" and "x-copy" not in last_chat(emu).headers
    assert (llm.settings.deployment, mini.settings.deployment) == ("chat", "chat-mini")
    assert mini.deployment_name == "chat-mini" and "azure_deployment" not in mini.__dict__


def test_model_copy_update_of_a_key_is_a_secret_and_is_used(emu: Emulator) -> None:
    stale = chat_model(emu, api_key="an-old-key-0000")
    fixed = stale.model_copy(update={"api_key": emu.api_key})
    assert isinstance(fixed.openai_api_key, SecretStr)
    assert emu.api_key not in repr(fixed) and emu.api_key not in dumps(fixed)
    assert fixed.invoke("Say 'new key'").text == "new key"
    assert last_chat(emu).status == 200


def test_model_copy_keeps_prebuilt_settings_the_one_source(emu: Emulator) -> None:
    llm = AzureChatOpenAI(settings=chat_model(emu).settings)
    twin = llm.model_copy(update={"temperature": 0.3})
    assert twin.invoke("Say 'prebuilt'").text == "prebuilt"
    assert last_body(emu)["temperature"] == 0.3
    with pytest.raises(ValueError, match="either settings= or connection arguments"):
        llm.model_copy(update={"deployment_name": "chat-mini"})


def test_copies_of_bound_tools_and_structured_output(emu: Emulator) -> None:
    class GetWeather(BaseModel):
        """Get the current weather for a city."""

        city: str = Field(description="The city")

    class Person(BaseModel):
        """A person."""

        name: str
        age: int

    llm = chat_model(emu, "credential")
    bound = copy.deepcopy(llm.bind_tools([GetWeather], tool_choice="any"))
    call = bound.invoke("What is the weather in Oslo?")
    assert [(c["name"], c["args"]) for c in call.tool_calls] == [("GetWeather", {"city": "Oslo"})]
    assert last_body(emu)["tools"][0]["function"]["name"] == "GetWeather"
    structured = copy.deepcopy(llm.with_structured_output(Person))
    person = structured.invoke("Alice is 31 years old. Extract the person.")
    assert isinstance(person, Person) and (person.name, person.age) == ("Alice", 31)
    shallow = copy.copy(llm.with_structured_output(Person, method="function_calling"))
    assert shallow.invoke("Bob is 45 years old. Extract the person.").age == 45
    assert llm.invoke("Say 'plain'").text == "plain"  # the original is untouched
    assert "tools" not in last_body(emu)


def test_copies_release_their_connections(emu: Emulator) -> None:
    llm = chat_model(emu)
    assert llm.invoke("Say 'warm'").text == "warm"
    baseline = client_sockets(emu.port)
    assert baseline >= 1
    for i in range(15):  # copies with settings of their own, closed
        twin = llm.model_copy(update={"default_headers": {"x-copy": str(i)}})
        assert twin.invoke(f"Say 'copy {i}'").text == f"copy {i}"
        twin.close()
    for i in range(15):  # copies sharing the original's connection, dropped
        assert copy.deepcopy(llm).invoke(f"Say 'dropped {i}'").text == f"dropped {i}"
    gc.collect()
    assert client_sockets(emu.port) <= baseline
    assert llm.invoke("Say 'still one connection'").text == "still one connection"
    llm.close()


# --- configurable_fields / configurable_alternatives -------------------------------------------


def test_configurable_fields_reach_the_request(emu: Emulator) -> None:
    llm = chat_model(emu, "token provider")
    configurable = llm.configurable_fields(
        temperature=ConfigurableField(id="temperature"),
        max_tokens=ConfigurableField(id="max_tokens"),
    )
    out = configurable.with_config(configurable={"temperature": 0.2, "max_tokens": 40}).invoke(
        "Say 'configured'"
    )
    assert out.text == "configured"
    body = last_body(emu)
    assert body["temperature"] == 0.2
    assert body.get("max_completion_tokens", body.get("max_tokens")) == 40
    assert configurable.invoke("Say 'defaults'").text == "defaults"
    assert "temperature" not in last_body(emu)

    chain = ChatPromptTemplate.from_messages([("human", "Say '{x}'")]) | configurable
    replies = chain.batch(
        [{"x": "cold"}, {"x": "warm"}],
        config=[{"configurable": {"temperature": 0.0}}, {"configurable": {"temperature": 0.9}}],
    )
    assert [r.text for r in replies] == ["cold", "warm"]
    sent = {
        r.body["messages"][-1]["content"]: r.body["temperature"] for r in chat_requests(emu)[-2:]
    }
    assert sent == {"Say 'cold'": 0.0, "Say 'warm'": 0.9}
    assert llm.temperature is None  # the model itself never changes
    streamed = "".join(
        c.text
        for c in configurable.stream("Say 'streamed'", {"configurable": {"temperature": 0.4}})
    )
    assert streamed == "streamed" and last_body(emu)["temperature"] == 0.4


def test_configured_calls_share_the_model_client(emu: Emulator) -> None:
    """A configured call is a view of the model, as bind_tools is: it does not build settings
    or a client of its own, so discovery lists the deployments once, not once per call."""
    arm = Credential(emu, audience=ARM_AUDIENCE)
    llm = chat_model(
        emu,
        discovery={
            "subscription_id": emu.subscription_id,
            "resource_group": emu.resource_group,
            "account": emu.account,
            "arm_host": emu.arm_endpoint,
            "credential": arm,
        },
    )
    configurable = llm.configurable_fields(temperature=ConfigurableField(id="t"))
    for i in range(4):
        out = configurable.invoke(f"Say 'call {i}'", {"configurable": {"t": i / 10}})
        assert out.text == f"call {i}" and last_body(emu)["temperature"] == i / 10
    listings = [r for r in emu.requests if r.path.startswith("/subscriptions/")]
    assert len(listings) == 1 and arm.calls == 1
    twin = copy.deepcopy(llm)  # the discovery credential inside a dict is shared, not copied
    assert twin.discovery["credential"] is arm and twin.discovery is not llm.discovery
    assert twin.invoke("Say 'copy'").text == "copy"


def test_configurable_connection_field_builds_its_own_settings(emu: Emulator) -> None:
    llm = chat_model(emu)
    configurable = llm.configurable_fields(
        deployment_name=ConfigurableField(id="deployment"),
        model_name=ConfigurableField(id="model"),
        default_headers=ConfigurableField(id="headers"),
    )
    out = configurable.invoke(
        "Say 'small'",
        {
            "configurable": {
                "deployment": "chat-mini",
                "model": "gpt-4o-mini",
                "headers": {"x": "1"},
            }
        },
    )
    assert out.text == "small"
    assert out.response_metadata["model_name"].startswith("gpt-4o-mini")
    assert last_chat(emu).deployment == "chat-mini" and last_chat(emu).headers["x"] == "1"
    assert configurable.invoke("Say 'default'").text == "default"
    assert last_chat(emu).deployment == "chat" and "x" not in last_chat(emu).headers
    assert llm.settings.deployment == "chat"


def test_configurable_alternatives(emu: Emulator) -> None:
    mini = chat_model(emu, azure_deployment="chat-mini", model="gpt-4o-mini")
    llm = chat_model(emu, "credential")
    chooser = llm.configurable_fields(
        temperature=ConfigurableField(id="temperature")
    ).configurable_alternatives(ConfigurableField(id="llm"), default_key="gpt-4o", mini=mini)
    assert chooser.invoke("Say 'default'").text == "default"
    assert last_chat(emu).deployment == "chat"
    out = chooser.invoke("Say 'tuned'", {"configurable": {"temperature": 0.7}})
    assert out.text == "tuned"
    assert last_chat(emu).deployment == "chat" and last_body(emu)["temperature"] == 0.7
    assert chooser.invoke("Say 'other'", {"configurable": {"llm": "mini"}}).text == "other"
    assert last_chat(emu).deployment == "chat-mini"
    # a deep copy of the whole configurable runnable works the same
    twin = copy.deepcopy(chooser)
    assert twin.invoke("Say 'copied'", {"configurable": {"llm": "mini"}}).text == "copied"
    assert last_chat(emu).deployment == "chat-mini"
    assert twin.invoke("Say 'copied default'", {"configurable": {"temperature": 0.1}}).text == (
        "copied default"
    )
    assert last_chat(emu).deployment == "chat" and last_body(emu)["temperature"] == 0.1


def test_configured_views_and_copies_keep_secrets(emu: Emulator) -> None:
    llm = chat_model(emu, temperature=0.5)
    configurable = llm.configurable_fields(temperature=ConfigurableField(id="t"))
    for obj in (configurable, copy.deepcopy(configurable), copy.deepcopy(llm)):
        for text in (repr(obj), str(obj), dumps(obj), repr(dumpd(obj))):
            assert emu.api_key not in text


def test_settings_with_connection_arguments_is_still_an_error(emu: Emulator) -> None:
    """What LangChain's rebuild passes (every field) is told apart from a user's call."""
    llm = chat_model(emu)
    with pytest.raises(ValueError, match="either settings= or connection arguments"):
        AzureChatOpenAI(settings=llm.settings, azure_deployment="chat-mini")


# --- embeddings ------------------------------------------------------------------------------


def embeddings_model(emu: Emulator, build: str = "key", **kwargs: Any) -> AzureOpenAIEmbeddings:
    args = {"azure_deployment": "embed", **_own_pool(), **BUILDS[build](emu)}
    return AzureOpenAIEmbeddings(azure_endpoint=emu.endpoint, config_file="", **{**args, **kwargs})


@pytest.mark.parametrize("copier", COPIERS)
@pytest.mark.parametrize("build", ["key", "token provider", "credential", "http clients"])
def test_embeddings_copy_answers_and_is_independent(emu: Emulator, build: str, copier: str) -> None:
    emb = embeddings_model(emu, build, dimensions=64)
    reference = emb.embed_query("a lighthouse")
    twin = COPIERS[copier](emb)
    assert twin.embed_documents(["a lighthouse", "a harbour"])[0] == reference
    twin.dimensions = 32
    assert emb.dimensions == 64
    assert len(twin.embed_query("a lighthouse")) == 32
    assert emb.embed_query("a lighthouse") == reference
    for name in HELD:
        assert getattr(twin, name) is getattr(emb, name)
    if build in ("key", "http clients"):
        assert isinstance(twin.openai_api_key, SecretStr)
        assert emu.api_key not in repr(twin) and emu.api_key not in str(twin)
    assert closing_keeps_sockets(emu, twin)  # the original's pooled connection stays open
    assert emb.embed_query("a lighthouse") == reference
    other = COPIERS[copier](emb)
    emb.close()
    assert len(other.embed_query("after the original closed")) == 64
    del other, twin
    gc.collect()
    assert emb.embed_query("a lighthouse") == reference
    emb.close()


def test_embeddings_model_copy_update_and_deep_lists(emu: Emulator) -> None:
    emb = embeddings_model(emu, model_kwargs={"user": "u-1"})
    twin = copy.deepcopy(emb)
    twin.model_kwargs["user"] = "u-2"
    assert emb.model_kwargs == {"user": "u-1"}
    moved = emb.model_copy(update={"default_headers": {"x-copy": "1"}})
    assert len(moved.embed_query("x")) == 1536
    embed_calls = [r for r in emu.requests if r.path.endswith("/embeddings")]
    assert embed_calls[-1].headers["x-copy"] == "1"
    assert len(emb.embed_query("x")) == 1536
    embed_calls = [r for r in emu.requests if r.path.endswith("/embeddings")]
    assert "x-copy" not in embed_calls[-1].headers and embed_calls[-1].body["user"] == "u-1"

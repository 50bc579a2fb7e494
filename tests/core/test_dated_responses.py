"""The Responses API on dated api-versions (issues 16 and 17): Azure serves
``POST /openai/responses?api-version=<date>`` from ``2025-03-01-preview`` on, with the deployment in
the body's ``model`` (facts §1.3, §2.2). Through the Client against the emulator: the dated route
on invoke, stream and async; an older dated version refused at construction naming the first
version and route='v1'; no version keeps v1; a dated ``OPENAI_API_VERSION`` in the environment
never breaks a Responses client; the WebSocket stays on v1."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from azoai.client import Client
from azoai.errors import ConfigError
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator, RequestRecord


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(emu: Emulator) -> None:
    emu.reset()


def _client(emu: Emulator, *, env: dict[str, str] | None = None, **kw: Any) -> Client:
    kw.setdefault("deployment", "chat")
    kw.setdefault("api", "responses")
    return Client(endpoint=emu.endpoint, api_key=emu.api_key, env=env or {}, config_file="", **kw)


def _ask(text: str) -> ChatRequest:
    return ChatRequest(messages=[Message("user", text)])


def _inference(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.path.startswith("/openai/")]


@pytest.mark.parametrize("version", ["2025-03-01-preview", "2025-04-01-preview"])
async def test_a_dated_version_uses_the_dated_responses_route(emu: Emulator, version: str) -> None:
    client = _client(emu, api_version=version)
    try:
        assert (client.settings.route, client.settings.api_version.value) == (
            "deployments",
            version,
        )
        assert client.chat(_ask("Say hello")).text == "hello"
        assert "".join(d.text or "" for d in client.stream(_ask("Say streamed"))) == "streamed"
        assert (await client.achat(_ask("Say async"))).text == "async"
        chunks = [d.text or "" async for d in client.astream(_ask("Say astreamed"))]
        assert "".join(chunks) == "astreamed"
    finally:
        await client.aclose()
    calls = _inference(emu)
    assert [r.url for r in calls] == [f"/openai/responses?api-version={version}"] * 4
    # no deployment in the path: the body's model names it, and the emulator resolved it
    assert [(r.body["model"], r.deployment, r.status) for r in calls] == [("chat", "chat", 200)] * 4
    assert [r.body.get("stream", False) for r in calls] == [False, True, False, True]


@pytest.mark.parametrize("version", ["2025-02-01-preview", "2024-12-01-preview", "2024-10-21"])
def test_an_older_dated_version_is_refused_naming_the_first_one_and_v1(
    emu: Emulator, version: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _client(emu, api_version=version)
    err = caught.value
    assert err.setting == "api_version"
    assert f"api_version {version!r} (from argument) has no Responses API" in str(err)
    assert "2025-03-01-preview" in str(err) and "route='v1'" in str(err)
    assert emu.requests == []
    # what Azure itself answers there: 404 (the version has no /responses operation)
    answer = httpx.post(
        f"{emu.endpoint}/openai/responses?api-version={version}",
        headers={"api-key": emu.api_key},
        json={"model": "chat", "input": "hi"},
    )
    assert answer.status_code == 404


def test_no_version_and_v1_versions_keep_the_v1_route(emu: Emulator) -> None:
    for kw, url in (
        ({}, "/openai/v1/responses"),
        ({"api_version": "preview"}, "/openai/v1/responses?api-version=preview"),
        ({"route": "v1"}, "/openai/v1/responses"),
    ):
        emu.clear_requests()
        with _client(emu, **kw) as client:
            assert client.settings.route == "v1"
            assert client.chat(_ask("Say hi")).text == "hi"
        assert [r.url for r in _inference(emu)] == [url]


def test_route_deployments_without_a_version_takes_the_last_dated_preview(emu: Emulator) -> None:
    with _client(emu, route="deployments") as client:
        assert client.chat(_ask("Say dated")).text == "dated"
    assert [r.url for r in _inference(emu)] == ["/openai/responses?api-version=2025-04-01-preview"]


def test_a_dated_version_on_route_v1_names_both_fixes(emu: Emulator) -> None:
    with pytest.raises(ConfigError) as caught:
        _client(emu, route="v1", api_version="2025-04-01-preview")
    assert caught.value.setting == "api_version"
    assert "not valid on the v1 route" in str(caught.value)
    assert "remove route" in str(caught.value)


def test_a_new_enough_env_version_uses_the_dated_route(emu: Emulator) -> None:
    # what langchain-openai does with OPENAI_API_VERSION and use_responses_api=True
    with _client(emu, env={"OPENAI_API_VERSION": "2025-04-01-preview"}) as client:
        assert client.settings.route == "deployments"
        assert client.settings.source_of("api_version") == "env OPENAI_API_VERSION"
        assert client.chat(_ask("Say env")).text == "env"
    assert [r.url for r in _inference(emu)] == ["/openai/responses?api-version=2025-04-01-preview"]


@pytest.mark.parametrize("var", ["OPENAI_API_VERSION", "AZURE_OPENAI_API_VERSION"])
def test_an_older_env_version_falls_back_to_v1_without_an_error(
    emu: Emulator, var: str, caplog: pytest.LogCaptureFixture
) -> None:
    env = {var: "2024-10-21"}  # set for the chat models of the same process
    with caplog.at_level(logging.INFO, logger="azoai"):
        client = _client(emu, env=env)
    with client:
        assert (client.settings.route, client.settings.api_version.value) == ("v1", "v1")
        assert (
            client.settings.source_of("api_version") == f"default (env {var} '2024-10-21' not used)"
        )
        assert client.chat(_ask("Say fallback")).text == "fallback"
    assert [r.url for r in _inference(emu)] == ["/openai/v1/responses"]
    assert any(
        "2024-10-21" in r.getMessage() and "2025-03-01-preview" in r.getMessage()
        for r in caplog.records
    )
    # the same variable still selects the dated chat route for a chat client
    emu.clear_requests()
    with _client(emu, env=env, api="chat") as chat:
        assert chat.chat(_ask("Say chat")).text == "chat"
    assert [r.url for r in _inference(emu)] == [
        "/openai/deployments/chat/chat/completions?api-version=2024-10-21"
    ]


def test_an_explicit_route_v1_beats_a_dated_env_version(emu: Emulator) -> None:
    with _client(emu, route="v1", env={"OPENAI_API_VERSION": "2025-04-01-preview"}) as client:
        assert client.chat(_ask("Say v1")).text == "v1"
    assert [r.url for r in _inference(emu)] == ["/openai/v1/responses"]


def test_the_websocket_stays_on_v1(emu: Emulator) -> None:
    with pytest.raises(ConfigError) as caught:
        _client(emu, api_version="2025-04-01-preview", transport="websocket")
    assert caught.value.setting == "api_version"
    assert "WebSocket is served on the v1 route only" in str(caught.value)
    assert "transport='http'" in str(caught.value)
    with pytest.raises(ConfigError, match="route='deployments' is not possible"):
        _client(emu, route="deployments", transport="websocket")
    # a dated version from the environment does not break a WebSocket client
    with _client(
        emu, transport="websocket", env={"OPENAI_API_VERSION": "2025-04-01-preview"}
    ) as client:
        assert (client.settings.route, client.settings.api_version.value) == ("v1", "v1")


def test_embeddings_of_a_dated_responses_client_use_the_deployment_route(emu: Emulator) -> None:
    with _client(emu, api_version="2025-04-01-preview", deployment="embed") as client:
        result = client.embed(["one", "two"])
    assert len(result.vectors) == 2
    assert [r.url for r in _inference(emu)] == [
        "/openai/deployments/embed/embeddings?api-version=2025-04-01-preview"
    ]

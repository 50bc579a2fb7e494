"""The Responses API over a WebSocket (issue 8): configuration, the handshake, calls, the chain,
one response in flight per socket, reconnects, previous_response_not_found, lifetime and leaks.
Everything runs against the emulator's WebSocket route over loopback (facts §11, prior art §2.8,
§8.7 and the Mastra cases of §9.7)."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from azoai import errors as E
from azoai.client import CallOptions, Client
from azoai.config.settings import RetryPolicy, Settings, WebSocketOptions
from azoai.io.websocket import WebSocketBusyError, WebSocketTransport
from azoai.wire import ChatRequest, Message, ToolSpec
from azoai_emulator import Emulator, EmulatorDeployment, Fault
from azoai_emulator.protocol import RequestRecord

WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
FAST_RETRY = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05, max_retry_after=5.0)
DEPLOYMENTS = (
    EmulatorDeployment("chat", model="gpt-4o"),
    EmulatorDeployment("slow", model="gpt-4o", token_latency=0.05),
)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(deployments=DEPLOYMENTS) as e:
        yield e


@pytest.fixture(autouse=True)
def _no_leaks(emu: Emulator) -> Iterator[None]:
    """Every test ends with no socket open on either side and no thread left behind."""
    emu.reset()
    threads = threading.active_count()
    yield
    assert settle(emu) == 0, "a WebSocket was left open"
    deadline = time.monotonic() + 5
    while threading.active_count() > threads and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() <= threads, threading.enumerate()


def settle(emu: Emulator, open_sockets: int = 0, timeout: float = 5.0) -> int:
    """Wait until the emulator sees ``open_sockets`` open sockets (closing takes a moment)."""
    deadline = time.monotonic() + timeout
    while emu.websockets_open != open_sockets and time.monotonic() < deadline:
        time.sleep(0.005)
    return emu.websockets_open


def make(emu: Emulator, **kw: Any) -> Client:
    kw.setdefault("api_key", emu.api_key)
    kw.setdefault("deployment", "chat")
    kw.setdefault("model", "gpt-4o")
    kw.setdefault("api", "responses")
    kw.setdefault("transport", "websocket")
    kw.setdefault("retry", FAST_RETRY)
    return Client(endpoint=emu.endpoint, env={}, config_file="", **kw)


def ask(text: str, **kw: Any) -> ChatRequest:
    return ChatRequest(messages=[Message("user", text)], **kw)


def handshakes(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.method == "GET" and r.path == "/openai/v1/responses"]


def creates(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.method == "WS"]


def weather_loop(client: Client, turns: int = 3) -> list[str]:
    """A small agent loop: the model calls the tool, gets its result, answers; the user asks on."""
    messages = [
        Message("system", "You answer weather questions."),
        Message("user", "Weather in Oslo?"),
    ]
    out: list[str] = []
    for i in range(turns):
        result = client.chat(ChatRequest(messages=messages, tools=[WEATHER]))
        messages.append(result.message)
        if result.tool_calls:
            out.append(f"call {result.tool_calls[0].name} {result.tool_calls[0].arguments}")
            for call in result.tool_calls:
                messages.append(Message("tool", f"Sunny and {10 + i} C", tool_call_id=call.id))
        else:
            out.append(result.text)
            messages.append(Message("user", "Say thanks"))
    return out


# --- configuration ----------------------------------------------------------------------------


def test_websocket_needs_the_responses_api() -> None:
    with pytest.raises(E.ConfigError) as caught:
        Settings.build(
            endpoint="https://res.openai.azure.com",
            api_key="k",
            transport="websocket",
            env={},
            config_file="",
        )
    assert caught.value.setting == "transport"
    assert "api='responses'" in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"transport": "grpc"}, "transport"),
        ({"websocket": {"keep": True}}, "websocket.keep"),
        ({"websocket": {"key_auth": "url"}}, "websocket.key_auth"),
        ({"websocket": {"max_age": 0}}, "websocket.max_age"),
        ({"websocket": {"close_on_finish": "maybe"}}, "websocket.close_on_finish"),
        ({"websocket": "yes"}, "websocket"),
    ],
)
def test_transport_settings_are_validated(kwargs: dict[str, Any], setting: str) -> None:
    with pytest.raises(E.ConfigError) as caught:
        Settings.build(
            endpoint="https://res.openai.azure.com",
            api_key="k",
            api="responses",
            env={},
            config_file="",
            **kwargs,
        )
    assert caught.value.setting == setting


def test_transport_and_websocket_options_from_a_config_file(tmp_path: Any) -> None:
    path = tmp_path / "azoai.toml"
    path.write_text(
        'endpoint = "https://res.openai.azure.com"\napi = "responses"\ntransport = "websocket"\n'
        '[auth]\napi_key = "k"\n[websocket]\nclose_on_finish = false\nkey_auth = "bearer"\n',
        encoding="utf-8",
    )
    s = Settings.build(config_file=str(path), env={})
    assert s.transport == "websocket"
    assert s.websocket == WebSocketOptions(close_on_finish=False, key_auth="bearer")
    assert Settings.build(config_file=str(path), env={}, transport="http").transport == "http"


def test_a_session_needs_the_responses_api(emu: Emulator) -> None:
    client = make(emu, api="chat", transport="http")
    with pytest.raises(E.ConfigError, match="Responses API"):
        client.websocket_session()
    client.close()


def test_openai_without_websocket_support_is_a_config_error(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openai.resources.responses import Responses

    monkeypatch.delattr(Responses, "connect")  # what openai 2.x looks like
    client = make(emu)
    with pytest.raises(E.ConfigError) as caught:
        client.chat(ask("Say hi"))
    assert caught.value.setting == "transport"
    assert "openai>=3" in str(caught.value)
    assert "pip install" in (caught.value.fix or "")
    client.close()
    assert handshakes(emu) == []


def test_importing_azoai_and_building_a_websocket_client_stays_light() -> None:
    code = (
        "import sys\n"
        "import azoai, azoai.client\n"
        "c = azoai.client.Client(endpoint='https://res.openai.azure.com', api_key='k', "
        "api='responses', transport='websocket', deployment='d', env={}, config_file='')\n"
        "print(sorted(m for m in ('openai', 'websockets', 'azoai.io.websocket') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


# --- the handshake ----------------------------------------------------------------------------


def test_handshake_carries_the_key_as_a_header_and_nothing_of_the_sdks(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (
        ("OPENAI_API_KEY", "sk-from-env"),
        ("OPENAI_ORG_ID", "org-x"),
        ("OPENAI_PROJECT_ID", "proj-x"),
        ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
    ):
        monkeypatch.setenv(name, value)
    client = make(emu, default_headers={"x-team": "search"})
    assert client.chat(ask("Say hi")).text == "hi"
    client.close()
    (hs,) = handshakes(emu)
    assert hs.status == 101
    assert hs.query == {}  # no key in the URL, no api-version for plain v1
    assert hs.headers["api-key"] == "***"
    assert hs.headers["x-team"] == "search"
    assert hs.headers["user-agent"].startswith("azoai/")
    for absent in ("authorization", "openai-beta", "openai-organization", "openai-project"):
        assert absent not in hs.headers
    assert not [h for h in hs.headers if h.startswith("x-stainless")]


@pytest.mark.parametrize(
    ("key_auth", "header", "query"),
    [("bearer", "authorization", {}), ("query", None, {"api-key": "***"})],
)
def test_key_auth_can_be_bearer_or_query(
    emu: Emulator, key_auth: str, header: str | None, query: dict[str, str]
) -> None:
    import openai

    client = make(emu, websocket={"key_auth": key_auth})
    if key_auth == "query" and int(openai.__version__.split(".")[0]) < 3:
        # openai 2.x logs the WebSocket URL, query included, at DEBUG (tests/test_secrets.py)
        with pytest.raises(E.ConfigError, match="openai>=3") as exc:
            client.chat(ask("Say ok"))
        assert exc.value.setting == "websocket.key_auth"
        client.close()
        assert handshakes(emu) == []
        return
    assert client.chat(ask("Say ok")).text == "ok"
    client.close()
    (hs,) = handshakes(emu)
    assert hs.query == query
    assert "api-key" not in hs.headers
    if header:
        assert hs.headers[header] == "***"


def test_preview_api_version_goes_in_the_query(emu: Emulator) -> None:
    client = make(emu, api_version="preview")
    client.chat(ask("Say ok"))
    client.close()
    assert handshakes(emu)[0].query == {"api-version": "preview"}


def test_ws_scheme_follows_the_endpoint(emu: Emulator) -> None:
    local = make(emu)
    remote = Client(
        endpoint="https://res.openai.azure.com",
        api_key="k",
        api="responses",
        transport="websocket",
        deployment="d",
        env={},
        config_file="",
    )
    urls = []
    for c in (local, remote):
        transport = WebSocketTransport(c)
        sdk = transport._sdk(False)
        urls.append(str(sdk.responses.connect()._prepare_url()))
        transport.close()
        c.close()
    port = emu.endpoint.rsplit(":", 1)[1]
    assert urls == [
        f"ws://127.0.0.1:{port}/openai/v1/responses",
        "wss://res.openai.azure.com/openai/v1/responses",
    ]


def test_entra_token_on_the_handshake_and_a_rotated_token_opens_a_new_socket(
    emu: Emulator,
) -> None:
    issued: list[str] = []

    def provider() -> str:
        issued.append(emu.issue_token())
        return issued[-1]

    client = make(emu, api_key=None, token_provider=provider, websocket={"close_on_finish": False})
    assert client.chat(ask("Say one")).text == "one"
    assert client.chat(ask("Say two")).text == "two"
    assert len(handshakes(emu)) == 1  # the same token: the same socket
    client.connection.auth.cache.invalidate()  # type: ignore[attr-defined]
    assert client.chat(ask("Say three")).text == "three"
    assert len(issued) == 2
    hs = handshakes(emu)
    assert len(hs) == 2
    assert hs[1].headers["authorization"] == "***"
    assert "api-key" not in hs[1].headers
    assert settle(emu, 1) == 1  # the old socket was closed, the new one stays open
    client.close()


def test_the_fingerprint_is_a_hash_never_the_secret(emu: Emulator) -> None:
    client = make(emu)
    transport = WebSocketTransport(client)
    a = transport._handshake({"api-key": emu.api_key}, CallOptions())
    b = transport._handshake({"api-key": "another-key"}, CallOptions())
    assert a.fingerprint != b.fingerprint
    assert len(a.fingerprint) == 32
    assert int(a.fingerprint, 16) >= 0
    assert emu.api_key not in a.fingerprint
    assert emu.api_key not in repr(transport)
    transport.close()
    client.close()


def test_a_refused_handshake_is_a_typed_error_and_not_retried(emu: Emulator) -> None:
    client = make(emu, api_key="wrong-key")
    with pytest.raises(E.AuthenticationError):
        client.chat(ask("hi"))
    client.close()
    assert len(handshakes(emu)) == 1


def test_extra_headers_may_not_carry_credentials(emu: Emulator) -> None:
    client = make(emu)
    with pytest.raises(E.ConfigError):
        client.chat(ask("hi"), options=CallOptions(extra_headers={"Authorization": "Bearer x"}))
    client.close()


# --- calls ------------------------------------------------------------------------------------


def test_chat_and_stream_give_what_http_gives(emu: Emulator) -> None:
    ws = make(emu)
    http = make(emu, transport="http")
    request = ChatRequest(messages=[Message("user", "Weather in Paris?")], tools=[WEATHER])
    over_ws, over_http = ws.chat(request), http.chat(request)
    assert over_ws.finish_reason == over_http.finish_reason == "tool_calls"
    assert [(c.name, c.arguments) for c in over_ws.tool_calls] == [
        (c.name, c.arguments) for c in over_http.tool_calls
    ]
    assert over_ws.usage == over_http.usage
    assert over_ws.model == over_http.model == "gpt-4o-2024-11-20"
    assert over_ws.api == "responses"
    assert over_ws.headers["x-ms-region"] == emu.region
    text = ask("Say 'one two three'")
    ws_deltas, http_deltas = list(ws.stream(text)), list(http.stream(text))
    assert [d.text for d in ws_deltas] == [d.text for d in http_deltas]
    assert ws_deltas[0].headers is not None
    assert ws_deltas[0].headers["apim-request-id"]
    assert ws_deltas[0].response_id
    assert ws_deltas[-1].finish_reason == "stop"
    assert ws_deltas[-1].usage == http_deltas[-1].usage
    ws.close()
    http.close()
    assert [r.method for r in emu.requests].count("POST") == 2


async def test_async_chat_and_stream(emu: Emulator) -> None:
    client = make(emu)
    assert (await client.achat(ask("Say async"))).text == "async"
    deltas = [d async for d in client.astream(ask("Say 'x y z'"))]
    assert "".join(d.text for d in deltas) == "x y z"
    assert deltas[-1].finish_reason == "stop"
    await client.aclose()
    assert len(handshakes(emu)) == 2


def test_http_only_fields_never_reach_the_socket(emu: Emulator) -> None:
    client = make(emu)
    extra = {"stream": True, "background": False, "stream_options": {"include_obfuscation": False}}
    assert client.chat(ask("Say ok", extra_body=extra)).text == "ok"
    assert list(client.stream(ask("Say ok", extra_body=extra)))[-1].finish_reason == "stop"
    client.close()
    for record in creates(emu):
        assert not {"stream", "background", "stream_options"} & set(record.body)


def test_an_incomplete_response_ends_the_stream(emu: Emulator) -> None:
    client = make(emu)
    deltas = list(client.stream(ask("Say 'a b c d e f'", max_tokens=2)))
    assert deltas[-1].finish_reason == "length"
    assert client.chat(ask("Say 'a b c d e f'", max_tokens=2)).finish_reason == "length"
    client.close()


def test_error_events_are_typed_errors_and_keep_the_socket(emu: Emulator) -> None:
    client = make(emu, websocket={"close_on_finish": False})
    with pytest.raises(E.NotFoundError):
        client.chat(ask("hi"), model="missing")
    with pytest.raises(E.NotFoundError):
        list(client.stream(ask("hi"), model="missing"))
    assert client.chat(ask("Say fine")).text == "fine"
    assert len(handshakes(emu)) == 1  # an error event ends a response, not the socket
    client.close()


def test_a_rate_limit_event_is_retried_on_the_same_socket(emu: Emulator) -> None:
    emu.inject("chat", Fault.rate_limit(retry_after_ms=20))
    client = make(emu)
    assert client.chat(ask("Say later")).text == "later"
    client.close()
    assert [r.status for r in creates(emu)] == [429, 200]
    assert len(handshakes(emu)) == 1


def test_the_completion_filter_raises_as_over_http(emu: Emulator) -> None:
    client = make(emu)
    emu.inject("chat", Fault.content_filter("completion", "hate"))
    with pytest.raises(E.ContentFilterError):
        client.chat(ask("Say something"))
    emu.inject("chat", Fault.content_filter("completion", "hate"))
    with pytest.raises(E.ContentFilterError):
        list(client.stream(ask("Say something")))
    emu.inject("chat", Fault.content_filter("completion", "hate"))
    kept = client.chat(ask("Say something"), options=CallOptions(return_filtered=True))
    assert kept.finish_reason == "content_filter"
    client.close()


def test_an_unknown_model_learns_reasoning_rules_over_the_socket(emu: Emulator) -> None:
    emu.add_deployment(EmulatorDeployment("mystery", model="o3-mini"))
    try:
        client = make(emu, deployment="mystery", model=None)
        assert client.chat(ask("Say ok", temperature=0.5)).text == "ok"
        client.close()
        statuses = [r.status for r in creates(emu)]
        assert statuses == [400, 200]
        assert "temperature" not in creates(emu)[1].body
    finally:
        emu.remove_deployment("mystery")


# --- lifetime: close on finish, kept sockets, sessions -----------------------------------------


def test_close_on_finish_is_the_default(emu: Emulator) -> None:
    client = make(emu)
    for word in ("one", "two"):
        assert client.chat(ask(f"Say {word}")).text == word
        assert settle(emu) == 0
    client.close()
    assert len(handshakes(emu)) == 2
    assert all("previous_response_id" not in r.body for r in creates(emu))


def test_kept_sockets_chain_an_agent_loop_and_answer_as_http_does(emu: Emulator) -> None:
    http = make(emu, transport="http")
    expected = weather_loop(http, turns=4)
    http.close()
    emu.reset()
    client = make(emu, websocket={"close_on_finish": False})
    assert weather_loop(client, turns=4) == expected
    assert settle(emu, 1) == 1
    client.close()
    assert len(handshakes(emu)) == 1
    sent = creates(emu)
    assert "previous_response_id" not in sent[0].body
    for record in sent[1:]:
        assert record.body["previous_response_id"]
        assert len(record.body["input"]) == 1  # only the new item: a tool result or a question
    assert all(r.body.get("instructions") == "You answer weather questions." for r in sent)


def test_chaining_can_be_turned_off(emu: Emulator) -> None:
    client = make(emu, websocket={"close_on_finish": False, "chain": False})
    weather_loop(client, turns=2)
    client.close()
    assert len(handshakes(emu)) == 1
    assert all("previous_response_id" not in r.body for r in creates(emu))


def test_a_session_keeps_its_socket_and_chains_the_clients_calls(emu: Emulator) -> None:
    client = make(emu)  # close_on_finish=True: only the session keeps a socket open
    with client.websocket_session() as session:
        weather_loop(client, turns=3)
        assert settle(emu, 1) == 1
        assert session.last_response_id == creates(emu)[-1].body.get("previous_response_id") or (
            session.last_response_id is not None
        )
        assert session.chat(ask("Say direct")).text == "direct"
    assert settle(emu) == 0
    assert len(handshakes(emu)) == 1
    assert [bool(r.body.get("previous_response_id")) for r in creates(emu)][:3] == [
        False,
        True,
        True,
    ]
    client.chat(ask("Say after"))  # outside the session: close on finish again
    assert len(handshakes(emu)) == 2
    client.close()


def test_a_session_on_an_http_client_routes_its_calls_over_the_socket(emu: Emulator) -> None:
    client = make(emu, transport="http")
    client.chat(ask("Say before"))
    with client.websocket_session():
        client.chat(ask("Say during"))
        assert "".join(d.text for d in client.stream(ask("Say streamed"))) == "streamed"
    client.chat(ask("Say after"))
    client.close()
    assert [r.method for r in emu.requests] == ["POST", "GET", "WS", "WS", "POST"]


async def test_an_async_session(emu: Emulator) -> None:
    client = make(emu)
    async with client.websocket_session() as session:
        first = await session.achat(ask("The code is 7. Say noted"))
        second = await client.achat(
            ChatRequest(
                messages=[
                    Message("user", "The code is 7. Say noted"),
                    first.message,
                    Message("user", "What is the code?"),
                ]
            )
        )
        assert "7" in second.text
        deltas = [d async for d in session.astream(ask("Say bye"))]
        assert deltas[-1].finish_reason == "stop"
    await client.aclose()
    assert len(handshakes(emu)) == 1
    assert creates(emu)[1].body["previous_response_id"] == first.response_id


def test_closing_twice_is_fine_and_closing_never_opens_a_socket(emu: Emulator) -> None:
    client = make(emu)
    client.close()
    client.close()
    session = make(emu).websocket_session()
    session.close()
    session.close()
    with pytest.raises(E.AzoaiError, match="closed"):
        session.chat(ask("hi"))
    session.client.close()
    assert handshakes(emu) == []


# --- one response in flight per socket ---------------------------------------------------------


def test_a_concurrent_request_opens_a_second_socket(emu: Emulator) -> None:
    client = make(emu, deployment="slow", websocket={"close_on_finish": False})
    first = client.stream(ask("Say 'a b c d e f g h'"))
    assert next(first).response_id
    assert client.chat(ask("Say meanwhile")).text == "meanwhile"
    assert "".join(d.text for d in first) == "a b c d e f g h"
    assert len(handshakes(emu)) == 2
    client.close()


def test_a_concurrent_continuation_raises_a_clear_error(emu: Emulator) -> None:
    client = make(emu, deployment="slow", websocket={"close_on_finish": False})
    stream = client.stream(ask("Say 'a b c d e f g h'", store=False))
    rid = next(stream).response_id
    assert rid
    follow_up = ask("And then?", previous_response_id=rid, store=False)
    with pytest.raises(WebSocketBusyError) as caught:
        client.chat(follow_up)
    assert rid in str(caught.value)
    assert "wait for the active stream" in (caught.value.fix or "")
    for _ in stream:
        pass
    assert client.chat(follow_up).finish_reason == "stop"  # once free, it continues from the cache
    assert len(handshakes(emu)) == 1
    assert [r.status for r in creates(emu)] == [200, 200]
    client.close()


def test_a_continuation_of_a_finished_response_on_a_busy_socket_also_raises(emu: Emulator) -> None:
    client = make(emu, deployment="slow", websocket={"close_on_finish": False})
    done = client.chat(ask("Say first", store=False))
    busy = client.stream(ask("Say 'a b c d e f'", store=False))  # reuses the socket holding it
    next(busy)
    with pytest.raises(WebSocketBusyError):
        client.chat(ask("more", previous_response_id=done.response_id, store=False))
    busy.close()
    client.close()


# --- previous_response_not_found ---------------------------------------------------------------


def test_not_found_retries_once_with_the_full_conversation(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    client = make(emu, websocket={"close_on_finish": False})
    first = client.chat(ask("The password is swordfish. Say noted", store=False))
    emu.drop_websockets()  # Azure forgets the socket's cache with the socket
    with caplog.at_level(logging.WARNING, logger="azoai.websocket"):
        second = client.chat(
            ask("What is the password?", previous_response_id=first.response_id, store=False)
        )
    assert "swordfish" in second.text
    assert "previous_response_not_found" in caplog.text
    sent = creates(emu)
    assert [r.status for r in sent] == [200, 400, 200]
    assert sent[1].body["previous_response_id"] == first.response_id
    assert "previous_response_id" not in sent[2].body
    roles = [(i.get("type"), i.get("role")) for i in sent[2].body["input"]]
    assert roles == [("message", "user"), ("message", "assistant"), ("message", "user")]
    assert len(handshakes(emu)) == 2  # the dropped socket was replaced transparently
    client.close()


def test_a_failed_chained_turn_is_resent_unchained(emu: Emulator) -> None:
    client = make(emu, websocket={"close_on_finish": False})
    history = [Message("user", "The colour is teal. Say noted")]
    first = client.chat(ChatRequest(messages=history, store=False))
    history += [first.message, Message("user", "What is the colour?")]
    emu.inject("chat", Fault.status(500))  # the chained turn fails: Azure evicts its parent
    second = client.chat(ChatRequest(messages=history, store=False))
    assert "teal" in second.text
    sent = creates(emu)
    assert [r.status for r in sent] == [200, 500, 200]
    assert sent[1].body["previous_response_id"] == first.response_id
    assert len(sent[1].body["input"]) == 1
    # the retry knows the parent is gone: the whole conversation, no not-found round trip
    assert "previous_response_id" not in sent[2].body
    assert len(sent[2].body["input"]) == 3
    assert len(handshakes(emu)) == 1
    client.close()


def test_a_response_the_transport_never_saw_cannot_be_rebuilt(emu: Emulator) -> None:
    http = make(emu, transport="http")
    stranger = http.chat(ask("Say elsewhere", store=False))
    http.close()
    client = make(emu)
    with pytest.raises(E.BadRequestError) as caught:
        client.chat(ask("Go on", previous_response_id=stranger.response_id, store=False))
    assert caught.value.code == "previous_response_not_found"
    assert "store=True" in (caught.value.fix or "")
    client.close()
    assert [r.status for r in creates(emu)] == [400]  # no loop


# --- reconnects, drops, aborts -----------------------------------------------------------------


def test_the_connection_limit_reconnects_transparently() -> None:
    clock = [1_800_000_000.0]
    with Emulator(deployments=DEPLOYMENTS, clock=lambda: clock[0], ws_max_age=3600) as emu:
        client = make(emu, websocket={"close_on_finish": False})
        assert client.chat(ask("Say early")).text == "early"
        clock[0] += 3600
        assert client.chat(ask("Say late")).text == "late"
        statuses = [r.status for r in creates(emu)]
        assert statuses == [200, 400, 200]
        assert len(handshakes(emu)) == 2
        assert settle(emu, 1) == 1
        client.close()
        assert settle(emu) == 0


def test_sockets_are_retired_before_their_max_age(emu: Emulator) -> None:
    client = make(emu, websocket={"close_on_finish": False, "max_age": 0.5})
    client.chat(ask("Say one"))
    time.sleep(0.6)
    client.chat(ask("Say two"))
    assert len(handshakes(emu)) == 2
    assert [r.status for r in creates(emu)] == [200, 200]  # retired before Azure refused it
    client.close()


def test_a_socket_dropped_while_idle_is_replaced_for_the_next_request(emu: Emulator) -> None:
    client = make(emu, websocket={"close_on_finish": False})
    client.chat(ask("Say one"))
    assert emu.drop_websockets() == 1
    assert client.chat(ask("Say two")).text == "two"
    assert "".join(d.text for d in client.stream(ask("Say three"))) == "three"
    assert len(handshakes(emu)) == 2
    client.close()


def test_a_socket_dropped_mid_stream(emu: Emulator) -> None:
    client = make(emu, websocket={"close_on_finish": False})
    emu.inject("chat", Fault.cut_stream(after_chunks=5))
    with pytest.raises(E.StreamInterruptedError) as caught:
        list(client.stream(ask("Say 'alpha beta gamma delta epsilon'")))
    assert caught.value.partial_text == "alpha"
    emu.inject("chat", Fault.cut_stream(after_chunks=5))
    assert client.chat(ask("Say 'a b c'")).text == "a b c"  # nothing was shown yet: resent
    assert settle(emu, 1) == 1
    client.close()


def test_a_silent_socket_times_out_and_is_closed(emu: Emulator) -> None:
    # No event within stream_idle: like HTTP waiting for its response headers, a timeout
    # (retried under the policy); after the first event it would be StreamInterruptedError.
    client = make(emu, deployment="slow", stream_idle_timeout=0.01, max_retries=1)
    with pytest.raises(E.TimeoutError):
        list(client.stream(ask("Say 'a b c'")))
    assert len(handshakes(emu)) == 2  # one retry, on a fresh socket each time
    client.close()


def test_abandoning_a_stream_closes_its_socket(emu: Emulator) -> None:
    client = make(emu, deployment="slow", websocket={"close_on_finish": False})
    stream = client.stream(ask("Say 'a b c d e f'"))
    next(stream)
    assert settle(emu, 1) == 1
    stream.close()
    assert settle(emu) == 0
    transport = client._ws
    assert transport is not None
    assert transport._pool.busy == [] and transport._pool.idle == []
    assert client.chat(ask("Say again")).text == "again"
    client.close()


async def test_cancelling_an_async_stream_closes_its_socket(emu: Emulator) -> None:
    client = make(emu, deployment="slow", websocket={"close_on_finish": False})
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in client.astream(ask("Say 'a b c d e f g h i j'")):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(settle, emu) == 0
    assert (await client.achat(ask("Say again"))).text == "again"
    await client.aclose()


async def test_an_async_stream_left_early_closes_its_socket_at_once(emu: Emulator) -> None:
    client = make(emu, deployment="slow", websocket={"close_on_finish": False})
    stream = client.astream(ask("Say 'a b c d e f g h'"))
    async for _ in stream:
        break
    await stream.aclose()  # what `async with aclosing(...)` or an async for's owner does
    assert emu.websockets_open <= 1
    assert await asyncio.to_thread(settle, emu) == 0
    transport = client._ws
    assert transport is not None
    assert transport._pool.busy == [] and transport._pool.idle == []
    await client.aclose()


def test_many_calls_from_threads_leave_nothing_behind(emu: Emulator) -> None:
    client = make(emu, websocket={"close_on_finish": False, "max_idle": 2})
    results: list[str] = []

    def work(i: int) -> None:
        results.append(client.chat(ask(f"Say w{i}")).text)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(results) == sorted(f"w{i}" for i in range(6))
    transport = client._ws
    assert transport is not None
    assert len(transport._pool.idle) <= 2
    client.close()
    assert json.dumps(sorted(results))  # (the fixture checks sockets and threads)

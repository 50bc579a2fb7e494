"""The emulator's Responses WebSocket (facts §11): handshake auth, response.create and its events,
one response in flight, the connection-local cache, the connection age limit and faults."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from emu_helpers import FakeClock, sse_payloads
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from azoai_emulator import Emulator, EmulatorDeployment, Fault

TERMINAL = {"response.completed", "response.incomplete", "response.failed", "error"}


def ws_url(emu: Emulator, query: str = "") -> str:
    return emu.endpoint.replace("http://", "ws://") + "/openai/v1/responses" + query


@contextmanager
def socket(
    emu: Emulator, headers: dict[str, str] | None = None, query: str = ""
) -> Iterator[ClientConnection]:
    with connect(
        ws_url(emu, query),
        additional_headers={"api-key": emu.api_key} if headers is None else headers,
        open_timeout=5,
        close_timeout=2,
    ) as ws:
        yield ws


def exchange(ws: ClientConnection, **body: Any) -> list[dict[str, Any]]:
    """Send one response.create and read its events up to the terminal one."""
    ws.send(json.dumps({"type": "response.create", **body}))
    return read_turn(ws)


def read_turn(ws: ClientConnection) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        event = json.loads(ws.recv(timeout=10))
        events.append(event)
        if event["type"] in TERMINAL:
            return events


def final(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert events[-1]["type"] == "response.completed", events[-1]
    response: dict[str, Any] = events[-1]["response"]
    return response


def text_of(response: dict[str, Any]) -> str:
    return "".join(
        part["text"]
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
    )


def error_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(events) == 1, events
    assert events[0]["type"] == "error"
    return events[0]


# --- handshake --------------------------------------------------------------------------------


def test_api_key_header_opens_the_socket_and_is_logged_redacted(emu: Emulator) -> None:
    with socket(emu) as ws:
        response = final(exchange(ws, model="chat", input="Say hello"))
        assert ws.response is not None
        assert ws.response.headers["x-ms-region"] == emu.region
        assert ws.response.headers["apim-request-id"]
    assert text_of(response) == "hello"
    handshake, message = emu.requests
    assert (handshake.method, handshake.path, handshake.status) == (
        "GET",
        "/openai/v1/responses",
        101,
    )
    assert handshake.headers["api-key"] == "***"
    assert (message.method, message.status, message.deployment) == ("WS", 200, "chat")
    assert message.body == {"model": "chat", "input": "Say hello"}
    assert message.headers["api-key"] == "***"


def test_bearer_key_entra_token_and_query_key_are_accepted(emu: Emulator) -> None:
    for headers, query in (
        ({"Authorization": f"Bearer {emu.api_key}"}, ""),
        ({"Authorization": f"Bearer {emu.issue_token()}"}, ""),
        ({}, f"?api-key={emu.api_key}"),
        ({"api-key": emu.api_key}, "?api-version=preview"),
    ):
        with socket(emu, headers, query) as ws:
            assert final(exchange(ws, model="chat", input="Say ok"))["status"] == "completed"
    logged = [r for r in emu.requests if r.method == "GET"]
    assert logged[2].query == {"api-key": "***"}  # a key in the URL never reaches the log
    assert logged[3].query == {"api-version": "preview"}


@pytest.mark.parametrize(
    ("headers", "query", "status"),
    [
        ({"api-key": "wrong"}, "", 401),
        ({}, "", 401),
        ({"Authorization": "Bearer not-a-token"}, "", 401),
        ({"api-key": "azoai-emulator-key"}, "?api-version=2024-10-21", 400),
    ],
)
def test_a_refused_handshake_answers_azure_errors(
    emu: Emulator, headers: dict[str, str], query: str, status: int
) -> None:
    with pytest.raises(InvalidStatus) as caught:
        connect(ws_url(emu, query), additional_headers=headers, open_timeout=5)
    response = caught.value.response
    assert response.status_code == status
    body = json.loads(bytes(response.body or b""))
    assert body.get("error", body)["message"]  # Azure's key and token errors differ in shape
    assert emu.requests[-1].status == status
    assert emu.websockets_open == 0


def test_only_the_v1_responses_path_upgrades(emu: Emulator) -> None:
    url = emu.endpoint.replace("http://", "ws://") + "/openai/v1/chat/completions"
    with pytest.raises(InvalidStatus):
        connect(url, additional_headers={"api-key": emu.api_key}, open_timeout=5)


# --- messages ---------------------------------------------------------------------------------


def test_events_are_the_http_streams_events(emu: Emulator, http: httpx.Client) -> None:
    body = {"model": "chat", "input": "Say 'one two three'", "store": False}
    r = http.post("/openai/v1/responses", json={**body, "stream": True})
    over_http = [e["type"] for e in sse_payloads(r.text)]
    with socket(emu) as ws:
        events = exchange(ws, **body)
    assert [e["type"] for e in events] == over_http
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert text_of(final(events)) == "one two three"
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(deltas) == "one two three"


def test_stream_and_background_do_not_apply(emu: Emulator) -> None:
    with socket(emu) as ws:
        for extra in ({"stream": True}, {"background": False}):
            error = error_of(exchange(ws, model="chat", input="hi", **extra))
            assert error["status"] == 400
            assert next(iter(extra)) in error["error"]["message"]
        # the socket stays usable after an error event
        assert final(exchange(ws, model="chat", input="Say fine"))["status"] == "completed"


def test_unknown_messages_get_an_error_event(emu: Emulator) -> None:
    with socket(emu) as ws:
        ws.send("not json")
        assert error_of(read_turn(ws))["error"]["code"] == "invalid_json"
        ws.send(json.dumps({"type": "session.update"}))
        assert error_of(read_turn(ws))["error"]["param"] == "type"
        assert final(exchange(ws, model="chat", input="Say ok"))["status"] == "completed"


def test_api_errors_become_error_events_with_status(emu: Emulator) -> None:
    with socket(emu) as ws:
        missing = error_of(exchange(ws, model="nope", input="hi"))
        assert missing["status"] == 404
        assert missing["error"]["code"] == "DeploymentNotFound"
        bad = error_of(exchange(ws, model="chat", input="hi", temperature=7))
        assert bad["status"] == 400


def test_one_response_in_flight_per_connection() -> None:
    slow = EmulatorDeployment("chat", model="gpt-4o", latency=0.3)
    with Emulator(deployments=[slow]) as emu, socket(emu) as ws:
        create = json.dumps({"type": "response.create", "model": "chat", "input": "Say one"})
        ws.send(create)
        ws.send(create)  # before the first one's terminal event
        first = json.loads(ws.recv(timeout=10))
        assert first["type"] == "error"
        assert first["error"]["code"] == "response_in_progress"
        assert text_of(final(read_turn(ws))) == "one"
        assert len([r for r in emu.requests if r.method == "WS"]) == 1  # the second never ran


def test_warm_up_returns_an_id_without_output(emu: Emulator) -> None:
    with socket(emu) as ws:
        warm = final(exchange(ws, model="chat", input="Remember: the code is 7.", generate=False))
        assert warm["output"] == []
        assert warm["usage"]["output_tokens"] == 0
        answer = final(
            exchange(
                ws,
                model="chat",
                input="What is the code?",
                previous_response_id=warm["id"],
                store=False,
            )
        )
    assert "7" in text_of(answer)


# --- the connection-local cache ---------------------------------------------------------------


def test_the_latest_response_is_cached_on_its_connection(emu: Emulator) -> None:
    with socket(emu) as ws:
        first = final(exchange(ws, model="chat", input="The password is swordfish.", store=False))
        second = final(
            exchange(
                ws,
                model="chat",
                input="What is the password?",
                previous_response_id=first["id"],
                store=False,
            )
        )
        assert "swordfish" in text_of(second)
    # store=False: another connection cannot continue it, and neither can HTTP
    with socket(emu) as other:
        error = error_of(
            exchange(other, model="chat", input="again?", previous_response_id=second["id"])
        )
    assert error["status"] == 400
    assert error["error"]["code"] == "previous_response_not_found"
    assert error["error"]["param"] == "previous_response_id"


def test_only_the_latest_response_is_cached(emu: Emulator) -> None:
    with socket(emu) as ws:
        first = final(exchange(ws, model="chat", input="Say a", store=False))
        final(exchange(ws, model="chat", input="Say b", store=False))
        error = error_of(
            exchange(ws, model="chat", input="more", previous_response_id=first["id"], store=False)
        )
    assert error["error"]["code"] == "previous_response_not_found"


def test_stored_responses_continue_on_any_connection(emu: Emulator) -> None:
    with socket(emu) as ws:
        first = final(exchange(ws, model="chat", input="The colour is teal."))
    with socket(emu) as ws:
        second = final(
            exchange(
                ws, model="chat", input="What is the colour?", previous_response_id=first["id"]
            )
        )
    assert "teal" in text_of(second)


def test_a_failed_continuation_evicts_its_previous_response(emu: Emulator) -> None:
    with socket(emu) as ws:
        first = final(exchange(ws, model="chat", input="The key is 42.", store=False))
        failed = error_of(
            exchange(
                ws,
                model="chat",
                input="hi",
                previous_response_id=first["id"],
                store=False,
                temperature=9,
            )
        )
        assert failed["status"] == 400
        gone = error_of(
            exchange(ws, model="chat", input="hi", previous_response_id=first["id"], store=False)
        )
    assert gone["error"]["code"] == "previous_response_not_found"


# --- lifetime and faults ----------------------------------------------------------------------


def test_connections_older_than_the_limit_are_refused_and_closed() -> None:
    clock = FakeClock()
    with (
        Emulator(
            deployments=[EmulatorDeployment("chat", model="gpt-4o")], clock=clock, ws_max_age=3600
        ) as emu,
        socket(emu) as ws,
    ):
        assert final(exchange(ws, model="chat", input="Say early"))["status"] == "completed"
        clock.advance(3600)
        error = error_of(exchange(ws, model="chat", input="Say late"))
        assert error["status"] == 400
        assert error["error"]["code"] == "websocket_connection_limit_reached"
        assert "60 minutes" in error["error"]["message"]
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 1000


def test_rate_limit_faults_are_error_events(emu: Emulator) -> None:
    emu.inject("chat", Fault.rate_limit(retry_after_ms=1500))
    with socket(emu) as ws:
        error = error_of(exchange(ws, model="chat", input="hi"))
        assert error["status"] == 429
        assert final(exchange(ws, model="chat", input="Say ok"))["status"] == "completed"


def test_cut_stream_and_close_connection_drop_the_socket(emu: Emulator) -> None:
    emu.inject("chat", Fault.cut_stream(after_chunks=2))
    with socket(emu) as ws:
        ws.send(json.dumps({"type": "response.create", "model": "chat", "input": "Say a b c"}))
        received = [json.loads(ws.recv(timeout=5)) for _ in range(2)]
        assert [e["type"] for e in received] == ["response.created", "response.in_progress"]
        with pytest.raises(ConnectionClosed) as caught:
            ws.recv(timeout=5)
        assert caught.value.rcvd is None  # no close frame: the TCP connection went away
    emu.inject("chat", Fault.close_connection())
    with socket(emu) as ws:
        ws.send(json.dumps({"type": "response.create", "model": "chat", "input": "hi"}))
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)


def test_latency_and_token_pacing_apply_per_message() -> None:
    paced = EmulatorDeployment("chat", model="gpt-4o", latency=0.15)
    with Emulator(deployments=[paced]) as emu, socket(emu) as ws:
        start = time.monotonic()
        final(exchange(ws, model="chat", input="Say hi"))
        assert time.monotonic() - start >= 0.15


def test_request_latency_is_paid_per_http_request_and_per_handshake_only() -> None:
    with Emulator(
        deployments=[EmulatorDeployment("chat", model="gpt-4o")], request_latency=0.4
    ) as emu:
        with httpx.Client(base_url=emu.endpoint, headers={"api-key": emu.api_key}) as http:
            start = time.monotonic()
            r = http.post("/openai/v1/responses", json={"model": "chat", "input": "hi"})
            assert r.status_code == 200
            assert time.monotonic() - start >= 0.4
        start = time.monotonic()
        with socket(emu) as ws:
            assert time.monotonic() - start >= 0.4  # the handshake
            start = time.monotonic()
            for _ in range(3):
                final(exchange(ws, model="chat", input="Say x"))
            assert time.monotonic() - start < 0.4  # three messages, no request latency


def test_open_sockets_are_counted_and_can_be_dropped(emu: Emulator) -> None:
    opened = emu.websockets_opened
    with socket(emu) as a, socket(emu) as b:
        deadline = time.monotonic() + 5
        while emu.websockets_open < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert emu.websockets_open == 2
        assert emu.drop_websockets() == 2
        assert emu.websockets_open == 0
        for ws in (a, b):
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
    assert emu.websockets_opened == opened + 2


@pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager")
def test_the_openai_sdk_connects_as_is(emu: Emulator) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=emu.v1_base_url, api_key=emu.api_key, max_retries=0)
    with client.responses.connect() as connection:
        connection.send({"type": "response.create", "model": "chat", "input": "Say sdk"})
        for event in connection:
            if event.type == "response.completed":
                assert event.response.output_text == "sdk"
                break
    client.close()
    assert emu.requests[0].headers["authorization"] == "***"

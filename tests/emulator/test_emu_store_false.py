"""Stateless reasoning in the emulator: ``store: false`` keeps nothing, a reasoning item sent back
by bare id gets the 400 users quote, and ``include: ["reasoning.encrypted_content"]`` returns
opaque content that is accepted back (and only that)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from emu_helpers import sse_payloads
from websockets.sync.client import connect

from azoai_emulator import Emulator

RESPONSES = "/openai/v1/responses"
ENCRYPTED = ["reasoning.encrypted_content"]


def create(http: httpx.Client, **body: Any) -> dict[str, Any]:
    r = http.post(RESPONSES, json=body)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def refused(http: httpx.Client, **body: Any) -> dict[str, Any]:
    r = http.post(RESPONSES, json=body)
    assert r.status_code == 400, r.text
    error: dict[str, Any] = r.json()["error"]
    return error


def reasoning_of(response: dict[str, Any]) -> dict[str, Any]:
    (item,) = [i for i in response["output"] if i["type"] == "reasoning"]
    return item


def follow_up(first: dict[str, Any], reasoning: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation after ``first``, its reasoning item sent back as ``reasoning``."""
    text = next(i for i in first["output"] if i["type"] == "message")["content"][0]["text"]
    return [
        {"role": "user", "content": "The password is swordfish. Say noted"},
        reasoning,
        {"role": "assistant", "content": text},
        {"role": "user", "content": "What is the password?"},
    ]


def test_a_bare_reasoning_id_under_store_false_is_the_400_users_quote(
    http: httpx.Client,
) -> None:
    first = create(
        http, model="reasoner", input="The password is swordfish. Say noted", store=False
    )
    item = reasoning_of(first)
    assert "encrypted_content" not in item  # not asked for
    bare = {"type": "reasoning", "id": item["id"], "summary": []}
    error = refused(http, model="reasoner", input=follow_up(first, bare), store=False)
    assert error == {
        "message": f"Item with id '{item['id']}' not found. Items are not persisted when `store` "
        "is set to false. Try again with `store` set to true, or remove this item from your "
        "input.",
        "type": "invalid_request_error",
        "param": "input",
        "code": None,
    }
    # the same response is not kept either: a continuation of it is not found
    chained = http.post(
        RESPONSES,
        json={"model": "reasoner", "input": "And?", "previous_response_id": first["id"]},
    )
    assert chained.status_code == 400
    assert chained.json()["error"]["code"] == "previous_response_not_found"


def test_a_bare_reasoning_id_is_fine_when_stored(http: httpx.Client) -> None:
    first = create(http, model="reasoner", input="The password is swordfish. Say noted")
    bare = {"type": "reasoning", "id": reasoning_of(first)["id"], "summary": []}
    second = create(http, model="reasoner", input=follow_up(first, bare))
    assert "swordfish" in second["output"][-1]["content"][0]["text"]


def test_encrypted_content_is_returned_and_accepted_back(http: httpx.Client) -> None:
    first = create(
        http,
        model="reasoner",
        input="The password is swordfish. Say noted",
        store=False,
        include=ENCRYPTED,
    )
    item = reasoning_of(first)
    sealed = item["encrypted_content"]
    assert isinstance(sealed, str) and sealed.startswith("gAAAAA")
    assert "swordfish" not in sealed and item["id"] not in sealed  # opaque
    sent = {"type": "reasoning", "id": item["id"], "summary": [], "encrypted_content": sealed}
    second = create(
        http, model="reasoner", input=follow_up(first, sent), store=False, include=ENCRYPTED
    )
    assert "swordfish" in second["output"][-1]["content"][0]["text"]
    assert reasoning_of(second)["encrypted_content"] != sealed  # each item its own


def test_encrypted_content_in_the_stream_arrives_with_the_finished_item(
    http: httpx.Client,
) -> None:
    r = http.post(
        RESPONSES,
        json={
            "model": "gpt-5-mini",
            "input": "Say hi",
            "store": False,
            "include": ENCRYPTED,
            "stream": True,
        },
    )
    assert r.status_code == 200
    events = sse_payloads(r.text)
    added = [e for e in events if e["type"] == "response.output_item.added"]
    done = [e for e in events if e["type"] == "response.output_item.done"]
    assert added[0]["item"]["type"] == "reasoning" and "encrypted_content" not in added[0]["item"]
    assert done[0]["item"]["encrypted_content"].startswith("gAAAAA")
    final = events[-1]["response"]
    assert reasoning_of(final)["encrypted_content"] == done[0]["item"]["encrypted_content"]


def test_altered_or_moved_encrypted_content_is_refused(http: httpx.Client) -> None:
    first = create(http, model="reasoner", input="Say a", store=False, include=ENCRYPTED)
    other = create(http, model="reasoner", input="Say b", store=False, include=ENCRYPTED)
    item = reasoning_of(first)
    sealed = item["encrypted_content"]
    flipped = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    for content in (flipped, "not-encrypted", reasoning_of(other)["encrypted_content"]):
        sent = {"type": "reasoning", "id": item["id"], "summary": [], "encrypted_content": content}
        error = refused(http, model="reasoner", input=follow_up(first, sent), store=False)
        assert error["code"] == "invalid_encrypted_content"
        assert error["message"] == (
            f"The encrypted content {content[:4]}...{content[-4:]} could not be verified. "
            "Reason: Encrypted content could not be decrypted or parsed."
        )


def test_encrypted_reasoning_is_refused_by_a_model_that_does_not_reason(
    http: httpx.Client,
) -> None:
    error = refused(http, model="chat", input="hi", store=False, include=ENCRYPTED)
    assert error == {
        "message": "Encrypted content is not supported with this model.",
        "type": "invalid_request_error",
        "param": "include",
        "code": None,
    }
    # other include values are the caller's business
    create(http, model="chat", input="hi", include=["message.output_text.logprobs"])


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ({"type": "reasoning", "summary": [], "encrypted_content": "x"}, "input[1].id"),
        ({"type": "reasoning", "id": "rs_1"}, "input[1].summary"),
    ],
)
def test_reasoning_items_need_an_id_and_a_summary(
    http: httpx.Client, item: dict[str, Any], param: str
) -> None:
    error = refused(
        http, model="reasoner", input=[{"role": "user", "content": "hi"}, item], store=False
    )
    assert error["param"] == param
    assert error["message"] == f"Missing required parameter: '{param}'."


def test_the_websocket_refuses_a_bare_id_under_store_false_too(emu: Emulator) -> None:
    with httpx.Client(base_url=emu.endpoint, headers={"api-key": emu.api_key}) as http:
        first = create(http, model="reasoner", input="Say noted", store=False)
    bare = {"type": "reasoning", "id": reasoning_of(first)["id"], "summary": []}
    url = emu.endpoint.replace("http://", "ws://") + RESPONSES
    with connect(url, additional_headers={"api-key": emu.api_key}, open_timeout=5) as ws:
        body = {"model": "reasoner", "input": follow_up(first, bare), "store": False}
        ws.send(json.dumps({"type": "response.create", **body}))
        event = json.loads(ws.recv(timeout=10))
    assert event["type"] == "error" and event["status"] == 400
    assert event["error"]["message"].startswith(f"Item with id '{bare['id']}' not found.")

"""Stateless reasoning on the Responses API (issue 16): with ``store=False`` the core asks for the
reasoning's encrypted content and sends reasoning back with it, never by bare id (Azure's
"Item with id 'rs_…' not found. Items are not persisted when `store` is set to false",
openclaw/openclaw#21782); a chained call whose previous response Azure does not have
(``previous_response_not_found``) is resent in full over HTTP, as over the WebSocket. Everything
runs through :class:`Client` against the emulator over loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from azoai import errors as E
from azoai.client import Client
from azoai.config.settings import RetryPolicy
from azoai.wire import ChatRequest, ChatResult, Message, StreamAccumulator
from azoai_emulator import Emulator, EmulatorDeployment, Fault
from azoai_emulator.protocol import RequestRecord

ENCRYPTED = "reasoning.encrypted_content"
FAST = RetryPolicy(max_retries=1, initial_delay=0.01, max_delay=0.05, max_retry_after=2.0)
DEPLOYMENTS = (
    EmulatorDeployment("chat", model="gpt-4o"),
    EmulatorDeployment("reasoner", model="o4-mini"),
)
MODES = ("chat", "achat", "stream", "astream")


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(deployments=DEPLOYMENTS) as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(emu: Emulator) -> None:
    emu.reset()


def make(emu: Emulator, **kw: Any) -> Client:
    kw.setdefault("deployment", "reasoner")
    kw.setdefault("model", "o4-mini" if kw["deployment"] == "reasoner" else "gpt-4o")
    return Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        api="responses",
        retry=FAST,
        env={},
        config_file="",
        **kw,
    )


def creates(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.method == "POST" and r.path.endswith("/responses")]


def user(text: str) -> Message:
    return Message("user", text)


async def call(client: Client, request: ChatRequest, mode: str) -> ChatResult:
    """One call the way ``mode`` makes it; a stream's result is what its deltas add up to."""
    if mode == "chat":
        return client.chat(request)
    if mode == "achat":
        return await client.achat(request)
    acc = StreamAccumulator(api="responses")
    if mode == "stream":
        for _ in client.stream(request, into=acc):
            pass
    else:
        async for _ in client.astream(request, into=acc):
            pass
    return acc.result()


# --- store=False: encrypted reasoning, never a bare id -------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_two_turns_without_the_store(emu: Emulator, mode: str) -> None:
    client = make(emu)
    history = [user("The password is swordfish. Say noted")]
    first = await call(client, ChatRequest(messages=history, store=False), mode)
    (reasoning,) = first.message.reasoning
    assert reasoning.id.startswith("rs_") and reasoning.encrypted_content
    history += [first.message, user("What is the password?")]
    second = await call(client, ChatRequest(messages=history, store=False), mode)
    assert "swordfish" in second.text
    sent = creates(emu)
    assert [r.status for r in sent] == [200, 200]
    assert sent[0].body["include"] == [ENCRYPTED] and sent[0].body["store"] is False
    replayed = [i for i in sent[1].body["input"] if i.get("type") == "reasoning"]
    assert replayed == [
        {
            "type": "reasoning",
            "id": reasoning.id,
            "summary": [],
            "encrypted_content": reasoning.encrypted_content,
        }
    ]
    client.close()


def test_reasoning_without_encrypted_content_is_left_out_not_sent_by_id(emu: Emulator) -> None:
    client = make(emu)
    history = [user("The password is swordfish. Say noted")]
    stored = client.chat(ChatRequest(messages=history))  # stored: no encrypted content asked
    assert "include" not in creates(emu)[0].body
    assert stored.message.reasoning[0].encrypted_content is None
    history += [stored.message, user("What is the password?")]
    with_store = client.chat(ChatRequest(messages=history))
    assert "swordfish" in with_store.text
    assert creates(emu)[1].body["input"][1]["type"] == "reasoning"  # by id: Azure has it
    without = client.chat(ChatRequest(messages=history, store=False))  # not a 400
    assert "swordfish" in without.text
    kinds = [i.get("type") for i in creates(emu)[2].body["input"]]
    assert kinds == ["message", "message", "message"]
    client.close()


def test_include_is_merged_once_and_store_false_may_come_in_extra_body(emu: Emulator) -> None:
    client = make(emu)
    logprobs = "message.output_text.logprobs"
    client.chat(ChatRequest(messages=[user("hi")], store=False, include=[logprobs, logprobs]))
    client.chat(ChatRequest(messages=[user("hi")], store=False, include=[ENCRYPTED, logprobs]))
    client.chat(ChatRequest(messages=[user("hi")], extra_body={"store": False}))
    client.chat(ChatRequest(messages=[user("hi")], store=False, extra_body={"include": [logprobs]}))
    assert [r.body.get("include") for r in creates(emu)] == [
        [logprobs, ENCRYPTED],
        [ENCRYPTED, logprobs],
        [ENCRYPTED],
        [logprobs, ENCRYPTED],
    ]
    assert [r.status for r in creates(emu)] == [200] * 4
    client.close()


def test_a_model_that_does_not_reason_is_not_asked_for_encrypted_reasoning(
    emu: Emulator,
) -> None:
    # Azure refuses it there: "Encrypted content is not supported with this model."
    client = make(emu, deployment="chat")
    result = client.chat(ChatRequest(messages=[user("Say hi")], store=False))
    assert result.text == "hi"
    assert "include" not in creates(emu)[0].body
    client.close()


# --- previous_response_not_found over HTTP ------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_a_lost_previous_response_is_resent_in_full(
    emu: Emulator, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = make(emu)
    first = client.chat(ChatRequest(messages=[user("The password is swordfish. Say noted")]))
    assert first.response_id is not None
    chained = ChatRequest(
        messages=[user("What is the password?")],
        previous_response_id=first.response_id,
        store=False,
    )
    # Azure no longer has it (deleted, expired, or on another resource)
    async with httpx.AsyncClient(base_url=emu.endpoint, headers={"api-key": emu.api_key}) as http:
        gone = await http.delete(f"/openai/v1/responses/{first.response_id}")
    assert gone.status_code == 200
    with caplog.at_level(logging.WARNING, logger="azoai.client"):
        second = await call(client, chained, mode)
    assert "swordfish" in second.text
    assert "previous_response_not_found" in caplog.text
    sent = creates(emu)
    assert [r.status for r in sent] == [200, 400, 200]
    assert sent[1].body["previous_response_id"] == first.response_id
    resent = sent[2].body
    assert "previous_response_id" not in resent
    # the conversation as the chain meant it; the first turn's reasoning had no encrypted
    # content (it was stored), so it cannot go back without the store
    assert [(i.get("type"), i.get("role")) for i in resent["input"]] == [
        ("message", "user"),
        ("message", "assistant"),
        ("message", "user"),
    ]
    client.close()


async def test_chaining_to_unstored_responses_keeps_working(emu: Emulator) -> None:
    client = make(emu)
    first = await client.achat(
        ChatRequest(messages=[user("The colour is teal. Say noted")], store=False)
    )
    second = client.chat(
        ChatRequest(
            messages=[user("The animal is an owl. Say noted")],
            previous_response_id=first.response_id,
            store=False,
        )
    )
    third = await client.achat(
        ChatRequest(
            messages=[user("What is the colour?")],
            previous_response_id=second.response_id,
            store=False,
        )
    )
    assert "teal" in third.text  # said two chained turns back
    sent = creates(emu)
    assert [r.status for r in sent] == [200, 400, 200, 400, 200]
    items = sent[4].body["input"]
    assert [i.get("role") or i["type"] for i in items] == [
        "user",
        "reasoning",
        "assistant",
        "user",
        "reasoning",
        "assistant",
        "user",
    ]
    # both earlier turns' reasoning went back with its encrypted content, never by bare id
    assert all(i["encrypted_content"] for i in items if i["type"] == "reasoning")
    client.close()


def test_instructions_are_the_new_calls_own(emu: Emulator) -> None:
    client = make(emu)
    brief = Message("system", "Be brief.")
    first = client.chat(
        ChatRequest(messages=[brief, user("The colour is teal. Say noted")], store=False)
    )
    client.chat(
        ChatRequest(
            messages=[Message("system", "Answer in one word."), user("What is the colour?")],
            previous_response_id=first.response_id,
            store=False,
        )
    )
    resent = creates(emu)[2].body
    assert resent["instructions"] == "Answer in one word."  # a chain does not carry them over
    assert [i.get("role") for i in resent["input"] if i["type"] == "message"] == [
        "user",
        "assistant",
        "user",
    ]
    client.close()


def test_a_response_this_client_never_made_cannot_be_rebuilt(emu: Emulator) -> None:
    other = make(emu)
    stranger = other.chat(ChatRequest(messages=[user("Say elsewhere")], store=False))
    other.close()
    client = make(emu)
    with pytest.raises(E.BadRequestError) as caught:
        client.chat(
            ChatRequest(
                messages=[user("Go on")], previous_response_id=stranger.response_id, store=False
            )
        )
    err = caught.value
    assert err.code == "previous_response_not_found"
    assert err.fix is not None and "without previous_response_id" in err.fix
    assert "store=True" in err.fix and "Fix:" in str(err)
    assert [r.status for r in creates(emu)] == [200, 400]  # no loop
    client.close()


def test_a_route_resends_the_chain_on_the_target_it_failed_over_to() -> None:
    deployments = [EmulatorDeployment("reasoner", model="o4-mini")]
    with (
        Emulator(deployments, region="East US") as east,
        Emulator(deployments, region="West US", api_key="west-key") as west,
    ):
        client = Client(
            endpoint=east.endpoint,
            api_key=east.api_key,
            deployment="r",
            api="responses",
            retry=FAST,
            routes={
                "r": {
                    "strategy": "failover",
                    "targets": [
                        {"deployment": "reasoner", "model": "o4-mini"},
                        {
                            "deployment": "reasoner",
                            "model": "o4-mini",
                            "endpoint": west.endpoint,
                            "api_key_env": "WEST_KEY",
                            "name": "west",
                        },
                    ],
                }
            },
            env={"WEST_KEY": west.api_key},
            config_file="",
        )
        first = client.chat(ChatRequest(messages=[user("The password is swordfish. Say noted")]))
        east.inject("*", Fault.status(503, count=None))  # east is down: the chain moves west
        second = client.chat(
            ChatRequest(
                messages=[user("What is the password?")], previous_response_id=first.response_id
            )
        )
        assert second.target == "west" and "swordfish" in second.text
        assert [r.status for r in creates(west)] == [400, 200]
        assert "previous_response_id" not in creates(west)[1].body
        client.close()

"""Multi-turn reasoning with ``store=False`` through AzureChatOpenAI on the Responses API (issue
16): the reasoning comes back as reasoning content blocks with its encrypted content and goes
back with it on the next turn, never by bare id (Azure's "Item with id 'rs_…' not found. Items
are not persisted when `store` is set to false", openclaw/openclaw#21782); invoke, stream and
their async twins; histories shaped by langchain-openai replay too; and chaining with
``use_previous_response_id`` to unstored responses is resent in full."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage

from azoai_emulator import Emulator, RequestRecord
from langchain_azoai import AzureChatOpenAI

ENCRYPTED = "reasoning.encrypted_content"
MODES = ("invoke", "ainvoke", "stream", "astream")


def reasoner(emu: Emulator, **kw: Any) -> AzureChatOpenAI:
    return AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="reasoner",
        model="o4-mini",
        use_responses_api=True,
        store=False,
        **kw,
    )


def creates(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.method == "POST" and r.path.endswith("/responses")]


async def turn(llm: AzureChatOpenAI, messages: list[BaseMessage], mode: str) -> AIMessage:
    """One turn the way ``mode`` makes it; a stream's chunks added up, as LangChain does."""
    if mode == "invoke":
        return llm.invoke(messages)
    if mode == "ainvoke":
        return await llm.ainvoke(messages)
    chunks: list[AIMessageChunk] = []
    if mode == "stream":
        chunks = list(llm.stream(messages))
    else:
        chunks = [c async for c in llm.astream(messages)]
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    return full


def reasoning_blocks(message: AIMessage) -> list[dict[str, Any]]:
    return [dict(b) for b in message.content_blocks if b["type"] == "reasoning"]


@pytest.mark.parametrize("mode", MODES)
async def test_two_turns_without_the_store(emu: Emulator, mode: str) -> None:
    llm = reasoner(emu)
    history: list[BaseMessage] = [HumanMessage("The password is swordfish. Say noted")]
    first = await turn(llm, history, mode)
    (block,) = reasoning_blocks(first)
    encrypted = block["extras"]["encrypted_content"]
    assert block["id"].startswith("rs_") and encrypted.startswith("gAAAAA")
    history += [first, HumanMessage("What is the password?")]
    second = await turn(llm, history, mode)
    assert "swordfish" in second.text
    sent = creates(emu)
    assert [r.status for r in sent] == [200, 200]
    assert sent[0].body["include"] == [ENCRYPTED]
    # the reasoning went back with its encrypted content: no bare id the store cannot resolve
    assert [i for i in sent[1].body["input"] if i["type"] == "reasoning"] == [
        {"type": "reasoning", "id": block["id"], "summary": [], "encrypted_content": encrypted}
    ]


def test_a_history_without_encrypted_reasoning_still_works(emu: Emulator) -> None:
    stored = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="reasoner",
        model="o4-mini",
        use_responses_api=True,
    )
    history: list[BaseMessage] = [HumanMessage("The password is swordfish. Say noted")]
    first = stored.invoke(history)  # stored: its reasoning has an id only
    assert reasoning_blocks(first) and "extras" not in reasoning_blocks(first)[0]
    history += [first, HumanMessage("What is the password?")]
    second = reasoner(emu).invoke(history)  # now without the store: not a 400
    assert "swordfish" in second.text
    assert [i["type"] for i in creates(emu)[1].body["input"]] == ["message"] * 3


def test_histories_written_by_langchain_openai_replay_their_encrypted_reasoning(
    emu: Emulator,
) -> None:
    llm = reasoner(emu)
    first = llm.invoke("The password is swordfish. Say noted")
    (block,) = reasoning_blocks(first)
    rid, encrypted = block["id"], block["extras"]["encrypted_content"]
    summary = [{"type": "summary_text", "text": "Noted.", "index": 0}]
    item = {"type": "reasoning", "id": rid, "summary": summary, "encrypted_content": encrypted}
    # output_version="responses/v1" (langchain-openai's default): the item among the content
    v1 = AIMessage(content=[item, {"type": "text", "text": first.text}])
    # output_version="v0": the item in additional_kwargs["reasoning"]
    v0 = AIMessage(content=first.text, additional_kwargs={"reasoning": item})
    for old in (v1, v0):
        answer = llm.invoke(
            [HumanMessage("The password is swordfish. Say noted"), old, HumanMessage("And?")]
        )
        assert answer.text
        sent = creates(emu)[-1].body["input"][1]
        assert sent == {
            "type": "reasoning",
            "id": rid,
            "summary": [{"type": "summary_text", "text": "Noted."}],
            "encrypted_content": encrypted,
        }


def test_chaining_to_unstored_responses_is_resent_in_full(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    llm = reasoner(emu, use_previous_response_id=True)
    history: list[BaseMessage] = [HumanMessage("The password is swordfish. Say noted")]
    first = llm.invoke(history)
    history += [first, HumanMessage("What is the password?")]
    with caplog.at_level(logging.WARNING, logger="azoai.client"):
        second = llm.invoke(history)
    assert "swordfish" in second.text
    assert "previous_response_not_found" in caplog.text
    sent = creates(emu)
    assert [r.status for r in sent] == [200, 400, 200]
    assert sent[1].body["previous_response_id"] == first.id and len(sent[1].body["input"]) == 1
    resent = sent[2].body
    assert "previous_response_id" not in resent
    assert [i["type"] for i in resent["input"]] == ["message", "reasoning", "message", "message"]
    assert resent["input"][1]["encrypted_content"]

"""Multi-turn reasoning with ``store=False`` through LlamaIndex's AzureOpenAI on the Responses API
(issue 16): the reasoning comes back as a ``ThinkingBlock`` carrying its id and encrypted content
in ``additional_information`` (as llama-index's OpenAIResponses keeps it) and goes back with it
on the next turn, never by bare id (Azure's "Item with id 'rs_…' not found. Items are not
persisted when `store` is set to false", openclaw/openclaw#21782); chat, stream_chat and their
async twins; and ``track_previous_responses`` with ``store=False`` is resent in full."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from li_helpers import ISOLATED, bodies
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, ThinkingBlock

from azoai_emulator import Emulator
from llamaindex_azoai import AzureOpenAI

ENCRYPTED = "reasoning.encrypted_content"
MODES = ("chat", "achat", "stream_chat", "astream_chat")


def reasoner(emu: Emulator, **kw: Any) -> AzureOpenAI:
    return AzureOpenAI(
        engine="reasoner",
        model="o3-mini",
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        use_responses_api=True,
        store=False,
        **ISOLATED,
        **kw,
    )


async def turn(llm: AzureOpenAI, messages: list[ChatMessage], mode: str) -> ChatResponse:
    """One turn the way ``mode`` makes it; a stream's last response holds the whole message."""
    if mode == "chat":
        return llm.chat(messages)
    if mode == "achat":
        return await llm.achat(messages)
    responses: list[ChatResponse] = []
    if mode == "stream_chat":
        responses.extend(llm.stream_chat(messages))
    else:
        responses.extend([r async for r in await llm.astream_chat(messages)])
    return responses[-1]


def thinking(message: ChatMessage) -> list[ThinkingBlock]:
    return [b for b in message.blocks if isinstance(b, ThinkingBlock)]


@pytest.mark.parametrize("mode", MODES)
async def test_two_turns_without_the_store(emu: Emulator, mode: str) -> None:
    llm = reasoner(emu)
    history = [ChatMessage(role="user", content="The password is swordfish. Say noted")]
    first = await turn(llm, history, mode)
    (block,) = thinking(first.message)
    info = block.additional_information
    assert info["id"].startswith("rs_") and info["encrypted_content"].startswith("gAAAAA")
    history += [first.message, ChatMessage(role="user", content="What is the password?")]
    second = await turn(llm, history, mode)
    assert "swordfish" in (second.message.content or "")
    sent = bodies(emu, "/responses")
    assert len(sent) == 2 and sent[0]["include"] == [ENCRYPTED]
    # the reasoning went back with its encrypted content: no bare id the store cannot resolve
    assert [i for i in sent[1]["input"] if i["type"] == "reasoning"] == [
        {
            "type": "reasoning",
            "id": info["id"],
            "summary": [],
            "encrypted_content": info["encrypted_content"],
        }
    ]


def test_a_thinking_block_without_encrypted_content_is_left_out(emu: Emulator) -> None:
    history = [
        ChatMessage(role="user", content="The password is swordfish. Say noted"),
        ChatMessage(
            role="assistant",
            blocks=[
                ThinkingBlock(content="Noted.", additional_information={"id": "rs_lost"}),
                *ChatMessage(role="assistant", content="Noted.").blocks,
            ],
        ),
        ChatMessage(role="user", content="What is the password?"),
    ]
    answer = reasoner(emu).chat(history)  # not a 400
    assert "swordfish" in (answer.message.content or "")
    assert [i["type"] for i in bodies(emu, "/responses")[0]["input"]] == ["message"] * 3


def test_tracked_responses_without_the_store_are_resent_in_full(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    llm = reasoner(emu, track_previous_responses=True)
    history = [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content="The password is swordfish. Say noted"),
    ]
    first = llm.chat(history)
    history += [first.message, ChatMessage(role="user", content="What is the password?")]
    with caplog.at_level(logging.WARNING, logger="azoai.client"):
        second = llm.chat(history)
    assert "swordfish" in (second.message.content or "")
    assert "previous_response_not_found" in caplog.text
    statuses = [r.status for r in emu.requests if r.path.endswith("/responses")]
    assert statuses == [200, 400, 200]
    chained, resent = bodies(emu, "/responses")[1:]
    assert chained["previous_response_id"] == first.additional_kwargs["response_id"]
    assert len(chained["input"]) == 1  # only what came after the chained response
    assert "previous_response_id" not in resent and resent["instructions"] == "Be brief."
    assert [i["type"] for i in resent["input"]] == ["message", "reasoning", "message", "message"]
    assert resent["input"][1]["encrypted_content"]
    # the resent turn is the new link of the chain
    assert llm.previous_response_id == second.additional_kwargs.get("response_id")

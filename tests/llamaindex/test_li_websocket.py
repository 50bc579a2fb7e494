"""The LlamaIndex adapter exposes the core's Responses-over-WebSocket transport."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llama_index.core.llms import ChatMessage

from azoai.errors import ConfigError
from azoai_emulator import Emulator
from llamaindex_azoai import AzureOpenAI


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


def llm(emu: Emulator, **kw: object) -> AzureOpenAI:
    return AzureOpenAI(
        engine="chat",
        model="gpt-4o",
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        use_responses_api=True,
        transport="websocket",
        env={},
        config_file="",
        **kw,
    )  # type: ignore[arg-type]


def test_chat_and_stream_go_over_the_socket(emu: Emulator) -> None:
    emu.reset()
    model = llm(emu)
    question = [
        ChatMessage(
            role="user", content="Context: Rome has seven hills.\n\nHow many hills does Rome have?"
        )
    ]
    assert "seven hills" in str(model.chat(question).message.content)
    assert "seven hills" in "".join(r.delta or "" for r in model.stream_chat(question))
    assert emu.websockets_opened >= 1
    assert not [q for q in emu.requests if q.method == "POST"]  # nothing went over HTTP


async def test_a_session_chains_turns_on_one_socket(emu: Emulator) -> None:
    emu.reset()
    model = llm(emu)
    opened = emu.websockets_opened
    history = [ChatMessage(role="user", content="Context: Oslo is in Norway.\n\nWhere is Oslo?")]
    async with model.websocket_session():
        first = await model.achat(history)
        history += [first.message, ChatMessage(role="user", content="Say thanks")]
        second = await model.achat(history)
    assert "Norway" in str(first.message.content) and second.message.content
    assert emu.websockets_opened - opened == 1


def test_websocket_needs_the_responses_api(emu: Emulator) -> None:
    with pytest.raises(ConfigError, match="responses"):
        AzureOpenAI(
            engine="chat",
            azure_endpoint=emu.endpoint,
            api_key=emu.api_key,
            transport="websocket",
            env={},
            config_file="",
        )  # type: ignore[call-arg]

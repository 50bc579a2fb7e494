"""AzureOpenAI (LlamaIndex) on Foundry's non-OpenAI reasoning models (issue 16), against the
emulator over loopback: DeepSeek-R1 style ``<think>…</think>`` in the content and DeepSeek V style
``reasoning_content`` reach the user as a ``ThinkingBlock`` (streamed as
``additional_kwargs["thinking_delta"]``, where llama-index's own OpenAI classes put it), never as
answer text; ``ChatResponse.delta`` carries the answer only. chat and complete, sync and async,
streamed and not."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from li_helpers import ISOLATED
from llama_index.core.base.llms.types import ChatResponse, TextBlock, ThinkingBlock
from llama_index.core.llms import ChatMessage

from azoai_emulator import Emulator, EmulatorDeployment
from llamaindex_azoai import AzureOpenAI

QUESTION = "What is the capital of France?"
THOUGHT = f"The user asks: {QUESTION}\nI will check what I know and answer plainly."
ANSWER = f"You said: {QUESTION}"
MESSAGES = [ChatMessage(role="user", content=QUESTION)]
#: (deployment, model, reasoning as shown: in tags, the newline before </think> is inside)
CASES = [
    pytest.param("r1", "DeepSeek-R1", THOUGHT + "\n", id="think-tags"),
    pytest.param("v4", "DeepSeek-V4-Pro", THOUGHT, id="reasoning_content"),
]


@pytest.fixture(scope="module")
def foundry() -> Iterator[Emulator]:
    deployments = (
        EmulatorDeployment("r1", model="DeepSeek-R1"),
        EmulatorDeployment("v4", model="DeepSeek-V4-Pro"),
        EmulatorDeployment("chat", model="gpt-4o"),
    )
    with Emulator(deployments) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _reset(foundry: Emulator) -> None:
    foundry.reset()


def llm(emu: Emulator, deployment: str, model: str) -> AzureOpenAI:
    return AzureOpenAI(
        engine=deployment,
        model=model,
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        api_version="v1",
        **ISOLATED,
    )


def _check_message(message: ChatMessage, thought: str) -> None:
    thinking, text = message.blocks
    assert isinstance(thinking, ThinkingBlock) and thinking.content == thought
    assert isinstance(text, TextBlock) and text.text == ANSWER
    assert message.content == ANSWER


def _check_stream(responses: Sequence[ChatResponse], thought: str) -> None:
    deltas = [r.delta or "" for r in responses]
    assert "".join(deltas) == ANSWER
    assert all("think>" not in d and "The user asks" not in d for d in deltas)
    thinking = "".join(r.additional_kwargs.get("thinking_delta") or "" for r in responses)
    assert thinking == thought
    for r in responses:  # every cumulative message keeps the thinking out of its text
        assert "The user asks" not in (r.message.content or "")
    _check_message(responses[-1].message, thought)


@pytest.mark.parametrize(("deployment", "model", "thought"), CASES)
def test_chat(foundry: Emulator, deployment: str, model: str, thought: str) -> None:
    _check_message(llm(foundry, deployment, model).chat(MESSAGES).message, thought)


@pytest.mark.parametrize(("deployment", "model", "thought"), CASES)
async def test_achat(foundry: Emulator, deployment: str, model: str, thought: str) -> None:
    _check_message((await llm(foundry, deployment, model).achat(MESSAGES)).message, thought)


@pytest.mark.parametrize(("deployment", "model", "thought"), CASES)
def test_stream_chat(foundry: Emulator, deployment: str, model: str, thought: str) -> None:
    _check_stream(list(llm(foundry, deployment, model).stream_chat(MESSAGES)), thought)


@pytest.mark.parametrize(("deployment", "model", "thought"), CASES)
async def test_astream_chat(foundry: Emulator, deployment: str, model: str, thought: str) -> None:
    stream = await llm(foundry, deployment, model).astream_chat(MESSAGES)
    _check_stream([r async for r in stream], thought)


@pytest.mark.parametrize(("deployment", "model", "thought"), CASES)
def test_complete_gives_the_answer(
    foundry: Emulator, deployment: str, model: str, thought: str
) -> None:
    model_ = llm(foundry, deployment, model)
    assert model_.complete(QUESTION).text == ANSWER
    assert "".join(r.delta or "" for r in model_.stream_complete(QUESTION)) == ANSWER


@pytest.mark.parametrize(("deployment", "model", "thought"), CASES)
async def test_acomplete_gives_the_answer(
    foundry: Emulator, deployment: str, model: str, thought: str
) -> None:
    model_ = llm(foundry, deployment, model)
    assert (await model_.acomplete(QUESTION)).text == ANSWER
    stream: Any = await model_.astream_complete(QUESTION)
    assert "".join([r.delta or "" async for r in stream]) == ANSWER


def test_the_thinking_is_not_sent_back_as_answer_text(foundry: Emulator) -> None:
    model = llm(foundry, "r1", "DeepSeek-R1")
    first = model.chat(MESSAGES).message
    model.chat([*MESSAGES, first, ChatMessage(role="user", content="And of Spain?")])
    body = foundry.requests[-1].body
    assert isinstance(body, dict)
    assert body["messages"][1]["content"] == ANSWER


def test_a_think_tag_from_an_openai_model_is_text(foundry: Emulator) -> None:
    foundry.script("chat", ["<think>an XML example</think>"] * 2)
    gpt = llm(foundry, "chat", "gpt-4o")
    message = gpt.chat(MESSAGES).message
    assert message.content == "<think>an XML example</think>"
    assert not any(isinstance(b, ThinkingBlock) for b in message.blocks)
    streamed = list(gpt.stream_chat(MESSAGES))
    assert "".join(r.delta or "" for r in streamed) == "<think>an XML example</think>"

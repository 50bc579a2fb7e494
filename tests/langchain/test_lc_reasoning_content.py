"""AzureChatOpenAI on Foundry's non-OpenAI reasoning models (issue 16), against the emulator over
loopback: DeepSeek-R1 style ``<think>…</think>`` in the content and DeepSeek V style
``reasoning_content`` reach the user as reasoning (a ``reasoning`` content block,
``additional_kwargs["reasoning_content"]`` as langchain-deepseek has it), never as answer text;
invoke and stream, sync and async, output versions v0 and v1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from azoai_emulator import Emulator, EmulatorDeployment
from langchain_azoai import AzureChatOpenAI

QUESTION = "What is the capital of France?"
THOUGHT = f"The user asks: {QUESTION}\nI will check what I know and answer plainly."
ANSWER = f"You said: {QUESTION}"
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


def llm(emu: Emulator, deployment: str, model: str, **kw: Any) -> AzureChatOpenAI:
    return AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment=deployment,
        model=model,
        api_version="v1",
        **kw,
    )


def aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    return full


def _check_message(msg: AIMessage, thought: str) -> None:
    assert msg.content == ANSWER and msg.text == ANSWER
    assert msg.additional_kwargs["reasoning_content"] == thought
    assert msg.content_blocks == [
        {"type": "reasoning", "reasoning": thought},
        {"type": "text", "text": ANSWER},
    ]


def _check_chunks(chunks: list[AIMessageChunk], thought: str) -> None:
    for c in chunks:  # what each chunk shows: the answer text never holds the thinking
        assert "think>" not in c.text and "The user asks" not in c.text
    assert "".join(c.text for c in chunks) == ANSWER
    streamed = "".join(str(c.additional_kwargs.get("reasoning_content") or "") for c in chunks)
    assert streamed == thought
    # each reasoning chunk presents a reasoning block, merged by its index when added up
    assert any(b["type"] == "reasoning" for c in chunks for b in c.content_blocks)
    full = aggregate(chunks)
    assert full.text == ANSWER
    assert [b["type"] for b in full.content_blocks] == ["reasoning", "text"]
    assert full.content_blocks[0]["reasoning"] == thought  # type: ignore[typeddict-item]


@pytest.mark.parametrize(("deployment", "model", "thought"), CASES)
def test_invoke(foundry: Emulator, deployment: str, model: str, thought: str) -> None:
    _check_message(llm(foundry, deployment, model).invoke(QUESTION), thought)


@pytest.mark.parametrize(("deployment", "model", "thought"), CASES)
async def test_ainvoke(foundry: Emulator, deployment: str, model: str, thought: str) -> None:
    _check_message(await llm(foundry, deployment, model).ainvoke(QUESTION), thought)


@pytest.mark.parametrize(("deployment", "model", "thought"), CASES)
def test_stream(foundry: Emulator, deployment: str, model: str, thought: str) -> None:
    _check_chunks(list(llm(foundry, deployment, model).stream(QUESTION)), thought)


@pytest.mark.parametrize(("deployment", "model", "thought"), CASES)
async def test_astream(foundry: Emulator, deployment: str, model: str, thought: str) -> None:
    chunks = [c async for c in llm(foundry, deployment, model).astream(QUESTION)]
    _check_chunks(chunks, thought)


@pytest.mark.parametrize(("deployment", "model", "thought"), CASES)
def test_output_version_v1(foundry: Emulator, deployment: str, model: str, thought: str) -> None:
    v1 = llm(foundry, deployment, model, output_version="v1")
    expected = [{"type": "reasoning", "reasoning": thought}, {"type": "text", "text": ANSWER}]
    assert v1.invoke(QUESTION).content == expected
    streamed = aggregate(list(v1.stream(QUESTION))).content
    assert [{k: v for k, v in b.items() if k != "index"} for b in streamed] == expected  # type: ignore[union-attr]


def test_the_thinking_is_not_sent_back_as_answer_text(foundry: Emulator) -> None:
    model = llm(foundry, "r1", "DeepSeek-R1")
    first = model.invoke(QUESTION)
    model.invoke([HumanMessage(QUESTION), first, HumanMessage("And of Spain?")])
    body = foundry.requests[-1].body
    assert isinstance(body, dict)
    assert body["messages"][1] == {"role": "assistant", "content": ANSWER}


def test_a_think_tag_from_an_openai_model_or_later_in_the_answer_is_text(
    foundry: Emulator,
) -> None:
    foundry.script("chat", ["<think>an XML example</think>", "<think>an XML example</think>"])
    gpt = llm(foundry, "chat", "gpt-4o")
    msg = gpt.invoke("Show the tag")
    assert msg.content == "<think>an XML example</think>"
    assert "reasoning_content" not in msg.additional_kwargs
    assert aggregate(list(gpt.stream("Show the tag"))).text == "<think>an XML example</think>"
    foundry.script("r1", ["Write <think> to open.", "Write <think> to open."])
    r1 = llm(foundry, "r1", "DeepSeek-R1")
    assert r1.invoke(QUESTION).content == "Write <think> to open."
    assert aggregate(list(r1.stream(QUESTION))).text == "Write <think> to open."

"""Reasoning from Foundry's non-OpenAI models (issue 16): DeepSeek-R1 style ``<think>…</think>``
at the start of the content and DeepSeek V style ``reasoning_content`` are reasoning, never answer
text. The split state machine at the wire level (tags split across chunks, a ``<think>`` later in
the answer left alone, nothing held back beyond a tag's length), then the Client against the
emulator's Foundry deployments over loopback, sync and async, streamed and not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from azoai.client import Client
from azoai.wire import ChatRequest, Message, StreamAccumulator, StreamDelta
from azoai.wire.chat_completions import parse_chunk, parse_response
from azoai.wire.stream import THINK_CLOSE, THINK_OPEN, ThinkSplitter, split_think
from azoai_emulator import Emulator, EmulatorDeployment

THOUGHT = "Okay, the user wants 2+2.\nThat is 4."
ANSWER = "The answer is 4. A <think> tag later is text."
CONTENT = f"<think>\n{THOUGHT}\n</think>\n\n{ANSWER}"


def _fold(pieces: list[str], *, model: str = "DeepSeek-R1", **kw: Any) -> tuple[Any, list[Any]]:
    """Fold ``pieces`` as one stream's text deltas (the last one finishing it); the result and
    the deltas as a consumer sees them after the fold."""
    acc = StreamAccumulator(**kw)
    seen = []
    for i, piece in enumerate(pieces):
        delta = StreamDelta(
            text=piece, model=model, finish_reason="stop" if i == len(pieces) - 1 else None
        )
        acc.add(delta)
        seen.append(delta)
    return acc.result(), seen


# --- the split, whole and streamed ------------------------------------------------------------


def test_a_leading_think_block_is_reasoning_and_the_rest_the_answer() -> None:
    assert split_think(CONTENT) == (ANSWER, THOUGHT + "\n")
    assert split_think("\n  <think>a</think>b") == ("b", "a")  # after whitespace
    assert split_think("<think></think>answer") == ("answer", "")


def test_a_think_tag_that_is_not_at_the_start_stays_in_the_answer() -> None:
    for text in ("Answer: <think>x</think> y", "<thinking>x</thinking>", "x<think>y</think>"):
        assert split_think(text) == (text, "")
        result, _ = _fold([text])
        assert result.text == text and result.message.reasoning == []


def test_an_unclosed_block_is_all_reasoning_and_a_partial_tag_is_text() -> None:
    # cut by max_tokens while thinking: nothing of it is an answer
    assert split_think("<think>\nstill thinking") == ("", "still thinking")
    result, _ = _fold(["<thi", "nk>still", " thinking"])
    assert result.text == "" and result.message.reasoning[0].summary == ["still thinking"]
    # a stream that ends inside what could have been the tag: the held text is the answer
    result, _ = _fold(["  <thi"])
    assert result.text == "  <thi" and result.message.reasoning == []


def _every_split(text: str) -> Iterator[list[str]]:
    yield [text]
    yield list(text)  # one character per chunk
    for i in range(1, len(text)):
        yield [text[:i], text[i:]]
    for i in range(1, len(text), 3):
        for j in range(i + 1, len(text), 5):
            yield [text[:i], text[i:j], text[j:]]


@pytest.mark.parametrize(
    "content", [CONTENT, "\n<think>a</think>b", "<think>x</think>", "<think>never closed", "<th"]
)
def test_a_stream_split_anywhere_adds_up_to_the_whole_split(content: str) -> None:
    answer, reasoning = split_think(content)
    for pieces in _every_split(content):
        result, deltas = _fold(pieces)
        assert result.text == answer, pieces
        assert "".join(d.reasoning_text for d in deltas) == reasoning, pieces
        assert "".join(d.text for d in deltas) == answer, pieces
        for d in deltas:  # what a consumer sees: no tag ever reaches the answer
            assert THINK_OPEN not in d.text or answer.find(THINK_OPEN) >= 0
            assert THINK_CLOSE not in d.text and THINK_CLOSE not in d.reasoning_text


def test_tags_split_across_chunks() -> None:
    result, deltas = _fold(["<thi", "nk>", "\nhm", "m </th", "ink", ">\n", "\nThe", " answer"])
    assert [(d.text, d.reasoning_text) for d in deltas] == [
        ("", ""),
        ("", ""),
        ("", "hm"),
        ("", "m "),
        ("", ""),
        ("", ""),
        ("The", ""),
        (" answer", ""),
    ]
    assert result.text == "The answer" and result.message.reasoning[0].summary == ["hmm "]


def test_nothing_is_held_back_beyond_a_tags_length() -> None:
    splitter = ThinkSplitter()
    splitter.feed("<think>")
    for piece in ("long thought " * 50 + "<", "/", "th", "in"):
        splitter.feed(piece)
        assert len(splitter.held) < len(THINK_CLOSE)
    assert splitter.held == "</thin"
    assert splitter.feed("g, not a tag") == ("", "</thing, not a tag")
    assert splitter.held == ""
    # at the start: leading whitespace and at most the tag's first characters
    start = ThinkSplitter()
    assert start.feed("\n<thin") == ("", "") and start.held == "\n<thin"
    assert start.feed("g") == ("\n<thing", "") and start.done


def test_an_answer_without_a_block_streams_unchanged_from_its_second_chunk() -> None:
    result, deltas = _fold(["Hello", " <think>", " world"])
    assert [d.text for d in deltas] == ["Hello", " <think>", " world"]
    assert result.text == "Hello <think> world"


def test_only_families_that_think_in_tags_are_split() -> None:
    # an OpenAI model's answer is never touched, whatever it starts with
    result, deltas = _fold(["<think>", "x</think>y"], model="gpt-4o-2024-11-20")
    assert result.text == "<think>x</think>y" and result.message.reasoning == []
    assert [d.text for d in deltas] == ["<think>", "x</think>y"]
    # a model the stream does not name is not split either (conservative)
    result, _ = _fold(["<think>x</think>y"], model="")
    assert result.text == "<think>x</think>y"
    for model in ("DeepSeek-R1-0528", "MAI-DS-R1", "Phi-4-reasoning", "DeepSeek-V4-Pro"):
        assert _fold(["<think>x</think>y"], model=model)[0].text == "y", model
    # the caller decides, when it knows better
    assert _fold(["<think>x</think>y"], model="gpt-4o", think_tags=True)[0].text == "y"
    assert _fold(["<think>x</think>y"], think_tags=False)[0].text == "<think>x</think>y"


def test_the_splitter_stops_for_good() -> None:
    # past the start it costs one attribute test per chunk
    acc = StreamAccumulator()
    acc.add(StreamDelta(text="Hi", model="gpt-4o"))
    assert acc.think is None
    acc = StreamAccumulator()
    acc.add(StreamDelta(text="<think>a</think>b", model="DeepSeek-R1"))
    assert acc.think is None and acc.text == "b" and acc.reasoning_text == "a"
    # reasoning in its own field: the content is all answer
    acc = StreamAccumulator()
    acc.add(StreamDelta(reasoning_text="thinking", model="DeepSeek-R1"))
    acc.add(StreamDelta(text="<think>literal</think>", model="DeepSeek-R1"))
    assert acc.text == "<think>literal</think>" and acc.reasoning_text == "thinking"


def test_folding_split_deltas_again_changes_nothing() -> None:
    # a routed or WebSocket stream is folded by the inner stream and again into the caller's
    # accumulator
    first, deltas = _fold(["<thi", "nk>ab", "c</think>", "\n\nAn", "swer"])
    again = StreamAccumulator()
    for d in deltas:
        again.add(d)
    second = again.result()
    assert (second.text, second.message.reasoning) == (first.text, first.message.reasoning)
    assert second.text == "Answer"


# --- the Chat Completions dialect -------------------------------------------------------------


def _body(message: dict[str, Any], model: str = "DeepSeek-R1") -> dict[str, Any]:
    return {"id": "c", "model": model, "choices": [{"index": 0, "message": message}]}


def test_a_response_s_reasoning_content_and_think_block_are_reasoning() -> None:
    r = parse_response(_body({"content": "4", "reasoning_content": "2+2"}, "DeepSeek-V4-Pro"))
    assert r.text == "4" and r.message.reasoning[0].summary == ["2+2"]
    r = parse_response(_body({"content": "4", "reasoning": "2+2"}, "some-gateway-model"))
    assert r.text == "4" and r.message.reasoning[0].summary == ["2+2"]
    r = parse_response(_body({"content": CONTENT}))
    assert r.text == ANSWER and r.message.reasoning[0].summary == [THOUGHT + "\n"]
    # not a family that thinks in tags; the caller may say otherwise either way
    assert parse_response(_body({"content": CONTENT}, "gpt-4o")).text == CONTENT
    assert parse_response(_body({"content": CONTENT}, "gpt-4o"), think_tags=True).text == ANSWER
    assert parse_response(_body({"content": CONTENT}), think_tags=False).text == CONTENT
    # reasoning already beside the content: the content is the answer as it is
    r = parse_response(_body({"content": "<think>x</think>", "reasoning_content": "y"}))
    assert r.text == "<think>x</think>" and r.message.reasoning[0].summary == ["y"]
    # a structured reasoning value is not text
    assert (
        parse_response(_body({"content": "4", "reasoning": {"effort": "low"}})).message.reasoning
        == []
    )


def test_a_chunk_s_reasoning_content_is_reasoning_text() -> None:
    def chunk(delta: dict[str, Any]) -> dict[str, Any]:
        return {"id": "c", "model": "DeepSeek-V4-Pro", "choices": [{"index": 0, "delta": delta}]}

    d = parse_chunk(chunk({"content": None, "reasoning_content": "hm"}))
    assert d is not None and (d.text, d.reasoning_text) == ("", "hm")
    d = parse_chunk(chunk({"content": "4", "reasoning": "gateway"}))
    assert d is not None and (d.text, d.reasoning_text) == ("4", "gateway")
    d = parse_chunk(chunk({"content": "4", "reasoning_content": None}))
    assert d is not None and (d.text, d.reasoning_text) == ("4", "")
    assert parse_chunk(chunk({"reasoning": {"summary": []}})) is None


# --- the Client against the emulator's Foundry deployments --------------------------------------

DEPLOYMENTS = (
    EmulatorDeployment("r1", model="DeepSeek-R1"),
    EmulatorDeployment("v4", model="DeepSeek-V4-Pro"),
    EmulatorDeployment("chat", model="gpt-4o"),
)
QUESTION = "What is the capital of France?"
EMU_THOUGHT = f"The user asks: {QUESTION}\nI will check what I know and answer plainly."
EMU_ANSWER = f"You said: {QUESTION}"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(DEPLOYMENTS) as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(emu: Emulator) -> None:
    emu.reset()


def client(emu: Emulator, deployment: str, **kw: Any) -> Client:
    kw.setdefault("api_version", "v1")
    return Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        deployment=deployment,
        api="chat",
        env={},
        config_file="",
        **kw,
    )


REQUEST = ChatRequest(messages=[Message("user", QUESTION)])
#: (deployment, reasoning as the model shows it: in tags its trailing newline is inside the block)
CASES = [
    pytest.param("r1", EMU_THOUGHT + "\n", id="think-tags"),
    pytest.param("v4", EMU_THOUGHT, id="reasoning_content"),
]
ROUTES = [
    pytest.param({}, id="v1"),
    pytest.param({"api_version": "2024-10-21"}, id="deployments"),
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(("deployment", "thought"), CASES)
def test_chat_returns_the_answer_and_the_reasoning_apart(
    emu: Emulator, deployment: str, thought: str, route: dict[str, str]
) -> None:
    result = client(emu, deployment, **route).chat(REQUEST)
    assert result.text == EMU_ANSWER
    assert [r.summary for r in result.message.reasoning] == [[thought]]


@pytest.mark.parametrize(("deployment", "thought"), CASES)
async def test_achat_returns_the_answer_and_the_reasoning_apart(
    emu: Emulator, deployment: str, thought: str
) -> None:
    result = await client(emu, deployment).achat(REQUEST)
    assert result.text == EMU_ANSWER
    assert [r.summary for r in result.message.reasoning] == [[thought]]


def _check_stream(deltas: list[StreamDelta], acc: StreamAccumulator, thought: str) -> None:
    assert "".join(d.text for d in deltas) == EMU_ANSWER
    assert "".join(d.reasoning_text for d in deltas) == thought
    assert all("<think" not in d.text and "think>" not in d.text for d in deltas)
    result = acc.result()
    assert result.text == EMU_ANSWER and result.message.reasoning[0].summary == [thought]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(("deployment", "thought"), CASES)
def test_stream_yields_answer_deltas_and_reasoning_deltas(
    emu: Emulator, deployment: str, thought: str, route: dict[str, str]
) -> None:
    acc = StreamAccumulator()
    deltas = list(client(emu, deployment, **route).stream(REQUEST, into=acc))
    _check_stream(deltas, acc, thought)
    if deployment == "r1":
        # the emulator streams one token per chunk, so the tags did arrive split over chunks
        pieces = [
            c["choices"][0]["delta"].get("content") or ""
            for c in (d.raw for d in deltas)
            if c.get("choices") and "delta" in c["choices"][0]
        ]
        assert THINK_OPEN in "".join(pieces) and not any(THINK_OPEN in p for p in pieces)


@pytest.mark.parametrize(("deployment", "thought"), CASES)
async def test_astream_yields_answer_deltas_and_reasoning_deltas(
    emu: Emulator, deployment: str, thought: str
) -> None:
    acc = StreamAccumulator()
    deltas = [d async for d in client(emu, deployment).astream(REQUEST, into=acc)]
    _check_stream(deltas, acc, thought)


def test_a_stream_without_an_accumulator_splits_too(emu: Emulator) -> None:
    deltas = list(client(emu, "r1").stream(REQUEST))
    assert "".join(d.text for d in deltas) == EMU_ANSWER


def test_thinking_cut_by_max_tokens_is_reasoning_not_an_answer(emu: Emulator) -> None:
    request = ChatRequest(messages=[Message("user", QUESTION)], max_tokens=6)
    c = client(emu, "r1")
    result = c.chat(request)
    assert result.finish_reason == "length" and result.text == ""
    assert result.message.reasoning[0].summary[0].startswith("The user asks")
    acc = StreamAccumulator()
    deltas = list(c.stream(request, into=acc))
    assert "".join(d.text for d in deltas) == "" and acc.result().finish_reason == "length"
    assert acc.reasoning_text == result.message.reasoning[0].summary[0]


def test_a_think_tag_later_in_the_answer_or_from_an_openai_model_is_text(emu: Emulator) -> None:
    emu.script("r1", ["Use <think>x</think> in prompts."] * 2)
    r1 = client(emu, "r1")
    assert r1.chat(REQUEST).text == "Use <think>x</think> in prompts."
    assert "".join(d.text for d in r1.stream(REQUEST)) == "Use <think>x</think> in prompts."
    emu.script("chat", ["<think>an XML example</think> as asked"] * 2)
    chat = client(emu, "chat")
    result = chat.chat(REQUEST)
    assert result.text == "<think>an XML example</think> as asked"
    assert result.message.reasoning == []
    assert "".join(d.text for d in chat.stream(REQUEST)) == result.text


def test_usage_counts_the_reasoning(emu: Emulator) -> None:
    usage = client(emu, "v4").chat(REQUEST).usage
    assert usage is not None and 0 < usage.reasoning_tokens < usage.output_tokens

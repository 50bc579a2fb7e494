"""Legacy completions through the core (``azoai.Completions``, ``Completions(client)``) against
the emulator over loopback: the route a v1 client takes, n choices per prompt, logprobs and
echo, streams sync and async, the content filter, a cut stream, and typed errors before sending."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from azoai import errors as E
from azoai.client import CallOptions, Client
from azoai.completions import Completions
from azoai.config.settings import RetryPolicy
from azoai_emulator import Emulator, EmulatorDeployment, Fault

FAST_RETRY = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05, max_retry_after=5.0)
DEPLOYMENTS = (
    EmulatorDeployment("instruct", model="gpt-35-turbo-instruct"),
    EmulatorDeployment("guarded", model="gpt-35-turbo-instruct", blocklist=("forbidden",)),
    EmulatorDeployment("chat", model="gpt-4o"),
)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(deployments=DEPLOYMENTS) as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(emu: Emulator) -> None:
    emu.reset()


def completions(emu: Emulator, **kw: Any) -> Completions:
    kw.setdefault("api_key", emu.api_key)
    kw.setdefault("deployment", "instruct")
    kw.setdefault("model", "gpt-35-turbo-instruct")
    kw.setdefault("retry", FAST_RETRY)
    return Completions(endpoint=emu.endpoint, env={}, config_file="", **kw)


def test_a_v1_client_completes_on_the_dated_route(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    Completions._said_dated = False
    with caplog.at_level(logging.INFO, "azoai.client"), completions(emu) as svc:
        result = svc.complete("Say 'hello there'", max_tokens=10, stop=["\n"], user="u1")
    assert result.text == "hello there" and result.finish_reason == "stop"
    assert result.usage.input_tokens > 0 and result.usage.output_tokens == 2
    assert result.model == "gpt-35-turbo-instruct" and result.deployment == "instruct"
    assert [f.side for f in result.prompt_filters] == ["prompt"]
    sent = emu.requests[-1]
    assert sent.url == "/openai/deployments/instruct/completions?api-version=2024-10-21"
    assert sent.body == {
        "prompt": "Say 'hello there'",
        "max_tokens": 10,
        "stop": ["\n"],
        "user": "u1",
    }
    assert "documents no completions operation on the v1 route" in caplog.text


def test_a_dated_client_keeps_its_version(emu: Emulator) -> None:
    with completions(emu, api_version="2024-06-01") as svc:
        svc.complete("Say 'a'")
    assert emu.requests[-1].api_version == "2024-06-01"


def test_n_choices_per_prompt_grouped_by_prompt(emu: Emulator) -> None:
    with completions(emu) as svc:
        result = svc.complete(["Say 'one'", "Say 'two'"], n=2, max_tokens=5)
    assert [c.index for c in result.choices] == [0, 1, 2, 3]
    assert [c.text for c in result.for_prompt(0)] == ["one", "one"]
    assert [c.text for c in result.for_prompt(1)] == ["two", "two"]


def test_logprobs_and_echo_come_back_parsed(emu: Emulator) -> None:
    with completions(emu) as svc:
        result = svc.complete("Say 'one two'", logprobs=2, echo=True)
    choice = result.choices[0]
    assert choice.text == "Say 'one two'one two"
    lp = choice.logprobs
    assert lp is not None
    assert lp.tokens[-2:] == ["one", " two"] and lp.token_logprobs[0] is None
    assert all(len(top) == 2 for top in lp.top_logprobs[1:] if top is not None)


def test_completions_on_a_client_use_the_clients_connection(emu: Emulator) -> None:
    with Client(endpoint=emu.endpoint, api_key=emu.api_key, deployment="instruct", env={}) as c:
        # no model configured: an unknown model passes to Azure, which serves it
        assert Completions(c).complete("Say 'accessor'").text == "accessor"
        assert Completions(c).client is c
        assert c._conn is not None


def test_stream_yields_each_choice_by_index(emu: Emulator) -> None:
    with completions(emu) as svc:
        deltas = list(svc.stream(["Say 'a b'", "Say 'c'"], n=1, logprobs=1))
    assert deltas[0].headers and deltas[0].deployment == "instruct"
    text = {i: "".join(d.text for d in deltas if d.index == i) for i in (0, 1)}
    assert text == {0: "a b", 1: "c"}
    assert {d.index: d.finish_reason for d in deltas if d.finish_reason} == {0: "stop", 1: "stop"}
    assert any(d.logprobs is not None and d.logprobs.tokens == ["a"] for d in deltas)


async def test_async_complete_and_stream(emu: Emulator) -> None:
    async with completions(emu) as svc:
        result = await svc.acomplete("Say 'async'")
        pieces = [d.text async for d in svc.astream("Say 'x y z'")]
    assert result.text == "async"
    assert "".join(pieces) == "x y z"


def test_a_stream_cut_after_its_first_piece_says_what_arrived(emu: Emulator) -> None:
    emu.inject("instruct", Fault.cut_stream(after_chunks=2))  # the annotations, one piece
    with completions(emu) as svc, pytest.raises(E.StreamInterruptedError) as caught:
        list(svc.stream("Say 'one two three'"))
    assert caught.value.partial_text == "one"


def test_a_stream_cut_before_its_first_piece_is_retried(emu: Emulator) -> None:
    emu.inject("instruct", Fault.cut_stream(after_chunks=1))  # only the annotations
    with completions(emu) as svc:
        assert "".join(d.text for d in svc.stream("Say 'one two'")) == "one two"
    assert len(emu.requests) == 2


def test_the_content_filter(emu: Emulator) -> None:
    with completions(emu, deployment="guarded") as svc, pytest.raises(E.ContentFilterError) as p:
        svc.complete("the FORBIDDEN word")
    assert p.value.side == "prompt"
    assert p.value.filtered_categories == ["blocklist:guarded-blocklist"]
    with completions(emu) as svc:
        emu.inject("instruct", Fault.content_filter("completion", "hate", after_chunks=1))
        with pytest.raises(E.ContentFilterError) as cut:
            svc.complete("Say 'one two three'")
        assert (cut.value.side, cut.value.partial_text) == ("completion", "one")
        assert cut.value.filtered_categories == ["hate"]
        emu.inject("instruct", Fault.content_filter("completion", "hate", after_chunks=1))
        kept = svc.complete("Say 'one two three'", options=CallOptions(return_filtered=True))
        assert kept.finish_reason == "content_filter" and kept.text == "one"
        emu.inject("instruct", Fault.content_filter("completion", "violence", after_chunks=1))
        with pytest.raises(E.ContentFilterError) as streamed:
            list(svc.stream("Say 'one two three'"))
        assert streamed.value.partial_text == "one"


REFUSED = [
    pytest.param({"n": 0}, "n", id="n"),
    pytest.param({"logprobs": 6}, "logprobs", id="logprobs"),
    pytest.param({"n": 3, "best_of": 2}, "best_of", id="best_of-below-n"),
    pytest.param({"stop": ["a", "b", "c", "d", "e"]}, "stop", id="stop"),
    pytest.param({"max_tokens": 5000}, "max_tokens", id="max_tokens-over-window"),
    pytest.param({"temperature": "hot"}, "temperature", id="temperature"),
]


@pytest.mark.parametrize(("kwargs", "setting"), REFUSED)
def test_values_azure_would_refuse_are_typed_errors_before_sending(
    emu: Emulator, kwargs: dict[str, Any], setting: str
) -> None:
    with completions(emu) as svc, pytest.raises(E.ConfigError) as caught:
        svc.complete("hi", **kwargs)
    assert caught.value.setting == setting
    assert emu.requests == []


def test_wrong_prompts_and_deployments_are_refused_before_sending(emu: Emulator) -> None:
    with completions(emu) as svc:
        with pytest.raises(E.ConfigError, match="list of prompts is empty"):
            svc.complete([])
        with pytest.raises(E.ConfigError, match="prompt 1 is a int"):
            svc.complete(["a", 1])  # type: ignore[list-item]
        with pytest.raises(E.ConfigError, match="cannot be streamed"):
            list(svc.stream("hi", best_of=2))
        with pytest.raises(TypeError, match="messages"):
            svc.complete("hi", messages=[])
    with completions(emu, deployment="chat", model="gpt-4o") as chat:
        with pytest.raises(E.ConfigError, match="gpt-4o, a chat model") as caught:
            chat.complete("hi")
        assert caught.value.setting == "deployment"
    assert emu.requests == []


def test_max_tokens_left_counts_the_prompt(emu: Emulator) -> None:
    with completions(emu) as svc:
        room = svc.max_tokens_left("Say 'a b'")
        assert 4000 < room < 4097  # gpt-35-turbo-instruct's window, less the prompt
        assert svc.complete("Say 'a b'", max_tokens=room).text == "a b"
        assert svc.max_tokens_left("x", window=100) < 100


def test_chat_on_an_instruct_deployment_names_the_completions_call(emu: Emulator) -> None:
    from azoai.wire import ChatRequest, Message

    with (
        Client(endpoint=emu.endpoint, api_key=emu.api_key, deployment="instruct", env={}) as c,
        pytest.raises(E.BadRequestError) as caught,
    ):
        c.chat(ChatRequest(messages=[Message("user", "hi")]))
    assert caught.value.code == "OperationNotSupported"
    assert caught.value.fix is not None and "azoai.Completions" in caught.value.fix

"""The model catalogue: families, limits, and the unknown-name path (never raises)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from azoai.client import Client
from azoai.config.catalog import known_families, lookup_model
from azoai.errors import ConfigError
from azoai.wire import ChatRequest, Message, ToolSpec
from azoai_emulator import Emulator, EmulatorDeployment


@pytest.mark.parametrize(
    ("name", "family", "reasoning", "context", "kind"),
    [
        ("gpt-4o", "gpt-4o", False, 128_000, "chat"),
        ("gpt-4o-2024-08-06", "gpt-4o", False, 128_000, "chat"),
        ("gpt-4o-mini", "gpt-4o", False, 128_000, "chat"),
        ("GPT-4o-Mini", "gpt-4o", False, 128_000, "chat"),
        ("gpt-35-turbo", "gpt-3.5", False, 16_385, "chat"),
        ("gpt-35-turbo-16k", "gpt-3.5", False, 16_385, "chat"),
        ("gpt-4", "gpt-4", False, 8_192, "chat"),
        ("gpt-4-32k", "gpt-4", False, 32_768, "chat"),
        ("gpt-4.1-mini", "gpt-4.1", False, 1_047_576, "chat"),
        ("gpt-4.1", "gpt-4.1", False, 1_047_576, "chat"),
        ("o1", "o-series", True, 200_000, "chat"),
        ("o1-mini", "o-series", True, 128_000, "chat"),
        ("o3-mini", "o-series", True, 200_000, "chat"),
        ("o4-mini", "o-series", True, 200_000, "chat"),
        ("gpt-5", "gpt-5", True, 400_000, "chat"),
        ("gpt-5-mini-2025-08-07", "gpt-5", True, 400_000, "chat"),
        ("gpt-5-chat", "gpt-5-chat", False, 128_000, "chat"),
        ("gpt-5.1", "gpt-5", True, 400_000, "chat"),
        ("text-embedding-3-small", "text-embedding-3", False, 8_191, "embedding"),
        ("text-embedding-3-large", "text-embedding-3", False, 8_191, "embedding"),
        ("text-embedding-ada-002", "ada-002", False, 8_191, "embedding"),
        ("azure-openai/gpt-4o", "gpt-4o", False, 128_000, "chat"),
    ],
)
def test_known_families(name: str, family: str, reasoning: bool, context: int, kind: str) -> None:
    info = lookup_model(name)
    assert info.known
    assert info.name == name
    assert (info.family, info.reasoning, info.context_window, info.kind) == (
        family,
        reasoning,
        context,
        kind,
    )


def test_embedding_dimensions() -> None:
    assert lookup_model("text-embedding-3-large").embedding_dimensions == 3072
    assert lookup_model("text-embedding-3-small").supports_dimensions
    assert not lookup_model("text-embedding-ada-002").supports_dimensions
    assert lookup_model("text-embedding-ada-002").max_input_tokens == 8191


@pytest.mark.parametrize(
    "name", [None, "", "my-finetuned-thing", "gpt4o-prod", "o", "gpt-", "🙂", "x" * 500]
)
def test_unknown_names_get_conservative_defaults(name: str | None) -> None:
    info = lookup_model(name)
    assert not info.known
    assert info.kind == "chat" and not info.reasoning
    assert info.context_window == 8_192 and info.max_output == 4_096
    assert not info.json_schema and not info.vision


def test_unknown_embedding_name_is_an_embedding_without_dimensions() -> None:
    info = lookup_model("text-embedding-4-huge")
    assert info.is_embedding and not info.known and not info.supports_dimensions


def test_prefix_matching_respects_name_boundaries() -> None:
    # "o1x" is not o1; "gpt-4ox" is not gpt-4o
    assert not lookup_model("o1x").known
    assert lookup_model("gpt-4ox").family != "gpt-4o"


def test_known_families_is_sorted_and_nonempty() -> None:
    fams = known_families()
    assert fams == sorted(fams) and "gpt-4o" in fams


# --- corrected families, through the client against the emulator (issue 15's table review) ------
# Each was a disagreement tests/emulator/test_tables_agree.py found; the evidence is in
# azoai/config/catalog.py beside each entry. Asserted where a user meets them: a request the
# service would refuse is refused before it is sent, one it takes goes out as it should.

_WEATHER = ToolSpec("get_weather", "Weather", {"type": "object", "properties": {}})
_HI = [Message("user", "hi")]
_MODELS = {
    "instruct": "gpt-35-turbo-instruct",
    "g5chat": "gpt-5-chat",
    "g5codex": "gpt-5-codex",
    "g5pro": "gpt-5-pro",
    "codexmax": "gpt-5.1-codex-max",
}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator([EmulatorDeployment(n, model=m) for n, m in _MODELS.items()]) as e:
        yield e


def _client(emu: Emulator, deployment: str, **kw: Any) -> Client:
    return Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        deployment=deployment,
        deployments=[{"name": n, "model": m} for n, m in _MODELS.items()],
        env={},
        config_file="",
        **kw,
    )


@pytest.mark.parametrize("deployment", ["instruct", "g5chat"])
def test_tools_on_a_model_without_them_are_refused_before_sending(
    emu: Emulator, deployment: str
) -> None:
    emu.clear_requests()
    with pytest.raises(ConfigError, match="does not support tool calling") as exc:
        _client(emu, deployment).chat(ChatRequest(messages=_HI, tools=[_WEATHER]))
    assert exc.value.setting == "tools"
    assert emu.requests == []


def test_gpt5_chat_structured_output_does_not_use_json_schema(emu: Emulator) -> None:
    assert not _client(emu, "g5chat").supports_json_schema()
    assert not lookup_model("gpt-35-turbo-instruct-0914").tools


def test_gpt5_codex_refuses_minimal_effort_before_sending(emu: Emulator) -> None:
    emu.clear_requests()
    with pytest.raises(ConfigError, match="'minimal' is not valid") as exc:
        _client(emu, "g5codex", api="responses").chat(
            ChatRequest(messages=_HI, reasoning_effort="minimal")
        )
    assert exc.value.setting == "reasoning_effort"
    assert emu.requests == []


def test_gpt51_codex_max_takes_xhigh_and_not_none(emu: Emulator) -> None:
    c = _client(emu, "codexmax", api="responses")
    emu.clear_requests()
    assert c.chat(ChatRequest(messages=_HI, reasoning_effort="xhigh")).text
    [sent] = emu.requests
    assert sent.body["reasoning"]["effort"] == "xhigh"
    with pytest.raises(ConfigError, match="'none' is not valid"):
        c.chat(ChatRequest(messages=_HI, reasoning_effort="none"))


def test_gpt5_pro_is_not_sent_parallel_tool_calls(emu: Emulator) -> None:
    emu.clear_requests()
    _client(emu, "g5pro", api="responses").chat(
        ChatRequest(messages=_HI, tools=[_WEATHER], parallel_tool_calls=True)
    )
    [sent] = emu.requests
    assert "parallel_tool_calls" not in sent.body


@pytest.mark.parametrize(
    ("name", "window", "output"),
    [
        ("gpt-35-turbo-instruct", 4_097, 4_096),
        ("gpt-5.1-chat-2025-11-13", 128_000, 16_384),
        ("gpt-5.2-chat", 128_000, 16_384),
        ("gpt-5.1", 400_000, 128_000),
        ("gpt-5.2", 400_000, 128_000),
    ],
)
def test_chat_variants_have_their_own_window(name: str, window: int, output: int) -> None:
    info = lookup_model(name)
    assert (info.context_window, info.max_output) == (window, output)

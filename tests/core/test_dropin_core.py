"""The core's side of the drop-in rows of issue 17 (langchain-openai's and llama-index's own tests
run on azoai): several completions per call (``n``), errors that name an unknown parameter
without sending a v1 caller to the v1 route, a 422 of its own class, the one temperature
reasoning models run at sent silently, and what the catalogue tells model profiles.

Driven through :class:`azoai.client.Client` against the emulator over loopback."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from azoai.client import Client
from azoai.config.catalog import display_name, lookup_model
from azoai.errors import (
    BadRequestError,
    ConfigError,
    UnprocessableEntityError,
    UnsupportedParameterError,
)
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator, EmulatorDeployment, Fault

_HI = [Message("user", "Say 'hello'")]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    deployments = [
        EmulatorDeployment("chat", model="gpt-4o"),
        EmulatorDeployment("reasoner", model="o4-mini"),
    ]
    with Emulator(deployments) as e:
        yield e


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("AZURE_OPENAI", "OPENAI_", "AZOAI")):
            monkeypatch.delenv(name, raising=False)
    yield
    emu.reset()


def _client(emu: Emulator, deployment: str = "chat", **kw: object) -> Client:
    return Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        deployment=deployment,
        env={},
        config_file="",
        **kw,  # type: ignore[arg-type]
    )


def _bodies(emu: Emulator) -> list[dict[str, object]]:
    return [r.body for r in emu.requests if isinstance(r.body, dict)]


# --- n > 1 ---------------------------------------------------------------------------------------


def test_n_completions_come_back_as_choices(emu: Emulator) -> None:
    with _client(emu) as client:
        result = client.chat(ChatRequest(messages=_HI, n=3))
        assert _bodies(emu)[-1]["n"] == 3
        assert [c.index for c in result.choices] == [0, 1, 2]
        assert all(c.message.text and c.finish_reason == "stop" for c in result.choices)
        # the first choice is the result's own message
        assert result.message is result.choices[0].message
        assert result.text == result.choices[0].message.text

        one = client.chat(ChatRequest(messages=_HI, n=1))
        assert "n" not in _bodies(emu)[-1] and one.choices == []


def test_n_on_the_responses_api_is_refused_before_sending(emu: Emulator) -> None:
    with _client(emu, api="responses") as client:
        before = len(emu.requests)
        with pytest.raises(ConfigError, match="one completion per call") as info:
            client.chat(ChatRequest(messages=_HI, n=2))
        assert info.value.setting == "n" and "use_responses_api=False" in str(info.value)
        assert len(emu.requests) == before


# --- unknown parameters --------------------------------------------------------------------------


def test_an_unknown_parameter_is_named_and_v1_is_not_suggested_on_v1(emu: Emulator) -> None:
    with _client(emu) as client:
        assert client.settings.route == "v1"
        with pytest.raises(UnsupportedParameterError) as info:
            client.chat(ChatRequest(messages=_HI, extra_body={"temprature": 0.2}))
    err = info.value
    assert err.param == "temprature"
    assert "did you mean 'temperature'?" in str(err)
    assert "route='v1'" not in str(err) and "too old" not in str(err)


def test_an_unknown_parameter_on_a_dated_version_may_be_a_newer_one(emu: Emulator) -> None:
    with (
        _client(emu, api_version="2024-10-21") as client,
        pytest.raises(UnsupportedParameterError) as info,
    ):
        client.chat(ChatRequest(messages=_HI, extra_body={"frobnicate": 1}))
    err = info.value
    assert err.param == "frobnicate" and "check the spelling of 'frobnicate'" in str(err)
    assert "newer than api_version 2024-10-21" in str(err) and "route='v1'" in str(err)


# --- 422 -----------------------------------------------------------------------------------------


def test_a_422_has_its_own_class(emu: Emulator) -> None:
    emu.inject("chat", Fault.status(422, message="The request could not be processed."))
    with _client(emu) as client, pytest.raises(UnprocessableEntityError) as info:
        client.chat(ChatRequest(messages=_HI))
    assert isinstance(info.value, BadRequestError)  # what callers already catch
    assert info.value.status_code == 422 and "could not be processed" in str(info.value)


# --- reasoning models: temperature 1 -------------------------------------------------------------


def test_temperature_one_is_not_sent_to_a_reasoning_model_and_not_warned(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), _client(emu, "reasoner", model="o4-mini") as client:
        client.chat(ChatRequest(messages=_HI, temperature=1.0))
    assert "temperature" not in _bodies(emu)[-1]
    assert not [r for r in caplog.records if "temperature" in r.getMessage()]


# --- what model profiles are made of -------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "shown"),
    [
        ("gpt-5.5", "GPT-5.5"),
        ("gpt-4o-mini", "GPT-4o Mini"),
        ("gpt-35-turbo", "GPT-3.5 Turbo"),
        ("gpt-4o-2024-08-06", "GPT-4o (2024-08-06)"),
        ("o3", "o3"),
        ("DeepSeek-R1", "DeepSeek-R1"),
    ],
)
def test_display_names(model: str, shown: str) -> None:
    assert display_name(model) == shown


@pytest.mark.parametrize(
    ("model", "default"),
    [
        ("o3", "medium"),
        ("gpt-5", "medium"),
        ("gpt-5.1", "none"),
        ("gpt-5.4", "none"),
        ("gpt-5.5", "medium"),
        ("gpt-5-pro", "high"),
        ("gpt-4o", None),
        ("o1-mini", None),
    ],
)
def test_default_reasoning_efforts(model: str, default: str | None) -> None:
    info = lookup_model(model)
    assert info.default_effort == default
    assert default is None or default in info.reasoning_efforts

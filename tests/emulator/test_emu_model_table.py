"""The emulator's own model table (azoai_emulator.models) as clients see it: which API each model
serves, which api-version it needs, and which parameters it takes, per Azure's documentation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from azoai_emulator import Emulator, EmulatorDeployment

V1_CHAT = "/openai/v1/chat/completions"
V1_RESPONSES = "/openai/v1/responses"
MODELS = ("codex-mini", "gpt-5-codex", "gpt-5-pro", "gpt-35-turbo-instruct", "o1-mini", "o4-mini")
MODELS_WITH_CHAT = ("gpt-5-chat", "gpt-5.1-chat", "gpt-5.2")


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    deployments = [EmulatorDeployment(m, model=m) for m in (*MODELS, *MODELS_WITH_CHAT)]
    with (
        Emulator(deployments=deployments) as emu,
        httpx.Client(base_url=emu.endpoint, headers={"api-key": emu.api_key}, timeout=10) as c,
    ):
        yield c


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def error_of(r: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = r.json()["error"]
    return body


@pytest.mark.parametrize("model", ["codex-mini", "gpt-5-codex", "gpt-5-pro"])
def test_responses_only_models_refuse_chat_completions(http: httpx.Client, model: str) -> None:
    chat = http.post(V1_CHAT, json={"model": model, "messages": user("hi")})
    assert chat.status_code == 400
    assert error_of(chat)["code"] == "OperationNotSupported"
    message = error_of(chat)["message"]
    assert (
        f"The chatCompletion operation does not work with the specified model, {model}." in message
    )
    assert http.post(V1_RESPONSES, json={"model": model, "input": "hi"}).status_code == 200


def test_instruct_serves_completions_only(http: httpx.Client) -> None:
    chat = http.post(V1_CHAT, json={"model": "gpt-35-turbo-instruct", "messages": user("hi")})
    assert chat.status_code == 400 and error_of(chat)["code"] == "OperationNotSupported"
    done = http.post(
        "/openai/deployments/gpt-35-turbo-instruct/completions?api-version=2024-10-21",
        json={"prompt": "Say 'a'", "max_tokens": 5},
    )
    assert done.status_code == 200


def test_o1_mini_has_no_reasoning_effort_and_no_responses_api(http: httpx.Client) -> None:
    r = http.post(
        V1_CHAT, json={"model": "o1-mini", "messages": user("x"), "reasoning_effort": "low"}
    )
    assert r.status_code == 400
    assert error_of(r)["param"] == "reasoning_effort"
    assert error_of(r)["code"] == "unsupported_parameter"
    responses = http.post(V1_RESPONSES, json={"model": "o1-mini", "input": "hi"})
    assert responses.status_code == 400 and error_of(responses)["code"] == "OperationNotSupported"


def test_each_reasoning_model_has_its_own_first_dated_version(http: httpx.Client) -> None:
    def dated(deployment: str, version: str) -> httpx.Response:
        return http.post(
            f"/openai/deployments/{deployment}/chat/completions?api-version={version}",
            json={"messages": user("x")},
        )

    too_old = dated("o4-mini", "2025-03-01-preview")
    assert too_old.json() == {
        "error": {
            "code": "BadRequest",
            "message": "Model {modelName} is enabled only for api versions 2025-04-01-preview and later",
        }
    }
    assert dated("o4-mini", "2025-04-01-preview").status_code == 200
    # o1-mini came with 2024-09-01-preview, before reasoning_effort existed.
    assert dated("o1-mini", "2024-09-01-preview").status_code == 200
    assert dated("o1-mini", "2024-08-01-preview").status_code == 400


def test_gpt5_chat_is_a_chat_model_without_tools(http: httpx.Client) -> None:
    ok = http.post(
        V1_CHAT, json={"model": "gpt-5-chat", "messages": user("hi"), "temperature": 0.2}
    )
    assert ok.status_code == 200
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    r = http.post(V1_CHAT, json={"model": "gpt-5-chat", "messages": user("hi"), "tools": [tool]})
    assert r.status_code == 400 and error_of(r)["param"] == "tools"


def test_gpt5_1_chat_reasons_in_a_128k_window(http: httpx.Client) -> None:
    r = http.post(
        V1_CHAT, json={"model": "gpt-5.1-chat", "messages": user("hi"), "temperature": 0.2}
    )
    assert r.status_code == 400 and error_of(r)["param"] == "temperature"
    big = http.post(
        V1_CHAT,
        json={"model": "gpt-5.1-chat", "messages": user("hi"), "max_completion_tokens": 16_385},
    )
    assert big.status_code == 400 and error_of(big)["param"] == "max_completion_tokens"


@pytest.mark.parametrize(
    ("model", "effort"), [("gpt-5-codex", "minimal"), ("gpt-5-pro", "low"), ("gpt-5.2", "xhigh")]
)
def test_reasoning_effort_values_per_model(http: httpx.Client, model: str, effort: str) -> None:
    r = http.post(
        V1_RESPONSES, json={"model": model, "input": "hi", "reasoning": {"effort": effort}}
    )
    assert r.status_code == 400
    assert error_of(r)["code"] == "unsupported_value"
    assert error_of(r)["param"] == "reasoning.effort"

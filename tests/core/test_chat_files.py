"""File parts on a Chat Completions client (issue 16). Azure's Chat Completions takes no file
parts on any api-version: the dated specs (2024-10-21, 2025-04-01-preview) list text, image_url
and input_audio user parts only, and the service answers "Invalid Value: 'file'. This model does
not support file content types." (Azure/azure-sdk-for-net#51873, pydantic/pydantic-ai#4035),
while its Responses API reads PDFs as ``input_file``. So a call with a file goes to Responses
where the model has it, and is refused before sending, with a typed error naming the fix, where
it cannot succeed.

Driven through :class:`azoai.client.Client` against the emulator, which refuses chat file parts
as Azure does."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest

from azoai import ResponsesRequiredError
from azoai.client import Client
from azoai.wire import ChatRequest, Message
from azoai.wire.types import FilePart, TextPart
from azoai_emulator import Emulator, EmulatorDeployment

PDF = FilePart(data=b"%PDF-1.4 quarterly report", mime_type="application/pdf", filename="q.pdf")
ASK = [Message("user", [TextPart("Summarize the attached report."), PDF])]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    deployments = [
        EmulatorDeployment("chat", model="gpt-4o"),
        EmulatorDeployment("old", model="gpt-4"),
        EmulatorDeployment("think", model="o4-mini"),
    ]
    with Emulator(deployments) as e:
        yield e


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AZURE_OPENAI", "OPENAI_", "AZOAI")):
            monkeypatch.delenv(name, raising=False)


def _client(emu: Emulator, deployment: str, **kw: Any) -> Client:
    return Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        deployment=deployment,
        env={},
        config_file="",
        **kw,
    )


def test_a_pdf_goes_to_responses_as_input_file(emu: Emulator) -> None:
    c = _client(emu, "chat", model="gpt-4o")
    emu.clear_requests()
    result = c.chat(ChatRequest(messages=ASK))
    assert result.text and result.finish_reason == "stop" and result.deployment == "chat"
    [sent] = emu.requests
    assert (sent.path, sent.status) == ("/openai/v1/responses", 200)
    [message] = sent.body["input"]
    assert message["content"][1] == {
        "type": "input_file",
        "file_data": "data:application/pdf;base64,JVBERi0xLjQgcXVhcnRlcmx5IHJlcG9ydA==",
        "filename": "q.pdf",
    }
    # a turn without a file stays on Chat Completions
    c.chat(ChatRequest(messages=[Message("user", "Thanks")]))
    assert emu.requests[-1].path == "/openai/v1/chat/completions"


@pytest.mark.parametrize(
    ("api_version", "path", "query"),
    [
        # a version without the Responses API: the v1 route serves it
        ("2024-10-21", "/openai/v1/responses", {}),
        ("2025-04-01-preview", "/openai/responses", {"api-version": "2025-04-01-preview"}),
    ],
)
def test_on_a_dated_route_the_file_goes_where_responses_is_served(
    emu: Emulator, api_version: str, path: str, query: dict[str, str]
) -> None:
    c = _client(emu, "chat", model="gpt-4o", api_version=api_version)
    emu.clear_requests()
    assert c.chat(ChatRequest(messages=ASK)).text
    assert [(r.path, r.query, r.status) for r in emu.requests] == [(path, query, 200)]


def test_async_and_streamed_calls_with_a_file(emu: Emulator) -> None:
    c = _client(emu, "think", model="o4-mini")
    emu.clear_requests()
    assert asyncio.run(c.achat(ChatRequest(messages=ASK))).text
    text = "".join(d.text for d in c.stream(ChatRequest(messages=ASK)))

    async def astream() -> str:
        return "".join([d.text async for d in c.astream(ChatRequest(messages=ASK))])

    assert text and asyncio.run(astream()) == text
    assert [(r.path, r.status) for r in emu.requests] == [("/openai/v1/responses", 200)] * 3


def test_a_model_without_the_responses_api_is_refused_before_sending(emu: Emulator) -> None:
    c = _client(emu, "old", model="gpt-4")
    emu.clear_requests()
    with pytest.raises(ResponsesRequiredError) as info:
        c.chat(ChatRequest(messages=ASK))
    err = info.value
    assert (err.reason, err.setting, err.deployment) == ("files", "deployment", "old")
    assert err.status_code is None  # refused before sending
    assert "send the document's text" in str(err)
    with pytest.raises(ResponsesRequiredError):
        list(c.stream(ChatRequest(messages=ASK)))
    assert emu.requests == []


def test_auto_responses_off_refuses_a_file_before_sending(emu: Emulator) -> None:
    c = _client(emu, "chat", model="gpt-4o", auto_responses=False)
    emu.clear_requests()
    with pytest.raises(ResponsesRequiredError) as info:
        asyncio.run(c.achat(ChatRequest(messages=ASK)))
    err = info.value
    assert (err.reason, err.setting) == ("files", "auto_responses")
    assert "use_responses_api=True" in str(err) and "Invalid Value: 'file'" in str(err)
    assert emu.requests == []


def test_a_responses_client_sends_files_as_before(emu: Emulator) -> None:
    c = _client(emu, "chat", model="gpt-4o", api="responses", auto_responses=False)
    emu.clear_requests()
    assert c.chat(ChatRequest(messages=ASK)).text
    assert [r.path for r in emu.requests] == ["/openai/v1/responses"]

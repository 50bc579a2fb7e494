"""Deployments of models the catalogue does not know (issue 16): learned from discovery (the ARM
record's model name, version and ``capabilities``: ``maxContextToken``, ``maxOutputToken``,
``responses``) and from Azure's answers, with warnings that name the real fix: ``model=`` only
when no model is configured for the deployment (the old warning said "set model=" to users who
had set it to a name the catalogue did not know).

Driven through :class:`azoai.client.Client` and LlamaIndex's metadata, against the emulator (data
plane and ARM) and a scripted ARM listing for a model no table knows."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from scripted_http import Out, Received, Scripted

from azoai.client import Client
from azoai.wire import ChatRequest, Message, ToolSpec
from azoai_emulator import Emulator, EmulatorDeployment
from llamaindex_azoai import AzureOpenAI

MANAGEMENT = "https://management.azure.com"
WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ASK = [Message("user", "What is the weather in Lisbon?")]


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AZURE_", "OPENAI_", "AZOAI")):
            monkeypatch.delenv(name, raising=False)


class ArmToken:
    """A credential for the management scope (the emulator's ARM checks the audience)."""

    def __init__(self, emu: Emulator | None) -> None:
        self.emu = emu

    def get_token(self, *scopes: str, **kw: Any) -> AccessToken:
        assert scopes == (f"{MANAGEMENT}/.default",)
        token = self.emu.issue_token(audience=MANAGEMENT) if self.emu else "arm-token"
        return AccessToken(token, int(time.time() + 3600))


def _discovery(arm_host: str, emu: Emulator | None) -> dict[str, Any]:
    """Discovery settings for the emulator's ARM (``emu``) or a scripted listing."""
    return {
        "subscription_id": emu.subscription_id if emu else "sub",
        "resource_group": emu.resource_group if emu else "rg",
        "account": emu.account if emu else "acct",
        "arm_host": arm_host,
        "credential": ArmToken(emu),
    }


# --- discovery: the ARM record of a model no catalogue knows -----------------------------------------

_NOVA_CAPS = {
    "chatCompletion": "true",
    "responses": "true",
    "maxContextToken": "262144",
    "maxOutputToken": "32768",
    "jsonObjectResponse": "true",
}


def _arm_listing() -> Scripted:
    body = {
        "value": [
            {
                "name": "nova",
                "sku": {"name": "GlobalStandard", "capacity": 50},
                "properties": {
                    "model": {"format": "OpenAI", "name": "acme-nova-2", "version": "2026-05-01"},
                    "capabilities": _NOVA_CAPS,
                    "provisioningState": "Succeeded",
                },
            }
        ]
    }

    def reply(req: Received, out: Out) -> None:
        assert req.headers["authorization"] == "Bearer arm-token"
        out.json(json.dumps(body).encode())

    return Scripted(reply)


@pytest.fixture(scope="module")
def nova() -> Iterator[Emulator]:
    # the data plane serves the deployment; the ARM listing comes from the scripted server
    with Emulator([EmulatorDeployment("nova", model="acme-nova-2")]) as emu:
        yield emu


def test_a_discovered_unknown_model_takes_its_limits_from_arm(
    nova: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    with _arm_listing() as arm:
        c = Client(
            endpoint=nova.endpoint,
            api_key=nova.api_key,
            deployment="nova",
            discovery=_discovery(arm.endpoint, None),
            env={},
            config_file="",
        )
        with caplog.at_level(logging.WARNING, logger="azoai.deployments"):
            info = c.model_info()
            c.model_info()
        assert not info.known and info.name == "acme-nova-2"
        assert (info.context_window, info.max_output) == (262_144, 32_768)
        assert info.responses_api and info.json_object
        # one warning per deployment, naming the model, its version and what was used
        [warning] = [r.getMessage() for r in caplog.records if "acme-nova-2" in r.getMessage()]
        assert "version 2026-05-01" in warning and "context window 262144" in warning
        assert "learned from Azure's answers" in warning and "set model=" not in warning
        assert c.chat(ChatRequest(messages=[Message("user", "hi")])).text
        assert c.chat(ChatRequest(messages=[Message("user", "hi")])).model_version == "2026-05-01"


def test_llamaindex_metadata_takes_the_discovered_window(nova: Emulator) -> None:
    with _arm_listing() as arm:
        llm = AzureOpenAI(
            engine="nova",
            azure_endpoint=nova.endpoint,
            api_key=nova.api_key,
            discovery=_discovery(arm.endpoint, None),
            env={},
            config_file="",
        )
        meta = llm.metadata
    assert meta.context_window == 262_144
    assert meta.num_output == 32_768


def test_a_discovered_gpt55_deployment_routes_tool_turns_from_the_first_call() -> None:
    with Emulator([EmulatorDeployment("prod-agent", model="gpt-5.5")]) as emu:
        c = Client(
            endpoint=emu.endpoint,
            api_key=emu.api_key,
            deployment="prod-agent",
            discovery=_discovery(emu.arm_endpoint, emu),
            env={},
            config_file="",
        )
        assert c.model_info().family == "gpt-5.5"
        emu.clear_requests()
        result = c.chat(ChatRequest(messages=ASK, tools=[WEATHER]))
        assert result.tool_calls[0].name == "get_weather"
        assert [(r.path, r.status) for r in emu.requests] == [("/openai/v1/responses", 200)]


# --- Azure's answers: the warning names the real fix ---------------------------------------------------


@pytest.fixture(scope="module")
def thinker() -> Iterator[Emulator]:
    with Emulator([EmulatorDeployment("think", model="o3-mini")]) as emu:
        yield emu


def _learn_once(emu: Emulator, caplog: pytest.LogCaptureFixture, **kw: Any) -> str:
    c = Client(
        endpoint=emu.endpoint, api_key=emu.api_key, deployment="think", env={}, config_file="", **kw
    )
    emu.clear_requests()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="azoai.client"):
        assert c.chat(ChatRequest(messages=[Message("user", "hi")], temperature=0.3)).text
    assert [r.status for r in emu.requests] == [400, 200]
    assert c.model_info().reasoning
    return caplog.text


def test_a_configured_but_unknown_model_is_not_told_to_set_model(
    thinker: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    text = _learn_once(thinker, caplog, model="acme-o9")
    assert "treating it as a reasoning model" in text
    assert "set model=" not in text
    assert "model 'acme-o9' is not in azoai's catalogue" in text


def test_a_deployment_without_a_model_is_told_how_to_name_it(
    thinker: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    text = _learn_once(thinker, caplog)
    assert "set model=<its real model>" in text and "discovery=True" in text


def test_a_per_call_deployment_is_told_about_the_deployments_list(
    thinker: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    c = Client(
        endpoint=thinker.endpoint,
        api_key=thinker.api_key,
        deployment="other",
        env={},
        config_file="",
    )
    with caplog.at_level(logging.WARNING, logger="azoai.client"):
        c.chat(ChatRequest(messages=[Message("user", "hi")], temperature=0.3), model="think")
    assert "deployments=[{'name': 'think', 'model': <its real model>}]" in caplog.text
    assert "set model=" not in caplog.text

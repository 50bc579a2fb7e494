"""Fixtures for the LangChain adapter's tests: one emulator per session (reset after each test),
a hermetic environment, and ready-made models pointed at the emulator."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from azoai_emulator import Emulator, EmulatorDeployment
from langchain_azoai import AzureChatOpenAI, AzureOpenAIEmbeddings

DEPLOYMENTS = (
    EmulatorDeployment("chat", model="gpt-4o"),
    EmulatorDeployment("chat-mini", model="gpt-4o-mini"),
    EmulatorDeployment("reasoner", model="o4-mini"),
    EmulatorDeployment("embed", model="text-embedding-3-small"),
)

_AZURE_ENV_PREFIXES = ("AZURE_", "OPENAI_", "AZOAI_", "IDENTITY_", "MSI_")


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Azure/OpenAI variables from the developer's shell leak into a test."""
    for name in list(os.environ):
        if name.startswith(_AZURE_ENV_PREFIXES):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def emu() -> Iterator[Emulator]:
    with Emulator(deployments=DEPLOYMENTS) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _fresh_emulator(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "emu" in request.fixturenames:
        request.getfixturevalue("emu").reset()


@pytest.fixture
def llm(emu: Emulator) -> AzureChatOpenAI:
    return AzureChatOpenAI(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="chat", model="gpt-4o"
    )


@pytest.fixture
def responses_llm(emu: Emulator) -> AzureChatOpenAI:
    return AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        model="gpt-4o",
        use_responses_api=True,
    )


@pytest.fixture
def embeddings(emu: Emulator) -> AzureOpenAIEmbeddings:
    return AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="embed"
    )

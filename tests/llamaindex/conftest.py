"""Fixtures for the LlamaIndex adapter tests: one emulator for the whole folder, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from li_helpers import ISOLATED

from azoai_emulator import Emulator
from llamaindex_azoai import AzureOpenAI, AzureOpenAIEmbedding


@pytest.fixture(scope="session")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _fresh_emulator(request: pytest.FixtureRequest) -> None:
    if "emu" in request.fixturenames:
        request.getfixturevalue("emu").reset()


@pytest.fixture
def llm(emu: Emulator) -> AzureOpenAI:
    return AzureOpenAI(
        engine="chat", model="gpt-4o", azure_endpoint=emu.endpoint, api_key=emu.api_key, **ISOLATED
    )


@pytest.fixture
def embed_model(emu: Emulator) -> AzureOpenAIEmbedding:
    return AzureOpenAIEmbedding(
        model="text-embedding-3-small",
        deployment_name="embed",
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        **ISOLATED,
    )

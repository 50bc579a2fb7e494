"""Fixtures for the emulator's own tests: one emulator for the whole session (reset after each
test), a controllable clock, and clients for both URL families."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from emu_helpers import FakeClock
from openai import AzureOpenAI, OpenAI

from azoai_emulator import DEFAULT_DEPLOYMENTS, Emulator, EmulatorDeployment

EXTRA_DEPLOYMENTS = (
    EmulatorDeployment("instruct", model="gpt-35-turbo-instruct"),
    EmulatorDeployment("o1-mini", model="o1-mini"),
    EmulatorDeployment("embed-large", model="text-embedding-3-large"),
    EmulatorDeployment("creating", model="gpt-4o", state="Creating"),
    EmulatorDeployment("guarded", model="gpt-4o", blocklist=("forbidden",)),
)


@pytest.fixture(scope="session")
def emu() -> Iterator[Emulator]:
    with Emulator(deployments=(*DEFAULT_DEPLOYMENTS, *EXTRA_DEPLOYMENTS)) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "emu" in request.fixturenames:
        request.getfixturevalue("emu").reset()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def azure(emu: Emulator) -> AzureOpenAI:
    """The SDK's Azure client on the deployments route (latest GA version), no retries."""
    return AzureOpenAI(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, api_version="2024-10-21", max_retries=0
    )


@pytest.fixture
def azure_preview(emu: Emulator) -> AzureOpenAI:
    return AzureOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        api_version="2025-04-01-preview",
        max_retries=0,
    )


@pytest.fixture
def v1(emu: Emulator) -> OpenAI:
    """The plain OpenAI client on the v1 route (the key travels as a bearer)."""
    return OpenAI(base_url=emu.v1_base_url, api_key=emu.api_key, max_retries=0)


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=emu.endpoint, headers={"api-key": emu.api_key}, timeout=10
    ) as client:
        yield client

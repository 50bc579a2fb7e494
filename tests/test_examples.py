"""Every example in examples/ runs against the emulator, as a user would run it (a fresh
interpreter, configuration from the environment), so none of them rots."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from azoai_emulator import Emulator, Fault

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


def key_env(emu: Emulator) -> dict[str, str]:
    return {
        "AZURE_OPENAI_ENDPOINT": emu.endpoint,
        "AZURE_OPENAI_API_KEY": emu.api_key,
        "AZURE_OPENAI_DEPLOYMENT": "chat",
    }


def identity_env(emu: Emulator) -> dict[str, str]:
    # azure-identity's managed-identity protocol (App Service flavour), served by the emulator
    return {
        "AZURE_OPENAI_ENDPOINT": emu.endpoint,
        "AZURE_OPENAI_DEPLOYMENT": "chat",
        "IDENTITY_ENDPOINT": emu.identity_endpoint,
        "IDENTITY_HEADER": emu.identity_header,
    }


def entra_env(emu: Emulator) -> dict[str, str]:
    # the emulator's Entra token service over HTTPS, trusted through its throwaway CA
    return {
        "AZURE_OPENAI_ENDPOINT": emu.endpoint,
        "AZURE_OPENAI_DEPLOYMENT": "chat",
        "AZURE_AUTHORITY_HOST": emu.authority_host,
        "REQUESTS_CA_BUNDLE": emu.ca_bundle,
        "AZURE_TENANT_ID": emu.tenant_id,
        "AZURE_CLIENT_ID": str(emu.entra_client_id),
    }


def service_principal_env(emu: Emulator) -> dict[str, str]:
    return {**entra_env(emu), "AZURE_CLIENT_SECRET": str(emu.entra_client_secret)}


def workload_identity_env(emu: Emulator) -> dict[str, str]:
    # the projected token file a pod gets, kept in the emulator's temporary directory (removed
    # when it stops, like the CA bundle next to it)
    token_file = Path(emu.ca_bundle).parent / "azure-identity-token"
    token_file.write_text(emu.issue_federated_token())
    return {**entra_env(emu), "AZURE_FEDERATED_TOKEN_FILE": str(token_file)}


def no_setup(emu: Emulator) -> None:
    pass


def chat_overloaded(emu: Emulator) -> None:
    emu.inject("chat", Fault.status(503, count=1))


# example -> (environment, setup on the emulator, text the output must contain)
CASES: dict[
    str, tuple[Callable[[Emulator], dict[str, str]], Callable[[Emulator], None], list[str]]
] = {
    "langchain_chain.py": (key_env, no_setup, ["Amazon river carries more water"]),
    "langchain_agent.py": (
        key_env,
        no_setup,
        ["tool call: get_local_time({'city': 'Tokyo'})", "09:30 JST"],
    ),
    "langchain_structured_output.py": (key_env, no_setup, ["City {'name':"]),
    "langchain_vector_store.py": (key_env, no_setup, ["best match: rivers"]),
    "core_client.py": (
        key_env,
        no_setup,
        ["answer: Mercury is the closest planet", "embeddings: 2 vectors"],
    ),
    "routes_v1_and_dated.py": (
        key_env,
        no_setup,
        ["route=v1 api_version=v1 -> Ottawa", "route=deployments api_version=2024-10-21 -> Ottawa"],
    ),
    "responses_api.py": (key_env, no_setup, ["answer: Bees communicate", "response id: resp_"]),
    "failover.py": (key_env, chat_overloaded, ["served by: chat-mini"]),
    "llamaindex_rag.py": (
        key_env,
        no_setup,
        [
            "Mount Kilimanjaro in Tanzania is the highest mountain in Africa.",
            "source: mountain.txt",
        ],
    ),
    "llamaindex_agent.py": (
        key_env,
        no_setup,
        ["tool call: get_population({'city': 'Lima'}) -> about 11 million", "answer:"],
    ),
    "llamaindex_structured_output.py": (
        key_env,
        no_setup,
        ["Invoice {'customer': ", "'total_eur': 1250.5"],
    ),
    "auth_api_key.py": (key_env, no_setup, ["auth: api_key | key from: env AZURE_OPENAI_API_KEY"]),
    "auth_default_credential.py": (
        identity_env,
        no_setup,
        ["auth: credential | scope: https://cognitiveservices.azure.com/.default"],
    ),
    "auth_managed_identity.py": (
        identity_env,
        no_setup,
        ["auth: managed_identity", "embedding dimensions: 1536"],
    ),
    "auth_service_principal.py": (
        service_principal_env,
        no_setup,
        [
            "auth: client_secret | scope: https://cognitiveservices.azure.com/.default",
            "secret from: env AZURE_CLIENT_SECRET",
            "hello",
        ],
    ),
    "auth_workload_identity.py": (
        workload_identity_env,
        no_setup,
        ["auth: workload_identity | scope: https://cognitiveservices.azure.com/.default", "hello"],
    ),
}


def test_every_example_has_a_case() -> None:
    on_disk = {p.name for p in EXAMPLES.glob("*.py")}
    assert on_disk == set(CASES), (
        f"examples without a test case: {on_disk - set(CASES)}; cases without a file: {set(CASES) - on_disk}"
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_runs(name: str, emu: Emulator, tmp_path: Path) -> None:
    make_env, setup, expected = CASES[name]
    emu.reset()
    setup(emu)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZURE_", "AZOAI_", "OPENAI_", "IDENTITY_", "MSI_"))
    }
    env.update(make_env(emu))
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for text in expected:
        assert text in proc.stdout, proc.stdout + proc.stderr

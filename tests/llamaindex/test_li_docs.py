"""The README's LlamaIndex section and the code agree: every python block of the section runs
against the emulator, and every argument the classes take is documented."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from azoai_emulator import DEFAULT_DEPLOYMENTS, Emulator, EmulatorDeployment
from llamaindex_azoai import AzureOpenAI, AzureOpenAIEmbedding

_README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
# The LlamaIndex section, and the argument tables the migration section holds for it.
DOC = (
    _README.split("## LlamaIndex: `llamaindex_azoai`", 1)[1].split("\n## ", 1)[0]
    + _README.split("### From llama-index", 1)[1].split("\n## ", 1)[0]
)
PLACEHOLDER_ENDPOINT = "https://myres.openai.azure.com"


@pytest.fixture(scope="module")
def docs_emu() -> Iterator[Emulator]:
    extra = [
        EmulatorDeployment("prod-4o", model="gpt-4o"),
        EmulatorDeployment("gpt-4o-mini-deployment", model="gpt-4o-mini"),
        EmulatorDeployment("o4-mini", model="o4-mini"),
        EmulatorDeployment("text-embedding-3-small", model="text-embedding-3-small"),
    ]
    with Emulator([*DEFAULT_DEPLOYMENTS, *extra]) as emu:
        yield emu


def test_every_python_block_runs_against_the_emulator(
    docs_emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AZOAI_CONFIG", "OPENAI_API_VERSION", "AZURE_OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AZURE_OPENAI_DEPLOYMENT", raising=False)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", docs_emu.endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", docs_emu.api_key)
    monkeypatch.setenv("IDENTITY_ENDPOINT", docs_emu.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", docs_emu.identity_header)
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC, re.S)
    assert len(blocks) == 3
    namespace: dict[str, object] = {"__name__": "docs"}
    for i, block in enumerate(blocks):
        code = block.replace(PLACEHOLDER_ENDPOINT, docs_emu.endpoint).replace(
            'api_key="..."', f'api_key="{docs_emu.api_key}"'
        )
        exec(compile(code, f"README LlamaIndex python block {i}", "exec"), namespace)
    assert type(namespace["city"]).__name__ == "City"
    paths = [r.path for r in docs_emu.requests]
    assert "/msi/token" in paths  # the Entra block really used the managed identity
    assert any(p.endswith("/responses") for p in paths)


@pytest.mark.parametrize("cls", [AzureOpenAI, AzureOpenAIEmbedding])
def test_every_argument_is_documented(cls: type) -> None:
    names = set(inspect.signature(cls.__init__).parameters) | set(cls.model_fields)
    names -= {"self", "kwargs", "http_async_client"}  # an alias of async_http_client
    undocumented = sorted(n for n in names if f"`{n}`" not in DOC)
    assert undocumented == []

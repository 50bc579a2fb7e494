"""`azoai demo` (the README's first command) runs every adapter's steps against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from azoai.cli import main
from azoai.demo import load_steps


@pytest.fixture(autouse=True)
def _no_azure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "AZURE_OPENAI_ENDPOINT",
        "AZOAI_CONFIG",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_DEPLOYMENT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")


def test_every_adapter_contributes_steps() -> None:
    names = [s.name for s in load_steps()]
    assert any(n.startswith("LangChain: a streamed chain") for n in names)
    assert any(n.startswith("LangChain: a tool-calling agent") for n in names)
    assert any(n.startswith("LlamaIndex: RAG over shipped documents") for n in names)
    assert any(n.startswith("LlamaIndex: structured output") for n in names)


def test_demo_runs_against_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Using the built-in Azure OpenAI emulator" in out and "Route: v1" in out
    assert "answer: Lighthouses flash in distinct patterns" in out
    assert "tool calls: get_weather('Paris')" in out
    assert "cited: honeybees.md" in out and "result: TideFacts(" in out
    assert "failed" not in out and out.rstrip().endswith("Done.")
    assert out.count("tokens: ") == len(load_steps())
    for line in out.splitlines():
        if line.strip().startswith("tokens:"):
            assert not line.strip().startswith("tokens: 0 in")

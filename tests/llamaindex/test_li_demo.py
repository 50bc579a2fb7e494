"""The LlamaIndex steps of ``azoai demo`` run against the emulator the runner starts."""

from __future__ import annotations

import shutil
from pathlib import Path

from azoai.demo import demo_context, run_demo
from llamaindex_azoai._demo import DOCS, load_documents, steps


def test_demo_steps_run_against_the_emulator() -> None:
    lines: list[str] = []
    streamed: list[str] = []
    with demo_context(force_emulator=True, write=lines.append, stream=streamed.append) as ctx:
        assert run_demo(ctx, steps()) == 0
    text = "\n".join(lines)
    assert "Done." in text
    assert f"ingesting {len(list(DOCS.glob('*.md')))} documents" in text
    # the cited answer comes from the right shipped document
    assert "Forager honeybees use the waggle dance" in "".join(streamed)
    assert "cited: honeybees.md" in text
    assert "result: TideFacts({'cause':" in text and "'high_tides_per_day': 2" in text
    usage = [line for line in lines if line.strip().startswith("tokens:")]
    assert len(usage) == 2
    assert all(not line.strip().startswith("tokens: 0 in") for line in usage)


def test_the_shipped_documents_load_from_an_install_inside_a_dot_venv(tmp_path: Path) -> None:
    # the README's quickstart installs into .venv: a path with a dot-part, which
    # SimpleDirectoryReader skips when it walks a directory
    installed = tmp_path / ".venv" / "site-packages" / "llamaindex_azoai" / "demo_docs"
    shutil.copytree(DOCS, installed)
    documents = load_documents(installed)
    names = sorted(d.metadata["file_name"] for d in documents)
    assert names == sorted(p.name for p in DOCS.glob("*.md")) and len(names) == 4

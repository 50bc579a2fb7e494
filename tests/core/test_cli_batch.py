"""``azoai batch`` against the emulator: submit a folder of texts (embeddings, or chat with a
prompt) and a JSONL, list, status with progress, collect to a file in input order, cancel."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from azoai.cli import main
from azoai_emulator import Emulator, EmulatorDeployment

DEPLOYMENTS = (
    EmulatorDeployment("chat-batch", model="gpt-4o", sku="GlobalBatch"),
    EmulatorDeployment("embed-batch", model="text-embedding-3-small", sku="GlobalBatch"),
)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(deployments=DEPLOYMENTS) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_DEPLOYMENT",
        "OPENAI_API_VERSION",
        "AZOAI_CONFIG",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", emu.api_key)
    monkeypatch.chdir(Path(__file__).parent)  # no azoai.toml here
    emu.set_batch_speed()
    yield
    emu.reset()


def azoai(emu: Emulator, tmp_path: Path, *args: str, deployment: str = "chat-batch") -> int:
    action, rest = args[0], list(args[1:])
    return main(
        [
            "batch",
            action,
            *rest,
            "--endpoint",
            emu.endpoint,
            "--deployment",
            deployment,
            "--job-dir",
            str(tmp_path / "jobs"),
        ]
    )


def folder(tmp_path: Path, n: int) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(n):
        (docs / f"doc{i:02d}.txt").write_text(f"document number {i}")
    return docs


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_submit_a_folder_for_embeddings_then_collect(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = folder(tmp_path, 7)
    assert (
        azoai(emu, tmp_path, "submit", str(docs), "--dimensions", "8", deployment="embed-batch")
        == 0
    )
    job_id = capsys.readouterr().out.strip()
    assert job_id.startswith("job-")
    out = tmp_path / "results.jsonl"
    assert (
        azoai(
            emu,
            tmp_path,
            "collect",
            job_id,
            "--out",
            str(out),
            "--interval",
            "0.01",
            deployment="embed-batch",
        )
        == 0
    )
    rows = read_jsonl(out)
    assert [r["index"] for r in rows] == list(range(7))
    assert [r["label"] for r in rows] == [f"doc{i:02d}.txt" for i in range(7)]
    assert all(len(r["embedding"]) == 8 for r in rows)
    assert "7 results, 0 failed" in capsys.readouterr().err


def test_submit_a_folder_for_chat_with_a_prompt(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = folder(tmp_path, 3)
    assert azoai(emu, tmp_path, "submit", str(docs), "--prompt", "Repeat: {text}", "--json") == 0
    job = json.loads(capsys.readouterr().out)
    assert job["kind"] == "chat" and job["total"] == 3
    out = tmp_path / "r.jsonl"
    assert azoai(emu, tmp_path, "collect", job["id"], "--out", str(out), "--interval", "0.01") == 0
    rows = read_jsonl(out)
    assert all(
        f"number {i}" in r["response"]["choices"][0]["message"]["content"]
        for i, r in enumerate(rows)
    )


def test_submit_a_jsonl_status_list_and_delete(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.jsonl"
    lines = [
        {
            "custom_id": f"task-{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"messages": [{"role": "user", "content": f"Say the number {i}"}]},
        }
        for i in range(4)
    ]
    src.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert azoai(emu, tmp_path, "submit", str(src), "--max-requests-per-file", "3") == 0
    job_id = capsys.readouterr().out.strip()
    assert azoai(emu, tmp_path, "status", job_id, "--watch", "--interval", "0.01", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["state"] == "done" and status["completed"] == 4 and len(status["files"]) == 2
    assert azoai(emu, tmp_path, "list", "--json") == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["id"] == job_id and row["kind"] == "jsonl" and row["files"] == 2
    out = tmp_path / "r.jsonl"
    assert azoai(emu, tmp_path, "collect", job_id, "--out", str(out), "--delete-files") == 0
    rows = read_jsonl(out)
    assert [r["label"] for r in rows] == [f"task-{i}" for i in range(4)]
    assert emu.files == []  # inputs, outputs and error files deleted on Azure


def test_status_shows_progress_and_cancel(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu.set_batch_speed(lines_per_second=5)
    docs = folder(tmp_path, 30)
    assert azoai(emu, tmp_path, "submit", str(docs), "--prompt", "{text}") == 0
    job_id = capsys.readouterr().out.strip()
    assert azoai(emu, tmp_path, "status", job_id) == 0  # a rich progress bar over the requests
    shown = capsys.readouterr()
    assert job_id in shown.out + shown.err and "/30" in shown.out + shown.err
    assert azoai(emu, tmp_path, "cancel", job_id, "--json") == 0
    assert json.loads(capsys.readouterr().out)["state"] in ("cancelling", "cancelled")
    out = tmp_path / "r.jsonl"
    assert azoai(emu, tmp_path, "collect", job_id, "--out", str(out), "--interval", "0.01") == 1
    rows = read_jsonl(out)
    assert len(rows) == 30 and any(
        r.get("error", {}).get("type") == "BatchCancelledError" for r in rows
    )


def test_errors_are_reported_not_raised(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert azoai(emu, tmp_path, "status", "job-" + "0" * 32) == 2
    assert "no batch job" in capsys.readouterr().err

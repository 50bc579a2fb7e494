"""LangChain through the Batch API against the emulator: the opt-in ``batch()``/``abatch()``
path, explicit submit/status/retrieve/cancel, a job resumed in a new process after the first was
killed, rejected lines reported by index, callbacks, and corpus embedding."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage

from azoai.embeddings import EmbeddingBatchError
from azoai.errors import BatchCancelledError, ContentFilterError
from azoai_emulator import Emulator, EmulatorDeployment
from langchain_azoai import AzureChatOpenAI, AzureOpenAIEmbeddings

DEPLOYMENTS = (
    EmulatorDeployment("chat", model="gpt-4o"),
    EmulatorDeployment("chat-batch", model="gpt-4o", sku="GlobalBatch", blocklist=("forbidden",)),
    EmulatorDeployment("embed", model="text-embedding-3-small"),
    EmulatorDeployment("embed-batch", model="text-embedding-3-small", sku="GlobalBatch"),
)
FAST = {"poll_interval": 0.01, "max_poll_interval": 0.05}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(deployments=DEPLOYMENTS) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _speed(emu: Emulator) -> None:
    emu.set_batch_speed()


def llm(emu: Emulator, tmp_path: Path, **kw: Any) -> AzureChatOpenAI:
    kw.setdefault("azure_deployment", "chat")
    kw.setdefault("batch_deployment", "chat-batch")
    return AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        model="gpt-4o",
        batch_api_options={"job_dir": str(tmp_path), **FAST},
        **kw,
    )


def embedder(emu: Emulator, tmp_path: Path, **kw: Any) -> AzureOpenAIEmbeddings:
    return AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="embed",
        batch_deployment="embed-batch",
        batch_api_options={"job_dir": str(tmp_path), "embeddings_per_line": 3, **FAST},
        **kw,
    )


def prompts(n: int) -> list[str]:
    return [f"Say the number {i}" for i in range(n)]


def online_calls(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.path.endswith(("/chat/completions", "/embeddings")))


# --- batch() ----------------------------------------------------------------------------------------


def test_batch_goes_through_the_batch_api_when_asked(emu: Emulator, tmp_path: Path) -> None:
    out = llm(emu, tmp_path, use_batch_api=True).batch(prompts(6))
    assert all(isinstance(m, AIMessage) for m in out)
    assert all(f"number {i}" in m.text for i, m in enumerate(out))
    assert out[0].response_metadata["batch_job_id"].startswith("job-")
    assert out[0].response_metadata["model_name"].startswith("gpt-4o")
    assert online_calls(emu) == 0
    assert [b["status"] for b in emu.batches] == ["completed"]


def test_batch_stays_online_by_default(emu: Emulator, tmp_path: Path) -> None:
    out = llm(emu, tmp_path).batch(prompts(3))
    assert len(out) == 3 and online_calls(emu) == 3 and emu.batches == []


def test_one_call_can_opt_in(emu: Emulator, tmp_path: Path) -> None:
    out = llm(emu, tmp_path).batch(prompts(2), use_batch_api=True, max_tokens=20)
    assert len(out) == 2 and online_calls(emu) == 0 and len(emu.batches) == 1


async def test_abatch_through_the_batch_api(emu: Emulator, tmp_path: Path) -> None:
    out = await llm(emu, tmp_path, use_batch_api=True).abatch(prompts(4))
    assert [f"number {i}" in m.text for i, m in enumerate(out)] == [True] * 4
    assert online_calls(emu) == 0


def test_rejected_lines_are_reported_by_index(emu: Emulator, tmp_path: Path) -> None:
    inputs = prompts(4)
    inputs[2] = "a forbidden word"  # the deployment's content filter refuses this line
    model = llm(emu, tmp_path, use_batch_api=True)
    out = model.batch(inputs, return_exceptions=True)
    assert [type(x).__name__ for x in out] == [
        "AIMessage",
        "AIMessage",
        "ContentFilterError",
        "AIMessage",
    ]
    assert out[2].side == "prompt"  # type: ignore[union-attr]
    with pytest.raises(ContentFilterError):
        model.batch(inputs)


def test_callbacks_see_each_input(emu: Emulator, tmp_path: Path) -> None:
    class Recorder(BaseCallbackHandler):
        def __init__(self) -> None:
            self.started = 0
            self.ended = 0

        def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
            self.started += len(messages)

        def on_llm_end(self, response: Any, **kw: Any) -> None:
            self.ended += 1

    rec = Recorder()
    llm(emu, tmp_path, use_batch_api=True).batch(prompts(3), config={"callbacks": [rec]})
    assert (rec.started, rec.ended) == (3, 3)


# --- explicit submit / retrieve / cancel ---------------------------------------------------------------


def test_submit_and_retrieve_from_another_model_object(emu: Emulator, tmp_path: Path) -> None:
    job_id = llm(emu, tmp_path).batch_api_submit(prompts(5))
    later = llm(emu, tmp_path)  # a new object, as a later process would make
    status = later.batch_api_status(job_id)
    assert status.total == 5
    out = later.batch_api_retrieve(job_id)
    assert [f"number {i}" in m.text for i, m in enumerate(out)] == [True] * 5


def test_a_cancelled_job_returns_the_completed_work(emu: Emulator, tmp_path: Path) -> None:
    emu.set_batch_speed(lines_per_second=30)
    model = llm(emu, tmp_path)
    job_id = model.batch_api_submit(prompts(20))
    deadline = time.monotonic() + 10
    while model.batch_api_status(job_id).completed < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    model.batch_api_cancel(job_id)
    out = model.batch_api_retrieve(job_id, return_exceptions=True)
    done = [m for m in out if isinstance(m, AIMessage)]
    cancelled = [m for m in out if isinstance(m, BatchCancelledError)]
    assert len(out) == 20 and len(done) >= 2 and len(done) + len(cancelled) == 20


_CHILD = textwrap.dedent(
    """
    import sys
    from langchain_azoai import AzureChatOpenAI
    endpoint, key, job_dir = sys.argv[1:4]
    llm = AzureChatOpenAI(azure_endpoint=endpoint, api_key=key, azure_deployment="chat-batch",
                          model="gpt-4o", batch_api_options={"job_dir": job_dir, "poll_interval": 0.02,
                                                             "max_poll_interval": 0.05})
    job_id = llm.batch_api_submit([f"Say the number {i}" for i in range(25)])
    print(job_id, flush=True)
    llm.batch_api_retrieve(job_id)
    print("DONE", flush=True)
    """
)


def test_a_job_resumes_after_the_submitting_process_was_killed(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_batch_speed(lines_per_second=10)
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, emu.endpoint, emu.api_key, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        job_id = proc.stdout.readline().strip()
        assert job_id.startswith("job-")
        deadline = time.monotonic() + 10
        while (
            not any(b["status"] == "in_progress" for b in emu.batches)
            and time.monotonic() < deadline
        ):
            time.sleep(0.02)  # the child is polling a running batch: kill it now
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    model = llm(emu, tmp_path, azure_deployment="chat-batch", batch_deployment=None)
    assert model.batch_api_status(job_id).state == "running"
    out = model.batch_api_retrieve(job_id)
    assert [f"number {i}" in m.text for i, m in enumerate(out)] == [True] * 25


# --- embeddings ------------------------------------------------------------------------------------------


def test_embed_documents_through_the_batch_api(emu: Emulator, tmp_path: Path) -> None:
    texts = [f"document number {i} about topic {i % 3}" for i in range(10)]
    online = embedder(emu, tmp_path, dimensions=32).embed_documents(texts)
    emu.clear_requests()
    batch = embedder(emu, tmp_path, dimensions=32, use_batch_api=True)
    vectors = batch.embed_documents(texts)
    assert online_calls(emu) == 0 and len(emu.batches) == 1
    assert vectors == [pytest.approx(v, abs=1e-6) for v in online]
    query = batch.embed_query("a question")  # a query is always online
    assert len(query) == 32 and online_calls(emu) == 1


async def test_aembed_documents_through_the_batch_api(emu: Emulator, tmp_path: Path) -> None:
    vectors = await embedder(emu, tmp_path, use_batch_api=True).aembed_documents(
        ["a b", "c d", "e f", "g h"]
    )
    assert len(vectors) == 4 and all(len(v) == 1536 for v in vectors)
    assert online_calls(emu) == 0


def test_embeddings_failures_by_index_and_explicit_jobs(emu: Emulator, tmp_path: Path) -> None:
    model = embedder(emu, tmp_path, use_batch_api=True)
    with pytest.raises(EmbeddingBatchError) as err:
        model.embed_documents(["fine", "", "also fine"])
    assert err.value.failed_indices == [1] and err.value.partial[0] is not None
    assert (
        embedder(emu, tmp_path, use_batch_api=True, skip_empty=True).embed_documents(["x", ""])[1]
        == [0.0] * 1536
    )
    job_id = model.batch_api_submit(["one", "two"])
    assert len(embedder(emu, tmp_path).batch_api_retrieve(job_id)) == 2

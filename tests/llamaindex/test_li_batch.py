"""LlamaIndex through the Batch API against the emulator: ``AzureOpenAIEmbedding`` in batch
mode inside an ``IngestionPipeline`` (sync and async), batch chat and completion for the LLM,
explicit submit/collect/cancel, rejected lines by index, and a job resumed in a new process
after the first was killed."""

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
from li_helpers import DOCS, ISOLATED
from llama_index.core import SimpleDirectoryReader
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.node_parser import SentenceSplitter

from azoai.embeddings import EmbeddingBatchError
from azoai.errors import BatchCancelledError, ContentFilterError
from azoai_emulator import Emulator, EmulatorDeployment
from llamaindex_azoai import AzureOpenAI, AzureOpenAIEmbedding

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


def embed_model(emu: Emulator, tmp_path: Path, **kw: Any) -> AzureOpenAIEmbedding:
    return AzureOpenAIEmbedding(
        model="text-embedding-3-small",
        deployment_name="embed",
        batch_deployment="embed-batch",
        batch_api_options={"job_dir": str(tmp_path), "embeddings_per_line": 2, **FAST},
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        **ISOLATED,
        **kw,
    )


def llm(emu: Emulator, tmp_path: Path, **kw: Any) -> AzureOpenAI:
    kw.setdefault("batch_deployment", "chat-batch")
    return AzureOpenAI(
        engine="chat",
        model="gpt-4o",
        batch_api_options={"job_dir": str(tmp_path), **FAST},
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        **ISOLATED,
        **kw,
    )


def online_calls(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.path.endswith(("/chat/completions", "/embeddings")))


def ask(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


# --- embeddings ----------------------------------------------------------------------------------------


def pipeline(model: AzureOpenAIEmbedding) -> IngestionPipeline:
    return IngestionPipeline(
        transformations=[SentenceSplitter(chunk_size=64, chunk_overlap=0), model]
    )


def test_an_ingestion_pipeline_embeds_through_one_batch_job(emu: Emulator, tmp_path: Path) -> None:
    docs = SimpleDirectoryReader(str(DOCS)).load_data()
    model = embed_model(emu, tmp_path, use_batch_api=True, embed_batch_size=3)
    nodes = pipeline(model).run(documents=docs)
    assert len(nodes) > 3 and all(
        n.embedding is not None and len(n.embedding) == 1536 for n in nodes
    )
    assert online_calls(emu) == 0 and len(emu.batches) == 1  # one job, not one per 3 texts
    online = embed_model(emu, tmp_path).get_text_embedding(
        nodes[2].get_content(metadata_mode="embed")
    )
    assert nodes[2].embedding == pytest.approx(online, abs=1e-6)


async def test_an_async_ingestion_pipeline_embeds_through_the_batch_api(
    emu: Emulator, tmp_path: Path
) -> None:
    docs = SimpleDirectoryReader(str(DOCS)).load_data()
    nodes = await pipeline(embed_model(emu, tmp_path, use_batch_api=True)).arun(documents=docs)
    assert nodes and all(n.embedding is not None for n in nodes)
    assert online_calls(emu) == 0 and len(emu.batches) == 1


def test_queries_stay_online_and_failures_are_by_index(emu: Emulator, tmp_path: Path) -> None:
    model = embed_model(emu, tmp_path, use_batch_api=True)
    assert len(model.get_query_embedding("a question")) == 1536 and online_calls(emu) == 1
    with pytest.raises(EmbeddingBatchError) as err:
        model.get_text_embedding_batch(["one", "", "three"])
    assert err.value.failed_indices == [1]
    job_id = model.batch_submit(["alpha", "beta", "gamma"])
    assert len(embed_model(emu, tmp_path).batch_collect(job_id)) == 3


# --- the LLM ---------------------------------------------------------------------------------------------


def test_batch_chat_and_complete_in_order(emu: Emulator, tmp_path: Path) -> None:
    model = llm(emu, tmp_path)
    chats = model.batch_chat([ask(f"Say the number {i}") for i in range(5)])
    assert all(isinstance(c, ChatResponse) for c in chats)
    assert [f"number {i}" in (c.message.content or "") for i, c in enumerate(chats)] == [True] * 5
    completions = model.batch_complete([f"Say the number {i}" for i in range(3)], max_tokens=20)
    assert all(isinstance(c, CompletionResponse) for c in completions)
    assert [f"number {i}" in c.text for i, c in enumerate(completions)] == [True] * 3
    assert online_calls(emu) == 0 and len(emu.batches) == 2


async def test_async_batch_complete(emu: Emulator, tmp_path: Path) -> None:
    out = await llm(emu, tmp_path).abatch_complete([f"Say the number {i}" for i in range(4)])
    assert [f"number {i}" in c.text for i, c in enumerate(out)] == [True] * 4
    chats = await llm(emu, tmp_path).abatch_chat([ask("hello")])
    assert chats[0].message.content


def test_rejected_lines_by_index(emu: Emulator, tmp_path: Path) -> None:
    prompts = ["fine", "a forbidden word", "fine too"]
    out = llm(emu, tmp_path).batch_complete(prompts, return_exceptions=True)
    assert isinstance(out[0], CompletionResponse) and isinstance(out[2], CompletionResponse)
    assert isinstance(out[1], ContentFilterError)
    with pytest.raises(ContentFilterError):
        llm(emu, tmp_path).batch_complete(prompts)


def test_submit_collect_and_cancel(emu: Emulator, tmp_path: Path) -> None:
    job_id = llm(emu, tmp_path).batch_submit([ask(f"Say the number {i}") for i in range(3)])
    out = llm(emu, tmp_path).batch_collect(job_id)  # another object, as another process
    assert [f"number {i}" in (c.message.content or "") for i, c in enumerate(out)] == [True] * 3
    emu.set_batch_speed(lines_per_second=30)
    model = llm(emu, tmp_path)
    job_id = model.batch_submit([ask(f"Say the number {i}") for i in range(20)])
    deadline = time.monotonic() + 10
    while model.batch_status(job_id).completed < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    model.batch_cancel(job_id)
    out = model.batch_collect(job_id, return_exceptions=True)
    done = [c for c in out if isinstance(c, ChatResponse)]
    assert len(done) >= 2 and len(done) + sum(isinstance(c, BatchCancelledError) for c in out) == 20


_CHILD = textwrap.dedent(
    """
    import sys
    from llamaindex_azoai import AzureOpenAIEmbedding
    endpoint, key, job_dir = sys.argv[1:4]
    model = AzureOpenAIEmbedding(model="text-embedding-3-small", deployment_name="embed-batch",
                                 azure_endpoint=endpoint, api_key=key, env={}, config_file="",
                                 batch_api_options={"job_dir": job_dir, "embeddings_per_line": 1,
                                                    "poll_interval": 0.02, "max_poll_interval": 0.05})
    job_id = model.batch_submit([f"text number {i}" for i in range(25)])
    print(job_id, flush=True)
    model.batch_collect(job_id)
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
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    model = embed_model(emu, tmp_path)  # a new process's object: same job_dir
    assert model.batch_status(job_id).state == "running"  # the killed process left it running
    vectors = model.batch_collect(job_id)
    assert len(vectors) == 25
    online = embed_model(emu, tmp_path).get_text_embedding("text number 24")
    assert vectors[24] == pytest.approx(online, abs=1e-6)

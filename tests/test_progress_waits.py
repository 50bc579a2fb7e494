"""Progress bars say why they wait (issue 21): the embeddings engine tells a progress callback
that takes a status why a batch waits (Azure's 429, the quota pacer holding it), and both
adapters' bars show it; LlamaIndex's bar moves per request; and sending the LlamaIndex embedding
to worker processes warns, before they can hang offline, when tiktoken's file is not cached."""

from __future__ import annotations

import asyncio
import pickle
import re
import time
import warnings
from collections.abc import Iterator
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import llama_index.core
import pytest

import llamaindex_azoai.embeddings as li_embeddings
from azoai import Client
from azoai_emulator import Emulator, EmulatorDeployment, Fault
from langchain_azoai import AzureOpenAIEmbeddings
from llamaindex_azoai import AzureOpenAIEmbedding

TEXTS = [f"text number {i} with words" for i in range(40)]
SHIPPED = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


def throttle_once(emu: Emulator, client: Client) -> None:
    """The deployment's limits known (one call), then one 429 asking for 1.2 s."""
    client.embed(["warm up"], model="embed")
    emu.inject("embed", Fault.rate_limit(retry_after_ms=1200, count=1))


def test_a_progress_callback_with_a_status_hears_why_the_call_waits(emu: Emulator) -> None:
    seen: list[tuple[int, int, str | None]] = []
    with Client(endpoint=emu.endpoint, api_key=emu.api_key) as client:
        throttle_once(emu, client)
        result = client.embed(
            TEXTS,
            model="embed",
            batch_size=10,
            progress=lambda done, total, status=None: seen.append((done, total, status)),
        )
    assert len(result.vectors) == 40
    statuses = [s for _, _, s in seen if s]
    assert "waiting 2 s: Azure answered 429 (rate limit)" in statuses
    assert seen[-1] == (40, 40, None)  # the wait is over when the last batch is done


def test_the_quota_pacer_says_how_long_it_holds_a_batch() -> None:
    # 600 tokens a minute (10 a second), each text 5 tokens: the first call takes 550 of them,
    # so the second (70 tokens) waits about two seconds for the bucket to refill
    texts = [f"text number {i} with words" for i in range(124)]
    seen: list[tuple[int, str | None]] = []
    deployments = [EmulatorDeployment("tiny", model="text-embedding-3-small", tpm=600)]
    with Emulator(deployments) as emu, Client(endpoint=emu.endpoint, api_key=emu.api_key) as c:
        c.embed(texts[:110], model="tiny")
        started = time.monotonic()
        c.embed(
            texts[110:],
            model="tiny",
            progress=lambda done, total, status=None: seen.append((done, status)),
        )
        waited = time.monotonic() - started
    quota = [s for _, s in seen if s and re.fullmatch(r"waiting \d+ s for quota", s)]
    assert quota and seen[0] == (0, quota[0]), seen  # said before the batch went
    assert waited >= 1.0 and seen[-1] == (14, None)


def test_a_two_argument_callback_is_called_as_before(emu: Emulator) -> None:
    seen: list[tuple[int, int]] = []
    with Client(endpoint=emu.endpoint, api_key=emu.api_key) as client:
        throttle_once(emu, client)
        client.embed(TEXTS, model="embed", batch_size=10, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (40, 40) and all(len(s) == 2 for s in seen)


def test_async_embedding_hears_the_wait_too(emu: Emulator) -> None:
    seen: list[str | None] = []

    async def main() -> None:
        async with Client(endpoint=emu.endpoint, api_key=emu.api_key) as client:
            await client.aembed(["warm up"], model="embed")
            emu.inject("embed", Fault.rate_limit(retry_after_ms=1200, count=1))
            await client.aembed(
                TEXTS,
                model="embed",
                batch_size=10,
                progress=lambda done, total, status=None: seen.append(status),
            )

    asyncio.run(main())
    assert any(s and s.startswith("waiting 2 s") for s in seen) and seen[-1] is None


def test_the_langchain_bar_says_why_it_waits(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emb = AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="embed",
        chunk_size=10,
        show_progress_bar=True,
    )
    emb.embed_documents(["warm up"])
    emu.inject("embed", Fault.rate_limit(retry_after_ms=1200, count=1))
    capsys.readouterr()
    assert len(emb.embed_documents(TEXTS)) == 40
    bar = capsys.readouterr().err
    assert "waiting 2 s: Azure answered 429 (rate limit)" in bar and "40/40" in bar


def test_the_llamaindex_bar_moves_per_request_and_says_why_it_waits(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emb = AzureOpenAIEmbedding(
        model="text-embedding-3-small",
        deployment_name="embed",
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        embed_batch_size=10,  # llama-index's chunks; the engine's requests within them
    )
    emb.get_text_embedding("warm up")
    emu.inject("embed", Fault.rate_limit(retry_after_ms=1200, count=1))
    capsys.readouterr()
    assert len(emb.get_text_embedding_batch(TEXTS, show_progress=True)) == 40
    bar = capsys.readouterr().err
    assert "Generating embeddings" in bar and "10/40" in bar and "40/40" in bar
    assert "waiting 2 s: Azure answered 429 (rate limit)" in bar


# --- IngestionPipeline(num_workers=...) and tiktoken offline ---------------------------------------


@pytest.fixture
def embedding(monkeypatch: pytest.MonkeyPatch) -> AzureOpenAIEmbedding:
    monkeypatch.setattr(li_embeddings, "_warned", False)
    return AzureOpenAIEmbedding(
        model="text-embedding-3-small",
        azure_endpoint="https://myres.openai.azure.com",
        api_key="k",
    )


def test_sending_the_embedding_to_workers_warns_without_tiktokens_file(
    embedding: AzureOpenAIEmbedding, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))  # empty: workers would download
    # multiprocessing's pickler is what IngestionPipeline(num_workers=...)'s pool uses
    with pytest.warns(RuntimeWarning, match="without network the run hangs") as caught:
        ForkingPickler.dumps([embedding])
    message = str(caught[0].message)
    assert f"TIKTOKEN_CACHE_DIR={SHIPPED}" in message and str(tmp_path) in message


def test_no_warning_when_the_workers_find_the_file(
    embedding: AzureOpenAIEmbedding, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(SHIPPED))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ForkingPickler.dumps([embedding])


def test_no_warning_for_a_users_own_pickle(
    embedding: AzureOpenAIEmbedding, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.dumps(embedding)

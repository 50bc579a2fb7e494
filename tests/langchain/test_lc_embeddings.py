"""AzureOpenAIEmbeddings against the emulator: the core's batching, splitting, dimensions,
progress and async paths."""

from __future__ import annotations

import math

import pytest

from azoai import ConfigError
from azoai_emulator import Emulator
from langchain_azoai import AzureOpenAIEmbeddings


def _embedding_requests(emu: Emulator) -> list[dict]:
    return [r.body for r in emu.requests if r.path.endswith("/embeddings")]  # type: ignore[misc]


def test_embed_documents_and_query(embeddings: AzureOpenAIEmbeddings, emu: Emulator) -> None:
    docs = embeddings.embed_documents(["the cat sat", "on the mat", "the cat sat"])
    assert len(docs) == 3
    assert len({len(v) for v in docs}) == 1 and len(docs[0]) == 1536
    assert docs[0] == docs[2] and docs[0] != docs[1]
    query = embeddings.embed_query("the cat sat")
    assert query == pytest.approx(docs[0])
    assert embeddings.embed_documents([]) == []


async def test_async(embeddings: AzureOpenAIEmbeddings) -> None:
    docs = await embeddings.aembed_documents(["alpha", "beta"])
    assert len(docs) == 2
    assert await embeddings.aembed_query("alpha") == pytest.approx(docs[0])


def test_batches_follow_chunk_size(emu: Emulator) -> None:
    emb = AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="embed", chunk_size=2
    )
    texts = [f"text number {i}" for i in range(5)]
    vectors = emb.embed_documents(texts)
    assert len(vectors) == 5
    sizes = sorted(len(body["input"]) for body in _embedding_requests(emu))
    assert sizes == [1, 2, 2]
    # order is kept across the concurrent batches
    assert vectors == [emb.embed_query(t) for t in texts]


def test_default_batches_are_azure_sized(embeddings: AzureOpenAIEmbeddings, emu: Emulator) -> None:
    embeddings.embed_documents([f"t{i}" for i in range(2100)])
    # Azure-sized batches; first a 16-text probe when this process does not know the
    # deployment's quota yet (a pooled connection may know it from an earlier test)
    sizes = sorted(len(b["input"]) for b in _embedding_requests(emu))
    assert sizes in ([52, 2048], [16, 36, 2048])


def test_dimensions(emu: Emulator) -> None:
    emb = AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="embed", dimensions=64
    )
    [v] = emb.embed_documents(["short"])
    assert len(v) == 64
    assert _embedding_requests(emu)[-1]["dimensions"] == 64


def test_long_inputs_are_split_and_recombined(emu: Emulator) -> None:
    emb = AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="embed",
        embedding_ctx_length=20,
    )
    long_text = " ".join(f"word{i}" for i in range(200))
    [v] = emb.embed_documents([long_text])
    assert math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-6)
    assert sum(len(b["input"]) for b in _embedding_requests(emu)) > 1
    strict = AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="embed",
        embedding_ctx_length=20,
        check_embedding_ctx_length=False,
    )
    with pytest.raises(ConfigError, match="exceed 20 tokens"):
        strict.embed_documents([long_text])


def test_empty_strings(emu: Emulator, embeddings: AzureOpenAIEmbeddings) -> None:
    with pytest.raises(ConfigError, match="index 1"):
        embeddings.embed_documents(["a", ""])
    skipping = AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="embed", skip_empty=True
    )
    a, empty = skipping.embed_documents(["a", ""])
    assert any(a) and not any(empty)


def test_progress_bar(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    emb = AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="embed",
        chunk_size=3,
        show_progress_bar=True,
    )
    emb.embed_documents([f"doc {i}" for i in range(10)])
    err = capsys.readouterr().err
    assert "10/10" in err


def test_model_kwargs_reach_every_request_body(emu: Emulator) -> None:
    emb = AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="embed",
        chunk_size=1,
        model_kwargs={"user": "user-42"},
    )
    emb.embed_documents(["a", "b"])
    bodies = _embedding_requests(emu)
    assert len(bodies) == 2 and all(b["user"] == "user-42" for b in bodies)

"""``AzureOpenAIEmbedding`` against the emulator: batching, order, dimensions, async, progress."""

from __future__ import annotations

import math
from typing import Any

import pytest
from li_helpers import ISOLATED, bodies
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler

from azoai.errors import AzoaiError
from azoai_emulator import Emulator
from llamaindex_azoai import AzureOpenAIEmbedding


def make(emu: Emulator, **kw: Any) -> AzureOpenAIEmbedding:
    args: dict[str, Any] = {
        "model": "text-embedding-3-small",
        "deployment_name": "embed",
        "azure_endpoint": emu.endpoint,
        "api_key": emu.api_key,
        **ISOLATED,
    }
    args.update(kw)
    return AzureOpenAIEmbedding(**args)


def embed_bodies(emu: Emulator) -> list[dict[str, Any]]:
    return bodies(emu, "/embeddings")


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (
        math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    )


TEXTS = [
    "Honeybees dance to show where flowers are.",
    "Shield volcanoes have gentle slopes.",
    "A sourdough starter needs regular feeding.",
]


def test_query_and_text_embeddings(embed_model: AzureOpenAIEmbedding, emu: Emulator) -> None:
    query = embed_model.get_query_embedding("Where do honeybees find flowers?")
    docs = embed_model.get_text_embedding_batch(TEXTS)
    assert len(query) == 1536
    assert [len(d) for d in docs] == [1536] * 3
    scores = [cosine(query, d) for d in docs]
    assert scores.index(max(scores)) == 0
    assert embed_bodies(emu)[-1]["model"] == "embed"


def test_batch_keeps_order(embed_model: AzureOpenAIEmbedding) -> None:
    together = embed_model.get_text_embedding_batch(TEXTS)
    alone = [embed_model.get_text_embedding(t) for t in TEXTS]
    assert together == alone


def test_default_batch_is_azure_sized(embed_model: AzureOpenAIEmbedding, emu: Emulator) -> None:
    texts = [f"note number {i} about topic {i % 7}" for i in range(2500)]
    vectors = embed_model.get_text_embedding_batch(texts)
    assert len(vectors) == 2500
    assert vectors[1234] == embed_model.get_text_embedding(texts[1234])
    sizes = [len(b["input"]) for b in embed_bodies(emu)][:-1]
    # llama-index's Azure class would have sent 250 requests of 10; here its first chunk of 2048
    # starts with a 16-text probe when this process does not know the deployment's quota yet (a
    # pooled connection may know it from an earlier test)
    assert sizes in ([2048, 452], [16, 2032, 452])


def test_additional_kwargs_are_sent_with_each_batch(emu: Emulator) -> None:
    model = make(emu, additional_kwargs={"user": "team-search", "encoding_format": "float"})
    model.get_text_embedding("hello")
    [body] = embed_bodies(emu)
    assert body["user"] == "team-search"


def test_dimensions_pass_through(emu: Emulator) -> None:
    model = make(emu, dimensions=256)
    assert len(model.get_text_embedding("hello")) == 256
    assert embed_bodies(emu)[0]["dimensions"] == 256


async def test_async_embeddings(embed_model: AzureOpenAIEmbedding) -> None:
    query = await embed_model.aget_query_embedding("Where do honeybees find flowers?")
    docs = await embed_model.aget_text_embedding_batch(TEXTS)
    assert docs == embed_model.get_text_embedding_batch(TEXTS)
    assert len(query) == 1536
    assert len(await embed_model.aget_text_embedding("x")) == 1536


async def test_num_workers_runs_batches_concurrently(emu: Emulator) -> None:
    model = make(emu, embed_batch_size=2, num_workers=2)
    vectors = await model.aget_text_embedding_batch([*TEXTS, "one more"])
    assert len(vectors) == 4
    assert vectors[:3] == model.get_text_embedding_batch(TEXTS)
    assert sorted(len(b["input"]) for b in embed_bodies(emu)[:2]) == [2, 2]


def test_show_progress(
    embed_model: AzureOpenAIEmbedding, capsys: pytest.CaptureFixture[str]
) -> None:
    embed_model.get_text_embedding_batch(TEXTS, show_progress=True)
    assert "Generating embeddings" in capsys.readouterr().err


async def test_show_progress_async(
    embed_model: AzureOpenAIEmbedding, capsys: pytest.CaptureFixture[str]
) -> None:
    await embed_model.aget_text_embedding_batch(TEXTS, show_progress=True)
    assert "Generating embeddings" in capsys.readouterr().err


def test_empty_text_is_an_error_naming_it_or_a_zero_vector(emu: Emulator) -> None:
    with pytest.raises(AzoaiError, match="1"):
        make(emu).get_text_embedding_batch(["fine", ""])
    vectors = make(emu, empty="zero").get_text_embedding_batch(["fine", ""])
    assert any(vectors[0]) and not any(vectors[1])


def test_callbacks_see_embedding_events(emu: Emulator) -> None:
    counter = TokenCountingHandler()
    model = make(emu, callback_manager=CallbackManager([counter]))
    model.get_text_embedding_batch(TEXTS)
    assert counter.total_embedding_token_count > 0


def test_reuse_client_false(emu: Emulator) -> None:
    model = make(emu, reuse_client=False)
    assert len(model.get_text_embedding("hello")) == 1536
    assert model._client is None

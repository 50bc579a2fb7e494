"""Azure's per-request token cap on embeddings (issue 16; langchain-ai/langchain#31227: "Requested
673477 tokens, max 300000 tokens per request"): batches are packed under ``max_tokens_per_request``
before sending; when the estimate was low and Azure still answers that 400, the batch is split in
two and each half retried, recursively, every vector kept in input order; an input over the cap
on its own fails alone, by index. Through the core Client and both adapters, sync and async,
against an emulator whose deployment plays the cap (lowered to 600 tokens so the test stays
small)."""

from __future__ import annotations

import asyncio
import itertools
import math
import os
from collections.abc import Iterator
from typing import Any

import pytest

from azoai.client import Client
from azoai.embeddings import DEFAULT_MAX_TOKENS_PER_REQUEST, EmbeddingBatchError, EmbeddingEngine
from azoai.errors import BadRequestError, ConfigError
from azoai_emulator import Emulator, EmulatorDeployment
from azoai_emulator.api_embeddings import MAX_TOKENS_PER_REQUEST
from azoai_emulator.embeddings import embed
from azoai_emulator.tokens import count_tokens
from langchain_azoai import AzureOpenAIEmbeddings
from llamaindex_azoai import AzureOpenAIEmbedding

CAP = 600
KINDS = ["core", "langchain", "llamaindex"]
MODES = ["sync", "async"]


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AZURE_", "OPENAI_", "AZOAI_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(deployments=[EmulatorDeployment("embed", model="text-embedding-3-small")]) as e:
        yield e


_serial = itertools.count()


@pytest.fixture
def capped(emu: Emulator) -> str:
    """A new deployment with the cap, for each test: the pacer that calibrates the estimate is
    shared per pooled connection and deployment, so a fresh name starts uncalibrated."""
    emu.reset()
    name = f"capped{next(_serial)}"
    emu.add_deployment(
        EmulatorDeployment(name, model="text-embedding-3-small", max_tokens_per_request=CAP)
    )
    return name


def run(
    kind: str, mode: str, emu: Emulator, dep: str, texts: list[str], **kw: Any
) -> list[list[float]]:
    """Vectors for ``texts`` from deployment ``dep``, the way a user of ``kind`` asks."""
    if kind == "core":
        client = Client(
            endpoint=emu.endpoint, api_key=emu.api_key, deployment=dep, env={}, config_file=""
        )
        with client:
            if mode == "sync":
                return client.embed(texts, **kw).vectors
            return asyncio.run(client.aembed(texts, **kw)).vectors
    if kind == "langchain":
        lc = AzureOpenAIEmbeddings(
            azure_endpoint=emu.endpoint,
            api_key=emu.api_key,
            azure_deployment=dep,
            config_file="",
            **kw,
        )
        if mode == "sync":
            return lc.embed_documents(texts)
        return asyncio.run(lc.aembed_documents(texts))
    li = AzureOpenAIEmbedding(
        model="text-embedding-3-small",
        deployment_name=dep,
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        env={},
        config_file="",
        **kw,
    )
    if mode == "sync":
        return li.get_text_embedding_batch(texts)
    return asyncio.run(li.aget_text_embedding_batch(texts))


def embedding_requests(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if r.path.endswith("/embeddings")]


def emulator_tokens(record: Any) -> int:
    return sum(count_tokens(t) for t in record.body["input"])


def assert_vectors(vectors: list[list[float]] | list[list[float] | None], texts: list[str]) -> None:
    assert len(vectors) == len(texts)
    for v, t in zip(vectors, texts, strict=True):
        assert v is not None
        assert v == pytest.approx(embed(t, len(v)), abs=1e-6)  # float32 on the wire


# Words: 30 emulator tokens, 51 estimated (one per three bytes), so the estimate is high.
PLAIN = [f"topic{i} " + "word " * 29 for i in range(40)]
# Punctuation: 91 emulator tokens (one per mark), 33 estimated, so the estimate is low.
DENSE = [f"topic{i} " + ",;" * 45 for i in range(40)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_batch_over_the_cap_is_split_before_sending(
    kind: str, mode: str, emu: Emulator, capped: str
) -> None:
    vectors = run(kind, mode, emu, capped, PLAIN, max_tokens_per_request=CAP)
    assert_vectors(vectors, PLAIN)
    sent = embedding_requests(emu)
    # 40 inputs of 51 estimated tokens: the first request (the quota pacer's probe, while the
    # deployment's quota is unknown) holds the 11 under 600; its answer calibrates the estimate
    # (Azure counts 30), so the other 29 go as 19 and 10
    assert len(sent) == 3
    assert len(sent[0].body["input"]) == 11
    assert sorted(len(r.body["input"]) for r in sent) == [10, 11, 19]
    assert all(r.status == 200 and emulator_tokens(r) <= CAP for r in sent)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", KINDS)
def test_an_underestimate_is_split_and_retried_with_nothing_lost(
    kind: str, mode: str, emu: Emulator, capped: str
) -> None:
    vectors = run(kind, mode, emu, capped, DENSE, max_tokens_per_request=CAP)
    assert_vectors(vectors, DENSE)
    sent = embedding_requests(emu)
    refused = [r for r in sent if r.status == 400]
    served = [r for r in sent if r.status == 200]
    assert refused and all(emulator_tokens(r) > CAP for r in refused)
    assert all(emulator_tokens(r) <= CAP for r in served)
    # every input arrived exactly once in a request that was served
    served_inputs = sorted(t for r in served for t in r.body["input"])
    assert served_inputs == sorted(DENSE)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", KINDS)
def test_one_input_over_the_cap_fails_alone_by_index(
    kind: str, mode: str, emu: Emulator, capped: str
) -> None:
    texts = PLAIN[:10]
    texts[4] = "huge " + ",;" * 400  # 801 emulator tokens: over 600 even alone
    with pytest.raises(EmbeddingBatchError) as exc:
        run(kind, mode, emu, capped, texts, max_tokens_per_request=CAP)
    err = exc.value
    assert err.failed_indices == [4]
    assert err.partial[4] is None
    kept = [v for i, v in enumerate(err.partial) if i != 4]
    assert_vectors(kept, [t for i, t in enumerate(texts) if i != 4])
    cause = err.errors[4]
    assert isinstance(cause, BadRequestError)
    assert cause.status_code == 400 and cause.code == "max_tokens_per_request"
    assert "input 4" in cause.message and "Requested 801 tokens, max 600 tokens" in cause.message
    assert cause.fix is not None and "max_input_tokens" in cause.fix


def test_emulator_answers_azures_400_body(emu: Emulator, capped: str) -> None:
    """The exact body users quote (type and code ``max_tokens_per_request``), at Azure's cap by
    default."""
    assert MAX_TOKENS_PER_REQUEST == 300_000
    client = Client(
        endpoint=emu.endpoint, api_key=emu.api_key, deployment=capped, env={}, config_file=""
    )
    with client, pytest.raises(BadRequestError) as exc:
        client.embed(["huge " + ",;" * 400], max_tokens_per_request=None)
    assert exc.value.body == {
        "error": {
            "message": "Requested 801 tokens, max 600 tokens per request",
            "type": "max_tokens_per_request",
            "param": None,
            "code": "max_tokens_per_request",
        }
    }


def test_no_cap_by_default_as_azure_documents_none() -> None:
    # Azure: 2,048 inputs of up to 8,192 tokens each, no cap on their sum (facts §6); the 400
    # split-and-retry above works whatever the setting
    client = Client(endpoint="https://r.openai.azure.com", api_key="k", env={}, config_file="")
    assert EmbeddingEngine(client).max_tokens_per_request == DEFAULT_MAX_TOKENS_PER_REQUEST
    assert DEFAULT_MAX_TOKENS_PER_REQUEST is None
    lc = AzureOpenAIEmbeddings(
        azure_endpoint="https://r.openai.azure.com", api_key="k", azure_deployment="e"
    )
    assert lc._engine_options(None)["max_tokens_per_request"] is None
    li = AzureOpenAIEmbedding(
        model="text-embedding-3-small",
        azure_endpoint="https://r.openai.azure.com",
        api_key="k",
        env={},
        config_file="",
    )
    assert li._engine_options()["max_tokens_per_request"] is None


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, 2.5, True, "300000"])
def test_the_cap_must_be_a_positive_whole_number(value: object) -> None:
    client = Client(
        endpoint="https://r.openai.azure.com",
        api_key="k",
        deployment="embed",
        env={},
        config_file="",
    )
    with pytest.raises(ConfigError) as exc:
        client.embed(["a"], max_tokens_per_request=value)
    assert exc.value.setting == "max_tokens_per_request"


@pytest.mark.parametrize("mode", MODES)
def test_later_calls_pack_by_azures_count_not_the_raw_estimate(
    mode: str, emu: Emulator, capped: str
) -> None:
    """The estimate is high for prose (51 estimated tokens where Azure counts 30): once responses
    have calibrated it, batches hold as many inputs as fit Azure's real count under the cap."""
    client = Client(
        endpoint=emu.endpoint, api_key=emu.api_key, deployment=capped, env={}, config_file=""
    )

    def call() -> list[list[float]]:
        if mode == "sync":
            return client.embed(PLAIN, max_tokens_per_request=CAP).vectors
        return asyncio.run(client.aembed(PLAIN, max_tokens_per_request=CAP)).vectors

    with client:
        call()
        assert len(embedding_requests(emu)) == 3  # an 11-input probe, then calibrated: 19, 10
        emu.clear_requests()
        assert_vectors(call(), PLAIN)
    sent = embedding_requests(emu)
    assert sorted(len(r.body["input"]) for r in sent) == [2, 19, 19]
    assert all(r.status == 200 and emulator_tokens(r) <= CAP for r in sent)

"""Pacing at small scale (issue 18): 3,000 texts of ~120 tokens under 240,000 TPM / 120 RPM. The
first 2,048-text batch alone would be over the quota (about 250,000 tokens); it used to be sent
whole, refused with 429, split, and its second half sent early into another 429. Now, while the
deployment's quota is unknown, a small first batch goes alone (the probe) and the rest is packed
under the quota it reports: no 429, and the run ends at the quota minimum.

Time is simulated, as in test_pacing.py: the emulator's buckets and the pacer share a fake clock,
so the minute of quota runs in milliseconds and the figures are exact."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Iterator

import pytest

import azoai.pipeline.pacing as pacing_mod
from azoai.client import Client
from azoai.pipeline.pacing import Pacer
from azoai_emulator import Emulator, EmulatorDeployment
from azoai_emulator.tokens import count_tokens
from langchain_azoai import AzureOpenAIEmbeddings
from llamaindex_azoai import AzureOpenAIEmbedding

TPM, RPM = 240_000, 120
WORDS = ("quota", "tokens", "minute", "deployment", "batch", "request", "limit", "header")


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(
        pacing_mod, "time", types.SimpleNamespace(monotonic=fake.monotonic, sleep=fake.sleep)
    )

    async def asleep(seconds: float) -> None:
        fake.sleep(seconds)
        await asyncio.sleep(0)

    monkeypatch.setattr(pacing_mod, "_asleep", asleep)
    return fake


@pytest.fixture
def emu(clock: FakeTime) -> Iterator[Emulator]:
    dep = EmulatorDeployment("embed", model="text-embedding-3-small", tpm=TPM, rpm=RPM)
    with Emulator([dep], clock=clock.time) as e:
        yield e


def corpus(n: int = 3000) -> list[str]:
    # 120 words and a mark: about 122 tokens as the emulator counts them
    return [
        f"text {i}: " + " ".join(WORDS[(i + k) % 8] for k in range(118)) + "." for i in range(n)
    ]


def embed(kind: str, emu: Emulator, texts: list[str]) -> list[list[float]]:
    """One batch in flight at a time: a sender waiting on the fake clock advances it, so with
    several in flight the clock would race ahead while the others' requests travel."""
    if kind.startswith("core"):
        client = Client(
            endpoint=emu.endpoint, api_key=emu.api_key, deployment="embed", env={}, config_file=""
        )
        with client:
            if kind == "core-async":
                return asyncio.run(client.aembed(texts, concurrency=1)).vectors
            return client.embed(texts, concurrency=1).vectors
    if kind == "langchain-async":
        lc = AzureOpenAIEmbeddings(
            azure_endpoint=emu.endpoint,
            api_key=emu.api_key,
            azure_deployment="embed",
            model="text-embedding-3-small",
            config_file="",
            max_concurrency=1,
        )
        return asyncio.run(lc.aembed_documents(texts))
    li = AzureOpenAIEmbedding(
        model="text-embedding-3-small",
        deployment_name="embed",
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        env={},
        config_file="",
        concurrency=1,
    )
    return li.get_text_embedding_batch(texts)  # its chunks of 2,048 one after the other


@pytest.mark.parametrize("kind", ["core-sync", "core-async", "langchain-async", "llamaindex-sync"])
def test_an_over_quota_first_batch_is_split_before_it_is_sent(
    kind: str, emu: Emulator, clock: FakeTime
) -> None:
    texts = corpus()
    total = sum(count_tokens(t) for t in texts)
    assert count_tokens(" ".join(texts[:2048])) > TPM  # 2,048 texts would never fit
    start = clock.now
    vectors = embed(kind, emu, texts)
    elapsed = clock.now - start
    assert len(vectors) == 3000 and all(vectors)
    sent = [r for r in emu.requests if r.path.endswith("/embeddings")]
    assert [r.status for r in sent if r.status != 200] == []  # no 429, nothing refused
    sizes = [len(r.body["input"]) for r in sent]
    assert sizes[0] <= 16  # the probe: small enough for any quota
    assert sum(sizes) == 3000
    assert all(sum(count_tokens(t) for t in r.body["input"]) <= TPM for r in sent)
    minimum = (total - TPM) / (TPM / 60)  # 3,000 x 122 tokens: about 31.5 s
    assert minimum > 25
    assert elapsed <= minimum * 1.03, (elapsed, minimum)


def test_the_quota_known_from_an_earlier_call_needs_no_probe(
    emu: Emulator, clock: FakeTime
) -> None:
    client = Client(
        endpoint=emu.endpoint, api_key=emu.api_key, deployment="embed", env={}, config_file=""
    )
    with client:
        client.embed(corpus(20), concurrency=1)
        emu.clear_requests()
        clock.now += 120  # the buckets are full again
        client.embed(corpus(3000), concurrency=1)
    sizes = [len(r.body["input"]) for r in emu.requests]
    assert [r.status for r in emu.requests] == [200] * len(sizes)
    assert sizes[0] > 16  # packed under the known quota from the first request on


def test_a_request_over_the_whole_bucket_waits_for_a_full_one(clock: FakeTime) -> None:
    """Its reservation (estimate, calibration and margin) may exceed the limit while Azure's
    count fits: it waits until the bucket is full, never goes out at once into a 429."""
    p = Pacer()
    p.observe({"x-ratelimit-limit-tokens": "60000", "x-ratelimit-remaining-tokens": "30000"})
    p.acquire(70_000)  # 30,000 short of a full bucket at 1,000 tokens/s
    assert clock.now - 1_700_000_000.0 == pytest.approx(30.0, abs=0.1)


def test_concurrent_calls_share_one_probe() -> None:
    """LlamaIndex's async batch embeds its chunks concurrently, each an ``aembed`` call on one
    pacer: the first sends the probe, the others wait for its answer and plan under the quota it
    reported, so there is one small request, not one per chunk."""
    dep = EmulatorDeployment("embed", model="text-embedding-3-small", tpm=1_000_000, rpm=600)
    with Emulator([dep]) as emu:
        li = AzureOpenAIEmbedding(
            model="text-embedding-3-small",
            deployment_name="embed",
            azure_endpoint=emu.endpoint,
            api_key=emu.api_key,
            env={},
            config_file="",
            embed_batch_size=500,
        )
        vectors = asyncio.run(li.aget_text_embedding_batch(corpus(3000)))
        sizes = [len(r.body["input"]) for r in emu.requests]
    assert len(vectors) == 3000 and all(vectors)
    # six chunks of 500; the first starts with a probe of 3 texts (1,024 estimated tokens at most)
    assert sorted(sizes) == [3, 497, *[500] * 5]

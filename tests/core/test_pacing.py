"""Quota-aware pacing (issue 9): the embeddings engine stays under a deployment's TPM/RPM from
Azure's x-ratelimit headers, splits batches the quota can never fit, and loses nothing.

Time is simulated: the emulator's buckets and the pacer share one fake clock, so a minute of quota
runs in milliseconds and the wall-time figures are exact."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Iterator
from typing import Any

import pytest

import azoai.pipeline.pacing as pacing_mod
from azoai.client import Client
from azoai.pipeline.pacing import Pacer
from azoai_emulator import Emulator, EmulatorDeployment


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


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


def test_pacer_mirrors_the_buckets(clock: FakeTime) -> None:
    p = Pacer()
    p.acquire(10_000)  # limits unknown: the first request goes out as a probe
    assert clock.slept == 0
    p.observe(
        {
            "x-ratelimit-limit-tokens": "60000",
            "x-ratelimit-remaining-tokens": "1000",
            "x-ratelimit-limit-requests": "600",
            "x-ratelimit-remaining-requests": "599",
        }
    )
    p.acquire(3000)  # costs 3030 (a 1% margin): 2030 short at 1000 tokens/s
    assert clock.slept == pytest.approx(2.03)
    p.blocked(5.0)
    p.acquire(1)
    assert clock.slept == pytest.approx(7.03)
    assert p.max_request_tokens() == 54_000


def test_pacer_ignores_nonsense_headers(clock: FakeTime) -> None:
    p = Pacer()
    p.observe(
        {"x-ratelimit-limit-tokens": "-1", "x-ratelimit-remaining-tokens": "0"}
    )  # Azure's "unknown"
    p.acquire(1_000_000)
    assert clock.slept == 0 and p.limit_tokens is None


def test_calibration_scales_estimates() -> None:
    p = Pacer()
    for _ in range(5):
        p.calibrate(estimated=300, actual=200)
    assert p.cost(300) == 202  # the ratio, plus a 1% margin


@pytest.fixture
def quota_emu(clock: FakeTime) -> Iterator[Emulator]:
    dep = EmulatorDeployment("embed", model="text-embedding-3-small", tpm=60_000, rpm=600)
    with Emulator([dep], clock=clock.time) as emu:
        yield emu


def _minimum(total_tokens: int, tpm: int) -> float:
    return max(0.0, (total_tokens - tpm) / (tpm / 60.0))


def test_ingestion_under_a_quota_runs_at_the_quota_minimum_with_no_429(
    quota_emu: Emulator, clock: FakeTime
) -> None:
    c = Client(
        endpoint=quota_emu.endpoint,
        api_key=quota_emu.api_key,
        deployment="embed",
        env={},
        config_file="",
    )
    texts = [
        f"passage {i} describes the harbour, the market and the old lighthouse on the hill"
        for i in range(6000)
    ]
    start = clock.now
    result = c.embed(texts, concurrency=1)
    elapsed = clock.now - start
    assert len(result.vectors) == 6000 and all(result.vectors)
    statuses = [q.status for q in quota_emu.requests]
    # a small first batch (the probe, while the quota is unknown), then three under the quota
    assert 429 not in statuses and statuses.count(200) == 4
    minimum = _minimum(result.usage.input_tokens, 60_000)
    assert minimum >= 20  # the quota really binds
    assert elapsed <= minimum * 1.05 + 1.0, (elapsed, minimum)


def test_a_batch_the_quota_can_never_fit_is_split_before_sending(
    quota_emu: Emulator, clock: FakeTime
) -> None:
    c = Client(
        endpoint=quota_emu.endpoint,
        api_key=quota_emu.api_key,
        deployment="embed",
        env={},
        config_file="",
    )
    texts = [
        f"{i} " + "word " * 40 for i in range(2048)
    ]  # one 2048-input batch of ~90k tokens > 60k TPM
    result = c.embed(texts, concurrency=1)
    assert len(result.vectors) == 2048 and all(result.vectors)
    # the quota is unknown until a small first batch (the probe) is answered; the rest is packed
    # under the quota that answer reported: nothing is sent whole and refused
    assert [q.status for q in quota_emu.requests if q.status != 200] == []
    sizes = [len(q.body["input"]) for q in quota_emu.requests]
    assert sum(sizes) == 2048 and sizes[0] <= 16 and max(sizes) < 2048
    again = c.embed([texts[1500]])
    assert result.vectors[1500] == pytest.approx(again.vectors[0], abs=1e-6)


async def test_async_ingestion_is_paced_too(quota_emu: Emulator, clock: FakeTime) -> None:
    c = Client(
        endpoint=quota_emu.endpoint,
        api_key=quota_emu.api_key,
        deployment="embed",
        env={},
        config_file="",
    )
    texts = [f"note {i} on the weather, the tides and the ferry timetable" for i in range(6000)]
    result = await c.aembed(texts, concurrency=4)
    assert len(result.vectors) == 6000
    assert 429 not in [q.status for q in quota_emu.requests]
    await c.aclose()


# -- concurrent senders, simulated exactly --------------------------------------------------------


def _simulate(
    clock: FakeTime,
    *,
    batches: int,
    estimate: int,
    actual: int,
    tpm: int,
    spread: int = 0,
    senders: int,
    upload: float = 0.2,
    upload_jitter: float = 0.0,
    process: float = 0.3,
    process_jitter: float = 0.0,
) -> dict[str, float]:
    """Drive one Pacer from ``senders`` concurrent senders against Azure's buckets (the
    emulator's limiter), as a discrete-event simulation on the fake clock: a request is admitted
    ``upload`` seconds after it leaves and answered ``process`` seconds later; its response
    re-syncs the pacer and calibrates it, as the embeddings engine does. Azure's count for a
    batch is ``actual``, plus or minus ``spread`` in turn (batches of real text vary). With
    ``upload_jitter`` every third upload is that much slower, so Azure admits requests in another
    order than the pacer let them out (threads race to the socket); ``process_jitter`` changes
    the same requests' processing time, so they may also be answered first."""
    import heapq
    import itertools

    from azoai_emulator.ratelimit import RateLimiter

    server = RateLimiter(clock.time)
    pacer = Pacer()
    seq = itertools.count()
    events: list[tuple[float, int, str, Any]] = []
    todo = list(range(batches))
    stats = {"admitted": 0.0, "refused": 0.0, "last_admission": 0.0, "tokens": 0.0}

    def count(batch: int) -> int:
        return actual + (spread if batch % 2 else -spread)

    def at(when: float, kind: str, data: Any = None) -> None:
        heapq.heappush(events, (when, next(seq), kind, data))

    for _ in range(senders):
        at(clock.now, "want", todo.pop())
    start = clock.now
    while events:
        when, _, kind, data = heapq.heappop(events)
        clock.now = max(clock.now, when)
        if kind == "want":
            wait, ticket = pacer.try_acquire(estimate)
            if wait == 0:
                slow = upload_jitter if data % 3 == 0 else 0.0
                at(clock.now + upload + slow, "admit", (data, ticket))
            else:
                at(clock.now + (0.01 if wait < 0 else min(wait, pacing_mod.RECHECK)), "want", data)
        elif kind == "admit":
            batch, ticket = data
            decision = server.acquire("d", rpm=600, tpm=tpm, tokens=count(batch))
            headers = decision.headers()
            if decision.allowed:
                stats["admitted"] += 1
                stats["tokens"] += count(batch)
                stats["last_admission"] = clock.now - start
                quick = process_jitter if batch % 3 == 0 else 0.0
                at(clock.now + process + quick, "answer", (batch, ticket, headers))
            else:
                stats["refused"] += 1
                at(clock.now + 0.01, "refused", (batch, ticket, headers, decision.wait))
        elif kind == "answer":
            batch, ticket, headers = data
            pacer.observe(headers, ticket, settle=False)
            pacer.calibrate(estimate, count(batch))
            if todo:
                at(clock.now, "want", todo.pop())
        else:  # refused: Azure's 429, the batch goes again after retry-after
            batch, ticket, headers, wait = data
            pacer.observe(headers, ticket)
            pacer.blocked(wait)
            at(clock.now, "want", batch)
    return stats


def test_concurrent_senders_with_a_wrong_estimate_run_at_the_quota_minimum(
    clock: FakeTime,
) -> None:
    # the offline estimate is 2.5x Azure's count (as a byte-based estimate is for short words),
    # and Azure's count varies by 10% from batch to batch:
    # the first requests reserve far too much, and requests overlap, so each response's
    # remaining count misses the ones sent after it
    stats = _simulate(
        clock, batches=24, estimate=30_000, actual=12_000, spread=1200, tpm=60_000, senders=4
    )
    assert stats["admitted"] == 24
    assert stats["refused"] <= 1  # a rare 429 costs one exact retry-after wait
    minimum = _minimum(int(stats["tokens"]), 60_000)  # 228 s
    assert minimum == pytest.approx(228.0)
    # the margin for batches that count above the mean (2 standard deviations) delays the last
    # request by about one margin; over-reservations do not add up (every response re-syncs)
    assert stats["last_admission"] <= minimum * 1.03, stats


def test_concurrent_senders_never_overrun_when_the_estimate_is_low(clock: FakeTime) -> None:
    # the estimate is 20% under Azure's count: calibration must catch up before 429s pile up
    stats = _simulate(clock, batches=24, estimate=10_000, actual=12_000, tpm=60_000, senders=4)
    assert stats["admitted"] == 24
    assert stats["refused"] <= 2
    assert stats["last_admission"] <= _minimum(int(stats["tokens"]), 60_000) * 1.02, stats


def test_requests_azure_admits_out_of_order_do_not_overrun(clock: FakeTime) -> None:
    # a response's remaining count leaves out the requests Azure admitted after it, which may
    # include requests the pacer let out *before* it: those still in flight are counted too
    stats = _simulate(
        clock,
        batches=24,
        estimate=12_000,
        actual=12_000,
        tpm=60_000,
        senders=4,
        upload_jitter=0.5,
    )
    assert stats["admitted"] == 24
    assert stats["refused"] == 0, stats
    assert stats["last_admission"] <= _minimum(int(stats["tokens"]), 60_000) * 1.03, stats


LIMITS = {
    "x-ratelimit-limit-tokens": "60000",
    "x-ratelimit-limit-requests": "600",
    "x-ratelimit-remaining-requests": "600",
}


def test_unanswered_requests_count_until_answered_or_released(clock: FakeTime) -> None:
    limits = LIMITS
    p = Pacer()
    p.observe({**limits, "x-ratelimit-remaining-tokens": "60000"})
    first = p.acquire(20_000)  # let out first, admitted by Azure last (or never)
    second = p.acquire(20_000)
    # the second request's answer: 39,800 left as of its admission, which did not count the first
    p.observe({**limits, "x-ratelimit-remaining-tokens": "39800"}, second)
    # 39,800 - 20,200 (the first, in flight, as reserved: a 1% margin) = 19,600: 600 short of
    # 20,200
    p.acquire(20_000)
    assert clock.slept == pytest.approx(0.6, abs=0.01)

    q = Pacer()
    q.observe({**limits, "x-ratelimit-remaining-tokens": "60000"})
    cancelled = q.acquire(20_000)
    second = q.acquire(20_000)
    q.release(cancelled)  # cancelled before Azure saw it
    q.observe({**limits, "x-ratelimit-remaining-tokens": "39800"}, second)
    clock.slept = 0.0
    q.acquire(20_000)  # 39,800 are there: no wait
    assert clock.slept == 0.0
    assert first != second


def test_a_request_azure_admitted_later_but_answered_first_is_not_forgotten(
    clock: FakeTime,
) -> None:
    limits = LIMITS
    p = Pacer()
    p.observe({**limits, "x-ratelimit-remaining-tokens": "60000"})
    first = p.acquire(20_000)
    second = p.acquire(20_000)
    clock.now += 0.001  # the answers arrive a moment later
    # Azure admitted the second, then the first, and answered the first sooner:
    p.observe({**limits, "x-ratelimit-remaining-tokens": "20000"}, first)  # counts both
    p.observe({**limits, "x-ratelimit-remaining-tokens": "40000"}, second)  # counts itself only
    # the first was in flight when the second left: it may be missing from 40,000, so 20,000
    p.acquire(20_000)  # 200 short of 20,200 at 1,000 tokens/s
    assert clock.slept == pytest.approx(0.2, abs=0.01)

"""A fleet of worker processes on one deployment's quota (issue 18): with ``quota_store`` (a real
redis-server, see conftest.py) the pacer's buckets, a 429's block and the routes' cool-downs are
shared, so three workers together stay under the quota with no 429 and finish at the quota
minimum; without it each paces alone, believes the whole quota is its own, and the fleet draws
429s. The store's Lua buckets are also tested on their own, sync and async."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from azoai.client import Client
from azoai.config.settings import RetryPolicy, Settings
from azoai.errors import ConfigError, QuotaStoreError
from azoai.io.quota import Ask, News
from azoai.io.quota_store import RedisQuotaStore
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator, EmulatorDeployment, Fault
from azoai_emulator.tokens import count_tokens

WORKER = Path(__file__).with_name("fleet_worker.py")
# Three workers of 300 texts of 24 tokens (the emulator's count) in requests of 50: 21,600 tokens
# under 20,000 TPM, so the quota minimum is (21,600 - 20,000) / (20,000 / 60) = 4.8 s.
TPM, RPM = 20_000, 600
WORKERS, TEXTS, WORDS, BATCH = 3, 300, 24, 50


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    deployments = [
        EmulatorDeployment("chat-a", model="gpt-4o"),
        EmulatorDeployment("warm", model="text-embedding-3-small"),  # the workers' warm-up
    ]
    with Emulator(deployments) as e:
        yield e


_serial = iter(range(10_000))


@pytest.fixture
def deployment(emu: Emulator) -> str:
    """A fresh deployment (full buckets, a quota key of its own) for each test."""
    name = f"embed{next(_serial)}"
    emu.add_deployment(EmulatorDeployment(name, model="text-embedding-3-small", tpm=TPM, rpm=RPM))
    return name


def _env(emu: Emulator) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZURE_", "OPENAI_", "AZOAI_", "LANGCHAIN_", "LANGSMITH_"))
    }
    env["FLEET_KEY"] = emu.api_key
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def run_fleet(
    emu: Emulator, deployment: str, store: str | None, kinds: list[tuple[str, str]]
) -> dict[str, Any]:
    """Start one worker per ``(kind, mode)``, let them all go at once, and gather what they and
    the emulator saw: wall time from the first start to the last end, the tokens and requests
    the emulator admitted, its 429s, and the quota minimum for that work."""
    procs = [
        subprocess.Popen(
            [
                *(sys.executable, str(WORKER), emu.endpoint, "-", deployment, "warm", store or "-"),
                *(str(w), str(TEXTS), str(WORDS), str(BATCH), mode, kind),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(emu),
        )
        for w, (kind, mode) in enumerate(kinds)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline().strip()
            if line != "READY":
                p.kill()
                raise AssertionError(f"a worker did not start: {line!r} {p.communicate()[1]}")
        for p in procs:  # all at once: each has imported and built its embedder already
            assert p.stdin is not None
            p.stdin.write("GO\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=90)
            lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
            assert lines, err[-2000:]
            results.append(json.loads(lines[0][7:]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    mine = [r for r in emu.requests if r.deployment == deployment]
    admitted = [r for r in mine if r.status == 200]
    tokens = sum(count_tokens(t) for r in admitted for t in r.body["input"])
    minimum = max((tokens - TPM) / (TPM / 60), (len(admitted) - RPM) / (RPM / 60), 0.0)
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {
        "results": results,
        "throttled": sum(1 for r in mine if r.status == 429),
        "other": sorted({r.status for r in mine} - {200, 429}),
        "tokens": tokens,
        "requests": len(admitted),
        "minimum": minimum,
        "wall": wall,
    }


def _check_work(fleet: dict[str, Any]) -> None:
    for r in fleet["results"]:
        assert r["error"] is None and r["missing"] == 0, r
    assert fleet["other"] == []
    assert fleet["tokens"] == WORKERS * TEXTS * WORDS  # every text admitted exactly once
    assert fleet["minimum"] == pytest.approx(4.8)


@pytest.mark.timeout(240)
def test_a_fleet_shares_one_quota_through_redis(
    emu: Emulator, deployment: str, redis_url: str
) -> None:
    fleet = run_fleet(emu, deployment, redis_url, [("core", "sync")] * WORKERS)
    _check_work(fleet)
    assert fleet["throttled"] == 0, fleet
    # the wall time is the quota's, plus the last request's trip: within 10% of the minimum
    assert fleet["wall"] <= fleet["minimum"] * 1.10, fleet


@pytest.mark.timeout(240)
def test_a_mixed_fleet_of_adapters_sync_and_async_shares_it_too(
    emu: Emulator, deployment: str, redis_url: str
) -> None:
    kinds = [("langchain", "sync"), ("llamaindex", "async"), ("core", "async")]
    fleet = run_fleet(emu, deployment, redis_url, kinds)
    _check_work(fleet)
    assert fleet["throttled"] == 0, fleet
    assert fleet["wall"] <= fleet["minimum"] * 1.10, fleet


@pytest.mark.timeout(240)
def test_without_the_store_each_worker_spends_the_whole_quota_and_draws_429s(
    emu: Emulator, deployment: str
) -> None:
    fleet = run_fleet(emu, deployment, None, [("core", "sync")] * WORKERS)
    _check_work(fleet)  # nothing lost: the 429s are waited out
    assert fleet["throttled"] >= 1, fleet


# -- the router's cool-downs ------------------------------------------------------------------------

HI = ChatRequest(messages=[Message("user", "Context: Lisbon is in Portugal.\n\nWhere is Lisbon?")])


def _routed(emu: Emulator, store: str) -> Client:
    return Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        deployment="chat",
        retry=RetryPolicy(max_retries=1, initial_delay=0.01, max_delay=0.05, max_retry_after=30),
        routes={"chat": {"targets": [{"deployment": "chat-a"}, {"deployment": "chat-b"}]}},
        quota_store=store,
        env={},
        config_file="",
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_target_one_worker_saw_fail_rests_for_the_whole_fleet(
    mode: str, emu: Emulator, redis_url: str
) -> None:
    emu.add_deployment(EmulatorDeployment("chat-b", model="gpt-4o"))
    emu.clear_requests()
    emu.inject("chat-a", Fault.rate_limit(retry_after_ms=20_000))
    first, second = _routed(emu, redis_url), _routed(emu, redis_url)  # two workers' routers

    def chat(client: Client) -> str | None:
        if mode == "sync":
            return client.chat(HI).target
        return asyncio.run(client.achat(HI)).target

    with first, second:
        assert chat(first) == "chat-b"  # chat-a answered 429 and rests for 20 s
        emu.clear_requests()
        assert chat(second) == "chat-b"
        assert [r.deployment for r in emu.requests] == ["chat-b"]  # never tried chat-a
    emu.clear_faults()


# -- the Lua buckets on their own -----------------------------------------------------------------

LIMITS = News(
    limit_tokens=60_000, limit_requests=600, remaining_tokens=60_000, remaining_requests=600
)


def test_two_processes_buckets_never_hand_out_more_than_the_quota(redis_url: str) -> None:
    # two stores stand for two processes: each has its own client, the state is Redis's
    one = RedisQuotaStore(SecretStr(redis_url)).buckets("https://r.example|embed")
    two = RedisQuotaStore(SecretStr(redis_url)).buckets("https://r.example|embed")
    probe = one.take(Ask(cost=10, estimate=10))
    assert probe.wait == 0 and probe.ticket > 0
    assert two.take(Ask(cost=10, estimate=10)).wait == -1  # limits unknown: the probe is out
    one.report(LIMITS)
    granted = 0
    for buckets in (one, two, one, two):
        grant = buckets.take(Ask(cost=20_000, estimate=20_000))
        if grant.wait == 0:
            granted += 1
            assert grant.limit_tokens == 60_000 and grant.limit_requests == 600
    assert granted == 3  # 60,000 tokens: the fourth waits
    wait = two.take(Ask(cost=20_000, estimate=20_000)).wait
    assert 19.0 < wait <= 20.0  # 20,000 short at 1,000 tokens a second


def test_a_report_counts_every_workers_requests_in_flight(redis_url: str) -> None:
    one = RedisQuotaStore(SecretStr(redis_url)).buckets("https://r.example|embed")
    two = RedisQuotaStore(SecretStr(redis_url)).buckets("https://r.example|embed")
    one.report(LIMITS)
    mine = one.take(Ask(cost=20_000, estimate=20_000)).ticket
    two.take(Ask(cost=20_000, estimate=20_000))  # the other worker's, let out after mine
    # Azure's answer to mine: 40,000 left as of its admission, which did not count the other's
    one.report(News(ticket=mine, limit_tokens=60_000, remaining_tokens=40_000))
    wait = one.take(Ask(cost=21_000, estimate=21_000)).wait
    assert 0.9 < wait <= 1.1  # 20,000 left, not 40,000: 1,000 short


def test_one_workers_429_blocks_them_all(redis_url: str) -> None:
    one = RedisQuotaStore(SecretStr(redis_url)).buckets("https://r.example|embed")
    two = RedisQuotaStore(SecretStr(redis_url)).buckets("https://r.example|embed")
    one.report(LIMITS)
    one.report(News(blocked=3.0))
    assert 2.9 < two.take(Ask(cost=1, estimate=1)).wait <= 3.0


async def test_the_async_client_shares_the_same_buckets(redis_url: str) -> None:
    store = RedisQuotaStore(SecretStr(redis_url))
    sync, async_ = (
        store.buckets("https://r.example|embed"),
        store.buckets("https://r.example|embed"),
    )
    await async_.areport(LIMITS)
    assert (await async_.atake(Ask(cost=50_000, estimate=50_000))).wait == 0
    assert 9.0 < sync.take(Ask(cost=20_000, estimate=20_000)).wait <= 10.0
    await async_.areport(News(blocked=5.0))
    assert 4.9 < (await async_.atake(Ask(cost=1, estimate=1))).wait <= 5.0
    assert await store.acooling(["https://r.example|chat"]) == [0.0]
    await store.acool("https://r.example|chat", 2.0)
    assert 1.5 < store.cooling(["https://r.example|chat"])[0] <= 2.0


def test_every_key_expires(redis_url: str) -> None:
    import redis

    store = RedisQuotaStore(SecretStr(redis_url))
    buckets = store.buckets("https://r.example|embed")
    buckets.report(LIMITS)
    ticket = buckets.take(Ask(cost=10, estimate=10)).ticket
    buckets.report(News(ticket=ticket, remaining_tokens=59_000, limit_tokens=60_000))
    store.cool("https://r.example|chat", 1.0)
    r = redis.Redis.from_url(redis_url)
    keys = sorted(k.decode() for k in r.keys("azoai:*"))
    assert keys == [  # the in-flight hash went with its last request
        "azoai:cool:{https://r.example|chat}",
        "azoai:quota:{https://r.example|embed}:answered",
        "azoai:quota:{https://r.example|embed}:state",
    ]
    assert all(0 < r.pttl(k) <= 180_000 for k in keys)
    r.close()


# -- configuration and failure ------------------------------------------------------------------


def test_the_setting_is_a_secret_read_from_the_environment() -> None:
    s = Settings.build(
        endpoint="https://r.openai.azure.com",
        api_key="k",
        env={"AZOAI_QUOTA_STORE": "redis://:hunter2@redis.internal:6379/0"},
        config_file="",
    )
    assert isinstance(s.quota_store, SecretStr)
    assert s.source_of("quota_store") == "env AZOAI_QUOTA_STORE"
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.quota_store)
    with pytest.raises(ConfigError) as exc:
        Settings.build(
            endpoint="https://r.openai.azure.com",
            api_key="k",
            quota_store="http://:hunter2@redis.internal:6379",
            env={},
            config_file="",
        )
    assert exc.value.setting == "quota_store" and "hunter2" not in str(exc.value)


def test_an_unreachable_store_is_a_typed_error_at_first_use(emu: Emulator, deployment: str) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        deployment=deployment,
        quota_store=f"redis://:hunter2@127.0.0.1:{port}/0",
        env={},
        config_file="",
    )
    started = time.monotonic()
    with client, pytest.raises(QuotaStoreError) as exc:
        client.embed(["one text", "another"])
    assert time.monotonic() - started < 10  # a few quick tries, not a stall
    err = exc.value
    assert err.setting == "quota_store"
    assert f"redis://127.0.0.1:{port}/0" in str(err) and "hunter2" not in str(err)
    assert [r for r in emu.requests if r.deployment == deployment] == []  # nothing unpaced


def test_the_adapters_take_the_setting_and_keep_it_secret() -> None:
    import pickle

    from langchain_core.load import dumps

    from langchain_azoai import AzureChatOpenAI, AzureOpenAIEmbeddings
    from llamaindex_azoai import AzureOpenAIEmbedding

    url = "redis://:hunter2@redis.internal:6379/0"
    chat = AzureChatOpenAI(
        azure_endpoint="https://r.openai.azure.com",
        api_key="k",
        azure_deployment="d",
        quota_store=url,
        config_file="",
    )
    lc = AzureOpenAIEmbeddings(
        azure_endpoint="https://r.openai.azure.com",
        api_key="k",
        azure_deployment="e",
        quota_store=url,
        config_file="",
    )
    li = AzureOpenAIEmbedding(
        model="text-embedding-3-small",
        azure_endpoint="https://r.openai.azure.com",
        api_key="k",
        quota_store=url,
        env={},
        config_file="",
    )
    for model in (chat, lc, li):
        assert model.settings.quota_store is not None
        assert model.settings.quota_store.get_secret_value() == url
    assert "hunter2" not in dumps(chat) and "hunter2" not in repr(lc)
    assert "hunter2" not in li.to_json()
    blob = pickle.dumps(li)  # what IngestionPipeline(num_workers=...) sends its workers
    assert b"hunter2" not in blob
    assert pickle.loads(blob).settings.quota_store.get_secret_value() == url

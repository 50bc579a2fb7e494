"""Thousands of concurrent async calls on a cold connection pool, against the mock server.

``python -m benchmarks.cold_pool [--calls 2000] [--timeout 2] [--rounds 3] [--json FILE]``

Issue 14's load finding: 2,000 concurrent calls on a cold pool pinned the CPU inside httpcore,
whose pool re-scans every waiting request whenever a connection changes state (quadratic in the
queue), so calls sat past their timeout. azoai now queues requests beyond the pool's connections
itself (a FIFO per event loop, sized to the pool). Three ways, each on a fresh (cold) client,
all answering the same chat request from the mock server (its own process, so the figures are
the client's alone):

* ``azoai``: the core ``Client.achat``, all calls at once;
* ``azoai-100``: the same, 100 at a time (no queue anywhere: the reference cost per call);
* ``httpx``: a plain ``httpx.AsyncClient`` (100 connections, httpx's default), all at once, one
  attempt per call: the queue left to httpcore, as azoai did before;
* ``openai``: ``AsyncAzureOpenAI`` (the SDK's own retries and timeout), all at once, when the
  ``openai`` package is installed (the benchmark venv has it).

Each round runs every way once in a shuffled order; the report gives per way the median wall
time, the client CPU per call, the calls that failed, and the CPU ratio to ``azoai-100``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.common import mock_server

WAYS = ("azoai", "azoai-100", "httpx", "openai")
QUESTION = "What does Azure OpenAI serve?"


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def azoai_way(base: str, timeout: float) -> tuple[Callable[[], Awaitable[str]], Any]:
    from azoai.client import Client
    from azoai.wire import ChatRequest, Message

    client = Client(
        endpoint=base, api_key="k", deployment="chat", env={}, config_file="", timeout=timeout
    )
    request = ChatRequest(messages=[Message("user", QUESTION)])

    async def call() -> str:
        return (await client.achat(request)).text

    return call, client.aclose


def httpx_way(base: str, timeout: float) -> tuple[Callable[[], Awaitable[str]], Any]:
    import httpx

    client = httpx.AsyncClient(timeout=timeout)
    url = f"{base}/openai/v1/chat/completions"
    body = {"model": "chat", "messages": [{"role": "user", "content": QUESTION}]}

    async def call() -> str:  # one attempt: retrying a pool timeout only feeds the queue
        r = await client.post(url, json=body, headers={"api-key": "k"})
        return str(r.json()["choices"][0]["message"]["content"])

    return call, client.aclose


def openai_way(base: str, timeout: float) -> tuple[Callable[[], Awaitable[str]], Any]:
    from openai import AsyncAzureOpenAI

    client = AsyncAzureOpenAI(
        azure_endpoint=base, api_key="k", api_version="2024-10-21", timeout=timeout
    )

    async def call() -> str:
        r = await client.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": QUESTION}]
        )
        return str(r.choices[0].message.content)

    return call, client.close


def measure(base: str, way: str, calls: int, timeout: float) -> dict[str, float]:
    make = {"azoai": azoai_way, "azoai-100": azoai_way, "httpx": httpx_way, "openai": openai_way}
    at_once = 100 if way == "azoai-100" else calls

    async def run() -> int:
        call, close = make[way](base, timeout)
        failed = 0
        try:
            for start in range(0, calls, at_once):
                n = min(at_once, calls - start)
                results = await asyncio.gather(*(call() for _ in range(n)), return_exceptions=True)
                failed += sum(1 for r in results if isinstance(r, BaseException))
        finally:
            await close()
        return failed

    t, c = time.perf_counter(), cpu()
    failed = asyncio.run(run())
    return {
        "seconds": time.perf_counter() - t,
        "cpu_ms_per_call": (cpu() - c) / calls * 1000,
        "failed": failed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    random.seed(args.seed)
    ways = list(WAYS)
    try:
        import openai  # noqa: F401
    except ImportError:
        ways.remove("openai")
    runs: dict[str, list[dict[str, float]]] = {w: [] for w in ways}
    with mock_server() as base:
        for _ in range(args.rounds):
            order = list(ways)
            random.shuffle(order)
            for way in order:
                runs[way].append(measure(base, way, args.calls, args.timeout))
    result: dict[str, Any] = {"calls": args.calls, "timeout": args.timeout, "rounds": args.rounds}
    ref = statistics.median(r["cpu_ms_per_call"] for r in runs["azoai-100"])
    print(f"{args.calls} concurrent calls, cold pool, timeout={args.timeout:g} s")
    print(f"  {'way':<11}{'wall (s)':>9}{'CPU/call (ms)':>15}{'failed':>8}{'CPU vs 100':>12}")
    for way in ways:
        wall = statistics.median(r["seconds"] for r in runs[way])
        per = statistics.median(r["cpu_ms_per_call"] for r in runs[way])
        failed = statistics.median(r["failed"] for r in runs[way])
        result[way] = {"seconds": wall, "cpu_ms_per_call": per, "failed": failed}
        print(f"  {way:<11}{wall:>9.2f}{per:>15.2f}{failed:>8.0f}{per / ref:>12.2f}")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

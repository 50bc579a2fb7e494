"""Client CPU per operation: chat, chat with 3 tools, streamed chunk, embedded text (sync and
async), every contender side by side in one process, interleaved in rounds.

``python -m benchmarks.cpu --base http://127.0.0.1:PORT --op chat --rounds 7 --out FILE``

Method. The mock server runs in another process, so only the client's CPU is counted:
``time.process_time()`` (all threads of this process) around ``calls`` operations, after a
warm-up, with the garbage collector's existing objects frozen (``gc.freeze()``) after every
contender is built and warmed up, so that one library's import-time objects do not slow another's
collections. Each round runs every contender once, in a shuffled order; a contender's ratio to
the floor is taken within a round, and the report gives the median over rounds and the range.

Per streamed chunk: (CPU of a stream of N content chunks - CPU of a 1-chunk stream) / (N - 1), both
measured alternately in the same round; the 1-chunk stream is reported too (a stream's fixed cost).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import contenders as _contenders
from benchmarks.common import median, write_json
from benchmarks.contenders import CONTENDERS, Contender, Target, make

__all__ = ["OPS", "corpus", "main", "measure"]

#: op -> (unit, default calls per round)
OPS: dict[str, tuple[str, int]] = {
    "chat": ("us per call", 100),
    "tools": ("us per call", 100),
    "stream": ("us per chunk", 12),
    "stream_paced": ("us per chunk", 8),
    "embed": ("us per text", 4),
    "achat": ("us per call", 100),
    "astream": ("us per chunk", 12),
}

STREAM_CHUNKS = 100
EMBED_BATCH = 100

_WORDS = [
    "quota",
    "tokens",
    "minute",
    "deployment",
    "region",
    "latency",
    "throughput",
    "embedding",
    "vector",
    "index",
    "retrieval",
    "document",
    "chunk",
    "passage",
    "summary",
    "answer",
    "question",
    "context",
    "model",
    "request",
    "response",
    "header",
    "limit",
    "retry",
    "backoff",
    "stream",
    "chunk",
    "callback",
    "handler",
    "client",
    "server",
    "cloud",
    "resource",
    "endpoint",
    "identity",
]


def corpus(n: int, words: int = 60, seed: int = 7) -> list[str]:
    """``n`` deterministic texts of ``words`` words each (no two alike)."""
    rnd = random.Random(seed)
    return [f"Text {i}: " + " ".join(rnd.choices(_WORDS, k=words - 2)) + "." for i in range(n)]


class _Runner:
    def __init__(self, op: str, calls: int) -> None:
        self.op = op
        _contenders.STREAM_MODE = "p" if op == "stream_paced" else "s"
        self.calls = calls
        self.loop = asyncio.new_event_loop()
        self.texts = corpus(EMBED_BATCH)

    def supported(self, c: Contender) -> bool:
        return getattr(c, "stream" if self.op == "stream_paced" else self.op, None) is not None

    def warm(self, c: Contender) -> None:
        op = self.op
        if op in ("chat", "tools"):
            for _ in range(15):
                getattr(c, op)()
        elif op == "achat":
            self.loop.run_until_complete(self._amany(c.achat, 15))  # type: ignore[attr-defined]
        elif op in ("stream", "stream_paced"):
            for n in (STREAM_CHUNKS, 1, STREAM_CHUNKS, 1):
                c.stream(n)  # type: ignore[attr-defined]
        elif op == "astream":
            for n in (STREAM_CHUNKS, 1, STREAM_CHUNKS, 1):
                self.loop.run_until_complete(c.astream(n))  # type: ignore[attr-defined]
        elif op == "embed":
            for _ in range(2):
                vectors = c.embed(self.texts)  # type: ignore[attr-defined]
                if len(vectors) != len(self.texts) or len(vectors[0]) != 1536:
                    raise AssertionError(f"{c.name}: wrong embeddings")

    @staticmethod
    async def _amany(fn: Callable[[], Any], k: int) -> None:
        for _ in range(k):
            await fn()

    def measure(self, c: Contender) -> dict[str, float]:
        """One round for one contender: ``{"value": <unit>, ...extras}``."""
        op, k = self.op, self.calls
        gc.collect()
        clock = time.process_time
        if op in ("chat", "tools"):
            fn = getattr(c, op)
            w0, t0 = time.perf_counter(), clock()
            for _ in range(k):
                fn()
            t1, w1 = clock(), time.perf_counter()
            return {"value": (t1 - t0) / k * 1e6, "wall": (w1 - w0) / k * 1e6}
        if op == "achat":
            w0, t0 = time.perf_counter(), clock()
            self.loop.run_until_complete(self._amany(c.achat, k))  # type: ignore[attr-defined]
            t1, w1 = clock(), time.perf_counter()
            return {"value": (t1 - t0) / k * 1e6, "wall": (w1 - w0) / k * 1e6}
        if op in ("stream", "stream_paced", "astream"):
            long = short = 0.0
            for _ in range(k):
                t0 = clock()
                self._one_stream(c, STREAM_CHUNKS)
                t1 = clock()
                self._one_stream(c, 1)
                t2 = clock()
                long += t1 - t0
                short += t2 - t1
            per_chunk = (long - short) / k / (STREAM_CHUNKS - 1) * 1e6
            return {"value": per_chunk, "stream_1": short / k * 1e6, "stream_n": long / k * 1e6}
        if op == "embed":
            t0 = clock()
            for _ in range(k):
                c.embed(self.texts)  # type: ignore[attr-defined]
            t1 = clock()
            return {"value": (t1 - t0) / (k * len(self.texts)) * 1e6}
        raise ValueError(op)

    def _one_stream(self, c: Contender, n: int) -> None:
        if self.op != "astream":
            c.stream(n)  # type: ignore[attr-defined]
        else:
            self.loop.run_until_complete(c.astream(n))  # type: ignore[attr-defined]


def measure(
    base: str, op: str, rounds: int, calls: int | None, names: list[str], seed: int = 1
) -> dict[str, Any]:
    unit, default_calls = OPS[op]
    runner = _Runner(op, calls or default_calls)
    target = Target(base)
    contenders = []
    for name in names:
        c = make(name, target)
        if runner.supported(c):
            contenders.append(c)
    for c in contenders:
        runner.warm(c)
    gc.collect()
    gc.freeze()
    rnd = random.Random(seed)
    results: list[dict[str, dict[str, float]]] = []
    for _ in range(rounds):
        order = list(contenders)
        rnd.shuffle(order)
        results.append({c.name: runner.measure(c) for c in order})
    for c in contenders:
        c.close()
    per_contender = {
        c.name: {
            "values": [r[c.name]["value"] for r in results],
            "median": median([r[c.name]["value"] for r in results]),
            **{
                f"{key}_median": median([r[c.name][key] for r in results])
                for key in results[0][c.name]
                if key != "value"
            },
        }
        for c in contenders
    }
    return {
        "op": op,
        "unit": unit,
        "calls": runner.calls,
        "rounds": rounds,
        "stream_chunks": STREAM_CHUNKS if "stream" in op else None,
        "embed_batch": EMBED_BATCH if op == "embed" else None,
        "contenders": per_contender,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cpu")
    parser.add_argument("--base", required=True, help="mock server URL")
    parser.add_argument("--op", choices=sorted(OPS), required=True)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=None, help="operations per round")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    data = measure(args.base, args.op, args.rounds, args.calls, args.contenders.split(","))
    write_json(args.out, data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

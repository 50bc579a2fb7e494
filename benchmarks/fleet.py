"""A fleet of worker processes on one deployment's quota, with and without a shared quota store.

The emulator (``python -m benchmarks.quota serve``, its own process) has one deployment ``embed``
(text-embedding-3-small) of ``tpm`` tokens and ``rpm`` requests per minute. ``workers`` worker
processes each embed ``texts`` texts of about ``words`` tokens with the core ``Client`` (its
defaults: batches of up to 2,048 texts, 4 in flight), once with ``quota_store`` pointing at a
``redis-server`` this benchmark starts on a free loopback port, once without (each process paces
alone). Each worker first embeds 20 other texts of the same kind (imports, sockets, the store's
connection, the quota's limits and the calibration of the token estimate: what a long-running
worker has), then every worker is told to go at once, after
the emulator's buckets and the store are reset. Reported per mode: wall time from the first start
to the last end, the quota minimum for the work the emulator admitted
(``max((T - tpm) / (tpm / 60), (R - rpm) / (rpm / 60))`` for T tokens in R requests), their ratio,
requests admitted, 429s, and lost texts (missing vectors, or not the emulator's vector: 50
sampled per worker).

``python -m benchmarks.fleet measure --workers 4 --texts 5000 --tpm 1000000 --rpm 600 --out FILE``
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, bench_env, write_json
from benchmarks.contenders import EMBED_MODEL
from benchmarks.quota import DEPLOYMENT, DIMENSIONS, _Emulator, minimum

__all__ = ["fleet_table", "main"]

MODES = ("redis", "none")


def texts_for(worker: int, n: int, words: int) -> list[str]:
    from benchmarks.cpu import corpus

    return [f"worker {worker} {t}" for t in corpus(n, words=words, seed=11 + worker)]


# -- one worker, in its own process -----------------------------------------------------------------


def work(endpoint: str, key: str, store: str, worker: int, n: int, words: int) -> int:
    from azoai import Client
    from azoai_emulator.embeddings import embed

    client = Client(
        endpoint=endpoint,
        api_key=key,
        deployment=DEPLOYMENT,
        model=EMBED_MODEL,
        env={},
        config_file="",
        **({"quota_store": store} if store != "-" else {}),  # type: ignore[arg-type]
    )
    texts = texts_for(worker, n, words)
    # 20 texts like the corpus (the calibration of the token estimate learns from them)
    client.embed(texts_for(worker + 100, 20, words))
    print("READY", flush=True)
    if sys.stdin.readline().strip() != "GO":
        return 1
    start = time.time()
    error = None
    try:
        vectors = client.embed(texts).vectors
    except Exception as exc:
        vectors = list(getattr(exc, "partial", None) or [])
        error = f"{type(exc).__name__}: {exc}"[:300]
    end = time.time()
    present = [i for i in range(min(n, len(vectors))) if vectors[i]]
    lost = n - len(present)
    for i in random.Random(worker).sample(present, min(50, len(present))):
        expected = embed(texts[i], DIMENSIONS)
        if max(abs(a - b) for a, b in zip(vectors[i], expected, strict=True)) > 1e-4:
            lost += 1
    print("RESULT " + json.dumps({"start": start, "end": end, "lost": lost, "error": error}))
    return 0


# -- the orchestration ------------------------------------------------------------------------------


@contextmanager
def redis_server() -> Iterator[str]:
    """A redis-server on a free loopback port, stopped afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as workdir:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            import redis

            client = redis.Redis(port=port, socket_connect_timeout=0.2)
            for _ in range(500):
                try:
                    client.ping()
                    break
                except redis.exceptions.ConnectionError:
                    time.sleep(0.02)
            client.close()
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _flush(store: str) -> None:
    import redis

    client = redis.Redis.from_url(store)
    client.flushdb()
    client.close()


def run_mode(
    emu: _Emulator, store: str | None, workers: int, n: int, words: int, tpm: int, rpm: int
) -> dict[str, Any]:
    procs = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "benchmarks.fleet", "work", emu.endpoint, emu.key),
                *(store or "-", str(w), str(n), str(words)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=bench_env(),
        )
        for w in range(workers)
    ]
    results: list[dict[str, Any]] = []
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline().strip()
            if line != "READY":
                raise RuntimeError(f"a worker did not start: {line!r} {p.communicate()[1][-400:]}")
        emu.command("reset")  # full buckets, no requests counted: the warm-ups are not measured
        if store:
            _flush(store)
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("GO\n")
            p.stdin.flush()
        for p in procs:
            out, err = p.communicate(timeout=1800)
            lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
            if not lines:
                raise RuntimeError(f"a worker failed: {err[-400:]}")
            results.append(json.loads(lines[0][7:]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    stats = json.loads(emu.command("stats").removeprefix("STATS "))
    floor = minimum(stats["tokens"], stats["ok"], tpm, rpm)
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {
        "stats": stats,
        "wall": wall,
        "minimum": floor,
        "ratio": wall / floor if floor else None,
        "lost": sum(r["lost"] for r in results),
        "errors": [r["error"] for r in results if r["error"]],
    }


def measure(workers: int, n: int, words: int, tpm: int, rpm: int) -> dict[str, Any]:
    emu = _Emulator(tpm, rpm)
    out: dict[str, Any] = {
        "workers": workers,
        "texts": n,
        "words": words,
        "tpm": tpm,
        "rpm": rpm,
        "modes": {},
    }
    try:
        for mode in MODES:
            print(f"  fleet: {workers} workers, quota store: {mode} ...", file=sys.stderr)
            if mode == "redis":
                with redis_server() as store:
                    entry = run_mode(emu, store, workers, n, words, tpm, rpm)
            else:
                entry = run_mode(emu, None, workers, n, words, tpm, rpm)
            out["modes"][mode] = entry
            print(f"  fleet: {mode}: {json.dumps(entry)[:300]}", file=sys.stderr, flush=True)
    finally:
        emu.close()
    return out


def fleet_table(runs: Sequence[dict[str, Any]]) -> str:
    data = [r["fleet"] for r in runs if "fleet" in r]
    if not data:
        return ""
    f = data[0]
    lines = [
        f"{f['workers']} worker processes x {f['texts']:,} texts of about {f['words']} tokens, "
        f"one deployment of {f['tpm']:,} TPM / {f['rpm']} RPM (target with the store: ≤ 1.05x "
        "and no 429).",
        "",
        "| quota store | wall / quota minimum | ratio | requests admitted / 429s | lost texts |",
        "|---|---:|---:|---:|---:|",
    ]
    names = {"redis": "Redis (`quota_store`)", "none": "none (each process alone)"}
    for mode in MODES:
        cells = []
        for d in data:
            e = d["modes"].get(mode)
            if e is None:
                continue
            ratio = f"{e['ratio']:.3f}x" if e.get("ratio") else "–"
            st = e["stats"]
            cells.append(
                (
                    f"{e['wall']:.1f} s / {e['minimum']:.1f} s",
                    ratio,
                    f"{st['ok']} / {st['throttled']}",
                    str(e["lost"]),
                )
            )
        if cells:
            cols = [" ; ".join(c[i] for c in cells) for i in range(4)]
            lines.append(f"| {names[mode]} | " + " | ".join(cols) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet")
    sub = parser.add_subparsers(dest="cmd")
    w = sub.add_parser("work")
    for name in ("endpoint", "key", "store"):
        w.add_argument(name)
    for name in ("worker", "texts", "words"):
        w.add_argument(name, type=int)
    m = sub.add_parser("measure")
    m.add_argument("--workers", type=int, default=4)
    m.add_argument("--texts", type=int, default=5000, help="per worker")
    m.add_argument("--words", type=int, default=100)
    m.add_argument("--tpm", type=int, default=1_000_000)
    m.add_argument("--rpm", type=int, default=600)
    m.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.cmd == "work":
        return work(args.endpoint, args.key, args.store, args.worker, args.texts, args.words)
    if args.cmd == "measure":
        data = measure(args.workers, args.texts, args.words, args.tpm, args.rpm)
        write_json(args.out, data)
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())

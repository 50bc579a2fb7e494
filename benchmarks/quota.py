"""RAG ingestion under an Azure quota: embed a corpus against the azoai emulator's rate limits.

The emulator (:mod:`azoai_emulator`, run in its own process) has one deployment ``embed``
(text-embedding-3-small) with ``tpm`` tokens and ``rpm`` requests per minute. Azure's model, as
the emulator implements it: two buckets, full at the start, refilling continuously at
capacity/60 per second; a request is admitted when one request and its tokens are available,
else refused with 429 and the wait. Each contender embeds the same ``texts`` texts of about
``words`` tokens, in its own process, with its defaults; the emulator is reset (buckets full)
before each.

The quota minimum for a run is what the buckets allow for the work the emulator admitted:
``max((T - tpm) / (tpm / 60), (R - rpm) / (rpm / 60), 0)`` seconds for T admitted tokens (counted
by the emulator) in R admitted requests. Reported per contender: wall time of the embedding
call alone (after the contender's import and construction), wall / minimum, requests admitted, 429s, failed (errors raised) and lost texts (vectors
missing, or not the emulator's vector for that text: 200 sampled texts are checked against
:func:`azoai_emulator.embeddings.embed`, which proves order). A run that exceeds the time cap
is stopped and reported as such, with the texts the emulator had embedded by then.

``python -m benchmarks.quota --texts 20000 --words 100 --tpm 1000000 --rpm 600 --out FILE``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, bench_env, write_json
from benchmarks.contenders import EMBED_MODEL

__all__ = ["CONTENDERS", "main"]

DEPLOYMENT = "embed"
DIMENSIONS = 1536

CONTENDERS = (
    "openai SDK (batches of 2048)",
    "langchain-openai",
    "llama-index azure",
    "azoai core (sync)",
    "azoai core (async)",
    "langchain_azoai (sync)",
    "langchain_azoai (async)",
    "llamaindex_azoai (sync)",
    "llamaindex_azoai (async)",
)


def texts_for(n: int, words: int) -> list[str]:
    from benchmarks.cpu import corpus

    return corpus(n, words=words, seed=11)


# -- the emulator process -------------------------------------------------------------------------


def serve(tpm: int, rpm: int) -> int:
    """Run the emulator; answer ``reset`` and ``stats`` lines on stdin."""
    from azoai_emulator import Emulator, EmulatorDeployment
    from azoai_emulator.tokens import count_tokens

    emu = Emulator(
        deployments=[EmulatorDeployment(DEPLOYMENT, model=EMBED_MODEL, tpm=tpm, rpm=rpm)]
    )
    emu.start()
    print(f"READY {emu.endpoint} {emu.api_key}", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "reset":
            emu.reset()
            print("OK", flush=True)
        elif cmd == "stats":
            ok = throttled = other = tokens = texts = 0
            for rec in emu.requests:
                if rec.status == 200:
                    ok += 1
                    items = rec.body.get("input") if isinstance(rec.body, dict) else None
                    if isinstance(items, str) or (items and isinstance(items[0], int)):
                        items = [items]
                    for item in items or []:
                        tokens += count_tokens(item) if isinstance(item, str) else len(item)
                        texts += 1
                elif rec.status == 429:
                    throttled += 1
                else:
                    other += 1
            stats = {"ok": ok, "throttled": throttled, "other": other, "tokens": tokens}
            stats["texts"] = texts
            print("STATS " + json.dumps(stats), flush=True)
        elif cmd == "quit":
            break
    emu.stop()
    return 0


# -- one contender, in its own process --------------------------------------------------------------


def _embedder(name: str, endpoint: str, key: str) -> Callable[[list[str]], list[list[float]]]:
    """Import and construct the contender; return the ingestion call. Imports and construction
    are measured by the startup benchmarks, so the quota run times the ingestion alone."""
    if name.startswith("openai SDK"):
        from openai import AzureOpenAI

        c = AzureOpenAI(azure_endpoint=endpoint, api_key=key, api_version="2024-10-21")

        def sdk(texts: list[str]) -> list[list[float]]:
            out: list[list[float]] = []
            for i in range(0, len(texts), 2048):
                r = c.embeddings.create(model=DEPLOYMENT, input=texts[i : i + 2048])
                out.extend(d.embedding for d in sorted(r.data, key=lambda d: d.index))
            return out

        return sdk
    if name == "langchain-openai":
        from langchain_openai import AzureOpenAIEmbeddings

        lc = AzureOpenAIEmbeddings(
            azure_endpoint=endpoint,
            api_key=key,  # type: ignore[arg-type]
            azure_deployment=DEPLOYMENT,
            model=EMBED_MODEL,
            api_version="2024-10-21",
        )
        return lc.embed_documents
    if name == "llama-index azure":
        from llama_index.embeddings.azure_openai import AzureOpenAIEmbedding

        li = AzureOpenAIEmbedding(
            deployment_name=DEPLOYMENT,
            model=EMBED_MODEL,
            azure_endpoint=endpoint,
            api_key=key,
            api_version="2024-10-21",
        )
        return lambda texts: list(li.get_text_embedding_batch(texts))
    is_async = name.endswith("(async)")
    if name.startswith("azoai core"):
        from azoai import Client

        client = Client(endpoint=endpoint, api_key=key, deployment=DEPLOYMENT, model=EMBED_MODEL)
        if is_async:
            return lambda texts: asyncio.run(client.aembed(texts)).vectors
        return lambda texts: client.embed(texts).vectors
    if name.startswith("langchain_azoai"):
        from langchain_azoai import AzureOpenAIEmbeddings as LcEmb

        lz = LcEmb(
            azure_endpoint=endpoint, api_key=key, azure_deployment=DEPLOYMENT, model=EMBED_MODEL
        )
        if is_async:
            return lambda texts: asyncio.run(lz.aembed_documents(texts))
        return lz.embed_documents
    if name.startswith("llamaindex_azoai"):
        from llamaindex_azoai import AzureOpenAIEmbedding as LiEmb

        lz2 = LiEmb(
            deployment_name=DEPLOYMENT, model=EMBED_MODEL, azure_endpoint=endpoint, api_key=key
        )
        if is_async:
            return lambda texts: asyncio.run(lz2.aget_text_embedding_batch(texts))
        return lz2.get_text_embedding_batch
    raise ValueError(name)


def run_one(name: str, endpoint: str, key: str, n: int, words: int) -> dict[str, Any]:
    from azoai_emulator.embeddings import embed

    texts = texts_for(n, words)
    embed_all = _embedder(name, endpoint, key)
    t0 = time.perf_counter()
    try:
        vectors = embed_all(texts)
        error = None
    except Exception as exc:
        vectors = getattr(exc, "partial", None) or []
        error = f"{type(exc).__name__}: {exc}"[:300]
    wall = time.perf_counter() - t0
    lost = 0
    if len(vectors) != n:
        lost = abs(n - len(vectors))
    present = [i for i in range(min(n, len(vectors))) if vectors[i]]
    lost += min(n, len(vectors)) - len(present)
    encode: Any = None
    if name == "langchain-openai":  # it sends token ids, which the emulator hashes as such
        import tiktoken

        encode = tiktoken.encoding_for_model(EMBED_MODEL).encode
    wrong = 0
    for i in random.Random(3).sample(present, min(200, len(present))):
        expected = embed(encode(texts[i]) if encode else texts[i], DIMENSIONS)
        got = vectors[i]
        if (
            len(got) != DIMENSIONS
            or max(abs(a - b) for a, b in zip(got, expected, strict=True)) > 1e-4
        ):
            wrong += 1
    return {
        "wall": wall,
        "error": error,
        "vectors": len(vectors),
        "lost": lost,
        "wrong_sampled": wrong,
    }


# -- the orchestration ---------------------------------------------------------------------------


class _Emulator:
    def __init__(self, tpm: int, rpm: int) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.quota",
                "serve",
                "--tpm",
                str(tpm),
                "--rpm",
                str(rpm),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=bench_env(),
        )
        line = self._line()
        if not line.startswith("READY "):
            raise RuntimeError(f"emulator did not start: {line!r}")
        _, self.endpoint, self.key = line.split()

    def _line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def command(self, cmd: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self._line()

    def close(self) -> None:
        try:
            self.command("quit")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def minimum(tokens: int, requests: int, tpm: int, rpm: int) -> float:
    return max((tokens - tpm) / (tpm / 60), (requests - rpm) / (rpm / 60), 0.0)


def measure(
    n: int, words: int, tpm: int, rpm: int, cap: float | None, names: list[str]
) -> dict[str, Any]:
    from azoai_emulator.tokens import count_tokens

    corpus_tokens = sum(count_tokens(t) for t in texts_for(n, words))
    token_minimum = minimum(corpus_tokens, 0, tpm, rpm)
    limit = cap if cap is not None else max(3 * token_minimum, token_minimum + 120)
    emu = _Emulator(tpm, rpm)
    results: dict[str, Any] = {}
    try:
        for name in names:
            emu.command("reset")
            print(f"  quota: {name} ...", file=sys.stderr, flush=True)
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.quota",
                    "run",
                    "--contender",
                    name,
                    "--endpoint",
                    emu.endpoint,
                    "--key",
                    emu.key,
                    "--texts",
                    str(n),
                    "--words",
                    str(words),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=REPO,
                env=bench_env(),
            )
            t0 = time.perf_counter()
            try:
                out, err = proc.communicate(timeout=limit + 15)  # + imports and checking
                stopped = False
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                stopped = True
            elapsed = time.perf_counter() - t0
            stats = json.loads(emu.command("stats").removeprefix("STATS "))
            entry: dict[str, Any] = {"stats": stats, "stopped": stopped}
            if not stopped:
                for line in out.splitlines():
                    if line.startswith("RESULT "):
                        entry.update(json.loads(line[7:]))
                if "wall" not in entry:
                    entry["error"] = (err or "no result")[-400:]
            else:
                entry["wall"] = elapsed
                entry["error"] = f"stopped after {elapsed:.0f} s (cap)"
            entry["minimum"] = minimum(stats["tokens"], stats["ok"], tpm, rpm)
            entry["ratio"] = (
                entry["wall"] / entry["minimum"]
                if entry.get("wall") and entry["minimum"] and not stopped
                else None
            )
            results[name] = entry
            print(f"  quota: {name}: {json.dumps(entry)[:300]}", file=sys.stderr, flush=True)
    finally:
        emu.close()
    return {
        "texts": n,
        "words": words,
        "tpm": tpm,
        "rpm": rpm,
        "corpus_tokens": corpus_tokens,
        "token_minimum": token_minimum,
        "cap": limit,
        "contenders": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quota")
    sub = parser.add_subparsers(dest="cmd")
    s = sub.add_parser("serve")
    s.add_argument("--tpm", type=int, required=True)
    s.add_argument("--rpm", type=int, required=True)
    r = sub.add_parser("run")
    r.add_argument("--contender", required=True)
    r.add_argument("--endpoint", required=True)
    r.add_argument("--key", required=True)
    r.add_argument("--texts", type=int, required=True)
    r.add_argument("--words", type=int, required=True)
    m = sub.add_parser("measure")
    m.add_argument("--texts", type=int, default=20_000)
    m.add_argument("--words", type=int, default=100)
    m.add_argument("--tpm", type=int, default=1_000_000)
    m.add_argument("--rpm", type=int, default=600)
    m.add_argument("--cap", type=float, default=None, help="seconds before a run is stopped")
    m.add_argument("--contenders", default=",".join(CONTENDERS))
    m.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.cmd == "serve":
        return serve(args.tpm, args.rpm)
    if args.cmd == "run":
        res = run_one(args.contender, args.endpoint, args.key, args.texts, args.words)
        print("RESULT " + json.dumps(res), flush=True)
        return 0
    if args.cmd == "measure":
        data = measure(
            args.texts, args.words, args.tpm, args.rpm, args.cap, args.contenders.split(",")
        )
        write_json(args.out, data)
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())

"""A corpus through the Batch API: ``texts`` texts embedded through the azoai emulator's Files and
Batches endpoints (:mod:`azoai_emulator.api_batches`, run in its own process, no speed limit).

The client runs in its own process too, and measures:

* **submit**: from the first text to the job's batches created (writing the JSONL files, split
  over Azure's per-file limits, uploading them, creating one batch per file);
* **collect**: from then to the last result read (polling until done, downloading the output
  files, putting the results back in input order);
* **peak memory**: the largest Python heap (``tracemalloc``) during the whole job and the
  process's peak RSS above what it had before the job. The texts come from a generator and the
  results are checked and dropped as they stream by, so a bounded figure means the client never
  holds the corpus (once, let alone twice); a 200-text sample is checked against the emulator's
  own vectors (which proves the order).

``python -m benchmarks.batch measure --texts 100000 --out FILE`` (``--words`` tokens per text,
``--dimensions`` of each vector, ``--per-line`` texts per request line)
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, bench_env, write_json

__all__ = ["batch_table", "main"]

DEPLOYMENT = "embed-batch"
_VOCAB = [
    "river",
    "stone",
    "field",
    "light",
    "harbour",
    "engine",
    "garden",
    "winter",
    "letter",
    "market",
    "signal",
    "forest",
    "paper",
    "window",
    "silver",
    "bridge",
    "ocean",
    "valley",
    "metal",
    "story",
    "music",
    "number",
    "planet",
    "doctor",
    "season",
]


def text(i: int, words: int) -> str:
    rng = random.Random(i)
    return f"document {i}: " + " ".join(rng.choice(_VOCAB) for _ in range(words))


def texts(n: int, words: int) -> Iterator[str]:
    return (text(i, words) for i in range(n))


# -- the emulator process -------------------------------------------------------------------------


def serve() -> int:
    from azoai_emulator import Emulator, EmulatorDeployment

    emu = Emulator(
        deployments=[
            EmulatorDeployment(DEPLOYMENT, model="text-embedding-3-small", sku="GlobalBatch")
        ]
    )
    emu.start()
    print(f"READY {emu.endpoint} {emu.api_key}", flush=True)
    for _ in sys.stdin:
        pass
    emu.stop()
    return 0


# -- the client process ---------------------------------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def run_one(
    endpoint: str, key: str, n: int, words: int, dimensions: int, per_line: int
) -> dict[str, Any]:
    from azoai import Client
    from azoai.batch import Batches
    from azoai_emulator.embeddings import embed

    client = Client(endpoint=endpoint, api_key=key, deployment=DEPLOYMENT)
    sample = set(random.Random(7).sample(range(n), min(200, n)))
    with tempfile.TemporaryDirectory(prefix="azoai-bench-batch-") as job_dir:
        batches = Batches(
            client,
            {
                "job_dir": job_dir,
                "poll_interval": 0.05,
                "max_poll_interval": 0.5,
                "embeddings_per_line": per_line,
            },
        )
        rss_before = _rss_mb()
        tracemalloc.start()
        t0 = time.perf_counter()
        job = batches.submit_embeddings(texts(n, words), dimensions=dimensions)
        t1 = time.perf_counter()
        count = bad = failed = 0
        for item in job.collect():
            if item.index != count:
                bad += 1
            count += 1
            if item.error is not None:
                failed += 1
            elif item.index in sample:
                want = embed(text(item.index, words), dimensions)
                if max(abs(a - b) for a, b in zip(item.result, want, strict=True)) > 1e-5:
                    bad += 1
        t2 = time.perf_counter()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        record = job.record
        return {
            "texts": n,
            "submit_s": t1 - t0,
            "collect_s": t2 - t1,
            "peak_heap_mb": peak / 2**20,
            "peak_rss_added_mb": max(0.0, _rss_mb() - rss_before),
            "peak_rss_mb": _rss_mb(),
            "files": len(record.files),
            "lines": sum(f.lines for f in record.files),
            "input_mb": sum(f.bytes for f in record.files) / 2**20,
            "results": count,
            "failed": failed,
            "wrong": bad,
        }


def measure(n: int, words: int, dimensions: int, per_line: int) -> dict[str, Any]:
    emu = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.batch", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=bench_env(),
    )
    try:
        assert emu.stdout is not None
        line = emu.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"the emulator did not start: {line!r}")
        _, endpoint, key = line.split()
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.batch",
                "run",
                "--endpoint",
                endpoint,
                "--key",
                key,
                "--texts",
                str(n),
                "--words",
                str(words),
                "--dimensions",
                str(dimensions),
                "--per-line",
                str(per_line),
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=bench_env(),
            check=False,
        )
        for row in out.stdout.splitlines():
            if row.startswith("RESULT "):
                result: dict[str, Any] = json.loads(row[7:])
                result.update(words=words, dimensions=dimensions, per_line=per_line)
                return result
        raise RuntimeError(f"the batch run failed: {out.stderr[-2000:]}")
    finally:
        if emu.stdin is not None:
            emu.stdin.close()
        try:
            emu.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emu.kill()
            emu.wait()


# -- the report -----------------------------------------------------------------------------------------


def batch_table(runs: Sequence[dict[str, Any]]) -> str:
    """The README rows for the runs that have a ``batch`` figure."""
    data = [r["batch"] for r in runs if "batch" in r]
    if not data:
        return ""
    rows = [
        "| texts | files / lines | submit | collect | peak heap | peak RSS (added by the job) "
        "| failed / wrong |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in data:
        rows.append(
            f"| {d['texts']:,} ({d['words']} words, {d['dimensions']} dims) | {d['files']} / "
            f"{d['lines']:,} | {d['submit_s']:.1f} s | {d['collect_s']:.1f} s | "
            f"{d['peak_heap_mb']:.1f} MB | {d.get('peak_rss_mb', 0):.0f} MB "
            f"({d['peak_rss_added_mb']:.1f} MB) | "
            f"{d['failed']} / {d['wrong']} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch")
    sub = parser.add_subparsers(dest="cmd")
    sub.add_parser("serve")
    r = sub.add_parser("run")
    r.add_argument("--endpoint", required=True)
    r.add_argument("--key", required=True)
    m = sub.add_parser("measure")
    for p in (r, m):
        p.add_argument("--texts", type=int, default=100_000)
        p.add_argument("--words", type=int, default=20)
        p.add_argument("--dimensions", type=int, default=64)
        p.add_argument("--per-line", dest="per_line", type=int, default=256)
    m.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.cmd == "serve":
        return serve()
    if args.cmd == "run":
        res = run_one(
            args.endpoint, args.key, args.texts, args.words, args.dimensions, args.per_line
        )
        print("RESULT " + json.dumps(res), flush=True)
        return 0
    if args.cmd == "measure":
        data = measure(args.texts, args.words, args.dimensions, args.per_line)
        if args.out:
            write_json(args.out, data)
        print(json.dumps(data, indent=1))
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())

"""What azoai's OpenTelemetry instrumentation costs (issue 20): client CPU per chat call and per
streamed chunk of the core with telemetry off, on without a configured provider, and on with the
OpenTelemetry SDK (an in-memory span exporter and metric reader), beside the floor.

``python -m benchmarks.telemetry [--rounds 5] [--calls 200] [--out FILE]`` (needs
opentelemetry-sdk; the mock server runs in its own process).

Global providers can be set once per process, so each mode runs in its own child process, the
modes interleaved in a shuffled order each round; a mode's ratio to the floor is taken within a
round, and the table gives the median over rounds and the range. Per streamed chunk: (CPU of a
100-chunk stream - CPU of a 1-chunk stream) / 99, the streams arriving in one burst.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, bench_env, median, mock_server, spread, write_json

__all__ = ["MODES", "main"]

#: mode -> what it is (the child's set-up is in :func:`_child`)
MODES = {
    "floor": "hand-rolled httpx",
    "off": "azoai core, AZOAI_TELEMETRY=0",
    "no provider": "azoai core, opentelemetry-api installed, no provider configured",
    "sdk": "azoai core, OpenTelemetry SDK: in-memory span exporter and metric reader",
}
CHUNKS = 100


def _child(mode: str, base: str, calls: int, streams: int) -> dict[str, float]:
    """One mode's measurement, in this (child) process."""
    import gc
    import time

    from benchmarks.contenders import AzoaiCore, Floor, Target, stream_deployment

    exporter: Any = None
    if mode == "sdk":
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    target = Target(base)
    c: Any = Floor(target) if mode == "floor" else AzoaiCore(target)

    def stream(n: int) -> None:
        if mode == "floor":
            c.stream(n)
            return
        for _ in c.client.stream(c._request(), model=stream_deployment(n)):
            pass

    for _ in range(20):  # warm up (and import everything a call uses)
        c.chat()
        stream(CHUNKS)
        stream(1)
    if exporter is not None:
        exporter.clear()
    gc.collect()
    gc.freeze()

    started = time.process_time()
    for i in range(calls):
        c.chat()
        if exporter is not None and i % 50 == 0:
            exporter.clear()
    chat = (time.process_time() - started) / calls
    long_cpu = short_cpu = 0.0
    for _ in range(streams):
        started = time.process_time()
        stream(CHUNKS)
        long_cpu += time.process_time() - started
        started = time.process_time()
        stream(1)
        short_cpu += time.process_time() - started
        if exporter is not None:
            exporter.clear()
    chunk = (long_cpu - short_cpu) / streams / (CHUNKS - 1)
    c.close()
    return {"chat_us": chat * 1e6, "chunk_us": chunk * 1e6}


def _run_child(mode: str, base: str, calls: int, streams: int) -> dict[str, float]:
    env = bench_env()
    if mode == "off":
        env["AZOAI_TELEMETRY"] = "0"
    code = (
        "import json, sys\nfrom benchmarks.telemetry import _child\n"
        "print(json.dumps(_child(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, mode, base, str(calls), str(streams)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"mode {mode!r} failed:\n{out.stderr}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.telemetry")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    with mock_server() as base:
        for _ in range(args.rounds):
            order = list(MODES)
            random.shuffle(order)
            for mode in order:
                results[mode].append(_run_child(mode, base, args.calls, args.streams))
    rows = []
    for key, unit in (("chat_us", "CPU per chat call"), ("chunk_us", "CPU per streamed chunk")):
        floor = [r[key] for r in results["floor"]]
        for mode in MODES:
            values = [r[key] for r in results[mode]]
            ratios = [v / f for v, f in zip(values, floor, strict=True)]
            lo, hi = spread(ratios)
            rows.append(
                f"| {unit} | {mode} | {median(values):.1f} us | "
                f"{median(ratios):.2f}x ({lo:.2f}-{hi:.2f}) |"
            )
    print("| measure | mode | median | x floor (range) |\n|---|---|---:|---:|")
    print("\n".join(rows))
    if args.out is not None:
        write_json(args.out, {"modes": MODES, "rounds": results, "pid": os.getpid()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

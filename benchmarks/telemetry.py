"""What azoai's OpenTelemetry instrumentation costs (issue 20): client CPU per chat call and per
streamed chunk of the core with telemetry off, on without a configured provider, on with
providers that record nothing (azoai's own share), and on with the OpenTelemetry SDK (an
in-memory span exporter and metric reader), beside the floor; and the openai SDK with and
without opentelemetry-instrumentation-openai-v2 under the same SDK set-up, for comparison.

``python -m benchmarks.telemetry [--rounds 5] [--calls 200] [--out FILE]`` (needs
opentelemetry-sdk and opentelemetry-instrumentation-openai-v2: benchmarks/requirements.txt;
the mock server runs in its own process).

Global providers can be set once per process, so each mode runs in its own child process, the
modes interleaved in a shuffled order each round; a mode's ratio to the floor is taken within a
round, and the tables give the median over rounds and the range. Per streamed chunk: (CPU of a
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
    "no-op providers": "azoai core, providers whose spans and instruments record nothing: azoai's own share",
    "sdk": "azoai core, OpenTelemetry SDK: in-memory span exporter and metric reader",
    "openai SDK": "openai's AzureOpenAI, uninstrumented",
    "openai SDK + openai-v2": "openai's AzureOpenAI, opentelemetry-instrumentation-openai-v2, the same SDK set-up",
}
#: modes that install the SDK's providers
SDK_MODES = ("sdk", "openai SDK + openai-v2")
CHUNKS = 100


def _child(mode: str, base: str, calls: int, streams: int) -> dict[str, float]:
    """One mode's measurement, in this (child) process."""
    import gc
    import time

    from benchmarks.contenders import AzoaiCore, Floor, OpenAISDK, Target, stream_deployment

    exporter: Any = None
    if mode in SDK_MODES:
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
    if mode == "no-op providers":
        _install_noop_providers()
    if mode == "openai SDK + openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()
    target = Target(base)
    c: Any
    if mode == "floor":
        c = Floor(target)
    elif mode.startswith("openai SDK"):
        c = OpenAISDK(target)
    else:
        c = AzoaiCore(target)

    def stream(n: int) -> None:
        if not isinstance(c, AzoaiCore):
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


def _install_noop_providers() -> None:
    """Global providers whose spans say they record and whose instruments take every point,
    doing nothing: azoai runs all of its instrumentation code (every attribute computed and
    handed over), the SDK's part costs nothing. ``sdk`` minus this mode is the SDK's share."""
    from opentelemetry import metrics, trace

    class Span:
        def is_recording(self) -> bool:
            return True

        def set_attributes(self, attributes: Any) -> None: ...
        def set_attribute(self, key: str, value: Any) -> None: ...
        def update_name(self, name: str) -> None: ...
        def set_status(self, status: Any) -> None: ...
        def add_event(self, *args: Any, **kwargs: Any) -> None: ...
        def end(self) -> None: ...

        def get_span_context(self) -> Any:
            return trace.INVALID_SPAN_CONTEXT

    class Tracer:
        def start_span(self, name: str, *args: Any, **kwargs: Any) -> Span:
            return Span()

    class TracerProvider(trace.TracerProvider):
        def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
            return Tracer()

    class Histogram:
        def record(self, value: float, attributes: Any = None) -> None: ...

    class Meter:
        def create_histogram(self, *args: Any, **kwargs: Any) -> Histogram:
            return Histogram()

    class MeterProvider(metrics.MeterProvider):
        def get_meter(self, *args: Any, **kwargs: Any) -> Any:
            return Meter()

    trace.set_tracer_provider(TracerProvider())
    metrics.set_meter_provider(MeterProvider())


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
    # what instrumentation adds, as a share of the uninstrumented call, within each round
    added: dict[str, list[float]] = {"azoai": [], "openai-v2": [], "sdk": [], "azoai own": []}
    for i in range(args.rounds):
        off = results["off"][i]["chat_us"]
        sdk = results["sdk"][i]["chat_us"]
        noop = results["no-op providers"][i]["chat_us"]
        added["azoai"].append(sdk / off - 1)
        added["sdk"].append((sdk - noop) / off)
        added["azoai own"].append(noop / off - 1)
        plain = results["openai SDK"][i]["chat_us"]
        added["openai-v2"].append(results["openai SDK + openai-v2"][i]["chat_us"] / plain - 1)
    print("\n| per chat call | added CPU, % of the uninstrumented call (range) |\n|---|---:|")
    what = {
        "azoai": "azoai, SDK on vs off",
        "azoai own": "of which azoai's own code (no-op providers vs off)",
        "sdk": "of which the SDK's span and metric points (sdk vs no-op providers)",
        "openai-v2": "openai-v2 on the openai SDK, on vs off",
    }
    for key, label in what.items():
        lo, hi = spread(added[key])
        print(
            f"| {label} | {median(added[key]) * 100:+.1f}% ({lo * 100:+.1f} to {hi * 100:+.1f}) |"
        )
    if args.out is not None:
        write_json(args.out, {"modes": MODES, "rounds": results, "pid": os.getpid()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

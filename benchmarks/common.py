"""Helpers shared by the measurement modules: the mock server process, the environment every
measured process gets, statistics, and the machine and package description."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "BENCH_DIR",
    "OUT_DIR",
    "REPO",
    "bench_env",
    "machine",
    "median",
    "mock_server",
    "packages",
    "spread",
    "write_json",
]

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"

#: Packages whose versions the report names.
PACKAGES = (
    "azoai",
    "openai",
    "httpx",
    "langchain-core",
    "langchain-openai",
    "llama-index-core",
    "llama-index-llms-azure-openai",
    "llama-index-embeddings-azure-openai",
    "pydantic",
    "tiktoken",
)


def tiktoken_cache() -> str | None:
    """llama-index-core ships tiktoken's cl100k_base and o200k_base files; pointing
    ``TIKTOKEN_CACHE_DIR`` there gives every contender the encodings a user with internet
    access has cached after first use (nothing is downloaded)."""
    try:
        import llama_index.core

        path = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
    except ImportError:
        return None
    return str(path) if path.is_dir() else None


def bench_env() -> dict[str, str]:
    """The environment of every measured process: no tracing, no telemetry, no proxies, the
    repository importable, tiktoken's encodings cached."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LANGCHAIN_", "LANGSMITH_", "AZURE_", "OPENAI_", "AZOAI_"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # imports are measured with their .pyc files
    cache = tiktoken_cache()
    if cache:
        env["TIKTOKEN_CACHE_DIR"] = cache
    return env


@contextlib.contextmanager
def mock_server(chunk_gap: float = 0.0002) -> Iterator[str]:
    """Start :mod:`benchmarks.mockserver` in its own process; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.mockserver", "--chunk-gap", str(chunk_gap)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=bench_env(),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"mock server did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def spread(values: Sequence[float]) -> tuple[float, float]:
    return (min(values), max(values)) if values else (float("nan"), float("nan"))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def packages() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=False))

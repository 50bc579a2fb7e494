"""Run the whole benchmark suite with one command and write the results into the README.

    python -m benchmarks            # full run (about 30 minutes on 2 cores)
    python -m benchmarks --quick    # fewer rounds, a smaller quota run (about 10 minutes)

The first run creates ``benchmarks/.scratch/venv`` (the project with all extras, plus the
anchors from ``benchmarks/requirements.txt``, which are never project dependencies) and re-runs
itself inside it. It starts the mock server on 127.0.0.1 in its own process, runs each group in
fresh processes, saves the raw figures to ``benchmarks/out/run-<time>.json`` and rewrites the
results section of ``benchmarks/README.md``. ``--render FILE...`` only re-renders from saved
runs (several runs give ranges across runs).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    BENCH_DIR,
    OUT_DIR,
    REPO,
    bench_env,
    machine,
    mock_server,
    packages,
    write_json,
)

__all__ = ["main"]

VENV = BENCH_DIR / ".scratch" / "venv"
GROUPS = ("cpu", "startup", "tokens", "quota", "batch", "fleet")
CPU_OPS = ("chat", "achat", "tools", "stream", "stream_paced", "astream", "embed")


def _in_venv(venv: Path) -> bool:
    return Path(sys.prefix).resolve() == venv.resolve()


def ensure_venv(venv: Path, argv: list[str]) -> None:
    """Create the benchmark venv if needed and re-execute this command inside it."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} (the project + the anchors) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "-e",
                f"{REPO}[all,redis]",
                "-r",
                str(BENCH_DIR / "requirements.txt"),
            ],
            check=True,
        )
    os.execv(str(python), [str(python), "-m", "benchmarks", *argv])


def _module(mod: str, args: list[str]) -> None:
    subprocess.run(
        [sys.executable, "-m", f"benchmarks.{mod}", *args], check=True, env=bench_env(), cwd=REPO
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    work = OUT_DIR / stamp
    work.mkdir(parents=True, exist_ok=True)
    groups = args.only.split(",") if args.only else list(GROUPS)
    rounds = args.rounds or (3 if args.quick else 7)
    result: dict[str, Any] = {
        "machine": machine(),
        "packages": packages(),
        "mode": "quick" if args.quick else "full",
        "rounds": rounds,
    }
    t0 = time.perf_counter()
    with mock_server() as base:
        if "cpu" in groups:
            result["cpu"] = {}
            for op in args.ops.split(",") if args.ops else CPU_OPS:
                print(f"cpu: {op} ...", flush=True)
                out = work / f"cpu-{op}.json"
                _module(
                    "cpu", ["--base", base, "--op", op, "--rounds", str(rounds), "--out", str(out)]
                )
                result["cpu"][op] = json.loads(out.read_text())
        if "startup" in groups:
            print("startup: imports, cold start, memory ...", flush=True)
            out = work / "startup.json"
            reps = max(3, rounds)
            _module("startup", ["--base", base, "--reps", str(reps), "--out", str(out)])
            result["startup"] = json.loads(out.read_text())
        if "tokens" in groups:
            print("tokens: credential calls ...", flush=True)
            out = work / "tokens.json"
            _module("tokens", ["--base", base, "--out", str(out)])
            result["tokens"] = json.loads(out.read_text())
    if "quota" in groups:
        print("quota: ingestion under a quota (real time) ...", flush=True)
        out = work / "quota.json"
        quick = args.quick
        qargs = [
            "measure",
            "--texts",
            str(args.quota_texts or (3000 if quick else 20_000)),
            "--words",
            str(args.quota_words),
            "--tpm",
            str(args.tpm or (240_000 if quick else 1_000_000)),
            "--rpm",
            str(args.rpm or (120 if quick else 600)),
            "--out",
            str(out),
        ]
        if args.quota_cap or quick:
            qargs += ["--cap", str(args.quota_cap or 45)]
        _module("quota", qargs)
        result["quota"] = json.loads(out.read_text())
    if "batch" in groups:
        print("batch: a corpus through the Batch API (emulator) ...", flush=True)
        out = work / "batch.json"
        texts = args.batch_texts or (20_000 if args.quick else 100_000)
        _module("batch", ["measure", "--texts", str(texts), "--out", str(out)])
        result["batch"] = json.loads(out.read_text())
    if "fleet" in groups:
        print("fleet: worker processes sharing one quota, with and without Redis ...", flush=True)
        out = work / "fleet.json"
        fargs = ["--texts", str(1000 if args.quick else 5000)]
        _module("fleet", ["measure", *fargs, "--out", str(out)])
        result["fleet"] = json.loads(out.read_text())
    result["duration_s"] = time.perf_counter() - t0
    path = OUT_DIR / f"run-{stamp}.json"
    write_json(path, result)
    print(f"saved {path.relative_to(REPO)} ({result['duration_s'] / 60:.1f} min)", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds and a small quota run")
    parser.add_argument("--only", help=f"comma-separated groups of {','.join(GROUPS)}")
    parser.add_argument("--ops", help=f"CPU operations to run, of {','.join(CPU_OPS)}")
    parser.add_argument("--rounds", type=int, help="rounds per CPU measurement (default 7)")
    parser.add_argument("--quota-texts", type=int, help="texts to embed (default 20000)")
    parser.add_argument(
        "--quota-words", type=int, default=100, help="tokens per text (default 100)"
    )
    parser.add_argument("--tpm", type=int, help="deployment tokens per minute (default 1000000)")
    parser.add_argument("--rpm", type=int, help="deployment requests per minute (default 600)")
    parser.add_argument("--quota-cap", type=float, help="seconds before a quota run is stopped")
    parser.add_argument("--batch-texts", type=int, help="texts through the Batch API (100000)")
    parser.add_argument(
        "--render", nargs="+", type=Path, metavar="RUN_JSON", help="only re-render from saved runs"
    )
    parser.add_argument(
        "--merge",
        nargs="*",
        type=Path,
        default=[],
        metavar="RUN_JSON",
        help="earlier runs to report beside this one (ranges across runs)",
    )
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the README")
    parser.add_argument("--venv", type=Path, default=VENV, help="the benchmark venv")
    parser.add_argument("--no-venv", action="store_true", help="use the current interpreter")
    args = parser.parse_args(argv)

    from benchmarks.report import render, update_readme

    if args.render:
        runs = [json.loads(p.read_text()) for p in args.render]
    else:
        if not args.no_venv and not _in_venv(args.venv):
            ensure_venv(args.venv, argv)
        runs = [json.loads(p.read_text()) for p in args.merge] + [run(args)]
    section = render(runs)
    if not args.no_readme:
        update_readme(BENCH_DIR / "README.md", section)
        print("updated benchmarks/README.md", flush=True)
    else:
        print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

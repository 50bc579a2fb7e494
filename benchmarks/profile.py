"""Where azoai's time goes: cProfile of the core client and each adapter, per chat call and per
streamed chunk, against the mock server.

``python -m benchmarks.profile [--calls 2000] [--streams 200] [--top 25]`` (run it inside the
benchmark venv; ``python -m benchmarks --no-venv`` is not needed) writes one report per
contender and operation to ``benchmarks/out/profile/`` and prints the top functions by own time
(``tottime``) and by cumulative time, normalised to microseconds per call (or per chunk).

cProfile inflates the cost of small Python functions relative to C code, so read the ranking,
not the absolute numbers (the CPU tables in the README are measured without a profiler).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
from pathlib import Path

from benchmarks.common import OUT_DIR, REPO, mock_server
from benchmarks.contenders import Target, make

__all__ = ["main"]

CONTENDERS = ("httpx (floor)", "azoai core", "langchain_azoai", "llamaindex_azoai")
OURS = ("shared/azoai/", "langchain_azoai/", "llamaindex_azoai/")
STREAM_CHUNKS = 100


def _profile(name: str, op: str, base: str, calls: int, streams: int, top: int) -> str:
    c = make(name, Target(base))
    if op == "chat":
        for _ in range(30):
            c.chat()  # type: ignore[attr-defined]
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(calls):
            c.chat()  # type: ignore[attr-defined]
        prof.disable()
        per, unit = calls, "call"
    else:
        for _ in range(5):
            c.stream(STREAM_CHUNKS)  # type: ignore[attr-defined]
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(streams):
            c.stream(STREAM_CHUNKS)  # type: ignore[attr-defined]
        prof.disable()
        per, unit = streams * STREAM_CHUNKS, "chunk (stream overhead spread over 100 chunks)"
    c.close()
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    out = io.StringIO()
    out.write(f"# {name} / {op}: {total / per * 1e6:.1f} us per {unit} under cProfile\n\n")
    sections = (
        ("tottime", "own time", False),
        ("cumulative", "cumulative time", False),
        ("tottime", "own time, azoai's code only (core and adapters)", True),
    )
    for key, title, ours_only in sections:
        out.write(f"## top {top} by {title} (us per {unit.split()[0]})\n\n")
        rows = []
        for func, (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            filename, line, fn = func
            short = filename
            for marker in ("site-packages/", str(REPO) + "/"):
                if marker in short:
                    short = short.split(marker, 1)[1]
            if ours_only and not short.startswith(OURS):
                continue
            rows.append((tt if key == "tottime" else ct, nc, f"{short}:{line}({fn})"))
        rows.sort(reverse=True)
        for t, nc, label in rows[:top]:
            out.write(f"{t / per * 1e6:9.2f}  {nc / per:7.2f} calls  {label}\n")
        out.write("\n")
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    args = parser.parse_args(argv)
    dest = OUT_DIR / "profile"
    dest.mkdir(parents=True, exist_ok=True)
    with mock_server() as base:
        for name in args.contenders.split(","):
            for op in ("chat", "stream"):
                text = _profile(name, op, base, args.calls, args.streams, args.top)
                path = dest / f"{name.replace(' ', '_')}-{op}.txt"
                path.write_text(text)
                sys.stdout.write(text)
    print(f"written to {Path(dest)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The ``azoai`` command line: ``azoai demo``, ``azoai emulator`` (more commands arrive with the
doctor/demo issue)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from azoai import __version__


def _demo(args: argparse.Namespace) -> int:
    # The full demo (LangChain chain and agent, LlamaIndex RAG and structured output against the
    # built-in emulator) is issue 7; until then this says honestly what is here.
    from azoai.catalog import known_families
    from azoai.versions import DATED_GA, DEFAULT_DATED_VERSION

    print(f"azoai {__version__}: Azure OpenAI for LangChain and LlamaIndex")
    print(
        "The interactive demo (a streamed LangChain chain, a tool-calling agent, a LlamaIndex RAG"
    )
    print("query and structured output, all against the built-in emulator) is not built yet.")
    print()
    print("What this build already knows:")
    print(
        f"  routes: v1 (/openai/v1/..., no api-version) and deployments (dated, default {DEFAULT_DATED_VERSION})"
    )
    print(f"  GA api-versions: {', '.join(DATED_GA)}")
    print(f"  model families: {', '.join(known_families())}")
    return 0


def _emulator(args: argparse.Namespace, rest: Sequence[str]) -> int:
    try:
        from azoai.emulator.__main__ import main as emulator_main
    except ImportError as exc:
        print(
            f"azoai emulator needs its extra: pip install 'azoai[emulator]' ({exc})",
            file=sys.stderr,
        )
        return 2
    return int(emulator_main(list(rest)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="azoai",
        description="Azure OpenAI for LangChain and LlamaIndex: demo, emulator and diagnostics.",
    )
    parser.add_argument("--version", action="version", version=f"azoai {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser(
        "demo", help="run the demo (against the built-in emulator when Azure is not configured)"
    )
    sub.add_parser(
        "emulator",
        help="run the local Azure OpenAI emulator (see `azoai emulator --help`)",
        add_help=False,
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return _demo(args)
    if args.command == "emulator":
        return _emulator(args, rest)
    parser.print_help()
    return 0 if args.command is None and not rest else 2


if __name__ == "__main__":
    raise SystemExit(main())

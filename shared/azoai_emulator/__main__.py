"""``python -m azoai_emulator [--port N] [--config deployments.toml]``: run the emulator until
interrupted (or for ``--duration`` seconds), printing where it listens and how to connect."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from typing import Any

from azoai_emulator.config import load_config
from azoai_emulator.server import Emulator

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azoai emulator",
        description="Run a local Azure OpenAI emulator (deployments, keys, Entra tokens, ARM listing).",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port to listen on (default: a free port)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument(
        "--config", metavar="TOML", help="deployments and settings (see azoai_emulator.config)"
    )
    parser.add_argument("--api-key", help="the API key to accept (overrides the config file)")
    parser.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="stop after this many seconds (default: run until Ctrl-C)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    overrides: dict[str, Any] = {"port": args.port, "host": args.host}
    if args.api_key:
        overrides["api_key"] = args.api_key
    try:
        emulator = (
            Emulator.from_config(load_config(args.config), **overrides)
            if args.config
            else Emulator(**overrides)
        )
        emulator.start()
    except (OSError, ValueError) as exc:
        print(f"azoai emulator: {exc}", file=sys.stderr)
        return 2
    try:
        print(f"azoai emulator listening on {emulator.endpoint}")
        print(f"  AZURE_OPENAI_ENDPOINT={emulator.endpoint}")
        print(f"  AZURE_OPENAI_API_KEY={emulator.api_key}")
        print(f"  v1 base_url: {emulator.v1_base_url}")
        print(
            f"  managed identity: IDENTITY_ENDPOINT={emulator.identity_endpoint} IDENTITY_HEADER={emulator.identity_header}"
        )
        try:
            print(
                f"  service principal / workload identity: AZURE_AUTHORITY_HOST={emulator.authority_host}"
                f" REQUESTS_CA_BUNDLE={emulator.ca_bundle} AZURE_TENANT_ID={emulator.tenant_id}"
                f" AZURE_CLIENT_ID={emulator.entra_client_id}"
                f" AZURE_CLIENT_SECRET={emulator.entra_client_secret}"
            )
        except RuntimeError as exc:  # no TLS without the cryptography package
            print(f"  (no Entra token service: {exc})")
        print(
            "  deployments: " + ", ".join(f"{d.name} ({d.model})" for d in emulator.deployments),
            flush=True,
        )
        threading.Event().wait(args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

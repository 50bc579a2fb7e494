"""``python -m azoai_emulator [--port N] [--config deployments.toml]``: run the emulator until
interrupted (or for ``--duration`` seconds), printing where it listens and how to connect."""

from __future__ import annotations

import argparse
import json
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
        "--json",
        action="store_true",
        help="print where it listens and how to connect as one JSON line (for scripts)",
    )
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
    except ImportError as exc:  # the emulator extra is not installed: one line, no traceback
        print(f"azoai emulator: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"azoai emulator: {exc}", file=sys.stderr)
        return 2
    try:
        if args.json:
            print(json.dumps(_facts(emulator)), flush=True)
        else:
            _banner(emulator)
        threading.Event().wait(args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


def _facts(emulator: Emulator) -> dict[str, Any]:
    """Where the emulator listens and what a client needs, as ``--json`` prints it."""
    facts: dict[str, Any] = {
        "endpoint": emulator.endpoint,
        "api_key": emulator.api_key,
        "v1_base_url": emulator.v1_base_url,
        "identity_endpoint": emulator.identity_endpoint,
        "identity_header": emulator.identity_header,
        "discovery": {
            "subscription_id": emulator.subscription_id,
            "resource_group": emulator.resource_group,
            "account": emulator.account,
            "arm_host": emulator.arm_endpoint,
        },
        "deployments": [{"name": d.name, "model": d.model} for d in emulator.deployments],
    }
    try:
        facts["entra"] = {
            "authority_host": emulator.authority_host,
            "ca_bundle": emulator.ca_bundle,
            "tenant_id": emulator.tenant_id,
            "client_id": emulator.entra_client_id,
            "client_secret": emulator.entra_client_secret,
        }
    except RuntimeError:  # no TLS without the cryptography package
        facts["entra"] = None
    return facts


def _banner(emulator: Emulator) -> None:
    e = emulator
    print(f"azoai emulator listening on {e.endpoint}")
    print(f"  AZURE_OPENAI_ENDPOINT={e.endpoint}")
    print(f"  AZURE_OPENAI_API_KEY={e.api_key}")
    print(f"  v1 base_url: {e.v1_base_url}")
    print(
        f"  managed identity: IDENTITY_ENDPOINT={e.identity_endpoint} "
        f"IDENTITY_HEADER={e.identity_header}"
    )
    try:
        print(
            f"  service principal / workload identity: AZURE_AUTHORITY_HOST={e.authority_host}"
            f" REQUESTS_CA_BUNDLE={e.ca_bundle} AZURE_TENANT_ID={e.tenant_id}"
            f" AZURE_CLIENT_ID={e.entra_client_id}"
            f" AZURE_CLIENT_SECRET={e.entra_client_secret}"
        )
    except RuntimeError as exc:  # no TLS without the cryptography package
        print(f"  (no Entra token service: {exc})")
    # deployment discovery needs these four (the loopback endpoint names no account), and an
    # Entra identity: the emulator's managed identity above
    print(
        f"  deployment discovery: subscription_id={e.subscription_id} "
        f"resource_group={e.resource_group} account={e.account} arm_host={e.arm_endpoint}"
    )
    print(
        f"    e.g. IDENTITY_ENDPOINT={e.identity_endpoint} IDENTITY_HEADER={e.identity_header} "
        f"azoai deployments --endpoint {e.endpoint} --auth-mode managed_identity "
        f"--subscription-id {e.subscription_id} --resource-group {e.resource_group} "
        f"--account {e.account} --arm-host {e.arm_endpoint}"
    )
    print(
        "  deployments: " + ", ".join(f"{d.name} ({d.model})" for d in e.deployments),
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())

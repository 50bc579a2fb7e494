"""The ``azoai`` command line: ``demo``, ``doctor``, ``deployments``, ``emulator``.

Output uses rich (``pip install 'azoai[cli]'``); ``--json`` prints machine-readable reports.
Secrets are never printed: credentials appear as their mode and where they came from.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from azoai import __version__


def _settings_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    for name in ("endpoint", "api", "route", "api_version", "auth_mode", "deployment"):
        value = getattr(args, name, None)
        if value is not None:
            kw[name] = value
    if getattr(args, "config", None):
        kw["config_file"] = args.config
    return kw


def _add_settings_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        help="azoai TOML config file (default: $AZOAI_CONFIG or ./azoai.toml)",
    )
    p.add_argument(
        "--endpoint", help="https://<resource>.openai.azure.com (default: $AZURE_OPENAI_ENDPOINT)"
    )
    p.add_argument(
        "--api",
        choices=["chat", "responses"],
        help="Chat Completions (default) or the Responses API",
    )
    p.add_argument(
        "--route",
        choices=["v1", "deployments"],
        help="URL family (default: derived from api and api-version)",
    )
    p.add_argument(
        "--api-version",
        dest="api_version",
        help="api-version (dated for route deployments; v1 or preview)",
    )
    p.add_argument(
        "--auth-mode",
        dest="auth_mode",
        help="api_key, token, managed_identity, default_credential, workload_identity, client_secret, azure_cli",
    )
    p.add_argument("--deployment", help="the default deployment")
    p.add_argument("--json", action="store_true", help="print a JSON report")


def escape(text: str) -> str:
    """Square brackets in error messages are text, not rich markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _console() -> Any:
    try:
        from rich.console import Console
    except ImportError:
        print("the azoai command line needs rich: pip install 'azoai[cli]'", file=sys.stderr)
        raise SystemExit(2) from None
    return Console(highlight=False)


_MARK = {
    "pass": "[green]PASS[/]",
    "fail": "[red]FAIL[/]",
    "warn": "[yellow]WARN[/]",
    "skip": "[dim]SKIP[/]",
}


def _print_config(console: Any, config: dict[str, Any]) -> None:
    from rich.table import Table

    sources = config.get("sources", {})
    table = Table(title="Configuration", show_header=True, header_style="bold")
    table.add_column("setting")
    table.add_column("value")
    table.add_column("from", style="dim")
    for key in (
        "endpoint",
        "host_kind",
        "cloud",
        "api",
        "route",
        "api_version",
        "auth_mode",
        "scope",
        "deployment",
        "model",
        "config_file",
    ):
        value = config.get(key)
        if value in (None, "", {}):
            continue
        table.add_row(
            key,
            str(value),
            str(sources.get(key, sources.get("api_key" if key == "auth_mode" else key, ""))),
        )
    if config.get("auth_mode") == "api_key":
        table.add_row("api_key", "(set)", str(sources.get("api_key", "")))
    for model, dep in (config.get("deployment_map") or {}).items():
        table.add_row(f"deployment_map[{model}]", dep, str(sources.get("deployment_map", "")))
    console.print(table)


def _print_deployments(console: Any, rows: Sequence[Any]) -> None:
    from rich.table import Table

    table = Table(title="Deployments", show_header=True, header_style="bold")
    for col in (
        "deployment",
        "model",
        "version",
        "kind",
        "sku",
        "capacity",
        "state",
        "rules azoai applies",
    ):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.name,
            r.model or "?",
            r.model_version or "",
            r.kind,
            r.sku or "",
            str(r.capacity) if r.capacity is not None else "",
            r.state,
            "\n".join(r.rules),
        )
    console.print(table)


def _doctor(args: argparse.Namespace) -> int:
    from azoai.doctor import run_doctor

    report = run_doctor(
        settings_kwargs=_settings_kwargs(args), deployments=args.check or (), call=not args.no_call
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0 if report.ok else 1
    console = _console()
    if report.config:
        _print_config(console, report.config)
    if report.deployments:
        _print_deployments(console, report.deployments)
    for check in report.checks:
        console.print(f"{_MARK[check.status]}  {escape(check.name)}: {escape(check.detail)}")
        if check.fix and check.status in ("fail", "warn"):
            console.print(f"      [bold]fix:[/] {escape(check.fix)}")
    console.print("[green]all checks passed[/]" if report.ok else "[red]some checks failed[/]")
    return 0 if report.ok else 1


def _deployments(args: argparse.Namespace) -> int:
    from azoai.doctor import run_doctor

    report = run_doctor(settings_kwargs=_settings_kwargs(args), call=False)
    failed = [c for c in report.checks if c.status == "fail"]
    if args.json:
        print(
            json.dumps(
                {
                    "deployments": report.to_dict()["deployments"],
                    "errors": [c.detail for c in failed],
                },
                indent=2,
            )
        )
        return 1 if failed else 0
    console = _console()
    for c in failed:
        console.print(f"{_MARK['fail']}  {escape(c.name)}: {escape(c.detail)}")
        if c.fix:
            console.print(f"      [bold]fix:[/] {escape(c.fix)}")
    if report.deployments:
        _print_deployments(console, report.deployments)
    elif not failed:
        console.print(
            "no deployments configured or discovered; set deployments=[...] or discovery in azoai.toml"
        )
    return 1 if failed else 0


def _demo(args: argparse.Namespace) -> int:
    from azoai.demo import demo_context, load_steps, run_demo
    from azoai.errors import ConfigError

    steps = load_steps()
    if not steps:
        print(
            "no demo steps found: install the adapters with pip install 'azoai[all]'",
            file=sys.stderr,
        )
        return 2
    console = _console()

    def write(line: str) -> None:
        console.print(escape(line))

    def stream(text: str) -> None:
        console.print(escape(text), end="")

    try:
        with demo_context(
            force_emulator=args.emulator,
            config_file=args.config,
            chat_deployment=args.chat_deployment,
            embed_deployment=args.embed_deployment,
            write=write,
            stream=stream,
        ) as ctx:
            return run_demo(ctx, steps)
    except ConfigError as err:
        console.print(f"[red]configuration problem:[/] {escape(str(err))}")
        return 2


def _emulator(rest: Sequence[str]) -> int:
    try:
        from azoai_emulator.__main__ import main as emulator_main
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
        description="Azure OpenAI for LangChain and LlamaIndex: demo, diagnostics and a local emulator.",
    )
    parser.add_argument("--version", action="version", version=f"azoai {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="run the demo (against the built-in emulator when Azure is not configured)",
        description="A streamed LangChain chain, a LangChain tool-calling agent, a LlamaIndex RAG query over "
        "documents shipped with the package, and LlamaIndex structured output. Runs against the built-in "
        "emulator unless AZURE_OPENAI_ENDPOINT (or a config file) is set.",
    )
    demo.add_argument(
        "--emulator",
        action="store_true",
        help="use the built-in emulator even when Azure is configured",
    )
    demo.add_argument("--config", metavar="FILE", help="azoai TOML config file for real Azure")
    demo.add_argument(
        "--chat-deployment",
        dest="chat_deployment",
        help="chat deployment (default: the configured deployment)",
    )
    demo.add_argument(
        "--embed-deployment",
        dest="embed_deployment",
        help="embeddings deployment (default: discovered, or 'embed' on the emulator)",
    )
    doctor = sub.add_parser(
        "doctor",
        help="explain the configuration and check token, deployments and one call each",
        description="Reads the configuration exactly as the adapters do, explains where each value came from, "
        "then checks token acquisition, deployment discovery and one minimal call per deployment. "
        "Exit code 0 only when every check passes.",
    )
    _add_settings_args(doctor)
    doctor.add_argument(
        "--check",
        action="append",
        metavar="DEPLOYMENT",
        help="check only this deployment (repeatable)",
    )
    doctor.add_argument("--no-call", action="store_true", help="skip the test calls")
    deployments = sub.add_parser(
        "deployments",
        help="list the configured or discovered deployments and the rules azoai applies to each",
    )
    _add_settings_args(deployments)
    sub.add_parser(
        "emulator",
        help="run the local Azure OpenAI emulator (see `azoai emulator --help`)",
        add_help=False,
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "emulator":
        return _emulator(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "demo":
        return _demo(args)
    if args.command == "doctor":
        return _doctor(args)
    if args.command == "deployments":
        return _deployments(args)
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

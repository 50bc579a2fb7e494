"""The ``azoai`` command line: ``demo``, ``doctor``, ``deployments``, ``image``, ``transcribe``,
``speak``, ``fine-tune``, ``batch``, ``emulator``.

Plain text everywhere, coloured with rich where it is installed (``pip install 'azoai[cli]'``) and
the output is a terminal; piped, tables are tab-separated (see :mod:`azoai.cli_output`), and
``--json`` prints machine-readable reports. Secrets are never printed: credentials appear as
their mode and where they came from. Messages name this command's flags (``--endpoint``), not
the Python arguments the core's errors name (``endpoint=``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from azoai import __version__
from azoai.cli_args import (
    _add_discovery_args,
    _add_settings_args,
    _settings_kwargs,
    flags,
)

_CONFIG_KEYS = (
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
)


def _config_rows(config: dict[str, Any]) -> list[list[str]]:
    sources = config.get("sources", {})
    rows = []
    for key in _CONFIG_KEYS:
        value = config.get(key)
        if value in (None, "", {}):
            continue
        source = sources.get(key, sources.get("api_key" if key == "auth_mode" else key, ""))
        rows.append([key, str(value), str(source)])
    if config.get("auth_mode") == "api_key":
        rows.append(["api_key", "(set)", str(sources.get("api_key", ""))])
    for model, dep in (config.get("deployment_map") or {}).items():
        rows.append([f"deployment_map[{model}]", dep, str(sources.get("deployment_map", ""))])
    return rows


_DEPLOYMENT_COLUMNS = (
    "deployment",
    "model",
    "version",
    "kind",
    "sku",
    "capacity",
    "state",
    "rules azoai applies",
)


def _deployment_rows(rows: Sequence[Any]) -> list[list[Any]]:
    return [
        [
            r.name,
            r.model or "unknown",
            r.model_version or "",
            r.kind,
            r.sku or "",
            str(r.capacity) if r.capacity is not None else "",
            r.state,
            list(r.rules),
        ]
        for r in rows
    ]


def _doctor(args: argparse.Namespace) -> int:
    from azoai.cli_output import Output
    from azoai.doctor import run_doctor

    report = run_doctor(
        settings_kwargs=_settings_kwargs(args), deployments=args.check or (), call=not args.no_call
    )
    for check in report.checks:
        check.detail = flags(check.detail)
        check.fix = flags(check.fix) if check.fix else None
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0 if report.ok else 1
    out = Output()
    if report.config:
        out.table(
            "Configuration",
            ("setting", "value", "from"),
            _config_rows(report.config),
            title_when_piped=True,
        )
    if report.deployments:
        out.table(
            "Deployments",
            _DEPLOYMENT_COLUMNS,
            _deployment_rows(report.deployments),
            title_when_piped=True,
        )
    for check in report.checks:
        shown = check.status in ("fail", "warn") or check.name == "discovery"
        out.check(check.status, check.name, check.detail, check.fix if shown else None)
    if report.ok:
        out.line("all checks passed", style="green")
    else:
        out.line("some checks failed", style="red")
    return 0 if report.ok else 1


def _deployments(args: argparse.Namespace) -> int:
    from azoai.cli_output import Output
    from azoai.doctor import DISCOVERY_HOW, run_doctor

    report = run_doctor(settings_kwargs=_settings_kwargs(args), call=False)
    failed = [c for c in report.checks if c.status == "fail"]
    unverified = [d.name for d in report.deployments if not d.verified]
    notes = []
    if unverified:
        notes.append(
            f"{', '.join(unverified)}: configured, not verified (azoai read "
            f"{'it' if len(unverified) == 1 else 'them'} from the configuration and did not ask "
            "Azure; `azoai doctor` calls each deployment once)"
        )
        notes.append(DISCOVERY_HOW)
    if args.json:
        print(
            json.dumps(
                {
                    "deployments": report.to_dict()["deployments"],
                    "errors": [flags(c.detail) for c in failed],
                    "notes": notes,
                },
                indent=2,
            )
        )
        return 1 if failed else 0
    out = Output()
    for c in failed:
        out.check("fail", c.name, flags(c.detail), flags(c.fix) if c.fix else None)
    if report.deployments:
        out.table("Deployments", _DEPLOYMENT_COLUMNS, _deployment_rows(report.deployments))
        for note in notes:
            out.note(note)
    elif not failed:
        out.note(
            "no deployments configured or discovered: pass --deployment NAME, or " + DISCOVERY_HOW
        )
    return 1 if failed else 0


def _demo(args: argparse.Namespace) -> int:
    from azoai.cli_output import Output
    from azoai.demo import demo_context, load_steps, run_demo
    from azoai.errors import ConfigError

    out = Output()
    steps = load_steps()
    if not steps:
        out.note("no demo steps found: install the adapters with pip install 'azoai[all]'")
        return 2
    try:
        with demo_context(
            force_emulator=args.emulator,
            config_file=args.config,
            chat_deployment=args.chat_deployment,
            embed_deployment=args.embed_deployment,
            write=out.line,
            stream=out.stream,
        ) as ctx:
            return run_demo(ctx, steps)
    except ConfigError as err:
        out.note(f"configuration problem: {flags(err.message)}", style="red")
        if err.fix:
            out.note(f"  fix: {flags(err.fix)}")
        return 2
    except ImportError as exc:  # the emulator's extra is missing
        out.note(f"azoai demo: {exc}")
        return 2


def _emulator(rest: Sequence[str]) -> int:
    try:
        from azoai_emulator.__main__ import main as emulator_main
    except ImportError as exc:
        print(
            f"azoai emulator needs its extra: pip install 'azoai[emulator]' (missing: {exc.name or exc})",
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
    _add_discovery_args(doctor)
    deployments = sub.add_parser(
        "deployments",
        help="list the configured or discovered deployments and the rules azoai applies to each",
        description="Lists the deployments with the rules azoai applies to each. Without "
        "discovery these are the configured deployments, shown as 'configured, not verified': "
        "azoai did not ask Azure about them (`azoai doctor` calls each once).",
    )
    _add_settings_args(deployments)
    _add_discovery_args(deployments)
    from azoai import cli_image

    cli_image.add_parser(sub)
    from azoai import cli_audio, cli_fine_tuning

    cli_audio.add_parsers(sub)
    cli_fine_tuning.add_parser(sub)
    from azoai import cli_batch

    cli_batch.add_parser(sub)
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
    if args.command == "image":
        return cli_image.run(args)
    if args.command in ("transcribe", "speak", "fine-tune"):
        run = {"transcribe": cli_audio.run_transcribe, "speak": cli_audio.run_speak}
        return run.get(args.command, cli_fine_tuning.run)(args)
    if args.command == "batch":
        return cli_batch.run(args)
    # no command: what a well-made command line does (usage on stderr, exit 2), with a start
    parser.print_help(sys.stderr)
    print(
        "\nazoai: choose a command; `azoai demo` runs the demo against the built-in emulator",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    raise SystemExit(main())

"""``azoai demo``: the first five minutes, against the built-in emulator or a real resource.

The core knows no framework, so the demo's steps come from the adapters through the
``azoai.demo`` entry-point group: each names a function returning a list of :class:`DemoStep`.
The runner decides where to point them (the emulator, or the Azure configuration it finds),
prints what it is doing, runs each step and reports token usage per step.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from azoai.errors import AzoaiError, ConfigError

__all__ = [
    "DemoContext",
    "DemoStep",
    "StepReport",
    "azure_configured",
    "demo_context",
    "load_steps",
    "run_demo",
]

ENTRY_POINT_GROUP = "azoai.demo"


@dataclass(slots=True)
class StepReport:
    """What a step did, for the summary line: tokens used, and a one-line outcome."""

    outcome: str
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(slots=True)
class DemoContext:
    """Where the steps point and how they print.

    ``settings_kwargs`` are the arguments every adapter class accepts (endpoint, api_key, ...);
    ``chat_deployment`` / ``embed_deployment`` name the deployments to use; ``write`` prints a
    line, ``stream`` prints streamed text without a newline."""

    settings_kwargs: dict[str, Any]
    chat_deployment: str
    embed_deployment: str | None
    route: str
    emulator: bool
    write: Callable[[str], None]
    stream: Callable[[str], None]
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class DemoStep:
    name: str
    run: Callable[[DemoContext], StepReport]
    needs_embeddings: bool = False


def load_steps() -> list[DemoStep]:
    """Every adapter's demo steps, in entry-point name order (their names start with a number)."""
    steps: list[DemoStep] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            factory = ep.load()
        except ImportError as exc:  # an adapter whose framework is not installed
            steps.append(DemoStep(f"{ep.name} (skipped)", _missing(ep.name, exc)))
            continue
        steps.extend(factory())
    return steps


def _missing(name: str, exc: ImportError) -> Callable[[DemoContext], StepReport]:
    def run(ctx: DemoContext) -> StepReport:
        raise ConfigError(f"the {name} demo needs its framework: pip install 'azoai[all]' ({exc})")

    return run


def azure_configured(config_file: str | None = None) -> str | None:
    """Why the demo would use real Azure (``None``: nothing points it there): an endpoint in the
    environment, a config file given, named by ``AZOAI_CONFIG`` or found as ``./azoai.toml``."""
    from azoai.config.sources import ENDPOINT_VARS

    if config_file:
        return f"--config {config_file} was given"
    for name in ENDPOINT_VARS:
        if os.environ.get(name):
            return f"{name} is set"
    if os.environ.get("AZOAI_CONFIG"):
        return "AZOAI_CONFIG is set"
    if os.path.exists("azoai.toml"):
        return "./azoai.toml exists"
    return None


#: How to change the demo's backend, said whenever it runs against Azure.
USE_EMULATOR = "`azoai demo --emulator` runs it against the built-in emulator instead"


@contextmanager
def demo_context(
    *,
    force_emulator: bool = False,
    config_file: str | None = None,
    chat_deployment: str | None = None,
    embed_deployment: str | None = None,
    write: Callable[[str], None] = print,
    stream: Callable[[str], None] | None = None,
) -> Iterator[DemoContext]:
    """Point the demo at real Azure when it is configured (``AZURE_OPENAI_ENDPOINT`` or a config
    file), else (or with ``force_emulator``) at a fresh emulator on loopback. The first line
    written says which, why, and how to choose the other; a configuration problem with Azure is
    a :class:`ConfigError` that says how to run on the emulator instead."""
    from azoai.config.settings import Settings

    out = stream or (lambda text: print(text, end="", flush=True))
    configured = azure_configured(config_file)
    if force_emulator or not configured:
        from azoai_emulator import Emulator

        why = (
            f"--emulator given, so the Azure configuration ({configured}) is not used"
            if force_emulator and configured
            else "--emulator given"
            if force_emulator
            else "no Azure endpoint configured: set AZURE_OPENAI_ENDPOINT and credentials, or "
            "pass --config FILE, to use your resource"
        )
        with Emulator() as emu:
            write(f"Using the built-in Azure OpenAI emulator at {emu.endpoint} ({why}).")
            settings = Settings.build(
                endpoint=emu.endpoint,
                api_key=emu.api_key,
                env={},
                config_file="",
                deployment=chat_deployment or "chat",
            )
            yield DemoContext(
                settings_kwargs={"azure_endpoint": emu.endpoint, "api_key": emu.api_key},
                chat_deployment=chat_deployment or "chat",
                embed_deployment=embed_deployment or "embed",
                route=f"{settings.route} ({settings.api}, api-version {settings.api_version.value})",
                emulator=True,
                write=write,
                stream=out,
                extras={"emulator": emu},
            )
        return
    try:
        settings = Settings.build(config_file=config_file, deployment=chat_deployment)
    except ConfigError as err:
        from azoai.doctor import config_fix  # the command line's wording of the fix

        fix = config_fix(err, {"config_file": config_file} if config_file else {})
        raise ConfigError(
            f"the demo uses Azure because {configured}, and that configuration does not work: "
            f"{err.message}",
            setting=err.setting,
            fix=f"{fix + '; or ' if fix else ''}{USE_EMULATOR}",
        ) from None
    if settings.deployment is None:
        raise ConfigError(
            f"the demo uses Azure because {configured}, and needs a chat deployment there",
            setting="deployment",
            fix=f"pass --chat-deployment NAME or set AZURE_OPENAI_DEPLOYMENT; or {USE_EMULATOR}",
        )
    embed = embed_deployment
    if embed is None:
        from azoai.client import Client

        with Client(settings) as client:
            embed = next(
                (d.name for d in client.known_deployments() if d.kind == "embedding"), None
            )
    write(
        f"Using Azure OpenAI at {settings.endpoint.base} ({settings.auth.mode} auth), because "
        f"{configured}; {USE_EMULATOR}."
    )
    yield DemoContext(
        settings_kwargs={"config_file": config_file} if config_file else {},
        chat_deployment=settings.deployment,
        embed_deployment=embed,
        route=f"{settings.route} ({settings.api}, api-version {settings.api_version.value})",
        emulator=False,
        write=write,
        stream=out,
    )


def run_demo(ctx: DemoContext, steps: Sequence[DemoStep]) -> int:
    """Run each step, print a usage line per step; the exit code is 0 when every step ran."""
    failures = 0
    ctx.write(
        f"Route: {ctx.route}; chat deployment: {ctx.chat_deployment}; embeddings deployment: {ctx.embed_deployment or '(none)'}"
    )
    for i, step in enumerate(steps, 1):
        ctx.write("")
        ctx.write(f"[{i}/{len(steps)}] {step.name}")
        if step.needs_embeddings and ctx.embed_deployment is None:
            ctx.write(
                "  skipped: no embeddings deployment (pass --embed-deployment, or enable discovery)"
            )
            continue
        started = time.perf_counter()
        try:
            report = step.run(ctx)
        except AzoaiError as err:
            failures += 1
            ctx.write(f"  failed: {type(err).__name__}: {err}")
            continue
        took = time.perf_counter() - started
        ctx.write(f"  {report.outcome}")
        ctx.write(f"  tokens: {report.input_tokens} in / {report.output_tokens} out; {took:.2f} s")
    ctx.write("")
    if not failures:
        ctx.write("Done.")
        return 0
    ctx.write(
        f"{failures} step(s) failed."
        + ("" if ctx.emulator else f" They ran against your Azure resource; {USE_EMULATOR}.")
    )
    return 1

"""Lint, format and type checks run as part of the suite, so the README's one test command covers them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    os.environ.get("AZOAI_SKIP_QUALITY") == "1",
    reason="quality checks run once per CI (AZOAI_SKIP_QUALITY=1)",
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_ruff_lint() -> None:
    r = run("ruff", "check", ".")
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format() -> None:
    r = run("ruff", "format", "--check", ".")
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_strict_on_the_core_and_checked_adapters() -> None:
    r = run("mypy")
    assert r.returncode == 0, r.stdout + r.stderr


def test_import_contracts() -> None:
    """pyproject's [tool.importlinter] contracts: the emulator and the product import nothing
    from each other (the CLI and demo aside), the adapters are independent, the core imports no
    framework, and the core's layers (cli/doctor/demo, client/embeddings, pipeline, io, wire,
    config, errors) each import only those below them, imports inside functions included (so
    the core has no import cycle). This checkout's packages come first on the path, whatever
    else is installed."""
    src = os.pathsep.join([str(ROOT / "shared"), str(ROOT)])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])),
    }
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
            "--no-cache",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr

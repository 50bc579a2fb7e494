"""Helpers shared by the LlamaIndex adapter tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from azoai_emulator import Emulator

DOCS = Path(__file__).parent / "docs"

#: Isolates an object from the machine's environment and any azoai.toml.
ISOLATED: dict[str, Any] = {"env": {}, "config_file": ""}


def bodies(emu: Emulator, suffix: str) -> list[dict[str, Any]]:
    """Request bodies the emulator received on paths ending with ``suffix``, oldest first."""
    return [r.body for r in emu.requests if r.path.endswith(suffix) and isinstance(r.body, dict)]


def chat_bodies(emu: Emulator) -> list[dict[str, Any]]:
    return bodies(emu, "/chat/completions")

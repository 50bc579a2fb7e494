"""The TOML config file: which one is read (``config_file=``, else ``AZOAI_CONFIG``, else
``./azoai.toml`` when it exists), and its keys checked so that a typo fails with the known keys
instead of being ignored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from azoai.config.policies import Limits, RetryPolicy, Timeouts, number_table
from azoai.errors import ConfigError

__all__ = ["RETRY_KEYS", "config_path", "read_config"]

TOP_KEYS = {
    "endpoint", "resource_name", "custom_endpoint", "api", "route", "api_version", "deployment",
    "model", "model_version", "strict", "check_api_version", "auto_responses", "default_headers",
    "auth", "deployment_map", "deployments", "discovery", "retry", "timeout", "routes",
    "quota_store",
    "transport", "websocket", "limits", "telemetry",
}  # fmt: skip
AUTH_KEYS = {"mode", "api_key", "token", "client_id", "tenant_id", "client_secret", "scope"}
RETRY_KEYS = {f.name for f in fields(RetryPolicy)}
TIMEOUT_KEYS = {f.name for f in fields(Timeouts)}
LIMIT_KEYS = {f.name for f in fields(Limits)}


def config_path(
    config_file: str | os.PathLike[str] | None, environ: Mapping[str, str]
) -> Path | None:
    """The file to read: ``config_file`` ("" for none), else ``AZOAI_CONFIG``, else
    ``./azoai.toml`` when it exists."""
    if config_file is not None:
        if str(config_file) == "":
            return None
        p = Path(config_file)
        if not p.is_file():
            raise ConfigError(f"config_file {str(p)!r} does not exist", setting="config_file")
        return p
    from_env = environ.get("AZOAI_CONFIG")
    if from_env:
        p = Path(from_env)
        if not p.is_file():
            raise ConfigError(
                f"AZOAI_CONFIG points to {from_env!r}, which does not exist", setting="AZOAI_CONFIG"
            )
        return p
    local = Path("azoai.toml")
    return local if local.is_file() else None


def read_config(path: Path) -> dict[str, Any]:
    """The file's settings (a lone ``[azoai]`` table is unwrapped), every key checked."""
    import tomllib  # only when a config file is read

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read config file {str(path)!r}: {exc}", setting="config_file"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        line, column, reason = toml_error_position(exc, path)
        raise ConfigError(
            f"config file {str(path)!r} is not valid TOML: {exc}",
            setting="config_file",
            fix=f"edit {path}, line {line}, column {column}: {reason}",
        ) from None
    if "azoai" in data and isinstance(data["azoai"], dict) and len(data) == 1:
        data = data["azoai"]
    _check_keys(data, TOP_KEYS, str(path), "")
    for section, allowed in (
        ("auth", AUTH_KEYS),
        ("retry", RETRY_KEYS),
        ("timeout", TIMEOUT_KEYS),
        ("limits", LIMIT_KEYS),
    ):
        if section in data:
            if not isinstance(data[section], dict):
                raise ConfigError(f"[{section}] in {str(path)!r} must be a table", setting=section)
            _check_keys(data[section], allowed, str(path), f"{section}.")
            if section != "auth":
                number_table(data[section], section)
    return data


def toml_error_position(exc: ValueError, path: Path) -> tuple[int, int, str]:
    """Where a ``tomllib.TOMLDecodeError`` points (1-based line and column) and its reason, with
    the offending line quoted. Python 3.14's error carries ``lineno`` and ``colno``; before, the
    message ends ``(at line L, column C)`` or ``(at end of document)``."""
    text = str(exc)
    reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)$", "", text)
    line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    found = re.search(r"\(at line (\d+), column (\d+)\)$", text)
    if (line is None or column is None) and found:
        line, column = int(found.group(1)), int(found.group(2))
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    if line is None or column is None:  # at the end of the document
        line = max(1, len(lines))
        column = len(lines[-1]) + 1 if lines else 1
    if 0 < line <= len(lines) and lines[line - 1].strip():
        reason = f"{reason} in `{lines[line - 1].strip()}`"
    return int(line), int(column), reason[:1].lower() + reason[1:]


def _check_keys(data: Mapping[str, Any], allowed: set[str], path: str, prefix: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(prefix + k for k in unknown)} in config file {path!r}; "
            f"known keys: {', '.join(sorted(prefix + k for k in allowed))}",
            setting=prefix + unknown[0],
        )

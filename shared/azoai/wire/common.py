"""Pieces both dialects share: JSON parsing, tool-argument parsing (stream accumulation is
:mod:`azoai.wire.stream`)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import jiter

from azoai.errors import InvalidResponseError

__all__ = ["dumps", "loads", "parse_tool_arguments"]


def loads(data: bytes | str) -> Any:
    """Parse a JSON body; garbage becomes :class:`InvalidResponseError`, never a ValueError."""
    try:
        return jiter.from_json(data.encode() if isinstance(data, str) else data)
    except ValueError as exc:
        snippet = (
            data[:120] if isinstance(data, str) else data[:120].decode("utf-8", "replace")
        ).strip()
        raise InvalidResponseError(f"the response is not valid JSON ({exc}): {snippet!r}") from None


def dumps(obj: Any) -> bytes:
    """A request body as compact UTF-8 JSON. A value JSON cannot carry (``nan``, ``inf``, a lone
    surrogate, an object of another type) is a :class:`ConfigError` naming where it is
    (``temperature``, ``messages[1].content``), never invalid JSON on the wire or a raw
    ``ValueError``/``UnicodeEncodeError``/``TypeError``."""
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
            "utf-8"
        )
    except (ValueError, TypeError):  # UnicodeEncodeError is a ValueError
        raise _unsendable(obj) from None


_LEAVE = object()  # marks the end of a container's children in _unsendable's walk


def _unsendable(obj: Any) -> Exception:
    """The ConfigError for the first value in ``obj`` that JSON cannot carry (only called after
    ``json.dumps`` failed, so the walk costs nothing on the normal path)."""
    from azoai.errors import ConfigError

    stack: list[tuple[str, Any]] = [("", obj)]
    open_ids: list[int] = []  # the containers being walked (a cycle meets one of them again)
    while stack:
        path, value = stack.pop()
        if value is _LEAVE:
            open_ids.pop()
            continue
        what = ""
        problem = _unsendable_value(value)
        if problem is None and isinstance(value, dict | list | tuple):
            if id(value) in open_ids:
                problem = "a container that holds itself", "remove the cycle"
            else:
                open_ids.append(id(value))
                children: list[tuple[str, Any]] = []
                if isinstance(value, dict):
                    for k, v in value.items():
                        problem = _unsendable_value(k, key=True)
                        if problem is not None:
                            what = f"a key in {path}" if path else "a key"
                            break
                        children.append((f"{path}.{k}" if path else str(k), v))
                else:
                    children = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
                stack.append(("", _LEAVE))
                stack.extend(reversed(children))  # depth first, in order: the first is reported
        if problem is not None:
            top = path.split(".", 1)[0].split("[", 1)[0]
            return ConfigError(
                f"cannot send the request: {what or path or 'its body'} is {problem[0]}",
                setting=top or None,
                fix=problem[1],
            )
    return ConfigError("cannot send the request: its body cannot be written as JSON")


def _unsendable_value(value: Any, *, key: bool = False) -> tuple[str, str] | None:
    """``(what it is, how to fix it)`` for a value JSON cannot carry; ``None`` when it is fine
    (containers are fine here: their contents are looked at one by one)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return (
                f"text with a lone surrogate (U+{ord(value[exc.start]):04X}) at character "
                f"{exc.start}, which UTF-8 cannot carry",
                "remove or replace it (text decoded with errors='surrogateescape' carries them)",
            )
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r}, not a finite number", "give a finite number"
    if value is None or isinstance(value, int | float):
        return None
    if not key and isinstance(value, dict | list | tuple):
        return None
    return f"a {type(value).__name__}, which JSON cannot carry", "give JSON values only"


def parse_tool_arguments(raw: Any) -> tuple[dict[str, Any] | None, str, str | None]:
    """``(arguments, raw_text, error)`` for a tool call's arguments.

    The model's text must be a JSON object; an empty string means ``{}`` (a call with no
    arguments). Anything else keeps the raw text and an error message, never a silent ``{}``."""
    if isinstance(raw, Mapping):
        return dict(raw), json.dumps(raw), None
    if raw is None:
        return {}, "", None
    text = raw if isinstance(raw, str) else str(raw)
    if not text.strip():
        return {}, text, None
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, text, f"arguments are not valid JSON: {exc}"
    if not isinstance(value, dict):
        return None, text, f"arguments must be a JSON object, got {type(value).__name__}"
    return value, text, None


def tool_choice_name(choice: str | bool | None, names: set[str]) -> tuple[str | None, str | None]:
    """Normalise a neutral ``tool_choice``: ``(mode, None)`` with mode ``auto``/``none``/
    ``required`` (``any`` and ``True`` mean required), ``(None, tool)`` for a named tool (which
    must be bound), or ``(None, None)`` when unset. Each dialect wraps the answer its own way."""
    if choice is None:
        return None, None
    if choice is True or choice in ("any", "required"):
        return "required", None
    if choice is False:
        return "none", None
    if choice in ("auto", "none"):
        return str(choice), None
    if names and choice not in names:
        from azoai.errors import ConfigError

        raise ConfigError(
            f"tool_choice {choice!r} names no bound tool; bound tools: {', '.join(sorted(names))}",
            setting="tool_choice",
        )
    return None, str(choice)


def int_or_zero(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0

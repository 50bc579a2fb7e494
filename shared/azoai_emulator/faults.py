"""Faults on demand: per deployment (:meth:`Emulator.inject`) or per request (a header).

Build them with the constructors::

    Fault.status(503, count=2)                  # two 503s, then normal service
    Fault.rate_limit(retry_after_ms=1500)       # one 429 with retry-after-ms / retry-after
    Fault.paused()                              # 423 until cleared
    Fault.latency(0.2, per_token=0.01)          # slower responses until cleared
    Fault.cut_stream(after_chunks=3)            # next stream: 3 SSE events, then the socket closes
    Fault.close_connection()                    # next request: the socket closes, no response
    Fault.content_filter("prompt", "violence")  # next request: 400 content_filter
    Fault.content_filter("completion", "hate")  # next reply: finish_reason content_filter

``count`` is how many requests a fault affects (``None``: until :meth:`Emulator.clear_faults`).
A fault is consumed only by requests it applies to: ``cut_stream`` by streamed requests, the
content filters by chat, completions, Responses and image requests (a completion-side filter
withholds a generated image), the rest by every inference request.

Per request, send ``x-azoai-emulator-fault`` with one or more faults separated by ``;``, each a
name, an optional ``=value`` and optional ``,key=value`` options::

    status=503                  status=500,retry_after_ms=200
    rate_limit                  rate_limit=2000                (retry_after_ms)
    paused                      latency=0.5                    latency=0,per_token=0.01
    cut_stream                  cut_stream=3                   (after_chunks)
    close_connection            content_filter=prompt,category=violence
    content_filter=completion,category=hate,after_chunks=2
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from azoai_emulator.filters import COMPLETION_CATEGORIES, PROMPT_CATEGORIES

__all__ = ["FAULT_HEADER", "AppliedFaults", "Fault", "FaultBook"]

FAULT_HEADER = "x-azoai-emulator-fault"

FaultKind = Literal[
    "status", "rate_limit", "paused", "latency", "cut_stream", "close_connection", "content_filter"
]
_TERMINAL = ("status", "rate_limit", "paused", "close_connection")


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault. Use the class-method constructors; the fields are their arguments."""

    kind: FaultKind
    count: int | None = 1
    code: int = 0
    retry_after_ms: int | None = None
    seconds: float = 0.0
    per_token: float = 0.0
    after_chunks: int | None = None
    side: Literal["prompt", "completion"] = "prompt"
    category: str = "violence"
    message: str | None = None

    def __post_init__(self) -> None:
        if self.count is not None and self.count < 1:
            raise ValueError("count must be >= 1, or None for 'until cleared'")
        if self.seconds < 0 or self.per_token < 0:
            raise ValueError("latencies must be >= 0")
        if self.after_chunks is not None and self.after_chunks < 0:
            raise ValueError("after_chunks must be >= 0")
        if self.kind == "content_filter":
            allowed = PROMPT_CATEGORIES if self.side == "prompt" else COMPLETION_CATEGORIES
            if self.side not in ("prompt", "completion"):
                raise ValueError("side must be 'prompt' or 'completion'")
            if self.category not in allowed:
                raise ValueError(
                    f"{self.side} category {self.category!r} is not one of {', '.join(allowed)}"
                )

    # --- constructors ---------------------------------------------------------------------------

    @classmethod
    def status(
        cls,
        code: int,
        *,
        count: int | None = 1,
        message: str | None = None,
        retry_after_ms: int | None = None,
    ) -> Fault:
        """Answer ``code`` in Azure's error shape (429 and 423 behave as :meth:`rate_limit` and
        :meth:`paused`)."""
        if not 400 <= code <= 599:
            raise ValueError(f"status {code} is not an error status (400-599)")
        if code == 429:
            return cls.rate_limit(
                retry_after_ms=retry_after_ms if retry_after_ms is not None else 1000, count=count
            )
        if code == 423:
            return cls.paused(count=count)
        return cls("status", count=count, code=code, message=message, retry_after_ms=retry_after_ms)

    @classmethod
    def rate_limit(cls, *, retry_after_ms: int = 1000, count: int | None = 1) -> Fault:
        """A 429 with ``retry-after-ms`` / ``retry-after`` and the ``x-ratelimit-*`` headers."""
        if retry_after_ms < 0:
            raise ValueError("retry_after_ms must be >= 0")
        return cls("rate_limit", count=count, code=429, retry_after_ms=retry_after_ms)

    @classmethod
    def paused(cls, *, count: int | None = None) -> Fault:
        """423 Locked, as a paused deployment answers; ARM lists it as ``Paused`` meanwhile."""
        return cls("paused", count=count, code=423)

    @classmethod
    def latency(cls, seconds: float, *, per_token: float = 0.0, count: int | None = None) -> Fault:
        """Wait ``seconds`` before answering and ``per_token`` between streamed chunks."""
        return cls("latency", count=count, seconds=seconds, per_token=per_token)

    @classmethod
    def cut_stream(cls, after_chunks: int = 3, *, count: int | None = 1) -> Fault:
        """Send ``after_chunks`` SSE events of the next stream, then close the TCP connection
        (no ``[DONE]``, no terminating chunk)."""
        return cls("cut_stream", count=count, after_chunks=after_chunks)

    @classmethod
    def close_connection(cls, *, count: int | None = 1) -> Fault:
        """Close the TCP connection without answering."""
        return cls("close_connection", count=count)

    @classmethod
    def content_filter(
        cls,
        side: Literal["prompt", "completion"] = "prompt",
        category: str = "violence",
        *,
        after_chunks: int | None = None,
        count: int | None = 1,
    ) -> Fault:
        """``prompt``: 400 ``content_filter`` with ``innererror.content_filter_result``.
        ``completion``: the reply stops with ``finish_reason: content_filter`` (streamed: after
        ``after_chunks`` content chunks, default half of them)."""
        return cls(
            "content_filter", count=count, side=side, category=category, after_chunks=after_chunks
        )

    @classmethod
    def parse(cls, header: str) -> list[Fault]:
        """Parse the ``x-azoai-emulator-fault`` header (syntax in the module docstring)."""
        faults = []
        for spec in header.split(";"):
            spec = spec.strip()
            if spec:
                faults.append(_parse_one(spec))
        return faults

    # --- applicability --------------------------------------------------------------------------

    def applies_to(self, *, operation: str, stream: bool) -> bool:
        if self.kind == "cut_stream":
            return stream
        if self.kind == "content_filter":
            return operation in ("chat", "completions", "responses", "images", "image_edits")
        return True


def _number(name: str, raw: str | None, kind: type[int] | type[float]) -> float:
    if raw is None:
        raise ValueError(f"{name} needs a value")
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None


def _parse_one(spec: str) -> Fault:
    parts = [p.strip() for p in spec.split(",")]
    name, _, value = parts[0].partition("=")
    name = name.strip()
    raw_value: str | None = value.strip() or None
    options: dict[str, str] = {}
    for part in parts[1:]:
        key, eq, val = part.partition("=")
        if not eq:
            raise ValueError(f"fault option {part!r} must be key=value")
        options[key.strip()] = val.strip()

    def option_int(key: str) -> int | None:
        return int(_number(key, options.pop(key), int)) if key in options else None

    def option_float(key: str, default: float) -> float:
        return _number(key, options.pop(key), float) if key in options else default

    fault: Fault
    if name == "status":
        fault = Fault.status(
            int(_number("status", raw_value, int)), retry_after_ms=option_int("retry_after_ms")
        )
    elif name == "rate_limit":
        ms = (
            int(_number("rate_limit", raw_value, int))
            if raw_value
            else option_int("retry_after_ms")
        )
        fault = Fault.rate_limit(retry_after_ms=1000 if ms is None else ms)
    elif name == "paused":
        fault = Fault.paused(count=1)
    elif name == "latency":
        fault = Fault.latency(
            _number("latency", raw_value, float), per_token=option_float("per_token", 0.0), count=1
        )
    elif name == "cut_stream":
        fault = Fault.cut_stream(int(_number("cut_stream", raw_value, int)) if raw_value else 3)
    elif name == "close_connection":
        fault = Fault.close_connection()
    elif name == "content_filter":
        side = raw_value or "prompt"
        if side not in ("prompt", "completion"):
            raise ValueError("content_filter takes prompt or completion")
        fault = Fault.content_filter(
            "prompt" if side == "prompt" else "completion",
            options.pop("category", "violence"),
            after_chunks=option_int("after_chunks"),
        )
    else:
        raise ValueError(
            f"unknown fault {name!r}; use status, rate_limit, paused, latency, cut_stream, close_connection or content_filter"
        )
    if options:
        raise ValueError(f"unknown option(s) for {name}: {', '.join(sorted(options))}")
    return fault


def _is_terminal(fault: Fault) -> bool:
    return fault.kind in _TERMINAL or (fault.kind == "content_filter" and fault.side == "prompt")


@dataclass(slots=True)
class AppliedFaults:
    """What the faults decided for one request."""

    terminal: Fault | None = None
    latency: float = 0.0
    per_token: float = 0.0
    cut_after: int | None = None
    completion_filter: Fault | None = None


@dataclass(slots=True)
class FaultBook:
    """Pending faults per deployment (``"*"``: every deployment). Not thread-safe by itself; the
    emulator's state lock guards it."""

    pending: dict[str, list[Fault]] = field(default_factory=dict)

    def add(self, target: str, fault: Fault) -> None:
        self.pending.setdefault(target, []).append(fault)

    def clear(self, target: str | None = None) -> None:
        if target is None:
            self.pending.clear()
        else:
            self.pending.pop(target, None)

    def paused(self, deployment: str) -> bool:
        return any(
            f.kind == "paused" for key in (deployment, "*") for f in self.pending.get(key, ())
        )

    def take(
        self, deployment: str, *, operation: str, stream: bool, extra: Iterable[Fault] = ()
    ) -> AppliedFaults:
        """Decide the faults for one request and consume the ones that take effect. ``extra`` are
        the request's own (header) faults; they come first. The first terminal fault (an error
        status, 429, 423, a closed connection or a prompt filter) wins; when one fires, stream
        faults stay pending for a later request."""
        candidates: list[tuple[list[Fault] | None, Fault]] = [(None, f) for f in extra]
        for key in (deployment, "*"):
            candidates.extend((self.pending.get(key), f) for f in list(self.pending.get(key, ())))
        candidates = [
            (o, f) for o, f in candidates if f.applies_to(operation=operation, stream=stream)
        ]
        terminal = next((i for i, (_, f) in enumerate(candidates) if _is_terminal(f)), None)
        applied = AppliedFaults()
        for index, (owner, fault) in enumerate(candidates):
            used = False
            if fault.kind == "latency":
                applied.latency += fault.seconds
                applied.per_token += fault.per_token
                used = True
            elif index == terminal:
                applied.terminal = fault
                used = True
            elif terminal is None and fault.kind == "cut_stream" and applied.cut_after is None:
                applied.cut_after = fault.after_chunks or 0
                used = True
            elif (
                terminal is None
                and fault.kind == "content_filter"
                and fault.side == "completion"
                and applied.completion_filter is None
            ):
                applied.completion_filter = fault
                used = True
            if used and owner is not None:
                self._consume(owner, fault)
        return applied

    @staticmethod
    def _consume(owner: list[Fault], fault: Fault) -> None:
        if fault.count is None:
            return
        index = owner.index(fault)
        if fault.count <= 1:
            owner.pop(index)
        else:
            owner[index] = replace(fault, count=fault.count - 1)

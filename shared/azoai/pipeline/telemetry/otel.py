"""OpenTelemetry itself, imported on first use: whether it is installed, the global providers
in effect (checked on every call, so a provider configured after the client still applies), and
the tracer and instruments made from them; :class:`Telemetry` is one client's share."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from azoai.pipeline.telemetry.names import (
    DURATION,
    DURATION_BUCKETS,
    TIME_PER_OUTPUT_CHUNK,
    TIME_TO_FIRST_CHUNK_METRIC,
    TOKEN_BUCKETS,
    TOKEN_USAGE,
)
from azoai.pipeline.telemetry.operation import (
    METRIC_KEYS,
    MetricAttributes,
    Operation,
    _target_attributes,
)

if TYPE_CHECKING:
    from azoai.config.settings import Settings

__all__ = ["Telemetry", "for_settings"]

log = logging.getLogger("azoai.telemetry")


# --- OpenTelemetry, imported on first use ---------------------------------------------------------


class _Active:
    """The tracer and instruments for the global providers in effect (either may be absent)."""

    __slots__ = ("context", "duration", "first_chunk", "per_chunk", "tokens", "trace", "tracer")

    def __init__(self, trace: Any, context: Any, tracer: Any, meter: Any) -> None:
        self.trace = trace
        self.context = context
        self.tracer = tracer
        self.duration: Any = None
        self.tokens: Any = None
        self.first_chunk: Any = None
        self.per_chunk: Any = None
        if meter is not None:
            seconds = list(DURATION_BUCKETS)

            def hist(name: str, unit: str, doc: str, buckets: list[float]) -> Any:
                return meter.create_histogram(
                    name, unit=unit, description=doc, explicit_bucket_boundaries_advisory=buckets
                )

            self.duration = hist(DURATION, "s", "GenAI operation duration.", seconds)
            self.tokens = hist(
                TOKEN_USAGE, "{token}", "Number of input and output tokens used.",
                [float(b) for b in TOKEN_BUCKETS],
            )  # fmt: skip
            self.first_chunk = hist(
                TIME_TO_FIRST_CHUNK_METRIC, "s",
                "Time to receive the first chunk, measured from when the client issues the "
                "generation request to when the first chunk is received in the response stream.",
                seconds,
            )  # fmt: skip
            self.per_chunk = hist(
                TIME_PER_OUTPUT_CHUNK, "s",
                "Time per output chunk, recorded for each chunk received after the first one.",
                seconds,
            )  # fmt: skip


class _Otel:
    """opentelemetry-api's modules and the :class:`_Active` for the providers last seen."""

    def __init__(self) -> None:
        from opentelemetry import context, metrics, trace

        self.trace = trace
        self.metrics = metrics
        self.context = context
        self.seen: tuple[Any, Any, _Active | None] = (None, None, None)
        self.lock = threading.Lock()
        self._version: tuple[str | None] | None = None

    @property
    def version(self) -> str | None:
        """azoai's version, for the tracer's and meter's scope: read once a provider is
        configured (importlib.metadata costs some 20 ms to import)."""
        if self._version is None:
            try:
                from importlib.metadata import version

                self._version = (version("azoai"),)
            except Exception:  # an uninstalled checkout
                self._version = (None,)
        return self._version[0]

    def active(self) -> _Active | None:
        """The tracer and instruments for the global providers, ``None`` while neither a tracer
        nor a meter provider is configured (the call then runs untouched)."""
        tp = self.trace.get_tracer_provider()
        mp = self.metrics.get_meter_provider()
        seen = self.seen
        if seen[0] is tp and seen[1] is mp:
            return seen[2]
        with self.lock:
            trace, metrics = self.trace, self.metrics
            tracing = not isinstance(tp, trace.ProxyTracerProvider | trace.NoOpTracerProvider)
            # the API's default is a private proxy class: matched by name, a rename only costs
            # the fast path (its instruments are no-ops)
            metering = not (
                isinstance(mp, metrics.NoOpMeterProvider)
                or type(mp).__name__ == "_ProxyMeterProvider"
            )
            act = None
            if tracing or metering:
                act = _Active(
                    trace,
                    self.context,
                    tp.get_tracer("azoai", self.version) if tracing else None,
                    mp.get_meter("azoai", self.version) if metering else None,
                )
            self.seen = (tp, mp, act)
        return act


_installed: bool | None = None
_otel: _Otel | None = None
_otel_lock = threading.Lock()


def _is_installed() -> bool:
    global _installed
    if _installed is None:
        import importlib.util

        try:
            _installed = importlib.util.find_spec("opentelemetry.trace") is not None
        except (ImportError, ValueError):  # no opentelemetry namespace at all, or blocked
            _installed = False
    return _installed


def _may_be_configured() -> bool:
    """Whether a provider can be in effect: one is set through opentelemetry-api, so its trace
    or metrics module is imported already, or the environment names one for the API to load
    (``OTEL_PYTHON_TRACER_PROVIDER``, ``OTEL_PYTHON_METER_PROVIDER``). Until then a call
    imports nothing of OpenTelemetry (one ``sys.modules`` look-up)."""
    modules = sys.modules
    return (
        "opentelemetry.trace" in modules
        or "opentelemetry.metrics" in modules
        or "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
        or "OTEL_PYTHON_METER_PROVIDER" in os.environ
    )


def _load() -> _Otel | None:
    global _otel, _installed
    if _otel is None:
        if not _may_be_configured():
            return None
        with _otel_lock:
            if _otel is None:
                try:
                    _otel = _Otel()
                except ImportError as exc:  # a broken install: no telemetry, not a failed call
                    log.warning(
                        "azoai: opentelemetry could not be imported (%s); no telemetry", exc
                    )
                    _installed = False
                    return None
    return _otel


def for_settings(settings: Settings) -> Telemetry | None:
    """A client's telemetry: ``None`` (every call untouched) when ``settings.telemetry`` is off
    or opentelemetry-api is not installed. Imports nothing of OpenTelemetry."""
    if not settings.telemetry or not _is_installed():
        return None
    return Telemetry(settings)


class Telemetry:
    """One client's telemetry: the attributes every call of it shares."""

    __slots__ = ("base", "content", "deployment", "metric_sets", "settings")

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.content = settings.telemetry_content
        self.deployment = settings.deployment
        self.base = _target_attributes(settings)
        self.metric_sets: dict[tuple[Any, ...], MetricAttributes] = {}

    def metric_attributes(self, attrs: Mapping[str, Any]) -> MetricAttributes:
        """The metric attribute sets for a call that ended with ``attrs``: built once per kind
        of call (operation, models, server, error type), as most calls of a client repeat one."""
        key = tuple(map(attrs.get, METRIC_KEYS))
        sets = self.metric_sets.get(key)
        if sets is None:
            if len(self.metric_sets) >= 256:  # many models or error types: start over
                self.metric_sets.clear()
            sets = self.metric_sets[key] = MetricAttributes(attrs)
        return sets

    def wanted(self) -> bool:
        """Whether a provider is configured (a stream checks this when it is created, so that
        without one the caller gets the core's own generator, with no per-chunk layer)."""
        try:
            otel = _load()
            return otel is not None and otel.active() is not None
        except Exception:
            return False

    def begin(
        self,
        operation: str,
        model: str | None,
        stream: bool,
        start: Mapping[str, Any] | None = None,
    ) -> Operation | None:
        """Start a call's record (and span, in the current context), or ``None`` when no
        provider is configured. Never raises."""
        try:
            otel = _load()
            act = otel.active() if otel is not None else None
            if act is None:
                return None
            name = model if model is not None else self.deployment
            if name is not None:
                name = name.removeprefix("azure-openai/")
            return Operation(self, act, operation, name, stream, start)
        except Exception:
            log.debug("azoai: telemetry could not start a span", exc_info=True)
            return None

"""One OpenTelemetry SDK for the whole test session, installed as the global providers (what a
user's ``configure_azure_monitor()`` or OTLP set-up does), read per test.

OpenTelemetry lets a process set its global tracer and meter providers once, so the first test
that asks installs them and every later one reuses them. Spans reach the in-memory exporter only
while a test holds :func:`capture` (between tests they are dropped, so the rest of the suite
neither fills memory nor sees them), and the metric reader works in delta temporality: each
read returns what was recorded since the previous one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class _GatedExporter(InMemorySpanExporter):
    """Keeps spans only while a test is capturing."""

    open = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not self.open:
            return SpanExportResult.SUCCESS
        return super().export(spans)


class Capture:
    def __init__(self) -> None:
        self.exporter = _GatedExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader(
            preferred_temporality={Histogram: AggregationTemporality.DELTA}
        )
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)
        assert trace.get_tracer_provider() is self.tracer_provider, "a provider was set before"
        self.tracer = trace.get_tracer("tests")

    def all_spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def azoai_spans(self) -> list[ReadableSpan]:
        """azoai's finished spans, oldest first."""
        return [
            s for s in self.exporter.get_finished_spans() if s.instrumentation_scope.name == "azoai"
        ]

    def metrics(self) -> dict[str, list[Any]]:
        """Metric name -> its data points recorded since the last read."""
        out: dict[str, list[Any]] = {}
        data = self.reader.get_metrics_data()
        for rm in data.resource_metrics if data is not None else ():
            for sm in rm.scope_metrics:
                if sm.scope.name != "azoai":
                    continue
                for m in sm.metrics:
                    out.setdefault(m.name, []).extend(m.data.data_points)
        return out


_capture: Capture | None = None


@contextmanager
def capture() -> Iterator[Capture]:
    """The session's SDK, capturing for the ``with`` block."""
    global _capture
    if _capture is None:
        _capture = Capture()
    c = _capture
    c.exporter.clear()
    c.reader.get_metrics_data()  # drop what other tests recorded
    c.exporter.open = True
    try:
        yield c
    finally:
        c.exporter.open = False
        c.exporter.clear()
        c.reader.get_metrics_data()


def every_value(span: ReadableSpan) -> list[str]:
    """Every attribute and event value of a span, as text (to look for what must not be there)."""
    values = [str(v) for v in (span.attributes or {}).values()]
    for event in span.events:
        values += [str(v) for v in (event.attributes or {}).values()]
    values.append(span.status.description or "")
    values.append(span.name)
    return values

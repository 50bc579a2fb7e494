"""OpenTelemetry GenAI spans and metrics for the client's calls, through the global providers.

When ``opentelemetry-api`` is installed (the ``otel`` extra) and a tracer or meter provider is
configured (``azure-monitor-opentelemetry``, an OTLP exporter, ...), every ``chat``, ``stream``
and ``embed`` call (and their async twins), and each call of the services built on a client
(legacy completions, images, speech, transcriptions: :mod:`.services`), is one CLIENT span named
``{gen_ai.operation.name} {gen_ai.request.model}`` in the current OpenTelemetry context (so a
LangChain run's or a user's span is its parent), and records ``gen_ai.client.operation.duration``,
``gen_ai.client.token.usage`` and, for streams, ``gen_ai.client.operation.time_to_first_chunk``
and ``gen_ai.client.operation.time_per_output_chunk``. Nothing of OpenTelemetry is imported while
``Settings.telemetry`` is off (``AZOAI_TELEMETRY=0``), the package is absent, or nothing has
imported its trace or metrics API (no provider can be set then); with the API in use but no
provider configured a call costs two provider look-ups.

Names: the GenAI semantic conventions as released in ``opentelemetry-semantic-conventions``
0.66b2 (schema 1.44), kept as strings in :mod:`~azoai.pipeline.telemetry.names` rather than
imported: that release marks every ``gen_ai.*`` name deprecated (moved to the separate GenAI
conventions repository, which renames some of them), so the incubating module is no stable API
to depend on. Azure's request id uses the registered ``azure.service.request.id``; azoai's own
facts the ``azoai.`` prefix (``names.AZOAI_ATTRIBUTES``).

A call's record (:class:`~azoai.pipeline.telemetry.operation.Operation`) is reachable from the
pipeline through a context variable while the call runs: the request loop, routing and the
quota pacer note retries, failovers and waits on their slow paths only, and each request sent
costs one context-variable read.
Message content goes on spans only when ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
opts in (``Settings.telemetry_content``); credentials never reach a span.
"""

from __future__ import annotations

from azoai.pipeline.telemetry.names import AZOAI_ATTRIBUTES, DURATION_BUCKETS, TOKEN_BUCKETS
from azoai.pipeline.telemetry.operation import (
    Operation,
    note_call,
    note_quota_wait,
    note_target,
    resent,
)
from azoai.pipeline.telemetry.otel import Telemetry, for_settings
from azoai.pipeline.telemetry.wrappers import (
    traced_achat,
    traced_aembed,
    traced_astream,
    traced_chat,
    traced_embed,
    traced_stream,
)

__all__ = [
    "AZOAI_ATTRIBUTES",
    "DURATION_BUCKETS",
    "TOKEN_BUCKETS",
    "Operation",
    "Telemetry",
    "for_settings",
    "note_call",
    "note_quota_wait",
    "note_target",
    "resent",
    "traced_achat",
    "traced_aembed",
    "traced_astream",
    "traced_chat",
    "traced_embed",
    "traced_stream",
]

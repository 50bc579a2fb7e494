"""One call's record (:class:`Operation`): its span, what the pipeline notes while the call runs
(requests sent, retries, failovers, waits), and the attributes and metrics set when it ends. The
pipeline's hooks (:func:`note_call`, :func:`resent`, :func:`note_quota_wait`,
:func:`note_target`) find the record through a context variable and do nothing outside a call."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from azoai.errors import AzoaiError, ContentFilterError
from azoai.io.transport import Again
from azoai.pipeline.telemetry.content import record as record_content
from azoai.pipeline.telemetry.names import (
    ABANDONED,
    API_TYPES,
    API_VERSION,
    AZURE_PROVIDER_NAME,
    AZURE_REQUEST_ID,
    CACHE_CREATION_TOKENS,
    CACHE_READ_TOKENS,
    DIMENSION_COUNT,
    EMBED_INPUTS,
    EMBED_REQUESTS,
    ERROR_CODE,
    ERROR_TYPE,
    FAILOVERS,
    FILTERED,
    FINISH_REASONS,
    HTTP_STATUS,
    INPUT_TOKENS,
    MODEL_VERSION,
    OPENAI_API_TYPE,
    OPENAI_PROVIDER_NAME,
    OPERATION,
    OUTPUT_TOKENS,
    OUTPUT_TYPE,
    PROVIDER,
    QUOTA_WAIT,
    REASONING_TOKENS,
    REGION,
    REQUEST_MODEL,
    REQUEST_PARAMS,
    REQUEST_STREAM,
    RESPONSE_ID,
    RESPONSE_MODEL,
    RETRIES,
    RETRY_WAIT,
    ROUTE,
    ROUTING_NAME,
    ROUTING_TARGET,
    SERVER_ADDRESS,
    SERVER_PORT,
    STOP_SEQUENCES,
    SYSTEM_FINGERPRINT,
    TIME_TO_FIRST_CHUNK,
    TOKEN_TYPE,
)
from azoai.wire.types import ChatResult, EmbeddingResult

if TYPE_CHECKING:
    from azoai.config.settings import Settings
    from azoai.content_filter import ContentFilterResults
    from azoai.io.transport import Outcome
    from azoai.pipeline.policy import Call
    from azoai.pipeline.telemetry.otel import Telemetry, _Active
    from azoai.wire.stream import StreamAccumulator
    from azoai.wire.types import ChatRequest

__all__ = ["Operation", "note_call", "note_quota_wait", "note_target", "resent"]

log = logging.getLogger("azoai.telemetry")

_NO_LOCK = contextlib.nullcontext()

#: The record of the call running in this context (``None`` outside an instrumented call).
_current: contextvars.ContextVar[Operation | None] = contextvars.ContextVar(
    "azoai_telemetry", default=None
)


def _server(settings: Settings) -> tuple[str, int]:
    parts = urlsplit(settings.endpoint.base)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or settings.endpoint.host, port


def _target_attributes(settings: Settings) -> dict[str, Any]:
    """What a request's target settings say: server, api-version, URL family, provider."""
    host, port = _server(settings)
    azure = settings.endpoint.kind != "compatible"
    out: dict[str, Any] = {
        PROVIDER: AZURE_PROVIDER_NAME if azure else OPENAI_PROVIDER_NAME,
        SERVER_ADDRESS: host,
        SERVER_PORT: port,
    }
    if azure:
        out[API_VERSION] = settings.api_version.value
        out[ROUTE] = settings.route
    return out


def _fq_name(err: BaseException) -> str:
    cls = type(err)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _filtered(results: Sequence[ContentFilterResults]) -> list[str]:
    out: list[str] = []
    for r in results:
        for c in r.filtered_categories:
            name = f"{r.side}:{c}"
            if name not in out:
                out.append(name)
    return out


class Operation:
    """One call's record: its span (when tracing), the facts the pipeline notes while it runs,
    and the metrics recorded when it ends. Thread-safe where embeddings batches run in threads."""

    __slots__ = (
        "act",
        "attrs",
        "call",
        "chunk_at",
        "ctx_token",
        "failovers",
        "first_chunk",
        "gaps",
        "lock",
        "operation",
        "quota_wait",
        "requests",
        "retries",
        "retry_wait",
        "route",
        "span",
        "start",
        "target",
        "target_settings",
        "tel",
        "var_token",
    )

    def __init__(
        self,
        tel: Telemetry,
        act: _Active,
        operation: str,
        model: str | None,
        stream: bool,
        start: Mapping[str, Any] | None = None,
    ) -> None:
        self.tel = tel
        self.act = act
        self.operation = operation
        # batches of an embed call note from worker threads; a chat call notes from one thread
        self.lock: Any = threading.Lock() if operation == "embeddings" else _NO_LOCK
        self.retries = self.failovers = self.requests = 0
        self.retry_wait = self.quota_wait = 0.0
        self.call: Call | None = None
        self.target_settings: Settings | None = None
        self.route: str | None = None
        self.target: str | None = None
        self.first_chunk: float | None = None
        self.chunk_at = 0.0
        # time_per_output_chunk samples: only when a meter is configured (a timestamp a chunk)
        self.gaps: list[float] | None = [] if stream and act.per_chunk is not None else None
        attrs = dict(tel.base)
        attrs[OPERATION] = operation
        if model is not None:
            attrs[REQUEST_MODEL] = model
        if stream or operation in _STREAMABLE:  # said for the APIs that can stream
            attrs[REQUEST_STREAM] = stream
        if start:
            attrs.update(start)
        self.attrs = attrs
        self.span: Any = None
        self.ctx_token: Any = None
        if act.tracer is not None:
            self.span = act.tracer.start_span(
                f"{operation} {model}" if model else operation,
                kind=act.trace.SpanKind.CLIENT,
                attributes=attrs,
            )
        self.start = time.perf_counter()

    # -- the context the call runs in ------------------------------------------------------------

    def enter(self) -> None:
        """Make this record (and its span) current: the pipeline's notes and any child span
        (an HTTP instrumentation's, a credential's) find it."""
        self.var_token = _current.set(self)
        if self.span is not None:
            act = self.act
            self.ctx_token = act.context.attach(act.trace.set_span_in_context(self.span))

    def leave(self) -> None:
        token, self.ctx_token = self.ctx_token, None
        if token is not None:
            self.act.context.detach(token)
        _current.reset(self.var_token)

    # -- notes from the pipeline (slow paths, and one per request sent) ---------------------------

    def sent(self, settings: Settings, call: Call) -> None:
        with self.lock:
            self.requests += 1
            self.call = call
            if settings is not self.tel.settings:
                self.target_settings = settings

    def resent(self, failover: bool, outcome: Outcome | None, wait: float) -> None:
        if isinstance(outcome, Again):  # a socket that died idle, resent at once: no retry
            return
        status = getattr(outcome, "status", None)
        error = getattr(outcome, "error", None)
        if status is None and error is not None:
            status = error.status_code
        with self.lock:
            if outcome is not None:
                if failover:
                    self.failovers += 1
                else:
                    self.retries += 1
            self.retry_wait += wait
            if status == 429:
                self.quota_wait += wait
            target = self.target
        span = self.span
        if outcome is not None and span is not None and span.is_recording():
            event: dict[str, Any] = {RETRY_WAIT: wait}
            # an error status is typed later, by the policy: the status is the error's type
            event[ERROR_TYPE] = _fq_name(error) if error is not None else str(status)
            if status is not None:
                event[HTTP_STATUS] = status
            if failover and target is not None:
                event[ROUTING_TARGET] = target
            span.add_event("azoai.failover" if failover else "azoai.retry", event)

    def quota(self, seconds: float) -> None:
        with self.lock:
            self.quota_wait += seconds

    def routed(self, route: str, target: str) -> None:
        self.route = route
        self.target = target

    # -- streams ---------------------------------------------------------------------------------

    def chunk(self) -> None:
        """A chunk arrived (the first one: time to first chunk; later ones: their gap)."""
        now = time.perf_counter()
        if self.first_chunk is None:
            self.first_chunk = now - self.start
        elif self.gaps is not None:
            self.gaps.append(now - self.chunk_at)
        self.chunk_at = now

    # -- the end ---------------------------------------------------------------------------------

    def end(
        self,
        result: object = None,
        error: BaseException | None = None,
        *,
        abandoned: bool = False,
        request: ChatRequest | None = None,
        inputs: int | None = None,
        acc: StreamAccumulator | None = None,
    ) -> None:
        """Set the outcome's attributes, end the span and record the metrics (a stream's
        outcome is what ``acc`` adds up to; another service's result is read for what it
        has of a model, an id, usage and finish reasons). Never raises."""
        try:
            if acc is not None:
                result = acc.result()
            self._end(result, error, abandoned, request, inputs)
        except Exception:
            log.debug("azoai: telemetry could not record a call", exc_info=True)
            if self.span is not None:
                self.span.end()

    def _end(
        self,
        result: object,
        error: BaseException | None,
        abandoned: bool,
        request: ChatRequest | None,
        inputs: int | None,
    ) -> None:
        duration = time.perf_counter() - self.start
        attrs = self.attrs
        extra: dict[str, Any] = {}
        if self.target_settings is not None:
            extra.update(_target_attributes(self.target_settings))
        call = self.call
        if call is not None:
            if attrs.get(REQUEST_MODEL) != call.deployment:
                extra[REQUEST_MODEL] = call.deployment
            if self.operation == "chat":
                extra[OPENAI_API_TYPE] = API_TYPES.get(call.api, call.api)
        if result is None and isinstance(error, ContentFilterError):
            partial = error.partial_result  # a completion the filter cut: answered, and billed
            if isinstance(partial, ChatResult):
                result = partial
        tokens: tuple[int | None, int | None] | None = None
        if result is not None:
            tokens = _result_attributes(result, extra)
        if request is not None:
            _request_attributes(request, extra)
        if inputs is not None:
            extra[EMBED_INPUTS] = inputs
            extra[EMBED_REQUESTS] = self.requests
        if self.first_chunk is not None:
            extra[TIME_TO_FIRST_CHUNK] = self.first_chunk
        if self.retries:
            extra[RETRIES] = self.retries
        if self.retry_wait:
            extra[RETRY_WAIT] = self.retry_wait
        if self.quota_wait:
            extra[QUOTA_WAIT] = self.quota_wait
        if self.route is not None:
            extra[ROUTING_NAME] = self.route
            if self.target is not None:
                extra[ROUTING_TARGET] = self.target
            if self.failovers:
                extra[FAILOVERS] = self.failovers
        if abandoned:
            extra[ABANDONED] = True
        if error is not None:
            _error_attributes(error, extra)
        attrs.update(extra)
        span = self.span
        if span is not None and span.is_recording():
            if REQUEST_MODEL in extra:
                span.update_name(f"{self.operation} {extra[REQUEST_MODEL]}")
            span.set_attributes(extra)
            if self.tel.content and request is not None:
                record_content(span, request, result)  # type: ignore[arg-type]
            if error is not None:
                span.set_status(
                    self.act.trace.Status(
                        self.act.trace.StatusCode.ERROR,
                        error.message if isinstance(error, AzoaiError) else type(error).__name__,
                    )
                )
        if span is not None:
            span.end()
        self._record(duration, tokens)

    def _record(self, duration: float, tokens: tuple[int | None, int | None] | None) -> None:
        act = self.act
        if act.duration is None:
            return
        sets = self.tel.metric_attributes(self.attrs)
        act.duration.record(duration, sets.duration)
        if tokens is not None:
            used_in, used_out = tokens
            if used_in is not None:
                act.tokens.record(used_in, sets.input)
            if used_out is not None:
                act.tokens.record(used_out, sets.output)
        if self.first_chunk is not None:
            common = sets.common
            act.first_chunk.record(self.first_chunk, common)
            record = act.per_chunk.record
            for gap in self.gaps or ():
                record(gap, common)


#: Operations whose request says whether it streams (``gen_ai.request.stream``).
_STREAMABLE = frozenset({"chat", "text_completion"})


class MetricAttributes:
    """The attribute sets one kind of call records its metrics with, built once (see
    :meth:`Telemetry.metric_attributes`): the conventions' low-cardinality keys, with
    ``error.type`` for the duration of a failed call and ``gen_ai.token.type`` for usage."""

    __slots__ = ("common", "duration", "input", "output")

    def __init__(self, attrs: Mapping[str, Any]) -> None:
        common = {k: attrs[k] for k in _COMMON_KEYS if k in attrs}
        self.common = common
        self.duration = {**common, ERROR_TYPE: attrs[ERROR_TYPE]} if ERROR_TYPE in attrs else common
        self.input = {**common, TOKEN_TYPE: "input"}
        self.output = {**common, TOKEN_TYPE: "output"}


#: The attributes metrics carry (low cardinality, as the conventions list them): ``error.type``
#: on the duration only.
_COMMON_KEYS = (OPERATION, PROVIDER, REQUEST_MODEL, RESPONSE_MODEL, SERVER_ADDRESS, SERVER_PORT)
METRIC_KEYS = (
    OPERATION, PROVIDER, REQUEST_MODEL, RESPONSE_MODEL, SERVER_ADDRESS, SERVER_PORT, ERROR_TYPE,
)  # fmt: skip


def _request_attributes(request: ChatRequest, out: dict[str, Any]) -> None:
    for name, field in REQUEST_PARAMS:
        value = getattr(request, field)
        if value is not None:
            out[name] = value
    if request.stop:
        out[STOP_SEQUENCES] = list(request.stop)
    fmt = request.response_format
    if fmt is not None:
        out[OUTPUT_TYPE] = "text" if fmt.type == "text" else "json"


def _result_attributes(result: object, out: dict[str, Any]) -> tuple[int | None, int | None] | None:
    """Put what ``result`` says on ``out``; the input and output tokens it used, if known."""
    if not isinstance(result, ChatResult):
        if not isinstance(result, EmbeddingResult):
            return _service_attributes(result, out)
        if result.model:
            out[RESPONSE_MODEL] = result.model
        if result.vectors and result.vectors[0]:
            out[DIMENSION_COUNT] = len(result.vectors[0])
        if result.usage is None:
            return None
        out[INPUT_TOKENS] = result.usage.input_tokens
        return result.usage.input_tokens, None
    if result.model:
        out[RESPONSE_MODEL] = result.model
    usage = result.usage
    if result.response_id:
        out[RESPONSE_ID] = result.response_id
    if result.finish_reason:
        out[FINISH_REASONS] = [result.finish_reason]
    if usage is not None:
        out[INPUT_TOKENS] = usage.input_tokens
        out[OUTPUT_TOKENS] = usage.output_tokens
        if usage.cached_input_tokens:
            out[CACHE_READ_TOKENS] = usage.cached_input_tokens
        if usage.cache_write_tokens:
            out[CACHE_CREATION_TOKENS] = usage.cache_write_tokens
        if usage.reasoning_tokens:
            out[REASONING_TOKENS] = usage.reasoning_tokens
    if result.system_fingerprint:
        out[SYSTEM_FINGERPRINT] = result.system_fingerprint
    if result.model_version:
        out[MODEL_VERSION] = result.model_version
    _header_attributes(result.headers, out)
    # Only a completion the filter cut has filtered categories (a blocked prompt is an error);
    # a stream carries a verdict on nearly every chunk, not worth reading otherwise.
    if result.finish_reason == "content_filter":
        filtered = _filtered(result.content_filter)
        if filtered:
            out[FILTERED] = filtered
    return (usage.input_tokens, usage.output_tokens) if usage is not None else None


def _service_attributes(
    result: object, out: dict[str, Any]
) -> tuple[int | None, int | None] | None:
    """What a completion, an image, speech or a transcription answer says: read by name, as
    the services' results share no base (each has what its API returns)."""
    model = getattr(result, "model", None)
    if isinstance(model, str) and model:
        out[RESPONSE_MODEL] = model
    response_id = getattr(result, "id", None)
    if isinstance(response_id, str) and response_id:
        out[RESPONSE_ID] = response_id
    reasons = getattr(result, "finish_reasons", None)
    if reasons is None:
        reasons = [c.finish_reason for c in getattr(result, "choices", ()) if c.finish_reason]
    if reasons:
        out[FINISH_REASONS] = list(reasons)
    fingerprint = getattr(result, "system_fingerprint", None)
    if fingerprint:
        out[SYSTEM_FINGERPRINT] = fingerprint
    headers = getattr(result, "headers", None)
    if isinstance(headers, Mapping):
        _header_attributes(headers, out)
    if "content_filter" in reasons:
        filtered = _filtered(
            [c.content_filter for c in getattr(result, "choices", ()) if c.content_filter]
        )
        if filtered:
            out[FILTERED] = filtered
    tokens = _usage_numbers(getattr(result, "usage", None))
    if tokens is not None:
        if tokens[0] is not None:
            out[INPUT_TOKENS] = tokens[0]
        if tokens[1] is not None:
            out[OUTPUT_TOKENS] = tokens[1]
    return tokens


def _usage_numbers(usage: object) -> tuple[int | None, int | None] | None:
    """Input and output tokens from a service's usage: an object with ``input_tokens`` and
    ``output_tokens`` (completions, images: all zero when the model reports none, as dall-e-3)
    or the transcription APIs' dict (``{"type": "tokens", ...}``; ``"duration"`` usage, as
    whisper's, counts seconds, not tokens)."""
    if usage is None:
        return None
    if isinstance(usage, Mapping):
        if usage.get("type", "tokens") != "tokens":
            return None
        got_in, got_out = usage.get("input_tokens"), usage.get("output_tokens")
    else:
        got_in = getattr(usage, "input_tokens", None)
        got_out = getattr(usage, "output_tokens", None)
        if not got_in and not got_out and not getattr(usage, "total_tokens", 0):
            return None
    got_in = got_in if isinstance(got_in, int) else None
    got_out = got_out if isinstance(got_out, int) else None
    return None if got_in is None and got_out is None else (got_in, got_out)


def _header_attributes(headers: Mapping[str, str] | None, out: dict[str, Any]) -> None:
    if not headers:
        return
    region = headers.get("x-ms-region")
    if region:
        out[REGION] = region
    request_id = headers.get("apim-request-id") or headers.get("x-request-id")
    if request_id:
        out[AZURE_REQUEST_ID] = request_id


def _error_attributes(error: BaseException, out: dict[str, Any]) -> None:
    out[ERROR_TYPE] = _fq_name(error)
    if not isinstance(error, AzoaiError):
        return
    if error.status_code is not None:
        out[HTTP_STATUS] = error.status_code
    if error.code:
        out[ERROR_CODE] = error.code
    _header_attributes(error.headers, out)
    if error.request_id and AZURE_REQUEST_ID not in out:
        out[AZURE_REQUEST_ID] = error.request_id
    if isinstance(error, ContentFilterError):
        filtered = _filtered(error.results) or [
            f"{error.side}:{c}" for c in error.filtered_categories
        ]
        if filtered:
            out[FILTERED] = filtered


# --- hooks for the pipeline ---------------------------------------------------------------------


def note_call(settings: Settings, call: Call) -> None:
    """A request is about to be sent for ``call`` with ``settings`` (a route target's own)."""
    op = _current.get()
    if op is not None:
        op.sent(settings, call)


def resent(policy: object, outcome: Outcome | None, wait: float) -> None:
    """The request loop resends after ``outcome`` (``None``: it waits for a route target to
    recover) in ``wait`` seconds. Called on the loop's slow path only."""
    op = _current.get()
    if op is None:
        return
    call = getattr(policy, "call", None)
    if call is not None and call.api == "arm":  # deployment discovery, not the call itself
        return
    op.resent(bool(getattr(policy, "failover", False)), outcome, wait)


def note_quota_wait(seconds: float) -> None:
    """The quota pacer held a request back ``seconds`` (its waiting path only)."""
    op = _current.get()
    if op is not None:
        op.quota(seconds)


def note_target(route: str, target: str) -> None:
    """A route sends the call to ``target`` (each attempt, before sending)."""
    op = _current.get()
    if op is not None:
        op.routed(route, target)

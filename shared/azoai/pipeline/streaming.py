"""Stream bookkeeping shared by every transport: parse each event with the dialect, track
completion, raise on content filtering, and say what was lost when a stream is cut
(:class:`_StreamState`, kept under its old name until it folds onto the wire's stream
accumulator). Also the content-filter error for a finished completion and the model version.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from azoai.errors import ContentFilterError, InvalidResponseError, StreamInterruptedError
from azoai.pipeline.policy import Call, CallOptions
from azoai.wire import chat_completions, responses
from azoai.wire.common import loads
from azoai.wire.types import ChatResult, StreamDelta

__all__ = ["StreamState", "completion_filtered", "model_version_of"]

_DATED_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2})$")


def model_version_of(configured: str | None, reported: str | None) -> str | None:
    """The model version: configured or discovered first, else the date Azure puts at the end of
    the model name it reports (``gpt-4o-2024-11-20`` -> ``2024-11-20``)."""
    if configured:
        return configured
    m = _DATED_SUFFIX.search(reported or "")
    return m.group(1) if m else None


def completion_filtered(
    filters: Sequence[Any], text: str, result: ChatResult | None, deployment: str | None
) -> ContentFilterError:
    completion = [f for f in filters if f.side == "completion"]
    cats = sorted({c for f in completion for c in f.filtered_categories})
    return ContentFilterError(
        "Azure's content filter stopped the completion" + (f" ({', '.join(cats)})" if cats else ""),
        side="completion",
        results=list(filters),
        partial_text=text,
        partial_result=result,
        deployment=deployment,
        fix="rephrase the request, or pass return_filtered=True to receive the partial output",
    )


class _StreamState:
    """Per-stream bookkeeping shared by the sync and async loops: parse, track completion,
    raise on content filtering, and say what was lost when a stream is cut."""

    __slots__ = (
        "call",
        "done",
        "filters",
        "finished",
        "first",
        "headers",
        "options",
        "parse",
        "text",
        "versioned",
    )

    def __init__(self, call: Call, options: CallOptions, headers: dict[str, str]) -> None:
        self.call = call
        self.options = options
        self.headers = headers
        self.parse = (
            responses.parse_event if call.api == "responses" else chat_completions.parse_chunk
        )
        self.text: list[str] = []
        self.filters: list[Any] = []
        self.finished: str | None = None
        self.done = False
        self.first = True
        self.versioned = False

    def feed(self, data: str) -> StreamDelta | None:
        if data == "[DONE]":
            self.done = True
            return None
        try:
            event = loads(data)
        except InvalidResponseError as exc:
            raise self.interrupted(f"a malformed chunk arrived ({exc.message})") from None
        return self.feed_event(event)

    def feed_event(self, event: Any) -> StreamDelta | None:
        """One decoded event (the WebSocket transport's frames arrive decoded)."""
        try:
            delta = self.parse(event)
        except InvalidResponseError as exc:
            raise self.interrupted(f"a malformed chunk arrived ({exc.message})") from None
        if delta is None:
            return None
        if self.first:
            delta.headers = self.headers
            self.first = False
        if delta.model and not self.versioned:
            delta.model_version = model_version_of(self.call.model_version, delta.model)
            self.versioned = True
        if delta.text:
            self.text.append(delta.text)
        if delta.content_filter:
            self.filters.extend(delta.content_filter)
        if delta.finish_reason:
            self.finished = delta.finish_reason
            if self.call.api == "responses":
                self.done = True  # a terminal event; chat streams end at [DONE]
            if delta.finish_reason == "content_filter" and not self.options.return_filtered:
                raise completion_filtered(
                    self.filters, "".join(self.text), None, self.call.deployment
                )
        return delta

    def interrupted(self, why: str, fix: str | None = None) -> StreamInterruptedError:
        text = "".join(self.text)
        return StreamInterruptedError(
            f"the stream from deployment '{self.call.deployment}' ended before the model finished: {why}; "
            f"{len(text)} characters arrived",
            partial_text=text,
            deployment=self.call.deployment,
            fix=fix,
        )

    def check_complete(self) -> None:
        if self.finished is None:
            raise self.interrupted("no finish reason and no end-of-stream marker")


StreamState = _StreamState

"""Stream bookkeeping shared by every transport: parse each event with the dialect, track
completion, raise on content filtering, and say what was lost when a stream is cut
(:class:`_StreamState`, which folds every delta into the wire's one
:class:`~azoai.wire.stream.StreamAccumulator`). Also the content-filter error for a finished completion and the model version.

:func:`start_feed` opens any SSE stream up to its first delta under the retry policy, for
chat (:func:`start_stream`) and legacy completions alike, each with its own :class:`FeedState`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from azoai.error_reading import kept_headers
from azoai.errors import ContentFilterError, InvalidResponseError, StreamInterruptedError
from azoai.io.exchange import Cut, HttpRequest, HttpTransport, Opened, aevents, events
from azoai.io.transport import Failed, Ok, Outcome
from azoai.pipeline.loop import arun, run
from azoai.pipeline.policy import Attempts, Call, CallOptions
from azoai.wire import chat_completions, responses
from azoai.wire.common import loads
from azoai.wire.stream import StreamAccumulator
from azoai.wire.types import ChatResult, StreamDelta

__all__ = [
    "AFed",
    "AStarted",
    "Fed",
    "FeedState",
    "Started",
    "StreamState",
    "astart_feed",
    "astart_stream",
    "completion_filtered",
    "folded",
    "model_version_of",
    "start_feed",
    "start_stream",
]

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
    """Per-stream bookkeeping shared by the sync and async loops and the WebSocket transport:
    parse each event, fold it into the stream's :class:`StreamAccumulator` (``acc``), raise on
    content filtering, and say what was lost when a stream is cut.

    ``into`` is an accumulator to fold into instead of a fresh one: an adapter passes its own, so
    each delta is folded once. The first delta carries the deployment and the response headers
    (the router adds its target)."""

    __slots__ = (
        "acc",
        "call",
        "done",
        "first",
        "headers",
        "held",
        "options",
        "parse",
        "versioned",
    )

    def __init__(
        self,
        call: Call,
        options: CallOptions,
        headers: dict[str, str],
        into: StreamAccumulator | None = None,
    ) -> None:
        self.call = call
        self.options = options
        self.headers = headers
        self.parse = (
            responses.parse_event if call.api == "responses" else chat_completions.parse_chunk
        )
        self.acc = (
            into
            if into is not None
            else StreamAccumulator(
                deployment=call.deployment, api=call.api, model_version=call.model_version
            )
        )
        self.done = False
        self.held: responses.FailedWithoutDetail | None = None
        self.first = True
        self.versioned = False

    @property
    def text(self) -> list[str]:
        """The text parts so far."""
        return self.acc.text_parts

    @property
    def finished(self) -> str | None:
        """The finish reason, once one arrived."""
        return self.acc.finish_reason

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
        except responses.FailedWithoutDetail as exc:
            self.held = exc  # the reason comes in the ``error`` event that follows
            return None
        except ContentFilterError as exc:
            exc.partial_text = exc.partial_text or self.acc.text
            exc.deployment = exc.deployment or self.call.deployment
            raise
        if delta is None:
            return None
        if self.first:
            delta.headers = self.headers
            delta.deployment = self.call.deployment
            self.first = False
        if delta.model and not self.versioned:
            delta.model_version = model_version_of(self.call.model_version, delta.model)
            self.versioned = True
        acc = self.acc
        acc.add(delta)
        if delta.finish_reason:
            if self.call.api == "responses":
                self.done = True  # a terminal event; chat streams end at [DONE]
            if delta.finish_reason == "content_filter" and not self.options.return_filtered:
                raise completion_filtered(acc.content_filter, acc.text, None, self.call.deployment)
        return delta

    def interrupted(self, why: str, fix: str | None = None) -> StreamInterruptedError:
        text = self.acc.text
        return StreamInterruptedError(
            f"the stream from deployment '{self.call.deployment}' ended before the model finished: {why}; "
            f"{len(text)} characters arrived",
            partial_text=text,
            deployment=self.call.deployment,
            fix=fix,
        )

    def check_complete(self) -> None:
        """Raise unless the stream ended as a finished one does: with a finish reason, or with
        ``[DONE]`` (gateways and test servers end a chat stream with it and no finish reason)."""
        if self.held is not None and self.acc.finish_reason is None:
            self.held.deployment = self.held.deployment or self.call.deployment
            raise self.held
        if self.acc.finish_reason is None and not self.done:
            raise self.interrupted(
                "no terminal event (response.completed or response.incomplete) arrived"
                if self.call.api == "responses"
                else "neither a finish reason nor the [DONE] end-of-stream marker arrived"
            )


StreamState = _StreamState


class FeedState(Protocol):
    """What :func:`start_feed` needs of a stream's bookkeeping (:class:`StreamState` for chat,
    the legacy completions' own): ``feed`` turns one SSE ``data`` payload into what it carries
    (a delta, or a list of them; ``None`` for none), ``done`` says the end-of-stream marker
    arrived, ``interrupted`` is the error for a stream cut short."""

    done: bool

    def feed(self, data: str, /) -> Any: ...

    def interrupted(self, why: str, fix: str | None = None) -> StreamInterruptedError: ...


S = TypeVar("S", bound=FeedState)

#: What :func:`start_feed` returns: the open stream, its state, the rest of its events and
#: what ``state.feed`` returned for the first delta (``None`` when the stream ended before one).
Fed = tuple[Opened, S, Iterator[str], Any]
AFed = tuple[Opened, S, AsyncGenerator[str, None], Any]
#: :func:`start_stream`'s, for chat.
Started = tuple[Opened, "StreamState", Iterator[str], StreamDelta | None]
AStarted = tuple[Opened, "StreamState", AsyncGenerator[str, None], StreamDelta | None]


def start_feed(
    http: HttpTransport,
    req: HttpRequest,
    attempts: Attempts,
    call: Call,
    make_state: Callable[[dict[str, str]], S],
) -> Fed[S]:
    """Open the stream and read up to its first delta under the retry policy: until then a
    failure (a cut stream included) is retried like any request, and the response is closed on
    every failure. ``make_state`` builds each attempt's state from the response headers kept."""

    def send() -> Outcome:
        outcome = http.send(req)
        if not isinstance(outcome, Ok):
            return outcome
        opened: Opened = outcome.value
        state = make_state(kept_headers(opened.resp.headers))
        feed = events(http.settings, opened)
        try:
            for data in feed:
                delta = state.feed(data)
                if delta is not None or state.done:
                    return Ok((opened, state, feed, delta), outcome.headers)
        except Cut as cut:
            opened.close()
            if cut.kind == "too_large":
                raise state.interrupted(cut.why, fix=cut.fix()) from None
            return Failed(cut.retryable(call.deployment))
        except BaseException:
            opened.close()
            raise
        return Ok((opened, state, feed, None), outcome.headers)

    started: Fed[S] = run(attempts, send)
    return started


async def astart_feed(
    http: HttpTransport,
    req: HttpRequest,
    attempts: Attempts,
    call: Call,
    make_state: Callable[[dict[str, str]], S],
) -> AFed[S]:
    """The async :func:`start_feed`."""

    async def send() -> Outcome:
        outcome = await http.asend(req)
        if not isinstance(outcome, Ok):
            return outcome
        opened: Opened = outcome.value
        state = make_state(kept_headers(opened.resp.headers))
        feed = aevents(http.settings, opened)
        try:
            async for data in feed:
                delta = state.feed(data)
                if delta is not None or state.done:
                    return Ok((opened, state, feed, delta), outcome.headers)
        except Cut as cut:
            await feed.aclose()
            await opened.aclose()
            if cut.kind == "too_large":
                raise state.interrupted(cut.why, fix=cut.fix()) from None
            return Failed(cut.retryable(call.deployment))
        except BaseException:
            await feed.aclose()
            await opened.aclose()
            raise
        return Ok((opened, state, feed, None), outcome.headers)

    started: AFed[S] = await arun(attempts, send)
    return started


def start_stream(
    http: HttpTransport,
    req: HttpRequest,
    attempts: Attempts,
    call: Call,
    options: CallOptions,
    into: StreamAccumulator | None = None,
) -> Started:
    """:func:`start_feed` for a chat or Responses stream."""
    return start_feed(http, req, attempts, call, lambda h: StreamState(call, options, h, into))


async def astart_stream(
    http: HttpTransport,
    req: HttpRequest,
    attempts: Attempts,
    call: Call,
    options: CallOptions,
    into: StreamAccumulator | None = None,
) -> AStarted:
    """The async :func:`start_stream`."""
    return await astart_feed(
        http, req, attempts, call, lambda h: StreamState(call, options, h, into)
    )


def folded(deltas: Iterator[StreamDelta], into: StreamAccumulator | None) -> Iterator[StreamDelta]:
    """``deltas`` folded into ``into`` as they pass (a routed or WebSocket stream, whose inner
    bookkeeping cannot see the route target or the caller's accumulator)."""
    if into is None:
        yield from deltas
        return
    try:
        for delta in deltas:
            into.add(delta)
            yield delta
    finally:
        close = getattr(deltas, "close", None)
        if close is not None:
            close()  # a consumer that stops early closes the stream now, not at collection

"""The one stream accumulator: folds :class:`StreamDelta` objects into the state a finished
stream amounts to, and builds from it the :class:`ChatResult` a non-streamed call would have
returned.

The core and both adapters fold into it, so what a stream "adds up to" is decided here only
(text, tool-call fragments joined by index, usage, finish reason, content-filter verdicts,
logprobs, reasoning, ids, and the deployment, route target and headers the first delta carries).
It is on the per-chunk hot path: slotted, and :meth:`StreamAccumulator.add` allocates nothing for
a plain text delta beyond appending the text.
"""

from __future__ import annotations

from typing import Any

from azoai.content_filter import ContentFilterResults
from azoai.wire.common import parse_tool_arguments
from azoai.wire.types import ChatResult, Message, ReasoningItem, StreamDelta, ToolCall, Usage

__all__ = ["StreamAccumulator"]


class StreamAccumulator:
    """Folds one stream's deltas; :meth:`result` is the :class:`ChatResult` it adds up to.

    ``deployment`` and ``model_version`` are fallbacks: a delta that names them (the first one,
    from the core) wins. Scalars follow one rule each: ids, model and route target are taken from
    the first delta that has them; finish reason, usage and system fingerprint from the last.
    Content-filter verdicts are kept as they arrive (a stream repeats the completion verdict on
    nearly every chunk; presentation dedupes, see :mod:`azoai.wire.filters`).

    :meth:`add` returns ``True`` when the delta carried nothing but text and metadata (no
    reasoning, tool-call fragment or logprobs): the common case, which lets an adapter take a
    short path to its per-chunk object without inspecting the delta again."""

    __slots__ = (
        "api",
        "calls",
        "content_filter",
        "deployment",
        "finish_reason",
        "headers",
        "logprobs",
        "model",
        "model_version",
        "reasoning",
        "reasoning_items",
        "response_id",
        "system_fingerprint",
        "target",
        "text_parts",
        "usage",
    )

    def __init__(
        self, *, deployment: str | None = None, api: str = "chat", model_version: str | None = None
    ) -> None:
        self.deployment = deployment
        self.api = api
        self.model_version = model_version
        self.text_parts: list[str] = []
        self.reasoning: list[str] = []
        # index -> [id, name, argument fragments]: the id and name arrive with the first fragment
        self.calls: dict[int, list[Any]] = {}
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.response_id: str | None = None
        self.model: str | None = None
        self.system_fingerprint: str | None = None
        self.content_filter: list[ContentFilterResults] = []
        self.reasoning_items: list[ReasoningItem] = []
        self.headers: dict[str, str] = {}
        self.target: str | None = None
        self.logprobs: list[dict[str, Any]] | None = None

    def add(self, delta: StreamDelta) -> bool:
        """Fold one delta in; ``True`` when it held only text and metadata (see the class)."""
        plain = True
        if delta.text:
            self.text_parts.append(delta.text)
        if delta.content_filter:
            self.content_filter.extend(delta.content_filter)
        if delta.response_id and self.response_id is None:
            self.response_id = delta.response_id
        if delta.model and self.model is None:
            self.model = delta.model
        if delta.system_fingerprint:
            self.system_fingerprint = delta.system_fingerprint
        if delta.finish_reason is not None:
            self.finish_reason = delta.finish_reason
        if delta.usage is not None:
            self.usage = delta.usage
        if delta.tool_calls:
            plain = False
            calls = self.calls
            for chunk in delta.tool_calls:
                slot = calls.get(chunk.index)
                if slot is None:
                    slot = calls[chunk.index] = [None, None, []]
                if chunk.id:
                    slot[0] = chunk.id
                if chunk.name:
                    slot[1] = chunk.name
                if chunk.arguments:
                    slot[2].append(chunk.arguments)
        if delta.reasoning_text:
            plain = False
            self.reasoning.append(delta.reasoning_text)
        if delta.reasoning_items:
            plain = False
            self.reasoning_items.extend(delta.reasoning_items)
        if delta.logprobs:
            plain = False
            if self.logprobs is None:
                self.logprobs = []
            self.logprobs.extend(delta.logprobs)
        # What the core puts on the first delta (and, for the model version, on the one that
        # first names the model): rare, so checked last.
        if delta.headers:
            self.headers.update(delta.headers)
        if delta.target and self.target is None:
            self.target = delta.target
        if delta.deployment:
            self.deployment = delta.deployment
        if delta.model_version:
            self.model_version = delta.model_version
        return plain

    # -- reading -------------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The text so far."""
        return "".join(self.text_parts)

    partial_text = text  # the name the core's interrupted-stream errors read

    @property
    def reasoning_text(self) -> str:
        """The streamed reasoning (summary) text so far."""
        return "".join(self.reasoning)

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None

    def partial_tool_calls(self) -> list[tuple[str, str, str]]:
        """``(id, name, arguments text so far)`` per call, by index; the arguments may be
        unfinished JSON. Ids and names not yet seen are ``""``."""
        return [
            (slot[0] or "", slot[1] or "", "".join(slot[2]))
            for _, slot in sorted(self.calls.items())
        ]

    def tool_calls(self) -> list[ToolCall]:
        """The calls, their arguments parsed once (a call that is not a JSON object keeps its
        raw text and an error, never a silent ``{}``)."""
        out = []
        for index, (call_id, name, fragments) in sorted(self.calls.items()):
            args, raw, error = parse_tool_arguments("".join(fragments))
            out.append(
                ToolCall(
                    id=call_id or f"call_{index}",
                    name=name or "",
                    arguments=args,
                    raw_arguments=raw,
                    error=error,
                )
            )
        return out

    def reasoning_result(self) -> list[ReasoningItem]:
        """The reasoning items; streamed summary text alone becomes one item without an id."""
        if self.reasoning_items:
            return list(self.reasoning_items)
        if self.reasoning:
            return [ReasoningItem(id="", summary=["".join(self.reasoning)])]
        return []

    def result(self) -> ChatResult:
        """What the stream adds up to, as a non-streamed call would have returned it."""
        message = Message(
            role="assistant",
            content="".join(self.text_parts),
            tool_calls=self.tool_calls(),
            reasoning=self.reasoning_result(),
        )
        return ChatResult(
            message=message,
            finish_reason=self.finish_reason,
            usage=self.usage,
            model=self.model,
            deployment=self.deployment,
            response_id=self.response_id,
            system_fingerprint=self.system_fingerprint,
            content_filter=list(self.content_filter),
            headers=dict(self.headers),
            api=self.api,
            target=self.target,
            logprobs=list(self.logprobs) if self.logprobs is not None else None,
            model_version=self.model_version,
        )

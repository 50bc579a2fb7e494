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

from azoai.config.catalog import lookup_model
from azoai.content_filter import ContentFilterResults
from azoai.wire.common import parse_tool_arguments
from azoai.wire.types import (
    BuiltinToolCall,
    ChatResult,
    Message,
    ReasoningItem,
    StreamDelta,
    ToolCall,
    Usage,
)

__all__ = ["StreamAccumulator", "ThinkSplitter", "split_think", "thinks_in_tags"]

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
# Leading whitespace held while waiting for a possible opening tag; past this the content is an
# answer (the models that think in tags open with the tag, at most after a newline or two).
_MAX_LEADING = 32
# ThinkSplitter states: before the block, just inside it (its leading whitespace dropped), inside
# it, just after it (the answer's leading whitespace dropped), past it.
_START, _OPENED, _INSIDE, _AFTER, _DONE = 0, 1, 2, 3, 4


def thinks_in_tags(model: str | None) -> bool:
    """Whether the family of ``model`` (as the response names it) may open its content with a
    ``<think>`` block (see :attr:`azoai.config.catalog.ModelInfo.reasoning_output`)."""
    return lookup_model(model).reasoning_output is not None


class ThinkSplitter:
    """Splits a leading ``<think>…</think>`` block off streamed content, as DeepSeek-R1 style
    models on Azure AI Foundry send it: the block (after optional whitespace) is reasoning, the
    rest the answer (the leading whitespace of each dropped: it lays out the tags). A ``<think>``
    anywhere else is answer text.

    Tags may arrive split across chunks (``<thi`` + ``nk>``): at the start, the leading
    whitespace and a partial opening tag are held; inside the block, only a partial closing tag
    (at most 7 characters). :meth:`feed` returns ``(answer, reasoning)`` for one chunk,
    :meth:`end` what is still held when the stream ends (an unclosed block is all reasoning: the
    model stopped while thinking)."""

    __slots__ = ("held", "state")

    def __init__(self) -> None:
        self.state = _START
        self.held = ""

    @property
    def done(self) -> bool:
        """Past the block (or there was none): every further chunk is answer text as it is."""
        return self.state == _DONE

    def feed(self, text: str) -> tuple[str, str]:
        state = self.state
        if state == _START:
            s = self.held + text
            body = s.lstrip()
            if body.startswith(THINK_OPEN):
                self.held = ""
                self.state = _OPENED
                return self._inside(body[len(THINK_OPEN) :])
            if THINK_OPEN.startswith(body) and len(s) <= _MAX_LEADING:
                self.held = s  # whitespace, or the start of the tag: wait for more
                return "", ""
            self.held = ""
            self.state = _DONE
            return s, ""
        if state in (_INSIDE, _OPENED):
            return self._inside(self.held + text if self.held else text)
        if state == _AFTER:
            answer = text.lstrip()
            if answer:
                self.state = _DONE
            return answer, ""
        return text, ""

    def _inside(self, s: str) -> tuple[str, str]:
        if self.state == _OPENED:
            s = s.lstrip()
            if not s:
                return "", ""
            self.state = _INSIDE
        cut = s.find(THINK_CLOSE)
        if cut >= 0:
            self.held = ""
            answer = s[cut + len(THINK_CLOSE) :].lstrip()
            self.state = _DONE if answer else _AFTER
            return answer, s[:cut]
        keep = _partial_close(s)
        if keep:
            self.held = s[-keep:]
            return "", s[:-keep]
        self.held = ""
        return "", s

    def end(self) -> tuple[str, str]:
        """``(answer, reasoning)`` still held when the stream ends."""
        held, state = self.held, self.state
        self.held = ""
        self.state = _DONE
        return ("", held) if state in (_OPENED, _INSIDE) else (held, "")


def _partial_close(s: str) -> int:
    """The length of the longest end of ``s`` that begins the closing tag (0 when none)."""
    tail = s[-(len(THINK_CLOSE) - 1) :]
    start = tail.find("<")
    while start >= 0:
        if THINK_CLOSE.startswith(tail[start:]):
            return len(tail) - start
        start = tail.find("<", start + 1)
    return 0


def split_think(content: str) -> tuple[str, str]:
    """``(answer, reasoning)`` of a whole content string: what a stream of it adds up to."""
    if THINK_OPEN not in content[: _MAX_LEADING + len(THINK_OPEN)]:
        return content, ""
    splitter = ThinkSplitter()
    answer, reasoning = splitter.feed(content)
    tail_answer, tail_reasoning = splitter.end()
    return answer + tail_answer, reasoning + tail_reasoning


class StreamAccumulator:
    """Folds one stream's deltas; :meth:`result` is the :class:`ChatResult` it adds up to.

    ``deployment`` and ``model_version`` are fallbacks: a delta that names them (the first one,
    from the core) wins. Scalars follow one rule each: ids, model and route target are taken from
    the first delta that has them; finish reason, usage and system fingerprint from the last.
    Content-filter verdicts are kept as they arrive (a stream repeats the completion verdict on
    nearly every chunk; presentation dedupes, see :mod:`azoai.wire.filters`).

    :meth:`add` returns ``True`` when the delta carried nothing but text and metadata (no
    reasoning, tool-call fragment or logprobs): the common case, which lets an adapter take a
    short path to its per-chunk object without inspecting the delta again.

    ``think_tags``: whether a leading ``<think>…</think>`` block in the text is reasoning
    (:class:`ThinkSplitter`); ``None`` decides by the model the stream names, on its first text
    (:func:`thinks_in_tags`). The split is made on the delta itself, before anyone sees it:
    ``delta.text`` keeps the answer, ``delta.reasoning_text`` gets the thinking. It runs only at
    the start of the content and stops for good once reasoning arrives in its own field."""

    __slots__ = (
        "annotations",
        "api",
        "builtin_calls",
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
        "think",
        "think_by_model",
        "usage",
    )

    def __init__(
        self,
        *,
        deployment: str | None = None,
        api: str = "chat",
        model_version: str | None = None,
        think_tags: bool | None = None,
    ) -> None:
        # None once the content is past any leading <think> block (or cannot have one): the
        # per-delta cost is then one attribute test.
        self.think: ThinkSplitter | None = None if think_tags is False else ThinkSplitter()
        self.think_by_model = think_tags is None
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
        self.builtin_calls: list[BuiltinToolCall] = []  # built-in tool items, finished
        self.annotations: list[dict[str, Any]] = []

    def add(self, delta: StreamDelta) -> bool:
        """Fold one delta in; ``True`` when it held only text and metadata (see the class)."""
        plain = True
        if self.think is not None:
            self._split_think(delta)
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
        if delta.builtin_calls or delta.annotations:
            plain = False
            self.builtin_calls.extend(delta.builtin_calls)
            self.annotations.extend(delta.annotations)
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

    def _split_think(self, delta: StreamDelta) -> None:
        """Move a leading ``<think>`` block from ``delta.text`` to ``delta.reasoning_text``."""
        splitter = self.think
        assert splitter is not None
        if delta.reasoning_text and not splitter.held and splitter.state == _START:
            self.think = None  # reasoning comes in its own field: the content is all answer
            return
        if delta.text:
            if self.think_by_model:
                self.think_by_model = False
                if not thinks_in_tags(delta.model or self.model):
                    self.think = None
                    return
            answer, reasoning = splitter.feed(delta.text)
            delta.text = answer
            if reasoning:
                delta.reasoning_text += reasoning
        if delta.finish_reason is not None:
            answer, reasoning = splitter.end()
            delta.text += answer
            delta.reasoning_text += reasoning
        if splitter.done:
            self.think = None

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
            builtin_calls=list(self.builtin_calls),
            annotations=list(self.annotations),
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

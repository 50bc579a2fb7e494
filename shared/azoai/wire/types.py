"""The neutral call model: framework-free types both adapters translate to and from.

These are plain slotted dataclasses (cheap to build per call and per streamed chunk). Nothing here
knows a URL, an api-version or a JSON key of Azure's; the dialects (:mod:`azoai.wire.chat_completions`,
:mod:`azoai.wire.responses`) translate between these types and the wire.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from azoai.content_filter import ContentFilterResults

__all__ = [
    "AudioPart",
    "BuiltinToolCall",
    "ChatRequest",
    "ChatResult",
    "ContentPart",
    "EmbeddingResult",
    "FilePart",
    "ImagePart",
    "Message",
    "ReasoningItem",
    "ResponseFormat",
    "Role",
    "StreamDelta",
    "TextPart",
    "ToolCall",
    "ToolCallChunk",
    "ToolSpec",
    "Usage",
]

Role = Literal["system", "developer", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "other"]


@dataclass(slots=True)
class TextPart:
    text: str


@dataclass(slots=True)
class ImagePart:
    """An image by URL (``https://`` or ``data:``) or by bytes with a MIME type."""

    url: str | None = None
    data: bytes | None = None
    mime_type: str | None = None
    detail: str | None = None  # "low" | "high" | "auto"

    def as_url(self) -> str:
        if self.url:
            return self.url
        if self.data is None:
            raise ValueError("an image part needs a url or data")
        mime = self.mime_type or "image/png"
        return f"data:{mime};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass(slots=True)
class FilePart:
    """A file (PDF and the like) by bytes, by data URL, or by an uploaded file id."""

    data: bytes | None = None
    mime_type: str | None = None
    filename: str | None = None
    file_id: str | None = None

    def as_data_url(self) -> str:
        if self.data is None:
            raise ValueError("a file part needs data or a file_id")
        mime = self.mime_type or "application/pdf"
        return f"data:{mime};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass(slots=True)
class AudioPart:
    data: bytes
    format: str = "wav"  # "wav" | "mp3"


ContentPart = TextPart | ImagePart | FilePart | AudioPart


@dataclass(slots=True)
class ToolCall:
    """A call the model asked for. ``arguments`` is the parsed JSON object; when the model sent
    something that is not a JSON object, ``arguments`` is ``None``, ``raw_arguments`` keeps the
    text and ``error`` says why (never a silent ``{}``)."""

    id: str
    name: str
    arguments: dict[str, Any] | None
    raw_arguments: str = ""
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.error is None and self.arguments is not None


@dataclass(slots=True)
class ReasoningItem:
    """A reasoning item from the Responses API: its id, summary text and (when the caller asked
    for it) the encrypted content, kept so the next turn can send it back."""

    id: str
    summary: list[str] = field(default_factory=list)
    encrypted_content: str | None = None


@dataclass(slots=True)
class BuiltinToolCall:
    """An item of a built-in (server-side) Responses tool: a call the service ran during the turn
    (web search, file search, code interpreter, image generation, a remote MCP tool), a remote MCP
    server's tool list, or an MCP approval request (and, in a user's message, its answer).

    ``tool`` names the kind (see :data:`azoai.wire.builtin_tools.OUTPUT_ITEMS`); ``args`` is what
    the tool was given, ``output`` what it returned (as the service reported it), ``status``
    ``"success"``, ``"error"``, ``"pending"`` (an approval request) or the service's own word;
    ``image`` the generated image; ``extras`` the tool-specific rest (MCP server label and tool
    name, container id...). ``item`` is the item as the service sent it, sent back unchanged
    with the next turn."""

    id: str
    tool: str
    args: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    status: str | None = None
    error: str | None = None
    image: ImagePart | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    item: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Message:
    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None  # for role == "tool"
    reasoning: list[ReasoningItem] = field(default_factory=list)
    refusal: str | None = None
    #: built-in tool items of the turn, in order (see :class:`BuiltinToolCall`)
    builtin_calls: list[BuiltinToolCall] = field(default_factory=list)
    #: the text's annotations (``url_citation``, ``file_citation``...), as the service sent them
    annotations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text content (parts joined), ``""`` when there is none."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


@dataclass(slots=True)
class ToolSpec:
    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    strict: bool | None = None


@dataclass(slots=True)
class ResponseFormat:
    """``json_object`` or ``json_schema`` (with ``schema``, ``name`` and ``strict``)."""

    type: Literal["text", "json_object", "json_schema"]
    schema: Mapping[str, Any] | None = None
    name: str = "response"
    strict: bool | None = None
    description: str | None = None


@dataclass(slots=True)
class ChatRequest:
    """One chat call, independent of API (Chat Completions or Responses) and route.

    ``tool_choice`` is ``"auto"``, ``"none"``, ``"required"`` (``"any"``/``True`` are accepted and
    mean required) or a tool name. ``extra_body`` is merged into the request body last, for
    parameters azoai does not model."""

    messages: Sequence[Message]
    tools: Sequence[ToolSpec] = ()
    tool_choice: str | bool | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: Sequence[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    logit_bias: Mapping[str, float] | None = None
    user: str | None = None
    reasoning_effort: str | None = None
    reasoning_summary: str | None = None  # Responses: "auto" | "concise" | "detailed"
    verbosity: str | None = None
    store: bool | None = None
    previous_response_id: str | None = None
    include: Sequence[str] | None = None
    metadata: Mapping[str, str] | None = None
    stream_usage: bool = True
    extra_body: Mapping[str, Any] | None = None
    #: built-in Responses tools (``{"type": "web_search"}``...), sent beside ``tools``
    builtin_tools: Sequence[Mapping[str, Any]] = ()
    #: completions to generate (Chat Completions; the result's ``choices`` holds them all)
    n: int | None = None


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    audio_input_tokens: int = 0
    audio_output_tokens: int = 0
    #: input tokens written to the prompt cache by this call (``cache_write_tokens``)
    cache_write_tokens: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "audio_input_tokens": self.audio_input_tokens,
            "audio_output_tokens": self.audio_output_tokens,
        }


@dataclass(slots=True)
class Choice:
    """One of the completions of a call that asked for several (``n`` > 1)."""

    index: int
    message: Message
    finish_reason: str | None
    logprobs: list[dict[str, Any]] | None = None
    content_filter: ContentFilterResults | None = None


@dataclass(slots=True)
class ChatResult:
    """The outcome of one call.

    ``model`` is what Azure reported (the real model, e.g. ``gpt-4o-2024-08-06``); ``deployment``
    is the deployment the call went to; ``content_filter`` holds prompt- and completion-side
    verdicts; ``headers`` the Azure response headers worth keeping (region, request id, rate-limit
    remaining); ``raw`` the response body as parsed JSON."""

    message: Message
    finish_reason: str | None
    usage: Usage | None = None
    model: str | None = None
    deployment: str | None = None
    response_id: str | None = None
    system_fingerprint: str | None = None
    content_filter: list[ContentFilterResults] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    api: str = "chat"
    raw: Any = None
    target: str | None = None  # the route target that served the call (see azoai.pipeline.routing)
    logprobs: list[dict[str, Any]] | None = None  # per-token entries, as the API reports them
    model_version: str | None = None  # configured, discovered, or read from Azure's model name
    #: every completion, in order, when the response has more than one (``n`` > 1; the first is
    #: ``message``); empty otherwise
    choices: list[Choice] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def tool_calls(self) -> list[ToolCall]:
        return self.message.tool_calls


@dataclass(slots=True)
class ToolCallChunk:
    """A fragment of a streamed tool call: ``index`` ties fragments together; ``id`` and
    ``name`` arrive with the first fragment, ``arguments`` is a piece of the JSON text."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(slots=True)
class StreamDelta:
    """One step of a stream. Most fields are empty on most deltas."""

    text: str = ""
    reasoning_text: str = ""
    tool_calls: list[ToolCallChunk] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    content_filter: list[ContentFilterResults] = field(default_factory=list)
    response_id: str | None = None
    model: str | None = None
    system_fingerprint: str | None = None
    reasoning_items: list[ReasoningItem] = field(default_factory=list)
    headers: dict[str, str] | None = None
    target: str | None = None  # on the first delta of a routed stream
    logprobs: list[dict[str, Any]] | None = None
    model_version: str | None = None  # on the delta that first names the model
    raw: Any = None  # the decoded chunk or event this delta came from
    deployment: str | None = None  # on the first delta: the deployment the stream went to
    # built-in tool items, finished, and citations on the text: rare, so no list per delta
    builtin_calls: Sequence[BuiltinToolCall] = ()
    annotations: Sequence[dict[str, Any]] = ()


@dataclass(slots=True, repr=False)
class EmbeddingResult:
    vectors: list[list[float]]
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    deployment: str | None = None

    def __repr__(self) -> str:
        # A summary, not millions of floats: printing a result (or asyncio.run returning one,
        # which formats its task on the way out) must not take seconds.
        dims = len(self.vectors[0]) if self.vectors else 0
        return (
            f"EmbeddingResult(vectors=<{len(self.vectors)} x {dims}>, usage={self.usage!r}, "
            f"model={self.model!r}, deployment={self.deployment!r})"
        )

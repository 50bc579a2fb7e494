"""LlamaIndex types <-> azoai's neutral wire types. Pure translation, no I/O.

* messages: :class:`ChatMessage` (text, image, audio, document, thinking and tool-call blocks;
  tool results carry ``additional_kwargs["tool_call_id"]``) -> :class:`azoai.wire.Message`;
* results: :class:`azoai.wire.ChatResult` -> :class:`ChatMessage` plus the metadata that goes
  into ``ChatResponse.additional_kwargs`` (usage with cached and reasoning tokens, the
  content-filter verdicts, model, model version, deployment, response id, headers);
* streams: :class:`StreamFolder` turns each :class:`azoai.wire.StreamDelta` into the cumulative
  ``ChatResponse`` LlamaIndex expects, one per delta;
* tools: ``BaseTool`` / dicts -> :class:`azoai.wire.ToolSpec`; tool-call blocks ->
  ``ToolSelection``, where arguments that are not a JSON object raise
  :class:`InvalidToolArgumentsError` naming the tool (never a silent ``{}``);
* structured output: pydantic classes -> :class:`azoai.wire.ResponseFormat`.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    AudioBlock,
    CachePoint,
    ChatMessage,
    ChatResponse,
    DocumentBlock,
    ImageBlock,
    LogProb,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.llms.llm import ToolSelection
from pydantic import BaseModel

from azoai.content_filter import ContentFilterResults
from azoai.wire import (
    AudioPart,
    BuiltinToolCall,
    ChatResult,
    ContentPart,
    FilePart,
    ImagePart,
    Message,
    ReasoningItem,
    ResponseFormat,
    StreamAccumulator,
    StreamDelta,
    TextPart,
    ToolCall,
    ToolSpec,
    Usage,
    filter_records,
    parse_tool_arguments,
    strict_json_schema,
)
from azoai.wire.builtin_tools import (
    is_builtin_tool,
    is_json_schema_tool,
    json_schema_tool,
    read_item,
)

__all__ = [
    "ANNOTATIONS",
    "BUILT_IN_TOOL_CALLS",
    "TOOL_CALL_ERRORS",
    "InvalidToolArgumentsError",
    "OpenAIShaped",
    "StreamFolder",
    "content_filter_data",
    "from_result",
    "response_format_for",
    "response_kwargs",
    "split_builtin",
    "strict_json_schema",
    "to_logprobs",
    "to_response_format",
    "to_tool_choice",
    "to_tool_spec",
    "to_wire_message",
    "to_wire_messages",
    "tool_selections",
    "usage_kwargs",
]

#: ``ChatMessage.additional_kwargs`` key holding ``{tool_call_id: error}`` for tool calls whose
#: arguments were not a JSON object.
TOOL_CALL_ERRORS = "tool_call_errors"
#: ``ChatResponse.additional_kwargs`` flag on streamed chunks whose tool calls are still arriving.
PARTIAL_TOOL_CALLS = "tool_calls_partial"
#: ``ChatMessage.additional_kwargs`` key holding the Responses API id of the turn.
RESPONSE_ID = "response_id"
#: ``ChatMessage`` and ``ChatResponse`` ``additional_kwargs`` key holding the built-in tools'
#: items of the turn (dicts, as the service sent them; llama-index's ``OpenAIResponses`` name).
#: The message's copy goes back with the next turn; on a user's message it holds answers to MCP
#: approval requests (``{"type": "mcp_approval_response", ...}``).
BUILT_IN_TOOL_CALLS = "built_in_tool_calls"
#: ... and the key holding the text's citations (``url_citation``, ``file_citation``...).
ANNOTATIONS = "annotations"


class InvalidToolArgumentsError(ValueError):
    """The model called a tool with arguments that are not a JSON object."""

    def __init__(self, tool_name: str, tool_call_id: str, raw_arguments: str, error: str) -> None:
        self.tool_name = tool_name
        self.tool_call_id = tool_call_id
        self.raw_arguments = raw_arguments
        self.error = error
        shown = raw_arguments if len(raw_arguments) <= 200 else raw_arguments[:200] + "..."
        super().__init__(
            f"the model called tool {tool_name!r} (call {tool_call_id!r}) with invalid arguments: "
            f"{error}; raw arguments: {shown!r}"
        )


class OpenAIShaped(dict[str, Any]):
    """A response body, stream chunk or tool call: the dict Azure sent, which also reads as the
    openai SDK's objects that llama-index's OpenAI classes hand out (``raw.usage.total_tokens``,
    ``raw.choices[0].message.content``, ``call.function.arguments``). A field Azure left out
    reads as ``None``, as the SDK's optional fields do; ``model_dump()`` gives the plain dict."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy, pickle and pydantic probe dunder and private names
            raise AttributeError(name)
        return openai_shaped(self.get(name))

    def model_dump(self, **_: Any) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(json.dumps(self, default=str))
        return out

    def model_dump_json(self, **_: Any) -> str:
        return json.dumps(self, default=str)

    to_dict = model_dump
    to_json = model_dump_json


def openai_shaped(value: Any) -> Any:
    """``value`` with every dict in it readable by attribute (:class:`OpenAIShaped`)."""
    if isinstance(value, OpenAIShaped):
        return value
    if isinstance(value, Mapping):
        return OpenAIShaped(value)
    if isinstance(value, list):
        return [openai_shaped(v) for v in value]
    return value


def _openai_tool_call(call_id: str, name: str, arguments: str, index: int | None) -> OpenAIShaped:
    """A tool call as llama-index's OpenAI classes put it in ``additional_kwargs["tool_calls"]``
    (the SDK's ``ChatCompletionMessageToolCall``; on streamed chunks with its ``index``)."""
    call: dict[str, Any] = {"id": call_id, "type": "function"}
    call["function"] = OpenAIShaped(name=name, arguments=arguments)
    if index is not None:
        call["index"] = index
    return OpenAIShaped(call)


# --- messages out ---------------------------------------------------------------------------------

_ROLES: dict[str, str] = {
    MessageRole.SYSTEM.value: "system",
    MessageRole.DEVELOPER.value: "developer",
    MessageRole.USER.value: "user",
    MessageRole.ASSISTANT.value: "assistant",
    MessageRole.TOOL.value: "tool",
    MessageRole.FUNCTION.value: "tool",
    MessageRole.CHATBOT.value: "assistant",
    MessageRole.MODEL.value: "assistant",
}


def to_wire_messages(messages: Sequence[ChatMessage]) -> list[Message]:
    return [to_wire_message(m) for m in messages]


def to_wire_message(message: ChatMessage) -> Message:
    role_value = message.role.value if isinstance(message.role, MessageRole) else str(message.role)
    role = _ROLES.get(role_value)
    if role is None:
        raise ValueError(f"unsupported message role {role_value!r}")
    parts: list[ContentPart] = []
    calls: list[ToolCall] = []
    reasoning: list[ReasoningItem] = []
    kwargs = message.additional_kwargs
    builtin = [c for c in map(read_item, kwargs.get(BUILT_IN_TOOL_CALLS) or ()) if c is not None]
    blocks = message.blocks
    if role == "assistant" and any(c.tool == "image_generation" for c in builtin):
        # the generated images go back as their image_generation_call items
        blocks = [b for b in blocks if not isinstance(b, ImageBlock)]
    for block in blocks:
        _add_block(block, role, parts, calls, reasoning)
    if role == "assistant" and not calls:
        calls = _legacy_tool_calls(message.additional_kwargs.get("tool_calls"))
    if role == "tool":
        call_id = kwargs.get("tool_call_id")
        if not call_id:
            raise ValueError(
                "a tool message needs additional_kwargs['tool_call_id'] (the id of the call it answers)"
            )
        text = "".join(p.text for p in parts if isinstance(p, TextPart))
        return Message("tool", text, tool_call_id=str(call_id), name=kwargs.get("name"))
    content: str | list[ContentPart] | None
    if all(isinstance(p, TextPart) for p in parts) or role in ("system", "developer"):
        text = "".join(p.text for p in parts if isinstance(p, TextPart))
        content = None if (role == "assistant" and calls and not text) else text
    else:
        content = parts
    annotations = [dict(a) for a in _plain_list(kwargs.get(ANNOTATIONS)) if isinstance(a, Mapping)]
    return Message(
        role,  # type: ignore[arg-type]
        content,
        tool_calls=calls,
        reasoning=reasoning,
        builtin_calls=builtin,
        annotations=annotations if role == "assistant" else [],
    )


def _plain_list(raw: Any) -> list[Any]:
    """A list of dicts or SDK objects (llama-index's ``OpenAIResponses`` keeps those) as dicts."""
    if not isinstance(raw, list | tuple):
        return []
    return [
        x.model_dump(exclude_none=True, mode="json") if hasattr(x, "model_dump") else x for x in raw
    ]


def _add_block(
    block: Any,
    role: str,
    parts: list[ContentPart],
    calls: list[ToolCall],
    reasoning: list[ReasoningItem],
) -> None:
    if isinstance(block, TextBlock):
        parts.append(TextPart(block.text))
    elif isinstance(block, ImageBlock):
        if block.url is not None:
            parts.append(ImagePart(url=str(block.url), detail=block.detail))
        else:
            data = block.resolve_image(as_base64=False).read()
            parts.append(ImagePart(data=data, mime_type=block.image_mimetype, detail=block.detail))
    elif isinstance(block, AudioBlock):
        data = block.resolve_audio(as_base64=False).read()
        parts.append(AudioPart(data=data, format=block.format or "wav"))
    elif isinstance(block, DocumentBlock):
        data = block.resolve_document().read()
        parts.append(FilePart(data=data, mime_type=block.document_mimetype, filename=block.title))
    elif isinstance(block, ToolCallBlock):
        calls.append(_tool_call(block))
    elif isinstance(block, ThinkingBlock):
        # Reasoning goes back to the model only as the Responses API's reasoning items, which
        # need the id they were returned with; text-only thinking is a display artifact.
        info = block.additional_information or {}
        if role == "assistant" and info.get("id"):
            enc = info.get("encrypted_content")
            reasoning.append(
                ReasoningItem(
                    id=str(info["id"]),
                    summary=[block.content] if block.content else [],
                    encrypted_content=enc if isinstance(enc, str) else None,
                )
            )
    elif isinstance(block, CachePoint):
        pass  # a cache hint for other providers; Azure OpenAI caches prompts by itself
    elif hasattr(block, "cited_content"):  # CitationBlock
        _add_block(block.cited_content, role, parts, calls, reasoning)
    elif isinstance(getattr(block, "content", None), list):  # CitableBlock
        for inner in block.content:
            _add_block(inner, role, parts, calls, reasoning)
    else:
        raise ValueError(
            f"{type(block).__name__} is not supported by Azure OpenAI chat models; "
            "use text, image, audio or document blocks"
        )


def _tool_call(block: ToolCallBlock) -> ToolCall:
    args, raw, error = parse_tool_arguments(block.tool_kwargs)
    return ToolCall(
        id=block.tool_call_id or "",
        name=block.tool_name,
        arguments=args,
        raw_arguments=raw,
        error=error,
    )


def _legacy_tool_calls(raw: Any) -> list[ToolCall]:
    """Tool calls stored by older LlamaIndex OpenAI classes in ``additional_kwargs["tool_calls"]``
    (SDK objects or dicts), so histories saved with them keep working."""
    if not raw:
        return []
    out = []
    for item in raw:
        if isinstance(item, Mapping):
            fn = item.get("function") or {}
            call_id, name, arguments = item.get("id"), fn.get("name"), fn.get("arguments")
        else:
            fn = getattr(item, "function", None)
            call_id = getattr(item, "id", None)
            name = getattr(fn, "name", None)
            arguments = getattr(fn, "arguments", None)
        if not name:
            continue
        args, text, error = parse_tool_arguments(arguments)
        out.append(ToolCall(str(call_id or ""), str(name), args, text, error))
    return out


# --- results in -----------------------------------------------------------------------------------


def from_result(result: ChatResult) -> ChatMessage:
    """The assistant message of a completed call."""
    msg = result.message
    blocks: list[Any] = []
    usage = result.usage
    for item in msg.reasoning:
        info: dict[str, Any] = {}
        if item.id:
            info["id"] = item.id
        if item.encrypted_content:
            info["encrypted_content"] = item.encrypted_content
        blocks.append(
            ThinkingBlock(
                content="\n".join(item.summary) or None,
                num_tokens=(usage.reasoning_tokens or None)
                if usage is not None and len(msg.reasoning) == 1
                else None,
                additional_information=info,
            )
        )
    for image in (c.image for c in msg.builtin_calls if c.image is not None):
        # a generated image, as llama-index's OpenAIResponses returns it
        blocks.append(ImageBlock(image=image.data, image_mimetype=image.mime_type))
    text = msg.text
    if text or not msg.tool_calls:
        blocks.append(TextBlock(text=text))
    errors: dict[str, str] = {}
    for call in msg.tool_calls:
        blocks.append(
            ToolCallBlock(
                tool_call_id=call.id,
                tool_name=call.name,
                tool_kwargs=call.arguments if call.valid else call.raw_arguments,  # type: ignore[arg-type]
            )
        )
        if not call.valid:
            errors[call.id] = call.error or "arguments are not a JSON object"
    kwargs: dict[str, Any] = {}
    if msg.tool_calls:  # beside the blocks, where code written for llama-index's classes reads
        kwargs["tool_calls"] = [
            _openai_tool_call(c.id, c.name, c.raw_arguments or json.dumps(c.arguments or {}), None)
            for c in msg.tool_calls
        ]
    if errors:
        kwargs[TOOL_CALL_ERRORS] = errors
    if msg.refusal:
        kwargs["refusal"] = msg.refusal
    if result.api == "responses" and result.response_id:
        kwargs[RESPONSE_ID] = result.response_id
    kwargs.update(builtin_kwargs(msg.builtin_calls, msg.annotations))
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=kwargs)


def builtin_kwargs(
    calls: Sequence[BuiltinToolCall], annotations: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The built-in tools' items and the text's citations, under llama-index's keys (nothing
    when there are none)."""
    out: dict[str, Any] = {}
    if calls:
        out[BUILT_IN_TOOL_CALLS] = [dict(c.item) for c in calls]
    if annotations:
        out[ANNOTATIONS] = [dict(a) for a in annotations]
    return out


def to_logprobs(entries: Sequence[Mapping[str, Any]] | None) -> list[list[LogProb]] | None:
    """Per-token log probabilities (the core's list of per-token entries) in LlamaIndex's shape:
    for each token, the alternatives asked for with ``top_logprobs`` (else the token itself)."""
    if not entries:
        return None
    out: list[list[LogProb]] = []
    for entry in entries:
        options = entry.get("top_logprobs") or [entry]
        out.append(
            [
                LogProb(
                    token=str(o.get("token", "")),
                    logprob=float(o.get("logprob", 0.0)),
                    bytes=list(o.get("bytes") or []),
                )
                for o in options
            ]
        )
    return out


def usage_kwargs(usage: Usage | None) -> dict[str, Any]:
    """LlamaIndex's flat token counts (what ``TokenCountingHandler`` reads) plus the full usage,
    with cached and reasoning tokens, under ``"usage"``."""
    if usage is None:
        return {}
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "usage": usage.to_dict(),
    }


def content_filter_data(results: Sequence[ContentFilterResults]) -> list[dict[str, Any]]:
    """The content-filter verdicts as plain data, one entry per distinct verdict (see
    :func:`azoai.wire.filter_records`)."""
    return filter_records(results)


def response_kwargs(result: ChatResult) -> dict[str, Any]:
    """What goes into ``ChatResponse.additional_kwargs`` for a finished call."""
    out: dict[str, Any] = usage_kwargs(result.usage)
    out["finish_reason"] = result.finish_reason
    out["model"] = result.model
    if result.model_version:
        out["model_version"] = result.model_version
    out["deployment"] = result.deployment
    if result.target:
        out["target"] = result.target  # the route target that served the call
    if result.response_id:
        out["response_id"] = result.response_id
    if result.system_fingerprint:
        out["system_fingerprint"] = result.system_fingerprint
    out["content_filter"] = content_filter_data(result.content_filter)
    if result.headers:
        out["headers"] = dict(result.headers)
    out.update(builtin_kwargs(result.message.builtin_calls, result.message.annotations))
    return out


class StreamFolder:
    """Folds stream deltas into cumulative ``ChatResponse`` objects, one per delta.

    Each response's ``message`` holds everything so far (thinking, text, tool calls) and
    ``delta`` the new text. Until the model finishes, tool-call arguments are the partial JSON
    text and the response is flagged ``tool_calls_partial``; from the finish reason on, the
    message is exactly what a non-streamed call returns and ``additional_kwargs`` carry the
    usage, content-filter verdicts, model and ids. What the stream adds up to is kept by the
    core's :class:`azoai.wire.StreamAccumulator` (``acc``); this class only presents it."""

    __slots__ = ("acc", "text")

    def __init__(self, *, deployment: str | None = None, api: str) -> None:
        # The deployment is a fallback: the core puts the one it resolved on the first delta.
        self.acc = StreamAccumulator(deployment=deployment, api=api)
        # The cumulative text LlamaIndex puts in every response's message: kept as one string
        # (not joined from the accumulator's parts on every chunk).
        self.text = ""

    def add(self, delta: StreamDelta) -> ChatResponse:
        """Fold ``delta`` into ``acc`` and present it."""
        return self.present(delta, self.acc.add(delta))

    def present(self, delta: StreamDelta, plain: bool | None = None) -> ChatResponse:
        """The response for a delta already folded into ``acc`` (by the core, which was given
        ``acc`` as ``into=``); ``plain`` as :meth:`StreamAccumulator.add` returned it."""
        acc = self.acc
        if plain is None:
            plain = not (
                delta.tool_calls
                or delta.reasoning_text
                or delta.reasoning_items
                or delta.logprobs
                or delta.builtin_calls
                or delta.annotations
            )
        if delta.text:
            self.text += delta.text
        if (
            plain
            and acc.finish_reason is None
            and not acc.calls
            and not acc.reasoning
            and not acc.builtin_calls
        ):
            # Text and metadata only, nearly every chunk: the same response as below, built
            # without the general path's lookups.
            return ChatResponse(
                message=ChatMessage(role=MessageRole.ASSISTANT, content=self.text),
                delta=delta.text,
                raw=openai_shaped(delta.raw),
            )
        kwargs: dict[str, Any] = {}
        if acc.finish_reason is not None:
            result = acc.result()
            message = from_result(result)
            kwargs.update(response_kwargs(result))
        else:
            message = self._partial_message()
            if acc.calls:
                kwargs[PARTIAL_TOOL_CALLS] = True
            kwargs.update(builtin_kwargs(acc.builtin_calls, acc.annotations))
        if delta.reasoning_text:
            kwargs["thinking_delta"] = delta.reasoning_text
        return ChatResponse(
            message=message,
            delta=delta.text,
            raw=openai_shaped(delta.raw),
            additional_kwargs=kwargs,
            logprobs=to_logprobs(delta.logprobs),
        )

    def _partial_message(self) -> ChatMessage:
        blocks: list[Any] = []
        thinking = self.acc.reasoning_text
        if thinking:
            blocks.append(ThinkingBlock(content=thinking))
        for call in self.acc.builtin_calls:
            if call.image is not None:
                blocks.append(
                    ImageBlock(image=call.image.data, image_mimetype=call.image.mime_type)
                )
        blocks.append(TextBlock(text=self.text))
        kwargs = builtin_kwargs(self.acc.builtin_calls, self.acc.annotations)
        calls = self.acc.partial_tool_calls()
        for call_id, name, args in calls:
            blocks.append(ToolCallBlock(tool_call_id=call_id, tool_name=name, tool_kwargs=args))
        if calls:
            kwargs["tool_calls"] = [
                _openai_tool_call(call_id, name, args, i)
                for i, (call_id, name, args) in enumerate(calls)
            ]
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=kwargs)


# --- tools ----------------------------------------------------------------------------------------


def split_builtin(tools: Sequence[Any]) -> tuple[list[Any], list[dict[str, Any]]]:
    """Tools as given -> (the function tools, the built-in tool dicts: a ``type`` other than
    ``function``, as llama-index's ``built_in_tools`` takes them)."""
    functions: list[Any] = []
    builtin: list[dict[str, Any]] = []
    for t in tools:
        if is_builtin_tool(t):
            builtin.append(dict(t))
        else:
            functions.append(t)
    return functions, builtin


def to_tool_spec(tool: Any, *, strict: bool = False) -> ToolSpec:
    """A LlamaIndex ``BaseTool``, an OpenAI-style tool dict or a :class:`ToolSpec` ->
    :class:`ToolSpec`. ``strict=True`` closes the schema for Structured Outputs when it can be
    closed (an open ``dict[str, X]`` argument cannot; such a tool is sent non-strict)."""
    if isinstance(tool, ToolSpec):
        return tool
    if is_json_schema_tool(tool):
        name, description, params = json_schema_tool(tool)
        return _spec(name, description, params, strict)
    if isinstance(tool, Mapping):
        fn = tool.get("function", tool)
        name = fn.get("name")
        if not name:
            raise ValueError(f"a tool dict needs a name: {tool!r}")
        params = dict(fn.get("parameters") or {"type": "object", "properties": {}})
        flag = fn.get("strict")
        return _spec(str(name), str(fn.get("description") or ""), params, strict or bool(flag))
    metadata: Any = getattr(tool, "metadata", None)
    if metadata is None:
        raise TypeError(f"cannot use {type(tool).__name__} as a tool; pass a LlamaIndex BaseTool")
    # Building the JSON schema (pydantic's model_json_schema) is most of a tool call's CPU, and
    # agents send the same tools on every turn: keep one spec per tool (and its metadata object,
    # so a tool whose metadata is replaced gets a fresh spec).
    try:
        cache = _SPECS.setdefault(tool, {})
    except TypeError:  # not hashable or weak-referenceable: no cache
        cache = {}
    if cache.get("metadata") is not metadata:
        cache.clear()
        cache["metadata"] = metadata
    spec: ToolSpec | None = cache.get(strict)
    if spec is None:
        spec = cache[strict] = _spec(
            metadata.get_name(), metadata.description or "", metadata.get_parameters_dict(), strict
        )
    return spec


_SPECS: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()


def _spec(name: str, description: str, params: dict[str, Any], strict: bool) -> ToolSpec:
    if strict:
        closed = strict_json_schema(params)
        if closed is not None:
            return ToolSpec(name, description, closed, strict=True)
    return ToolSpec(name, description, params)


def to_tool_choice(tool_choice: Any, tool_required: bool) -> str | None:
    """LlamaIndex's ``tool_choice`` (``"auto"``, ``"none"``, ``"required"``, a tool name or an
    OpenAI-style dict naming a function) and ``tool_required`` -> the core's tool choice."""
    if isinstance(tool_choice, Mapping):
        fn = tool_choice.get("function")
        name = fn.get("name") if isinstance(fn, Mapping) else tool_choice.get("name")
        if not name:
            choice_type = tool_choice.get("type")
            if choice_type in ("auto", "none", "required"):
                return str(choice_type)
            if isinstance(choice_type, str) and choice_type != "function":
                return choice_type  # a built-in tool: {"type": "web_search"}
            raise ValueError(f"cannot read a tool name from tool_choice={tool_choice!r}")
        return str(name)
    if tool_choice is not None:
        return str(tool_choice)
    return "required" if tool_required else "auto"


def tool_selections(response: ChatResponse, *, error_on_no_tool_call: bool) -> list[ToolSelection]:
    """The tool calls in ``response`` as ``ToolSelection``s.

    A call whose arguments were not a JSON object raises :class:`InvalidToolArgumentsError`
    naming the tool. On a streamed chunk whose calls are still arriving, arguments are parsed as
    far as they go and calls that cannot be read yet are left out."""
    from llama_index.core.llms.utils import parse_partial_json

    message = response.message
    partial = bool(response.additional_kwargs.get(PARTIAL_TOOL_CALLS))
    errors: Mapping[str, str] = message.additional_kwargs.get(TOOL_CALL_ERRORS) or {}
    blocks = [b for b in message.blocks if isinstance(b, ToolCallBlock)]
    calls: list[ToolCall] = [_tool_call(b) for b in blocks]
    if not calls:
        calls = _legacy_tool_calls(message.additional_kwargs.get("tool_calls"))
    if not calls:
        if error_on_no_tool_call:
            raise ValueError("Expected at least one tool call, but got 0 tool calls.")
        return []
    out = []
    for call in calls:
        args = call.arguments
        if args is None:
            if partial:
                try:
                    args = parse_partial_json(call.raw_arguments)
                except (ValueError, TypeError):
                    continue
            else:
                raise InvalidToolArgumentsError(
                    call.name,
                    call.id,
                    call.raw_arguments,
                    errors.get(call.id) or call.error or "arguments are not a JSON object",
                )
        out.append(ToolSelection(tool_id=call.id, tool_name=call.name, tool_kwargs=args))
    return out


# --- structured output ----------------------------------------------------------------------------


def _schema_name(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64] or "response"


def response_format_for(output_cls: type[BaseModel]) -> ResponseFormat:
    """``json_schema`` for a pydantic class: strict when the schema can be closed."""
    schema = output_cls.model_json_schema()
    closed = strict_json_schema(schema)
    return ResponseFormat(
        "json_schema",
        schema=closed if closed is not None else schema,
        name=_schema_name(output_cls.__name__),
        strict=True if closed is not None else None,
        description=(output_cls.__doc__ or "").strip() or None,
    )


def to_response_format(value: Any) -> ResponseFormat | None:
    """``response_format`` as LlamaIndex users pass it (an OpenAI-style dict, a pydantic class,
    or a :class:`ResponseFormat`) -> :class:`ResponseFormat`."""
    if value is None or isinstance(value, ResponseFormat):
        return value
    if isinstance(value, type) and issubclass(value, BaseModel):
        return response_format_for(value)
    if isinstance(value, Mapping):
        kind = value.get("type")
        if kind in ("text", "json_object"):
            return ResponseFormat(kind)
        if kind == "json_schema":
            spec = value.get("json_schema") or {}
            return ResponseFormat(
                "json_schema",
                schema=spec.get("schema") or {},
                name=str(spec.get("name") or "response"),
                strict=spec.get("strict"),
                description=spec.get("description"),
            )
    raise ValueError(
        f"response_format must be {{'type': 'json_object'}}, a json_schema dict or a pydantic "
        f"class, got {value!r}"
    )

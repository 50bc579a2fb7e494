"""LangChain messages, tools and outputs <-> the core's neutral types (:mod:`azoai.wire`).

Pure functions (plus one small per-stream accumulator): LangChain in, neutral out for requests;
neutral in, LangChain out for results and stream deltas. No Azure rule lives here: the core shapes
parameters per API version and model family; this module only changes representation.

Messages this adapter produces carry ``response_metadata["model_provider"] == "azure"`` (the
LangSmith provider name of the class), and :func:`translate_content` /
:func:`translate_content_chunk` are registered as LangChain's content-block translator for that
provider, so ``message.content_blocks`` and ``output_version="v1"`` work for both APIs.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages import content as types
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk
from langchain_core.utils.function_calling import convert_to_openai_tool

from azoai.content_filter import ContentFilterResults
from azoai.wire import (
    AudioPart,
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
    openai_filter_fields,
)

__all__ = [
    "PROVIDER",
    "StreamState",
    "display_model_name",
    "filter_metadata",
    "format_tool",
    "normalize_tool_choice",
    "result_to_message",
    "to_response_format",
    "to_tool_specs",
    "to_wire_messages",
    "translate_content",
    "translate_content_chunk",
    "usage_metadata",
]

#: ``response_metadata["model_provider"]`` of every message this adapter produces; equal to the
#: class's ``ls_provider`` so LangChain middleware can match the two.
PROVIDER = "azure"

_ROLES = {"system", "developer", "user", "assistant", "tool"}
_CHAT_ROLE_ALIASES = {"human": "user", "ai": "assistant"}
_AUDIO_FORMATS = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mp3": "mp3",
    "audio/mpeg": "mp3",
}


# --- requests: messages -------------------------------------------------------------------------


def to_wire_messages(messages: Sequence[BaseMessage]) -> list[Message]:
    """LangChain messages -> neutral messages, in order."""
    return [_message(m) for m in messages]


def _message(m: BaseMessage) -> Message:
    if isinstance(m, AIMessage):
        return _ai_message(m)
    if isinstance(m, ToolMessage):
        return Message(
            role="tool",
            content=_content(m, allow_media=True),
            tool_call_id=m.tool_call_id,
        )
    if isinstance(m, SystemMessage):
        return Message(role="system", content=_content(m, allow_media=False), name=m.name)
    if isinstance(m, HumanMessage):
        return Message(role="user", content=_content(m, allow_media=True), name=m.name)
    if isinstance(m, ChatMessage):
        role = _CHAT_ROLE_ALIASES.get(m.role, m.role)
        if role not in _ROLES or role in ("assistant", "tool"):
            raise ValueError(
                f"ChatMessage role {m.role!r} is not supported; use system, developer or user "
                "(or AIMessage / ToolMessage)"
            )
        return Message(role=role, content=_content(m, allow_media=role == "user"), name=m.name)  # type: ignore[arg-type]
    if isinstance(m, FunctionMessage):
        raise ValueError("FunctionMessage is not supported; use ToolMessage with a tool_call_id")
    raise ValueError(f"unsupported message type {type(m).__name__}")


def _content(m: BaseMessage, *, allow_media: bool) -> str | list[ContentPart]:
    """A message's content: a plain string stays a string; blocks are read through LangChain's
    standard view (``content_blocks``), which already understands OpenAI, Anthropic and v0
    block shapes."""
    if isinstance(m.content, str):
        return m.content
    parts: list[ContentPart] = []
    for block in m.content_blocks:
        part = _part(cast("dict[str, Any]", block), allow_media=allow_media)
        if part is not None:
            parts.append(part)
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(cast("TextPart", p).text for p in parts)
    return parts


def _part(block: dict[str, Any], *, allow_media: bool) -> ContentPart | None:
    kind = block.get("type")
    if kind == "text":
        return TextPart(str(block.get("text", "")))
    if kind in ("reasoning", "tool_call", "tool_call_chunk", "invalid_tool_call"):
        return None  # assistant-side blocks; tool calls travel in tool_calls
    if kind in ("image", "file", "audio") and not allow_media:
        raise ValueError(f"a {kind} block is not allowed in this kind of message")
    extras = block.get("extras") or {}
    if kind == "image":
        detail = extras.get("detail") or block.get("detail")
        if block.get("url"):
            return ImagePart(url=str(block["url"]), detail=detail)
        if block.get("base64"):
            mime = block.get("mime_type") or "image/png"
            return ImagePart(url=f"data:{mime};base64,{block['base64']}", detail=detail)
        raise ValueError("an image block needs a url or base64 data")
    if kind == "file":
        filename = block.get("filename") or extras.get("filename")
        if block.get("file_id"):
            return FilePart(file_id=str(block["file_id"]), filename=filename)
        if block.get("base64"):
            return FilePart(
                data=_b64decode(block["base64"], "file"),
                mime_type=block.get("mime_type") or "application/pdf",
                filename=filename,
            )
        raise ValueError("a file block needs base64 data or a file_id (file URLs are not sent)")
    if kind == "audio":
        if not block.get("base64"):
            raise ValueError("an audio block needs base64 data")
        mime = str(block.get("mime_type") or "audio/wav").lower()
        fmt = _AUDIO_FORMATS.get(mime)
        if fmt is None:
            raise ValueError(
                f"audio mime_type {mime!r} is not supported; use audio/wav or audio/mpeg"
            )
        return AudioPart(data=_b64decode(block["base64"], "audio"), format=fmt)
    if kind == "non_standard":
        value = block.get("value")
        inner = value.get("type") if isinstance(value, Mapping) else None
        if inner in ("tool_use", "function_call", "refusal"):
            return None  # provider-specific assistant blocks from other integrations
        raise ValueError(f"content block type {inner!r} is not supported")
    raise ValueError(f"content block type {kind!r} is not supported")


def _b64decode(data: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(data), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"the {what} block's base64 data is not valid base64: {exc}") from None


def _ai_message(m: AIMessage) -> Message:
    text_parts: list[str] = []
    reasoning = _reasoning_from_kwargs(m.additional_kwargs)
    if isinstance(m.content, str):
        text_parts.append(m.content)
    else:
        v1_reasoning: dict[str, ReasoningItem] = {}
        for item in m.content:
            if isinstance(item, str):
                text_parts.append(item)
            elif isinstance(item, dict):
                kind = item.get("type")
                if kind == "text":
                    text_parts.append(str(item.get("text", "")))
                elif kind == "reasoning" and item.get("id") and not reasoning:
                    rid = str(item["id"])
                    slot = v1_reasoning.setdefault(rid, ReasoningItem(id=rid))
                    if item.get("reasoning"):
                        slot.summary.append(str(item["reasoning"]))
                    enc = (item.get("extras") or {}).get("encrypted_content")
                    if enc:
                        slot.encrypted_content = str(enc)
        reasoning = reasoning or list(v1_reasoning.values())
    calls = [
        ToolCall(
            id=tc.get("id") or f"call_{i}",
            name=tc["name"],
            arguments=dict(tc["args"]),
            raw_arguments=json.dumps(tc["args"], ensure_ascii=False),
        )
        for i, tc in enumerate(m.tool_calls)
    ]
    # Calls whose arguments did not parse are sent back as the model wrote them, so that a
    # ToolMessage answering them still has a matching call.
    calls += [
        ToolCall(
            id=tc.get("id") or f"call_{len(calls) + i}",
            name=tc.get("name") or "",
            arguments=None,
            raw_arguments=tc.get("args") or "",
            error=tc.get("error") or "invalid arguments",
        )
        for i, tc in enumerate(m.invalid_tool_calls)
    ]
    return Message(
        role="assistant",
        content="".join(text_parts),
        name=m.name,
        tool_calls=calls,
        reasoning=reasoning,
    )


def _reasoning_from_kwargs(kwargs: Mapping[str, Any]) -> list[ReasoningItem]:
    out = []
    for item in kwargs.get("reasoning_items") or ():
        if isinstance(item, Mapping) and item.get("id"):
            out.append(
                ReasoningItem(
                    id=str(item["id"]),
                    summary=[str(s) for s in item.get("summary") or ()],
                    encrypted_content=item.get("encrypted_content"),
                )
            )
    return out


# --- requests: tools and formats ----------------------------------------------------------------


def format_tool(tool: Any, *, strict: bool | None = None) -> dict[str, Any]:
    """A pydantic model, TypedDict, function, BaseTool or dict -> an OpenAI-style function tool
    dict (what ``bind_tools`` binds, so traces show the schema)."""
    formatted = convert_to_openai_tool(tool, strict=strict)
    if formatted.get("type") != "function" or "function" not in formatted:
        raise ValueError(
            f"tool {tool!r} is not a function tool; built-in tools are not supported by azoai"
        )
    return formatted


def to_tool_specs(tools: Sequence[Mapping[str, Any]]) -> list[ToolSpec]:
    """Bound tool dicts (see :func:`format_tool`) -> neutral tool specs."""
    specs = []
    for t in tools:
        fn = t.get("function") if t.get("type") == "function" else None
        if not isinstance(fn, Mapping):
            fn = format_tool(t)["function"]
        specs.append(
            ToolSpec(
                name=str(fn["name"]),
                description=str(fn.get("description") or ""),
                parameters=dict(fn.get("parameters") or {"type": "object", "properties": {}}),
                strict=fn.get("strict"),
            )
        )
    return specs


def normalize_tool_choice(choice: Any, tool_names: Sequence[str]) -> str | None:
    """LangChain's ``tool_choice`` -> ``"auto"``, ``"none"``, ``"required"``, a tool name, or
    ``None`` (not sent). ``"any"`` and ``True`` mean a call is required."""
    if choice is None or choice is False:
        return None
    if choice is True or choice in ("any", "required"):
        return "required"
    if choice in ("auto", "none"):
        return str(choice)
    if isinstance(choice, Mapping):
        fn = choice.get("function")
        name = fn.get("name") if isinstance(fn, Mapping) else choice.get("name")
        if not isinstance(name, str):
            raise ValueError(f"tool_choice {choice!r} names no function")
        choice = name
    if isinstance(choice, str):
        if choice not in tool_names:
            raise ValueError(
                f"tool_choice {choice!r} names no bound tool; bound tools: {', '.join(tool_names) or '(none)'}"
            )
        return choice
    raise ValueError(f"unsupported tool_choice {choice!r}")


def json_schema_format(schema: Any, *, strict: bool | None) -> dict[str, Any]:
    """A pydantic model, TypedDict or JSON schema -> an OpenAI-style ``json_schema``
    response-format dict (bound, so traces show it)."""
    fn = convert_to_openai_tool(schema, strict=strict)["function"]
    spec: dict[str, Any] = {"name": fn["name"], "schema": fn.get("parameters") or {}}
    if fn.get("description"):
        spec["description"] = fn["description"]
    if strict is not None:
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}


def to_response_format(value: Any) -> ResponseFormat | None:
    """A bound ``response_format`` (``{"type": "json_object"}``, a json_schema dict, or a pydantic
    model / TypedDict / JSON schema) -> the neutral :class:`ResponseFormat`."""
    if value is None:
        return None
    if isinstance(value, ResponseFormat):
        return value
    if isinstance(value, Mapping) and value.get("type") in ("text", "json_object"):
        return ResponseFormat(type=value["type"])
    if isinstance(value, Mapping) and value.get("type") == "json_schema":
        spec = value.get("json_schema") or value
        return ResponseFormat(
            type="json_schema",
            schema=dict(spec.get("schema") or {}),
            name=str(spec.get("name") or "response"),
            strict=spec.get("strict"),
            description=spec.get("description"),
        )
    return to_response_format(json_schema_format(value, strict=None))


# --- results ------------------------------------------------------------------------------------


def display_model_name(
    reported: str | None, deployment: str | None, model_version: str | None
) -> str:
    """``response_metadata["model_name"]``: the real model the service reported, else the
    deployment; with ``model_version`` appended when given and not already part of it (as
    langchain-openai does, for cost tracking)."""
    name = reported or deployment or ""
    if model_version and name and model_version not in name:
        name = f"{name}-{model_version}"
    return name


def usage_metadata(usage: Usage) -> UsageMetadata:
    inp = InputTokenDetails(cache_read=usage.cached_input_tokens)
    if usage.cache_write_tokens:
        inp["cache_creation"] = usage.cache_write_tokens
    if usage.audio_input_tokens:
        inp["audio"] = usage.audio_input_tokens
    out = OutputTokenDetails(reasoning=usage.reasoning_tokens)
    if usage.audio_output_tokens:
        out["audio"] = usage.audio_output_tokens
    return UsageMetadata(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        input_token_details=inp,
        output_token_details=out,
    )


def filter_metadata(results: Sequence[ContentFilterResults]) -> dict[str, Any]:
    """Content-filter verdicts in langchain-openai's ``response_metadata`` shape (see
    :func:`azoai.wire.openai_filter_fields`)."""
    return openai_filter_fields(results)


def _metadata(
    *,
    model: str | None,
    deployment: str | None,
    model_version: str | None,
    finish_reason: str | None,
    response_id: str | None,
    system_fingerprint: str | None,
    filters: Sequence[ContentFilterResults],
    headers: Mapping[str, str] | None,
    usage: Usage | None,
    logprobs: list[dict[str, Any]] | None = None,
    target: str | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "model_provider": PROVIDER,
        "model_name": display_model_name(model, deployment, model_version),
        "deployment": deployment,
        "finish_reason": finish_reason,
    }
    if response_id:
        meta["id"] = response_id
    if system_fingerprint:
        meta["system_fingerprint"] = system_fingerprint
    if usage is not None:
        meta["token_usage"] = usage.to_dict()
    if target:
        meta["target"] = target
    if logprobs is not None:
        meta["logprobs"] = {"content": list(logprobs)}
    meta.update(filter_metadata(filters))
    if headers:
        meta["headers"] = dict(headers)
    return meta


def _reasoning_kwargs(items: Sequence[ReasoningItem]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not items:
        return out
    out["reasoning_items"] = [
        {"id": r.id, "summary": list(r.summary), "encrypted_content": r.encrypted_content}
        for r in items
    ]
    text = "\n\n".join(s for r in items for s in r.summary)
    if text:
        out["reasoning_content"] = text
    return out


def _split_calls(calls: Sequence[ToolCall]) -> tuple[list[Any], list[Any]]:
    valid, invalid = [], []
    for c in calls:
        if c.valid:
            valid.append(tool_call(name=c.name, args=dict(c.arguments or {}), id=c.id))
        else:
            invalid.append(
                invalid_tool_call(name=c.name, args=c.raw_arguments, id=c.id, error=c.error)
            )
    return valid, invalid


def result_to_message(
    result: ChatResult, *, model_version: str | None = None, headers: bool = True
) -> AIMessage:
    """A :class:`ChatResult` -> an ``AIMessage`` (text content, tool calls, invalid tool calls,
    usage and metadata; the response headers too unless ``headers=False``)."""
    msg = result.message
    additional = _reasoning_kwargs(msg.reasoning)
    if msg.refusal:
        additional["refusal"] = msg.refusal
    valid, invalid = _split_calls(msg.tool_calls)
    return AIMessage(
        content=msg.text,
        additional_kwargs=additional,
        tool_calls=valid,
        invalid_tool_calls=invalid,
        usage_metadata=usage_metadata(result.usage) if result.usage is not None else None,
        response_metadata=_metadata(
            model=result.model,
            deployment=result.deployment,
            model_version=model_version,
            finish_reason=result.finish_reason,
            response_id=result.response_id,
            system_fingerprint=result.system_fingerprint,
            filters=result.content_filter,
            headers=result.headers if headers else None,
            usage=result.usage,
            logprobs=result.logprobs,
            target=result.target,
        ),
        id=result.response_id,
    )


class StreamState:
    """Turns one stream's deltas into ``AIMessageChunk`` objects: text, reasoning and tool-call
    fragments as they arrive, then :meth:`last` -- the one chunk that carries the usage, the
    finish reason, the model name, the content-filter verdicts and the headers, marked
    ``chunk_position="last"`` (so usage and metadata are counted exactly once when LangChain adds
    the chunks up). What the stream adds up to is kept by the core's
    :class:`azoai.wire.StreamAccumulator` (``acc``); this class only presents it."""

    __slots__ = ("acc", "model_version", "reasoning_streamed")

    def __init__(self, *, deployment: str | None = None, model_version: str | None = None) -> None:
        # The deployment is a fallback: the core puts the one it resolved on the first delta.
        self.acc = StreamAccumulator(deployment=deployment)
        self.model_version = model_version
        self.reasoning_streamed = False

    def chunk(self, delta: StreamDelta) -> AIMessageChunk | None:
        """Fold ``delta`` into ``acc`` and present it."""
        return self.present(delta, self.acc.add(delta))

    def present(self, delta: StreamDelta, plain: bool | None = None) -> AIMessageChunk | None:
        """The chunk for a delta already folded into ``acc`` (by the core, which was given
        ``acc`` as ``into=``); ``plain`` as :meth:`StreamAccumulator.add` returned it."""
        if plain is None:
            plain = not (
                delta.tool_calls or delta.reasoning_text or delta.reasoning_items or delta.logprobs
            )
        if plain:
            # Text and metadata only, nearly every chunk: the message with no empty extras to
            # validate (the same message the general path builds).
            if not delta.text:
                return None
            return AIMessageChunk(
                content=delta.text,
                response_metadata={"model_provider": PROVIDER},
                id=self.acc.response_id,
            )
        additional: dict[str, Any] = {}
        if delta.reasoning_text:
            additional["reasoning_content"] = delta.reasoning_text
            self.reasoning_streamed = True
        if delta.reasoning_items:
            items = _reasoning_kwargs(delta.reasoning_items)
            additional["reasoning_items"] = items["reasoning_items"]
            if not self.reasoning_streamed and items.get("reasoning_content"):
                # The summary arrived whole, not as deltas: stream it as one reasoning delta.
                additional["reasoning_content"] = items["reasoning_content"]
        calls = [
            tool_call_chunk(name=c.name, args=c.arguments, id=c.id, index=c.index)
            for c in delta.tool_calls
        ]
        if not (delta.text or additional or calls or delta.logprobs):
            return None
        meta: dict[str, Any] = {"model_provider": PROVIDER}
        if delta.logprobs:
            # Per-chunk entries; adding the chunks up concatenates them.
            meta["logprobs"] = {"content": list(delta.logprobs)}
        return AIMessageChunk(
            content=delta.text,
            additional_kwargs=additional,
            tool_call_chunks=calls,
            response_metadata=meta,
            id=self.acc.response_id,
        )

    def last(self) -> AIMessageChunk:
        acc = self.acc
        return AIMessageChunk(
            content="",
            usage_metadata=usage_metadata(acc.usage) if acc.usage is not None else None,
            response_metadata=_metadata(
                model=acc.model,
                deployment=acc.deployment,
                model_version=self.model_version,
                finish_reason=acc.finish_reason,
                response_id=acc.response_id,
                system_fingerprint=acc.system_fingerprint,
                filters=acc.content_filter,
                headers=acc.headers,
                usage=acc.usage,
                target=acc.target,
            ),
            id=acc.response_id,
            chunk_position="last",
        )


# --- content blocks (LangChain's standard view of our messages) ---------------------------------


def _reasoning_blocks(message: AIMessage) -> list[types.ReasoningContentBlock]:
    kwargs = message.additional_kwargs
    text = kwargs.get("reasoning_content")
    items = [i for i in kwargs.get("reasoning_items") or () if isinstance(i, Mapping)]
    blocks: list[types.ReasoningContentBlock] = []
    for item in items:
        block = types.ReasoningContentBlock(type="reasoning")
        if item.get("id"):
            block["id"] = str(item["id"])
        summary = "\n\n".join(str(s) for s in item.get("summary") or ())
        if summary:
            block["reasoning"] = summary
        if item.get("encrypted_content"):
            block["extras"] = {"encrypted_content": item["encrypted_content"]}
        blocks.append(block)
    if isinstance(text, str) and text and not any("reasoning" in b for b in blocks):
        if blocks:
            blocks[0]["reasoning"] = text
        else:
            blocks.append(types.ReasoningContentBlock(type="reasoning", reasoning=text))
    return blocks


def _chunk_reasoning_block(kwargs: Mapping[str, Any]) -> types.ReasoningContentBlock | None:
    """A chunk's reasoning: text from the ``reasoning_content`` delta only (a reasoning item that
    completes later repeats text already streamed), id and encrypted content from the item."""
    text = kwargs.get("reasoning_content")
    items = [i for i in kwargs.get("reasoning_items") or () if isinstance(i, Mapping)]
    if not text and not items:
        return None
    block = types.ReasoningContentBlock(type="reasoning", index="lc_rs_0")
    if isinstance(text, str) and text:
        block["reasoning"] = text
    if items:
        if items[-1].get("id"):
            block["id"] = str(items[-1]["id"])
        if items[-1].get("encrypted_content"):
            block["extras"] = {"encrypted_content": items[-1]["encrypted_content"]}
    return block


def _text_blocks(content: Any) -> list[types.ContentBlock]:
    if isinstance(content, str):
        return [types.TextContentBlock(type="text", text=content)] if content else []
    out: list[types.ContentBlock] = []
    for item in content:
        if isinstance(item, str):
            if item:
                out.append(types.TextContentBlock(type="text", text=item))
        elif isinstance(item, dict):
            kind = item.get("type")
            if kind in types.KNOWN_BLOCK_TYPES and kind not in ("tool_call", "invalid_tool_call"):
                out.append(cast("types.ContentBlock", item))
            elif kind not in ("tool_call", "invalid_tool_call"):
                out.append(types.NonStandardContentBlock(type="non_standard", value=item))
    return out


def translate_content(message: AIMessage) -> list[types.ContentBlock]:
    """Standard content blocks for a message from this adapter: reasoning, text, tool calls and
    invalid tool calls, in that order."""
    if isinstance(message, AIMessageChunk) and message.chunk_position != "last":
        return translate_content_chunk(message)
    blocks: list[types.ContentBlock] = []
    blocks.extend(_reasoning_blocks(message))
    blocks.extend(_text_blocks(message.content))
    for tc in message.tool_calls:
        blocks.append(
            types.ToolCall(type="tool_call", id=tc.get("id"), name=tc["name"], args=tc["args"])
        )
    for itc in message.invalid_tool_calls:
        blocks.append(
            types.InvalidToolCall(
                type="invalid_tool_call",
                id=itc.get("id"),
                name=itc.get("name"),
                args=itc.get("args"),
                error=itc.get("error"),
            )
        )
    return blocks


def translate_content_chunk(chunk: AIMessageChunk) -> list[types.ContentBlock]:
    """Standard blocks for one streamed chunk. Blocks carry stable ``index`` keys (``lc_rs_0``,
    ``lc_txt_0``, ``lc_tc_<n>``) so that adding chunks up merges each block with its own
    fragments, and the stream-events protocol sees one block per kind."""
    if chunk.chunk_position == "last":
        return translate_content(chunk)
    blocks: list[types.ContentBlock] = []
    reasoning = _chunk_reasoning_block(chunk.additional_kwargs)
    if reasoning is not None:
        blocks.append(reasoning)
    for text_block in _text_blocks(chunk.content):
        if text_block["type"] == "text":
            text_block["index"] = "lc_txt_0"
        blocks.append(text_block)
    for c in chunk.tool_call_chunks:
        tc = types.ToolCallChunk(
            type="tool_call_chunk", id=c.get("id"), name=c.get("name"), args=c.get("args")
        )
        tc["index"] = f"lc_tc_{c.get('index') or 0}"
        blocks.append(tc)
    return blocks


def register_translator() -> None:
    """Make ``content_blocks`` of this adapter's messages use the functions above."""
    from langchain_core.messages.block_translators import register_translator as register

    register(PROVIDER, translate_content, translate_content_chunk)

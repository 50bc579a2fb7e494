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
import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
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
from langchain_core.utils.pydantic import is_basemodel_subclass

from azoai.config.catalog import ModelInfo, display_name
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
    openai_filter_fields,
)
from azoai.wire.builtin_tools import is_builtin_tool, read_item

__all__ = [
    "PROVIDER",
    "StreamState",
    "display_model_name",
    "filter_metadata",
    "format_tool",
    "model_profile",
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
        return Message(
            role="user",
            content=_content(m, allow_media=True),
            name=m.name,
            builtin_calls=_builtin_inputs(m.content),
        )
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
        if read_item(value) is not None:
            return None  # a built-in tool's item (an MCP approval answer): see _builtin_inputs
        raise ValueError(f"content block type {inner!r} is not supported")
    raise ValueError(f"content block type {kind!r} is not supported")


def _b64decode(data: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(data), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"the {what} block's base64 data is not valid base64: {exc}") from None


def _builtin_inputs(content: Any) -> list[BuiltinToolCall]:
    """The built-in tool items of a user's message (answers to MCP approval requests, as
    langchain-openai takes them: ``{"type": "mcp_approval_response", ...}`` blocks)."""
    if isinstance(content, str):
        return []
    found = (_builtin_from_block(b) for b in content if isinstance(b, dict))
    return [c for c in found if c is not None]


def _builtin_from_block(block: Mapping[str, Any]) -> BuiltinToolCall | None:
    """A built-in tool item kept in a message's content: as the service sent it (this adapter's
    and langchain-openai's "responses/v1" content), or in the standard blocks of ``content_blocks``
    / ``output_version="v1"`` (which carry it in ``extras["item"]``, see :func:`_server_blocks`)."""
    kind = block.get("type")
    extras = block.get("extras")
    kept = extras.get("item") if isinstance(extras, Mapping) else None
    if kind == "server_tool_call" and isinstance(kept, Mapping):
        return read_item(kept)
    if kind == "image" and isinstance(kept, Mapping):
        return read_item({**kept, "result": block.get("base64")})
    if kind == "non_standard":
        return read_item(block.get("value"))
    return read_item(block)


def _wire_annotations(raw: Any) -> list[dict[str, Any]]:
    """A text block's annotations as the service takes them back (LangChain's ``file_index``
    is the service's ``index``; a standard citation with a URL is a ``url_citation``)."""
    out: list[dict[str, Any]] = []
    for a in raw if isinstance(raw, list) else ():
        if not isinstance(a, Mapping):
            continue
        kind = a.get("type")
        if kind == "citation":
            extras = a.get("extras") or {}
            if a.get("url"):
                keys = ("url", "title", "start_index", "end_index")
                out.append({"type": "url_citation", **{k: a[k] for k in keys if k in a}})
            elif extras.get("file_id"):
                out.append({"type": "file_citation", "filename": a.get("title"), **extras})
        elif kind == "non_standard_annotation" and isinstance(a.get("value"), Mapping):
            out.append(dict(a["value"]))
        elif isinstance(kind, str):
            item = dict(a)
            if "file_index" in item:
                item["index"] = item.pop("file_index")
            out.append(item)
    return out


def _ai_message(m: AIMessage) -> Message:
    text_parts: list[str] = []
    builtin: list[BuiltinToolCall] = []
    annotations: list[dict[str, Any]] = []
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
                    annotations.extend(_wire_annotations(item.get("annotations")))
                elif kind == "reasoning" and item.get("id") and not reasoning:
                    rid = str(item["id"])
                    slot = v1_reasoning.setdefault(rid, ReasoningItem(id=rid))
                    if item.get("reasoning"):
                        slot.summary.append(str(item["reasoning"]))
                    # langchain-openai's "responses/v1" blocks: a summary list, top-level content
                    slot.summary.extend(_summary_texts(item.get("summary")))
                    enc = item.get("encrypted_content") or (item.get("extras") or {}).get(
                        "encrypted_content"
                    )
                    if enc:
                        slot.encrypted_content = str(enc)
                elif (call := _builtin_from_block(item)) is not None:
                    builtin.append(call)  # goes back with the next turn
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
        builtin_calls=builtin,
        annotations=annotations,
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
    legacy = kwargs.get("reasoning")
    if not out and isinstance(legacy, Mapping) and legacy.get("id"):
        # langchain-openai's "v0" messages keep the turn's reasoning item here, as the API sent it
        enc = legacy.get("encrypted_content")
        out.append(
            ReasoningItem(
                id=str(legacy["id"]),
                summary=_summary_texts(legacy.get("summary")),
                encrypted_content=enc if isinstance(enc, str) else None,
            )
        )
    return out


def _summary_texts(summary: Any) -> list[str]:
    """The texts of a Responses reasoning summary (``[{"type": "summary_text", "text": ...}]``)."""
    if not isinstance(summary, list):
        return []
    return [str(s["text"]) for s in summary if isinstance(s, Mapping) and s.get("text")]


# --- requests: tools and formats ----------------------------------------------------------------


def format_tool(tool: Any, *, strict: bool | None = None) -> dict[str, Any]:
    """A pydantic model, TypedDict, function, BaseTool or dict -> an OpenAI-style function tool
    dict (what ``bind_tools`` binds, so traces show the schema). A dict whose ``type`` is not
    ``function`` is a built-in tool (``{"type": "web_search"}``...), bound as given; the core
    checks it when the call is made."""
    if is_builtin_tool(tool):
        return dict(tool)
    formatted = convert_to_openai_tool(tool, strict=strict)
    if formatted.get("type") != "function" or "function" not in formatted:
        raise ValueError(f"tool {tool!r} is neither a function tool nor a built-in tool dict")
    return formatted


def bound_tool_names(tools: Sequence[Mapping[str, Any]]) -> list[str]:
    """What a ``tool_choice`` may name: the function tools' names and the built-in tools' types."""
    return [
        str(t["type"]) if is_builtin_tool(t) else str(t["function"]["name"])
        for t in tools
        if is_builtin_tool(t) or isinstance(t.get("function"), Mapping)
    ]


def to_builtin_tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The built-in tools among bound tool dicts, for :attr:`ChatRequest.builtin_tools`."""
    return [dict(t) for t in tools if is_builtin_tool(t)]


def to_tool_specs(tools: Sequence[Mapping[str, Any]]) -> list[ToolSpec]:
    """Bound tool dicts (see :func:`format_tool`) -> neutral tool specs (built-in tools are
    left to :func:`to_builtin_tools`)."""
    specs = []
    for t in tools:
        if is_builtin_tool(t):
            continue
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
    if isinstance(choice, Mapping) and choice.get("type") not in (None, "function"):
        choice = choice["type"]  # a built-in tool: {"type": "web_search"}
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


# --- model profiles -----------------------------------------------------------------------------


def model_profile(info: ModelInfo) -> dict[str, Any]:
    """LangChain's model profile (the keys langchain-openai's profiles carry) for a chat model of
    the core's catalogue, as azoai serves it on Azure: images in user messages only (Azure takes
    none in tool messages), PDFs where the model reads images and the Responses API serves it
    (azoai sends a file part there), audio in for the audio models, text out only. Nothing is
    claimed about tools added mid-conversation."""
    profile: dict[str, Any] = {
        "name": display_name(info.name),
        "max_input_tokens": info.context_window,
        "max_output_tokens": info.max_output,
        "text_inputs": True,
        "image_inputs": info.vision,
        "image_url_inputs": info.vision,
        "pdf_inputs": info.vision and info.responses_api,
        "audio_inputs": info.audio_input,
        "video_inputs": False,
        "image_tool_message": False,
        "pdf_tool_message": False,
        "text_outputs": True,
        "image_outputs": False,
        "audio_outputs": False,
        "video_outputs": False,
        "reasoning_output": info.reasoning or info.reasoning_output is not None,
        "tool_calling": info.tools,
        "tool_choice": info.tools,
        "tool_call_streaming": info.tools,
        "structured_output": info.json_schema,
        # the core drops temperature for reasoning models (they refuse it)
        "temperature": not info.reasoning,
    }
    if info.reasoning_efforts:
        profile["reasoning_effort_levels"] = list(info.reasoning_efforts)
        if info.default_effort is not None:
            profile["reasoning_effort_default"] = info.default_effort
    return profile


# --- results ------------------------------------------------------------------------------------


def each_choice(result: ChatResult) -> Iterator[ChatResult]:
    """The result of each completion of a call (several when it asked for ``n`` > 1), each with
    the call's usage and metadata, the prompt's filter verdicts and its own completion's."""
    if not result.choices:
        yield result
        return
    prompt = [f for f in result.content_filter if f.side == "prompt"]
    for c in result.choices:
        yield dataclasses.replace(
            result,
            message=c.message,
            finish_reason=c.finish_reason,
            logprobs=c.logprobs,
            content_filter=[*prompt, c.content_filter] if c.content_filter else prompt,
            choices=[],
        )


def parse_target(response_format: Any) -> type | None:
    """The pydantic class a per-call ``response_format`` names (its answer is parsed into
    ``additional_kwargs["parsed"]``), or ``None``."""
    if isinstance(response_format, type) and is_basemodel_subclass(response_format):
        return response_format
    return None


def parse_structured(target: type, text: str, refusal: str | None = None) -> Any:
    """``text`` parsed into the pydantic class ``target``; ``None`` when the answer is not one
    (a refusal, an answer cut off by the token limit): the text stays in the message."""
    if refusal or not text:
        return None
    model = cast("Any", target)
    try:
        if hasattr(model, "model_validate_json"):
            return model.model_validate_json(text)
        return model.parse_raw(text)  # a pydantic v1 class
    except ValueError:  # pydantic's ValidationError, either version
        return None


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


def _lc_annotation(annotation: Mapping[str, Any]) -> dict[str, Any]:
    # LangChain merges streamed blocks by their "index" key: a file citation's index (a
    # position in the text) goes by langchain-openai's name for it
    item = dict(annotation)
    if "index" in item:
        item["file_index"] = item.pop("index")
    return item


def _content_list(msg: Message) -> list[str | dict[str, Any]]:
    """Content in langchain-openai's "responses/v1" form: the built-in tools' items as the
    service sent them, then the text with its annotations."""
    out: list[str | dict[str, Any]] = [dict(c.item) for c in msg.builtin_calls]
    if msg.text or msg.annotations:
        out.append(
            {
                "type": "text",
                "text": msg.text,
                "annotations": [_lc_annotation(a) for a in msg.annotations],
            }
        )
    return out


def result_to_message(
    result: ChatResult,
    *,
    model_version: str | None = None,
    headers: bool = True,
    blocks: bool = False,
) -> AIMessage:
    """A :class:`ChatResult` -> an ``AIMessage`` (text content, tool calls, invalid tool calls,
    usage and metadata; the response headers too unless ``headers=False``). With built-in tools
    (``blocks``, or items or citations in the result) the content is a list: their items, then
    a text block with the citations (see :func:`_content_list`)."""
    msg = result.message
    additional = _reasoning_kwargs(msg.reasoning)
    if msg.refusal:
        additional["refusal"] = msg.refusal
    valid, invalid = _split_calls(msg.tool_calls)
    content: str | list[str | dict[str, Any]] = msg.text
    if blocks or msg.builtin_calls or msg.annotations:
        content = _content_list(msg)
    return AIMessage(
        content=content,
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
    :class:`azoai.wire.StreamAccumulator` (``acc``); this class only presents it.

    With ``blocks`` (built-in tools bound) the content of every chunk is a list, as
    langchain-openai streams the Responses API: each built-in tool's finished item, text and
    citations in ``{"type": "text", ...}`` blocks, each with an ``index`` that makes adding the
    chunks up give :meth:`result_to_message`'s list."""

    __slots__ = (
        "acc",
        "blocks",
        "model_version",
        "next_index",
        "parse_into",
        "reasoning_streamed",
        "text_index",
    )

    def __init__(
        self,
        *,
        deployment: str | None = None,
        model_version: str | None = None,
        blocks: bool = False,
        parse_into: type | None = None,
    ) -> None:
        # The deployment is a fallback: the core puts the one it resolved on the first delta.
        self.acc = StreamAccumulator(deployment=deployment)
        self.model_version = model_version
        self.reasoning_streamed = False
        self.blocks = blocks
        self.next_index = 0  # the index the next content block gets
        self.text_index: int | None = None  # the text block being streamed
        #: a per-call pydantic ``response_format``: the last chunk carries the parsed answer
        self.parse_into = parse_into

    def _content(self, delta: StreamDelta) -> str | list[str | dict[str, Any]]:
        if not self.blocks:
            return delta.text
        out: list[str | dict[str, Any]] = []
        for call in delta.builtin_calls:
            out.append({**call.item, "index": self.next_index})
            self.next_index += 1
            self.text_index = None  # text after an item is a block of its own
        if delta.text or delta.annotations:
            if self.text_index is None:
                self.text_index = self.next_index
                self.next_index += 1
            block: dict[str, Any] = {"type": "text", "index": self.text_index}
            if delta.text:
                block["text"] = delta.text
            if delta.annotations:
                block["annotations"] = [_lc_annotation(a) for a in delta.annotations]
            out.append(block)
        return out

    def chunk(self, delta: StreamDelta) -> AIMessageChunk | None:
        """Fold ``delta`` into ``acc`` and present it."""
        return self.present(delta, self.acc.add(delta))

    def present(self, delta: StreamDelta, plain: bool | None = None) -> AIMessageChunk | None:
        """The chunk for a delta already folded into ``acc`` (by the core, which was given
        ``acc`` as ``into=``); ``plain`` as :meth:`StreamAccumulator.add` returned it."""
        if plain is None:
            plain = not (
                delta.tool_calls
                or delta.reasoning_text
                or delta.reasoning_items
                or delta.logprobs
                or delta.builtin_calls
                or delta.annotations
            )
        if plain:
            # Text and metadata only, nearly every chunk: the message with no empty extras to
            # validate (the same message the general path builds).
            if not delta.text:
                return None
            return AIMessageChunk(
                content=self._content(delta),
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
        content = self._content(delta)
        if not (content or additional or calls or delta.logprobs):
            return None
        meta: dict[str, Any] = {"model_provider": PROVIDER}
        if delta.logprobs:
            # Per-chunk entries; adding the chunks up concatenates them.
            meta["logprobs"] = {"content": list(delta.logprobs)}
        return AIMessageChunk(
            content=content,
            additional_kwargs=additional,
            tool_call_chunks=calls,
            response_metadata=meta,
            id=self.acc.response_id,
        )

    def last(self) -> AIMessageChunk:
        acc = self.acc
        additional: dict[str, Any] = {}
        if self.parse_into is not None:
            additional["parsed"] = parse_structured(self.parse_into, acc.text)
        return AIMessageChunk(
            content="",
            additional_kwargs=additional,
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
            if kind == "text":
                out.append(_text_block(item))
            elif (server := _server_blocks(item)) is not None:
                out.extend(server)
            elif kind in types.KNOWN_BLOCK_TYPES and kind not in ("tool_call", "invalid_tool_call"):
                out.append(cast("types.ContentBlock", item))
            elif kind not in ("tool_call", "invalid_tool_call"):
                out.append(types.NonStandardContentBlock(type="non_standard", value=item))
    return out


def _text_block(item: Mapping[str, Any]) -> types.TextContentBlock:
    block = types.TextContentBlock(type="text", text=str(item.get("text", "")))
    if item.get("annotations"):
        block["annotations"] = [_std_annotation(a) for a in item["annotations"]]
    index = item.get("index")
    if isinstance(index, int):
        block["index"] = f"lc_txt_{index}"
    elif isinstance(index, str):
        block["index"] = index
    if isinstance(item.get("id"), str):
        block["id"] = item["id"]
    return block


def _std_annotation(a: Mapping[str, Any]) -> types.Annotation:
    """A citation from the service in LangChain's standard form (a URL citation from web search,
    a file citation from file search); any other annotation as a non-standard one."""
    kind = a.get("type")
    if kind == "url_citation" and a.get("url"):
        cite = types.Citation(type="citation", url=str(a["url"]))
        for key in ("title", "start_index", "end_index"):
            if key in a:
                cite[key] = a[key]
        return cite
    if kind == "file_citation":
        cite = types.Citation(type="citation")
        if a.get("filename"):
            cite["title"] = str(a["filename"])
        rest = {k: v for k, v in a.items() if k not in ("type", "filename", "file_index")}
        if "file_index" in a:
            rest["index"] = a["file_index"]
        cite["extras"] = rest
        return cite
    return types.NonStandardAnnotation(type="non_standard_annotation", value=dict(a))


#: LangChain's name for a call to a remote MCP server's tool (as langchain-core reads OpenAI's).
_SERVER_TOOL_NAMES = {"mcp": "remote_mcp"}


def _server_blocks(item: Mapping[str, Any]) -> list[types.ContentBlock] | None:
    """A built-in tool's item in LangChain's standard form: a ``server_tool_call`` with its
    ``server_tool_result``, an ``image`` for a generated image, an MCP approval request as a
    ``non_standard`` block; ``None`` when ``item`` is not a built-in tool's. The item itself is
    kept in ``extras["item"]`` (without the image bytes, which are the block's ``base64``), so a
    conversation in this form can be sent back."""
    call = read_item(item)
    if call is None:
        return None
    index = item.get("index")
    n = index if isinstance(index, int) else None
    kept = dict(call.item)
    if call.tool == "image_generation" and call.image is not None:
        image = types.ImageContentBlock(type="image", base64=str(kept.pop("result", "")))
        if call.image.mime_type:
            image["mime_type"] = call.image.mime_type
        if call.id:
            image["id"] = call.id
        image["extras"] = {**call.extras, "item": kept}
        if n is not None:
            image["index"] = f"lc_img_{n}"
        return [image]
    if call.tool in ("mcp_approval_request", "mcp_approval_response"):
        other = types.NonStandardContentBlock(type="non_standard", value=kept)
        if n is not None:
            other["index"] = f"lc_ns_{n}"
        return [other]
    request = types.ServerToolCall(
        type="server_tool_call",
        id=call.id,
        name=_SERVER_TOOL_NAMES.get(call.tool, call.tool),
        args=dict(call.args),
        extras={**call.extras, "item": kept},
    )
    result = types.ServerToolResult(
        type="server_tool_result",
        tool_call_id=call.id,
        status="error" if call.status == "error" else "success",
    )
    if call.output is not None:
        result["output"] = call.output
    if call.error or call.status not in (None, "success", "error"):
        result["extras"] = {
            k: v for k, v in (("error", call.error), ("status", call.status)) if v is not None
        }
    if n is not None:
        request["index"] = f"lc_stc_{n}"
        result["index"] = f"lc_str_{n}"
    return [request, result]


def translate_content(message: AIMessage) -> list[types.ContentBlock]:
    """Standard content blocks for a message from this adapter: reasoning, built-in tool calls
    and results (``server_tool_call`` / ``server_tool_result``, generated images), text with its
    citations, tool calls and invalid tool calls, in that order."""
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
        if text_block["type"] == "text" and "index" not in text_block:
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

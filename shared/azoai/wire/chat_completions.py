"""The Chat Completions dialect: neutral request -> body, body -> neutral result, chunks -> deltas.

Pure translation. Azure's stream quirks are absorbed here: a first chunk with empty ``choices``
(and empty id/model) carrying ``prompt_filter_results`` or ``prompt_annotations``, annotation-only
chunks, choices without ``delta``, tool-call arguments split across chunks, usage arriving last
in a chunk with no choices.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from azoai.config.catalog import ModelInfo
from azoai.config.versions import (
    ApiVersion,
    Feature,
    developer_role_for,
    require_feature,
    shape_chat_params,
    supports,
)
from azoai.content_filter import (
    ContentFilterResults,
    parse_prompt_filter_results,
)
from azoai.errors import InvalidResponseError
from azoai.wire.builtin_tools import chat_completions_refusal
from azoai.wire.common import int_or_zero, parse_tool_arguments, tool_choice_name
from azoai.wire.schema import without_defaults
from azoai.wire.stream import split_think, thinks_in_tags
from azoai.wire.types import (
    AudioPart,
    ChatRequest,
    ChatResult,
    Choice,
    FilePart,
    ImagePart,
    Message,
    ReasoningItem,
    StreamDelta,
    TextPart,
    ToolCall,
    ToolCallChunk,
    Usage,
)

__all__ = ["build_body", "parse_chunk", "parse_response", "parse_usage"]


def _content(content: str | list[Any] | None, version: ApiVersion, check: bool) -> Any:
    if content is None or isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            require_feature(version, Feature.VISION, check=check)
            image: dict[str, Any] = {"url": part.as_url()}
            if part.detail:
                image["detail"] = part.detail
            parts.append({"type": "image_url", "image_url": image})
        elif isinstance(part, FilePart):
            if part.file_id:
                parts.append({"type": "file", "file": {"file_id": part.file_id}})
            else:
                file: dict[str, Any] = {"file_data": part.as_data_url()}
                file["filename"] = part.filename or "document.pdf"
                parts.append({"type": "file", "file": file})
        elif isinstance(part, AudioPart):
            parts.append(
                {
                    "type": "input_audio",
                    "input_audio": {
                        "data": base64.b64encode(part.data).decode("ascii"),
                        "format": part.format,
                    },
                }
            )
    return parts


def _messages(
    request: ChatRequest, model: ModelInfo, version: ApiVersion, check: bool
) -> list[dict[str, Any]]:
    system_role = developer_role_for(model, version, "chat")
    developer_ok = supports(version, Feature.DEVELOPER_ROLE) and (
        model.developer_role or not model.known
    )
    out: list[dict[str, Any]] = []
    for m in request.messages:
        role = m.role
        if role in ("system", "developer"):
            wire_role = (
                system_role if role == "system" else ("developer" if developer_ok else "system")
            )
            if not model.system_role and model.known:
                wire_role = "user"  # o1-mini / o1-preview take no system or developer message
            msg: dict[str, Any] = {
                "role": wire_role,
                "content": _content(m.content, version, check),
            }
        elif role == "user":
            msg = {"role": "user", "content": _content(m.content, version, check)}
        elif role == "assistant":
            msg = {
                "role": "assistant",
                "content": _content(m.content, version, check) if m.content else None,
            }
            if m.tool_calls:
                msg["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {
                            "name": call.name,
                            "arguments": call.raw_arguments or _args_text(call),
                        },
                    }
                    for call in m.tool_calls
                ]
            if msg["content"] is None and not m.tool_calls:
                msg["content"] = ""
        elif role == "tool":
            msg = {
                "role": "tool",
                "tool_call_id": m.tool_call_id or "",
                "content": _content(m.content, version, check) or "",
            }
        else:  # pragma: no cover - Role is a closed Literal
            raise ValueError(f"unknown role {role!r}")
        if m.name and role in ("user", "assistant", "system", "developer"):
            msg["name"] = m.name
        out.append(msg)
    return out


def _args_text(call: ToolCall) -> str:
    import json

    return json.dumps(call.arguments or {}, ensure_ascii=False)


def _tools(request: ChatRequest) -> list[dict[str, Any]] | None:
    if not request.tools:
        return None
    out = []
    for t in request.tools:
        fn: dict[str, Any] = {
            "name": t.name,
            "parameters": without_defaults(t.parameters) if t.strict else dict(t.parameters),
        }
        if t.description:
            fn["description"] = t.description
        if t.strict is not None:
            fn["strict"] = t.strict
        out.append({"type": "function", "function": fn})
    return out


def _tool_choice(choice: str | bool | None, names: set[str]) -> Any:
    mode, tool = tool_choice_name(choice, names)
    return {"type": "function", "function": {"name": tool}} if tool else mode


def _response_format(request: ChatRequest) -> dict[str, Any] | None:
    fmt = request.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {"type": "json_object"}
    raw = fmt.schema or {}
    schema: dict[str, Any] = {
        "name": fmt.name,
        "schema": without_defaults(raw) if fmt.strict else dict(raw),
    }
    if fmt.strict is not None:
        schema["strict"] = fmt.strict
    if fmt.description:
        schema["description"] = fmt.description
    return {"type": "json_schema", "json_schema": schema}


def build_body(
    request: ChatRequest,
    *,
    deployment: str,
    route: str,
    model: ModelInfo,
    version: ApiVersion,
    stream: bool = False,
    strict: bool = False,
    check_version: bool = True,
) -> tuple[dict[str, Any], list[str]]:
    """The request body for ``/chat/completions`` and the notes of the rules that changed it."""
    if request.builtin_tools:
        raise chat_completions_refusal(request.builtin_tools)
    params: dict[str, Any] = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_tokens": request.max_tokens,
        "stop": list(request.stop) if request.stop else None,
        "seed": request.seed,
        "presence_penalty": request.presence_penalty,
        "frequency_penalty": request.frequency_penalty,
        "logprobs": request.logprobs,
        "top_logprobs": request.top_logprobs,
        "logit_bias": dict(request.logit_bias) if request.logit_bias else None,
        "user": request.user,
        "reasoning_effort": request.reasoning_effort,
        "verbosity": request.verbosity,
        "store": request.store,
        "metadata": dict(request.metadata) if request.metadata else None,
        "tools": _tools(request),
        "tool_choice": _tool_choice(request.tool_choice, {t.name for t in request.tools}),
        "parallel_tool_calls": request.parallel_tool_calls,
        "response_format": _response_format(request),
        "n": request.n if request.n != 1 else None,
    }
    if stream and request.stream_usage:
        params["stream_options"] = {"include_usage": True}
    shaped = shape_chat_params(
        params, api="chat", model=model, version=version, strict=strict, check_version=check_version
    )
    body: dict[str, Any] = {"messages": _messages(request, model, version, check_version)}
    if route == "v1":
        body["model"] = deployment
    body.update(shaped.params)
    if stream:
        body["stream"] = True
    if request.extra_body:
        body.update(request.extra_body)
    return body, shaped.notes


def parse_usage(raw: Any) -> Usage | None:
    if not isinstance(raw, Mapping):
        return None
    prompt_details = raw.get("prompt_tokens_details")
    completion_details = raw.get("completion_tokens_details")
    pd = prompt_details if isinstance(prompt_details, Mapping) else {}
    cd = completion_details if isinstance(completion_details, Mapping) else {}
    inp = int_or_zero(raw.get("prompt_tokens"))
    out = int_or_zero(raw.get("completion_tokens"))
    return Usage(
        input_tokens=inp,
        output_tokens=out,
        total_tokens=int_or_zero(raw.get("total_tokens")) or inp + out,
        cached_input_tokens=int_or_zero(pd.get("cached_tokens")),
        cache_write_tokens=int_or_zero(pd.get("cache_write_tokens")),
        reasoning_tokens=int_or_zero(cd.get("reasoning_tokens")),
        audio_input_tokens=int_or_zero(pd.get("audio_tokens")),
        audio_output_tokens=int_or_zero(cd.get("audio_tokens")),
    )


def _tool_calls(raw: Any) -> list[ToolCall]:
    if not isinstance(raw, list):
        return []
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            continue
        fn = item.get("function") if isinstance(item.get("function"), Mapping) else {}
        assert isinstance(fn, Mapping)
        args, text, error = parse_tool_arguments(fn.get("arguments"))
        out.append(
            ToolCall(
                id=str(item.get("id") or f"call_{i}"),
                name=str(fn.get("name") or ""),
                arguments=args,
                raw_arguments=text,
                error=error,
            )
        )
    return out


def _completion_filter(choice: Mapping[str, Any], index: int = 0) -> ContentFilterResults | None:
    raw = choice.get("content_filter_results")
    if not raw or (type(raw) is not dict and not isinstance(raw, Mapping)):
        return None
    # Present on nearly every streamed chunk: skip the ABC checks when there are no offsets.
    offsets = choice.get("content_filter_offsets")
    return ContentFilterResults(
        "completion",
        None,
        index,
        dict(offsets) if offsets is not None and isinstance(offsets, Mapping) else None,
        raw=raw,
    )


def _logprobs(choice: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    lp = choice.get("logprobs")
    content = lp.get("content") if isinstance(lp, Mapping) else None
    if not isinstance(content, list):
        return None
    return [dict(x) for x in content if isinstance(x, Mapping)]


def _reasoning_field(msg: Mapping[str, Any]) -> str:
    """Reasoning sent beside the content: ``reasoning_content`` (DeepSeek models on Azure AI
    Foundry), or ``reasoning`` as some gateways name it."""
    value = msg.get("reasoning_content") or msg.get("reasoning")
    return value if isinstance(value, str) else ""


def parse_response(
    body: Any,
    *,
    deployment: str | None = None,
    headers: dict[str, str] | None = None,
    think_tags: bool | None = None,
) -> ChatResult:
    """A Chat Completions response body -> :class:`ChatResult`.

    Reasoning (``reasoning_content``, or a leading ``<think>…</think>`` block when
    ``think_tags``; ``None`` decides by the model the body names) goes to ``message.reasoning``,
    never into the text."""
    if not isinstance(body, Mapping):
        raise InvalidResponseError("the chat completion is not a JSON object")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise InvalidResponseError("the chat completion has no choices")
    model = body.get("model")
    model = model if isinstance(model, str) and model else None
    split = think_tags if think_tags is not None else thinks_in_tags(model)
    read = [_choice(c, i, split) for i, c in enumerate(choices) if isinstance(c, Mapping)]
    read.sort(key=lambda c: c.index)
    first = read[0]
    filters = parse_prompt_filter_results(body)
    if first.content_filter is not None:
        filters.append(first.content_filter)
    fingerprint = body.get("system_fingerprint")
    return ChatResult(
        message=first.message,
        finish_reason=first.finish_reason,
        usage=parse_usage(body.get("usage")),
        model=model,
        deployment=deployment,
        response_id=body.get("id") if isinstance(body.get("id"), str) else None,
        system_fingerprint=fingerprint if isinstance(fingerprint, str) else None,
        content_filter=filters,
        headers=headers or {},
        api="chat",
        raw=body,
        logprobs=first.logprobs,
        choices=read if len(read) > 1 else [],
    )


def _choice(choice: Mapping[str, Any], position: int, split: bool) -> Choice:
    """One entry of a completion's ``choices`` (its ``index``, else its position)."""
    raw_msg = choice.get("message")
    msg = raw_msg if isinstance(raw_msg, Mapping) else {}
    content = msg.get("content")
    text = content if isinstance(content, str) else ""
    refusal = msg.get("refusal")
    reasoning = _reasoning_field(msg)
    if split and text and not reasoning:
        text, reasoning = split_think(text)
    message = Message(
        role="assistant",
        content=text,
        tool_calls=_tool_calls(msg.get("tool_calls")),
        refusal=refusal if isinstance(refusal, str) else None,
        reasoning=[ReasoningItem(id="", summary=[reasoning])] if reasoning else [],
    )
    index = choice.get("index")
    index = index if isinstance(index, int) and not isinstance(index, bool) else position
    finish = choice.get("finish_reason")
    return Choice(
        index=index,
        message=message,
        finish_reason=finish if isinstance(finish, str) else None,
        logprobs=_logprobs(choice),
        content_filter=_completion_filter(choice, index),
    )


def parse_chunk(chunk: Any) -> StreamDelta | None:
    """One ``data:`` chunk -> a delta, or ``None`` when it carries nothing a caller can use.

    On the per-chunk hot path: decoded JSON objects are ``dict``, so each shape check tries the
    exact type first and an ``isinstance(..., Mapping)`` ABC check (several times dearer, most of
    this function's cost when done for every field) only for anything else; an absent or empty
    field is skipped before any check."""
    if type(chunk) is not dict and not isinstance(chunk, Mapping):
        raise InvalidResponseError("a stream chunk is not a JSON object")
    delta = StreamDelta(raw=chunk)
    useful = False
    if "prompt_filter_results" in chunk or "prompt_annotations" in chunk:
        filters = parse_prompt_filter_results(chunk)
        if filters:
            delta.content_filter.extend(filters)
            useful = True
    usage = chunk.get("usage")
    if usage is not None:
        parsed = parse_usage(usage)
        if parsed is not None:
            delta.usage = parsed
            useful = True
    cid = chunk.get("id")
    if cid and type(cid) is str:
        delta.response_id = cid
    model = chunk.get("model")
    if model and type(model) is str:
        delta.model = model
    fp = chunk.get("system_fingerprint")
    if fp and type(fp) is str:
        delta.system_fingerprint = fp
    choices = chunk.get("choices")
    if not choices or type(choices) is not list:
        return delta if useful else None
    for choice in choices:
        if type(choice) is not dict and not isinstance(choice, Mapping):
            continue
        index = choice.get("index")
        if index and int_or_zero(index) != 0:
            continue
        d = choice.get("delta")
        if d and (type(d) is dict or isinstance(d, Mapping)):
            text = d.get("content")
            if text and type(text) is str:
                delta.text = text
                useful = True
            if "reasoning_content" in d or "reasoning" in d:
                reasoning = d.get("reasoning_content") or d.get("reasoning")
                if reasoning and type(reasoning) is str:
                    delta.reasoning_text = reasoning
                    useful = True
            refusal = d.get("refusal")
            if refusal and isinstance(refusal, str):
                delta.text += refusal
                useful = True
            calls = d.get("tool_calls")
            if calls and isinstance(calls, list) and _tool_call_chunks(calls, delta.tool_calls):
                useful = True
        if choice.get("content_filter_results"):
            completion = _completion_filter(choice)
            if completion is not None:
                delta.content_filter.append(completion)
                useful = True
        if choice.get("logprobs"):
            lp = _logprobs(choice)
            if lp:
                delta.logprobs = lp
                useful = True
        finish = choice.get("finish_reason")
        if finish and isinstance(finish, str):
            delta.finish_reason = finish
            useful = True
    return delta if useful else None


def _tool_call_chunks(calls: list[Any], out: list[ToolCallChunk]) -> bool:
    """Append the tool-call fragments in ``calls`` to ``out``; ``True`` when there were any."""
    before = len(out)
    for i, call in enumerate(calls):
        if not isinstance(call, Mapping):
            continue
        fn = call.get("function") if isinstance(call.get("function"), Mapping) else {}
        assert isinstance(fn, Mapping)
        args = fn.get("arguments")
        name = fn.get("name")
        call_id = call.get("id")
        idx = call.get("index")
        out.append(
            ToolCallChunk(
                index=idx if isinstance(idx, int) and not isinstance(idx, bool) else i,
                id=call_id if isinstance(call_id, str) and call_id else None,
                name=name if isinstance(name, str) and name else None,
                arguments=args if isinstance(args, str) else "",
            )
        )
    return len(out) > before

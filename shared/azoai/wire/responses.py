"""The Responses API dialect: neutral request -> body, response -> result, stream events -> deltas.

Pure translation, like :mod:`azoai.wire.chat_completions`. System messages become
``instructions``; tool calls and results become ``function_call`` / ``function_call_output``
items; reasoning items round-trip (id, summary, encrypted content) so multi-turn reasoning works
with ``store=False`` as well as with ``previous_response_id``: with ``store=False`` a reasoning
model is asked for its encrypted content (``include``), and reasoning goes back only with it.
Built-in tools (:mod:`azoai.wire.builtin_tools`) go beside the function tools; their output items
and the text's citations are read into the message and go back with the next turn.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from azoai.config.catalog import ModelInfo
from azoai.config.versions import ApiVersion, shape_chat_params
from azoai.content_filter import ContentFilterResults, blocked_side, parse_content_filters
from azoai.error_reading import content_filter_error, is_content_filter
from azoai.errors import (
    AzoaiError,
    ConfigError,
    ContextLengthError,
    InvalidResponseError,
    RateLimitError,
    ServiceUnavailableError,
)
from azoai.wire import builtin_tools
from azoai.wire.common import int_or_zero, parse_tool_arguments, tool_choice_name
from azoai.wire.schema import without_defaults
from azoai.wire.types import (
    AudioPart,
    BuiltinToolCall,
    ChatRequest,
    ChatResult,
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

__all__ = [
    "TERMINAL_EVENTS",
    "FailedWithoutDetail",
    "build_body",
    "parse_event",
    "parse_response",
    "parse_usage",
]

TERMINAL_EVENTS = frozenset(
    {"response.completed", "response.failed", "response.incomplete", "error"}
)


def _input_parts(content: str | list[Any] | None, role: str) -> list[dict[str, Any]]:
    text_type = "output_text" if role == "assistant" else "input_text"
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": text_type, "text": content}]
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart):
            parts.append({"type": text_type, "text": part.text})
        elif isinstance(part, ImagePart):
            img: dict[str, Any] = {"type": "input_image", "image_url": part.as_url()}
            img["detail"] = part.detail or "auto"
            parts.append(img)
        elif isinstance(part, FilePart):
            if part.file_id:
                parts.append({"type": "input_file", "file_id": part.file_id})
            else:
                parts.append(
                    {
                        "type": "input_file",
                        "file_data": part.as_data_url(),
                        "filename": part.filename or "document.pdf",
                    }
                )
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


def _reasoning_input(r: ReasoningItem, stateless: bool) -> dict[str, Any] | None:
    """A reasoning item of an earlier turn as input, or ``None`` to leave it out."""
    if not r.id:
        return None
    if stateless and not r.encrypted_content:
        # With store=False Azure has nothing to look a bare id up in: it answers "Item with id
        # 'rs_…' not found. Items are not persisted when `store` is set to false"
        # (openclaw/openclaw#21782). Leaving the item out loses only the model's hidden
        # reasoning of that turn; its text and tool calls still carry the conversation.
        return None
    item: dict[str, Any] = {
        "type": "reasoning",
        "id": r.id,
        "summary": [{"type": "summary_text", "text": s} for s in r.summary],
    }
    if r.encrypted_content:
        item["encrypted_content"] = r.encrypted_content
    return item


def _items(
    messages: list[Message], *, stateless: bool = False
) -> tuple[str | None, list[dict[str, Any]]]:
    """Instructions and input items; ``stateless`` (``store=False``): reasoning items only with
    their encrypted content."""
    instructions: list[str] = []
    items: list[dict[str, Any]] = []
    for m in messages:
        if m.role in ("system", "developer") and not items:
            instructions.append(m.text)
            continue
        if m.role in ("system", "developer"):
            items.append(
                {"type": "message", "role": m.role, "content": _input_parts(m.content, m.role)}
            )
        elif m.role == "user":
            if m.content or not m.builtin_calls:
                items.append(
                    {"type": "message", "role": "user", "content": _input_parts(m.content, "user")}
                )
            # answers to MCP approval requests go after the user's words
            items.extend(builtin_tools.replay_item(c, stateless=stateless) for c in m.builtin_calls)
        elif m.role == "assistant":
            for r in m.reasoning:
                item = _reasoning_input(r, stateless)
                if item is not None:
                    items.append(item)
            # built-in tool items came before the message, and go back in that order
            items.extend(builtin_tools.replay_item(c, stateless=stateless) for c in m.builtin_calls)
            if m.content:
                parts = _input_parts(m.content, "assistant")
                if m.annotations and parts:
                    parts[0]["annotations"] = [dict(a) for a in m.annotations]
                items.append({"type": "message", "role": "assistant", "content": parts})
            for call in m.tool_calls:
                items.append(
                    {
                        "type": "function_call",
                        "call_id": call.id,
                        "name": call.name,
                        "arguments": call.raw_arguments
                        or json.dumps(call.arguments or {}, ensure_ascii=False),
                    }
                )
        elif m.role == "tool":
            items.append(
                {"type": "function_call_output", "call_id": m.tool_call_id or "", "output": m.text}
            )
    return ("\n\n".join(t for t in instructions if t) or None), items


def build_body(
    request: ChatRequest,
    *,
    deployment: str,
    model: ModelInfo,
    version: ApiVersion,
    stream: bool = False,
    strict: bool = False,
    check_version: bool = True,
) -> tuple[dict[str, Any], list[str]]:
    """The body for ``POST /openai/v1/responses`` and the notes of the rules that changed it."""
    if request.n is not None and request.n != 1:
        raise ConfigError(
            f"n={request.n}: the Responses API returns one completion per call",
            setting="n",
            fix="use Chat Completions for several completions per call (use_responses_api=False), "
            "or make n calls",
        )
    names = {t.name for t in request.tools}
    tools = [
        {
            "type": "function",
            "name": t.name,
            "description": t.description,
            "parameters": without_defaults(t.parameters) if t.strict else dict(t.parameters),
            **({"strict": t.strict} if t.strict is not None else {}),
        }
        for t in request.tools
    ]
    hosted = builtin_tools.check_tools(request.builtin_tools)
    tools.extend(hosted)
    choice: Any = builtin_tools.tool_choice(request.tool_choice, hosted)
    if choice is None:
        mode, tool = tool_choice_name(request.tool_choice, names)
        choice = {"type": "function", "name": tool} if tool else mode
    params: dict[str, Any] = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_tokens": request.max_tokens,
        "reasoning_effort": request.reasoning_effort,
        "verbosity": request.verbosity,
        "tools": tools or None,
        "tool_choice": choice,
        "parallel_tool_calls": request.parallel_tool_calls,
    }
    shaped = shape_chat_params(
        params,
        api="responses",
        model=model,
        version=version,
        strict=strict,
        check_version=check_version,
    )
    p = shaped.params
    extra = request.extra_body or {}
    stateless = extra.get("store", request.store) is False
    instructions, items = _items(list(request.messages), stateless=stateless)
    body: dict[str, Any] = {"model": deployment, "input": items}
    if instructions:
        body["instructions"] = instructions
    for key in (
        "temperature",
        "top_p",
        "max_output_tokens",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
    ):
        if key in p:
            body[key] = p[key]
    if model.reasoning or not model.known:
        reasoning: dict[str, Any] = {}
        if "reasoning_effort" in p:
            reasoning["effort"] = p["reasoning_effort"]
        if request.reasoning_summary:
            reasoning["summary"] = request.reasoning_summary
        if reasoning:
            body["reasoning"] = reasoning
    text: dict[str, Any] = {}
    fmt = request.response_format
    if fmt is not None and fmt.type == "json_object":
        text["format"] = {"type": "json_object"}
    elif fmt is not None and fmt.type == "json_schema":
        f: dict[str, Any] = {
            "type": "json_schema",
            "name": fmt.name,
            "schema": without_defaults(fmt.schema or {}) if fmt.strict else dict(fmt.schema or {}),
        }
        if fmt.strict is not None:
            f["strict"] = fmt.strict
        if fmt.description:
            f["description"] = fmt.description
        text["format"] = f
    if "verbosity" in p:
        text["verbosity"] = p["verbosity"]
    if text:
        body["text"] = text
    if request.store is not None:
        body["store"] = request.store
    if request.previous_response_id:
        body["previous_response_id"] = request.previous_response_id
    if request.metadata:
        body["metadata"] = dict(request.metadata)
    if request.user:
        body["user"] = request.user
    if stream:
        body["stream"] = True
    if request.extra_body:
        body.update(request.extra_body)
    include = _include(request.include, extra.get("include"), stateless and model.reasoning)
    if include:
        body["include"] = include
    return body, shaped.notes


#: What a reasoning model returns so its reasoning can be sent back without the store.
ENCRYPTED_REASONING = "reasoning.encrypted_content"


def _include(asked: Any, extra: Any, encrypted: bool) -> list[str]:
    """``include``: the caller's (the request's, then ``extra_body``'s), once each, and with
    ``encrypted`` (``store=False`` on a reasoning model) the encrypted reasoning, so that the
    next turn can send the reasoning back. Only reasoning models: the others answer it with a
    400 ("Encrypted content is not supported with this model", microsoft/agent-framework#7483)."""
    out: dict[str, None] = {}
    for source in (asked, extra):
        if isinstance(source, str):
            out[source] = None
        elif isinstance(source, list | tuple):
            out.update((str(v), None) for v in source)
    if encrypted:
        out[ENCRYPTED_REASONING] = None
    return list(out)


def parse_usage(raw: Any) -> Usage | None:
    if not isinstance(raw, Mapping):
        return None
    idt = raw.get("input_tokens_details")
    odt = raw.get("output_tokens_details")
    i = idt if isinstance(idt, Mapping) else {}
    o = odt if isinstance(odt, Mapping) else {}
    inp = int_or_zero(raw.get("input_tokens"))
    out = int_or_zero(raw.get("output_tokens"))
    return Usage(
        input_tokens=inp,
        output_tokens=out,
        total_tokens=int_or_zero(raw.get("total_tokens")) or inp + out,
        cached_input_tokens=int_or_zero(i.get("cached_tokens")),
        cache_write_tokens=int_or_zero(i.get("cache_write_tokens")),
        reasoning_tokens=int_or_zero(o.get("reasoning_tokens")),
    )


def _reasoning(item: Mapping[str, Any]) -> ReasoningItem:
    summary = item.get("summary")
    texts = []
    if isinstance(summary, list):
        for s in summary:
            if isinstance(s, Mapping) and isinstance(s.get("text"), str):
                texts.append(s["text"])
    enc = item.get("encrypted_content")
    return ReasoningItem(
        id=str(item.get("id") or ""),
        summary=texts,
        encrypted_content=enc if isinstance(enc, str) else None,
    )


def _annotations(raw: Any) -> list[dict[str, Any]]:
    """A text part's annotations (citations), as sent; their indexes count in that part's text
    (a response has one text part in practice)."""
    if not isinstance(raw, list):
        return []
    return [dict(a) for a in raw if isinstance(a, Mapping) and isinstance(a.get("type"), str)]


def _finish(status: Any, incomplete: Any, has_calls: bool) -> str | None:
    if status == "incomplete":
        reason = incomplete.get("reason") if isinstance(incomplete, Mapping) else None
        if reason == "max_output_tokens":
            return "length"
        if reason == "content_filter":
            return "content_filter"
        return str(reason) if reason else "length"
    if status == "completed":
        return "tool_calls" if has_calls else "stop"
    return str(status) if isinstance(status, str) else None


def parse_response(
    body: Any, *, deployment: str | None = None, headers: dict[str, str] | None = None
) -> ChatResult:
    """A Responses API response object -> :class:`ChatResult`."""
    if not isinstance(body, Mapping):
        raise InvalidResponseError("the response is not a JSON object")
    output = body.get("output")
    if not isinstance(output, list):
        raise InvalidResponseError("the response has no output list")
    filters = parse_content_filters(body.get("content_filters"))
    failed = body.get("status") == "failed"
    if failed and _filtered_side(body) != "completion":
        raise _failure(body.get("error"), body)
    if failed and not filters:
        filters = _filtered_delta(body.get("error"), None).content_filter
    texts: list[str] = []
    calls: list[ToolCall] = []
    reasoning: list[ReasoningItem] = []
    builtin: list[BuiltinToolCall] = []
    annotations: list[dict[str, Any]] = []
    refusal = None
    for item in output:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        if kind == "message":
            content = item.get("content")
            if isinstance(content, list):
                for part in content:
                    if isinstance(part, Mapping):
                        if part.get("type") == "output_text" and isinstance(part.get("text"), str):
                            texts.append(part["text"])
                            annotations.extend(_annotations(part.get("annotations")))
                        elif part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
                            refusal = part["refusal"]
        elif kind in ("function_call", "tool_call"):
            raw_args = item.get("arguments", item.get("input"))
            args, text, error = parse_tool_arguments(raw_args)
            call_id = item.get("call_id") or item.get("id") or f"call_{len(calls)}"
            calls.append(
                ToolCall(
                    id=str(call_id),
                    name=str(item.get("name") or ""),
                    arguments=args,
                    raw_arguments=text,
                    error=error,
                )
            )
        elif kind == "reasoning":
            reasoning.append(_reasoning(item))
        else:
            call = builtin_tools.read_item(item)
            if call is not None:
                builtin.append(call)
    message = Message(
        role="assistant",
        content="".join(texts),
        tool_calls=calls,
        reasoning=reasoning,
        refusal=refusal,
        builtin_calls=builtin,
        annotations=annotations,
    )
    return ChatResult(
        message=message,
        # a completion the filter stopped fails on the Responses API: the caller gets the
        # ContentFilterError with what was produced (or the partial result, return_filtered)
        finish_reason="content_filter"
        if failed
        else _finish(body.get("status"), body.get("incomplete_details"), bool(calls)),
        content_filter=filters,
        usage=parse_usage(body.get("usage")),
        model=body.get("model") if isinstance(body.get("model"), str) else None,
        deployment=deployment,
        response_id=body.get("id") if isinstance(body.get("id"), str) else None,
        headers=headers or {},
        api="responses",
        raw=body,
    )


class FailedWithoutDetail(ServiceUnavailableError):
    """A ``response.failed`` that names no error: Azure sends the reason (the content filter,
    say) in the ``error`` event that follows (maximhq/bifrost#6419), so a stream reads on; this
    is raised only when nothing follows."""


def _filtered_side(response: Mapping[str, Any]) -> str | None:
    """The side a failed response's content filter blocked, from its ``error`` or its
    ``content_filters`` list; ``None`` when the failure is not the content filter."""
    err = response.get("error")
    if isinstance(err, Mapping) and is_content_filter(err):
        side = blocked_side(response.get("content_filters"))
        return side or content_filter_error(err, "").side
    return blocked_side(response.get("content_filters"))


def _failure(error: Any, response: Mapping[str, Any] | None = None) -> AzoaiError:
    err = error if isinstance(error, Mapping) else {}
    code = str(err.get("code") or "")
    message = str(err.get("message") or "the response failed")
    listed = response.get("content_filters") if response is not None else None
    if is_content_filter(err) or blocked_side(listed) is not None:
        if "content_filters" not in err and listed is not None:
            err = {**err, "content_filters": listed}
        return content_filter_error(err, message)
    if not err and response is not None:
        return FailedWithoutDetail("Responses API: the response failed and named no error")
    if code in ("rate_limit_exceeded",):
        return RateLimitError(f"Responses API: {message}", code=code)
    if code in ("context_length_exceeded",):
        return ContextLengthError(f"Responses API: {message}", code=code)
    if code in ("server_error", "vector_store_timeout") or not code:
        return ServiceUnavailableError(f"Responses API: {message}", code=code or None)
    return AzoaiError(f"Responses API failed ({code}): {message}", code=code)


def parse_event(event: Any) -> StreamDelta | None:
    """One Responses stream event -> a delta (``None`` for events with nothing to report).

    ``response.failed`` and ``error`` raise the matching typed error."""
    delta = _event_delta(event)
    if delta is not None:
        delta.raw = event
    return delta


def _event_delta(event: Any) -> StreamDelta | None:
    if not isinstance(event, Mapping):
        raise InvalidResponseError("a stream event is not a JSON object")
    kind = event.get("type")
    if kind == "response.output_text.delta":
        d = event.get("delta")
        return StreamDelta(text=d) if isinstance(d, str) and d else None
    if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
        d = event.get("delta")
        return StreamDelta(reasoning_text=d) if isinstance(d, str) and d else None
    if kind == "response.function_call_arguments.delta":
        d = event.get("delta")
        return StreamDelta(
            tool_calls=[
                ToolCallChunk(
                    index=int_or_zero(event.get("output_index")),
                    arguments=d if isinstance(d, str) else "",
                )
            ]
        )
    if kind == "response.output_item.added":
        item = event.get("item")
        if isinstance(item, Mapping) and item.get("type") == "function_call":
            return StreamDelta(
                tool_calls=[
                    ToolCallChunk(
                        index=int_or_zero(event.get("output_index")),
                        id=str(item.get("call_id") or item.get("id") or ""),
                        name=str(item.get("name") or ""),
                        arguments=str(item.get("arguments") or ""),
                    )
                ]
            )
        return None
    if kind == "response.output_item.done":
        item = event.get("item")
        if isinstance(item, Mapping) and item.get("type") == "reasoning":
            return StreamDelta(reasoning_items=[_reasoning(item)])
        # a built-in tool's item, finished (its progress events carry nothing to keep)
        call = builtin_tools.read_item(item)
        return StreamDelta(builtin_calls=[call]) if call is not None else None
    if kind == "response.output_text.annotation.added":
        found = _annotations([event.get("annotation")])
        return StreamDelta(annotations=found) if found else None
    if kind == "response.created":
        resp = event.get("response")
        if isinstance(resp, Mapping):
            return StreamDelta(
                response_id=resp.get("id") if isinstance(resp.get("id"), str) else None,
                model=resp.get("model") if isinstance(resp.get("model"), str) else None,
            )
        return None
    if kind in ("response.completed", "response.incomplete"):
        resp = event.get("response")
        r = resp if isinstance(resp, Mapping) else {}
        output = r.get("output")
        has_calls = isinstance(output, list) and any(
            isinstance(i, Mapping) and i.get("type") == "function_call" for i in output
        )
        return StreamDelta(
            finish_reason=_finish(
                r.get("status") or kind.split(".")[1], r.get("incomplete_details"), has_calls
            )
            or "stop",
            usage=parse_usage(r.get("usage")),
            response_id=r.get("id") if isinstance(r.get("id"), str) else None,
            model=r.get("model") if isinstance(r.get("model"), str) else None,
        )
    if kind == "response.failed":
        resp = event.get("response")
        r = resp if isinstance(resp, Mapping) else {}
        if _filtered_side(r) == "completion":
            return _filtered_delta(r.get("error"), r.get("content_filters"))
        raise _failure(r.get("error"), r)
    if kind == "error":
        raw_err = event.get("error")
        err: Mapping[str, Any] = raw_err if isinstance(raw_err, Mapping) else event
        if is_content_filter(err) and content_filter_error(err, "").side == "completion":
            return _filtered_delta(err, err.get("content_filters"))
        raise _failure(err)
    return None


def _filtered_delta(error: Any, listed: Any) -> StreamDelta:
    """The stream's end when the filter stopped the completion: the stream bookkeeping raises
    the :class:`ContentFilterError` with the text that arrived (or, ``return_filtered``, ends the
    stream with ``finish_reason="content_filter"``)."""
    filters: list[ContentFilterResults] = parse_content_filters(listed)
    if not filters and isinstance(error, Mapping):
        verdict = content_filter_error(error, "").results
        filters = list(verdict)
    return StreamDelta(finish_reason="content_filter", content_filter=filters)

"""Chat Completions, on both routes: validation, generation, and the response or stream.

A streamed reply is sent as Azure sends it (azure-openai-facts §5.2): a first chunk with empty
``choices``, ``prompt_filter_results`` and empty ``id``/``object``/``model``; a role chunk; one
chunk per content token (each carrying its ``content_filter_results``) or tool-call deltas (name
first, then the arguments in pieces); the chunk with ``finish_reason``; an annotation-only chunk
(empty ``id``, a ``content_filter_results`` verdict and ``content_filter_offsets``) after
content; a usage chunk with empty ``choices`` when ``stream_options.include_usage`` is set; then
``data: [DONE]``. A completion-side filter replaces the finish chunk with an annotation chunk
whose ``finish_reason`` is ``content_filter``.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from azoai_emulator import azure_errors
from azoai_emulator.api_versions import Feature
from azoai_emulator.filters import completion_results, prompt_filter_results
from azoai_emulator.generation import Generation, generate, prompt_tokens, tool_specs, usage_details
from azoai_emulator.model import Conversation, ToolCall, ToolSpec, Turn
from azoai_emulator.pipeline import (
    Target,
    admit,
    check_blocklist,
    prepare,
    reject_unknown,
    sse,
    success_headers,
)
from azoai_emulator.protocol import Call, HttpResult, StreamResult
from azoai_emulator.rules import (
    check_numbers,
    check_output_limit,
    check_reasoning,
    check_strict_schema,
    check_tool_name,
    check_tool_parameters,
    check_tools_with_reasoning,
    check_version_gated,
    effort_of,
    invalid_type,
)
from azoai_emulator.state import EmulatorState
from azoai_emulator.tokens import wordset

__all__ = ["handle_chat"]

CHAT_PARAMS = wordset(
    """messages model frequency_penalty logit_bias logprobs top_logprobs max_tokens
    max_completion_tokens n presence_penalty response_format seed stop stream stream_options
    temperature top_p tools tool_choice parallel_tool_calls user function_call functions
    reasoning_effort store metadata prediction modalities audio service_tier verbosity
    web_search_options prompt_cache_key safety_identifier user_security_context"""
)
#: Arguments older dated api-versions do not know (facts §1.4). The last group exists only in the
#: newest previews, approximated by the Responses API's first version.
VERSION_GATED: dict[str, Feature] = {
    "functions": Feature.FUNCTIONS,
    "function_call": Feature.FUNCTIONS,
    "tools": Feature.TOOLS,
    "tool_choice": Feature.TOOLS,
    "parallel_tool_calls": Feature.PARALLEL_TOOL_CALLS,
    "max_completion_tokens": Feature.MAX_COMPLETION_TOKENS,
    "stream_options": Feature.STREAM_OPTIONS,
    "reasoning_effort": Feature.REASONING_EFFORT,
    "store": Feature.STORE,
    "metadata": Feature.STORE,
    "prediction": Feature.PREDICTION,
    **{
        name: Feature.RESPONSES
        for name in (
            "modalities",
            "audio",
            "service_tier",
            "verbosity",
            "web_search_options",
            "prompt_cache_key",
            "safety_identifier",
            "user_security_context",
        )
    },
}
ROLES = ("system", "assistant", "user", "function", "tool", "developer")
_ALPHANUM = string.ascii_letters + string.digits


@dataclass(slots=True)
class ChatRequest:
    conv: Conversation
    stream: bool
    include_usage: bool
    n: int
    limit: int | None
    stop: list[str]
    effort: str | None
    logprobs: int | None  # top_logprobs when logprobs is on
    legacy_functions: bool


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHANUM) for _ in range(29))


def fingerprint(model: str) -> str:
    return "fp_" + hashlib.blake2b(model.encode(), digest_size=5).hexdigest()


async def handle_chat(
    call: Call, state: EmulatorState, *, route: str, deployment: str | None
) -> HttpResult | StreamResult:
    target = await prepare(call, state, operation="chat", route=route, path_deployment=deployment)
    req = parse_chat(target)
    tokens = prompt_tokens(req.conv.turns, req.conv.tools)
    check_context(target, len(tokens), req.limit)
    check_blocklist(target, "\n".join(t.text for t in req.conv.turns))
    decision = admit(state, target, len(tokens) + (req.limit or 0))
    cached = state.cached_tokens(target.deployment.name, tokens)
    gen = generate(
        state,
        target.deployment,
        req.conv,
        limit=req.limit,
        effort=req.effort,
        stop=req.stop,
        completion_filter=target.faults.completion_filter,
    )
    headers = success_headers(target, decision)
    usage = usage_details(gen, len(tokens), cached)
    per_token = target.deployment.token_latency + target.faults.per_token
    if req.stream:
        return StreamResult(
            stream_events(target, req, gen, usage), headers, per_token, target.faults.cut_after
        )
    if per_token > 0:
        await state.wait(per_token * gen.completion_tokens)
    return HttpResult(200, completion_body(target, req, gen, usage), headers)


def check_context(target: Target, prompt: int, limit: int | None) -> None:
    window = target.info.context_window
    if prompt + (limit or 0) <= window:
        return
    if limit:
        detail = f"However, you requested {prompt + limit} tokens ({prompt} in the messages, {limit} in the completion)."
    else:
        detail = f"However, your messages resulted in {prompt} tokens."
    raise azure_errors.invalid_request(
        f"This model's maximum context length is {window} tokens. {detail} Please reduce the length of the messages or completion.",
        param="messages",
        code="context_length_exceeded",
    )


# --- request -------------------------------------------------------------------------------------


def parse_chat(target: Target) -> ChatRequest:
    body = target.body
    reject_unknown(body, CHAT_PARAMS)
    check_version_gated(target, body, VERSION_GATED)
    messages = body.get("messages")
    if messages is None:
        raise azure_errors.missing_parameter("messages")
    if not isinstance(messages, list):
        raise invalid_type("messages", "an array", messages)
    if not messages:
        raise azure_errors.invalid_request(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    if len(messages) > 2048:
        raise azure_errors.invalid_request(
            f"Invalid 'messages': array too long. Expected an array with maximum length 2048, but got an array with length {len(messages)} instead.",
            param="messages",
            code="array_above_max_length",
        )
    check_reasoning(target, body)
    check_numbers(body)
    if "max_tokens" in body and "max_completion_tokens" in body:
        raise azure_errors.invalid_request(
            "max_tokens and max_completion_tokens cannot both be set. Use max_completion_tokens.",
            param="max_tokens",
        )
    limit_name = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
    limit = check_output_limit(target.info, limit_name, body.get(limit_name))
    stream = body.get("stream") is True
    options = body.get("stream_options")
    if options is not None and not stream:
        raise azure_errors.invalid_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
        )
    include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
    n = body.get("n")
    if n is None:
        n = 1
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 128:
        raise azure_errors.invalid_request(
            f"Invalid 'n': expected an integer between 1 and 128, but got {n!r} instead.",
            param="n",
            code="invalid_value",
        )
    stop = _stop(body.get("stop"))
    turns = _turns(messages, target)
    tools, legacy = _tools(body, target)
    check_tools_with_reasoning(target, body)
    conv = Conversation(turns=turns, tools=tools)
    _tool_choice(body, conv, legacy, parallel_supported=target.info.parallel_tool_calls)
    _response_format(body, conv, target, turns)
    logprobs = None
    if body.get("logprobs") is True:
        logprobs = int(body.get("top_logprobs") or 0)
    return ChatRequest(
        conv, stream, include_usage, n, limit, stop, effort_of(body, "chat"), logprobs, legacy
    )


def _stop(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        if len(raw) > 4:
            raise azure_errors.invalid_request(
                f"Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length {len(raw)} instead.",
                param="stop",
                code="array_above_max_length",
            )
        return list(raw)
    raise invalid_type("stop", "a string or an array of strings", raw)


def _content(content: Any, i: int, role: str, target: Target) -> tuple[str, int]:
    if content is None or isinstance(content, str):
        return content or "", 0
    if not isinstance(content, list):
        raise invalid_type(f"messages[{i}].content", "one of a string or array of objects", content)
    texts: list[str] = []
    images = 0
    for j, part in enumerate(content):
        if not isinstance(part, Mapping):
            raise invalid_type(f"messages[{i}].content[{j}]", "an object", part)
        kind = part.get("type")
        if kind == "text":
            texts.append(str(part.get("text", "")))
        elif kind == "refusal" and role == "assistant":
            texts.append(str(part.get("refusal", "")))
        elif kind == "image_url":
            if role != "user":
                raise azure_errors.invalid_request(
                    f"Image URLs are only allowed for messages with role 'user', but this message with role '{role}' contains an image URL.",
                    param=f"messages.[{i}].content.[{j}].type",
                    code="invalid_value",
                )
            if not target.supports(Feature.VISION) or not target.info.vision:
                raise azure_errors.invalid_request(
                    "Invalid content type. image_url is only supported by certain models.",
                    param=f"messages.[{i}].content.[{j}].type",
                    code="invalid_value",
                )
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, Mapping) else None
            if not isinstance(url, str) or not url.startswith(
                ("http://", "https://", "data:image/")
            ):
                raise azure_errors.invalid_request(
                    f"Invalid 'messages[{i}].content[{j}].image_url.url'. Expected a valid URL or a "
                    "base64-encoded data URL with an image MIME type (e.g. 'data:image/png;base64,...').",
                    param=f"messages[{i}].content[{j}].image_url.url",
                    code="invalid_value",
                )
            images += 1
        elif kind == "file":
            # Azure's Chat Completions takes no file parts on any version (the dated specs list
            # text, image_url and input_audio parts; users quote this answer for PDFs on
            # gpt-4o-mini and gpt-5-mini: Azure/azure-sdk-for-net#51873, pydantic/pydantic-ai#4035).
            raise azure_errors.invalid_request(
                "Invalid Value: 'file'. This model does not support file content types.",
                param=f"messages[{i}].content[{j}].type",
                code="invalid_value",
            )
        else:
            raise azure_errors.invalid_request(
                f"Invalid value: '{kind}'. Supported values are: 'text' and 'image_url'.",
                param=f"messages[{i}].content[{j}].type",
                code="invalid_value",
            )
    return "\n".join(texts), images


def _assistant_calls(message: Mapping[str, Any], i: int) -> tuple[ToolCall, ...]:
    calls: list[ToolCall] = []
    raw = message.get("tool_calls")
    if raw is not None:
        if not isinstance(raw, list):
            raise invalid_type(f"messages[{i}].tool_calls", "an array", raw)
        for j, item in enumerate(raw):
            fn = item.get("function") if isinstance(item, Mapping) else None
            if (
                not isinstance(item, Mapping)
                or not isinstance(fn, Mapping)
                or not isinstance(item.get("id"), str)
            ):
                raise azure_errors.missing_parameter(f"messages[{i}].tool_calls[{j}].id")
            calls.append(
                ToolCall(item["id"], str(fn.get("name", "")), str(fn.get("arguments", "")))
            )
    legacy = message.get("function_call")
    if isinstance(legacy, Mapping):
        calls.append(ToolCall("", str(legacy.get("name", "")), str(legacy.get("arguments", ""))))
    return tuple(calls)


def _turns(messages: Sequence[Any], target: Target) -> list[Turn]:
    info = target.info
    turns: list[Turn] = []
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping):
            raise invalid_type(f"messages[{i}]", "an object", m)
        role = m.get("role")
        allowed = ROLES if target.supports(Feature.DEVELOPER_ROLE) else ROLES[:-1]
        if role not in allowed:
            choices = ", ".join(f"'{r}'" for r in allowed[:-1]) + f", and '{allowed[-1]}'"
            raise azure_errors.invalid_request(
                f"Invalid value: '{role}'. Supported values are: {choices}.",
                param=f"messages[{i}].role",
                code="invalid_value",
            )
        if (role == "system" and not info.system_role) or (
            role == "developer" and info.known and not info.developer_role
        ):
            raise azure_errors.unsupported_value(
                f"messages[{i}].role",
                f"'messages[{i}].role' does not support '{role}' with this model.",
            )
        content = m.get("content")
        calls = _assistant_calls(m, i) if role == "assistant" else ()
        if content is None and not calls:
            raise azure_errors.invalid_request(
                "Invalid value for 'content': expected a string, got null.",
                param=f"messages.[{i}].content",
            )
        text, images = _content(content, i, str(role), target)
        tool_call_id = m.get("tool_call_id")
        if role == "tool" and not isinstance(tool_call_id, str):
            raise azure_errors.missing_parameter(f"messages[{i}].tool_call_id")
        name = m.get("name") if isinstance(m.get("name"), str) else None
        if role == "function":
            if name is None:
                raise azure_errors.missing_parameter(f"messages[{i}].name")
            turns.append(Turn("tool", text, name=name))
            continue
        turns.append(
            Turn(str(role), text, calls, tool_call_id if role == "tool" else None, name, images)
        )
    _check_tool_order(turns)
    return turns


def _check_tool_order(turns: Sequence[Turn]) -> None:
    """Tool results must answer the tool calls right before them, and every call needs one."""
    pending: set[str] | None = None
    for i, turn in enumerate(turns):
        if turn.role == "tool" and turn.tool_call_id is not None:
            if pending is None or turn.tool_call_id not in pending:
                raise azure_errors.invalid_request(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
                    param=f"messages.[{i}].role",
                )
            pending.discard(turn.tool_call_id)
            continue
        if pending:
            raise azure_errors.invalid_request(
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(sorted(pending))}",
                param=f"messages.[{i}].role",
            )
        ids = {c.id for c in turn.tool_calls if c.id}
        pending = ids if turn.role == "assistant" and ids else None


def _tools(body: Mapping[str, Any], target: Target) -> tuple[list[ToolSpec], bool]:
    tools = body.get("tools")
    functions = body.get("functions")
    if tools is not None and functions is not None:
        raise azure_errors.invalid_request(
            "Only one of 'functions' and 'tools' can be set.", param="tools"
        )
    legacy = functions is not None
    raw = functions if legacy else tools
    if raw is None:
        return [], False
    param = "functions" if legacy else "tools"
    if not isinstance(raw, list):
        raise invalid_type(param, "an array", raw)
    if not raw:
        raise azure_errors.invalid_request(
            f"Invalid '{param}': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            param=param,
            code="empty_array",
        )
    if len(raw) > 128:
        raise azure_errors.invalid_request(
            f"Invalid '{param}': array too long. Expected an array with maximum length 128, but got an array with length {len(raw)} instead.",
            param=param,
            code="array_above_max_length",
        )
    if not target.info.tools:
        raise azure_errors.unsupported_parameter(param)
    for j, tool in enumerate(raw):
        where = f"{param}[{j}]" if legacy else f"{param}[{j}].function"
        fn = tool if legacy else (tool.get("function") if isinstance(tool, Mapping) else None)
        if not legacy and (not isinstance(tool, Mapping) or tool.get("type") != "function"):
            raise azure_errors.invalid_request(
                f"Invalid value: '{tool.get('type') if isinstance(tool, Mapping) else tool}'. Supported values are: 'function'.",
                param=f"{param}[{j}].type",
                code="invalid_value",
            )
        if not isinstance(fn, Mapping):
            raise azure_errors.missing_parameter(where)
        name = check_tool_name(fn.get("name"), f"{where}.name")
        params = fn.get("parameters")
        if params is not None and not isinstance(params, Mapping):
            raise invalid_type(f"{where}.parameters", "an object", params)
        if params is not None:
            check_tool_parameters(params, name, f"{where}.parameters")
        if fn.get("strict") is True and params is not None:
            check_strict_schema(params, what=f"function '{name}'")
    return tool_specs(raw), legacy


def _tool_choice(
    body: Mapping[str, Any], conv: Conversation, legacy: bool, *, parallel_supported: bool
) -> None:
    key = "function_call" if legacy else "tool_choice"
    choice = body.get(key)
    if not conv.tools:
        if choice is not None:
            raise azure_errors.invalid_request(
                f"Invalid value for '{key}': '{key}' is only allowed when '{'functions' if legacy else 'tools'}' are specified.",
                param=key,
            )
        if body.get("parallel_tool_calls") is not None:
            raise azure_errors.invalid_request(
                "'parallel_tool_calls' is only allowed when 'tools' are specified.",
                param="parallel_tool_calls",
            )
        return
    names = {t.name for t in conv.tools}
    if isinstance(choice, str):
        if choice not in ("none", "auto", "required") or (legacy and choice == "required"):
            raise azure_errors.invalid_request(
                f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.",
                param=key,
                code="invalid_value",
            )
        conv.tool_choice = choice
    elif isinstance(choice, Mapping):
        fn = choice if legacy else choice.get("function")
        name = fn.get("name") if isinstance(fn, Mapping) else None
        if not isinstance(name, str):
            raise azure_errors.missing_parameter(
                f"{key}.function.name" if not legacy else f"{key}.name"
            )
        if name not in names:
            raise azure_errors.invalid_request(
                f"Invalid value for '{key}': no function named '{name}' was specified in the '{'functions' if legacy else 'tools'}' parameter.",
                param=key,
            )
        conv.forced_tool = name
    elif choice is not None:
        raise invalid_type(key, "a string or an object", choice)
    parallel = body.get("parallel_tool_calls")
    if parallel is not None:
        if not parallel_supported:
            raise azure_errors.unsupported_parameter("parallel_tool_calls")
        conv.parallel_tool_calls = bool(parallel)
    # Legacy functions never ran in parallel, nor do tools under reasoning_effort "minimal" (facts §8).
    if legacy or body.get("reasoning_effort") == "minimal":
        conv.parallel_tool_calls = False


def _response_format(
    body: Mapping[str, Any], conv: Conversation, target: Target, turns: Sequence[Turn]
) -> None:
    fmt = body.get("response_format")
    if fmt is None:
        return
    if not isinstance(fmt, Mapping) or "type" not in fmt:
        raise azure_errors.missing_parameter("response_format.type")
    kind = fmt["type"]
    info = target.info
    if kind == "text":
        return
    if kind == "json_object":
        if not target.supports(Feature.JSON_OBJECT):
            raise azure_errors.unrecognized_arguments(["response_format"])
        if not info.json_object:
            raise azure_errors.invalid_request(
                "Invalid parameter: 'response_format' of type 'json_object' is not supported with this model.",
                param="response_format",
            )
        if not any("json" in t.text.lower() for t in turns):
            raise azure_errors.invalid_request(
                "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
                param="messages",
            )
        conv.json_object = True
        return
    if kind == "json_schema":
        if not target.supports(Feature.JSON_SCHEMA):
            raise azure_errors.invalid_request(
                "response_format value as json_schema is enabled only for api versions 2024-08-01-preview and later",
                param="response_format",
            )
        if not info.json_schema:
            raise azure_errors.invalid_request(
                "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
                param="response_format",
            )
        spec = fmt.get("json_schema")
        if not isinstance(spec, Mapping) or "name" not in spec:
            raise azure_errors.missing_parameter("response_format.json_schema.name")
        name = check_tool_name(spec.get("name"), "response_format.json_schema.name")
        schema = (
            spec.get("schema") if isinstance(spec.get("schema"), Mapping) else {"type": "object"}
        )
        if spec.get("strict") is True:
            check_strict_schema(schema, what=f"response_format '{name}'")
        conv.json_schema = schema
        return
    raise azure_errors.invalid_request(
        f"Invalid value: '{kind}'. Supported values are: 'json_object', 'json_schema', and 'text'.",
        param="response_format.type",
        code="invalid_value",
    )


# --- response ------------------------------------------------------------------------------------


def _logprobs(gen: Generation, top: int | None) -> dict[str, Any] | None:
    if top is None:
        return None
    return {"content": [token_logprob(piece, top) for piece in gen.pieces], "refusal": None}


def token_logprob(piece: str, top: int) -> dict[str, Any]:
    """One token's logprob entry, deterministic: the chosen token is the likeliest (a logprob
    just below 0 derived from its text) and ``top_logprobs`` holds it first, then ``top - 1``
    other spellings of it, each less likely."""
    digest = int(hashlib.blake2b(piece.encode(), digest_size=2).hexdigest(), 16)
    chosen = -(digest % 1000) / 10_000
    entries = [_entry(piece, chosen)]
    word = piece.strip()
    for alt in (word.capitalize(), word.lower(), word.upper(), " " + word, word + ".", word + ","):
        if len(entries) >= top:
            break
        if alt and all(alt != e["token"] for e in entries):
            entries.append(_entry(alt, round(chosen - 1.5 - 0.75 * len(entries), 4)))
    while len(entries) < top:
        entries.append(
            _entry(f"{word}{len(entries)}", round(chosen - 1.5 - 0.75 * len(entries), 4))
        )
    return {**entries[0], "top_logprobs": entries[:top]}


def _entry(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}


def _message(gen: Generation, legacy: bool) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": gen.content,
        "refusal": None,
        "annotations": [],
    }
    if gen.reasoning_text:
        message["reasoning_content"] = gen.reasoning_text
    if gen.tool_calls:
        if legacy:
            first = gen.tool_calls[0]
            message["function_call"] = {"name": first.name, "arguments": first.arguments}
        else:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in gen.tool_calls
            ]
    return message


def _finish(gen: Generation, legacy: bool) -> str:
    return "function_call" if legacy and gen.finish_reason == "tool_calls" else gen.finish_reason


def completion_body(
    target: Target, req: ChatRequest, gen: Generation, usage: dict[str, Any]
) -> dict[str, Any]:
    d = target.deployment
    verdict = completion_results(gen.filtered_category) if gen.content is not None else {}
    choices = [
        {
            "index": i,
            "finish_reason": _finish(gen, req.legacy_functions),
            "logprobs": _logprobs(gen, req.logprobs),
            "message": _message(gen, req.legacy_functions),
            "content_filter_results": verdict,
        }
        for i in range(req.n)
    ]
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": d.response_model,
        "system_fingerprint": fingerprint(d.response_model),
        "prompt_filter_results": prompt_filter_results(),
        "choices": choices,
        "usage": usage,
    }


def _annotation(choice: dict[str, Any]) -> bytes:
    """An annotation-only chunk: empty ``id``/``object``/``model``, as Azure's filter sends it."""
    return sse(
        {"id": "", "object": "", "created": 0, "model": "", "choices": [choice], "usage": None}
    )


def stream_events(
    target: Target, req: ChatRequest, gen: Generation, usage: dict[str, Any]
) -> list[bytes]:
    d = target.deployment
    base = {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": d.response_model,
        "system_fingerprint": fingerprint(d.response_model),
    }
    tail: dict[str, Any] = {"usage": None} if req.include_usage else {}
    first = {"choices": [], "created": 0, "id": "", "model": "", "object": ""}
    events = [sse({**first, "prompt_filter_results": prompt_filter_results()})]
    for index in range(req.n):
        events.extend(_choice_events(index, base, tail, req, gen))
    if req.include_usage:
        events.append(sse({**base, "choices": [], "usage": usage}))
    events.append(sse("[DONE]"))
    return events


def _choice_events(
    index: int, base: dict[str, Any], tail: dict[str, Any], req: ChatRequest, gen: Generation
) -> list[bytes]:
    safe = completion_results()

    def chunk(
        delta: dict[str, Any],
        finish: str | None = None,
        verdict: dict[str, Any] | None = None,
        logprobs: dict[str, Any] | None = None,
    ) -> bytes:
        choice: dict[str, Any] = {
            "index": index,
            "delta": delta,
            "finish_reason": finish,
            "logprobs": logprobs,
        }
        if verdict is not None:
            choice["content_filter_results"] = verdict
        return sse({**base, "choices": [choice], **tail})

    role = {"role": "assistant", "content": "" if not gen.tool_calls else None, "refusal": None}
    events = [chunk(role, verdict={})]
    # A reasoning_content model streams its thought first, beside a null content.
    events.extend(chunk({"content": None, "reasoning_content": p}) for p in gen.reasoning_pieces)
    pieces = gen.pieces
    top = req.logprobs
    events.extend(
        chunk(
            {"content": piece},
            verdict=safe,
            logprobs=None
            if top is None
            else {"content": [token_logprob(piece, top)], "refusal": None},
        )
        for piece in pieces
    )
    if req.legacy_functions and gen.tool_calls:
        call = gen.tool_calls[0]
        events.append(chunk({"function_call": {"name": call.name, "arguments": ""}}))
        events.extend(chunk({"function_call": {"arguments": p}}) for p in _argument_pieces(call))
    elif gen.tool_calls:
        for j, call in enumerate(gen.tool_calls):
            head = {
                "index": j,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            events.append(chunk({"tool_calls": [head]}))
            events.extend(
                chunk({"tool_calls": [{"index": j, "function": {"arguments": p}}]})
                for p in _argument_pieces(call)
            )
    length = len(gen.content or "")
    offsets = {"check_offset": length, "start_offset": 0, "end_offset": length}
    if gen.finish_reason == "content_filter":
        verdict = completion_results(gen.filtered_category)
        events.append(
            _annotation(
                {
                    "index": index,
                    "finish_reason": "content_filter",
                    "content_filter_results": verdict,
                    "content_filter_offsets": offsets,
                }
            )
        )
        return events
    events.append(chunk({}, finish=_finish(gen, req.legacy_functions), verdict={}))
    if pieces:
        events.append(
            _annotation(
                {
                    "index": index,
                    "finish_reason": None,
                    "content_filter_results": safe,
                    "content_filter_offsets": offsets,
                }
            )
        )
    return events


def _argument_pieces(call: ToolCall) -> list[str]:
    """Split a call's JSON arguments into a few deltas (never fewer than one)."""
    text = call.arguments
    size = max(1, len(text) // 4 + (len(text) % 4 > 0))
    return [text[k : k + size] for k in range(0, len(text), size)] or [""]

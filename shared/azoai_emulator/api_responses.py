"""The Responses API: ``/openai/v1/responses`` (and ``/openai/responses?api-version=`` from
2025-03-01-preview), with ``GET``/``DELETE /responses/{id}`` and ``/responses/{id}/input_items``.

Input is a string or items: messages (``input_text``, ``output_text``, ``input_image`` parts),
``function_call`` and ``function_call_output`` items, and reasoning items (which need an ``id``
and a ``summary``; they do not change the answer). ``instructions`` go first and are not carried
over by ``previous_response_id``, which continues a stored response (``store`` defaults to true).
Output holds a ``reasoning`` item on reasoning deployments, then the ``message`` or the
``function_call`` items. Built-in tools (web and file search, code interpreter, image
generation, remote MCP) add their items before the message: see
:mod:`azoai_emulator.builtin_tools`.

Stateless reasoning (``store: false``): the response is not kept (a later
``previous_response_id`` naming it is ``previous_response_not_found``), and a reasoning item sent
back by bare id is refused with the 400 users quote ("Item with id 'rs_…' not found. Items are
not persisted when `store` is set to false. …", openclaw/openclaw#21782). With ``include:
["reasoning.encrypted_content"]`` (refused on non-reasoning models, as Azure does) reasoning
items carry an opaque ``encrypted_content``, sealed with the emulator's key and bound to the
item's id; sent back, it is accepted whatever ``store`` says, and anything else in that field is
``invalid_encrypted_content``.

A stream is a sequence of named SSE events, each with a ``sequence_number``:
``response.created``, ``response.in_progress``, then per output item ``response.output_item.added``,
(``response.content_part.added``, ``response.output_text.delta``..., ``response.output_text.done``,
``response.content_part.done``) or (``response.function_call_arguments.delta``...,
``response.function_call_arguments.done``), ``response.output_item.done``; and finally
``response.completed`` (``response.incomplete`` when the output limit or a content filter cut it).
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

from azoai_emulator import azure_errors, builtin_tools
from azoai_emulator.api_chat import check_context
from azoai_emulator.api_versions import Feature
from azoai_emulator.filters import completion_results
from azoai_emulator.generation import Generation, generate, prompt_tokens, tool_specs
from azoai_emulator.identity import authenticate_data_plane
from azoai_emulator.model import Conversation, ToolCall, Turn
from azoai_emulator.pipeline import (
    Target,
    admit,
    check_blocklist,
    check_dated_version,
    check_v1_version,
    prepare,
    reject_unknown,
    sse,
    success_headers,
)
from azoai_emulator.protocol import ApiError, Call, HttpResult, StreamResult, ws_frame
from azoai_emulator.rules import (
    check_numbers,
    check_output_limit,
    check_reasoning,
    check_strict_schema,
    check_tool_name,
    check_tool_parameters,
    effort_of,
    invalid_type,
)
from azoai_emulator.state import EmulatorState, StoredResponse
from azoai_emulator.stateless import check_reasoning_item, seal_reasoning, wants_encrypted
from azoai_emulator.tokens import stream_pieces, wordset

__all__ = ["ConnectionCache", "handle_response_item", "handle_responses"]

RESPONSES_PARAMS = wordset(
    """model input instructions tools tool_choice parallel_tool_calls text max_output_tokens
    temperature top_p reasoning store stream previous_response_id metadata include truncation
    user background max_tool_calls prompt_cache_key safety_identifier service_tier top_logprobs
    stream_options"""
)
#: Over a WebSocket ``stream`` and ``background`` do not apply, and ``generate: false`` warms up.
WEBSOCKET_PARAMS = (RESPONSES_PARAMS - {"stream", "background", "stream_options"}) | {"generate"}
_INPUT_ROLES = ("user", "system", "developer", "assistant")


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


# --- input ---------------------------------------------------------------------------------------


def _parts_text(content: Any, where: str) -> tuple[str, int]:
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, list):
        raise invalid_type(f"{where}.content", "a string or an array", content)
    texts: list[str] = []
    images = 0
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind in ("input_text", "output_text", "text"):
            texts.append(str(part.get("text", "")))
        elif kind == "refusal":
            texts.append(str(part.get("refusal", "")))
        elif kind in ("input_image", "input_file"):
            if kind == "input_image":
                images += 1
        else:
            raise azure_errors.invalid_request(
                f"Invalid value: '{kind}'. Supported values are: 'input_text', 'input_image', 'output_text', 'refusal', and 'input_file'.",
                param=f"{where}.content[{j}].type",
                code="invalid_value",
            )
    return "\n".join(texts), images


def _input(
    raw: Any, *, stateless: bool = False, key: bytes = b""
) -> tuple[list[Turn], list[dict[str, Any]]]:
    """Turns for the model and the items as stored (each with an ``id``); ``stateless``
    (``store: false``): reasoning items only with their encrypted content (sealed with ``key``)."""
    if raw is None:
        raise azure_errors.missing_parameter("input")
    if isinstance(raw, str):
        item = {
            "id": _id("msg"),
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": raw}],
        }
        return [Turn("user", raw)], [item]
    if not isinstance(raw, list):
        raise invalid_type("input", "a string or an array", raw)
    turns: list[Turn] = []
    items: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise invalid_type(f"input[{i}]", "an object", item)
        kind = item.get("type", "message")
        stored = {
            "id": item.get("id")
            or _id("msg" if kind == "message" else "fc" if kind == "function_call" else "item"),
            **item,
        }
        if kind == "message":
            role = item.get("role")
            if role not in _INPUT_ROLES:
                raise azure_errors.invalid_request(
                    f"Invalid value: '{role}'. Supported values are: 'assistant', 'system', 'developer', and 'user'.",
                    param=f"input[{i}].role",
                    code="invalid_value",
                )
            text, images = _parts_text(item.get("content"), f"input[{i}]")
            turns.append(Turn(str(role), text, images=images))
        elif kind == "function_call":
            call = ToolCall(
                str(item.get("call_id", "")),
                str(item.get("name", "")),
                str(item.get("arguments", "")),
            )
            if (
                turns
                and turns[-1].role == "assistant"
                and turns[-1].tool_calls
                and not turns[-1].text
            ):
                turns[-1] = Turn("assistant", "", (*turns[-1].tool_calls, call))
            else:
                turns.append(Turn("assistant", "", (call,)))
        elif kind == "function_call_output":
            output = item.get("output")
            text = (
                output if isinstance(output, str) else _parts_text(output, f"input[{i}].output")[0]
            )
            turns.append(Turn("tool", text, tool_call_id=str(item.get("call_id", ""))))
        elif kind == "reasoning":
            check_reasoning_item(item, i, stateless, key)
            continue
        elif kind == "item_reference" or kind in builtin_tools.INPUT_ITEMS:
            continue  # built-in tool items sent back: see builtin_tools
        else:
            raise azure_errors.invalid_request(
                f"Invalid value: '{kind}'. Supported values are: 'message', 'function_call', 'function_call_output', 'reasoning', and 'item_reference'.",
                param=f"input[{i}].type",
                code="invalid_value",
            )
        items.append(stored)
    return turns, items


def _check_outputs(turns: Sequence[Turn]) -> None:
    seen: set[str] = set()
    for turn in turns:
        seen.update(c.id for c in turn.tool_calls)
        if turn.role == "tool" and turn.tool_call_id not in seen:
            raise azure_errors.invalid_request(
                f"No tool call found for function call output with call_id {turn.tool_call_id}.",
                param="input",
            )


def _tools(body: Mapping[str, Any], target: Target) -> list[dict[str, Any]]:
    raw = body.get("tools")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid_type("tools", "an array", raw)
    if raw and not target.info.tools:
        raise azure_errors.unsupported_parameter("tools")
    out = []
    for j, tool in enumerate(raw):
        if not isinstance(tool, Mapping) or tool.get("type") != "function":
            builtin_tools.check_tool(tool, j, target.deployment.model)
            continue
        name = check_tool_name(tool.get("name"), f"tools[{j}].name")
        params = tool.get("parameters")
        if params is not None and not isinstance(params, Mapping):
            raise invalid_type(f"tools[{j}].parameters", "an object", params)
        if params is not None:
            check_tool_parameters(params, name, f"tools[{j}].parameters")
        if tool.get("strict") is True and params is not None:
            check_strict_schema(params, what=f"function '{name}'")
        out.append(
            {
                "type": "function",
                "name": name,
                "description": tool.get("description"),
                "parameters": params or {"type": "object", "properties": {}},
                "strict": tool.get("strict", True),
            }
        )
    return out


def _format(body: Mapping[str, Any], conv: Conversation) -> dict[str, Any]:
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, Mapping) else None
    if fmt is None:
        return {"type": "text"}
    if not isinstance(fmt, Mapping):
        raise invalid_type("text.format", "an object", fmt)
    kind = fmt.get("type")
    if kind == "json_schema":
        name = check_tool_name(fmt.get("name"), "text.format.name")
        schema = fmt.get("schema")
        if not isinstance(schema, Mapping):
            raise azure_errors.missing_parameter("text.format.schema")
        if fmt.get("strict") is True:
            check_strict_schema(schema, what=f"text.format '{name}'")
        conv.json_schema = schema
    elif kind == "json_object":
        conv.json_object = True
    elif kind != "text":
        raise azure_errors.invalid_request(
            f"Invalid value: '{kind}'. Supported values are: 'text', 'json_object', and 'json_schema'.",
            param="text.format.type",
            code="invalid_value",
        )
    return dict(fmt)


def _tool_choice(body: Mapping[str, Any], conv: Conversation) -> Any:
    choice = body.get("tool_choice", "auto")
    if isinstance(choice, str) and choice in ("auto", "none", "required"):
        conv.tool_choice = choice
    elif (
        isinstance(choice, Mapping)
        and choice.get("type") == "function"
        and isinstance(choice.get("name"), str)
    ):
        if choice["name"] not in {t.name for t in conv.tools}:
            raise azure_errors.invalid_request(
                f"Tool choice '{choice['name']}' not found in 'tools' parameter.",
                param="tool_choice",
            )
        conv.forced_tool = choice["name"]
    elif builtin_tools.tool_choice(choice, builtin_tools.hosted(body)) is not None:
        pass  # a built-in tool is forced: see builtin_tools.run
    else:
        raise azure_errors.invalid_request(
            "Invalid value for 'tool_choice': use 'none', 'auto', 'required' or {'type': 'function', 'name': ...}.",
            param="tool_choice",
            code="invalid_value",
        )
    return choice


# --- handler -------------------------------------------------------------------------------------


class ConnectionCache:
    """A WebSocket connection's cache of its most recent response (facts §11): a continuation
    finds it here even with ``store=false``; only the latest response is kept, and a failed turn
    evicts the response it continued."""

    __slots__ = ("response_id", "stored")

    def __init__(self) -> None:
        self.response_id: str | None = None
        self.stored: StoredResponse | None = None

    def lookup(self, response_id: str) -> StoredResponse | None:
        return self.stored if response_id == self.response_id else None

    def remember(self, response_id: str, stored: StoredResponse) -> None:
        self.response_id, self.stored = response_id, stored

    def evict(self, response_id: str) -> None:
        if response_id == self.response_id:
            self.response_id, self.stored = None, None


async def handle_responses(
    call: Call, state: EmulatorState, *, route: str, connection: ConnectionCache | None = None
) -> HttpResult | StreamResult:
    """``POST /responses``, or one ``response.create`` on a WebSocket when ``connection`` is
    given (always streamed, as JSON text frames; authenticated at the handshake)."""
    try:
        target = await prepare(
            call, state, operation="responses", route=route, websocket=connection is not None
        )
    except ApiError as exc:
        raise _responses_filter_body(exc) from None
    body = target.body
    reject_unknown(body, RESPONSES_PARAMS if connection is None else WEBSOCKET_PARAMS)
    check_reasoning(target, body, unsupported=("temperature", "top_p"), api="responses")
    check_numbers(body, ("temperature", "top_p"))
    limit = check_output_limit(target.info, "max_output_tokens", body.get("max_output_tokens"))
    previous_id = body.get("previous_response_id")
    history: list[Turn] = []
    previous_stored: StoredResponse | None = None
    if previous_id is not None:
        previous = connection.lookup(str(previous_id)) if connection is not None else None
        if previous is None:
            previous = state.stored_response(str(previous_id))
        if previous is None:
            raise azure_errors.invalid_request(
                f"Previous response with id '{previous_id}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        history = list(previous.history)
        previous_stored = previous
    stateless = body.get("store", True) is False
    encrypted = wants_encrypted(body, target.info.reasoning)
    new_turns, items = _input(body.get("input"), stateless=stateless, key=state.reasoning_key)
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise invalid_type("instructions", "a string", instructions)
    conversation = history + new_turns
    _check_outputs(conversation)
    turns = ([Turn("developer", instructions)] if instructions else []) + conversation
    tools = _tools(body, target)
    conv = Conversation(turns=turns, tools=tool_specs(tools))
    choice = _tool_choice(body, conv)
    if body.get("parallel_tool_calls") is False:
        conv.parallel_tool_calls = False
    fmt = _format(body, conv)
    hosted, ran = builtin_tools.play(call.headers, state, body, conv, choice, previous_stored)
    tokens = prompt_tokens(conv.turns, conv.tools)
    check_context(target, len(tokens), limit)
    try:
        check_blocklist(target, "\n".join(t.text for t in turns))
    except ApiError as exc:
        raise _responses_filter_body(exc) from None
    decision = admit(state, target, len(tokens) + (limit or 0))
    cached = state.cached_tokens(target.deployment.name, tokens)
    written = _cache_written(state, len(tokens), cached)
    effort = effort_of(body, "responses")
    warmup = connection is not None and body.get("generate") is False
    gen = (
        Generation(content=None, tool_calls=(), finish_reason="stop", reasoning_tokens=0)
        if warmup
        else generate(
            state,
            target.deployment,
            conv,
            limit=limit,
            effort=effort,
            completion_filter=target.faults.completion_filter,
        )
    )
    response = _response(
        target, body, gen, tokens=len(tokens), cached=cached, tools=tools, choice=choice, fmt=fmt
    )
    response["usage"]["input_tokens_details"]["cache_write_tokens"] = written
    builtin_tools.finish(response, hosted, ran)
    if encrypted:
        for item in response["output"]:
            if item["type"] == "reasoning":
                item["encrypted_content"] = seal_reasoning(state.reasoning_key, item["id"])
    if warmup:
        response["output"] = []  # a warm-up prepares state and generates nothing
    output_turn = Turn("assistant", gen.content or "", gen.tool_calls)
    stored = StoredResponse(
        response,
        [*conversation, output_turn] if not warmup else conversation,
        items,
        target.deployment.name,
    )
    if not stateless:
        state.store_response(response["id"], stored)
    if connection is not None:
        connection.remember(response["id"], stored)
    headers = success_headers(target, decision)
    per_token = target.deployment.token_latency + target.faults.per_token
    if connection is not None:
        frames = [ws_frame(e) for e in _events(response, websocket=True)]
        return StreamResult(frames, headers, per_token, target.faults.cut_after)
    if body.get("stream") is True:
        frames = [sse(e, event=e["type"]) for e in _events(response)]
        return StreamResult(frames, headers, per_token, target.faults.cut_after)
    if per_token > 0:
        await state.wait(per_token * gen.completion_tokens)
    return HttpResult(200, response, headers)


def _output(
    target: Target, body: Mapping[str, Any], gen: Generation, status: str
) -> list[dict[str, Any]]:
    output: list[dict[str, Any]] = []
    if target.info.reasoning:
        reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), Mapping) else {}
        summary = []
        if isinstance(reasoning, Mapping) and reasoning.get("summary") in (
            "auto",
            "concise",
            "detailed",
        ):
            summary = [
                {
                    "type": "summary_text",
                    "text": f"Reasoned about the request ({gen.reasoning_tokens} tokens).",
                }
            ]
        output.append({"id": _id("rs"), "type": "reasoning", "summary": summary, "content": []})
    if gen.content or not gen.tool_calls:
        output.append(
            {
                "id": _id("msg"),
                "type": "message",
                "status": "completed" if status == "completed" else "incomplete",
                "role": "assistant",
                "content": [
                    {
                        "type": "output_text",
                        "text": gen.content or "",
                        "annotations": [],
                        "logprobs": [],
                    }
                ],
            }
        )
    for call in gen.tool_calls:
        output.append(
            {
                "id": _id("fc"),
                "type": "function_call",
                "status": "completed",
                "call_id": call.id,
                "name": call.name,
                "arguments": call.arguments,
            }
        )
    return output


def _response(
    target: Target,
    body: Mapping[str, Any],
    gen: Generation,
    *,
    tokens: int,
    cached: int,
    tools: list[dict[str, Any]],
    choice: Any,
    fmt: dict[str, Any],
) -> dict[str, Any]:
    # A completion the content filter stops fails (``response.failed``; maximhq/bifrost#6419);
    # only the output limit makes a response incomplete.
    filtered = gen.finish_reason == "content_filter"
    incomplete = {"length": "max_output_tokens"}.get(gen.finish_reason)
    status = "failed" if filtered else "incomplete" if incomplete else "completed"
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), Mapping) else {}
    assert isinstance(reasoning, Mapping)
    effort = effort_of(body, "responses") or ("medium" if target.info.reasoning else None)
    summary = reasoning.get("summary")
    if summary == "auto":  # "auto" resolves to the most detailed summary the model has
        summary = "detailed"
    return {
        "id": _id("resp"),
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "background": False,
        "error": {"code": "content_filter", "message": COMPLETION_FILTER_MESSAGE}
        if filtered
        else None,
        "content_filters": _content_filters(gen.filtered_category) if filtered else None,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": target.deployment.response_model,
        "output": _output(target, body, gen, status),
        "parallel_tool_calls": body.get("parallel_tool_calls", True) is not False,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": effort, "summary": summary},
        "store": body.get("store", True) is not False,
        "temperature": body.get("temperature", 1.0),
        "text": {"format": fmt},
        "tool_choice": choice,
        "tools": tools,
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation") or "disabled",
        "usage": {
            "input_tokens": tokens,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": gen.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": gen.reasoning_tokens},
            "total_tokens": tokens + gen.completion_tokens,
        },
        "metadata": body.get("metadata") or {},
        **({"user": body["user"]} if isinstance(body.get("user"), str) else {}),
    }


def _events(response: dict[str, Any], *, websocket: bool = False) -> list[dict[str, Any]]:
    """The stream events of ``response``, in order (SSE frames over HTTP, text frames over a
    WebSocket, where ``response.failed`` is the last)."""
    events: list[dict[str, Any]] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append({"type": kind, "sequence_number": len(events), **fields})

    # The in-progress snapshot has no output and no usage yet (the spec's usage is not nullable).
    snapshot = {k: v for k, v in copy.deepcopy(response).items() if k != "usage"}
    snapshot.update(
        status="in_progress", output=[], incomplete_details=None, error=None, content_filters=None
    )
    emit("response.created", response=snapshot)
    emit("response.in_progress", response=snapshot)
    for index, item in enumerate(response["output"]):
        kind = item["type"]
        if kind == "message":
            part = item["content"][0]
            emit(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "content": []},
            )
            empty = {**part, "text": "", "annotations": []}
            emit(
                "response.content_part.added",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=empty,
            )
            for piece in stream_pieces(part["text"]):
                emit(
                    "response.output_text.delta",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    delta=piece,
                    logprobs=[],
                )
            builtin_tools.annotation_events(emit, index, item["id"], part)
            emit(
                "response.output_text.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                text=part["text"],
                logprobs=[],
            )
            emit(
                "response.content_part.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=part,
            )
        elif kind == "function_call":
            emit(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "arguments": ""},
            )
            for piece in stream_pieces(item["arguments"]):
                emit(
                    "response.function_call_arguments.delta",
                    item_id=item["id"],
                    output_index=index,
                    delta=piece,
                )
            emit(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=index,
                name=item["name"],
                arguments=item["arguments"],
            )
        elif kind in builtin_tools.OUTPUT_ITEMS:
            builtin_tools.item_events(emit, index, item, response.get("tools") or ())
            continue  # the tool's events end with its output_item.done
        else:
            # encrypted content is complete only when the item is: the done event carries it
            added = {k: v for k, v in item.items() if k != "encrypted_content"}
            emit("response.output_item.added", output_index=index, item=added)
        emit("response.output_item.done", output_index=index, item=item)
    if response["status"] == "failed":
        # Azure ends a filtered stream with a response.failed that names no error, then an
        # ``error`` event with the reason (maximhq/bifrost#6419, #6652).
        emit("response.failed", response={**response, "error": None})
        if not websocket:  # the captures are of SSE streams
            emit(
                "error", error={"type": "invalid_request_error", "param": None, **response["error"]}
            )
        return events
    final = "response.completed" if response["status"] == "completed" else "response.incomplete"
    emit(final, response=response)
    return events


COMPLETION_FILTER_MESSAGE = (
    "The response was filtered due to the completion triggering Azure OpenAI's content "
    "management policy. To learn more about our content filtering policies please read our "
    "documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
)


def _content_filters(category: str | None) -> list[dict[str, Any]]:
    """The Responses API's ``content_filters`` list with the completion blocked (the shape
    responses carry: ``blocked``, ``source_type``, ``content_filter_results``)."""
    return [
        {
            "blocked": True,
            "source_type": "completion",
            "content_filter_raw": [],
            "content_filter_results": completion_results(category),
        }
    ]


def _responses_filter_body(exc: ApiError) -> ApiError:
    """A prompt-filter 400 in the Responses API's newer shape: ``innererror.code:
    "ContentFiltered"`` (microsoft/agent-framework#8385) and a ``content_filters`` list beside it
    (a captured Azure body quoted in public tests). Other errors pass unchanged."""
    err = exc.body.get("error") if isinstance(exc.body, Mapping) else None
    if not isinstance(err, Mapping) or err.get("code") != "content_filter":
        return exc
    inner = err.get("innererror")
    results = inner.get("content_filter_result") if isinstance(inner, Mapping) else None
    body = {
        "error": {
            "message": err.get("message"),
            "type": "invalid_request_error",
            "param": "prompt",
            "code": "content_filter",
            "innererror": {"code": "ContentFiltered"},
            "content_filters": [
                {
                    "blocked": True,
                    "source_type": "prompt",
                    "content_filter_raw": [],
                    "content_filter_results": dict(results or {}),
                }
            ],
        }
    }
    return ApiError(exc.status, body, exc.headers)


def _cache_written(state: EmulatorState, tokens: int, cached: int) -> int:
    """Prompt-cache writes: the cacheable prefix (1024 tokens, then steps of 128) not read."""
    cache = state.prompt_cache
    if tokens < cache.FIRST:
        return 0
    prefix = cache.FIRST + ((tokens - cache.FIRST) // cache.STEP) * cache.STEP
    return max(0, prefix - cached)


# --- stored responses ----------------------------------------------------------------------------


def _not_found(response_id: str) -> ApiError:
    return azure_errors.invalid_request(f"Response with id '{response_id}' not found.", status=404)


async def handle_response_item(
    call: Call, state: EmulatorState, *, route: str, response_id: str, input_items: bool = False
) -> HttpResult:
    """``GET``/``DELETE /responses/{id}`` and ``GET /responses/{id}/input_items``."""
    if route == "v1":
        check_v1_version(call)
    else:
        check_dated_version(call, Feature.RESPONSES)
    authenticate_data_plane(call, api_key=state.api_key, issuer=state.issuer, v1=route == "v1")
    stored = state.stored_response(response_id)
    if stored is None:
        raise _not_found(response_id)
    call.record.deployment = stored.deployment
    if call.method == "DELETE":
        state.delete_response(response_id)
        return HttpResult(200, {"id": response_id, "object": "response", "deleted": True})
    if input_items:
        data = (
            list(reversed(stored.input_items))
            if call.query.get("order", "desc") == "desc"
            else stored.input_items
        )
        return HttpResult(
            200,
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": False,
            },
        )
    return HttpResult(200, stored.body)

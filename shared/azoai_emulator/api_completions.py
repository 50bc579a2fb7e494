"""Legacy Completions (``/openai/deployments/{d}/completions``), for instruct and base models
(gpt-35-turbo-instruct, davinci-002, babbage-002); chat models answer ``OperationNotSupported``.
Each prompt is answered like a one-message conversation; ``max_tokens`` defaults to 16, as in
the API, so long answers finish with ``length``.
"""

from __future__ import annotations

import time
from typing import Any

from azoai_emulator.api_chat import check_context, fingerprint, new_id
from azoai_emulator.filters import completion_results, prompt_results
from azoai_emulator.generation import Generation, generate, prompt_tokens
from azoai_emulator.model import Conversation, Turn
from azoai_emulator.pipeline import (
    admit,
    check_blocklist,
    prepare,
    reject_unknown,
    sse,
    success_headers,
)
from azoai_emulator.protocol import Call, HttpResult, StreamResult
from azoai_emulator.rules import check_numbers, check_output_limit, invalid_type
from azoai_emulator.state import EmulatorState
from azoai_emulator.tokens import wordset

__all__ = ["handle_completions"]

COMPLETION_PARAMS = wordset(
    """prompt model max_tokens temperature top_p n stream stream_options logprobs echo stop
    presence_penalty frequency_penalty best_of logit_bias user suffix seed"""
)
DEFAULT_MAX_TOKENS = 16


def _prompts(raw: Any) -> list[str]:
    if raw is None:
        return ["<|endoftext|>"]
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(p, str) for p in raw):
        return list(raw)
    raise invalid_type("prompt", "a string or an array of strings", raw)


async def handle_completions(
    call: Call, state: EmulatorState, *, deployment: str
) -> HttpResult | StreamResult:
    target = await prepare(
        call, state, operation="completions", route="deployments", path_deployment=deployment
    )
    body = target.body
    reject_unknown(body, COMPLETION_PARAMS)
    check_numbers(body, ("temperature", "top_p", "presence_penalty", "frequency_penalty"))
    prompts = _prompts(body.get("prompt"))
    limit = check_output_limit(
        target.info, "max_tokens", body.get("max_tokens", DEFAULT_MAX_TOKENS)
    )
    stop_raw = body.get("stop")
    stop = [stop_raw] if isinstance(stop_raw, str) else list(stop_raw or [])
    convs = [Conversation([Turn("user", p)]) for p in prompts]
    token_lists = [prompt_tokens(c.turns) for c in convs]
    prompt_total = sum(len(t) for t in token_lists)
    check_context(target, max(len(t) for t in token_lists), limit)
    check_blocklist(target, "\n".join(prompts))
    decision = admit(state, target, prompt_total + (limit or 0) * len(prompts))
    gens = [
        generate(
            state,
            target.deployment,
            c,
            limit=limit,
            effort=None,
            stop=stop,
            completion_filter=target.faults.completion_filter,
        )
        for c in convs
    ]
    echo = body.get("echo") is True
    completion_total = sum(g.completion_tokens for g in gens)
    usage = {
        "prompt_tokens": prompt_total,
        "completion_tokens": completion_total,
        "total_tokens": prompt_total + completion_total,
    }
    model = target.deployment.response_model
    filters = [
        {"prompt_index": i, "content_filter_results": prompt_results()} for i in range(len(prompts))
    ]
    headers = success_headers(target, decision)
    if body.get("stream") is True:
        base = {
            "id": new_id("cmpl-"),
            "object": "text_completion",
            "created": int(time.time()),
            "model": model,
        }
        events = [
            sse(
                {
                    "id": "",
                    "object": "",
                    "created": 0,
                    "model": "",
                    "prompt_filter_results": filters,
                    "choices": [],
                }
            )
        ]
        for i, gen in enumerate(gens):
            pieces = ([prompts[i]] if echo else []) + gen.pieces
            for piece in pieces:
                events.append(sse({**base, "choices": [_choice(i, piece, None)]}))
            events.append(sse({**base, "choices": [_choice(i, "", gen.finish_reason, gen)]}))
        events.append(sse("[DONE]"))
        per_token = target.deployment.token_latency + target.faults.per_token
        return StreamResult(events, headers, per_token, target.faults.cut_after)
    choices = [
        _choice(i, (prompts[i] if echo else "") + (g.content or ""), g.finish_reason, g)
        for i, g in enumerate(gens)
    ]
    result = {
        "id": new_id("cmpl-"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": fingerprint(model),
        "choices": choices,
        "usage": usage,
        "prompt_filter_results": filters,
    }
    return HttpResult(200, result, headers)


def _choice(
    index: int, text: str, finish: str | None, gen: Generation | None = None
) -> dict[str, Any]:
    choice: dict[str, Any] = {
        "text": text,
        "index": index,
        "finish_reason": finish,
        "logprobs": None,
    }
    if gen is not None:
        choice["content_filter_results"] = completion_results(gen.filtered_category)
    return choice

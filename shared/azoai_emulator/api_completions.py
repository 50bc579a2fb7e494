"""Legacy Completions (``/openai/deployments/{d}/completions``), for instruct and base models
(gpt-35-turbo-instruct, davinci-002, babbage-002); chat models answer ``OperationNotSupported``.
Each prompt is answered like a one-message conversation; ``max_tokens`` defaults to 16, as in
the API, so long answers finish with ``length``.

As the API does (spec ``createCompletionRequest`` / ``createCompletionResponse``, both vendored
specs): ``n`` choices per prompt, numbered ``prompt_index * n + k``; ``echo`` puts the prompt
before the completion; ``logprobs`` (0 to 5) gives the legacy per-token object (``tokens``,
``token_logprobs``, ``top_logprobs`` with up to ``logprobs`` alternatives, ``text_offset``), the
echoed prompt's first token with a ``null`` logprob; ``best_of`` (at least ``n``, never
streamed); ``stop`` up to 4 sequences; ``suffix`` accepted. A stream starts with the prompt
annotations (empty ``choices``), then each choice's pieces and its finish chunk, a usage chunk
when ``stream_options.include_usage`` is set (from the api-versions that have it), then
``[DONE]``. The emulator's model is deterministic, so the ``n`` choices of a prompt agree.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from azoai_emulator import azure_errors
from azoai_emulator.api_chat import check_context, fingerprint, new_id, token_logprob
from azoai_emulator.api_versions import Feature
from azoai_emulator.filters import completion_results, prompt_results
from azoai_emulator.generation import Generation, generate
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
from azoai_emulator.rules import (
    check_numbers,
    check_output_limit,
    check_version_gated,
    invalid_type,
)
from azoai_emulator.state import EmulatorState
from azoai_emulator.tokens import count_tokens, stream_pieces, wordset

__all__ = ["handle_completions"]

COMPLETION_PARAMS = wordset(
    """prompt model max_tokens temperature top_p n stream stream_options logprobs echo stop
    presence_penalty frequency_penalty best_of logit_bias user suffix seed"""
)
DEFAULT_MAX_TOKENS = 16
#: spec: prompt lists up to 2048, n 1..128, logprobs 0..5, best_of up to 20, stop up to 4.
_LIMITS = {"n": (1, 128), "logprobs": (0, 5), "best_of": (0, 20)}


def _prompts(raw: Any) -> list[str]:
    if raw is None:
        return ["<|endoftext|>"]
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(p, str) for p in raw):
        if len(raw) > 2048:
            raise azure_errors.invalid_request(
                f"Invalid 'prompt': array too long. Expected an array with maximum length 2048, "
                f"but got an array with length {len(raw)} instead.",
                param="prompt",
                code="array_above_max_length",
            )
        return list(raw)
    raise invalid_type("prompt", "a string or an array of strings", raw)


def _whole(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    lo, hi = _LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(name, "an integer", value)
    if not lo <= value <= hi:
        raise azure_errors.invalid_request(
            f"Invalid '{name}': expected an integer between {lo} and {hi}, but got {value} "
            "instead.",
            param=name,
            code="invalid_value",
        )
    return value


def _stop(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        if len(raw) > 4:
            raise azure_errors.invalid_request(
                f"Invalid 'stop': array too long. Expected an array with maximum length 4, but "
                f"got an array with length {len(raw)} instead.",
                param="stop",
                code="array_above_max_length",
            )
        return list(raw)
    raise invalid_type("stop", "a string or an array of strings", raw)


def _logprobs(
    pieces: list[str], top: int, start: int, *, echoed: list[str] | None = None
) -> dict[str, Any]:
    """The legacy logprobs object for ``pieces`` (after the ``echoed`` prompt pieces), text
    offsets counted from ``start``."""
    tokens, values, tops, offsets = [], [], [], []
    offset = start
    for i, piece in enumerate([*(echoed or []), *pieces]):
        entry = token_logprob(piece, max(top, 1))
        tokens.append(piece)
        values.append(None if echoed and i == 0 else entry["logprob"])
        tops.append(
            None
            if echoed and i == 0
            else {alt["token"]: alt["logprob"] for alt in entry["top_logprobs"][:top]}
        )
        offsets.append(offset)
        offset += len(piece)
    return {
        "tokens": tokens,
        "token_logprobs": values,
        "top_logprobs": tops,
        "text_offset": offsets,
    }


async def handle_completions(
    call: Call, state: EmulatorState, *, deployment: str
) -> HttpResult | StreamResult:
    target = await prepare(
        call, state, operation="completions", route="deployments", path_deployment=deployment
    )
    body = target.body
    reject_unknown(body, COMPLETION_PARAMS)
    check_version_gated(target, body, {"stream_options": Feature.STREAM_OPTIONS})
    check_numbers(body, ("temperature", "top_p", "presence_penalty", "frequency_penalty"))
    prompts = _prompts(body.get("prompt"))
    limit = check_output_limit(
        target.info, "max_tokens", body.get("max_tokens", DEFAULT_MAX_TOKENS)
    )
    n = _whole(body, "n") or 1
    top = _whole(body, "logprobs")
    best_of = _whole(body, "best_of")
    stream = body.get("stream") is True
    if best_of is not None and best_of < n:
        raise azure_errors.invalid_request(
            "best_of must be greater than or equal to n.", param="best_of", code="invalid_value"
        )
    if stream and best_of is not None and best_of > 1:
        raise azure_errors.invalid_request(
            "best_of > 1 is not supported when streaming.", param="best_of", code="invalid_value"
        )
    options = body.get("stream_options")
    if options is not None and not stream:
        raise azure_errors.invalid_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
        )
    include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
    stop = _stop(body.get("stop"))
    echo = body.get("echo") is True
    convs = [Conversation([Turn("user", p)]) for p in prompts]
    # a completion prompt is raw text: its tokens are its own, with no chat framing around them
    counts = [count_tokens(p) for p in prompts]
    prompt_total = sum(counts)
    check_context(target, max(counts), limit)
    check_blocklist(target, "\n".join(prompts))
    decision = admit(state, target, prompt_total + (limit or 0) * len(prompts) * n)
    # index = prompt_index * n + k (the API's numbering)
    gens: list[tuple[int, str, Generation]] = [
        (
            i * n + k,
            prompts[i],
            generate(
                state,
                target.deployment,
                c,
                limit=limit,
                effort=None,
                stop=stop,
                completion_filter=target.faults.completion_filter,
            ),
        )
        for i, c in enumerate(convs)
        for k in range(n)
    ]
    completion_total = sum(g.completion_tokens for _, _, g in gens)
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
    if stream:
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
        for index, prompt, gen in gens:
            offset = 0
            for j, piece in enumerate(([prompt] if echo else []) + gen.pieces):
                lp = None
                if top is not None:
                    echoed = [prompt] if echo and j == 0 else None
                    lp = _logprobs([] if echoed else [piece], top, offset, echoed=echoed)
                offset += len(piece)
                events.append(sse({**base, "choices": [_choice(index, piece, None, logprobs=lp)]}))
            events.append(sse({**base, "choices": [_choice(index, "", gen.finish_reason, gen)]}))
        if include_usage:
            events.append(sse({**base, "choices": [], "usage": usage}))
        events.append(sse("[DONE]"))
        per_token = target.deployment.token_latency + target.faults.per_token
        return StreamResult(events, headers, per_token, target.faults.cut_after)
    choices = []
    for index, prompt, gen in gens:
        text = (prompt if echo else "") + (gen.content or "")
        lp = None
        if top is not None:
            lp = _logprobs(
                gen.pieces,
                top,
                0 if echo else len(prompt),
                echoed=stream_pieces(prompt) if echo else None,
            )
        choices.append(_choice(index, text, gen.finish_reason, gen, logprobs=lp))
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
    index: int,
    text: str,
    finish: str | None,
    gen: Generation | None = None,
    *,
    logprobs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    choice: dict[str, Any] = {
        "text": text,
        "index": index,
        "finish_reason": finish,
        "logprobs": logprobs,
    }
    if gen is not None:
        choice["content_filter_results"] = completion_results(gen.filtered_category)
    return choice

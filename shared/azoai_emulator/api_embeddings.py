"""Embeddings, on both routes, with Azure's limits (azure-openai-facts §6): at most 2048 inputs,
each non-empty and at most 8192 tokens, and at most 300,000 tokens summed over one request's
inputs (a deployment's ``max_tokens_per_request`` changes that cap, for tests); ``dimensions``
only for text-embedding-3 models (and only from api-version 2024-03-01-preview / 2024-06-01 on
the dated route); ``encoding_format`` ``float`` or ``base64``. Vectors come from :mod:`azoai_emulator.embeddings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from azoai_emulator import azure_errors
from azoai_emulator.api_versions import Feature
from azoai_emulator.embeddings import embed, encode_base64
from azoai_emulator.pipeline import admit, prepare, reject_unknown, success_headers
from azoai_emulator.protocol import ApiError, Call, HttpResult
from azoai_emulator.rules import check_version_gated, invalid_type
from azoai_emulator.state import EmulatorState
from azoai_emulator.tokens import count_tokens

__all__ = ["MAX_INPUTS", "MAX_INPUT_TOKENS", "MAX_TOKENS_PER_REQUEST", "handle_embeddings"]

MAX_INPUTS = 2048
MAX_INPUT_TOKENS = 8192
#: Tokens summed over one request's inputs, as OpenAI's API caps them; the 400 users quote, body
#: and all: "Requested 673477 tokens, max 300000 tokens per request" with ``type`` and ``code``
#: ``max_tokens_per_request`` (langchain-ai/langchain#31227 and #33668; OpenDataBox/CrackSQL#27
#: quotes the whole body). Azure documents no such cap (2,048 inputs of 8,192 tokens each; facts
#: §6), so a deployment enforces it only when configured with ``max_tokens_per_request``.
MAX_TOKENS_PER_REQUEST = 300_000
EMBEDDING_PARAMS = frozenset(
    {"input", "model", "dimensions", "encoding_format", "user", "input_type"}
)
_INVALID_INPUT = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."


def _inputs(raw: Any) -> list[str | list[int]]:
    """Normalise ``input`` (a string, strings, token ids, or lists of token ids)."""
    if raw is None:
        raise azure_errors.missing_parameter("input")
    if isinstance(raw, str):
        items: list[str | list[int]] = [raw]
    elif (
        isinstance(raw, list)
        and raw
        and all(isinstance(x, int) and not isinstance(x, bool) for x in raw)
    ):
        items = [list(raw)]
    elif isinstance(raw, list):
        items = []
        for x in raw:
            if isinstance(x, str):
                items.append(x)
            elif (
                isinstance(x, list)
                and x
                and all(isinstance(t, int) and not isinstance(t, bool) for t in x)
            ):
                items.append(list(x))
            else:
                raise azure_errors.invalid_request(_INVALID_INPUT)
    else:
        raise invalid_type("input", "a string or an array", raw)
    if not items or any(x == "" for x in items):
        raise azure_errors.invalid_request(_INVALID_INPUT)
    if len(items) > MAX_INPUTS:
        raise azure_errors.invalid_request(
            f"Too many inputs. The max number of inputs is {MAX_INPUTS}. We recommend splitting your request into multiple requests.",
            param="input",
        )
    return items


def _over_request_cap(requested: int, cap: int) -> ApiError:
    return ApiError(
        400,
        {
            "error": {
                "message": f"Requested {requested} tokens, max {cap} tokens per request",
                "type": "max_tokens_per_request",
                "param": None,
                "code": "max_tokens_per_request",
            }
        },
    )


def _tokens(item: str | Sequence[int]) -> int:
    return count_tokens(item) if isinstance(item, str) else len(item)


async def handle_embeddings(
    call: Call, state: EmulatorState, *, route: str, deployment: str | None
) -> HttpResult:
    target = await prepare(
        call, state, operation="embeddings", route=route, path_deployment=deployment
    )
    body = target.body
    reject_unknown(body, EMBEDDING_PARAMS)
    check_version_gated(target, body, {"dimensions": Feature.EMBEDDING_DIMENSIONS})
    items = _inputs(body.get("input"))
    counts = [_tokens(item) for item in items]
    for n in counts:
        if n > MAX_INPUT_TOKENS:
            raise azure_errors.invalid_request(
                f"This model's maximum context length is {MAX_INPUT_TOKENS} tokens, however you requested "
                f"{n} tokens ({n} in your prompt; 0 for the completion). Please reduce your prompt; or completion length.",
                code="context_length_exceeded",
            )
    total = sum(counts)
    cap = target.deployment.max_tokens_per_request
    if cap is not None and total > cap:
        raise _over_request_cap(total, cap)
    info = target.info
    native = info.embedding_dimensions or 1536
    dimensions = body.get("dimensions")
    if dimensions is not None:
        if not info.supports_dimensions:
            raise azure_errors.invalid_request(
                "This model does not support specifying dimensions.", param="dimensions"
            )
        if isinstance(dimensions, bool) or not isinstance(dimensions, int):
            raise invalid_type("dimensions", "an integer", dimensions)
        if not 1 <= dimensions <= native:
            raise azure_errors.invalid_request(
                f"Invalid value for 'dimensions' = {dimensions}. Must be between 1 and {native}.",
                param="dimensions",
                code="invalid_value",
            )
    size = dimensions or native
    fmt = body.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise azure_errors.invalid_request(
            f"Invalid value: '{fmt}'. Supported values are: 'float' and 'base64'.",
            param="encoding_format",
            code="invalid_value",
        )
    decision = admit(state, target, total)
    data = []
    for index, item in enumerate(items):
        vector = embed(item, size)
        data.append(
            {
                "object": "embedding",
                "index": index,
                "embedding": encode_base64(vector) if fmt == "base64" else vector,
            }
        )
    result = {
        "object": "list",
        "data": data,
        "model": target.deployment.model,
        "usage": {"prompt_tokens": total, "total_tokens": total},
    }
    return HttpResult(200, result, success_headers(target, decision))

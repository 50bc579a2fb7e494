"""Parameter rules Azure enforces per model family and api-version, shared by the wire APIs.

Messages and codes follow what the service returns (azure-openai-facts §4.10 and §8): reasoning
models reject sampling parameters by their mere presence; older api-versions reject newer
arguments as "Unrecognized request argument supplied"; structured-output schemas marked
``strict`` must close every object and require every property.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from azoai_emulator import azure_errors
from azoai_emulator.api_versions import Feature
from azoai_emulator.models import ModelSpec
from azoai_emulator.pipeline import Target
from azoai_emulator.protocol import ApiError
from azoai_emulator.schema import schema_problem

__all__ = [
    "REASONING_UNSUPPORTED",
    "check_numbers",
    "check_output_limit",
    "check_reasoning",
    "check_strict_schema",
    "check_tool_name",
    "check_tool_parameters",
    "check_tools_with_reasoning",
    "check_version_gated",
    "effort_of",
    "invalid_type",
]

#: Sampling parameters reasoning models reject by their mere presence: "Not supported:
#: temperature, top_p, presence_penalty, frequency_penalty, logprobs, top_logprobs, logit_bias,
#: max_tokens" (facts §8; reasoning.md "Not Supported"). ``max_tokens`` is checked apart: on Chat
#: Completions it is refused with a pointer to ``max_completion_tokens``, and the Responses API
#: has no such parameter.
REASONING_UNSUPPORTED = (
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "logprobs",
    "top_logprobs",
    "logit_bias",
)

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0, 2),
    "top_p": (0, 1),
    "presence_penalty": (-2, 2),
    "frequency_penalty": (-2, 2),
    "top_logprobs": (0, 20),
}


def _type_name(value: Any) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }.get(type(value), "null" if value is None else type(value).__name__)


def invalid_type(param: str, expected: str, value: Any) -> ApiError:
    return azure_errors.invalid_request(
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        param=param,
        code="invalid_type",
    )


def check_version_gated(
    target: Target, body: Mapping[str, Any], gated: Mapping[str, Feature]
) -> None:
    """Older dated api-versions do not know newer arguments."""
    missing = [
        name for name, feature in gated.items() if name in body and not target.supports(feature)
    ]
    if missing:
        raise azure_errors.unrecognized_arguments(missing)


def check_numbers(body: Mapping[str, Any], names: Iterable[str] = tuple(_RANGES)) -> None:
    for name in names:
        if name not in body or body[name] is None:
            continue
        value = body[name]
        lo, hi = _RANGES[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid_type(name, "a decimal", value)
        if value < lo:
            raise azure_errors.invalid_request(
                f"Invalid '{name}': decimal below minimum value. Expected a value >= {lo}, but got {value} instead.",
                param=name,
                code="decimal_below_min_value",
            )
        if value > hi:
            raise azure_errors.invalid_request(
                f"Invalid '{name}': decimal above maximum value. Expected a value <= {hi}, but got {value} instead.",
                param=name,
                code="decimal_above_max_value",
            )


def check_reasoning(
    target: Target,
    body: Mapping[str, Any],
    *,
    unsupported: Iterable[str] = REASONING_UNSUPPORTED,
    api: str = "chat",
) -> None:
    """Reasoning-model rules (facts §8) and the reasoning_effort / verbosity values."""
    info = target.info
    if info.reasoning:
        first = info.first_dated_version
        if target.version is not None and first is not None and not target.at_least(first):
            raise azure_errors.model_needs_newer_version(first)
        for name in unsupported:
            if name in body:
                raise azure_errors.unsupported_parameter(name)
        if api == "chat" and "max_tokens" in body:
            raise azure_errors.unsupported_parameter(
                "max_tokens", " Use 'max_completion_tokens' instead."
            )
    effort = effort_of(body, api)
    if effort is not None:
        param = "reasoning_effort" if api == "chat" else "reasoning.effort"
        if (not info.reasoning or not info.reasoning_efforts) and info.known:
            # A chat model, or a reasoning model without the setting (o1-mini, facts §8).
            raise azure_errors.unsupported_parameter(param)
        if info.reasoning_efforts and effort not in info.reasoning_efforts:
            raise azure_errors.unsupported_value(
                param,
                f"'{param}' does not support '{effort}' with this model. Supported values are: "
                + _choices(info.reasoning_efforts)
                + ".",
            )
    verbosity = (
        body.get("verbosity") if api == "chat" else (body.get("text") or {}).get("verbosity")
    )
    if verbosity is not None and not info.verbosity and info.known:
        raise azure_errors.unsupported_parameter("verbosity" if api == "chat" else "text.verbosity")


def effort_of(body: Mapping[str, Any], api: str) -> str | None:
    if api == "chat":
        value = body.get("reasoning_effort")
    else:
        reasoning = body.get("reasoning")
        value = reasoning.get("effort") if isinstance(reasoning, Mapping) else None
    return value if isinstance(value, str) else None


def _choices(values: Iterable[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


def check_output_limit(info: ModelSpec, name: str, value: Any) -> int | None:
    """``max_tokens`` / ``max_completion_tokens`` / ``max_output_tokens``: a positive integer no
    larger than the model's output limit."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(name, "an integer", value)
    if value < 1:
        raise azure_errors.invalid_request(
            f"Invalid '{name}': integer below minimum value. Expected a value >= 1, but got {value} instead.",
            param=name,
            code="integer_below_min_value",
        )
    if info.max_output and value > info.max_output:
        raise azure_errors.invalid_request(
            f"{name} is too large: {value}. This model supports at most {info.max_output} completion "
            f"tokens, whereas you provided {value}.",
            param=name,
            code="invalid_value",
        )
    return value


def check_tool_name(name: Any, param: str) -> str:
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        raise azure_errors.invalid_request(
            f"Invalid '{param}': string does not match pattern. Expected a string that matches the "
            "pattern '^[a-zA-Z0-9_-]+$'.",
            param=param,
            code="invalid_value",
        )
    return name


def check_strict_schema(
    schema: Any, *, what: str, root: Any = None, path: tuple[str, ...] = ()
) -> None:
    """Structured Outputs' strict-mode rules: every object closes (``additionalProperties:
    false``) and requires all its properties. ``what`` is e.g. ``response_format 'person'``."""
    root = schema if root is None else root
    if not isinstance(schema, Mapping):
        return
    context = "(" + ", ".join(repr(p) for p in path) + ("," if len(path) == 1 else "") + ")"
    is_object = schema.get("type") == "object" or (
        isinstance(schema.get("type"), list) and "object" in schema["type"]
    )
    if is_object and "properties" in schema:
        if schema.get("additionalProperties") is not False:
            raise azure_errors.invalid_request(
                f"Invalid schema for {what}: In context={context}, 'additionalProperties' is required "
                "to be supplied and to be false.",
                param="response_format" if what.startswith("response_format") else "tools",
                code="invalid_json_schema",
            )
        required = schema.get("required") or []
        for key in schema["properties"]:
            if key not in required:
                raise azure_errors.invalid_request(
                    f"Invalid schema for {what}: In context={context}, 'required' is required to be "
                    f"supplied and to be an array including every key in properties. Missing '{key}'.",
                    param="response_format" if what.startswith("response_format") else "tools",
                    code="invalid_json_schema",
                )
        for key, sub in schema["properties"].items():
            check_strict_schema(sub, what=what, root=root, path=(*path, "properties", key))
    for key in ("items",):
        if isinstance(schema.get(key), Mapping):
            check_strict_schema(schema[key], what=what, root=root, path=(*path, key))
    for key in ("anyOf", "allOf"):
        for i, sub in enumerate(schema.get(key) or []):
            check_strict_schema(sub, what=what, root=root, path=(*path, key, str(i)))
    for key in ("$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            check_strict_schema(sub, what=what, root=root, path=(*path, key, name))


def check_tool_parameters(params: Any, name: str, param: str) -> None:
    """A function's ``parameters`` must be a valid JSON Schema: Azure refuses one that is not
    with OpenAI's validation error ("Invalid schema for function 'bash': ...", code
    ``invalid_function_parameters``, param ``tools[0].function.parameters`` on Chat Completions;
    anomalyco/opencode#441, Azure/azure-mcp#197) instead of calling the tool with ``{}``."""
    problem = schema_problem(params)
    if problem is not None:
        raise azure_errors.invalid_request(
            f"Invalid schema for function '{name}': {problem}.",
            param=param,
            code="invalid_function_parameters",
        )


_GPT5_MINOR = re.compile(r"^gpt-5\.(\d+)")


def check_tools_with_reasoning(target: Target, body: Mapping[str, Any]) -> None:
    """Chat Completions on the gpt-5 line refuses function tools with reasoning, as users quote
    it: an explicit effort other than 'none' from gpt-5.2 (openai/openai-openapi#541 for gpt-5.4;
    livekit/agents#5088: gpt-5.2 and gpt-5.4 "just need it absent"); from gpt-5.5 the model's
    default effort too, only 'none' passes (jeffdafoe/llm-memory-api#178; BerriAI/litellm#34569
    for gpt-5.6: "tools only => 400 ... tools + reasoning_effort=none => 200"). The message names
    the model with its version (aaif-goose/goose#9825 on Azure: "gpt-5.5-2026-04-24"); from
    gpt-5.6 it offers 'none' too (danny-avila/LibreChat#14231). ``param`` is reasoning_effort,
    ``code`` null."""
    if not (body.get("tools") or body.get("functions")) or not target.info.reasoning:
        return
    m = _GPT5_MINOR.match(target.deployment.model.strip().lower())
    if m is None or int(m.group(1)) < 2:
        return
    minor = int(m.group(1))
    effort = body.get("reasoning_effort")
    if effort == "none" or (effort is None and minor < 5):
        return
    advice = (
        "Please use /v1/responses instead."
        if minor < 6
        else "To use function tools, use /v1/responses or set reasoning_effort to 'none'."
    )
    raise azure_errors.invalid_request(
        f"Function tools with reasoning_effort are not supported for "
        f"{target.deployment.response_model} in /v1/chat/completions. {advice}",
        param="reasoning_effort",
    )

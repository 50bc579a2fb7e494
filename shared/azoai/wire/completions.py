"""The legacy Completions dialect (``/completions``, instruct and base models): the request body
checked before sending, the response and each streamed chunk parsed into neutral types.

Pure: no I/O. A prompt is a string or a list of strings; Azure answers ``n`` choices per prompt,
numbered ``prompt_index * n + k`` (:meth:`CompletionResult.for_prompt` undoes the numbering).
Streamed and non-streamed answers share one shape (the spec's ``createCompletionResponse``);
the first streamed chunk carries only ``prompt_filter_results`` with empty ``choices`` (facts
§5.2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from azoai.config.versions import ApiVersion, Feature, require_feature
from azoai.content_filter import (
    ContentFilterResults,
    parse_category_results,
    parse_prompt_filter_results,
)
from azoai.errors import ConfigError, InvalidResponseError
from azoai.wire.types import Usage

__all__ = [
    "CompletionChoice",
    "CompletionDelta",
    "CompletionLogprobs",
    "CompletionResult",
    "build_body",
    "parse_chunk",
    "parse_response",
]

#: spec 2024-02-01: "Maximum allowed size of string list is 2048"; n "Minimum of 1 and maximum of
#: 128"; logprobs "Minimum of 0 and maximum of 5"; stop "Array minimum size of 1 and maximum of
#: 4"; best_of maximum 20 (spec 2025-04-01-preview).
MAX_PROMPTS = 2048
MAX_N = 128
MAX_LOGPROBS = 5
MAX_STOP = 4
MAX_BEST_OF = 20


@dataclass(slots=True)
class CompletionLogprobs:
    """Per-token log probabilities of one choice (the legacy shape): the tokens, each one's
    logprob (``None`` for the first echoed prompt token), the ``logprobs`` likeliest
    alternatives per token, and each token's character offset in the text."""

    tokens: list[str] = field(default_factory=list)
    token_logprobs: list[float | None] = field(default_factory=list)
    top_logprobs: list[dict[str, float] | None] = field(default_factory=list)
    text_offset: list[int] = field(default_factory=list)

    def extend(self, more: CompletionLogprobs) -> None:
        self.tokens += more.tokens
        self.token_logprobs += more.token_logprobs
        self.top_logprobs += more.top_logprobs
        self.text_offset += more.text_offset

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokens": list(self.tokens),
            "token_logprobs": list(self.token_logprobs),
            "top_logprobs": list(self.top_logprobs),
            "text_offset": list(self.text_offset),
        }


@dataclass(slots=True)
class CompletionChoice:
    index: int
    text: str
    finish_reason: str | None = None
    logprobs: CompletionLogprobs | None = None
    content_filter: ContentFilterResults | None = None


@dataclass(slots=True)
class CompletionResult:
    """A completions answer. ``n`` is the choices per prompt asked for; ``prompt_filters`` the
    content filter's verdict per prompt."""

    choices: list[CompletionChoice]
    usage: Usage = field(default_factory=Usage)
    n: int = 1
    id: str | None = None
    model: str | None = None
    deployment: str | None = None
    system_fingerprint: str | None = None
    prompt_filters: list[ContentFilterResults] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The first choice's text."""
        return self.choices[0].text if self.choices else ""

    @property
    def finish_reason(self) -> str | None:
        return self.choices[0].finish_reason if self.choices else None

    def for_prompt(self, index: int) -> list[CompletionChoice]:
        """The choices for prompt ``index`` (of a list of prompts), in order."""
        lo, hi = index * self.n, (index + 1) * self.n
        return [c for c in self.choices if lo <= c.index < hi]

    @property
    def content_filter(self) -> list[ContentFilterResults]:
        """Every verdict: the prompts' and each choice's."""
        return [*self.prompt_filters, *(c.content_filter for c in self.choices if c.content_filter)]


@dataclass(slots=True)
class CompletionDelta:
    """One streamed piece of one choice: ``text`` to append to choice ``index``; the choice's
    last delta has its ``finish_reason``. The first delta of a stream carries the deployment and
    Azure's response headers; the usage comes on the last one when Azure sends it."""

    index: int
    text: str = ""
    finish_reason: str | None = None
    logprobs: CompletionLogprobs | None = None
    content_filter: ContentFilterResults | None = None
    id: str | None = None
    model: str | None = None
    usage: Usage | None = None
    deployment: str | None = None
    headers: dict[str, str] | None = None


# --- request ------------------------------------------------------------------------------------


def _whole(value: Any, setting: str, lo: int, hi: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi and value > hi):
        span = f"from {lo} to {hi}" if hi else f"of at least {lo}"
        raise ConfigError(
            f"{setting} must be a whole number {span}, got {value!r}", setting=setting
        )
    return value


def _prompts(prompt: Any) -> str | list[str]:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence) and not isinstance(prompt, bytes | bytearray):
        items = list(prompt)
        if not items:
            raise ConfigError("the list of prompts is empty", setting="prompt")
        bad = [i for i, p in enumerate(items) if not isinstance(p, str)]
        if bad:
            raise ConfigError(
                f"prompt {bad[0]} is a {type(items[bad[0]]).__name__}, not a string",
                setting="prompt",
            )
        if len(items) > MAX_PROMPTS:
            raise ConfigError(
                f"{len(items)} prompts in one call; Azure takes at most {MAX_PROMPTS}",
                setting="prompt",
            )
        return items
    raise ConfigError(
        f"prompt must be a string or a list of strings, got {type(prompt).__name__}",
        setting="prompt",
    )


def build_body(
    prompt: str | Sequence[str],
    *,
    deployment: str,
    route: str,
    version: ApiVersion,
    stream: bool = False,
    max_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    n: int | None = None,
    stop: str | Sequence[str] | None = None,
    logprobs: int | None = None,
    echo: bool | None = None,
    suffix: str | None = None,
    best_of: int | None = None,
    presence_penalty: float | None = None,
    frequency_penalty: float | None = None,
    logit_bias: Mapping[str, int] | None = None,
    seed: int | None = None,
    user: str | None = None,
    extra_body: Mapping[str, Any] | None = None,
    check_version: bool = True,
) -> dict[str, Any]:
    """The ``/completions`` body; a value Azure would refuse is a :class:`ConfigError` naming
    the argument (before anything is sent)."""
    require_feature(version, Feature.COMPLETIONS, check=check_version)
    body: dict[str, Any] = {"prompt": _prompts(prompt)}
    if route != "deployments":
        body["model"] = deployment
    numbers: dict[str, Any] = {
        "max_tokens": _whole(max_tokens, "max_tokens", 0, None),
        "n": _whole(n, "n", 1, MAX_N),
        "logprobs": _whole(logprobs, "logprobs", 0, MAX_LOGPROBS),
        "best_of": _whole(best_of, "best_of", 1, MAX_BEST_OF),
        "seed": seed,
    }
    if best_of is not None and best_of < (n or 1):
        raise ConfigError(
            f"best_of ({best_of}) must be at least n ({n or 1}): it is how many candidates the "
            "service generates to return the best n",
            setting="best_of",
        )
    if stream and best_of is not None and best_of > 1:
        raise ConfigError(
            "best_of > 1 cannot be streamed (the service picks the best candidates at the end)",
            setting="best_of",
        )
    for name, value in (
        ("temperature", temperature),
        ("top_p", top_p),
        ("presence_penalty", presence_penalty),
        ("frequency_penalty", frequency_penalty),
    ):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{name} must be a number, got {value!r}", setting=name)
            numbers[name] = value
    body.update({k: v for k, v in numbers.items() if v is not None})
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else list(stop)
        if not 1 <= len(stops) <= MAX_STOP or not all(isinstance(s, str) for s in stops):
            raise ConfigError(
                f"stop must be a string or 1 to {MAX_STOP} strings, got {stop!r}", setting="stop"
            )
        body["stop"] = stops if not isinstance(stop, str) else stop
    if echo is not None:
        body["echo"] = bool(echo)
    if suffix is not None:
        body["suffix"] = suffix
    if logit_bias:
        body["logit_bias"] = dict(logit_bias)
    if user is not None:
        body["user"] = user
    if stream:
        body["stream"] = True
    if extra_body:
        body.update(extra_body)
    return body


# --- responses ----------------------------------------------------------------------------------


def _logprobs(raw: Any) -> CompletionLogprobs | None:
    if not isinstance(raw, Mapping):
        return None

    def listed(key: str) -> list[Any]:
        value = raw.get(key)
        return list(value) if isinstance(value, list) else []

    return CompletionLogprobs(
        tokens=[t for t in listed("tokens") if isinstance(t, str)],
        token_logprobs=[
            float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
            for v in listed("token_logprobs")
        ],
        top_logprobs=[
            {str(k): float(v) for k, v in t.items() if isinstance(v, int | float)}
            if isinstance(t, Mapping)
            else None
            for t in listed("top_logprobs")
        ],
        text_offset=[v for v in listed("text_offset") if isinstance(v, int)],
    )


def _choice(raw: Any) -> CompletionChoice:
    if not isinstance(raw, Mapping):
        raise InvalidResponseError("a completion choice is not an object")
    index = raw.get("index", 0)
    text = raw.get("text")
    cf = raw.get("content_filter_results")
    return CompletionChoice(
        index=index if isinstance(index, int) and not isinstance(index, bool) else 0,
        text=text if isinstance(text, str) else "",
        finish_reason=raw.get("finish_reason")
        if isinstance(raw.get("finish_reason"), str)
        else None,
        logprobs=_logprobs(raw.get("logprobs")),
        content_filter=ContentFilterResults(
            "completion",
            parse_category_results(cf),
            index=index if isinstance(index, int) else 0,
            raw=cf,
        )
        if isinstance(cf, Mapping)
        else None,
    )


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, Mapping):
        return Usage()

    def num(key: str) -> int:
        v = raw.get(key)
        return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0

    prompt, completion = num("prompt_tokens"), num("completion_tokens")
    return Usage(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=num("total_tokens") or prompt + completion,
    )


def _text_field(body: Mapping[str, Any], key: str) -> str | None:
    v = body.get(key)
    return v if isinstance(v, str) and v else None


def parse_response(
    body: Any,
    *,
    n: int = 1,
    deployment: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> CompletionResult:
    if not isinstance(body, Mapping) or not isinstance(body.get("choices"), list):
        raise InvalidResponseError(
            "the completions response holds no 'choices' list", deployment=deployment
        )
    choices = sorted((_choice(c) for c in body["choices"]), key=lambda c: c.index)
    return CompletionResult(
        choices=choices,
        usage=_usage(body.get("usage")),
        n=n,
        id=_text_field(body, "id"),
        model=_text_field(body, "model"),
        deployment=deployment,
        system_fingerprint=_text_field(body, "system_fingerprint"),
        prompt_filters=parse_prompt_filter_results(body),
        headers=dict(headers or {}),
    )


def parse_chunk(
    event: Any,
) -> tuple[list[CompletionDelta], list[ContentFilterResults], Usage | None]:
    """One streamed chunk: its deltas (one per choice it carries), the prompt verdicts it carries
    (the first chunk's), and its usage (a final chunk's, when asked for)."""
    if not isinstance(event, Mapping):
        raise InvalidResponseError("a completions stream chunk is not an object")
    raw = event.get("choices")
    choices = raw if isinstance(raw, list) else []
    ident, model = _text_field(event, "id"), _text_field(event, "model")
    deltas = []
    for c in choices:
        choice = _choice(c)
        deltas.append(
            CompletionDelta(
                index=choice.index,
                text=choice.text,
                finish_reason=choice.finish_reason,
                logprobs=choice.logprobs,
                content_filter=choice.content_filter,
                id=ident,
                model=model,
            )
        )
    usage = _usage(event["usage"]) if isinstance(event.get("usage"), Mapping) else None
    return deltas, parse_prompt_filter_results(event), usage

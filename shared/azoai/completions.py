"""Legacy completions for instruct and base models (gpt-35-turbo-instruct, davinci-002,
babbage-002): sync, async and streamed, through the same client, connection, auth, retry loop
and typed errors as chat::

    from azoai import Completions

    with Completions(endpoint="https://myres.openai.azure.com", deployment="instruct") as c:
        print(c.complete("Say hello", max_tokens=5).text)
        for delta in c.stream(["One", "Two"], n=2):
            print(delta.index, delta.text)

Where it goes: ``/openai/deployments/{d}/completions?api-version=<date>``. Azure documents the
legacy Completions operation on the dated route only (facts §1.3: every inference spec has it;
the v1 route's operations list has none), so a client on the v1 route sends completions to the
dated route with :data:`~azoai.config.versions.DEFAULT_DATED_VERSION`; a non-Azure
OpenAI-compatible endpoint gets ``{base}/completions``.

A deployment whose model azoai knows to be a chat, reasoning or embedding model is refused before
sending (Azure would answer ``OperationNotSupported``). A choice the content filter cut
(``finish_reason == "content_filter"``) raises :class:`~azoai.errors.ContentFilterError`, with the
text before the cut, unless ``CallOptions(return_filtered=True)``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from azoai.config.catalog import ModelInfo
from azoai.config.image_models import is_image_model_name
from azoai.config.versions import DEFAULT_DATED_VERSION, ApiVersion, parse_api_version
from azoai.content_filter import ContentFilterResults
from azoai.error_reading import kept_headers
from azoai.errors import (
    ConfigError,
    ContentFilterError,
    InvalidResponseError,
    StreamInterruptedError,
)
from azoai.io.exchange import Cut, Opened
from azoai.pipeline.policy import DEFAULT_OPTIONS, Call, CallOptions
from azoai.pipeline.streaming import astart_feed, start_feed
from azoai.pipeline.telemetry.services import traced_service, traced_service_stream
from azoai.service import Service
from azoai.wire import completions as dialect
from azoai.wire.common import dumps, loads
from azoai.wire.completions import CompletionDelta, CompletionResult
from azoai.wire.tokens import counter_for, estimate_tokens

__all__ = ["CompletionDelta", "CompletionResult", "Completions"]

log = logging.getLogger("azoai.client")

#: What :func:`~azoai.pipeline.streaming.start_feed` returns for a completions stream.
_Started = tuple[Opened, "_StreamState", Iterator[str], list[CompletionDelta] | None]
_AStarted = tuple[Opened, "_StreamState", AsyncGenerator[str, None], list[CompletionDelta] | None]

#: Model families that serve the Completions operation (catalog names; davinci-002 and
#: babbage-002 are not in the catalogue, so they pass as unknown models).
COMPLETION_FAMILIES = frozenset({"gpt-3.5-turbo-instruct"})

_PARAMS = (
    "max_tokens",
    "temperature",
    "top_p",
    "n",
    "stop",
    "logprobs",
    "echo",
    "suffix",
    "best_of",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "seed",
    "user",
)


class Completions(Service):
    """Legacy completions (see the module docstring). ``model`` on each call picks another
    deployment, as for chat; the keyword arguments are the API's own (``max_tokens``, ``n``,
    ``stop``, ``logprobs``, ``echo``, ``suffix``, ``best_of``, ...)."""

    _said_dated = False

    # -- building --------------------------------------------------------------------------------

    def _route(self) -> tuple[str, ApiVersion]:
        s = self.settings
        if s.route == "v1" and s.endpoint.kind != "compatible":
            if not Completions._said_dated:
                Completions._said_dated = True
                log.info(
                    "legacy completions use the deployments route (api-version %s): Azure "
                    "documents no completions operation on the v1 route",
                    DEFAULT_DATED_VERSION,
                )
            return "deployments", parse_api_version(DEFAULT_DATED_VERSION)
        return s.route, s.api_version

    @staticmethod
    def _check_model(deployment: str, info: ModelInfo, max_tokens: Any) -> None:
        refused = (info.known and info.family not in COMPLETION_FAMILIES) or is_image_model_name(
            info.name
        )
        if refused:
            kind = "an embedding" if info.is_embedding else "a chat" if info.known else "an image"
            raise ConfigError(
                f"deployment '{deployment}' runs {info.name or info.family}, {kind} model; legacy "
                "completions are served by instruct and base models (gpt-35-turbo-instruct, "
                "davinci-002, babbage-002)",
                setting="deployment",
                fix="use Client.chat for this deployment, or name a deployment of an instruct "
                "model (model=...)",
            )
        if (
            info.known
            and isinstance(max_tokens, int)
            and not isinstance(max_tokens, bool)
            and max_tokens > info.context_window
        ):
            raise ConfigError(
                f"max_tokens={max_tokens} is more than {info.name}'s whole context window "
                f"({info.context_window} tokens, prompt included)",
                setting="max_tokens",
            )

    def _prepare(
        self,
        prompt: str | Sequence[str],
        model: str | None,
        stream: bool,
        params: Mapping[str, Any],
        extra_body: Mapping[str, Any] | None,
    ) -> tuple[Call, int, int, str, ApiVersion]:
        """The call, the choices per prompt, how many choices the answer holds, and the route
        and api-version it goes to."""
        res, info = self._target(model)
        self._check_model(res.deployment, info, params.get("max_tokens"))
        route, version = self._route()
        body = dialect.build_body(
            prompt,
            deployment=res.deployment,
            route=route,
            version=version,
            stream=stream,
            extra_body=extra_body,
            check_version=self.settings.check_api_version,
            **{k: params.get(k) for k in _PARAMS},
        )
        n = body.get("n", 1)
        prompts = 1 if isinstance(body["prompt"], str) else len(body["prompt"])
        url = self._url("completions", res.deployment, route=route, version=version)
        call = Call(res.deployment, "completions", url, dumps(body), info, stream, [])
        return call, n, prompts * n, route, version

    @staticmethod
    def _finish(result: CompletionResult, options: CallOptions) -> CompletionResult:
        cut = [c for c in result.choices if c.finish_reason == "content_filter"]
        if cut and not options.return_filtered:
            raise _filtered(result.content_filter, cut[0].text, result, result.deployment)
        return result

    def max_tokens_left(
        self, prompt: str, *, model: str | None = None, window: int | None = None
    ) -> int:
        """The most tokens a completion of ``prompt`` may ask for: the model's context window (or
        ``window``) less the prompt, counted exactly when tiktoken's encoding is on disk, else
        with a margin (the offline estimate runs low on short, punctuated prompts), and no more
        than the model's output limit; at least 1. Name the model (``model=``) for its limits:
        an unknown one gets the catalogue's conservative defaults.
        Azure's own default is 16 tokens, which the LangChain and LlamaIndex completion models
        replace with this when no ``max_tokens`` is set."""
        _, info = self._target(model)
        counter = counter_for(info.encoding)
        used = counter.count(prompt) if counter.exact else estimate_tokens(prompt) + 16
        return max(1, min((window or info.context_window) - used, info.max_output))

    # -- one answer ------------------------------------------------------------------------------

    @traced_service("text_completion", "completions")
    def complete(
        self,
        prompt: str | Sequence[str],
        *,
        model: str | None = None,
        options: CallOptions | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> CompletionResult:
        """Complete ``prompt`` (a string, or a list: ``n`` choices per prompt, see
        :meth:`CompletionResult.for_prompt`)."""
        _check_params(params)
        opts = options or DEFAULT_OPTIONS
        call, n, _, route, version = self._prepare(prompt, model, False, params, extra_body)
        resp = self._send(call, opts, route, version)
        result = dialect.parse_response(
            loads(resp.content), n=n, deployment=call.deployment, headers=kept_headers(resp.headers)
        )
        return self._finish(result, opts)

    @traced_service("text_completion", "completions")
    async def acomplete(
        self,
        prompt: str | Sequence[str],
        *,
        model: str | None = None,
        options: CallOptions | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> CompletionResult:
        _check_params(params)
        opts = options or DEFAULT_OPTIONS
        await self._atarget(model)  # discovery, off the event loop
        call, n, _, route, version = self._prepare(prompt, model, False, params, extra_body)
        resp = await self._asend(call, opts, route, version)
        result = dialect.parse_response(
            loads(resp.content), n=n, deployment=call.deployment, headers=kept_headers(resp.headers)
        )
        return self._finish(result, opts)

    # -- streaming -------------------------------------------------------------------------------

    @traced_service_stream("text_completion", "completions")
    def stream(
        self,
        prompt: str | Sequence[str],
        *,
        model: str | None = None,
        options: CallOptions | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> Iterator[CompletionDelta]:
        """Stream the choices as :class:`CompletionDelta` pieces (each names its choice by
        ``index``). Until the first piece arrives a failure is retried like any call; a stream
        that ends before every choice finished raises :class:`StreamInterruptedError`."""
        _check_params(params)
        opts = options or DEFAULT_OPTIONS
        call, _, expected, route, version = self._prepare(prompt, model, True, params, extra_body)
        started: _Started = start_feed(
            self.client._transport,
            self.client._request(call, opts),
            self._policy(call, opts, route, version),
            call,
            lambda headers: _StreamState(call, opts, headers, expected),
        )
        opened, state, feed, first = started
        try:
            if first is not None:
                yield from first
            if not state.done:
                for data in feed:
                    deltas = state.feed(data)
                    if deltas is not None:
                        yield from deltas
                    if state.done:
                        break
        except Cut as cut:
            raise state.interrupted(cut.why, fix=cut.fix()) from None
        finally:
            opened.close()
        state.check_complete()

    @traced_service_stream("text_completion", "completions")
    async def astream(
        self,
        prompt: str | Sequence[str],
        *,
        model: str | None = None,
        options: CallOptions | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> AsyncIterator[CompletionDelta]:
        _check_params(params)
        opts = options or DEFAULT_OPTIONS
        await self._atarget(model)
        call, _, expected, route, version = self._prepare(prompt, model, True, params, extra_body)
        started: _AStarted = await astart_feed(
            self.client._transport,
            self.client._request(call, opts),
            self._policy(call, opts, route, version),
            call,
            lambda headers: _StreamState(call, opts, headers, expected),
        )
        opened, state, feed, first = started
        try:
            if first is not None:
                for delta in first:
                    yield delta
            if not state.done:
                async for data in feed:
                    deltas = state.feed(data)
                    if deltas is not None:
                        for delta in deltas:
                            yield delta
                    if state.done:
                        break
        except Cut as cut:
            raise state.interrupted(cut.why, fix=cut.fix()) from None
        finally:
            await feed.aclose()
            await opened.aclose()
        state.check_complete()


def _check_params(params: Mapping[str, Any]) -> None:
    unknown = sorted(set(params) - set(_PARAMS))
    if unknown:
        raise TypeError(
            f"unexpected completion argument(s): {', '.join(unknown)} (pass other body fields "
            "in extra_body=)"
        )


def _filtered(
    filters: Sequence[ContentFilterResults],
    text: str,
    result: CompletionResult | None,
    deployment: str | None,
) -> ContentFilterError:
    cats = sorted({c for f in filters if f.side == "completion" for c in f.filtered_categories})
    return ContentFilterError(
        "Azure's content filter stopped the completion" + (f" ({', '.join(cats)})" if cats else ""),
        side="completion",
        results=list(filters),
        partial_text=text,
        partial_result=result,
        deployment=deployment,
        fix="rephrase the prompt, or pass CallOptions(return_filtered=True) to receive the "
        "partial output",
    )


class _StreamState:
    """One completions stream: the text per choice so far, the finished choices, the prompt
    verdicts; raises on a filtered choice and says what was lost when the stream is cut."""

    __slots__ = (
        "call",
        "done",
        "expected",
        "filters",
        "finished",
        "first",
        "headers",
        "options",
        "texts",
    )

    def __init__(
        self, call: Call, options: CallOptions, headers: dict[str, str], expected: int
    ) -> None:
        self.call = call
        self.options = options
        self.headers = headers
        self.expected = expected
        self.done = False
        self.first = True
        self.texts: dict[int, list[str]] = {}
        self.finished: dict[int, str] = {}
        self.filters: list[ContentFilterResults] = []

    def feed(self, data: str) -> list[CompletionDelta] | None:
        """The pieces one chunk carries; ``None`` for none (the prompt's verdicts, ``[DONE]``)."""
        if data == "[DONE]":
            self.done = True
            return None
        try:
            deltas, prompt_filters, usage = dialect.parse_chunk(loads(data))
        except InvalidResponseError as exc:
            raise self.interrupted(f"a malformed chunk arrived ({exc.message})") from None
        self.filters += prompt_filters
        if usage is not None and not deltas:
            deltas = [CompletionDelta(index=0, usage=usage)]
        elif usage is not None:
            deltas[-1].usage = usage
        for d in deltas:
            if d.text:
                self.texts.setdefault(d.index, []).append(d.text)
            if d.content_filter is not None:
                self.filters.append(d.content_filter)
            if d.finish_reason:
                self.finished[d.index] = d.finish_reason
                if d.finish_reason == "content_filter" and not self.options.return_filtered:
                    raise self._filtered(d.index)
        if not deltas:
            return None
        if self.first:
            deltas[0].headers = self.headers
            deltas[0].deployment = self.call.deployment
            self.first = False
        return deltas

    def _filtered(self, index: int) -> ContentFilterError:
        return _filtered(
            self.filters, "".join(self.texts.get(index, [])), None, self.call.deployment
        )

    def interrupted(self, why: str, fix: str | None = None) -> StreamInterruptedError:
        text = "".join("".join(t) for _, t in sorted(self.texts.items()))
        return StreamInterruptedError(
            f"the completions stream from deployment '{self.call.deployment}' ended before the "
            f"model finished: {why}; {len(text)} characters arrived",
            partial_text=text,
            deployment=self.call.deployment,
            fix=fix,
        )

    def check_complete(self) -> None:
        if not self.done and len(self.finished) < self.expected:
            raise self.interrupted("no finish reason and no end-of-stream marker")

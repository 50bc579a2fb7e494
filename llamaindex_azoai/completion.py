"""``AzureOpenAICompletion``: a LlamaIndex completion LLM (``is_chat_model=False``) for instruct
deployments (gpt-35-turbo-instruct, davinci-002, babbage-002), backed by the azoai core's legacy
completions.

llama-index serves these models through its ``OpenAI``/``AzureOpenAI`` classes, which switch to
the completions endpoint for a non-chat model; this class is that path on its own, in the
``CustomLLM`` shape: ``complete``/``stream_complete`` and their async twins call Azure's
completions, and ``chat`` turns the messages into one prompt with ``messages_to_prompt``
(llama-index's ``role: content`` lines ending in ``assistant: `` unless you pass your own), as
llama-index does for completion models. Unset ``max_tokens`` asks for the rest of the context
window, as llama-index's ``OpenAI`` does (Azure's own default is 16 tokens). Routes, auth,
retries, content filtering and which models serve completions are the core's
(:class:`azoai.completions.Completions`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from llama_index.core.base.llms.generic_utils import (
    completion_response_to_chat_response,
    stream_completion_response_to_chat_response,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    LogProb,
)
from llama_index.core.bridge.pydantic import Field
from llama_index.core.callbacks import CallbackManager
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.llm import LLM
from llama_index.core.types import BaseOutputParser, PydanticProgramMode

from azoai.client import CallOptions
from azoai.completions import CompletionDelta, CompletionResult, Completions
from azoai.config.settings import Settings
from azoai.errors import AzoaiError
from azoai.wire.completions import CompletionLogprobs
from llamaindex_azoai._settings import AzureConnection, reject_unknown, resolve_engine
from llamaindex_azoai._signatures import presign

if TYPE_CHECKING:
    import httpx

__all__ = ["AzureOpenAICompletion"]

#: Body parameters the core's completions call takes by name; other additional_kwargs go in the
#: body as they are.
_CORE_PARAMS = frozenset(
    {
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
    }
)


def _logprobs(lp: CompletionLogprobs | None) -> list[list[LogProb]] | None:
    """The legacy per-token logprobs as llama-index's: per token, the chosen one first, then the
    alternatives Azure listed."""
    if lp is None:
        return None
    out: list[list[LogProb]] = []
    for token, value, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs, strict=False):
        entries = [LogProb(token=token, logprob=value if value is not None else 0.0, bytes=[])]
        for alt, alt_value in (top or {}).items():
            if alt != token:
                entries.append(LogProb(token=alt, logprob=alt_value, bytes=[]))
        out.append(entries)
    return out


@presign
class AzureOpenAICompletion(AzureConnection, LLM):
    """Azure OpenAI instruct (completion) models for LlamaIndex, through the azoai core::

        llm = AzureOpenAICompletion(engine="instruct", model="gpt-35-turbo-instruct",
                                    azure_endpoint="https://<resource>.example", api_key="...")
        llm.complete("Write a haiku about the sea").text

    ``engine`` (or ``deployment_name``/``deployment_id``/``deployment``/``azure_deployment``)
    names the deployment; ``model`` the model behind it. The constructor takes the chat class's
    connection arguments (``api_key``, ``azure_ad_token_provider``, ``use_azure_ad``, ...).
    """

    _settings_fields: ClassVar[frozenset[str]] = frozenset({"engine", "model"})

    model: str | None = Field(
        default=None, description="The model behind the deployment, e.g. gpt-35-turbo-instruct."
    )
    engine: str | None = Field(default=None, description="The deployment name.")
    temperature: float | None = Field(default=0.1, description="Sampling temperature.")
    max_tokens: int | None = Field(
        default=None, description="Most tokens to generate (default: the rest of the window)."
    )
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra request parameters for every call."
    )
    logprobs: int | None = Field(
        default=None, description="Log probabilities of this many likeliest tokens (0 to 5)."
    )
    max_retries: int | None = Field(default=3, description="Retries of the core's one retry layer.")
    timeout: float | None = Field(default=60.0, description="Seconds to wait for a response.")
    context_window: int | None = Field(
        default=None, description="Override the context window reported in metadata."
    )
    return_filtered: bool = Field(
        default=False,
        description="Return text the content filter cut instead of raising ContentFilterError.",
    )

    def __init__(
        self,
        model: str | None = None,
        engine: str | None = None,
        temperature: float | None = 0.1,
        max_tokens: int | None = None,
        additional_kwargs: dict[str, Any] | None = None,
        max_retries: int | None = 3,
        timeout: float | None = 60.0,
        reuse_client: bool = True,
        api_key: Any = None,
        api_version: str | None = None,
        api_base: str | None = None,
        azure_endpoint: str | None = None,
        azure_deployment: str | None = None,
        azure_ad_token_provider: Callable[..., Any] | None = None,
        use_azure_ad: bool = False,
        callback_manager: CallbackManager | None = None,
        deployment_name: str | None = None,
        deployment_id: str | None = None,
        deployment: str | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        system_prompt: str | None = None,
        messages_to_prompt: Callable[[Sequence[ChatMessage]], str] | None = None,
        completion_to_prompt: Callable[[str], str] | None = None,
        pydantic_program_mode: PydanticProgramMode = PydanticProgramMode.DEFAULT,
        output_parser: BaseOutputParser | None = None,
        *,
        http_async_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        engine = resolve_engine(
            engine,
            deployment_name=deployment_name,
            deployment_id=deployment_id,
            deployment=deployment,
            azure_deployment=azure_deployment,
        )
        reject_unknown("AzureOpenAICompletion", kwargs, type(self).model_fields)
        fields: dict[str, Any] = dict(
            model=model,
            engine=engine,
            temperature=temperature,
            max_tokens=max_tokens,
            additional_kwargs=additional_kwargs or {},
            max_retries=max_retries,
            timeout=timeout,
            reuse_client=reuse_client,
            api_key=api_key,
            api_version=api_version,
            api_base=api_base,
            azure_endpoint=azure_endpoint,
            azure_ad_token_provider=azure_ad_token_provider,
            use_azure_ad=use_azure_ad,
            callback_manager=callback_manager,
            system_prompt=system_prompt,
            messages_to_prompt=messages_to_prompt,
            completion_to_prompt=completion_to_prompt,
            pydantic_program_mode=pydantic_program_mode,
            output_parser=output_parser,
            **kwargs,
        )
        super().__init__(**fields)
        self._init_connection(http_client, async_http_client, http_async_client)

    def _settings_from_fields(self) -> Settings:
        return self._build_settings(deployment=self.engine, model=self.model)

    @classmethod
    def class_name(cls) -> str:
        return "azoai_azure_openai_completion_llm"

    # -- metadata ------------------------------------------------------------------------------

    @property
    def metadata(self) -> LLMMetadata:
        """A completion model: ``is_chat_model=False``; limits from the core's catalogue."""
        from azoai.config.catalog import lookup_model

        try:
            info = self.client.model_info()
        except AzoaiError:
            info = lookup_model(self.model)
        window = self.context_window or info.context_window
        return LLMMetadata(
            context_window=window,
            num_output=self.max_tokens or -1,
            is_chat_model=False,
            is_function_calling_model=False,
            model_name=self.model
            or (info.name if info.known else None)
            or self.settings.deployment
            or "",
        )

    # -- requests ------------------------------------------------------------------------------

    def _params(
        self, prompt: str, kwargs: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any] | None, CallOptions]:
        merged: dict[str, Any] = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "logprobs": self.logprobs,
            **self.additional_kwargs,
            **kwargs,
        }
        merged = {k: v for k, v in merged.items() if v is not None}
        if "max_tokens" not in merged:
            # the rest of the window, as llama-index's OpenAI asks (Azure's default is 16)
            merged["max_tokens"] = Completions(self.client).max_tokens_left(
                prompt, window=self.context_window
            )
        core = {k: v for k, v in merged.items() if k in _CORE_PARAMS}
        extra = {k: v for k, v in merged.items() if k not in _CORE_PARAMS}
        options = CallOptions(
            timeout=self.timeout,
            max_retries=self.max_retries,
            return_filtered=self.return_filtered,
        )
        return core, extra or None, options

    def _prompt(self, prompt: str, formatted: bool) -> str:
        return (
            prompt
            if formatted or self.completion_to_prompt is None
            else self.completion_to_prompt(prompt)
        )

    @staticmethod
    def _response(result: CompletionResult) -> CompletionResponse:
        choice = result.choices[0] if result.choices else None
        return CompletionResponse(
            text=result.text,
            raw=result,
            logprobs=_logprobs(choice.logprobs if choice else None),
            additional_kwargs={
                "prompt_tokens": result.usage.input_tokens,
                "completion_tokens": result.usage.output_tokens,
                "total_tokens": result.usage.total_tokens,
                "finish_reason": result.finish_reason,
            },
        )

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        prompt = self._prompt(prompt, formatted)
        params, extra, options = self._params(prompt, kwargs)
        client, owned = self._call_client()
        try:
            result = Completions(client).complete(
                prompt, options=options, extra_body=extra, **params
            )
        finally:
            if owned:
                client.close()
        return self._response(result)

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        prompt = self._prompt(prompt, formatted)
        params, extra, options = self._params(prompt, kwargs)
        client, owned = self._call_client()
        try:
            result = await Completions(client).acomplete(
                prompt, options=options, extra_body=extra, **params
            )
        finally:
            if owned:
                await client.aclose()
        return self._response(result)

    @staticmethod
    def _piece(text: str, delta: CompletionDelta) -> CompletionResponse:
        info: dict[str, Any] = {}
        if delta.finish_reason:
            info["finish_reason"] = delta.finish_reason
        return CompletionResponse(
            text=text,
            delta=delta.text,
            raw=delta,
            logprobs=_logprobs(delta.logprobs),
            additional_kwargs=info,
        )

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        prompt = self._prompt(prompt, formatted)
        params, extra, options = self._params(prompt, kwargs)

        def gen() -> CompletionResponseGen:
            client, owned = self._call_client()
            text = ""
            try:
                for delta in Completions(client).stream(
                    prompt, options=options, extra_body=extra, **params
                ):
                    text += delta.text
                    yield self._piece(text, delta)
            finally:
                if owned:
                    client.close()

        return gen()

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        prompt = self._prompt(prompt, formatted)
        params, extra, options = self._params(prompt, kwargs)

        async def gen() -> CompletionResponseAsyncGen:
            client, owned = self._call_client()
            text = ""
            try:
                async for delta in Completions(client).astream(
                    prompt, options=options, extra_body=extra, **params
                ):
                    text += delta.text
                    yield self._piece(text, delta)
            finally:
                if owned:
                    await client.aclose()

        return gen()

    # -- chat through the completion prompt -------------------------------------------------------

    def _chat_prompt(self, messages: Sequence[ChatMessage]) -> str:
        assert self.messages_to_prompt is not None
        return self.messages_to_prompt(messages)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        response = self.complete(self._chat_prompt(messages), formatted=True, **kwargs)
        return completion_response_to_chat_response(response)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        gen = self.stream_complete(self._chat_prompt(messages), formatted=True, **kwargs)
        return stream_completion_response_to_chat_response(gen)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        response = await self.acomplete(self._chat_prompt(messages), formatted=True, **kwargs)
        return completion_response_to_chat_response(response)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        pieces = await self.astream_complete(self._chat_prompt(messages), formatted=True, **kwargs)

        def one(piece: CompletionResponse) -> CompletionResponseGen:
            yield piece

        async def gen() -> ChatResponseAsyncGen:
            async for piece in pieces:
                for chat in stream_completion_response_to_chat_response(one(piece)):
                    yield chat

        return gen()

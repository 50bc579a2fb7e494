"""``AzureOpenAI``: the azoai core's legacy completions behind LangChain's ``BaseLLM``.

A drop-in for ``langchain_openai.AzureOpenAI`` (the completion model for instruct deployments
such as gpt-35-turbo-instruct): the same constructor names and aliases, the same request
defaults (``temperature=0.7``, ``max_tokens=256``, ``n``, ``best_of`` only when above 1), prompts
sent ``batch_size`` at a time, ``n`` generations per prompt, streaming through ``_stream`` /
``_astream``. Everything Azure-specific (the route, version gates, auth, retries, content filtering,
which models serve completions) happens in :class:`azoai.completions.Completions`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any, ClassVar, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams
from langchain_core.language_models.llms import BaseLLM
from langchain_core.outputs import Generation, GenerationChunk, LLMResult
from langchain_core.utils.utils import _build_model_kwargs, get_pydantic_field_names
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from azoai.client import CallOptions, Client
from azoai.completions import CompletionDelta, CompletionResult, Completions
from azoai.errors import AzoaiError
from langchain_azoai._connection import ModelConnection
from langchain_azoai._errors import model_error, translated
from langchain_azoai._settings import CLIENT_INPUTS, build_settings

__all__ = ["AzureOpenAI"]

#: Body parameters the core's completions call takes by name; other model_kwargs go in the body.
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
#: The connection fields (see CONNECTION_FIELDS) the core settings are built from.
_CONNECTION = (
    "azure_endpoint",
    "openai_api_base",
    "resource_name",
    "openai_api_version",
    "openai_api_key",
    "azure_ad_token",
    "azure_ad_token_provider",
    "azure_ad_async_token_provider",
    "credential",
    "auth_mode",
    "managed_identity_client_id",
    "deployment_name",
    "model_name",
    "route",
    "deployment_map",
    "deployments",
    "discovery",
    "max_retries",
    "default_headers",
    "config_file",
    "check_api_version",
)


class AzureOpenAI(ModelConnection, BaseLLM):
    """Azure OpenAI completion models (instruct deployments) through the azoai core.

    ```python
    from langchain_azoai import AzureOpenAI

    llm = AzureOpenAI(azure_deployment="gpt-35-turbo-instruct", max_tokens=50)
    llm.invoke("Tell me a joke")
    ```

    Endpoint, credentials and API version may come from the environment or an ``azoai.toml``
    file, as for :class:`~langchain_azoai.AzureChatOpenAI`.
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, extra="forbid")
    _input_fields: ClassVar[frozenset[str]] = frozenset({*_CONNECTION, *CLIENT_INPUTS})

    # --- where and how to connect (langchain-openai names) ------------------------------------
    azure_endpoint: str | None = None
    openai_api_base: str | None = Field(default=None, alias="base_url")
    deployment_name: str | None = Field(default=None, alias="azure_deployment")
    openai_api_version: str | None = Field(default=None, alias="api_version")
    openai_api_key: SecretStr | None = Field(default=None, alias="api_key")
    azure_ad_token: SecretStr | None = None
    azure_ad_token_provider: Callable[[], str] | None = Field(default=None, exclude=True)
    azure_ad_async_token_provider: Callable[[], Awaitable[str]] | None = Field(
        default=None, exclude=True
    )
    model_name: str | None = Field(default=None, alias="model")
    """The model behind the deployment (e.g. ``gpt-35-turbo-instruct``); the deployment when
    none is named."""
    request_timeout: Any = Field(default=None, alias="timeout")
    max_retries: int | None = None
    default_headers: dict[str, str] | None = None
    http_client: Any = Field(default=None, exclude=True)
    http_async_client: Any = Field(default=None, exclude=True)
    openai_proxy: str | None = None
    openai_api_type: str | None = None
    """Accepted for compatibility; has no effect."""
    openai_organization: str | None = Field(default=None, alias="organization")
    """Accepted for compatibility; Azure has no organizations."""
    validate_base_url: bool = True
    """Accepted for compatibility; the core always validates the endpoint."""

    # --- sampling (langchain-openai's defaults) -------------------------------------------------
    temperature: float = 0.7
    max_tokens: int | None = 256
    top_p: float = 1
    frequency_penalty: float = 0
    presence_penalty: float = 0
    n: int = 1
    """Generations per prompt."""
    best_of: int = 1
    """Candidates generated server-side per prompt, the best ``n`` returned (never streamed)."""
    logit_bias: dict[str, float] | None = None
    seed: int | None = None
    logprobs: int | None = None
    """Log probabilities of this many likeliest tokens (0 to 5), in ``generation_info``."""
    streaming: bool = False
    """``invoke`` streams under the hood (callbacks see each token)."""
    batch_size: int = 20
    """Prompts per request."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other body parameters (``echo``, ``suffix``, ``user``...)."""
    extra_body: Mapping[str, Any] | None = None
    allowed_special: Any = None
    """Accepted for compatibility; the core counts tokens itself."""
    disallowed_special: Any = None
    """Accepted for compatibility; the core counts tokens itself."""
    tiktoken_model_name: str | None = None
    """Accepted for compatibility; the core picks the tokenizer from the model."""

    # --- the core's additions ------------------------------------------------------------------
    credential: Any = Field(default=None, exclude=True)
    auth_mode: str | None = None
    managed_identity_client_id: str | None = None
    resource_name: str | None = None
    route: Literal["v1", "deployments"] | None = None
    deployment_map: dict[str, str] | None = None
    deployments: list[Any] | None = None
    discovery: Any = None
    config_file: str | None = None
    check_api_version: bool | None = None
    return_filtered: bool = False
    """Return text the content filter cut (``finish_reason == "content_filter"``) instead of
    raising ``ContentFilterError``."""
    settings: Any = Field(default=None, exclude=True)

    _client: Client | None = PrivateAttr(default=None)
    _settings_given: bool = PrivateAttr(default=False)

    @model_validator(mode="before")
    @classmethod
    def _extra_to_model_kwargs(cls, values: Any) -> Any:
        if isinstance(values, dict):
            return _build_model_kwargs(values, get_pydantic_field_names(cls))
        return values

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._setup()

    def _setup(self) -> None:
        if self.streaming and self.n > 1:
            raise ValueError("n must be 1 when streaming.")
        if self.streaming and self.best_of > 1:
            raise ValueError("best_of must be 1 when streaming.")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._settings_given = self.settings is not None
        self.settings = build_settings(
            {name: getattr(self, name) for name in _CONNECTION},
            timeout=self.request_timeout,
            settings=self.settings,
        )

    # --- the client ------------------------------------------------------------------------------

    @property
    def completions(self) -> Completions:
        return Completions(self.client)

    # --- LangChain's interface -------------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "azure"

    @property
    def _default_params(self) -> dict[str, Any]:
        """What every request carries, as langchain-openai sends it."""
        params: dict[str, Any] = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "frequency_penalty": self.frequency_penalty,
            "presence_penalty": self.presence_penalty,
            "n": self.n,
            "seed": self.seed,
            "logprobs": self.logprobs,
        }
        if self.logit_bias is not None:
            params["logit_bias"] = self.logit_bias
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        if self.best_of > 1:
            params["best_of"] = self.best_of
        return {**params, **self.model_kwargs}

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        return {
            "deployment_name": self._deployment,
            "model_name": self.model_name,
            **self._default_params,
        }

    @property
    def _deployment(self) -> str | None:
        settings = self.settings
        return settings.deployment if settings is not None else self.deployment_name

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = self._invocation_params(stop, kwargs)
        ls = LangSmithParams(
            ls_provider="azure",
            ls_model_name=self.model_name or self._deployment or "",
            ls_model_type="llm",
            ls_temperature=params.get("temperature", self.temperature),
        )
        if (max_tokens := params.get("max_tokens")) is not None:
            ls["ls_max_tokens"] = max_tokens
        if stop:
            ls["ls_stop"] = stop
        return ls

    def get_num_tokens(self, text: str) -> int:
        """Tokens in ``text`` for the deployment's model, counted offline."""
        return self.client.count_tokens(text)

    def _invocation_params(
        self, stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> dict[str, Any]:
        params = {**self._default_params, **kwargs}
        if stop is not None:
            if params.get("stop") is not None and params["stop"] != stop:
                raise ValueError("`stop` found in both the input and default params.")
            params["stop"] = stop
        return {k: v for k, v in params.items() if v is not None}

    def _call_args(
        self, stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any] | None, CallOptions | None]:
        """The core's keyword arguments, the extra body fields, and per-call options."""
        params = self._invocation_params(stop, kwargs)
        core = {k: v for k, v in params.items() if k in _CORE_PARAMS}
        extra = {
            **(self.extra_body or {}),
            **{k: v for k, v in params.items() if k not in _CORE_PARAMS},
        }
        options = CallOptions(return_filtered=True) if self.return_filtered else None
        return core, extra or None, options

    def _result(self, results: list[CompletionResult], prompts: list[str]) -> LLMResult:
        generations: list[list[Generation]] = []
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        model = None
        for result in results:
            count = len({c.index // result.n for c in result.choices})
            for i in range(count):
                generations.append(
                    [
                        Generation(
                            text=c.text,
                            generation_info={
                                "finish_reason": c.finish_reason,
                                "logprobs": c.logprobs.to_dict() if c.logprobs else None,
                            },
                        )
                        for c in result.for_prompt(i)
                    ]
                )
            usage["prompt_tokens"] += result.usage.input_tokens
            usage["completion_tokens"] += result.usage.output_tokens
            usage["total_tokens"] += result.usage.total_tokens
            model = model or result.model
        if len(generations) != len(prompts):
            raise ValueError(
                f"Azure answered {len(generations)} prompts of {len(prompts)}: the response "
                "lacks choices for some"
            )
        return LLMResult(
            generations=generations,
            llm_output={"token_usage": usage, "model_name": model or self.model_name},
        )

    @translated
    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        if self.streaming:
            if len(prompts) > 1:
                raise ValueError("Cannot stream results with multiple prompts.")
            chunk: GenerationChunk | None = None
            for piece in self._stream(prompts[0], stop, run_manager, **kwargs):
                chunk = piece if chunk is None else chunk + piece
            assert chunk is not None
            return LLMResult(
                generations=[[Generation(text=chunk.text, generation_info=chunk.generation_info)]]
            )
        params, extra, options = self._call_args(stop, kwargs)
        results = [
            self.completions.complete(
                prompts[i : i + self.batch_size], options=options, extra_body=extra, **params
            )
            for i in range(0, len(prompts), self.batch_size)
        ]
        return self._result(results, prompts)

    @translated
    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        if self.streaming:
            if len(prompts) > 1:
                raise ValueError("Cannot stream results with multiple prompts.")
            chunk: GenerationChunk | None = None
            async for piece in self._astream(prompts[0], stop, run_manager, **kwargs):
                chunk = piece if chunk is None else chunk + piece
            assert chunk is not None
            return LLMResult(
                generations=[[Generation(text=chunk.text, generation_info=chunk.generation_info)]]
            )
        params, extra, options = self._call_args(stop, kwargs)
        results = [
            await self.completions.acomplete(
                prompts[i : i + self.batch_size], options=options, extra_body=extra, **params
            )
            for i in range(0, len(prompts), self.batch_size)
        ]
        return self._result(results, prompts)

    @staticmethod
    def _chunk(delta: CompletionDelta) -> GenerationChunk:
        info: dict[str, Any] = {}
        if delta.finish_reason:
            info["finish_reason"] = delta.finish_reason
        if delta.logprobs is not None:
            info["logprobs"] = delta.logprobs.to_dict()
        return GenerationChunk(text=delta.text, generation_info=info or None)

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        try:
            params, extra, options = self._call_args(stop, kwargs)
            params.pop("best_of", None)  # 1 here: a stream has no best-of
            for delta in self.completions.stream(
                prompt, options=options, extra_body=extra, **params
            ):
                chunk = self._chunk(delta)
                if run_manager is not None:
                    run_manager.on_llm_new_token(
                        chunk.text,
                        chunk=chunk,
                        verbose=self.verbose,
                        logprobs=(chunk.generation_info or {}).get("logprobs"),
                    )
                yield chunk
        except AzoaiError as err:
            model_error(err)
            raise

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        try:
            params, extra, options = self._call_args(stop, kwargs)
            params.pop("best_of", None)
            async for delta in self.completions.astream(
                prompt, options=options, extra_body=extra, **params
            ):
                chunk = self._chunk(delta)
                if run_manager is not None:
                    await run_manager.on_llm_new_token(
                        chunk.text,
                        chunk=chunk,
                        verbose=self.verbose,
                        logprobs=(chunk.generation_info or {}).get("logprobs"),
                    )
                yield chunk
        except AzoaiError as err:
            model_error(err)
            raise

"""``AzureChatOpenAI``: the azoai core behind LangChain's ``BaseChatModel``.

A drop-in for ``langchain_openai.AzureChatOpenAI``: the same constructor names and aliases, plus
the core's own options (``credential``, ``route``, ``deployment_map``, ``settings``,
``config_file``...). Everything Azure-specific (URLs, API versions, auth, retries, parameter rules
per model family, content filtering) happens in :mod:`azoai`; this class converts LangChain
messages, tools and outputs (see :mod:`langchain_azoai._convert`) and wires callbacks.
"""

from __future__ import annotations

import json
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from langchain_core.utils.utils import _build_model_kwargs, from_env, get_pydantic_field_names
from pydantic import BaseModel as PydanticBaseModel
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, field_serializer, model_validator

from azoai.client import CallOptions, Client
from azoai.copying import copy_data
from azoai.errors import AzoaiError
from azoai.wire import ChatRequest
from azoai.wire import ChatResult as WireResult
from langchain_azoai import _convert
from langchain_azoai._connection import ModelConnection
from langchain_azoai._errors import model_error, translated
from langchain_azoai._settings import (
    FOUND_FIELDS,
    build_settings,
    call_options,
    choose_api,
    header_secrets,
    headers_from_load,
    masked_headers,
    masked_repr_args,
    show_found,
    unfilled,
)
from langchain_azoai.batch import ChatBatchApi

if TYPE_CHECKING:
    from azoai.config.catalog import ModelInfo
    from azoai.pipeline.websocket import WebSocketSession

__all__ = ["AzureChatOpenAI"]

_convert.register_translator()

_REASONING_KEYS = {"effort", "summary", "generate_summary"}
# Call kwargs that are not body parameters: LangChain's own, and max_retries and timeout, which
# are call options (see _call_options; Azure would answer 400 to them in the body).
_NOT_BODY = (
    "stream",
    "ls_structured_output_format",
    "structured_output_format",
    "max_retries",
    "timeout",
)
# The generation fields in _default_params (what traces show), in this order.
_PARAM_FIELDS = (
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "logprobs",
    "top_logprobs",
    "max_tokens",
    "reasoning_effort",
    "reasoning",
    "verbosity",
    "store",
    "include",
    "stream_usage",
    "n",
)
# langchain-openai arguments with no counterpart here: refused with a message rather than sent to
# Azure as body parameters.
_UNSUPPORTED = ("default_query", "http_socket_options", "custom_get_token_ids")
# Fields the core settings or the client are made from: changing one means new settings.
_INPUT_FIELDS = frozenset(
    {
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
        "custom_endpoint",
        "scope",
        "deployment_name",
        "model_name",
        "model_version",
        "route",
        "deployment_map",
        "routes",
        "deployments",
        "discovery",
        "max_retries",
        "default_headers",
        "config_file",
        "check_api_version",
        "auto_responses",
        "telemetry",
        "stream_idle_timeout",
        "stream_chunk_timeout",
        "stream_timeout",
        "max_response_bytes",
        "max_event_bytes",
        "transport",
        "websocket",
        "quota_store",
        "request_timeout",
        "http_client",
        "http_async_client",
        "openai_proxy",
        "use_responses_api",
        "reasoning",
        "include",
        "use_previous_response_id",
        "settings",
    }
)


#: id(settings) -> the model that built that settings object (see AzureChatOpenAI._setup).
_ORIGINS: weakref.WeakValueDictionary[int, AzureChatOpenAI] = weakref.WeakValueDictionary()


class AzureChatOpenAI(ModelConnection, ChatBatchApi, BaseChatModel):
    """Azure OpenAI chat models (Chat Completions or the Responses API) through the azoai core.

    ```python
    from langchain_azoai import AzureChatOpenAI

    llm = AzureChatOpenAI(azure_deployment="gpt-4o", api_version="2024-10-21")
    llm.invoke("Hello")
    ```

    Endpoint, credentials, API version and deployment may also come from the environment
    (``AZURE_OPENAI_ENDPOINT``, ``AZURE_OPENAI_API_KEY``, ``OPENAI_API_VERSION`` /
    ``AZURE_OPENAI_API_VERSION``, ``AZURE_OPENAI_DEPLOYMENT``) or an ``azoai.toml`` file; after
    construction :attr:`settings` holds what is in effect and ``settings.sources`` where each
    value came from; fields left unset show what the environment gave. Configuration errors raise
    :class:`azoai.ConfigError` here, in the constructor, where langchain-openai raises there;
    what it constructs with and fails on only when called (an endpoint that is not a URL, an
    api_version that is not one) raises at the first call, before anything is sent.
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)
    _input_fields: ClassVar[frozenset[str]] = _INPUT_FIELDS

    # --- where and how to connect (langchain-openai names) ------------------------------------
    azure_endpoint: str | None = None
    """Resource endpoint; default: ``AZURE_OPENAI_ENDPOINT``."""
    openai_api_base: str | None = Field(default=None, alias="base_url")
    """Alias for the endpoint (langchain-openai's ``base_url``)."""
    deployment_name: str | None = Field(default=None, alias="azure_deployment")
    """Default deployment; per call, ``model=`` picks another."""
    openai_api_version: str | None = Field(default=None, alias="api_version")
    """Default: ``AZURE_OPENAI_API_VERSION`` / ``OPENAI_API_VERSION``, else the core's default."""
    openai_api_key: SecretStr | None = Field(default=None, alias="api_key")
    azure_ad_token: SecretStr | None = None
    azure_ad_token_provider: Callable[[], str] | None = Field(default=None, exclude=True)
    azure_ad_async_token_provider: Callable[[], Awaitable[str]] | None = Field(
        default=None, exclude=True
    )
    model_name: str | None = Field(default=None, alias="model")
    """The real model behind the deployment (e.g. ``gpt-4o``): drives the core's parameter rules,
    token counting and tracing. Used as the deployment when none is configured."""
    model_version: str | None = None
    """Appended to ``response_metadata["model_name"]`` and ``ls_model_name`` (cost tracking)."""
    request_timeout: Any = Field(default=None, alias="timeout")
    """Seconds per request, a ``(connect, read)`` tuple or an ``httpx.Timeout``."""
    max_retries: int | None = None
    """Retries of the core's one retry layer (default 3)."""
    default_headers: dict[str, str] | None = None
    http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.Client`` used as given (proxies, certificates, transports)."""
    http_async_client: Any = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` used as given."""
    openai_proxy: str | None = None
    """A proxy URL; honoured (an ``httpx`` client is built with it) unless clients are given."""
    openai_api_type: str | None = Field(
        default_factory=from_env("OPENAI_API_TYPE", default="azure")
    )
    """Accepted for compatibility (default: ``OPENAI_API_TYPE``, else ``"azure"``); no effect."""
    validate_base_url: bool = True
    """Accepted for compatibility; the core always validates the endpoint."""
    openai_organization: str | None = Field(
        default_factory=from_env(["OPENAI_ORG_ID", "OPENAI_ORGANIZATION"], default=None),
        alias="organization",
    )
    """Accepted for compatibility (default: ``OPENAI_ORG_ID``); Azure has no organizations."""
    disabled_params: dict[str, Any] | None = None
    """Accepted for compatibility; the core drops what a model or API version does not take."""
    tiktoken_model_name: str | None = None
    """Accepted for compatibility; the core picks the tokenizer from the model."""
    include_response_headers: bool = True
    """Azure's response headers (region, request ids, rate-limit remaining) are in
    ``response_metadata["headers"]``; ``False`` leaves them out."""
    stream_chunk_timeout: float | None = None
    """langchain-openai's name for the longest gap between two stream chunks (seconds)."""

    # --- the core's additions ------------------------------------------------------------------
    credential: Any = Field(default=None, exclude=True)
    """Any azure-identity credential, sync or async (e.g. ``DefaultAzureCredential()``)."""
    auth_mode: str | None = None
    managed_identity_client_id: str | None = None
    scope: str | None = None
    """The Entra ID scope tokens are asked for (default: the endpoint's cloud, or
    ``https://ai.azure.com/.default`` for a Foundry project endpoint)."""
    custom_endpoint: bool | None = None
    """Which hosts the endpoint may name. ``None`` (default, like langchain-openai): any ``https``
    host; one that is not Azure OpenAI's (an APIM gateway on ``*.azure-api.net``, a corporate
    gateway, a custom domain) gets Azure's URL shapes. ``True``: the same, said explicitly.
    ``False``: Azure OpenAI hosts (and loopback) only, anything else is refused here."""
    resource_name: str | None = None
    route: Literal["v1", "deployments"] | None = None
    deployment_map: dict[str, str] | None = None
    """Model names -> deployments, so ``model="gpt-4o-mini"`` per call finds its deployment."""
    routes: dict[str, Any] | None = None
    """Several deployments or regions behind one name (failover or weighted); name a route where
    a deployment goes. The target that served a call is ``response_metadata["target"]``."""
    deployments: list[Any] | None = None
    discovery: Any = None
    config_file: str | None = None
    check_api_version: bool | None = None
    auto_responses: bool | None = None
    """Send a call only the Responses API serves (function tools with reasoning on gpt-5.2 and
    later, file blocks) there transparently (default ``True``); ``False`` keeps Chat Completions
    and such a call raises :class:`azoai.ResponsesRequiredError`."""
    telemetry: bool | None = None
    """OpenTelemetry GenAI spans and metrics for each call (default ``True`` when
    opentelemetry-api is installed; ``False`` or ``AZOAI_TELEMETRY=0`` turns them off)."""
    stream_idle_timeout: float | None = None
    """Seconds a stream may go without data (keep-alive comments do not count)."""
    stream_timeout: float | None = None
    """Seconds a whole stream may last, from connecting to its end (default 3600)."""
    max_response_bytes: int | None = None
    """The largest response body accepted, after decompression (default 128 MiB)."""
    max_event_bytes: int | None = None
    """The largest single stream event accepted (default 16 MiB)."""
    return_filtered: bool = False
    """A completion cut by the content filter is returned (``finish_reason="content_filter"``,
    the verdicts in ``response_metadata``) instead of raising :class:`azoai.ContentFilterError`."""
    settings: Any = Field(default=None, exclude=True)
    """Pass prebuilt core settings instead of connection arguments. After construction this
    holds the settings in effect (with ``.sources``)."""

    # --- generation ----------------------------------------------------------------------------
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    logit_bias: dict[int | str, float] | None = None
    max_tokens: int | None = Field(default=None, alias="max_completion_tokens")
    stop: list[str] | str | None = Field(default=None, alias="stop_sequences")
    n: int | None = None
    """Generations per prompt (Chat Completions): ``generate``/``invoke`` results carry ``n``
    generations; a stream is one generation, so streams ask for one."""
    streaming: bool = False
    stream_usage: bool = True
    """Ask for usage on streams (on by default, also with custom HTTP clients)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra body parameters azoai does not model; merged into the request body."""
    extra_body: dict[str, Any] | None = None

    # --- reasoning and the Responses API -------------------------------------------------------
    use_responses_api: bool | None = None
    reasoning_effort: str | None = None
    reasoning: dict[str, Any] | None = None
    """``{"effort": "low"|"medium"|"high", "summary": "auto"|"concise"|"detailed"}``."""
    verbosity: str | None = None
    store: bool | None = None
    include: list[str] | None = None
    use_previous_response_id: bool = False
    """Responses API: send only the messages after the last AI message and chain to it by id."""
    # --- the Batch API (opt-in; see langchain_azoai.batch) -----------------------------------
    use_batch_api: bool = False
    """``batch()``/``abatch()`` send their inputs as one Batch API job and wait for it."""
    batch_deployment: str | None = None
    """The Global Batch deployment Batch API jobs go to (default: the model's deployment)."""
    batch_api_options: dict[str, Any] | None = None
    """:class:`azoai.batch.BatchOptions` fields (``job_dir``, ``enqueued_token_limit``...)."""

    transport: Literal["http", "websocket"] | None = None
    """``"websocket"`` sends Responses API calls over one WebSocket per call (or per session;
    see :meth:`websocket_session`) instead of HTTP; needs the Responses API and openai>=3."""
    websocket: dict[str, Any] | None = None
    """WebSocket options: ``close_on_finish`` (default true: a call's socket closes when it
    finished), ``key_auth``, ``chain``, ``max_age``, ``max_idle`` (see ``azoai.io.websocket``)."""
    quota_store: SecretStr | None = None
    """A Redis URL (else ``AZOAI_QUOTA_STORE``): routes' cool-downs are shared there by every
    process that names it (see the README's fleet section)."""

    _client: Client | None = PrivateAttr(default=None)
    # What the settings were built from (compared when LangChain rebuilds the model from its
    # fields), whether the user passed them prebuilt, and the model this one is a view of.
    _inputs: dict[str, Any] | None = PrivateAttr(default=None)
    _settings_given: bool = PrivateAttr(default=False)
    _origin: AzureChatOpenAI | None = PrivateAttr(default=None)
    # Fields filled from the settings in effect (environment, config file): not arguments.
    _filled: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _extra_to_model_kwargs(cls, values: Any) -> Any:
        if isinstance(values, dict):
            # None is what LangChain passes back when it rebuilds a model from its fields
            unsupported = sorted(k for k in _UNSUPPORTED if values.get(k) is not None)
            if unsupported:
                raise ValueError(
                    f"{', '.join(unsupported)}: not supported by AzureChatOpenAI "
                    "(pass an httpx client as http_client instead)"
                )
            return _build_model_kwargs(headers_from_load(values), get_pydantic_field_names(cls))
        return values

    @field_serializer("default_headers")
    def _masked_headers(self, value: dict[str, str] | None) -> dict[str, str] | None:
        return masked_headers(value)  # a header carrying a credential is a secret

    def __repr_args__(self) -> Any:
        return masked_repr_args(super().__repr_args__())

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Outside pydantic validation on purpose: configuration errors reach the caller as the
        # core's own ConfigError (a ValueError naming the setting), not a wrapped ValidationError.
        self._setup()
        if self.profile is not None and self.temperature is not None:
            return  # nothing to fill in (a rebuild from another model's fields, say)
        info = _profile_model(self)
        if self.profile is None and info is not None:
            self.profile = cast("Any", _convert.model_profile(info))
        if self.temperature is None and info is not None and info.reasoning:
            # what the call uses: reasoning models run at 1 and the core sends them none
            # (langchain-openai shows 1 for o1 likewise)
            self.temperature = 1.0

    def _setup(self) -> None:
        if self.n is not None and self.n < 1:
            raise ValueError("n must be at least 1")
        if self.n is not None and self.n > 1 and self.streaming:
            raise ValueError("n must be 1 when streaming (a stream is one generation)")
        if self.reasoning is not None:
            unknown = set(self.reasoning) - _REASONING_KEYS
            if unknown:
                raise ValueError(
                    f"reasoning has unknown key(s) {sorted(unknown)}; use 'effort' and 'summary'"
                )
        api = choose_api(
            self.use_responses_api,
            reasoning=self.reasoning,
            include=self.include,
            use_previous_response_id=self.use_previous_response_id,
            output_version=self.output_version,
        )
        if self.settings is not None and not self._filled:
            # Rebuilt from another model's fields: the values it filled are not arguments.
            origin = _ORIGINS.get(id(self.settings))
            if origin is not None and origin.settings is self.settings:
                self._filled = dict(origin._filled)
        inputs = self._settings_inputs(api)
        if self.settings is not None and self.model_fields_set >= _INPUT_FIELDS:
            # Rebuilt from another model's fields, as LangChain's configurable_fields does on
            # every configured call: `settings` is that model's settings in effect.
            origin = _ORIGINS.get(id(self.settings))
            if origin is not None and origin.settings is self.settings:
                if origin._inputs == inputs:
                    # The same connection: a view of that model sharing its settings and client,
                    # as its bind_tools views do (no settings rebuilt, no client per call).
                    self._inputs, self._settings_given = origin._inputs, origin._settings_given
                    self._origin = origin._origin or origin
                    self._client = origin.client
                    return
                if not origin._settings_given:
                    self.settings = None  # a connection field was configured: build afresh
        self._settings_given = self.settings is not None
        self.settings = build_settings(
            self._connection_values(),
            api=api,
            timeout=self.request_timeout,
            settings=self.settings,
        )
        self._inputs = inputs
        self._filled = show_found(
            self, self.settings, {**FOUND_FIELDS, "deployment_name": "deployment"}
        )
        self._register()

    def _settings_inputs(self, api: str | None) -> dict[str, Any]:
        """Everything the settings and the client are made from, as of now (a copy, so that
        changing a dict field in place later counts as a change)."""
        inputs: dict[str, Any] = copy_data(
            {
                **self._connection_values(),
                "api": api,
                "timeout": self.request_timeout,
                "http_client": self.http_client,
                "http_async_client": self.http_async_client,
                "openai_proxy": self.openai_proxy,
            },
            {},
        )
        return inputs

    def _register(self) -> None:
        """Record this model as the owner of its settings object, for rebuilds from its fields."""
        key = id(self.settings)
        owner = _ORIGINS.get(key)
        if owner is None or owner.settings is not self.settings:
            _ORIGINS[key] = self

    def _connection_values(self) -> dict[str, Any]:
        """The connection fields the user gave (fields filled from the sources left out)."""
        return unfilled(self._filled, self._field_values())

    def _field_values(self) -> dict[str, Any]:
        return {
            "azure_endpoint": self.azure_endpoint,
            "openai_api_base": self.openai_api_base,
            "resource_name": self.resource_name,
            "openai_api_version": self.openai_api_version,
            "openai_api_key": self.openai_api_key,
            "azure_ad_token": self.azure_ad_token,
            "azure_ad_token_provider": self.azure_ad_token_provider,
            "azure_ad_async_token_provider": self.azure_ad_async_token_provider,
            "credential": self.credential,
            "auth_mode": self.auth_mode,
            "managed_identity_client_id": self.managed_identity_client_id,
            "custom_endpoint": self.custom_endpoint,
            "scope": self.scope,
            "deployment_name": self.deployment_name,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "route": self.route,
            "deployment_map": self.deployment_map,
            "routes": self.routes,
            "deployments": self.deployments,
            "discovery": self.discovery,
            "max_retries": self.max_retries,
            "default_headers": self.default_headers,
            "config_file": self.config_file,
            "check_api_version": self.check_api_version,
            "auto_responses": self.auto_responses,
            "telemetry": self.telemetry,
            "stream_idle_timeout": self.stream_idle_timeout
            if self.stream_idle_timeout is not None
            else self.stream_chunk_timeout,
            "stream_timeout": self.stream_timeout,
            "max_response_bytes": self.max_response_bytes,
            "max_event_bytes": self.max_event_bytes,
            "transport": self.transport,
            "websocket": self.websocket,
            "quota_store": self.quota_store,
        }

    # --- copies (the client, close, model_copy: ModelConnection) ------------------------------

    def _as_copy(self, copied: Self) -> Self:
        # Its own client: closing the copy or the original never closes the other's.
        copied._client = None
        copied._origin = None
        if self.settings is not None:
            # Its own (equal) settings object, so LangChain's rebuilds of the copy share the
            # copy's client rather than the original's.
            copied.__dict__["settings"] = self.settings.replace()
            copied._register()
        return copied

    def websocket_session(self) -> WebSocketSession:
        """A long-lived Responses WebSocket for multi-turn use: inside ``with`` / ``async with``,
        this model's calls (and those of its ``bind_tools`` views) share one open socket, so each
        turn of an agent loop continues the previous response from the service's
        connection-local cache. Closed on exit."""
        return self.client.websocket_session()

    # --- LangChain plumbing --------------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "azure-openai-chat"

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {
            "openai_api_key": "AZURE_OPENAI_API_KEY",
            "azure_ad_token": "AZURE_OPENAI_AD_TOKEN",
            "quota_store": "AZOAI_QUOTA_STORE",
            **header_secrets(self.default_headers),
        }

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_azoai", "chat_models"]

    @property
    def _default_params(self) -> dict[str, Any]:
        fields = self.__dict__  # LangChain reads these on every call: no attribute lookups
        return {k: v for k in _PARAM_FIELDS if (v := fields[k]) is not None}

    @property
    def _core_settings(self) -> Any:
        """The settings in effect (without building the client when they are known)."""
        s = self.settings
        return s if s is not None else self.client.settings

    @property
    def _identifying_params(self) -> dict[str, Any]:
        s = self._core_settings
        return {
            "azure_endpoint": s.endpoint.base,
            "deployment_name": s.deployment,
            "model_name": self.model_name or s.model,
            "api": s.api,
            **self._default_params,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "azure"
        name = kwargs.get("model") if isinstance(kwargs.get("model"), str) else None
        if name is None:
            name = self.model_name or self._core_settings.deployment or ""
            if self.model_version and name and self.model_version not in name:
                name = f"{name}-{self.model_version}"
        params["ls_model_name"] = name
        stops = stop or self._stop_list()
        if stops:
            params["ls_stop"] = stops
        return params

    def _stop_list(self) -> list[str] | None:
        if self.stop is None:
            return None
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def _combine_llm_outputs(self, llm_outputs: list[dict[str, Any] | None]) -> dict[str, Any]:
        usage: dict[str, int] = {}
        out: dict[str, Any] = {}
        for o in llm_outputs:
            if not o:
                continue
            for k, v in (o.get("token_usage") or {}).items():
                usage[k] = usage.get(k, 0) + v
            out.setdefault("model_name", o.get("model_name"))
        out["token_usage"] = usage
        return out

    # --- requests ------------------------------------------------------------------------------

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> tuple[ChatRequest, str | None]:
        """The neutral request for one call, and the per-call deployment (``model=``)."""
        kw = dict(kwargs)
        pop = kw.pop
        model = pop("model", None)
        for noise in _NOT_BODY:
            pop(noise, None)
        tools = pop("tools", None) or []
        choice = pop("tool_choice", None)
        if tools:
            specs = _convert.to_tool_specs(tools)
            choice = _convert.normalize_tool_choice(choice, _convert.bound_tool_names(tools))
            builtin = _convert.to_builtin_tools(tools)
        else:
            specs, builtin = [], []
            if choice is not None:
                choice = _convert.normalize_tool_choice(choice, [])
        reasoning = pop("reasoning", None) or self.reasoning or {}
        effort = pop("reasoning_effort", None) or reasoning.get("effort") or self.reasoning_effort
        summary = reasoning.get("summary") or reasoning.get("generate_summary")
        stops = stop or pop("stop", None) or self._stop_list()
        if isinstance(stops, str):
            stops = [stops]
        max_tokens = pop("max_tokens", None) or pop("max_completion_tokens", None)

        previous = pop("previous_response_id", None)
        if (
            previous is None
            and self.use_previous_response_id
            and self._core_settings.api == "responses"
        ):
            previous, messages = _chain_point(messages)

        extra = {
            **self.model_kwargs,
            **(self.extra_body or {}),
            **(pop("extra_body", None) or {}),
        }

        # A parameter given per call wins over the model's field (pop's default).
        request = ChatRequest(
            messages=_convert.to_wire_messages(messages),
            tools=specs,
            tool_choice=choice,
            parallel_tool_calls=pop("parallel_tool_calls", None),
            response_format=_convert.to_response_format(pop("response_format", None)),
            temperature=pop("temperature", self.temperature),
            top_p=pop("top_p", self.top_p),
            max_tokens=max_tokens if max_tokens is not None else self.max_tokens,
            stop=stops or None,
            seed=pop("seed", self.seed),
            presence_penalty=pop("presence_penalty", self.presence_penalty),
            frequency_penalty=pop("frequency_penalty", self.frequency_penalty),
            logprobs=pop("logprobs", self.logprobs),
            top_logprobs=pop("top_logprobs", self.top_logprobs),
            logit_bias=_str_keys(pop("logit_bias", self.logit_bias)),
            user=pop("user", None),
            reasoning_effort=effort,
            reasoning_summary=summary,
            verbosity=pop("verbosity", self.verbosity),
            store=pop("store", self.store),
            previous_response_id=previous,
            include=pop("include", self.include),
            metadata=pop("metadata", None),
            stream_usage=pop("stream_usage", self.stream_usage),
            extra_body=None,
            builtin_tools=builtin,
            n=pop("n", self.n),
        )
        # Anything else given per call is a body parameter azoai does not model.
        extra.update({k: v for k, v in kw.items() if not k.startswith("ls_")})
        if extra:
            request.extra_body = extra
        return request, model

    def _last(self, state: _convert.StreamState) -> AIMessageChunk:
        last = state.last()
        if not self.include_response_headers:
            last.response_metadata.pop("headers", None)
        return last

    @property
    def _options(self) -> CallOptions | None:
        return CallOptions(return_filtered=True) if self.return_filtered else None

    def _call_options(self, kwargs: Mapping[str, Any]) -> CallOptions | None:
        """The call's options: ``return_filtered``, and ``max_retries``/``timeout`` given per
        call (``llm.invoke(..., max_retries=0)``, as the openai SDK takes them per request)."""
        return call_options(kwargs, return_filtered=self.return_filtered)

    # --- invoke --------------------------------------------------------------------------------

    def _to_chat_result(
        self, result: WireResult, request: ChatRequest, target: type | None
    ) -> ChatResult:
        """One generation per completion (``n`` > 1 gives several, each with the call's usage
        and metadata, as langchain-openai gives them); with a pydantic ``response_format`` per
        call, the answer parsed into it in ``additional_kwargs["parsed"]``."""
        generations = []
        for one in _convert.each_choice(result):
            message = _convert.result_to_message(
                one,
                model_version=self.model_version,
                headers=self.include_response_headers,
                blocks=bool(request.builtin_tools),
            )
            if target is not None:
                message.additional_kwargs["parsed"] = _convert.parse_structured(
                    target, one.message.text, one.message.refusal
                )
            generations.append(
                ChatGeneration(
                    message=message, generation_info={"finish_reason": one.finish_reason}
                )
            )
        meta = generations[0].message.response_metadata
        return ChatResult(
            generations=generations,
            llm_output={
                "token_usage": meta.get("token_usage") or {},
                "model_name": meta["model_name"],
                "system_fingerprint": meta.get("system_fingerprint"),
            },
        )

    @translated
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request, model = self._request(messages, stop, kwargs)
        result = self.client.chat(request, model=model, options=self._call_options(kwargs))
        return self._to_chat_result(
            result, request, _convert.parse_target(kwargs.get("response_format"))
        )

    @translated
    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request, model = self._request(messages, stop, kwargs)
        return self._to_chat_result(
            await self.client.achat(request, model=model, options=self._call_options(kwargs)),
            request,
            _convert.parse_target(kwargs.get("response_format")),
        )

    # --- stream --------------------------------------------------------------------------------

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        try:
            request, model = self._request(messages, stop, kwargs)
            request.n = None  # a stream is one generation
            # The core folds each delta into the state's accumulator (once) and puts the deployment
            # it resolved on the first one.
            state = _convert.StreamState(
                model_version=self.model_version,
                blocks=bool(request.builtin_tools),
                parse_into=_convert.parse_target(kwargs.get("response_format")),
            )
            for delta in self.client.stream(
                request, model=model, options=self._call_options(kwargs), into=state.acc
            ):
                message = state.present(delta)
                if message is None:
                    continue
                chunk = ChatGenerationChunk(message=message)
                if run_manager:
                    run_manager.on_llm_new_token(
                        message.text, chunk=chunk, logprobs=_chunk_logprobs(message)
                    )
                yield chunk
            chunk = ChatGenerationChunk(message=self._last(state))
            if run_manager:
                run_manager.on_llm_new_token("", chunk=chunk)
            yield chunk
        except AzoaiError as err:
            model_error(err)
            raise

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        try:
            request, model = self._request(messages, stop, kwargs)
            request.n = None  # a stream is one generation
            # The core folds each delta into the state's accumulator (once) and puts the deployment
            # it resolved on the first one.
            state = _convert.StreamState(
                model_version=self.model_version,
                blocks=bool(request.builtin_tools),
                parse_into=_convert.parse_target(kwargs.get("response_format")),
            )
            async for delta in self.client.astream(
                request, model=model, options=self._call_options(kwargs), into=state.acc
            ):
                message = state.present(delta)
                if message is None:
                    continue
                chunk = ChatGenerationChunk(message=message)
                if run_manager:
                    await run_manager.on_llm_new_token(
                        message.text, chunk=chunk, logprobs=_chunk_logprobs(message)
                    )
                yield chunk
            chunk = ChatGenerationChunk(message=self._last(state))
            if run_manager:
                await run_manager.on_llm_new_token("", chunk=chunk)
            yield chunk
        except AzoaiError as err:
            model_error(err)
            raise

    # --- tools and structured output -----------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (pydantic models, TypedDicts, functions, ``BaseTool``s or OpenAI-style
        dicts). ``tool_choice``: ``"auto"``, ``"none"``, ``"any"``/``"required"``/``True``, or
        a tool name; ``strict`` asks for schema-exact arguments.

        A dict whose ``type`` is not ``function`` is a built-in Responses tool
        (``{"type": "web_search"}``, ``{"type": "code_interpreter", "container": {"type":
        "auto"}}``, ``file_search``, ``mcp``, ``image_generation``), bound as langchain-openai
        binds it; it needs the Responses API (``use_responses_api=True``), and ``tool_choice``
        may name its type."""
        formatted = [_convert.format_tool(t, strict=strict) for t in tools]
        names = _convert.bound_tool_names(formatted)
        choice = _convert.normalize_tool_choice(tool_choice, names)
        if choice is not None:
            kwargs["tool_choice"] = choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: Literal["json_schema", "function_calling", "json_mode"] | None = None,
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Structured output into ``schema`` (pydantic model, TypedDict or JSON schema).

        ``method``: ``"json_schema"`` (the default, as in langchain-openai),
        ``"function_calling"`` or ``"json_mode"``. ``json_schema`` on a model known to lack
        Structured Outputs (gpt-35-turbo, gpt-4 0613...), or by default on an api_version
        without it, uses ``function_calling`` instead, with a ``UserWarning`` saying why."""
        if kwargs:
            raise ValueError(f"Received unsupported arguments {kwargs}")
        if method in (None, "json_schema"):
            why = self._no_json_schema(schema, explicit=method is not None)
            if why:
                warnings.warn(
                    f"Cannot use method='json_schema' {why}; using method='function_calling' "
                    "instead (pass method='function_calling' to silence this warning)",
                    UserWarning,
                    stacklevel=2,
                )
            method = "function_calling" if why else "json_schema"
        if schema is None and method != "json_mode":
            raise ValueError(f"method={method!r} needs a schema")
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        ls_format: dict[str, Any] = {}
        if schema is not None:
            ls_format = {
                "ls_structured_output_format": {
                    "kwargs": {"method": method, "strict": strict},
                    "schema": schema,
                }
            }
        llm: Runnable[LanguageModelInput, AIMessage]
        parser: Runnable[Any, Any]
        if method == "function_calling":
            assert schema is not None
            tool_name = convert_to_openai_tool(schema)["function"]["name"]
            llm = self.bind_tools(
                [schema],
                tool_choice=tool_name,
                strict=strict,
                parallel_tool_calls=False,
                **ls_format,
            )
            parser = (
                PydanticToolsParser(tools=[cast("type", schema)], first_tool_only=True)
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=tool_name, first_tool_only=True)
            )
        elif method in ("json_schema", "json_mode"):
            response_format = (
                _convert.json_schema_format(schema, strict=strict)
                if method == "json_schema"
                else {"type": "json_object"}
            )
            llm = self.bind(response_format=response_format, **ls_format)
            parser = (
                PydanticOutputParser(pydantic_object=cast("Any", schema))
                if is_pydantic
                else JsonOutputParser()
            )
        else:
            raise ValueError(
                f"method must be 'json_schema', 'function_calling' or 'json_mode', got {method!r}"
            )
        if not include_raw:
            return llm | parser
        parse_assign = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        parse_none = RunnablePassthrough.assign(parsed=lambda _: None)
        with_fallback = parse_assign.with_fallbacks([parse_none], exception_key="parsing_error")
        return RunnableMap(raw=llm) | with_fallback

    def _no_json_schema(self, schema: Any, *, explicit: bool) -> str | None:
        """Why structured output cannot use ``json_schema`` here (``None``: it can): a pydantic
        v1 class, a model known to lack Structured Outputs, or (by default only: an explicit
        request is checked against the api_version when sent) an api_version without it."""
        from azoai.config.versions import Feature, supports

        if (
            isinstance(schema, type)
            and is_basemodel_subclass(schema)
            and not issubclass(schema, PydanticBaseModel)
        ):
            return f"with the pydantic v1 class {schema.__name__}"
        info = _profile_model(self)
        if info is not None and not info.json_schema:
            return (
                f"with model {info.name}: it has no Structured Outputs (json_schema response "
                "format) in azoai's catalogue"
            )
        s = self._core_settings
        if (
            not explicit
            and s.check_api_version
            and not supports(s.api_version, Feature.JSON_SCHEMA)
        ):
            return (
                f"with api_version {s.api_version.value!r}: it has no json_schema response format "
                "(2024-08-01-preview or later has it, as does route='v1')"
            )
        return None

    # --- token counting ------------------------------------------------------------------------

    def get_num_tokens(self, text: str) -> int:
        """Tokens in ``text`` for the deployment's model, counted offline by the core."""
        return self.client.count_tokens(text)

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool] | None = None,
    ) -> int:
        """Tokens a conversation (and its tools) will take, counted offline: works with only a
        deployment configured (an unknown model gets a conservative estimate)."""
        texts = [_message_text(m) for m in messages]
        total = self.client.count_tokens(texts, per_message=3) if texts else 0
        if tools:
            formatted = [_convert.format_tool(t) for t in tools]
            total += self.client.count_tokens([json.dumps(f.get("function", f)) for f in formatted])
        return total


def _profile_model(llm: AzureChatOpenAI) -> ModelInfo | None:
    """The known chat model behind ``llm``, for its profile: ``model=``, else the model the core
    knows behind the deployment (configuration, a static deployment list, ``deployment_map``),
    else a deployment named after a model (langchain-openai's rule, model name over deployment
    name), else, only when none of these names a known chat model, discovery's record (the one
    case where a constructor reaches Azure: one ARM listing, cached for the calls); ``None``
    when nothing names a known chat model."""
    from azoai.config.catalog import lookup_model

    def known(info: ModelInfo | None) -> ModelInfo | None:
        return info if info is not None and info.known and info.is_chat else None

    found = known(lookup_model(llm.model_name))
    if found is not None or llm.settings is None:
        return found
    discovery = llm.settings.discovery is not None
    if not discovery:
        try:
            found = known(llm.client.model_info())
        except AzoaiError:
            pass  # resolution refused: the names still count
    found = found or known(lookup_model(llm.settings.deployment))
    if found is None and discovery:
        try:
            found = known(llm.client.model_info())
        except AzoaiError:
            pass  # discovery refused: no profile, and the first call says why
    return found


def _str_keys(bias: Any) -> dict[str, float] | None:
    return {str(k): v for k, v in bias.items()} if bias else None


def _chunk_logprobs(message: AIMessage) -> Any:
    logprobs = message.response_metadata.get("logprobs")
    return logprobs if logprobs else None


def _message_text(m: BaseMessage) -> str:
    """What a message contributes to the prompt, as text: role, name, text and tool calls."""
    wire = _convert.to_wire_messages([m])[0]
    bits: list[str] = [wire.role]
    if wire.name:
        bits.append(wire.name)
    bits.append(wire.text)
    for call in wire.tool_calls:
        bits.append(call.name)
        bits.append(call.raw_arguments)
    return "\n".join(b for b in bits if b)


def _chain_point(messages: list[BaseMessage]) -> tuple[str | None, list[BaseMessage]]:
    """For response chaining: the id of the last AI message that has one, and the messages
    after it (what still has to be sent)."""
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        if isinstance(m, AIMessage):
            rid = m.response_metadata.get("id")
            if isinstance(rid, str) and rid:
                return rid, messages[i + 1 :]
            break
    return None, messages

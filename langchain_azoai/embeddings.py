"""``AzureOpenAIEmbeddings``: the azoai embeddings engine behind LangChain's ``Embeddings``.

A drop-in for ``langchain_openai.AzureOpenAIEmbeddings``. The core does the work: Azure-sized
batches (2048 inputs by default), token-aware packing, long inputs split and their vectors
recombined, batches in parallel, ``dimensions`` only where the model takes it, retries.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Literal

from langchain_core.embeddings import Embeddings
from langchain_core.utils.utils import _build_model_kwargs, from_env, get_pydantic_field_names
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_serializer,
    model_validator,
)

from azoai.client import Client
from langchain_azoai._connection import ModelConnection
from langchain_azoai._errors import translated
from langchain_azoai._settings import (
    CLIENT_INPUTS,
    EMBEDDINGS_NAMES,
    FOUND_FIELDS,
    build_settings,
    headers_from_load,
    masked_headers,
    masked_repr_args,
    show_found,
    unfilled,
)
from langchain_azoai.batch import EmbeddingsBatchApi

__all__ = ["AzureOpenAIEmbeddings"]

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
    "custom_endpoint",
    "scope",
    "deployment",
    "model",
    "route",
    "deployment_map",
    "deployments",
    "discovery",
    "max_retries",
    "default_headers",
    "config_file",
    "check_api_version",
    "max_response_bytes",
    "quota_store",
    "telemetry",
)


class AzureOpenAIEmbeddings(ModelConnection, EmbeddingsBatchApi, BaseModel, Embeddings):
    """Azure OpenAI embeddings through the azoai core.

    ```python
    from langchain_azoai import AzureOpenAIEmbeddings

    emb = AzureOpenAIEmbeddings(azure_deployment="text-embedding-3-small", dimensions=256)
    vectors = emb.embed_documents(["first text", "second text"])
    ```

    Endpoint, credentials and API version may come from the environment or an ``azoai.toml``
    file, as for :class:`~langchain_azoai.AzureChatOpenAI`; :attr:`settings` shows what is in
    effect after construction.
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, extra="forbid")
    _input_fields: ClassVar[frozenset[str]] = frozenset({*_CONNECTION, *CLIENT_INPUTS})

    # --- where and how to connect (langchain-openai names) ------------------------------------
    azure_endpoint: str | None = None
    openai_api_base: str | None = Field(default=None, alias="base_url")
    deployment: str | None = Field(default=None, alias="azure_deployment")
    openai_api_version: str | None = Field(default=None, alias="api_version")
    openai_api_key: SecretStr | None = Field(default=None, alias="api_key")
    azure_ad_token: SecretStr | None = None
    azure_ad_token_provider: Callable[[], str] | None = Field(default=None, exclude=True)
    azure_ad_async_token_provider: Callable[[], Awaitable[str]] | None = Field(
        default=None, exclude=True
    )
    model: str | None = None
    """The embedding model (e.g. ``text-embedding-3-small``); the deployment when none is set."""
    request_timeout: Any = Field(default=None, alias="timeout")
    max_retries: int | None = None
    default_headers: dict[str, str] | None = None
    http_client: Any = Field(default=None, exclude=True)
    http_async_client: Any = Field(default=None, exclude=True)
    openai_proxy: str | None = None
    openai_api_type: str | None = Field(
        default_factory=from_env("OPENAI_API_TYPE", default="azure")
    )
    """Accepted for compatibility (default: ``OPENAI_API_TYPE``, else ``"azure"``); no effect."""
    openai_organization: str | None = Field(
        default_factory=from_env(["OPENAI_ORG_ID", "OPENAI_ORGANIZATION"], default=None),
        alias="organization",
    )
    """Accepted for compatibility (default: ``OPENAI_ORG_ID``); Azure has no organizations."""
    validate_base_url: bool = True
    """Accepted for compatibility; the core always validates the endpoint."""
    tiktoken_enabled: bool = True
    """Accepted for compatibility; the core counts tokens offline either way."""
    tiktoken_model_name: str | None = None
    """Accepted for compatibility; the core picks the tokenizer from the model."""

    # --- batching ------------------------------------------------------------------------------
    dimensions: int | None = None
    chunk_size: int = 2048
    """Inputs per request (Azure's maximum is 2048)."""
    embedding_ctx_length: int = 8191
    """Longer inputs are split and their vectors averaged (see ``check_embedding_ctx_length``)."""
    check_embedding_ctx_length: bool = True
    """``False``: an over-long input is an error naming it instead of being split."""
    skip_empty: bool = False
    """``True``: empty strings get a zero vector; ``False``: an error naming their indices."""
    show_progress_bar: bool = False
    """A tqdm progress bar over the input texts."""
    max_concurrency: int = 4
    """Batches in flight at once."""
    max_tokens_per_request: int | None = None
    """Tokens (estimated) summed over one request's inputs: batches are packed under it, and a
    batch Azure still refuses as over its cap is split and sent again. langchain-openai packs
    under the same fixed 300,000; here it can be lowered, or ``None`` for no client-side cap."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra body parameters for every embeddings request (e.g. ``user``)."""
    use_batch_api: bool = False
    """``embed_documents`` runs as one Batch API job (see :mod:`langchain_azoai.batch`);
    ``embed_query`` stays online."""
    batch_deployment: str | None = None
    """The Global Batch deployment Batch API jobs go to (default: the model's deployment)."""
    batch_api_options: dict[str, Any] | None = None
    """:class:`azoai.batch.BatchOptions` fields (``job_dir``, ``embeddings_per_line``...)."""

    # --- the core's additions ------------------------------------------------------------------
    credential: Any = Field(default=None, exclude=True)
    auth_mode: str | None = None
    managed_identity_client_id: str | None = None
    scope: str | None = None
    """The Entra ID scope tokens are asked for (default: the endpoint's cloud's)."""
    custom_endpoint: bool | None = None
    """As :attr:`AzureChatOpenAI.custom_endpoint`: ``None`` (default) any ``https`` host,
    ``False`` Azure OpenAI hosts only."""
    resource_name: str | None = None
    route: Literal["v1", "deployments"] | None = None
    deployment_map: dict[str, str] | None = None
    deployments: list[Any] | None = None
    discovery: Any = None
    config_file: str | None = None
    check_api_version: bool | None = None
    max_response_bytes: int | None = None
    """The largest response body accepted, after decompression (default 128 MiB); 2048 inputs
    of 3072 dimensions fit as base64, which the core asks for."""
    quota_store: SecretStr | None = None
    """A Redis URL (else ``AZOAI_QUOTA_STORE``): the deployment's TPM/RPM buckets are kept there
    and shared by every process that names it, so a fleet of workers stays under one quota."""
    telemetry: bool | None = None
    """OpenTelemetry GenAI spans and metrics for each call (default ``True`` when
    opentelemetry-api is installed; ``False`` or ``AZOAI_TELEMETRY=0`` turns them off)."""
    settings: Any = Field(default=None, exclude=True)

    _client: Client | None = PrivateAttr(default=None)
    _settings_given: bool = PrivateAttr(default=False)
    # Fields filled from the settings in effect (environment, config file): not arguments.
    _filled: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _extra_to_model_kwargs(cls, values: Any) -> Any:
        if isinstance(values, dict):
            return _build_model_kwargs(headers_from_load(values), get_pydantic_field_names(cls))
        return values

    @field_serializer("default_headers")
    def _masked_headers(self, value: dict[str, str] | None) -> dict[str, str] | None:
        return masked_headers(value)  # a header carrying a credential is a secret

    def __repr_args__(self) -> Any:
        return masked_repr_args(super().__repr_args__())

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Outside pydantic validation: configuration errors surface as the core's ConfigError.
        self._setup()

    def _setup(self) -> None:
        if not 1 <= self.chunk_size <= 2048:
            raise ValueError("chunk_size must be between 1 and 2048")
        self._settings_given = self.settings is not None
        values = {name: getattr(self, name) for name in _CONNECTION}
        self.settings = build_settings(
            unfilled(self._filled, values),
            timeout=self.request_timeout,
            settings=self.settings,
            names=EMBEDDINGS_NAMES,
        )
        self._filled = show_found(self, self.settings, {**FOUND_FIELDS, "deployment": "deployment"})

    def _engine_options(self, chunk_size: int | None) -> dict[str, Any]:
        return {
            "dimensions": self.dimensions,
            "batch_size": chunk_size or self.chunk_size,
            "max_input_tokens": self.embedding_ctx_length,
            "split_long_inputs": self.check_embedding_ctx_length,
            "empty": "zero" if self.skip_empty else "error",
            "concurrency": self.max_concurrency,
            "max_tokens_per_request": self.max_tokens_per_request,
            "extra_body": self.model_kwargs or None,
        }

    @translated
    def embed_documents(self, texts: list[str], chunk_size: int | None = None) -> list[list[float]]:
        """Vectors for ``texts``, in order."""
        if not texts:
            return []
        if self.use_batch_api:
            return self._embed_batch_api(texts)
        with _Progress(len(texts), enabled=self.show_progress_bar) as progress:
            result = self.client.embed(
                texts, progress=progress.callback, **self._engine_options(chunk_size)
            )
        return result.vectors

    @translated
    async def aembed_documents(
        self, texts: list[str], chunk_size: int | None = None
    ) -> list[list[float]]:
        if not texts:
            return []
        if self.use_batch_api:
            return await self._aembed_batch_api(texts)
        with _Progress(len(texts), enabled=self.show_progress_bar) as progress:
            result = await self.client.aembed(
                texts, progress=progress.callback, **self._engine_options(chunk_size)
            )
        return result.vectors

    @translated
    def embed_query(self, text: str) -> list[float]:
        # online, batch mode or not: one query is wanted now, not within 24 hours
        return self.client.embed([text], **self._engine_options(None)).vectors[0]

    @translated
    async def aembed_query(self, text: str) -> list[float]:
        result = await self.client.aembed([text], **self._engine_options(None))
        return result.vectors[0]


class _Progress:
    """A tqdm bar fed by the engine's ``progress(done, total)`` callback (which may run on
    worker threads), or nothing when disabled."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self._lock = threading.Lock()
        self._bar: Any = None
        self._status: str | None = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError as exc:  # pragma: no cover - tqdm is a dependency of the extra
                raise ImportError(
                    "show_progress_bar=True needs tqdm: pip install 'azoai[langchain]'"
                ) from exc
            self._bar = tqdm(total=total, unit="text")

    @property
    def callback(self) -> Callable[[int, int, str | None], None] | None:
        return self.update if self._bar is not None else None

    def update(self, done: int, total: int, status: str | None = None) -> None:
        """The engine's progress; ``status`` says why it waits ("waiting 12 s for quota"), shown
        beside the bar until the batches go on."""
        with self._lock:
            if done > self._bar.n:
                self._bar.update(done - self._bar.n)
            if status != self._status:
                self._status = status
                self._bar.set_postfix_str(status or "", refresh=True)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

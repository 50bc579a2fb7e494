"""``AzureOpenAIEmbedding``: a LlamaIndex ``BaseEmbedding`` backed by the azoai core.

Drop-in for ``llama_index.embeddings.azure_openai.AzureOpenAIEmbedding``. The core's embeddings
engine batches (Azure-sized, 2048 inputs), splits inputs longer than the model's limit, keeps
order and retries; this class only hands it texts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Self

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field
from llama_index.core.callbacks import CallbackManager

from azoai.config.settings import Settings
from azoai.copying import copy_model, field_names
from azoai.embeddings import DEFAULT_MAX_TOKENS_PER_REQUEST, MAX_INPUTS_PER_REQUEST
from llamaindex_azoai._settings import AzureConnection, resolve_alias

if TYPE_CHECKING:
    import httpx

__all__ = ["AzureOpenAIEmbedding"]

# additional_kwargs keys not forwarded as-is: dimensions has its own argument, and the core
# picks the wire encoding itself.
_HANDLED_KWARGS = frozenset({"dimensions", "encoding_format"})
# Fields the core settings are built from (besides AzureConnection's): see model_copy.
_SETTINGS_FIELDS = frozenset({"azure_deployment", "model"})


class AzureOpenAIEmbedding(AzureConnection, BaseEmbedding):
    """Azure OpenAI embeddings for LlamaIndex, through the azoai core.

    Change the import from ``llama_index.embeddings.azure_openai`` to ``llamaindex_azoai``::

        embed = AzureOpenAIEmbedding(model="text-embedding-3-small", deployment_name="embed",
                                     azure_endpoint="https://<resource>.example", api_key="...")

    ``azure_deployment``/``deployment_name`` name the deployment; without one, ``model`` is
    used as the deployment name (as llama-index does). ``embed_batch_size`` defaults to 2048,
    Azure's limit; ``dimensions`` is sent when given.
    """

    model: str | None = Field(
        default=None, description="The real embedding model, e.g. text-embedding-3-small."
    )
    azure_deployment: str | None = Field(default=None, description="The deployment name.")
    mode: str = Field(default="text_search", description="Kept for compatibility; unused.")
    dimensions: int | None = Field(default=None, description="Output dimensions (v3 models).")
    additional_kwargs: dict[str, Any] = Field(default_factory=dict)
    max_retries: int | None = Field(default=None, description="Retries (core default when unset).")
    timeout: float | None = Field(default=60.0, description="Seconds to wait for a response.")
    max_tokens_per_request: int | None = Field(
        default=DEFAULT_MAX_TOKENS_PER_REQUEST,
        description=(
            "Tokens (estimated) summed over one request's inputs: batches are packed under it "
            "(default None: Azure documents no such cap; OpenAI's is 300,000), and a batch the "
            "service refuses as over a per-request cap is split and sent again whatever this is."
        ),
    )
    split_long_inputs: bool = Field(
        default=True,
        description="Split inputs longer than the model's limit and average their vectors.",
    )
    empty: Literal["error", "zero"] = Field(
        default="error", description="An empty text is an error, or gets a zero vector."
    )
    concurrency: int = Field(default=4, description="Requests in flight for one call.")

    def __init__(
        self,
        mode: str = "text_search",
        model: str | None = None,
        embed_batch_size: int = MAX_INPUTS_PER_REQUEST,
        dimensions: int | None = None,
        additional_kwargs: dict[str, Any] | None = None,
        api_key: Any = None,
        api_version: str | None = None,
        api_base: str | None = None,
        azure_endpoint: str | None = None,
        azure_deployment: str | None = None,
        azure_ad_token_provider: Callable[..., Any] | None = None,
        use_azure_ad: bool = False,
        deployment_name: str | None = None,
        max_retries: int | None = None,
        reuse_client: bool = True,
        callback_manager: CallbackManager | None = None,
        num_workers: int | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        *,
        deployment: str | None = None,
        model_name: str | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        azure_deployment = resolve_alias(
            {
                "azure_deployment": azure_deployment,
                "deployment_name": deployment_name,
                "deployment": deployment,
            },
            setting="azure_deployment",
        )
        extra = dict(additional_kwargs or {})
        dimensions = resolve_alias(
            {"dimensions": dimensions, "additional_kwargs['dimensions']": extra.get("dimensions")},
            setting="dimensions",
        )
        unknown = sorted(set(kwargs) - set(type(self).model_fields))
        if unknown:
            raise TypeError(
                f"AzureOpenAIEmbedding got unexpected argument(s): {', '.join(unknown)}"
            )
        fields: dict[str, Any] = dict(
            mode=mode,
            model=model,
            model_name=model_name or model or azure_deployment or "unknown",
            embed_batch_size=embed_batch_size,
            dimensions=dimensions,
            additional_kwargs=extra,
            api_key=api_key,
            api_version=api_version,
            api_base=api_base,
            azure_endpoint=azure_endpoint,
            azure_deployment=azure_deployment,
            azure_ad_token_provider=azure_ad_token_provider,
            use_azure_ad=use_azure_ad,
            max_retries=max_retries,
            reuse_client=reuse_client,
            callback_manager=callback_manager,
            num_workers=num_workers,
            **kwargs,
        )
        super().__init__(**fields)
        self._http_client = http_client
        self._async_http_client = async_http_client or http_async_client
        self._settings = self._settings_from_fields()

    def _settings_from_fields(self) -> Settings:
        # llama-index sends `model` as the deployment when no deployment is named; keeping that
        # means a chat deployment from AZURE_OPENAI_DEPLOYMENT never receives embedding calls.
        return self._build_settings(
            deployment=self.azure_deployment or self.model, model=self.model
        )

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (see ``AzureConnection.__deepcopy__``); an ``update`` of a connection field
        (``azure_deployment``, endpoint, credentials, timeouts...) gives the copy settings built
        from its new fields."""
        copied = copy_model(self, update, deep=deep)
        names = field_names(type(self), update or {})
        if not (_SETTINGS_FIELDS | AzureConnection.model_fields.keys()).isdisjoint(names):
            copied._settings = copied._settings_from_fields()
        return copied

    @classmethod
    def class_name(cls) -> str:
        return "azoai_azure_openai_embedding"

    def _engine_options(self) -> dict[str, Any]:
        return {
            "dimensions": self.dimensions,
            "batch_size": min(self.embed_batch_size, MAX_INPUTS_PER_REQUEST),
            "max_tokens_per_request": self.max_tokens_per_request,
            "split_long_inputs": self.split_long_inputs,
            "empty": self.empty,
            "concurrency": self.concurrency,
            "extra_body": {
                k: v for k, v in self.additional_kwargs.items() if k not in _HANDLED_KWARGS
            }
            or None,
        }

    def _embed(self, texts: list[str]) -> list[Embedding]:
        client, owned = self._call_client()
        try:
            return client.embed(texts, **self._engine_options()).vectors
        finally:
            if owned:
                client.close()

    async def _aembed(self, texts: list[str]) -> list[Embedding]:
        client, owned = self._call_client()
        try:
            return (await client.aembed(texts, **self._engine_options())).vectors
        finally:
            if owned:
                await client.aclose()

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._embed([query])[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return (await self._aembed([query]))[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._embed([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self._aembed([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._embed(texts)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await self._aembed(texts)

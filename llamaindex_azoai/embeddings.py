"""``AzureOpenAIEmbedding``: a LlamaIndex ``BaseEmbedding`` backed by the azoai core.

Drop-in for ``llama_index.embeddings.azure_openai.AzureOpenAIEmbedding``. The core's embeddings
engine batches (Azure-sized, 2048 inputs), splits inputs longer than the model's limit, keeps
order and retries; this class only hands it texts.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field
from llama_index.core.callbacks import CallbackManager

from azoai.config.settings import Settings
from azoai.embeddings import DEFAULT_MAX_TOKENS_PER_REQUEST, MAX_INPUTS_PER_REQUEST
from llamaindex_azoai._settings import AzureConnection, reject_unknown, resolve_alias
from llamaindex_azoai._signatures import presign
from llamaindex_azoai.batch import EmbeddingBatchApi

if TYPE_CHECKING:
    import httpx

__all__ = ["AzureOpenAIEmbedding"]

# additional_kwargs keys not forwarded as-is: dimensions has its own argument, and the core
# picks the wire encoding itself.
_HANDLED_KWARGS = frozenset({"dimensions", "encoding_format"})
# Fields the core settings are built from (besides AzureConnection's): see model_copy.


@presign
class AzureOpenAIEmbedding(EmbeddingBatchApi, AzureConnection, BaseEmbedding):
    """Azure OpenAI embeddings for LlamaIndex, through the azoai core.

    Change the import from ``llama_index.embeddings.azure_openai`` to ``llamaindex_azoai``::

        embed = AzureOpenAIEmbedding(model="text-embedding-3-small", deployment_name="embed",
                                     azure_endpoint="https://<resource>.example", api_key="...")

    ``azure_deployment``/``deployment_name`` name the deployment; without one, ``model`` is
    used as the deployment name (as llama-index does). ``embed_batch_size`` defaults to 2048,
    Azure's limit; ``dimensions`` is sent when given.
    """

    _settings_fields: ClassVar[frozenset[str]] = frozenset({"azure_deployment", "model"})

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
    use_batch_api: bool = Field(
        default=False,
        description="Embed each get_text_embedding_batch call (node embedding, an "
        "IngestionPipeline) as one Batch API job; queries stay online.",
    )
    batch_deployment: str | None = Field(
        default=None, description="The Global Batch deployment batch jobs go to."
    )
    batch_api_options: dict[str, Any] | None = Field(
        default=None, description="azoai.batch.BatchOptions fields (job_dir, ...)."
    )

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
        reject_unknown("AzureOpenAIEmbedding", kwargs, type(self).model_fields)
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
        self._init_connection(http_client, async_http_client, http_async_client)

    def _settings_from_fields(self) -> Settings:
        # llama-index sends `model` as the deployment when no deployment is named; keeping that
        # means a chat deployment from AZURE_OPENAI_DEPLOYMENT never receives embedding calls.
        return self._build_settings(
            deployment=self.azure_deployment or self.model, model=self.model
        )

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
        bar = _bar.get()
        try:
            return client.embed(
                texts, progress=bar.part() if bar else None, **self._engine_options()
            ).vectors
        finally:
            if owned:
                client.close()

    async def _aembed(self, texts: list[str]) -> list[Embedding]:
        client, owned = self._call_client()
        bar = _bar.get()
        try:
            return (
                await client.aembed(
                    texts, progress=bar.part() if bar else None, **self._engine_options()
                )
            ).vectors
        finally:
            if owned:
                await client.aclose()

    def get_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[Embedding]:
        """As LlamaIndex does, and with ``show_progress`` a bar that moves as each request's
        texts come back and says why it waits ("waiting 12 s for quota")."""
        if not show_progress or self.use_batch_api or not texts:
            return super().get_text_embedding_batch(texts, show_progress, **kwargs)
        with _Bar(len(texts)) as bar:
            token = _bar.set(bar)
            try:
                return super().get_text_embedding_batch(texts, False, **kwargs)
            finally:
                _bar.reset(token)

    async def aget_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[Embedding]:
        if not show_progress or self.use_batch_api or not texts:
            return await super().aget_text_embedding_batch(texts, show_progress, **kwargs)
        with _Bar(len(texts)) as bar:
            token = _bar.set(bar)
            try:
                return await super().aget_text_embedding_batch(texts, False, **kwargs)
            finally:
                _bar.reset(token)

    def __getstate__(self) -> dict[str, Any]:
        # IngestionPipeline(num_workers=...) pickles the embedding for its worker processes:
        # the moment to say that their SentenceSplitter will fetch a file (and hang offline)
        if _for_worker_process():
            warn_offline_tokenizer()
        return super().__getstate__()

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


class _Bar:
    """One ``get_text_embedding_batch``'s tqdm bar over its texts, fed by the core's progress
    callback of every request batch (LlamaIndex's own bar moves only per
    ``embed_batch_size`` chunk and freezes while the quota pacer waits)."""

    def __init__(self, total: int) -> None:
        from tqdm.auto import tqdm  # a dependency of llama-index-core

        self._lock = threading.Lock()
        self._status: str | None = None
        self._tqdm: Any = tqdm(total=total, desc="Generating embeddings", unit="text")

    def part(self) -> Callable[[int, int, str | None], None]:
        """The callback for one call of the core's engine (a chunk of the texts)."""
        seen = [0]

        def progress(done: int, total: int, status: str | None = None) -> None:
            with self._lock:
                if done > seen[0]:
                    self._tqdm.update(done - seen[0])
                    seen[0] = done
                if status != self._status:
                    self._status = status
                    self._tqdm.set_postfix_str(status or "", refresh=True)

        return progress

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        self._tqdm.close()


_bar: ContextVar[_Bar | None] = ContextVar("llamaindex_azoai_bar", default=None)

#: tiktoken's cache file name for cl100k_base (the sha1 of its URL): what LlamaIndex's
#: SentenceSplitter loads when it is unpickled in a worker process.
_CL100K = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"
_warned = False


def _for_worker_process() -> bool:
    """Whether this pickling is multiprocessing's, sending the model to a worker process (not a
    user's own ``pickle.dumps``)."""
    frame: FrameType | None = sys._getframe(2)
    for _ in range(40):
        if frame is None:
            return False
        if str(frame.f_globals.get("__name__", "")).startswith(
            ("multiprocessing.", "concurrent.futures.")
        ):
            return True
        frame = frame.f_back
    return False


def warn_offline_tokenizer() -> None:
    """Warn, once per process, when worker processes would have to download tiktoken's
    cl100k_base file: LlamaIndex's ``SentenceSplitter`` reloads it in each worker, from
    ``TIKTOKEN_CACHE_DIR`` (else a temp directory), and offline the download hangs the run.
    llama-index ships the file; pointing ``TIKTOKEN_CACHE_DIR`` there avoids the download."""
    global _warned
    if _warned or importlib.util.find_spec("tiktoken") is None:
        return
    env = os.environ
    if "TIKTOKEN_CACHE_DIR" in env:
        cache = env["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in env:
        cache = env["DATA_GYM_CACHE_DIR"]
    else:
        cache = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if cache and os.path.exists(os.path.join(cache, _CL100K)):
        return
    _warned = True
    import llama_index.core

    shipped = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
    where = (
        f"TIKTOKEN_CACHE_DIR={shipped} (the copy llama-index ships)"
        if (shipped / _CL100K).exists()
        else "TIKTOKEN_CACHE_DIR to a directory holding tiktoken's cl100k_base file"
    )
    warnings.warn(
        "llamaindex_azoai: AzureOpenAIEmbedding is going to worker processes "
        "(IngestionPipeline(num_workers=...)); LlamaIndex's SentenceSplitter there reloads "
        f"tiktoken's cl100k_base file, which is not in {cache or '(caching disabled)'}, so each "
        "worker downloads it, and without network the run hangs. Set "
        f"{where} in the environment before run().",
        RuntimeWarning,
        stacklevel=2,
    )

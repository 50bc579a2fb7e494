"""The Batch API behind LlamaIndex: a batch mode for ``AzureOpenAIEmbedding`` that an
``IngestionPipeline`` uses as it is, and batch chat and completion for ``AzureOpenAI``.

* ``AzureOpenAIEmbedding(use_batch_api=True)``: ``get_text_embedding_batch`` (what node
  embedding and an ``IngestionPipeline`` call) sends all its texts as one Batch API job, not in
  ``embed_batch_size`` pieces, and waits for it; a query embedding stays online.
* ``AzureOpenAI.batch_chat(list_of_message_lists)`` / ``batch_complete(prompts)`` (and the
  ``a``-prefixed twins) run one job and return responses in input order; ``batch_submit`` returns
  the job's id at once and ``batch_collect`` (in this process or another) collects it.

The work is the core's (:mod:`azoai.batch`); this module converts LlamaIndex types.
``batch_deployment`` names the Global Batch deployment (default: the model's own);
``batch_api_options`` are :class:`azoai.batch.BatchOptions` fields.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse

    from azoai.batch import Batches, BatchItem, JobStatus
    from azoai.client import Client
    from azoai.wire import ChatRequest

__all__ = ["EmbeddingBatchApi", "LLMBatchApi"]


def _raise_first(outputs: Sequence[Any]) -> None:
    for out in outputs:
        if isinstance(out, BaseException):
            raise out


class _Jobs:
    if TYPE_CHECKING:  # fields of the class this is mixed into
        batch_deployment: str | None
        batch_api_options: dict[str, Any] | None

        def _call_client(self) -> tuple[Client, bool]: ...

    def _batches(self, client: Client) -> Batches:
        from azoai.batch import Batches  # loaded on first use: most programs never batch

        return Batches(client, self.batch_api_options)


class EmbeddingBatchApi(_Jobs):
    """Batch mode of :class:`~llamaindex_azoai.AzureOpenAIEmbedding` (a mixin)."""

    if TYPE_CHECKING:
        use_batch_api: bool
        dimensions: int | None
        callback_manager: Any

        def _engine_options(self) -> dict[str, Any]: ...

    def _job_kwargs(self) -> dict[str, Any]:
        options = self._engine_options()
        return {
            "model": self.batch_deployment,
            "dimensions": options["dimensions"],
            "empty": options["empty"],
            "extra_body": options["extra_body"],
        }

    def _event(self, texts: list[str], vectors: list[list[float]]) -> None:
        from llama_index.core.callbacks import CBEventType, EventPayload

        with self.callback_manager.event(
            CBEventType.EMBEDDING, payload={EventPayload.SERIALIZED: {"batch_api": True}}
        ) as event:
            event.on_end(payload={EventPayload.CHUNKS: texts, EventPayload.EMBEDDINGS: vectors})

    def get_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[list[float]]:
        """All ``texts`` in one Batch API job when ``use_batch_api``, else as LlamaIndex does."""
        if not self.use_batch_api:
            return super().get_text_embedding_batch(texts, show_progress, **kwargs)  # type: ignore[misc, no-any-return]
        if not texts:
            return []
        client, owned = self._call_client()
        try:
            job = self._batches(client).submit_embeddings(texts, **self._job_kwargs())
            vectors = job.embeddings().vectors
        finally:
            if owned:
                client.close()
        self._event(texts, vectors)
        return vectors

    async def aget_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[list[float]]:
        if not self.use_batch_api:
            return await super().aget_text_embedding_batch(texts, show_progress, **kwargs)  # type: ignore[misc, no-any-return]
        if not texts:
            return []
        client, owned = self._call_client()
        try:
            job = await self._batches(client).asubmit_embeddings(texts, **self._job_kwargs())
            vectors = (await job.aembeddings()).vectors
        finally:
            if owned:
                await client.aclose()
        self._event(texts, vectors)
        return vectors

    def batch_submit(self, texts: Sequence[str]) -> str:
        """Submit ``texts`` as a Batch API embeddings job; its id, at once."""
        client, owned = self._call_client()
        try:
            return self._batches(client).submit_embeddings(texts, **self._job_kwargs()).id
        finally:
            if owned:
                client.close()

    def batch_collect(self, job_id: str, *, timeout: float | None = None) -> list[list[float]]:
        """The job's vectors in input order, waiting for it."""
        client, owned = self._call_client()
        try:
            return self._batches(client).resume(job_id).embeddings(timeout=timeout).vectors
        finally:
            if owned:
                client.close()

    def batch_status(self, job_id: str) -> JobStatus:
        """The job's status, refreshed from Azure."""
        client, owned = self._call_client()
        try:
            return self._batches(client).resume(job_id).poll()
        finally:
            if owned:
                client.close()

    def batch_cancel(self, job_id: str) -> JobStatus:
        """Cancel the job; what had run is still collected."""
        client, owned = self._call_client()
        try:
            return self._batches(client).resume(job_id).cancel()
        finally:
            if owned:
                client.close()


class LLMBatchApi(_Jobs):
    """Batch chat and completion of :class:`~llamaindex_azoai.AzureOpenAI` (a mixin)."""

    if TYPE_CHECKING:

        def _prepare(
            self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
        ) -> tuple[ChatRequest, str | None, Any]: ...

        def _response(self, client: Client, result: Any, model: str | None) -> ChatResponse: ...

    def _requests(
        self, conversations: Sequence[Sequence[ChatMessage]], kwargs: dict[str, Any]
    ) -> tuple[Iterator[ChatRequest], str | None]:
        model = kwargs.get("model") or self.batch_deployment

        def requests() -> Iterator[ChatRequest]:
            for messages in conversations:
                request, _, _ = self._prepare(messages, dict(kwargs))
                yield request

        return requests(), model

    def _out(self, client: Client, item: BatchItem) -> ChatResponse | BaseException:
        if item.error is not None:
            return item.error
        return self._response(client, item.result, None)

    @staticmethod
    def _as_completion(out: ChatResponse | BaseException) -> CompletionResponse | BaseException:
        from llama_index.core.base.llms.generic_utils import chat_response_to_completion_response

        return out if isinstance(out, BaseException) else chat_response_to_completion_response(out)

    # -- one job, waited for -----------------------------------------------------------------------

    def batch_chat(
        self,
        conversations: Sequence[Sequence[ChatMessage]],
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """Each conversation's :class:`ChatResponse`, in order, from one Batch API job (a failed
        one is its typed error with ``return_exceptions=True``, else the first is raised)."""
        if not conversations:
            return []
        client, owned = self._call_client()
        try:
            requests, model = self._requests(conversations, kwargs)
            job = self._batches(client).submit_chat(requests, model=model)
            outputs = [self._out(client, item) for item in job.collect()]
        finally:
            if owned:
                client.close()
        if not return_exceptions:
            _raise_first(outputs)
        return outputs

    async def abatch_chat(
        self,
        conversations: Sequence[Sequence[ChatMessage]],
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        if not conversations:
            return []
        client, owned = self._call_client()
        try:
            requests, model = self._requests(conversations, kwargs)
            job = await self._batches(client).asubmit_chat(requests, model=model)
            outputs = [self._out(client, item) async for item in job.acollect()]
        finally:
            if owned:
                await client.aclose()
        if not return_exceptions:
            _raise_first(outputs)
        return outputs

    def batch_complete(
        self, prompts: Sequence[str], *, return_exceptions: bool = False, **kwargs: Any
    ) -> list[Any]:
        """Each prompt's :class:`CompletionResponse`, in order, from one Batch API job."""
        from llama_index.core.base.llms.types import ChatMessage, MessageRole

        convs = [[ChatMessage(role=MessageRole.USER, content=p)] for p in prompts]
        out = self.batch_chat(convs, return_exceptions=return_exceptions, **kwargs)
        return [self._as_completion(o) for o in out]

    async def abatch_complete(
        self, prompts: Sequence[str], *, return_exceptions: bool = False, **kwargs: Any
    ) -> list[Any]:
        from llama_index.core.base.llms.types import ChatMessage, MessageRole

        convs = [[ChatMessage(role=MessageRole.USER, content=p)] for p in prompts]
        out = await self.abatch_chat(convs, return_exceptions=return_exceptions, **kwargs)
        return [self._as_completion(o) for o in out]

    # -- explicit submit / status / collect / cancel --------------------------------------------------

    def batch_submit(self, conversations: Sequence[Sequence[ChatMessage]], **kwargs: Any) -> str:
        """Submit a Batch API chat job; its id, at once (collect it later with
        :meth:`batch_collect`, from any process using the same ``job_dir``)."""
        client, owned = self._call_client()
        try:
            requests, model = self._requests(conversations, kwargs)
            return self._batches(client).submit_chat(requests, model=model).id
        finally:
            if owned:
                client.close()

    def batch_status(self, job_id: str) -> JobStatus:
        client, owned = self._call_client()
        try:
            return self._batches(client).resume(job_id).poll()
        finally:
            if owned:
                client.close()

    def batch_collect(
        self, job_id: str, *, timeout: float | None = None, return_exceptions: bool = False
    ) -> list[Any]:
        """The job's :class:`ChatResponse` s in input order, waiting for it."""
        client, owned = self._call_client()
        try:
            job = self._batches(client).resume(job_id)
            outputs = [self._out(client, item) for item in job.collect(timeout=timeout)]
        finally:
            if owned:
                client.close()
        if not return_exceptions:
            _raise_first(outputs)
        return outputs

    async def abatch_collect(
        self,
        job_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (the job's, not one call's)
        return_exceptions: bool = False,
    ) -> list[Any]:
        client, owned = self._call_client()
        try:
            job = self._batches(client).resume(job_id)
            outputs = [self._out(client, item) async for item in job.acollect(timeout=timeout)]
        finally:
            if owned:
                await client.aclose()
        if not return_exceptions:
            _raise_first(outputs)
        return outputs

    def batch_cancel(self, job_id: str) -> JobStatus:
        """Cancel the job; what had run is still collected."""
        client, owned = self._call_client()
        try:
            return self._batches(client).resume(job_id).cancel()
        finally:
            if owned:
                client.close()

"""The Batch API behind LangChain: an opt-in path for ``AzureChatOpenAI.batch()`` and for
``AzureOpenAIEmbeddings.embed_documents()``, and explicit submit/retrieve for long jobs.

Never the default (a batch takes minutes to hours): ``AzureChatOpenAI(use_batch_api=True)``, or
``llm.batch(inputs, use_batch_api=True)`` for one call, sends the inputs as one Batch API job
and waits for it; ``batch_api_submit`` returns the job's id at once, and ``batch_api_retrieve``
(in this process or another) collects it. The work is the core's (:mod:`azoai.batch`): this
module turns LangChain inputs into neutral requests and results back into messages, and wires
callbacks. ``batch_deployment`` names the Global Batch deployment jobs go to (default: the
model's own deployment); ``batch_api_options`` are :class:`azoai.batch.BatchOptions` fields
(``job_dir``, ``enqueued_token_limit``, ``poll_interval``...).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from azoai.errors import AzoaiError
from azoai.wire import ChatRequest

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_core.runnables import RunnableConfig

    from azoai.batch import Batches, BatchItem, BatchJob, JobStatus


__all__ = ["ChatBatchApi", "EmbeddingsBatchApi"]


def _first_error(items: Sequence[Any]) -> None:
    for item in items:
        if isinstance(item, BaseException):
            raise item


class ChatBatchApi:
    """Batch API methods of :class:`~langchain_azoai.AzureChatOpenAI` (a mixin: it relies on
    the model's ``client``, ``_request`` and ``_to_chat_result``)."""

    if TYPE_CHECKING:  # fields of the class this is mixed into
        use_batch_api: bool
        batch_deployment: str | None
        batch_api_options: dict[str, Any] | None

    # -- plumbing ------------------------------------------------------------------------------

    def _batches(self) -> Batches:
        from azoai.batch import Batches

        return Batches(self.client, self.batch_api_options)  # type: ignore[attr-defined]

    def _wants_batch_api(self, kwargs: dict[str, Any]) -> bool:
        flag = kwargs.pop("use_batch_api", None)
        return self.use_batch_api if flag is None else bool(flag)

    def _batch_requests(
        self, inputs: Sequence[Any], kwargs: dict[str, Any]
    ) -> tuple[Iterator[ChatRequest], str | None]:
        """Neutral requests, made one at a time as the job's files are written."""
        kw = dict(kwargs)
        stop = kw.pop("stop", None)
        model = kw.pop("model", None) or self.batch_deployment

        def requests() -> Iterator[ChatRequest]:
            for value in inputs:
                messages = self._convert_input(value).to_messages()  # type: ignore[attr-defined]
                request, _ = self._request(messages, stop, dict(kw))  # type: ignore[attr-defined]
                yield request

        return requests(), model

    def _message(self, item: BatchItem, job_id: str) -> BaseMessage | AzoaiError:
        if item.error is not None:
            return item.error
        from langchain_azoai._convert import result_to_message

        message = result_to_message(
            item.result,
            model_version=self.model_version,  # type: ignore[attr-defined]
            headers=self.include_response_headers,  # type: ignore[attr-defined]
        )
        message.response_metadata["batch_job_id"] = job_id
        return message

    def _run_managers(
        self, inputs: Sequence[Any], config: Any, kwargs: dict[str, Any]
    ) -> list[Any]:
        from langchain_core.callbacks import CallbackManager
        from langchain_core.runnables.config import get_config_list

        cfg = get_config_list(config, len(inputs))[0] if inputs else {}
        manager = CallbackManager.configure(
            cfg.get("callbacks"),
            self.callbacks,  # type: ignore[attr-defined]
            self.verbose,  # type: ignore[attr-defined]
            cfg.get("tags"),
            self.tags,  # type: ignore[attr-defined]
            cfg.get("metadata"),
            self.metadata,  # type: ignore[attr-defined]
        )
        if not manager.handlers:
            return []
        messages = [self._convert_input(v).to_messages() for v in inputs]  # type: ignore[attr-defined]
        return list(
            manager.on_chat_model_start(
                self._serialized,  # type: ignore[attr-defined]
                messages,
                invocation_params={**self._get_invocation_params(**kwargs), "batch_api": True},  # type: ignore[attr-defined]
                batch_size=len(inputs),
            )
        )

    @staticmethod
    def _end_runs(managers: list[Any], outputs: Sequence[Any]) -> None:
        from langchain_core.outputs import ChatGeneration, LLMResult

        for manager, out in zip(managers, outputs, strict=False):
            if isinstance(out, BaseException):
                manager.on_llm_error(out)
            else:
                manager.on_llm_end(LLMResult(generations=[[ChatGeneration(message=out)]]))

    # -- batch() / abatch() --------------------------------------------------------------------

    def batch(
        self,
        inputs: list[Any],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """LangChain's ``batch``; through the Batch API when ``use_batch_api`` (the field, or
        this call's ``use_batch_api=True``): one job, waited for, results in input order (a
        failed input is its typed error with ``return_exceptions=True``, else the first one is
        raised)."""
        if not self._wants_batch_api(kwargs):
            return super().batch(inputs, config, return_exceptions=return_exceptions, **kwargs)  # type: ignore[misc, no-any-return]
        if not inputs:
            return []
        managers = self._run_managers(inputs, config, kwargs)
        requests, model = self._batch_requests(inputs, kwargs)
        job = self._batches().submit_chat(requests, model=model)
        outputs = [self._message(item, job.id) for item in job.collect()]
        self._end_runs(managers, outputs)
        if not return_exceptions:
            _first_error(outputs)
        return outputs

    async def abatch(
        self,
        inputs: list[Any],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        if not self._wants_batch_api(kwargs):
            return await super().abatch(  # type: ignore[misc, no-any-return]
                inputs, config, return_exceptions=return_exceptions, **kwargs
            )
        if not inputs:
            return []
        managers = self._run_managers(inputs, config, kwargs)
        requests, model = self._batch_requests(inputs, kwargs)
        job = await self._batches().asubmit_chat(requests, model=model)
        outputs = [self._message(item, job.id) async for item in job.acollect()]
        self._end_runs(managers, outputs)
        if not return_exceptions:
            _first_error(outputs)
        return outputs

    # -- explicit submit / status / retrieve / cancel -------------------------------------------

    def batch_api_submit(self, inputs: Sequence[Any], **kwargs: Any) -> str:
        """Submit ``inputs`` as a Batch API job and return its id at once (keep it: any process
        with the same ``batch_api_options['job_dir']`` can retrieve the job)."""
        requests, model = self._batch_requests(inputs, kwargs)
        return self._batches().submit_chat(requests, model=model).id

    async def abatch_api_submit(self, inputs: Sequence[Any], **kwargs: Any) -> str:
        requests, model = self._batch_requests(inputs, kwargs)
        return (await self._batches().asubmit_chat(requests, model=model)).id

    def _job(self, job_id: str) -> BatchJob:
        return self._batches().resume(job_id)

    def batch_api_status(self, job_id: str) -> JobStatus:
        """The job's status, refreshed from Azure (and files waiting for quota submitted)."""
        return self._job(job_id).poll()

    async def abatch_api_status(self, job_id: str) -> JobStatus:
        return await self._job(job_id).apoll()

    def batch_api_retrieve(
        self, job_id: str, *, timeout: float | None = None, return_exceptions: bool = False
    ) -> list[Any]:
        """The job's messages in input order, waiting for it (up to ``timeout`` seconds)."""
        job = self._job(job_id)
        outputs = [self._message(item, job.id) for item in job.collect(timeout=timeout)]
        if not return_exceptions:
            _first_error(outputs)
        return outputs

    async def abatch_api_retrieve(
        self,
        job_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (the job's, not one call's)
        return_exceptions: bool = False,
    ) -> list[Any]:
        job = self._job(job_id)
        outputs = [self._message(item, job.id) async for item in job.acollect(timeout=timeout)]
        if not return_exceptions:
            _first_error(outputs)
        return outputs

    def batch_api_cancel(self, job_id: str) -> JobStatus:
        """Cancel the job; what had run is still retrieved."""
        return self._job(job_id).cancel()

    async def abatch_api_cancel(self, job_id: str) -> JobStatus:
        return await self._job(job_id).acancel()


class EmbeddingsBatchApi:
    """Batch API embedding for :class:`~langchain_azoai.AzureOpenAIEmbeddings` (a mixin: it
    relies on the model's ``client`` and its embedding fields)."""

    if TYPE_CHECKING:  # fields of the class this is mixed into
        use_batch_api: bool
        batch_deployment: str | None
        batch_api_options: dict[str, Any] | None

    def _batches(self) -> Batches:
        from azoai.batch import Batches

        return Batches(self.client, self.batch_api_options)  # type: ignore[attr-defined]

    def _embed_kwargs(self) -> dict[str, Any]:
        return {
            "model": self.batch_deployment,
            "dimensions": self.dimensions,  # type: ignore[attr-defined]
            "empty": "zero" if self.skip_empty else "error",  # type: ignore[attr-defined]
            "extra_body": self.model_kwargs or None,  # type: ignore[attr-defined]
        }

    def _embed_batch_api(self, texts: list[str]) -> list[list[float]]:
        return self._batches().submit_embeddings(texts, **self._embed_kwargs()).embeddings().vectors

    async def _aembed_batch_api(self, texts: list[str]) -> list[list[float]]:
        job = await self._batches().asubmit_embeddings(texts, **self._embed_kwargs())
        return (await job.aembeddings()).vectors

    def batch_api_submit(self, texts: Sequence[str]) -> str:
        """Submit ``texts`` as a Batch API embeddings job; its id, at once."""
        return self._batches().submit_embeddings(texts, **self._embed_kwargs()).id

    async def abatch_api_submit(self, texts: Sequence[str]) -> str:
        return (await self._batches().asubmit_embeddings(texts, **self._embed_kwargs())).id

    def batch_api_retrieve(self, job_id: str, *, timeout: float | None = None) -> list[list[float]]:
        """The job's vectors in input order (waiting for it); inputs without one raise
        :class:`azoai.EmbeddingBatchError` listing them, with the vectors that did arrive."""
        return self._batches().resume(job_id).embeddings(timeout=timeout).vectors

    async def abatch_api_retrieve(
        self,
        job_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (the job's, not one call's)
    ) -> list[list[float]]:
        return (await self._batches().resume(job_id).aembeddings(timeout=timeout)).vectors

    def batch_api_status(self, job_id: str) -> JobStatus:
        return self._batches().resume(job_id).poll()

    def batch_api_cancel(self, job_id: str) -> JobStatus:
        return self._batches().resume(job_id).cancel()

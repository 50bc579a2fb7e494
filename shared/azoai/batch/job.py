"""A Batch API job: its files' batches submitted as the quota allows, polled, cancelled.

The job's steps are generators (see :mod:`azoai.batch.ops`), driven sync (``poll``, ``wait``,
``cancel``) or async (``apoll``, ``await_``, ``acancel``). Every step saves the record, so a job
can be resumed by id from another process at any point (:meth:`azoai.batch.Batches.resume`):

* a file not yet uploaded is uploaded from the job's folder;
* a file uploaded whose batch may have been created just before the process died is matched to
  Azure's batches by ``input_file_id`` before a new batch is created (never twice);
* batches running are polled; results are collected as for any job.

Quota: a file is submitted only while the batches still running leave room for its estimated
tokens under ``enqueued_token_limit``; a batch Azure refuses for its enqueued-token limit
(``token_limit_exceeded``, at creation or in validation) goes back to pending and is submitted
again with exponential backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azoai.batch.ops import Pause, Runner, Steps, adrive, drive
from azoai.batch.options import BatchOptions
from azoai.batch.record import FileRecord, JobRecord, JobStore
from azoai.config.endpoints import resource_url
from azoai.config.versions import parse_api_version
from azoai.errors import AzoaiError, TimeoutError
from azoai.io.files import FileRequest, Upload
from azoai.wire.batch import (
    TERMINAL,
    BatchInfo,
    BatchKind,
    batch_endpoint,
    parse_batch,
    parse_file,
    parse_list,
)
from azoai.wire.common import dumps, loads

if TYPE_CHECKING:
    from azoai.batch.results import BatchItem
    from azoai.client import Client
    from azoai.wire.types import ChatResult, EmbeddingResult

__all__ = ["BatchJob", "FileStatus", "JobStatus"]

log = logging.getLogger("azoai.batch")

#: File statuses while Azure is still taking an upload in.
_FILE_BUSY = frozenset({"uploaded", "pending", "running"})
#: How many pages of Azure's batch list a resumed job reads to find a batch it may have created.
_FIND_PAGES = 5
#: Refusals for the enqueued-token quota before a file is reported failed (Azure's sample
#: retries 10 times, doubling from 5 seconds), and the longest wait between two tries.
_QUOTA_RETRIES = 16
_MAX_BACKOFF = 1800.0


@dataclass(slots=True)
class FileStatus:
    n: int
    status: str
    batch_id: str | None
    total: int
    completed: int
    failed: int


@dataclass(slots=True)
class JobStatus:
    """Where a job stands. ``state``: ``submitting`` (files wait for quota), ``running``,
    ``done``, ``cancelling`` or ``cancelled``. ``completed``/``failed`` count requests (a request
    refused before sending counts as failed); ``total`` is the job's inputs."""

    id: str
    kind: str
    deployment: str
    state: str
    total: int
    completed: int
    failed: int
    files: list[FileStatus] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.state in ("done", "cancelled")


def _is_quota_refusal(code: str | None, message: str) -> bool:
    return code == "token_limit_exceeded" or "enqueued tokens" in message.lower()


class BatchJob:
    """One job (see the module docstring). Built by :class:`azoai.batch.Batches`."""

    def __init__(
        self,
        client: Client,
        record: JobRecord,
        store: JobStore,
        options: BatchOptions,
        *,
        resumed: bool = False,
    ) -> None:
        self.client = client
        self.record = record
        self.store = store
        self.options = options
        self.runner = Runner(client, record.deployment)
        # Files uploaded whose batch may exist unrecorded (the process died between creating
        # it and saving its id): looked up by input_file_id before one is created.
        self._unsure = {f.n for f in record.files if resumed and f.file_id and not f.batch_id}
        self._version = parse_api_version(record.api_version)

    def __repr__(self) -> str:
        return f"BatchJob({self.id}, {self.record.kind}, deployment={self.record.deployment!r})"

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def folder(self) -> Path:
        """The job's folder in the job directory (see :mod:`azoai.batch.record`)."""
        return self.store.folder(self.id)

    def _save(self) -> None:
        self.store.save(self.record)

    def url(self, path: str, **query: str) -> str:
        url = resource_url(
            self.client.settings.endpoint, path, route=self.record.route, version=self._version
        )
        if query:
            from urllib.parse import urlencode

            url += ("&" if "?" in url else "?") + urlencode(query)
        return url

    # -- status ----------------------------------------------------------------------------------

    def status(self) -> JobStatus:
        """The job as last seen (no request; :meth:`poll` refreshes it)."""
        r = self.record
        files = [
            FileStatus(f.n, f.status, f.batch_id, f.counts[0] or f.lines, f.counts[1], f.counts[2])
            for f in r.files
        ]
        waiting = any(f.status == "pending" for f in r.files)
        finished = all(f.status in TERMINAL or f.status == "not_submitted" for f in r.files)
        if r.cancelled:
            state = "cancelled" if finished else "cancelling"
        elif finished:
            state = "done"
        else:
            state = "submitting" if waiting else "running"
        return JobStatus(
            id=r.id,
            kind=r.kind,
            deployment=r.deployment,
            state=state,
            total=r.total,
            completed=sum(f.completed for f in files),
            failed=sum(f.failed for f in files) + r.refused,
            files=files,
        )

    # -- steps: submitting -----------------------------------------------------------------------

    def _upload(self, f: FileRecord) -> Steps[None]:
        path = self.folder / f"input-{f.n}.jsonl"
        fields = [("purpose", "batch")]
        if self.options.file_expires_after is not None:
            fields += [
                ("expires_after.seconds", str(self.options.file_expires_after)),
                ("expires_after.anchor", "created_at"),
            ]
        upload = Upload(str(path), f"{self.id}-{f.n}.jsonl", tuple(fields))
        reply = yield FileRequest("POST", self.url("files"), "batch file upload", upload=upload)
        info = parse_file(loads(reply.content))
        f.file_id = info.id
        self._save()
        delay = min(0.5, self.options.max_poll_interval) or 0.01
        while info.status in _FILE_BUSY:
            yield Pause(delay)
            delay = min(delay * 2, self.options.max_poll_interval) or 0.01
            reply = yield FileRequest("GET", self.url(f"files/{info.id}"), "batch file status")
            info = parse_file(loads(reply.content))
        if info.status != "processed":
            f.status = "failed"
            f.errors = [
                ["file_error", info.status_details or f"the file's status is {info.status}", None]
            ]
            self._save()
            return
        path.unlink(missing_ok=True)  # Azure has it now

    def _create(self, f: FileRecord) -> Steps[bool]:
        body: dict[str, Any] = {
            "input_file_id": f.file_id,
            "endpoint": batch_endpoint(self._kind),
            "completion_window": "24h",
            "metadata": {"azoai_job": self.id, "azoai_file": str(f.n)},
        }
        if self.options.output_expires_after is not None:
            body["output_expires_after"] = {
                "seconds": self.options.output_expires_after,
                "anchor": "created_at",
            }
        try:
            reply = yield FileRequest("POST", self.url("batches"), "batch create", body=dumps(body))
        except AzoaiError as err:
            if _is_quota_refusal(err.code, err.message):
                self._back_off(f, err.message)
                return False
            raise
        self._apply(f, parse_batch(loads(reply.content)))
        return True

    @property
    def _kind(self) -> BatchKind:
        kind = self.record.kind
        if kind == "jsonl":
            url = self.record.url.removeprefix("/v1")
            kinds: dict[str, BatchKind] = {"/chat/completions": "chat", "/responses": "responses"}
            return kinds.get(url, "embeddings")
        return (
            "responses" if kind == "responses" else "embeddings" if kind == "embeddings" else "chat"
        )

    def _back_off(self, f: FileRecord, why: str) -> None:
        """Azure refused the file for the deployment's enqueued-token quota: pending again,
        submitted after an exponential backoff; after ``_QUOTA_RETRIES`` refusals it fails."""
        f.retries += 1
        f.batch_id = None
        if f.retries > _QUOTA_RETRIES:
            f.status = "failed"
            f.errors = [["token_limit_exceeded", why, None]]
            self._save()
            return
        wait = min(_MAX_BACKOFF, max(self.options.poll_interval, 0.01) * 2**f.retries)
        f.retry_at = time.time() + wait
        f.status = "pending"
        f.errors = []
        log.info(
            "azoai batch %s: file %d waits for enqueued-token quota (%s); again in %.0f s",
            self.id,
            f.n,
            why,
            wait,
        )
        self._save()

    def _find(self, f: FileRecord) -> Steps[bool]:
        """After a restart: the batch this file may already have (created just before the
        process died, before its id was saved)."""
        after: str | None = None
        for _ in range(_FIND_PAGES):
            query = {"limit": "100", **({"after": after} if after else {})}
            reply = yield FileRequest("GET", self.url("batches", **query), "batch list")
            data, more = parse_list(loads(reply.content))
            for raw in data:
                info = parse_batch(raw)
                if info.input_file_id == f.file_id:
                    self._apply(f, info)
                    return True
            if not more or not data:
                return False
            after = str(data[-1].get("id")) if isinstance(data[-1], dict) else None
        return False

    def _submit(self) -> Steps[None]:
        r = self.record
        if r.cancelled:
            return
        limit = self.options.enqueued_token_limit
        running = sum(f.tokens for f in r.files if f.submitted and f.status not in TERMINAL)
        for f in r.files:
            if f.status != "pending":
                continue
            if f.retry_at > time.time():
                break  # files go in order: later ones wait behind this one
            if limit is not None and running and running + f.tokens > limit:
                break
            if f.file_id is None:
                yield from self._upload(f)
                if f.status != "pending":
                    continue
            elif f.n in self._unsure:
                self._unsure.discard(f.n)
                if (yield from self._find(f)):
                    running += f.tokens if f.status not in TERMINAL else 0
                    continue
            if not (yield from self._create(f)):
                break
            running += f.tokens

    # -- steps: polling and cancelling ------------------------------------------------------------

    def _apply(self, f: FileRecord, info: BatchInfo) -> None:
        if info.status == "failed" and any(
            _is_quota_refusal(e.code, e.message) for e in info.errors
        ):
            self._back_off(f, next(e.message for e in info.errors))
            return
        f.batch_id = info.id
        f.status = info.status or f.status
        f.output_file_id = info.output_file_id or f.output_file_id
        f.error_file_id = info.error_file_id or f.error_file_id
        c = info.request_counts
        f.counts = [c.total, c.completed, c.failed]
        f.errors = [[e.code, e.message, e.line] for e in info.errors]
        self._save()

    def _refresh(self, f: FileRecord) -> Steps[None]:
        reply = yield FileRequest("GET", self.url(f"batches/{f.batch_id}"), "batch status")
        self._apply(f, parse_batch(loads(reply.content)))

    def _poll(self) -> Steps[JobStatus]:
        for f in self.record.files:
            if f.submitted and f.status not in TERMINAL:
                yield from self._refresh(f)
        yield from self._submit()
        return self.status()

    def _wait(
        self, timeout: float | None, progress: Callable[[JobStatus], None] | None
    ) -> Steps[JobStatus]:
        started = time.monotonic()
        delay = self.options.poll_interval
        while True:
            st = yield from self._poll()
            if progress is not None:
                progress(st)
            if st.done:
                return st
            if timeout is not None and time.monotonic() - started >= timeout:
                raise TimeoutError(
                    f"batch job {self.id} is still {st.state} after {timeout:g} s "
                    f"({st.completed + st.failed:,} of {st.total:,} requests done)",
                    fix="wait longer, or collect it later: Batches(...).resume(job_id)",
                )
            yield Pause(delay)
            delay = min(delay * 2, self.options.max_poll_interval)

    def _cancel(self) -> Steps[JobStatus]:
        self.record.cancelled = True
        for f in self.record.files:
            if f.status == "pending":
                f.status = "not_submitted"
        self._save()
        for f in self.record.files:
            if f.submitted and f.status not in TERMINAL and f.status != "cancelling":
                try:
                    reply = yield FileRequest(
                        "POST", self.url(f"batches/{f.batch_id}/cancel"), "batch cancel"
                    )
                    self._apply(f, parse_batch(loads(reply.content)))
                except AzoaiError as err:  # it may have finished meanwhile
                    log.info("azoai batch %s: cancelling %s: %s", self.id, f.batch_id, err.message)
                    yield from self._refresh(f)
        return self.status()

    def _delete_files(self) -> Steps[int]:
        deleted = 0
        for f in self.record.files:
            for file_id in (f.file_id, f.output_file_id, f.error_file_id):
                if not file_id:
                    continue
                try:
                    yield FileRequest("DELETE", self.url(f"files/{file_id}"), "batch file delete")
                    deleted += 1
                except AzoaiError as err:
                    log.info("azoai batch %s: deleting %s: %s", self.id, file_id, err.message)
        return deleted

    # -- the public surface ------------------------------------------------------------------------

    def submit(self) -> JobStatus:
        """Upload and create what the quota allows now (done by ``Batches.submit_*``)."""
        drive(self._submit(), self.runner)
        return self.status()

    async def asubmit(self) -> JobStatus:
        await adrive(self._submit(), self.runner)
        return self.status()

    def poll(self) -> JobStatus:
        """Refresh the running batches once and submit what the quota now allows."""
        return drive(self._poll(), self.runner)

    async def apoll(self) -> JobStatus:
        return await adrive(self._poll(), self.runner)

    def wait(
        self, timeout: float | None = None, progress: Callable[[JobStatus], None] | None = None
    ) -> JobStatus:
        """Poll with backoff (``poll_interval`` doubling up to ``max_poll_interval``) until every
        batch has finished; ``progress(status)`` after each poll. Raises :class:`TimeoutError`
        after ``timeout`` seconds (the job goes on; resume it later)."""
        return drive(self._wait(timeout, progress), self.runner)

    async def await_(
        self,
        timeout: float | None = None,  # noqa: ASYNC109 (the job's, not one call's)
        progress: Callable[[JobStatus], None] | None = None,
    ) -> JobStatus:
        """The async :meth:`wait`."""
        return await adrive(self._wait(timeout, progress), self.runner)

    def cancel(self) -> JobStatus:
        """Cancel: running batches are cancelled (Azure keeps and returns what they finished),
        files not yet submitted never are. Collect afterwards for the completed work."""
        return drive(self._cancel(), self.runner)

    async def acancel(self) -> JobStatus:
        return await adrive(self._cancel(), self.runner)

    def delete_files(self) -> int:
        """Delete the job's input, output and error files on Azure (the resource holds at most
        500 batch files without an expiry); returns how many were deleted."""
        return drive(self._delete_files(), self.runner)

    async def adelete_files(self) -> int:
        return await adrive(self._delete_files(), self.runner)

    def forget(self) -> None:
        """Remove the job's local record and folder (Azure's files and batches stay)."""
        self.store.remove(self.id)

    # -- results (azoai.batch.results) -----------------------------------------------------------

    def collect(self, *, wait: bool = True, timeout: float | None = None) -> Iterator[BatchItem]:
        """Every input's :class:`~azoai.batch.results.BatchItem`, in input order: its result,
        or its error (never dropped). Waits for the job first unless ``wait=False`` (then a
        job not finished raises :class:`~azoai.errors.BatchError`)."""
        from azoai.batch.results import Collector

        if wait:
            self.wait(timeout)
        return Collector(self).items()

    async def acollect(
        self,
        *,
        wait: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> AsyncIterator[BatchItem]:
        from azoai.batch.results import Collector

        if wait:
            await self.await_(timeout)
        async for item in Collector(self).aitems():
            yield item

    def chat_results(self, *, timeout: float | None = None) -> list[ChatResult | AzoaiError]:
        """Chat and Responses jobs: each input's result or typed error, in input order."""
        return [i.result if i.error is None else i.error for i in self.collect(timeout=timeout)]

    async def achat_results(
        self,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> list[ChatResult | AzoaiError]:
        return [
            i.result if i.error is None else i.error async for i in self.acollect(timeout=timeout)
        ]

    def embeddings(self, *, timeout: float | None = None) -> EmbeddingResult:
        """Embeddings jobs: the vectors in input order; inputs without one raise
        :class:`~azoai.embeddings.EmbeddingBatchError` (with every vector that did arrive)."""
        from azoai.batch.results import embedding_result

        return embedding_result(self, self.collect(timeout=timeout))

    async def aembeddings(
        self,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> EmbeddingResult:
        from azoai.batch.results import embedding_result

        return embedding_result(self, [i async for i in self.acollect(timeout=timeout)])
